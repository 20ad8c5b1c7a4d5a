-- Email (issue 20, item 2): the single-use links Tessera mails.
-- `verify`: confirms that `email` is the user's (a registration's address,
-- or a new one asked for from /account, pending until then: the user's
-- `email` keeps the old address meanwhile). `reset`: sets a new password,
-- mailed to the user's verified `email`.
-- Stored as the token's SHA-256 only; spent by one conditional UPDATE
-- (`used_at`), so of racing uses one wins; dead after `expires_at`.
CREATE TABLE email_tokens (
    token_hash BYTEA PRIMARY KEY,
    purpose TEXT NOT NULL,
    user_id TEXT NOT NULL,
    email TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT
);
CREATE INDEX email_tokens_user ON email_tokens (user_id, purpose);
CREATE INDEX email_tokens_expires ON email_tokens (expires_at);
