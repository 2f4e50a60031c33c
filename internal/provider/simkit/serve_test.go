package simkit

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestListener(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "hi") })
	quiet := slog.New(slog.DiscardHandler)

	l := NewListener("testsim", true, quiet)
	if err := l.Start("0.0.0.0:0", h); err == nil || !strings.Contains(err.Error(), "loopback") {
		t.Fatalf("non-loopback address: %v", err)
	}
	if l.URL() != "" {
		t.Fatalf("URL before Start: %q", l.URL())
	}
	if err := l.Start("127.0.0.1:0", h); err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(l.URL())
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "hi" {
		t.Errorf("served %q", b)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := http.Get(l.URL()); err == nil {
		t.Error("still serving after Close")
	}

	// Close before Start does nothing; without loopbackOnly any address is
	// taken.
	open := NewListener("testsim", false, quiet)
	if err := open.Close(); err != nil {
		t.Fatal(err)
	}
	if err := open.Start("0.0.0.0:0", h); err != nil {
		t.Fatal(err)
	}
	if err := open.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestReadTokenRequest(t *testing.T) {
	for _, c := range []struct {
		body   string
		user   int
		scopes []string
		exp    time.Duration
		err    bool
	}{
		{body: ""},
		{body: `{"user":2,"scopes":["a","b"],"expires_in":"-1h"}`, user: 2, scopes: []string{"a", "b"}, exp: -time.Hour},
		{body: `{"scopes":[]}`, scopes: []string{}},
		{body: `{"expires_in":"soon"}`, err: true},
		{body: `{`, err: true},
	} {
		r := httptest.NewRequest("POST", "/_sim/tokens", strings.NewReader(c.body))
		got, err := ReadTokenRequest(r)
		if (err != nil) != c.err {
			t.Errorf("%s: %v", c.body, err)
			continue
		}
		if c.err {
			continue
		}
		if got.User != c.user || got.ExpiresIn != c.exp || (got.Scopes == nil) != (c.scopes == nil) || strings.Join(got.Scopes, ",") != strings.Join(c.scopes, ",") {
			t.Errorf("%s: %+v", c.body, got)
		}
	}
}
