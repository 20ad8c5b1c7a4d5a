-- Resource servers (RFC 8707): an API's identifier (an absolute URI, the
-- `aud` of tokens for it), its name for consent pages, and the scopes it
-- accepts (space-separated).
CREATE TABLE resources (
    identifier TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    scopes TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

-- The resources a code, a refresh token and a consent were given for
-- (identifiers, space-separated; empty: none was asked for, the client's
-- registered audiences).
ALTER TABLE authorization_codes ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_tokens ADD COLUMN resources TEXT NOT NULL DEFAULT '';
ALTER TABLE consents ADD COLUMN resources TEXT NOT NULL DEFAULT '';
