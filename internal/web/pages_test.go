package web_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil"
)

var csrfRe = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

func csrfOf(t *testing.T, p page) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf token in the page:\n%s", p.body)
	}
	return m[1]
}

var (
	inputRe = regexp.MustCompile(`<(input|select|textarea)\b[^>]*>`)
	idRe    = regexp.MustCompile(`\bid="([^"]+)"`)
	typeRe  = regexp.MustCompile(`\btype="([^"]+)"`)
)

// checkLabels fails unless every visible form control has an id named by
// a <label for>, and the page can be used on a phone.
func checkLabels(t *testing.T, name string, p page) {
	t.Helper()
	if !strings.Contains(p.body, `<meta name="viewport" content="width=device-width, initial-scale=1">`) {
		t.Errorf("%s: no viewport meta", name)
	}
	if !strings.Contains(p.body, `<html lang="en">`) {
		t.Errorf("%s: no page language", name)
	}
	for _, tag := range inputRe.FindAllString(p.body, -1) {
		if m := typeRe.FindStringSubmatch(tag); m != nil && m[1] == "hidden" {
			continue
		}
		id := idRe.FindStringSubmatch(tag)
		if id == nil {
			t.Errorf("%s: control without id: %s", name, tag)
			continue
		}
		if !strings.Contains(p.body, `<label for="`+id[1]+`">`) {
			t.Errorf("%s: control %s has no label", name, id[1])
		}
	}
}

// TestConnectionsPageLink: the API's link opens the page; any change to
// it, or its expiry, gives a 403 page.
func TestConnectionsPageLink(t *testing.T) {
	h := startHub(t)
	a := h.client("A")
	link := h.pageURL(a, "user-1", "http://127.0.0.1:9/back")
	b := browserClient(t)
	p := get(t, b, link)
	if p.status != 200 || !strings.Contains(p.body, "Not connected") || !strings.Contains(p.body, `href="`+h.url+`/connect/oura?`) ||
		!strings.Contains(p.body, `id="done" href="http://127.0.0.1:9/back"`) || !strings.Contains(p.body, "App A") {
		t.Fatalf("page: %d\n%s", p.status, p.body)
	}
	checkLabels(t, "connections", p)
	if p.header.Get("Cache-Control") != "no-store" || !strings.Contains(p.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Fatalf("headers %v", p.header)
	}
	u, _ := url.Parse(link)
	tamper := func(what string, f func(u *url.URL)) {
		v := *u
		f(&v)
		if p := get(t, b, v.String()); p.status != 403 || !strings.Contains(p.body, "This link is not valid") {
			t.Errorf("%s: %d\n%s", what, p.status, p.body)
		}
	}
	tamper("other user", func(u *url.URL) { u.Path = strings.Replace(u.Path, "user-1", "user-2", 1) })
	tamper("other client", func(u *url.URL) { u.Path = strings.Replace(u.Path, "client-a", "client-b", 1) })
	tamper("other redirect", func(u *url.URL) {
		q := u.Query()
		q.Set("redirect_url", "https://evil.example/")
		u.RawQuery = q.Encode()
	})
	tamper("later expiry", func(u *url.URL) {
		q := u.Query()
		q.Set("expires", "99999999999")
		u.RawQuery = q.Encode()
	})
	tamper("no signature", func(u *url.URL) {
		q := u.Query()
		q.Del("sig")
		u.RawQuery = q.Encode()
	})
	h.advance(61 * time.Minute)
	if p := get(t, b, link); p.status != 403 || !strings.Contains(p.body, "This link has expired") {
		t.Fatalf("expired: %d\n%s", p.status, p.body)
	}
}

// TestDisconnectNeedsCSRF: the Disconnect form is refused without the
// token of the browser's cookie.
func TestDisconnectNeedsCSRF(t *testing.T) {
	h := startHub(t)
	a := h.client("A")
	if _, err := h.st.UpsertUser(h.ctx, store.User{ClientUUID: a.uuid, UserID: "user-1"}); err != nil {
		t.Fatal(err)
	}
	// A connection that needs a new consent: the sync engine leaves it
	// alone, and the page offers both Reconnect and Disconnect.
	if _, err := h.st.CreateConnection(h.ctx, store.Connection{ClientUUID: a.uuid, UserID: "user-1", DataSource: "oura",
		Status: store.StatusReauthRequired, Tokens: store.Tokens{AccessToken: "a", RefreshToken: "r"}}); err != nil {
		t.Fatal(err)
	}
	link := h.pageURL(a, "user-1", "")
	u, _ := url.Parse(link)
	action := h.url + u.Path + "/disconnect?" + u.RawQuery
	b := browserClient(t)
	if p := post(t, b, action, nil); p.status != 403 || !strings.Contains(p.body, "This form has expired") {
		t.Fatalf("without token: %d %s", p.status, p.body)
	}
	pg := get(t, b, link)
	tok := csrfOf(t, pg)
	// The form names the data source it disconnects.
	if !strings.Contains(pg.body, `<input type="hidden" name="data_source" value="oura">`) {
		t.Fatalf("the Disconnect form does not name Oura:\n%s", pg.body)
	}
	if p := post(t, browserClient(t), action, url.Values{"csrf_token": {tok}, "data_source": {"oura"}}); p.status != 403 {
		t.Fatalf("token without its cookie: %d", p.status)
	}
	if p := post(t, b, action, url.Values{"csrf_token": {tok + "x"}, "data_source": {"oura"}}); p.status != 403 {
		t.Fatalf("wrong token: %d", p.status)
	}
	p := post(t, b, action, url.Values{"csrf_token": {tok}, "data_source": {"oura"}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != u.Path+"?"+u.RawQuery {
		t.Fatalf("with token: %d %v", p.status, p.header)
	}
	if p := get(t, b, link); !strings.Contains(p.body, "Not connected") {
		t.Fatalf("after disconnecting: %s", p.body)
	}
	tampered := strings.Replace(action, "user-1", "user-2", 1)
	if p := post(t, b, tampered, url.Values{"csrf_token": {tok}, "data_source": {"oura"}}); p.status != 403 {
		t.Fatalf("tampered action: %d", p.status)
	}
}

// login signs in and returns the browser with its session.
func login(t *testing.T, h *hub, c creds) *http.Client {
	t.Helper()
	b := browserClient(t)
	form := get(t, b, h.url+"/dashboard")
	p := post(t, b, h.url+"/dashboard/login", url.Values{"csrf_token": {csrfOf(t, form)}, "client_uuid": {c.uuid}, "secret": {c.secret}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", p.status, p.body)
	}
	return b
}

// TestDashboardLogin: the login form, wrong credentials, CSRF, the
// session cookie's flags, expiry and sign-out.
func TestDashboardLogin(t *testing.T) {
	h := startHub(t)
	a := h.client("A")
	b := browserClient(t)
	form := get(t, b, h.url+"/dashboard")
	if form.status != 401 || !strings.Contains(form.body, "Sign in to the dashboard") {
		t.Fatalf("form: %d %s", form.status, form.body)
	}
	checkLabels(t, "login", form)
	if p := get(t, b, h.url+"/dashboard/"); p.status != http.StatusMovedPermanently || p.header.Get("Location") != "/dashboard" {
		t.Fatalf("/dashboard/: %d %v", p.status, p.header)
	}
	tok := csrfOf(t, form)
	for name, f := range map[string]url.Values{
		"wrong secret":   {"csrf_token": {tok}, "client_uuid": {a.uuid}, "secret": {"nope"}},
		"unknown client": {"csrf_token": {tok}, "client_uuid": {"client-x"}, "secret": {a.secret}},
	} {
		if p := post(t, b, h.url+"/dashboard/login", f); p.status != 401 || !strings.Contains(p.body, "incorrect") {
			t.Fatalf("%s: %d %s", name, p.status, p.body)
		}
	}
	// Guessing: after a burst of attempts the form refuses for a while,
	// the right secret too.
	c := h.client("C")
	limited := 0
	for range 12 {
		if p := post(t, b, h.url+"/dashboard/login", url.Values{"csrf_token": {tok}, "client_uuid": {c.uuid}, "secret": {"guess"}}); p.status == http.StatusTooManyRequests {
			limited++
		}
	}
	if p := post(t, b, h.url+"/dashboard/login", url.Values{"csrf_token": {tok}, "client_uuid": {c.uuid}, "secret": {c.secret}}); limited == 0 || p.status != http.StatusTooManyRequests {
		t.Fatalf("guessing: %d limited, then %d", limited, p.status)
	}
	if p := post(t, b, h.url+"/dashboard/login", url.Values{"client_uuid": {a.uuid}, "secret": {a.secret}}); p.status != 403 {
		t.Fatalf("login without csrf token: %d", p.status)
	}
	p := post(t, b, h.url+"/dashboard/login", url.Values{"csrf_token": {tok}, "client_uuid": {a.uuid}, "secret": {a.secret}})
	if p.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", p.status, p.body)
	}
	var sc *http.Cookie
	for _, c := range (&http.Response{Header: p.header}).Cookies() {
		if c.Name == "wearlink_session" {
			sc = c
		}
	}
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.MaxAge <= 0 || sc.Path != "/dashboard" {
		t.Fatalf("session cookie %+v", sc)
	}
	home := get(t, b, h.url+"/dashboard")
	if home.status != 200 || !strings.Contains(home.body, "<h1>Users</h1>") || !strings.Contains(home.body, "App A") {
		t.Fatalf("home: %d %s", home.status, home.body)
	}
	// A forged cookie: a token the server never issued.
	forged := browserClient(t)
	u, _ := url.Parse(h.url + "/dashboard")
	forged.Jar.SetCookies(u, []*http.Cookie{{Name: "wearlink_session", Value: strings.Repeat("A", len(sc.Value))}})
	h.client("B")
	if p := get(t, forged, h.url+"/dashboard"); p.status != 401 {
		t.Fatalf("forged session: %d", p.status)
	}
	if p := post(t, b, h.url+"/dashboard/logout", nil); p.status != 403 {
		t.Fatalf("logout without csrf: %d", p.status)
	}
	h.advance(9 * time.Hour)
	if p := get(t, b, h.url+"/dashboard"); p.status != 401 || !strings.Contains(p.body, "Sign in") {
		t.Fatalf("after the session expired: %d", p.status)
	}
	// A new secret ends the sessions signed in with the old one.
	b = login(t, h, a)
	cl, err := h.st.GetClient(h.ctx, a.uuid)
	if err != nil {
		t.Fatal(err)
	}
	a.secret += "-rotated"
	cl.SecretHash = secret.HashAPISecret(a.secret)
	if err := h.st.UpdateClient(h.ctx, cl); err != nil {
		t.Fatal(err)
	}
	if p := get(t, b, h.url+"/dashboard"); p.status != 401 {
		t.Fatalf("after rotating the secret: %d", p.status)
	}
	b = login(t, h, a)
	if p := post(t, b, h.url+"/dashboard/logout", url.Values{"csrf_token": {csrfOf(t, get(t, b, h.url+"/dashboard"))}}); p.status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.status)
	}
	if p := get(t, b, h.url+"/dashboard"); p.status != 401 {
		t.Fatalf("after logout: %d", p.status)
	}
}

// TestDashboardTenants: a client sees its own users only, and replays
// only its own deliveries; every POST needs the CSRF token.
func TestDashboardTenants(t *testing.T) {
	h := startHub(t)
	a, bc := h.client("A"), h.client("B")
	if _, err := h.st.UpsertUser(h.ctx, store.User{ClientUUID: a.uuid, UserID: "alice"}); err != nil {
		t.Fatal(err)
	}
	sa, sb := login(t, h, a), login(t, h, bc)
	if p := get(t, sa, h.url+"/dashboard"); !strings.Contains(p.body, `href="/dashboard/users/alice"`) {
		t.Fatalf("A's users: %s", p.body)
	}
	if p := get(t, sb, h.url+"/dashboard"); strings.Contains(p.body, "alice") {
		t.Fatalf("B sees A's user: %s", p.body)
	}
	pa := get(t, sa, h.url+"/dashboard/users/alice")
	if pa.status != 200 || !strings.Contains(pa.body, `id="hypnogram"`) || !strings.Contains(pa.body, "No sleep phases") {
		t.Fatalf("A's user page: %d %s", pa.status, pa.body)
	}
	checkLabels(t, "user", pa)
	if p := get(t, sb, h.url+"/dashboard/users/alice"); p.status != 404 || strings.Contains(p.body, "hypnogram") {
		t.Fatalf("B opens A's user: %d", p.status)
	}
	dp := get(t, sb, h.url+"/dashboard/deliveries")
	if dp.status != 200 || !strings.Contains(dp.body, "No dead letters") {
		t.Fatalf("deliveries: %d %s", dp.status, dp.body)
	}
	tok := csrfOf(t, dp)
	if p := post(t, sb, h.url+"/dashboard/deliveries/1/replay", nil); p.status != 403 {
		t.Fatalf("replay without csrf: %d", p.status)
	}
	if p := post(t, sb, h.url+"/dashboard/deliveries/1/replay", url.Values{"csrf_token": {tok}}); p.status != 404 {
		t.Fatalf("replay of an unknown delivery: %d %s", p.status, p.body)
	}
	if p := post(t, sb, h.url+"/dashboard/deliveries/x1/replay", url.Values{"csrf_token": {tok}}); p.status != 404 {
		t.Fatalf("replay of a malformed id: %d %s", p.status, p.body)
	}
	if p := post(t, browserClient(t), h.url+"/dashboard/deliveries/1/replay", url.Values{"csrf_token": {tok}}); p.status != 401 {
		t.Fatalf("replay without a session: %d", p.status)
	}
}

// TestDashboardReplay: a dead letter is listed with a Replay button; only
// its client can replay it, and the replay delivers it.
func TestDashboardReplay(t *testing.T) {
	var got atomic.Int32
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusNoContent)
	}))
	defer recv.Close()
	h := startHub(t)
	a, b := h.client("A"), h.client("B")
	id := h.deadLetter(a, recv.URL+"/hooks")
	ids := strconv.FormatInt(id, 10)
	sa, sb := login(t, h, a), login(t, h, b)
	pa := get(t, sa, h.url+"/dashboard/deliveries")
	if pa.status != 200 || !strings.Contains(pa.body, `action="/dashboard/deliveries/`+ids+`/replay"`) || !strings.Contains(pa.body, "user.created") {
		t.Fatalf("A's deliveries: %d %s", pa.status, pa.body)
	}
	pb := get(t, sb, h.url+"/dashboard/deliveries")
	if strings.Contains(pb.body, "/deliveries/"+ids+"/replay") {
		t.Fatalf("B sees A's dead letter")
	}
	if p := post(t, sb, h.url+"/dashboard/deliveries/"+ids+"/replay", url.Values{"csrf_token": {csrfOf(t, pb)}}); p.status != 404 {
		t.Fatalf("B replays A's delivery: %d", p.status)
	}
	if p := post(t, sa, h.url+"/dashboard/deliveries/"+ids+"/replay", url.Values{"csrf_token": {"forged"}}); p.status != 403 {
		t.Fatalf("replay with a forged token: %d", p.status)
	}
	p := post(t, sa, h.url+"/dashboard/deliveries/"+ids+"/replay", url.Values{"csrf_token": {csrfOf(t, pa)}})
	if p.status != http.StatusSeeOther || p.header.Get("Location") != "/dashboard/deliveries?replayed="+ids {
		t.Fatalf("replay: %d %v", p.status, p.header)
	}
	ds := h.st
	testutil.WaitFor(t, 5*time.Minute, "the replayed delivery", func() bool {
		d, err := ds.GetDelivery(h.ctx, id)
		return err == nil && d.Status == store.DeliverySucceeded
	})
	if got.Load() == 0 {
		t.Fatal("the receiver got nothing")
	}
	if p := get(t, sa, h.url+"/dashboard/deliveries?replayed="+ids); !strings.Contains(p.body, "is queued to be sent again") || !strings.Contains(p.body, "No dead letters") {
		t.Fatalf("after the replay: %s", p.body)
	}
}

// TestDashboardDestinations: the deliveries page lists the client's
// webhook endpoints and destinations with their status, never their
// secrets, and never another client's.
func TestDashboardDestinations(t *testing.T) {
	h := startHub(t)
	a, b := h.client("A"), h.client("B")
	svc := h.a.Delivery()
	paused, err := svc.AddDestination(h.ctx, delivery.DestinationInput{ClientUUID: a.uuid, Kind: "s3", Paused: true,
		Settings:       json.RawMessage(`{"endpoint":"http://127.0.0.1:9","bucket":"health-lake","path_style":true,"access_key_id":"AKIDDASH","secret_access_key":"dash-secret-value"}`),
		DataStructures: []string{"sleep_summary"}})
	if err != nil {
		t.Fatal(err)
	}
	pg, err := svc.AddDestination(h.ctx, delivery.DestinationInput{ClientUUID: a.uuid, Kind: "postgres", Paused: true,
		Settings: json.RawMessage(`{"dsn":"postgres://lake:pg-dash-password@127.0.0.1:9/analytics"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.SetPaused(h.ctx, a.uuid, pg.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, err := h.st.SetEndpointEnabled(h.ctx, pg.ID, false, "every attempt failed since yesterday", h.now()); err != nil {
		t.Fatal(err)
	}
	// A dead letter of the destination names it.
	ids, err := h.st.AddMessage(h.ctx, store.WebhookMessage{ClientUUID: a.uuid, Kind: store.MessageLifecycle, EventType: "user.created",
		Body: []byte(`{}`)}, []string{paused.ID}, h.now())
	if err != nil || len(ids) != 1 {
		t.Fatalf("add message: %v %v", ids, err)
	}
	if _, err := h.st.KillDelivery(h.ctx, ids[0], "s3 put object: SignatureDoesNotMatch", h.now()); err != nil {
		t.Fatal(err)
	}
	sa, sb := login(t, h, a), login(t, h, b)
	p := get(t, sa, h.url+"/dashboard/deliveries")
	if p.status != 200 {
		t.Fatalf("deliveries: %d %s", p.status, p.body)
	}
	for _, want := range []string{"<td>" + paused.ID + "</td>", "SignatureDoesNotMatch", `id="targets"`, paused.ID, "s3://health-lake/", "sleep_summary", "paused", "documents wait until it is resumed",
		pg.ID, "postgres", "<strong>disabled</strong>", "every attempt failed since yesterday"} {
		if !strings.Contains(p.body, want) {
			t.Errorf("A's deliveries page does not show %q", want)
		}
	}
	for _, secret := range []string{"dash-secret-value", "pg-dash-password"} {
		if strings.Contains(p.body, secret) {
			t.Errorf("the page shows the secret %q", secret)
		}
	}
	checkLabels(t, "deliveries", p)
	if p := get(t, sb, h.url+"/dashboard/deliveries"); strings.Contains(p.body, paused.ID) || strings.Contains(p.body, `id="targets"`) {
		t.Fatalf("B sees A's destinations")
	}
}
