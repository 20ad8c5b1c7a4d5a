-- DPoP (RFC 9449).
--
-- Proofs used at the token endpoint (RFC 9449 §11.1: "the server MUST
-- ensure that the same proof is not used more than once"): the SHA-256 of
-- the key's thumbprint and the proof's jti, kept until the proof's iat
-- window has passed (after which its iat refuses it anyway), so every node
-- refuses a second use.
CREATE TABLE dpop_proofs (
    jti_hash BLOB PRIMARY KEY,
    expires_at BIGINT NOT NULL
);
CREATE INDEX dpop_proofs_expires_at ON dpop_proofs (expires_at);

-- A client whose tokens must be DPoP-bound (`tessera client create
-- --dpop-bound`): a token request without a proof is refused.
ALTER TABLE clients ADD COLUMN dpop_bound INTEGER NOT NULL DEFAULT 0;

-- The key an authorization code is bound to (`dpop_jkt` at /authorize or
-- /par, RFC 9449 §10): its redemption must be proven with that key.
ALTER TABLE authorization_codes ADD COLUMN dpop_jkt TEXT;

-- The key a refresh family is bound to (a public client's refresh tokens,
-- RFC 9449 §5): every refresh must be proven with that key.
ALTER TABLE refresh_families ADD COLUMN dpop_jkt TEXT;
