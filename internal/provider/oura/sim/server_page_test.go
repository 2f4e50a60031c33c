package sim

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
)

type page struct {
	Data      []json.RawMessage `json:"data"`
	NextToken *string           `json:"next_token"`
}

// fetchAll follows next_token from the first page, sending only next_token
// on later pages, and returns every document and the number of pages.
func fetchAll(t *testing.T, base, coll, query, token string) ([]json.RawMessage, int) {
	t.Helper()
	u := base + "/v2/usercollection/" + coll + "?" + query
	var all []json.RawMessage
	for pages := 1; ; pages++ {
		r := get(t, u, token)
		if r.status != 200 {
			t.Fatalf("%s: %d %s", u, r.status, r.body)
		}
		var p page
		if err := json.Unmarshal(r.body, &p); err != nil {
			t.Fatal(err)
		}
		all = append(all, p.Data...)
		if p.NextToken == nil {
			return all, pages
		}
		if pages > 10000 {
			t.Fatal("pagination does not end")
		}
		u = base + "/v2/usercollection/" + coll + "?next_token=" + url.QueryEscape(*p.NextToken)
	}
}

func TestPaginationReproducesFullList(t *testing.T) {
	cfg := Config{Seed: 5, HistoryStart: "2024-12-01"}
	big := cfg
	big.PageSize, big.TimeSeriesPageSize = 100000, 100000
	small := cfg
	small.PageSize, small.TimeSeriesPageSize = 2, 7
	srvBig, tsBig := newTestServer(t, big)
	_, tsSmall := newTestServer(t, small)
	tok := srvBig.Tokens()[0].AccessToken // same seed: same tokens on both

	tests := []struct {
		coll, query string
	}{
		{"daily_sleep", "start_date=2025-01-01&end_date=2025-02-01"},
		{"daily_activity", "start_date=0024-01-01&end_date=2030-01-01"},
		{"sleep", "start_date=2025-01-01&end_date=2025-03-01"},
		{"workout", "start_date=2024-12-01&end_date=2025-03-10"},
		{"session", "start_date=2024-12-01&end_date=2025-03-10"},
		{"enhanced_tag", "start_date=2024-12-01&end_date=2025-03-10"},
		{"tag", "start_date=2024-12-01&end_date=2025-03-10"},
		{"heartrate", "start_datetime=2025-03-01T00:00:00Z&end_datetime=2025-03-03T00:00:00Z"},
		{"ring_battery_level", "start_datetime=2025-03-01T00:00:00Z&end_datetime=2025-03-04T00:00:00Z"},
		{"ring_configuration", ""},
	}
	for _, tc := range tests {
		t.Run(tc.coll, func(t *testing.T) {
			want, onePage := fetchAll(t, tsBig.URL, tc.coll, tc.query, tok)
			got, pages := fetchAll(t, tsSmall.URL, tc.coll, tc.query, tok)
			if onePage != 1 {
				t.Errorf("big pages: %d pages", onePage)
			}
			if len(want) == 0 {
				t.Fatalf("no %s documents in range: nothing to page through", tc.coll)
			}
			if len(got) != len(want) {
				t.Fatalf("%d documents over %d pages, want %d", len(got), pages, len(want))
			}
			size := 2
			if tc.coll == "heartrate" || tc.coll == "ring_battery_level" {
				size = 7
			}
			if wantPages := (len(want) + size - 1) / size; pages != wantPages {
				t.Errorf("%d pages for %d documents of page size %d, want %d (no trailing empty page)", pages, len(want), size, wantPages)
			}
			for i := range want {
				if string(got[i]) != string(want[i]) {
					t.Fatalf("document %d differs:\n%s\n%s", i, got[i], want[i])
				}
			}
		})
	}
}

func TestPaginationTokenRules(t *testing.T) {
	srv, ts := newTestServer(t, Config{PageSize: 2})
	tok0, tok1 := srv.Tokens()[0].AccessToken, srv.Tokens()[1].AccessToken
	r := get(t, ts.URL+"/v2/usercollection/daily_sleep?start_date=2025-02-01&end_date=2025-02-10", tok0)
	var p1 page
	_ = json.Unmarshal(r.body, &p1)
	if p1.NextToken == nil {
		t.Fatal("no next_token with page size 2 over 10 days")
	}
	nt := url.QueryEscape(*p1.NextToken)
	alone := get(t, ts.URL+"/v2/usercollection/daily_sleep?next_token="+nt, tok0)
	// Date parameters sent along with next_token are ignored.
	with := get(t, ts.URL+"/v2/usercollection/daily_sleep?start_date=2025-01-01&end_date=2025-01-02&next_token="+nt, tok0)
	if alone.status != 200 || string(alone.body) != string(with.body) {
		t.Errorf("next_token with other dates:\n%s\n%s", alone.body, with.body)
	}
	// A cursor belongs to its user and collection.
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep?next_token="+nt, tok1); r.status != 422 {
		t.Errorf("another user's next_token: %d", r.status)
	}
	if r := get(t, ts.URL+"/v2/usercollection/daily_readiness?next_token="+nt, tok0); r.status != 422 {
		t.Errorf("next_token on another collection: %d", r.status)
	}
	// Tampering breaks the signature.
	bad := []byte(*p1.NextToken)
	bad[5] ^= 1
	if r := get(t, ts.URL+"/v2/usercollection/daily_sleep?next_token="+url.QueryEscape(string(bad)), tok0); r.status != 422 {
		t.Errorf("tampered next_token: %d", r.status)
	}
}

// The filtering rules checked end to end on generated data, each written
// out independently of the server's code.
func TestFilteringOnGeneratedData(t *testing.T) {
	srv, ts := newTestServer(t, Config{Seed: 9, Users: 3, HistoryStart: "2024-12-01"})
	const start, end = "2025-02-03", "2025-02-09"
	s0, _ := time.Parse(time.DateOnly, start)
	e0, _ := time.Parse(time.DateOnly, end)
	rules := map[string]func(d *Day) []string{
		// day in [start, end]
		"daily_stress": func(d *Day) []string {
			if d.DailyStress != nil && d.DailyStress.Day >= start && d.DailyStress.Day <= end {
				return []string{d.DailyStress.ID}
			}
			return nil
		},
		// timestamp in [start 00:00Z, end 00:00Z]
		"daily_readiness": func(d *Day) []string {
			if d.DailyReadiness == nil {
				return nil
			}
			ts, _ := d.DailyReadiness.Timestamp.Time()
			if !ts.Before(s0) && !ts.After(e0) {
				return []string{d.DailyReadiness.ID}
			}
			return nil
		},
		"daily_activity": func(d *Day) []string {
			if d.DailyActivity == nil {
				return nil
			}
			ts, _ := d.DailyActivity.Timestamp.Time()
			if !ts.Before(s0) && !ts.After(e0) {
				return []string{d.DailyActivity.ID}
			}
			return nil
		},
		// bedtime_start in [start 00:00Z, end 00:00Z]
		"sleep": func(d *Day) []string {
			var out []string
			for _, s := range d.Sleep {
				ts, _ := s.BedtimeStart.Time()
				if !ts.Before(s0) && !ts.After(e0) {
					out = append(out, s.ID)
				}
			}
			return out
		},
		// start_datetime in [start 00:00Z, end 00:00Z)
		"workout": func(d *Day) []string {
			var out []string
			for _, w := range d.Workouts {
				ts, _ := w.StartDatetime.Time()
				if !ts.Before(s0) && ts.Before(e0) {
					out = append(out, w.ID)
				}
			}
			return out
		},
	}
	for ui, u := range srv.World().Users() {
		tok := srv.Tokens()[ui].AccessToken
		for coll, rule := range rules {
			want := map[string]bool{}
			for d := oura.Date("2025-01-25"); d <= "2025-02-20"; d = shiftDate(d, 1) {
				for _, id := range rule(srv.World().Day(u, d)) {
					want[id] = true
				}
			}
			got, _ := fetchAll(t, ts.URL, coll, "start_date="+start+"&end_date="+end, tok)
			seen := map[string]bool{}
			for _, raw := range got {
				var doc struct {
					ID string `json:"id"`
				}
				_ = json.Unmarshal(raw, &doc)
				if !want[doc.ID] {
					t.Errorf("user %d (%s) %s: %s returned but outside the rule", ui, u.TimeZone, coll, doc.ID)
				}
				seen[doc.ID] = true
			}
			for id := range want {
				if !seen[id] {
					t.Errorf("user %d (%s) %s: %s matches the rule but was not returned", ui, u.TimeZone, coll, id)
				}
			}
			if len(want) == 0 {
				t.Errorf("user %d %s: rule selects nothing; the test proves nothing", ui, coll)
			}
		}
	}
}
