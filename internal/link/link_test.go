package link

import (
	"context"
	"errors"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
	"github.com/wearlink/wearlink/internal/testutil/harness"
)

func TestValidateRedirectURL(t *testing.T) {
	tests := []struct {
		in string
		ok bool
	}{
		{"", true},
		{"https://app.example.com", true},
		{"https://app.example.com/a/b?c=d", true},
		{"http://localhost", true},
		{"http://LOCALHOST:3000/x", true},
		{"http://127.0.0.1:9/x", true},
		{"http://[::1]/", true},
		{"http://127.0.0.2/", false},
		{"http://localhost.evil.com/", false},
		{"http://example.com", false},
		{"https://", false},
		{"https:///path", false},
		{"example.com/cb", false},
		{"//example.com/cb", false},
		{"https://a@example.com", false},
		{"https://example.com/#x", false},
		{"https://example.com/#", false},
		{"wss://example.com", false},
		{"https://example.com/" + strings.Repeat("x", MaxRedirectURL), false},
	}
	for _, tt := range tests {
		err := ValidateRedirectURL(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("ValidateRedirectURL(%q) = %v, want ok %v", tt.in, err, tt.ok)
		}
		if err != nil && health.ErrorCode(err) != health.EINVALID {
			t.Errorf("ValidateRedirectURL(%q): code %s", tt.in, health.ErrorCode(err))
		}
	}
}

func TestFinalRedirect(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://app.example.com", "https://app.example.com/client_uuid/c-1/user_id/u-1"},
		{"https://app.example.com/", "https://app.example.com/client_uuid/c-1/user_id/u-1"},
		{"https://app.example.com/linked", "https://app.example.com/linked/client_uuid/c-1/user_id/u-1"},
		{"https://app.example.com/linked/?from=oura", "https://app.example.com/linked/client_uuid/c-1/user_id/u-1?from=oura"},
		{"http://localhost:3000/a%20b", "http://localhost:3000/a%20b/client_uuid/c-1/user_id/u-1"},
	}
	for _, tt := range tests {
		got, err := FinalRedirect(tt.in, "c-1", "u-1")
		if err != nil || got != tt.want {
			t.Errorf("FinalRedirect(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestMissingScopes(t *testing.T) {
	if m := missingScopes([]string{"daily"}, nil); m != nil {
		t.Errorf("unreported grant: %v", m)
	}
	if m := missingScopes([]string{"daily", "heartrate"}, []string{"personal", "heartrate"}); len(m) != 1 || m[0] != "daily" {
		t.Errorf("missing = %v", m)
	}
}

// fakeOAuth stands in for Oura's OAuth: codes map to tokens.
type fakeOAuth struct {
	mu        sync.Mutex
	revoked   []string
	revokeErr error
	token     oura.Token
}

func (f *fakeOAuth) AuthCodeURL(state string, _ ...oauth2.AuthCodeOption) string {
	return "https://oura.example/authorize?state=" + url.QueryEscape(state)
}

func (f *fakeOAuth) Exchange(_ context.Context, code string, _ ...oauth2.AuthCodeOption) (oura.Token, error) {
	if code != "good-code" {
		return oura.Token{}, errors.New("invalid_grant")
	}
	return f.token, nil
}

func (f *fakeOAuth) Revoke(_ context.Context, tok provider.Tokens) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.revoked = append(f.revoked, tok.AccessToken)
	return f.revokeErr
}

// failingSync stores the connection, as the sync engine does first, then
// fails, as when Oura's personal_info cannot be read.
type failingSync struct{ st store.Store }

func (f failingSync) Link(ctx context.Context, p ingest.LinkParams) (ingest.LinkResult, error) {
	c, err := f.st.CreateConnection(ctx, store.Connection{ClientUUID: p.ClientUUID, UserID: p.UserID, DataSource: "oura",
		Status: store.StatusActive, Tokens: p.Tokens})
	if err != nil {
		return ingest.LinkResult{}, err
	}
	return ingest.LinkResult{Connection: c}, errors.New("read personal_info: server error")
}

func newStore(t *testing.T) *sqlite.Store {
	t.Helper()
	st := harness.SQLite(t, harness.StoreOptions{})
	if err := st.CreateClient(t.Context(), store.Client{UUID: "c-1", Name: "App"}); err != nil {
		t.Fatal(err)
	}
	return st
}

// runFlow starts linking for user and completes the callback with code.
func runFlow(t *testing.T, s *Service, user, code string) *httptest.ResponseRecorder {
	t.Helper()
	u, err := s.AuthorizationURL(t.Context(), "c-1", user, "https://app.example.com/back")
	if err != nil {
		t.Fatal(err)
	}
	jar, _ := cookiejar.New(nil)
	rec := httptest.NewRecorder()
	s.ServeConnect(rec, httptest.NewRequest("GET", u, nil))
	if rec.Code != http.StatusFound {
		t.Fatalf("connect: %d %s", rec.Code, rec.Body)
	}
	pub, _ := url.Parse(u)
	jar.SetCookies(pub, rec.Result().Cookies())
	state, _ := url.Parse(rec.Header().Get("Location"))
	cb := "http://wearlink.test" + CallbackPath("oura") + "?code=" + code + "&state=" + url.QueryEscape(state.Query().Get("state"))
	req := httptest.NewRequest("GET", cb, nil)
	for _, c := range jar.Cookies(pub) {
		req.AddCookie(c)
	}
	rec = httptest.NewRecorder()
	s.ServeCallback(rec, req)
	return rec
}

type recEvents struct {
	mu sync.Mutex
	ev []string
}

func (r *recEvents) UserCreated(_ context.Context, _, userID string) error {
	r.add("user " + userID)
	return nil
}

func (r *recEvents) DataSourceLinked(_ context.Context, c store.Connection) error {
	r.add("linked " + c.UserID)
	return nil
}
func (r *recEvents) LinkFailed(_ context.Context, _, userID, _, reason, _ string) error {
	r.add("failed " + userID + " " + reason)
	return nil
}

func (r *recEvents) DataSourceUnlinked(_ context.Context, c store.Connection, by string) error {
	r.add("unlinked " + c.UserID + " by " + by)
	return nil
}

func (r *recEvents) add(s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ev = append(r.ev, s)
}

// TestLinkFailureLeavesNothing: when linking fails after the connection
// was stored, a new connection ends up revoked without tokens, and a
// connection that existed is put back as it was; the new token is revoked
// at Oura either way.
func TestLinkFailureLeavesNothing(t *testing.T) {
	st := newStore(t)
	oa := &fakeOAuth{token: oura.Token{AccessToken: "new-access", RefreshToken: "new-refresh", Scopes: []string{"daily", "personal"}}}
	ev := &recEvents{}
	s, err := New(Config{DataSource: "oura", Name: "Oura", RequiredScopes: []string{"daily"}, Store: st, OAuth: oa, Sync: failingSync{st}, Events: ev, PublicURL: "http://wearlink.test"})
	if err != nil {
		t.Fatal(err)
	}

	rec := runFlow(t, s, "new-user", "good-code")
	if rec.Code != http.StatusBadGateway || !strings.Contains(rec.Body.String(), "Nothing was connected") {
		t.Fatalf("callback: %d %s", rec.Code, rec.Body)
	}
	c, err := st.FindConnection(t.Context(), "c-1", "new-user", "oura")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != store.StatusRevoked || c.Tokens.AccessToken != "" || c.Tokens.RefreshToken != "" {
		t.Fatalf("new connection after a failed link: %+v", c)
	}

	// An existing, working connection keeps its tokens and status.
	old := store.Tokens{AccessToken: "old-access", RefreshToken: "old-refresh", Scopes: []string{"daily"}}
	if _, err := st.CreateConnection(t.Context(), store.Connection{ClientUUID: "c-1", UserID: "linked-user", DataSource: "oura",
		Status: store.StatusActive, Tokens: old}); err != nil {
		t.Fatal(err)
	}
	if rec := runFlow(t, s, "linked-user", "good-code"); rec.Code != http.StatusBadGateway {
		t.Fatalf("callback: %d", rec.Code)
	}
	c, err = st.FindConnection(t.Context(), "c-1", "linked-user", "oura")
	if err != nil {
		t.Fatal(err)
	}
	if c.Status != store.StatusActive || c.Tokens.AccessToken != "old-access" || c.Tokens.RefreshToken != "old-refresh" {
		t.Fatalf("existing connection after a failed relink: %+v", c)
	}
	if len(oa.revoked) != 2 || oa.revoked[0] != "new-access" {
		t.Fatalf("revoked at Oura: %v", oa.revoked)
	}
	if len(ev.ev) != 2 || ev.ev[0] != "failed new-user link" {
		t.Fatalf("events %v", ev.ev)
	}

	// A bad code: nothing is stored.
	if rec := runFlow(t, s, "bad-code-user", "bad-code"); rec.Code != http.StatusBadGateway {
		t.Fatalf("bad code: %d", rec.Code)
	}
	if _, err := st.FindConnection(t.Context(), "c-1", "bad-code-user", "oura"); health.ErrorCode(err) != health.ENOTFOUND {
		t.Fatalf("a connection after a bad code: %v", err)
	}
}

// TestRevokeWhenOuraFails: the connection is revoked and its tokens deleted
// even when Oura cannot be reached.
func TestRevokeWhenOuraFails(t *testing.T) {
	st := newStore(t)
	oa := &fakeOAuth{revokeErr: errors.New("connection refused")}
	s, err := New(Config{DataSource: "oura", Name: "Oura", RequiredScopes: []string{"daily"}, Store: st, OAuth: oa, Sync: failingSync{st}, PublicURL: "http://wearlink.test"})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := s.Revoke(t.Context(), "c-1", "nobody"); ok || err != nil {
		t.Fatalf("revoke without a connection: %v %v", ok, err)
	}
	if _, err := st.CreateConnection(t.Context(), store.Connection{ClientUUID: "c-1", UserID: "u1", DataSource: "oura",
		Status: store.StatusActive, Tokens: store.Tokens{AccessToken: "a", RefreshToken: "r", Scopes: []string{"daily"}}}); err != nil {
		t.Fatal(err)
	}
	ok, err := s.Revoke(t.Context(), "c-1", "u1")
	if !ok || err != nil {
		t.Fatalf("revoke: %v %v", ok, err)
	}
	c, _ := st.FindConnection(t.Context(), "c-1", "u1", "oura")
	if c.Status != store.StatusRevoked || c.Tokens.AccessToken != "" || c.Tokens.RefreshToken != "" || len(c.Tokens.Scopes) != 1 {
		t.Fatalf("after revoke: %+v", c)
	}
	if len(oa.revoked) != 1 || oa.revoked[0] != "a" {
		t.Fatalf("revoked at Oura: %v", oa.revoked)
	}
	if ok, _ := s.Revoke(t.Context(), "c-1", "u1"); ok {
		t.Fatal("a second revoke found something to revoke")
	}
}

// TestAuthorizationURLSigned: the URL carries what it was made for, the
// signature covers all of it, and the key is shared through the store.
func TestAuthorizationURLSigned(t *testing.T) {
	st := newStore(t)
	now := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	mk := func() *Service {
		s, err := New(Config{DataSource: "oura", Name: "Oura", RequiredScopes: []string{"daily"}, Store: st, OAuth: &fakeOAuth{}, Sync: failingSync{st}, PublicURL: "https://wearlink.example/", Now: func() time.Time { return now }})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	s1, s2 := mk(), mk()
	u1, err := s1.AuthorizationURL(t.Context(), "c-1", "u1", "https://app.example.com")
	if err != nil {
		t.Fatal(err)
	}
	u2, _ := s2.AuthorizationURL(t.Context(), "c-1", "u1", "https://app.example.com")
	if u1 != u2 {
		t.Fatalf("two services on one store sign differently:\n%s\n%s", u1, u2)
	}
	p, _ := url.Parse(u1)
	q := p.Query()
	if p.Scheme+"://"+p.Host+p.Path != "https://wearlink.example"+ConnectPath("oura") || q.Get("client_uuid") != "c-1" || q.Get("user_id") != "u1" ||
		q.Get("redirect_url") != "https://app.example.com" || q.Get("expires") != "1735873445" || q.Get("sig") == "" {
		t.Fatalf("authorization URL %s", u1)
	}
	if _, err := s1.AuthorizationURL(t.Context(), "c-1", "bad user", ""); health.ErrorCode(err) != health.EINVALID {
		t.Fatalf("bad user: %v", err)
	}
	if _, err := New(Config{DataSource: "oura", Name: "Oura", RequiredScopes: []string{"daily"}, Store: st, OAuth: &fakeOAuth{}, Sync: failingSync{st}, PublicURL: "wearlink.example"}); err == nil {
		t.Fatal("a public URL without a scheme was accepted")
	}
}
