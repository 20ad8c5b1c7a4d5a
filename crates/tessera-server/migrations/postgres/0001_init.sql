-- Clients (RFC 6749 §2). secret_hash is SHA-256 of a 256-bit random secret;
-- NULL for public clients. Lists are space-separated.
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    secret_hash BYTEA,
    grant_types TEXT NOT NULL,
    scopes TEXT NOT NULL,
    audiences TEXT NOT NULL,
    redirect_uris TEXT NOT NULL,
    access_token_ttl BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

-- Signing keys: the private key sealed with the master key (AES-256-GCM).
CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    alg TEXT NOT NULL,
    sealed_private_key BYTEA NOT NULL,
    public_jwk TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    retired_at BIGINT
);
