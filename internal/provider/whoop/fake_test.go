package whoop

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is the injected clock: Sleep advances it instead of waiting,
// so tests of waits are exact and instant.
type fakeClock struct {
	mu     sync.Mutex
	now    time.Time
	sleeps []time.Duration
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

func (c *fakeClock) Slept() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// fakeRecord is a record the fake cloud serves: its JSON and the span the
// collection routes filter on.
type fakeRecord struct {
	id         string
	start, end time.Time // end zero: the current cycle
	body       map[string]any
}

// fakeWhoop is a small WHOOP cloud on loopback: the v2 collection routes
// with WHOOP's window semantics and paging, the by-id routes, the user
// routes and revocation. Hooks let a test answer differently.
type fakeWhoop struct {
	t     *testing.T
	srv   *httptest.Server
	token string

	mu       sync.Mutex
	colls    map[string][]fakeRecord // by route
	profile  map[string]any
	body     map[string]any
	requests []*http.Request
	// hook, when set, may answer a request itself (true) first.
	hook    func(w http.ResponseWriter, r *http.Request) bool
	revoked bool
}

func newFakeWhoop(t *testing.T) *fakeWhoop {
	f := &fakeWhoop{t: t, token: "tok", colls: map[string][]fakeRecord{},
		profile: map[string]any{"user_id": 10129, "email": "jsmith123@whoop.com", "first_name": "John", "last_name": "Smith"},
		body:    map[string]any{"height_meter": 1.8288, "weight_kilogram": 90.7185, "max_heart_rate": 200}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeWhoop) add(route string, recs ...fakeRecord) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.colls[route] = append(f.colls[route], recs...)
}

func (f *fakeWhoop) log() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeWhoop) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r.Clone(context.Background()))
	hook := f.hook
	f.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	if r.Header.Get("Authorization") != "Bearer "+f.token {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	w.Header().Set("X-RateLimit-Limit", "100, 100;window=60, 10000;window=86400")
	w.Header().Set("X-RateLimit-Remaining", "98")
	w.Header().Set("X-RateLimit-Reset", "3")
	p := strings.TrimPrefix(r.URL.Path, "/developer")
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodDelete && p == pathUserAccess:
		f.revoked = true
		w.WriteHeader(http.StatusNoContent)
	case p == pathProfile:
		writeJSON(w, f.profile)
	case p == pathBody:
		writeJSON(w, f.body)
	case p == pathCycle || p == pathSleep || p == pathWorkout || p == pathRecovery:
		f.list(w, r, p)
	case strings.HasPrefix(p, pathCycle+"/") && strings.HasSuffix(p, "/sleep"):
		f.byField(w, pathSleep, "cycle_id", strings.TrimSuffix(strings.TrimPrefix(p, pathCycle+"/"), "/sleep"))
	case strings.HasPrefix(p, pathCycle+"/") && strings.HasSuffix(p, "/recovery"):
		f.byField(w, pathRecovery, "cycle_id", strings.TrimSuffix(strings.TrimPrefix(p, pathCycle+"/"), "/recovery"))
	case strings.HasPrefix(p, pathCycle+"/"), strings.HasPrefix(p, pathSleep+"/"), strings.HasPrefix(p, pathWorkout+"/"):
		i := strings.LastIndex(p, "/")
		f.byID(w, p[:i], p[i+1:])
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// list applies WHOOP's semantics: start inclusive on the record's start,
// end exclusive (records that started before it), sorted by start
// descending, at most limit (≤ 25) per page, the cursor in nextToken.
func (f *fakeWhoop) list(w http.ResponseWriter, r *http.Request, route string) {
	q := r.URL.Query()
	limit := 10
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 25 {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		limit = n
	}
	var lo, hi time.Time
	if s := q.Get("start"); s != "" {
		lo, _ = time.Parse(time.RFC3339Nano, s)
	}
	hi = time.Date(2100, 1, 1, 0, 0, 0, 0, time.UTC)
	if s := q.Get("end"); s != "" {
		hi, _ = time.Parse(time.RFC3339Nano, s)
	}
	var match []fakeRecord
	for _, rec := range f.colls[route] {
		if !rec.start.Before(lo) && rec.start.Before(hi) {
			match = append(match, rec)
		}
	}
	sort.SliceStable(match, func(i, j int) bool { return match[i].start.After(match[j].start) })
	off := 0
	if tok := q.Get("nextToken"); tok != "" {
		off, _ = strconv.Atoi(strings.TrimPrefix(tok, "c"))
	}
	resp := map[string]any{"records": []any{}}
	recs := []any{}
	for i := off; i < len(match) && i < off+limit; i++ {
		recs = append(recs, match[i].body)
	}
	resp["records"] = recs
	if off+limit < len(match) {
		resp["next_token"] = fmt.Sprintf("c%d", off+limit)
	}
	writeJSON(w, resp)
}

func (f *fakeWhoop) byID(w http.ResponseWriter, route, id string) {
	for _, rec := range f.colls[route] {
		if rec.id == id {
			writeJSON(w, rec.body)
			return
		}
	}
	w.WriteHeader(http.StatusNotFound)
}

func (f *fakeWhoop) byField(w http.ResponseWriter, route, field, value string) {
	for _, rec := range f.colls[route] {
		if fmt.Sprint(rec.body[field]) == value {
			writeJSON(w, rec.body)
			return
		}
	}
	w.WriteHeader(http.StatusNotFound)
}

// client builds a Client on the fake, with the fake clock.
func (f *fakeWhoop) client(t *testing.T, clk *fakeClock, mod func(*ClientConfig)) *Client {
	t.Helper()
	cfg := ClientConfig{BaseURL: f.srv.URL + "/developer", Now: clk.Now, Sleep: clk.Sleep, BaseBackoff: time.Millisecond, MaxBackoff: time.Millisecond}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (f *fakeWhoop) provider(t *testing.T, clk *fakeClock) *Provider {
	t.Helper()
	p, err := NewProvider(Config{Client: f.client(t, clk, nil), OAuthBaseURL: f.srv.URL, ClientSecret: "secret", WallClock: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// Builders of spec-shaped records.

func sleepRec(t *testing.T, id string, cycle int64, start, end, offset string, state ScoreState) fakeRecord {
	body := map[string]any{"id": id, "cycle_id": cycle, "v1_id": 93845, "user_id": 10129,
		"created_at": end, "updated_at": end, "start": start, "end": end, "timezone_offset": offset,
		"nap": false, "score_state": string(state)}
	if state == ScoreStateScored {
		body["score"] = map[string]any{
			"stage_summary": map[string]any{"total_in_bed_time_milli": 30272735, "total_awake_time_milli": 1403507,
				"total_no_data_time_milli": 0, "total_light_sleep_time_milli": 14905851, "total_slow_wave_sleep_time_milli": 6630370,
				"total_rem_sleep_time_milli": 5879573, "sleep_cycle_count": 3, "disturbance_count": 12},
			"sleep_needed": map[string]any{"baseline_milli": 27395716, "need_from_sleep_debt_milli": 352230,
				"need_from_recent_strain_milli": 208595, "need_from_recent_nap_milli": -12312},
			"respiratory_rate": 16.11328125, "sleep_performance_percentage": 98.0, "sleep_consistency_percentage": 90.0,
			"sleep_efficiency_percentage": 91.69533848}
	}
	return fakeRecord{id: id, start: mustTime(t, start), end: mustTime(t, end), body: body}
}

func workoutRec(t *testing.T, id, start, end, offset string) fakeRecord {
	body := map[string]any{"id": id, "v1_id": 1043, "user_id": 10129, "created_at": end, "updated_at": end,
		"start": start, "end": end, "timezone_offset": offset, "sport_name": "running", "score_state": "PENDING_SCORE", "sport_id": 1}
	return fakeRecord{id: id, start: mustTime(t, start), end: mustTime(t, end), body: body}
}

func cycleRec(t *testing.T, id int64, start, end, offset string) fakeRecord {
	body := map[string]any{"id": id, "user_id": 10129, "created_at": start, "updated_at": start,
		"start": start, "timezone_offset": offset, "score_state": "SCORED",
		"score": map[string]any{"strain": 5.2951527, "kilojoule": 8288.297, "average_heart_rate": 68, "max_heart_rate": 141}}
	rec := fakeRecord{id: strconv.FormatInt(id, 10), start: mustTime(t, start), body: body}
	if end != "" {
		body["end"] = end
		rec.end = mustTime(t, end)
	}
	return rec
}

// recoveryRec is filed under its sleep's start, as WHOOP sorts and
// filters recoveries.
func recoveryRec(t *testing.T, cycle int64, sleepID, sleepStart string) fakeRecord {
	body := map[string]any{"cycle_id": cycle, "sleep_id": sleepID, "user_id": 10129,
		"created_at": sleepStart, "updated_at": sleepStart, "score_state": "SCORED",
		"score": map[string]any{"user_calibrating": false, "recovery_score": 44.0, "resting_heart_rate": 64.0,
			"hrv_rmssd_milli": 31.813562, "spo2_percentage": 95.6875, "skin_temp_celsius": 33.7}}
	return fakeRecord{id: sleepID, start: mustTime(t, sleepStart), body: body}
}
