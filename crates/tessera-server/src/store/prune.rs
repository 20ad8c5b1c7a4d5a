//! Forgetting rows nobody needs any more: expired codes, sessions,
//! refresh tokens and families, sign-in interactions, revocations of
//! tokens that have expired anyway, attempt counters whose window has
//! passed, used client assertions, pushed authorization requests and
//! initial access tokens, mfa_tokens and WebAuthn challenges that have
//! expired.
//! passed, used client assertions, DPoP proofs and pushed authorization
//! requests that have expired.
//!
//! Each call deletes at most `batch` rows per table (`DELETE ... WHERE key
//! IN (SELECT key ... LIMIT n)`), so one pass never holds a long lock or a
//! huge transaction, and deleting is idempotent, so any number of nodes
//! may prune at once: two nodes picking the same rows simply delete them
//! once.

use super::retry::{retried, Repeat};
use super::{Store, StoreError};

/// How long a used authorization code is kept after it expired: a replay
/// within this time still revokes what the code issued (access tokens live
/// at most a day, `config::MAX_ACCESS_TOKEN_TTL`).
pub const CODE_KEPT_FOR: i64 = 24 * 3600;

/// Rows deleted by one pass, per table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pruned {
    /// Authorization codes.
    pub codes: u64,
    /// SSO sessions.
    pub sessions: u64,
    /// Refresh tokens.
    pub refresh_tokens: u64,
    /// Refresh families.
    pub families: u64,
    /// Revoked access tokens.
    pub revocations: u64,
    /// Attempt counters.
    pub attempts: u64,
    /// Sign-in interactions.
    pub interactions: u64,
    /// Trips to upstream providers.
    pub upstream_requests: u64,
    /// Used client assertions.
    pub client_assertions: u64,
    /// Pushed authorization requests.
    pub pushed_requests: u64,
    /// Initial access tokens (dynamic client registration).
    pub initial_access_tokens: u64,
    /// Used DPoP proofs.
    pub dpop_proofs: u64,
    /// The JSON API's pending second steps (mfa_tokens).
    pub mfa_tokens: u64,
    /// WebAuthn challenges.
    pub webauthn_challenges: u64,
    /// Mailed verification and reset links, spent or not, once expired.
    pub email_tokens: u64,
}

impl std::ops::AddAssign for Pruned {
    fn add_assign(&mut self, other: Pruned) {
        self.codes += other.codes;
        self.sessions += other.sessions;
        self.refresh_tokens += other.refresh_tokens;
        self.families += other.families;
        self.revocations += other.revocations;
        self.attempts += other.attempts;
        self.interactions += other.interactions;
        self.upstream_requests += other.upstream_requests;
        self.client_assertions += other.client_assertions;
        self.pushed_requests += other.pushed_requests;
        self.initial_access_tokens += other.initial_access_tokens;
        self.dpop_proofs += other.dpop_proofs;
        self.mfa_tokens += other.mfa_tokens;
        self.webauthn_challenges += other.webauthn_challenges;
        self.email_tokens += other.email_tokens;
    }
}

impl Pruned {
    /// Rows deleted in all.
    pub fn total(&self) -> u64 {
        self.codes
            + self.sessions
            + self.refresh_tokens
            + self.families
            + self.revocations
            + self.attempts
            + self.interactions
            + self.upstream_requests
            + self.client_assertions
            + self.pushed_requests
            + self.initial_access_tokens
            + self.dpop_proofs
            + self.mfa_tokens
            + self.webauthn_challenges
            + self.email_tokens
    }

    /// Whether some table had a full batch of `batch` rows to delete: it may
    /// hold more. Each table by its own count (issue 17, item 5: a sum of
    /// two tables' counts hid a full batch of either).
    pub fn some_table_full(&self, batch: i64) -> bool {
        let batch = u64::try_from(batch).unwrap_or(u64::MAX);
        [
            self.codes,
            self.sessions,
            self.refresh_tokens,
            self.families,
            self.revocations,
            self.attempts,
            self.interactions,
            self.upstream_requests,
            self.client_assertions,
            self.pushed_requests,
            self.initial_access_tokens,
            self.dpop_proofs,
            self.mfa_tokens,
            self.webauthn_challenges,
            self.email_tokens,
        ]
        .iter()
        .any(|&n| n >= batch)
    }
}

/// Deleting expired rows.
pub trait PruneStore {
    /// One bounded pass over every table; `attempt_window` is the attempt
    /// counters' window in seconds.
    fn prune(
        &self,
        now: i64,
        batch: i64,
        attempt_window: i64,
    ) -> impl std::future::Future<Output = Result<Pruned, StoreError>> + Send;
}

impl Store {
    async fn prune_table(
        &self,
        table: &str,
        key: &str,
        expired: &str,
        before: i64,
        batch: i64,
    ) -> Result<u64, StoreError> {
        retried!("pruning", Repeat::Safe, async {
            let sql = format!(
                "DELETE FROM {table} WHERE {key} IN (SELECT {key} FROM {table} WHERE {expired} < $1 LIMIT $2)"
            );
            let done = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(before)
                .bind(batch)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected())
        })
    }
}

impl PruneStore for Store {
    async fn prune(&self, now: i64, batch: i64, attempt_window: i64) -> Result<Pruned, StoreError> {
        Ok(Pruned {
            codes: self
                .prune_table(
                    "authorization_codes",
                    "code_hash",
                    "expires_at",
                    now - CODE_KEPT_FOR,
                    batch,
                )
                .await?,
            sessions: self
                .prune_table("sessions", "id_hash", "expires_at", now, batch)
                .await?,
            refresh_tokens: self
                .prune_table("refresh_tokens", "token_hash", "expires_at", now, batch)
                .await?,
            families: self
                .prune_table("refresh_families", "family_id", "expires_at", now, batch)
                .await?,
            revocations: self
                .prune_table("revoked_tokens", "jti", "expires_at", now, batch)
                .await?,
            attempts: self
                .prune_table(
                    "login_attempts",
                    "bucket",
                    "window_start",
                    now - attempt_window,
                    batch,
                )
                .await?,
            interactions: self
                .prune_table("interactions", "id_hash", "expires_at", now, batch)
                .await?,
            upstream_requests: self
                .prune_table("upstream_requests", "state_hash", "expires_at", now, batch)
                .await?,
            client_assertions: self
                .prune_table("client_assertions", "jti_hash", "expires_at", now, batch)
                .await?,
            pushed_requests: self
                .prune_table("pushed_requests", "uri_hash", "expires_at", now, batch)
                .await?,
            initial_access_tokens: self
                .prune_table("initial_access_tokens", "token_hash", "expires_at", now, batch)
                .await?,
            dpop_proofs: self
                .prune_table("dpop_proofs", "jti_hash", "expires_at", now, batch)
                .await?,
            mfa_tokens: self
                .prune_table("mfa_tokens", "token_hash", "expires_at", now, batch)
                .await?,
            webauthn_challenges: self
                .prune_table("webauthn_challenges", "challenge_hash", "expires_at", now, batch)
                .await?,
            email_tokens: self
                .prune_table("email_tokens", "token_hash", "expires_at", now, batch)
                .await?,
        })
    }
}

/// How often each node prunes.
pub const PRUNE_EVERY: std::time::Duration = std::time::Duration::from_secs(300);
/// Rows per table per statement.
pub const PRUNE_BATCH: i64 = 1000;

/// Prunes every [`PRUNE_EVERY`] with [`drain`], and audit events older
/// than `audit_retention` seconds with [`drain_audit`]. Errors are logged
/// and retried at the next tick. Runs until dropped.
pub async fn prune_forever(store: Store, attempt_window: i64, audit_retention: i64) {
    let mut tick = tokio::time::interval(PRUNE_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let now = tessera_jwt::UnixTime::now().as_secs();
        match drain(&store, now, PRUNE_BATCH, attempt_window).await {
            Ok(pruned) if pruned.total() > 0 => tracing::debug!(?pruned, "pruned expired rows"),
            Ok(_) => {}
            Err(e) => tracing::warn!("pruning failed, retrying later: {e}"),
        }
        match drain_audit(&store, now - audit_retention, PRUNE_BATCH).await {
            Ok(n) if n > 0 => tracing::debug!(audit_events = n, "pruned old audit events"),
            Ok(_) => {}
            Err(e) => tracing::warn!("pruning audit events failed, retrying later: {e}"),
        }
    }
}

/// Deletes audit events older than `before` in batches of `batch` (a short
/// pause between full batches, as [`drain`]); how many in all.
pub async fn drain_audit(store: &Store, before: i64, batch: i64) -> Result<u64, StoreError> {
    use super::AuditStore as _;
    let mut all = 0;
    loop {
        let n = store.prune_events(before, batch).await?;
        all += n;
        if n < u64::try_from(batch).unwrap_or(u64::MAX) {
            return Ok(all);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Passes of at most `batch` rows per table, repeated at once while a table
/// still had a full batch to delete (with a short pause between passes, so
/// a large backlog drains without starving requests); what they deleted in
/// all.
pub async fn drain(store: &Store, now: i64, batch: i64, attempt_window: i64) -> Result<Pruned, StoreError> {
    let mut all = Pruned::default();
    loop {
        let pruned = store.prune(now, batch, attempt_window).await?;
        all += pruned;
        if !pruned.some_table_full(batch) {
            return Ok(all);
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}
