package destination

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// PostgresSettings configure a postgres destination: a database of the
// client's own.
type PostgresSettings struct {
	// DSN is a libpq connection string, URL ("postgres://...") or
	// keyword/value form.
	DSN string `json:"dsn,omitempty"`
	// Schema holds wearlink's table and views; empty means the
	// connection's current schema (the first of its search_path). A
	// schema named here is created when missing.
	Schema string `json:"schema,omitempty"`
}

// Kind implements Settings.
func (s *PostgresSettings) Kind() string { return KindPostgres }

var identRE = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Validate implements Settings.
func (s *PostgresSettings) Validate() error {
	if s.DSN == "" {
		return invalidf(KindPostgres, "dsn is required")
	}
	// Before parsing: parsing reads the files named.
	for _, p := range localFileParams {
		if dsnHas(s.DSN, p) {
			return invalidf(KindPostgres, "dsn: %s names a file on the wearlink server and is not accepted (nor are %s)", p, strings.Join(localFileParams, ", "))
		}
	}
	if _, err := pgxpool.ParseConfig(s.DSN); err != nil {
		return invalidf(KindPostgres, "dsn: %s", scrub(err.Error(), dsnSecrets(s.DSN)))
	}
	host := dsnHost(s.DSN)
	if host == "" {
		return invalidf(KindPostgres, "dsn must name the host (the server's own PGHOST is not used)")
	}
	if strings.HasPrefix(host, "/") || strings.HasPrefix(host, "@") {
		return invalidf(KindPostgres, "dsn: host %q is a Unix socket on the wearlink server; give a host name or address", host)
	}
	if s.Schema != "" && !identRE.MatchString(s.Schema) {
		return invalidf(KindPostgres, "schema %q must be a lower-case SQL name (letters, digits, '_')", s.Schema)
	}
	return nil
}

// Redacted implements Settings: the DSN loses its passwords.
func (s *PostgresSettings) Redacted() Settings {
	c := *s
	c.DSN = RedactDSN(s.DSN)
	return &c
}

// KeepSecrets implements Settings: an update without a DSN keeps the
// current one.
func (s *PostgresSettings) KeepSecrets(prev Settings) {
	if p, ok := prev.(*PostgresSettings); ok && s.DSN == "" {
		s.DSN = p.DSN
	}
}

// localFileParams are the connection parameters that name files on the
// machine that connects: a client's DSN must not make wearlink read its
// own files.
var localFileParams = []string{"passfile", "service", "servicefile", "sslcert", "sslkey", "sslrootcert", "sslcrl", "sslcrldir"}

// kvParamRE matches, per connection parameter that dsnHas is asked
// about, its setting in a key=value DSN; compiled once, not per check.
var kvParamRE = func() map[string]*regexp.Regexp {
	m := map[string]*regexp.Regexp{}
	for _, p := range append(slices.Clone(localFileParams), secretParams...) {
		m[p] = kvParam(p)
	}
	return m
}()

func kvParam(name string) *regexp.Regexp {
	return regexp.MustCompile(`(?i)(^|\s)` + regexp.QuoteMeta(name) + `\s*=`)
}

// dsnHas reports whether dsn itself (not the environment) sets the
// connection parameter name (those of localFileParams and secretParams
// with patterns compiled once); "password" includes a URL's user password.
func dsnHas(dsn, name string) bool {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return false
		}
		if name == "password" && u.User != nil {
			if _, ok := u.User.Password(); ok {
				return true
			}
		}
		if name == "host" && u.Host != "" {
			return true
		}
		return u.Query().Has(name)
	}
	re, ok := kvParamRE[name]
	if !ok {
		re = kvParam(name)
	}
	return re.MatchString(dsn)
}

var kvHostRE = regexp.MustCompile(`(?i)(?:^|\s)host\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)

// dsnHost is the host dsn itself names, "" when it leaves it to the
// environment.
func dsnHost(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return ""
		}
		if h := u.Query().Get("host"); h != "" {
			return h
		}
		return u.Hostname()
	}
	m := kvHostRE.FindStringSubmatch(dsn)
	if m == nil {
		return ""
	}
	return strings.Trim(m[1], "'")
}

// secretParams are the connection parameters that hold secrets.
var secretParams = []string{"password", "sslpassword"}

var kvSecretRE = regexp.MustCompile(`(?i)\b(password|sslpassword)\s*=\s*('(?:[^'\\]|\\.)*'|\S*)`)

// RedactDSN returns dsn without its passwords.
func RedactDSN(dsn string) string {
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return "(unparsable URL)"
		}
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		q := u.Query()
		for _, p := range secretParams {
			q.Del(p)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(kvSecretRE.ReplaceAllString(dsn, ""))
}

// dsnSecrets are the passwords in dsn, to scrub from messages.
func dsnSecrets(dsn string) []string {
	var out []string
	if u, err := url.Parse(dsn); err == nil && strings.Contains(dsn, "://") {
		if p, ok := u.User.Password(); ok {
			out = append(out, p, url.QueryEscape(p), url.PathEscape(p))
		}
		for _, p := range secretParams {
			out = append(out, u.Query().Get(p))
		}
	}
	for _, m := range kvSecretRE.FindAllStringSubmatch(dsn, -1) {
		out = append(out, strings.Trim(m[2], "'"))
	}
	if c, err := pgconn.ParseConfig(dsn); err == nil {
		out = append(out, c.Password)
	}
	return nonEmpty(out...)
}

// The names of a postgres destination's objects.
const (
	tablePrefix    = "wearlink_"
	documentsTable = tablePrefix + "documents"
	versionTable   = tablePrefix + "schema_version"
)

type postgresWriter struct {
	set     PostgresSettings
	opt     Options
	pool    *pgxpool.Pool
	secrets []string

	mu       sync.Mutex
	migrated bool
}

func newPostgres(set PostgresSettings, opt Options) (*postgresWriter, error) {
	cfg, err := pgxpool.ParseConfig(set.DSN)
	if err != nil {
		return nil, invalidf(KindPostgres, "dsn: %s", scrub(err.Error(), dsnSecrets(set.DSN)))
	}
	// libpq's environment (PGPASSWORD, the password file, PGSSLCERT and
	// PGSSLKEY) is wearlink's own, for its own database: a client's
	// destination gets only the credentials its DSN gives.
	if !dsnHas(set.DSN, "password") {
		cfg.ConnConfig.Password = ""
	}
	for _, tc := range []*tls.Config{cfg.ConnConfig.TLSConfig} {
		if tc != nil {
			tc.Certificates, tc.GetClientCertificate = nil, nil
		}
	}
	for _, fb := range cfg.ConnConfig.Fallbacks {
		if fb.TLSConfig != nil {
			fb.TLSConfig.Certificates, fb.TLSConfig.GetClientCertificate = nil, nil
		}
	}
	cfg.MaxConns = 4
	cfg.MinConns = 0
	cfg.ConnConfig.ConnectTimeout = opt.Timeout
	cfg.ConnConfig.DialFunc = opt.DialContext
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = opt.ClientID
	}
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		return nil, invalidf(KindPostgres, "%s", scrub(err.Error(), dsnSecrets(set.DSN)))
	}
	return &postgresWriter{set: set, opt: opt, pool: pool, secrets: dsnSecrets(set.DSN)}, nil
}

// name is the sanitized, schema-qualified name of one of the
// destination's objects.
func (w *postgresWriter) name(n string) string {
	if w.set.Schema == "" {
		return pgx.Identifier{n}.Sanitize()
	}
	return pgx.Identifier{w.set.Schema, n}.Sanitize()
}

func (w *postgresWriter) fail(op string, err error) error {
	return newError(KindPostgres, op, pgClass(err), err, w.secrets)
}

// Write upserts d: its row is inserted, or replaced when d's version is
// newer than the row's, so the table always holds the newest version and
// neither a retry nor a replay of an older one moves it back.
func (w *postgresWriter) Write(ctx context.Context, d Doc) error {
	if err := d.Validate(); err != nil {
		return newError(KindPostgres, "upsert", ClassInvalid, err, nil)
	}
	ctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	defer cancel()
	if err := w.migrate(ctx); err != nil {
		return err
	}
	_, err := w.pool.Exec(ctx, fmt.Sprintf(`INSERT INTO %s AS t
  (client_uuid, user_id, pillar, data_structure, day, key, document_version, webhook_id, document, written_at)
VALUES ($1, $2, $3, $4, NULLIF($5, '')::date, $6, $7, $8, $9, now())
ON CONFLICT (client_uuid, user_id, pillar, data_structure, key) DO UPDATE SET
  day = excluded.day, document_version = excluded.document_version, webhook_id = excluded.webhook_id,
  document = excluded.document, written_at = excluded.written_at
WHERE excluded.document_version > t.document_version`, w.name(documentsTable)),
		d.ClientUUID, d.UserID, d.Pillar, d.DataStructure, d.Day, d.Key, d.Version, d.WebhookID, json.RawMessage(d.Body))
	if err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && (pe.Code == "42P01" || pe.Code == "3F000") {
			// The table or schema went away: create it again next time.
			w.mu.Lock()
			w.migrated = false
			w.mu.Unlock()
		}
		return w.fail("upsert", err)
	}
	return nil
}

// Test connects, creates or migrates the table and views, and checks
// that the credentials may insert and update rows.
func (w *postgresWriter) Test(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, w.opt.Timeout)
	defer cancel()
	w.mu.Lock()
	w.migrated = false
	w.mu.Unlock()
	if err := w.migrate(ctx); err != nil {
		return err
	}
	var ok bool
	err := w.pool.QueryRow(ctx, `SELECT has_table_privilege(to_regclass($1), 'INSERT') AND has_table_privilege(to_regclass($1), 'UPDATE')`,
		w.name(documentsTable)).Scan(&ok)
	if err != nil {
		return w.fail("test", err)
	}
	if !ok {
		return newError(KindPostgres, "test", ClassPermission,
			fmt.Errorf("permission denied: the user may not insert and update rows of %s", w.name(documentsTable)), nil)
	}
	return nil
}

func (w *postgresWriter) Close() error {
	w.pool.Close()
	return nil
}

// migrations bring the destination's schema from one version to the
// next; each runs in the transaction that records it.
func (w *postgresWriter) migrations() []func(context.Context, pgx.Tx) error {
	exec := func(sql ...string) func(context.Context, pgx.Tx) error {
		return func(ctx context.Context, tx pgx.Tx) error {
			for _, s := range sql {
				if _, err := tx.Exec(ctx, s); err != nil {
					return err
				}
			}
			return nil
		}
	}
	return []func(context.Context, pgx.Tx) error{
		// 1: the documents.
		exec(fmt.Sprintf(`CREATE TABLE %s (
  client_uuid text NOT NULL,
  user_id text NOT NULL,
  pillar text NOT NULL,
  data_structure text NOT NULL,
  day date,
  key text NOT NULL,
  document_version integer NOT NULL,
  webhook_id text NOT NULL,
  document jsonb NOT NULL,
  written_at timestamptz NOT NULL,
  PRIMARY KEY (client_uuid, user_id, pillar, data_structure, key)
)`, w.name(documentsTable)),
			fmt.Sprintf(`CREATE INDEX %s ON %s (data_structure, user_id, day)`,
				pgx.Identifier{documentsTable + "_structure_day"}.Sanitize(), w.name(documentsTable))),
		// 2: the views.
		w.createViews,
	}
}

// createViews (re)creates the view of every structure.
func (w *postgresWriter) createViews(ctx context.Context, tx pgx.Tx) error {
	for _, v := range Views() {
		if _, err := tx.Exec(ctx, "DROP VIEW IF EXISTS "+w.name(v.Name)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, viewSQL(w.name(v.Name), w.name(documentsTable), v)); err != nil {
			return fmt.Errorf("view %s: %w", v.Name, err)
		}
	}
	return nil
}

// migrate brings the schema to the newest version once per writer (again
// after the table went missing). Concurrent writers, in this process or
// others, take turns on an advisory lock.
func (w *postgresWriter) migrate(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.migrated {
		return nil
	}
	tx, err := w.pool.Begin(ctx)
	if err != nil {
		return w.fail("connect", err)
	}
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()
	steps := []string{
		fmt.Sprintf(`SELECT pg_advisory_xact_lock(hashtext(%s || '.' || %s))`,
			schemaExpr(w.set.Schema), quoteLiteral(documentsTable)),
	}
	if w.set.Schema != "" {
		steps = append(steps, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{w.set.Schema}.Sanitize())
	}
	steps = append(steps, fmt.Sprintf(`CREATE TABLE IF NOT EXISTS %s (
  version integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
)`, w.name(versionTable)))
	for _, s := range steps {
		if _, err := tx.Exec(ctx, s); err != nil {
			return w.fail("migrate", err)
		}
	}
	var have int
	if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM "+w.name(versionTable)).Scan(&have); err != nil {
		return w.fail("migrate", err)
	}
	ms := w.migrations()
	if have > len(ms) {
		return newError(KindPostgres, "migrate", ClassInvalid,
			fmt.Errorf("%s is at version %d, newer than this wearlink knows (%d)", w.name(versionTable), have, len(ms)), nil)
	}
	for v := have + 1; v <= len(ms); v++ {
		if err := ms[v-1](ctx, tx); err != nil {
			return w.fail("migrate", fmt.Errorf("version %d: %w", v, err))
		}
		if _, err := tx.Exec(ctx, "INSERT INTO "+w.name(versionTable)+" (version) VALUES ($1)", v); err != nil {
			return w.fail("migrate", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return w.fail("migrate", err)
	}
	w.migrated = true
	return nil
}

// schemaExpr is the SQL expression of the schema's name.
func schemaExpr(schema string) string {
	if schema == "" {
		return "current_schema()"
	}
	return quoteLiteral(schema)
}

// pgClass classifies an error of pgx.
func pgClass(err error) Class {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "28"): // invalid authorization
			return ClassAuth
		case pe.Code == "42501": // insufficient privilege
			return ClassPermission
		case pe.Code == "3D000", pe.Code == "3F000", pe.Code == "42P01": // no such database, schema, table
			return ClassNotFound
		case strings.HasPrefix(pe.Code, "22"), strings.HasPrefix(pe.Code, "23"): // data exception, integrity
			return ClassInvalid
		}
		return ClassUnavailable
	}
	if c, ok := NetClass(err); ok {
		return c
	}
	return ClassConnect
}
