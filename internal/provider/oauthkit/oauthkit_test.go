package oauthkit_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/link"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/provider/oauthkit"
)

// A flow is what linking needs of a provider's OAuth.
var _ link.OAuth = (*oauthkit.Flow)(nil)

// fakeServer is a standard OAuth 2.0 token endpoint with rotating refresh
// tokens, and a revocation endpoint; it records where the client's
// credentials came.
type fakeServer struct {
	mu      sync.Mutex
	valid   string // the one refresh token that works
	n       int
	creds   []string // "header" or "form", per request
	revoked []string
	scope   string
}

func (f *fakeServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	_ = r.ParseForm()
	if id, secret, ok := r.BasicAuth(); ok && id == "app" && secret == "s3cret" {
		f.creds = append(f.creds, "header")
	} else if r.PostForm.Get("client_id") == "app" && r.PostForm.Get("client_secret") == "s3cret" {
		f.creds = append(f.creds, "form")
	} else {
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
		return
	}
	if r.URL.Path == "/revoke" {
		f.revoked = append(f.revoked, r.PostForm.Get("token"))
		return
	}
	fail := func(status int, code string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":"` + code + `"}`))
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		switch r.PostForm.Get("code") {
		case "boom":
			fail(http.StatusServiceUnavailable, "temporarily_unavailable")
			return
		case "good":
		default:
			fail(http.StatusBadRequest, "invalid_grant")
			return
		}
	case "refresh_token":
		if r.PostForm.Get("refresh_token") != f.valid {
			fail(http.StatusBadRequest, "invalid_grant")
			return
		}
	}
	f.n++
	f.valid = "rt-" + string(rune('0'+f.n))
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "at-" + string(rune('0'+f.n)), "refresh_token": f.valid,
		"expires_in": 3600, "token_type": "bearer", "scope": f.scope})
}

func TestFlow(t *testing.T) {
	for _, tc := range []struct {
		name  string
		style provider.AuthStyle
		sep   string
		scope string // as the server grants it
		creds string
		want  string // scope parameter of the authorize URL
	}{
		{"header, spaces", provider.AuthInHeader, " ", "offline read:sleep", "header", "offline read:sleep"},
		{"form, commas", provider.AuthInParams, ",", "user.info,user.metrics", "form", "user.info,user.metrics"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := &fakeServer{scope: tc.scope}
			srv := httptest.NewServer(fs)
			defer srv.Close()
			scopes := strings.FieldsFunc(tc.want, func(r rune) bool { return r == ' ' || r == ',' })
			f, err := oauthkit.New(oauthkit.Config{ClientID: "app", ClientSecret: "s3cret", RedirectURL: "http://127.0.0.1/cb",
				OAuth: provider.OAuth{AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token", RevokeURL: srv.URL + "/revoke",
					Scopes: scopes, ScopeSeparator: tc.sep, AuthStyle: tc.style}})
			if err != nil {
				t.Fatal(err)
			}
			u, _ := url.Parse(f.AuthCodeURL("st-1"))
			if q := u.Query(); q.Get("scope") != tc.want || q.Get("state") != "st-1" || q.Get("client_id") != "app" || q.Get("redirect_uri") != "http://127.0.0.1/cb" {
				t.Fatalf("authorize URL %s", u)
			}
			ctx := context.Background()
			tok, err := f.Exchange(ctx, "good")
			if err != nil || tok.AccessToken != "at-1" || tok.RefreshToken != "rt-1" || len(tok.Scopes) != 2 || tok.Expiry.IsZero() {
				t.Fatalf("exchange: %+v %v", tok, err)
			}
			// A refresh rotates; the spent refresh token is a dead grant.
			tok, err = f.Refresh(ctx, "rt-1")
			if err != nil || tok.RefreshToken != "rt-2" {
				t.Fatalf("refresh: %+v %v", tok, err)
			}
			if _, err := f.Refresh(ctx, "rt-1"); provider.KindOf(err) != provider.KindInvalidToken {
				t.Fatalf("spent refresh token: %v (kind %v)", err, provider.KindOf(err))
			}
			if _, err := f.Exchange(ctx, "boom"); provider.KindOf(err) != provider.KindServer {
				t.Fatalf("provider down: %v (kind %v)", err, provider.KindOf(err))
			}
			if err := f.Revoke(ctx, provider.Tokens{AccessToken: "at-2", RefreshToken: "rt-2"}); err != nil || len(fs.revoked) != 1 || fs.revoked[0] != "at-2" {
				t.Fatalf("revoke: %v %v", err, fs.revoked)
			}
			for _, c := range fs.creds {
				if c != tc.creds {
					t.Fatalf("credentials sent as %v, want all %s", fs.creds, tc.creds)
				}
			}
		})
	}
	if _, err := oauthkit.New(oauthkit.Config{ClientID: "app", OAuth: provider.OAuth{AuthURL: "x", TokenURL: "y"}}); err == nil {
		t.Fatal("a flow without a client secret was accepted")
	}
}

// recordRevoker is a provider's own revocation, recorded: the access token
// it would send.
type recordRevoker struct{ tokens []string }

func (r *recordRevoker) Revoke(ctx context.Context, a provider.Auth) error {
	tok, err := a.AccessToken(ctx)
	if err != nil {
		return err
	}
	r.tokens = append(r.tokens, tok)
	return nil
}

// TestRevokerReplacesRFC7009: a provider whose revocation is its own
// (WHOOP's DELETE of the user's access) gets it called instead of a POST to
// a revocation URL: even with a revocation URL configured, that URL gets
// no request, and the revoker gets the stored access token while it is
// live.
func TestRevokerReplacesRFC7009(t *testing.T) {
	var mu sync.Mutex
	var posted []string
	revokeSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		posted = append(posted, r.Method+" "+r.URL.Path)
		mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	defer revokeSrv.Close()
	rv := &recordRevoker{}
	now := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	f, err := oauthkit.New(oauthkit.Config{ClientID: "app", ClientSecret: "s", Revoker: rv, Now: func() time.Time { return now },
		OAuth: provider.OAuth{AuthURL: "http://127.0.0.1:1/auth", TokenURL: "http://127.0.0.1:1/token", RevokeURL: revokeSrv.URL + "/revoke"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Revoke(t.Context(), provider.Tokens{AccessToken: "tok-1", RefreshToken: "rt", Expiry: now.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if len(rv.tokens) != 1 || rv.tokens[0] != "tok-1" {
		t.Fatalf("revoker got %v, want [tok-1]", rv.tokens)
	}
	// Revoke returned: a request it made has been answered, and so
	// recorded.
	mu.Lock()
	defer mu.Unlock()
	if len(posted) != 0 {
		t.Fatalf("the revocation URL got %v, want no request", posted)
	}
}

// TestRevokerGetsARefreshedToken: a stored access token that expired on the
// flow's clock is refreshed before the provider's revocation, which needs a
// live one (WHOOP's last an hour, so by the time a user leaves the stored
// one is usually dead).
func TestRevokerGetsARefreshedToken(t *testing.T) {
	fs := &fakeServer{valid: "rt-0"}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	rv := &recordRevoker{}
	now := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
	f, err := oauthkit.New(oauthkit.Config{ClientID: "app", ClientSecret: "s3cret", Revoker: rv, Now: func() time.Time { return now },
		OAuth: provider.OAuth{AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Revoke(t.Context(), provider.Tokens{AccessToken: "at-0", RefreshToken: "rt-0", Expiry: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	if len(rv.tokens) != 1 || rv.tokens[0] != "at-1" {
		t.Fatalf("revoker got %v, want the refreshed [at-1]", rv.tokens)
	}
	// Nothing to revoke with: no call.
	if err := f.Revoke(t.Context(), provider.Tokens{}); err != nil || len(rv.tokens) != 1 {
		t.Fatalf("empty grant: %v, revoker got %v", err, rv.tokens)
	}
}

// TestExpiryOnInjectedClock: a token's expiry is expires_in after the
// flow's clock, not the wall clock, for an exchange and a refresh, whether
// the token endpoint answers JSON or a form. The sync engine compares the
// expiry with its own clock (a simulator's in the tests and the demo), so
// an expiry on the wall clock would never look due to it.
func TestExpiryOnInjectedClock(t *testing.T) {
	for _, form := range []bool{false, true} {
		name := "json"
		if form {
			name = "form"
		}
		t.Run(name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if form {
					w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
					_, _ = w.Write([]byte("access_token=at&refresh_token=rt&token_type=bearer&expires_in=3600"))
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = w.Write([]byte(`{"access_token":"at","refresh_token":"rt","token_type":"bearer","expires_in":3600}`))
			}))
			defer srv.Close()
			// Years before the wall clock, as a simulator's days are.
			now := time.Date(2021, 3, 4, 5, 6, 7, 0, time.UTC)
			f, err := oauthkit.New(oauthkit.Config{ClientID: "app", ClientSecret: "s3cret", Now: func() time.Time { return now },
				OAuth: provider.OAuth{AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token"}})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := f.Exchange(t.Context(), "good")
			if err != nil {
				t.Fatal(err)
			}
			if want := now.Add(time.Hour); !tok.Expiry.Equal(want) {
				t.Fatalf("exchange: expiry %v, want %v (an hour after the flow's clock)", tok.Expiry, want)
			}
			now = now.Add(48 * time.Hour)
			tok, err = f.Refresh(t.Context(), "rt")
			if err != nil {
				t.Fatal(err)
			}
			if want := now.Add(time.Hour); !tok.Expiry.Equal(want) {
				t.Fatalf("refresh: expiry %v, want %v (an hour after the flow's clock)", tok.Expiry, want)
			}
		})
	}
}

// TestNoExpiresInNoExpiry: a token endpoint that gives no expires_in
// gives a token without an expiry, used until it is refused.
func TestNoExpiresInNoExpiry(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"access_token":"at","refresh_token":"rt","token_type":"bearer"}`))
	}))
	defer srv.Close()
	f, err := oauthkit.New(oauthkit.Config{ClientID: "app", ClientSecret: "s3cret",
		OAuth: provider.OAuth{AuthURL: srv.URL + "/authorize", TokenURL: srv.URL + "/token"}})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := f.Exchange(t.Context(), "good")
	if err != nil || !tok.Expiry.IsZero() {
		t.Fatalf("exchange: %+v %v, want no expiry", tok, err)
	}
}
