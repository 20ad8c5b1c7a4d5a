//! Second factors: TOTP credentials and recovery codes (issue 19).
//!
//! The store holds only what cannot give a code away: a TOTP secret sealed
//! by the caller (`identity::factors`, with the master key), recovery codes
//! as keyed hashes. The two writes that spend something are single
//! statements, so of two nodes (or requests) racing with one code exactly
//! one wins:
//!
//! - [`FactorStore::advance_totp_step`] moves the last accepted time step
//!   forward only if the new one is later ([RFC 6238 §5.2]: a code is
//!   accepted once);
//! - [`FactorStore::consume_recovery_code`] deletes the code's row.
//!
//! [RFC 6238 §5.2]: https://www.rfc-editor.org/rfc/rfc6238#section-5.2

use sqlx::Row;

use super::grants::end_user_grants;
use super::passkeys::PasskeyStore;
use super::retry::{retried, Repeat};
use super::{conflict, Store, StoreError};

/// A TOTP credential as stored (the secret still sealed).
#[derive(Clone, PartialEq, Eq)]
pub struct StoredTotp {
    /// Its id (the associated data its secret is sealed with).
    pub id: String,
    /// Whose it is.
    pub user_id: String,
    /// The secret, sealed with the master key.
    pub secret_sealed: Vec<u8>,
    /// The last time step accepted, if any.
    pub last_step: Option<i64>,
    /// Whether a valid code confirmed the enrollment.
    pub confirmed: bool,
    /// When it was enrolled.
    pub created_at: i64,
}

impl std::fmt::Debug for StoredTotp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredTotp")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("last_step", &self.last_step)
            .field("confirmed", &self.confirmed)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// TOTP credentials and recovery codes, and (as its supertrait) passkeys:
/// every second factor. Call them through `identity::factors` and
/// `identity::passkeys`, which seal, hash and check.
pub trait FactorStore: PasskeyStore {
    /// Stores a new, unconfirmed TOTP credential, replacing an unconfirmed
    /// one the user had (an enrollment started again); one transaction.
    /// [`StoreError::Conflict`] if the user has a confirmed one.
    fn enroll_totp(
        &self,
        totp: &StoredTotp,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The user's TOTP credential, confirmed or not.
    fn totp(
        &self,
        user_id: &str,
    ) -> impl std::future::Future<Output = Result<Option<StoredTotp>, StoreError>> + Send;
    /// Records `step` as the last accepted step of credential `id` (and,
    /// with `confirm`, marks it confirmed), only if no step at or after it
    /// was accepted before, and, with `confirm`, only while unconfirmed
    /// (without, only once confirmed). One statement: whether this call
    /// won.
    fn advance_totp_step(
        &self,
        id: &str,
        step: i64,
        confirm: bool,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Deletes the user's TOTP credential `id`; whether there was one.
    fn delete_totp(
        &self,
        user_id: &str,
        id: &str,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Replaces the user's recovery codes with these hashes; one
    /// transaction.
    fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[Vec<u8>],
        now: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Uses the user's recovery code with this hash: deletes it in one
    /// statement; whether it was there (of racing uses, one wins).
    fn consume_recovery_code(
        &self,
        user_id: &str,
        hash: &[u8],
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// How many recovery codes the user has left.
    fn recovery_codes_left(
        &self,
        user_id: &str,
    ) -> impl std::future::Future<Output = Result<i64, StoreError>> + Send;
    /// The user's recovery code set: how many are left and when the set
    /// was made; `None` when none is left.
    fn recovery_code_set(
        &self,
        user_id: &str,
    ) -> impl std::future::Future<Output = Result<Option<(i64, i64)>, StoreError>> + Send;
    /// Removes every second factor of the user (TOTP, recovery codes and
    /// passkeys)
    /// and ends their grants and SSO sessions, in one transaction; how
    /// many factor rows went.
    fn reset_factors(
        &self,
        user_id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send;
}

fn totp_row(row: &sqlx::any::AnyRow) -> Result<StoredTotp, StoreError> {
    Ok(StoredTotp {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        secret_sealed: row.try_get("secret_sealed")?,
        last_step: row.try_get("last_step")?,
        confirmed: row.try_get::<i64, _>("confirmed")? != 0,
        created_at: row.try_get("created_at")?,
    })
}

impl FactorStore for Store {
    async fn enroll_totp(&self, totp: &StoredTotp) -> Result<(), StoreError> {
        retried!("TOTP enrollment", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1 AND confirmed = 0")
                .bind(&totp.user_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "INSERT INTO totp_credentials (id, user_id, secret_sealed, last_step, confirmed, created_at) \
                 VALUES ($1, $2, $3, NULL, 0, $4)",
            )
            .bind(&totp.id)
            .bind(&totp.user_id)
            .bind(totp.secret_sealed.clone())
            .bind(totp.created_at)
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, "the user has a confirmed authenticator"))?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn totp(&self, user_id: &str) -> Result<Option<StoredTotp>, StoreError> {
        let row = sqlx::query(
            "SELECT id, user_id, secret_sealed, last_step, confirmed, created_at FROM totp_credentials \
             WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(totp_row).transpose()
    }

    async fn advance_totp_step(&self, id: &str, step: i64, confirm: bool) -> Result<bool, StoreError> {
        // `Repeat::Once`: a retry after a lost commit would find its own
        // step and call it a replay; refusing one good code is the safe side.
        retried!("TOTP step", Repeat::Once, async {
            let done = sqlx::query(
                "UPDATE totp_credentials SET last_step = $1, confirmed = 1 \
                 WHERE id = $2 AND confirmed = $3 AND (last_step IS NULL OR last_step < $1)",
            )
            .bind(step)
            .bind(id)
            .bind(i64::from(!confirm))
            .execute(self.pool())
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn delete_totp(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        retried!("TOTP deletion", Repeat::Safe, async {
            let done = sqlx::query("DELETE FROM totp_credentials WHERE user_id = $1 AND id = $2")
                .bind(user_id)
                .bind(id)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: &[Vec<u8>],
        now: i64,
    ) -> Result<(), StoreError> {
        retried!("recovery codes", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .execute(&mut *tx)
                .await?;
            for hash in hashes {
                sqlx::query(
                    "INSERT INTO recovery_codes (code_hash, user_id, created_at) VALUES ($1, $2, $3)",
                )
                .bind(hash.clone())
                .bind(user_id)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(|e| conflict(e, "recovery code"))?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn consume_recovery_code(&self, user_id: &str, hash: &[u8]) -> Result<bool, StoreError> {
        // `Repeat::Once`: a retry after a lost commit finds the row gone.
        retried!("recovery code use", Repeat::Once, async {
            let done = sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1 AND code_hash = $2")
                .bind(user_id)
                .bind(hash.to_vec())
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn recovery_codes_left(&self, user_id: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }

    async fn recovery_code_set(&self, user_id: &str) -> Result<Option<(i64, i64)>, StoreError> {
        let (n, made): (i64, Option<i64>) =
            sqlx::query_as("SELECT COUNT(*), MIN(created_at) FROM recovery_codes WHERE user_id = $1")
                .bind(user_id)
                .fetch_one(self.pool())
                .await?;
        Ok(made.filter(|_| n > 0).map(|made| (n, made)))
    }

    async fn reset_factors(&self, user_id: &str, now: i64) -> Result<u64, StoreError> {
        retried!("factor reset", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let mut removed = 0;
            for table in [
                "DELETE FROM totp_credentials WHERE user_id = $1",
                "DELETE FROM recovery_codes WHERE user_id = $1",
                "DELETE FROM passkeys WHERE user_id = $1",
            ] {
                removed += sqlx::query(table)
                    .bind(user_id)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            }
            end_user_grants(&mut tx, user_id, now).await?;
            tx.commit().await?;
            Ok(removed)
        })
    }
}
