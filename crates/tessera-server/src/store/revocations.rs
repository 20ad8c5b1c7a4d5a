//! Revoked access tokens, so a revocation holds on every node at once.

use super::{Store, StoreError};

/// Revoked tokens by `jti`.
pub trait RevocationStore {
    /// Records a revocation (repeating it is harmless).
    fn revoke(
        &self,
        jti: &str,
        expires_at: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Whether `jti` was revoked.
    fn is_revoked(&self, jti: &str) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Forgets revocations of tokens that have expired anyway; how many.
    fn prune_revocations(
        &self,
        now: i64,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send;
}

impl RevocationStore for Store {
    async fn revoke(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
        )
        .bind(jti)
        .bind(expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM revoked_tokens WHERE jti = $1")
            .bind(jti)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    async fn prune_revocations(&self, now: i64) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1")
            .bind(now)
            .execute(self.pool())
            .await?;
        Ok(done.rows_affected())
    }
}
