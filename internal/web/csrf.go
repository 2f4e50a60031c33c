package web

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
)

// CSRF protection: a random cookie (HttpOnly, SameSite=Lax) and, in every
// form, a token that is the cookie's HMAC under the csrf key. A POST is
// accepted only when the form's token matches the browser's cookie, which
// another site can neither read nor set.

const (
	csrfCookie = "wearlink_csrf"
	csrfField  = "csrf_token"
)

// csrfToken returns the token for the forms of this response, setting the
// cookie when the browser has none yet.
func (h *Handler) csrfToken(w http.ResponseWriter, r *http.Request) (string, error) {
	val := ""
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) >= 32 {
		val = c.Value
	} else {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		val = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: val, Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
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

// checkCSRF reports whether the POST carries the token of the browser's
// cookie; when not, it has answered 403.
func (h *Handler) checkCSRF(w http.ResponseWriter, r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
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
	h.message(w, http.StatusForbidden, "This form has expired",
		message{Text: "The form was not sent from this site's page, or the page was open too long.", Next: "Go back, reload the page and try again."})
	return false
}
