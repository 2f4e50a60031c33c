-- Erasing users (their audit records) and server-side dashboard sessions.
-- Times are INTEGER microseconds since the Unix epoch, as in 0001.

-- One row per erasure: while it runs, where it is; once completed, the
-- audit record (who asked, when, how many rows of each kind were
-- deleted). user_id is emptied on completion: the erased user is then
-- found only by user_hash. No health data is ever kept here.
CREATE TABLE user_erasures (
    id           TEXT    NOT NULL PRIMARY KEY,           -- era_...
    client_uuid  TEXT    NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    user_id      TEXT    NOT NULL DEFAULT '',
    user_hash    BLOB    NOT NULL,
    requested_by TEXT    NOT NULL,                       -- api | cli
    state        TEXT    NOT NULL,                       -- running | completed
    step         TEXT    NOT NULL DEFAULT '',
    counts       TEXT    NOT NULL DEFAULT '{}',
    requested_at INTEGER NOT NULL,
    updated_at   INTEGER NOT NULL,
    completed_at INTEGER
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX user_erasures_running ON user_erasures (client_uuid, user_hash) WHERE state = 'running';
CREATE INDEX user_erasures_user ON user_erasures (client_uuid, user_hash, requested_at);

-- Dashboard sessions: id is the SHA-256 of the cookie's random token.
CREATE TABLE dashboard_sessions (
    id                 BLOB    NOT NULL PRIMARY KEY,
    client_uuid        TEXT    NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    secret_fingerprint BLOB    NOT NULL,
    csrf               TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX dashboard_sessions_client ON dashboard_sessions (client_uuid);
CREATE INDEX dashboard_sessions_expires_at ON dashboard_sessions (expires_at);

-- Retention purges raw documents by their last update.
CREATE INDEX raw_documents_updated_at ON raw_documents (connection_id, updated_at);
