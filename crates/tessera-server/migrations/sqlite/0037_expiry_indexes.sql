-- The prune job (store/prune.rs) deletes `WHERE expires_at < $1 LIMIT n`
-- from these tables in batches: without an index on the expiry each batch
-- scanned the table (bench/large_tables.sh, issue 22 item 3: 1 million
-- refresh tokens, the pass that finds nothing to delete reads them all,
-- every five minutes, on every node). revoked_tokens, login_attempts and
-- the other pruned tables had theirs already.
CREATE INDEX authorization_codes_expires_at ON authorization_codes (expires_at);
CREATE INDEX sessions_expires_at ON sessions (expires_at);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);
CREATE INDEX refresh_families_expires_at ON refresh_families (expires_at);
-- Deleting a client revokes its families (store/grants.rs,
-- revoke_client_families): found by client, not by a scan.
CREATE INDEX refresh_families_client ON refresh_families (client_id);
