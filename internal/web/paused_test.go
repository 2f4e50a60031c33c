package web_test

import (
	"html"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/store"
)

// TestPausedConnection: a connection the provider pauses (a lapsed
// membership, an app too old) shows on the dashboard with what ends the
// pause, and on the person's connections page with what to do, without
// a Connect button (the grant still works).
func TestPausedConnection(t *testing.T) {
	h := startHub(t)
	a := h.client("A")
	for _, tc := range []struct{ user, status, dashboard, page string }{
		{"lapsed", store.StatusSubscriptionRequired, "paused: Oura refuses the user's data, usually because the membership has lapsed; syncing resumes when it is renewed",
			"Oura refuses to share your data, usually because your membership has lapsed. Renew it and syncing resumes within a day."},
		{"old-app", store.StatusAppUpdateRequired, "paused: the user must update the Oura app; syncing resumes after the update",
			"Update the Oura app on your phone; syncing resumes within a day."},
	} {
		if _, err := h.st.UpsertUser(h.ctx, store.User{ClientUUID: a.uuid, UserID: tc.user}); err != nil {
			t.Fatal(err)
		}
		c, err := h.st.CreateConnection(h.ctx, store.Connection{ClientUUID: a.uuid, UserID: tc.user, DataSource: "oura",
			Status: store.StatusActive, Tokens: store.Tokens{AccessToken: "a", RefreshToken: "r"}})
		if err != nil {
			t.Fatal(err)
		}
		if err := h.st.SetConnectionStatus(h.ctx, c.ID, tc.status, "extraction failed: "+tc.status); err != nil {
			t.Fatal(err)
		}
		b := login(t, h, a)
		for _, p := range []string{"/dashboard", "/dashboard/users/" + tc.user} {
			if pg := get(t, b, h.url+p); pg.status != 200 || !strings.Contains(html.UnescapeString(pg.body), tc.dashboard) {
				t.Errorf("%s of %s: %d, no %q in\n%s", p, tc.user, pg.status, tc.dashboard, pg.body)
			}
		}
		pg := get(t, browserClient(t), h.pageURL(a, tc.user, ""))
		body := html.UnescapeString(pg.body)
		if pg.status != 200 || !strings.Contains(body, `data-status="paused"`) || !strings.Contains(body, tc.page) ||
			strings.Contains(body, `id="connect-oura"`) || !strings.Contains(body, `id="disconnect-oura"`) {
			t.Errorf("connections page of %s: %d\n%s", tc.user, pg.status, pg.body)
		}
	}
}
