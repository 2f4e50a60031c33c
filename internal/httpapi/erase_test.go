package httpapi

import (
	"context"
	"slices"
	gosync "sync"
	"testing"

	"github.com/wearlink/wearlink/internal/provider"
	"github.com/wearlink/wearlink/internal/store"
)

// eraseTrace records what erasing did outside the store.
type eraseTrace struct {
	mu      gosync.Mutex
	revoked []string
	deleted []string
}

func (e *eraseTrace) revoke(_ context.Context, t provider.Tokens) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.revoked = append(e.revoked, t.AccessToken)
	return nil
}

func (e *eraseTrace) UserDeleted(_ context.Context, er store.Erasure) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.deleted = append(e.deleted, er.ClientUUID+"/"+er.UserID)
	return nil
}

// TestEraseUser: DELETE /api/v1/user_id/{user_id} revokes, deletes the
// user's data and nobody else's, tells the client, answers the same
// erasure while it runs and the audit record after; another client can
// neither erase the user nor see the erasure.
func TestEraseUser(t *testing.T) {
	e := newEnv(t, envOptions{})
	a, b := e.newClient("A"), e.newClient("B")
	seedUser(t, e, a.uuid, "u1")
	seedUser(t, e, a.uuid, "u2")
	seedUser(t, e, b.uuid, "u1")
	beforeB := e.snapshot(b.uuid)
	docs := func(client, user string) int {
		d, err := e.st.GetHealthDocuments(e.ctx, store.HealthQuery{ClientUUID: client, UserID: user})
		if err != nil {
			t.Fatal(err)
		}
		return len(d)
	}

	// Tenant isolation: B has no user u2.
	if r := e.do(&b, "DELETE", "/api/v1/user_id/u2", ""); r.status != 404 {
		t.Fatalf("B erasing A's user: %d %s", r.status, r.body)
	}
	if r := e.do(&a, "DELETE", "/api/v1/user_id/nobody", ""); r.status != 404 {
		t.Fatalf("erasing an unknown user: %d %s", r.status, r.body)
	}

	r := e.do(&a, "DELETE", "/api/v1/user_id/u1", "")
	if r.status != 202 {
		t.Fatalf("DELETE: %d %s", r.status, r.body)
	}
	m := r.json(t)
	id, _ := m["erasure_id"].(string)
	if m["state"] != store.ErasureRunning || m["user_id"] != "u1" || m["requested_by"] != "api" || id == "" {
		t.Fatalf("DELETE body %s", r.body)
	}
	if again := e.do(&a, "DELETE", "/api/v1/user_id/u1", "").json(t); again["erasure_id"] != id {
		t.Fatalf("second DELETE started another erasure: %v", again)
	}
	if r := e.do(&b, "GET", "/api/v1/client/erasures/"+id, ""); r.status != 404 {
		t.Fatalf("B reading A's erasure: %d %s", r.status, r.body)
	}
	if r := e.do(&b, "GET", "/api/v1/user_id/u1/erasure", ""); r.status != 404 {
		t.Fatalf("B reading the erasure of its own u1: %d %s", r.status, r.body)
	}

	// The job.
	if _, err := e.erase.Run(e.ctx, a.uuid, id); err != nil {
		t.Fatal(err)
	}
	st := e.do(&a, "GET", "/api/v1/client/erasures/"+id, "").json(t)
	del, _ := st["deleted"].(map[string]any)
	if st["state"] != store.ErasureCompleted || st["completed_at"] == nil || del["health_documents"] != 1.0 || del["users"] != 1.0 ||
		del["connections"] != 1.0 {
		t.Fatalf("status %v", st)
	}
	if _, ok := st["user_id"]; ok {
		t.Fatalf("the audit record kept the user_id: %v", st)
	}
	if u := e.do(&a, "GET", "/api/v1/user_id/u1/erasure", "").json(t); u["erasure_id"] != id {
		t.Fatalf("user erasure %v", u)
	}
	r = e.do(&a, "DELETE", "/api/v1/user_id/u1", "")
	if r.status != 200 || r.json(t)["erasure_id"] != id {
		t.Fatalf("DELETE after completion: %d %s", r.status, r.body)
	}
	if n := docs(a.uuid, "u1"); n != 0 {
		t.Fatalf("%d documents left", n)
	}
	if r := e.do(&a, "GET", "/api/v1/user_id/u1/time_zone", ""); r.status != 404 {
		t.Fatalf("erased user still there: %d %s", r.status, r.body)
	}
	if docs(a.uuid, "u2") != 1 || e.snapshot(b.uuid) != beforeB {
		t.Fatal("another user's data changed")
	}
	e.eraseTrace.mu.Lock()
	defer e.eraseTrace.mu.Unlock()
	if !slices.Equal(e.eraseTrace.revoked, []string{"a-u1"}) || !slices.Equal(e.eraseTrace.deleted, []string{a.uuid + "/u1"}) {
		t.Fatalf("revoked %v, user.deleted %v", e.eraseTrace.revoked, e.eraseTrace.deleted)
	}
}
