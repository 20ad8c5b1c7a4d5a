-- WebAuthn passkeys (issue 19; https://www.w3.org/TR/webauthn-3/).
--
-- A passkey: the credential id (unique: a credential is registered once,
-- WebAuthn §7.1 step 26), its public key as the COSE_Key bytes the
-- authenticator sent (parsed again on use), the COSE algorithm, the
-- signature counter (advanced by one conditional UPDATE on the old value,
-- so two racing uses of one counter value cannot both pass, §7.2 step 22),
-- the backup flags (BE is fixed for the credential's life, BS is the
-- latest seen, §6.1.3), and whether the registration verified the user.
CREATE TABLE passkeys (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    credential_id BLOB NOT NULL UNIQUE,
    public_key BLOB NOT NULL,
    alg INTEGER NOT NULL,
    sign_count BIGINT NOT NULL,
    backup_eligible INTEGER NOT NULL,
    backup_state INTEGER NOT NULL,
    user_verified INTEGER NOT NULL,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT
);
CREATE INDEX passkeys_user ON passkeys (user_id);

-- WebAuthn challenges: stored as their SHA-256 only, for one purpose
-- ('register' or 'authenticate'), bound to the browser (the caller's
-- binding, e.g. the interaction's), optionally to a user, short-lived, and
-- spent by one DELETE ... RETURNING (of racing uses exactly one wins).
CREATE TABLE webauthn_challenges (
    challenge_hash BLOB PRIMARY KEY,
    purpose TEXT NOT NULL,
    binding TEXT NOT NULL,
    user_id TEXT,
    expires_at BIGINT NOT NULL
);
CREATE INDEX webauthn_challenges_expires ON webauthn_challenges (expires_at);
