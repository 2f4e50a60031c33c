package erase_test

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/wearlink/wearlink/internal/erase"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/testutil/harness"
)

// TestRetention: the retention job deletes, in batches, the raw documents
// older than each client's raw_retention_days by the injected clock, and
// nothing of a client without the setting.
func TestRetention(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	st := harness.SQLite(t, harness.StoreOptions{Now: clock})
	for _, c := range []store.Client{{UUID: "keep30", Settings: json.RawMessage(`{"raw_retention_days":30}`)}, {UUID: "forever"}} {
		if err := st.CreateClient(ctx, c); err != nil {
			t.Fatal(err)
		}
		conn, err := st.CreateConnection(ctx, store.Connection{ClientUUID: c.UUID, UserID: "u", DataSource: "oura", Status: store.StatusActive})
		if err != nil {
			t.Fatal(err)
		}
		// 7 documents written 60 days ago, 3 written 10 days ago.
		for i := range 10 {
			now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, -60)
			if i >= 7 {
				now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC).AddDate(0, 0, -10)
			}
			if _, err := st.PutRawDocuments(ctx, []store.RawDocument{{ConnectionID: conn.ID, Collection: "daily_sleep", ExternalID: fmt.Sprint(i),
				Day: "2025-01-01", Body: json.RawMessage(`{"n":` + fmt.Sprint(i) + `}`)}}); err != nil {
				t.Fatal(err)
			}
		}
	}
	now = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	svc, err := erase.New(erase.Config{Store: st, BatchSize: 2, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	n, err := svc.PurgeRetention(ctx)
	if err != nil || n != 7 {
		t.Fatalf("purged %d, %v; want 7", n, err)
	}
	for client, want := range map[string]int{"keep30": 3, "forever": 10} {
		c, _ := st.FindConnection(ctx, client, "u", "oura")
		m, _ := st.CountRawDocuments(ctx, c.ID)
		if m["daily_sleep"] != want {
			t.Fatalf("%s: %d raw documents left, want %d", client, m["daily_sleep"], want)
		}
	}
}
