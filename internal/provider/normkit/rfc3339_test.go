package normkit

import (
	"math/rand/v2"
	"testing"
	"time"
)

// AppendRFC3339 writes what time.Format(time.RFC3339) writes, offsets
// with seconds and odd years included.
func TestAppendRFC3339AsFormat(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -5*3600-30*60), time.FixedZone("", -30),
		time.FixedZone("", 30), time.FixedZone("", 5*3600+45*60+15), time.FixedZone("", -14*3600), time.FixedZone("", 100*3600)}
	if hel, err := time.LoadLocation("Europe/Helsinki"); err == nil {
		zones = append(zones, hel)
	}
	r := rand.New(rand.NewPCG(1, 2))
	times := []time.Time{time.Date(0, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC),
		time.Date(-1, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}
	for range 2000 {
		times = append(times, time.Unix(r.Int64N(1<<36)-1<<35, r.Int64N(1e9)))
	}
	for _, tm := range times {
		for _, z := range zones {
			in := tm.In(z)
			if got, want := string(AppendRFC3339([]byte("x"), in)), "x"+in.Format(time.RFC3339); got != want {
				t.Errorf("%v: %q, want %q", in, got, want)
			}
		}
	}
}
