package sim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

// genNow is a fixed clock for the generator tests: 2025-01-15 12:00 UTC.
var genNow = time.Date(2025, 1, 15, 12, 0, 0, 0, time.UTC)

func genWorld(t testing.TB, seed int64, users int) *World {
	t.Helper()
	return NewWorld(WorldConfig{Seed: seed, Users: users, HistoryStart: "2023-06-01", Now: func() time.Time { return genNow }})
}

// eachDay runs f for every day in [from, to] of u.
func eachDay(t testing.TB, w *World, u *User, from, to oura.Date, f func(dn int, d *Day)) {
	t.Helper()
	a, ok1 := parseDate(from)
	b, ok2 := parseDate(to)
	if !ok1 || !ok2 {
		t.Fatalf("bad range %s..%s", from, to)
	}
	for dn := a; dn <= b; dn++ {
		f(dn, w.Day(u, dateOf(dn)))
	}
}

type docRef struct {
	coll string
	id   string
	doc  any
}

// docsOf lists every identified document of a day with its collection.
func docsOf(d *Day) []docRef {
	var out []docRef
	add := func(coll, id string, doc any) { out = append(out, docRef{coll, id, doc}) }
	for _, x := range d.Sleep {
		add(oura.CollSleep, x.ID, x)
	}
	if x := d.DailySleep; x != nil {
		add(oura.CollDailySleep, x.ID, *x)
	}
	if x := d.DailyReadiness; x != nil {
		add(oura.CollDailyReadiness, x.ID, *x)
	}
	if x := d.DailyActivity; x != nil {
		add(oura.CollDailyActivity, x.ID, *x)
	}
	if x := d.DailySpO2; x != nil {
		add(oura.CollDailySpO2, x.ID, *x)
	}
	if x := d.DailyStress; x != nil {
		add(oura.CollDailyStress, x.ID, *x)
	}
	if x := d.DailyResilience; x != nil {
		add(oura.CollDailyResilience, x.ID, *x)
	}
	if x := d.DailyCardiovascularAge; x != nil {
		add(oura.CollDailyCardiovascularAge, x.ID, *x)
	}
	if x := d.VO2Max; x != nil {
		add(oura.CollVO2Max, x.ID, *x)
	}
	if x := d.SleepTime; x != nil {
		add(oura.CollSleepTime, x.ID, *x)
	}
	for _, x := range d.Workouts {
		add(oura.CollWorkout, x.ID, x)
	}
	for _, x := range d.Sessions {
		add(oura.CollSession, x.ID, x)
	}
	for _, x := range d.Tags {
		add(oura.CollTag, x.ID, x)
	}
	for _, x := range d.EnhancedTags {
		add(oura.CollEnhancedTag, x.ID, x)
	}
	for _, x := range d.RestModePeriods {
		add(oura.CollRestModePeriod, x.ID, x)
	}
	return out
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestGenDeterminism(t *testing.T) {
	days := []oura.Date{"2023-06-01", "2024-02-29", "2024-03-31", "2024-10-27", "2025-01-13"}
	tests := []struct {
		name      string
		seedA     int64
		seedB     int64
		wantEqual bool
	}{
		{"same seed", 42, 42, true},
		{"different seed", 42, 43, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, b := genWorld(t, tc.seedA, 3), genWorld(t, tc.seedB, 3)
			for i := range a.Users() {
				ua, ub := a.Users()[i], b.Users()[i]
				if (ua.OuraID == ub.OuraID) != tc.wantEqual {
					t.Errorf("user %d: OuraID %s vs %s", i, ua.OuraID, ub.OuraID)
				}
				pa, pb := mustJSON(t, a.PersonalInfo(ua)), mustJSON(t, b.PersonalInfo(ub))
				ra, rb := mustJSON(t, a.RingConfigurations(ua)), mustJSON(t, b.RingConfigurations(ub))
				if tc.wantEqual && (!bytes.Equal(pa, pb) || !bytes.Equal(ra, rb)) {
					t.Errorf("user %d: personal info or rings differ", i)
				}
				for _, d := range days {
					ja, jb := mustJSON(t, a.Day(ua, d)), mustJSON(t, b.Day(ub, d))
					if bytes.Equal(ja, jb) != tc.wantEqual {
						t.Errorf("user %d day %s: equal=%v, want %v", i, d, !tc.wantEqual, tc.wantEqual)
					}
				}
			}
		})
	}

	t.Run("independent of generation order and cache", func(t *testing.T) {
		w1 := NewWorld(WorldConfig{Seed: 7, HistoryStart: "2023-06-01", CacheDays: 1, Now: func() time.Time { return genNow }})
		w2 := NewWorld(WorldConfig{Seed: 7, HistoryStart: "2023-06-01", CacheDays: 1, Now: func() time.Time { return genNow }})
		u1, u2 := w1.Users()[1], w2.Users()[1]
		// w2 first generates unrelated days, so a hidden dependence on
		// generation order would show.
		for _, d := range []oura.Date{"2024-12-01", "2023-07-04", "2024-05-05"} {
			w2.Day(u2, d)
			w2.Day(w2.Users()[0], d)
		}
		for _, d := range days {
			if !bytes.Equal(mustJSON(t, w1.Day(u1, d)), mustJSON(t, w2.Day(u2, d))) {
				t.Errorf("day %s depends on what was generated before", d)
			}
			if !bytes.Equal(mustJSON(t, w1.Day(u1, d)), mustJSON(t, w1.Day(u1, d))) {
				t.Errorf("day %s differs between calls", d)
			}
		}
	})
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

func TestGenSleepInvariants(t *testing.T) {
	w := genWorld(t, 3, 6)
	for _, u := range w.Users() {
		t.Run(u.TimeZone, func(t *testing.T) {
			var days, naps, withNullHR int
			eachDay(t, w, u, "2024-01-01", "2024-12-31", func(dn int, d *Day) {
				days++
				long := 0
				for i, s := range d.Sleep {
					where := fmt.Sprintf("%s period %d", d.Date, i)
					if s.Period != i {
						t.Errorf("%s: period = %d", where, s.Period)
					}
					if s.Day != d.Date {
						t.Errorf("%s: day = %s", where, s.Day)
					}
					st, err1 := s.BedtimeStart.Time()
					en, err2 := s.BedtimeEnd.Time()
					if err1 != nil || err2 != nil {
						t.Fatalf("%s: bad bedtimes %s %s", where, s.BedtimeStart, s.BedtimeEnd)
					}
					tib := s.TimeInBed
					if int(en.Sub(st)/time.Second) != tib {
						t.Errorf("%s: time_in_bed %d != end-start %v", where, tib, en.Sub(st))
					}
					deep, light, rem := *s.DeepSleepDuration, *s.LightSleepDuration, *s.REMSleepDuration
					total, awake := *s.TotalSleepDuration, *s.AwakeTime
					if deep+light+rem != total {
						t.Errorf("%s: deep+light+rem %d != total %d", where, deep+light+rem, total)
					}
					if total+awake != tib || awake < 0 || total <= 0 {
						t.Errorf("%s: total %d + awake %d != time_in_bed %d", where, total, awake, tib)
					}
					if got, want := len(*s.SleepPhase5Min), ceilDiv(tib, 300); got != want {
						t.Errorf("%s: sleep_phase_5_min len %d, want %d", where, got, want)
					}
					if got, want := len(*s.Movement30Sec), ceilDiv(tib, 30); got != want {
						t.Errorf("%s: movement_30_sec len %d, want %d", where, got, want)
					}
					if got, want := len(*s.SleepPhase30Sec), ceilDiv(tib, 30); got != want {
						t.Errorf("%s: sleep_phase_30_sec len %d, want %d", where, got, want)
					}
					if *s.AppSleepPhase5Min != *s.SleepPhase5Min {
						t.Errorf("%s: app_sleep_phase_5_min differs", where)
					}
					// The 5-minute hypnogram agrees with the durations.
					for _, ph := range []struct {
						c   byte
						dur int
					}{{'1', deep}, {'2', light}, {'3', rem}, {'4', awake}} {
						got := strings.Count(*s.SleepPhase5Min, string(ph.c)) * 300
						if math.Abs(float64(got-ph.dur)) > 0.2*float64(tib)+600 {
							t.Errorf("%s: phase %c: 5-min string says %d s, duration %d", where, ph.c, got, ph.dur)
						}
					}
					if e := *s.Efficiency; e < 1 || e > 100 {
						t.Errorf("%s: efficiency %d", where, e)
					}
					if s.HeartRate == nil {
						withNullHR++
						if s.HRV != nil || *s.Type == oura.SleepTypeLongSleep {
							t.Errorf("%s: heart_rate null on %s or hrv not null", where, *s.Type)
						}
					} else {
						for _, smp := range []*oura.Sample{s.HeartRate, s.HRV} {
							if smp.Interval != 300 || len(smp.Items) != ceilDiv(tib, 300) || smp.Timestamp[:19] != s.BedtimeStart[:19] {
								t.Errorf("%s: sample interval %v items %d (want %d) ts %s", where, smp.Interval, len(smp.Items), ceilDiv(tib, 300), smp.Timestamp)
							}
						}
					}
					if s.Readiness == nil || s.Readiness.Score == nil {
						t.Errorf("%s: readiness missing", where)
					}
					if *s.SleepAlgorithmVersion != "v2" || s.RingID != nil {
						t.Errorf("%s: algorithm %v ring_id %v", where, *s.SleepAlgorithmVersion, s.RingID)
					}
					switch *s.Type {
					case oura.SleepTypeLongSleep:
						long++
						ls, le := st.In(u.Location), en.In(u.Location)
						bedH := float64(ls.Hour()) + float64(ls.Minute())/60
						if ls.Format(time.DateOnly) == string(d.Date) {
							bedH += 24
						}
						wakeH := float64(le.Hour()) + float64(le.Minute())/60
						if le.Format(time.DateOnly) != string(d.Date) || wakeH < 6 || wakeH > 9 {
							t.Errorf("%s: wake %s outside 06:00-09:00 of the day", where, s.BedtimeEnd)
						}
						if bedH < 21.9 || bedH > 25.1 {
							t.Errorf("%s: bedtime %s outside 22:00-01:00", where, s.BedtimeStart)
						}
						if *s.ReadinessScoreDelta != 0 || *s.SleepScoreDelta != 0 {
							t.Errorf("%s: main night deltas not 0", where)
						}
						if !reflect.DeepEqual(*s.Readiness, oura.Readiness{
							Contributors: d.DailyReadiness.Contributors, Score: d.DailyReadiness.Score,
							TemperatureDeviation: d.DailyReadiness.TemperatureDeviation, TemperatureTrendDeviation: d.DailyReadiness.TemperatureTrendDeviation,
						}) {
							t.Errorf("%s: embedded readiness differs from daily_readiness", where)
						}
					case oura.SleepTypeSleep, oura.SleepTypeLateNap, oura.SleepTypeRest:
						naps++
						if tib < 15*60 || tib > 3*3600 {
							t.Errorf("%s: nap of %d s", where, tib)
						}
					default:
						t.Errorf("%s: type %s", where, *s.Type)
					}
					if i > 0 {
						if prevEnd, _ := d.Sleep[i-1].BedtimeEnd.Time(); !prevEnd.Before(st) {
							t.Errorf("%s: periods overlap or are not in start order", where)
						}
					}
				}
				if long != 1 {
					t.Errorf("%s: %d long_sleep periods", d.Date, long)
				}
			})
			if share := float64(naps) / float64(days); share < 0.05 || share > 0.45 {
				t.Errorf("naps on %.0f%% of days, want roughly 15%%", 100*share)
			}
			_ = withNullHR
		})
	}
}

func TestGenActivityShape(t *testing.T) {
	w := genWorld(t, 5, 4)
	for _, u := range w.Users() {
		t.Run(u.TimeZone, func(t *testing.T) {
			eachDay(t, w, u, "2024-03-01", "2024-04-30", func(dn int, d *Day) {
				a := d.DailyActivity
				if a == nil || a.Class5Min == nil {
					t.Fatalf("%s: no activity", d.Date)
				}
				c := *a.Class5Min
				if len(c) != 288 || strings.Trim(c, "012345") != "" {
					t.Errorf("%s: class_5_min len %d or bad characters", d.Date, len(c))
				}
				if len(a.MET.Items) != 1440 || a.MET.Interval != 60 {
					t.Errorf("%s: met %v x %d", d.Date, a.MET.Interval, len(a.MET.Items))
				}
				for i, it := range a.MET.Items {
					if it == nil || *it < 0 || *it > 20 {
						t.Fatalf("%s: met item %d = %v", d.Date, i, it)
					}
				}
				y, m, dd := civilFromDays(dn)
				want := time.Date(y, time.Month(m), dd, 4, 0, 0, 0, u.Location)
				if got := string(a.Timestamp); got != want.Format("2006-01-02T15:04:05-07:00") {
					t.Errorf("%s: timestamp %s, want %s", d.Date, got, want.Format(time.RFC3339))
				}
				if got := string(a.MET.Timestamp); got != want.Format("2006-01-02T15:04:05.000-07:00") {
					t.Errorf("%s: met.timestamp %s", d.Date, got)
				}
				times := []struct {
					ch  string
					got int
				}{{"0", a.NonWearTime}, {"1", a.RestingTime}, {"2", a.SedentaryTime}, {"3", a.LowActivityTime}, {"4", a.MediumActivityTime}, {"5", a.HighActivityTime}}
				sum := 0
				for _, x := range times {
					sum += x.got
					if want := strings.Count(c, x.ch) * 300; x.got != want {
						t.Errorf("%s: class %s time %d, want %d", d.Date, x.ch, x.got, want)
					}
				}
				if sum != 86400 {
					t.Errorf("%s: times sum to %d", d.Date, sum)
				}
				if a.TotalCalories < a.ActiveCalories || a.Steps < 0 || a.MetersToTarget != roundTo(a.TargetMeters-a.EquivalentWalkingDistance, 100) {
					t.Errorf("%s: calories %d/%d steps %d to-target %d", d.Date, a.ActiveCalories, a.TotalCalories, a.Steps, a.MetersToTarget)
				}
				if a.Score == nil || *a.Score < 1 || *a.Score > 100 {
					t.Errorf("%s: score %v", d.Date, a.Score)
				}
			})
		})
	}
}

func roundTo(v, step int) int { return int(math.Round(float64(v)/float64(step))) * step }

func TestGenIDsAndLookup(t *testing.T) {
	w := genWorld(t, 11, 3)
	u0, u1 := w.Users()[0], w.Users()[1]
	seen := map[string]string{}
	var sample []docRef
	eachDay(t, w, u0, "2024-04-01", "2025-01-14", func(dn int, d *Day) {
		for _, r := range docsOf(d) {
			if !isUUID(r.id) {
				t.Errorf("%s %s: id %q is not a UUID", d.Date, r.coll, r.id)
			}
			if prev, dup := seen[r.id]; dup {
				t.Errorf("%s %s: id %s already used by %s", d.Date, r.coll, r.id, prev)
			}
			seen[r.id] = string(d.Date) + " " + r.coll
			got, ok := w.Lookup(u0, r.coll, r.id)
			if !ok {
				t.Errorf("%s %s: Lookup(%s) not found", d.Date, r.coll, r.id)
				continue
			}
			if !bytes.Equal(mustJSON(t, got), mustJSON(t, r.doc)) {
				t.Errorf("%s %s: Lookup returned a different document", d.Date, r.coll)
			}
			if len(sample) < 400 {
				sample = append(sample, r)
			}
		}
	})
	// Nine documents every day (eight dailies and the night) plus extras.
	if len(seen) < 9*289+100 {
		t.Fatalf("only %d ids over 289 days", len(seen))
	}
	for _, rc := range w.RingConfigurations(u0) {
		got, ok := w.Lookup(u0, oura.CollRingConfiguration, rc.ID)
		if !ok || !reflect.DeepEqual(got, rc) {
			t.Errorf("ring %s: lookup %v", rc.ID, ok)
		}
	}

	notFound := []struct {
		name string
		user *User
		coll string
		id   string
	}{
		{"another user's id", u1, sample[0].coll, sample[0].id},
		{"another user's daily", u1, sample[1].coll, sample[1].id},
		{"wrong collection", u0, oura.CollWorkout, sample[0].id},
		{"malformed", u0, oura.CollSleep, "not-a-uuid"},
		{"upper-case noise", u0, oura.CollSleep, strings.Repeat("F", 36)},
		{"unknown collection", u0, "meal", sample[0].id},
		{"heartrate has no documents", u0, oura.CollHeartRate, sample[0].id},
	}
	// A day after LastDay: generated, but not visible yet.
	last, _ := parseDate(w.LastDay(u0))
	for _, r := range docsOf(w.day(u0.Index, last+1)) {
		notFound = append(notFound, struct {
			name string
			user *User
			coll string
			id   string
		}{"future " + r.coll, u0, r.coll, r.id})
	}
	for _, r := range docsOf(w.day(u0.Index, w.startDn-1)) {
		notFound = append(notFound, struct {
			name string
			user *User
			coll string
			id   string
		}{"before history " + r.coll, u0, r.coll, r.id})
	}
	for _, tc := range notFound {
		if _, ok := w.Lookup(tc.user, tc.coll, tc.id); ok {
			t.Errorf("%s: Lookup(%s, %s) found", tc.name, tc.coll, tc.id)
		}
	}
	// Random v4 UUIDs never decode.
	for i := 0; i < 5000; i++ {
		var b [16]byte
		h1, h2 := mix64(uint64(i)), mix64(uint64(i)+1<<40)
		for k := 0; k < 8; k++ {
			b[k], b[8+k] = byte(h1>>(8*k)), byte(h2>>(8*k))
		}
		b[6] = b[6]&0x0f | 0x40
		b[8] = b[8]&0x3f | 0x80
		id := formatUUID(b)
		for _, c := range []string{oura.CollSleep, oura.CollDailyActivity, oura.CollWorkout} {
			if _, ok := w.Lookup(u0, c, id); ok {
				t.Fatalf("random id %s found in %s", id, c)
			}
		}
	}
	// The data_type spelling of vO2_max works too, as webhooks use it.
	for _, r := range sample {
		if r.coll == oura.CollVO2Max {
			if _, ok := w.Lookup(u0, "vo2_max", r.id); !ok {
				t.Errorf("vo2_max lookup by data_type failed")
			}
			break
		}
	}
}

func isUUID(s string) bool {
	b, ok := parseUUID(s)
	return ok && s == strings.ToLower(s) && b[6]>>4 == 4 && b[8]&0xc0 == 0x80
}

// stampRe checks a LocalizedDateTime's shape and that its offset is the
// zone's offset at that instant.
func checkLocal(t *testing.T, loc *time.Location, what string, s oura.DateTime, millis bool) {
	t.Helper()
	layout := "2006-01-02T15:04:05-07:00"
	if millis {
		layout = "2006-01-02T15:04:05.000-07:00"
	}
	v, err := time.Parse(layout, string(s))
	if err != nil {
		t.Errorf("%s: %q does not match %s", what, s, layout)
		return
	}
	if want := v.In(loc).Format(layout); want != string(s) {
		t.Errorf("%s: %s, want offset of %s: %s", what, s, loc, want)
	}
}

func TestGenOffsetsAcrossDST(t *testing.T) {
	w := genWorld(t, 9, 6)
	ranges := map[string][2]oura.Date{
		"Europe/Helsinki":     {"2024-03-28", "2024-04-03"},
		"America/Los_Angeles": {"2024-11-01", "2024-11-05"},
		"Asia/Tokyo":          {"2024-03-28", "2024-04-01"},
		"Europe/London":       {"2024-10-25", "2024-10-29"},
		"America/New_York":    {"2024-03-08", "2024-03-12"},
		"Australia/Sydney":    {"2024-04-05", "2024-04-08"},
	}
	for _, u := range w.Users() {
		rg, ok := ranges[u.TimeZone]
		if !ok {
			t.Fatalf("no range for %s", u.TimeZone)
		}
		t.Run(u.TimeZone, func(t *testing.T) {
			a, _ := parseDate(rg[0])
			b, _ := parseDate(rg[1])
			if offsetAt(u.Location, localUnix(u.Location, a, 12*hh)) == offsetAt(u.Location, localUnix(u.Location, b, 12*hh)) && u.TimeZone != "Asia/Tokyo" {
				t.Fatalf("range %v does not cross a DST change", rg)
			}
			eachDay(t, w, u, rg[0], rg[1], func(dn int, d *Day) {
				loc := u.Location
				for _, s := range d.Sleep {
					checkLocal(t, loc, "bedtime_start", s.BedtimeStart, false)
					checkLocal(t, loc, "bedtime_end", s.BedtimeEnd, false)
					if s.HeartRate != nil {
						checkLocal(t, loc, "sleep heart_rate", s.HeartRate.Timestamp, true)
						checkLocal(t, loc, "sleep hrv", s.HRV.Timestamp, true)
					}
				}
				checkLocal(t, loc, "daily_activity", d.DailyActivity.Timestamp, false)
				checkLocal(t, loc, "met", d.DailyActivity.MET.Timestamp, true)
				for _, x := range d.Workouts {
					checkLocal(t, loc, "workout start", x.StartDatetime, false)
					checkLocal(t, loc, "workout end", x.EndDatetime, false)
				}
				for _, x := range d.Sessions {
					checkLocal(t, loc, "session start", x.StartDatetime, false)
					checkLocal(t, loc, "session end", x.EndDatetime, false)
					checkLocal(t, loc, "motion", x.MotionCount.Timestamp, true)
				}
				for _, x := range d.EnhancedTags {
					checkLocal(t, loc, "tag start", x.StartTime, false)
				}
				if d.VO2Max != nil {
					checkLocal(t, loc, "vo2", d.VO2Max.Timestamp, false)
				}
				utc := oura.DateTime(string(d.Date) + "T00:00:00+00:00")
				if d.DailySleep.Timestamp != utc || d.DailyReadiness.Timestamp != utc {
					t.Errorf("%s: daily timestamps %s %s", d.Date, d.DailySleep.Timestamp, d.DailyReadiness.Timestamp)
				}
				for _, hr := range d.HeartRate {
					if !strings.HasSuffix(string(hr.Timestamp), "+00:00") || len(hr.Timestamp) != 25 {
						t.Fatalf("%s: heart rate timestamp %s", d.Date, hr.Timestamp)
					}
				}
				for _, b := range d.Battery {
					if !strings.HasSuffix(string(b.Timestamp), "+00:00") || b.TimestampUnix == nil {
						t.Fatalf("%s: battery row %s", d.Date, b.Timestamp)
					}
				}
				if d.SleepTime.OptimalBedtime != nil {
					if want := offsetAt(loc, localUnix(loc, dn, 12*hh)); d.SleepTime.OptimalBedtime.DayTZ != want {
						t.Errorf("%s: day_tz %d, want %d", d.Date, d.SleepTime.OptimalBedtime.DayTZ, want)
					}
				}
			})
		})
	}
}

func TestGenHeartRate(t *testing.T) {
	w := genWorld(t, 13, 6)
	for _, u := range w.Users() {
		t.Run(u.TimeZone, func(t *testing.T) {
			var prevLast int64
			eachDay(t, w, u, "2024-10-20", "2024-11-10", func(dn int, d *Day) {
				counts := map[oura.HeartRateSource]int{}
				var prev int64
				for i, hr := range d.HeartRate {
					ts, err := hr.Timestamp.Time()
					if err != nil || hr.TimestampUnix == nil || *hr.TimestampUnix != ts.UnixMilli() {
						t.Fatalf("%s row %d: %s / %v", d.Date, i, hr.Timestamp, hr.TimestampUnix)
					}
					if ts.In(u.Location).Format(time.DateOnly) != string(d.Date) {
						t.Fatalf("%s row %d: %s is local %s", d.Date, i, hr.Timestamp, ts.In(u.Location))
					}
					if i > 0 && ts.Unix() <= prev {
						t.Fatalf("%s row %d: not ascending", d.Date, i)
					}
					if hr.BPM < 30 || hr.BPM > 200 {
						t.Errorf("%s row %d: bpm %d", d.Date, i, hr.BPM)
					}
					prev = ts.Unix()
					counts[hr.Source]++
				}
				if len(d.HeartRate) > 0 {
					first, _ := d.HeartRate[0].Timestamp.Time()
					if first.Unix() <= prevLast {
						t.Errorf("%s: overlaps the previous day", d.Date)
					}
					prevLast = prev
				}
				if counts["awake"] < 100 || counts["awake"] > 1200 {
					t.Errorf("%s: %d awake samples", d.Date, counts["awake"])
				}
				if counts["sleep"] < 20 {
					t.Errorf("%s: %d sleep samples", d.Date, counts["sleep"])
				}
				if (len(d.Workouts) > 0) != (counts["workout"] > 0) {
					t.Errorf("%s: %d workouts, %d workout samples", d.Date, len(d.Workouts), counts["workout"])
				}
				for src := range counts {
					switch src {
					case "awake", "sleep", "rest", "workout":
					default:
						t.Errorf("%s: source %s", d.Date, src)
					}
				}
			})
		})
	}

	t.Run("evening samples match the next night's document", func(t *testing.T) {
		u := w.Users()[0]
		for _, day := range []oura.Date{"2024-06-10", "2024-06-11", "2024-12-24"} {
			dn, _ := parseDate(day)
			today, tomorrow := w.day(u.Index, dn), w.day(u.Index, dn+1)
			byTime := map[int64]int{}
			for _, hr := range today.HeartRate {
				if hr.Source == "sleep" {
					byTime[*hr.TimestampUnix/1000] = hr.BPM
				}
			}
			var night *oura.Sleep
			for i := range tomorrow.Sleep {
				if *tomorrow.Sleep[i].Type == oura.SleepTypeLongSleep {
					night = &tomorrow.Sleep[i]
				}
			}
			start, _ := night.BedtimeStart.Time()
			midnight := localUnix(u.Location, dn+1, 0)
			matched := 0
			for g, v := range night.HeartRate.Items {
				ts := start.Unix() + int64(g)*300
				if ts >= midnight || v == nil {
					continue
				}
				if got, ok := byTime[ts]; !ok || got != int(*v) {
					t.Errorf("%s: sample at %d: %d/%v, want %v", day, ts, got, ok, *v)
				}
				matched++
			}
			if start.Unix() < midnight && matched == 0 {
				t.Errorf("%s: no evening sleep samples", day)
			}
		}
	})

	t.Run("workout samples are seconds apart", func(t *testing.T) {
		u := w.Users()[1]
		found := false
		eachDay(t, w, u, "2024-05-01", "2024-05-31", func(dn int, d *Day) {
			var prev int64
			for _, hr := range d.HeartRate {
				ts := *hr.TimestampUnix / 1000
				if hr.Source == "workout" && prev != 0 && ts-prev < 5 {
					t.Errorf("%s: workout samples %d s apart", d.Date, ts-prev)
				}
				if hr.Source == "workout" {
					if prev != 0 && ts-prev <= 10 {
						found = true
					}
					prev = ts
				} else {
					prev = 0
				}
			}
		})
		if !found {
			t.Error("no dense workout samples in a month")
		}
	})
}

func TestGenVisibility(t *testing.T) {
	// 2024-06-15 05:00 UTC is 08:00 in Helsinki, 22:00 (the 14th) in Los
	// Angeles and 14:00 in Tokyo.
	now := time.Date(2024, 6, 15, 5, 0, 0, 0, time.UTC)
	newW := func() *World {
		return NewWorld(WorldConfig{Seed: 1, Users: 3, HistoryStart: "2024-01-01", Now: func() time.Time { return now }})
	}
	w := newW()
	hel, la, tok := w.Users()[0], w.Users()[1], w.Users()[2]
	if hel.TimeZone != "Europe/Helsinki" || la.TimeZone != "America/Los_Angeles" || tok.TimeZone != "Asia/Tokyo" {
		t.Fatalf("zones %s %s %s", hel.TimeZone, la.TimeZone, tok.TimeZone)
	}

	initial := []struct {
		u    *User
		want oura.Date
	}{
		// 08:00 in Helsinki: the 14th syncs at 10:00.
		{hel, "2024-06-13"},
		// 22:00 on the 14th in Los Angeles: the 13th synced this morning.
		{la, "2024-06-13"},
		{tok, "2024-06-14"},
	}
	for _, tc := range initial {
		if got := w.LastDay(tc.u); got != tc.want {
			t.Errorf("%s: LastDay %s, want %s", tc.u.TimeZone, got, tc.want)
		}
	}

	dayCases := []struct {
		name    string
		d       oura.Date
		wantDoc bool
	}{
		{"first day", "2024-01-01", true},
		{"last day", "2024-06-13", true},
		{"before history", "2023-12-31", false},
		{"after last day", "2024-06-14", false},
		{"malformed", "2024-13-01", false},
	}
	for _, tc := range dayCases {
		d := w.Day(hel, tc.d)
		if d.Date != tc.d || (d.DailySleep != nil) != tc.wantDoc || (len(d.Sleep) > 0) != tc.wantDoc || (len(d.HeartRate) > 0) != tc.wantDoc {
			t.Errorf("%s: Day(%s) date %s has docs %v, want %v", tc.name, tc.d, d.Date, d.DailySleep != nil, tc.wantDoc)
		}
	}

	if got := w.SyncTime(hel, "2024-06-15"); !got.Equal(time.Date(2024, 6, 16, 10, 0, 0, 0, hel.Location)) {
		t.Errorf("SyncTime = %v", got)
	}

	reveal := []struct {
		at   time.Time
		want map[int][]oura.Date
	}{
		// Nothing syncs before 10:00 local on the day after.
		{time.Date(2024, 6, 15, 6, 59, 0, 0, time.UTC), map[int][]oura.Date{}},
		// By 17:00 UTC Helsinki's 10:00 (07:00 UTC) has synced its 14th,
		// and 10:00 in Los Angeles syncs its 14th.
		{time.Date(2024, 6, 15, 17, 0, 0, 0, time.UTC), map[int][]oura.Date{0: {"2024-06-14"}, 1: {"2024-06-14"}}},
		// 10:00 in Tokyo on the 16th (01:00 UTC) syncs Tokyo's 15th.
		{time.Date(2024, 6, 16, 1, 0, 0, 0, time.UTC), map[int][]oura.Date{2: {"2024-06-15"}}},
		// Two days at once, and the same instant twice reveals nothing more.
		{time.Date(2024, 6, 17, 17, 0, 0, 0, time.UTC), map[int][]oura.Date{0: {"2024-06-15", "2024-06-16"}, 1: {"2024-06-15", "2024-06-16"}, 2: {"2024-06-16"}}},
		{time.Date(2024, 6, 17, 17, 0, 0, 0, time.UTC), map[int][]oura.Date{}},
	}
	for i, tc := range reveal {
		if got := w.RevealUntil(tc.at); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("step %d: RevealUntil(%v) = %v, want %v", i, tc.at, got, tc.want)
		}
	}

	// RevealNextDay runs ahead of the clock; the clock then does not
	// reveal the same day again.
	if got := w.RevealNextDay(hel); got != "2024-06-17" {
		t.Errorf("RevealNextDay = %s", got)
	}
	if d := w.Day(hel, "2024-06-17"); d.DailySleep == nil {
		t.Error("revealed day is empty")
	}
	if got := w.RevealUntil(time.Date(2024, 6, 18, 7, 0, 0, 0, time.UTC)); len(got[0]) != 0 {
		t.Errorf("day revealed twice: %v", got)
	}
	if got := w.RevealUntil(time.Date(2024, 6, 19, 7, 0, 0, 0, time.UTC)); !reflect.DeepEqual(got[0], []oura.Date{"2024-06-18"}) {
		t.Errorf("after catching up: %v", got[0])
	}

	// Nothing is visible when the clock is before the history.
	early := NewWorld(WorldConfig{Seed: 1, HistoryStart: "2024-01-01", Now: func() time.Time { return time.Date(2023, 5, 1, 0, 0, 0, 0, time.UTC) }})
	eu := early.Users()[0]
	if got := early.LastDay(eu); got != "2023-12-31" {
		t.Errorf("early LastDay %s", got)
	}
	if got := early.RevealNextDay(eu); got != "2024-01-01" {
		t.Errorf("early RevealNextDay %s", got)
	}
}

// TestGenEveryKey checks that every declared key is emitted, nulls included.
func TestGenEveryKey(t *testing.T) {
	w := genWorld(t, 17, 3)
	kinds := map[string]bool{}
	for _, u := range w.Users() {
		docs := []any{w.PersonalInfo(u)}
		for _, rc := range w.RingConfigurations(u) {
			docs = append(docs, rc)
		}
		eachDay(t, w, u, "2024-01-01", "2024-06-30", func(dn int, d *Day) {
			for _, r := range docsOf(d) {
				docs = append(docs, r.doc)
			}
			if len(d.HeartRate) > 0 {
				docs = append(docs, d.HeartRate[0])
			}
			if len(d.Battery) > 0 {
				docs = append(docs, d.Battery[0])
			}
		})
		for _, doc := range docs {
			kinds[reflect.TypeOf(doc).Name()] = true
			var m map[string]any
			if err := json.Unmarshal(mustJSON(t, doc), &m); err != nil {
				t.Fatal(err)
			}
			checkKeys(t, reflect.TypeOf(doc), m, reflect.TypeOf(doc).Name())
		}
	}
	for _, k := range []string{"Sleep", "Workout", "Session", "Tag", "EnhancedTag", "RestModePeriod", "VO2Max", "HeartRate", "RingBatteryLevel"} {
		if !kinds[k] {
			t.Errorf("no %s generated in half a year for 3 users", k)
		}
	}
}

func checkKeys(t *testing.T, typ reflect.Type, m map[string]any, where string) {
	t.Helper()
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	for i := 0; i < typ.NumField(); i++ {
		f := typ.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || name == "producer_timestamp" {
			continue
		}
		v, ok := m[name]
		if !ok {
			t.Errorf("%s: key %q missing", where, name)
			continue
		}
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if sub, isObj := v.(map[string]any); isObj && ft.Kind() == reflect.Struct {
			checkKeys(t, ft, sub, where+"."+name)
		}
	}
}

func BenchmarkGenDay(b *testing.B) {
	w := NewWorld(WorldConfig{Seed: 1, Users: 1, HistoryStart: "2020-01-01", Now: func() time.Time { return genNow }})
	start, _ := parseDate("2021-01-01")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w.generate(0, start+i%3650)
	}
}

// BenchmarkGenYear is the cost of a year of one user through Day (cache
// misses included), as a backfill sees it.
func BenchmarkGenYear(b *testing.B) {
	for i := 0; i < b.N; i++ {
		w := NewWorld(WorldConfig{Seed: int64(i), Users: 1, HistoryStart: "2023-01-01", Now: func() time.Time { return genNow }})
		u := w.Users()[0]
		start, _ := parseDate("2024-01-01")
		for dn := start; dn < start+366; dn++ {
			w.Day(u, dateOf(dn))
		}
	}
}

func TestGenConcurrentUse(t *testing.T) {
	w := NewWorld(WorldConfig{Seed: 5, Users: 2, HistoryStart: "2023-06-01", CacheDays: 16, Now: func() time.Time { return genNow }})
	ref := genWorld(t, 5, 2)
	start, _ := parseDate("2024-09-01")
	done := make(chan struct{})
	for g := 0; g < 4; g++ {
		go func(g int) {
			defer func() { done <- struct{}{} }()
			for i := 0; i < 60; i++ {
				u := w.Users()[(g+i)%2]
				d := w.Day(u, dateOf(start+(i*7+g)%40))
				for _, r := range docsOf(d) {
					if _, ok := w.Lookup(u, r.coll, r.id); !ok {
						t.Errorf("lookup %s failed under concurrency", r.id)
					}
				}
				w.LastDay(u)
			}
		}(g)
	}
	for g := 0; g < 4; g++ {
		<-done
	}
	if n := w.cache.order.Len(); n > 16 || len(w.cache.items) != n {
		t.Errorf("cache holds %d entries (map %d), bound 16", n, len(w.cache.items))
	}
	for i := 0; i < 40; i += 13 {
		d := dateOf(start + i)
		if !bytes.Equal(mustJSON(t, w.Day(w.Users()[1], d)), mustJSON(t, ref.Day(ref.Users()[1], d))) {
			t.Errorf("%s differs after concurrent generation", d)
		}
	}
}
