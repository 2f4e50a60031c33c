package whoop_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/whoop"
	"github.com/wearlink/wearlink/internal/provider/whoop/sim"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
)

// TestWhoopEndToEnd runs WHOOP the whole way against its simulator:
//
//  1. three people link through the real OAuth redirects, each backfilled
//     90 days, and every stored health document is byte for byte what the
//     provider's Normalizer makes offline from the stored raw records;
//  2. a new night, scored when the simulated clock passes its score
//     delay, reaches the app as a signed ROOK sleep_summary, through
//     WHOOP's signed notification to /webhooks/whoop;
//  3. a deleted sleep (sleep.deleted, recovery.deleted) gives its day's
//     sleep_summary a new version without it, and the raw records go.
func TestWhoopEndToEnd(t *testing.T) {
	h := newHarness(t, harnessConfig{Seed: 7, Users: 3, BackfillDays: 90})
	users := []string{"whoop-user-0", "whoop-user-1", "whoop-user-2"}
	conns := make([]store.Connection, len(users))
	for i, u := range users {
		conns[i] = h.mustLink(u, i)
	}
	h.waitBackfilled(users...)
	if f := h.failedIngestJobs(); len(f) > 0 {
		t.Fatalf("engine jobs failed on a clean run: %v", f)
	}

	t.Run("backfill equals offline normalization", func(t *testing.T) {
		first := simStart.AddDate(0, 0, -89).Format("2006-01-02")
		for i, u := range users {
			conns[i], _ = h.st.FindConnection(h.ctx, h.client, u, whoop.DataSource)
			raw := h.rawRecords(conns[i].ID)
			counts := map[string]int{}
			for k := range raw {
				counts[k.Collection]++
				if k.Day != "" && k.Day < first {
					t.Errorf("%s: raw %s %s of %s is before the 90-day window", u, k.Collection, k.ID, k.Day)
				}
			}
			// 90 nights: a cycle, a sleep and a recovery each at least,
			// the profile and the body measurement once.
			for _, c := range []string{whoop.CollCycle, whoop.CollSleep, whoop.CollRecovery} {
				if counts[c] < 85 {
					t.Errorf("%s: only %d raw %s records after a 90-day backfill (%v)", u, counts[c], c, counts)
				}
			}
			if counts[whoop.CollProfile] != 1 || counts[whoop.CollBodyMeasurement] != 1 {
				t.Errorf("%s: profile and body measurement: %v", u, counts)
			}

			want := h.offline(conns[i])
			got := h.stored(u)
			if len(got) == 0 {
				t.Fatalf("%s: no health documents stored", u)
			}
			for _, k := range sortedKeys(want) {
				g, ok := got[k]
				if !ok {
					t.Errorf("%s: %s made offline, not stored", u, k)
					continue
				}
				// The version is the store's; everything else is the
				// normalizer's, so the bodies are compared byte for byte
				// with the offline document at the stored version.
				if w := encodeAt(t, want[k], g.Version); !bytes.Equal(w, g.Body) {
					t.Errorf("%s: %s differs from offline normalization\nstored:  %s\noffline: %s", u, k, g.Body, w)
				}
				if g.Day != want[k].Envelope().Day {
					t.Errorf("%s: %s stored under day %s, offline %s", u, k, g.Day, want[k].Envelope().Day)
				}
			}
			for _, k := range sortedKeys(got) {
				if _, ok := want[k]; !ok {
					t.Errorf("%s: %s stored, not made offline", u, k)
				}
			}
			t.Logf("%s: %d raw records %v, %d health documents equal", u, len(raw), counts, len(got))
		}
		// Served by the REST API as stored.
		day := simStart.AddDate(0, 0, -10).Format("2006-01-02")
		if d, ok := h.sleepSummary(users[0], day); !ok {
			t.Errorf("no sleep summary of %s on %s", users[0], day)
		} else if code, body := h.get("/v2/processed_data/sleep_health/summary?user_id=" + users[0] + "&date=" + day); code != 200 || !strings.Contains(body, string(d.Body)) {
			t.Errorf("API sleep summary of %s: %d %s", day, code, body)
		}
		if code, body := h.get("/api/v2/user_id/" + users[0] + "/data_sources/authorized"); code != 200 || !strings.Contains(body, `{"data_source":"Whoop","status":true`) {
			t.Errorf("authorized: %d %s", code, body)
		}
	})

	t.Run("a new night arrives by notification", func(t *testing.T) {
		const who = 1
		before := h.sim.WebhookStats()
		_, evs, err := h.sim.NextNight(who)
		if err != nil {
			t.Fatal(err)
		}
		var sleepID string
		for _, e := range evs {
			if e.Type == sim.EventSleepUpdated && e.UserID == h.sim.Info().Users[who].UserID {
				sleepID = e.ID
			}
		}
		if sleepID == "" {
			t.Fatalf("NextNight sent no sleep.updated for user %d: %+v", who, evs)
		}
		h.sim.WaitWebhooks()
		if st := h.sim.WebhookStats(); st.Delivered-before.Delivered != len(evs) || st.Failed != before.Failed {
			t.Fatalf("WHOOP's notifications were not all taken: before %+v after %+v (%d sent)", before, st, len(evs))
		}
		// The notification's fetch stores the scored sleep.
		var day string
		testutil.WaitFor(t, waitLimit, "the notified sleep in the store", func() bool {
			d, err := h.st.RawDocument(h.ctx, conns[who].ID, whoop.CollSleep, sleepID)
			if err != nil || !strings.Contains(string(d.Body), `"score_state":"SCORED"`) {
				return false
			}
			day = d.Day
			return true
		})
		h.waitIdle("the notification's jobs")
		// Its day's summary is stored, equal to offline normalization, and
		// delivered, signed, to the app.
		want := h.offline(conns[who])[docKey("sleep_summary", "sleep_health", store.HealthKey(whoop.DataSource, day))]
		if want == nil {
			t.Fatalf("offline normalization has no sleep summary of %s", day)
		}
		got, ok := h.sleepSummary(users[who], day)
		if !ok {
			t.Fatalf("no stored sleep summary of %s", day)
		}
		if w := encodeAt(t, want, got.Version); !bytes.Equal(w, got.Body) {
			t.Fatalf("sleep summary of %s\nstored:  %s\noffline: %s", day, got.Body, w)
		}
		if !bytes.Contains(got.Body, []byte(sleepID)) {
			t.Fatalf("the sleep summary of %s does not carry sleep %s: %s", day, sleepID, got.Body)
		}
		testutil.WaitFor(t, waitLimit, "the night's sleep_summary at the app", func() bool { return h.recv.has(got.Body) })
	})

	t.Run("a deleted sleep leaves its day's summary", func(t *testing.T) {
		const who = 2
		conn := conns[who]
		// A main sleep of a past day: its recovery is named by its id.
		day := simStart.AddDate(0, 0, -5).Format("2006-01-02")
		raws, err := h.st.RawDocuments(h.ctx, conn.ID, []string{whoop.CollRecovery}, day, day)
		if err != nil {
			t.Fatal(err)
		}
		var sleepID string
		for _, r := range raws {
			if r.Collection == whoop.CollRecovery && r.Day == day {
				sleepID = r.ExternalID
			}
		}
		if sleepID == "" {
			t.Fatalf("no recovery stored on %s", day)
		}
		old, ok := h.sleepSummary(users[who], day)
		if !ok || !bytes.Contains(old.Body, []byte(sleepID)) {
			t.Fatalf("the sleep summary of %s does not carry sleep %s: %s", day, sleepID, old.Body)
		}
		before := h.sim.WebhookStats()
		if err := h.sim.DeleteSleep(sleepID); err != nil {
			t.Fatal(err)
		}
		h.sim.WaitWebhooks()
		if st := h.sim.WebhookStats(); st.Delivered-before.Delivered != 2 || st.Failed != before.Failed {
			t.Fatalf("sleep.deleted and recovery.deleted not both taken: before %+v after %+v", before, st)
		}
		var next store.HealthDocument
		testutil.WaitFor(t, waitLimit, "a new version of the sleep summary of "+day, func() bool {
			next, ok = h.sleepSummary(users[who], day)
			return ok && next.Version > old.Version
		})
		h.waitIdle("the delete jobs")
		next, _ = h.sleepSummary(users[who], day)
		for _, coll := range []string{whoop.CollSleep, whoop.CollRecovery} {
			if _, err := h.st.RawDocument(h.ctx, conn.ID, coll, sleepID); health.ErrorCode(err) != health.ENOTFOUND {
				t.Errorf("raw %s %s still stored (%v)", coll, sleepID, err)
			}
		}
		if bytes.Contains(next.Body, []byte(sleepID)) {
			t.Fatalf("the new sleep summary still carries sleep %s: %s", sleepID, next.Body)
		}
		// The new version is what the normalizer makes of what remains;
		// a day left with no sleep gets a version with no data.
		if want := h.offline(conn)[docKey("sleep_summary", "sleep_health", store.HealthKey(whoop.DataSource, day))]; want != nil {
			if w := encodeAt(t, want, next.Version); !bytes.Equal(w, next.Body) {
				t.Fatalf("sleep summary of %s after the delete\nstored:  %s\noffline: %s", day, next.Body, w)
			}
		} else {
			var doc map[string]json.RawMessage
			if err := json.Unmarshal(next.Body, &doc); err != nil || doc["data_structure"] == nil {
				t.Fatalf("sleep summary of %s after the delete: %s", day, next.Body)
			}
			t.Logf("%s had no other sleep: its summary's new version carries no data", day)
		}
		testutil.WaitFor(t, waitLimit, "the new sleep summary at the app", func() bool { return h.recv.has(next.Body) })
		for _, d := range h.recv.all() {
			if !d.Verified {
				t.Fatalf("a delivery did not verify: %s", d.Body)
			}
		}
	})
}
