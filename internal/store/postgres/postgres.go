// Package postgres is wearlink's store on PostgreSQL (pgx/v5): the
// scale-out path, where several wearlink processes share one database and
// River spreads the jobs across them.
//
// Writes that read before they write take locks that hold across
// processes: ApplyHealthDocuments locks each user it writes for
// (transaction-scoped advisory locks, taken in one global order), so two
// processes never both bump one document; batches are sent as arrays
// (unnest), one statement per step rather than one per document.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
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

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	sealer *secret.Sealer
	log    *slog.Logger
	now    func() time.Time
}

var _ store.Store = (*Store)(nil)

// New connects to the database. It does not migrate: call Migrate.
func New(ctx context.Context, opt Options) (*Store, error) {
	if opt.URL == "" {
		return nil, errors.New("postgres: no database URL")
	}
	if opt.Sealer == nil {
		return nil, errors.New("postgres: no sealer")
	}
	if opt.Logger == nil {
		opt.Logger = slog.Default()
	}
	if opt.Now == nil {
		opt.Now = time.Now
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
	return &Store{pool: pool, schema: opt.Schema, sealer: opt.Sealer, log: opt.Logger, now: opt.Now}, nil
}

// Pool is the connection pool, for riverpgxv5.New.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Close closes the pool. River must be stopped first.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// inTx runs fn in a transaction (READ COMMITTED).
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

func isUnique(err error) bool     { return pgCode(err) == "23505" }
func isForeignKey(err error) bool { return pgCode(err) == "23503" }

func notFound(format string, args ...any) error {
	return health.Errorf(health.ENOTFOUND, format, args...)
}

// ts stores a time; the zero time is NULL.
func ts(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

// fromTS reads a nullable timestamptz in UTC.
func fromTS(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// jsonArg stores optional JSON: nil stays NULL.
func jsonArg(b []byte) any {
	if b == nil {
		return nil
	}
	return []byte(b)
}
