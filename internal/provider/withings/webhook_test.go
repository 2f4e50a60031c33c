package withings

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider"
)

// TestReadNotification: the form names the user, the category and a
// window; each collection the category announces is one notification.
func TestReadNotification(t *testing.T) {
	day := time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name     string
		body     string
		colls    []string
		from, to time.Time
	}{
		{"weight", "userid=12345&appli=1&startdate=1710000000&enddate=1710003600", []string{CollMeasure},
			time.Unix(1710000000, 0), time.Unix(1710003600, 0)},
		{"pressure", "userid=12345&appli=4&startdate=1710000000&enddate=1710000000", []string{CollMeasure},
			time.Unix(1710000000, 0), time.Unix(1710000000, 0)},
		{"temperature", "appli=2&userid=12345&startdate=1710000000&enddate=1710000001", []string{CollMeasure},
			time.Unix(1710000000, 0), time.Unix(1710000001, 0)},
		{"activity by date", "userid=12345&appli=16&date=2024-03-10", []string{CollActivity, CollWorkout},
			day.Add(-14 * time.Hour), day.Add(36 * time.Hour)},
		{"sleep", "userid=12345&appli=44&startdate=1710000000&enddate=1710030000", []string{CollSleepSummary, CollSleep},
			time.Unix(1710000000, 0), time.Unix(1710030000, 0)},
		{"unknown category", "userid=12345&appli=99&startdate=1&enddate=2", nil, time.Time{}, time.Time{}},
		{"user action", "userid=12345&appli=46&action=unlink", nil, time.Time{}, time.Time{}},
		{"bed out", "userid=12345&appli=51&startdate=1&enddate=2&deviceid=x", nil, time.Time{}, time.Time{}},
	}
	p := testProvider(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/webhooks/withings/tok", strings.NewReader(c.body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			ns, err := p.ReadNotification(r, []byte(c.body))
			if err != nil {
				t.Fatal(err)
			}
			var colls []string
			for _, n := range ns {
				colls = append(colls, n.Collection)
				if n.ExternalUserID != "12345" || !n.From.Equal(c.from) || !n.To.Equal(c.to) || n.ID != "" {
					t.Errorf("%+v, want from %v to %v", n, c.from, c.to)
				}
			}
			if !slices.Equal(colls, c.colls) {
				t.Errorf("collections %v, want %v", colls, c.colls)
			}
		})
	}
}

// TestReadNotificationBad: a form without a user, a category or a window
// of a known category is refused as invalid.
func TestReadNotificationBad(t *testing.T) {
	for _, body := range []string{
		"",
		"%zz",
		"appli=1&startdate=1&enddate=2",
		"userid=abc&appli=1&startdate=1&enddate=2",
		"userid=1&startdate=1&enddate=2",
		"userid=1&appli=one&startdate=1&enddate=2",
		"userid=1&appli=1",
		"userid=1&appli=1&startdate=1",
		"userid=1&appli=1&startdate=x&enddate=2",
		"userid=1&appli=1&startdate=3&enddate=2",
		"userid=1&appli=16&date=10/03/2024",
		`{"userid":1,"appli":1}`,
	} {
		ns, err := ParseNotification([]byte(body))
		if provider.KindOf(err) != provider.KindInvalidRequest || ns != nil {
			t.Errorf("%q: %v, %v", body, ns, err)
		}
	}
}
