-- A user's credentials as a list (`domain::credential`), not a column: one
-- row per thing a person can present. Today the only kind is 'password'
-- (secret: its argon2id PHC string), at most one per user; TOTP, WebAuthn
-- and recovery codes come as more kinds (and columns they need).
CREATE TABLE credentials (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
-- The login and refresh queries join a user's credentials by user id.
CREATE INDEX credentials_user ON credentials (user_id, kind);
CREATE UNIQUE INDEX credentials_one_password ON credentials (user_id) WHERE kind = 'password';

-- Existing passwords move over; an empty hash meant "no password" (an
-- account made through an upstream provider) and makes no row.
INSERT INTO credentials (id, user_id, kind, secret, created_at)
SELECT 'password:' || id, id, 'password', password_hash, created_at
FROM users WHERE password_hash <> '';

ALTER TABLE users DROP COLUMN password_hash;
