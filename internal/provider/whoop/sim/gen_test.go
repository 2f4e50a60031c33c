package sim

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	if !strings.HasSuffix(s, "Z") || len(s) != len("2006-01-02T15:04:05.000Z") {
		t.Fatalf("time %q is not UTC with milliseconds", s)
	}
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestNinetyDaysAddUp reads 90 days of four users through the API and checks
// what a client may rely on: cycles chain, each has one main sleep and one
// recovery pointing at both, stages sum to the time in bed, zones to the
// recorded workout time, and no number is negative or implausible.
func TestNinetyDaysAddUp(t *testing.T) {
	now := time.Date(2025, 9, 30, 8, 0, 0, 0, time.UTC)
	srv, ts, _ := newTestServer(t, Config{Users: 4, Seed: 7, Clock: NewClock(now, 0, nil), HistoryStart: now.AddDate(0, 0, -90)})
	offsets := map[string]bool{}
	for ui, tok := range srv.Tokens() {
		u := srv.World().User(ui)
		offsets[u.TimezoneOffset] = true
		cycles := listAll[Cycle](t, ts, "/v2/cycle?limit=25", tok.AccessToken)
		sleeps := listAll[Sleep](t, ts, "/v2/activity/sleep?limit=25", tok.AccessToken)
		recs := listAll[Recovery](t, ts, "/v2/recovery?limit=25", tok.AccessToken)
		wos := listAll[Workout](t, ts, "/v2/activity/workout?limit=25", tok.AccessToken)
		if len(cycles) < 88 || len(cycles) > 91 {
			t.Fatalf("user %d: %d cycles in 90 days", ui, len(cycles))
		}

		byID := map[int64]Cycle{}
		for i, c := range cycles {
			byID[c.ID] = c
			if c.UserID != u.UserID || c.TimezoneOffset != u.TimezoneOffset {
				t.Errorf("cycle %d: user %d offset %s", c.ID, c.UserID, c.TimezoneOffset)
			}
			start := mustTime(t, c.Start)
			if i == 0 {
				if c.End != nil || c.ScoreState != StatePending {
					t.Errorf("newest cycle %d: end %v state %s, want open and pending", c.ID, c.End, c.ScoreState)
				}
				continue
			}
			newer := cycles[i-1]
			if c.End == nil || *c.End != newer.Start {
				t.Errorf("cycle %d ends %v, the next starts %s", c.ID, c.End, newer.Start)
			}
			if !start.Before(mustTime(t, newer.Start)) || c.ID >= newer.ID {
				t.Errorf("cycles %d and %d out of order", c.ID, newer.ID)
			}
			if (c.Score != nil) != (c.ScoreState == StateScored) {
				t.Errorf("cycle %d: state %s with score %v", c.ID, c.ScoreState, c.Score)
			}
			if sc := c.Score; sc != nil {
				h := mustTime(t, *c.End).Sub(start).Hours()
				if h < 18 || h > 30 || sc.Kilojoule < 250*h || sc.Kilojoule > 1000*h || sc.Strain < 0 || sc.Strain > 21 ||
					sc.AverageHeartRate < 40 || sc.AverageHeartRate > sc.MaxHeartRate || sc.MaxHeartRate > 220 {
					t.Errorf("cycle %d (%.1f h): implausible score %+v", c.ID, h, *sc)
				}
			}
		}

		mains := map[int64]Sleep{}
		for _, s := range sleeps {
			c, ok := byID[s.CycleID]
			if !ok {
				t.Fatalf("sleep %s in unknown cycle %d", s.ID, s.CycleID)
			}
			st, en := mustTime(t, s.Start), mustTime(t, s.End)
			if !en.After(st) || st.Before(mustTime(t, c.Start)) || (c.End != nil && en.After(mustTime(t, *c.End))) {
				t.Errorf("sleep %s [%s, %s] outside cycle %d [%s, %v]", s.ID, s.Start, s.End, c.ID, c.Start, c.End)
			}
			if !s.Nap {
				if _, dup := mains[s.CycleID]; dup || s.Start != c.Start {
					t.Errorf("cycle %d: main sleep %s starts %s, cycle %s (duplicate %v)", c.ID, s.ID, s.Start, c.Start, dup)
				}
				mains[s.CycleID] = s
			}
			if (s.Score != nil) != (s.ScoreState == StateScored) {
				t.Errorf("sleep %s: state %s with score %v", s.ID, s.ScoreState, s.Score)
			}
			if s.Score == nil {
				continue
			}
			ss := s.Score.StageSummary
			inBed := en.Sub(st).Milliseconds()
			sum := ss.TotalAwakeTimeMilli + ss.TotalNoDataTimeMilli + ss.TotalLightSleepTimeMilli + ss.TotalSlowWaveSleepTimeMilli + ss.TotalRemSleepTimeMilli
			if ss.TotalInBedTimeMilli != inBed || sum != inBed {
				t.Errorf("sleep %s: in bed %d, end-start %d, stages sum %d", s.ID, ss.TotalInBedTimeMilli, inBed, sum)
			}
			for _, v := range []int64{ss.TotalAwakeTimeMilli, ss.TotalNoDataTimeMilli, ss.TotalLightSleepTimeMilli, ss.TotalSlowWaveSleepTimeMilli, ss.TotalRemSleepTimeMilli, int64(ss.SleepCycleCount), int64(ss.DisturbanceCount), s.Score.SleepNeeded.BaselineMilli} {
				if v < 0 {
					t.Errorf("sleep %s: negative value in %+v", s.ID, ss)
				}
			}
			if s.Score.SleepNeeded.NeedFromRecentNapMilli > 0 {
				t.Errorf("sleep %s: positive nap need", s.ID)
			}
			for _, p := range []*float64{s.Score.SleepPerformancePercentage, s.Score.SleepEfficiencyPercentage, s.Score.SleepConsistencyPercentage} {
				if p != nil && (*p < 0 || *p > 100) {
					t.Errorf("sleep %s: percentage %v", s.ID, *p)
				}
			}
		}
		for _, c := range cycles {
			if _, ok := mains[c.ID]; !ok {
				t.Errorf("cycle %d has no main sleep", c.ID)
			}
		}

		if len(recs) != len(mains) {
			t.Errorf("%d recoveries for %d main sleeps", len(recs), len(mains))
		}
		for _, r := range recs {
			if m, ok := mains[r.CycleID]; !ok || m.ID != r.SleepID {
				t.Errorf("recovery of cycle %d points at sleep %s", r.CycleID, r.SleepID)
			}
			if sc := r.Score; sc != nil && (sc.RecoveryScore < 0 || sc.RecoveryScore > 100 || sc.RestingHeartRate < 30 || sc.HrvRmssdMilli <= 0) {
				t.Errorf("recovery of cycle %d: %+v", r.CycleID, *sc)
			}
		}

		if len(wos) < 15 {
			t.Errorf("user %d: only %d workouts in 90 days", ui, len(wos))
		}
		for _, w := range wos {
			st, en := mustTime(t, w.Start), mustTime(t, w.End)
			in := false
			for _, c := range cycles {
				if !st.Before(mustTime(t, c.Start)) && (c.End == nil || !en.After(mustTime(t, *c.End))) {
					in = true
				}
			}
			for _, s := range sleeps {
				if st.Before(mustTime(t, s.End)) && mustTime(t, s.Start).Before(en) {
					t.Errorf("workout %s overlaps sleep %s", w.ID, s.ID)
				}
			}
			if !in {
				t.Errorf("workout %s [%s, %s] inside no cycle", w.ID, w.Start, w.End)
			}
			sc := w.Score
			if sc == nil {
				continue
			}
			z := sc.ZoneDurations
			zsum := z.ZoneZeroMilli + z.ZoneOneMilli + z.ZoneTwoMilli + z.ZoneThreeMilli + z.ZoneFourMilli + z.ZoneFiveMilli
			want := float64(en.Sub(st).Milliseconds()) * sc.PercentRecorded / 100
			kjMin := sc.Kilojoule / en.Sub(st).Minutes()
			if zsum < int64(want)-1 || zsum > int64(want)+1 || z.ZoneZeroMilli < 0 || z.ZoneFiveMilli < 0 {
				t.Errorf("workout %s: zones sum %d, recorded %v: %+v", w.ID, zsum, want, z)
			}
			if kjMin < 5 || kjMin > 60 || sc.AverageHeartRate > sc.MaxHeartRate || sc.MaxHeartRate > u.MaxHeartRate || sc.Strain < 0 || sc.Strain > 21 {
				t.Errorf("workout %s: implausible score %+v", w.ID, *sc)
			}
			if sc.DistanceMeter != nil && *sc.DistanceMeter < 0 {
				t.Errorf("workout %s: negative distance", w.ID)
			}
		}
	}
	for _, want := range []string{"-05:00", "+05:30", "+01:00", "-03:30"} {
		if !offsets[want] {
			t.Errorf("no user with offset %s (have %v)", want, offsets)
		}
	}
}

// TestDeterministicPerSeed: two servers with one seed serve the same bytes
// and hand out the same ready tokens; another seed serves other data.
func TestDeterministicPerSeed(t *testing.T) {
	fetch := func(seed int64) (string, []byte) {
		srv, ts, _ := newTestServer(t, Config{Seed: seed})
		tok := srv.Tokens()[1].AccessToken
		var all []byte
		for _, p := range []string{"/v2/cycle?limit=25", "/v2/activity/sleep?limit=25", "/v2/recovery?limit=25", "/v2/activity/workout?limit=25", "/v2/user/profile/basic", "/v2/user/measurement/body"} {
			_, _, b := get(t, ts, p, tok)
			all = append(all, b...)
		}
		return tok, all
	}
	tokA, a := fetch(11)
	tokB, b := fetch(11)
	_, c := fetch(12)
	if tokA != tokB || !bytes.Equal(a, b) {
		t.Fatal("same seed, different answers")
	}
	if bytes.Equal(a, c) {
		t.Fatal("different seeds, same answers")
	}
	if !bytes.Contains(a, []byte(`"records":[{`)) {
		t.Fatalf("no records served: %.200s", a)
	}
}
