-- Second factors (issue 19): TOTP authenticators and recovery codes.
--
-- A TOTP credential (RFC 6238): its secret sealed with the master key
-- (AES-256-GCM, the credential id as associated data, like signing keys),
-- the last time step accepted (a code for it or an earlier step is a
-- replay; advanced by one conditional UPDATE), and whether a valid code
-- has confirmed the enrollment (an unconfirmed one does not count). At
-- most one per user.
CREATE TABLE totp_credentials (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    secret_sealed BLOB NOT NULL,
    last_step BIGINT,
    confirmed INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX totp_credentials_user ON totp_credentials (user_id);

-- Recovery codes: HMAC-SHA-256 of the user id and the code under a key
-- derived from the master key; a used code's row is deleted (single use).
CREATE TABLE recovery_codes (
    code_hash BLOB PRIMARY KEY,
    user_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);
