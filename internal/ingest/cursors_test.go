package ingest

import (
	"maps"
	"testing"
	"time"
)

// apply merges a patch as the store does: "" deletes the key.
func apply(m map[string]string, p cursorPatch) {
	for k, v := range p {
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
}

func TestCursorCodecRoundTrip(t *testing.T) {
	t0 := time.Date(2026, 3, 4, 5, 6, 7, 8, time.UTC)
	p := cursorPatch{}
	p.plan(plan{from: "2026-01-01", to: "2026-03-01", window: 30})
	p.linkedAt(t0)
	p.webhookAt(t0.Add(time.Hour))
	p.newest("2026-03-03", t0.Add(2*time.Hour))
	p.syncedTo("sleep", "2026-03-02")
	p.syncedAt("sleep", t0)
	p.notified("sleep", t0.Add(time.Minute))
	p.update("sleep", "id:with:colons", t0)
	p.run("sleep", "2026-03-03", 4, 1)
	p.scopeMissing("spo2", true)
	p.window("heartrate", "2026-01-01", WindowState{Through: "2026-01-07"})
	p.window("sleep", "2026-01-01", WindowState{Done: true})
	p.normalized("2026-01-01", true)
	p.readStart("sleep", t0)
	p.notified("daily_sleep", t0)
	p.readStart("daily_sleep", t0)
	p.pending([]string{"2026-03-02", ""}, t0)
	m := map[string]string{"some_future_key": "x", "to": "no collection"}
	apply(m, p)

	c := decodeCursors(m)
	if !c.HasPlan || c.Plan != (plan{from: "2026-01-01", to: "2026-03-01", window: 30}) {
		t.Errorf("plan %+v %v", c.Plan, c.HasPlan)
	}
	if !c.LinkedAt.Equal(t0) || !c.WebhookAt.Equal(t0.Add(time.Hour)) || c.Newest != "2026-03-03" || !c.NewestAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("connection cursors %+v", c)
	}
	if c.Backfilled() {
		t.Error("backfilled before backfillDone")
	}
	s := c.Coll("sleep")
	if s.SyncedTo != "2026-03-02" || !s.SyncedAt.Equal(t0) || !s.Notified.Equal(t0.Add(time.Minute)) || s.DocDay != "2026-03-03" || s.Run != 4 || s.Lag != 1 {
		t.Errorf("sleep %+v", s)
	}
	if !s.Updates["id:with:colons"].Equal(t0) || len(s.Updates) != 1 {
		t.Errorf("updates %v", s.Updates)
	}
	// A finished window has read nothing "through": its state is Done alone.
	if s.Windows["2026-01-01"] != (WindowState{Done: true}) || c.Coll("heartrate").Windows["2026-01-01"] != (WindowState{Through: "2026-01-07"}) {
		t.Errorf("windows %v %v", s.Windows, c.Coll("heartrate").Windows)
	}
	if got := c.scopeMissing(); !c.Coll("spo2").ScopeMissing || !c.Normalized["2026-01-01"] || len(got) != 1 || got[0] != "spo2" {
		t.Errorf("scope %v normalized %v", c.scopeMissing(), c.Normalized)
	}

	// sleep was notified after its read began, daily_sleep at the same
	// instant: only sleep is still to read.
	if got := c.notifiedSinceRead(); len(got) != 1 || got[0] != "sleep" || !s.ReadStart.Equal(t0) {
		t.Errorf("notified since read %v, read start %v", got, s.ReadStart)
	}
	if len(c.Pending) != 2 || !c.Pending["2026-03-02"].Equal(t0) || !c.Pending[""].Equal(t0) {
		t.Errorf("pending %v", c.Pending)
	}

	// Clearing writes "" and the store deletes: nothing is left of them.
	before := maps.Clone(m)
	q := cursorPatch{}
	q.clearUpdate("sleep", "id:with:colons")
	q.scopeMissing("spo2", false)
	q.window("heartrate", "2026-01-01", WindowState{})
	q.normalized("2026-01-01", false)
	q.backfillDone(t0)
	q.normalizedPending("2026-03-02")
	q.normalizedPending("")
	apply(m, q)
	c = decodeCursors(m)
	if len(c.Coll("sleep").Updates) != 0 || c.Coll("spo2").ScopeMissing || len(c.Coll("heartrate").Windows) != 0 || c.Normalized["2026-01-01"] || !c.Backfilled() || len(c.Pending) != 0 {
		t.Errorf("after clearing: %+v (was %v)", c, before)
	}
	if len(m) != len(before)-6+1 {
		t.Errorf("cleared keys stay: %v", m)
	}
}
