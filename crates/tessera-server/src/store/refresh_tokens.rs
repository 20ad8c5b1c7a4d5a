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
//! Consuming the old token, storing the new one and recording the access
//! token's `jti` happen in that one transaction.
//!
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

use sqlx::any::Any;
use sqlx::{Row, Transaction};

use super::{Store, StoreError};
use crate::oauth::Scope;

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

/// A stored refresh token with its family's end, as a grant reads it
/// before rotating.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Presented {
    /// The token.
    pub token: RefreshToken,
    /// The family's absolute end.
    pub family_expires_at: i64,
}

/// What presenting a refresh token did.
#[derive(Debug, PartialEq, Eq)]
pub enum Consumed {
    /// It was valid, is now used, and its successor is stored.
    Fresh(RefreshToken),
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
pub trait RefreshTokenStore {
    /// The token with this hash issued to `client_id`, used or not, if its
    /// family is live (not revoked, not ended).
    fn presented_refresh_token(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<Presented>, StoreError>> + Send;
    /// Stores what a grant issued (its family, its refresh token), in one
    /// transaction.
    fn record_grant(
        &self,
        grant: &IssuedGrant,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Uses the token `hash` issued to `client_id` in `family_id` (as
    /// [`RefreshTokenStore::presented_refresh_token`] read it) and stores its
    /// successor `next`, in one transaction serialised on the family (see
    /// the module docs). A replay revokes the family and its access tokens.
    fn rotate_refresh_token(
        &self,
        hash: &[u8],
        client_id: &str,
        family_id: &str,
        now: i64,
        next: &IssuedGrant,
    ) -> impl std::future::Future<Output = Result<Consumed, StoreError>> + Send;
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
            "INSERT INTO refresh_families (family_id, client_id, user_id, sid, offline, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&f.family_id)
        .bind(&f.client_id)
        .bind(&f.user_id)
        .bind(f.sid.clone())
        .bind(i64::from(f.offline))
        .bind(f.created_at)
        .bind(f.expires_at)
        .execute(&mut **tx)
        .await?;
    }
    if let Some(t) = &grant.refresh {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, expires_at, \
             access_jti, access_expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(t.token_hash.clone())
        .bind(&t.family_id)
        .bind(&t.client_id)
        .bind(&t.user_id)
        .bind(t.scope.as_str())
        .bind(t.expires_at)
        .bind(&grant.access_jti)
        .bind(grant.access_expires_at)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Revokes a family inside `tx`: the family, its tokens, and the access
/// tokens they were issued with (kept in `revoked_tokens` until they would
/// have expired anyway).
pub(crate) async fn revoke_family(
    tx: &mut Transaction<'static, Any>,
    family_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE refresh_families SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(family_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(family_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO revoked_tokens (jti, expires_at) \
         SELECT access_jti, access_expires_at FROM refresh_tokens \
         WHERE family_id = $1 AND access_jti IS NOT NULL AND access_expires_at > $2 \
         ON CONFLICT (jti) DO NOTHING",
    )
    .bind(family_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Revokes every family of `user_id` (and their access tokens), inside
/// `tx`.
pub(crate) async fn revoke_user_families(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let families: Vec<String> = sqlx::query_scalar(
        "SELECT family_id FROM refresh_families WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    for family in families {
        revoke_family(tx, &family, now).await?;
    }
    Ok(())
}

impl RefreshTokenStore for Store {
    async fn presented_refresh_token(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
    ) -> Result<Option<Presented>, StoreError> {
        let row = sqlx::query(
            "SELECT t.token_hash, t.family_id, t.client_id, t.user_id, t.scope, t.expires_at, \
             f.expires_at AS family_expires_at FROM refresh_tokens t \
             JOIN refresh_families f ON f.family_id = t.family_id \
             WHERE t.token_hash = $1 AND t.client_id = $2 AND f.revoked_at IS NULL AND f.expires_at > $3",
        )
        .bind(hash.to_vec())
        .bind(client_id)
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Presented {
            token: from_row(&row)?,
            family_expires_at: row
                .try_get("family_expires_at")
                .map_err(|e| StoreError::Corrupt(e.to_string()))?,
        }))
    }

    async fn record_grant(&self, grant: &IssuedGrant) -> Result<(), StoreError> {
        if grant.refresh.is_none() && grant.new_family.is_none() {
            return Ok(());
        }
        let mut tx = self.pool().begin().await?;
        insert_grant(&mut tx, grant).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn rotate_refresh_token(
        &self,
        hash: &[u8],
        client_id: &str,
        family: &str,
        now: i64,
        next: &IssuedGrant,
    ) -> Result<Consumed, StoreError> {
        let mut tx = self.pool().begin().await?;
        // 1. Take the family's row (a write, so concurrent rotations and
        //    replays of one family queue here); a revoked or ended family
        //    issues nothing.
        let live = sqlx::query(
            "UPDATE refresh_families SET revoked_at = revoked_at \
             WHERE family_id = $1 AND revoked_at IS NULL AND expires_at > $2",
        )
        .bind(family)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        if live.rows_affected() != 1 {
            tx.rollback().await?;
            return Ok(Consumed::Invalid);
        }
        // 2. Use the token, if it is still usable.
        let used = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND client_id = $3 AND used_at IS NULL AND revoked_at IS NULL \
             AND expires_at > $1 \
             RETURNING token_hash, family_id, client_id, user_id, scope, expires_at",
        )
        .bind(now)
        .bind(hash.to_vec())
        .bind(client_id)
        .fetch_optional(&mut *tx)
        .await?;
        if let Some(row) = used {
            // 3. Its successor, with the access token issued beside it.
            let old = from_row(&row)?;
            insert_grant(&mut tx, next).await?;
            tx.commit().await?;
            return Ok(Consumed::Fresh(old));
        }
        // 4. Not usable: a used token is a replay, which ends the family.
        let used_at: Option<Option<i64>> =
            sqlx::query_scalar("SELECT used_at FROM refresh_tokens WHERE token_hash = $1 AND family_id = $2")
                .bind(hash.to_vec())
                .bind(family)
                .fetch_optional(&mut *tx)
                .await?;
        if used_at.flatten().is_none() {
            tx.rollback().await?;
            return Ok(Consumed::Invalid);
        }
        revoke_family(&mut tx, family, now).await?;
        tx.commit().await?;
        Ok(Consumed::Replayed {
            family_id: family.to_owned(),
        })
    }

    async fn revoke_refresh_family(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
    ) -> Result<Option<RefreshToken>, StoreError> {
        let row = sqlx::query(
            "SELECT token_hash, family_id, client_id, user_id, scope, expires_at FROM refresh_tokens WHERE token_hash = $1",
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
    }

    async fn revoke_session_grants(&self, sid: &str, now: i64) -> Result<u64, StoreError> {
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
    }
}
