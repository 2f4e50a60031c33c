package httpapi

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/wearlink/wearlink/internal/health"
)

// fakeNotifications records what the routes pass on and answers what the
// engine would.
type fakeNotifications struct {
	mu    sync.Mutex
	calls []string
}

func (f *fakeNotifications) record(s string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, s)
}

func (f *fakeNotifications) Challenge(r *http.Request, ds string) (any, error) {
	f.record("challenge " + ds)
	if r.URL.Query().Get("verification_token") != "right" {
		return nil, health.Errorf(health.EUNAUTHORIZED, "The verification token is not this server's.")
	}
	return map[string]string{"challenge": r.URL.Query().Get("challenge")}, nil
}

func (f *fakeNotifications) HandleNotification(_ *http.Request, ds, token string, body []byte) (int, error) {
	f.record("notify " + ds + " " + token + " " + string(body))
	switch {
	case ds == "withings" && token != "tok-1":
		return 0, health.Errorf(health.ENOTFOUND, "No notifications are taken at this URL.")
	case ds == "garmin":
		return 0, health.Errorf(health.ENOTFOUND, "This server takes no notifications from garmin.")
	case string(body) == "unsigned":
		return 0, health.Errorf(health.EUNAUTHORIZED, "The notification's signature does not verify.")
	}
	return 2, nil
}

// TestNotificationRoutes: a provider's notifications reach the engine with
// the path's data source (Oura's old path as oura), and its answers become
// the API's statuses and error shape, as documented.
func TestNotificationRoutes(t *testing.T) {
	e := newEnv(t, envOptions{})
	if r := e.do(nil, "POST", "/webhooks/oura", "{}"); r.status != 503 {
		t.Fatalf("without an engine: %d %s", r.status, r.body)
	}
	f := &fakeNotifications{}
	e.api.cfg.Notifications = f
	for _, tc := range []struct {
		method, target, body string
		status               int
		want                 string
	}{
		{"POST", "/webhooks/oura", `{"x":1}`, 200, `{"connections":2}`},
		{"POST", "/oura/webhook", `{"x":2}`, 200, `{"connections":2}`},
		{"POST", "/webhooks/oura", "unsigned", 401, "signature does not verify"},
		{"POST", "/webhooks/garmin", "{}", 404, "no notifications from garmin"},
		{"POST", "/webhooks/withings/tok-1", "userid=1&appli=1", 200, `{"connections":2}`},
		{"POST", "/webhooks/withings/tok-2", "userid=1&appli=1", 404, "No notifications are taken at this URL"},
		{"POST", "/webhooks/withings/tok-1/more", "", 404, ""},
		{"POST", "/webhooks/oura", strings.Repeat("x", maxNotificationBytes+1), 413, ""},
		{"GET", "/webhooks/oura?verification_token=right&challenge=c-1", "", 200, `{"challenge":"c-1"}`},
		{"GET", "/oura/webhook?verification_token=wrong&challenge=c-1", "", 401, "not this server's"},
		{"DELETE", "/webhooks/oura", "", 405, ""},
	} {
		r := e.do(nil, tc.method, tc.target, tc.body)
		checkResponse(t, tc.method, tc.target, r)
		if r.status != tc.status || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s %s: %d %s, want %d with %q", tc.method, tc.target, r.status, r.body, tc.status, tc.want)
		}
	}
	want := []string{`notify oura  {"x":1}`, `notify oura  {"x":2}`, "notify oura  unsigned", "notify garmin  {}",
		"notify withings tok-1 userid=1&appli=1", "notify withings tok-2 userid=1&appli=1",
		"challenge oura", "challenge oura"}
	if strings.Join(f.calls, "\n") != strings.Join(want, "\n") {
		t.Fatalf("calls:\n%s\nwant:\n%s", strings.Join(f.calls, "\n"), strings.Join(want, "\n"))
	}
}
