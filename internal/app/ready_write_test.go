package app

import (
	"log/slog"
	"sync"
	"testing"
	"time"
)

// TestReadyzStoreWritesFail: a store that answers reads but refuses
// writes (here a SQLite writer connection switched to query_only, which
// fails writes as a full disk does) is not ready; nor is a process whose
// River completer failed within the last minute.
func TestReadyzStoreWritesFail(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, err := New(t.Context(), testConfig(t, t.TempDir()), Options{Logger: slog.New(slog.DiscardHandler), Migrate: true, TestOnly: true, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	a.started.Store(true) // as Run does once River runs
	if code, v := readyz(t, a); code != 200 {
		t.Fatalf("healthy: %d %v", code, v)
	}

	if _, err := a.store.SQLite.ExecContext(t.Context(), "PRAGMA query_only = 1"); err != nil {
		t.Fatal(err)
	}
	code, v := readyz(t, a)
	if code != 503 || v["checks"].(map[string]any)["store"] != "not writable" {
		t.Fatalf("writes failing: %d %v", code, v)
	}
	if _, err := a.store.SQLite.ExecContext(t.Context(), "PRAGMA query_only = 0"); err != nil {
		t.Fatal(err)
	}
	if code, v := readyz(t, a); code != 200 {
		t.Fatalf("writes back: %d %v", code, v)
	}

	// River's completer reports its failures only in its log, through the
	// logger the app gives River.
	slog.New(a.completer).Error("BatchCompleter: Too many errors; giving up")
	code, v = readyz(t, a)
	if code != 503 || v["checks"].(map[string]any)["jobs"] != "completer failing: BatchCompleter: Too many errors; giving up" {
		t.Fatalf("completer failed: %d %v", code, v)
	}
	mu.Lock()
	now = now.Add(completerFailWindow)
	mu.Unlock()
	if code, v := readyz(t, a); code != 200 {
		t.Fatalf("a minute after the completer's failure: %d %v", code, v)
	}
}
