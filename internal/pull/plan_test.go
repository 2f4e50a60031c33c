package pull

import (
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// tableOnly is a provider that only has a collection table: planning asks
// for nothing else.
type tableOnly struct {
	provider.Provider
	provider.DocumentReader
	colls []provider.Collection
}

func (p tableOnly) Collections() []provider.Collection { return p.colls }

func dayOf(t *testing.T, d string) time.Time {
	t.Helper()
	v, err := time.Parse(time.DateOnly, d)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestSplitDaysTilesTheRange(t *testing.T) {
	for _, c := range []struct {
		from, to string
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
			t1, t2 := dayOf(t, w.From), dayOf(t, w.To)
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
	opt.Provider, opt.Out = tableOnly{colls: []provider.Collection{
		{Name: "sleep", Range: provider.RangeDays},
		{Name: "heartrate", Range: provider.RangeInstants, TimeSeries: true},
		{Name: "personal_info", Range: provider.RangeSingleton},
	}}, "x"
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

// bare has a collection table and nothing to read files back with.
type bare struct{ provider.Provider }

func (bare) Info() provider.Info { return provider.Info{DataSource: "bare", Name: "Bare"} }

func TestPullNeedsADocumentReader(t *testing.T) {
	opt := &Options{Provider: bare{}, Out: "x", Since: "2024-01-01", Until: "2024-01-02"}
	if err := opt.fill(); err == nil {
		t.Fatal("a provider that reads no files back was taken")
	}
}

// A directory holds one provider's files: another provider's run into it
// is refused before anything is fetched.
func TestStateKeepsItsDataSource(t *testing.T) {
	dir := t.TempDir()
	st, err := loadState(dir, "band")
	if err != nil {
		t.Fatal(err)
	}
	st.advance("sleep", "2024-01-01", "2024-01-31")
	if err := st.save(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := loadState(dir, "band"); err != nil {
		t.Errorf("the same provider: %v", err)
	}
	if _, err := loadState(dir, "other"); err == nil {
		t.Error("another provider's run was let into the directory")
	}
}
