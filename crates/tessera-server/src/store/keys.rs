//! Signing keys, private parts sealed (see `crate::keys`).

use sqlx::Row;

use super::{conflict, Store, StoreError};

/// A signing key as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredKey {
    /// Key id (RFC 7638 thumbprint).
    pub kid: String,
    /// JWS algorithm name.
    pub alg: String,
    /// The private key (PKCS#8 or JWK) sealed with the master key.
    pub sealed_private_key: Vec<u8>,
    /// The public JWK, as published in the JWKS.
    pub public_jwk: String,
    /// When it was created (seconds since the epoch).
    pub created_at: i64,
    /// When it starts signing: published in the JWKS before then.
    pub activates_at: i64,
    /// When it stopped signing, if it has.
    pub retired_at: Option<i64>,
}

/// Signing keys.
pub trait KeyStore {
    /// Stores a new key; [`StoreError::Conflict`] if the kid exists.
    fn insert_key(&self, key: &StoredKey)
        -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// All keys, oldest first.
    fn keys(&self) -> impl std::future::Future<Output = Result<Vec<StoredKey>, StoreError>> + Send;
    /// Stores `key` and, in the same transaction, marks every other
    /// unretired key of its algorithm retired when `key` activates: a
    /// rotation is never half done.
    fn insert_successor(
        &self,
        key: &StoredKey,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
}

impl KeyStore for Store {
    async fn insert_key(&self, k: &StoredKey) -> Result<(), StoreError> {
        insert(self.pool(), k).await
    }

    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, sealed_private_key, public_jwk, created_at, retired_at, activates_at \
             FROM signing_keys ORDER BY created_at, kid",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let get = |e: sqlx::Error| StoreError::Corrupt(format!("signing_keys: {e}"));
                Ok(StoredKey {
                    kid: row.try_get("kid").map_err(get)?,
                    alg: row.try_get("alg").map_err(get)?,
                    sealed_private_key: row.try_get("sealed_private_key").map_err(get)?,
                    public_jwk: row.try_get("public_jwk").map_err(get)?,
                    created_at: row.try_get("created_at").map_err(get)?,
                    retired_at: row.try_get("retired_at").map_err(get)?,
                    activates_at: row.try_get("activates_at").map_err(get)?,
                })
            })
            .collect()
    }

    async fn insert_successor(&self, k: &StoredKey) -> Result<(), StoreError> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "UPDATE signing_keys SET retired_at = $1 WHERE alg = $2 AND kid <> $3 AND retired_at IS NULL",
        )
        .bind(k.activates_at)
        .bind(&k.alg)
        .bind(&k.kid)
        .execute(&mut *tx)
        .await?;
        insert(&mut *tx, k).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// One key row.
async fn insert<'e>(
    executor: impl sqlx::Executor<'e, Database = sqlx::Any>,
    k: &StoredKey,
) -> Result<(), StoreError> {
    sqlx::query(
            "INSERT INTO signing_keys (kid, alg, sealed_private_key, public_jwk, created_at, retired_at, activates_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&k.kid)
        .bind(&k.alg)
        .bind(k.sealed_private_key.clone())
        .bind(&k.public_jwk)
        .bind(k.created_at)
        .bind(k.retired_at)
        .bind(k.activates_at)
        .execute(executor)
        .await
        .map_err(|e| conflict(e, &format!("key {}", k.kid)))?;
    Ok(())
}
