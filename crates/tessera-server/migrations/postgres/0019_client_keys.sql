-- A confidential client that authenticates with keys (private_key_jwt,
-- RFC 7523 §2.2) registers them inline (jwks, a JWK Set as JSON text) or
-- by URL (jwks_uri), one or the other (RFC 7591 §2); its auth_method is
-- 'private_key_jwt' and it has no secret_hash. Existing rows keep both NULL
-- and read back as before: a secret client, or a public one (no secret, no
-- keys).
ALTER TABLE clients ADD COLUMN jwks TEXT;
ALTER TABLE clients ADD COLUMN jwks_uri TEXT;
