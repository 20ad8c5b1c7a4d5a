-- What a sign-in proved (issue 18): the methods proven during an
-- interaction, each with its time ("pwd=1765000000 fed=1765000030"), and
-- the sid of the SSO session made from them once the interaction policy
-- was satisfied (none before: a sign-in in progress has no session). The
-- older user_id column says whose proofs they are; auth_time and amr are
-- no longer written.
ALTER TABLE interactions ADD COLUMN proofs TEXT NOT NULL DEFAULT '';
ALTER TABLE interactions ADD COLUMN session_sid TEXT;
