// Package storetest is the conformance suite every store.Store must pass.
// Each implementation runs it from its own tests:
//
//	storetest.Run(t, func(t *testing.T) store.Store { ... a fresh, migrated store ... })
//
// The factory is called once per test and must return an empty store
// that is closed (and its data removed) when t ends.
package storetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
)

// SealedTokenReader is implemented by stores that can show the token
// columns exactly as stored; the suite uses it to check that no token is
// kept in clear.
type SealedTokenReader interface {
	SealedTokens(ctx context.Context, connectionID int64) (access, refresh []byte, err error)
}

// SealedEndpointReader is implemented by stores that can show an
// endpoint's secret and settings columns exactly as stored; the suite
// uses it to check that no destination credential is kept in clear.
type SealedEndpointReader interface {
	SealedEndpointColumns(ctx context.Context, id string) (secret, settings []byte, err error)
}

// OutboxReader is implemented by stores that can list the outbox records
// not yet fanned out; the suite uses it to check what
// ApplyHealthDocuments wrote.
type OutboxReader interface {
	Outbox(ctx context.Context) ([]store.OutboxRecord, error)
}

// Store is what the suite tests: a whole store, which can also show its
// sealed token columns and its outbox.
type Store interface {
	store.Full
	SealedTokenReader
	SealedEndpointReader
	OutboxReader
}

// Factory returns a fresh, migrated, empty store for one test.
type Factory func(t *testing.T) Store

// Run runs every conformance test against stores made by newStore. The
// tests run in parallel, each on its own store.
func Run(t *testing.T, newStore Factory) {
	tests := []struct {
		name string
		fn   func(*testing.T, Store)
	}{
		{"MigrateIsIdempotent", testMigrateIsIdempotent},
		{"Clients", testClients},
		{"ClientConflict", testClientConflict},
		{"ClientNotFound", testClientNotFound},
		{"ClientInvalid", testClientInvalid},
		{"Users", testUsers},
		{"UserErrors", testUserErrors},
		{"ListUsersPaging", testListUsersPaging},
		{"Connections", testConnections},
		{"ConnectionRelink", testConnectionRelink},
		{"ConnectionStatusSwap", testConnectionStatusSwap},
		{"ConnectionNotFound", testConnectionNotFound},
		{"ConnectionsByExternalUser", testConnectionsByExternalUser},
		{"ListConnectionsByStatus", testListConnectionsByStatus},
		{"UpdateTokens", testUpdateTokens},
		{"TokensSealedAtRest", testTokensSealedAtRest},
		{"Cursors", testCursors},
		{"CursorsConcurrent", testCursorsConcurrent},
		{"RawIdempotent", testRawIdempotent},
		{"RawChangedDays", testRawChangedDays},
		{"RawQuery", testRawQuery},
		{"RawBatch", testRawBatch},
		{"RawDuplicateInBatch", testRawDuplicateInBatch},
		{"RawErrors", testRawErrors},
		{"RawDelete", testRawDelete},
		{"HealthInsert", testHealthInsert},
		{"HealthUnchanged", testHealthUnchanged},
		{"HealthHashIgnoresVersion", testHealthHashIgnoresVersion},
		{"HealthVersionBump", testHealthVersionBump},
		{"HealthPillarsDistinct", testHealthPillarsDistinct},
		{"HealthQuery", testHealthQuery},
		{"HealthAtomic", testHealthAtomic},
		{"HealthErrors", testHealthErrors},
		{"HealthDuplicateInBatch", testHealthDuplicateInBatch},
		{"HealthConcurrentSameKey", testHealthConcurrentSameKey},
		{"HealthConcurrentBatches", testHealthConcurrentBatches},
		{"HealthConcurrentUsers", testHealthConcurrentUsers},
		{"Outbox", testOutbox},
		{"DeleteClientCascades", testDeleteClientCascades},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, newStore(t))
		})
	}
}

// helpers

func ctxT(t *testing.T) context.Context { return t.Context() }

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := health.ErrorCode(err); got != code {
		t.Fatalf("error %v: code %q, want %q", err, got, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mustClient(t *testing.T, s store.Store, uuid string) {
	t.Helper()
	must(t, s.CreateClient(ctxT(t), store.Client{UUID: uuid, Name: "app " + uuid, SecretHash: []byte("hash-" + uuid), Settings: json.RawMessage(`{"a":1}`)}))
}

func mustUser(t *testing.T, s store.Store, client, user string) {
	t.Helper()
	if _, err := s.UpsertUser(ctxT(t), store.User{ClientUUID: client, UserID: user}); err != nil {
		t.Fatal(err)
	}
}

func mustConn(t *testing.T, s store.Store, client, user string) store.Connection {
	t.Helper()
	c, err := s.CreateConnection(ctxT(t), store.Connection{
		ClientUUID: client, UserID: user, DataSource: "oura",
		Tokens: store.Tokens{AccessToken: "access-" + user, RefreshToken: "refresh-" + user,
			Expiry: time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC), Scopes: []string{"daily", "heartrate"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func ptr[T any](v T) *T { return &v }

// sleepDoc is a sleep_summary whose content is n.
func sleepDoc(client, user, day string, n int) *health.SleepSummaryDocument {
	d := &health.SleepSummaryDocument{Header: health.Header{ClientUUID: client, UserID: user, Day: day}}
	d.Summary.Metadata.Datetime = ptr(day + "T00:00:00.000000Z")
	d.Summary.Metadata.SourcesOfData = []string{"Oura"}
	d.Summary.Duration.SleepDurationSeconds = ptr(n)
	return d
}

// hrDoc is a heart_rate_event of the physical or the body pillar.
func hrDoc(client, user, day string, physical bool, bpm int) health.Doc {
	rec := []health.HeartRateEventRecord{{HeartRate: health.HeartRate{HRAvgBPM: ptr(bpm)}}}
	rec[0].Metadata.Datetime = ptr(day + "T12:00:00.000000Z")
	h := health.Header{ClientUUID: client, UserID: user, Day: day}
	if physical {
		return &health.PhysicalHeartRateEventDocument{Header: h, Events: rec}
	}
	return &health.BodyHeartRateEventDocument{Header: h, Events: rec}
}

func in(key string, d health.Doc) store.HealthInput { return store.HealthInput{Key: key, Doc: d} }

func apply(t *testing.T, s store.Store, docs ...store.HealthInput) store.HealthWrite {
	t.Helper()
	w, err := s.ApplyHealthDocuments(ctxT(t), docs)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func counts(w store.HealthWrite) [3]int { return [3]int{w.Inserted, w.Updated, w.Unchanged} }

func rawDoc(conn int64, coll, id, day, body string) store.RawDocument {
	return store.RawDocument{ConnectionID: conn, Collection: coll, ExternalID: id, Day: day, Body: json.RawMessage(body)}
}

func allOutbox(t *testing.T, s OutboxReader) []store.OutboxRecord {
	t.Helper()
	recs, err := s.Outbox(ctxT(t))
	must(t, err)
	return recs
}

func getHealth(t *testing.T, s store.Store, q store.HealthQuery) []store.HealthDocument {
	t.Helper()
	docs, err := s.GetHealthDocuments(ctxT(t), q)
	must(t, err)
	return docs
}

// bodyVersion reads document_version from a stored body.
func bodyVersion(t *testing.T, body []byte) int {
	t.Helper()
	var v struct {
		DocumentVersion int `json:"document_version"`
	}
	must(t, json.Unmarshal(body, &v))
	return v.DocumentVersion
}

func recent(t *testing.T, what string, ts time.Time) {
	t.Helper()
	if ts.IsZero() || time.Since(ts) > time.Hour || time.Until(ts) > time.Hour {
		t.Fatalf("%s = %v, want about now", what, ts)
	}
	if ts.Location() != time.UTC {
		t.Fatalf("%s = %v, want UTC", what, ts)
	}
}

// tests: migrations

func testMigrateIsIdempotent(t *testing.T, s Store) {
	must(t, s.Migrate(ctxT(t)))
	res, err := s.RunMigrations(ctxT(t))
	must(t, err)
	if len(res.Applied) != 0 || len(res.RiverApplied) != 0 {
		t.Fatalf("a second migration applied %v and River %v", res.Applied, res.RiverApplied)
	}
	if res.Current < 1 || res.RiverCurrent < 1 {
		t.Fatalf("versions after migrating: %+v", res)
	}
	// The schema still works.
	mustClient(t, s, "c1")
}

// tests: clients and users

func testClients(t *testing.T, s Store) {
	ctx := ctxT(t)
	for _, id := range []string{"c2", "c1", "c3"} {
		mustClient(t, s, id)
	}
	c, err := s.GetClient(ctx, "c1")
	must(t, err)
	if c.UUID != "c1" || c.Name != "app c1" || string(c.SecretHash) != "hash-c1" || string(c.Settings) != `{"a":1}` {
		t.Fatalf("GetClient = %+v", c)
	}
	recent(t, "CreatedAt", c.CreatedAt)
	if !c.UpdatedAt.Equal(c.CreatedAt) {
		t.Fatalf("new client: UpdatedAt %v != CreatedAt %v", c.UpdatedAt, c.CreatedAt)
	}

	list, err := s.ListClients(ctx)
	must(t, err)
	var ids []string
	for _, c := range list {
		ids = append(ids, c.UUID)
	}
	if !slices.Equal(ids, []string{"c1", "c2", "c3"}) {
		t.Fatalf("ListClients = %v, want uuid order", ids)
	}

	time.Sleep(2 * time.Millisecond)
	must(t, s.UpdateClient(ctx, store.Client{UUID: "c1", Name: "renamed", Settings: json.RawMessage(`{"b":2}`)}))
	got, err := s.GetClient(ctx, "c1")
	must(t, err)
	if got.Name != "renamed" || string(got.Settings) != `{"b":2}` || string(got.SecretHash) != "hash-c1" {
		t.Fatalf("after update without a hash: %+v", got)
	}
	if !got.CreatedAt.Equal(c.CreatedAt) || !got.UpdatedAt.After(c.UpdatedAt) {
		t.Fatalf("times after update: created %v -> %v, updated %v -> %v", c.CreatedAt, got.CreatedAt, c.UpdatedAt, got.UpdatedAt)
	}
	must(t, s.UpdateClient(ctx, store.Client{UUID: "c1", Name: "renamed", SecretHash: []byte("new")}))
	got, err = s.GetClient(ctx, "c1")
	must(t, err)
	if string(got.SecretHash) != "new" || got.Settings != nil {
		t.Fatalf("after update with a hash and no settings: %+v", got)
	}

	must(t, s.DeleteClient(ctx, "c2"))
	_, err = s.GetClient(ctx, "c2")
	wantCode(t, err, health.ENOTFOUND)
	list, err = s.ListClients(ctx)
	must(t, err)
	if len(list) != 2 {
		t.Fatalf("%d clients after a delete, want 2", len(list))
	}
}

func testClientConflict(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	err := s.CreateClient(ctxT(t), store.Client{UUID: "c1", Name: "again"})
	wantCode(t, err, health.ECONFLICT)
	c, err := s.GetClient(ctxT(t), "c1")
	must(t, err)
	if c.Name != "app c1" {
		t.Fatalf("the conflicting create changed the client: %+v", c)
	}
}

func testClientNotFound(t *testing.T, s Store) {
	ctx := ctxT(t)
	_, err := s.GetClient(ctx, "nope")
	wantCode(t, err, health.ENOTFOUND)
	wantCode(t, s.UpdateClient(ctx, store.Client{UUID: "nope"}), health.ENOTFOUND)
	wantCode(t, s.DeleteClient(ctx, "nope"), health.ENOTFOUND)
	list, err := s.ListClients(ctx)
	must(t, err)
	if len(list) != 0 {
		t.Fatalf("ListClients on an empty store = %v", list)
	}
}

func testClientInvalid(t *testing.T, s Store) {
	wantCode(t, s.CreateClient(ctxT(t), store.Client{}), health.EINVALID)
	wantCode(t, s.CreateClient(ctxT(t), store.Client{UUID: "c", Settings: json.RawMessage(`{`)}), health.EINVALID)
}

func testUsers(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	u, err := s.UpsertUser(ctx, store.User{ClientUUID: "c1", UserID: "u-1", TimeZone: "Europe/Berlin", Info: json.RawMessage(`{"sex":"female"}`)})
	must(t, err)
	if u.UserID != "u-1" || u.TimeZone != "Europe/Berlin" || string(u.Info) != `{"sex":"female"}` {
		t.Fatalf("UpsertUser = %+v", u)
	}
	recent(t, "CreatedAt", u.CreatedAt)

	// Empty fields keep what is stored.
	u2, err := s.UpsertUser(ctx, store.User{ClientUUID: "c1", UserID: "u-1"})
	must(t, err)
	if u2.TimeZone != "Europe/Berlin" || string(u2.Info) != `{"sex":"female"}` || !u2.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("upsert with empty fields = %+v", u2)
	}
	u3, err := s.UpsertUser(ctx, store.User{ClientUUID: "c1", UserID: "u-1", TimeZone: "America/New_York"})
	must(t, err)
	if u3.TimeZone != "America/New_York" || string(u3.Info) != `{"sex":"female"}` {
		t.Fatalf("upsert of the time zone = %+v", u3)
	}
	got, err := s.GetUser(ctx, "c1", "u-1")
	must(t, err)
	if got.TimeZone != "America/New_York" || string(got.Info) != `{"sex":"female"}` || !got.CreatedAt.Equal(u.CreatedAt) {
		t.Fatalf("GetUser = %+v", got)
	}
}

func testUserErrors(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	_, err := s.UpsertUser(ctx, store.User{ClientUUID: "c1", UserID: "not valid!"})
	wantCode(t, err, health.EINVALID)
	_, err = s.UpsertUser(ctx, store.User{ClientUUID: "c1", UserID: "u1", TimeZone: "Mars/Olympus"})
	wantCode(t, err, health.EINVALID)
	_, err = s.UpsertUser(ctx, store.User{ClientUUID: "nope", UserID: "u1"})
	wantCode(t, err, health.ENOTFOUND)
	_, err = s.GetUser(ctx, "c1", "u1")
	wantCode(t, err, health.ENOTFOUND)
	_, err = s.GetUser(ctx, "nope", "u1")
	wantCode(t, err, health.ENOTFOUND)
}

func testListUsersPaging(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	for _, u := range []string{"u3", "u1", "u5", "u2", "u4"} {
		mustUser(t, s, "c1", u)
	}
	mustUser(t, s, "c2", "u0")
	ids := func(limit, offset int) []string {
		us, err := s.ListUsers(ctx, "c1", limit, offset)
		must(t, err)
		var out []string
		for _, u := range us {
			out = append(out, u.UserID)
		}
		return out
	}
	if got := ids(0, 0); !slices.Equal(got, []string{"u1", "u2", "u3", "u4", "u5"}) {
		t.Fatalf("ListUsers(no limit) = %v", got)
	}
	if got := ids(2, 0); !slices.Equal(got, []string{"u1", "u2"}) {
		t.Fatalf("ListUsers(2, 0) = %v", got)
	}
	if got := ids(2, 4); !slices.Equal(got, []string{"u5"}) {
		t.Fatalf("ListUsers(2, 4) = %v", got)
	}
	if got := ids(2, 10); len(got) != 0 {
		t.Fatalf("ListUsers past the end = %v", got)
	}
}

// tests: connections

func testConnections(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	// The user need not exist: linking creates it.
	c := mustConn(t, s, "c1", "u1")
	if c.ID <= 0 || c.Status != store.StatusActive || c.DataSource != "oura" {
		t.Fatalf("CreateConnection = %+v", c)
	}
	if c.Tokens.AccessToken != "access-u1" || c.Tokens.RefreshToken != "refresh-u1" ||
		!c.Tokens.Expiry.Equal(time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)) ||
		!slices.Equal(c.Tokens.Scopes, []string{"daily", "heartrate"}) {
		t.Fatalf("tokens = %+v", c.Tokens)
	}
	if c.Cursors == nil || len(c.Cursors) != 0 || !c.LastSyncAt.IsZero() {
		t.Fatalf("new connection cursors %v, last sync %v", c.Cursors, c.LastSyncAt)
	}
	recent(t, "CreatedAt", c.CreatedAt)
	if _, err := s.GetUser(ctx, "c1", "u1"); err != nil {
		t.Fatalf("the connection did not create its user: %v", err)
	}

	got, err := s.GetConnection(ctx, c.ID)
	must(t, err)
	if got.ID != c.ID || got.Tokens.AccessToken != "access-u1" || !got.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("GetConnection = %+v", got)
	}
	found, err := s.FindConnection(ctx, "c1", "u1", "oura")
	must(t, err)
	if found.ID != c.ID {
		t.Fatalf("FindConnection = %+v", found)
	}

	must(t, s.SetExternalUserID(ctx, c.ID, "oura-abc"))
	must(t, s.SetConnectionStatus(ctx, c.ID, store.StatusReauthRequired, "refresh failed: invalid_grant"))
	got, err = s.GetConnection(ctx, c.ID)
	must(t, err)
	if got.ExternalUserID != "oura-abc" || got.Status != store.StatusReauthRequired || got.LastError != "refresh failed: invalid_grant" {
		t.Fatalf("after updates: %+v", got)
	}
	wantCode(t, s.SetConnectionStatus(ctx, c.ID, "sleeping", ""), health.EINVALID)

	// A second connection gets another id.
	c2 := mustConn(t, s, "c1", "u2")
	if c2.ID == c.ID {
		t.Fatal("two connections share an id")
	}
}

func testConnectionRelink(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	must(t, s.SetExternalUserID(ctx, c.ID, "oura-abc"))
	must(t, s.SetCursors(ctx, c.ID, map[string]string{"sleep": "2024-01-01"}, time.Now()))
	must(t, s.SetConnectionStatus(ctx, c.ID, store.StatusRevoked, "revoked by user"))

	again, err := s.CreateConnection(ctx, store.Connection{ClientUUID: "c1", UserID: "u1", DataSource: "oura",
		Tokens: store.Tokens{AccessToken: "new-access", RefreshToken: "new-refresh"}})
	must(t, err)
	if again.ID != c.ID {
		t.Fatalf("relinking created connection %d, want the existing %d", again.ID, c.ID)
	}
	if again.Status != store.StatusActive || again.LastError != "" || again.Tokens.AccessToken != "new-access" ||
		again.Tokens.RefreshToken != "new-refresh" || !again.Tokens.Expiry.IsZero() || len(again.Tokens.Scopes) != 0 {
		t.Fatalf("relinked = %+v", again)
	}
	if again.ExternalUserID != "oura-abc" || again.Cursors["sleep"] != "2024-01-01" || !again.CreatedAt.Equal(c.CreatedAt) {
		t.Fatalf("relinking lost the external user id, the cursors or the creation time: %+v", again)
	}
	all, err := s.ListConnections(ctx, "")
	must(t, err)
	if len(all) != 1 {
		t.Fatalf("%d connections after a relink, want 1", len(all))
	}
}

// testConnectionStatusSwap: of concurrent swaps away from active, exactly
// one wins (the engine sends its lifecycle event once on that), and the
// paused statuses are valid ones.
func testConnectionStatusSwap(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	var won atomic.Int32
	var wg sync.WaitGroup
	const n = 8
	for range n {
		wg.Go(func() {
			ok, err := s.SwapConnectionStatus(ctx, c.ID, store.StatusActive, store.StatusSubscriptionRequired, "membership lapsed")
			if err != nil {
				t.Error(err)
			}
			if ok {
				won.Add(1)
			}
		})
	}
	wg.Wait()
	if w := won.Load(); w != 1 {
		t.Fatalf("%d of %d concurrent swaps won, want 1", w, n)
	}
	got, err := s.GetConnection(ctx, c.ID)
	must(t, err)
	if got.Status != store.StatusSubscriptionRequired || got.LastError != "membership lapsed" {
		t.Fatalf("after the swap: %+v", got)
	}
	ok, err := s.SwapConnectionStatus(ctx, c.ID, store.StatusAppUpdateRequired, store.StatusActive, "")
	if err != nil || ok {
		t.Fatalf("swap from a status the connection is not in = %v, %v; want false", ok, err)
	}
	ok, err = s.SwapConnectionStatus(ctx, c.ID, store.StatusSubscriptionRequired, store.StatusAppUpdateRequired, "update the app")
	if err != nil || !ok {
		t.Fatalf("swap between the paused statuses = %v, %v", ok, err)
	}
	if l, err := s.ListConnections(ctx, store.StatusAppUpdateRequired); err != nil || len(l) != 1 || l[0].ID != c.ID {
		t.Fatalf("ListConnections(app_update_required) = %v, %v", l, err)
	}
	_, err = s.SwapConnectionStatus(ctx, c.ID, store.StatusAppUpdateRequired, "sleeping", "")
	wantCode(t, err, health.EINVALID)
	_, err = s.SwapConnectionStatus(ctx, 12345, store.StatusActive, store.StatusRevoked, "")
	wantCode(t, err, health.ENOTFOUND)
}

func testConnectionNotFound(t *testing.T, s Store) {
	ctx := ctxT(t)
	_, err := s.CreateConnection(ctx, store.Connection{ClientUUID: "nope", UserID: "u1", DataSource: "oura"})
	wantCode(t, err, health.ENOTFOUND)
	// The store serves every provider: a connection must say whose it is.
	_, err = s.CreateConnection(ctx, store.Connection{ClientUUID: "nope", UserID: "u1"})
	wantCode(t, err, health.EINVALID)
	_, err = s.GetConnection(ctx, 12345)
	wantCode(t, err, health.ENOTFOUND)
	_, err = s.FindConnection(ctx, "c1", "u1", "oura")
	wantCode(t, err, health.ENOTFOUND)
	wantCode(t, s.UpdateTokens(ctx, 12345, store.Tokens{AccessToken: "a"}), health.ENOTFOUND)
	wantCode(t, s.SetConnectionStatus(ctx, 12345, store.StatusRevoked, ""), health.ENOTFOUND)
	wantCode(t, s.SetExternalUserID(ctx, 12345, "x"), health.ENOTFOUND)
	wantCode(t, s.SetCursors(ctx, 12345, map[string]string{"a": "b"}, time.Now()), health.ENOTFOUND)
	_, err = s.CreateConnection(ctx, store.Connection{ClientUUID: "c1", UserID: "bad id!"})
	wantCode(t, err, health.EINVALID)
}

func testConnectionsByExternalUser(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	a := mustConn(t, s, "c1", "u1")
	b := mustConn(t, s, "c2", "x9")
	other := mustConn(t, s, "c2", "u2")
	revoked := mustConn(t, s, "c1", "u3")
	for _, c := range []store.Connection{a, b, revoked} {
		must(t, s.SetExternalUserID(ctx, c.ID, "oura-1"))
	}
	must(t, s.SetExternalUserID(ctx, other.ID, "oura-2"))
	must(t, s.SetConnectionStatus(ctx, revoked.ID, store.StatusRevoked, ""))
	// The same account id at another provider is another account.
	elsewhere, err := s.CreateConnection(ctx, store.Connection{ClientUUID: "c1", UserID: "u1", DataSource: "whoop",
		Tokens: store.Tokens{AccessToken: "access-w", RefreshToken: "refresh-w"}})
	must(t, err)
	must(t, s.SetExternalUserID(ctx, elsewhere.ID, "oura-1"))

	got, err := s.ConnectionsByExternalUser(ctx, "oura", "oura-1")
	must(t, err)
	if len(got) != 2 || got[0].ID != a.ID || got[1].ID != b.ID {
		t.Fatalf("ConnectionsByExternalUser(oura-1) = %+v, want the two active ones in id order", got)
	}
	if got[1].Tokens.AccessToken != "access-x9" {
		t.Fatalf("tokens not opened: %+v", got[1].Tokens)
	}
	got, err = s.ConnectionsByExternalUser(ctx, "whoop", "oura-1")
	must(t, err)
	if len(got) != 1 || got[0].ID != elsewhere.ID {
		t.Fatalf("ConnectionsByExternalUser(whoop, oura-1) = %+v, want only the WHOOP connection", got)
	}
	got, err = s.ConnectionsByExternalUser(ctx, "oura", "oura-unknown")
	must(t, err)
	if len(got) != 0 {
		t.Fatalf("unknown Oura user: %+v", got)
	}
}

func testListConnectionsByStatus(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	var ids []int64
	for _, u := range []string{"u1", "u2", "u3", "u4"} {
		ids = append(ids, mustConn(t, s, "c1", u).ID)
	}
	must(t, s.SetConnectionStatus(ctx, ids[1], store.StatusReauthRequired, "x"))
	must(t, s.SetConnectionStatus(ctx, ids[3], store.StatusRevoked, ""))
	list := func(status string) []int64 {
		cs, err := s.ListConnections(ctx, status)
		must(t, err)
		var out []int64
		for _, c := range cs {
			out = append(out, c.ID)
		}
		return out
	}
	if got := list(""); !slices.Equal(got, ids) {
		t.Fatalf("ListConnections(\"\") = %v, want %v", got, ids)
	}
	if got := list(store.StatusActive); !slices.Equal(got, []int64{ids[0], ids[2]}) {
		t.Fatalf("active = %v", got)
	}
	if got := list(store.StatusReauthRequired); !slices.Equal(got, []int64{ids[1]}) {
		t.Fatalf("reauth_required = %v", got)
	}
	if got := list(store.StatusRevoked); !slices.Equal(got, []int64{ids[3]}) {
		t.Fatalf("revoked = %v", got)
	}
}

func testUpdateTokens(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	exp := time.Date(2031, 5, 6, 7, 8, 9, 123456789, time.FixedZone("x", 3600))
	must(t, s.UpdateTokens(ctx, c.ID, store.Tokens{AccessToken: "a2", RefreshToken: "r2", Expiry: exp, Scopes: []string{"email"}}))
	got, err := s.GetConnection(ctx, c.ID)
	must(t, err)
	if got.Tokens.AccessToken != "a2" || got.Tokens.RefreshToken != "r2" || !slices.Equal(got.Tokens.Scopes, []string{"email"}) {
		t.Fatalf("tokens = %+v", got.Tokens)
	}
	// Times are kept to the microsecond, in UTC.
	if want := exp.UTC().Truncate(time.Microsecond); !got.Tokens.Expiry.Equal(want) || got.Tokens.Expiry.Location() != time.UTC {
		t.Fatalf("expiry = %v, want %v", got.Tokens.Expiry, want)
	}
	if got.Status != c.Status || got.ExternalUserID != c.ExternalUserID {
		t.Fatalf("UpdateTokens changed more than the tokens: %+v", got)
	}
	// An empty refresh token (a grant without one) stays empty.
	must(t, s.UpdateTokens(ctx, c.ID, store.Tokens{AccessToken: "a3"}))
	got, err = s.GetConnection(ctx, c.ID)
	must(t, err)
	if got.Tokens.AccessToken != "a3" || got.Tokens.RefreshToken != "" || !got.Tokens.Expiry.IsZero() {
		t.Fatalf("tokens = %+v", got.Tokens)
	}
}

func testTokensSealedAtRest(t *testing.T, s Store) {
	r := s
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	check := func(access, refresh string) {
		t.Helper()
		a, rf, err := r.SealedTokens(ctx, c.ID)
		must(t, err)
		if len(a) == 0 || len(rf) == 0 {
			t.Fatalf("token columns empty: %x %x", a, rf)
		}
		for _, col := range [][]byte{a, rf} {
			for _, tok := range []string{access, refresh} {
				if bytes.Contains(col, []byte(tok)) {
					t.Fatalf("a token column holds %q in clear", tok)
				}
			}
		}
	}
	check("access-u1", "refresh-u1")
	must(t, s.UpdateTokens(ctx, c.ID, store.Tokens{AccessToken: "rotated-access-token", RefreshToken: "rotated-refresh-token"}))
	check("rotated-access-token", "rotated-refresh-token")
}

func testCursors(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	t1 := time.Date(2024, 3, 1, 10, 0, 0, 0, time.UTC)
	must(t, s.SetCursors(ctx, c.ID, map[string]string{"sleep": "2024-02-01", "daily_activity": "2024-02-02"}, t1))
	t2 := t1.Add(time.Hour)
	must(t, s.SetCursors(ctx, c.ID, map[string]string{"sleep": "2024-02-10", "daily_activity": "", "heartrate": "x"}, t2))
	got, err := s.GetConnection(ctx, c.ID)
	must(t, err)
	want := map[string]string{"sleep": "2024-02-10", "heartrate": "x"}
	if !mapsEqual(got.Cursors, want) || !got.LastSyncAt.Equal(t2) {
		t.Fatalf("cursors %v at %v, want %v at %v", got.Cursors, got.LastSyncAt, want, t2)
	}
	// A zero sync time keeps the recorded one.
	must(t, s.SetCursors(ctx, c.ID, map[string]string{"tag": "t"}, time.Time{}))
	got, err = s.GetConnection(ctx, c.ID)
	must(t, err)
	want["tag"] = "t"
	if !mapsEqual(got.Cursors, want) || !got.LastSyncAt.Equal(t2) {
		t.Fatalf("cursors %v at %v, want %v at %v", got.Cursors, got.LastSyncAt, want, t2)
	}
	// Deleting a key that is not there is fine.
	must(t, s.SetCursors(ctx, c.ID, map[string]string{"never": ""}, t2))
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testCursorsConcurrent(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			for j := range 5 {
				if err := s.SetCursors(ctx, c.ID, map[string]string{fmt.Sprint("k", i): fmt.Sprint(j)}, time.Now()); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, err := s.GetConnection(ctx, c.ID)
	must(t, err)
	for i := range n {
		if got.Cursors[fmt.Sprint("k", i)] != "4" {
			t.Fatalf("concurrent merges lost an update: %v", got.Cursors)
		}
	}
}

// tests: raw documents

func testRawIdempotent(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	fetched := time.Date(2024, 5, 1, 8, 0, 0, 0, time.UTC)
	docs := []store.RawDocument{
		rawDoc(c.ID, "daily_sleep", "a", "2024-04-30", `{"id":"a","score":80}`),
		rawDoc(c.ID, "sleep", "b", "2024-04-30", `{"id":"b"}`),
		rawDoc(c.ID, "personal_info", "p", "", `{"id":"p","age":40}`),
	}
	docs[0].FetchedAt = fetched
	w, err := s.PutRawDocuments(ctx, docs)
	must(t, err)
	if w.Inserted != 3 || w.Updated != 0 || w.Unchanged != 0 || !slices.Equal(w.ChangedDays, []string{"2024-04-30"}) {
		t.Fatalf("first put = %+v", w)
	}
	before, err := s.RawDocuments(ctx, c.ID, nil, "", "")
	must(t, err)

	time.Sleep(2 * time.Millisecond)
	w, err = s.PutRawDocuments(ctx, docs)
	must(t, err)
	if w.Inserted != 0 || w.Updated != 0 || w.Unchanged != 3 || len(w.ChangedDays) != 0 {
		t.Fatalf("same bytes again = %+v", w)
	}
	after, err := s.RawDocuments(ctx, c.ID, nil, "", "")
	must(t, err)
	for i := range before {
		if !before[i].UpdatedAt.Equal(after[i].UpdatedAt) || !before[i].FetchedAt.Equal(after[i].FetchedAt) {
			t.Fatalf("an unchanged document was written: %+v -> %+v", before[i], after[i])
		}
	}

	changed := rawDoc(c.ID, "daily_sleep", "a", "2024-04-30", `{"id":"a","score":81}`)
	w, err = s.PutRawDocuments(ctx, []store.RawDocument{changed, docs[1]})
	must(t, err)
	if w.Inserted != 0 || w.Updated != 1 || w.Unchanged != 1 || !slices.Equal(w.ChangedDays, []string{"2024-04-30"}) {
		t.Fatalf("changed bytes = %+v", w)
	}
	got, err := s.RawDocuments(ctx, c.ID, []string{"daily_sleep"}, "", "")
	must(t, err)
	if len(got) != 1 || string(got[0].Body) != `{"id":"a","score":81}` {
		t.Fatalf("stored = %+v", got)
	}
	sum := sha256Sum([]byte(`{"id":"a","score":81}`))
	if !bytes.Equal(got[0].Hash, sum) {
		t.Fatalf("hash %x, want SHA-256 of the body %x", got[0].Hash, sum)
	}
	if !got[0].FetchedAt.Equal(fetched) || !got[0].UpdatedAt.After(before[1].UpdatedAt) {
		t.Fatalf("times after an update: fetched %v (want %v), updated %v (before %v)", got[0].FetchedAt, fetched, got[0].UpdatedAt, before[1].UpdatedAt)
	}
	counts, err := s.CountRawDocuments(ctx, c.ID)
	must(t, err)
	if !mapsEqualInt(counts, map[string]int{"daily_sleep": 1, "sleep": 1, "personal_info": 1}) {
		t.Fatalf("CountRawDocuments = %v", counts)
	}
}

func mapsEqualInt(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testRawChangedDays(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	_, err := s.PutRawDocuments(ctx, []store.RawDocument{
		rawDoc(c.ID, "sleep", "s1", "2024-01-03", `{"v":1}`),
		rawDoc(c.ID, "sleep", "s2", "2024-01-01", `{"v":1}`),
		rawDoc(c.ID, "workout", "w1", "2024-01-05", `{"v":1}`),
	})
	must(t, err)
	w, err := s.PutRawDocuments(ctx, []store.RawDocument{
		rawDoc(c.ID, "sleep", "s1", "2024-01-03", `{"v":2}`),   // updated
		rawDoc(c.ID, "sleep", "s2", "2024-01-01", `{"v":1}`),   // unchanged
		rawDoc(c.ID, "daily", "d1", "2024-01-02", `{"v":1}`),   // inserted
		rawDoc(c.ID, "daily", "d2", "2024-01-03", `{"v":1}`),   // inserted, same day as s1
		rawDoc(c.ID, "workout", "w1", "2024-01-06", `{"v":2}`), // moved: both days change
		rawDoc(c.ID, "personal_info", "p", "", `{"v":1}`),      // no day
		rawDoc(c.ID, "heartrate", "2024-01-04T00:00:00+00:00", "2024-01-04", `{"bpm":60}`),
	})
	must(t, err)
	want := []string{"2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"}
	if w.Inserted != 4 || w.Updated != 2 || w.Unchanged != 1 || !slices.Equal(w.ChangedDays, want) {
		t.Fatalf("PutRawDocuments = %+v, want 4/2/1 and days %v", w, want)
	}
}

func testRawQuery(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	other := mustConn(t, s, "c1", "u2")
	_, err := s.PutRawDocuments(ctx, []store.RawDocument{
		rawDoc(c.ID, "sleep", "s3", "2024-01-03", `{}`),
		rawDoc(c.ID, "sleep", "s1", "2024-01-01", `{}`),
		rawDoc(c.ID, "daily_sleep", "d2", "2024-01-02", `{}`),
		rawDoc(c.ID, "daily_sleep", "d1", "2024-01-01", `{}`),
		rawDoc(c.ID, "personal_info", "p", "", `{}`),
		rawDoc(other.ID, "sleep", "x", "2024-01-02", `{}`),
	})
	must(t, err)
	ids := func(colls []string, from, to string) []string {
		docs, err := s.RawDocuments(ctx, c.ID, colls, from, to)
		must(t, err)
		var out []string
		for _, d := range docs {
			out = append(out, d.ExternalID)
		}
		return out
	}
	// Order: day (dayless first), collection, id.
	if got := ids(nil, "", ""); !slices.Equal(got, []string{"p", "d1", "s1", "d2", "s3"}) {
		t.Fatalf("all = %v", got)
	}
	if got := ids(nil, "2024-01-02", "2024-01-03"); !slices.Equal(got, []string{"p", "d2", "s3"}) {
		t.Fatalf("2024-01-02..03 = %v", got)
	}
	if got := ids(nil, "2024-01-02", ""); !slices.Equal(got, []string{"p", "d2", "s3"}) {
		t.Fatalf("from 2024-01-02 = %v", got)
	}
	if got := ids(nil, "", "2024-01-01"); !slices.Equal(got, []string{"p", "d1", "s1"}) {
		t.Fatalf("to 2024-01-01 = %v", got)
	}
	if got := ids([]string{"sleep"}, "", ""); !slices.Equal(got, []string{"s1", "s3"}) {
		t.Fatalf("sleep = %v", got)
	}
	if got := ids([]string{"sleep", "personal_info"}, "2024-01-02", "2024-01-09"); !slices.Equal(got, []string{"p", "s3"}) {
		t.Fatalf("sleep and personal_info from 2024-01-02 = %v", got)
	}
	if got := ids([]string{"nothing"}, "", ""); len(got) != 0 {
		t.Fatalf("unknown collection = %v", got)
	}
	docs, err := s.RawDocuments(ctx, 99999, nil, "", "")
	must(t, err)
	if len(docs) != 0 {
		t.Fatalf("unknown connection = %v", docs)
	}
	n, err := s.CountRawDocuments(ctx, 99999)
	must(t, err)
	if len(n) != 0 {
		t.Fatalf("count of an unknown connection = %v", n)
	}
}

func testRawBatch(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	const n = 600
	docs := make([]store.RawDocument, n)
	for i := range docs {
		day := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i/4).Format(time.DateOnly)
		docs[i] = rawDoc(c.ID, "heartrate", fmt.Sprintf("%s-%d", day, i), day, fmt.Sprintf(`{"bpm":%d,"i":%d}`, 50+i%40, i))
	}
	w, err := s.PutRawDocuments(ctx, docs)
	must(t, err)
	if w.Inserted != n || len(w.ChangedDays) != n/4 {
		t.Fatalf("batch insert = %d inserted, %d days", w.Inserted, len(w.ChangedDays))
	}
	for i := 0; i < n; i += 10 {
		docs[i].Body = json.RawMessage(fmt.Sprintf(`{"bpm":0,"i":%d}`, i))
	}
	w, err = s.PutRawDocuments(ctx, docs)
	must(t, err)
	if w.Inserted != 0 || w.Updated != n/10 || w.Unchanged != n-n/10 {
		t.Fatalf("batch update = %+v", w)
	}
	got, err := s.CountRawDocuments(ctx, c.ID)
	must(t, err)
	if got["heartrate"] != n {
		t.Fatalf("count = %v", got)
	}
}

func testRawDuplicateInBatch(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	w, err := s.PutRawDocuments(ctx, []store.RawDocument{
		rawDoc(c.ID, "sleep", "a", "2024-01-01", `{"v":1}`),
		rawDoc(c.ID, "sleep", "a", "2024-01-01", `{"v":2}`),
	})
	must(t, err)
	if w.Inserted != 1 || w.Updated+w.Unchanged != 0 {
		t.Fatalf("duplicate in one batch = %+v, want one insert", w)
	}
	docs, err := s.RawDocuments(ctx, c.ID, nil, "", "")
	must(t, err)
	if len(docs) != 1 || string(docs[0].Body) != `{"v":2}` {
		t.Fatalf("stored = %+v, want the last copy", docs)
	}
}

func testRawErrors(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	_, err := s.PutRawDocuments(ctx, []store.RawDocument{
		rawDoc(c.ID, "sleep", "ok", "2024-01-01", `{}`),
		rawDoc(99999, "sleep", "a", "2024-01-01", `{}`),
	})
	wantCode(t, err, health.ENOTFOUND)
	n, err := s.CountRawDocuments(ctx, c.ID)
	must(t, err)
	if len(n) != 0 {
		t.Fatalf("a failed batch wrote %v", n)
	}
	for _, d := range []store.RawDocument{
		rawDoc(c.ID, "", "a", "", `{}`),
		rawDoc(c.ID, "sleep", "", "", `{}`),
		rawDoc(c.ID, "sleep", "a", "", `{`),
		rawDoc(c.ID, "sleep", "a", "yesterday", `{}`),
	} {
		_, err := s.PutRawDocuments(ctx, []store.RawDocument{d})
		wantCode(t, err, health.EINVALID)
	}
	w, err := s.PutRawDocuments(ctx, nil)
	must(t, err)
	if w.Inserted+w.Updated+w.Unchanged != 0 || w.ChangedDays != nil {
		t.Fatalf("empty put = %+v", w)
	}
}

// testRawDelete: DeleteRawDocument removes exactly the document named by
// (connection, collection, id), returns it as it was stored, and a second
// delete, like a delete of what was never stored, is ENOTFOUND and changes
// nothing.
func testRawDelete(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	c := mustConn(t, s, "c1", "u1")
	other := mustConn(t, s, "c1", "u2")
	_, err := s.PutRawDocuments(ctx, []store.RawDocument{
		rawDoc(c.ID, "sleep", "a", "2024-01-02", `{"id":"a"}`),
		rawDoc(c.ID, "sleep", "b", "2024-01-02", `{"id":"b"}`),
		rawDoc(c.ID, "workout", "a", "2024-01-02", `{"id":"a","w":1}`),
		rawDoc(c.ID, "personal_info", "p", "", `{"id":"p"}`),
		rawDoc(other.ID, "sleep", "a", "2024-01-02", `{"id":"a"}`),
	})
	must(t, err)
	stored, err := s.RawDocument(ctx, c.ID, "sleep", "a")
	must(t, err)
	if stored.Day != "2024-01-02" || string(stored.Body) != `{"id":"a"}` || len(stored.Hash) == 0 {
		t.Fatalf("RawDocument = %+v", stored)
	}

	got, err := s.DeleteRawDocument(ctx, c.ID, "sleep", "a")
	must(t, err)
	if got.ConnectionID != c.ID || got.Collection != "sleep" || got.ExternalID != "a" || got.Day != "2024-01-02" ||
		string(got.Body) != `{"id":"a"}` || !bytes.Equal(got.Hash, stored.Hash) || !got.UpdatedAt.Equal(stored.UpdatedAt) {
		t.Fatalf("deleted %+v, stored was %+v", got, stored)
	}
	_, err = s.RawDocument(ctx, c.ID, "sleep", "a")
	wantCode(t, err, health.ENOTFOUND)
	left, err := s.RawDocuments(ctx, c.ID, nil, "", "")
	must(t, err)
	var ids []string
	for _, d := range left {
		ids = append(ids, d.Collection+"/"+d.ExternalID)
	}
	if want := "personal_info/p sleep/b workout/a"; strings.Join(ids, " ") != want {
		t.Fatalf("left %v, want %s", ids, want)
	}
	if n, err := s.CountRawDocuments(ctx, other.ID); err != nil || n["sleep"] != 1 {
		t.Fatalf("the other connection's documents: %v %v", n, err)
	}

	// Again, and what was never there: not found, nothing changes.
	_, err = s.DeleteRawDocument(ctx, c.ID, "sleep", "a")
	wantCode(t, err, health.ENOTFOUND)
	_, err = s.DeleteRawDocument(ctx, c.ID, "sleep", "never")
	wantCode(t, err, health.ENOTFOUND)
	_, err = s.DeleteRawDocument(ctx, 99999, "sleep", "b")
	wantCode(t, err, health.ENOTFOUND)
	if n, err := s.CountRawDocuments(ctx, c.ID); err != nil || n["sleep"] != 1 || n["workout"] != 1 || n["personal_info"] != 1 {
		t.Fatalf("after deletes of missing documents: %v %v", n, err)
	}

	// An undated document is deleted the same way, its Day "".
	got, err = s.DeleteRawDocument(ctx, c.ID, "personal_info", "p")
	must(t, err)
	if got.Day != "" || got.ExternalID != "p" {
		t.Fatalf("deleted undated %+v", got)
	}

	// A document stored again after its delete is new.
	w, err := s.PutRawDocuments(ctx, []store.RawDocument{rawDoc(c.ID, "sleep", "a", "2024-01-03", `{"id":"a"}`)})
	must(t, err)
	if w.Inserted != 1 || strings.Join(w.ChangedDays, ",") != "2024-01-03" {
		t.Fatalf("stored again: %+v", w)
	}
}

// tests: health documents

func testHealthInsert(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	d := sleepDoc("c1", "u1", "2024-01-01", 100)
	w := apply(t, s, in("2024-01-01", d))
	if counts(w) != [3]int{1, 0, 0} {
		t.Fatalf("insert = %+v", w)
	}
	if d.DocumentVersion != 1 {
		t.Fatalf("the caller's doc has document_version %d, want 1", d.DocumentVersion)
	}
	ob := allOutbox(t, s)
	if len(ob) != 1 {
		t.Fatalf("outbox = %+v, want one record", ob)
	}
	rec := ob[0]
	if rec.ID <= 0 || rec.ClientUUID != "c1" || rec.UserID != "u1" || rec.DataStructure != health.SleepSummary ||
		rec.Pillar != health.PillarSleep || rec.Day != "2024-01-01" || rec.Key != "2024-01-01" || rec.Version != 1 {
		t.Fatalf("outbox record = %+v", rec)
	}
	recent(t, "outbox CreatedAt", rec.CreatedAt)

	docs := getHealth(t, s, store.HealthQuery{ClientUUID: "c1", UserID: "u1"})
	if len(docs) != 1 {
		t.Fatalf("stored %d documents", len(docs))
	}
	got := docs[0]
	want, err := json.Marshal(d)
	must(t, err)
	if !bytes.Equal(got.Body, want) {
		t.Fatalf("body\n%s\nwant json.Marshal of the doc\n%s", got.Body, want)
	}
	if got.Version != 1 || bodyVersion(t, got.Body) != 1 || got.Day != "2024-01-01" || got.Key != "2024-01-01" ||
		got.DataStructure != health.SleepSummary || got.Pillar != health.PillarSleep || len(got.Hash) != 32 {
		t.Fatalf("stored = %+v", got)
	}
	recent(t, "CreatedAt", got.CreatedAt)
	// The body decodes to the document.
	back, err := health.Decode(health.Document{DataStructure: got.DataStructure, Pillar: got.Pillar, Day: got.Day, Body: got.Body})
	must(t, err)
	if *back.(*health.SleepSummaryDocument).Summary.Duration.SleepDurationSeconds != 100 {
		t.Fatalf("decoded = %+v", back)
	}
}

func testHealthUnchanged(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	apply(t, s, in("2024-01-01", sleepDoc("c1", "u1", "2024-01-01", 100)))
	before := getHealth(t, s, store.HealthQuery{ClientUUID: "c1"})
	time.Sleep(2 * time.Millisecond)
	d := sleepDoc("c1", "u1", "2024-01-01", 100) // a fresh, equal document
	w := apply(t, s, in("2024-01-01", d))
	if counts(w) != [3]int{0, 0, 1} {
		t.Fatalf("unchanged = %+v", w)
	}
	if d.DocumentVersion != 1 {
		t.Fatalf("an unchanged doc ends with document_version %d, want the stored 1", d.DocumentVersion)
	}
	after := getHealth(t, s, store.HealthQuery{ClientUUID: "c1"})
	if !bytes.Equal(before[0].Body, after[0].Body) || !before[0].UpdatedAt.Equal(after[0].UpdatedAt) || after[0].Version != 1 {
		t.Fatalf("an unchanged document was rewritten: %+v -> %+v", before[0], after[0])
	}
	if n := len(allOutbox(t, s)); n != 1 {
		t.Fatalf("%d outbox records, want 1", n)
	}
}

func testHealthHashIgnoresVersion(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	apply(t, s, in("k", sleepDoc("c1", "u1", "2024-01-01", 100)))
	for _, v := range []int{0, 1, 7, 1000} {
		d := sleepDoc("c1", "u1", "2024-01-01", 100)
		d.DocumentVersion = v
		if w := apply(t, s, in("k", d)); counts(w) != [3]int{0, 0, 1} {
			t.Fatalf("same content with document_version %d = %+v, want unchanged", v, w)
		}
	}
	docs := getHealth(t, s, store.HealthQuery{ClientUUID: "c1"})
	if docs[0].Version != 1 || bodyVersion(t, docs[0].Body) != 1 {
		t.Fatalf("version = %d, body %s", docs[0].Version, docs[0].Body)
	}
	// A stored document read back and applied again is unchanged too.
	back, err := health.Decode(health.Document{DataStructure: docs[0].DataStructure, Pillar: docs[0].Pillar, Day: docs[0].Day, Body: docs[0].Body})
	must(t, err)
	if w := apply(t, s, in("k", back)); counts(w) != [3]int{0, 0, 1} {
		t.Fatalf("the stored document applied again = %+v", w)
	}
}

func testHealthVersionBump(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	apply(t, s, in("k", sleepDoc("c1", "u1", "2024-01-01", 100)))
	first := getHealth(t, s, store.HealthQuery{ClientUUID: "c1"})[0]
	time.Sleep(2 * time.Millisecond)
	for v := 2; v <= 4; v++ {
		d := sleepDoc("c1", "u1", "2024-01-01", 100+v)
		d.DocumentVersion = 99 // whatever the caller set is replaced
		w := apply(t, s, in("k", d))
		if counts(w) != [3]int{0, 1, 0} {
			t.Fatalf("change %d = %+v", v, w)
		}
		if ob := allOutbox(t, s); len(ob) != v || ob[v-1].Version != v {
			t.Fatalf("change %d: outbox %+v", v, ob)
		}
		if d.DocumentVersion != v {
			t.Fatalf("doc version %d, want %d", d.DocumentVersion, v)
		}
		got := getHealth(t, s, store.HealthQuery{ClientUUID: "c1"})
		if len(got) != 1 || got[0].Version != v || bodyVersion(t, got[0].Body) != v {
			t.Fatalf("after change %d: %+v", v, got)
		}
		want, _ := json.Marshal(d)
		if !bytes.Equal(got[0].Body, want) {
			t.Fatalf("body %s, want %s", got[0].Body, want)
		}
		if !got[0].CreatedAt.Equal(first.CreatedAt) || !got[0].UpdatedAt.After(first.UpdatedAt) {
			t.Fatalf("times: created %v (first %v), updated %v", got[0].CreatedAt, first.CreatedAt, got[0].UpdatedAt)
		}
		if bytes.Equal(got[0].Hash, first.Hash) {
			t.Fatal("the hash did not change with the content")
		}
	}
	ob := allOutbox(t, s)
	if len(ob) != 4 {
		t.Fatalf("%d outbox records, want 4", len(ob))
	}
	for i, r := range ob {
		if r.Version != i+1 || (i > 0 && r.ID <= ob[i-1].ID) {
			t.Fatalf("outbox = %+v", ob)
		}
	}
}

func testHealthPillarsDistinct(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	w := apply(t, s,
		in("2024-01-01", hrDoc("c1", "u1", "2024-01-01", true, 60)),
		in("2024-01-01", hrDoc("c1", "u1", "2024-01-01", false, 60)),
	)
	if counts(w) != [3]int{2, 0, 0} {
		t.Fatalf("same name, two pillars = %+v", w)
	}
	phys := getHealth(t, s, store.HealthQuery{ClientUUID: "c1", UserID: "u1", DataStructure: health.HeartRateEvent, Pillar: health.PillarPhysical})
	body := getHealth(t, s, store.HealthQuery{ClientUUID: "c1", UserID: "u1", DataStructure: health.HeartRateEvent, Pillar: health.PillarBody})
	if len(phys) != 1 || len(body) != 1 || phys[0].Pillar != health.PillarPhysical || body[0].Pillar != health.PillarBody {
		t.Fatalf("physical %+v body %+v", phys, body)
	}
	n, err := s.CountHealthDocuments(ctxT(t), "c1")
	must(t, err)
	if n[health.HeartRateEvent] != 2 {
		t.Fatalf("CountHealthDocuments = %v", n)
	}
}

func testHealthQuery(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	for _, u := range []string{"u1", "u2"} {
		mustUser(t, s, "c1", u)
	}
	mustUser(t, s, "c2", "u1")
	var docs []store.HealthInput
	for _, day := range []string{"2024-01-03", "2024-01-01", "2024-01-02"} {
		docs = append(docs,
			in(day, sleepDoc("c1", "u1", day, 1)),
			in(day, hrDoc("c1", "u1", day, true, 60)),
			in(day, sleepDoc("c1", "u2", day, 2)),
			in(day, sleepDoc("c2", "u1", day, 3)),
		)
	}
	// An event keyed by its source document, two on one day.
	docs = append(docs, in("workout:b", hrDoc("c1", "u1", "2024-01-02", false, 90)), in("workout:a", hrDoc("c1", "u1", "2024-01-02", false, 80)))
	w := apply(t, s, docs...)
	if w.Inserted != len(docs) {
		t.Fatalf("inserted %d of %d", w.Inserted, len(docs))
	}
	type row struct{ user, day, ds, pillar, key string }
	q := func(q store.HealthQuery) []row {
		var out []row
		for _, d := range getHealth(t, s, q) {
			out = append(out, row{d.UserID, d.Day, d.DataStructure, d.Pillar, d.Key})
		}
		return out
	}
	got := q(store.HealthQuery{ClientUUID: "c1", UserID: "u1", Day: "2024-01-02"})
	want := []row{
		{"u1", "2024-01-02", health.HeartRateEvent, health.PillarBody, "workout:a"},
		{"u1", "2024-01-02", health.HeartRateEvent, health.PillarBody, "workout:b"},
		{"u1", "2024-01-02", health.HeartRateEvent, health.PillarPhysical, "2024-01-02"},
		{"u1", "2024-01-02", health.SleepSummary, health.PillarSleep, "2024-01-02"},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("one day =\n%v\nwant (day, data structure, pillar, key) order\n%v", got, want)
	}
	got = q(store.HealthQuery{ClientUUID: "c1", UserID: "u1", DataStructure: health.SleepSummary})
	if len(got) != 3 || got[0].day != "2024-01-01" || got[2].day != "2024-01-03" {
		t.Fatalf("sleep_summary of every day = %v", got)
	}
	got = q(store.HealthQuery{ClientUUID: "c1", UserID: "u1", DataStructure: health.SleepSummary, FromDay: "2024-01-02", ToDay: "2024-01-03"})
	if len(got) != 2 || got[0].day != "2024-01-02" {
		t.Fatalf("range = %v", got)
	}
	got = q(store.HealthQuery{ClientUUID: "c1", UserID: "u1", DataStructure: health.SleepSummary, FromDay: "2024-01-02"})
	if len(got) != 2 {
		t.Fatalf("open range = %v", got)
	}
	got = q(store.HealthQuery{ClientUUID: "c1", UserID: "u1", DataStructure: health.SleepSummary, Day: "2024-01-01", FromDay: "2024-01-02", ToDay: "2024-01-03"})
	if len(got) != 1 || got[0].day != "2024-01-01" {
		t.Fatalf("Day wins over the range: %v", got)
	}
	got = q(store.HealthQuery{ClientUUID: "c1", Pillar: health.PillarSleep})
	if len(got) != 6 || got[0].user != "u1" || got[5].user != "u2" {
		t.Fatalf("every user of c1 = %v", got)
	}
	if got := q(store.HealthQuery{ClientUUID: "c1", UserID: "nobody"}); len(got) != 0 {
		t.Fatalf("unknown user = %v", got)
	}
	_, err := s.GetHealthDocuments(ctx, store.HealthQuery{UserID: "u1"})
	wantCode(t, err, health.EINVALID)

	n, err := s.CountHealthDocuments(ctx, "c1")
	must(t, err)
	if !mapsEqualInt(n, map[string]int{health.SleepSummary: 6, health.HeartRateEvent: 5}) {
		t.Fatalf("CountHealthDocuments(c1) = %v", n)
	}
}

func testHealthAtomic(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	apply(t, s, in("a", sleepDoc("c1", "u1", "2024-01-01", 1)))
	good := sleepDoc("c1", "u1", "2024-01-01", 2)
	_, err := s.ApplyHealthDocuments(ctxT(t), []store.HealthInput{
		in("a", good), // would be version 2
		in("b", sleepDoc("c1", "nobody", "2024-01-01", 1)),
	})
	wantCode(t, err, health.ENOTFOUND)
	if good.DocumentVersion != 0 {
		t.Fatalf("a failed apply left document_version %d on the caller's doc", good.DocumentVersion)
	}
	docs := getHealth(t, s, store.HealthQuery{ClientUUID: "c1"})
	if len(docs) != 1 || docs[0].Version != 1 {
		t.Fatalf("a failed batch changed the store: %+v", docs)
	}
	if n := len(allOutbox(t, s)); n != 1 {
		t.Fatalf("%d outbox records after a failed batch, want 1", n)
	}
	// The same batch without the bad document goes through.
	if w := apply(t, s, in("a", good)); counts(w) != [3]int{0, 1, 0} || good.DocumentVersion != 2 {
		t.Fatalf("retry = %+v, version %d", w, good.DocumentVersion)
	}
}

func testHealthErrors(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	for name, hi := range map[string]store.HealthInput{
		"no key":     in("", sleepDoc("c1", "u1", "2024-01-01", 1)),
		"no doc":     {Key: "k"},
		"no client":  in("k", sleepDoc("", "u1", "2024-01-01", 1)),
		"bad user":   in("k", sleepDoc("c1", "bad user!", "2024-01-01", 1)),
		"bad day":    in("k", sleepDoc("c1", "u1", "Jan 1", 1)),
		"empty day":  in("k", sleepDoc("c1", "u1", "", 1)),
		"no version": in("k", sleepDoc("c1", "u1", "2024-01-01", 1)), // valid: the store sets the version
	} {
		_, err := s.ApplyHealthDocuments(ctx, []store.HealthInput{hi})
		if name == "no version" {
			must(t, err)
			continue
		}
		if health.ErrorCode(err) != health.EINVALID {
			t.Fatalf("%s: err = %v, want EINVALID", name, err)
		}
	}
	_, err := s.ApplyHealthDocuments(ctx, []store.HealthInput{in("k", sleepDoc("nope", "u1", "2024-01-01", 1))})
	wantCode(t, err, health.ENOTFOUND)
	w, err := s.ApplyHealthDocuments(ctx, nil)
	must(t, err)
	if counts(w) != [3]int{} {
		t.Fatalf("empty apply = %+v", w)
	}
}

func testHealthDuplicateInBatch(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	w := apply(t, s, in("k", sleepDoc("c1", "u1", "2024-01-01", 1)), in("k", sleepDoc("c1", "u1", "2024-01-01", 2)))
	if counts(w) != [3]int{1, 0, 0} || len(allOutbox(t, s)) != 1 {
		t.Fatalf("a key twice in one batch = %+v, want the last copy inserted once", w)
	}
	docs := getHealth(t, s, store.HealthQuery{ClientUUID: "c1"})
	back, err := health.Decode(health.Document{DataStructure: docs[0].DataStructure, Pillar: docs[0].Pillar, Day: docs[0].Day, Body: docs[0].Body})
	must(t, err)
	if *back.(*health.SleepSummaryDocument).Summary.Duration.SleepDurationSeconds != 2 {
		t.Fatalf("stored %s, want the last copy", docs[0].Body)
	}
}

// testHealthConcurrentSameKey: several writers apply the same document at
// once, round after round; each real change must give exactly one new
// version and one outbox record, however the writers interleave.
func testHealthConcurrentSameKey(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	const writers, rounds = 6, 5
	for round := 1; round <= rounds; round++ {
		var wg sync.WaitGroup
		var mu sync.Mutex
		var total store.HealthWrite
		start := make(chan struct{})
		for range writers {
			wg.Go(func() {
				<-start
				w, err := s.ApplyHealthDocuments(ctxT(t), []store.HealthInput{
					in("k", sleepDoc("c1", "u1", "2024-01-01", round)),
					in("other", sleepDoc("c1", "u1", "2024-01-02", round)),
				})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				total.Inserted += w.Inserted
				total.Updated += w.Updated
				total.Unchanged += w.Unchanged
				mu.Unlock()
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
		wantIns, wantUpd := 2, 0
		if round > 1 {
			wantIns, wantUpd = 0, 2
		}
		ob := allOutbox(t, s)
		if total.Inserted != wantIns || total.Updated != wantUpd || total.Unchanged != 2*writers-2 || len(ob) != 2*round {
			t.Fatalf("round %d: %d inserted, %d updated, %d unchanged, %d outbox records; want %d, %d, %d, %d",
				round, total.Inserted, total.Updated, total.Unchanged, len(ob), wantIns, wantUpd, 2*writers-2, 2*round)
		}
		for _, r := range ob[2*round-2:] {
			if r.Version != round {
				t.Fatalf("round %d: outbox record %+v, want version %d", round, r, round)
			}
		}
		for _, d := range getHealth(t, s, store.HealthQuery{ClientUUID: "c1"}) {
			if d.Version != round || bodyVersion(t, d.Body) != round {
				t.Fatalf("round %d: %s at version %d", round, d.Key, d.Version)
			}
		}
	}
	if n := len(allOutbox(t, s)); n != 2*rounds {
		t.Fatalf("%d outbox records, want %d", n, 2*rounds)
	}
}

// testHealthConcurrentBatches: writers apply overlapping batches in
// different orders (a deadlock risk for row locks taken in input order).
func testHealthConcurrentBatches(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	mustUser(t, s, "c1", "u2")
	const writers, keys = 4, 20
	var wg sync.WaitGroup
	for wi := range writers {
		wg.Go(func() {
			for round := range 3 {
				var batch []store.HealthInput
				for k := range keys {
					kk := (k*7 + wi*3) % keys // a different order per writer
					user := []string{"u1", "u2"}[kk%2]
					batch = append(batch, in(fmt.Sprint("key", kk), sleepDoc("c1", user, "2024-01-01", round)))
				}
				if _, err := s.ApplyHealthDocuments(ctxT(t), batch); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	docs := getHealth(t, s, store.HealthQuery{ClientUUID: "c1"})
	if len(docs) != keys {
		t.Fatalf("%d documents, want %d", len(docs), keys)
	}
	// Each writer's round r writes content r; versions count the distinct
	// contents each key went through, at least 1 and at most every
	// interleaving of rounds 0..2 among the writers.
	ob := allOutbox(t, s)
	per := map[string][]int{}
	for _, r := range ob {
		per[r.UserID+"/"+r.Key] = append(per[r.UserID+"/"+r.Key], r.Version)
	}
	for _, d := range docs {
		vs := per[d.UserID+"/"+d.Key]
		if len(vs) != d.Version {
			t.Fatalf("%s: version %d with %d outbox records", d.Key, d.Version, len(vs))
		}
		for i, v := range vs {
			if v != i+1 {
				t.Fatalf("%s: outbox versions %v, want 1..%d in order", d.Key, vs, d.Version)
			}
		}
	}
}

// testHealthConcurrentUsers: writers of several users' documents at once,
// each writer in its own order, round after round. No lock is shared
// between users, so their transactions commit in any order; still no
// document version is written twice and each document's outbox records
// are its versions 1..n, in id order.
func testHealthConcurrentUsers(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	users := []string{"u1", "u2", "u3", "u4"}
	for _, u := range users {
		mustUser(t, s, "c1", u)
	}
	const writers, rounds = 6, 4
	for round := 1; round <= rounds; round++ {
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range writers {
			wg.Go(func() {
				<-start
				var batch []store.HealthInput
				for i := range users {
					u := users[(i+w)%len(users)]
					// Half the writers write this round's content, half the
					// previous round's: real changes race with stale copies.
					batch = append(batch, in("k", sleepDoc("c1", u, "2024-01-01", round*10+w%2)))
				}
				if _, err := s.ApplyHealthDocuments(ctxT(t), batch); err != nil {
					t.Error(err)
				}
			})
		}
		close(start)
		wg.Wait()
		if t.Failed() {
			return
		}
	}
	versions := map[string][]int{}
	for _, r := range allOutbox(t, s) {
		versions[r.UserID] = append(versions[r.UserID], r.Version)
	}
	for _, d := range getHealth(t, s, store.HealthQuery{ClientUUID: "c1"}) {
		vs := versions[d.UserID]
		if len(vs) != d.Version || bodyVersion(t, d.Body) != d.Version {
			t.Fatalf("%s: version %d, outbox versions %v", d.UserID, d.Version, vs)
		}
		for i, v := range vs {
			if v != i+1 {
				t.Fatalf("%s: outbox versions %v, want 1..%d once each, in order", d.UserID, vs, d.Version)
			}
		}
	}
}

// tests: outbox and deletion

func testOutbox(t *testing.T, s Store) {
	mustClient(t, s, "c1")
	mustUser(t, s, "c1", "u1")
	for i := range 5 {
		apply(t, s, in(fmt.Sprint("k", i), sleepDoc("c1", "u1", "2024-01-01", i)))
	}
	all := allOutbox(t, s)
	if len(all) != 5 {
		t.Fatalf("outbox = %+v", all)
	}
	for i, r := range all {
		if r.Key != fmt.Sprint("k", i) || r.Version != 1 || i > 0 && r.ID <= all[i-1].ID {
			t.Fatalf("outbox record %d = %+v", i, r)
		}
	}
	// New records get larger ids, and a record keeps the version it was
	// written for after the document moves on.
	apply(t, s, in("k0", sleepDoc("c1", "u1", "2024-01-01", 42)))
	apply(t, s, in("k0", sleepDoc("c1", "u1", "2024-01-01", 43)))
	recs := allOutbox(t, s)[5:]
	if len(recs) != 2 || recs[0].ID <= all[4].ID || recs[0].Key != "k0" || recs[0].Version != 2 || recs[1].Version != 3 {
		t.Fatalf("records of k0 = %+v", recs)
	}
}

func testDeleteClientCascades(t *testing.T, s Store) {
	ctx := ctxT(t)
	mustClient(t, s, "c1")
	mustClient(t, s, "c2")
	c2 := mustConn(t, s, "c2", "u1")
	c1 := mustConn(t, s, "c1", "u1") // the newest id, deleted below
	for _, c := range []store.Connection{c1, c2} {
		_, err := s.PutRawDocuments(ctx, []store.RawDocument{rawDoc(c.ID, "sleep", "a", "2024-01-01", `{}`)})
		must(t, err)
	}
	apply(t, s, in("k", sleepDoc("c1", "u1", "2024-01-01", 1)), in("k", sleepDoc("c2", "u1", "2024-01-01", 1)))

	must(t, s.DeleteClient(ctx, "c1"))
	_, err := s.GetUser(ctx, "c1", "u1")
	wantCode(t, err, health.ENOTFOUND)
	_, err = s.GetConnection(ctx, c1.ID)
	wantCode(t, err, health.ENOTFOUND)
	if n, _ := s.CountRawDocuments(ctx, c1.ID); len(n) != 0 {
		t.Fatalf("raw documents left: %v", n)
	}
	if docs := getHealth(t, s, store.HealthQuery{ClientUUID: "c1"}); len(docs) != 0 {
		t.Fatalf("health documents left: %v", docs)
	}
	ob := allOutbox(t, s)
	if len(ob) != 1 || ob[0].ClientUUID != "c2" {
		t.Fatalf("outbox after deleting c1 = %+v", ob)
	}
	// The other client is untouched.
	if n, _ := s.CountRawDocuments(ctx, c2.ID); n["sleep"] != 1 {
		t.Fatalf("c2's raw documents: %v", n)
	}
	// Deleted ids are not reused.
	c3 := mustConn(t, s, "c2", "u9")
	if c3.ID <= c1.ID {
		t.Fatalf("new connection id %d reuses or precedes the deleted %d", c3.ID, c1.ID)
	}
}
