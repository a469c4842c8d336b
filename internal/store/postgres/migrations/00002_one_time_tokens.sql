-- +goose Up
CREATE TABLE one_time_tokens (
    id         TEXT        NOT NULL,
    user_id    TEXT        NOT NULL,
    purpose    TEXT        NOT NULL,
    token_hash TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    attempts   INTEGER     NOT NULL DEFAULT 0,
    CONSTRAINT one_time_tokens_pkey PRIMARY KEY (id),
    CONSTRAINT one_time_tokens_token_hash_key UNIQUE (token_hash),
    CONSTRAINT one_time_tokens_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);

CREATE INDEX one_time_tokens_user_id_purpose_idx ON one_time_tokens (user_id, purpose);
CREATE INDEX one_time_tokens_expires_at_idx ON one_time_tokens (expires_at);

-- +goose Down
DROP TABLE one_time_tokens;
