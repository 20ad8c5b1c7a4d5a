//! Authorization codes (RFC 6749 §4.1.2): stored as SHA-256 hashes, bound
//! to everything the token request must match, redeemed once.

use sqlx::Row;

use super::grants;
use super::refresh_tokens::{self, IssuedGrant};
use super::retry::{retried, Repeat};
use super::{Store, StoreError};
use crate::domain::{Amr, Resources, Scope};

/// A code as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthorizationCode {
    /// SHA-256 of the code.
    pub code_hash: Vec<u8>,
    /// The client it was issued to.
    pub client_id: String,
    /// The user who signed in.
    pub user_id: String,
    /// The `redirect_uri` of the authorization request (RFC 6749 §4.1.3).
    pub redirect_uri: String,
    /// The granted scope.
    pub scope: Scope,
    /// The `nonce` for the ID token (OpenID Connect Core §3.1.2.1).
    pub nonce: Option<String>,
    /// The PKCE `code_challenge` (S256), if one was sent (RFC 7636 §4.3).
    pub code_challenge: Option<String>,
    /// When the user authenticated (the ID token's `auth_time`).
    pub auth_time: i64,
    /// The SSO session (the ID token's `sid`).
    pub sid: String,
    /// When it stops being redeemable.
    pub expires_at: i64,
    /// How the user signed in (RFC 8176 `amr` values, the ID token's `amr`).
    pub amr: Amr,
    /// The resources (RFC 8707) the code was given for.
    pub resources: Resources,
    /// The DPoP key the code is bound to (`dpop_jkt`, RFC 9449 §10): its
    /// redemption must prove that key.
    pub dpop_jkt: Option<String>,
}

/// What redeeming a code found.
#[derive(Debug, PartialEq, Eq)]
pub enum Redeemed {
    /// First use: the code, now marked used.
    Fresh(Box<AuthorizationCode>),
    /// A second use. What the first use issued has just been revoked
    /// (RFC 6749 §4.1.2: "SHOULD revoke ... all tokens previously issued
    /// based on that authorization code").
    Replayed,
    /// No such code.
    Unknown,
}

/// Authorization codes.
pub trait CodeStore {
    /// Stores a new code.
    fn insert_code(
        &self,
        code: &AuthorizationCode,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The code with this hash, used or not, so the token request can be
    /// checked against it before anything is consumed (RFC 6749 §4.1.3).
    fn code(
        &self,
        hash: &[u8],
    ) -> impl std::future::Future<Output = Result<Option<AuthorizationCode>, StoreError>> + Send;
    /// Marks the code used and stores what it issues (`grant`: the access
    /// token's `jti`, the refresh family and token), in one transaction, so
    /// two concurrent redemptions cannot both succeed and a replay always
    /// sees what the first redemption issued, and revokes it. The same call
    /// repeated (same `grant`, after a lost connection) finds its own `jti`
    /// recorded and answers the same, so it is safe to repeat.
    fn redeem_code(
        &self,
        hash: &[u8],
        now: i64,
        grant: &IssuedGrant,
    ) -> impl std::future::Future<Output = Result<Redeemed, StoreError>> + Send;
}

const COLUMNS: &str =
    "client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time, sid, expires_at, amr, resources, dpop_jkt";

fn from_row(hash: &[u8], row: &sqlx::any::AnyRow) -> Result<AuthorizationCode, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("authorization_codes: {e}"));
    Ok(AuthorizationCode {
        code_hash: hash.to_vec(),
        client_id: row.try_get("client_id").map_err(get)?,
        user_id: row.try_get("user_id").map_err(get)?,
        redirect_uri: row.try_get("redirect_uri").map_err(get)?,
        scope: Scope::from_stored(&row.try_get::<String, _>("scope").map_err(get)?),
        nonce: row.try_get("nonce").map_err(get)?,
        code_challenge: row.try_get("code_challenge").map_err(get)?,
        auth_time: row.try_get("auth_time").map_err(get)?,
        sid: row.try_get("sid").map_err(get)?,
        expires_at: row.try_get("expires_at").map_err(get)?,
        amr: Amr::from_stored(&row.try_get::<String, _>("amr").map_err(get)?)
            .map_err(|e| StoreError::Corrupt(format!("authorization_codes: {e}")))?,
        resources: Resources::from_stored(&row.try_get::<String, _>("resources").map_err(get)?),
        dpop_jkt: row.try_get("dpop_jkt").map_err(get)?,
    })
}

impl CodeStore for Store {
    async fn insert_code(&self, c: &AuthorizationCode) -> Result<(), StoreError> {
        retried!("authorization code", Repeat::Once, async {
            sqlx::query(
                "INSERT INTO authorization_codes (code_hash, client_id, user_id, redirect_uri, scope, nonce, \
                 code_challenge, auth_time, sid, expires_at, amr, resources, dpop_jkt) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            )
            .bind(c.code_hash.clone())
            .bind(&c.client_id)
            .bind(&c.user_id)
            .bind(&c.redirect_uri)
            .bind(c.scope.as_str())
            .bind(c.nonce.clone())
            .bind(c.code_challenge.clone())
            .bind(c.auth_time)
            .bind(&c.sid)
            .bind(c.expires_at)
            .bind(c.amr.to_stored())
            .bind(c.resources.to_stored())
            .bind(c.dpop_jkt.clone())
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn code(&self, hash: &[u8]) -> Result<Option<AuthorizationCode>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM authorization_codes WHERE code_hash = $1"
        )))
        .bind(hash.to_vec())
        .fetch_optional(self.pool())
        .await?;
        row.map(|row| from_row(hash, &row)).transpose()
    }

    async fn redeem_code(&self, hash: &[u8], now: i64, grant: &IssuedGrant) -> Result<Redeemed, StoreError> {
        retried!("authorization code redemption", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let family = grant.new_family.as_ref().map(|f| f.family_id.clone());
            let row = sqlx::query(sqlx::AssertSqlSafe(format!(
                "UPDATE authorization_codes SET used_at = $1, access_jti = $2, access_expires_at = $3, \
                 family_id = $4 WHERE code_hash = $5 AND used_at IS NULL RETURNING {COLUMNS}"
            )))
            .bind(now)
            .bind(&grant.access_jti)
            .bind(grant.access_expires_at)
            .bind(family)
            .bind(hash.to_vec())
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                let code = from_row(hash, &row)?;
                refresh_tokens::insert_grant(&mut tx, grant).await?;
                tx.commit().await?;
                return Ok(Redeemed::Fresh(Box::new(code)));
            }
            let used = sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT access_jti, access_expires_at, family_id, {COLUMNS} FROM authorization_codes \
                 WHERE code_hash = $1"
            )))
            .bind(hash.to_vec())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(used) = used else {
                return Ok(Redeemed::Unknown);
            };
            let get = |e: sqlx::Error| StoreError::Corrupt(format!("authorization_codes: {e}"));
            let jti: Option<String> = used.try_get("access_jti").map_err(get)?;
            let jti_expires: Option<i64> = used.try_get("access_expires_at").map_err(get)?;
            let family: Option<String> = used.try_get("family_id").map_err(get)?;
            // The access token this redemption drew is the one recorded: an
            // earlier try of this same redemption committed and its answer
            // was lost (see `super::retry`), so this is that success again.
            // A replay draws another `jti`.
            if jti.as_deref() == Some(grant.access_jti.as_str()) {
                let code = from_row(hash, &used)?;
                tx.rollback().await?;
                return Ok(Redeemed::Fresh(Box::new(code)));
            }
            if let (Some(jti), Some(expires_at)) = (jti, jti_expires) {
                sqlx::query(
                    "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
                )
                .bind(jti)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(family) = family {
                grants::revoke_family(&mut tx, &family, now).await?;
            }
            tx.commit().await?;
            Ok(Redeemed::Replayed)
        })
    }
}
