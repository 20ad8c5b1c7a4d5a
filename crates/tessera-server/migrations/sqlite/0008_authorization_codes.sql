-- Browser sign-in (RFC 6749 §4.1, OpenID Connect Core §3.1).

-- Authorization codes: only the SHA-256 of the code is stored. A code is
-- redeemed once; redeeming it again revokes what the first redemption issued
-- (RFC 6749 §4.1.2), which is why the access token's jti and the refresh
-- family are recorded.
CREATE TABLE authorization_codes (
    code_hash BLOB PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    nonce TEXT,
    code_challenge TEXT,
    auth_time BIGINT NOT NULL,
    sid TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    access_jti TEXT,
    access_expires_at BIGINT,
    family_id TEXT
);

-- Single sign-on sessions, by the SHA-256 of the cookie's value.
CREATE TABLE sessions (
    id_hash BLOB PRIMARY KEY,
    sid TEXT NOT NULL,
    user_id TEXT NOT NULL,
    auth_time BIGINT NOT NULL,
    expires_at BIGINT NOT NULL
);

-- First-party clients skip the consent page.
ALTER TABLE clients ADD COLUMN first_party INTEGER NOT NULL DEFAULT 0;

-- RP-Initiated Logout 1.0 §3: where a client may send the user after logout.
ALTER TABLE clients ADD COLUMN post_logout_redirect_uris TEXT NOT NULL DEFAULT '';

-- Consent a user gave a client: the scopes, so the page is not shown again
-- for the same or fewer scopes (prompt=consent still shows it).
CREATE TABLE consents (
    user_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    scope TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, client_id)
);
