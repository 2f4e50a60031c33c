package simkit

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// SeededToken derives the kind ("access", "refresh") token of user i from
// key, so that a restarted simulator with the same seed prints, and
// accepts, the same ready tokens.
func SeededToken(key []byte, kind string, i int) string {
	m := hmac.New(sha256.New, key)
	fmt.Fprintf(m, "%s:%d", kind, i)
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:43]
}

// RandomToken is a fresh opaque token, code or challenge.
func RandomToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])[:43]
}

// PKCEMatches checks a code_verifier against the challenge sent with the
// authorization (RFC 7636 S256). Without a challenge it takes no verifier.
func PKCEMatches(challenge, verifier string) bool {
	if challenge == "" {
		return verifier == ""
	}
	sum := sha256.Sum256([]byte(verifier))
	return subtle.ConstantTimeCompare([]byte(base64.RawURLEncoding.EncodeToString(sum[:])), []byte(challenge)) == 1
}

// Grant is one consent of one user: every token issued from it, by
// refreshes too, dies with it. User and Scopes never change.
type Grant struct {
	User    int
	Scopes  []string
	revoked bool // under the store's lock
}

// Code is what an authorization code stands for until it is redeemed.
type Code struct {
	User        int
	Scopes      []string
	RedirectURI string
	// Challenge is the PKCE S256 code_challenge sent with the
	// authorization, "" when none was.
	Challenge string
	// Expires is real time: it bounds how fast a person and a client act.
	Expires time.Time
}

// AuthStore keeps a simulated authorization server's books: grants,
// authorization codes, access and refresh tokens. It answers nothing
// itself: lookups and redemptions report what they found, and each
// simulator turns that into its provider's rules and errors. Safe for
// concurrent use.
type AuthStore struct {
	mu      sync.Mutex
	grants  []*Grant
	access  map[string]*ticket
	refresh map[string]*ticket
	codes   map[string]*ticket
}

// ticket is one access token, refresh token or authorization code.
type ticket struct {
	grant   *Grant    // nil for a code, whose grant comes with redemption
	code    Code      // a code's authorization
	expires time.Time // simulated for tokens, real for codes; zero: never
	used    bool      // a code or refresh token redeemed, an access token replaced
}

// State is what the books found for a token or code presented.
type State int

const (
	OK            State = iota
	Unknown             // never issued
	Revoked             // its grant was revoked
	Used                // a code or refresh token redeemed before, an access token replaced by a refresh
	Expired             // an access token or a code past its expiry
	WrongRedirect       // a code presented with another redirect URI than its authorization's
	WrongVerifier       // a code presented with a PKCE verifier that does not match
)

// state checks t at now, in this order: known, grant not revoked, not
// used, not expired.
func (t *ticket) state(now time.Time) State {
	switch {
	case t == nil:
		return Unknown
	case t.grant != nil && t.grant.revoked:
		return Revoked
	case t.used:
		return Used
	case !t.expires.IsZero() && !now.Before(t.expires):
		return Expired
	}
	return OK
}

// NewAuthStore returns an empty store.
func NewAuthStore() *AuthStore {
	return &AuthStore{access: map[string]*ticket{}, refresh: map[string]*ticket{}, codes: map[string]*ticket{}}
}

// NewGrant records a consent of user to scopes.
func (a *AuthStore) NewGrant(user int, scopes []string) *Grant {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.newGrantLocked(user, scopes)
}

func (a *AuthStore) newGrantLocked(user int, scopes []string) *Grant {
	g := &Grant{User: user, Scopes: scopes}
	a.grants = append(a.grants, g)
	return g
}

// Add records a token pair of g whose access token expires at expires
// (simulated time); ref "" records no refresh token, and refresh tokens
// never expire. It takes tokens the caller chose, such as ready tokens
// derived from the seed.
func (a *AuthStore) Add(g *Grant, acc, ref string, expires time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.access[acc] = &ticket{grant: g, expires: expires}
	if ref != "" {
		a.refresh[ref] = &ticket{grant: g}
	}
}

// Issue creates an access token of g expiring at expires, and a refresh
// token with it when withRefresh ("" otherwise).
func (a *AuthStore) Issue(g *Grant, expires time.Time, withRefresh bool) (acc, ref string) {
	acc = RandomToken()
	if withRefresh {
		ref = RandomToken()
	}
	a.Add(g, acc, ref, expires)
	return acc, ref
}

// Lookup finds the grant behind an access token at now (simulated time).
// The grant is nil unless the token is live (OK).
func (a *AuthStore) Lookup(tok string, now time.Time) (*Grant, State) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.access[tok]
	if st := t.state(now); st != OK {
		return nil, st
	}
	return t.grant, OK
}

// NewCode records an authorization code for c and returns it.
func (a *AuthStore) NewCode(c Code) string {
	code := RandomToken()
	a.mu.Lock()
	a.codes[code] = &ticket{code: c, expires: c.Expires}
	a.mu.Unlock()
	return code
}

// Redeem spends an authorization code presented with redirectURI and a
// PKCE verifier at now (real time), checking in that order: known, unused,
// unexpired, same redirect URI, verifier. A good code gives a new grant. A
// wrong verifier spends the code too, as a stolen code's should be.
func (a *AuthStore) Redeem(code, redirectURI, verifier string, now time.Time) (*Grant, State) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.codes[code]
	if st := t.state(now); st != OK {
		return nil, st
	}
	if redirectURI != t.code.RedirectURI {
		return nil, WrongRedirect
	}
	t.used = true
	if !PKCEMatches(t.code.Challenge, verifier) {
		return nil, WrongVerifier
	}
	return a.newGrantLocked(t.code.User, t.code.Scopes), OK
}

// Refresh spends a refresh token and returns its grant, for the caller to
// issue the new pair. The grant is also returned when the token was
// revoked or spent (nil only when unknown), for providers that act on a
// replay.
func (a *AuthStore) Refresh(ref string) (*Grant, State) {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.refresh[ref]
	st := t.state(time.Time{})
	if t == nil {
		return nil, st
	}
	if st == OK {
		t.used = true
	}
	return t.grant, st
}

// Retire stops every access token of g issued so far, as providers do
// whose refresh replaces the old access token.
func (a *AuthStore) Retire(g *Grant) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, t := range a.access {
		if t.grant == g {
			t.used = true
		}
	}
}

// ExpireAccess ends user's live access tokens at now, before their
// expires_in is up, as a provider may; refresh tokens keep working. It
// returns how many ended.
func (a *AuthStore) ExpireAccess(user int, now time.Time) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	n := 0
	for _, t := range a.access {
		if t.grant.User == user && t.state(now) == OK {
			t.expires = now
			n++
		}
	}
	return n
}

// Revoke ends g: its tokens stop working.
func (a *AuthStore) Revoke(g *Grant) {
	a.mu.Lock()
	g.revoked = true
	a.mu.Unlock()
}

// RevokeToken revokes the grant behind an access or refresh token and
// reports whether the token was known.
func (a *AuthStore) RevokeToken(tok string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	t := a.access[tok]
	if t == nil {
		t = a.refresh[tok]
	}
	if t == nil {
		return false
	}
	t.grant.revoked = true
	return true
}

// Authorized reports whether user has a grant that is not revoked.
func (a *AuthStore) Authorized(user int) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, g := range a.grants {
		if g.User == user && !g.revoked {
			return true
		}
	}
	return false
}

// BearerToken is the token of an "Authorization: Bearer" header, "" when
// there is none.
func BearerToken(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}

// Consent reads an answer to the consent step given without the page, by a
// test or any non-browser client: the user to approve as (query user=, or
// the userHeader header, which wins) and whether to refuse (query deny=, or
// decisionHeader: deny).
func Consent(r *http.Request, userHeader, decisionHeader string) (user string, deny bool) {
	q := r.URL.Query()
	user = q.Get("user")
	if h := r.Header.Get(userHeader); h != "" {
		user = h
	}
	return user, strings.EqualFold(r.Header.Get(decisionHeader), "deny") || q.Get("deny") != ""
}

// ConsentParams are the authorization request's parameters for the consent
// page to carry in hidden fields, without the page's own answers.
func ConsentParams(q url.Values) map[string]string {
	params := map[string]string{}
	for k, v := range q {
		if k != "user" && k != "deny" && len(v) > 0 {
			params[k] = v[0]
		}
	}
	return params
}

// RedirectWith redirects (302) to target with v added to its query; empty
// values are left out.
func RedirectWith(w http.ResponseWriter, r *http.Request, target string, v url.Values) {
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
