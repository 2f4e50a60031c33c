// Package sqlite is wearlink's embedded store: one SQLite file in WAL mode
// (modernc.org/sqlite, pure Go, so the binary stays static).
//
// All writes go through one connection (Writer, MaxOpenConns 1), which
// River shares through riversqlite: SQLite allows one writer at a time, and
// queueing writers in the pool is cheaper and fairer than having them spin
// on SQLITE_BUSY. Writing transactions start with BEGIN IMMEDIATE, so
// another process on the same file cannot interleave between a read and
// the write that depends on it. Reads go to a separate pool of read-only
// connections, which WAL lets run alongside the writer.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
)

// FileName is the database file's name in the data directory.
const FileName = "wearlink.db"

// Options configure New.
type Options struct {
	// Path is the database file, created when missing (its directory too).
	Path string
	// Sealer seals tokens at rest. Required.
	Sealer *secret.Sealer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// BusyTimeout is how long a statement waits for another process's
	// lock. Default 10s.
	BusyTimeout time.Duration
	// ReadConns is the size of the reader pool. Default max(4, 2*GOMAXPROCS).
	ReadConns int
}

// Store is the SQLite implementation of store.Store.
type Store struct {
	path   string
	w, r   *sql.DB
	sealer *secret.Sealer
	log    *slog.Logger
	now    func() time.Time
}

var _ store.Store = (*Store)(nil)

// New opens (creating if needed) the database file. It does not migrate:
// call Migrate.
func New(ctx context.Context, opt Options) (*Store, error) {
	if opt.Path == "" {
		return nil, errors.New("sqlite: no database path")
	}
	if opt.Sealer == nil {
		return nil, errors.New("sqlite: no sealer")
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.BusyTimeout <= 0 {
		opt.BusyTimeout = 10 * time.Second
	}
	if opt.ReadConns <= 0 {
		opt.ReadConns = max(4, 2*runtime.GOMAXPROCS(0))
	}
	if err := os.MkdirAll(filepath.Dir(opt.Path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create data directory: %w", err)
	}

	base := url.Values{}
	base.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", opt.BusyTimeout.Milliseconds()))
	base.Add("_pragma", "foreign_keys(1)")
	// FULL: a commit is on disk when it returns. UpdateTokens depends on
	// it (a rotated refresh token is the only one that still works).
	base.Add("_pragma", "synchronous(FULL)")

	wq := cloneValues(base)
	wq.Add("_pragma", "journal_mode(WAL)")
	wq.Set("_txlock", "immediate")
	w, err := sql.Open("sqlite", opt.Path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", opt.Path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", opt.Path, err)
	}
	if err := os.Chmod(opt.Path, 0o600); err != nil {
		opt.Logger.Warn("sqlite: cannot restrict database file mode", "path", opt.Path, "err", err)
	}

	rq := cloneValues(base)
	rq.Add("_pragma", "query_only(1)")
	r, err := sql.Open("sqlite", opt.Path+"?"+rq.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", opt.Path, err)
	}
	r.SetMaxOpenConns(opt.ReadConns)
	r.SetMaxIdleConns(opt.ReadConns)
	if err := r.PingContext(ctx); err != nil {
		w.Close()
		r.Close()
		return nil, fmt.Errorf("sqlite: open %s for reading: %w", opt.Path, err)
	}
	return &Store{path: opt.Path, w: w, r: r, sealer: opt.Sealer, log: opt.Logger, now: opt.Now}, nil
}

// Writer is the single writer connection pool, for riversqlite.New.
func (s *Store) Writer() *sql.DB { return s.w }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Reader is the read-only pool.
func (s *Store) Reader() *sql.DB { return s.r }

// Close closes both pools. River must be stopped first.
func (s *Store) Close() error {
	return errors.Join(s.r.Close(), s.w.Close())
}

// inTx runs fn in a writing transaction (BEGIN IMMEDIATE).
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// sqliteCode returns the extended result code of a SQLite error, 0 for
// other errors.
func sqliteCode(err error) int {
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code()
	}
	return 0
}

func isUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func isForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

func notFound(format string, args ...any) error {
	return health.Errorf(health.ENOTFOUND, format, args...)
}

// micros stores a time; the zero time is NULL.
func micros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}

// jsonArg stores optional JSON: nil stays NULL.
func jsonArg(b []byte) any {
	if b == nil {
		return nil
	}
	return []byte(b)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
