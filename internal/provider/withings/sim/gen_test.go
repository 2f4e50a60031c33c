package sim

import (
	"bytes"
	"strconv"
	"testing"
	"time"
)

// answers collects a user's answers to every action, for comparing runs.
func answers(t *testing.T, seed int64) [][]byte {
	t.Helper()
	srv, ts, _ := newTestServer(t, Config{Users: 3, Seed: seed, PageSize: 1000})
	start := strconv.FormatInt(testNow.Add(-40*time.Hour).Unix(), 10)
	end := strconv.FormatInt(testNow.Add(-16*time.Hour).Unix(), 10)
	var out [][]byte
	for _, tok := range srv.Tokens() {
		for _, c := range []struct {
			path string
			kv   []string
		}{
			{PathMeasure, []string{"action", "getmeas"}},
			{PathMeasureV2, []string{"action", "getactivity", "lastupdate", "0"}},
			{PathMeasureV2, []string{"action", "getworkouts", "lastupdate", "0"}},
			{PathMeasureV2, []string{"action", "getintradayactivity"}},
			{PathSleepV2, []string{"action", "getsummary", "lastupdate", "0"}},
			{PathSleepV2, []string{"action", "get", "startdate", start, "enddate", end, "data_fields", "hr,rr,snoring"}},
			{PathUserV2, []string{"action", "getdevice"}},
		} {
			out = append(out, call(t, ts, c.path, tok.AccessToken, form(c.kv...)).Raw)
		}
		out = append(out, []byte(tok.AccessToken+tok.RefreshToken))
	}
	return out
}

func TestDeterministicBySeed(t *testing.T) {
	a, b, c := answers(t, 42), answers(t, 42), answers(t, 43)
	same := 0
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			t.Errorf("answer %d differs between two runs of seed 42:\n%.300s\n%.300s", i, a[i], b[i])
		}
		// A user without a watch has no intraday samples under any seed.
		if bytes.Equal(a[i], c[i]) && !bytes.Contains(a[i], []byte(`"series":{}`)) {
			same++
		}
	}
	if same > 0 {
		t.Errorf("%d of %d answers are the same under seeds 42 and 43", same, len(a))
	}
}

// TestInvariants checks what a normalizer relies on, over every user's
// history: stages sum to the time asleep and in bed, segments tile the
// night, composition adds up, daily steps are the intraday steps, and
// every zone is a real IANA zone.
func TestInvariants(t *testing.T) {
	srv, _, clk := newTestServer(t, Config{Users: 4, Days: 60})
	w, now := srv.world, clk.Now()
	for _, u := range w.users {
		nights := w.nights(u, now)
		if len(nights) < 50 {
			t.Errorf("user %d: %d nights in 60 days", u.Index, len(nights))
		}
		for _, nt := range nights {
			d := nt.summaryData()
			in := func(k string) int { return toInt(d[k]) }
			if in("lightsleepduration")+in("deepsleepduration")+in("remsleepduration") != in("total_sleep_time") ||
				in("total_sleep_time")+in("wakeupduration") != in("total_timeinbed") ||
				in("durationtosleep")+in("waso")+in("durationtowakeup") != in("wakeupduration") ||
				int64(in("total_timeinbed")) != nt.end().Unix()-nt.start.Unix() {
				t.Errorf("user %d night %d: durations do not add up: %v", u.Index, nt.id, d)
			}
			for k, v := range d {
				if f, ok := v.(float64); (ok && f < 0) || toInt(v) < 0 {
					t.Errorf("night %d: %s = %v", nt.id, k, v)
				}
			}
			if in("wakeupcount") > 0 && in("waso") == 0 {
				t.Errorf("night %d: wake-ups without time awake", nt.id)
			}
			segs := nt.segments(map[string]bool{"hr": true}, u.sleep)
			at := nt.start.Unix()
			for _, s := range segs {
				if s.StartDate != at || s.EndDate <= s.StartDate || len(s.HR) != int(s.EndDate-s.StartDate)/60 {
					t.Fatalf("night %d: segment %d-%d after %d with %d hr values", nt.id, s.StartDate, s.EndDate, at, len(s.HR))
				}
				at = s.EndDate
			}
			if at != nt.end().Unix() {
				t.Errorf("night %d: segments end at %d, the night at %d", nt.id, at, nt.end().Unix())
			}
		}
		weighIns := 0
		for _, g := range w.measures(u, now) {
			v := map[int]int64{}
			for _, m := range g.Measures {
				v[m.Type] = m.Value
			}
			if wg, ok := v[TypeWeight]; ok && g.Category == CategoryReal {
				weighIns++
				if v[TypeFatMass] != wg*v[TypeFatRatio]/100_000 || v[TypeFatFreeMass] != wg-v[TypeFatMass] {
					t.Errorf("group %d: weight %d g, fat %d‰‰, fat mass %d, fat-free %d", g.GrpID, wg, v[TypeFatRatio], v[TypeFatMass], v[TypeFatFreeMass])
				}
			}
			if g.Date > now.Unix() || g.Created < g.Date || g.Modified < g.Created {
				t.Errorf("group %d: date %d created %d modified %d at %d", g.GrpID, g.Date, g.Created, g.Modified, now.Unix())
			}
		}
		if weighIns < 20 {
			t.Errorf("user %d: %d weigh-ins in 60 days", u.Index, weighIns)
		}
		for _, a := range w.activities(u, now) {
			n, _ := parseYMD(a.Date)
			steps := 0
			for _, x := range w.intraday(u, n) {
				steps += x.s.Steps
			}
			if u.watch && steps != a.Steps {
				t.Errorf("user %d %s: %d steps, intraday %d", u.Index, a.Date, a.Steps, steps)
			}
			if a.Active != a.Moderate+a.Intense || a.TotalCalories < a.Calories {
				t.Errorf("user %d %s: %+v", u.Index, a.Date, a)
			}
		}
		if _, err := time.LoadLocation(u.Timezone); err != nil {
			t.Errorf("user %d: zone %q: %v", u.Index, u.Timezone, err)
		}
	}
}

func toInt(v any) int {
	switch x := v.(type) {
	case int:
		return x
	case int64:
		return int(x)
	case float64:
		return int(x)
	}
	return -1
}
