-- Step-up (issue 19, item 4). An SSO session remembers what its sign-in
-- proved and when, per method (`amr=time` pairs, space-separated: the
-- domain's `Proofs` stored form), so a requested level can be weighed
-- against the age of its second factor (`second_factor_max_age`). Rows
-- made before this have NULL and are read from `amr`, every method at the
-- session's auth_time; `amr` is still written.
ALTER TABLE sessions ADD COLUMN proofs TEXT;

-- `tessera user require-mfa USERNAME [--off]`: the user must sign in with
-- a second factor (two factors are an essential level for every request).
ALTER TABLE users ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;

-- `tessera client create --require-mfa`: the client's users must sign in
-- with a second factor.
ALTER TABLE clients ADD COLUMN require_mfa INTEGER NOT NULL DEFAULT 0;
