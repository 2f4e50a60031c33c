package sim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Scopes Withings grants.
const (
	ScopeInfo        = "user.info"
	ScopeMetrics     = "user.metrics"
	ScopeActivity    = "user.activity"
	ScopeSleepEvents = "user.sleepevents"
)

// KnownScopes lists every scope.
func KnownScopes() []string {
	return []string{ScopeInfo, ScopeMetrics, ScopeActivity, ScopeSleepEvents}
}

// refreshLifetime is a refresh token's life: a year.
const refreshLifetime = 365 * 24 * time.Hour

// Token is an issued token pair.
type Token struct {
	UserIndex    int       `json:"user_index"`
	UserID       int64     `json:"userid"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Scopes       []string  `json:"scopes"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// grant is one consent of one user; its scopes never change.
type grant struct {
	user    int
	scopes  []string
	revoked bool
}

func (g *grant) has(scope string) bool { return slices.Contains(g.scopes, scope) }

type accessTok struct {
	g       *grant
	expires time.Time
	used    bool // presented at least once
}

// refreshTok is a refresh token. Once redeemed it keeps working for
// RefreshGrace, or until an access token issued from it is used.
type refreshTok struct {
	g          *grant
	expires    time.Time
	rotatedAt  time.Time // zero until redeemed
	successors []*accessTok
}

type code struct {
	user     int
	scopes   []string
	redirect string
	expires  time.Time
	used     bool
}

// authServer keeps the books of Withings' authorization server: grants,
// codes and tokens, on the simulated clock.
type authServer struct {
	s       *Server
	mu      sync.Mutex
	access  map[string]*accessTok
	refresh map[string]*refreshTok
	codes   map[string]*code
	linked  map[int]bool // users who went through the authorize page
	next    int          // round robin once every user is linked
	ready   []Token
}

func newAuthServer(s *Server) *authServer {
	a := &authServer{s: s, access: map[string]*accessTok{}, refresh: map[string]*refreshTok{}, codes: map[string]*code{}, linked: map[int]bool{}}
	// Ready tokens derive from the seed, so a restarted simulator prints and
	// accepts the same ones.
	now := s.now()
	for _, u := range s.world.users {
		g := &grant{user: u.Index, scopes: KnownScopes()}
		acc, ref := a.seeded("access", u.Index), a.seeded("refresh", u.Index)
		exp := now.Add(s.cfg.ReadyTokenLifetime)
		a.access[acc] = &accessTok{g: g, expires: exp}
		a.refresh[ref] = &refreshTok{g: g, expires: now.Add(refreshLifetime)}
		a.ready = append(a.ready, Token{UserIndex: u.Index, UserID: u.UserID, AccessToken: acc, RefreshToken: ref, Scopes: g.scopes, ExpiresAt: exp})
	}
	return a
}

// seeded is a 40-hex-digit token like Withings', derived from the seed.
func (a *authServer) seeded(kind string, i int) string {
	m := hmac.New(sha256.New, a.s.key)
	fmt.Fprintf(m, "%s:%d", kind, i)
	return hex.EncodeToString(m.Sum(nil)[:20])
}

func randomHex() string {
	var b [20]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// lookup finds the grant of a live access token and marks the token used,
// which ends the grace of the refresh token it replaced.
func (a *authServer) lookup(tok string) *grant {
	if tok == "" {
		return nil
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.access[tok]
	if t == nil || t.g.revoked || !a.s.now().Before(t.expires) {
		return nil
	}
	t.used = true
	return t.g
}

// issueLocked creates a token pair of g.
func (a *authServer) issueLocked(g *grant, lifetime time.Duration) (Token, *accessTok) {
	now := a.s.now()
	acc, ref := randomHex(), randomHex()
	at := &accessTok{g: g, expires: now.Add(lifetime)}
	a.access[acc] = at
	a.refresh[ref] = &refreshTok{g: g, expires: now.Add(refreshLifetime)}
	t := Token{UserIndex: g.user, AccessToken: acc, RefreshToken: ref, Scopes: slices.Clone(g.scopes), ExpiresAt: at.expires}
	if u := a.s.world.user(g.user); u != nil {
		t.UserID = u.UserID
	}
	return t, at
}

// Tokens returns the ready token pair of every user (every scope). They
// depend only on the seed.
func (s *Server) Tokens() []Token { return slices.Clone(s.auth.ready) }

// IssueToken creates a token pair for a user with exactly the given scopes
// (nil: every scope), its access token living expiresIn of simulated time
// (0: 3 hours; negative: already expired).
func (s *Server) IssueToken(userIndex int, scopes []string, expiresIn time.Duration) (Token, error) {
	if s.world.user(userIndex) == nil {
		return Token{}, fmt.Errorf("withingssim: no user %d", userIndex)
	}
	if scopes == nil {
		scopes = KnownScopes()
	}
	if expiresIn == 0 {
		expiresIn = AccessTokenLifetime
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	t, _ := s.auth.issueLocked(&grant{user: userIndex, scopes: slices.Clone(scopes)}, expiresIn)
	return t, nil
}

// ExpireTokens ends a user's live access tokens now, before expires_in is
// up, as Withings may: a client learns it only from status 401. Refresh
// tokens keep working. It returns how many ended.
func (s *Server) ExpireTokens(userIndex int) int {
	a := s.auth
	a.mu.Lock()
	defer a.mu.Unlock()
	now, n := s.now(), 0
	for _, t := range a.access {
		if t.g.user == userIndex && now.Before(t.expires) {
			t.expires = now
			n++
		}
	}
	return n
}

// RevokeUser ends every grant of a user, as unlinking the application in
// the user's account does; their subscriptions go with it.
func (s *Server) RevokeUser(userIndex int) {
	a := s.auth
	a.mu.Lock()
	for _, t := range a.access {
		if t.g.user == userIndex {
			t.g.revoked = true
		}
	}
	a.mu.Unlock()
	s.notify.dropUser(userIndex)
}

// Test and CLI hook of the authorize page: the user index to approve as.
// Without it the next user not linked yet is picked.
const AuthorizeUserParam = "user"

// handleAuthorize is the authorization page. It approves at once, as the
// user given by ?user= or the next one not linked yet, and redirects with a
// code valid 30 s. Errors a browser would show on Withings' page are plain
// HTTP 400s; the others go back to the redirect URL, as OAuth says.
func (a *authServer) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	q := r.URL.Query()
	if q.Get("client_id") != a.s.cfg.ClientID {
		http.Error(w, "invalid client_id", http.StatusBadRequest)
		return
	}
	redirect := q.Get("redirect_uri")
	if u, err := url.Parse(redirect); err != nil || !u.IsAbs() || (len(a.s.cfg.RedirectURIs) > 0 && !slices.Contains(a.s.cfg.RedirectURIs, redirect)) {
		http.Error(w, "invalid redirect_uri", http.StatusBadRequest)
		return
	}
	state := q.Get("state")
	back := func(v url.Values) {
		u, _ := url.Parse(redirect)
		rq := u.Query()
		for k, vs := range v {
			rq.Set(k, vs[0])
		}
		rq.Set("state", state)
		u.RawQuery = rq.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		back(url.Values{"error": {"unsupported_response_type"}})
		return
	}
	if state == "" {
		http.Error(w, "state is required", http.StatusBadRequest)
		return
	}
	scopes, bad := parseScopes(q.Get("scope"))
	if bad != "" || len(scopes) == 0 {
		back(url.Values{"error": {"invalid_scope"}})
		return
	}
	a.mu.Lock()
	idx := -1
	if p := q.Get(AuthorizeUserParam); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || a.s.world.user(n) == nil {
			a.mu.Unlock()
			http.Error(w, "unknown simulated user", http.StatusBadRequest)
			return
		}
		idx = n
	} else {
		idx = a.nextFreeLocked()
	}
	a.linked[idx] = true
	c := randomHex()
	a.codes[c] = &code{user: idx, scopes: scopes, redirect: redirect, expires: a.s.now().Add(CodeLifetime)}
	a.mu.Unlock()
	back(url.Values{"code": {c}})
}

func (a *authServer) nextFreeLocked() int {
	for _, u := range a.s.world.users {
		if !a.linked[u.Index] {
			return u.Index
		}
	}
	i := a.next % len(a.s.world.users)
	a.next++
	return i
}

// parseScopes splits Withings' comma-separated scope list; bad is the
// first unknown scope.
func parseScopes(s string) (scopes []string, bad string) {
	for _, sc := range strings.Split(s, ",") {
		sc = strings.TrimSpace(sc)
		if sc == "" {
			continue
		}
		if !slices.Contains(KnownScopes(), sc) {
			return nil, sc
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	return scopes, ""
}

// handleToken is action=requesttoken: both grants, the client
// authenticated by client_id and client_secret, the answer enveloped.
func (a *authServer) handleToken(w http.ResponseWriter, r *http.Request, _ *grant) {
	f := r.Form
	if f.Get("client_id") != a.s.cfg.ClientID || !hmac.Equal([]byte(f.Get("client_secret")), []byte(a.s.cfg.ClientSecret)) {
		invalid(w, "invalid client_id or client_secret")
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.s.now()
	var tok Token
	switch f.Get("grant_type") {
	case "authorization_code":
		c := a.codes[f.Get("code")]
		switch {
		case c == nil || c.used || !now.Before(c.expires):
			invalid(w, "invalid code")
			return
		case c.redirect != f.Get("redirect_uri"):
			invalid(w, "redirect_uri does not match")
			return
		}
		c.used = true
		tok, _ = a.issueLocked(&grant{user: c.user, scopes: c.scopes}, AccessTokenLifetime)
	case "refresh_token":
		rt := a.refresh[f.Get("refresh_token")]
		if rt == nil || rt.g.revoked || !now.Before(rt.expires) || !rt.usable(now) {
			invalid(w, "invalid refresh_token")
			return
		}
		var at *accessTok
		tok, at = a.issueLocked(rt.g, AccessTokenLifetime)
		if rt.rotatedAt.IsZero() {
			rt.rotatedAt = now
		}
		rt.successors = append(rt.successors, at)
	default:
		invalid(w, "grant_type must be authorization_code or refresh_token")
		return
	}
	// userid is a string in the live answer, as Withings' own examples of
	// it show, although the published schema says integer.
	writeJSON(w, ok(map[string]any{
		"userid":        strconv.FormatInt(tok.UserID, 10),
		"access_token":  tok.AccessToken,
		"refresh_token": tok.RefreshToken,
		"expires_in":    int64(AccessTokenLifetime / time.Second),
		"scope":         strings.Join(tok.Scopes, ","),
		"csrf_token":    randomHex()[:32],
		"token_type":    "Bearer",
	}))
}

// usable: never redeemed, or redeemed less than RefreshGrace ago and no
// access token issued in its place used yet.
func (t *refreshTok) usable(now time.Time) bool {
	if t.rotatedAt.IsZero() {
		return true
	}
	return now.Before(t.rotatedAt.Add(RefreshGrace)) && !slices.ContainsFunc(t.successors, func(a *accessTok) bool { return a.used })
}
