-- Client assertions used (private_key_jwt, RFC 7523 §3 item 7: "The
-- authorization server MAY ensure that JWTs are not replayed by
-- maintaining the set of used jti values for the length of time for which
-- the JWT would be considered valid"): the SHA-256 of the client id and
-- the assertion's jti, kept until the assertion expires, so every node
-- refuses a second use.
CREATE TABLE client_assertions (
    jti_hash BLOB PRIMARY KEY,
    client_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX client_assertions_expires_at ON client_assertions (expires_at);
