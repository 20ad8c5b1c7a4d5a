//! Attempts per bucket (a client address, for logins or registrations),
//! counted in the database so every node sees the same count.
//!
//! An attempt is *reserved* before the expensive work (the password hash)
//! runs: one upsert adds it and returns the count, so a burst of concurrent
//! requests gets consecutive counts and cannot all pass a check that was
//! read before any of them was recorded. A successful login hands its
//! reservation back ([`AttemptStore::refund_attempt`]), so the count is of
//! failures and attempts still in flight.

use super::{Store, StoreError};

/// Attempt counters by bucket.
pub trait AttemptStore {
    /// Counts one attempt in `bucket` and returns the count within the
    /// current window (this attempt included). A window older than
    /// `window` seconds starts again at this attempt. One statement.
    fn reserve_attempt(
        &self,
        bucket: &str,
        now: i64,
        window: i64,
    ) -> impl std::future::Future<Output = Result<i64, StoreError>> + Send;
    /// Hands back one attempt reserved in the current window.
    fn refund_attempt(
        &self,
        bucket: &str,
        now: i64,
        window: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

impl AttemptStore for Store {
    async fn reserve_attempt(&self, bucket: &str, now: i64, window: i64) -> Result<i64, StoreError> {
        let attempts: i64 = sqlx::query_scalar(
            "INSERT INTO login_attempts (bucket, attempts, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (bucket) DO UPDATE SET \
             attempts = CASE WHEN login_attempts.window_start <= $3 THEN 1 \
                        ELSE login_attempts.attempts + 1 END, \
             window_start = CASE WHEN login_attempts.window_start <= $3 THEN $2 \
                            ELSE login_attempts.window_start END \
             RETURNING attempts",
        )
        .bind(bucket)
        .bind(now)
        .bind(now.saturating_sub(window))
        .fetch_one(self.pool())
        .await?;
        Ok(attempts)
    }

    async fn refund_attempt(&self, bucket: &str, now: i64, window: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE login_attempts SET attempts = attempts - 1 \
             WHERE bucket = $1 AND attempts > 0 AND window_start > $2",
        )
        .bind(bucket)
        .bind(now.saturating_sub(window))
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
