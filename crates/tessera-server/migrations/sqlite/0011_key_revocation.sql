-- Emergency key revocation: a revoked key is never published and never
-- signs again (`tessera keys revoke`). NULL while the key is in good
-- standing.
ALTER TABLE signing_keys ADD COLUMN revoked_at INTEGER;
