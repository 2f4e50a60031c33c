package postgres_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/store/postgres"
	"github.com/wearlink/wearlink/internal/store/storetest"
)

// TestOpenOldRelease: the database the release at e011a99 wrote (a
// pg_dump made by internal/store/testdata/make-e011a99.sh), restored into
// a fresh schema, opens with this code with every row intact, and reads
// whole.
func TestOpenOldRelease(t *testing.T) {
	ctx := context.Background()
	url, schema := testURL(t), newSchema(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	dump, sealer := storetest.OldReleaseFile(t, "testdata/e011a99/dump.sql.gz")
	id := pgx.Identifier{schema}.Sanitize()
	if _, err := conn.Exec(ctx, `CREATE SCHEMA `+id+`; SET search_path TO `+id, pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, string(dump), pgx.QueryExecModeSimpleProtocol); err != nil {
		t.Fatalf("restore: %v", err)
	}
	counts := func() map[string]int {
		out := map[string]int{}
		for _, tab := range storetest.OldReleaseTables {
			var n int
			if err := conn.QueryRow(ctx, `SELECT count(*) FROM `+id+`.`+tab).Scan(&n); err != nil {
				t.Fatal(err)
			}
			out[tab] = n
		}
		return out
	}
	before := counts()

	s, err := postgres.New(ctx, postgres.Options{URL: url, Schema: schema, Sealer: sealer, Logger: quiet, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	storetest.CheckOldRelease(t, s, before)
	after := counts()
	storetest.CheckOldReleaseRows(t, before, after)
}
