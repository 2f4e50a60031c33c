-- wearlink's schema on PostgreSQL. Document bodies and client JSON are
-- bytea: the bytes given are the bytes served (jsonb would reorder keys).
-- Text columns sort bytewise (COLLATE "C"), as SQLite does, so both stores
-- list in the same order whatever the database's locale.

CREATE TABLE clients (
    uuid        text        COLLATE "C" NOT NULL PRIMARY KEY,
    name        text        COLLATE "C" NOT NULL DEFAULT '',
    secret_hash bytea,
    settings    bytea,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE users (
    client_uuid text        COLLATE "C" NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    user_id     text        COLLATE "C" NOT NULL,
    time_zone   text        COLLATE "C" NOT NULL DEFAULT '',
    info        bytea,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL,
    PRIMARY KEY (client_uuid, user_id)
);

CREATE TABLE connections (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_uuid   text        COLLATE "C" NOT NULL,
    user_id       text        COLLATE "C" NOT NULL,
    data_source   text        COLLATE "C" NOT NULL,
    status        text        COLLATE "C" NOT NULL,
    access_token  bytea,      -- sealed (internal/secret)
    refresh_token bytea,      -- sealed
    token_expiry  timestamptz,
    scopes        text[]      NOT NULL DEFAULT '{}',
    oura_user_id  text        COLLATE "C" NOT NULL DEFAULT '',
    cursors       jsonb       NOT NULL DEFAULT '{}',
    last_sync_at  timestamptz,
    last_error    text        COLLATE "C" NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (client_uuid, user_id, data_source),
    FOREIGN KEY (client_uuid, user_id) REFERENCES users (client_uuid, user_id) ON DELETE CASCADE
);

CREATE INDEX connections_oura_user_id ON connections (oura_user_id) WHERE oura_user_id <> '';
CREATE INDEX connections_status ON connections (status);

CREATE TABLE raw_documents (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    connection_id bigint      NOT NULL REFERENCES connections (id) ON DELETE CASCADE,
    collection    text        COLLATE "C" NOT NULL,
    oura_id       text        COLLATE "C" NOT NULL,
    day           text        COLLATE "C" NOT NULL DEFAULT '',
    body          bytea       NOT NULL,
    hash          bytea       NOT NULL,
    fetched_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (connection_id, collection, oura_id)
);

CREATE INDEX raw_documents_day ON raw_documents (connection_id, day);

CREATE TABLE health_documents (
    id             bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    client_uuid    text        COLLATE "C" NOT NULL,
    user_id        text        COLLATE "C" NOT NULL,
    data_structure text        COLLATE "C" NOT NULL,
    pillar         text        COLLATE "C" NOT NULL,
    key            text        COLLATE "C" NOT NULL,
    day            text        COLLATE "C" NOT NULL,
    version        integer     NOT NULL,
    body           bytea       NOT NULL,
    hash           bytea       NOT NULL,
    created_at     timestamptz NOT NULL,
    updated_at     timestamptz NOT NULL,
    UNIQUE (client_uuid, user_id, data_structure, pillar, key),
    FOREIGN KEY (client_uuid, user_id) REFERENCES users (client_uuid, user_id) ON DELETE CASCADE
);

CREATE INDEX health_documents_day ON health_documents (client_uuid, user_id, day);

CREATE TABLE outbox (
    id                 bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    health_document_id bigint      NOT NULL REFERENCES health_documents (id) ON DELETE CASCADE,
    version            integer     NOT NULL,
    created_at         timestamptz NOT NULL
);

CREATE INDEX outbox_health_document ON outbox (health_document_id);
