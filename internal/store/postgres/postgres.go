// Package postgres is wearlink's store on PostgreSQL (pgx/v5): the
// scale-out path, where several wearlink processes share one database and
// River spreads the jobs across them. It is a thin driver under
// internal/store/sqlstore, which holds the rules.
//
// What this driver does differently from SQLite: writers run concurrently,
// so ApplyHealthDocuments locks each user it writes for (transaction-scoped
// advisory locks, taken in one global order) and FanOut takes outbox
// records with SKIP LOCKED; batches are sent as arrays (unnest) or one
// pgx.Batch, one round trip per step rather than one per document; times
// are timestamptz.
package postgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/sqlstore"
)

// Options configure New.
type Options struct {
	// URL is a postgres:// or postgresql:// connection URL (or a
	// key=value DSN). Any parameter pgx does not know, such as
	// search_path, is sent as a run-time parameter.
	URL string
	// Sealer seals tokens at rest. Required.
	Sealer *secret.Sealer
	// Logger defaults to slog.Default().
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// Schema, when set, is where wearlink's and River's tables live: it
	// becomes the search_path of every connection, and Migrate creates it
	// when missing. Default: the server's search_path (usually public).
	Schema string
	// MaxConns overrides the pool size (pool_max_conns in the URL, else
	// pgx's default of max(4, GOMAXPROCS)).
	MaxConns int32
}

// Store is the PostgreSQL store: the rules of sqlstore over this driver.
type Store struct {
	*sqlstore.Store
	pool   *pgxpool.Pool
	schema string
	log    *slog.Logger
}

// New connects to the database. It does not migrate: call Migrate.
func New(ctx context.Context, opt Options) (*Store, error) {
	if opt.URL == "" {
		return nil, errors.New("postgres: no database URL")
	}
	sc := sqlstore.Config{Sealer: opt.Sealer, Logger: opt.Logger, Now: opt.Now}
	if err := sc.Check(); err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	cfg, err := pgxpool.ParseConfig(opt.URL)
	if err != nil {
		// pgx's message can quote the URL, password included.
		return nil, errors.New("postgres: cannot parse the database URL")
	}
	if opt.MaxConns > 0 {
		cfg.MaxConns = opt.MaxConns
	}
	if opt.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opt.Schema}.Sanitize()
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: connect to %s:%d/%s: %w", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database, err)
	}
	sc.Driver, sc.Batch = driver{pool}, batcher{}
	s := &Store{Store: sqlstore.New(sc), pool: pool, schema: opt.Schema, log: sc.Logger}
	return s, nil
}

// Pool is the connection pool, for riverpgxv5.New.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

var _ store.Full = (*Store)(nil)

// Close closes the pool. River must be stopped first.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// JobTx runs fn in one READ COMMITTED transaction: w writes the store's
// rows in it and tx is the same transaction for River's InsertTx
// (riverpgxv5 on Pool), so the rows and the jobs commit together.
func (s *Store) JobTx(ctx context.Context, fn func(tx pgx.Tx, w store.CursorWriter) error) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error { return fn(tx, s.Store.JobTx(querier{tx})) })
}

// driver implements sqlstore.Driver.
type driver struct{ pool *pgxpool.Pool }

func (d driver) Reader() sqlstore.Querier { return querier{d.pool} }
func (d driver) Writer() sqlstore.Querier { return querier{d.pool} }

// WriteTx runs fn in a READ COMMITTED transaction.
func (d driver) WriteTx(ctx context.Context, fn func(sqlstore.Querier) error) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error { return fn(querier{tx}) })
}

// ReadTx runs fn in a REPEATABLE READ read-only transaction: one snapshot.
func (d driver) ReadTx(ctx context.Context, fn func(sqlstore.Querier) error) error {
	return pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return fn(querier{tx}) })
}

func (driver) Time(t time.Time) any { return t }

// LockUsers takes a transaction-scoped advisory lock per user, in lock
// order, so two writers of one user's documents never both bump one.
func (driver) LockUsers(ctx context.Context, q sqlstore.Querier, keys []string) error {
	_, err := q.Exec(ctx, `SELECT pg_advisory_xact_lock(l) FROM
		(SELECT DISTINCT hashtextextended(k, 0) AS l FROM unnest(?::text[]) AS k ORDER BY 1) AS locks`, keys)
	return err
}

func (driver) Dialect() sqlstore.Dialect {
	return sqlstore.Dialect{
		True: "true", False: "false", NoLimit: "ALL",
		ScopesCol: "array_to_json(scopes)::text",
		Scopes: func(s []string) any {
			if s == nil {
				return []string{}
			}
			return s
		},
		MergeJSON:  "jsonb_strip_nulls(cursors || ?::jsonb)",
		SkipLocked: " FOR UPDATE OF o SKIP LOCKED",
		LockRow:    " FOR UPDATE",
		JSONInt: func(col, key string) string {
			return "(" + col + "->>'" + key + "')::bigint"
		},
	}
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func (driver) IsUnique(err error) bool     { return pgCode(err) == "23505" }
func (driver) IsForeignKey(err error) bool { return pgCode(err) == "23503" }

// querier adapts a pool or a transaction to sqlstore.Querier, rewriting
// ? placeholders to $n.
type querier struct {
	q interface {
		Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
		Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
		QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	}
}

// Exec runs a statement; one without arguments may be a script of several
// (a migration), which only the simple protocol runs.
func (q querier) Exec(ctx context.Context, query string, args ...any) (int64, error) {
	if len(args) == 0 {
		args = []any{pgx.QueryExecModeSimpleProtocol}
	}
	tag, err := q.q.Exec(ctx, rebind(query), args...)
	return tag.RowsAffected(), err
}

func (q querier) Query(ctx context.Context, query string, args ...any) (sqlstore.Rows, error) {
	rows, err := q.q.Query(ctx, rebind(query), args...)
	if err != nil {
		return nil, err
	}
	return pgRows{rows}, nil
}

func (q querier) QueryRow(ctx context.Context, query string, args ...any) sqlstore.Row {
	return pgRow{q.q.QueryRow(ctx, rebind(query), args...)}
}

type pgRows struct{ pgx.Rows }

func (r pgRows) Scan(dest ...any) error { return noRows(r.Rows.Scan(dest...)) }

type pgRow struct{ pgx.Row }

func (r pgRow) Scan(dest ...any) error { return noRows(r.Row.Scan(dest...)) }

// noRows makes pgx's no-rows error the one sqlstore knows.
func noRows(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return sql.ErrNoRows
	}
	return err
}

var rebound sync.Map // query with ? -> query with $n

// rebind turns the ? placeholders of sqlstore's queries into $1, $2...
// (sqlstore writes no ? in literals).
func rebind(q string) string {
	if v, ok := rebound.Load(q); ok {
		return v.(string)
	}
	var b strings.Builder
	n := 0
	for _, part := range strings.SplitAfter(q, "?") {
		if strings.HasSuffix(part, "?") {
			n++
			b.WriteString(part[:len(part)-1] + "$" + strconv.Itoa(n))
		} else {
			b.WriteString(part)
		}
	}
	out := b.String()
	if n > 0 && len(q) < 4096 {
		rebound.Store(q, out)
	}
	return out
}
