//! Upstream identity providers: linked identities, trips in progress, and
//! an identity waiting to be linked on its interaction. Identities are
//! keyed by (provider, subject), never by email or username.

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{conflict, Store, StoreError, User};

/// A linked upstream identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// What the provider's subjects are unique within: its issuer, API
    /// base or user-info URL ([`crate::config::UpstreamConfig::identity_key`]).
    pub provider: String,
    /// The provider's stable id for the person.
    pub subject: String,
    /// The local user.
    pub user_id: String,
    /// When it was linked.
    pub linked_at: i64,
    /// The last sign-in through it.
    pub last_sign_in: i64,
}

/// A trip to a provider, found again by its `state`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trip {
    /// The provider's id.
    pub provider: String,
    /// The interaction it continues.
    pub interaction_id: String,
    /// SHA-256 of the binding cookie of the browser that left.
    pub binding_hash: Vec<u8>,
}

/// What [`UpstreamStore::create_linked_user`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Created {
    /// The user was made and linked.
    Created,
    /// The username (or a lookalike, or the email) is taken: nothing was
    /// written; try another username.
    Taken,
    /// The identity was linked meanwhile (a concurrent first sign-in), to
    /// this user: nothing was written.
    AlreadyLinked(String),
}

/// Upstream identities and trips.
///
/// A supertrait of [`AuditStore`](super::AuditStore): its changes are audited
/// ([`crate::audit::record`]).
pub trait UpstreamStore: super::AuditStore {
    /// Moves identities recorded under `from` (a provider's configured id,
    /// which keyed them before 0.x) to `to` (its identity key); how many.
    /// One already recorded under `to` for the same subject is kept and
    /// the old one left.
    fn adopt_identities(
        &self,
        from: &str,
        to: &str,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send;
    /// Makes `user` and links (provider, subject) to it, in one transaction:
    /// never a user without its link, and of two first sign-ins at once,
    /// one makes the user and the other finds it.
    fn create_linked_user(
        &self,
        user: &User,
        provider: &str,
        subject: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Created, StoreError>> + Send;
    /// Records a trip under the SHA-256 of its `state`.
    fn begin_trip(
        &self,
        state_hash: &[u8],
        trip: &Trip,
        expires_at: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The unexpired trip with this state hash, left in place: a callback
    /// is checked against it (provider, browser) before it is taken, so a
    /// callback from another browser cannot use it up.
    fn trip(
        &self,
        state_hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<Trip>, StoreError>> + Send;
    /// Takes the unexpired trip with this state hash: it is deleted, so a
    /// `state` works once.
    fn take_trip(
        &self,
        state_hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<Trip>, StoreError>> + Send;
    /// The local user linked to (provider, subject).
    fn linked_user(
        &self,
        provider: &str,
        subject: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<String>, StoreError>> + Send;
    /// Links (provider, subject) to a user; [`StoreError::Conflict`] when it
    /// is linked already.
    fn link(
        &self,
        provider: &str,
        subject: &str,
        user_id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// A user's linked identities.
    fn identities_of(
        &self,
        user_id: &str,
    ) -> impl std::future::Future<Output = Result<Vec<Identity>, StoreError>> + Send;
    /// Removes a user's identities at `provider`; how many there were.
    fn unlink(
        &self,
        user_id: &str,
        provider: &str,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send;
    /// Keeps an identity waiting on an interaction (`None` clears it).
    fn set_pending_link(
        &self,
        interaction_hash: &[u8],
        pending: Option<&str>,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The identity waiting on an interaction.
    fn pending_link(
        &self,
        interaction_hash: &[u8],
    ) -> impl std::future::Future<Output = Result<Option<String>, StoreError>> + Send;
}

impl UpstreamStore for Store {
    async fn adopt_identities(&self, from: &str, to: &str) -> Result<u64, StoreError> {
        retried!("adopt upstream identities", Repeat::Safe, async {
            let done = sqlx::query(
                "UPDATE upstream_identities SET provider = $2 WHERE provider = $1 AND NOT EXISTS \
                 (SELECT 1 FROM upstream_identities o WHERE o.provider = $2 AND o.subject = upstream_identities.subject)",
            )
            .bind(from)
            .bind(to)
            .execute(self.pool())
            .await?;
            Ok(done.rows_affected())
        })
    }

    async fn create_linked_user(
        &self,
        user: &User,
        provider: &str,
        subject: &str,
        now: i64,
    ) -> Result<Created, StoreError> {
        retried!("linked user", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            // The identity first: a concurrent transaction inserting the same
            // one waits on its key until this one ends, then finds it.
            let claimed = sqlx::query(
                "INSERT INTO upstream_identities (provider, subject, user_id, linked_at, last_sign_in) \
                 VALUES ($1, $2, $3, $4, $4) ON CONFLICT (provider, subject) DO NOTHING",
            )
            .bind(provider)
            .bind(subject)
            .bind(&user.id)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if claimed == 0 {
                tx.rollback().await?;
                return match self.linked_user(provider, subject, now).await? {
                    Some(user_id) => Ok(Created::AlreadyLinked(user_id)),
                    None => Err(StoreError::Corrupt("upstream identity vanished".into())),
                };
            }
            match super::users::insert(&mut tx, user).await {
                Ok(()) => {
                    tx.commit().await?;
                    Ok(Created::Created)
                }
                Err(StoreError::Conflict(_)) => {
                    tx.rollback().await?;
                    Ok(Created::Taken)
                }
                Err(e) => Err(e),
            }
        })
    }

    async fn begin_trip(&self, state_hash: &[u8], trip: &Trip, expires_at: i64) -> Result<(), StoreError> {
        retried!("upstream trip", Repeat::Once, async {
            sqlx::query(
                "INSERT INTO upstream_requests (state_hash, provider, interaction_id, binding_hash, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(state_hash.to_vec())
            .bind(&trip.provider)
            .bind(&trip.interaction_id)
            .bind(trip.binding_hash.clone())
            .bind(expires_at)
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn trip(&self, state_hash: &[u8], now: i64) -> Result<Option<Trip>, StoreError> {
        retried!("upstream trip lookup", Repeat::Safe, async {
            let query = sqlx::query(
                "SELECT provider, interaction_id, binding_hash FROM upstream_requests \
                 WHERE state_hash = $1 AND expires_at > $2",
            )
            .bind(state_hash.to_vec())
            .bind(now);
            let row = query.fetch_optional(self.pool()).await?;
            let Some(row) = row else { return Ok(None) };
            let get = |e: sqlx::Error| StoreError::Corrupt(format!("upstream_requests: {e}"));
            Ok(Some(Trip {
                provider: row.try_get("provider").map_err(get)?,
                interaction_id: row.try_get("interaction_id").map_err(get)?,
                binding_hash: row.try_get("binding_hash").map_err(get)?,
            }))
        })
    }

    async fn take_trip(&self, state_hash: &[u8], now: i64) -> Result<Option<Trip>, StoreError> {
        retried!("upstream return", Repeat::Once, async {
            let query = sqlx::query(
                "DELETE FROM upstream_requests WHERE state_hash = $1 \
                 RETURNING provider, interaction_id, binding_hash, expires_at",
            )
            .bind(state_hash.to_vec());
            let row = super::returning(query, self.pool()).await?;
            let Some(row) = row else { return Ok(None) };
            let get = |e: sqlx::Error| StoreError::Corrupt(format!("upstream_requests: {e}"));
            if row.try_get::<i64, _>("expires_at").map_err(get)? <= now {
                return Ok(None);
            }
            Ok(Some(Trip {
                provider: row.try_get("provider").map_err(get)?,
                interaction_id: row.try_get("interaction_id").map_err(get)?,
                binding_hash: row.try_get("binding_hash").map_err(get)?,
            }))
        })
    }

    async fn linked_user(
        &self,
        provider: &str,
        subject: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        retried!("upstream sign-in time", Repeat::Safe, async {
            let query = sqlx::query(
                "UPDATE upstream_identities SET last_sign_in = $3 WHERE provider = $1 AND subject = $2 \
                 RETURNING user_id",
            )
            .bind(provider)
            .bind(subject)
            .bind(now);
            let row = super::returning(query, self.pool()).await?;
            row.map(|r| r.try_get("user_id"))
                .transpose()
                .map_err(|e| StoreError::Corrupt(format!("upstream_identities: {e}")))
        })
    }

    async fn link(&self, provider: &str, subject: &str, user_id: &str, now: i64) -> Result<(), StoreError> {
        retried!("upstream link", Repeat::Once, async {
            sqlx::query(
                "INSERT INTO upstream_identities (provider, subject, user_id, linked_at, last_sign_in) \
                 VALUES ($1, $2, $3, $4, $4)",
            )
            .bind(provider)
            .bind(subject)
            .bind(user_id)
            .bind(now)
            .execute(self.pool())
            .await
            .map_err(|e| conflict(e, "this upstream identity is linked already"))?;
            Ok(())
        })
    }

    async fn identities_of(&self, user_id: &str) -> Result<Vec<Identity>, StoreError> {
        let rows = sqlx::query(
            "SELECT provider, subject, user_id, linked_at, last_sign_in FROM upstream_identities \
             WHERE user_id = $1 ORDER BY provider, subject",
        )
        .bind(user_id)
        .fetch_all(self.pool())
        .await?;
        let get = |e: sqlx::Error| StoreError::Corrupt(format!("upstream_identities: {e}"));
        rows.iter()
            .map(|row| {
                Ok(Identity {
                    provider: row.try_get("provider").map_err(get)?,
                    subject: row.try_get("subject").map_err(get)?,
                    user_id: row.try_get("user_id").map_err(get)?,
                    linked_at: row.try_get("linked_at").map_err(get)?,
                    last_sign_in: row.try_get("last_sign_in").map_err(get)?,
                })
            })
            .collect()
    }

    async fn unlink(&self, user_id: &str, provider: &str) -> Result<u64, StoreError> {
        retried!("upstream unlink", Repeat::Safe, async {
            let done = sqlx::query("DELETE FROM upstream_identities WHERE user_id = $1 AND provider = $2")
                .bind(user_id)
                .bind(provider)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected())
        })
    }

    async fn set_pending_link(
        &self,
        interaction_hash: &[u8],
        pending: Option<&str>,
    ) -> Result<(), StoreError> {
        retried!("pending link", Repeat::Safe, async {
            sqlx::query("UPDATE interactions SET pending_link = $2 WHERE id_hash = $1")
                .bind(interaction_hash.to_vec())
                .bind(pending)
                .execute(self.pool())
                .await?;
            Ok(())
        })
    }

    async fn pending_link(&self, interaction_hash: &[u8]) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT pending_link FROM interactions WHERE id_hash = $1")
            .bind(interaction_hash.to_vec())
            .fetch_optional(self.pool())
            .await?;
        Ok(row
            .map(|r| r.try_get::<Option<String>, _>("pending_link"))
            .transpose()
            .map_err(|e| StoreError::Corrupt(format!("interactions: {e}")))?
            .flatten())
    }
}
