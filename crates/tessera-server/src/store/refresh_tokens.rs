//! Refresh tokens: stored as SHA-256 hashes, single use, rotated, with
//! reuse detection ([RFC 9700 §4.14.2]), grouped in families.
//!
//! A family is one grant (one sign-in): its row in `refresh_families` is
//! what a rotation and a revocation both update first, inside their
//! transaction, so they are serialised on it:
//!
//! - a rotation that commits first is seen by the replay's revocation,
//!   which then revokes the new refresh token and the access token issued
//!   with it (each token row records its access token's `jti`);
//! - a replay that commits first makes the rotation find its family revoked,
//!   so nothing is issued.
//!
//! Reading the presented token and its user, consuming the token, storing
//! its successor and recording the access token's `jti` happen in that one
//! transaction: a rotation is one database transaction (and is tried again
//! only when the database rolled it back, see [`super::retry`]).
//!
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

use sqlx::any::Any;
use sqlx::{Row, Transaction};

use super::grants::revoke_family;
use super::retry::{retried, Repeat};
use super::{users, Store, StoreError, User};
use crate::domain::{Resources, Scope};

/// A refresh token as stored (the token itself is never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// The rotation family: every token descended from one sign-in.
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user it was issued for.
    pub user_id: String,
    /// Granted scope.
    pub scope: Scope,
    /// Granted resources (RFC 8707): a refresh may narrow them, never
    /// widen them.
    pub resources: Resources,
    /// Expiry (never after the family's).
    pub expires_at: i64,
}

/// A new family: one grant, started by a sign-in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Family {
    /// Random id.
    pub family_id: String,
    /// The client.
    pub client_id: String,
    /// The user.
    pub user_id: String,
    /// The SSO session that started it (browser sign-in), so logout can
    /// end it.
    pub sid: Option<String>,
    /// Granted `offline_access`: it outlives the SSO session.
    pub offline: bool,
    /// When the sign-in happened.
    pub created_at: i64,
    /// The absolute end of the family, however often it is rotated.
    pub expires_at: i64,
    /// The DPoP key (RFC 7638 thumbprint) every refresh in the family must
    /// prove (a public client's, RFC 9449 §5), if bound.
    pub dpop_jkt: Option<String>,
}

/// What one token response issued, stored with the step that issued it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedGrant {
    /// The access token's `jti`.
    pub access_jti: String,
    /// The access token's `exp`.
    pub access_expires_at: i64,
    /// The refresh token issued with it, if any.
    pub refresh: Option<RefreshToken>,
    /// The family it starts, if it starts one.
    pub new_family: Option<Family>,
}

/// A stored refresh token with its family's end, as a rotation reads it
/// before deciding what to issue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    /// The token.
    pub token: RefreshToken,
    /// The family's absolute end.
    pub family_expires_at: i64,
    /// The DPoP key the family is bound to, if any.
    pub family_jkt: Option<String>,
}

/// What presenting a refresh token did.
#[derive(Debug, PartialEq, Eq)]
pub enum Consumed<E> {
    /// It was valid, is now used, and its successor is stored. What the
    /// decision read: the token and its user.
    Fresh {
        /// The token that was used.
        presented: Presented,
        /// Its user, as read inside the rotation.
        user: Box<User>,
    },
    /// The decision refused it: nothing changed.
    Refused(E),
    /// It had been used already: a replay. Its family, and every access
    /// token the family issued, are now revoked.
    Replayed {
        /// The revoked family.
        family_id: String,
    },
    /// Unknown, expired, revoked, or its family is.
    Invalid,
}

/// Refresh tokens and their families.
///
/// A supertrait of [`AuditStore`](super::AuditStore): its changes are audited
/// ([`crate::audit::record`]).
pub trait RefreshTokenStore: super::AuditStore {
    /// Stores what a grant issued (its family, its refresh token), in one
    /// transaction.
    fn record_grant(
        &self,
        grant: &IssuedGrant,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Rotates the token `hash` issued to `client_id`, in one transaction
    /// serialised on its family (see the module docs): reads the token and
    /// its user, asks `decide` what to issue in its place, uses the token
    /// and stores the successor. A token whose family is revoked or ended,
    /// or whose user is gone, is [`Consumed::Invalid`]; a used one is a
    /// replay, which revokes the family and its access tokens. `decide` may
    /// be called more than once and must answer the same each time (draw
    /// its random values before): a repeat of this call after a lost
    /// connection finds the successor `decide` names already stored, and
    /// answers [`Consumed::Fresh`] again instead of taking it for a replay,
    /// so the rotation is safe to repeat.
    fn rotate_refresh_token<E: Send>(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
        decide: impl FnMut(&Presented, &User) -> Result<IssuedGrant, E> + Send,
    ) -> impl std::future::Future<Output = Result<Consumed<E>, StoreError>> + Send;
    /// Revokes the family of the token with this hash, and its access
    /// tokens, if it belongs to `client_id` (logout, RFC 7009 §2.1); the
    /// token's row, found or not.
    fn revoke_refresh_family(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<RefreshToken>, StoreError>> + Send;
    /// Revokes the families an SSO session started, except those granted
    /// `offline_access` (logout at the end-session endpoint); how many.
    fn revoke_session_grants(
        &self,
        sid: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send;
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<RefreshToken, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("refresh_tokens: {e}"));
    Ok(RefreshToken {
        token_hash: row.try_get("token_hash").map_err(get)?,
        family_id: row.try_get("family_id").map_err(get)?,
        client_id: row.try_get("client_id").map_err(get)?,
        user_id: row.try_get("user_id").map_err(get)?,
        scope: Scope::from_stored(&row.try_get::<String, _>("scope").map_err(get)?),
        resources: Resources::from_stored(&row.try_get::<String, _>("resources").map_err(get)?),
        expires_at: row.try_get("expires_at").map_err(get)?,
    })
}

/// Inserts a grant's family (when new) and refresh token inside `tx`.
pub(crate) async fn insert_grant(
    tx: &mut Transaction<'static, Any>,
    grant: &IssuedGrant,
) -> Result<(), StoreError> {
    if let Some(f) = &grant.new_family {
        sqlx::query(
            "INSERT INTO refresh_families (family_id, client_id, user_id, sid, offline, created_at, expires_at, \
             dpop_jkt) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&f.family_id)
        .bind(&f.client_id)
        .bind(&f.user_id)
        .bind(f.sid.clone())
        .bind(i64::from(f.offline))
        .bind(f.created_at)
        .bind(f.expires_at)
        .bind(f.dpop_jkt.clone())
        .execute(&mut **tx)
        .await?;
    }
    if let Some(t) = &grant.refresh {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, expires_at, \
             access_jti, access_expires_at, resources) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(t.token_hash.clone())
        .bind(&t.family_id)
        .bind(&t.client_id)
        .bind(&t.user_id)
        .bind(t.scope.as_str())
        .bind(t.expires_at)
        .bind(&grant.access_jti)
        .bind(grant.access_expires_at)
        .bind(t.resources.to_stored())
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// One try of [`RefreshTokenStore::rotate_refresh_token`]: one
/// transaction.
async fn rotate_once<E>(
    store: &Store,
    hash: &[u8],
    client_id: &str,
    now: i64,
    decide: &mut (impl FnMut(&Presented, &User) -> Result<IssuedGrant, E> + Send),
) -> Result<Consumed<E>, StoreError> {
    let mut tx = store.pool().begin().await?;
    // 1. Take the family's row (a write first, so concurrent rotations and
    //    replays of one family queue here, and SQLite takes its write lock
    //    before reading); a revoked or ended family issues nothing.
    let family = sqlx::query(
        "UPDATE refresh_families SET revoked_at = revoked_at \
         WHERE family_id = (SELECT family_id FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2) \
         AND revoked_at IS NULL AND expires_at > $3 RETURNING family_id, expires_at, dpop_jkt",
    )
    .bind(hash.to_vec())
    .bind(client_id)
    .bind(now)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(family) = family else {
        tx.rollback().await?;
        return Ok(Consumed::Invalid);
    };
    let corrupt = |e: sqlx::Error| StoreError::Corrupt(format!("refresh_families: {e}"));
    let family_id: String = family.try_get("family_id").map_err(corrupt)?;
    let family_expires_at: i64 = family.try_get("expires_at").map_err(corrupt)?;
    let family_jkt: Option<String> = family.try_get("dpop_jkt").map_err(corrupt)?;
    // 2. The token and its user with their credentials (one row each),
    //    read under the family's lock in one query.
    let rows = sqlx::query(concat!(
        "SELECT t.token_hash, t.family_id, t.client_id, t.user_id, t.scope, t.resources, t.expires_at, \
         t.used_at, t.revoked_at, ",
        users::user_columns!(),
        " FROM refresh_tokens t JOIN users u ON u.id = t.user_id ",
        users::credentials_join!(),
        " WHERE t.token_hash = $1 ",
        users::credentials_order!()
    ))
    .bind(hash.to_vec())
    .fetch_all(&mut *tx)
    .await?;
    let (Some(row), Some(user)) = (rows.first(), users::from_rows(&rows)?.into_iter().next()) else {
        tx.rollback().await?;
        return Ok(Consumed::Invalid);
    };
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("refresh_tokens: {e}"));
    let used_at: Option<i64> = row.try_get("used_at").map_err(get)?;
    let revoked_at: Option<i64> = row.try_get("revoked_at").map_err(get)?;
    let presented = Presented {
        token: from_row(row)?,
        family_expires_at,
        family_jkt,
    };
    // 3. A used token is a replay, which ends the family; unless the
    //    successor this request drew is stored: an earlier try of this same
    //    request committed and its answer was lost (see `super::retry`), so
    //    this is that success again. Another request draws another
    //    successor, so a real replay is never taken for one.
    if used_at.is_some() {
        if let Ok(IssuedGrant {
            refresh: Some(successor),
            ..
        }) = decide(&presented, &user)
        {
            let ours: Option<i64> =
                sqlx::query_scalar("SELECT 1 FROM refresh_tokens WHERE token_hash = $1 AND family_id = $2")
                    .bind(successor.token_hash)
                    .bind(&family_id)
                    .fetch_optional(&mut *tx)
                    .await?;
            if ours.is_some() {
                tx.rollback().await?;
                return Ok(Consumed::Fresh {
                    presented,
                    user: Box::new(user),
                });
            }
        }
        revoke_family(&mut tx, &family_id, now).await?;
        tx.commit().await?;
        return Ok(Consumed::Replayed { family_id });
    }
    if revoked_at.is_some() || presented.token.expires_at <= now {
        tx.rollback().await?;
        return Ok(Consumed::Invalid);
    }
    // 4. What to issue in its place.
    let next = match decide(&presented, &user) {
        Ok(next) => next,
        Err(refused) => {
            tx.rollback().await?;
            return Ok(Consumed::Refused(refused));
        }
    };
    // 5. Use it, and store its successor with the access token issued
    //    beside it.
    sqlx::query("UPDATE refresh_tokens SET used_at = $1 WHERE token_hash = $2")
        .bind(now)
        .bind(hash.to_vec())
        .execute(&mut *tx)
        .await?;
    insert_grant(&mut tx, &next).await?;
    tx.commit().await?;
    Ok(Consumed::Fresh {
        presented,
        user: Box::new(user),
    })
}

impl RefreshTokenStore for Store {
    async fn record_grant(&self, grant: &IssuedGrant) -> Result<(), StoreError> {
        retried!("grant", Repeat::Once, async {
            if grant.refresh.is_none() && grant.new_family.is_none() {
                return Ok(());
            }
            let mut tx = self.pool().begin().await?;
            insert_grant(&mut tx, grant).await?;
            tx.commit().await?;
            Ok(())
        })
    }

    async fn rotate_refresh_token<E: Send>(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
        mut decide: impl FnMut(&Presented, &User) -> Result<IssuedGrant, E> + Send,
    ) -> Result<Consumed<E>, StoreError> {
        retried!(
            "refresh token rotation",
            Repeat::Safe,
            rotate_once(self, hash, client_id, now, &mut decide)
        )
    }

    async fn revoke_refresh_family(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
    ) -> Result<Option<RefreshToken>, StoreError> {
        retried!("refresh family revocation", Repeat::Safe, async {
            let row = sqlx::query(
                "SELECT token_hash, family_id, client_id, user_id, scope, resources, expires_at FROM refresh_tokens WHERE token_hash = $1",
            )
            .bind(hash.to_vec())
            .fetch_optional(self.pool())
            .await?;
            let Some(token) = row.as_ref().map(from_row).transpose()? else {
                return Ok(None);
            };
            if token.client_id != client_id {
                return Ok(Some(token));
            }
            let mut tx = self.pool().begin().await?;
            revoke_family(&mut tx, &token.family_id, now).await?;
            tx.commit().await?;
            Ok(Some(token))
        })
    }

    async fn revoke_session_grants(&self, sid: &str, now: i64) -> Result<u64, StoreError> {
        retried!("session grants revocation", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let families: Vec<String> = sqlx::query_scalar(
                "SELECT family_id FROM refresh_families WHERE sid = $1 AND offline = 0 AND revoked_at IS NULL",
            )
            .bind(sid)
            .fetch_all(&mut *tx)
            .await?;
            for family in &families {
                revoke_family(&mut tx, family, now).await?;
            }
            tx.commit().await?;
            Ok(families.len() as u64)
        })
    }
}
