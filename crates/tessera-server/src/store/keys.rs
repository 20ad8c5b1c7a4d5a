//! Signing keys, private parts sealed (see `crate::keys`). A revoked key
//! (`tessera keys revoke`) stays in the table for the record but is left
//! out of [`KeyStore::keys`], so it is never published and never signs.

use sqlx::Row;

use super::retry::{retried, Repeat};
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
///
/// A supertrait of [`AuditStore`](super::AuditStore): its changes are audited
/// ([`crate::audit::record`]).
pub trait KeyStore: super::AuditStore {
    /// Stores a new key; [`StoreError::Conflict`] if the kid exists.
    fn insert_key(&self, key: &StoredKey)
        -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Stores each of `keys` whose algorithm has no unretired key yet, all
    /// in one transaction that holds the keys' lock (a PostgreSQL advisory
    /// lock; SQLite has one writer at a time): of several nodes started at
    /// once on an empty database, one creates the first keys and the others
    /// find them. The keys stored.
    fn insert_first_keys(
        &self,
        keys: &[StoredKey],
        now: i64,
    ) -> impl std::future::Future<Output = Result<Vec<StoredKey>, StoreError>> + Send;
    /// All keys but the revoked ones, oldest first.
    fn keys(&self) -> impl std::future::Future<Output = Result<Vec<StoredKey>, StoreError>> + Send;
    /// What of the keys a rotation or revocation changes (each key's id,
    /// retirement, revocation and activation), without the key material: a
    /// running node polls it and reloads its keys when it differs.
    fn key_generation(&self) -> impl std::future::Future<Output = Result<KeyGeneration, StoreError>> + Send;
    /// Stores `key` and, in the same transaction, marks every other
    /// unretired key of its algorithm retired when `key` activates: a
    /// rotation is never half done.
    fn insert_successor(
        &self,
        key: &StoredKey,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The revoked keys with when each was revoked, oldest first (for the
    /// record: `tessera keys list`).
    fn revoked_keys(
        &self,
    ) -> impl std::future::Future<Output = Result<Vec<(StoredKey, i64)>, StoreError>> + Send;
    /// Revokes `key` at `now`, in one transaction: marks it revoked (and
    /// retired, if it was not), records [`super::key_revocation_jti`] in
    /// `revoked_tokens` until `marker_expires_at` so introspection refuses
    /// what it signed at once, and
    /// - with a `replacement` (which must activate at `now`): stores it and
    ///   retires every other key of its algorithm at `now`, as
    ///   [`KeyStore::insert_successor`] does;
    /// - when `key` had not yet activated: cancels the rotation it belonged
    ///   to, so the keys it was to replace sign on.
    ///
    /// `false`, with nothing changed, when `key` is unknown or was revoked
    /// already.
    fn revoke_key(
        &self,
        key: &StoredKey,
        now: i64,
        marker_expires_at: i64,
        replacement: Option<&StoredKey>,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

/// The state of every stored key, as [`KeyStore::key_generation`] reads it:
/// equal generations load equal key rings (at the same time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyGeneration(Vec<(String, Option<i64>, Option<i64>, i64)>);

impl KeyGeneration {
    /// Whether a key activates after `after` and no later than `until`:
    /// a ring loaded at `after` signs with the wrong key from then on.
    pub fn activates_between(&self, after: i64, until: i64) -> bool {
        self.0
            .iter()
            .any(|(_, _, _, activates_at)| after < *activates_at && *activates_at <= until)
    }
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<StoredKey, StoreError> {
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
}

impl KeyStore for Store {
    async fn insert_key(&self, k: &StoredKey) -> Result<(), StoreError> {
        retried!("signing key", Repeat::Once, async {
            insert(self.pool(), k).await
        })
    }

    async fn insert_first_keys(&self, keys: &[StoredKey], now: i64) -> Result<Vec<StoredKey>, StoreError> {
        retried!("first signing keys", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            match self.backend() {
                // Held until the transaction ends; the number is Tessera's own.
                super::Backend::Postgres => {
                    sqlx::query("SELECT pg_advisory_xact_lock(741516630001)")
                        .execute(&mut *tx)
                        .await?;
                }
                // Take the write lock now, not at the first insert, so two
                // starting processes do not both read "no key".
                super::Backend::Sqlite => {
                    sqlx::query("UPDATE signing_keys SET kid = kid WHERE 0 = 1")
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let mut stored = Vec::new();
            for key in keys {
                let exists = sqlx::query(
                    "SELECT 1 FROM signing_keys WHERE alg = $1 AND revoked_at IS NULL                  AND (retired_at IS NULL OR retired_at > $2) LIMIT 1",
                )
                .bind(&key.alg)
                .bind(now)
                .fetch_optional(&mut *tx)
                .await?
                .is_some();
                if !exists {
                    insert(&mut *tx, key).await?;
                    stored.push(key.clone());
                }
            }
            tx.commit().await?;
            Ok(stored)
        })
    }

    async fn key_generation(&self) -> Result<KeyGeneration, StoreError> {
        let rows =
            sqlx::query("SELECT kid, retired_at, revoked_at, activates_at FROM signing_keys ORDER BY kid")
                .fetch_all(self.pool())
                .await?;
        let get = |e: sqlx::Error| StoreError::Corrupt(format!("signing_keys: {e}"));
        let keys = rows
            .iter()
            .map(|r| {
                Ok((
                    r.try_get("kid").map_err(get)?,
                    r.try_get("retired_at").map_err(get)?,
                    r.try_get("revoked_at").map_err(get)?,
                    r.try_get("activates_at").map_err(get)?,
                ))
            })
            .collect::<Result<_, StoreError>>()?;
        Ok(KeyGeneration(keys))
    }

    async fn keys(&self) -> Result<Vec<StoredKey>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, sealed_private_key, public_jwk, created_at, retired_at, activates_at \
             FROM signing_keys WHERE revoked_at IS NULL ORDER BY created_at, kid",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn revoked_keys(&self) -> Result<Vec<(StoredKey, i64)>, StoreError> {
        let rows = sqlx::query(
            "SELECT kid, alg, sealed_private_key, public_jwk, created_at, retired_at, activates_at, revoked_at \
             FROM signing_keys WHERE revoked_at IS NOT NULL ORDER BY created_at, kid",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|row| {
                let revoked_at = row
                    .try_get("revoked_at")
                    .map_err(|e| StoreError::Corrupt(format!("signing_keys: {e}")))?;
                Ok((from_row(row)?, revoked_at))
            })
            .collect()
    }

    async fn revoke_key(
        &self,
        key: &StoredKey,
        now: i64,
        marker_expires_at: i64,
        replacement: Option<&StoredKey>,
    ) -> Result<bool, StoreError> {
        retried!("signing key revocation", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            // Compare and set: of two concurrent revocations, one does the work.
            let done = sqlx::query(
                "UPDATE signing_keys SET revoked_at = $1, \
                 retired_at = CASE WHEN retired_at IS NULL OR retired_at > $1 THEN $1 ELSE retired_at END \
                 WHERE kid = $2 AND revoked_at IS NULL",
            )
            .bind(now)
            .bind(&key.kid)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() == 0 {
                tx.rollback().await?;
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
            )
            .bind(super::key_revocation_jti(&key.kid))
            .bind(marker_expires_at)
            .execute(&mut *tx)
            .await?;
            if key.activates_at > now {
                // It was to replace the keys that retire when it activates.
                sqlx::query(
                    "UPDATE signing_keys SET retired_at = NULL \
                     WHERE alg = $1 AND kid <> $2 AND retired_at = $3 AND revoked_at IS NULL",
                )
                .bind(&key.alg)
                .bind(&key.kid)
                .bind(key.activates_at)
                .execute(&mut *tx)
                .await?;
            }
            if let Some(new) = replacement {
                sqlx::query(
                    "UPDATE signing_keys SET retired_at = $1 \
                     WHERE alg = $2 AND kid <> $3 AND (retired_at IS NULL OR retired_at > $1)",
                )
                .bind(now)
                .bind(&new.alg)
                .bind(&new.kid)
                .execute(&mut *tx)
                .await?;
                insert(&mut *tx, new).await?;
            }
            tx.commit().await?;
            Ok(true)
        })
    }

    async fn insert_successor(&self, k: &StoredKey) -> Result<(), StoreError> {
        retried!("successor signing key", Repeat::Once, async {
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
        })
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
