package normkit

import (
	"reflect"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

func ptr[T any](v T) *T { return &v }

func deref(p *int) any {
	if p == nil {
		return nil
	}
	return *p
}

// TestRoundInt checks the rounding rule: half away from zero, and null for
// what an int32 field cannot hold.
func TestRoundInt(t *testing.T) {
	tests := []struct {
		in   float64
		want *int
	}{
		{71.25, ptr(71)}, {71.5, ptr(72)}, {14.49, ptr(14)}, {-0.5, ptr(-1)}, {0, ptr(0)},
		{1e12, nil}, {-1e12, nil},
	}
	for _, tt := range tests {
		if got := RoundInt(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("RoundInt(%v) = %v, want %v", tt.in, deref(got), deref(tt.want))
		}
	}
}

// TestAppendDatetime checks the fast formatter against the layout it
// replaces, over random instants, zones and the edges of the year range.
func TestAppendDatetime(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("", 0), time.FixedZone("", 3600), time.FixedZone("", -9000),
		time.FixedZone("", 14*3600), time.FixedZone("", -12*3600), time.FixedZone("", 5*3600+45*60), time.FixedZone("lmt", 5989),
		time.FixedZone("", -30), time.FixedZone("", -5989), time.FixedZone("", 100*3600)}
	if l, err := time.LoadLocation("America/St_Johns"); err == nil {
		zones = append(zones, l)
	}
	times := []time.Time{
		time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(-5, 3, 1, 0, 0, 0, 0, time.UTC),
		time.Date(2024, 2, 29, 12, 34, 56, 789012345, time.UTC),
	}
	seed := uint64(1)
	for i := 0; i < 2000; i++ {
		seed = seed*6364136223846793005 + 1442695040888963407
		times = append(times, time.Unix(int64(seed>>20)%(300*365*86400)-100*365*86400, int64(seed%1e9)))
	}
	for _, tm := range times {
		for _, z := range zones {
			x := tm.In(z)
			if got, want := string(AppendDatetime(nil, x)), x.Format(health.DatetimeLayout); got != want {
				t.Fatalf("%v: got %s, want %s", x, got, want)
			}
		}
	}
}

func TestParseDay(t *testing.T) {
	for day, ok := range map[string]bool{
		"2024-02-29": true, "2023-02-29": false, "2024-12-31": true, "0000-01-01": false,
		"2024-13-01": false, "2024-1-01": false, "2024-01-01T00:00:00Z": false, "": false,
	} {
		if got, gotOK := ParseDay(day); gotOK != ok || (ok && got != day) {
			t.Errorf("ParseDay(%q) = %q, %v; want ok %v", day, got, gotOK, ok)
		}
	}
}

// TestWrap: the wrapper names its provider, and the role only when given.
func TestWrap(t *testing.T) {
	got := string(Wrap("whoop", "sleep", "", []byte(`{"id":"a"}`)))
	if want := `{"source":"whoop","collection":"sleep","document":{"id":"a"}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	got = string(Wrap("oura", "tag", RoleSuperseded, []byte(`{}`)))
	if want := `{"source":"oura","collection":"tag","role":"superseded","document":{}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestZones: without a Location, an instant takes the offset of the nearest
// primary anchor within reach, else a nearer secondary one.
func TestZones(t *testing.T) {
	plus2 := time.FixedZone("", 2*3600)
	minus5 := time.FixedZone("", -5*3600)
	night := time.Date(2024, 3, 5, 7, 0, 0, 0, plus2)
	trip := time.Date(2024, 3, 12, 18, 0, 0, 0, minus5)
	z := NewZones(nil, []Anchor{AnchorOf(night)}, []Anchor{AnchorOf(trip)})
	offsetAt := func(x time.Time) int {
		_, off := x.In(z.At(x)).Zone()
		return off
	}
	if off := offsetAt(time.Date(2024, 3, 5, 12, 0, 0, 0, time.UTC)); off != 2*3600 {
		t.Errorf("near the night: offset %d, want +2h", off)
	}
	if off := offsetAt(trip.Add(time.Hour)); off != -5*3600 {
		t.Errorf("a week later, next to the trip's workout: offset %d, want -5h", off)
	}
	if loc := NewZones(nil, nil, nil).At(night); loc != time.UTC {
		t.Errorf("no anchors: %v, want UTC", loc)
	}
	if m := NewZones(plus2, nil, nil).Midnight("2024-03-05"); !m.Equal(time.Date(2024, 3, 5, 0, 0, 0, 0, plus2)) {
		t.Errorf("midnight with a Location: %v", m)
	}
}
