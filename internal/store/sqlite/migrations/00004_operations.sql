-- The audit trail keeps no foreign key to users: it must still answer
-- "what happened to this account?" after the account is gone, and an event
-- about an unknown email has no user at all. Rows leave it by retention.

-- +goose Up
CREATE TABLE audit_events (
    id         TEXT    NOT NULL,
    type       TEXT    NOT NULL,
    user_id    TEXT,
    actor_id   TEXT,
    ip_address TEXT    NOT NULL,
    user_agent TEXT    NOT NULL,
    detail     TEXT    NOT NULL CHECK (json_valid(detail)),
    created_at INTEGER NOT NULL,
    CONSTRAINT audit_events_pkey PRIMARY KEY (id)
) STRICT;

CREATE INDEX audit_events_user_id_created_at_idx ON audit_events (user_id, created_at);
CREATE INDEX audit_events_type_created_at_idx ON audit_events (type, created_at);
CREATE INDEX audit_events_created_at_idx ON audit_events (created_at);

-- Lookup paths of the cleanup job and the active-session count.
CREATE INDEX sessions_last_activity_idx ON sessions (last_activity);
CREATE INDEX sessions_revoked_at_idx ON sessions (revoked_at) WHERE revoked_at IS NOT NULL;
CREATE INDEX login_history_created_at_idx ON login_history (created_at);

-- +goose Down
DROP INDEX login_history_created_at_idx;
DROP INDEX sessions_revoked_at_idx;
DROP INDEX sessions_last_activity_idx;
DROP TABLE audit_events;
