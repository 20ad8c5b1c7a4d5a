//! The server's signing keys: created on first start, private parts sealed
//! at rest with the master key, published in the JWKS.
//!
//! An RS256 key always exists (every relying party supports it); the
//! access-token algorithm (`token_alg` in the config) gets its own key. The
//! newest unretired key of that algorithm signs; every key's public half is
//! published.

pub mod seal;

use std::sync::Arc;

use tessera_jwt::{Algorithm, Jwks, KeySet, Signer, SigningKey, VerifyingKey};

use crate::store::{KeyStore, StoreError, StoredKey};
pub use seal::{MasterKey, SealError};

/// Why the key ring could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyRingError {
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A sealed key could not be opened.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// A stored key is unusable.
    #[error("stored key {kid}: {source}")]
    Key {
        /// Which key.
        kid: String,
        /// Why.
        source: tessera_jwt::KeyError,
    },
    /// The token algorithm cannot be used for server keys.
    #[error(
        "token algorithm {0} is not supported for server keys (use RS256, PS256, ES256, ES384 or EdDSA)"
    )]
    UnsupportedAlgorithm(Algorithm),
}

/// The loaded keys: who signs, and what is published.
#[derive(Debug)]
pub struct KeyRing {
    /// Signs access tokens (`typ: at+jwt`).
    pub access_tokens: Signer,
    /// The public keys, for introspection and the JWKS.
    pub verify: KeySet,
    /// The JWKS document, serialized once.
    pub jwks_json: Arc<str>,
}

fn key_error(kid: &str) -> impl FnOnce(tessera_jwt::KeyError) -> KeyRingError + '_ {
    move |source| KeyRingError::Key {
        kid: kid.to_owned(),
        source,
    }
}

/// Generates a key for `alg`, seals it and stores it.
pub async fn create_key<S: KeyStore>(
    store: &S,
    master: &MasterKey,
    alg: Algorithm,
    now: i64,
) -> Result<StoredKey, KeyRingError> {
    let key = SigningKey::generate(alg).map_err(key_error("new"))?;
    let der = key.to_pkcs8_der().map_err(key_error(key.kid()))?;
    let public = key.public_jwk().map_err(key_error(key.kid()))?;
    let stored = StoredKey {
        kid: key.kid().to_owned(),
        alg: alg.name().to_owned(),
        sealed_private_key: master.seal(key.kid(), &der)?,
        public_jwk: serde_json::to_string(&public).unwrap_or_default(),
        created_at: now,
        retired_at: None,
    };
    store.insert_key(&stored).await?;
    tracing::info!(target: "audit", kid = %stored.kid, alg = %stored.alg, "signing key created");
    Ok(stored)
}

/// Loads the keys, creating the missing ones (first start).
pub async fn load_or_create<S: KeyStore>(
    store: &S,
    master: &MasterKey,
    token_alg: Algorithm,
    now: i64,
) -> Result<KeyRing, KeyRingError> {
    if token_alg.is_symmetric() {
        return Err(KeyRingError::UnsupportedAlgorithm(token_alg));
    }
    let mut stored = store.keys().await?;
    for alg in [Algorithm::RS256, token_alg] {
        if !stored
            .iter()
            .any(|k| k.alg == alg.name() && k.retired_at.is_none())
        {
            stored.push(create_key(store, master, alg, now).await?);
        }
    }
    // The store's order, so the JWKS reads the same after a restart.
    stored.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
    let current = stored
        .iter()
        .filter(|k| k.alg == token_alg.name() && k.retired_at.is_none())
        .max_by_key(|k| (k.created_at, k.kid.clone()))
        .ok_or(KeyRingError::UnsupportedAlgorithm(token_alg))?;
    let der = master.open(&current.kid, &current.sealed_private_key)?;
    let signing = SigningKey::from_pkcs8_der(&der, Some(token_alg))
        .map_err(key_error(&current.kid))?
        .with_kid(current.kid.clone());

    let mut public = Vec::with_capacity(stored.len());
    for key in &stored {
        let jwk = serde_json::from_str(&key.public_jwk).map_err(|_| KeyRingError::Key {
            kid: key.kid.clone(),
            source: tessera_jwt::KeyError::Malformed("stored public JWK"),
        })?;
        public.push(VerifyingKey::from_jwk(&jwk).map_err(key_error(&key.kid))?);
    }
    let verify = KeySet::new(public).map_err(key_error("set"))?;
    let jwks: Jwks = verify.to_public_jwks();
    Ok(KeyRing {
        access_tokens: Signer::new(signing, Some("at+jwt")),
        jwks_json: Arc::from(serde_json::to_string(&jwks).unwrap_or_default()),
        verify,
    })
}
