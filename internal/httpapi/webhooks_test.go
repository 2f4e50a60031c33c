package httpapi

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/wearlink/wearlink/internal/delivery"
	"github.com/wearlink/wearlink/internal/store"
)

// hook is an httptest receiver of webhooks that answers with status and
// keeps what it got.
type hook struct {
	*httptest.Server
	status atomic.Int32
	mu     gosync.Mutex
	got    []hookHit
}

type hookHit struct {
	header http.Header
	body   []byte
}

func newHook(t *testing.T, status int) *hook {
	h := &hook{}
	h.status.Store(int32(status))
	h.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		h.got = append(h.got, hookHit{r.Header.Clone(), b})
		h.mu.Unlock()
		w.WriteHeader(int(h.status.Load()))
		_, _ = io.WriteString(w, "answer "+http.StatusText(int(h.status.Load())))
	}))
	t.Cleanup(h.Close)
	return h
}

func (h *hook) hits() []hookHit {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hookHit(nil), h.got...)
}

// verifies reports whether a hit is signed with secret (whatever its
// timestamp: tests move the clock).
func (h hookHit) verifies(t *testing.T, secret string) bool {
	t.Helper()
	wh, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	return wh.VerifyIgnoringTimestamp(h.body, h.header) == nil
}

// decode reads a response body into v, failing the test on a wrong status.
func decode[T any](t *testing.T, r resp, status int) T {
	t.Helper()
	var v T
	if r.status != status {
		t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("%v: %s", err, r.body)
	}
	return v
}

// addWebhook creates an endpoint through the API.
func (e *env) addWebhook(c creds, body string) delivery.EndpointWithSecret {
	e.t.Helper()
	return decode[delivery.EndpointWithSecret](e.t, e.do(&c, "POST", webhooksPath, body), http.StatusCreated)
}

// TestWebhookLifecycle: an endpoint is created with a whsec_ secret shown
// once, read without it, changed, disabled and enabled, rotated (both
// secrets sign during the grace period), tested with a signed POST, and
// removed.
func TestWebhookLifecycle(t *testing.T) {
	e := newEnv(t, envOptions{webhooks: true})
	a := e.newClient("A")
	rcv := newHook(t, http.StatusOK)

	r := e.do(&a, "POST", webhooksPath, `{"url":"`+rcv.URL+`/data","data_structures":["sleep_summary"]}`)
	created := decode[delivery.EndpointWithSecret](t, r, http.StatusCreated)
	if !strings.HasPrefix(created.Secret, "whsec_") || !strings.HasPrefix(created.ID, "ep_") || created.Kind != store.EndpointData ||
		!created.Enabled || created.ClientUUID != a.uuid || len(created.DataStructures) != 1 || created.PreviousSecretExpiresAt != nil {
		t.Fatalf("created %s", r.body)
	}
	if loc := r.header.Get("Location"); loc != webhooksPath+"/"+created.ID {
		t.Fatalf("Location %q", loc)
	}
	noSecret := func(r resp) {
		t.Helper()
		if strings.Contains(string(r.body), "whsec_") || strings.Contains(string(r.body), `"secret"`) {
			t.Fatalf("a secret is shown: %s", r.body)
		}
	}

	r = e.do(&a, "GET", webhooksPath, "")
	noSecret(r)
	if l := decode[webhookList](t, r, 200); len(l.Webhooks) != 1 || l.Webhooks[0].ID != created.ID {
		t.Fatalf("list %s", r.body)
	}
	r = e.do(&a, "GET", webhooksPath+"/"+created.ID, "")
	noSecret(r)
	if g := decode[delivery.Endpoint](t, r, 200); g.URL != rcv.URL+"/data" || g.DataStructures[0] != "sleep_summary" {
		t.Fatalf("get %s", r.body)
	}

	patches := []struct {
		name, body string
		check      func(delivery.Endpoint) bool
	}{
		{"url and filter", `{"url":"` + rcv.URL + `/v2","data_structures":[]}`, func(g delivery.Endpoint) bool {
			return g.URL == rcv.URL+"/v2" && len(g.DataStructures) == 0 && g.Enabled
		}},
		{"disable", `{"enabled":false}`, func(g delivery.Endpoint) bool {
			return !g.Enabled && g.DisabledReason != "" && g.URL == rcv.URL+"/v2"
		}},
		{"enable", `{"enabled":true}`, func(g delivery.Endpoint) bool { return g.Enabled && g.DisabledReason == "" }},
		{"all at once", `{"url":"` + rcv.URL + `/v3","data_structures":["body_summary","sleep_summary"],"enabled":false}`, func(g delivery.Endpoint) bool {
			return g.URL == rcv.URL+"/v3" && len(g.DataStructures) == 2 && !g.Enabled
		}},
		{"enable again", `{"enabled":true}`, func(g delivery.Endpoint) bool { return g.Enabled }},
	}
	for _, p := range patches {
		r := e.do(&a, "PATCH", webhooksPath+"/"+created.ID, p.body)
		noSecret(r)
		if g := decode[delivery.Endpoint](t, r, 200); !p.check(g) {
			t.Fatalf("%s: %s", p.name, r.body)
		}
		if g := decode[delivery.Endpoint](t, e.do(&a, "GET", webhooksPath+"/"+created.ID, ""), 200); !p.check(g) {
			t.Fatalf("%s, read back: %+v", p.name, g)
		}
	}

	r = e.do(&a, "POST", webhooksPath+"/"+created.ID+"/rotate_secret", "")
	rotated := decode[delivery.EndpointWithSecret](t, r, 200)
	if !strings.HasPrefix(rotated.Secret, "whsec_") || rotated.Secret == created.Secret || rotated.PreviousSecretExpiresAt == nil ||
		!rotated.PreviousSecretExpiresAt.After(e.clock.Now()) {
		t.Fatalf("rotated %s", r.body)
	}
	r = e.do(&a, "GET", webhooksPath+"/"+created.ID, "")
	noSecret(r)
	if g := decode[delivery.Endpoint](t, r, 200); g.PreviousSecretExpiresAt == nil {
		t.Fatalf("no grace period after rotating: %s", r.body)
	}

	r = e.do(&a, "POST", webhooksPath+"/"+created.ID+"/test", "")
	res := decode[delivery.TestResult](t, r, 200)
	hits := rcv.hits()
	if !res.Succeeded || res.StatusCode != 200 || res.Response != "answer OK" || len(hits) != 1 {
		t.Fatalf("test %s, %d hits", r.body, len(hits))
	}
	if h := hits[0]; !h.verifies(t, rotated.Secret) || !h.verifies(t, created.Secret) || h.header.Get("webhook-id") != res.WebhookID {
		t.Fatalf("the test POST is not signed with both secrets: %v", h.header)
	}
	if !strings.Contains(string(hits[0].body), `"webhook.test"`) {
		t.Fatalf("test body %s", hits[0].body)
	}
	// Past the grace period only the new secret signs.
	e.clock.Advance(25 * time.Hour)
	if g := decode[delivery.Endpoint](t, e.do(&a, "GET", webhooksPath+"/"+created.ID, ""), 200); g.PreviousSecretExpiresAt != nil {
		t.Fatalf("grace period still shown: %+v", g)
	}
	decode[delivery.TestResult](t, e.do(&a, "POST", webhooksPath+"/"+created.ID+"/test", ""), 200)
	if h := rcv.hits()[1]; !h.verifies(t, rotated.Secret) || h.verifies(t, created.Secret) {
		t.Fatalf("after the grace period: %v", h.header)
	}

	if r := e.do(&a, "DELETE", webhooksPath+"/"+created.ID, ""); r.status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
	for _, rq := range []struct{ method, target string }{
		{"GET", webhooksPath + "/" + created.ID},
		{"DELETE", webhooksPath + "/" + created.ID},
		{"GET", deliveriesPath + "/" + itoa(res.DeliveryID)},
	} {
		if r := e.do(&a, rq.method, rq.target, ""); r.status != 404 || !strings.Contains(r.json(t)["message"].(string), "not found") {
			t.Fatalf("%s %s after delete: %d %s", rq.method, rq.target, r.status, r.body)
		}
	}
	if l := decode[webhookList](t, e.do(&a, "GET", webhooksPath, ""), 200); len(l.Webhooks) != 0 {
		t.Fatalf("list after delete: %+v", l)
	}
	// A notification endpoint, created disabled.
	n := e.addWebhook(a, `{"url":"`+rcv.URL+`/notify","kind":"notification","enabled":false}`)
	if n.Kind != store.EndpointNotification || n.Enabled || !strings.HasPrefix(n.Secret, "whsec_") {
		t.Fatalf("notification endpoint %+v", n)
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// TestWebhookTenantIsolation: client B can neither see nor change, test or
// remove client A's endpoints and deliveries: each is a 404, and A's
// endpoint is as it was.
func TestWebhookTenantIsolation(t *testing.T) {
	e := newEnv(t, envOptions{webhooks: true})
	a, b := e.newClient("A"), e.newClient("B")
	rcv := newHook(t, http.StatusOK)
	ep := e.addWebhook(a, `{"url":"`+rcv.URL+`"}`)
	res := decode[delivery.TestResult](t, e.do(&a, "POST", webhooksPath+"/"+ep.ID+"/test", ""), 200)
	before := e.do(&a, "GET", webhooksPath+"/"+ep.ID, "").body
	mine := e.addWebhook(b, `{"url":"`+rcv.URL+`/b"}`)

	for _, rq := range []struct{ method, target, body string }{
		{"GET", webhooksPath + "/" + ep.ID, ""},
		{"PATCH", webhooksPath + "/" + ep.ID, `{"enabled":false}`},
		{"PATCH", webhooksPath + "/" + ep.ID, `{"url":"` + rcv.URL + `/stolen"}`},
		{"POST", webhooksPath + "/" + ep.ID + "/rotate_secret", ""},
		{"POST", webhooksPath + "/" + ep.ID + "/test", ""},
		{"DELETE", webhooksPath + "/" + ep.ID, ""},
		{"GET", deliveriesPath + "/" + itoa(res.DeliveryID), ""},
	} {
		t.Run(rq.method+" "+rq.target, func(t *testing.T) {
			r := e.do(&b, rq.method, rq.target, rq.body)
			if r.status != 404 || r.json(t)["message"] == "" || strings.Contains(string(r.body), a.uuid) {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
	}
	for _, target := range []string{webhooksPath, deliveriesPath, deliveriesPath + "?endpoint=" + ep.ID, deliveriesPath + "?status=succeeded"} {
		r := e.do(&b, "GET", target, "")
		if r.status != 200 || strings.Contains(string(r.body), ep.ID) || strings.Contains(string(r.body), a.uuid) {
			t.Fatalf("B's %s shows A's: %s", target, r.body)
		}
	}
	if l := decode[webhookList](t, e.do(&b, "GET", webhooksPath, ""), 200); len(l.Webhooks) != 1 || l.Webhooks[0].ID != mine.ID {
		t.Fatalf("B's list: %+v", l)
	}
	if after := e.do(&a, "GET", webhooksPath+"/"+ep.ID, "").body; string(after) != string(before) {
		t.Fatalf("B changed A's endpoint:\n%s\n%s", before, after)
	}
	if n := len(rcv.hits()); n != 1 {
		t.Fatalf("B's test reached A's receiver: %d hits", n)
	}
	if l := decode[deliveryList](t, e.do(&a, "GET", deliveriesPath, ""), 200); len(l.Deliveries) != 1 || l.Deliveries[0].ID != res.DeliveryID {
		t.Fatalf("A's deliveries: %+v", l)
	}
}

// TestDeliveries: a receiver that always fails leaves dead letters, which
// status=dead lists with their attempts; the filters and pages select
// what they say.
func TestDeliveries(t *testing.T) {
	e := newEnv(t, envOptions{webhooks: true})
	a := e.newClient("A")
	failing := newHook(t, http.StatusInternalServerError)
	ok := newHook(t, http.StatusNoContent)
	bad := e.addWebhook(a, `{"url":"`+failing.URL+`"}`)
	good := e.addWebhook(a, `{"url":"`+ok.URL+`"}`)
	notify := e.addWebhook(a, `{"url":"`+ok.URL+`/notify","kind":"notification"}`)

	// A failed test delivery is dead at once; a succeeded one is not.
	res := decode[delivery.TestResult](t, e.do(&a, "POST", webhooksPath+"/"+bad.ID+"/test", ""), 200)
	if res.Succeeded || res.StatusCode != 500 || res.ErrorClass != store.ErrorHTTP || res.Response != "answer Internal Server Error" {
		t.Fatalf("test of a failing receiver: %+v", res)
	}
	goodRes := decode[delivery.TestResult](t, e.do(&a, "POST", webhooksPath+"/"+good.ID+"/test", ""), 200)
	// A lifecycle event waits for its attempt.
	if err := e.dsvc.UserCreated(e.ctx, a.uuid, "u1"); err != nil {
		t.Fatal(err)
	}

	ids := func(l deliveryList) []int64 {
		var out []int64
		for _, d := range l.Deliveries {
			out = append(out, d.ID)
		}
		return out
	}
	all := decode[deliveryList](t, e.do(&a, "GET", deliveriesPath, ""), 200)
	if len(all.Deliveries) != 3 || all.NextCursor != nil {
		t.Fatalf("all: %+v", all)
	}
	pendingID := all.Deliveries[2].ID
	today := time.Now().UTC().Format(time.DateOnly)
	tomorrow := time.Now().UTC().AddDate(0, 0, 1).Format(time.DateOnly)
	tests := []struct {
		query string
		want  []int64
	}{
		{"status=dead", []int64{res.DeliveryID}},
		{"status=succeeded", []int64{goodRes.DeliveryID}},
		{"status=pending", []int64{pendingID}},
		{"endpoint=" + good.ID, []int64{goodRes.DeliveryID}},
		{"endpoint=" + notify.ID + "&status=pending", []int64{pendingID}},
		{"endpoint=ep_nosuchendpoint", nil},
		{"since=" + today + "&until=" + tomorrow, []int64{res.DeliveryID, goodRes.DeliveryID, pendingID}},
		{"until=" + today, nil},
		{"since=" + url.QueryEscape(time.Now().Add(time.Hour).UTC().Format(time.RFC3339)), nil},
		{"cursor=" + itoa(res.DeliveryID), []int64{goodRes.DeliveryID, pendingID}},
	}
	for _, tc := range tests {
		l := decode[deliveryList](t, e.do(&a, "GET", deliveriesPath+"?"+tc.query, ""), 200)
		if got := ids(l); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.query, got, tc.want)
		}
	}

	dead := decode[deliveryList](t, e.do(&a, "GET", deliveriesPath+"?status=dead", ""), 200).Deliveries[0]
	if dead.EndpointID != bad.ID || dead.Attempts != 1 || dead.LastStatusCode != 500 || dead.Kind != store.MessageTest ||
		dead.WebhookID != res.WebhookID || dead.FinishedAt == "" || dead.AttemptList != nil {
		t.Fatalf("dead letter %+v", dead)
	}
	one := decode[delivery.DeliveryView](t, e.do(&a, "GET", deliveriesPath+"/"+itoa(res.DeliveryID), ""), 200)
	if len(one.AttemptList) != 1 || one.AttemptList[0].StatusCode != 500 || one.AttemptList[0].ErrorClass != store.ErrorHTTP ||
		one.AttemptList[0].Response != "answer Internal Server Error" {
		t.Fatalf("delivery with attempts %+v", one)
	}
	if len(failing.hits()) != 1 {
		t.Fatalf("the failing receiver got %d posts", len(failing.hits()))
	}

	// Pages: limit 1 walks the three deliveries by cursor.
	var walked []int64
	target := deliveriesPath + "?limit=1"
	for range 5 {
		l := decode[deliveryList](t, e.do(&a, "GET", target, ""), 200)
		walked = append(walked, ids(l)...)
		if l.NextCursor == nil {
			break
		}
		target = deliveriesPath + "?limit=1&cursor=" + *l.NextCursor
	}
	if !slices.Equal(walked, ids(all)) {
		t.Fatalf("paged %v, want %v", walked, ids(all))
	}

	// Disabling the notification endpoint makes its pending delivery a
	// dead letter.
	decode[delivery.Endpoint](t, e.do(&a, "PATCH", webhooksPath+"/"+notify.ID, `{"enabled":false}`), 200)
	if l := decode[deliveryList](t, e.do(&a, "GET", deliveriesPath+"?status=dead", ""), 200); !slices.Equal(ids(l), []int64{res.DeliveryID, pendingID}) {
		t.Fatalf("dead after disabling: %v", ids(l))
	}
}

// TestWebhookBadInput: every invalid input is a JSON 4xx whose message
// names the problem, and changes nothing.
func TestWebhookBadInput(t *testing.T) {
	e := newEnv(t, envOptions{webhooks: true, maxBody: 2048})
	a := e.newClient("A")
	rcv := newHook(t, http.StatusOK)
	ep := e.addWebhook(a, `{"url":"`+rcv.URL+`"}`)
	epPath := webhooksPath + "/" + ep.ID
	before := e.do(&a, "GET", webhooksPath, "").body

	tests := []struct {
		name, method, target, body string
		status                     int
		contains                   string
	}{
		{"no auth", "GET", webhooksPath, "", 401, "client_uuid"},
		{"malformed JSON", "POST", webhooksPath, `{"url":`, 400, "JSON"},
		{"not an object", "POST", webhooksPath, `["x"]`, 400, "object"},
		{"no body", "POST", webhooksPath, "", 400, "body"},
		{"unknown field", "POST", webhooksPath, `{"url":"` + rcv.URL + `","secret":"whsec_mine"}`, 400, `"secret"`},
		{"no url", "POST", webhooksPath, `{"kind":"data"}`, 400, "url is required"},
		{"url not a string", "POST", webhooksPath, `{"url":5}`, 400, "url must be a JSON string"},
		{"not http", "POST", webhooksPath, `{"url":"ftp://example.com/x"}`, 400, "http or https"},
		{"no host", "POST", webhooksPath, `{"url":"http:///x"}`, 400, "no host"},
		{"does not parse", "POST", webhooksPath, `{"url":"http://a b/"}`, 400, "does not parse"},
		// Refused even though this env allows private addresses (finding 1).
		{"credentials in url", "POST", webhooksPath, `{"url":"http://user:pw@127.0.0.1:9/hook"}`, 400, "user name or password"},
		{"patch credentials in url", "PATCH", epPath, `{"url":"http://user:pw@127.0.0.1:9/hook"}`, 400, "user name or password"},
		{"host too long", "POST", webhooksPath, `{"url":"http://` + strings.Repeat("a", 254) + `/"}`, 400, "host is longer"},
		{"bad kind", "POST", webhooksPath, `{"url":"` + rcv.URL + `","kind":"sms"}`, 400, "kind"},
		{"unknown data structure", "POST", webhooksPath, `{"url":"` + rcv.URL + `","data_structures":["sleep_sumary"]}`, 400, "sleep_sumary"},
		{"notification with a filter", "POST", webhooksPath, `{"url":"` + rcv.URL + `","kind":"notification","data_structures":["sleep_summary"]}`, 400, "notification"},
		{"enabled not a boolean", "POST", webhooksPath, `{"url":"` + rcv.URL + `","enabled":"yes"}`, 400, "enabled must be a JSON boolean"},
		{"too large", "POST", webhooksPath, `{"url":"` + rcv.URL + "/" + strings.Repeat("x", 3000) + `"}`, 413, "larger"},
		{"patch nothing", "PATCH", epPath, `{}`, 400, "Nothing to change"},
		{"patch unknown field", "PATCH", epPath, `{"kind":"notification"}`, 400, `"kind"`},
		{"patch bad url", "PATCH", epPath, `{"url":"mailto:x@example.com"}`, 400, "http or https"},
		{"patch unknown data structure", "PATCH", epPath, `{"data_structures":["nope"]}`, 400, "nope"},
		{"patch bad url and enabled", "PATCH", epPath, `{"url":"ftp://x","enabled":false}`, 400, "http or https"},
		{"unknown endpoint", "GET", webhooksPath + "/ep_aaaaaaaaaaaaaaaaaaaaaaaa", "", 404, "not found"},
		{"not an endpoint id", "PATCH", webhooksPath + "/12", `{"enabled":false}`, 404, "no webhook endpoint"},
		{"wrong method", "PUT", epPath, `{"enabled":false}`, 405, "PUT is not allowed"},
		{"resend is not an endpoint", "GET", webhooksPath + "/resend", "", 405, "GET is not allowed"},
		{"bad status", "GET", deliveriesPath + "?status=failed", "", 400, "pending, succeeded or dead"},
		{"bad since", "GET", deliveriesPath + "?since=yesterday", "", 400, "since"},
		{"bad until", "GET", deliveriesPath + "?until=2025-02-30", "", 400, "until"},
		{"until before since", "GET", deliveriesPath + "?since=2025-02-02&until=2025-02-01", "", 400, "not after since"},
		{"limit zero", "GET", deliveriesPath + "?limit=0", "", 400, "limit"},
		{"limit too large", "GET", deliveriesPath + "?limit=1001", "", 400, "1 to 1000"},
		{"bad cursor", "GET", deliveriesPath + "?cursor=abc", "", 400, "cursor"},
		{"unknown parameter", "GET", deliveriesPath + "?state=dead", "", 400, `"state"`},
		{"bad delivery id", "GET", deliveriesPath + "/abc", "", 404, "positive numbers"},
		{"unknown delivery", "GET", deliveriesPath + "/999999", "", 404, "not found"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &a
			if tc.status == 401 {
				c = nil
			}
			r := e.do(c, tc.method, tc.target, tc.body)
			if r.status != tc.status {
				t.Fatalf("%d, want %d: %s", r.status, tc.status, r.body)
			}
			m := r.json(t)
			if msg, _ := m["message"].(string); !strings.Contains(msg, tc.contains) || m["exception"] != msg {
				t.Fatalf("message %q lacks %q", msg, tc.contains)
			}
		})
	}
	if after := e.do(&a, "GET", webhooksPath, "").body; string(after) != string(before) {
		t.Fatalf("bad requests changed the endpoints:\n%s\n%s", before, after)
	}
	if n := len(rcv.hits()); n != 0 {
		t.Fatalf("bad requests posted %d times", n)
	}
}

// TestWebhookPrivateAddressRefused: without private webhooks allowed, a URL
// that resolves to a loopback or private address is a 400 that says so.
func TestWebhookPrivateAddressRefused(t *testing.T) {
	e := newEnv(t, envOptions{})
	svc, err := delivery.New(delivery.Config{Store: e.st, Now: e.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	api, err := New(Config{Store: e.st, Webhooks: svc, Now: e.clock.Now, AuthCacheTTL: -1})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	a := e.newClient("A")
	for _, u := range []string{"http://127.0.0.1:9/x", "http://10.1.2.3/x", "http://[::1]/x", "http://169.254.169.254/latest/meta-data"} {
		r := e.do(&a, "POST", webhooksPath, `{"url":"`+u+`"}`)
		if msg, _ := r.json(t)["message"].(string); r.status != 400 || !strings.Contains(msg, "resolves to") {
			t.Fatalf("%s: %d %s", u, r.status, r.body)
		}
	}
	if l := decode[webhookList](t, e.do(&a, "GET", webhooksPath, ""), 200); len(l.Webhooks) != 0 {
		t.Fatalf("refused endpoints were stored: %+v", l)
	}
}

// TestWebhooksNotConfigured: without a delivery service every webhook and
// delivery route answers 503 with a message, and resend keeps its own
// route beside /api/v1/client/webhooks/{id}.
func TestWebhooksNotConfigured(t *testing.T) {
	res := &fakeResender{}
	e := newEnv(t, envOptions{resender: res})
	a := e.newClient("A")
	for _, rq := range []struct{ method, target, body string }{
		{"GET", webhooksPath, ""},
		{"POST", webhooksPath, `{"url":"https://app.example/hook"}`},
		{"GET", webhooksPath + "/ep_aaaaaaaaaaaaaaaaaaaaaaaa", ""},
		{"PATCH", webhooksPath + "/ep_aaaaaaaaaaaaaaaaaaaaaaaa", `{"enabled":true}`},
		{"DELETE", webhooksPath + "/ep_aaaaaaaaaaaaaaaaaaaaaaaa", ""},
		{"POST", webhooksPath + "/ep_aaaaaaaaaaaaaaaaaaaaaaaa/rotate_secret", ""},
		{"POST", webhooksPath + "/ep_aaaaaaaaaaaaaaaaaaaaaaaa/test", ""},
		{"GET", deliveriesPath, ""},
		{"GET", deliveriesPath + "/1", ""},
	} {
		r := e.do(&a, rq.method, rq.target, rq.body)
		if msg, _ := r.json(t)["message"].(string); r.status != 503 || !strings.Contains(msg, "not available") {
			t.Fatalf("%s %s: %d %s", rq.method, rq.target, r.status, r.body)
		}
	}
	r := e.do(&a, "POST", webhooksPath+"/resend", `{"start":"2024-04-20","finish":"2024-04-20"}`)
	if m := r.json(t); r.status != 200 || m["total_docs_to_resend"] != float64(29) || len(res.calls) != 1 {
		t.Fatalf("resend beside {id}: %d %s", r.status, r.body)
	}
}
