package web

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/link"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// The connections page: {public}/connections/client_uuid/<c>/user_id/<u>
// ?redirect_url&expires&sig, where sig is an HMAC over the client, the
// user, redirect_url and expires under the page key. Only the client's
// backend can get one (ConnectionsPageURL, behind the API's
// authentication); a changed or expired link shows a 403 page.

const connectionsPattern = "/connections/client_uuid/{client_uuid}/user_id/{user_id}"

func pageMAC(key []byte, clientUUID, userID, redirectURL, expires string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(secret.AD("wearlink connections page v1", clientUUID, userID, redirectURL, expires))
	return m.Sum(nil)
}

func pagePath(clientUUID, userID string) string {
	return "/connections/client_uuid/" + url.PathEscape(clientUUID) + "/user_id/" + url.PathEscape(userID)
}

// ConnectionsPageURL returns a signed link to the user's connections page
// and when it expires. redirectURL (may be empty) is where the page's
// "Return to the app" goes; it follows the authorizer's rules.
func (h *Handler) ConnectionsPageURL(ctx context.Context, clientUUID, userID, redirectURL string) (string, time.Time, error) {
	if clientUUID == "" || !health.ValidUserID(userID) {
		return "", time.Time{}, health.Errorf(health.EINVALID, "user_id must be 1 to 50 letters, digits or hyphens")
	}
	if err := link.ValidateRedirectURL(redirectURL); err != nil {
		return "", time.Time{}, err
	}
	key, err := h.key(ctx, "connections page")
	if err != nil {
		return "", time.Time{}, err
	}
	exp := h.now().Add(h.cfg.PageTTL).Truncate(time.Second)
	expires := strconv.FormatInt(exp.Unix(), 10)
	q := url.Values{}
	if redirectURL != "" {
		q.Set("redirect_url", redirectURL)
	}
	q.Set("expires", expires)
	q.Set("sig", base64.RawURLEncoding.EncodeToString(pageMAC(key, clientUUID, userID, redirectURL, expires)))
	return h.public.String() + pagePath(clientUUID, userID) + "?" + q.Encode(), exp, nil
}

// pageLink is a verified connections page request.
type pageLink struct {
	ClientUUID, UserID, RedirectURL string
	// Query is the signed query, to keep on the page's own links.
	Query string
}

// verifyPage checks the signature and expiry; when they fail it has shown
// the 403 page.
func (h *Handler) verifyPage(w http.ResponseWriter, r *http.Request) (pageLink, bool) {
	q := r.URL.Query()
	p := pageLink{ClientUUID: r.PathValue("client_uuid"), UserID: r.PathValue("user_id"), RedirectURL: q.Get("redirect_url")}
	expires := q.Get("expires")
	key, err := h.key(r.Context(), "connections page")
	if err != nil {
		h.internal(w, r, "connections page key", err)
		return p, false
	}
	sig, err := base64.RawURLEncoding.DecodeString(q.Get("sig"))
	if err != nil || !hmac.Equal(sig, pageMAC(key, p.ClientUUID, p.UserID, p.RedirectURL, expires)) {
		h.message(w, http.StatusForbidden, "This link is not valid",
			message{Text: "The link to this page is incomplete or was changed.", Next: "Go back to the app and open your connections again."})
		return p, false
	}
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || !h.now().Before(time.Unix(exp, 0)) {
		h.message(w, http.StatusForbidden, "This link has expired",
			message{Text: "Links to this page work for a limited time.", Next: "Go back to the app and open your connections again.", Back: p.RedirectURL})
		return p, false
	}
	s := url.Values{}
	if p.RedirectURL != "" {
		s.Set("redirect_url", p.RedirectURL)
	}
	s.Set("expires", expires)
	s.Set("sig", q.Get("sig"))
	p.Query = s.Encode()
	return p, true
}

// dataSourceField names the data source in the Disconnect form.
const dataSourceField = "data_source"

// source is one data source as the page shows it.
type source struct {
	DataSource, Name, Description string
	Connected                     bool
	NeedsReconnect                bool
	// Paused, when set, tells the person what to do at the provider
	// (renew the membership, update the app). The grant still works, so
	// no Connect is offered.
	Paused string
	// Unavailable: this source cannot be linked on this server now.
	Unavailable      bool
	ConnectURL       string
	DisconnectAction string
}

type connectionsData struct {
	ClientName string
	UserID     string
	Sources    []source
	Back       string
	// Unavailable: no source can be linked, said once for the page.
	Unavailable bool
}

// connectionsPage handles GET connectionsPattern.
func (h *Handler) connectionsPage(w http.ResponseWriter, r *http.Request) {
	p, ok := h.verifyPage(w, r)
	if !ok {
		return
	}
	ctx := r.Context()
	c, err := h.st.GetClient(ctx, p.ClientUUID)
	if health.ErrorCode(err) == health.ENOTFOUND {
		h.message(w, http.StatusNotFound, "This app is no longer registered",
			message{Text: "The app that sent you here cannot connect accounts any more.", Next: "Contact the app's support."})
		return
	}
	if err != nil {
		h.internal(w, r, "connections page: get client", err)
		return
	}
	d := connectionsData{ClientName: c.Name, UserID: p.UserID, Back: p.RedirectURL, Unavailable: true}
	if d.ClientName == "" {
		d.ClientName = "The app"
	}
	for _, pv := range h.cfg.Providers {
		src := source{DataSource: pv.DataSource, Name: pv.Name, Description: pv.Description, Unavailable: pv.Linker == nil}
		conn, err := h.st.FindConnection(ctx, p.ClientUUID, p.UserID, pv.DataSource)
		switch {
		case err == nil:
			src.Connected = conn.Status == store.StatusActive
			src.NeedsReconnect = conn.Status == store.StatusReauthRequired
			src.Paused = pausedText(conn.Status, pv.Name)
		case health.ErrorCode(err) != health.ENOTFOUND:
			h.internal(w, r, "connections page: find connection", err)
			return
		}
		if pv.Linker != nil {
			d.Unavailable = false
			if !src.Connected && src.Paused == "" {
				src.ConnectURL, err = h.connectURL(ctx, pv.Linker, p)
				if err != nil {
					h.internal(w, r, "connections page: authorization url", err)
					return
				}
			}
			// One address for every source: the form names its
			// data source, so the action stays the address it
			// was before there were several.
			src.DisconnectAction = pagePath(p.ClientUUID, p.UserID) + "/disconnect?" + p.Query
		}
		d.Sources = append(d.Sources, src)
	}
	tok, err := h.csrfToken(w, r)
	if err != nil {
		h.internal(w, r, "csrf token", err)
		return
	}
	h.render(w, http.StatusOK, "connections", view{Title: "Connect your data sources", CSRF: tok, Data: d, Narrow: true})
}

// connectURL starts linking with a return to this page: linking sends the
// browser to {return}/client_uuid/<c>/user_id/<u>?<query> after success,
// and its error pages link to {return} itself; both land on back. When this
// server's address cannot be a redirect (plain http off loopback), the
// browser goes straight to the client's redirect_url instead.
func (h *Handler) connectURL(ctx context.Context, l Linker, p pageLink) (string, error) {
	back := h.public.String() + pagePath(p.ClientUUID, p.UserID) + "/back?" + p.Query
	u, err := l.AuthorizationURL(ctx, p.ClientUUID, p.UserID, back)
	if health.ErrorCode(err) == health.EINVALID {
		return l.AuthorizationURL(ctx, p.ClientUUID, p.UserID, p.RedirectURL)
	}
	return u, err
}

// disconnect handles the Disconnect form: it revokes the authorization of
// the form's data source and shows the page again.
func (h *Handler) disconnect(w http.ResponseWriter, r *http.Request) {
	p, ok := h.verifyPage(w, r)
	if !ok || !h.checkCSRF(w, r) {
		return
	}
	pv, ok := h.provider(r.PostFormValue(dataSourceField))
	if !ok {
		h.message(w, http.StatusBadRequest, "No such data source",
			message{Text: "This server does not offer the data source the form named.", Next: "Open your connections again and try once more.", Back: p.RedirectURL})
		return
	}
	if pv.Linker == nil {
		h.message(w, http.StatusServiceUnavailable, "Disconnecting is not available",
			message{Text: "This server cannot change " + pv.Name + " connections right now.", Back: p.RedirectURL})
		return
	}
	if _, err := pv.Linker.Revoke(r.Context(), p.ClientUUID, p.UserID); err != nil {
		h.internal(w, r, "connections page: revoke", err)
		return
	}
	http.Redirect(w, r, pagePath(p.ClientUUID, p.UserID)+"?"+p.Query, http.StatusSeeOther)
}

// back handles the return from linking: the page again, at its own
// address.
func (h *Handler) back(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, pagePath(r.PathValue("client_uuid"), r.PathValue("user_id"))+"?"+r.URL.RawQuery, http.StatusSeeOther)
}

// pausedText tells the person what ends a paused connection, "" for a
// status that is not a pause. Syncing resumes at the next probe, at most a
// day later.
func pausedText(status, provider string) string {
	switch status {
	case store.StatusSubscriptionRequired:
		return provider + " refuses to share your data, usually because your membership has lapsed. Renew it and syncing resumes within a day."
	case store.StatusAppUpdateRequired:
		return "Update the " + provider + " app on your phone; syncing resumes within a day."
	}
	return ""
}
