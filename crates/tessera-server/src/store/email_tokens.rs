//! The single-use links Tessera mails (issue 20, item 2): email
//! verification and password reset.
//!
//! Only a token's SHA-256 is stored. A token is spent by one conditional
//! `UPDATE ... SET used_at` (live, unspent, of its purpose), inside the
//! transaction that does what it allows, so of two racing uses exactly one
//! wins, and a failed change leaves it unspent:
//!
//! - [`EmailTokenStore::confirm_email`] makes the token's address the
//!   user's verified `email`, after checking in the same transaction
//!   (serialised by a lock, see there) that no other user has it in any
//!   ASCII case;
//! - [`EmailTokenStore::reset_password`] replaces the password through the
//!   same body as every password change (`users::replace_password`: every
//!   SSO session and refresh family of the user ends) and spends the
//!   user's other reset links.

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::users::replace_password;
use super::{Backend, Store, StoreError};
use crate::domain::PasswordHash;

/// What a link is for (a closed set, stored by name).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Confirms an email address.
    Verify,
    /// Sets a new password.
    Reset,
}

impl Purpose {
    /// Its stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Verify => "verify",
            Purpose::Reset => "reset",
        }
    }
}

/// A live link, as stored (without its hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailToken {
    /// Whose account.
    pub user_id: String,
    /// The address it was mailed to (for `Verify`, the one it confirms).
    pub email: String,
    /// When it was made.
    pub created_at: i64,
    /// When it stops working.
    pub expires_at: i64,
}

/// What confirming an address did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Confirmed {
    /// The address is now the user's, verified.
    Verified {
        /// The user.
        user_id: String,
        /// The address.
        email: String,
    },
    /// Another user has the address (in some ASCII case): nothing changed
    /// but the link, which is spent.
    Taken {
        /// The user who asked.
        user_id: String,
    },
    /// No live link has this hash (unknown, spent or expired).
    Invalid,
}

/// Mailed links.
pub trait EmailTokenStore: super::AuditStore {
    /// Stores a new link under `hash`. A `Verify` link spends the user's
    /// earlier ones in the same transaction: only the newest address asked
    /// for is pending, and an old link cannot bring back an address
    /// replaced since.
    fn create_email_token(
        &self,
        hash: &[u8],
        purpose: Purpose,
        token: &EmailToken,
        now: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The live link of `purpose` with this hash, without spending it (the
    /// page that asks to confirm).
    fn email_token(
        &self,
        hash: &[u8],
        purpose: Purpose,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<EmailToken>, StoreError>> + Send;
    /// The address the user asked to change to, while its link is live:
    /// the newest live `Verify` link whose address is not already the
    /// user's `email`.
    fn pending_email(
        &self,
        user_id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Spends the `Verify` link with this hash and makes its address the
    /// user's verified `email`, unless another user has it: one
    /// transaction.
    fn confirm_email(
        &self,
        hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<Confirmed, StoreError>> + Send;
    /// Spends the `Reset` link with this hash, spends the user's other
    /// reset links, and replaces their password with `password`, ending
    /// every SSO session and refresh family: one transaction. The user, or
    /// `None` when no live link has this hash (nothing changed).
    fn reset_password(
        &self,
        hash: &[u8],
        password: &PasswordHash,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<String>, StoreError>> + Send;
}

/// The number of Tessera's transaction lock (PostgreSQL advisory lock)
/// that serialises address confirmations.
const CONFIRM_LOCK: i64 = 741_516_630_034;

/// Spends the live link of `purpose` with `hash` in `tx`: its user and
/// address, or `None` (one conditional statement: of racing spenders, one
/// gets the row).
async fn spend(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    hash: &[u8],
    purpose: Purpose,
    now: i64,
) -> Result<Option<(String, String)>, StoreError> {
    let row = sqlx::query(
        "UPDATE email_tokens SET used_at = $1 \
         WHERE token_hash = $2 AND purpose = $3 AND used_at IS NULL AND expires_at > $1 \
         RETURNING user_id, email",
    )
    .bind(now)
    .bind(hash.to_vec())
    .bind(purpose.as_str())
    .fetch_all(&mut **tx)
    .await?
    .into_iter()
    .next();
    let Some(row) = row else { return Ok(None) };
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("email_tokens: {e}"));
    Ok(Some((
        row.try_get("user_id").map_err(get)?,
        row.try_get("email").map_err(get)?,
    )))
}

impl EmailTokenStore for Store {
    async fn create_email_token(
        &self,
        hash: &[u8],
        purpose: Purpose,
        token: &EmailToken,
        now: i64,
    ) -> Result<(), StoreError> {
        retried!("email link", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            if purpose == Purpose::Verify {
                sqlx::query(
                    "UPDATE email_tokens SET used_at = $1 \
                     WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
                )
                .bind(now)
                .bind(&token.user_id)
                .bind(purpose.as_str())
                .execute(&mut *tx)
                .await?;
            }
            sqlx::query(
                "INSERT INTO email_tokens (token_hash, purpose, user_id, email, created_at, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(hash.to_vec())
            .bind(purpose.as_str())
            .bind(&token.user_id)
            .bind(&token.email)
            .bind(token.created_at)
            .bind(token.expires_at)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn email_token(
        &self,
        hash: &[u8],
        purpose: Purpose,
        now: i64,
    ) -> Result<Option<EmailToken>, StoreError> {
        let row = sqlx::query(
            "SELECT user_id, email, created_at, expires_at FROM email_tokens \
             WHERE token_hash = $1 AND purpose = $2 AND used_at IS NULL AND expires_at > $3",
        )
        .bind(hash.to_vec())
        .bind(purpose.as_str())
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let get = |e: sqlx::Error| StoreError::Corrupt(format!("email_tokens: {e}"));
        Ok(Some(EmailToken {
            user_id: row.try_get("user_id").map_err(get)?,
            email: row.try_get("email").map_err(get)?,
            created_at: row.try_get("created_at").map_err(get)?,
            expires_at: row.try_get("expires_at").map_err(get)?,
        }))
    }

    async fn pending_email(&self, user_id: &str, now: i64) -> Result<Option<String>, StoreError> {
        let email: Option<String> = sqlx::query_scalar(
            "SELECT t.email FROM email_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.user_id = $1 AND t.purpose = $2 AND t.used_at IS NULL AND t.expires_at > $3 \
             AND (u.email IS NULL OR lower(u.email) <> lower(t.email)) \
             ORDER BY t.created_at DESC LIMIT 1",
        )
        .bind(user_id)
        .bind(Purpose::Verify.as_str())
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        Ok(email)
    }

    /// The uniqueness check and the update run under one lock: on
    /// PostgreSQL a transaction-scoped advisory lock (two users confirming
    /// `Ann@x` and `ann@x` at once would otherwise each find the other's
    /// row not yet committed: the column's own unique constraint is
    /// case-sensitive); on SQLite the transaction's first statement, a
    /// write, takes the database's one write lock.
    async fn confirm_email(&self, hash: &[u8], now: i64) -> Result<Confirmed, StoreError> {
        retried!("email confirmation", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            if self.backend() == Backend::Postgres {
                sqlx::query("SELECT pg_advisory_xact_lock($1)")
                    .bind(CONFIRM_LOCK)
                    .execute(&mut *tx)
                    .await?;
            }
            let Some((user_id, email)) = spend(&mut tx, hash, Purpose::Verify, now).await? else {
                tx.rollback().await?;
                return Ok(Confirmed::Invalid);
            };
            let other: Option<String> = sqlx::query_scalar(
                "SELECT id FROM users WHERE lower(email) = lower($1) AND id <> $2 LIMIT 1",
            )
            .bind(&email)
            .bind(&user_id)
            .fetch_optional(&mut *tx)
            .await?;
            if other.is_some() {
                tx.commit().await?;
                return Ok(Confirmed::Taken { user_id });
            }
            let done = sqlx::query("UPDATE users SET email = $1, email_verified = 1 WHERE id = $2")
                .bind(&email)
                .bind(&user_id)
                .execute(&mut *tx)
                .await
                .map_err(|e| super::conflict(e, "email"))?;
            if done.rows_affected() == 0 {
                tx.commit().await?;
                return Ok(Confirmed::Invalid);
            }
            tx.commit().await?;
            Ok(Confirmed::Verified { user_id, email })
        })
    }

    async fn reset_password(
        &self,
        hash: &[u8],
        password: &PasswordHash,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        retried!("password reset", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            let Some((user_id, _)) = spend(&mut tx, hash, Purpose::Reset, now).await? else {
                tx.rollback().await?;
                return Ok(None);
            };
            sqlx::query(
                "UPDATE email_tokens SET used_at = $1 \
                 WHERE user_id = $2 AND purpose = $3 AND used_at IS NULL",
            )
            .bind(now)
            .bind(&user_id)
            .bind(Purpose::Reset.as_str())
            .execute(&mut *tx)
            .await?;
            if !replace_password(&mut tx, &user_id, password, None, now).await? {
                tx.rollback().await?;
                return Ok(None);
            }
            tx.commit().await?;
            Ok(Some(user_id))
        })
    }
}
