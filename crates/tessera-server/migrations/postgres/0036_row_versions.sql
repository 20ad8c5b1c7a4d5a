-- Optimistic concurrency for the admin API (issue 20, item 3): a version
-- per user and per client, raised by every change of the row. An admin
-- write is one conditional `UPDATE ... WHERE id = $1 AND version = $2`, so
-- of two administrators writing with the same ETag exactly one changes
-- the row and the other gets 412 (the ETag hashes the version with the
-- representation).
ALTER TABLE users ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN version BIGINT NOT NULL DEFAULT 0;
