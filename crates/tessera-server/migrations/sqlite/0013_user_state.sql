-- Whether the user's email address was verified (OpenID Connect Core §5.1
-- `email_verified`): false after self-registration, set by an
-- administrator. And whether the account is disabled: a disabled user
-- cannot sign in, and disabling revokes their grants and sessions.
ALTER TABLE users ADD COLUMN email_verified INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN disabled_at BIGINT;
