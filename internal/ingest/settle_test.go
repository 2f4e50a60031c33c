package ingest

import (
	"testing"
	"time"

	"github.com/riverqueue/river/rivertype"
)

// A fetch job waits FetchSettle from its creation, counted on River's
// stamps only, and at most once.
func TestSettleLeft(t *testing.T) {
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	at := func(d time.Duration) *time.Time { v := created.Add(d); return &v }
	settle := 200 * time.Millisecond
	for _, c := range []struct {
		name string
		job  rivertype.JobRow
		want time.Duration
	}{
		{"taken at once", rivertype.JobRow{CreatedAt: created, ScheduledAt: created, AttemptedAt: at(0)}, settle},
		{"taken after 50 ms", rivertype.JobRow{CreatedAt: created, ScheduledAt: created, AttemptedAt: at(50 * time.Millisecond)}, 150 * time.Millisecond},
		{"taken after the settle time", rivertype.JobRow{CreatedAt: created, ScheduledAt: created, AttemptedAt: at(time.Second)}, -800 * time.Millisecond},
		{"snoozed once already", rivertype.JobRow{CreatedAt: created, ScheduledAt: created.Add(150 * time.Millisecond), AttemptedAt: at(100 * time.Millisecond)}, 0},
		{"never taken", rivertype.JobRow{CreatedAt: created, ScheduledAt: created}, 0},
	} {
		if got := settleLeft(&c.job, settle); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}
