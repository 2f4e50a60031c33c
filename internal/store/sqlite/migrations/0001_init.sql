-- wearlink's schema on SQLite. Times are INTEGER microseconds since the
-- Unix epoch (UTC), NULL when unknown; JSON is kept as the bytes given.

CREATE TABLE clients (
    uuid        TEXT    NOT NULL PRIMARY KEY,
    name        TEXT    NOT NULL DEFAULT '',
    secret_hash BLOB,
    settings    BLOB,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE users (
    client_uuid TEXT    NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL,
    time_zone   TEXT    NOT NULL DEFAULT '',
    info        BLOB,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (client_uuid, user_id)
) STRICT, WITHOUT ROWID;

-- AUTOINCREMENT: a deleted connection's id is never reused, so a job or a
-- log line naming an id never points at another user's connection.
CREATE TABLE connections (
    id            INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    client_uuid   TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    data_source   TEXT    NOT NULL,
    status        TEXT    NOT NULL,
    access_token  BLOB,   -- sealed (internal/secret)
    refresh_token BLOB,   -- sealed
    token_expiry  INTEGER,
    scopes        TEXT    NOT NULL DEFAULT '[]',
    oura_user_id  TEXT    NOT NULL DEFAULT '',
    cursors       TEXT    NOT NULL DEFAULT '{}',
    last_sync_at  INTEGER,
    last_error    TEXT    NOT NULL DEFAULT '',
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (client_uuid, user_id, data_source),
    FOREIGN KEY (client_uuid, user_id) REFERENCES users (client_uuid, user_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX connections_oura_user_id ON connections (oura_user_id) WHERE oura_user_id <> '';
CREATE INDEX connections_status ON connections (status);

CREATE TABLE raw_documents (
    id            INTEGER NOT NULL PRIMARY KEY,
    connection_id INTEGER NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    collection    TEXT    NOT NULL,
    oura_id       TEXT    NOT NULL,
    day           TEXT    NOT NULL DEFAULT '',
    body          BLOB    NOT NULL,
    hash          BLOB    NOT NULL,
    fetched_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    UNIQUE (connection_id, collection, oura_id)
) STRICT;

CREATE INDEX raw_documents_day ON raw_documents (connection_id, day);

CREATE TABLE health_documents (
    id             INTEGER NOT NULL PRIMARY KEY,
    client_uuid    TEXT    NOT NULL,
    user_id        TEXT    NOT NULL,
    data_structure TEXT    NOT NULL,
    pillar         TEXT    NOT NULL,
    key            TEXT    NOT NULL,
    day            TEXT    NOT NULL,
    version        INTEGER NOT NULL,
    body           BLOB    NOT NULL,
    hash           BLOB    NOT NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    UNIQUE (client_uuid, user_id, data_structure, pillar, key),
    FOREIGN KEY (client_uuid, user_id) REFERENCES users (client_uuid, user_id) ON DELETE CASCADE
) STRICT;

CREATE INDEX health_documents_day ON health_documents (client_uuid, user_id, day);

-- AUTOINCREMENT: ids only grow, so a consumer paging with "after id" never
-- skips a record written after a delete.
CREATE TABLE outbox (
    id                 INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    health_document_id INTEGER NOT NULL REFERENCES health_documents (id) ON DELETE CASCADE,
    version            INTEGER NOT NULL,
    created_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX outbox_health_document ON outbox (health_document_id);
