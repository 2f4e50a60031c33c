package normalize

import (
	"cmp"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/provider/oura"
)

// TestGoldenInterbeatRMSSD reads the HRV of every sleep_summary in the
// golden files of the simulated users and checks each value against the
// input: Oura's own item for its slot where Oura has one, otherwise the
// RMSSD computed here, independently, from the interbeat rows of the slot.
// It also checks that no null slot with enough clean beats was left empty.
func TestGoldenInterbeatRMSSD(t *testing.T) {
	derived := 0
	for _, c := range goldenCases() {
		if !strings.HasPrefix(c.name, "sim-") {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			in, _ := c.input(t)
			if len(in.InterbeatInterval) == 0 {
				t.Fatal("the simulated input has no interbeat rows")
			}
			beats := beatsByMillis(t, in.InterbeatInterval)
			for _, s := range goldenSleepHRV(t, filepath.Join("testdata", "golden", c.name+".json")) {
				p := periodStartingAt(t, in.Sleep, s.start)
				if p == nil || p.HRV == nil {
					t.Fatalf("no period with an hrv series starts at %s", s.start)
				}
				t0 := mustMillis(t, string(p.HRV.Timestamp))
				slot := int64(p.HRV.Interval * 1000)
				got := map[int]float64{}
				for _, e := range s.hrv {
					at := mustMillis(t, e.at)
					if (at-t0)%slot != 0 {
						t.Fatalf("%s: %s is off the 5-minute grid", s.start, e.at)
					}
					got[int((at-t0)/slot)] = e.value
				}
				for i, item := range p.HRV.Items {
					v, have := got[i]
					if item != nil {
						if have && v != *item {
							t.Errorf("%s slot %d: %v, Oura says %v", s.start, i, v, *item)
						}
						continue
					}
					want, ok := rmssdOf(beats, t0+int64(i)*slot, t0+int64(i+1)*slot)
					switch {
					case ok != have:
						t.Errorf("%s slot %d (null in Oura's series): value present %v, computed here %v", s.start, i, have, ok)
					case ok && math.Abs(v-want) > 1e-9:
						t.Errorf("%s slot %d: %.12f, computed here %.12f", s.start, i, v, want)
					case ok:
						derived++
					}
				}
			}
		})
	}
	if derived < 5 {
		t.Errorf("only %d values derived from interbeat rows in the golden files: the check proves little", derived)
	}
	t.Logf("%d derived values checked", derived)
}

// beat is an interbeat row as this test reads it: unix milliseconds.
type beat struct {
	ms       int64
	ibi      int
	validity int
}

func beatsByMillis(t *testing.T, rows []oura.InterbeatInterval) []beat {
	out := make([]beat, len(rows))
	for i, r := range rows {
		out[i] = beat{mustMillis(t, string(r.Timestamp)), r.IBI, int(r.Validity)}
	}
	slices.SortFunc(out, func(a, b beat) int { return cmp.Compare(a.ms, b.ms) })
	return out
}

// rmssdOf is RMSSD as MAPPING.md defines it, written out plainly: the beats
// of [from, to) in time order; a pair is two neighbours, both good (1) or
// corrected (3), at most 2.5 s apart; at least 20 pairs.
func rmssdOf(beats []beat, from, to int64) (float64, bool) {
	var in []beat
	for _, b := range beats {
		if b.ms >= from && b.ms < to {
			in = append(in, b)
		}
	}
	ok := func(b beat) bool { return (b.validity == 1 || b.validity == 3) && b.ibi > 0 && b.ibi <= 2000 }
	var sq []float64
	for k := 1; k < len(in); k++ {
		if ok(in[k-1]) && ok(in[k]) && in[k].ms-in[k-1].ms <= 2500 {
			d := float64(in[k].ibi - in[k-1].ibi)
			sq = append(sq, d*d)
		}
	}
	if len(sq) < 20 {
		return 0, false
	}
	sum := 0.0
	for _, v := range sq {
		sum += v
	}
	return math.Sqrt(sum / float64(len(sq))), true
}

func mustMillis(t *testing.T, s string) int64 {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatalf("timestamp %q: %v", s, err)
	}
	return v.UnixMilli()
}

type sleepHRVEntry struct {
	at    string
	value float64
}

type goldenSleep struct {
	start string
	hrv   []sleepHRVEntry
}

// goldenSleepHRV reads the start and HRV series of each sleep_summary of a
// golden file.
func goldenSleepHRV(t *testing.T, path string) []goldenSleep {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var entries []struct {
		DataStructure string `json:"data_structure"`
		Document      struct {
			SleepHealth struct {
				Summary struct {
					SleepSummary struct {
						Duration struct {
							Start *string `json:"sleep_start_datetime_string"`
						} `json:"duration"`
						HeartRate struct {
							HRV []struct {
								At    string  `json:"datetime_string"`
								Value float64 `json:"hrv_rmssd_float"`
							} `json:"hrv_rmssd_granular_data_array"`
						} `json:"heart_rate"`
					} `json:"sleep_summary"`
				} `json:"summary"`
			} `json:"sleep_health"`
		} `json:"document"`
	}
	if err := json.Unmarshal(b, &entries); err != nil {
		t.Fatal(err)
	}
	var out []goldenSleep
	for _, e := range entries {
		s := e.Document.SleepHealth.Summary.SleepSummary
		if e.DataStructure != "sleep_summary" || s.Duration.Start == nil {
			continue
		}
		g := goldenSleep{start: *s.Duration.Start}
		for _, h := range s.HeartRate.HRV {
			g.hrv = append(g.hrv, sleepHRVEntry{h.At, h.Value})
		}
		out = append(out, g)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no sleep_summary with a start", path)
	}
	return out
}

func periodStartingAt(t *testing.T, ps []oura.Sleep, start string) *oura.Sleep {
	want := mustMillis(t, start)
	for i := range ps {
		if mustMillis(t, string(ps[i].BedtimeStart)) == want {
			return &ps[i]
		}
	}
	return nil
}

// TestSleepHRVFromInterbeat: which slots get a value from the rows, and
// which rows count.
func TestSleepHRVFromInterbeat(t *testing.T) {
	const bed = "2024-03-04T23:00:00.000+01:00"
	t0, _ := time.Parse(time.RFC3339Nano, bed)
	slot1 := t0.Add(5 * time.Minute).Add(10 * time.Second)
	type row struct {
		ibi, validity int
		pause         time.Duration // silence before the row
	}
	// beats alternates 1000 and 1010 ms: every successive difference is
	// 10 ms, so RMSSD is 10 whatever the number of pairs.
	beats := func(n, validity int) []row {
		out := make([]row, n)
		for i := range out {
			out[i] = row{1000 + 10*(i%2), validity, 0}
		}
		return out
	}
	join := func(parts ...[]row) []row { return slices.Concat(parts...) }
	f := func(v float64) *float64 { return &v }
	series := &oura.Sample{Interval: 300, Items: []*float64{f(40), nil, f(42)}, Timestamp: oura.DateTime(bed)}
	cases := []struct {
		name   string
		hrv    *oura.Sample
		start  time.Time
		rows   []row
		want   []float64 // the period's hrv values, in order
		wantAt string    // the datetime of the first derived value, if any
	}{
		{"null slot filled", series, slot1, beats(30, 1), []float64{40, 10, 42}, "2024-03-04T23:05:00.000000+01:00"},
		{"oura's value kept", series, t0.Add(10 * time.Second), beats(30, 1), []float64{40, 42}, ""},
		{"19 pairs are too few", series, slot1, beats(20, 1), []float64{40, 42}, ""},
		{"20 pairs are enough", series, slot1, beats(21, 1), []float64{40, 10, 42}, ""},
		{"corrected rows count", series, slot1, beats(21, 3), []float64{40, 10, 42}, ""},
		{"raw rows do not", series, slot1, beats(21, 0), []float64{40, 42}, ""},
		{"a bad row is no beat", series, slot1, join(beats(15, 1), []row{{1900, 2, 0}}, beats(16, 1)), []float64{40, 10, 42}, ""},
		{"a gap row ends a run", series, slot1, join(beats(10, 1), []row{{0, -1, 3 * time.Second}}, beats(11, 1)), []float64{40, 42}, ""},
		{"a silence ends a run", series, slot1, join(beats(11, 1), []row{{1000, 1, 4 * time.Second}}, beats(9, 1)), []float64{40, 42}, ""},
		{"no series: slots from bedtime", nil, t0.Add(10 * time.Second), beats(30, 1), []float64{10}, "2024-03-04T23:00:00.000000+01:00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := oura.Sleep{ID: "s1", Day: "2024-03-05", BedtimeStart: bed, BedtimeEnd: "2024-03-05T00:00:00+01:00", HRV: c.hrv}
			lt := oura.SleepTypeLongSleep
			p.Type = &lt
			in := &Input{Sleep: []oura.Sleep{p}}
			at := c.start
			for _, r := range c.rows {
				at = at.Add(r.pause)
				if r.validity >= 0 {
					at = at.Add(time.Duration(r.ibi) * time.Millisecond)
				}
				in.InterbeatInterval = append(in.InterbeatInterval, oura.InterbeatInterval{
					Timestamp: oura.DateTime(at.UTC().Format("2006-01-02T15:04:05.000Z07:00")), IBI: r.ibi, Validity: oura.IBIValidity(r.validity)})
			}
			res, err := Normalize(in, Options{ClientUUID: testClient, UserID: testUser})
			if err != nil {
				t.Fatal(err)
			}
			var got []float64
			var firstDerived string
			for _, r := range res {
				s, ok := r.Doc.(*health.SleepSummaryDocument)
				if !ok {
					continue
				}
				for _, e := range s.Summary.HeartRate.HRVRMSSDGranularData {
					got = append(got, *e.HRVRMSSD)
					if *e.HRVRMSSD == 10 && firstDerived == "" {
						firstDerived = *e.Datetime
					}
				}
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("hrv %v, want %v", got, c.want)
			}
			if c.wantAt != "" && firstDerived != c.wantAt {
				t.Errorf("derived value at %q, want %q", firstDerived, c.wantAt)
			}
		})
	}
}
