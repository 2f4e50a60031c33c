package storetest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// OldReleaseTables are the tables whose rows a database of an older
// release must keep when the current code opens it.
var OldReleaseTables = []string{
	"clients", "users", "connections", "raw_documents", "health_documents", "outbox",
	"webhook_endpoints", "webhook_messages", "webhook_deliveries", "webhook_attempts",
	"link_states", "server_keys", "schema_migrations", "river_migration", "river_job",
}

// OldReleaseNewMigrations are wearlink's migrations newer than the release
// at e011a99 (which stopped at 0003_api): opening its database applies
// them, and only them.
var OldReleaseNewMigrations = []string{"0004_erase_sessions", "0005_provider_neutral", "0006_destinations", "0007_health_keys_by_source"}

// OldStore is a store opened on a database an older release wrote.
type OldStore interface {
	store.Full
	OutboxReader
}

// CheckOldRelease checks that a database the release at e011a99 wrote (the
// demo: a client, four users linked through OAuth, backfilled, a day
// synced and every webhook delivered) reads whole through s: rows holds
// each table's row count as the release left it. Applying the stored
// health documents again must change nothing, so the content hashes and
// versions the release wrote are the ones the current rules compute.
func CheckOldRelease(t *testing.T, s OldStore, rows map[string]int) {
	t.Logf("rows as the release left them: %v", rows)
	ctx := context.Background()
	for _, tab := range []string{"clients", "users", "connections", "raw_documents", "health_documents",
		"webhook_endpoints", "webhook_deliveries", "webhook_attempts", "server_keys"} {
		if rows[tab] == 0 {
			t.Fatalf("the fixture has no %s", tab)
		}
	}
	res, err := s.RunMigrations(ctx)
	must(t, err)
	if !slices.Equal(res.Applied, OldReleaseNewMigrations) || len(res.RiverApplied) != 0 {
		t.Errorf("opening the old database applied %v and River %v, want %v and none", res.Applied, res.RiverApplied, OldReleaseNewMigrations)
	}
	if res.Current != len(OldReleaseNewMigrations)+3 {
		t.Errorf("schema version %d after migrating", res.Current)
	}

	clients, err := s.ListClients(ctx)
	must(t, err)
	if len(clients) != rows["clients"] {
		t.Fatalf("%d clients, %d rows", len(clients), rows["clients"])
	}
	var users, docs int
	for _, c := range clients {
		if len(c.SecretHash) == 0 || c.CreatedAt.IsZero() {
			t.Errorf("client %+v", c)
		}
		us, err := s.ListUsers(ctx, c.UUID, 0, 0)
		must(t, err)
		users += len(us)
		hd, err := s.GetHealthDocuments(ctx, store.HealthQuery{ClientUUID: c.UUID})
		must(t, err)
		docs += len(hd)
		checkOldHealth(t, s, hd)
	}
	if users != rows["users"] || docs != rows["health_documents"] {
		t.Errorf("%d users and %d health documents, want %d and %d", users, docs, rows["users"], rows["health_documents"])
	}

	conns, err := s.ListConnections(ctx, "")
	must(t, err)
	if len(conns) != rows["connections"] {
		t.Fatalf("%d connections, %d rows", len(conns), rows["connections"])
	}
	raw := 0
	for _, c := range conns {
		// The tokens open with the release's key: sealed the same way.
		if c.Tokens.AccessToken == "" || c.Tokens.RefreshToken == "" || len(c.Tokens.Scopes) == 0 || c.Tokens.Expiry.IsZero() ||
			len(c.Cursors) == 0 || c.LastSyncAt.IsZero() || c.ExternalUserID == "" || c.Status != store.StatusActive {
			t.Errorf("connection %d = %+v", c.ID, c)
		}
		n, err := s.CountRawDocuments(ctx, c.ID)
		must(t, err)
		for _, k := range n {
			raw += k
		}
	}
	if raw != rows["raw_documents"] {
		t.Errorf("%d raw documents, %d rows", raw, rows["raw_documents"])
	}
	rd, err := s.RawDocuments(ctx, conns[0].ID, nil, "", "")
	must(t, err)
	for _, d := range rd {
		if sum := sha256.Sum256(d.Body); !bytes.Equal(d.Hash, sum[:]) || d.FetchedAt.IsZero() || !json.Valid(d.Body) || d.ExternalID == "" {
			t.Fatalf("raw document %s %q: id, hash or time lost", d.Collection, d.ExternalID)
		}
	}

	eps, err := s.ListEndpoints(ctx, "")
	must(t, err)
	if len(eps) != rows["webhook_endpoints"] {
		t.Errorf("%d endpoints, %d rows", len(eps), rows["webhook_endpoints"])
	}
	for _, e := range eps {
		if !strings.HasPrefix(e.Secret, "whsec_") || !e.Enabled || e.CreatedAt.IsZero() || e.IsDestination() || e.Paused || e.Settings != nil {
			t.Errorf("endpoint %+v", e)
		}
	}
	if dests, err := s.ListDestinations(ctx, ""); err != nil || len(dests) != 0 {
		t.Errorf("destinations of an old database: %v %v", dests, err)
	}
	var ds []store.Delivery
	for after := int64(0); ; {
		page, err := s.ListDeliveries(ctx, store.DeliveryQuery{AfterID: after, Limit: 1000})
		must(t, err)
		if len(page) == 0 {
			break
		}
		ds, after = append(ds, page...), page[len(page)-1].ID
	}
	if len(ds) != rows["webhook_deliveries"] {
		t.Fatalf("%d deliveries, %d rows", len(ds), rows["webhook_deliveries"])
	}
	attempts := 0
	for _, d := range ds {
		if d.Status != store.DeliverySucceeded || d.FinishedAt.IsZero() || d.LastAttemptAt.IsZero() || d.WebhookID == "" {
			t.Errorf("delivery %+v", d)
		}
		as, err := s.ListAttempts(ctx, d.ID)
		must(t, err)
		attempts += len(as)
	}
	if attempts != rows["webhook_attempts"] {
		t.Errorf("%d attempts, %d rows", attempts, rows["webhook_attempts"])
	}
	d, err := s.GetDelivery(ctx, ds[0].ID)
	must(t, err)
	if !json.Valid(d.Body) {
		t.Errorf("delivery %d body %q", d.ID, d.Body)
	}
	ob, err := s.Outbox(ctx)
	must(t, err)
	if len(ob) != rows["outbox"] {
		t.Errorf("%d outbox records, %d rows", len(ob), rows["outbox"])
	}
	for _, name := range []string{"web", "link-url"} {
		if k, err := s.ServerKey(ctx, name); err != nil || len(k) != 32 {
			t.Errorf("server key %s: %d bytes, %v", name, len(k), err)
		}
	}
	checkOldReleaseNewTables(t, s, clients[0].UUID)
}

// checkOldReleaseNewTables uses the tables of OldReleaseNewMigrations on
// the migrated database, leaving OldReleaseTables' rows as they were.
func checkOldReleaseNewTables(t *testing.T, s OldStore, client string) {
	ctx := context.Background()
	running, err := s.RunningErasures(ctx)
	must(t, err)
	if len(running) != 0 {
		t.Errorf("running erasures on the old database: %+v", running)
	}
	_, err = s.LatestErasure(ctx, client, store.ErasureUserHash(client, "nobody"))
	wantCode(t, err, health.ENOTFOUND)
	id := bytes.Repeat([]byte{7}, 32)
	must(t, s.CreateSession(ctx, store.DashboardSession{ID: id, ClientUUID: client, SecretFingerprint: []byte{1},
		CSRF: strings.Repeat("c", 16), ExpiresAt: time.Now().Add(time.Hour)}))
	if _, err := s.GetSession(ctx, id, time.Now()); err != nil {
		t.Errorf("session on the old database: %v", err)
	}
	must(t, s.DeleteSession(ctx, id))
}

// CheckOldReleaseRows compares OldReleaseTables' row counts before the
// current code opened the old database and after: all kept, and
// schema_migrations one row longer per migration of
// OldReleaseNewMigrations.
func CheckOldReleaseRows(t *testing.T, before, after map[string]int) {
	t.Helper()
	for _, tab := range OldReleaseTables {
		want := before[tab]
		if tab == "schema_migrations" {
			want += len(OldReleaseNewMigrations)
		}
		if after[tab] != want {
			t.Errorf("%s: %d rows, then %d, want %d", tab, before[tab], after[tab], want)
		}
	}
}

// checkOldHealth decodes the stored documents and applies them again:
// every one must be unchanged, at the version stored.
func checkOldHealth(t *testing.T, s store.Store, hd []store.HealthDocument) {
	t.Helper()
	var in []store.HealthInput
	for _, d := range hd {
		if bodyVersion(t, d.Body) != d.Version || d.CreatedAt.IsZero() {
			t.Fatalf("health document %s %s: version %d, body %s", d.DataStructure, d.Key, d.Version, d.Body)
		}
		// The release served Oura alone: its documents are Oura's, under
		// the keys this release's normalization gives them.
		if d.DataSource() != "oura" || !strings.HasPrefix(d.Key, "oura:") || strings.HasPrefix(d.Key, "oura:oura:") {
			t.Fatalf("health document %s keyed %q, want oura:KEY", d.DataStructure, d.Key)
		}
		doc, err := health.Decode(health.Document{DataStructure: d.DataStructure, Pillar: d.Pillar, Day: d.Day, Body: d.Body})
		must(t, err)
		in = append(in, store.HealthInput{Key: d.Key, Doc: doc})
	}
	if len(in) == 0 {
		return
	}
	w, err := s.ApplyHealthDocuments(context.Background(), in)
	must(t, err)
	if w.Unchanged != len(in) {
		t.Errorf("the release's documents applied again: %+v, want all %d unchanged", w, len(in))
	}
}

// OldReleaseFile returns the gunzipped content of a fixture file and a
// sealer with the release's key (secret.key next to it).
func OldReleaseFile(t *testing.T, gz string) ([]byte, *secret.Sealer) {
	f, err := os.Open(gz)
	must(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	must(t, err)
	b, err := io.ReadAll(zr)
	must(t, err)
	keys, err := secret.Keys("", filepath.Join(filepath.Dir(gz), secret.KeyFileName))
	must(t, err)
	sealer, err := secret.NewSealer(keys...)
	must(t, err)
	return b, sealer
}
