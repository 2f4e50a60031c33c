package sim

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Scopes WHOOP grants. Offline is what earns a refresh token.
const ScopeOffline = "offline"

// KnownScopes lists every scope, offline first.
func KnownScopes() []string {
	return []string{ScopeOffline, "read:recovery", "read:cycles", "read:workout", "read:sleep", "read:profile", "read:body_measurement"}
}

// Token is an issued token pair. RefreshToken is empty without offline.
type Token struct {
	UserIndex    int       `json:"user_index"`
	UserID       int64     `json:"user_id"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	Scopes       []string  `json:"scopes"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// grant is one consent: every token issued from it, by refreshes too, dies
// with it.
type grant struct {
	user    int
	scopes  []string
	revoked bool
}

type accessToken struct {
	grant   *grant
	expires time.Time // simulated
	dead    bool      // replaced by a refresh
}

type refreshToken struct {
	grant *grant
	used  bool
}

type authCode struct {
	user        int
	scopes      []string
	redirectURI string
	expires     time.Time // real time
	used        bool
}

type authStore struct {
	s       *Server
	mu      sync.Mutex
	grants  []*grant
	access  map[string]*accessToken
	refresh map[string]*refreshToken
	codes   map[string]*authCode
	ready   []Token
}

func newAuthStore(s *Server) *authStore {
	a := &authStore{s: s, access: map[string]*accessToken{}, refresh: map[string]*refreshToken{}, codes: map[string]*authCode{}}
	// Ready tokens come from the seed, so that a restarted simulator prints
	// and accepts the same ones.
	for _, u := range s.world.Users() {
		g := &grant{user: u.Index, scopes: KnownScopes()}
		a.grants = append(a.grants, g)
		acc, ref := seededToken(s.key, "access", u.Index), seededToken(s.key, "refresh", u.Index)
		exp := s.clock.Now().Add(s.cfg.ReadyTokenLifetime)
		a.access[acc] = &accessToken{grant: g, expires: exp}
		a.refresh[ref] = &refreshToken{grant: g}
		a.ready = append(a.ready, Token{UserIndex: u.Index, UserID: u.UserID, AccessToken: acc, RefreshToken: ref, Scopes: g.scopes, ExpiresAt: exp})
	}
	return a
}

func seededToken(key []byte, kind string, i int) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s:%d", kind, i)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:43]
}

func randomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])[:43]
}

// lookup finds a live access token.
func (a *authStore) lookup(tok string) (*grant, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.access[tok]
	if t == nil || t.dead || t.grant.revoked || !a.s.clock.Now().Before(t.expires) {
		return nil, false
	}
	return t.grant, true
}

// authorized reports whether user has a live grant: webhooks stop for users
// who revoked access.
func (a *authStore) authorized(user int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, g := range a.grants {
		if g.user == user && !g.revoked {
			return true
		}
	}
	return false
}

func (a *authStore) issueLocked(g *grant, lifetime time.Duration) Token {
	acc := randomToken()
	exp := a.s.clock.Now().Add(lifetime)
	a.access[acc] = &accessToken{grant: g, expires: exp}
	t := Token{UserIndex: g.user, AccessToken: acc, Scopes: slices.Clone(g.scopes), ExpiresAt: exp}
	if slices.Contains(g.scopes, ScopeOffline) {
		t.RefreshToken = randomToken()
		a.refresh[t.RefreshToken] = &refreshToken{grant: g}
	}
	if u := a.s.world.User(g.user); u != nil {
		t.UserID = u.UserID
	}
	return t
}

// Tokens returns the ready token pair of every user (every scope, offline
// included). They depend only on the seed.
func (s *Server) Tokens() []Token { return slices.Clone(s.auth.ready) }

// IssueToken creates a token pair for a user with exactly the given scopes
// (nil: every scope) expiring after expiresIn of simulated time (0: the
// configured lifetime; negative: already expired).
func (s *Server) IssueToken(userIndex int, scopes []string, expiresIn time.Duration) (Token, error) {
	if s.world.User(userIndex) == nil {
		return Token{}, fmt.Errorf("whoopsim: no user %d", userIndex)
	}
	if scopes == nil {
		scopes = KnownScopes()
	}
	if expiresIn == 0 {
		expiresIn = s.cfg.AccessTokenLifetime
	}
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	g := &grant{user: userIndex, scopes: slices.Clone(scopes)}
	s.auth.grants = append(s.auth.grants, g)
	return s.auth.issueLocked(g, expiresIn), nil
}

// ExpireTokens ends a member's live access tokens now, before their
// expires_in is up, as a provider may: a client learns it only from the
// 401s. The refresh tokens keep working. It returns how many tokens ended.
func (s *Server) ExpireTokens(userIndex int) int {
	s.auth.mu.Lock()
	defer s.auth.mu.Unlock()
	now, n := s.clock.Now(), 0
	for _, t := range s.auth.access {
		if t.grant.user == userIndex && !t.dead && now.Before(t.expires) {
			t.expires = now
			n++
		}
	}
	return n
}

// revoke ends the grant behind an access token.
func (a *authStore) revoke(tok string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t := a.access[tok]; t != nil {
		t.grant.revoked = true
		return true
	}
	return false
}

func bearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// oauthError is the authorization server's JSON error (RFC 6749 §5.2).
func oauthError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

// Test and CLI hooks for the consent step.
const (
	HeaderAuthorizeUser     = "X-Whoopsim-User"     // user index to approve as
	HeaderAuthorizeDecision = "X-Whoopsim-Decision" // "deny" to refuse
)

// minStateLen is the authorization server's minimum state length: shorter
// states are refused as too weak to protect against CSRF.
const minStateLen = 8

// handleAuthorize is the consent step. user=<index> (query) or the
// X-Whoopsim-User header approves at once as that user; deny=1 or
// X-Whoopsim-Decision: deny refuses; otherwise a page lists the users.
func (a *authStore) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != a.s.cfg.ClientID {
		oauthError(w, http.StatusBadRequest, "invalid_client", "Client authentication failed (e.g., unknown client).")
		return
	}
	redirect, err := a.resolveRedirect(q.Get("redirect_uri"))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	state := q.Get("state")
	fail := func(code, desc string) {
		redirectWith(w, r, redirect, url.Values{"error": {code}, "error_description": {desc}, "state": {state}})
	}
	if q.Get("response_type") != "code" {
		fail("unsupported_response_type", "The authorization server does not support obtaining a token using this method.")
		return
	}
	if len(state) < minStateLen {
		fail("invalid_state", "The state is missing or does not have enough characters and is therefore considered too weak.")
		return
	}
	scopes, bad := parseScopes(q.Get("scope"))
	if bad != "" {
		fail("invalid_scope", "The requested scope is invalid, unknown, or malformed: "+bad)
		return
	}
	if strings.EqualFold(r.Header.Get(HeaderAuthorizeDecision), "deny") || q.Get("deny") != "" {
		fail("access_denied", "The resource owner or authorization server denied the request.")
		return
	}
	userParam := q.Get("user")
	if h := r.Header.Get(HeaderAuthorizeUser); h != "" {
		userParam = h
	}
	if userParam == "" {
		a.consentPage(w, q, scopes)
		return
	}
	idx, err := strconv.Atoi(userParam)
	if err != nil || a.s.world.User(idx) == nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Unknown simulated user.")
		return
	}
	code := randomToken()
	a.mu.Lock()
	a.codes[code] = &authCode{user: idx, scopes: scopes, redirectURI: redirect, expires: a.s.clock.Real().Add(a.s.cfg.CodeLifetime)}
	a.mu.Unlock()
	redirectWith(w, r, redirect, url.Values{"code": {code}, "scope": {strings.Join(scopes, " ")}, "state": {state}})
}

// parseScopes splits a space-separated scope list, keeping request order;
// bad is the first unknown scope.
func parseScopes(s string) (scopes []string, bad string) {
	known := KnownScopes()
	for _, sc := range strings.Fields(s) {
		if !slices.Contains(known, sc) {
			return nil, sc
		}
		if !slices.Contains(scopes, sc) {
			scopes = append(scopes, sc)
		}
	}
	return scopes, ""
}

func (a *authStore) resolveRedirect(ru string) (string, error) {
	reg := a.s.cfg.RedirectURIs
	if ru == "" {
		if len(reg) == 1 {
			return reg[0], nil
		}
		return "", fmt.Errorf("The 'redirect_uri' parameter is required.")
	}
	if len(reg) > 0 && !slices.Contains(reg, ru) {
		return "", fmt.Errorf("The 'redirect_uri' parameter does not match any of the OAuth 2.0 Client's pre-registered redirect urls.")
	}
	// Custom schemes such as whoop://example/redirect are allowed.
	if u, err := url.Parse(ru); err != nil || u.Scheme == "" {
		return "", fmt.Errorf("The 'redirect_uri' parameter is malformed.")
	}
	return ru, nil
}

func redirectWith(w http.ResponseWriter, r *http.Request, target string, v url.Values) {
	u, _ := url.Parse(target)
	q := u.Query()
	for k, vals := range v {
		if len(vals) > 0 && vals[0] != "" {
			q.Set(k, vals[0])
		}
	}
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusFound)
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>whoopsim: authorize</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<h1>Authorize {{.Client}}</h1>
<p>Scopes: {{range .Scopes}}<code>{{.}}</code> {{else}}none{{end}}</p>
<p>Sign in as a simulated WHOOP member:</p>
{{range .Users}}<form method="get" action="/oauth/oauth2/auth" style="margin:.4em 0">
{{range $k, $v := $.Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<input type="hidden" name="user" value="{{.Index}}">
<button type="submit">Approve as user {{.Index}} ({{.UserID}}, {{.FirstName}} {{.LastName}}, {{.TimezoneOffset}})</button>
</form>{{end}}
<form method="get" action="/oauth/oauth2/auth">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<input type="hidden" name="deny" value="1"><button type="submit">Deny</button>
</form>
</body></html>
`))

func (a *authStore) consentPage(w http.ResponseWriter, q url.Values, scopes []string) {
	params := map[string]string{}
	for k, v := range q {
		if k != "user" && k != "deny" && len(v) > 0 {
			params[k] = v[0]
		}
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = consentTmpl.Execute(w, map[string]any{"Client": a.s.cfg.ClientID, "Scopes": scopes, "Users": a.s.world.Users(), "Params": params})
}

// handleToken serves both grants. The application authenticates with
// client_id and client_secret form fields only (client_secret_post), as
// WHOOP documents; HTTP Basic is refused so a client sending it is caught.
func (a *authStore) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The request could not be parsed.")
		return
	}
	f := r.PostForm
	if _, _, basic := r.BasicAuth(); basic {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed: the client uses client_secret_post, not client_secret_basic.")
		return
	}
	if f.Get("client_id") != a.s.cfg.ClientID || !hmac.Equal([]byte(f.Get("client_secret")), []byte(a.s.cfg.ClientSecret)) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Client authentication failed (e.g., unknown client, no client authentication included, or unsupported authentication method).")
		return
	}
	var (
		tok Token
		ok  bool
	)
	switch f.Get("grant_type") {
	case "authorization_code":
		tok, ok = a.exchange(w, f.Get("code"), f.Get("redirect_uri"))
	case "refresh_token":
		tok, ok = a.rotate(w, f.Get("refresh_token"))
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "The 'grant_type' parameter is missing.")
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "The authorization grant type is not supported by the authorization server.")
	}
	if !ok {
		return
	}
	body := map[string]any{
		"access_token": tok.AccessToken,
		"expires_in":   int64(a.s.cfg.AccessTokenLifetime / time.Second),
		"scope":        strings.Join(tok.Scopes, " "),
		"token_type":   "bearer",
	}
	if tok.RefreshToken != "" {
		body["refresh_token"] = tok.RefreshToken
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_ = json.NewEncoder(w).Encode(body)
}

func (a *authStore) exchange(w http.ResponseWriter, code, redirect string) (Token, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	c := a.codes[code]
	switch {
	case code == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "The 'code' parameter is missing.")
	case c == nil, c.used, !a.s.clock.Real().Before(c.expires):
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, or was issued to another client.")
	case redirect != c.redirectURI:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The 'redirect_uri' parameter does not match the one used in the authorization request.")
	default:
		c.used = true
		g := &grant{user: c.user, scopes: c.scopes}
		a.grants = append(a.grants, g)
		return a.issueLocked(g, a.s.cfg.AccessTokenLifetime), true
	}
	return Token{}, false
}

// rotate exchanges a refresh token for a new pair: the old refresh token and
// every access token of the grant stop working. Presenting a spent refresh
// token again is taken as theft and revokes the whole grant.
func (a *authStore) rotate(w http.ResponseWriter, ref string) (Token, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.refresh[ref]
	switch {
	case ref == "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "The 'refresh_token' parameter is missing.")
	case t == nil || t.grant.revoked:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, or was issued to another client.")
	case t.used:
		t.grant.revoked = true
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token has already been used; the grant is revoked.")
	default:
		t.used = true
		for _, at := range a.access {
			if at.grant == t.grant {
				at.dead = true
			}
		}
		return a.issueLocked(t.grant, a.s.cfg.AccessTokenLifetime), true
	}
	return Token{}, false
}
