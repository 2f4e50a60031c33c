package web

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// CSRF protection. Every POST must come from this origin as the browser
// reports it (Sec-Fetch-Site, else Origin: net/http's
// CrossOriginProtection), and carry a token:
//   - signed in, the session's own token (session.go), kept in the
//     session's row: nothing an attacker can plant in the browser reveals
//     it;
//   - before signing in (the login form, the connections page), the HMAC
//     of a random pre-session cookie (HttpOnly, SameSite=Lax; over HTTPS
//     with the __Host- prefix, so that neither a sibling subdomain nor a
//     man in the middle on plain HTTP can set it).

const (
	csrfField = "csrf_token"
)

// csrfCookieName is the pre-session cookie's name.
func (h *Handler) csrfCookieName() string {
	if h.secure {
		return "__Host-wearlink_csrf"
	}
	return "wearlink_csrf"
}

// csrfToken returns the pre-session token for the forms of this
// response, setting the cookie when the browser has none yet.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) (string, error) {
	val := ""
	if c, err := r.Cookie(h.csrfCookieName()); err == nil && len(c.Value) >= 32 {
		val = c.Value
	} else {
		val = randomToken()
		http.SetCookie(w, &http.Cookie{Name: h.csrfCookieName(), Value: val, Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	}
	key, err := h.key(r.Context(), "csrf")
	if err != nil {
		return "", err
	}
	return csrfMAC(key, val), nil
}

func csrfMAC(key []byte, cookie string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(cookie))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// sameOrigin reports whether the browser says the request comes from this
// origin; when not, it has answered 403.
func (h *Handler) sameOrigin(w http.ResponseWriter, r *http.Request) bool {
	if err := h.origins.Check(r); err != nil {
		h.log.InfoContext(r.Context(), "cross-origin form refused", "path", r.URL.Path)
		h.formExpired(w)
		return false
	}
	return true
}

func (h *Handler) formExpired(w http.ResponseWriter) {
	h.message(w, http.StatusForbidden, "This form has expired",
		message{Text: "The form was not sent from this site's page, or the page was open too long.", Next: "Go back, reload the page and try again."})
}

// checkCSRF reports whether a POST made before signing in carries the
// token of the browser's pre-session cookie; when not, it has answered
// 403.
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	if !h.sameOrigin(w, r) {
		return false
	}
	c, err := r.Cookie(h.csrfCookieName())
	tok := r.PostFormValue(csrfField)
	if err == nil && tok != "" {
		key, kerr := h.key(r.Context(), "csrf")
		if kerr != nil {
			h.internal(w, r, "csrf key", kerr)
			return false
		}
		if hmac.Equal([]byte(tok), []byte(csrfMAC(key, c.Value))) {
			return true
		}
	}
	h.formExpired(w)
	return false
}
