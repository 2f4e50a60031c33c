package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wearlink/wearlink/internal/health"
	"github.com/wearlink/wearlink/internal/store"
	"github.com/wearlink/wearlink/internal/store/internal/common"
)

// Clients

const clientCols = `uuid, name, secret_hash, settings, created_at, updated_at`

func scanClient(row Row) (c store.Client, err error) {
	return c, row.Scan(&c.UUID, &c.Name, &c.SecretHash, (*jsonCol)(&c.Settings), &c.CreatedAt, &c.UpdatedAt)
}

// CreateClient implements store.Store.
func (s *Store) CreateClient(ctx context.Context, c store.Client) error {
	if err := common.ValidClient(c); err != nil {
		return err
	}
	now := s.Now()
	_, err := s.w.Exec(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
		c.UUID, c.Name, c.SecretHash, jsonArg(c.Settings), now, now)
	if s.drv.IsUnique(err) {
		return health.Errorf(health.ECONFLICT, "client %s already exists", c.UUID)
	}
	if err != nil {
		return fmt.Errorf("create client %s: %w", c.UUID, err)
	}
	return nil
}

// GetClient implements store.Store.
func (s *Store) GetClient(ctx context.Context, uuid string) (store.Client, error) {
	c, err := scanClient(s.r.QueryRow(ctx, `SELECT `+clientCols+` FROM clients WHERE uuid = ?`, uuid))
	if noRows(err) {
		return c, notFound("client %s not found", uuid)
	}
	if err != nil {
		return c, fmt.Errorf("get client %s: %w", uuid, err)
	}
	return c, nil
}

// ListClients implements store.Store; clients come in UUID order.
func (s *Store) ListClients(ctx context.Context) ([]store.Client, error) {
	rows, err := s.r.Query(ctx, `SELECT `+clientCols+` FROM clients ORDER BY uuid`)
	out, err := collect(rows, err, scanClient)
	if err != nil {
		return nil, fmt.Errorf("list clients: %w", err)
	}
	return out, nil
}

// UpdateClient implements store.Store: it replaces the name and settings,
// and the secret hash unless c.SecretHash is nil.
func (s *Store) UpdateClient(ctx context.Context, c store.Client) error {
	if err := common.ValidClient(c); err != nil {
		return err
	}
	return s.execOne(ctx, "update client "+c.UUID, "client "+c.UUID+" not found",
		`UPDATE clients SET name = ?, secret_hash = coalesce(?, secret_hash), settings = ?, updated_at = ? WHERE uuid = ?`,
		c.Name, c.SecretHash, jsonArg(c.Settings), s.Now(), c.UUID)
}

// DeleteClient implements store.Store. Its users, connections and
// documents go with it.
func (s *Store) DeleteClient(ctx context.Context, uuid string) error {
	return s.execOne(ctx, "delete client "+uuid, "client "+uuid+" not found", `DELETE FROM clients WHERE uuid = ?`, uuid)
}

// Users

const userCols = `client_uuid, user_id, time_zone, info, created_at, updated_at`

func scanUser(row Row) (u store.User, err error) {
	return u, row.Scan(&u.ClientUUID, &u.UserID, &u.TimeZone, (*jsonCol)(&u.Info), &u.CreatedAt, &u.UpdatedAt)
}

// UpsertUser implements store.Store: it creates the user, or updates the
// time zone and the information of an existing one; an empty TimeZone or
// a nil Info keeps what is stored.
func (s *Store) UpsertUser(ctx context.Context, u store.User) (store.User, error) {
	if err := common.ValidUser(u); err != nil {
		return u, err
	}
	now := s.Now()
	out, err := scanUser(s.w.QueryRow(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (client_uuid, user_id) DO UPDATE SET
			time_zone = CASE WHEN excluded.time_zone <> '' THEN excluded.time_zone ELSE users.time_zone END,
			info = coalesce(excluded.info, users.info),
			updated_at = excluded.updated_at
		RETURNING `+userCols,
		u.ClientUUID, u.UserID, u.TimeZone, jsonArg(u.Info), now, now))
	if s.drv.IsForeignKey(err) {
		return u, notFound("client %s not found", u.ClientUUID)
	}
	if err != nil {
		return u, fmt.Errorf("upsert user %s/%s: %w", u.ClientUUID, u.UserID, err)
	}
	return out, nil
}

// GetUser implements store.Store.
func (s *Store) GetUser(ctx context.Context, clientUUID, userID string) (store.User, error) {
	u, err := scanUser(s.r.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE client_uuid = ? AND user_id = ?`, clientUUID, userID))
	if noRows(err) {
		return u, notFound("user %s not found", userID)
	}
	if err != nil {
		return u, fmt.Errorf("get user %s/%s: %w", clientUUID, userID, err)
	}
	return u, nil
}

// limit is a LIMIT clause: n <= 0 means none.
func (s *Store) limit(n, offset int) string {
	if n <= 0 {
		return fmt.Sprintf(` LIMIT %s OFFSET %d`, s.d.NoLimit, max(offset, 0))
	}
	return fmt.Sprintf(` LIMIT %d OFFSET %d`, n, max(offset, 0))
}

// ListUsers implements store.Store: users in user_id order; limit <= 0
// means no limit.
func (s *Store) ListUsers(ctx context.Context, clientUUID string, limit, offset int) ([]store.User, error) {
	rows, err := s.r.Query(ctx, `SELECT `+userCols+` FROM users WHERE client_uuid = ? ORDER BY user_id`+s.limit(limit, offset), clientUUID)
	out, err := collect(rows, err, scanUser)
	if err != nil {
		return nil, fmt.Errorf("list users of %s: %w", clientUUID, err)
	}
	return out, nil
}

// Connections

func (s *Store) connCols() string {
	return `id, client_uuid, user_id, data_source, status, access_token, refresh_token, token_expiry, ` +
		s.d.ScopesCol + `, external_user_id, cursors, last_sync_at, last_error, created_at, updated_at`
}

func (s *Store) scanConn(row Row) (store.Connection, error) {
	var c store.Connection
	var access, refresh, scopes, cursors []byte
	if err := row.Scan(&c.ID, &c.ClientUUID, &c.UserID, &c.DataSource, &c.Status, &access, &refresh, &c.Tokens.Expiry,
		&scopes, &c.ExternalUserID, &cursors, &c.LastSyncAt, &c.LastError, &c.CreatedAt, &c.UpdatedAt); err != nil {
		return c, err
	}
	var err error
	if c.Tokens.Scopes, err = common.DecodeScopes(scopes); err != nil {
		return c, err
	}
	if c.Cursors, err = common.DecodeCursors(cursors); err != nil {
		return c, err
	}
	return c, common.OpenTokens(s.sealer, &c, access, refresh)
}

func (s *Store) queryConns(ctx context.Context, what, where string, args ...any) ([]store.Connection, error) {
	rows, err := s.r.Query(ctx, `SELECT `+s.connCols()+` FROM connections `+where+` ORDER BY id`, args...)
	out, err := collect(rows, err, s.scanConn)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	return out, nil
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
	now := s.Now()
	var out store.Connection
	err = s.inTx(ctx, func(tx db) error {
		if _, err := tx.Exec(ctx, `INSERT INTO users (client_uuid, user_id, created_at, updated_at) VALUES (?, ?, ?, ?)
			ON CONFLICT DO NOTHING`, c.ClientUUID, c.UserID, now, now); err != nil {
			return err
		}
		var err error
		out, err = s.scanConn(tx.QueryRow(ctx, `INSERT INTO connections (client_uuid, user_id, data_source, status,
				access_token, refresh_token, token_expiry, scopes, external_user_id, cursors, last_sync_at, last_error, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (client_uuid, user_id, data_source) DO UPDATE SET
				status = 'active',
				access_token = excluded.access_token,
				refresh_token = excluded.refresh_token,
				token_expiry = excluded.token_expiry,
				scopes = excluded.scopes,
				external_user_id = CASE WHEN excluded.external_user_id <> '' THEN excluded.external_user_id ELSE connections.external_user_id END,
				last_error = '',
				updated_at = excluded.updated_at
			RETURNING `+s.connCols(),
			c.ClientUUID, c.UserID, c.DataSource, c.Status, access, refresh, c.Tokens.Expiry,
			s.d.Scopes(c.Tokens.Scopes), c.ExternalUserID, common.EncodeCursors(c.Cursors),
			c.LastSyncAt, c.LastError, now, now))
		return err
	})
	if s.drv.IsForeignKey(err) {
		return c, notFound("client %s not found", c.ClientUUID)
	}
	if err != nil {
		return c, fmt.Errorf("create connection %s/%s/%s: %w", c.ClientUUID, c.UserID, c.DataSource, err)
	}
	return out, nil
}

// GetConnection implements store.Store.
func (s *Store) GetConnection(ctx context.Context, id int64) (store.Connection, error) {
	c, err := s.scanConn(s.r.QueryRow(ctx, `SELECT `+s.connCols()+` FROM connections WHERE id = ?`, id))
	if noRows(err) {
		return c, notFound("connection %d not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("get connection %d: %w", id, err)
	}
	return c, nil
}

// FindConnection implements store.Store.
func (s *Store) FindConnection(ctx context.Context, clientUUID, userID, dataSource string) (store.Connection, error) {
	c, err := s.scanConn(s.r.QueryRow(ctx, `SELECT `+s.connCols()+` FROM connections WHERE client_uuid = ? AND user_id = ? AND data_source = ?`,
		clientUUID, userID, dataSource))
	if noRows(err) {
		return c, notFound("user %s has no %s connection", userID, dataSource)
	}
	if err != nil {
		return c, fmt.Errorf("find connection %s/%s/%s: %w", clientUUID, userID, dataSource, err)
	}
	return c, nil
}

// ConnectionsByExternalUser implements store.Store, in id order.
func (s *Store) ConnectionsByExternalUser(ctx context.Context, dataSource, externalUserID string) ([]store.Connection, error) {
	if externalUserID == "" {
		return nil, nil
	}
	return s.queryConns(ctx, "connections of "+dataSource+" user "+externalUserID,
		`WHERE data_source = ? AND external_user_id = ? AND status = 'active'`, dataSource, externalUserID)
}

// ListConnections implements store.Store: connections with the status
// (all when ""), in id order.
func (s *Store) ListConnections(ctx context.Context, status string) ([]store.Connection, error) {
	if status == "" {
		return s.queryConns(ctx, "list connections", ``)
	}
	return s.queryConns(ctx, "list connections", `WHERE status = ?`, status)
}

// UpdateTokens implements store.Store. Both engines make the commit
// durable before it returns.
func (s *Store) UpdateTokens(ctx context.Context, id int64, t store.Tokens) error {
	// The columns the associated data names never change, so reading them
	// before the update is safe.
	c := store.Connection{ID: id, Tokens: t}
	err := s.r.QueryRow(ctx, `SELECT client_uuid, user_id, data_source FROM connections WHERE id = ?`, id).
		Scan(&c.ClientUUID, &c.UserID, &c.DataSource)
	if noRows(err) {
		return notFound("connection %d not found", id)
	}
	if err != nil {
		return fmt.Errorf("update tokens of connection %d: %w", id, err)
	}
	access, refresh, err := common.SealTokens(s.sealer, &c)
	if err != nil {
		return err
	}
	return s.updateConn(ctx, id, "update tokens", `access_token = ?, refresh_token = ?, token_expiry = ?, scopes = ?`,
		access, refresh, t.Expiry, s.d.Scopes(t.Scopes))
}

// updateConn runs UPDATE connections SET <set>, updated_at.
func (s *Store) updateConn(ctx context.Context, id int64, what, set string, args ...any) error {
	return s.updateConnOn(ctx, s.w, id, what, set, args...)
}

// updateConnOn is updateConn through w (the writer or a transaction).
func (s *Store) updateConnOn(ctx context.Context, w db, id int64, what, set string, args ...any) error {
	return execOne(ctx, w, fmt.Sprintf("%s of connection %d", what, id), fmt.Sprintf("connection %d not found", id),
		`UPDATE connections SET `+set+`, updated_at = ? WHERE id = ?`, append(args, s.Now(), id)...)
}

// SetConnectionStatus implements store.Store.
func (s *Store) SetConnectionStatus(ctx context.Context, id int64, status, lastError string) error {
	if err := common.ValidStatus(status); err != nil {
		return err
	}
	return s.updateConn(ctx, id, "set status", `status = ?, last_error = ?`, status, lastError)
}

// SwapConnectionStatus implements store.Store: one conditional UPDATE, so
// that concurrent swaps from the same status (in any process) have one
// winner.
func (s *Store) SwapConnectionStatus(ctx context.Context, id int64, from, to, lastError string) (bool, error) {
	if err := common.ValidStatus(to); err != nil {
		return false, err
	}
	n, err := s.w.Exec(ctx, `UPDATE connections SET status = ?, last_error = ?, updated_at = ? WHERE id = ? AND status = ?`,
		to, lastError, s.Now(), id, from)
	if err != nil {
		return false, fmt.Errorf("swap status of connection %d: %w", id, err)
	}
	if n == 0 {
		// Not swapped: another status, or no such connection.
		if _, err := s.GetConnection(ctx, id); err != nil {
			return false, err
		}
	}
	return n > 0, nil
}

// SetExternalUserID implements store.Store.
func (s *Store) SetExternalUserID(ctx context.Context, id int64, externalUserID string) error {
	return s.updateConn(ctx, id, "set external user id", `external_user_id = ?`, externalUserID)
}

// SetCursors implements store.Store. The merge happens in the database
// (a JSON merge patch, where null deletes a key), so concurrent updates of
// different keys do not overwrite each other. A zero syncedAt keeps the
// recorded sync time.
func (s *Store) SetCursors(ctx context.Context, id int64, cursors map[string]string, syncedAt time.Time) error {
	return s.setCursors(ctx, s.w, id, cursors, syncedAt)
}

func (s *Store) setCursors(ctx context.Context, w db, id int64, cursors map[string]string, syncedAt time.Time) error {
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
	return s.updateConnOn(ctx, w, id, "set cursors", `cursors = `+s.d.MergeJSON+`, last_sync_at = coalesce(?, last_sync_at)`,
		string(b), syncedAt)
}

// JobTx writes in a transaction the driver began for the caller, which
// the job queue inserts into too (see the drivers' JobTx).
type JobTx struct {
	s *Store
	w db
}

// JobTx returns the store's writes on q, the driver's querier of an open
// transaction.
func (s *Store) JobTx(q Querier) JobTx { return JobTx{s, db{s.drv, q}} }

// SetCursors is Store.SetCursors in the transaction.
func (t JobTx) SetCursors(ctx context.Context, id int64, cursors map[string]string, syncedAt time.Time) error {
	return t.s.setCursors(ctx, t.w, id, cursors, syncedAt)
}

// SealedTokens returns the token columns as stored (sealed), for checks
// that nothing is kept in clear and for key rotation tooling.
func (s *Store) SealedTokens(ctx context.Context, id int64) (access, refresh []byte, err error) {
	err = s.r.QueryRow(ctx, `SELECT access_token, refresh_token FROM connections WHERE id = ?`, id).Scan(&access, &refresh)
	if noRows(err) {
		return nil, nil, notFound("connection %d not found", id)
	}
	return access, refresh, err
}
