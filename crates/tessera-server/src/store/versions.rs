//! Row versions (migration 36) and the writes conditional on them: the
//! admin API's `If-Match` is one `UPDATE ... WHERE id = $1 AND version =
//! $2`, so of two writes made with the same `ETag` exactly one changes the
//! row. Also the keyset pages of users and clients (`WHERE id > $1 ORDER
//! BY id LIMIT $2`), read by the admin API and not cut in memory.

use sqlx::Row;

use super::clients::{self, columns};
use super::grants::end_user_grants;
use super::retry::{retried, Repeat};
use super::users::{credentials_join, credentials_order, from_rows, user_columns};
use super::{conflict, Client, Store, StoreError, User};

/// What an administrator changes of a user at once; `None` leaves a
/// field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserChanges {
    /// The display name (`Some(None)` clears it).
    pub name: Option<Option<String>>,
    /// The email address (`Some(None)` clears it) and whether it is
    /// verified.
    pub email: Option<(Option<String>, bool)>,
    /// The roles, replaced.
    pub roles: Option<Vec<String>>,
    /// Whether a second factor is required.
    pub require_mfa: Option<bool>,
    /// Disabled (`true`: every grant and SSO session ends) or enabled.
    pub disabled: Option<bool>,
}

/// How a conditional write went.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conditional {
    /// The row had the version: changed, its version raised.
    Done,
    /// The row has another version (or is gone): nothing changed.
    Stale,
}

/// Versions, conditional writes and keyset pages of users and clients.
pub trait VersionStore {
    /// The user's row version, if there is such a user.
    fn user_version(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<i64>, StoreError>> + Send;
    /// The client's row version, if there is such a client.
    fn client_version(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<i64>, StoreError>> + Send;
    /// Applies `changes` to the user if their version is `version`, in one
    /// transaction (disabling ends their grants and sessions in it);
    /// [`StoreError::Conflict`] on an email that is another account's.
    fn change_user_if(
        &self,
        id: &str,
        version: i64,
        changes: &UserChanges,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Conditional, StoreError>> + Send;
    /// Replaces every column of the client `c.id` but its id, creation
    /// time and provenance (its secret hash included) if its version is
    /// `version`.
    fn replace_client_if(
        &self,
        c: &Client,
        version: i64,
    ) -> impl std::future::Future<Output = Result<Conditional, StoreError>> + Send;
    /// At most `limit` users whose id is after `after`, by id.
    fn users_after(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> impl std::future::Future<Output = Result<Vec<User>, StoreError>> + Send;
    /// At most `limit` clients whose id is after `after`, by id.
    fn clients_after(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> impl std::future::Future<Output = Result<Vec<Client>, StoreError>> + Send;
}

/// Raises the version of `table`'s row `id` if it is `version`, inside
/// `tx`: the claim every conditional write starts with.
async fn claim(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    table: &'static str,
    id: &str,
    version: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(sqlx::AssertSqlSafe(format!(
        "UPDATE {table} SET version = version + 1 WHERE id = $1 AND version = $2"
    )))
    .bind(id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl VersionStore for Store {
    async fn user_version(&self, id: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT version FROM users WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("version")).transpose()?)
    }

    async fn client_version(&self, id: &str) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query("SELECT version FROM clients WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.map(|r| r.try_get("version")).transpose()?)
    }

    async fn change_user_if(
        &self,
        id: &str,
        version: i64,
        changes: &UserChanges,
        now: i64,
    ) -> Result<Conditional, StoreError> {
        retried!("user change", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            // The claim: one conditional UPDATE; the loser of a race
            // changes nothing.
            if !claim(&mut tx, "users", id, version).await? {
                tx.rollback().await?;
                return Ok(Conditional::Stale);
            }
            if let Some(name) = &changes.name {
                sqlx::query("UPDATE users SET name = $1 WHERE id = $2")
                    .bind(name.clone())
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some((email, verified)) = &changes.email {
                sqlx::query("UPDATE users SET email = $1, email_verified = $2 WHERE id = $3")
                    .bind(email.clone())
                    .bind(i64::from(*verified))
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| conflict(e, "email"))?;
            }
            if let Some(roles) = &changes.roles {
                sqlx::query("UPDATE users SET roles = $1 WHERE id = $2")
                    .bind(super::join(roles))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(required) = changes.require_mfa {
                sqlx::query("UPDATE users SET require_mfa = $1 WHERE id = $2")
                    .bind(i64::from(required))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
            }
            if let Some(disabled) = changes.disabled {
                sqlx::query("UPDATE users SET disabled_at = $1 WHERE id = $2")
                    .bind(disabled.then_some(now))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if disabled {
                    end_user_grants(&mut tx, id, now).await?;
                }
            }
            tx.commit().await?;
            Ok(Conditional::Done)
        })
    }

    async fn replace_client_if(&self, c: &Client, version: i64) -> Result<Conditional, StoreError> {
        retried!("client change", Repeat::Safe, async {
            self.forget_client(&c.id);
            let mut tx = self.pool().begin().await?;
            if !claim(&mut tx, "clients", &c.id, version).await? {
                tx.rollback().await?;
                return Ok(Conditional::Stale);
            }
            if !clients::replace(&mut tx, c, c.provenance).await? {
                tx.rollback().await?;
                return Ok(Conditional::Stale);
            }
            tx.commit().await?;
            self.forget_client(&c.id);
            Ok(Conditional::Done)
        })
    }

    async fn users_after(&self, after: Option<&str>, limit: i64) -> Result<Vec<User>, StoreError> {
        // The page's ids first (the index on the key), then their rows
        // with their credentials.
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM users WHERE id > $1 ORDER BY id LIMIT $2")
            .bind(after.unwrap_or(""))
            .bind(limit)
            .fetch_all(self.pool())
            .await?;
        let (Some(first), Some(last)) = (ids.first(), ids.last()) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u ",
            credentials_join!(),
            " WHERE u.id >= $1 AND u.id <= $2 ",
            credentials_order!()
        ))
        .bind(first)
        .bind(last)
        .fetch_all(self.pool())
        .await?;
        let mut users = from_rows(&rows)?;
        users.retain(|u| ids.contains(&u.id));
        users.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(users)
    }

    async fn clients_after(&self, after: Option<&str>, limit: i64) -> Result<Vec<Client>, StoreError> {
        let rows = sqlx::query(concat!(
            "SELECT ",
            columns!(),
            " FROM clients WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after.unwrap_or(""))
        .bind(limit)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(clients::from_row).collect()
    }
}
