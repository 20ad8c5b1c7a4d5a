//! Browser sign-in interactions: the authorization request as checked at
//! `/authorize`, and what has happened since. The store keeps the SHA-256
//! of the interaction id and of the browser-binding cookie, never either
//! value.

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{Store, StoreError};
use crate::domain::Proofs;

/// An interaction as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interaction {
    /// SHA-256 of the interaction id.
    pub id_hash: Vec<u8>,
    /// SHA-256 of the binding cookie of the browser that started it.
    pub binding_hash: Vec<u8>,
    /// The client.
    pub client_id: String,
    /// The authorization request's parameters, as received (checked again
    /// against the client's current registration on every step).
    pub request: String,
    /// When `/authorize` received it.
    pub created_at: i64,
    /// When it can no longer be resumed.
    pub expires_at: i64,
    /// Whose proofs [`Interaction::proofs`] are, once someone proved a
    /// sign-in method here.
    pub user_id: Option<String>,
    /// The sign-in methods proven during this interaction, and when.
    pub proofs: Proofs,
    /// The `sid` of the SSO session made from these proofs, once the
    /// interaction policy found them enough; `None` while a sign-in is in
    /// progress.
    pub session_sid: Option<String>,
    /// Whether the user approved the requested scopes in this interaction.
    pub consented: bool,
}

/// Interactions.
pub trait InteractionStore {
    /// Stores a new interaction.
    fn create_interaction(
        &self,
        interaction: &Interaction,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The unexpired interaction with this id hash.
    fn interaction(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<Interaction>, StoreError>> + Send;
    /// Records what `user_id` has proven so far. A different user's
    /// proofs replace the earlier ones and start the consent over; any new
    /// proof forgets the session made from the earlier ones (a new one is
    /// made when the policy is satisfied again).
    fn interaction_proved(
        &self,
        id_hash: &[u8],
        user_id: &str,
        proofs: &Proofs,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Records the SSO session made from the interaction's proofs.
    fn interaction_session_started(
        &self,
        id_hash: &[u8],
        sid: &str,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Records that the user approved the requested scopes.
    fn interaction_consented(
        &self,
        id_hash: &[u8],
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Ends an interaction (its code was issued, or it was refused); whether
    /// it was still there, so two concurrent finishes issue one code.
    fn finish_interaction(
        &self,
        id_hash: &[u8],
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

impl InteractionStore for Store {
    async fn create_interaction(&self, i: &Interaction) -> Result<(), StoreError> {
        retried!("interaction", Repeat::Once, async {
            sqlx::query(
                "INSERT INTO interactions (id_hash, binding_hash, client_id, request, created_at, expires_at, \
                 user_id, proofs, session_sid, consented) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(i.id_hash.clone())
            .bind(i.binding_hash.clone())
            .bind(&i.client_id)
            .bind(&i.request)
            .bind(i.created_at)
            .bind(i.expires_at)
            .bind(i.user_id.clone())
            .bind(i.proofs.to_stored())
            .bind(i.session_sid.clone())
            .bind(i64::from(i.consented))
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn interaction(&self, id_hash: &[u8], now: i64) -> Result<Option<Interaction>, StoreError> {
        let row = sqlx::query(
            "SELECT binding_hash, client_id, request, created_at, expires_at, user_id, proofs, session_sid, consented \
             FROM interactions WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash.to_vec())
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let get = |e: sqlx::Error| StoreError::Corrupt(format!("interactions: {e}"));
        Ok(Some(Interaction {
            id_hash: id_hash.to_vec(),
            binding_hash: row.try_get("binding_hash").map_err(get)?,
            client_id: row.try_get("client_id").map_err(get)?,
            request: row.try_get("request").map_err(get)?,
            created_at: row.try_get("created_at").map_err(get)?,
            expires_at: row.try_get("expires_at").map_err(get)?,
            user_id: row.try_get("user_id").map_err(get)?,
            proofs: Proofs::from_stored(&row.try_get::<String, _>("proofs").map_err(get)?)
                .map_err(|e| StoreError::Corrupt(format!("interactions: {e}")))?,
            session_sid: row.try_get("session_sid").map_err(get)?,
            consented: row.try_get::<i64, _>("consented").map_err(get)? != 0,
        }))
    }

    async fn interaction_proved(
        &self,
        id_hash: &[u8],
        user_id: &str,
        proofs: &Proofs,
    ) -> Result<(), StoreError> {
        retried!("interaction proof", Repeat::Safe, async {
            // A different user's proofs start the consent over.
            sqlx::query(
                "UPDATE interactions SET consented = CASE WHEN user_id = $1 THEN consented ELSE 0 END, \
                 user_id = $1, proofs = $2, session_sid = NULL WHERE id_hash = $3",
            )
            .bind(user_id)
            .bind(proofs.to_stored())
            .bind(id_hash.to_vec())
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn interaction_session_started(&self, id_hash: &[u8], sid: &str) -> Result<(), StoreError> {
        retried!("interaction session", Repeat::Safe, async {
            sqlx::query("UPDATE interactions SET session_sid = $1 WHERE id_hash = $2")
                .bind(sid)
                .bind(id_hash.to_vec())
                .execute(self.pool())
                .await?;
            Ok(())
        })
    }

    async fn interaction_consented(&self, id_hash: &[u8]) -> Result<(), StoreError> {
        retried!("interaction consent", Repeat::Safe, async {
            sqlx::query("UPDATE interactions SET consented = 1 WHERE id_hash = $1")
                .bind(id_hash.to_vec())
                .execute(self.pool())
                .await?;
            Ok(())
        })
    }

    async fn finish_interaction(&self, id_hash: &[u8]) -> Result<bool, StoreError> {
        retried!("interaction end", Repeat::Once, async {
            let done = sqlx::query("DELETE FROM interactions WHERE id_hash = $1")
                .bind(id_hash.to_vec())
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
