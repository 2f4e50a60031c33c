package storetest

import (
	"bytes"
	"crypto/sha256"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// APIStore is the store the API suite tests: the whole store, as Run's.
type APIStore = Store

// APIFactory returns a fresh, migrated, empty store for one test whose clock
// is now.
type APIFactory func(t *testing.T, now func() time.Time) APIStore

// RunAPI runs the conformance tests of store.APIStore. The tests run in
// parallel, each on its own store.
func RunAPI(t *testing.T, newStore APIFactory) {
	tests := []struct {
		name string
		fn   func(*testing.T, APIStore, *clock)
	}{
		{"LinkStateSingleUse", testLinkStateSingleUse},
		{"LinkStateConcurrentTake", testLinkStateConcurrentTake},
		{"LinkStateErrors", testLinkStateErrors},
		{"LinkStatePurge", testLinkStatePurge},
		{"LinkStateDeletedWithClient", testLinkStateDeletedWithClient},
		{"ServerKey", testServerKey},
		{"ServerKeyConcurrent", testServerKeyConcurrent},
		{"UserStatuses", testUserStatuses},
		{"UserStatusesPaging", testUserStatusesPaging},
		{"Erase", testErase}, {"Retention", testRetention}, {"Sessions", testSessions}, // erase.go
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := &clock{}
			c.set(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
			tc.fn(t, newStore(t, c.now), c)
		})
	}
}

// clock is a settable clock for the store under test.
type clock struct{ t atomic.Int64 }

func (c *clock) set(t time.Time)     { c.t.Store(t.UnixMicro()) }
func (c *clock) now() time.Time      { return time.UnixMicro(c.t.Load()).UTC() }
func (c *clock) add(d time.Duration) { c.set(c.now().Add(d)) }

func stateID(token string) []byte {
	s := sha256.Sum256([]byte(token))
	return s[:]
}

func sameTime(a, b time.Time) bool { return a.Equal(b) }

func ids(us []store.UserStatus) []string {
	out := []string{}
	for _, u := range us {
		out = append(out, u.UserID)
	}
	return out
}

func newState(token, client, user string, expires time.Time) store.LinkState {
	return store.LinkState{ID: stateID(token), ClientUUID: client, UserID: user, DataSource: "oura",
		RedirectURL: "https://app.example/linked", ExpiresAt: expires}
}

func testLinkStateSingleUse(t *testing.T, s APIStore, c *clock) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	exp := c.now().Add(10 * time.Minute)
	want := newState("tok-1", "c1", "u1", exp)
	must(t, s.PutLinkState(ctx, want))
	must(t, s.PutLinkState(ctx, newState("tok-2", "c1", "u2", exp)))

	got, err := s.TakeLinkState(ctx, stateID("tok-1"))
	must(t, err)
	if !bytes.Equal(got.ID, want.ID) || got.ClientUUID != "c1" || got.UserID != "u1" || got.DataSource != "oura" ||
		got.RedirectURL != want.RedirectURL || !sameTime(got.ExpiresAt, exp) || !sameTime(got.CreatedAt, c.now()) {
		t.Fatalf("TakeLinkState = %+v, want %+v created at %v", got, want, c.now())
	}
	_, err = s.TakeLinkState(ctx, stateID("tok-1"))
	wantCode(t, err, health.ENOTFOUND)

	// The other state is untouched; an expired one is still returned (the
	// caller says it expired).
	c.add(time.Hour)
	got, err = s.TakeLinkState(ctx, stateID("tok-2"))
	must(t, err)
	if got.UserID != "u2" || !got.ExpiresAt.Before(c.now()) {
		t.Fatalf("TakeLinkState(expired) = %+v", got)
	}
	_, err = s.TakeLinkState(ctx, stateID("never-issued"))
	wantCode(t, err, health.ENOTFOUND)
}

func testLinkStateConcurrentTake(t *testing.T, s APIStore, c *clock) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	must(t, s.PutLinkState(ctx, newState("tok", "c1", "u1", c.now().Add(time.Minute))))
	const n = 8
	var wins, misses atomic.Int32
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.TakeLinkState(ctx, stateID("tok"))
			switch health.ErrorCode(err) {
			case "":
				wins.Add(1)
			case health.ENOTFOUND:
				misses.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 || misses.Load() != n-1 {
		t.Fatalf("%d takes succeeded, %d found nothing; want 1 and %d", wins.Load(), misses.Load(), n-1)
	}
}

func testLinkStateErrors(t *testing.T, s APIStore, c *clock) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	exp := c.now().Add(time.Minute)
	wantCode(t, s.PutLinkState(ctx, newState("tok", "nobody", "u1", exp)), health.ENOTFOUND)
	for name, st := range map[string]store.LinkState{
		"short id":      {ID: []byte("short"), ClientUUID: "c1", UserID: "u1", DataSource: "oura", ExpiresAt: exp},
		"no client":     {ID: stateID("a"), UserID: "u1", DataSource: "oura", ExpiresAt: exp},
		"bad user":      {ID: stateID("a"), ClientUUID: "c1", UserID: "not valid!", DataSource: "oura", ExpiresAt: exp},
		"no source":     {ID: stateID("a"), ClientUUID: "c1", UserID: "u1", ExpiresAt: exp},
		"no expiry":     {ID: stateID("a"), ClientUUID: "c1", UserID: "u1", DataSource: "oura"},
		"empty user id": {ID: stateID("a"), ClientUUID: "c1", DataSource: "oura", ExpiresAt: exp},
	} {
		if err := s.PutLinkState(ctx, st); health.ErrorCode(err) != health.EINVALID {
			t.Errorf("%s: PutLinkState error %v, want %s", name, err, health.EINVALID)
		}
	}
	must(t, s.PutLinkState(ctx, newState("dup", "c1", "u1", exp)))
	wantCode(t, s.PutLinkState(ctx, newState("dup", "c1", "u2", exp)), health.ECONFLICT)
}

func testLinkStatePurge(t *testing.T, s APIStore, c *clock) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	start := c.now()
	must(t, s.PutLinkState(ctx, newState("old", "c1", "u1", start.Add(time.Minute))))
	must(t, s.PutLinkState(ctx, newState("new", "c1", "u1", start.Add(time.Hour))))
	n, err := s.PurgeLinkStates(ctx, start.Add(10*time.Minute))
	must(t, err)
	if n != 1 {
		t.Fatalf("PurgeLinkStates removed %d, want 1", n)
	}
	_, err = s.TakeLinkState(ctx, stateID("old"))
	wantCode(t, err, health.ENOTFOUND)
	_, err = s.TakeLinkState(ctx, stateID("new"))
	must(t, err)
}

func testLinkStateDeletedWithClient(t *testing.T, s APIStore, c *clock) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	must(t, s.PutLinkState(ctx, newState("tok", "c1", "u1", c.now().Add(time.Minute))))
	must(t, s.DeleteClient(ctx, "c1"))
	_, err := s.TakeLinkState(ctx, stateID("tok"))
	wantCode(t, err, health.ENOTFOUND)
}

func testServerKey(t *testing.T, s APIStore, _ *clock) {
	ctx := ctxT(t)
	a, err := s.ServerKey(ctx, "link")
	must(t, err)
	if len(a) != 32 || bytes.Equal(a, make([]byte, 32)) {
		t.Fatalf("ServerKey = %x, want 32 random bytes", a)
	}
	again, err := s.ServerKey(ctx, "link")
	must(t, err)
	if !bytes.Equal(a, again) {
		t.Fatal("ServerKey changed between calls")
	}
	other, err := s.ServerKey(ctx, "other")
	must(t, err)
	if bytes.Equal(a, other) {
		t.Fatal("two key names share a key")
	}
	_, err = s.ServerKey(ctx, "")
	wantCode(t, err, health.EINVALID)
}

func testServerKeyConcurrent(t *testing.T, s APIStore, _ *clock) {
	ctx := ctxT(t)
	const n = 8
	keys := make([][]byte, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, err := s.ServerKey(ctx, "race")
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		}()
	}
	wg.Wait()
	for i := 1; i < n; i++ {
		if !bytes.Equal(keys[0], keys[i]) {
			t.Fatalf("concurrent first uses got different keys: %x and %x", keys[0], keys[i])
		}
	}
}

func testUserStatuses(t *testing.T, s APIStore, c *clock) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	day1 := c.now()
	mustUser(t, s, "c1", "u-idle")
	mustConn(t, s, "c1", "u-active")
	revoked := mustConn(t, s, "c1", "u-revoked")
	must(t, s.SetConnectionStatus(ctx, revoked.ID, store.StatusRevoked, "revoked by the client"))
	mustConn(t, s, "c2", "other-client")
	c.add(48 * time.Hour)
	mustConn(t, s, "c1", "u-later")
	synced := c.now().Add(-time.Minute)
	later, err := s.FindConnection(ctx, "c1", "u-later", "oura")
	must(t, err)
	must(t, s.SetCursors(ctx, later.ID, map[string]string{"k": "v"}, synced))

	page, err := s.UserStatuses(ctx, store.UserStatusQuery{ClientUUID: "c1"})
	must(t, err)
	if page.Total != 4 || page.Active != 2 {
		t.Fatalf("totals = %d created, %d active; want 4 and 2", page.Total, page.Active)
	}
	if got := ids(page.Users); !slices.Equal(got, []string{"u-active", "u-idle", "u-later", "u-revoked"}) {
		t.Fatalf("users = %v", got)
	}
	byID := map[string]store.UserStatus{}
	for _, u := range page.Users {
		byID[u.UserID] = u
	}
	if n := len(byID["u-idle"].Connections); n != 0 {
		t.Fatalf("u-idle has %d connections", n)
	}
	if cs := byID["u-revoked"].Connections; len(cs) != 1 || cs[0].Status != store.StatusRevoked || cs[0].LastError != "revoked by the client" ||
		cs[0].DataSource != "oura" {
		t.Fatalf("u-revoked connections = %+v", cs)
	}
	if cs := byID["u-later"].Connections; len(cs) != 1 || cs[0].Status != store.StatusActive || !sameTime(cs[0].LastSyncAt, synced) ||
		!sameTime(cs[0].CreatedAt, c.now()) {
		t.Fatalf("u-later connections = %+v, want synced at %v", cs, synced)
	}
	if u := byID["u-active"]; !sameTime(u.CreatedAt, day1) {
		t.Fatalf("u-active created at %v, want %v", u.CreatedAt, day1)
	}

	// Up to a day before u-later was created.
	page, err = s.UserStatuses(ctx, store.UserStatusQuery{ClientUUID: "c1", CreatedBefore: day1.Add(24 * time.Hour)})
	must(t, err)
	if page.Total != 3 || page.Active != 1 || !slices.Equal(ids(page.Users), []string{"u-active", "u-idle", "u-revoked"}) {
		t.Fatalf("before day 2: %d/%d %v", page.Total, page.Active, ids(page.Users))
	}

	page, err = s.UserStatuses(ctx, store.UserStatusQuery{ClientUUID: "nobody"})
	must(t, err)
	if page.Total != 0 || page.Active != 0 || len(page.Users) != 0 {
		t.Fatalf("unknown client: %+v", page)
	}
}

func testUserStatusesPaging(t *testing.T, s APIStore, _ *clock) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	for _, u := range []string{"u3", "u1", "u5", "u2", "u4"} {
		mustConn(t, s, "c1", u)
	}
	get := func(limit, offset int) store.UserStatusPage {
		p, err := s.UserStatuses(ctx, store.UserStatusQuery{ClientUUID: "c1", Limit: limit, Offset: offset})
		must(t, err)
		return p
	}
	if p := get(2, 0); p.Total != 5 || p.Active != 5 || !slices.Equal(ids(p.Users), []string{"u1", "u2"}) {
		t.Fatalf("page 1: %d/%d %v", p.Total, p.Active, ids(p.Users))
	}
	if p := get(2, 4); !slices.Equal(ids(p.Users), []string{"u5"}) || len(p.Users[0].Connections) != 1 {
		t.Fatalf("last page: %+v", p.Users)
	}
	if p := get(2, 10); len(p.Users) != 0 || p.Total != 5 {
		t.Fatalf("past the end: %+v", p)
	}
}
