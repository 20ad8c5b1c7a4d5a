//! Consent a user gave a client (OpenID Connect Core §3.1.2.4: the OP
//! obtains consent "or establishes it by other means", such as a prior
//! approval), by scope and by resource (RFC 8707).

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{Store, StoreError};
use crate::domain::{Approval, Resources, Scope};

/// Consents.
pub trait ConsentStore {
    /// Records that `user_id` allowed `client_id` these scopes and
    /// resources, added to any it allowed before.
    fn record_consent(
        &self,
        user_id: &str,
        client_id: &str,
        approval: &Approval,
        now: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// What `user_id` has allowed `client_id`.
    fn consented(
        &self,
        user_id: &str,
        client_id: &str,
    ) -> impl std::future::Future<Output = Result<Option<Approval>, StoreError>> + Send;
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Approval, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("consents: {e}"));
    Ok(Approval {
        scope: Scope::from_stored(&row.try_get::<String, _>("scope").map_err(get)?),
        resources: Resources::from_stored(&row.try_get::<String, _>("resources").map_err(get)?),
    })
}

impl ConsentStore for Store {
    async fn record_consent(
        &self,
        user_id: &str,
        client_id: &str,
        approval: &Approval,
        now: i64,
    ) -> Result<(), StoreError> {
        retried!("consent", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let before =
                sqlx::query("SELECT scope, resources FROM consents WHERE user_id = $1 AND client_id = $2")
                    .bind(user_id)
                    .bind(client_id)
                    .fetch_optional(&mut *tx)
                    .await?
                    .as_ref()
                    .map(from_row)
                    .transpose()?
                    .unwrap_or_default();
            let scope = before.scope.union(&approval.scope);
            let resources = before.resources.union(&approval.resources);
            sqlx::query(
                "INSERT INTO consents (user_id, client_id, scope, resources, granted_at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, \
                 resources = excluded.resources, granted_at = excluded.granted_at",
            )
            .bind(user_id)
            .bind(client_id)
            .bind(scope.as_str())
            .bind(resources.to_stored())
            .bind(now)
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn consented(&self, user_id: &str, client_id: &str) -> Result<Option<Approval>, StoreError> {
        let row = sqlx::query("SELECT scope, resources FROM consents WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(from_row).transpose()
    }
}
