-- Timestamps are integer microseconds since the Unix epoch, UTC: integers
-- compare and sort correctly in SQL, and microseconds match PostgreSQL.
-- Booleans are 0 or 1. Tables are STRICT so a value of the wrong type is
-- refused instead of stored.

-- +goose Up
CREATE TABLE users (
    id                 TEXT    NOT NULL,
    email              TEXT    NOT NULL,
    username           TEXT,
    password_hash      TEXT    NOT NULL,
    role               TEXT    NOT NULL,
    active             INTEGER NOT NULL CHECK (active IN (0, 1)),
    email_verified     INTEGER NOT NULL CHECK (email_verified IN (0, 1)),
    two_factor_enabled INTEGER NOT NULL CHECK (two_factor_enabled IN (0, 1)),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_username_key UNIQUE (username)
) STRICT;

CREATE TABLE sessions (
    id            TEXT    NOT NULL,
    user_id       TEXT    NOT NULL,
    ip_address    TEXT    NOT NULL,
    user_agent    TEXT    NOT NULL,
    created_at    INTEGER NOT NULL,
    last_activity INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    CONSTRAINT sessions_pkey PRIMARY KEY (id),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
) STRICT;

CREATE INDEX sessions_user_id_created_at_idx ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_at_idx ON sessions (expires_at);

CREATE TABLE refresh_tokens (
    id         TEXT    NOT NULL,
    session_id TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    token_hash TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    rotated_at INTEGER,
    revoked_at INTEGER,
    CONSTRAINT refresh_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT refresh_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT refresh_tokens_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES sessions (id) ON DELETE CASCADE,
    CONSTRAINT refresh_tokens_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
) STRICT;

CREATE INDEX refresh_tokens_session_id_idx ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_user_id_idx ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_at_idx ON refresh_tokens (expires_at);

CREATE TABLE login_history (
    id         TEXT    NOT NULL,
    user_id    TEXT    NOT NULL,
    ip_address TEXT    NOT NULL,
    user_agent TEXT    NOT NULL,
    success    INTEGER NOT NULL CHECK (success IN (0, 1)),
    reason     TEXT    NOT NULL,
    created_at INTEGER NOT NULL,
    CONSTRAINT login_history_pkey PRIMARY KEY (id),
    CONSTRAINT login_history_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
) STRICT;

CREATE INDEX login_history_user_id_created_at_idx ON login_history (user_id, created_at);

-- +goose Down
DROP TABLE login_history;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
