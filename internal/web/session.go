package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"golang.org/x/time/rate"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// Dashboard sessions: a cookie "client_uuid.expires.nonce.mac" where the
// MAC, under the session key, also covers the hash of the client's secret,
// so rotating the secret ends every session.

const sessionCookie = "wearlink_session"

// dummyHash is checked against for an unknown client, so that it costs
// what a wrong secret costs.
var dummyHash = secret.HashAPISecret("wearlink: no such client")

func sessionMAC(key []byte, c store.Client, expires, nonce string) string {
	m := hmac.New(sha256.New, key)
	m.Write(secret.AD("wearlink dashboard session v1", c.UUID, expires, nonce, string(c.SecretHash)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// session returns the signed-in client, or nil when the request has no
// valid, unexpired session.
func (h *Handler) session(ctx context.Context, r *http.Request) (*store.Client, error) {
	ck, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, nil
	}
	parts := strings.Split(ck.Value, ".")
	if len(parts) != 4 {
		return nil, nil
	}
	uuidB, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return nil, nil
	}
	exp, err := strconv.ParseInt(parts[1], 10, 64)
	if err != nil || !h.now().Before(time.Unix(exp, 0)) {
		return nil, nil
	}
	c, err := h.st.GetClient(ctx, string(uuidB))
	if health.ErrorCode(err) == health.ENOTFOUND {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	key, err := h.key(ctx, "session")
	if err != nil {
		return nil, err
	}
	if len(c.SecretHash) == 0 || !hmac.Equal([]byte(parts[3]), []byte(sessionMAC(key, c, parts[1], parts[2]))) {
		return nil, nil
	}
	return &c, nil
}

func (h *Handler) setSession(ctx context.Context, w http.ResponseWriter, c store.Client) error {
	key, err := h.key(ctx, "session")
	if err != nil {
		return err
	}
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	nonce := base64.RawURLEncoding.EncodeToString(b)
	expires := strconv.FormatInt(h.now().Add(h.cfg.SessionTTL).Unix(), 10)
	val := base64.RawURLEncoding.EncodeToString([]byte(c.UUID)) + "." + expires + "." + nonce + "." + sessionMAC(key, c, expires, nonce)
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: val, Path: DashboardPath, MaxAge: int(h.cfg.SessionTTL / time.Second),
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	return nil
}

// signedIn returns the session's client, or shows the login form and
// returns nil.
func (h *Handler) signedIn(w http.ResponseWriter, r *http.Request) *store.Client {
	c, err := h.session(r.Context(), r)
	if err != nil {
		h.internal(w, r, "dashboard session", err)
		return nil
	}
	if c == nil {
		h.loginForm(w, r, http.StatusUnauthorized, "")
		return nil
	}
	return c
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
func (h *Handler) login(w http.ResponseWriter, r *http.Request) {
	if !h.checkCSRF(w, r) {
		return
	}
	uuid, pass := strings.TrimSpace(r.PostFormValue("client_uuid")), r.PostFormValue("secret")
	c, err := h.st.GetClient(r.Context(), uuid)
	switch {
	case uuid == "" || health.ErrorCode(err) == health.ENOTFOUND || (err == nil && len(c.SecretHash) == 0):
		secret.VerifyAPISecret(dummyHash, pass)
		h.loginForm(w, r, http.StatusUnauthorized, "The client UUID or secret is incorrect.")
		return
	case err != nil:
		h.internal(w, r, "login: get client", err)
		return
	}
	if !h.loginAllowed(c.UUID) {
		h.loginForm(w, r, http.StatusTooManyRequests, "Too many sign-in attempts for this client. Wait a minute and try again.")
		return
	}
	if !secret.VerifyAPISecret(c.SecretHash, pass) {
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

// logout handles POST /dashboard/logout.
func (h *Handler) logout(w http.ResponseWriter, r *http.Request) {
	if !h.checkCSRF(w, r) {
		return
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: DashboardPath, MaxAge: -1, HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	http.Redirect(w, r, DashboardPath, http.StatusSeeOther)
}

// Sign-in attempts per client: a burst of loginBurst, then one every
// loginEvery, so a secret cannot be guessed through the form faster than
// through the API. Only existing clients get a bucket.
const (
	loginBurst = 10
	loginEvery = 6 * time.Second
)

func (h *Handler) loginAllowed(clientUUID string) bool {
	h.loginMu.Lock()
	defer h.loginMu.Unlock()
	if h.logins == nil {
		h.logins = map[string]*rate.Limiter{}
	}
	l, ok := h.logins[clientUUID]
	if !ok {
		l = rate.NewLimiter(rate.Every(loginEvery), loginBurst)
		h.logins[clientUUID] = l
	}
	return l.AllowN(h.now(), 1)
}
