-- Rotation: a new key is published before it signs (activates_at), and a
-- retired key stays published until the tokens it signed have expired.
ALTER TABLE signing_keys ADD COLUMN activates_at INTEGER NOT NULL DEFAULT 0;
