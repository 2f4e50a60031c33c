// Package sqlite is wearlink's embedded store: one SQLite file in WAL mode
// (modernc.org/sqlite, pure Go, so the binary stays static). It is a thin
// driver under internal/store/sqlstore, which holds the rules.
//
// All writes go through one connection (Writer, MaxOpenConns 1), which
// River shares through riversqlite: SQLite allows one writer at a time, and
// queueing writers in the pool is cheaper and fairer than having them spin
// on SQLITE_BUSY. Writing transactions start with BEGIN IMMEDIATE, so
// another process on the same file cannot interleave between a read and
// the write that depends on it; that exclusive writer is all the locking
// the rules need here. Reads go to a separate pool of read-only
// connections, which WAL lets run alongside the writer. Times are stored
// as integer microseconds.
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
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
	"github.com/wearlink/wearlink/internal/store/sqlstore"
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

// Store is the SQLite store: the rules of sqlstore over this driver.
type Store struct {
	*sqlstore.Store
	path string
	w, r *sql.DB
	drv  driver
}

// New opens (creating if needed) the database file. It does not migrate:
// call Migrate.
func New(ctx context.Context, opt Options) (*Store, error) {
	if opt.Path == "" {
		return nil, errors.New("sqlite: no database path")
	}
	sc := sqlstore.Config{Sealer: opt.Sealer, Logger: opt.Logger, Now: opt.Now}
	if err := sc.Check(); err != nil {
		return nil, fmt.Errorf("sqlite: %w", err)
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
		sc.Logger.Warn("sqlite: cannot restrict database file mode", "path", opt.Path, "err", err)
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
	s := &Store{path: opt.Path, w: w, r: r, drv: driver{w: newStmtCache(w), r: newStmtCache(r)}}
	sc.Driver = s.drv
	s.Store = sqlstore.New(sc)
	return s, nil
}

// Writer is the single writer connection pool, for riversqlite.New.
func (s *Store) Writer() *sql.DB { return s.w }

// Path is the database file.
func (s *Store) Path() string { return s.path }

// Reader is the read-only pool.
func (s *Store) Reader() *sql.DB { return s.r }

var _ store.Full = (*Store)(nil)

// Close closes both pools. River must be stopped first.
func (s *Store) Close() error {
	s.drv.w.close()
	s.drv.r.close()
	return errors.Join(s.r.Close(), s.w.Close())
}

// JobTx runs fn in one writing transaction (BEGIN IMMEDIATE) on the
// writer: w writes the store's rows in it and tx is the same transaction
// for River's InsertTx (riversqlite on Writer), so the rows and the jobs
// commit together, in one commit of the single writer.
func (s *Store) JobTx(ctx context.Context, fn func(tx *sql.Tx, w store.CursorWriter) error) error {
	return writeTx(ctx, s.drv.w, nil, func(tx *sql.Tx, q sqlstore.Querier) error { return fn(tx, s.Store.JobTx(q)) })
}

// driver implements sqlstore.Driver.
type driver struct{ w, r *stmtCache }

func (d driver) Reader() sqlstore.Querier { return querier{pooled{d.r}} }
func (d driver) Writer() sqlstore.Querier { return querier{pooled{d.w}} }

// WriteTx runs fn in a writing transaction (BEGIN IMMEDIATE).
func (d driver) WriteTx(ctx context.Context, fn func(sqlstore.Querier) error) error {
	return inTx(ctx, d.w, nil, fn)
}

func (d driver) ReadTx(ctx context.Context, fn func(sqlstore.Querier) error) error {
	return inTx(ctx, d.r, &sql.TxOptions{ReadOnly: true}, fn)
}

// maxCachedStmts bounds a pool's statement cache. wearlink's queries are
// a few hundred constant texts; the bound only stops texts built with a
// varying number of placeholders from growing it without end.
const maxCachedStmts = 512

// stmtCache keeps each query prepared on a pool's connections for the
// pool's life. SQLite compiles a statement on every prepare, and
// compiling the same few queries again in every transaction was a
// quarter of a webhook delivery's processor time.
type stmtCache struct {
	db *sql.DB
	mu sync.Mutex
	m  map[string]*sql.Stmt
}

func newStmtCache(db *sql.DB) *stmtCache {
	return &stmtCache{db: db, m: map[string]*sql.Stmt{}}
}

// get returns the cached statement of query, or nil.
func (c *stmtCache) get(query string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[query]
}

// prepare returns query's statement, preparing and caching it first if
// needed; nil when the cache is full or the query does not prepare (the
// caller then runs it unprepared, which reports the same error). It takes
// a connection of the pool: never call it inside one of its transactions,
// which on the one-connection writer would wait for itself.
func (c *stmtCache) prepare(ctx context.Context, query string) *sql.Stmt {
	c.mu.Lock()
	st, full := c.m[query], len(c.m) >= maxCachedStmts
	c.mu.Unlock()
	if st != nil || full {
		return st // when full, nil without preparing what would not be kept
	}
	st, err := c.db.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[query]; ok { // prepared meanwhile by another caller
		_ = st.Close()
		return old
	}
	if len(c.m) >= maxCachedStmts {
		_ = st.Close()
		return nil
	}
	c.m[query] = st
	return st
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for q, st := range c.m {
		_ = st.Close()
		delete(c.m, q)
	}
}

// pooled runs queries outside a transaction through the cache.
type pooled struct{ c *stmtCache }

func (p pooled) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if len(args) == 0 { // a script runs as it is
		return p.c.db.ExecContext(ctx, query)
	}
	if st := p.c.prepare(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return p.c.db.ExecContext(ctx, query, args...)
}

func (p pooled) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := p.c.prepare(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return p.c.db.QueryContext(ctx, query, args...)
}

func (p pooled) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := p.c.prepare(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return p.c.db.QueryRowContext(ctx, query, args...)
}

// inTx runs fn in a transaction whose statements are prepared once each:
// batches are written row by row here, so a batch of a thousand documents
// parses its INSERT once rather than a thousand times. Statements come
// from the pool's cache; those not in it yet are prepared for this
// transaction alone and put in the cache after it, when the connection is
// free again.
func inTx(ctx context.Context, c *stmtCache, opt *sql.TxOptions, fn func(sqlstore.Querier) error) error {
	return writeTx(ctx, c, opt, func(_ *sql.Tx, q sqlstore.Querier) error { return fn(q) })
}

// writeTx is inTx that also gives fn the transaction itself.
func writeTx(ctx context.Context, c *stmtCache, opt *sql.TxOptions, fn func(*sql.Tx, sqlstore.Querier) error) error {
	tx, err := c.db.BeginTx(ctx, opt)
	if err != nil {
		return err
	}
	st := &stmts{tx: tx, cache: c, m: map[string]*sql.Stmt{}}
	err = fn(tx, querier{st})
	for _, s := range st.m {
		_ = s.Close()
	}
	if err != nil {
		_ = tx.Rollback()
	} else {
		err = tx.Commit()
	}
	for _, q := range st.missed {
		c.prepare(context.WithoutCancel(ctx), q)
	}
	return err
}

// stmts runs each query of a transaction through its prepared statement.
type stmts struct {
	tx     *sql.Tx
	cache  *stmtCache
	m      map[string]*sql.Stmt
	missed []string
}

func (s *stmts) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.m[query]; ok {
		return st, nil
	}
	if cached := s.cache.get(query); cached != nil {
		st := s.tx.StmtContext(ctx, cached)
		s.m[query] = st
		return st, nil
	}
	st, err := s.tx.PrepareContext(ctx, query)
	if err == nil {
		s.m[query] = st
		s.missed = append(s.missed, query)
	}
	return st, err
}

func (s *stmts) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if len(args) == 0 { // a script (a migration) runs as it is
		return s.tx.ExecContext(ctx, query)
	}
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (s *stmts) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *stmts) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	st, err := s.stmt(ctx, query)
	if err != nil {
		return s.tx.QueryRowContext(ctx, query, args...) // reports the same error
	}
	return st.QueryRowContext(ctx, args...)
}

func (driver) Time(t time.Time) any { return t.UnixMicro() }

// LockUsers does nothing: the writer is exclusive.
func (driver) LockUsers(context.Context, sqlstore.Querier, []string) error { return nil }

func (driver) Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		True: "1", False: "0", NoLimit: "-1",
		ScopesCol: "scopes", Scopes: func(s []string) any { return common.EncodeScopes(s) },
		MergeJSON: "json_patch(cursors, ?)",
		// River keeps a job's args as JSONB, which json_extract reads.
		JSONInt: func(col, key string) string {
			return "json_extract(" + col + ", '$." + key + "')"
		},
	}
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

func (driver) IsUnique(err error) bool {
	c := sqliteCode(err)
	return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
}

func (driver) IsForeignKey(err error) bool {
	return sqliteCode(err) == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// querier adapts a *sql.DB or *sql.Tx to sqlstore.Querier.
type querier struct {
	q interface {
		ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
		QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
		QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
	}
}

func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := q.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	return rowsCloser{rows}, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return q.q.QueryRowContext(ctx, query, args...)
}

type rowsCloser struct{ *sql.Rows }

func (r rowsCloser) Close() { _ = r.Rows.Close() }

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
