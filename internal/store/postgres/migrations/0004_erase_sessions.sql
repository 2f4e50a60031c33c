-- Erasing users (their audit records) and server-side dashboard sessions.

-- One row per erasure: while it runs, where it is; once completed, the
-- audit record (who asked, when, how many rows of each kind were
-- deleted). user_id is emptied on completion: the erased user is then
-- found only by user_hash. No health data is ever kept here.
CREATE TABLE user_erasures (
    id           text        COLLATE "C" NOT NULL PRIMARY KEY,
    client_uuid  text        COLLATE "C" NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    user_id      text        COLLATE "C" NOT NULL DEFAULT '',
    user_hash    bytea       NOT NULL,
    requested_by text        COLLATE "C" NOT NULL,
    state        text        COLLATE "C" NOT NULL,
    step         text        COLLATE "C" NOT NULL DEFAULT '',
    counts       text        NOT NULL DEFAULT '{}',
    requested_at timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    completed_at timestamptz
);

CREATE UNIQUE INDEX user_erasures_running ON user_erasures (client_uuid, user_hash) WHERE state = 'running';
CREATE INDEX user_erasures_user ON user_erasures (client_uuid, user_hash, requested_at);

-- Dashboard sessions: id is the SHA-256 of the cookie's random token.
CREATE TABLE dashboard_sessions (
    id                 bytea       NOT NULL PRIMARY KEY,
    client_uuid        text        COLLATE "C" NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    secret_fingerprint bytea       NOT NULL,
    csrf               text        COLLATE "C" NOT NULL,
    created_at         timestamptz NOT NULL,
    expires_at         timestamptz NOT NULL
);

CREATE INDEX dashboard_sessions_client ON dashboard_sessions (client_uuid);
CREATE INDEX dashboard_sessions_expires_at ON dashboard_sessions (expires_at);

-- Retention purges raw documents by their last update.
CREATE INDEX raw_documents_updated_at ON raw_documents (connection_id, updated_at);
