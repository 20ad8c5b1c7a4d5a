-- Revoked JWT access tokens, by jti, kept until the token would have
-- expired anyway (RFC 7009 §2, RFC 7662 §2.2 "active": false).
CREATE TABLE revoked_tokens (
    jti TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX revoked_tokens_expires_at ON revoked_tokens (expires_at);
