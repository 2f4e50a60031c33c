package sim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testNow is the simulated start of most tests: well inside the default
// history and after the v1 cut-off, so both id generations appear.
var testNow = time.Date(2025, 10, 15, 12, 0, 0, 0, time.UTC)

// newTestServer starts a server on a manual real-time source with the
// simulated clock at testNow and no background scan: time moves only when
// the test says so.
func newTestServer(t *testing.T, cfg Config) (*Server, *httptest.Server, *ManualTime) {
	t.Helper()
	mt := NewManualTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	if cfg.Clock == nil {
		cfg.Clock = NewClock(testNow, 1, mt.Now)
	}
	if cfg.ScanInterval == 0 {
		cfg.ScanInterval = -1
	}
	if cfg.HistoryStart.IsZero() {
		cfg.HistoryStart = time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)
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
	return srv, ts, mt
}

// get sends a GET with the token and returns status, headers and body.
func get(t *testing.T, ts *httptest.Server, path, token string) (int, http.Header, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %s: read: %v", path, err)
	}
	return resp.StatusCode, resp.Header, b
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %T: %v: %.300s", v, err, b)
	}
	return v
}

// listAll pages through a collection and returns every record.
func listAll[T any](t *testing.T, ts *httptest.Server, path, token string) []T {
	t.Helper()
	var out []T
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	next := ""
	for i := 0; ; i++ {
		p := path
		if next != "" {
			p += sep + "nextToken=" + next
		}
		st, _, b := get(t, ts, p, token)
		if st != 200 {
			t.Fatalf("GET %s: %d %s", p, st, b)
		}
		pg := decode[Page[T]](t, b)
		out = append(out, pg.Records...)
		if pg.NextToken == "" {
			return out
		}
		next = pg.NextToken
		if i > 10000 {
			t.Fatal("pagination does not end")
		}
	}
}

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
