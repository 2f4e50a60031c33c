package httpapi

import (
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/store"
)

// TestSyncOfAPausedConnection: a re-sync asked for a paused connection is
// refused with what ends the pause, not with a request to authorize again.
func TestSyncOfAPausedConnection(t *testing.T) {
	e := newEnv(t, envOptions{resyncer: &fakeResyncer{}})
	a := e.newClient("A")
	seedUser(t, e, a.uuid, "u1")
	conn, err := e.st.FindConnection(e.ctx, a.uuid, "u1", "oura")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.st.SetConnectionStatus(e.ctx, conn.ID, store.StatusSubscriptionRequired, "extraction failed"); err != nil {
		t.Fatal(err)
	}
	r := e.do(&a, "POST", "/api/v1/user_id/u1/data_source/Oura/sync", `{"start_date":"2024-04-01","end_date":"2024-04-02"}`)
	msg, _ := r.json(t)["message"].(string)
	if r.status != 422 || !strings.Contains(msg, "membership has lapsed") || strings.Contains(msg, "authorize again") {
		t.Fatalf("sync of a paused connection: %d %s", r.status, r.body)
	}
}
