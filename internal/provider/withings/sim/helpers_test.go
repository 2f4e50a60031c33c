package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the simulated start of most tests.
var testNow = time.Date(2025, 10, 15, 12, 0, 0, 0, time.UTC)

// fakeClock is a simulated clock that moves only when told.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newTestServer serves cfg on 127.0.0.1 with the clock at testNow, short
// history and no rate limit unless cfg sets them.
func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: testNow}
	if cfg.Now == nil {
		cfg.Now = clk.Now
	}
	if cfg.Days == 0 {
		cfg.Days = 30
	}
	if cfg.RateLimit == 0 {
		cfg.RateLimit = -1
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(func() {
		ts.Close()
		_ = srv.Close()
	})
	return srv, ts, clk
}

// reply is a decoded service answer.
type reply struct {
	HTTP   int
	Raw    []byte
	Status int             `json:"status"`
	Body   json.RawMessage `json:"body"`
	Error  string          `json:"error"`
}

// call POSTs form to path with the bearer token ("" for none).
func call(t *testing.T, ts *httptest.Server, path, token string, form url.Values) reply {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("POST %s %v: %v", path, form, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("POST %s: read: %v", path, err)
	}
	rp := reply{HTTP: resp.StatusCode, Raw: b}
	if resp.StatusCode == http.StatusOK {
		if err := json.Unmarshal(b, &rp); err != nil {
			t.Fatalf("POST %s %v: %v: %.300s", path, form, err, b)
		}
	}
	return rp
}

func form(kv ...string) url.Values {
	v := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		v.Set(kv[i], kv[i+1])
	}
	return v
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T: %v: %.300s", v, err, b)
	}
	return v
}

// pageBody is the paging part of a list answer; More is 0/1 in getmeas
// and a boolean elsewhere.
type pageBody struct {
	More   any `json:"more"`
	Offset int `json:"offset"`
}

func (p pageBody) more() bool { return p.More == true || p.More == float64(1) }

// listAll pages an action to its end and returns the raw items under key.
func listAll(t *testing.T, ts *httptest.Server, path, token, key string, f url.Values) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for i := 0; ; i++ {
		rp := call(t, ts, path, token, f)
		if rp.Status != 0 {
			t.Fatalf("%s %v: status %d %s", path, f, rp.Status, rp.Error)
		}
		items := decode[map[string]json.RawMessage](t, rp.Body)
		out = append(out, decode[[]json.RawMessage](t, items[key])...)
		pg := decode[pageBody](t, rp.Body)
		if !pg.more() {
			return out
		}
		if i > 1000 {
			t.Fatal("pagination does not end")
		}
		f = cloneWith(f, "offset", strconv.Itoa(pg.Offset))
	}
}

func cloneWith(f url.Values, k, v string) url.Values {
	c := url.Values{}
	for kk, vv := range f {
		c[kk] = append([]string{}, vv...)
	}
	c.Set(k, v)
	return c
}
