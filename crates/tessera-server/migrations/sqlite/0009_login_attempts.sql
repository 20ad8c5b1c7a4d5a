-- Attempts per client address (logins, registrations), counted before the
-- password hash runs so a burst cannot outrun the limit, and shared by
-- every node: `attempts` are failures plus attempts in flight (a success
-- hands its attempt back), `failures` only the failures. A row's window
-- starts at its first attempt; rows whose window has passed are pruned.
CREATE TABLE login_attempts (
    bucket TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    window_start BIGINT NOT NULL
);
CREATE INDEX login_attempts_window_start ON login_attempts (window_start);
