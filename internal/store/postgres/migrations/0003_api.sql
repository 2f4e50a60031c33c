-- The REST API's and account linking's own state.

-- Pending OAuth authorizations: single use (a take deletes the row) and
-- expiring. id is the SHA-256 of the state token sent through the browser.
CREATE TABLE link_states (
    id           bytea       NOT NULL PRIMARY KEY,
    client_uuid  text        COLLATE "C" NOT NULL REFERENCES clients (uuid) ON DELETE CASCADE,
    user_id      text        COLLATE "C" NOT NULL,
    data_source  text        COLLATE "C" NOT NULL,
    redirect_url text        NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL
);

CREATE INDEX link_states_expires_at ON link_states (expires_at);

-- Secret keys the server generates for itself (signing authorization
-- links), shared by every process on the database; sealed like tokens.
CREATE TABLE server_keys (
    name       text        COLLATE "C" NOT NULL PRIMARY KEY,
    sealed_key bytea       NOT NULL,
    created_at timestamptz NOT NULL
);

-- The users status route counts a client's users by creation time.
CREATE INDEX users_created_at ON users (client_uuid, created_at);
