//! Refresh tokens: stored as SHA-256 hashes, single use, rotated, with
//! reuse detection ([RFC 9700 §4.14.2]).
//!
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

use sqlx::Row;

use super::{Store, StoreError};

/// A refresh token as stored (the token itself is never stored).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// SHA-256 of the token.
    pub token_hash: Vec<u8>,
    /// The rotation family: every token descended from one login.
    pub family_id: String,
    /// The client it was issued to.
    pub client_id: String,
    /// The user it was issued for.
    pub user_id: String,
    /// Granted scope.
    pub scope: String,
    /// Expiry.
    pub expires_at: i64,
}

/// What presenting a refresh token did.
#[derive(Debug, PartialEq, Eq)]
pub enum Consumed {
    /// It was valid and is now used: the caller may rotate.
    Fresh(RefreshToken),
    /// It had been used already: a replay. Its family is now revoked.
    Replayed {
        /// The revoked family.
        family_id: String,
    },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Refresh tokens.
pub trait RefreshTokenStore {
    /// Stores a new refresh token.
    fn insert_refresh_token(
        &self,
        token: &RefreshToken,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Uses a token issued to `client_id`: one conditional update decides,
    /// so two concurrent requests cannot both succeed, and another client's
    /// token is left untouched. A replay revokes the whole family.
    fn consume_refresh_token(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Consumed, StoreError>> + Send;
    /// Revokes the family of the token with this hash if it belongs to
    /// `client_id` (logout, RFC 7009); the token's row, found or not.
    fn revoke_refresh_family(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<RefreshToken>, StoreError>> + Send;
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<RefreshToken, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("refresh_tokens: {e}"));
    Ok(RefreshToken {
        token_hash: row.try_get("token_hash").map_err(get)?,
        family_id: row.try_get("family_id").map_err(get)?,
        client_id: row.try_get("client_id").map_err(get)?,
        user_id: row.try_get("user_id").map_err(get)?,
        scope: row.try_get("scope").map_err(get)?,
        expires_at: row.try_get("expires_at").map_err(get)?,
    })
}

impl RefreshTokenStore for Store {
    async fn insert_refresh_token(&self, t: &RefreshToken) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, family_id, client_id, user_id, scope, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(t.token_hash.clone())
        .bind(&t.family_id)
        .bind(&t.client_id)
        .bind(&t.user_id)
        .bind(&t.scope)
        .bind(t.expires_at)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    async fn consume_refresh_token(
        &self,
        hash: &[u8],
        client_id: &str,
        now: i64,
    ) -> Result<Consumed, StoreError> {
        let used = sqlx::query(
            "UPDATE refresh_tokens SET used_at = $1 \
             WHERE token_hash = $2 AND client_id = $3 AND used_at IS NULL AND revoked_at IS NULL \
             AND expires_at > $1 \
             RETURNING token_hash, family_id, client_id, user_id, scope, expires_at",
        )
        .bind(now)
        .bind(hash.to_vec())
        .bind(client_id)
        .fetch_optional(self.pool())
        .await?;
        if let Some(row) = used {
            return Ok(Consumed::Fresh(from_row(&row)?));
        }
        // Not usable: find out whether it is a replay of a used token
        // (another client's token is simply invalid here).
        let row = sqlx::query(
            "SELECT family_id, used_at FROM refresh_tokens WHERE token_hash = $1 AND client_id = $2",
        )
        .bind(hash.to_vec())
        .bind(client_id)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else {
            return Ok(Consumed::Invalid);
        };
        let used_at: Option<i64> = row
            .try_get("used_at")
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        if used_at.is_none() {
            return Ok(Consumed::Invalid);
        }
        let family_id: String = row
            .try_get("family_id")
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(&family_id)
            .execute(self.pool())
            .await?;
        Ok(Consumed::Replayed { family_id })
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
        sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
            .bind(now)
            .bind(&token.family_id)
            .execute(self.pool())
            .await?;
        Ok(Some(token))
    }
}
