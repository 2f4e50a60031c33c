package postgres_test

import (
	"context"
	"github.com/wearlink/wearlink/internal/testutil"
	"slices"
	"sync"
	"testing"

	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/postgres"
)

// TestMigrateConcurrent: processes starting at once on one database apply
// each migration once.
func TestMigrateConcurrent(t *testing.T) {
	url := testURL(t)
	schema := newSchema(t)
	const n = 3
	results := make([]store.MigrationResult, n)
	var wg sync.WaitGroup
	for i := range n {
		s, err := postgres.New(t.Context(), postgres.Options{URL: url, Schema: schema, Sealer: newSealer(t), Logger: quiet})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		wg.Go(func() {
			res, err := s.RunMigrations(context.Background())
			if err != nil {
				t.Error(err)
			}
			results[i] = res
		})
	}
	wg.Wait()
	applied, river := 0, 0
	for _, r := range results {
		if len(r.Applied) > 0 {
			applied++
			if !slices.Equal(r.Applied, testutil.MigrationNames(t, "migrations")) {
				t.Fatalf("applied %v", r.Applied)
			}
		}
		if len(r.RiverApplied) > 0 {
			river++
		}
		if r.Current != len(testutil.MigrationNames(t, "migrations")) || r.RiverCurrent == 0 {
			t.Fatalf("result %+v", r)
		}
	}
	if applied != 1 || river != 1 {
		t.Fatalf("%d runs applied wearlink's migrations and %d River's, want 1 each", applied, river)
	}
}

func TestTokensNeedTheKey(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	if err := s.CreateClient(ctx, store.Client{UUID: "c1"}); err != nil {
		t.Fatal(err)
	}
	c, err := s.CreateConnection(ctx, store.Connection{ClientUUID: "c1", UserID: "u1", DataSource: "oura", Tokens: store.Tokens{AccessToken: "secret-access"}})
	if err != nil {
		t.Fatal(err)
	}
	d, err := s.CreateConnection(ctx, store.Connection{ClientUUID: "c1", UserID: "u2", DataSource: "oura", Tokens: store.Tokens{AccessToken: "other"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Pool().Exec(ctx, `UPDATE connections SET access_token = (SELECT access_token FROM connections WHERE id = $1) WHERE id = $2`, c.ID, d.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetConnection(ctx, d.ID); err == nil {
		t.Fatal("a token copied from another row opened")
	}
	if _, err := s.GetConnection(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
}
