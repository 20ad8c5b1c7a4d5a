-- A refresh-token family is one grant: every token rotated from one
-- sign-in. The family row is what every rotation and every revocation
-- updates, so the two are serialised on it: a rotation that loses the race
-- with a replay is refused, and a replay that loses sees the token the
-- rotation made (RFC 9700 §4.14.2). It has an absolute lifetime from the
-- sign-in, and remembers the SSO session (`sid`) that started it, so logout
-- can end it unless it was granted `offline_access`.
CREATE TABLE refresh_families (
    family_id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    sid TEXT,
    offline INTEGER NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX refresh_families_user ON refresh_families (user_id);
CREATE INDEX refresh_families_sid ON refresh_families (sid);

INSERT INTO refresh_families (family_id, client_id, user_id, created_at, expires_at, revoked_at)
SELECT family_id, MIN(client_id), MIN(user_id), 0, MAX(expires_at), MAX(revoked_at)
FROM refresh_tokens GROUP BY family_id;

-- The access token issued with each refresh token, so revoking the family
-- revokes what it issued (RFC 7009 §2.1, RFC 9700 §4.14.2).
ALTER TABLE refresh_tokens ADD COLUMN access_jti TEXT;
ALTER TABLE refresh_tokens ADD COLUMN access_expires_at BIGINT;

CREATE INDEX sessions_user ON sessions (user_id);
