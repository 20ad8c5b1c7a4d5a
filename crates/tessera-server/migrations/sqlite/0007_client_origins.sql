-- Browser origins registered per client for CORS, looked up by origin.
CREATE TABLE client_origins (
    client_id TEXT NOT NULL,
    origin TEXT NOT NULL,
    PRIMARY KEY (client_id, origin)
);
CREATE INDEX client_origins_origin ON client_origins (origin);
