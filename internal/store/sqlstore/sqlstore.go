// Package sqlstore holds the store's rules once, above two thin drivers
// (internal/store/sqlite and internal/store/postgres): validation, which
// endpoints a fan-out targets and which outbox records a newer version
// supersedes, versioning by content hash, the delivery attempt state
// machine. Every query is written here once, with ? placeholders, in the
// SQL both engines accept.
//
// A driver keeps only what its engine really does differently, behind
// Driver: its connections and transactions (SQLite's single writer with
// BEGIN IMMEDIATE, PostgreSQL's pool), placeholders, how a time is stored
// (integer microseconds or timestamptz; times are scanned by one
// sql.Scanner, timeCol, whatever the column holds), locking (advisory
// locks, SKIP LOCKED, FOR UPDATE) and batching (Batcher: unnest and pgx.Batch against
// the row-by-row default here).
//
// Why a hand-written dialect layer rather than sqlc: the queries differ
// between the engines in a handful of fragments (Dialect), so one set of
// queries with those fragments is far smaller than two generated query
// packages plus the glue mapping their row types onto the store's, and a
// rule cannot end up written against one generated package only. Nothing
// is generated, so there is nothing to regenerate.
package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

// Querier runs SQL written with ? placeholders. A driver rewrites them
// as its engine wants. Row.Scan returns sql.ErrNoRows when there is no
// row.
type Querier interface {
	Exec(ctx context.Context, query string, args ...any) (int64, error)
	Query(ctx context.Context, query string, args ...any) (Rows, error)
	QueryRow(ctx context.Context, query string, args ...any) Row
}

// Rows is a result set.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Close()
	Err() error
}

// Row is a single-row result.
type Row interface{ Scan(dest ...any) error }

// Dialect holds the SQL fragments that differ between the engines.
type Dialect struct {
	// True and False are boolean literals (partial indexes match them).
	True, False string
	// NoLimit is the LIMIT that means none.
	NoLimit string
	// ScopesCol reads connections.scopes as a JSON array; Scopes encodes
	// scopes for writing.
	ScopesCol string
	Scopes    func([]string) any
	// MergeJSON applies a JSON merge patch (the one argument; null
	// deletes a key) to the cursors column.
	MergeJSON string
	// SkipLocked ends FanOut's outbox select, so concurrent fan-outs
	// take different records.
	SkipLocked string
	// LockRow ends a select of one row that the transaction then updates,
	// so that two transactions never work on the row at once (EraseBatch).
	// A driver whose writer is exclusive needs none.
	LockRow string
	// JSONInt extracts an integer member of a JSON column (River's job
	// args).
	JSONInt func(column, key string) string
}

// Driver is what an engine provides.
type Driver interface {
	// Reader runs reads outside a transaction, Writer single writes.
	Reader() Querier
	Writer() Querier
	// WriteTx runs fn in a writing transaction; ReadTx in a read-only
	// one that sees one snapshot.
	WriteTx(ctx context.Context, fn func(Querier) error) error
	ReadTx(ctx context.Context, fn func(Querier) error) error
	// Time encodes a non-zero time (UTC, microseconds) as the engine
	// stores it.
	Time(time.Time) any
	IsUnique(error) bool
	IsForeignKey(error) bool
	// LockUsers serializes health document writers per user: keys name
	// the users, sorted. A driver whose writer is exclusive does nothing.
	LockUsers(ctx context.Context, q Querier, keys []string) error
	Dialect() Dialect
}

// Config configures New.
type Config struct {
	Driver Driver
	// Batch does the bulk writes; nil writes row by row.
	Batch  Batcher
	Sealer *secret.Sealer
	Logger *slog.Logger
	Now    func() time.Time
}

// Check reports a missing sealer and fills the defaults.
func (c *Config) Check() error {
	if c.Sealer == nil {
		return errors.New("no sealer")
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return nil
}

// Store implements store.Store over a Driver.
type Store struct {
	drv    Driver
	d      Dialect
	batch  Batcher
	r, w   db
	sealer *secret.Sealer
	log    *slog.Logger
	now    func() time.Time
	erase  []eraseStep
}

// New returns a Store over cfg.Driver; cfg has passed Check.
func New(cfg Config) *Store {
	s := &Store{drv: cfg.Driver, d: cfg.Driver.Dialect(), batch: cfg.Batch, sealer: cfg.Sealer, log: cfg.Logger, now: cfg.Now}
	if s.batch == nil {
		s.batch = rowByRow{}
	}
	s.r, s.w = db{cfg.Driver, cfg.Driver.Reader()}, db{cfg.Driver, cfg.Driver.Writer()}
	s.erase = eraseSteps(s.d)
	return s
}

// Logger is the store's logger.
func (s *Store) Logger() *slog.Logger { return s.log }

// Now is the store's clock at the precision both engines keep.
func (s *Store) Now() time.Time { return common.Now(s.now) }

// inTx runs fn in a writing transaction.
func (s *Store) inTx(ctx context.Context, fn func(tx db) error) error {
	return s.drv.WriteTx(ctx, func(q Querier) error { return fn(db{s.drv, q}) })
}

// db wraps a Querier: time.Time arguments are encoded by the driver (the
// zero time is NULL), and *time.Time destinations scan through timeCol.
type db struct {
	drv Driver
	q   Querier
}

func (x db) args(args []any) []any {
	for i, a := range args {
		if t, ok := a.(time.Time); ok {
			if t.IsZero() {
				args[i] = nil
			} else {
				args[i] = x.drv.Time(common.Time(t))
			}
		}
	}
	return args
}

func (x db) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	return x.q.Exec(ctx, query, x.args(args)...)
}

func (x db) Query(ctx context.Context, query string, args ...any) (Rows, error) {
	rows, err := x.q.Query(ctx, query, x.args(args)...)
	if err != nil {
		return nil, err
	}
	return scanRows{rows}, nil
}

func (x db) QueryRow(ctx context.Context, query string, args ...any) Row {
	return scanRow{x.q.QueryRow(ctx, query, x.args(args)...)}
}

type scanRows struct{ Rows }

func (r scanRows) Scan(dest ...any) error { return r.Rows.Scan(timeDests(dest)...) }

type scanRow struct{ Row }

func (r scanRow) Scan(dest ...any) error { return r.Row.Scan(timeDests(dest)...) }

func timeDests(dest []any) []any {
	for i, d := range dest {
		if p, ok := d.(*time.Time); ok {
			dest[i] = (*timeCol)(p)
		}
	}
	return dest
}

// timeCol is the one time codec: it reads integer microseconds (SQLite),
// a time (PostgreSQL) or NULL (the zero time), always in UTC.
type timeCol time.Time

func (t *timeCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*t = timeCol{}
	case int64:
		*t = timeCol(time.UnixMicro(v).UTC())
	case time.Time:
		*t = timeCol(v.UTC())
	default:
		return fmt.Errorf("cannot read %T as a time", src)
	}
	return nil
}

var _ sql.Scanner = (*timeCol)(nil)

func notFound(format string, args ...any) error {
	return health.Errorf(health.ENOTFOUND, format, args...)
}

func noRows(err error) bool { return errors.Is(err, sql.ErrNoRows) }

// placeholders returns "(?, ?, ...)" for n values.
func placeholders(n int) string {
	return "(?" + strings.Repeat(", ?", n-1) + ")"
}

// chunks calls fn with ids in parts small enough for any engine's
// parameter limit, as "(?, ...)" and the arguments.
func chunks(ids []int64, fn func(in string, args []any) error) error {
	const chunk = 500
	for start := 0; start < len(ids); start += chunk {
		part := ids[start:min(start+chunk, len(ids))]
		args := make([]any, len(part))
		for i, id := range part {
			args[i] = id
		}
		if err := fn(placeholders(len(part)), args); err != nil {
			return err
		}
	}
	return nil
}

// collect scans every row with scan.
func collect[T any](rows Rows, err error, scan func(Row) (T, error)) ([]T, error) {
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

func (s *Store) counts(ctx context.Context, what, query string, args ...any) (map[string]int, error) {
	rows, err := s.r.Query(ctx, query, args...)
	type kv struct {
		k string
		n int
	}
	kvs, err := collect(rows, err, func(r Row) (kv, error) {
		var x kv
		return x, r.Scan(&x.k, &x.n)
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out := map[string]int{}
	for _, x := range kvs {
		out[x.k] += x.n
	}
	return out, nil
}

func (s *Store) ids(ctx context.Context, what, query string, args ...any) ([]int64, error) {
	rows, err := s.r.Query(ctx, query, args...)
	out, err := collect(rows, err, func(r Row) (id int64, err error) { return id, r.Scan(&id) })
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

// execOne runs a write that must touch a row: ENOTFOUND (missing) when it
// touched none, other errors wrapped with what.
func (s *Store) execOne(ctx context.Context, what, missing, query string, args ...any) error {
	return execOne(ctx, s.w, what, missing, query, args...)
}

func execOne(ctx context.Context, w db, what, missing, query string, args ...any) error {
	n, err := w.Exec(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		return notFound("%s", missing)
	}
	return nil
}

// jsonCol reads optional JSON: NULL stays nil.
type jsonCol json.RawMessage

func (j *jsonCol) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*j = nil
	case []byte:
		*j = append(jsonCol{}, v...)
	case string:
		*j = jsonCol(v)
	default:
		return fmt.Errorf("cannot read %T as JSON", src)
	}
	return nil
}

// jsonArg stores optional JSON: nil stays NULL.
func jsonArg(b []byte) any {
	if b == nil {
		return nil
	}
	return []byte(b)
}
