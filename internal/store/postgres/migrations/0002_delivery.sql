-- Webhook delivery: endpoints, messages (what is posted), deliveries (one
-- message to one endpoint) and every attempt.

CREATE TABLE webhook_endpoints (
    id                  text        COLLATE "C" NOT NULL PRIMARY KEY,  -- ep_...
    client_uuid         text        COLLATE "C" NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    kind                text        COLLATE "C" NOT NULL,              -- data | notification
    url                 text        COLLATE "C" NOT NULL,
    secret              bytea       NOT NULL,                          -- sealed whsec_ secret
    previous_secret     bytea,                                         -- sealed, signs until previous_expires_at
    previous_expires_at timestamptz,
    data_structures     text        COLLATE "C" NOT NULL DEFAULT '',   -- comma-separated filter, '' for all
    enabled             boolean     NOT NULL DEFAULT true,
    disabled_reason     text        COLLATE "C" NOT NULL DEFAULT '',
    failing_since       timestamptz,
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL
);

CREATE INDEX webhook_endpoints_client ON webhook_endpoints (client_uuid, kind);

-- A message's body is a copy of the health document version it announces
-- (or a lifecycle event), so every attempt and replay posts the same bytes
-- under the same webhook_id even after the document moves on.
CREATE TABLE webhook_messages (
    id          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    webhook_id  text        COLLATE "C" NOT NULL UNIQUE,             -- msg_..., the webhook-id header
    client_uuid text        COLLATE "C" NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    user_id     text        COLLATE "C" NOT NULL DEFAULT '',
    kind        text        COLLATE "C" NOT NULL,                    -- data | lifecycle | test
    event_type  text        COLLATE "C" NOT NULL,                    -- data_structure or event type
    pillar      text        COLLATE "C" NOT NULL DEFAULT '',
    day         text        COLLATE "C" NOT NULL DEFAULT '',
    doc_key     text        COLLATE "C" NOT NULL DEFAULT '',
    version     integer     NOT NULL DEFAULT 0,
    body        bytea       NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE INDEX webhook_messages_client ON webhook_messages (client_uuid);

CREATE TABLE webhook_deliveries (
    id               bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    message_id       bigint      NOT NULL REFERENCES webhook_messages (id) ON DELETE CASCADE,
    endpoint_id      text        COLLATE "C" NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    client_uuid      text        COLLATE "C" NOT NULL,
    status           text        COLLATE "C" NOT NULL,               -- pending | succeeded | dead
    attempts         integer     NOT NULL DEFAULT 0,
    round_attempts   integer     NOT NULL DEFAULT 0,                 -- since creation or the last replay
    replays          integer     NOT NULL DEFAULT 0,
    next_attempt_at  timestamptz,
    enqueued         boolean     NOT NULL DEFAULT false,             -- a job was queued for it
    last_attempt_at  timestamptz,
    last_status_code integer     NOT NULL DEFAULT 0,
    last_error       text        COLLATE "C" NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    finished_at      timestamptz,
    UNIQUE (message_id, endpoint_id)
);

CREATE INDEX webhook_deliveries_unenqueued ON webhook_deliveries (id) WHERE status = 'pending' AND NOT enqueued;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_client ON webhook_deliveries (client_uuid, status, created_at);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, status);
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (status, finished_at);

CREATE TABLE webhook_attempts (
    id           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    delivery_id  bigint      NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt      integer     NOT NULL,
    attempted_at timestamptz NOT NULL,
    status_code  integer     NOT NULL DEFAULT 0,
    duration_us  bigint      NOT NULL,
    error_class  text        COLLATE "C" NOT NULL DEFAULT '',        -- dns | connect | tls | timeout | http | blocked
    error        text        COLLATE "C" NOT NULL DEFAULT '',
    response     bytea                                               -- first 4 KiB of the response body
);

CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempt);
