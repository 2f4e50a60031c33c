package sim

import (
	"net/url"
	"slices"
	"testing"
	"time"
)

// TestPagination: pages of any size concatenate to the same records, in
// start order descending, without repeats; limit defaults to 10 and caps at
// 25; a token only works for its own collection and user.
func TestPagination(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{Users: 2})
	tok := srv.Tokens()[0].AccessToken
	window := "start=2025-09-01T00:00:00Z&end=2025-10-01T00:00:00Z"
	var ref []string
	for _, limit := range []string{"25", "7", "1"} {
		sleeps := listAll[Sleep](t, ts, "/v2/activity/sleep?"+window+"&limit="+limit, tok)
		var ids []string
		for i, s := range sleeps {
			ids = append(ids, s.ID)
			if i > 0 && s.Start >= sleeps[i-1].Start {
				t.Fatalf("limit %s: %s starts %s after %s", limit, s.ID, s.Start, sleeps[i-1].Start)
			}
		}
		if ref == nil {
			ref = ids
		} else if !slices.Equal(ids, ref) {
			t.Fatalf("limit %s pages differ from limit 25 pages", limit)
		}
	}
	if len(ref) < 30 {
		t.Fatalf("only %d sleeps in September", len(ref))
	}

	for _, tc := range []struct {
		query string
		want  int
	}{{"", 10}, {"?limit=25", 25}, {"?limit=3", 3}} {
		st, _, b := get(t, ts, "/v2/cycle"+tc.query, tok)
		if pg := decode[Page[Cycle]](t, b); st != 200 || len(pg.Records) != tc.want || pg.NextToken == "" {
			t.Errorf("/v2/cycle%s: %d, %d records, token %q", tc.query, st, len(pg.Records), pg.NextToken)
		}
	}

	_, _, b := get(t, ts, "/v2/cycle?limit=2", tok)
	next := decode[Page[Cycle]](t, b).NextToken
	for _, tc := range []struct {
		name, path, token string
		want              int
	}{
		{"own collection", "/v2/cycle?nextToken=" + next, tok, 200},
		{"the parameter is camelCase", "/v2/cycle?next_token=" + next, tok, 200},
		{"another collection", "/v2/recovery?nextToken=" + next, tok, 400},
		{"another user", "/v2/cycle?nextToken=" + next, srv.Tokens()[1].AccessToken, 400},
		{"garbage", "/v2/cycle?nextToken=!!", tok, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if st, _, b := get(t, ts, tc.path, tc.token); st != tc.want {
				t.Errorf("%d, want %d: %s", st, tc.want, b)
			}
		})
	}
}

// TestWindowSemantics: a record matches if it ends at or after start
// (inclusive) and starts before end (exclusive); end defaults to now.
func TestWindowSemantics(t *testing.T) {
	srv, ts, _ := newTestServer(t, Config{Users: 1})
	tok := srv.Tokens()[0].AccessToken
	all := listAll[Sleep](t, ts, "/v2/activity/sleep?limit=25&start=2025-09-01T00:00:00Z", tok)
	s := all[len(all)/2]
	st, en := mustTime(t, s.Start), mustTime(t, s.End)
	ms := time.Millisecond
	f := func(t time.Time) string { return url.QueryEscape(t.Format(time.RFC3339Nano)) }
	for _, tc := range []struct {
		name       string
		start, end time.Time
		want       bool
	}{
		{"window inside the sleep", st.Add(time.Hour), st.Add(2 * time.Hour), true},
		{"start at the sleep's end is inclusive", en, en.Add(time.Hour), true},
		{"start just after its end", en.Add(ms), en.Add(time.Hour), false},
		{"end at the sleep's start is exclusive", st.Add(-time.Hour), st, false},
		{"end just after its start", st.Add(-time.Hour), st.Add(ms), true},
		{"start in another zone's notation", st.Add(-time.Hour).In(time.FixedZone("", -5*3600)), st.Add(ms), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := listAll[Sleep](t, ts, "/v2/activity/sleep?limit=25&start="+f(tc.start)+"&end="+f(tc.end), tok)
			found := slices.ContainsFunc(got, func(x Sleep) bool { return x.ID == s.ID })
			if found != tc.want {
				t.Errorf("sleep [%s, %s] in [%s, %s): %v, want %v", s.Start, s.End, tc.start, tc.end, found, tc.want)
			}
		})
	}

	// Nothing that has not synced yet, whatever end says; the open cycle
	// matches any window after its start.
	future := listAll[Sleep](t, ts, "/v2/activity/sleep?limit=25&start=2025-10-14T00:00:00Z&end=2026-01-01T00:00:00Z", tok)
	now := srv.Clock().Now()
	for _, x := range future {
		if mustTime(t, x.CreatedAt).After(now) {
			t.Errorf("sleep %s created %s, after now %s", x.ID, x.CreatedAt, now)
		}
	}
	cycles := listAll[Cycle](t, ts, "/v2/cycle?limit=25&start="+f(now.Add(-time.Minute)), tok)
	if len(cycles) != 1 || cycles[0].End != nil {
		t.Errorf("window at now: %+v, want the open cycle alone", cycles)
	}
}
