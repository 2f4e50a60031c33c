// Package link connects a client's user to a provider's account: the
// authorization URL a client gets from the API, the OAuth state, the
// callback that exchanges the code and starts the backfill, and revocation.
//
// The flow, as the browser sees it:
//
//	authorization_url  {public}/connect/{data_source}?client_uuid&user_id&redirect_url&expires&sig
//	                   signed with a server key and expiring (LinkTTL), so only
//	                   the client's backend can make one; visiting it
//	GET /connect/{ds}  creates a single-use state (random, stored hashed,
//	                   bound to client, user and redirect_url, expiring after
//	                   StateTTL), sets a cookie naming it, and redirects to
//	                   the provider's authorize page
//	GET /connect/{ds}/callback?code&state
//	                   checks the cookie, then takes the state (deleted on
//	                   first use: only the browser that owns it can spend
//	                   it), exchanges the code (with the PKCE verifier when
//	                   PKCE is on), checks the scopes, links
//	                   through the sync engine (connection with sealed tokens,
//	                   account's id, backfill enqueued) and redirects to
//	                   {redirect_url}/client_uuid/<c>/user_id/<u>, or shows a
//	                   success page when there is no redirect_url
//
// Every failure shows the person a page that says what happened and what to
// do, tells the client through Events, and leaves no half-made link: a
// token obtained for a link that failed is revoked at the provider and the
// connection is put back as it was.
//
// A Service serves one data source; the composition root makes one per
// provider that has OAuth credentials. The signed link names no data
// source: a client that lets a user link one provider lets the user link
// any the server serves.
package link

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/ingest"
	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// ConnectPath and CallbackPath are the routes ServeConnect and
// ServeCallback serve for a data source. The provider's application must
// list PublicURL+CallbackPath as a redirect URI.
func ConnectPath(dataSource string) string  { return "/connect/" + dataSource }
func CallbackPath(dataSource string) string { return "/connect/" + dataSource + "/callback" }

// MaxRedirectURL bounds redirect_url. ROOK's reference says 50 characters,
// which real deep links exceed; 2048 is what browsers reliably handle.
const MaxRedirectURL = 2048

// OAuth is a provider's authorization-code flow for one application. Its
// redirect URL must be PublicURL+CallbackPath.
type OAuth interface {
	AuthCodeURL(state string, extra ...oauth2.AuthCodeOption) string
	Exchange(ctx context.Context, code string, opts ...oauth2.AuthCodeOption) (provider.Tokens, error)
	// Revoke ends the grant behind t at the provider, refreshing it first
	// where the provider's revocation needs a live access token.
	Revoke(ctx context.Context, t provider.Tokens) error
}

// Syncer stores a new grant and starts the backfill (*sync.Engine).
type Syncer interface {
	Link(ctx context.Context, p ingest.LinkParams) (ingest.LinkResult, error)
}

// Store is what linking reads and writes (both store implementations).
type Store interface {
	GetClient(ctx context.Context, uuid string) (store.Client, error)
	GetUser(ctx context.Context, clientUUID, userID string) (store.User, error)
	FindConnection(ctx context.Context, clientUUID, userID, dataSource string) (store.Connection, error)
	UpdateTokens(ctx context.Context, id int64, t store.Tokens) error
	SetConnectionStatus(ctx context.Context, id int64, status, lastError string) error
	PutLinkState(ctx context.Context, s store.LinkState) error
	TakeLinkState(ctx context.Context, id []byte) (store.LinkState, error)
	PurgeLinkStates(ctx context.Context, t time.Time) (int, error)
	ServerKey(ctx context.Context, name string) ([]byte, error)
}

// Failure reasons reported to FailureEvents.LinkFailed.
const (
	ReasonDenied   = "denied"        // the person refused consent at the provider
	ReasonOAuth    = "oauth_error"   // the provider answered the authorization with another error
	ReasonExpired  = "expired"       // the state expired before the callback
	ReasonBrowser  = "browser"       // the callback came to a browser that did not start the flow
	ReasonExchange = "exchange"      // the code could not be exchanged for tokens
	ReasonScope    = "missing_scope" // a required scope was not granted
	ReasonLink     = "link"          // storing the grant or reading the account failed
)

// UnlinkedByClient is the by argument of DataSourceUnlinked when the client
// revoked the authorization.
const UnlinkedByClient = "client"

// Events receives the lifecycle events of linking; the delivery work turns
// them into notifications to the client (*delivery.Service satisfies it).
// Calls are synchronous; an error is logged and does not undo the link.
type Events interface {
	UserCreated(ctx context.Context, clientUUID, userID string) error
	DataSourceLinked(ctx context.Context, c store.Connection) error
	DataSourceUnlinked(ctx context.Context, c store.Connection, by string) error
}

// FailureEvents is implemented by Events that also want to hear of links
// that failed (declined consent, a missing scope, an expired state ...).
type FailureEvents interface {
	LinkFailed(ctx context.Context, clientUUID, userID, dataSource, reason, detail string) error
}

// NopEvents drops every event.
type NopEvents struct{}

// UserCreated implements Events.
func (NopEvents) UserCreated(context.Context, string, string) error { return nil }

// DataSourceLinked implements Events.
func (NopEvents) DataSourceLinked(context.Context, store.Connection) error { return nil }

// DataSourceUnlinked implements Events.
func (NopEvents) DataSourceUnlinked(context.Context, store.Connection, string) error { return nil }

// Config builds a Service for one data source. DataSource, Store, OAuth,
// Sync and PublicURL are required.
type Config struct {
	// DataSource is the provider's slug, Name its display name
	// in the pages (default DataSource).
	DataSource string
	Name       string
	Store      Store
	OAuth      OAuth
	Sync       Syncer
	// Events defaults to NopEvents.
	Events Events
	// PublicURL is where browsers reach this server, e.g.
	// https://wearlink.example.com (no trailing path needed).
	PublicURL string
	// LinkTTL is how long an authorization_url works (default 24 h): apps
	// show it and the person may click it later.
	LinkTTL time.Duration
	// StateTTL is how long the person may take at the provider's consent
	// page (default 15 min).
	StateTTL time.Duration
	// RequiredScopes must all be granted (the provider says which, see
	// provider.OAuth). Checked only when the provider reports the granted
	// scopes.
	RequiredScopes []string
	// LinkTimeout bounds exchanging the code and linking (default 3 min);
	// the work goes on if the browser goes away, so nothing is left half
	// done.
	LinkTimeout time.Duration
	// PKCE sends an S256 code_challenge with the authorization and its
	// code_verifier with the code exchange (RFC 7636). On for providers
	// whose documentation says they accept it (see provider.OAuth.PKCE).
	PKCE   bool
	Logger *slog.Logger
	Now    func() time.Time
}

// Service runs account linking. It is safe for concurrent use.
type Service struct {
	cfg    Config
	st     Store
	public *url.URL
	log    *slog.Logger
	now    func() time.Time
	secure bool

	keyMu sync.Mutex
	key   []byte

	purgeMu   sync.Mutex
	lastPurge time.Time
}

// New checks the configuration and fills defaults.
func New(cfg Config) (*Service, error) {
	if cfg.Store == nil || cfg.OAuth == nil || cfg.Sync == nil || cfg.DataSource == "" {
		return nil, errors.New("link: Config.DataSource, Store, OAuth and Sync are required")
	}
	if cfg.Name == "" {
		cfg.Name = cfg.DataSource
	}
	pub, err := url.Parse(strings.TrimSuffix(cfg.PublicURL, "/"))
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, fmt.Errorf("link: PublicURL %q must be an absolute http or https URL", cfg.PublicURL)
	}
	if cfg.Events == nil {
		cfg.Events = NopEvents{}
	}
	if cfg.LinkTTL <= 0 {
		cfg.LinkTTL = 24 * time.Hour
	}
	if cfg.StateTTL <= 0 {
		cfg.StateTTL = 15 * time.Minute
	}
	if cfg.LinkTimeout <= 0 {
		cfg.LinkTimeout = 3 * time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Service{cfg: cfg, st: cfg.Store, public: pub, log: cfg.Logger, now: cfg.Now, secure: pub.Scheme == "https"}, nil
}

// ValidateRedirectURL reports an EINVALID error, with a message for the
// client's developer, unless s is an absolute https URL (http is allowed
// for localhost and 127.0.0.1 during development). The empty string is
// valid: no redirect.
func ValidateRedirectURL(s string) error {
	if s == "" {
		return nil
	}
	if len(s) > MaxRedirectURL {
		return health.Errorf(health.EINVALID, "redirect_url is longer than %d characters", MaxRedirectURL)
	}
	u, err := url.Parse(s)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return health.Errorf(health.EINVALID, "redirect_url must be an absolute URL such as https://app.example.com/linked")
	}
	if u.User != nil {
		return health.Errorf(health.EINVALID, "redirect_url must not contain a user name or password")
	}
	if u.Fragment != "" || strings.Contains(s, "#") {
		return health.Errorf(health.EINVALID, "redirect_url must not contain a fragment (#...): the path /client_uuid/<client_uuid>/user_id/<user_id> is appended to it")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if isLoopback(u.Hostname()) {
			return nil
		}
		return health.Errorf(health.EINVALID, "redirect_url must use https (http is only allowed for localhost and 127.0.0.1)")
	}
	return health.Errorf(health.EINVALID, "redirect_url must use https, not %s", u.Scheme)
}

func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && (ip.Equal(net.IPv4(127, 0, 0, 1)) || ip.Equal(net.IPv6loopback))
}

// FinalRedirect is where the browser goes after a successful link: the
// client's redirect_url with /client_uuid/<c>/user_id/<u> appended to its
// path, its query kept.
func FinalRedirect(redirectURL, clientUUID, userID string) (string, error) {
	u, err := url.Parse(redirectURL)
	if err != nil {
		return "", err
	}
	suffix := "/client_uuid/" + clientUUID + "/user_id/" + userID
	u.Path = strings.TrimSuffix(u.Path, "/") + suffix
	if u.RawPath != "" {
		u.RawPath = strings.TrimSuffix(u.RawPath, "/") + "/client_uuid/" + url.PathEscape(clientUUID) + "/user_id/" + url.PathEscape(userID)
	}
	return u.String(), nil
}

// signingKey is the server key that signs authorization URLs, read once.
func (s *Service) signingKey(ctx context.Context) ([]byte, error) {
	s.keyMu.Lock()
	defer s.keyMu.Unlock()
	if s.key != nil {
		return s.key, nil
	}
	k, err := s.st.ServerKey(ctx, "link-url")
	if err != nil {
		return nil, fmt.Errorf("link signing key: %w", err)
	}
	s.key = k
	return k, nil
}

func linkMAC(key []byte, clientUUID, userID, redirectURL, expires string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(secret.AD("wearlink authorization url v1", clientUUID, userID, redirectURL, expires))
	return m.Sum(nil)
}

// AuthorizationURL returns the URL that starts linking the user's
// account. redirectURL may be empty. It writes nothing: the user is
// created when the link completes.
func (s *Service) AuthorizationURL(ctx context.Context, clientUUID, userID, redirectURL string) (string, error) {
	if clientUUID == "" || !health.ValidUserID(userID) {
		return "", health.Errorf(health.EINVALID, "user_id must be 1 to 50 letters, digits or hyphens")
	}
	if err := ValidateRedirectURL(redirectURL); err != nil {
		return "", err
	}
	key, err := s.signingKey(ctx)
	if err != nil {
		return "", err
	}
	expires := strconv.FormatInt(s.now().Add(s.cfg.LinkTTL).Unix(), 10)
	q := url.Values{}
	q.Set("client_uuid", clientUUID)
	q.Set("user_id", userID)
	if redirectURL != "" {
		q.Set("redirect_url", redirectURL)
	}
	q.Set("expires", expires)
	q.Set("sig", base64.RawURLEncoding.EncodeToString(linkMAC(key, clientUUID, userID, redirectURL, expires)))
	return s.public.String() + ConnectPath(s.cfg.DataSource) + "?" + q.Encode(), nil
}

// Revoke revokes the user's authorization: syncing stops at once (the
// connection is marked revoked), the token is revoked at the provider, and the
// tokens are deleted here; stored data stays. It reports false when there
// was nothing to revoke.
func (s *Service) Revoke(ctx context.Context, clientUUID, userID string) (bool, error) {
	conn, err := s.st.FindConnection(ctx, clientUUID, userID, s.cfg.DataSource)
	if health.ErrorCode(err) == health.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if conn.Status == store.StatusRevoked {
		return false, nil
	}
	if err := s.st.SetConnectionStatus(ctx, conn.ID, store.StatusRevoked, "revoked by the client"); err != nil {
		return false, err
	}
	s.revokeAtProvider(ctx, provider.Tokens{AccessToken: conn.Tokens.AccessToken, RefreshToken: conn.Tokens.RefreshToken,
		Expiry: conn.Tokens.Expiry, Scopes: conn.Tokens.Scopes}, "connection", conn.ID)
	if err := s.st.UpdateTokens(ctx, conn.ID, store.Tokens{Scopes: conn.Tokens.Scopes}); err != nil {
		return false, err
	}
	conn.Status, conn.LastError, conn.Tokens = store.StatusRevoked, "revoked by the client", store.Tokens{Scopes: conn.Tokens.Scopes}
	s.log.InfoContext(ctx, "authorization revoked", "data_source", s.cfg.DataSource, "client_uuid", clientUUID, "user_id", userID, "connection", conn.ID)
	s.event(ctx, "data source unlinked", s.cfg.Events.DataSourceUnlinked(ctx, conn, UnlinkedByClient))
	return true, nil
}

// revokeAtProvider revokes a grant at the provider, logging a failure: the tokens are
// deleted here either way, so nothing of ours can use them again.
func (s *Service) revokeAtProvider(ctx context.Context, t provider.Tokens, logArgs ...any) {
	if t.AccessToken == "" && t.RefreshToken == "" {
		return
	}
	if err := s.cfg.OAuth.Revoke(ctx, t); err != nil {
		s.log.WarnContext(ctx, "revoking the token at the provider failed", append(append(logArgs, "data_source", s.cfg.DataSource), "err", err)...)
	}
}

// stateCookie names the cookie that ties a state to the browser that
// started the flow. The name carries part of the state's hash, so two
// flows in two tabs do not overwrite each other.
func stateCookie(id []byte) string { return "wearlink_link_" + hex.EncodeToString(id[:6]) }

// cookieUsed is the state cookie's value once its state was spent.
const cookieUsed = "used"

// verifier is the PKCE code_verifier (RFC 7636) of a state: an HMAC of
// the state token under the server key, so it is kept with the state
// without being stored. The token travels through the provider and the
// browser; the verifier cannot be made from it without the key. 32 bytes
// in unpadded base64url are the 43 characters RFC 7636 asks at least.
func (s *Service) verifier(ctx context.Context, token string) (string, error) {
	key, err := s.signingKey(ctx)
	if err != nil {
		return "", err
	}
	m := hmac.New(sha256.New, key)
	m.Write(secret.AD("wearlink pkce verifier v1", token))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

func stateID(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:]
}

// ServeConnect handles GET ConnectPath: it checks the signed link, creates
// the state and sends the browser to the provider.
func (s *Service) ServeConnect(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	clientUUID, userID, redirectURL, expires := q.Get("client_uuid"), q.Get("user_id"), q.Get("redirect_url"), q.Get("expires")
	key, err := s.signingKey(ctx)
	if err != nil {
		s.log.ErrorContext(ctx, "connect: signing key", "err", err)
		s.page(w, http.StatusInternalServerError, pageInternal)
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(q.Get("sig"))
	if err != nil || !hmac.Equal(sig, linkMAC(key, clientUUID, userID, redirectURL, expires)) {
		s.page(w, http.StatusBadRequest, pageBadLink)
		return
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || !s.now().Before(time.Unix(exp, 0)) {
		s.page(w, http.StatusBadRequest, pageLinkExpired)
		return
	}
	if _, err := s.st.GetClient(ctx, clientUUID); err != nil {
		if health.ErrorCode(err) == health.ENOTFOUND {
			s.page(w, http.StatusNotFound, pageNoClient)
			return
		}
		s.log.ErrorContext(ctx, "connect: get client", "err", err)
		s.page(w, http.StatusInternalServerError, pageInternal)
		return
	}
	s.purgeExpired(ctx)
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		s.page(w, http.StatusInternalServerError, pageInternal)
		return
	}
	token := base64.RawURLEncoding.EncodeToString(raw)
	id := stateID(token)
	now := s.now()
	err = s.st.PutLinkState(ctx, store.LinkState{ID: id, ClientUUID: clientUUID, UserID: userID, DataSource: s.cfg.DataSource,
		RedirectURL: redirectURL, ExpiresAt: now.Add(s.cfg.StateTTL)})
	if err != nil {
		s.log.ErrorContext(ctx, "connect: put state", "err", err)
		s.page(w, http.StatusInternalServerError, pageInternal)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: stateCookie(id), Value: token, Path: ConnectPath(s.cfg.DataSource), MaxAge: int(s.cfg.StateTTL / time.Second),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	var authOpts []oauth2.AuthCodeOption
	if s.cfg.PKCE {
		v, err := s.verifier(ctx, token)
		if err != nil {
			s.log.ErrorContext(ctx, "connect: PKCE verifier", "err", err)
			s.page(w, http.StatusInternalServerError, pageInternal)
			return
		}
		authOpts = append(authOpts, oauth2.S256ChallengeOption(v))
	}
	http.Redirect(w, r, s.cfg.OAuth.AuthCodeURL(token, authOpts...), http.StatusFound)
}

// purgeExpired deletes expired states at most once a minute.
func (s *Service) purgeExpired(ctx context.Context) {
	s.purgeMu.Lock()
	due := s.now().Sub(s.lastPurge) >= time.Minute
	if due {
		s.lastPurge = s.now()
	}
	s.purgeMu.Unlock()
	if !due {
		return
	}
	if _, err := s.st.PurgeLinkStates(ctx, s.now()); err != nil {
		s.log.WarnContext(ctx, "purge expired link states", "err", err)
	}
}

// ServeCallback handles GET CallbackPath, where the provider sends the browser
// back with a code (or an error) and the state.
func (s *Service) ServeCallback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	token := q.Get("state")
	if token == "" {
		s.page(w, http.StatusBadRequest, pageNoState)
		return
	}
	id := stateID(token)
	// The cookie is checked before the state is taken: a request from any
	// other browser (a link scanner, a prefetch, an attacker holding the
	// URL) must not spend the state of the browser that owns it.
	c, err := r.Cookie(stateCookie(id))
	switch {
	case err == nil && c.Value == cookieUsed:
		s.page(w, http.StatusBadRequest, pageStateUsed)
		return
	case err != nil || !hmac.Equal([]byte(c.Value), []byte(token)):
		s.log.InfoContext(r.Context(), "linking callback from a browser that did not start it", "reason", ReasonBrowser)
		s.page(w, http.StatusBadRequest, pageOtherBrowser)
		return
	}
	st, err := s.st.TakeLinkState(r.Context(), id)
	if err != nil {
		if health.ErrorCode(err) == health.ENOTFOUND {
			s.page(w, http.StatusBadRequest, pageStateUsed)
			return
		}
		s.log.ErrorContext(r.Context(), "callback: take state", "err", err)
		s.page(w, http.StatusInternalServerError, pageInternal)
		return
	}
	// The cookie now says the state was spent, so that this browser coming
	// back is told so rather than sent to another browser.
	http.SetCookie(w, &http.Cookie{Name: stateCookie(id), Value: cookieUsed, Path: ConnectPath(s.cfg.DataSource), MaxAge: int(s.cfg.StateTTL / time.Second),
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode})
	// From here on the work completes even if the browser goes away, so a
	// link is never left half made.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.LinkTimeout)
	defer cancel()
	fail := func(status int, p pageData, reason, detail string) {
		s.log.InfoContext(ctx, "linking failed", "client_uuid", st.ClientUUID, "user_id", st.UserID, "reason", reason, "detail", detail)
		if fe, ok := s.cfg.Events.(FailureEvents); ok {
			s.event(ctx, "link failed", fe.LinkFailed(ctx, st.ClientUUID, st.UserID, st.DataSource, reason, detail))
		}
		p.Back = st.RedirectURL
		s.page(w, status, p)
	}
	if !s.now().Before(st.ExpiresAt) {
		fail(http.StatusBadRequest, pageStateExpired, ReasonExpired, "the authorization took longer than "+s.cfg.StateTTL.String())
		return
	}
	if e := q.Get("error"); e != "" {
		if e == "access_denied" {
			fail(http.StatusOK, pageDenied, ReasonDenied, "the person declined access at "+s.cfg.Name)
			return
		}
		fail(http.StatusBadGateway, pageOAuthError, ReasonOAuth, s.cfg.Name+" answered the authorization with "+e+": "+q.Get("error_description"))
		return
	}
	code := q.Get("code")
	if code == "" {
		fail(http.StatusBadRequest, pageOAuthError, ReasonOAuth, s.cfg.Name+" sent the browser back without a code")
		return
	}
	var exchangeOpts []oauth2.AuthCodeOption
	if s.cfg.PKCE {
		v, err := s.verifier(ctx, token)
		if err != nil {
			fail(http.StatusInternalServerError, pageInternal, ReasonExchange, "PKCE verifier: "+err.Error())
			return
		}
		exchangeOpts = append(exchangeOpts, oauth2.VerifierOption(v))
	}
	tok, err := s.cfg.OAuth.Exchange(ctx, code, exchangeOpts...)
	if err != nil {
		fail(http.StatusBadGateway, pageExchange, ReasonExchange, "exchanging the code failed: "+err.Error())
		return
	}
	if missing := missingScopes(s.cfg.RequiredScopes, tok.Scopes); len(missing) > 0 {
		s.revokeAtProvider(ctx, tok, "client_uuid", st.ClientUUID, "user_id", st.UserID)
		p := pageScope
		p.Missing = missing
		fail(http.StatusForbidden, p, ReasonScope, "required scopes not granted: "+strings.Join(missing, ", "))
		return
	}
	conn, newUser, err := s.link(ctx, st, tok)
	if err != nil {
		s.revokeAtProvider(ctx, tok, "client_uuid", st.ClientUUID, "user_id", st.UserID)
		fail(http.StatusBadGateway, pageLinkFailed, ReasonLink, err.Error())
		return
	}
	s.log.InfoContext(ctx, "account linked", "data_source", s.cfg.DataSource, "client_uuid", st.ClientUUID, "user_id", st.UserID, "connection", conn.ID)
	if newUser {
		s.event(ctx, "user created", s.cfg.Events.UserCreated(ctx, st.ClientUUID, st.UserID))
	}
	s.event(ctx, "data source linked", s.cfg.Events.DataSourceLinked(ctx, conn))
	if st.RedirectURL == "" {
		s.page(w, http.StatusOK, pageLinked)
		return
	}
	to, err := FinalRedirect(st.RedirectURL, st.ClientUUID, st.UserID)
	if err != nil {
		s.page(w, http.StatusOK, pageLinked)
		return
	}
	http.Redirect(w, r, to, http.StatusFound)
}

// event logs a lifecycle event that could not be recorded.
func (s *Service) event(ctx context.Context, what string, err error) {
	if err != nil {
		s.log.WarnContext(ctx, "lifecycle event not recorded", "event", what, "err", err)
	}
}

// link hands the grant to the sync engine and reports whether the user is
// new. When linking fails, the connection is put back as it was before (or
// marked revoked when it is new), so no connection is left active with a
// grant that did not fully link.
func (s *Service) link(ctx context.Context, st store.LinkState, tok provider.Tokens) (store.Connection, bool, error) {
	_, userErr := s.st.GetUser(ctx, st.ClientUUID, st.UserID)
	if userErr != nil && health.ErrorCode(userErr) != health.ENOTFOUND {
		return store.Connection{}, false, userErr
	}
	prev, prevErr := s.st.FindConnection(ctx, st.ClientUUID, st.UserID, s.cfg.DataSource)
	if prevErr != nil && health.ErrorCode(prevErr) != health.ENOTFOUND {
		return store.Connection{}, false, prevErr
	}
	res, err := s.cfg.Sync.Link(ctx, ingest.LinkParams{ClientUUID: st.ClientUUID, UserID: st.UserID, DataSource: s.cfg.DataSource,
		Tokens: store.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expiry: tok.Expiry, Scopes: tok.Scopes}})
	if err == nil {
		return res.Connection, userErr != nil, nil
	}
	conn, findErr := s.st.FindConnection(ctx, st.ClientUUID, st.UserID, s.cfg.DataSource)
	if findErr != nil {
		return store.Connection{}, false, err // nothing was stored
	}
	var undo error
	if prevErr == nil {
		undo = errors.Join(s.st.UpdateTokens(ctx, conn.ID, prev.Tokens), s.st.SetConnectionStatus(ctx, conn.ID, prev.Status, prev.LastError))
	} else {
		undo = errors.Join(s.st.SetConnectionStatus(ctx, conn.ID, store.StatusRevoked, "linking failed"),
			s.st.UpdateTokens(ctx, conn.ID, store.Tokens{}))
	}
	if undo != nil {
		s.log.ErrorContext(ctx, "undoing a failed link", "connection", conn.ID, "err", undo)
	}
	return store.Connection{}, false, err
}

// missingScopes lists the required scopes not granted. An empty grant list
// means the provider did not say, and nothing is missing.
func missingScopes(required, granted []string) []string {
	if len(granted) == 0 {
		return nil
	}
	var out []string
	for _, r := range required {
		if !slices.Contains(granted, r) {
			out = append(out, r)
		}
	}
	return out
}
