//! Users (the resource owners of RFC 6749 §1.1) and their credentials.
//!
//! A user is read with all their credentials in one query (`users LEFT
//! JOIN credentials`, one row per credential), so the login and refresh
//! paths stay one round trip; [`from_rows`] folds the rows back into
//! [`User`]s. This reader is the only place outside `identity::users` that
//! builds a `User`.

use sqlx::any::Any;
use sqlx::{Row, Transaction};

use super::grants::{end_user_grants, end_user_grants_but};
use super::retry::{retried, Repeat};
use super::{conflict, Store, StoreError};
use crate::domain::{Credential, CredentialKind, CredentialType, PasswordHash, User};

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

/// Users, by id and by username, with their credentials.
///
/// The writes that change what a user can sign in with (a password set or
/// cleared, the account disabled or deleted) end the user's refresh
/// families and SSO sessions in the same transaction. Call them through
/// `identity::users`, the user lifecycle, which decides when they happen
/// (`tests/layers.rs` checks that nothing else does).
///
/// A supertrait of [`AuditStore`](super::AuditStore): its changes are audited
/// ([`crate::audit::record`]).
pub trait UserStore: super::AuditStore {
    /// Stores a new user and their credentials, in one transaction;
    /// [`StoreError::Conflict`] on a taken username, lookalike or email.
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
    /// The user with this username, with their credentials (one query:
    /// the login path).
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
    /// Deletes a user, their credentials, their grants (refresh families
    /// and the access tokens issued with them, revoked) and their SSO
    /// sessions; whether it existed. One transaction.
    fn delete_user(
        &self,
        id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Sets the user's password (replacing the one they had) and clears
    /// any lock; every grant and SSO session of the user ends with the old
    /// credentials ([RFC 9700 §4.14.2]: refresh tokens are bound to the
    /// credentials that obtained them), but the SSO session whose `sid` is
    /// `keep`, if given (the user changing their own password from it).
    /// One transaction. Whether the user exists.
    ///
    /// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
    fn set_password(
        &self,
        id: &str,
        hash: &PasswordHash,
        keep: Option<&str>,
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Removes the user's password, and ends every grant and SSO session
    /// as [`UserStore::set_password`] does. Whether they had one.
    fn clear_password(
        &self,
        id: &str,
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
    /// Records whether the user must sign in with a second factor.
    /// Whether the user exists.
    fn set_require_mfa(
        &self,
        id: &str,
        required: bool,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Sets (or, with `None`, clears) the user's display name; whether
    /// there is such a user.
    fn set_name(
        &self,
        id: &str,
        name: Option<&str>,
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

/// The user columns (of `users u`) and their credentials' (of
/// `credentials c`, `NULL` for a user without any) a user query selects.
macro_rules! user_columns {
    () => {
        "u.id, u.username, u.email, u.name, u.roles, u.created_at, u.failed_logins, u.locked_until, \
         u.email_verified, u.disabled_at, u.require_mfa, c.id AS credential_id, c.kind AS credential_kind, \
         c.secret AS credential_secret, c.created_at AS credential_created_at"
    };
}
pub(super) use user_columns;

/// Joins every credential of `users u`: one row per credential, one row
/// of `NULL`s for a user without any.
macro_rules! credentials_join {
    () => {
        "LEFT JOIN credentials c ON c.user_id = u.id"
    };
}
pub(super) use credentials_join;

/// Orders a user's rows so that [`from_rows`] sees each user's rows
/// together, their credentials oldest first.
macro_rules! credentials_order {
    () => {
        "ORDER BY u.username, u.id, c.created_at, c.id"
    };
}
pub(super) use credentials_order;

/// A user query: [`user_columns`] of users joined to their credentials,
/// then `$where`, in [`credentials_order`].
macro_rules! select_users {
    ($where:literal) => {
        concat!(
            "SELECT ",
            user_columns!(),
            " FROM users u ",
            credentials_join!(),
            " ",
            $where,
            " ",
            credentials_order!()
        )
    };
}

/// The credential on one row, if the row has one.
fn credential_of(row: &sqlx::any::AnyRow) -> Result<Option<Credential>, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("credentials: {e}"));
    let Some(id) = row.try_get::<Option<String>, _>("credential_id").map_err(get)? else {
        return Ok(None);
    };
    let kind: String = row.try_get("credential_kind").map_err(get)?;
    let secret: String = row.try_get("credential_secret").map_err(get)?;
    let kind = match CredentialType::from_stored(&kind) {
        Some(CredentialType::Password) => CredentialKind::Password {
            hash: PasswordHash::new(secret)
                .map_err(|e| StoreError::Corrupt(format!("credentials: {id}: {e}")))?,
        },
        None => {
            return Err(StoreError::Corrupt(format!(
                "credentials: {id}: unknown kind {kind:?}"
            )))
        }
    };
    Ok(Some(Credential {
        id,
        kind,
        created_at: row.try_get("credential_created_at").map_err(get)?,
    }))
}

/// The users on rows selected with [`user_columns`] and
/// [`credentials_join`] in [`credentials_order`]: consecutive rows of one
/// user are that user with each row's credential.
pub(super) fn from_rows(rows: &[sqlx::any::AnyRow]) -> Result<Vec<User>, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("users: {e}"));
    let mut users: Vec<User> = Vec::new();
    for row in rows {
        let id: String = row.try_get("id").map_err(get)?;
        let credential = credential_of(row)?;
        if let Some(user) = users.last_mut().filter(|u| u.id == id) {
            user.credentials.extend(credential);
            continue;
        }
        users.push(User {
            id,
            username: row.try_get("username").map_err(get)?,
            email: row.try_get("email").map_err(get)?,
            name: row.try_get("name").map_err(get)?,
            roles: super::split(&row.try_get::<String, _>("roles").map_err(get)?),
            credentials: credential.into_iter().collect(),
            created_at: row.try_get("created_at").map_err(get)?,
            failed_logins: row.try_get("failed_logins").map_err(get)?,
            locked_until: row.try_get("locked_until").map_err(get)?,
            email_verified: row.try_get::<i64, _>("email_verified").map_err(get)? != 0,
            disabled_at: row.try_get("disabled_at").map_err(get)?,
            require_mfa: row.try_get::<i64, _>("require_mfa").map_err(get)? != 0,
        });
    }
    Ok(users)
}

/// Stores one credential of `user_id` inside `tx`.
async fn insert_credential(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    credential: &Credential,
) -> Result<(), StoreError> {
    let secret = match &credential.kind {
        CredentialKind::Password { hash } => hash.as_str(),
    };
    sqlx::query(
        "INSERT INTO credentials (id, user_id, kind, secret, created_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&credential.id)
    .bind(user_id)
    .bind(credential.kind.credential_type().as_str())
    .bind(secret)
    .bind(credential.created_at)
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict(e, "credential"))?;
    Ok(())
}

/// Inserts a user and their credentials inside `tx`;
/// [`StoreError::Conflict`] on a taken username, lookalike or email.
pub(super) async fn insert(tx: &mut Transaction<'static, Any>, u: &User) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO users (id, username, email, name, roles, created_at, failed_logins, locked_until, \
         email_verified, disabled_at, username_key, require_mfa) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
    )
    .bind(&u.id)
    .bind(&u.username)
    .bind(u.email.clone())
    .bind(u.name.clone())
    .bind(super::join(&u.roles))
    .bind(u.created_at)
    .bind(u.failed_logins)
    .bind(u.locked_until)
    .bind(i64::from(u.email_verified))
    .bind(u.disabled_at)
    .bind(crate::username::skeleton(&u.username))
    .bind(i64::from(u.require_mfa))
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict(e, "username or email"))?;
    for credential in &u.credentials {
        insert_credential(tx, &u.id, credential).await?;
    }
    Ok(())
}

/// Replaces the user's password with `hash` and clears any lock, ending
/// every grant and SSO session but `keep` ([`UserStore::set_password`]),
/// inside `tx`: the one body of every password change, whether from the
/// lifecycle or a reset link (`store::email_tokens`). Whether the user
/// exists (when not, nothing was written).
pub(super) async fn replace_password(
    tx: &mut Transaction<'static, Any>,
    id: &str,
    hash: &PasswordHash,
    keep: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE users SET failed_logins = 0, locked_until = NULL, version = version + 1 WHERE id = $1",
    )
    .bind(id)
    .execute(&mut **tx)
    .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM credentials WHERE user_id = $1 AND kind = $2")
        .bind(id)
        .bind(CredentialType::Password.as_str())
        .execute(&mut **tx)
        .await?;
    let password = Credential::password(id, hash.clone(), now);
    insert_credential(tx, id, &password).await?;
    end_user_grants_but(tx, id, keep, now).await?;
    Ok(true)
}

impl Store {
    /// The first user a [`select_users`] query with `bind` finds.
    async fn one_user(&self, query: &'static str, bind: &str) -> Result<Option<User>, StoreError> {
        let rows = sqlx::query(query).bind(bind).fetch_all(self.pool()).await?;
        Ok(from_rows(&rows)?.into_iter().next())
    }
}

impl UserStore for Store {
    async fn create_user(&self, u: &User) -> Result<(), StoreError> {
        retried!("user", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            insert(&mut tx, u).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<User>, StoreError> {
        self.one_user(select_users!("WHERE u.username = $1"), username)
            .await
    }

    async fn set_roles(&self, id: &str, roles: &[String]) -> Result<(), StoreError> {
        retried!("roles", Repeat::Safe, async {
            sqlx::query("UPDATE users SET roles = $2, version = version + 1 WHERE id = $1")
                .bind(id)
                .bind(super::join(roles))
                .execute(self.pool())
                .await?;
            Ok(())
        })
    }

    async fn user_by_email(&self, email: &str) -> Result<Option<User>, StoreError> {
        self.one_user(select_users!("WHERE lower(u.email) = lower($1)"), email)
            .await
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
        self.one_user(select_users!("WHERE u.id = $1"), id).await
    }

    async fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = sqlx::query(select_users!("")).fetch_all(self.pool()).await?;
        from_rows(&rows)
    }

    async fn delete_user(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        retried!("user deletion", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            end_user_grants(&mut tx, id, now).await?;
            for table in [
                "DELETE FROM refresh_tokens WHERE user_id = $1",
                "DELETE FROM upstream_identities WHERE user_id = $1",
                "DELETE FROM credentials WHERE user_id = $1",
                "DELETE FROM totp_credentials WHERE user_id = $1",
                "DELETE FROM recovery_codes WHERE user_id = $1",
                "DELETE FROM passkeys WHERE user_id = $1",
                "DELETE FROM email_tokens WHERE user_id = $1",
            ] {
                sqlx::query(table).bind(id).execute(&mut *tx).await?;
            }
            let done = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn set_password(
        &self,
        id: &str,
        hash: &PasswordHash,
        keep: Option<&str>,
        now: i64,
    ) -> Result<bool, StoreError> {
        retried!("password change", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            if !replace_password(&mut tx, id, hash, keep, now).await? {
                tx.rollback().await?;
                return Ok(false);
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn clear_password(&self, id: &str, now: i64) -> Result<bool, StoreError> {
        retried!("password removal", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let done = sqlx::query("DELETE FROM credentials WHERE user_id = $1 AND kind = $2")
                .bind(id)
                .bind(CredentialType::Password.as_str())
                .execute(&mut *tx)
                .await?;
            end_user_grants(&mut tx, id, now).await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn set_disabled(&self, id: &str, disabled: bool, now: i64) -> Result<bool, StoreError> {
        retried!("user state", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let done = sqlx::query("UPDATE users SET disabled_at = $1, version = version + 1 WHERE id = $2")
                .bind(disabled.then_some(now))
                .bind(id)
                .execute(&mut *tx)
                .await?;
            if disabled {
                end_user_grants(&mut tx, id, now).await?;
            }
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn set_require_mfa(&self, id: &str, required: bool) -> Result<bool, StoreError> {
        retried!("user mfa requirement", Repeat::Safe, async {
            let done = sqlx::query("UPDATE users SET require_mfa = $1, version = version + 1 WHERE id = $2")
                .bind(i64::from(required))
                .bind(id)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn set_name(&self, id: &str, name: Option<&str>) -> Result<bool, StoreError> {
        let name = name.map(str::to_owned);
        retried!("name change", Repeat::Safe, async {
            let done = sqlx::query("UPDATE users SET name = $1, version = version + 1 WHERE id = $2")
                .bind(name.clone())
                .bind(id)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn set_email_verified(&self, id: &str, verified: bool) -> Result<bool, StoreError> {
        retried!("email verification", Repeat::Safe, async {
            let done =
                sqlx::query("UPDATE users SET email_verified = $1, version = version + 1 WHERE id = $2")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Migration 20 on a database that has users from before it: a
    /// password hash becomes the user's password credential, an empty one
    /// ("no password", an upstream account) none, and the old column is
    /// gone.
    #[tokio::test]
    async fn migration_20_moves_passwords_into_credentials() {
        let dir = std::env::temp_dir().join(format!("tessera-migration-20-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let url = format!("sqlite://{}/t.db", dir.display());
        // The database as migrations 1 to 19 left it, with two users.
        sqlx::any::install_default_drivers();
        let pool = sqlx::any::AnyPoolOptions::new()
            .max_connections(1)
            .connect(&format!("{url}?mode=rwc"))
            .await
            .unwrap();
        let before: Vec<_> = super::super::SQLITE_MIGRATIONS
            .iter()
            .copied()
            .filter(|(version, ..)| *version < 20)
            .collect();
        super::super::migrator(&before).run(&pool).await.unwrap();
        let hash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
        for (id, name, password_hash) in [("u1", "ann", hash), ("u2", "fed", "")] {
            sqlx::query(
                "INSERT INTO users (id, username, email, name, roles, password_hash, created_at, \
                 failed_logins, locked_until, email_verified, disabled_at) \
                 VALUES ($1, $2, NULL, NULL, 'user', $3, 42, 0, NULL, 0, NULL)",
            )
            .bind(id)
            .bind(name)
            .bind(password_hash)
            .execute(&pool)
            .await
            .unwrap();
        }
        pool.close().await;

        let store = Store::open(&url).await.unwrap();
        let ann = store.user("u1").await.unwrap().unwrap();
        assert_eq!(
            ann.credentials,
            vec![Credential::password(
                "u1",
                PasswordHash::new(hash.into()).unwrap(),
                42
            )],
            "the hash moved, dated with the user"
        );
        assert_eq!(ann.roles, vec!["user".to_owned()]);
        let fed = store.user_by_username("fed").await.unwrap().unwrap();
        assert!(fed.credentials.is_empty(), "an empty hash was no password");
        assert!(
            sqlx::query("SELECT password_hash FROM users")
                .fetch_all(store.pool())
                .await
                .is_err(),
            "the old column is gone"
        );
        let all = store.users().await.unwrap();
        assert_eq!(all.len(), 2, "one user per user, whatever their credentials");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
