package oura

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// noSleep records waits instead of sleeping, so retry tests are instant.
type noSleep struct{ waits []time.Duration }

func (n *noSleep) sleep(_ context.Context, d time.Duration) error {
	n.waits = append(n.waits, d)
	return nil
}

func TestParseErrorBodies(t *testing.T) {
	cases := []struct {
		name   string
		status int
		header map[string]string
		body   string
		kind   Kind
		detail string
	}{
		{"expired token", 401, nil, `{"detail":"Token has expired."}`, KindInvalidToken, "Token has expired."},
		{"missing scope", 401, nil, `{"detail":"Missing scopes: heart_health"}`, KindMissingScope, "Missing scopes: heart_health"},
		{"forbidden", 403, nil, `{"detail":"Membership required"}`, KindForbidden, "Membership required"},
		{"not found", 404, nil, `{"detail":"Document not found."}`, KindNotFound, "Document not found."},
		{"validation array", 422, nil, `{"detail":[{"loc":["query","start_date"],"msg":"Input should be a valid date","type":"date_from_datetime_parsing","input":"x"}]}`, KindValidation, "query.start_date: Input should be a valid date"},
		{"upgrade", 426, nil, `{"detail":"Update the Oura app"}`, KindUpgradeRequired, "Update the Oura app"},
		{"rate limited", 429, map[string]string{"Retry-After": "7", "X-RateLimit-Limit": "5000", "X-RateLimit-Window": "300", "X-RateLimit-Reset": "1700000300", "X-RateLimit-Tier": "application"}, `{"detail":"Request Rate Limit Exceeded."}`, KindRateLimited, "Request Rate Limit Exceeded."},
		{"server", 502, nil, `<html>bad gateway</html>`, KindServer, "<html>bad gateway</html>"},
		{"rfc7807", 400, nil, `{"status":400,"title":"Bad request","detail":null}`, KindValidation, "Bad request"},
		{"empty", 503, nil, ``, KindServer, "Service Unavailable"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				for k, v := range c.header {
					w.Header().Set(k, v)
				}
				w.Header().Set("x-trace-id", "abc123")
				w.WriteHeader(c.status)
				fmt.Fprint(w, c.body)
			}))
			defer srv.Close()
			cl, _ := New(Config{BaseURL: srv.URL, MaxAttempts: 1})
			_, err := Get[Sleep](context.Background(), cl.User(StaticToken("t")), CollSleep, "id1")
			var oe *Error
			if !errors.As(err, &oe) {
				t.Fatalf("want *Error, got %T %v", err, err)
			}
			if oe.Kind != c.kind || oe.StatusCode != c.status || oe.Detail != c.detail || oe.TraceID != "abc123" {
				t.Errorf("got kind=%s status=%d detail=%q trace=%q", oe.Kind, oe.StatusCode, oe.Detail, oe.TraceID)
			}
			if c.status == 429 {
				if oe.RetryAfter != 7*time.Second || oe.RateLimit == nil || oe.RateLimit.Limit != 5000 ||
					oe.RateLimit.Window != 300*time.Second || oe.RateLimit.Tier != "application" || oe.RateLimit.Reset.Unix() != 1700000300 {
					t.Errorf("rate limit not parsed: %+v %+v", oe.RetryAfter, oe.RateLimit)
				}
			}
		})
	}
}

func TestRetriesHonourRetryAfterAndGiveUp(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "3")
			w.WriteHeader(429)
			fmt.Fprint(w, `{"detail":"slow down"}`)
		case 2:
			w.WriteHeader(503)
		case 3:
			// A 200 cut short: must be retried, not returned.
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"data":[{"id":"a","day":"2024-01-0`)
		default:
			fmt.Fprint(w, `{"data":[{"id":"a","day":"2024-01-01"}],"next_token":null}`)
		}
	}))
	defer srv.Close()
	ns := &noSleep{}
	cl, _ := New(Config{BaseURL: srv.URL, Sleep: ns.sleep, MaxAttempts: 5})
	docs, err := cl.User(StaticToken("t")).DailyStress(context.Background(), "2024-01-01", "2024-01-01")
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != 1 || calls.Load() != 4 {
		t.Fatalf("docs=%d calls=%d, want 1 document after 4 calls", len(docs), calls.Load())
	}
	if ns.waits[0] != 3*time.Second {
		t.Errorf("first wait %v, want the Retry-After of 3s", ns.waits[0])
	}

	// Permanent failure: bounded attempts.
	calls.Store(0)
	fail := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(500)
	}))
	defer fail.Close()
	cl, _ = New(Config{BaseURL: fail.URL, Sleep: ns.sleep, MaxAttempts: 3})
	_, err = cl.User(StaticToken("t")).DailyStress(context.Background(), "2024-01-01", "2024-01-01")
	if KindOf(err) != KindServer || calls.Load() != 3 {
		t.Fatalf("err=%v calls=%d, want a server error after 3 calls", err, calls.Load())
	}

	// Not retryable: one call.
	calls.Store(0)
	nf := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		w.WriteHeader(422)
		fmt.Fprint(w, `{"detail":"bad"}`)
	}))
	defer nf.Close()
	cl, _ = New(Config{BaseURL: nf.URL, Sleep: ns.sleep})
	_, err = cl.User(StaticToken("t")).DailyStress(context.Background(), "2024-01-01", "2024-01-01")
	if KindOf(err) != KindValidation || calls.Load() != 1 {
		t.Fatalf("err=%v calls=%d, want one call and a validation error", err, calls.Load())
	}
}

func TestLongRetryAfterIsReturnedNotWaited(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3600")
		w.WriteHeader(429)
	}))
	defer srv.Close()
	ns := &noSleep{}
	cl, _ := New(Config{BaseURL: srv.URL, Sleep: ns.sleep, MaxRetryAfter: time.Minute})
	_, err := cl.User(StaticToken("t")).PersonalInfo(context.Background())
	var oe *Error
	if !errors.As(err, &oe) || oe.Kind != KindRateLimited || oe.RetryAfter != time.Hour || len(ns.waits) != 0 {
		t.Fatalf("err=%v waits=%v: a one-hour Retry-After must come back to the caller at once", err, ns.waits)
	}
}

func TestContextCancellationStopsRetries(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(503) }))
	defer srv.Close()
	cl, _ := New(Config{BaseURL: srv.URL, BaseBackoff: time.Hour, MaxBackoff: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := cl.User(StaticToken("t")).PersonalInfo(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err=%v, want the context's deadline", err)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("cancellation did not interrupt the backoff")
	}
}

// The client and the flow have no live defaults: code that forgets an
// address is refused here rather than reaching Oura.
func TestAddressesAreRequired(t *testing.T) {
	if _, err := New(Config{}); err == nil {
		t.Error("New without a base URL succeeded")
	}
	for _, cfg := range []OAuthConfig{
		{ClientID: "id", ClientSecret: "s", TokenURL: "http://127.0.0.1:9/oauth/token"},
		{ClientID: "id", ClientSecret: "s", AuthURL: "http://127.0.0.1:9/oauth/authorize"},
	} {
		if _, err := NewOAuth(cfg); err == nil {
			t.Errorf("NewOAuth(%+v) succeeded", cfg)
		}
	}
	o, err := NewOAuth(OAuthConfig{ClientID: "id", ClientSecret: "s",
		AuthURL: "http://127.0.0.1:9/oauth/authorize", TokenURL: "http://127.0.0.1:9/oauth/token"})
	if err != nil {
		t.Fatal(err)
	}
	if err := o.Revoke(context.Background(), Token{AccessToken: "token"}); err == nil || !strings.Contains(err.Error(), "no revoke URL") {
		t.Errorf("Revoke without a revoke URL: %v", err)
	}
}
