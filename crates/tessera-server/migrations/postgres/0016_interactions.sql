-- Browser sign-in interactions (OpenID Connect Core §3.1.2): the checked
-- authorization request, stored when /authorize receives it, and what has
-- happened since (who signed in, how, whether consent was given). Every
-- later step names the interaction by id; the browser that started it is
-- bound by the SHA-256 of its binding cookie. Short-lived and single use.
CREATE TABLE interactions (
    id_hash BYTEA PRIMARY KEY,
    binding_hash BYTEA NOT NULL,
    client_id TEXT NOT NULL,
    request TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    user_id TEXT,
    auth_time BIGINT,
    amr TEXT NOT NULL DEFAULT '',
    consented INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX interactions_expires_at ON interactions (expires_at);

-- How the user signed in (RFC 8176 `amr` values, space-separated): kept on
-- the SSO session and on each code, for the ID token's `amr`.
ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';
ALTER TABLE authorization_codes ADD COLUMN amr TEXT NOT NULL DEFAULT '';
