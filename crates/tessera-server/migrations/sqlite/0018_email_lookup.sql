-- An upstream sign-in looks a local user up by email without regard to
-- ASCII case (`lower(email) = lower($1)`): an index on that expression, so
-- the lookup is not a scan of every user.
CREATE INDEX users_email_lower ON users (lower(email));
