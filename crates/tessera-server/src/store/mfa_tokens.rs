//! The JSON API's second step (issue 19): an mfa_token that
//! `POST /api/v1/login` hands a user with a second factor after a correct
//! password, redeemed at `POST /api/v1/login/mfa` with a one-time or
//! recovery code.
//!
//! Only the token's SHA-256 is stored. It is bound to the user and client
//! of the first step (and the scope asked for), lives
//! `MFA_TOKEN_SECONDS` (the first-party API sets it), and is spent by
//! [`MfaTokenStore::consume_mfa_token`], one conditional `DELETE`: of two
//! racing uses exactly one wins. Each wrong code is counted on the row;
//! at [`MFA_TOKEN_FAILURES`] the token is dead.

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{Store, StoreError};

/// Wrong codes after which an mfa_token is dead.
pub const MFA_TOKEN_FAILURES: i64 = 5;

/// A live mfa_token, as stored (without its hash).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MfaToken {
    /// Whose password was right.
    pub user_id: String,
    /// The client the first step was for.
    pub client_id: String,
    /// The scope the first step asked for, if any.
    pub scope: Option<String>,
    /// When it stops working.
    pub expires_at: i64,
}

/// Pending second steps of the JSON API's login.
pub trait MfaTokenStore {
    /// Stores a new mfa_token under `hash`.
    fn create_mfa_token(
        &self,
        hash: &[u8],
        token: &MfaToken,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The token with this hash, if it is live at `now` (not expired, not
    /// spent, fewer than [`MFA_TOKEN_FAILURES`] wrong codes).
    fn mfa_token(
        &self,
        hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<MfaToken>, StoreError>> + Send;
    /// Spends the token if it is still live at `now`: one statement;
    /// whether this call won.
    fn consume_mfa_token(
        &self,
        hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Counts a wrong code against the token.
    fn mfa_token_failed(
        &self,
        hash: &[u8],
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

impl MfaTokenStore for Store {
    async fn create_mfa_token(&self, hash: &[u8], token: &MfaToken) -> Result<(), StoreError> {
        retried!("mfa token", Repeat::Once, async {
            sqlx::query(
                "INSERT INTO mfa_tokens (token_hash, user_id, client_id, scope, failures, expires_at) \
                 VALUES ($1, $2, $3, $4, 0, $5)",
            )
            .bind(hash.to_vec())
            .bind(&token.user_id)
            .bind(&token.client_id)
            .bind(token.scope.clone())
            .bind(token.expires_at)
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn mfa_token(&self, hash: &[u8], now: i64) -> Result<Option<MfaToken>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, client_id, scope, expires_at FROM mfa_tokens \
             WHERE token_hash = $1 AND expires_at > $2 AND failures < $3",
        )
        .bind(hash.to_vec())
        .bind(now)
        .bind(MFA_TOKEN_FAILURES)
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| {
            Ok(MfaToken {
                user_id: row.try_get("user_id")?,
                client_id: row.try_get("client_id")?,
                scope: row.try_get("scope")?,
                expires_at: row.try_get("expires_at")?,
            })
        })
        .transpose()
    }

    async fn consume_mfa_token(&self, hash: &[u8], now: i64) -> Result<bool, StoreError> {
        // `Repeat::Once`: a retry after a lost commit finds the row gone.
        retried!("mfa token use", Repeat::Once, async {
            let done = sqlx::query(
                "DELETE FROM mfa_tokens WHERE token_hash = $1 AND expires_at > $2 AND failures < $3",
            )
            .bind(hash.to_vec())
            .bind(now)
            .bind(MFA_TOKEN_FAILURES)
            .execute(self.pool())
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn mfa_token_failed(&self, hash: &[u8]) -> Result<(), StoreError> {
        retried!("mfa token failure", Repeat::Once, async {
            sqlx::query("UPDATE mfa_tokens SET failures = failures + 1 WHERE token_hash = $1")
                .bind(hash.to_vec())
                .execute(self.pool())
                .await?;
            Ok(())
        })
    }
}
