package app

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/wearlink/wearlink/internal/delivery/destination"
	"github.com/wearlink/wearlink/internal/secret"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/postgres"
	"github.com/wearlink/wearlink/internal/store/sqlite"
)

// DefaultDataDir is where the SQLite database and the key file live when
// nothing else is said.
const DefaultDataDir = "./wearlink-data"

// StoreConfig says which database to open.
type StoreConfig struct {
	// DataDir holds wearlink.db (SQLite) and secret.key. Default
	// DefaultDataDir.
	DataDir string
	// DatabaseURL, a postgres:// or postgresql:// URL, selects PostgreSQL.
	DatabaseURL string
	// SecretKey is WEARLINK_SECRET_KEY's value: one base64 key, or several
	// separated by commas, newest first. Empty: the key file under
	// DataDir, created on first use.
	SecretKey string
	// CheckPages reads every page of a SQLite database up to
	// quickCheckMaxSize (quick_check) before opening it. The long-running
	// processes (serve, demo) set it; a one-off command gets only the
	// cheap header checks, so `wearlink clients list` does not pay up to
	// two seconds of reading on every call.
	CheckPages bool
	Logger     *slog.Logger
	Now        func() time.Time
}

// OpenedStore is an open store and what else runs on its database.
type OpenedStore struct {
	// Store is the whole store: every seam (store.Store, APIStore,
	// DeliveryStore, EraseStore, SessionStore, WriteProber) with no
	// assertion needed.
	Store store.Full
	// SQLite is the single writer pool River must share (nil on PostgreSQL).
	SQLite *sql.DB
	// PG is the pool River uses (nil on SQLite).
	PG     *pgxpool.Pool
	Sealer *secret.Sealer
	// Kind is "sqlite" or "postgres"; Location the file or the URL
	// without its password, for logs.
	Kind, Location string
	// lite or pg is the store itself, whose transactions River shares
	// (ingest.AttachTx).
	lite *sqlite.Store
	pg   *postgres.Store
}

// Migrate applies wearlink's and River's migrations and says what it did.
func (o *OpenedStore) Migrate(ctx context.Context) (store.MigrationResult, error) {
	return o.Store.RunMigrations(ctx)
}

// Close closes the store. Stop River first.
func (o *OpenedStore) Close() error { return o.Store.Close() }

// IsPostgresURL reports whether s selects PostgreSQL.
func IsPostgresURL(s string) bool {
	return strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://")
}

// OpenStore opens SQLite in DataDir, or PostgreSQL when DatabaseURL is
// set, with the sealing keys. It runs no migration.
func OpenStore(ctx context.Context, cfg StoreConfig) (*OpenedStore, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DataDir == "" {
		cfg.DataDir = DefaultDataDir
	}
	if cfg.DatabaseURL != "" && !IsPostgresURL(cfg.DatabaseURL) {
		// Never echo the value: it may hold a password.
		return nil, errors.New("open store: the database URL must start with postgres:// or postgresql://")
	}
	if cfg.DatabaseURL != "" && strings.TrimSpace(cfg.SecretKey) == "" {
		cfg.Logger.Warn("no " + secret.EnvKey + " set: tokens are sealed with the key file under the data directory; " +
			"every process sharing this database needs the same key")
	}
	path := filepath.Join(cfg.DataDir, sqlite.FileName)
	if cfg.DatabaseURL == "" {
		// Before the key file is read, which creates it when missing.
		if err := checkSQLiteFiles(cfg.DataDir, cfg.SecretKey); err != nil {
			return nil, err
		}
		if err := checkSQLiteIntegrity(ctx, path, cfg.CheckPages, cfg.Logger); err != nil {
			return nil, err
		}
	}
	keys, err := secret.Keys(cfg.SecretKey, filepath.Join(cfg.DataDir, secret.KeyFileName))
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	sealer, err := secret.NewSealer(keys...)
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}

	if cfg.DatabaseURL != "" {
		s, err := postgres.New(ctx, postgres.Options{URL: cfg.DatabaseURL, Sealer: sealer, Logger: cfg.Logger, Now: cfg.Now})
		if err != nil {
			return nil, fmt.Errorf("open store: %w", err)
		}
		return &OpenedStore{Store: s, PG: s.Pool(), pg: s, Sealer: sealer, Kind: "postgres",
			Location: redactURL(cfg.DatabaseURL)}, nil
	}
	s, err := sqlite.New(ctx, sqlite.Options{Path: path, Sealer: sealer, Logger: cfg.Logger, Now: cfg.Now})
	if err != nil {
		return nil, fmt.Errorf("open store: %w", err)
	}
	return &OpenedStore{Store: s, SQLite: s.Writer(), lite: s, Sealer: sealer, Kind: "sqlite", Location: path}, nil
}

// redactURL is the database URL for logs: without a password, whether in
// the user part or a password= parameter (the destinations' rule).
func redactURL(s string) string { return destination.RedactDSN(s) }
