package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

// Clients

const clientCols = `uuid, name, secret_hash, settings, created_at, updated_at`

func scanClient(row pgx.Row) (store.Client, error) {
	var c store.Client
	var settings []byte
	if err := row.Scan(&c.UUID, &c.Name, &c.SecretHash, &settings, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	if settings != nil {
		c.Settings = json.RawMessage(settings)
	}
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, nil
}

// CreateClient implements store.Store.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	if err := common.ValidClient(c); err != nil {
		return err
	}
	now := common.Now(s.now)
	_, err := s.pool.Exec(ctx, `INSERT INTO clients (`+clientCols+`) VALUES ($1, $2, $3, $4, $5, $5)`,
		c.UUID, c.Name, c.SecretHash, jsonArg(c.Settings), now)
	if isUnique(err) {
		return health.Errorf(health.ECONFLICT, "client %s already exists", c.UUID)
	}
	if err != nil {
		return fmt.Errorf("create client %s: %w", c.UUID, err)
	}
	return nil
}

// GetClient implements store.Store.
func (s *Store) GetClient(ctx context.Context, uuid string) (store.Client, error) {
	c, err := scanClient(s.pool.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE uuid = $1`, uuid))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, notFound("client %s not found", uuid)
	}
	if err != nil {
		return c, fmt.Errorf("get client %s: %w", uuid, err)
	}
	return c, nil
}

// ListClients implements store.Store; clients come in UUID order.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+clientCols+` FROM clients ORDER BY uuid`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	out, err := collect(rows, scanClient)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

// collect scans every row with scan.
func collect[T any](rows pgx.Rows, scan func(pgx.Row) (T, error)) ([]T, error) {
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

// UpdateClient implements store.Store: it replaces the name and settings,
// and the secret hash unless c.SecretHash is nil.
func (s *Store) UpdateClient(ctx context.Context, c store.Client) error {
	if err := common.ValidClient(c); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, `UPDATE clients SET name = $1, secret_hash = coalesce($2, secret_hash), settings = $3, updated_at = $4 WHERE uuid = $5`,
		c.Name, c.SecretHash, jsonArg(c.Settings), common.Now(s.now), c.UUID)
	if err != nil {
		return fmt.Errorf("update client %s: %w", c.UUID, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("client %s not found", c.UUID)
	}
	return nil
}

// DeleteClient implements store.Store. Its users, connections and
// documents go with it.
func (s *Store) DeleteClient(ctx context.Context, uuid string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM clients WHERE uuid = $1`, uuid)
	if err != nil {
		return fmt.Errorf("delete client %s: %w", uuid, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("client %s not found", uuid)
	}
	return nil
}

// Users

const userCols = `client_uuid, user_id, time_zone, info, created_at, updated_at`

func scanUser(row pgx.Row) (store.User, error) {
	var u store.User
	var info []byte
	if err := row.Scan(&u.ClientUUID, &u.UserID, &u.TimeZone, &info, &u.CreatedAt, &u.UpdatedAt); err != nil {
		return u, err
	}
	if info != nil {
		u.Info = json.RawMessage(info)
	}
	u.CreatedAt, u.UpdatedAt = u.CreatedAt.UTC(), u.UpdatedAt.UTC()
	return u, nil
}

// UpsertUser implements store.Store: it creates the user, or updates the
// time zone and the information of an existing one; an empty TimeZone or
// a nil Info keeps what is stored.
func (s *Store) UpsertUser(ctx context.Context, u store.User) (store.User, error) {
	if err := common.ValidUser(u); err != nil {
		return u, err
	}
	out, err := scanUser(s.pool.QueryRow(ctx, `INSERT INTO users AS u (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $5)
		ON CONFLICT (client_uuid, user_id) DO UPDATE SET
			time_zone = CASE WHEN excluded.time_zone <> '' THEN excluded.time_zone ELSE u.time_zone END,
			info = coalesce(excluded.info, u.info),
			updated_at = excluded.updated_at
		RETURNING `+userCols,
		u.ClientUUID, u.UserID, u.TimeZone, jsonArg(u.Info), common.Now(s.now)))
	if isForeignKey(err) {
		return u, notFound("client %s not found", u.ClientUUID)
	}
	if err != nil {
		return u, fmt.Errorf("upsert user %s/%s: %w", u.ClientUUID, u.UserID, err)
	}
	return out, nil
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, clientUUID, userID string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE client_uuid = $1 AND user_id = $2`, clientUUID, userID))
	if errors.Is(err, pgx.ErrNoRows) {
		return u, notFound("user %s not found", userID)
	}
	if err != nil {
		return u, fmt.Errorf("get user %s/%s: %w", clientUUID, userID, err)
	}
	return u, nil
}

// ListUsers implements store.Store: users in user_id order; limit <= 0
// means no limit.
func (s *Store) ListUsers(ctx context.Context, clientUUID string, limit, offset int) ([]store.User, error) {
	var lim any // NULL: LIMIT ALL
	if limit > 0 {
		lim = limit
	}
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users WHERE client_uuid = $1 ORDER BY user_id LIMIT $2 OFFSET $3`,
		clientUUID, lim, max(offset, 0))
	if err != nil {
		return nil, fmt.Errorf("list users of %s: %w", clientUUID, err)
	}
	out, err := collect(rows, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users of %s: %w", clientUUID, err)
	}
	return out, nil
}

// Connections

const connCols = `id, client_uuid, user_id, data_source, status, access_token, refresh_token, token_expiry,
	scopes, oura_user_id, cursors, last_sync_at, last_error, created_at, updated_at`

func (s *Store) scanConn(row pgx.Row) (store.Connection, error) {
	var c store.Connection
	var access, refresh, cursors []byte
	var expiry, synced *time.Time
	if err := row.Scan(&c.ID, &c.ClientUUID, &c.UserID, &c.DataSource, &c.Status, &access, &refresh, &expiry,
		&c.Tokens.Scopes, &c.OuraUserID, &cursors, &synced, &c.LastError, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	if len(c.Tokens.Scopes) == 0 {
		c.Tokens.Scopes = nil
	}
	var err error
	if c.Cursors, err = common.DecodeCursors(cursors); err != nil {
		return c, err
	}
	c.Tokens.Expiry, c.LastSyncAt = fromTS(expiry), fromTS(synced)
	c.CreatedAt, c.UpdatedAt = c.CreatedAt.UTC(), c.UpdatedAt.UTC()
	return c, common.OpenTokens(s.sealer, &c, access, refresh)
}

func (s *Store) queryConns(ctx context.Context, what, query string, args ...any) ([]store.Connection, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	out, err := collect(rows, s.scanConn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
}

func scopesArg(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// CreateConnection implements store.Store. The user is created when
// missing; the client must exist.
func (s *Store) CreateConnection(ctx context.Context, c store.Connection) (store.Connection, error) {
	if err := common.ValidNewConnection(&c); err != nil {
		return c, err
	}
	access, refresh, err := common.SealTokens(s.sealer, &c)
	if err != nil {
		return c, err
	}
	now := common.Now(s.now)
	var out store.Connection
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (client_uuid, user_id, created_at, updated_at) VALUES ($1, $2, $3, $3)
			ON CONFLICT DO NOTHING`, c.ClientUUID, c.UserID, now); err != nil {
			return err
		}
		var err error
		out, err = s.scanConn(tx.QueryRow(ctx, `INSERT INTO connections AS c (client_uuid, user_id, data_source, status,
				access_token, refresh_token, token_expiry, scopes, oura_user_id, cursors, last_sync_at, last_error, created_at, updated_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13)
			ON CONFLICT (client_uuid, user_id, data_source) DO UPDATE SET
				status = 'active',
				access_token = excluded.access_token,
				refresh_token = excluded.refresh_token,
				token_expiry = excluded.token_expiry,
				scopes = excluded.scopes,
				oura_user_id = CASE WHEN excluded.oura_user_id <> '' THEN excluded.oura_user_id ELSE c.oura_user_id END,
				last_error = '',
				updated_at = excluded.updated_at
			RETURNING `+connCols,
			c.ClientUUID, c.UserID, c.DataSource, c.Status, access, refresh, ts(common.Time(c.Tokens.Expiry)),
			scopesArg(c.Tokens.Scopes), c.OuraUserID, common.EncodeCursors(c.Cursors),
			ts(common.Time(c.LastSyncAt)), c.LastError, now))
		return err
	})
	if isForeignKey(err) {
		return c, notFound("client %s not found", c.ClientUUID)
	}
	if err != nil {
		return c, fmt.Errorf("create connection %s/%s/%s: %w", c.ClientUUID, c.UserID, c.DataSource, err)
	}
	return out, nil
}

// GetConnection implements store.Store.
func (s *Store) GetConnection(ctx context.Context, id int64) (store.Connection, error) {
	c, err := s.scanConn(s.pool.QueryRow(ctx, `SELECT `+connCols+` FROM connections WHERE id = $1`, id))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, notFound("connection %d not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("get connection %d: %w", id, err)
	}
	return c, nil
}

// FindConnection implements store.Store.
func (s *Store) FindConnection(ctx context.Context, clientUUID, userID, dataSource string) (store.Connection, error) {
	c, err := s.scanConn(s.pool.QueryRow(ctx, `SELECT `+connCols+` FROM connections WHERE client_uuid = $1 AND user_id = $2 AND data_source = $3`,
		clientUUID, userID, dataSource))
	if errors.Is(err, pgx.ErrNoRows) {
		return c, notFound("user %s has no %s connection", userID, dataSource)
	}
	if err != nil {
		return c, fmt.Errorf("find connection %s/%s/%s: %w", clientUUID, userID, dataSource, err)
	}
	return c, nil
}

// ConnectionsByOuraUser implements store.Store, in id order.
func (s *Store) ConnectionsByOuraUser(ctx context.Context, ouraUserID string) ([]store.Connection, error) {
	if ouraUserID == "" {
		return nil, nil
	}
	return s.queryConns(ctx, "connections of Oura user "+ouraUserID,
		`SELECT `+connCols+` FROM connections WHERE oura_user_id = $1 AND status = 'active' ORDER BY id`, ouraUserID)
}

// ListConnections implements store.Store: connections with the status
// (all when ""), in id order.
func (s *Store) ListConnections(ctx context.Context, status string) ([]store.Connection, error) {
	if status == "" {
		return s.queryConns(ctx, "list connections", `SELECT `+connCols+` FROM connections ORDER BY id`)
	}
	return s.queryConns(ctx, "list connections", `SELECT `+connCols+` FROM connections WHERE status = $1 ORDER BY id`, status)
}

// UpdateTokens implements store.Store. It returns after the commit, which
// PostgreSQL has made durable.
func (s *Store) UpdateTokens(ctx context.Context, id int64, t store.Tokens) error {
	// The columns the associated data names never change, so reading them
	// outside the update's transaction is safe.
	c := store.Connection{ID: id, Tokens: t}
	err := s.pool.QueryRow(ctx, `SELECT client_uuid, user_id, data_source FROM connections WHERE id = $1`, id).
		Scan(&c.ClientUUID, &c.UserID, &c.DataSource)
	if errors.Is(err, pgx.ErrNoRows) {
		return notFound("connection %d not found", id)
	}
	if err != nil {
		return fmt.Errorf("update tokens of connection %d: %w", id, err)
	}
	access, refresh, err := common.SealTokens(s.sealer, &c)
	if err != nil {
		return err
	}
	return s.updateConn(ctx, id, "update tokens", `access_token = $1, refresh_token = $2, token_expiry = $3, scopes = $4`,
		access, refresh, ts(common.Time(t.Expiry)), scopesArg(t.Scopes))
}

// updateConn runs UPDATE connections SET <set> with args as $1.., then
// updated_at and the id.
func (s *Store) updateConn(ctx context.Context, id int64, what, set string, args ...any) error {
	n := len(args)
	args = append(args, common.Now(s.now), id)
	tag, err := s.pool.Exec(ctx, fmt.Sprintf(`UPDATE connections SET %s, updated_at = $%d WHERE id = $%d`, set, n+1, n+2), args...)
	if err != nil {
		return fmt.Errorf("%s of connection %d: %w", what, id, err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("connection %d not found", id)
	}
	return nil
}

// SetConnectionStatus implements store.Store.
func (s *Store) SetConnectionStatus(ctx context.Context, id int64, status, lastError string) error {
	if err := common.ValidStatus(status); err != nil {
		return err
	}
	return s.updateConn(ctx, id, "set status", `status = $1, last_error = $2`, status, lastError)
}

// SetOuraUserID implements store.Store.
func (s *Store) SetOuraUserID(ctx context.Context, id int64, ouraUserID string) error {
	return s.updateConn(ctx, id, "set Oura user id", `oura_user_id = $1`, ouraUserID)
}

// SetCursors implements store.Store. The merge is one statement, so
// concurrent updates of different keys do not overwrite each other. A
// zero syncedAt keeps the recorded sync time.
func (s *Store) SetCursors(ctx context.Context, id int64, cursors map[string]string, syncedAt time.Time) error {
	set := map[string]string{}
	del := []string{}
	for k, v := range cursors {
		if v == "" {
			del = append(del, k)
		} else {
			set[k] = v
		}
	}
	b, err := json.Marshal(set)
	if err != nil {
		return err
	}
	return s.updateConn(ctx, id, "set cursors", `cursors = (cursors || $1::jsonb) - $2::text[], last_sync_at = coalesce($3, last_sync_at)`,
		string(b), del, ts(common.Time(syncedAt)))
}

// SealedTokens returns the token columns as stored (sealed), for checks
// that nothing is kept in clear and for key rotation tooling.
func (s *Store) SealedTokens(ctx context.Context, id int64) (access, refresh []byte, err error) {
	err = s.pool.QueryRow(ctx, `SELECT access_token, refresh_token FROM connections WHERE id = $1`, id).Scan(&access, &refresh)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil, notFound("connection %d not found", id)
	}
	return access, refresh, err
}
