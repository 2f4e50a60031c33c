package web_test

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
	"time"
)

// browserFrom is a browser whose connections come from a loopback
// address other than 127.0.0.1 (Linux routes all of 127/8 to lo).
func browserFrom(t *testing.T, ip string) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	tr := &http.Transport{DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		return d.DialContext(ctx, network, addr)
	}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Jar: jar, Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func cookieOf(t *testing.T, c *http.Client, target, name string) *http.Cookie {
	t.Helper()
	u, _ := url.Parse(target)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == name {
			return ck
		}
	}
	t.Fatalf("no cookie %s for %s", name, target)
	return nil
}

// postWith posts a form with extra headers (what a browser adds).
func postWith(t *testing.T, c *http.Client, target string, form url.Values, hdr map[string]string) page {
	t.Helper()
	req, err := http.NewRequest("POST", target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return read(t, resp)
}

// TestLogoutEndsCopiedSession: signing out ends the session on the
// server, so a copy of the cookie taken before stops working at once.
func TestLogoutEndsCopiedSession(t *testing.T) {
	h := startHub(t)
	a := h.client("A")
	b := login(t, h, a)
	copied := browserClient(t)
	u, _ := url.Parse(h.url + "/dashboard")
	copied.Jar.SetCookies(u, []*http.Cookie{{Name: "wearlink_session", Value: cookieOf(t, b, h.url+"/dashboard", "wearlink_session").Value}})
	if p := get(t, copied, h.url+"/dashboard"); p.status != 200 {
		t.Fatalf("copied cookie before logout: %d", p.status)
	}
	if p := post(t, b, h.url+"/dashboard/logout", url.Values{"csrf_token": {csrfOf(t, get(t, b, h.url+"/dashboard"))}}); p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	if p := get(t, copied, h.url+"/dashboard"); p.status != 401 {
		t.Fatalf("copied cookie after logout: %d, want 401", p.status)
	}
}

// TestLoginCSRF: an attacker who planted their own pre-session cookie in
// the victim's browser (and so knows the matching form token) can neither
// sign the victim in to the attacker's account from another site nor
// post the victim's signed-in forms.
func TestLoginCSRF(t *testing.T) {
	h := startHub(t)
	attacker, victimCreds := h.client("Attacker"), h.client("Victim")
	// The attacker's own visit gives a cookie and its token.
	ab := browserClient(t)
	tok := csrfOf(t, get(t, ab, h.url+"/dashboard"))
	planted := cookieOf(t, ab, h.url+"/dashboard", "wearlink_csrf")
	victim := browserClient(t)
	u, _ := url.Parse(h.url + "/")
	victim.Jar.SetCookies(u, []*http.Cookie{{Name: "wearlink_csrf", Value: planted.Value, Path: "/"}})

	form := url.Values{"csrf_token": {tok}, "client_uuid": {attacker.uuid}, "secret": {attacker.secret}}
	for name, hdr := range map[string]map[string]string{
		"cross-site": {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
		"same-site":  {"Sec-Fetch-Site": "same-site", "Origin": "https://evil." + u.Hostname()},
		"origin":     {"Origin": "https://evil.example"},
	} {
		p := postWith(t, victim, h.url+"/dashboard/login", form, hdr)
		if p.status != http.StatusForbidden || p.header.Get("Set-Cookie") != "" && strings.Contains(p.header.Get("Set-Cookie"), "wearlink_session=") {
			t.Fatalf("%s login with a planted cookie: %d %v", name, p.status, p.header)
		}
	}
	if p := get(t, victim, h.url+"/dashboard"); p.status != 401 {
		t.Fatalf("the victim was signed in: %d", p.status)
	}

	// Signed in, the forms take the session's token: the planted cookie's
	// token is refused even from a browser that sends no origin headers.
	vb := login(t, h, victimCreds)
	vb.Jar.SetCookies(u, []*http.Cookie{{Name: "wearlink_csrf", Value: planted.Value, Path: "/"}})
	if p := post(t, vb, h.url+"/dashboard/logout", url.Values{"csrf_token": {tok}}); p.status != http.StatusForbidden {
		t.Fatalf("logout with the planted cookie's token: %d", p.status)
	}
	if p := get(t, vb, h.url+"/dashboard"); p.status != 200 {
		t.Fatalf("the victim's session ended: %d", p.status)
	}
	// A same-origin form still works.
	p := postWith(t, vb, h.url+"/dashboard/logout", url.Values{"csrf_token": {csrfOf(t, get(t, vb, h.url+"/dashboard"))}},
		map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": h.url})
	if p.status != http.StatusSeeOther {
		t.Fatalf("same-origin logout: %d", p.status)
	}
}

// TestLoginLimitByAddress: failed sign-ins from another address never
// lock the owner out; the owner's own failures hold back only the
// owner's address, and only for a while.
func TestLoginLimitByAddress(t *testing.T) {
	h := startHub(t)
	// The buckets refill with the clock: stopped, the counts below hold
	// however slowly the requests run.
	h.freeze()
	a := h.client("A")
	attacker := browserFrom(t, "127.0.0.2")
	tok := csrfOf(t, get(t, attacker, h.url+"/dashboard"))
	limited := 0
	for range 40 {
		p := post(t, attacker, h.url+"/dashboard/login", url.Values{"csrf_token": {tok}, "client_uuid": {a.uuid}, "secret": {"guess"}})
		if p.status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited == 0 {
		t.Fatal("40 wrong secrets in a row were never limited")
	}
	owner := browserFrom(t, "127.0.0.1")
	otok := csrfOf(t, get(t, owner, h.url+"/dashboard"))
	if p := post(t, owner, h.url+"/dashboard/login", url.Values{"csrf_token": {otok}, "client_uuid": {a.uuid}, "secret": {a.secret}}); p.status != http.StatusSeeOther {
		t.Fatalf("the owner was locked out by another address: %d", p.status)
	}

	// The owner's own typos, from a third address.
	typo := browserFrom(t, "127.0.0.3")
	ttok := csrfOf(t, get(t, typo, h.url+"/dashboard"))
	try := func(sec string) int {
		return post(t, typo, h.url+"/dashboard/login", url.Values{"csrf_token": {ttok}, "client_uuid": {a.uuid}, "secret": {sec}}).status
	}
	for range 15 {
		try("typo")
	}
	if s := try(a.secret); s != http.StatusTooManyRequests {
		t.Fatalf("after 15 failures: %d, want 429", s)
	}
	h.advance(time.Minute)
	if s := try(a.secret); s != http.StatusSeeOther {
		t.Fatalf("a minute later: %d, want 303", s)
	}
}
