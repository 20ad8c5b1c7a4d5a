-- Upstream identity providers ("Continue with GitHub").
--
-- An upstream identity is (provider id, the provider's stable subject: an
-- OpenID `sub`, GitHub's numeric id), linked to one local user. It is never
-- keyed by email or username, which the provider lets people change.
CREATE TABLE upstream_identities (
    provider TEXT NOT NULL,
    subject TEXT NOT NULL,
    user_id TEXT NOT NULL,
    linked_at BIGINT NOT NULL,
    last_sign_in BIGINT NOT NULL,
    PRIMARY KEY (provider, subject)
);
CREATE INDEX upstream_identities_user ON upstream_identities (user_id);

-- A trip to a provider: the SHA-256 of the `state` sent, the interaction it
-- continues and the browser binding it belongs to. Single use, minutes.
-- The PKCE verifier and the nonce are not stored: both are derived from
-- the browser's binding secret and the state, so only that browser can
-- finish the trip.
CREATE TABLE upstream_requests (
    state_hash BLOB PRIMARY KEY,
    provider TEXT NOT NULL,
    interaction_id TEXT NOT NULL,
    binding_hash BLOB NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX upstream_requests_expires_at ON upstream_requests (expires_at);

-- An upstream identity waiting for the person to prove the local account
-- whose email it carries (or to choose a new account), on the interaction.
ALTER TABLE interactions ADD COLUMN pending_link TEXT;
