package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store/sqlite"
)

// quickCheckMaxSize is the largest database whose pages are all checked
// (PRAGMA quick_check) before it is opened. quick_check reads every page:
// 4.4 s and 6.5-7.9 s in two runs on a 1.05 GiB file on this project's
// shared 2-core machine (BENCHMARKS.md), 0.4-0.7 s per 100 MiB, so this
// bound keeps the start's delay under about 2 s, which a restart loop or a
// rolling deploy can afford. Larger databases get the cheap checks (the
// SQLite header, whole pages, a readable schema, a free list shorter than
// the file: about 1 ms whatever the size), and the log points to
// `wearlink doctor`, which runs the full integrity_check (13.6-17.7 s on
// the same file).
const quickCheckMaxSize = 256 << 20

// ErrDatabaseGone is the error of a SQLite database that is missing or
// empty while the key file beside it shows one was made there before.
var ErrDatabaseGone = errors.New("the database is missing or empty")

// ErrDatabaseDamaged is the error of a SQLite database that fails its
// integrity check at start.
var ErrDatabaseDamaged = errors.New("the database is damaged")

// checkSQLiteFiles runs before the key file is read (or created): a key
// file in the data directory is written on the first start, with the
// database, so a key file beside a missing or 0-byte wearlink.db means
// the data was lost (a failed restore, a full disk while copying). Opening
// would make a new, empty database and hide the loss.
func checkSQLiteFiles(dataDir, secretKeyEnv string) error {
	keyPath := filepath.Join(dataDir, secret.KeyFileName)
	dbPath := filepath.Join(dataDir, sqlite.FileName)
	if strings.TrimSpace(secretKeyEnv) != "" {
		return nil // the key comes from the environment: no trace of an earlier start
	}
	if _, err := os.Stat(keyPath); err != nil {
		return nil // a new data directory
	}
	what := ""
	switch fi, err := os.Stat(dbPath); {
	case errors.Is(err, os.ErrNotExist):
		what = "is missing"
	case err != nil:
		return fmt.Errorf("open store: %w", err)
	case fi.Size() == 0:
		what = "is empty (0 bytes)"
	default:
		return nil
	}
	return fmt.Errorf("open store: %w: %s %s, but the key file %s shows that a database was made here before. "+
		"Restore %s (with its -wal file, if there was one) from a backup. To start a new, empty database on purpose, "+
		"move %s out of the data directory first: what was sealed with it cannot be read without it",
		ErrDatabaseGone, dbPath, what, keyPath, sqlite.FileName, secret.KeyFileName)
}

// checkSQLiteIntegrity checks an existing database before it is opened:
// all of it when pages is set and it is small (quickCheckMaxSize), its
// header otherwise.
func checkSQLiteIntegrity(ctx context.Context, path string, pages bool, log *slog.Logger) error {
	fi, err := os.Stat(path)
	if err != nil || fi.Size() == 0 {
		return nil // a new database
	}
	var res sqlite.Integrity
	switch {
	case pages && fi.Size() <= quickCheckMaxSize:
		res, err = sqlite.CheckIntegrity(ctx, path, false, 10)
	case pages:
		res, err = sqlite.CheckHeader(ctx, path)
		log.Info("database larger than the start check reads: only its header was checked; run `wearlink doctor` for a full check",
			"path", path, "bytes", fi.Size())
	default:
		res, err = sqlite.CheckHeader(ctx, path)
	}
	if err != nil {
		return fmt.Errorf("open store: check %s: %w", path, err)
	}
	if res.OK() {
		return nil
	}
	return fmt.Errorf("open store: %w: %s: %s. Stop every wearlink process using it, copy the data directory aside, "+
		"run `wearlink doctor` for the full report, and restore %s from a backup (or recover what is readable with sqlite3's .recover)",
		ErrDatabaseDamaged, path, strings.Join(res.Problems, "; "), sqlite.FileName)
}
