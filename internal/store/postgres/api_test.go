package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/store/postgres"
	"github.com/wearlink/wearlink/internal/store/storetest"
)

// newClockedStore is newStore with the store's clock set to now.
func newClockedStore(t *testing.T, now func() time.Time) *postgres.Store {
	t.Helper()
	url := testURL(t)
	schema := newSchema(t)
	s, err := postgres.New(context.Background(), postgres.Options{URL: url, Schema: schema, Sealer: newSealer(t), Logger: quiet, MaxConns: 8, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() }) // runs before the schema is dropped
	if err := s.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestAPIConformance(t *testing.T) {
	testURL(t)
	storetest.RunAPI(t, func(t *testing.T, now func() time.Time) storetest.APIStore { return newClockedStore(t, now) })
}
