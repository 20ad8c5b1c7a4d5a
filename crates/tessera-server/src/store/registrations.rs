//! Dynamic client registration ([RFC 7591], [RFC 7592]): the clients that
//! registered themselves, each with the SHA-256 of its registration access
//! token, and the initial access tokens an operator hands out.
//!
//! A client and its registration access token are written in one
//! transaction, and replaced or deleted in one: never a client its token
//! cannot reach, nor a token left for a client that is gone. Every
//! statement here touches only clients of provenance `dynamic`, so an
//! operator's client is never reachable through a registration access
//! token.
//!
//! [RFC 7591]: https://www.rfc-editor.org/rfc/rfc7591
//! [RFC 7592]: https://www.rfc-editor.org/rfc/rfc7592

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{clients, grants, Store, StoreError};
use crate::domain::{Client, Provenance};

/// Self-registered clients and initial access tokens.
pub trait RegistrationStore: super::AuditStore {
    /// Stores a client that registered itself and the hash of its
    /// registration access token, in one transaction
    /// ([`StoreError::Conflict`] if the id exists).
    fn create_registered_client(
        &self,
        client: &Client,
        token_hash: &[u8],
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The hash of the registration access token of the self-registered
    /// client `client_id`, if there is one.
    fn registration_token_hash(
        &self,
        client_id: &str,
    ) -> impl std::future::Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// Replaces a self-registered client's registration (its id, creation
    /// time and token stay); whether it was there.
    fn replace_registered_client(
        &self,
        client: &Client,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Deletes a self-registered client, its token and origins, and
    /// revokes its refresh-token families (with the access tokens they
    /// issued), in one transaction; whether it was there.
    fn delete_registered_client(
        &self,
        client_id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Stores an initial access token's hash, usable until `expires_at`.
    fn create_initial_access_token(
        &self,
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Whether an unexpired initial access token has this hash.
    fn initial_access_token_valid(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Uses an initial access token up (one statement); whether it was
    /// still there and unexpired, so of two registrations with one token
    /// exactly one goes ahead.
    fn use_initial_access_token(
        &self,
        token_hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

impl RegistrationStore for Store {
    async fn create_registered_client(&self, client: &Client, token_hash: &[u8]) -> Result<(), StoreError> {
        if client.provenance != Provenance::Dynamic {
            return Err(StoreError::Corrupt(format!(
                "client {}: only a dynamic client has a registration access token",
                client.id
            )));
        }
        retried!("dynamic client registration", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            clients::insert(&mut tx, client, &[]).await?;
            sqlx::query("INSERT INTO client_registrations (client_id, token_hash) VALUES ($1, $2)")
                .bind(&client.id)
                .bind(token_hash.to_vec())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn registration_token_hash(&self, client_id: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let row = sqlx::query(
            "SELECT r.token_hash FROM client_registrations r JOIN clients c ON c.id = r.client_id \
             WHERE r.client_id = $1 AND c.provenance = $2",
        )
        .bind(client_id)
        .bind(Provenance::Dynamic.as_str())
        .fetch_optional(self.pool())
        .await?;
        let get = |e: sqlx::Error| StoreError::Corrupt(format!("client_registrations: {e}"));
        row.map(|r| r.try_get::<Vec<u8>, _>("token_hash").map_err(get))
            .transpose()
    }

    async fn replace_registered_client(&self, client: &Client) -> Result<bool, StoreError> {
        retried!("dynamic client update", Repeat::Safe, async {
            self.forget_client(&client.id);
            let mut tx = self.pool().begin().await?;
            let done = clients::replace(&mut tx, client, Provenance::Dynamic).await?;
            tx.commit().await?;
            self.forget_client(&client.id);
            Ok(done)
        })
    }

    async fn delete_registered_client(&self, client_id: &str, now: i64) -> Result<bool, StoreError> {
        retried!("dynamic client deletion", Repeat::Safe, async {
            self.forget_client(client_id);
            let mut tx = self.pool().begin().await?;
            let done = sqlx::query("DELETE FROM clients WHERE id = $1 AND provenance = $2")
                .bind(client_id)
                .bind(Provenance::Dynamic.as_str())
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 0 {
                return Ok(false);
            }
            for table in ["client_registrations", "client_origins"] {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DELETE FROM {table} WHERE client_id = $1"
                )))
                .bind(client_id)
                .execute(&mut *tx)
                .await?;
            }
            grants::revoke_client_families(&mut tx, client_id, now).await?;
            tx.commit().await?;
            self.forget_client(client_id);
            Ok(true)
        })
    }

    async fn create_initial_access_token(
        &self,
        token_hash: &[u8],
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        retried!("initial access token", Repeat::Once, async {
            sqlx::query(
                "INSERT INTO initial_access_tokens (token_hash, created_at, expires_at) VALUES ($1, $2, $3)",
            )
            .bind(token_hash.to_vec())
            .bind(now)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn initial_access_token_valid(&self, token_hash: &[u8], now: i64) -> Result<bool, StoreError> {
        let row =
            sqlx::query("SELECT 1 FROM initial_access_tokens WHERE token_hash = $1 AND expires_at > $2")
                .bind(token_hash.to_vec())
                .bind(now)
                .fetch_optional(self.pool())
                .await?;
        Ok(row.is_some())
    }

    async fn use_initial_access_token(&self, token_hash: &[u8], now: i64) -> Result<bool, StoreError> {
        // `Repeat::Once`: a retry after a lost commit would find its own
        // deletion done and refuse; refusing one registration is the safe
        // side.
        retried!("initial access token use", Repeat::Once, async {
            let done =
                sqlx::query("DELETE FROM initial_access_tokens WHERE token_hash = $1 AND expires_at > $2")
                    .bind(token_hash.to_vec())
                    .bind(now)
                    .execute(self.pool())
                    .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
