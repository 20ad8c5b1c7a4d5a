-- Pushed authorization requests (RFC 9126): the checked request a client
-- pushed to /par, kept (as the interaction keeps one) under the SHA-256 of
-- its request_uri until it expires or the sign-in it started completes,
-- which uses it up.
CREATE TABLE pushed_requests (
    uri_hash BYTEA PRIMARY KEY,
    client_id TEXT NOT NULL,
    request TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);
