-- The JSON API's second step (issue 19): `POST /api/v1/login` for a user
-- with a second factor answers `mfa_required` with an mfa_token, which
-- `POST /api/v1/login/mfa` redeems with a one-time or recovery code.
-- Stored as its SHA-256 only; bound to the user and client of the first
-- step and the scope it asked for; short-lived; deleted by its one
-- successful use (one conditional DELETE: of racing uses, one wins), dead
-- after too many wrong codes.
CREATE TABLE mfa_tokens (
    token_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT,
    failures INTEGER NOT NULL DEFAULT 0,
    expires_at BIGINT NOT NULL
);
CREATE INDEX mfa_tokens_expires ON mfa_tokens (expires_at);
