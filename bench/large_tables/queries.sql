-- The hot queries of the measured paths, copied from the store code, for
-- `bench/large_tables.sh explain`. One block per query:
--   -- fn: <store file>::<function> (<path that runs it>)
--   -- params: $1 $2 ... as literals: h:TEXT is SHA-256(TEXT) as a blob/bytea
--      (seeded rows' hashes are SHA-256 of such texts), s:TEXT a string, an
--      integer as is, `now` the current time.
--   the SQL, as the store sends it ($n placeholders).
-- Inserts are left out (they have no plan; their cost is index upkeep).
-- `-- kind: prune` marks the prune job's statements, `-- kind: admin` rare
-- paths listed because they filter a big table on a column.

-- fn: users.rs::user_by_username (password grant)
-- params: s:user1
SELECT u.id, u.username, u.email, u.name, u.roles, u.created_at, u.failed_logins, u.locked_until, u.email_verified, u.disabled_at, u.require_mfa, c.id AS credential_id, c.kind AS credential_kind, c.secret AS credential_secret, c.created_at AS credential_created_at FROM users u LEFT JOIN credentials c ON c.user_id = u.id WHERE u.username = $1 ORDER BY u.username, u.id, c.created_at, c.id

-- fn: users.rs::user (password grant, code redemption, authorize)
-- params: s:@UID1
SELECT u.id, u.username, u.email, u.name, u.roles, u.created_at, u.failed_logins, u.locked_until, u.email_verified, u.disabled_at, u.require_mfa, c.id AS credential_id, c.kind AS credential_kind, c.secret AS credential_secret, c.created_at AS credential_created_at FROM users u LEFT JOIN credentials c ON c.user_id = u.id WHERE u.id = $1 ORDER BY u.username, u.id, c.created_at, c.id

-- fn: users.rs::reserve_login (password grant)
-- params: 5 now s:@UID1 now
UPDATE users SET failed_logins = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END, locked_until = CASE WHEN locked_until IS NULL AND failed_logins + 1 >= $1 THEN $2 ELSE NULL END WHERE id = $3 AND (locked_until IS NULL OR locked_until <= $4)

-- fn: users.rs::record_login (password grant)
-- params: s:@UID1
UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND failed_logins > 0

-- fn: attempts.rs::reserve_attempt (password grant: per-address and per-account buckets)
-- params: s:login-ip:127.0.0.1 now now
INSERT INTO login_attempts (bucket, attempts, failures, window_start) VALUES ($1, 1, 0, $2) ON CONFLICT (bucket) DO UPDATE SET attempts = CASE WHEN login_attempts.window_start <= $3 THEN 1 ELSE login_attempts.attempts + 1 END, failures = CASE WHEN login_attempts.window_start <= $3 THEN 0 ELSE login_attempts.failures END, window_start = CASE WHEN login_attempts.window_start <= $3 THEN $2 ELSE login_attempts.window_start END RETURNING attempts, failures

-- fn: factors.rs::totp (password grant, sign-in: second factors of the user)
-- params: s:@UID1
SELECT id, user_id, secret_sealed, last_step, confirmed, created_at FROM totp_credentials WHERE user_id = $1

-- fn: passkeys.rs::passkeys (sign-in: the user's passkeys)
-- params: s:@UID1
SELECT id FROM passkeys WHERE user_id = $1 ORDER BY created_at, id

-- fn: refresh_tokens.rs::rotate_once step 1 (refresh)
-- params: h:rt-1-0 s:@CID1 now
UPDATE refresh_families SET revoked_at = revoked_at WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2) AND revoked_at IS NULL AND expires_at > $3 RETURNING family_id, expires_at, dpop_jkt

-- fn: refresh_tokens.rs::rotate_once step 2 (refresh)
-- params: h:rt-1-0
SELECT t.token_hash, t.family_id, t.client_id, t.user_id, t.scope, t.resources, t.expires_at, t.used_at, t.revoked_at, u.id, u.username, u.email, u.name, u.roles, u.created_at, u.failed_logins, u.locked_until, u.email_verified, u.disabled_at, u.require_mfa, c.id AS credential_id, c.kind AS credential_kind, c.secret AS credential_secret, c.created_at AS credential_created_at FROM refresh_tokens t JOIN users u ON u.id = t.user_id LEFT JOIN credentials c ON c.user_id = u.id WHERE t.token_hash = $1 ORDER BY u.username, u.id, c.created_at, c.id

-- fn: refresh_tokens.rs::rotate_once step 3 (refresh, a used token: is the successor ours)
-- params: h:rt-1-1 s:@FID1
SELECT 1 FROM refresh_tokens WHERE token_hash = $1 AND family_id = $2

-- fn: refresh_tokens.rs::rotate_once step 5 (refresh)
-- params: now h:rt-1-0
UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2

-- fn: grants.rs::revoke_family (refresh replay, revocation, logout)
-- params: now s:@FID1
UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL

-- fn: grants.rs::revoke_family (refresh replay, revocation, logout)
-- params: s:@FID1 now
INSERT INTO revoked_tokens (jti, expires_at) SELECT access_jti, access_expires_at FROM refresh_tokens WHERE family_id = $1 AND access_jti IS NOT NULL AND access_expires_at > $2 ON CONFLICT (jti) DO NOTHING

-- fn: sessions.rs::session (authorize with an SSO session)
-- params: h:sess-1 now
SELECT id_hash, sid, user_id, auth_time, expires_at, client_ip, amr, proofs FROM sessions WHERE id_hash = $1 AND expires_at > $2

-- fn: consents.rs::consented (authorize for a third-party client)
-- params: s:@UID1 s:@CID3
SELECT scope, resources FROM consents WHERE user_id = $1 AND client_id = $2

-- fn: codes.rs::code (code redemption)
-- params: h:code-1
SELECT client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time, sid, expires_at, amr, resources, dpop_jkt FROM authorization_codes WHERE code_hash = $1

-- fn: codes.rs::redeem_code (code redemption)
-- params: now s:jti 0 s:fam h:code-1
UPDATE authorization_codes SET used_at = $1, access_jti = $2, access_expires_at = $3, family_id = $4 WHERE code_hash = $5 AND used_at IS NULL RETURNING client_id, user_id

-- fn: clients.rs::client (every token request, on a client-cache miss)
-- params: s:@CID2
SELECT id, name, secret_hash, grant_types, scopes, audiences, redirect_uris, access_token_ttl, created_at, refresh_cookie, auth_method, first_party, post_logout_redirect_uris, resource_server_for, jwks, jwks_uri, require_par, provenance, dpop_bound, require_mfa, admin FROM clients WHERE id = $1

-- fn: revocations.rs::answer (introspection of an access token: batched revocation check)
-- params: s:jti-1 s:jti-2
SELECT jti FROM revoked_tokens WHERE jti IN ($1, $2)

-- fn: introspection.rs::refresh_token_status (introspection of a refresh token)
-- params: h:rt-1-0 now
SELECT t.client_id, t.user_id, t.scope, t.expires_at, f.expires_at AS family_expires_at FROM refresh_tokens t LEFT JOIN refresh_families f ON f.family_id = t.family_id WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $2 AND f.revoked_at IS NULL AND (f.expires_at IS NULL OR f.expires_at > $2)

-- fn: prune.rs::prune_table authorization_codes
-- kind: prune
-- params: now 1000
DELETE FROM authorization_codes WHERE code_hash IN (SELECT code_hash FROM authorization_codes WHERE expires_at < $1 LIMIT $2)

-- fn: prune.rs::prune_table sessions
-- kind: prune
-- params: now 1000
DELETE FROM sessions WHERE id_hash IN (SELECT id_hash FROM sessions WHERE expires_at < $1 LIMIT $2)

-- fn: prune.rs::prune_table refresh_tokens
-- kind: prune
-- params: now 1000
DELETE FROM refresh_tokens WHERE token_hash IN (SELECT token_hash FROM refresh_tokens WHERE expires_at < $1 LIMIT $2)

-- fn: prune.rs::prune_table refresh_families
-- kind: prune
-- params: now 1000
DELETE FROM refresh_families WHERE family_id IN (SELECT family_id FROM refresh_families WHERE expires_at < $1 LIMIT $2)

-- fn: prune.rs::prune_table revoked_tokens
-- kind: prune
-- params: now 1000
DELETE FROM revoked_tokens WHERE jti IN (SELECT jti FROM revoked_tokens WHERE expires_at < $1 LIMIT $2)

-- fn: prune.rs::prune_table login_attempts
-- kind: prune
-- params: now 1000
DELETE FROM login_attempts WHERE bucket IN (SELECT bucket FROM login_attempts WHERE window_start < $1 LIMIT $2)

-- fn: users.rs::delete_user (deleting a user)
-- kind: admin
-- params: s:@UID1
DELETE FROM refresh_tokens WHERE user_id = $1

-- fn: grants.rs::revoke_client_families (deleting a client)
-- kind: admin
-- params: s:@CID2
SELECT family_id FROM refresh_families WHERE client_id = $1 AND revoked_at IS NULL

-- fn: grants.rs::revoke_user_families (password change, user disabled)
-- kind: admin
-- params: s:@UID1
SELECT family_id FROM refresh_families WHERE user_id = $1 AND revoked_at IS NULL

-- fn: consents.rs::consents_of (account page: the user's apps)
-- kind: admin
-- params: s:@UID1
SELECT client_id, scope, resources, granted_at FROM consents WHERE user_id = $1 ORDER BY client_id
