package httpapi

import (
	"context"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
)

type fakePages struct{ calls []string }

func (f *fakePages) ConnectionsPageURL(_ context.Context, clientUUID, userID, redirectURL string) (string, time.Time, error) {
	if redirectURL == "bad" {
		return "", time.Time{}, health.Errorf(health.EINVALID, "redirect_url must be an absolute URL")
	}
	f.calls = append(f.calls, clientUUID+" "+userID+" "+redirectURL)
	return "https://hub.example/connections/x", time.Unix(1767225600, 0), nil
}

// TestConnectionsPageRoute: the route needs credentials, passes the
// authenticated client on, reports a bad redirect_url as 400 and answers
// 503 when the pages are not served.
func TestConnectionsPageRoute(t *testing.T) {
	e := newEnv(t, envOptions{})
	a := e.newClient("A")
	const target = "/api/v1/user_id/u-1/connections_page?redirect_url=https%3A%2F%2Fapp.example%2Fdone"
	if r := e.do(&a, "GET", target, ""); r.status != 503 {
		t.Fatalf("without pages: %d %s", r.status, r.body)
	}
	f := &fakePages{}
	e.api.cfg.ConnectionsPages = f
	if r := e.do(nil, "GET", target, ""); r.status != 401 {
		t.Fatalf("without credentials: %d", r.status)
	}
	r := e.do(&a, "GET", target, "")
	checkResponse(t, "GET", target, r)
	if r.status != 200 {
		t.Fatalf("status %d %s", r.status, r.body)
	}
	got := r.json(t)
	if got["url"] != "https://hub.example/connections/x" || got["expires_at"] != "2026-01-01T00:00:00Z" {
		t.Fatalf("body %s", r.body)
	}
	if len(f.calls) != 1 || f.calls[0] != a.uuid+" u-1 https://app.example/done" {
		t.Fatalf("calls %q", f.calls)
	}
	if r := e.do(&a, "GET", "/api/v1/user_id/u-1/connections_page?redirect_url=bad", ""); r.status != 400 {
		t.Fatalf("bad redirect_url: %d %s", r.status, r.body)
	}
	if r := e.do(&a, "GET", "/api/v1/user_id/no%20spaces/connections_page", ""); r.status != 400 {
		t.Fatalf("bad user_id: %d %s", r.status, r.body)
	}
}
