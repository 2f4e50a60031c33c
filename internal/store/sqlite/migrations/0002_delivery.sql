-- Webhook delivery: endpoints, messages (what is posted), deliveries (one
-- message to one endpoint) and every attempt. Times are INTEGER
-- microseconds since the Unix epoch, as in 0001.

CREATE TABLE webhook_endpoints (
    id                  TEXT    NOT NULL PRIMARY KEY,   -- ep_...
    client_uuid         TEXT    NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    kind                TEXT    NOT NULL,               -- data | notification
    url                 TEXT    NOT NULL,
    secret              BLOB    NOT NULL,               -- sealed whsec_ secret
    previous_secret     BLOB,                           -- sealed, signs until previous_expires_at
    previous_expires_at INTEGER,
    data_structures     TEXT    NOT NULL DEFAULT '',    -- comma-separated filter, '' for all
    enabled             INTEGER NOT NULL DEFAULT 1,
    disabled_reason     TEXT    NOT NULL DEFAULT '',
    failing_since       INTEGER,
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_endpoints_client ON webhook_endpoints (client_uuid, kind);

-- A message's body is a copy of the health document version it announces
-- (or a lifecycle event), so every attempt and replay posts the same bytes
-- under the same webhook_id even after the document moves on.
CREATE TABLE webhook_messages (
    id          INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    webhook_id  TEXT    NOT NULL UNIQUE,                -- msg_..., the webhook-id header
    client_uuid TEXT    NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    user_id     TEXT    NOT NULL DEFAULT '',
    kind        TEXT    NOT NULL,                       -- data | lifecycle | test
    event_type  TEXT    NOT NULL,                       -- data_structure or event type
    pillar      TEXT    NOT NULL DEFAULT '',
    day         TEXT    NOT NULL DEFAULT '',
    doc_key     TEXT    NOT NULL DEFAULT '',
    version     INTEGER NOT NULL DEFAULT 0,
    body        BLOB    NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;

CREATE INDEX webhook_messages_client ON webhook_messages (client_uuid);

CREATE TABLE webhook_deliveries (
    id               INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
    message_id       INTEGER NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id      TEXT    NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    client_uuid      TEXT    NOT NULL,
    status           TEXT    NOT NULL,                  -- pending | succeeded | dead
    attempts         INTEGER NOT NULL DEFAULT 0,
    round_attempts   INTEGER NOT NULL DEFAULT 0,        -- since creation or the last replay
    replays          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at  INTEGER,
    enqueued         INTEGER NOT NULL DEFAULT 0,        -- a job was queued for it
    last_attempt_at  INTEGER,
    last_status_code INTEGER NOT NULL DEFAULT 0,
    last_error       TEXT    NOT NULL DEFAULT '',
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    finished_at      INTEGER,
    UNIQUE (message_id, endpoint_id)
) STRICT;

CREATE INDEX webhook_deliveries_unenqueued ON webhook_deliveries (id) WHERE status = 'pending' AND enqueued = 0;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_client ON webhook_deliveries (client_uuid, status, created_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, status);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (status, finished_at);

CREATE TABLE webhook_attempts (
    id           INTEGER NOT NULL PRIMARY KEY,
    delivery_id  INTEGER NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      INTEGER NOT NULL,
    attempted_at INTEGER NOT NULL,
    status_code  INTEGER NOT NULL DEFAULT 0,
    duration_us  INTEGER NOT NULL,
    error_class  TEXT    NOT NULL DEFAULT '',           -- dns | connect | tls | timeout | http | blocked
    error        TEXT    NOT NULL DEFAULT '',
    response     BLOB                                   -- first 4 KiB of the response body
) STRICT;

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
