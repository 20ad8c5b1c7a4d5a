//! Consent a user gave a client (OpenID Connect Core §3.1.2.4: the OP
//! obtains consent "or establishes it by other means", such as a prior
//! approval), by scope and by resource (RFC 8707).

use sqlx::Row;

use super::grants::revoke_user_client_families;
use super::retry::{retried, Repeat};
use super::{Store, StoreError};
use crate::domain::{Approval, Resources, Scope};

/// Consents.
///
/// A supertrait of [`AuditStore`](super::AuditStore): its changes are audited
/// ([`crate::audit::record`]).
pub trait ConsentStore: super::AuditStore {
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
    /// Every consent `user_id` gave, by client id.
    fn consents_of(
        &self,
        user_id: &str,
    ) -> impl std::future::Future<Output = Result<Vec<Consent>, StoreError>> + Send;
    /// Withdraws `user_id`'s consent to `client_id` and revokes every
    /// refresh family they hold there (offline ones included) with its
    /// access tokens, in one transaction; whether there was a consent.
    fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

/// One consent as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consent {
    /// The client.
    pub client_id: String,
    /// What was allowed.
    pub approval: Approval,
    /// When it was last given.
    pub granted_at: i64,
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

    async fn consents_of(&self, user_id: &str) -> Result<Vec<Consent>, StoreError> {
        let rows = sqlx::query(
            "SELECT client_id, scope, resources, granted_at FROM consents WHERE user_id = $1 ORDER BY client_id",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        let get = |e: sqlx::Error| StoreError::Corrupt(format!("consents: {e}"));
        rows.iter()
            .map(|row| {
                Ok(Consent {
                    client_id: row.try_get("client_id").map_err(get)?,
                    approval: from_row(row)?,
                    granted_at: row.try_get("granted_at").map_err(get)?,
                })
            })
            .collect()
    }

    async fn revoke_consent(&self, user_id: &str, client_id: &str, now: i64) -> Result<bool, StoreError> {
        retried!("consent revocation", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let done = sqlx::query("DELETE FROM consents WHERE user_id = $1 AND client_id = $2")
                .bind(user_id)
                .bind(client_id)
                .execute(&mut *tx)
                .await?;
            revoke_user_client_families(&mut tx, user_id, client_id, now).await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }
}
