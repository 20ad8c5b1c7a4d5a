-- The client address a session was signed in from (the proxy-resolved
-- address, see `client_addr.rs`), for the audit trail and for users and
-- administrators looking at their sessions.
ALTER TABLE sessions ADD COLUMN client_ip TEXT;
