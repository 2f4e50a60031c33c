package sim

import (
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider/simkit"
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

// authStore is WHOOP's authorization server: its rules and wire format
// over the shared books.
type authStore struct {
	s     *Server
	store *simkit.AuthStore
	ready []Token
}

func newAuthStore(s *Server) *authStore {
	a := &authStore{s: s, store: simkit.NewAuthStore()}
	// Ready tokens come from the seed, so that a restarted simulator prints
	// and accepts the same ones.
	for _, u := range s.world.Users() {
		g := a.store.NewGrant(u.Index, KnownScopes())
		acc, ref := simkit.SeededToken(s.key, "access", u.Index), simkit.SeededToken(s.key, "refresh", u.Index)
		exp := s.clock.Now().Add(s.cfg.ReadyTokenLifetime)
		a.store.Add(g, acc, ref, exp)
		a.ready = append(a.ready, Token{UserIndex: u.Index, UserID: u.UserID, AccessToken: acc, RefreshToken: ref, Scopes: g.Scopes, ExpiresAt: exp})
	}
	return a
}

// lookup finds the grant of a live access token.
func (a *authStore) lookup(tok string) (*simkit.Grant, bool) {
	g, st := a.store.Lookup(tok, a.s.clock.Now())
	return g, st == simkit.OK
}

// issue creates a token pair of g; only the offline scope earns a refresh
// token.
func (a *authStore) issue(g *simkit.Grant, lifetime time.Duration) Token {
	exp := a.s.clock.Now().Add(lifetime)
	acc, ref := a.store.Issue(g, exp, slices.Contains(g.Scopes, ScopeOffline))
	t := Token{UserIndex: g.User, AccessToken: acc, RefreshToken: ref, Scopes: slices.Clone(g.Scopes), ExpiresAt: exp}
	if u := a.s.world.User(g.User); u != nil {
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
	return s.auth.issue(s.auth.store.NewGrant(userIndex, slices.Clone(scopes)), expiresIn), nil
}

// ExpireTokens ends a member's live access tokens now, before their
// expires_in is up, as a provider may: a client learns it only from the
// 401s. The refresh tokens keep working. It returns how many tokens ended.
func (s *Server) ExpireTokens(userIndex int) int {
	return s.auth.store.ExpireAccess(userIndex, s.clock.Now())
}

// GrantRevoked reports whether the grant behind an access token was
// revoked, whatever became of the token since (expired, or replaced by a
// refresh): a test can tell that a client ended the grant it held, even
// with a token it no longer uses.
func (s *Server) GrantRevoked(accessToken string) bool {
	_, st := s.auth.store.Lookup(accessToken, s.clock.Now())
	return st == simkit.Revoked
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
		simkit.RedirectWith(w, r, redirect, url.Values{"error": {code}, "error_description": {desc}, "state": {state}})
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
	userParam, deny := simkit.Consent(r, HeaderAuthorizeUser, HeaderAuthorizeDecision)
	if deny {
		fail("access_denied", "The resource owner or authorization server denied the request.")
		return
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
	code := a.store.NewCode(simkit.Code{User: idx, Scopes: scopes, RedirectURI: redirect, Expires: a.s.clock.Real().Add(a.s.cfg.CodeLifetime)})
	simkit.RedirectWith(w, r, redirect, url.Values{"code": {code}, "scope": {strings.Join(scopes, " ")}, "state": {state}})
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
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = consentTmpl.Execute(w, map[string]any{"Client": a.s.cfg.ClientID, "Scopes": scopes, "Users": a.s.world.Users(), "Params": simkit.ConsentParams(q)})
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

// exchange redeems a code. WHOOP gives one answer for a code that is
// unknown, spent or expired; it takes no PKCE verifier.
func (a *authStore) exchange(w http.ResponseWriter, code, redirect string) (Token, bool) {
	if code == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The 'code' parameter is missing.")
		return Token{}, false
	}
	g, st := a.store.Redeem(code, redirect, "", a.s.clock.Real())
	switch st {
	case simkit.OK:
		return a.issue(g, a.s.cfg.AccessTokenLifetime), true
	case simkit.WrongRedirect:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The 'redirect_uri' parameter does not match the one used in the authorization request.")
	default:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, or was issued to another client.")
	}
	return Token{}, false
}

// rotate exchanges a refresh token for a new pair: the old refresh token and
// every access token of the grant stop working. Presenting a spent refresh
// token again is taken as theft and revokes the whole grant.
func (a *authStore) rotate(w http.ResponseWriter, ref string) (Token, bool) {
	if ref == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "The 'refresh_token' parameter is missing.")
		return Token{}, false
	}
	g, st := a.store.Refresh(ref)
	switch st {
	case simkit.OK:
		a.store.Retire(g)
		return a.issue(g, a.s.cfg.AccessTokenLifetime), true
	case simkit.Used:
		a.store.Revoke(g)
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The refresh token has already been used; the grant is revoked.")
	default:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "The provided authorization grant is invalid, expired, revoked, or was issued to another client.")
	}
	return Token{}, false
}
