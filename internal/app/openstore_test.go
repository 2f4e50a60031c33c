package app

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

var quiet = slog.New(slog.DiscardHandler)

func TestOpenStoreSQLite(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	o, err := OpenStore(t.Context(), StoreConfig{DataDir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Kind != "sqlite" || o.SQLite == nil || o.PG != nil || o.Sealer == nil {
		t.Fatalf("opened %+v", o)
	}
	if o.SQLite.Stats().MaxOpenConnections != 1 {
		t.Fatal("the SQLite pool River shares is not the single writer")
	}
	res, err := o.Migrate(t.Context())
	if err != nil || len(res.Applied) == 0 || len(res.RiverApplied) == 0 {
		t.Fatalf("Migrate = %+v, %v", res, err)
	}
	if err := o.Store.CreateClient(t.Context(), store.Client{UUID: "c1"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"wearlink.db", secret.KeyFileName} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
	}
}

func TestOpenStoreKeyFromConfig(t *testing.T) {
	dir := t.TempDir()
	key, _ := secret.NewKey()
	o, err := OpenStore(t.Context(), StoreConfig{DataDir: dir, SecretKey: secret.EncodeKey(key), Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	if _, err := os.Stat(filepath.Join(dir, secret.KeyFileName)); err == nil {
		t.Fatal("a key file was created although a key was given")
	}
	// A bad key is an error that does not echo it.
	_, err = OpenStore(t.Context(), StoreConfig{DataDir: dir, SecretKey: "c2VjcmV0", Logger: quiet})
	if err == nil || strings.Contains(err.Error(), "c2VjcmV0") {
		t.Fatalf("bad key: %v", err)
	}
}

func TestOpenStoreKeyPersists(t *testing.T) {
	dir := t.TempDir()
	open := func() *OpenedStore {
		o, err := OpenStore(t.Context(), StoreConfig{DataDir: dir, Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		return o
	}
	o := open()
	if _, err := o.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := o.Store.CreateClient(ctx, store.Client{UUID: "c1"}); err != nil {
		t.Fatal(err)
	}
	c, err := o.Store.CreateConnection(ctx, store.Connection{ClientUUID: "c1", UserID: "u1", DataSource: "oura", Tokens: store.Tokens{AccessToken: "tok"}})
	if err != nil {
		t.Fatal(err)
	}
	o.Close()
	// Reopened, the key file opens the tokens.
	o = open()
	defer o.Close()
	got, err := o.Store.GetConnection(ctx, c.ID)
	if err != nil || got.Tokens.AccessToken != "tok" {
		t.Fatalf("after reopening: %+v, %v", got.Tokens, err)
	}
}

func TestOpenStoreRejectsOtherURLs(t *testing.T) {
	_, err := OpenStore(t.Context(), StoreConfig{DataDir: t.TempDir(), DatabaseURL: "mysql://root:hunter2@db/x", Logger: quiet})
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("err = %v", err)
	}
}

func TestOpenStorePostgres(t *testing.T) {
	url := os.Getenv("WEARLINK_TEST_POSTGRES_URL")
	if url == "" {
		t.Skip("WEARLINK_TEST_POSTGRES_URL is not set")
	}
	key, _ := secret.NewKey()
	var logs bytes.Buffer
	o, err := OpenStore(t.Context(), StoreConfig{DataDir: t.TempDir(), DatabaseURL: url, SecretKey: secret.EncodeKey(key),
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	if o.Kind != "postgres" || o.PG == nil || o.SQLite != nil {
		t.Fatalf("opened %+v", o)
	}
	if err := o.PG.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	if logs.Len() != 0 {
		t.Fatalf("unexpected warning with a key given: %s", logs.String())
	}
}

func TestRedactURL(t *testing.T) {
	for _, u := range []string{
		"postgres://wearlink:hunter2@db:5432/wearlink?sslmode=disable",
		"postgres://wearlink@db:5432/wearlink?sslmode=disable&password=hunter2",
	} {
		if got := redactURL(u); strings.Contains(got, "hunter2") || !strings.Contains(got, "db:5432/wearlink") {
			t.Errorf("redactURL(%q) = %q", u, got)
		}
	}
}
