-- Attempts per client address (logins, registrations), counted before the
-- password hash runs so a burst cannot outrun the limit, and shared by
-- every node. A row's window starts at its first attempt; rows whose window
-- has passed are pruned.
CREATE TABLE login_attempts (
    bucket TEXT PRIMARY KEY,
    attempts BIGINT NOT NULL,
    window_start BIGINT NOT NULL
);
CREATE INDEX login_attempts_window_start ON login_attempts (window_start);
