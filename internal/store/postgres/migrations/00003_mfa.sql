-- Two-factor authentication. A TOTP secret is stored sealed (AES-GCM under
-- MFA_ENCRYPTION_KEY, bound to its user), never in clear; backup codes only
-- as keyed hashes.

-- +goose Up
CREATE TABLE totp_secrets (
    user_id    TEXT        NOT NULL,
    secret     BYTEA       NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    enabled_at TIMESTAMPTZ,
    last_step  BIGINT      NOT NULL DEFAULT 0,
    CONSTRAINT totp_secrets_pkey PRIMARY KEY (user_id),
    CONSTRAINT totp_secrets_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE backup_codes (
    user_id    TEXT        NOT NULL,
    code_hash  TEXT        NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ,
    CONSTRAINT backup_codes_pkey PRIMARY KEY (user_id, code_hash),
    CONSTRAINT backup_codes_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);

-- +goose Down
DROP TABLE backup_codes;
DROP TABLE totp_secrets;
