package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"os"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/postgres"
	"github.com/wearlink/wearlink/internal/store/storetest"
	"github.com/wearlink/wearlink/internal/testutil/benchdata"
)

// EnvURL names the database the tests use; they skip without it. Each
// test works in a schema of its own, dropped at the end.
const EnvURL = "WEARLINK_TEST_POSTGRES_URL"

var quiet = slog.New(slog.DiscardHandler)

func testURL(t testing.TB) string {
	t.Helper()
	url := os.Getenv(EnvURL)
	if url == "" {
		t.Skipf("%s is not set", EnvURL)
	}
	return url
}

func newSealer(t testing.TB) *secret.Sealer {
	key, err := secret.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	return sealer
}

// newSchema returns a fresh schema name, dropped with everything in it
// when t ends.
func newSchema(t testing.TB) string {
	t.Helper()
	url := testURL(t)
	b := make([]byte, 6)
	rand.Read(b)
	schema := "wearlink_test_" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		conn, err := pgx.Connect(ctx, url)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{schema}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}

// newStore opens a migrated store in a fresh schema.
func newStore(t testing.TB) *postgres.Store {
	t.Helper()
	url := testURL(t)
	schema := newSchema(t)
	s, err := postgres.New(context.Background(), postgres.Options{URL: url, Schema: schema, Sealer: newSealer(t), Logger: quiet, MaxConns: 8})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // runs before the schema is dropped
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	testURL(t)
	storetest.Run(t, func(t *testing.T) storetest.Store { return newStore(t) })
}

// WEARLINK_TEST_POSTGRES_URL=... go test ./internal/store/postgres -run '^$' -bench . -benchmem
func BenchmarkPutRawDocuments(b *testing.B) {
	storetest.BenchPutRaw(b, func(tb testing.TB) store.Store { return newStore(tb) }, benchMonth(b))
}

func BenchmarkApplyHealthDocuments(b *testing.B) {
	storetest.BenchApplyHealth(b, func(tb testing.TB) store.Store { return newStore(tb) }, benchMonth(b))
}

func benchMonth(b *testing.B) *storetest.BenchData {
	d, err := benchdata.OuraMonth()
	if err != nil {
		b.Fatal(err)
	}
	return d
}
