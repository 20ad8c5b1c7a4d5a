//! What introspection ([RFC 7662]) reads beyond revoked `jti`s: the state
//! of a refresh token, and the marker that a signing key was revoked.
//!
//! [RFC 7662]: https://www.rfc-editor.org/rfc/rfc7662

use sqlx::Row;

use super::{Store, StoreError};
use crate::domain::Scope;

/// The `revoked_tokens` entry that marks every token signed by the key
/// `kid` as revoked ([`crate::keys::revoke`] writes it). It shares the table
/// and the batched check with revoked `jti`s, so introspection on every
/// node refuses such a token from the next request on, before nodes reload
/// their keys. A `jti` this server issues never contains `:`.
pub fn key_revocation_jti(kid: &str) -> String {
    format!("kid:{kid}")
}

/// A refresh token that may still be used, as introspection reports it
/// ([RFC 7662 §2.2]).
///
/// [RFC 7662 §2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshTokenStatus {
    /// The client it was issued to.
    pub client_id: String,
    /// The user it was issued for.
    pub user_id: String,
    /// Granted scope.
    pub scope: Scope,
    /// Expiry (seconds since the epoch): the token's own, or its family's
    /// absolute lifetime when that ends first.
    pub expires_at: i64,
}

/// Reads for introspection.
pub trait IntrospectionStore {
    /// The refresh token with this SHA-256 hash if, at `now`, it exists, is
    /// not used (rotated), not revoked (nor its family), and not expired
    /// (nor its family); `None` otherwise. Reads only: introspecting a
    /// refresh token never uses it.
    fn refresh_token_status(
        &self,
        hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<RefreshTokenStatus>, StoreError>> + Send;
}

impl IntrospectionStore for Store {
    async fn refresh_token_status(
        &self,
        hash: &[u8],
        now: i64,
    ) -> Result<Option<RefreshTokenStatus>, StoreError> {
        // The family row (one per grant) may carry the revocation and an
        // absolute expiry; a token without one is judged on its own row.
        let row = sqlx::query(
            "SELECT t.client_id, t.user_id, t.scope, t.expires_at, f.expires_at AS family_expires_at \
             FROM refresh_tokens t LEFT JOIN refresh_families f ON f.family_id = t.family_id \
             WHERE t.token_hash = $1 AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $2 \
             AND f.revoked_at IS NULL AND (f.expires_at IS NULL OR f.expires_at > $2)",
        )
        .bind(hash.to_vec())
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let get = |e: sqlx::Error| StoreError::Corrupt(format!("refresh_tokens: {e}"));
        let own: i64 = row.try_get("expires_at").map_err(get)?;
        let family: Option<i64> = row.try_get("family_expires_at").map_err(get)?;
        Ok(Some(RefreshTokenStatus {
            client_id: row.try_get("client_id").map_err(get)?,
            user_id: row.try_get("user_id").map_err(get)?,
            scope: Scope::from_stored(&row.try_get::<String, _>("scope").map_err(get)?),
            expires_at: family.map_or(own, |f| f.min(own)),
        }))
    }
}
