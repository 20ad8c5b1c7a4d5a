-- Dynamic client registration (RFC 7591, RFC 7592).
--
-- The registration access token of each client that registered itself:
-- its SHA-256 only, like client secrets. RFC 7592's read, update and
-- delete accept it for that client alone; deleting the client deletes it.
CREATE TABLE client_registrations (
    client_id TEXT PRIMARY KEY,
    token_hash BYTEA NOT NULL
);

-- Initial access tokens (RFC 7591 §3, `dynamic_registration = "token"`),
-- made by `tessera client registration-token`: their SHA-256, until they
-- expire or one registration uses them up.
CREATE TABLE initial_access_tokens (
    token_hash BYTEA PRIMARY KEY,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX initial_access_tokens_expires_at ON initial_access_tokens (expires_at);
