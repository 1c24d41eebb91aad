-- API keys, stored only as the SHA-256 digest of the key (32 random bytes, shown once).
CREATE TABLE api_keys (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name         text        NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$'),
    key_hash     bytea       NOT NULL UNIQUE,
    scopes       text[]      NOT NULL,
    create_time  timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    expires_at   timestamptz,
    revoked_at   timestamptz
);
