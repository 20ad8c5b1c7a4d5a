//! Users (the resource owners of RFC 6749 §1.1).

use sqlx::Row;

use super::{conflict, Store, StoreError};

/// A user as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable id, the `sub` of the user's tokens.
    pub id: String,
    /// Login name, unique.
    pub username: String,
    /// Email, unique when set.
    pub email: Option<String>,
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
}

/// Users, by id and by username.
pub trait UserStore {
    /// Stores a new user; [`StoreError::Conflict`] on a taken username or email.
    fn create_user(&self, user: &User) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The user with this username.
    fn user_by_username(
        &self,
        username: &str,
    ) -> impl std::future::Future<Output = Result<Option<User>, StoreError>> + Send;
    /// The user with this id.
    fn user(&self, id: &str) -> impl std::future::Future<Output = Result<Option<User>, StoreError>> + Send;
    /// All users, by username.
    fn users(&self) -> impl std::future::Future<Output = Result<Vec<User>, StoreError>> + Send;
    /// Deletes a user (and their refresh tokens); whether it existed.
    fn delete_user(&self, id: &str) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Replaces the password hash and clears any lock.
    fn set_password(
        &self,
        id: &str,
        hash: &str,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Counts a failed login, locking the account until `lock_until` once
    /// `threshold` consecutive failures are reached. One statement.
    fn record_failed_login(
        &self,
        id: &str,
        threshold: i64,
        lock_until: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Clears the failure count after a successful login.
    fn record_login(&self, id: &str) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

macro_rules! columns {
    () => {
        "id, username, email, name, roles, password_hash, created_at, failed_logins, locked_until"
    };
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<User, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("users: {e}"));
    Ok(User {
        id: row.try_get("id").map_err(get)?,
        username: row.try_get("username").map_err(get)?,
        email: row.try_get("email").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        roles: row
            .try_get::<String, _>("roles")
            .map_err(get)?
            .split_ascii_whitespace()
            .map(str::to_owned)
            .collect(),
        password_hash: row.try_get("password_hash").map_err(get)?,
        created_at: row.try_get("created_at").map_err(get)?,
        failed_logins: row.try_get("failed_logins").map_err(get)?,
        locked_until: row.try_get("locked_until").map_err(get)?,
    })
}

impl UserStore for Store {
    async fn create_user(&self, u: &User) -> Result<(), StoreError> {
        sqlx::query(concat!(
            "INSERT INTO users (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(&u.id)
        .bind(&u.username)
        .bind(u.email.clone())
        .bind(u.name.clone())
        .bind(u.roles.join(" "))
        .bind(&u.password_hash)
        .bind(u.created_at)
        .bind(u.failed_logins)
        .bind(u.locked_until)
        .execute(self.pool())
        .await
        .map_err(|e| conflict(e, "username or email"))?;
        Ok(())
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM users WHERE username = $1"))
            .bind(username)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
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

    async fn delete_user(&self, id: &str) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query("DELETE FROM refresh_tokens WHERE user_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let done = sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }

    async fn set_password(&self, id: &str, hash: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, failed_logins = 0, locked_until = NULL WHERE id = $2",
        )
        .bind(hash)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn record_failed_login(&self, id: &str, threshold: i64, lock_until: i64) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1, \
             locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END \
             WHERE id = $3",
        )
        .bind(threshold)
        .bind(lock_until)
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn record_login(&self, id: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1 AND failed_logins > 0",
        )
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }
}
