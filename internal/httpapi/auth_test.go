package httpapi

import (
	"bytes"
	"io"
	"net/http"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// TestAuth: every ROOK route refuses missing and wrong credentials with a
// 401 JSON body and takes the right ones.
func TestAuth(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	other := e.newClient("B")
	if _, err := e.st.UpsertUser(e.ctx, store.User{ClientUUID: a.uuid, UserID: "u1"}); err != nil {
		t.Fatal(err)
	}
	const target = "/v2/processed_data/sleep_health/summary?user_id=u1&date=2024-01-02"
	tests := []struct {
		name   string
		set    func(r *http.Request)
		status int
	}{
		{"no credentials", func(*http.Request) {}, 401},
		{"not Basic", func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+a.secret) }, 401},
		{"malformed Basic", func(r *http.Request) { r.Header.Set("Authorization", "Basic !!!") }, 401},
		{"empty client_uuid", func(r *http.Request) { r.SetBasicAuth("", a.secret) }, 401},
		{"unknown client", func(r *http.Request) { r.SetBasicAuth("no-such-client", a.secret) }, 401},
		{"wrong secret", func(r *http.Request) { r.SetBasicAuth(a.uuid, a.secret+"x") }, 401},
		{"another client's secret", func(r *http.Request) { r.SetBasicAuth(a.uuid, other.secret) }, 401},
		{"empty secret", func(r *http.Request) { r.SetBasicAuth(a.uuid, "") }, 401},
		{"right credentials", func(r *http.Request) { r.SetBasicAuth(a.uuid, a.secret) }, 204},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest("GET", e.url+target, nil)
			tt.set(req)
			r := e.send(req)
			checkResponse(t, "GET", target, r)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.status == 401 {
				m := r.json(t)
				if m["error"] != "Unauthorized" || !strings.Contains(m["message"].(string), "client_uuid") {
					t.Fatalf("401 body %s", r.body)
				}
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic") {
					t.Fatalf("no WWW-Authenticate: Basic header")
				}
			}
		})
	}
}

// TestConstantTimeCompare: the secret check goes through
// secret.VerifyAPISecret (constant time) on every path, including an
// unknown client, so neither existence nor a prefix of the secret leaks
// through timing.
func TestConstantTimeCompare(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	var calls atomic.Int32
	orig := verifySecret
	verifySecret = func(hash []byte, s string) bool { calls.Add(1); return orig(hash, s) }
	t.Cleanup(func() { verifySecret = orig })
	for _, c := range []creds{{a.uuid, "wrong"}, {"unknown-client", "wrong"}, a} {
		before := calls.Load()
		e.do(&c, "GET", "/api/v1/client/users/status?up_to_date="+time.Now().UTC().Format(time.DateOnly), "")
		if calls.Load() != before+1 {
			t.Fatalf("credentials %s: the constant-time check ran %d times, want once", c.uuid, calls.Load()-before)
		}
	}
	// The check is secret.VerifyAPISecret (subtle.ConstantTimeCompare).
	if reflect.ValueOf(orig).Pointer() != reflect.ValueOf(secret.VerifyAPISecret).Pointer() {
		t.Fatal("the secret check is not secret.VerifyAPISecret")
	}
}

// TestRateLimit: a client over its budget gets 429 with Retry-After and a
// JSON body; other clients are not affected; the budget refills.
func TestRateLimit(t *testing.T) {
	e := newEnv(t, envOptions{rateLimit: RateLimit{Requests: 3, Window: time.Minute}})
	a, b := e.newClient("A"), e.newClient("B")
	const target = "/api/v1/user_id/nobody/data_sources/authorized"
	for i := range 3 {
		if r := e.do(&a, "GET", target, ""); r.status != 404 {
			t.Fatalf("request %d: %d", i+1, r.status)
		}
	}
	r := e.do(&a, "GET", target, "")
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("fourth request: %d %s", r.status, r.body)
	}
	if ra := r.header.Get("Retry-After"); ra != "20" {
		t.Fatalf("Retry-After %q, want 20 (one request per 20 s)", ra)
	}
	if m := r.json(t); !strings.Contains(m["message"].(string), "Try again in 20 s") {
		t.Fatalf("429 body %s", r.body)
	}
	if r := e.do(&b, "GET", target, ""); r.status != 404 {
		t.Fatalf("another client is limited too: %d", r.status)
	}
	// Wrong credentials do not spend the client's budget.
	e.do(&creds{a.uuid, "wrong"}, "GET", target, "")
	e.clock.Advance(20 * time.Second)
	if r := e.do(&a, "GET", target, ""); r.status != 404 {
		t.Fatalf("after waiting Retry-After: %d", r.status)
	}
	if r := e.do(&a, "GET", target, ""); r.status != 429 {
		t.Fatalf("the refill gave more than one request: %d", r.status)
	}
}

// TestBodyLimit: a body over MaxBody is refused with 413 and a JSON body,
// whether its length is announced or not, and nothing is written.
func TestBodyLimit(t *testing.T) {
	e := newEnv(t, envOptions{maxBody: 1024})
	a := e.newClient("A")
	before := e.snapshot(a.uuid)
	big := `{"user_id":"u1","sex_string":"` + strings.Repeat("x", 2000) + `"}`
	for _, chunked := range []bool{false, true} {
		var body io.Reader = strings.NewReader(big)
		if chunked {
			body = io.MultiReader(bytes.NewReader([]byte(big))) // no length: sent chunked
		}
		req, _ := http.NewRequest("POST", e.url+"/api/v2/user-information", body)
		req.SetBasicAuth(a.uuid, a.secret)
		r := e.send(req)
		checkResponse(t, "POST", "/api/v2/user-information", r)
		if r.status != http.StatusRequestEntityTooLarge {
			t.Fatalf("chunked=%v: %d %s", chunked, r.status, r.body)
		}
		if m := r.json(t); !strings.Contains(m["message"].(string), "1024 bytes") {
			t.Fatalf("413 body %s", r.body)
		}
	}
	if after := e.snapshot(a.uuid); after != before {
		t.Fatalf("an oversized body changed the store:\n%s\n%s", before, after)
	}
	// Just under the limit is fine.
	ok := `{"user_id":"u1","sex_string":"` + strings.Repeat("x", 50) + `"}`
	if r := e.do(&a, "POST", "/api/v2/user-information", ok); r.status != 200 {
		t.Fatalf("small body: %d %s", r.status, r.body)
	}
}

// TestAuthCache: a client's record is reused for AuthCacheTTL, so a rotated
// secret or a deleted client takes effect within it, not later.
func TestAuthCache(t *testing.T) {
	e := newEnv(t, envOptions{authCacheTTL: 5 * time.Second})
	a := e.newClient("A")
	const target = "/api/v1/user_id/nobody/data_sources/authorized"
	if r := e.do(&a, "GET", target, ""); r.status != 404 {
		t.Fatalf("first request: %d", r.status)
	}
	c, err := e.st.GetClient(e.ctx, a.uuid)
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := secret.NewAPISecret()
	c.SecretHash = secret.HashAPISecret(fresh)
	if err := e.st.UpdateClient(e.ctx, c); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6 * time.Second)
	if r := e.do(&a, "GET", target, ""); r.status != 401 {
		t.Fatalf("the old secret still works after the cache time: %d", r.status)
	}
	if r := e.do(&creds{a.uuid, fresh}, "GET", target, ""); r.status != 404 {
		t.Fatalf("the new secret does not work: %d", r.status)
	}
	if err := e.st.DeleteClient(e.ctx, a.uuid); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(6 * time.Second)
	if r := e.do(&creds{a.uuid, fresh}, "GET", target, ""); r.status != 401 {
		t.Fatalf("a deleted client still works after the cache time: %d", r.status)
	}
}
