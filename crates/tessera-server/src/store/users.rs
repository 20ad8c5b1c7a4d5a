//! Users (the resource owners of RFC 6749 §1.1).

use sqlx::Row;

use sqlx::any::Any;
use sqlx::Transaction;

use super::refresh_tokens::revoke_user_families;
use super::retry::{retried, Repeat};
use super::{conflict, Store, StoreError};

/// Gives users stored before usernames had keys their key (the UTS #39
/// skeleton, see `crate::username`). Two old names that look alike keep the
/// first key and the second stays without one (warned about): both can
/// still sign in, and no new lookalike can be added.
pub(crate) async fn fill_username_keys(store: &Store) -> Result<(), StoreError> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, username FROM users WHERE username_key IS NULL")
            .fetch_all(store.pool())
            .await?;
    for (id, username) in rows {
        let key = crate::username::skeleton(&crate::username::normalize(&username));
        let done = sqlx::query("UPDATE users SET username_key = $1 WHERE id = $2")
            .bind(key)
            .bind(&id)
            .execute(store.pool())
            .await;
        if let Err(e) = done {
            tracing::warn!(user_id = %id, "username {username:?} looks like another user's: {e}");
        }
    }
    Ok(())
}

/// Ends everything a user's credentials obtained: refresh families (with
/// the access tokens they issued) and SSO sessions.
async fn end_grants(tx: &mut Transaction<'static, Any>, user_id: &str, now: i64) -> Result<(), StoreError> {
    revoke_user_families(tx, user_id, now).await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable id, the `sub` of the user's tokens.
    pub id: String,
    /// Login name, unique.
    pub username: String,
    /// Email, unique when set.
    pub email: Option<String>,
    /// Whether the email address was verified (OpenID Connect Core §5.1).
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Roles, carried in the user's access tokens.
    pub roles: Vec<String>,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Creation time.
    pub created_at: i64,
    /// Consecutive failed logins.
    pub failed_logins: i64,
    /// Locked until this time after repeated failures.
    pub locked_until: Option<i64>,
    /// When an administrator disabled the account: it cannot sign in.
    pub disabled_at: Option<i64>,
}

/// Users, by id and by username.
pub trait UserStore {
    /// Stores a new user; [`StoreError::Conflict`] on a taken username or email.
    fn create_user(&self, user: &User) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Replaces a user's roles.
    fn set_roles(
        &self,
        id: &str,
        roles: &[String],
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The user with this email, compared without regard to ASCII case.
    fn user_by_email(
        &self,
        email: &str,
    ) -> impl std::future::Future<Output = Result<Option<User>, StoreError>> + Send;
    /// The user with this username.
    fn user_by_username(
        &self,
        username: &str,
    ) -> impl std::future::Future<Output = Result<Option<User>, StoreError>> + Send;
    /// Whether `username` (already normalised) or a name that looks like
    /// it (the same UTS #39 skeleton) is registered.
    fn username_taken(
        &self,
        username: &str,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// The user with this id.
    fn user(&self, id: &str) -> impl std::future::Future<Output = Result<Option<User>, StoreError>> + Send;
    /// All users, by username.
    fn users(&self) -> impl std::future::Future<Output = Result<Vec<User>, StoreError>> + Send;
    /// Deletes a user, their grants (refresh families and the access
    /// tokens issued with them, revoked) and their SSO sessions; whether
    /// it existed. One transaction.
    fn delete_user(
        &self,
        id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Replaces the password hash and clears any lock; every grant and SSO
    /// session of the user ends with the old password (RFC 9700 §4.14.2:
    /// refresh tokens are bound to the credentials that obtained them).
    /// One transaction.
    fn set_password(
        &self,
        id: &str,
        hash: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Disables (`true`) or enables a user; disabling ends every grant and
    /// SSO session. Whether the user exists.
    fn set_disabled(
        &self,
        id: &str,
        disabled: bool,
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Records whether the user's email address is verified.
    fn set_email_verified(
        &self,
        id: &str,
        verified: bool,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Reserves one password attempt for the user before the hash runs
    /// (RFC 6749 §4.3.2: "MUST protect the endpoint against brute force
    /// attacks"). One conditional statement, so concurrent attempts get
    /// consecutive counts: `true` when the account is not locked, the
    /// attempt is counted, and the count reaching `threshold` locks the
    /// account until `lock_until` (that last attempt is still checked).
    /// `false` while a lock holds. A lock that has expired starts the count
    /// again at this attempt, so one guess per lock period cannot keep an
    /// account locked for ever.
    fn reserve_login(
        &self,
        id: &str,
        now: i64,
        threshold: i64,
        lock_until: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Clears the attempt count (and a lock) after a successful login.
    fn record_login(&self, id: &str) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

macro_rules! columns {
    () => {
        "id, username, email, name, roles, password_hash, created_at, failed_logins, locked_until, \
         email_verified, disabled_at"
    };
}

pub(super) fn from_row(row: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("users: {e}"));
    Ok(User {
        id: row.try_get("id").map_err(get)?,
        username: row.try_get("username").map_err(get)?,
        email: row.try_get("email").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        roles: super::split(&row.try_get::<String, _>("roles").map_err(get)?),
        password_hash: row.try_get("password_hash").map_err(get)?,
        created_at: row.try_get("created_at").map_err(get)?,
        failed_logins: row.try_get("failed_logins").map_err(get)?,
        locked_until: row.try_get("locked_until").map_err(get)?,
        email_verified: row.try_get::<i64, _>("email_verified").map_err(get)? != 0,
        disabled_at: row.try_get("disabled_at").map_err(get)?,
    })
}

/// Inserts a user; [`StoreError::Conflict`] on a taken username, lookalike
/// or email.
pub(super) async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    u: &User,
) -> Result<(), StoreError> {
    sqlx::query(concat!(
        "INSERT INTO users (",
        columns!(),
        ", username_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
    ))
    .bind(&u.id)
    .bind(&u.username)
    .bind(u.email.clone())
    .bind(u.name.clone())
    .bind(super::join(&u.roles))
    .bind(&u.password_hash)
    .bind(u.created_at)
    .bind(u.failed_logins)
    .bind(u.locked_until)
    .bind(i64::from(u.email_verified))
    .bind(u.disabled_at)
    .bind(crate::username::skeleton(&u.username))
    .execute(executor)
    .await
    .map_err(|e| conflict(e, "username or email"))?;
    Ok(())
}

impl UserStore for Store {
    async fn create_user(&self, u: &User) -> Result<(), StoreError> {
        retried!("user", Repeat::Once, async { insert(self.pool(), u).await })
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn set_roles(&self, id: &str, roles: &[String]) -> Result<(), StoreError> {
        retried!("roles", Repeat::Safe, async {
            sqlx::query("UPDATE users SET roles = $2 WHERE id = $1")
                .bind(id)
                .bind(super::join(roles))
                .execute(self.pool())
                .await?;
            Ok(())
        })
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE lower(email) = lower($1)"
        ))
        .bind(email)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn username_taken(&self, username: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT id FROM users WHERE username = $1 OR username_key = $2")
            .bind(username)
            .bind(crate::username::skeleton(username))
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    async fn user(&self, id: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM users WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(concat!("SELECT ", columns!(), " FROM users ORDER BY username"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    async fn delete_user(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        retried!("user deletion", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            end_grants(&mut tx, id, now).await?;
            sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("DELETE FROM upstream_identities WHERE user_id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            let done = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn set_password(&self, id: &str, hash: &str, now: i64) -> Result<bool, StoreError> {
        retried!("password change", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let done = sqlx::query(
                "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2",
            )
            .bind(hash)
            .bind(id)
            .execute(&mut *tx)
            .await?;
            end_grants(&mut tx, id, now).await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn set_disabled(&self, id: &str, disabled: bool, now: i64) -> Result<bool, StoreError> {
        retried!("user state", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let done = sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
                .bind(disabled.then_some(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if disabled {
                end_grants(&mut tx, id, now).await?;
            }
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn set_email_verified(&self, id: &str, verified: bool) -> Result<bool, StoreError> {
        retried!("email verification", Repeat::Safe, async {
            let done = sqlx::query("UPDATE users SET email_verified = $1 WHERE id = $2")
                .bind(i64::from(verified))
                .bind(id)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn reserve_login(
        &self,
        id: &str,
        now: i64,
        threshold: i64,
        lock_until: i64,
    ) -> Result<bool, StoreError> {
        retried!("login reservation", Repeat::Once, async {
            // Every expression reads the row as it was before this update.
            let reserved = sqlx::query(
                "UPDATE users SET \
                 failed_logins = CASE WHEN locked_until IS NOT NULL THEN 1 ELSE failed_logins + 1 END, \
                 locked_until = CASE WHEN locked_until IS NULL AND failed_logins + 1 >= $1 THEN $2 \
                                ELSE NULL END \
                 WHERE id = $3 AND (locked_until IS NULL OR locked_until <= $4)",
            )
            .bind(threshold)
            .bind(lock_until)
            .bind(id)
            .bind(now)
            .execute(self.pool())
            .await?;
            Ok(reserved.rows_affected() == 1)
        })
    }

    async fn record_login(&self, id: &str) -> Result<(), StoreError> {
        retried!("login success", Repeat::Safe, async {
            sqlx::query(
                "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND failed_logins > 0",
            )
            .bind(id)
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }
}
