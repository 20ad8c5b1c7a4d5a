-- The UTS #39 skeleton of each username: two names that look alike share
-- it, so the unique index refuses the second (see `username.rs`). Rows made
-- before this migration get theirs at the next start.
ALTER TABLE users ADD COLUMN username_key TEXT;
CREATE UNIQUE INDEX users_username_skeleton ON users (username_key);
