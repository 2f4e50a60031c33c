package web

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// Dashboard sessions are kept server-side (store.SessionStore): the
// cookie holds only a random token, the store the SHA-256 of it with the
// client, the expiry, the session's CSRF token and a fingerprint of the
// client's secret hash at sign-in. Signing out deletes the row, so a copy
// of the cookie dies with it; a rotated secret no longer matches the
// fingerprint, so every session of the old secret ends.

// sessionCookieName is the session cookie. Over HTTPS it has the __Host-
// prefix, which a browser only accepts from this origin over HTTPS with
// Path=/ and no Domain: a sibling subdomain or a man in the middle on
// plain HTTP cannot plant one (planting the attacker's own session would
// be a login CSRF).
func (h *Handler) sessionCookieName() string {
	if h.secure {
		return "__Host-wearlink_session"
	}
	return "wearlink_session"
}

func (h *Handler) sessionCookiePath() string {
	if h.secure {
		return "/"
	}
	return DashboardPath
}

// dummyHash is checked against for an unknown client, so that it costs
// what a wrong secret costs.
var dummyHash = secret.HashAPISecret("wearlink: no such client")

func secretFingerprint(c store.Client) []byte {
	sum := sha256.Sum256(secret.AD("wearlink dashboard secret v1", c.UUID, string(c.SecretHash)))
	return sum[:]
}

func sessionID(token string) []byte {
	sum := sha256.Sum256([]byte("wearlink dashboard session v2:" + token))
	return sum[:]
}

func randomToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// session returns the signed-in client and its session, or nils when the
// request has no live session.
func (h *Handler) session(ctx context.Context, r *http.Request) (*store.Client, *store.DashboardSession, error) {
	ck, err := r.Cookie(h.sessionCookieName())
	if err != nil || len(ck.Value) < 32 || len(ck.Value) > 64 {
		return nil, nil, nil
	}
	s, err := h.st.GetSession(ctx, sessionID(ck.Value), h.now())
	if health.ErrorCode(err) == health.ENOTFOUND {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	c, err := h.st.GetClient(ctx, s.ClientUUID)
	if health.ErrorCode(err) == health.ENOTFOUND {
		return nil, nil, nil
	}
	if err != nil {
		return nil, nil, err
	}
	if len(c.SecretHash) == 0 || subtle.ConstantTimeCompare(secretFingerprint(c), s.SecretFingerprint) != 1 {
		return nil, nil, nil
	}
	return &c, &s, nil
}

func (h *Handler) setSession(ctx context.Context, w http.ResponseWriter, c store.Client) error {
	tok := randomToken()
	now := h.now()
	// Expired sessions go at each sign-in, so the table stays small.
	if _, err := h.st.PurgeSessions(ctx, now); err != nil {
		h.log.WarnContext(ctx, "purge dashboard sessions", "err", err)
	}
	if err := h.st.CreateSession(ctx, store.DashboardSession{ID: sessionID(tok), ClientUUID: c.UUID, SecretFingerprint: secretFingerprint(c),
		CSRF: randomToken(), CreatedAt: now, ExpiresAt: now.Add(h.cfg.SessionTTL)}); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: h.sessionCookieName(), Value: tok, Path: h.sessionCookiePath(), MaxAge: int(h.cfg.SessionTTL / time.Second),
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// signedIn returns the session's client and the session, or shows the
// login form and returns nils. Handlers pass the session on
// (signedInPage, checkSessionCSRF), so a request reads it once.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) (*store.Client, *store.DashboardSession) {
	c, s, err := h.session(r.Context(), r)
	if err != nil {
		h.internal(w, r, "dashboard session", err)
		return nil, nil
	}
	if c == nil {
		h.loginForm(w, r, http.StatusUnauthorized, "")
		return nil, nil
	}
	return c, s
}

// checkSessionCSRF reports whether a signed-in POST carries the CSRF
// token of its session s (nil: none); when not, it has answered 403. A
// token bound to the session row cannot be learnt by planting a cookie.
func (h *Handler) checkSessionCSRF(w http.ResponseWriter, r *http.Request, s *store.DashboardSession) bool {
	if !h.sameOrigin(w, r) {
		return false
	}
	tok := r.PostFormValue(csrfField)
	if s != nil && s.CSRF != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(s.CSRF)) == 1 {
		return true
	}
	h.formExpired(w)
	return false
}

type loginData struct {
	ClientUUID string
	Error      string
}

func (h *Handler) loginForm(w http.ResponseWriter, r *http.Request, status int, errText string) {
	tok, err := h.csrfToken(w, r)
	if err != nil {
		h.internal(w, r, "csrf token", err)
		return
	}
	h.render(w, status, "login", view{Title: "Sign in to the dashboard", CSRF: tok, Narrow: true,
		Data: loginData{ClientUUID: r.PostFormValue("client_uuid"), Error: errText}})
}

// login handles POST /dashboard/login: client_uuid and secret, checked
// like the API's Basic credentials.
//
// Login CSRF (another site signing the victim's browser in to the
// attacker's account) is refused twice over: the form's token is bound to
// the pre-session cookie (csrf.go), which over HTTPS carries the __Host-
// prefix and so cannot be planted from a sibling subdomain or over plain
// HTTP; and the browser's Sec-Fetch-Site / Origin must say the form came
// from this origin (sameOrigin), which a planted cookie does not change.
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.checkCSRF(w, r) {
		return
	}
	uuid, pass := strings.TrimSpace(r.PostFormValue("client_uuid")), r.PostFormValue("secret")
	addr := sourceAddr(r)
	if !h.limits.allowed(uuid, addr, h.now()) {
		h.loginForm(w, r, http.StatusTooManyRequests, "Too many failed sign-in attempts from your network. Wait a minute and try again.")
		return
	}
	c, err := h.st.GetClient(r.Context(), uuid)
	switch {
	case uuid == "" || health.ErrorCode(err) == health.ENOTFOUND || (err == nil && len(c.SecretHash) == 0):
		secret.VerifyAPISecret(dummyHash, pass)
		h.limits.failed(uuid, addr, h.now())
		h.loginForm(w, r, http.StatusUnauthorized, "The client UUID or secret is incorrect.")
		return
	case err != nil:
		h.internal(w, r, "login: get client", err)
		return
	}
	if !secret.VerifyAPISecret(c.SecretHash, pass) {
		h.limits.failed(c.UUID, addr, h.now())
		h.loginForm(w, r, http.StatusUnauthorized, "The client UUID or secret is incorrect.")
		return
	}
	if err := h.setSession(r.Context(), w, c); err != nil {
		h.internal(w, r, "login: session", err)
		return
	}
	h.log.InfoContext(r.Context(), "dashboard sign-in", "client_uuid", c.UUID)
	http.Redirect(w, r, DashboardPath, http.StatusSeeOther)
}

// logout handles POST /dashboard/logout: the session's row is deleted, so
// every copy of the cookie stops working.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	_, s, err := h.session(r.Context(), r)
	if err != nil {
		h.internal(w, r, "dashboard session", err)
		return
	}
	if !h.checkSessionCSRF(w, r, s) {
		return
	}
	if err := h.st.DeleteSession(r.Context(), s.ID); err != nil {
		h.internal(w, r, "logout", err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: h.sessionCookieName(), Value: "", Path: h.sessionCookiePath(), MaxAge: -1, HttpOnly: true,
		Secure: h.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, DashboardPath, http.StatusSeeOther)
}
