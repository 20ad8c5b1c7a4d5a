//! Consent a user gave a client (OpenID Connect Core §3.1.2.4: the OP
//! obtains consent "or establishes it by other means", such as a prior
//! approval), by scope.

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{Store, StoreError};
use crate::domain::Scope;

/// Consents.
pub trait ConsentStore {
    /// Records that `user_id` allowed `client_id` these scopes, added to
    /// any it allowed before.
    fn record_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &Scope,
        now: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The scopes `user_id` has allowed `client_id`.
    fn consented_scope(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> impl std::future::Future<Output = Result<Option<Scope>, StoreError>> + Send;
}

impl ConsentStore for Store {
    async fn record_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &Scope,
        now: i64,
    ) -> Result<(), StoreError> {
        retried!("consent", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let before: Option<String> =
                sqlx::query("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .map(|row| row.try_get("scope"))
                    .transpose()
                    .map_err(|e| StoreError::Corrupt(format!("consents: {e}")))?;
            let all = Scope::from_stored(before.as_deref().unwrap_or("")).union(scope);
            sqlx::query(
                "INSERT INTO consents (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
            )
            .bind(user_id)
            .bind(client_id)
            .bind(all.as_str())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn consented_scope(&self, user_id: &str, client_id: &str) -> Result<Option<Scope>, StoreError> {
        let row = sqlx::query("SELECT scope FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(self.pool())
            .await?;
        row.map(|r| r.try_get::<String, _>("scope").map(|s| Scope::from_stored(&s)))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("consents: {e}")))
    }
}
