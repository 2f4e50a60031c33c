package pull

import (
	"testing"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

func TestSplitDaysTilesTheRange(t *testing.T) {
	for _, c := range []struct {
		from, to oura.Date
		span     int
		windows  int
	}{
		{"2024-01-01", "2024-12-30", 90, 5},
		{"2024-01-01", "2024-12-30", 30, 13},
		{"2024-01-01", "2024-01-01", 30, 1},
		{"2024-02-27", "2024-03-02", 30, 1},
		{"2024-01-01", "2024-01-30", 30, 1},
		{"2024-01-01", "2024-01-31", 30, 2},
	} {
		ws := splitDays("sleep", c.from, c.to, c.span)
		if len(ws) != c.windows {
			t.Errorf("%s..%s by %d: %d windows, want %d: %v", c.from, c.to, c.span, len(ws), c.windows, ws)
			continue
		}
		next := c.from
		for _, w := range ws {
			t1, _ := w.From.Time()
			t2, _ := w.To.Time()
			if w.From != next || t2.Before(t1) || int(t2.Sub(t1).Hours()/24)+1 > c.span {
				t.Errorf("%s..%s by %d: window %v after %s", c.from, c.to, c.span, w, next)
			}
			next = addDays(w.To, 1)
		}
		if next != addDays(c.to, 1) {
			t.Errorf("%s..%s by %d: the windows end at %s", c.from, c.to, c.span, addDays(next, -1))
		}
	}
}

func TestPlanStartsAgainTwoDaysBeforeTheLastCompleteDay(t *testing.T) {
	opt := &Options{Since: "2024-01-01", Until: "2024-12-31", Collections: []string{"sleep", "heartrate", "personal_info"}}
	st := &state{Collections: map[string]collection{"sleep": {From: "2024-01-01", Through: "2024-12-20"}}}
	opt.User, opt.Out = (*oura.User)(nil), "x"
	if err := opt.fill(); err != nil {
		t.Fatal(err)
	}
	plan := planWindows(opt, st)
	var sleep, hr, other []Window
	for _, w := range plan {
		switch w.Collection {
		case "sleep":
			sleep = append(sleep, w)
		case "heartrate":
			hr = append(hr, w)
		default:
			other = append(other, w)
		}
	}
	if len(sleep) != 1 || sleep[0].From != "2024-12-19" || sleep[0].To != "2024-12-31" {
		t.Errorf("sleep windows %v, want 2024-12-19..2024-12-31", sleep)
	}
	if len(hr) != 13 || hr[0].From != "2024-01-01" {
		t.Errorf("heartrate, never fetched, has windows %v", hr)
	}
	if len(other) != 1 || other[0].From != "" {
		t.Errorf("personal_info windows %v", other)
	}
}
