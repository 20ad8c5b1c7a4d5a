//! Attempts per bucket (a client address, for logins or registrations),
//! counted in the database so every node sees the same count.
//!
//! An attempt is *reserved* before the expensive work (the password hash)
//! runs: one upsert adds it and returns the count, so a burst of concurrent
//! requests gets consecutive counts and cannot all pass a check that was
//! read before any of them was recorded. A successful login hands its
//! reservation back ([`AttemptStore::refund_attempt`]), so the count is of
//! failures and attempts still in flight; failures are also counted on
//! their own ([`AttemptStore::record_failure`]), so slowing down can follow
//! failures alone and never punish many good logins at once.

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{Store, StoreError};

/// A bucket's counts in its current window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counts {
    /// Failures plus attempts in flight, this one included.
    pub attempts: i64,
    /// Failures before this attempt.
    pub failures: i64,
}

/// Attempt counters by bucket.
///
/// A supertrait of [`AuditStore`](super::AuditStore): its changes are audited
/// ([`crate::audit::record`]).
pub trait AttemptStore: super::AuditStore {
    /// Counts one attempt in `bucket` and returns the counts within the
    /// current window: attempts (this one included) and failures. A window
    /// older than `window` seconds starts again at this attempt. One
    /// statement.
    fn reserve_attempt(
        &self,
        bucket: &str,
        now: i64,
        window: i64,
    ) -> impl std::future::Future<Output = Result<Counts, StoreError>> + Send;
    /// Counts a failure of an attempt reserved in the current window.
    fn record_failure(
        &self,
        bucket: &str,
        now: i64,
        window: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Hands back one attempt reserved in the current window.
    fn refund_attempt(
        &self,
        bucket: &str,
        now: i64,
        window: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

impl AttemptStore for Store {
    async fn reserve_attempt(&self, bucket: &str, now: i64, window: i64) -> Result<Counts, StoreError> {
        retried!("login attempt reservation", Repeat::Once, async {
            let query = sqlx::query(
                "INSERT INTO login_attempts (bucket, attempts, failures, window_start) VALUES ($1, 1, 0, $2) \
                 ON CONFLICT (bucket) DO UPDATE SET \
                 attempts = CASE WHEN login_attempts.window_start <= $3 THEN 1 \
                            ELSE login_attempts.attempts + 1 END, \
                 failures = CASE WHEN login_attempts.window_start <= $3 THEN 0 \
                            ELSE login_attempts.failures END, \
                 window_start = CASE WHEN login_attempts.window_start <= $3 THEN $2 \
                                ELSE login_attempts.window_start END \
                 RETURNING attempts, failures",
            )
            .bind(bucket)
            .bind(now)
            .bind(now.saturating_sub(window));
            let row = super::returning(query, self.pool())
                .await?
                .ok_or_else(|| StoreError::Corrupt("login_attempts: no row returned".into()))?;
            let get = |e: sqlx::Error| StoreError::Corrupt(format!("login_attempts: {e}"));
            Ok(Counts {
                attempts: row.try_get("attempts").map_err(get)?,
                failures: row.try_get("failures").map_err(get)?,
            })
        })
    }

    async fn record_failure(&self, bucket: &str, now: i64, window: i64) -> Result<(), StoreError> {
        retried!("login failure count", Repeat::Once, async {
            sqlx::query(
                "UPDATE login_attempts SET failures = failures + 1 WHERE bucket = $1 AND window_start > $2",
            )
            .bind(bucket)
            .bind(now.saturating_sub(window))
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn refund_attempt(&self, bucket: &str, now: i64, window: i64) -> Result<(), StoreError> {
        retried!("login attempt refund", Repeat::Once, async {
            sqlx::query(
                "UPDATE login_attempts SET attempts = attempts - 1 \
                 WHERE bucket = $1 AND attempts > 0 AND window_start > $2",
            )
            .bind(bucket)
            .bind(now.saturating_sub(window))
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }
}
