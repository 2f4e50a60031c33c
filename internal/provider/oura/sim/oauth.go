package sim

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/provider/oura"
	"github.com/wearlink/wearlink/internal/provider/simkit"
)

// KnownScopes are the scopes the simulator grants: those of the published
// document, the ones the live API enforces without documenting them, and
// both names of the SpO2 scope.
func KnownScopes() []string { return oura.DefaultScopes() }

// Token is an issued access token with its refresh token.
type Token struct {
	UserIndex    int       `json:"user_index"`
	OuraID       string    `json:"oura_id"`
	TimeZone     string    `json:"time_zone"`
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Scopes       []string  `json:"scopes"`
	ExpiresAt    time.Time `json:"expires_at"`
}

// accessToken is what a live access token opens: its user and scopes.
type accessToken struct {
	user   int
	scopes map[string]bool
}

// authStore is Oura's authorization server: its rules and wire format over
// the shared books.
type authStore struct {
	s     *Server
	store *simkit.AuthStore
	ready []Token
}

func newAuthStore(s *Server) *authStore {
	a := &authStore{s: s, store: simkit.NewAuthStore()}
	// Ready tokens are derived from the seed so that a restarted simulator
	// prints, and accepts, the same ones.
	for _, u := range s.world.Users() {
		g := a.store.NewGrant(u.Index, KnownScopes())
		acc := simkit.SeededToken(s.key, "access", u.Index)
		ref := simkit.SeededToken(s.key, "refresh", u.Index)
		exp := s.clock.Now().Add(s.cfg.AccessTokenLifetime)
		a.store.Add(g, acc, ref, exp)
		a.ready = append(a.ready, Token{UserIndex: u.Index, OuraID: u.OuraID, TimeZone: u.TimeZone, AccessToken: acc, RefreshToken: ref, Scopes: g.Scopes, ExpiresAt: exp})
	}
	return a
}

func scopeSet(scopes []string) map[string]bool {
	m := make(map[string]bool, len(scopes))
	for _, s := range scopes {
		m[s] = true
	}
	return m
}

// lookupAccess finds a usable access token. The error text is the 401
// detail.
func (a *authStore) lookupAccess(tok string) (*accessToken, error) {
	g, st := a.store.Lookup(tok, a.s.clock.Now())
	switch st {
	case simkit.OK:
		return &accessToken{user: g.User, scopes: scopeSet(g.Scopes)}, nil
	case simkit.Revoked:
		return nil, errors.New("Access token has been revoked.")
	case simkit.Expired:
		return nil, errors.New("Access token has expired.")
	}
	return nil, errors.New("Invalid access token.")
}

// issue creates an access and refresh token pair for g: Oura always
// issues a refresh token.
func (a *authStore) issue(g *simkit.Grant, lifetime time.Duration) Token {
	exp := a.s.clock.Now().Add(lifetime)
	acc, ref := a.store.Issue(g, exp, true)
	t := Token{UserIndex: g.User, AccessToken: acc, RefreshToken: ref, Scopes: g.Scopes, ExpiresAt: exp}
	if u := a.s.userByIndex(g.User); u != nil {
		t.OuraID, t.TimeZone = u.OuraID, u.TimeZone
	}
	return t
}

// Tokens returns the ready token pair of every user, issued at start with
// every known scope. They stay the same for a given seed; revoking or
// refreshing them does not change what Tokens returns.
func (s *Server) Tokens() []Token {
	return slices.Clone(s.auth.ready)
}

// IssueToken creates a token pair for a user with exactly the given scopes
// (nil: every known scope) that expires after expiresIn of simulated time
// (0: the configured lifetime; negative: already expired).
func (s *Server) IssueToken(userIndex int, scopes []string, expiresIn time.Duration) (Token, error) {
	if s.userByIndex(userIndex) == nil {
		return Token{}, fmt.Errorf("ourasim: no user %d", userIndex)
	}
	if scopes == nil {
		scopes = KnownScopes()
	}
	if expiresIn == 0 {
		expiresIn = s.cfg.AccessTokenLifetime
	}
	return s.auth.issue(s.auth.store.NewGrant(userIndex, slices.Clone(scopes)), expiresIn), nil
}

// RevokeToken revokes the grant behind an access or refresh token, as the
// revoke endpoint does. It reports whether the token was known.
func (s *Server) RevokeToken(tok string) bool {
	return s.auth.store.RevokeToken(tok)
}

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// grantedScopes is requested ∩ the application's scopes ∩ known scopes, in
// request order; an empty request means all of the application's scopes.
func (a *authStore) grantedScopes(requested string) []string {
	app := scopeSet(a.s.cfg.AppScopes)
	known := scopeSet(KnownScopes())
	fields := strings.FieldsFunc(requested, func(r rune) bool { return r == ' ' || r == ',' || r == '+' })
	if len(fields) == 0 {
		var out []string
		for _, sc := range a.s.cfg.AppScopes {
			if known[sc] {
				out = append(out, sc)
			}
		}
		return out
	}
	out := []string{}
	for _, sc := range fields {
		if app[sc] && known[sc] && !slices.Contains(out, sc) {
			out = append(out, sc)
		}
	}
	return out
}

// Headers a test (or any non-browser client) can send to /oauth/authorize
// instead of clicking on the consent page.
const (
	HeaderAuthorizeUser     = "X-Ourasim-User"     // user index to approve as
	HeaderAuthorizeDecision = "X-Ourasim-Decision" // "deny" to refuse
)

// handleAuthorize is the consent step. With user=<index> (query) or the
// X-Ourasim-User header it approves at once as that user and redirects with
// a code; with deny=1 or X-Ourasim-Decision: deny it redirects with
// error=access_denied; otherwise it shows a page listing the users.
// granted=<scopes> narrows the grant further, like unticking boxes.
func (a *authStore) handleAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != a.s.cfg.ClientID {
		oauthError(w, http.StatusBadRequest, "invalid_client", "Invalid client ID.")
		return
	}
	redirect, err := a.resolveRedirect(q.Get("redirect_uri"))
	if err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", err.Error())
		return
	}
	state := q.Get("state")
	if q.Get("response_type") != "code" {
		simkit.RedirectWith(w, r, redirect, url.Values{"error": {"unsupported_response_type"}, "error_description": {"Only response_type=code is supported."}, "state": {state}})
		return
	}
	userParam, deny := simkit.Consent(r, HeaderAuthorizeUser, HeaderAuthorizeDecision)
	if deny {
		simkit.RedirectWith(w, r, redirect, url.Values{"error": {"access_denied"}, "error_description": {"The user denied access."}, "state": {state}})
		return
	}
	if userParam == "" {
		a.consentPage(w, r, q)
		return
	}
	idx, err := strconv.Atoi(userParam)
	if err != nil || a.s.userByIndex(idx) == nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Unknown simulated user.")
		return
	}
	scopes := a.grantedScopes(q.Get("scope"))
	if g, ok := q["granted"]; ok {
		narrow := scopeSet(strings.FieldsFunc(g[0], func(r rune) bool { return r == ' ' || r == ',' }))
		scopes = slices.DeleteFunc(scopes, func(s string) bool { return !narrow[s] })
	}
	challenge := q.Get("code_challenge")
	if challenge != "" && q.Get("code_challenge_method") != "S256" {
		simkit.RedirectWith(w, r, redirect, url.Values{"error": {"invalid_request"}, "error_description": {"code_challenge_method must be S256."}, "state": {state}})
		return
	}
	code := a.store.NewCode(simkit.Code{User: idx, Scopes: scopes, RedirectURI: redirect, Challenge: challenge, Expires: a.s.clock.Real().Add(a.s.cfg.CodeLifetime)})
	simkit.RedirectWith(w, r, redirect, url.Values{"code": {code}, "state": {state}})
}

func (a *authStore) resolveRedirect(ru string) (string, error) {
	reg := a.s.cfg.RedirectURIs
	if ru == "" {
		if len(reg) == 1 {
			return reg[0], nil
		}
		return "", errors.New("Missing redirect_uri parameter.")
	}
	if len(reg) > 0 && !slices.Contains(reg, ru) {
		return "", errors.New("Redirect URI not found among the application's registered URIs.")
	}
	u, err := url.Parse(ru)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return "", errors.New("Invalid redirect_uri.")
	}
	return ru, nil
}

var consentTmpl = template.Must(template.New("consent").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>ourasim: authorize</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:2em auto">
<h1>Authorize {{.Client}}</h1>
<p>Scopes requested: {{if .Scopes}}{{range .Scopes}}<code>{{.}}</code> {{end}}{{else}}none that the application may use{{end}}</p>
<p>Sign in as a simulated user:</p>
{{range .Users}}<form method="get" action="/oauth/authorize" style="margin:.4em 0">
{{range $k, $v := $.Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<input type="hidden" name="user" value="{{.Index}}">
<button type="submit">Approve as user {{.Index}} ({{.OuraID}}, {{.TimeZone}})</button>
</form>{{end}}
<form method="get" action="/oauth/authorize">
{{range $k, $v := .Params}}<input type="hidden" name="{{$k}}" value="{{$v}}">{{end}}
<input type="hidden" name="deny" value="1"><button type="submit">Deny</button>
</form>
</body></html>
`))

func (a *authStore) consentPage(w http.ResponseWriter, r *http.Request, q url.Values) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_ = consentTmpl.Execute(w, map[string]any{
		"Client": a.s.cfg.ClientID,
		"Scopes": a.grantedScopes(q.Get("scope")),
		"Users":  a.s.world.Users(),
		"Params": simkit.ConsentParams(q),
	})
}

// clientCredentials reads client_secret_post form fields or HTTP Basic.
func clientCredentials(r *http.Request) (string, string) {
	if id, secret, ok := r.BasicAuth(); ok {
		return id, secret
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
}

func (a *authStore) handleToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Invalid request")
		return
	}
	id, secret := clientCredentials(r)
	if id != a.s.cfg.ClientID || !hmac.Equal([]byte(secret), []byte(a.s.cfg.ClientSecret)) {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "Invalid client ID or secret.")
		return
	}
	f := r.PostForm
	var tok Token
	switch gt := f.Get("grant_type"); gt {
	case "authorization_code":
		var ok bool
		if tok, ok = a.exchangeCode(w, f.Get("code"), f.Get("redirect_uri"), f.Get("code_verifier")); !ok {
			return
		}
	case "refresh_token":
		var ok bool
		if tok, ok = a.rotate(w, f.Get("refresh_token")); !ok {
			return
		}
	case "":
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing grant_type.")
		return
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "Grant type must be either authorization_code or refresh_token.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token":  tok.AccessToken,
		"token_type":    "bearer",
		"expires_in":    int64(tok.ExpiresAt.Sub(a.s.clock.Now()).Round(time.Second) / time.Second),
		"refresh_token": tok.RefreshToken,
		"scope":         strings.Join(tok.Scopes, " "),
	})
}

// exchangeCode redeems a code, with Oura's answer for each way it can fail.
func (a *authStore) exchangeCode(w http.ResponseWriter, code, redirect, verifier string) (Token, bool) {
	if code == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing code.")
		return Token{}, false
	}
	g, st := a.store.Redeem(code, redirect, verifier, a.s.clock.Real())
	switch st {
	case simkit.OK:
		return a.issue(g, a.s.cfg.AccessTokenLifetime), true
	case simkit.Unknown:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid authorization code.")
	case simkit.Used:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code already used.")
	case simkit.Expired:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Authorization code expired.")
	case simkit.WrongRedirect:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Redirect URI does not match.")
	case simkit.WrongVerifier:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "PKCE verification failed.")
	}
	return Token{}, false
}

// rotate exchanges a refresh token for a new pair; the old refresh token is
// spent whatever happens next. A replay only fails: unlike WHOOP's, Oura's
// grant and its access tokens live on.
func (a *authStore) rotate(w http.ResponseWriter, ref string) (Token, bool) {
	if ref == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing refresh_token.")
		return Token{}, false
	}
	g, st := a.store.Refresh(ref)
	switch st {
	case simkit.OK:
		return a.issue(g, a.s.cfg.AccessTokenLifetime), true
	case simkit.Unknown:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Invalid refresh token.")
	default:
		oauthError(w, http.StatusBadRequest, "invalid_grant", "Token already used or revoked.")
	}
	return Token{}, false
}

// handleRevoke revokes the oauthGrant behind access_token (query or form) or
// token (form, RFC 7009). Like RFC 7009 it answers 200 for unknown tokens.
func (a *authStore) handleRevoke(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	tok := r.Form.Get("access_token")
	if tok == "" {
		tok = r.Form.Get("token")
	}
	if tok == "" {
		oauthError(w, http.StatusBadRequest, "invalid_request", "Missing access_token.")
		return
	}
	a.s.RevokeToken(tok)
	writeJSON(w, http.StatusOK, map[string]any{})
}
