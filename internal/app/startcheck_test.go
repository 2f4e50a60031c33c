package app

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wearlink/wearlink/internal/config"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlite"
)

// madeDatabase opens, migrates and fills a store in a new data directory,
// then closes it, leaving real files behind.
func madeDatabase(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	o, err := OpenStore(t.Context(), StoreConfig{DataDir: dir, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := o.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	for i := range 1500 {
		if err := o.Store.CreateClient(t.Context(), store.Client{UUID: fmt.Sprintf("client-%04d", i), Name: strings.Repeat("n", 1000)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := o.Close(); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestStartRefusesLostDatabase: a 0-byte or missing wearlink.db beside an
// existing key file is refused with a message saying how to proceed, and
// nothing is created; without a key file it is a new installation.
func TestStartRefusesLostDatabase(t *testing.T) {
	for _, tc := range []struct {
		name string
		prep func(dbPath string)
	}{
		{"empty", func(p string) {
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}},
		{"missing", func(p string) {
			for _, suffix := range []string{"", "-wal", "-shm"} {
				_ = os.Remove(p + suffix)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := madeDatabase(t)
			db := filepath.Join(dir, sqlite.FileName)
			tc.prep(db)
			_, err := OpenStore(t.Context(), StoreConfig{DataDir: dir, Logger: quiet})
			if !errors.Is(err, ErrDatabaseGone) || !strings.Contains(err.Error(), "Restore") || !strings.Contains(err.Error(), "move "+secret.KeyFileName) {
				t.Fatalf("opened a lost database: %v", err)
			}
			fi, statErr := os.Stat(db)
			if statErr == nil && fi.Size() != 0 {
				t.Fatal("a new database was made over the lost one")
			}
			// The same through the app, as serve does.
			cfg := testConfig(t, dir)
			if _, err := New(t.Context(), cfg, Options{Logger: quiet, Migrate: true, TestOnly: true}); !errors.Is(err, ErrDatabaseGone) {
				t.Fatalf("the app started: %v", err)
			}
			// Moving the key file aside, as the message says, starts anew.
			if err := os.Rename(filepath.Join(dir, secret.KeyFileName), filepath.Join(dir, "old.key")); err != nil {
				t.Fatal(err)
			}
			o, err := OpenStore(t.Context(), StoreConfig{DataDir: dir, Logger: quiet})
			if err != nil {
				t.Fatal(err)
			}
			o.Close()
		})
	}
}

// TestStartRefusesDamagedDatabase: a database with 200 pages overwritten
// mid-file is refused at start, naming the damage and `wearlink doctor`.
func TestStartRefusesDamagedDatabase(t *testing.T) {
	dir := madeDatabase(t)
	db := filepath.Join(dir, sqlite.FileName)
	before, err := sqlite.CheckIntegrity(t.Context(), db, true, 10)
	if err != nil || !before.OK() || before.Pages < 400 {
		t.Fatalf("the database before damage: %+v %v", before, err)
	}
	damage(t, db, before, 200)

	var logs bytes.Buffer
	_, err = OpenStore(t.Context(), StoreConfig{DataDir: dir, CheckPages: true, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if !errors.Is(err, ErrDatabaseDamaged) || !strings.Contains(err.Error(), "wearlink doctor") {
		t.Fatalf("opened a damaged database: %v", err)
	}
	if _, err := New(t.Context(), testConfig(t, dir), Options{Logger: quiet, TestOnly: true}); !errors.Is(err, ErrDatabaseDamaged) {
		t.Fatalf("the app started on a damaged database: %v", err)
	}
	full, err := sqlite.CheckIntegrity(t.Context(), db, true, 100)
	if err != nil || full.OK() {
		t.Fatalf("integrity_check found nothing: %+v %v", full, err)
	}
}

// testConfig is a configuration on dataDir with an Oura application set,
// so that no built-in simulator starts, whose Oura URLs are a loopback
// port nothing listens on, so that no test can reach Oura's live API.
func testConfig(t *testing.T, dataDir string) config.Config {
	t.Helper()
	cfg := config.Default()
	cfg.DataDir = dataDir
	cfg.Oura.ClientID, cfg.Oura.ClientSecret = "id", "secret"
	const nowhere = "http://127.0.0.1:9"
	cfg.Oura.APIBaseURL, cfg.Oura.AuthURL = nowhere, nowhere+"/oauth/authorize"
	cfg.Oura.TokenURL, cfg.Oura.RevokeURL = nowhere+"/oauth/token", nowhere+"/oauth/revoke"
	return cfg
}

// damage overwrites n pages in the middle of the file with random bytes
// (seeded: the same bytes every run).
func damage(t *testing.T, db string, before sqlite.Integrity, n int64) {
	t.Helper()
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rng := rand.New(rand.NewPCG(1, 2))
	page := make([]byte, before.PageSize)
	first := before.Pages/2 - n/2
	for p := first; p < first+n; p++ {
		for i := range page {
			page[i] = byte(rng.Uint32())
		}
		if _, err := f.WriteAt(page, p*before.PageSize); err != nil {
			t.Fatal(err)
		}
	}
}

// TestDoctor: the report says ok for a sound database, names the damage
// of a damaged one, and says how to proceed with a lost one.
func TestDoctor(t *testing.T) {
	dir := madeDatabase(t)
	var out bytes.Buffer
	if ok, err := Doctor(t.Context(), StoreConfig{DataDir: dir, Logger: quiet}, &out); !ok || err != nil || !strings.Contains(out.String(), "integrity_check: ok") {
		t.Fatalf("sound: %v %v\n%s", ok, err, out.String())
	}
	db := filepath.Join(dir, sqlite.FileName)
	before, err := sqlite.CheckIntegrity(t.Context(), db, false, 1)
	if err != nil {
		t.Fatal(err)
	}
	damage(t, db, before, 200)
	out.Reset()
	if ok, err := Doctor(t.Context(), StoreConfig{DataDir: dir, Logger: quiet}, &out); ok || err != nil || !strings.Contains(out.String(), "integrity_check: DAMAGED") {
		t.Fatalf("damaged: %v %v\n%s", ok, err, out.String())
	}
	if err := os.WriteFile(db, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	if ok, err := Doctor(t.Context(), StoreConfig{DataDir: dir, Logger: quiet}, &out); ok || err != nil || !strings.Contains(out.String(), "files: LOST") {
		t.Fatalf("lost: %v %v\n%s", ok, err, out.String())
	}
}
