package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

// Clients

const clientCols = `uuid, name, secret_hash, settings, created_at, updated_at`

func scanClient(row interface{ Scan(...any) error }) (store.Client, error) {
	var c store.Client
	var created, updated sql.NullInt64
	var settings []byte
	if err := row.Scan(&c.UUID, &c.Name, &c.SecretHash, &settings, &created, &updated); err != nil {
		return c, err
	}
	if settings != nil {
		c.Settings = json.RawMessage(settings)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

// CreateClient implements store.Store.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	if err := common.ValidClient(c); err != nil {
		return err
	}
	now := common.Now(s.now).UnixMicro()
	_, err := s.w.ExecContext(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		c.UUID, c.Name, c.SecretHash, jsonArg(c.Settings), now, now)
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
	c, err := scanClient(s.r.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients WHERE uuid = ?`, uuid))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("client %s not found", uuid)
	}
	if err != nil {
		return c, fmt.Errorf("get client %s: %w", uuid, err)
	}
	return c, nil
}

// ListClients implements store.Store; clients come in UUID order.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+clientCols+` FROM clients ORDER BY uuid`)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	defer rows.Close()
	var out []store.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, fmt.Errorf("list clients: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// UpdateClient implements store.Store: it replaces the name and settings,
// and the secret hash unless c.SecretHash is nil.
func (s *Store) UpdateClient(ctx context.Context, c store.Client) error {
	if err := common.ValidClient(c); err != nil {
		return err
	}
	res, err := s.w.ExecContext(ctx, `UPDATE clients SET name = ?, secret_hash = coalesce(?, secret_hash), settings = ?, updated_at = ? WHERE uuid = ?`,
		c.Name, c.SecretHash, jsonArg(c.Settings), common.Now(s.now).UnixMicro(), c.UUID)
	if err != nil {
		return fmt.Errorf("update client %s: %w", c.UUID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("client %s not found", c.UUID)
	}
	return nil
}

// DeleteClient implements store.Store. Its users, connections and
// documents go with it.
func (s *Store) DeleteClient(ctx context.Context, uuid string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM clients WHERE uuid = ?`, uuid)
	if err != nil {
		return fmt.Errorf("delete client %s: %w", uuid, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("client %s not found", uuid)
	}
	return nil
}

// Users

const userCols = `client_uuid, user_id, time_zone, info, created_at, updated_at`

func scanUser(row interface{ Scan(...any) error }) (store.User, error) {
	var u store.User
	var created, updated sql.NullInt64
	var info []byte
	if err := row.Scan(&u.ClientUUID, &u.UserID, &u.TimeZone, &info, &created, &updated); err != nil {
		return u, err
	}
	if info != nil {
		u.Info = json.RawMessage(info)
	}
	u.CreatedAt, u.UpdatedAt = fromMicros(created), fromMicros(updated)
	return u, nil
}

// UpsertUser implements store.Store: it creates the user, or updates the
// time zone and the information of an existing one; an empty TimeZone or
// a nil Info keeps what is stored.
func (s *Store) UpsertUser(ctx context.Context, u store.User) (store.User, error) {
	if err := common.ValidUser(u); err != nil {
		return u, err
	}
	now := common.Now(s.now).UnixMicro()
	out, err := scanUser(s.w.QueryRowContext(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (client_uuid, user_id) DO UPDATE SET
			time_zone = CASE WHEN excluded.time_zone <> '' THEN excluded.time_zone ELSE users.time_zone END,
			info = coalesce(excluded.info, users.info),
			updated_at = excluded.updated_at
		RETURNING `+userCols,
		u.ClientUUID, u.UserID, u.TimeZone, jsonArg(u.Info), now, now))
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
	u, err := scanUser(s.r.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE client_uuid = ? AND user_id = ?`, clientUUID, userID))
	if errors.Is(err, sql.ErrNoRows) {
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
	if limit <= 0 {
		limit = -1
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+userCols+` FROM users WHERE client_uuid = ? ORDER BY user_id LIMIT ? OFFSET ?`,
		clientUUID, limit, max(offset, 0))
	if err != nil {
		return nil, fmt.Errorf("list users of %s: %w", clientUUID, err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, fmt.Errorf("list users of %s: %w", clientUUID, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// Connections

const connCols = `id, client_uuid, user_id, data_source, status, access_token, refresh_token, token_expiry,
	scopes, oura_user_id, cursors, last_sync_at, last_error, created_at, updated_at`

func (s *Store) scanConn(row interface{ Scan(...any) error }) (store.Connection, error) {
	var c store.Connection
	var access, refresh, scopes, cursors []byte
	var expiry, synced, created, updated sql.NullInt64
	if err := row.Scan(&c.ID, &c.ClientUUID, &c.UserID, &c.DataSource, &c.Status, &access, &refresh, &expiry,
		&scopes, &c.OuraUserID, &cursors, &synced, &c.LastError, &created, &updated); err != nil {
		return c, err
	}
	var err error
	if c.Tokens.Scopes, err = common.DecodeScopes(scopes); err != nil {
		return c, err
	}
	if c.Cursors, err = common.DecodeCursors(cursors); err != nil {
		return c, err
	}
	c.Tokens.Expiry = fromMicros(expiry)
	c.LastSyncAt, c.CreatedAt, c.UpdatedAt = fromMicros(synced), fromMicros(created), fromMicros(updated)
	return c, common.OpenTokens(s.sealer, &c, access, refresh)
}

func (s *Store) queryConns(ctx context.Context, what, query string, args ...any) ([]store.Connection, error) {
	rows, err := s.r.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	defer rows.Close()
	var out []store.Connection
	for rows.Next() {
		c, err := s.scanConn(rows)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
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
	now := common.Now(s.now).UnixMicro()
	var out store.Connection
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO users (client_uuid, user_id, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, c.ClientUUID, c.UserID, now, now); err != nil {
			return err
		}
		var err error
		out, err = s.scanConn(tx.QueryRowContext(ctx, `INSERT INTO connections (client_uuid, user_id, data_source, status,
				access_token, refresh_token, token_expiry, scopes, oura_user_id, cursors, last_sync_at, last_error, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (client_uuid, user_id, data_source) DO UPDATE SET
				status = 'active',
				access_token = excluded.access_token,
				refresh_token = excluded.refresh_token,
				token_expiry = excluded.token_expiry,
				scopes = excluded.scopes,
				oura_user_id = CASE WHEN excluded.oura_user_id <> '' THEN excluded.oura_user_id ELSE connections.oura_user_id END,
				last_error = '',
				updated_at = excluded.updated_at
			RETURNING `+connCols,
			c.ClientUUID, c.UserID, c.DataSource, c.Status, access, refresh, micros(common.Time(c.Tokens.Expiry)),
			common.EncodeScopes(c.Tokens.Scopes), c.OuraUserID, common.EncodeCursors(c.Cursors),
			micros(common.Time(c.LastSyncAt)), c.LastError, now, now))
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
	c, err := s.scanConn(s.r.QueryRowContext(ctx, `SELECT `+connCols+` FROM connections WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return c, notFound("connection %d not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("get connection %d: %w", id, err)
	}
	return c, nil
}

// FindConnection implements store.Store.
func (s *Store) FindConnection(ctx context.Context, clientUUID, userID, dataSource string) (store.Connection, error) {
	c, err := s.scanConn(s.r.QueryRowContext(ctx, `SELECT `+connCols+` FROM connections WHERE client_uuid = ? AND user_id = ? AND data_source = ?`,
		clientUUID, userID, dataSource))
	if errors.Is(err, sql.ErrNoRows) {
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
		`SELECT `+connCols+` FROM connections WHERE oura_user_id = ? AND status = 'active' ORDER BY id`, ouraUserID)
}

// ListConnections implements store.Store: connections with the status
// (all when ""), in id order.
func (s *Store) ListConnections(ctx context.Context, status string) ([]store.Connection, error) {
	if status == "" {
		return s.queryConns(ctx, "list connections", `SELECT `+connCols+` FROM connections ORDER BY id`)
	}
	return s.queryConns(ctx, "list connections", `SELECT `+connCols+` FROM connections WHERE status = ? ORDER BY id`, status)
}

// UpdateTokens implements store.Store. The write is synchronous (FULL)
// before it returns.
func (s *Store) UpdateTokens(ctx context.Context, id int64, t store.Tokens) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		c := store.Connection{ID: id, Tokens: t}
		err := tx.QueryRowContext(ctx, `SELECT client_uuid, user_id, data_source FROM connections WHERE id = ?`, id).
			Scan(&c.ClientUUID, &c.UserID, &c.DataSource)
		if errors.Is(err, sql.ErrNoRows) {
			return notFound("connection %d not found", id)
		}
		if err != nil {
			return err
		}
		access, refresh, err := common.SealTokens(s.sealer, &c)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE connections SET access_token = ?, refresh_token = ?, token_expiry = ?, scopes = ?, updated_at = ? WHERE id = ?`,
			access, refresh, micros(common.Time(t.Expiry)), common.EncodeScopes(t.Scopes), common.Now(s.now).UnixMicro(), id)
		return err
	})
	if err != nil {
		return fmt.Errorf("update tokens of connection %d: %w", id, err)
	}
	return nil
}

func (s *Store) updateConn(ctx context.Context, id int64, what, set string, args ...any) error {
	args = append(args, common.Now(s.now).UnixMicro(), id)
	res, err := s.w.ExecContext(ctx, `UPDATE connections SET `+set+`, updated_at = ? WHERE id = ?`, args...)
	if err != nil {
		return fmt.Errorf("%s of connection %d: %w", what, id, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return notFound("connection %d not found", id)
	}
	return nil
}

// SetConnectionStatus implements store.Store.
func (s *Store) SetConnectionStatus(ctx context.Context, id int64, status, lastError string) error {
	if err := common.ValidStatus(status); err != nil {
		return err
	}
	return s.updateConn(ctx, id, "set status", `status = ?, last_error = ?`, status, lastError)
}

// SetOuraUserID implements store.Store.
func (s *Store) SetOuraUserID(ctx context.Context, id int64, ouraUserID string) error {
	return s.updateConn(ctx, id, "set Oura user id", `oura_user_id = ?`, ouraUserID)
}

// SetCursors implements store.Store. The merge happens in the database
// (a JSON merge patch, where null deletes a key), so concurrent updates of
// different keys do not overwrite each other. A zero syncedAt keeps the
// recorded sync time.
func (s *Store) SetCursors(ctx context.Context, id int64, cursors map[string]string, syncedAt time.Time) error {
	patch := make(map[string]*string, len(cursors))
	for k, v := range cursors {
		if v == "" {
			patch[k] = nil
		} else {
			patch[k] = &v
		}
	}
	b, err := json.Marshal(patch)
	if err != nil {
		return err
	}
	return s.updateConn(ctx, id, "set cursors", `cursors = json_patch(cursors, ?), last_sync_at = coalesce(?, last_sync_at)`,
		string(b), micros(common.Time(syncedAt)))
}

// SealedTokens returns the token columns as stored (sealed), for checks
// that nothing is kept in clear and for key rotation tooling.
func (s *Store) SealedTokens(ctx context.Context, id int64) (access, refresh []byte, err error) {
	err = s.r.QueryRowContext(ctx, `SELECT access_token, refresh_token FROM connections WHERE id = ?`, id).Scan(&access, &refresh)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil, notFound("connection %d not found", id)
	}
	return access, refresh, err
}
