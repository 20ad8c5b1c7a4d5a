//! The server's signing keys: created on first start, private parts sealed
//! at rest with the master key, published in the JWKS.
//!
//! An RS256 key always exists (every relying party supports it); the
//! access-token algorithm (`token_alg` in the config) gets its own key.
//!
//! Rotation (`tessera keys rotate`) adds a key that is published at once
//! but signs only from `activates_at`, [`PUBLISH_AHEAD`] later: longer than
//! the JWKS may be cached (300 s) plus the time nodes take to see new keys
//! ([`CHECK_EVERY`]), so no verifier meets a token signed by a key it has
//! not seen; every node signs with it within [`CHECK_EVERY`] of
//! `activates_at`. The key it replaces signs until then and stays published
//! for [`RETIRED_PUBLISHED_FOR`] after, longer than any token it signed
//! lives.
//!
//! Revocation (`tessera keys revoke KID`, see [`revoke`]) is for a key that
//! leaked: it is an emergency, so nothing waits. Introspection refuses what
//! it signed from the next request on (on every node); every node stops
//! publishing it and signing with it within [`CHECK_EVERY`]; and if it was
//! signing, a new key of its algorithm signs in its place, without
//! [`PUBLISH_AHEAD`]: relying parties that cached the JWKS meet an unknown
//! `kid` until they fetch it again.

pub mod seal;

use crate::audit::{self, Actor, AuditKind, Event};
use std::sync::Arc;

use tessera_jwt::{Algorithm, Jwks, KeySet, Signer, SigningKey, VerifyingKey};

use crate::store::{KeyStore, StoreError, StoredKey};
pub use seal::{MasterKey, SealError};

/// The algorithm of ID tokens: RS256, the one every relying party supports
/// ([OpenID Connect Core §15.1]), whatever `token_alg` is. Discovery's
/// `id_token_signing_alg_values_supported` says it.
///
/// [OpenID Connect Core §15.1]: https://openid.net/specs/openid-connect-core-1_0.html#ServerMTI
pub const ID_TOKEN_ALG: Algorithm = Algorithm::RS256;

/// How far ahead of signing a rotated key is published, in seconds.
pub const PUBLISH_AHEAD: i64 = 360;
/// When a first key signs from: the epoch, that is at once on every node.
///
/// A first key (the first start, or a key for an algorithm that had none)
/// replaces no key, so unlike a rotated key it has nothing to wait for. Its
/// activation must not be the creating node's clock: nodes starting together
/// on an empty database take the keys that the first of them stored, and a
/// node whose clock runs a few seconds behind that one's would find no key
/// that signs at its own `now`, and could not start (issue 17, item 11).
pub const FIRST_KEYS_ACTIVATE_AT: i64 = 0;
/// How long a retired key stays in the JWKS, in seconds (tokens live at
/// most [`crate::config::MAX_ACCESS_TOKEN_TTL`]).
pub const RETIRED_PUBLISHED_FOR: i64 = 24 * 3600;
/// How often a running node checks whether the stored keys changed (a
/// rotation or revocation by the CLI or another node) or a rotated key's
/// activation time has passed, and reloads them when so: the bound on how
/// long a node publishes a revoked key, misses a new one, or signs with a
/// retired one.
pub const CHECK_EVERY: std::time::Duration = std::time::Duration::from_secs(1);
/// How often a running node reloads its keys whatever the check says (a
/// safety net: the check alone keeps them current).
pub const RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(30);
/// How long introspection keeps refusing tokens signed by a revoked key, in
/// seconds (ten years). Far longer than any token lives, so even a node that
/// could not reload its keys, and signs with the revoked key still, is
/// covered.
pub const REVOKED_KEY_REFUSED_FOR: i64 = 10 * 365 * 24 * 3600;

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
    /// Keys of `alg` are stored, but none signs at `now`: they activate
    /// later (this host's clock is behind the one that made them), or the
    /// store holds none that is not retired.
    #[error(
        "no signing key is active yet for {alg} at {now} (unix time){}",
        match .next { Some(t) => format!(": the next activates at {t}, {} s later; is this host's clock behind the other nodes'?", t - now), None => String::new() }
    )]
    NoActiveKey {
        /// The algorithm wanted.
        alg: Algorithm,
        /// This node's clock.
        now: i64,
        /// When the earliest key of `alg` still to come activates.
        next: Option<i64>,
    },
    /// The token algorithm cannot be used for server keys.
    #[error(
        "token algorithm {0} is not supported for server keys (use RS256, PS256, ES256, ES384 or EdDSA)"
    )]
    UnsupportedAlgorithm(Algorithm),
    /// No stored key has this `kid`.
    #[error("no signing key {0:?} (see `tessera keys list`)")]
    UnknownKey(String),
    /// The key was revoked already.
    #[error("signing key {0:?} was revoked already")]
    AlreadyRevoked(String),
    /// A public key or the key set could not be written as JSON: stored
    /// or served empty, it would fail later and elsewhere (a key that
    /// cannot be loaded, a JWKS no relying party can read), so it stops
    /// here.
    #[error("the {what} could not be written as JSON: {source}")]
    Encode {
        /// What was being written.
        what: &'static str,
        /// Why.
        source: serde_json::Error,
    },
}

/// `value` as JSON, or [`KeyRingError::Encode`] naming `what`.
fn to_json<T: serde::Serialize + ?Sized>(value: &T, what: &'static str) -> Result<String, KeyRingError> {
    serde_json::to_string(value).map_err(|source| KeyRingError::Encode { what, source })
}

/// The loaded keys: who signs, and what is published.
#[derive(Debug)]
pub struct KeyRing {
    /// Signs access tokens (`typ: at+jwt`).
    pub access_tokens: Signer,
    /// Signs ID tokens (RS256, `typ: JWT`).
    pub id_tokens: Signer,
    /// The public keys, for introspection and the JWKS.
    pub verify: KeySet,
    /// The JWKS document, serialized once.
    pub jwks_json: Arc<str>,
    /// Access tokens already verified with `verify`: dropped with these
    /// keys, so no entry outlives the key that verified it.
    pub verified: crate::oauth::verified_tokens::VerifiedTokens,
}

fn key_error(kid: &str) -> impl FnOnce(tessera_jwt::KeyError) -> KeyRingError + '_ {
    move |source| KeyRingError::Key {
        kid: kid.to_owned(),
        source,
    }
}

/// Generates a key for `alg` that signs from `activates_at`, seals it and
/// stores it.
pub async fn create_key<S: KeyStore>(
    store: &S,
    master: &MasterKey,
    alg: Algorithm,
    now: i64,
    activates_at: i64,
) -> Result<StoredKey, KeyRingError> {
    let stored = new_key(master, alg, now, activates_at)?;
    store.insert_key(&stored).await?;
    let event = Event::new(AuditKind::KeyCreated, now, Actor::Server, "signing key created")
        .with("kid", stored.kid.as_str())
        .with("alg", stored.alg.as_str());
    audit::record(store, event).await;
    Ok(stored)
}

/// Generates a key and seals its private part, ready to store.
fn new_key(
    master: &MasterKey,
    alg: Algorithm,
    now: i64,
    activates_at: i64,
) -> Result<StoredKey, KeyRingError> {
    let key = SigningKey::generate(alg).map_err(key_error("new"))?;
    let der = key.to_pkcs8_der().map_err(key_error(key.kid()))?;
    let public = key.public_jwk().map_err(key_error(key.kid()))?;
    let stored = StoredKey {
        kid: key.kid().to_owned(),
        alg: alg.name().to_owned(),
        sealed_private_key: master.seal(key.kid(), &der)?,
        public_jwk: to_json(&public, "public JWK")?,
        created_at: now,
        retired_at: None,
        activates_at,
    };
    Ok(stored)
}

/// The key of `alg` that signs at `now`: the latest activated.
fn current_signing_key(
    stored: &[StoredKey],
    master: &MasterKey,
    alg: Algorithm,
    now: i64,
) -> Result<SigningKey, KeyRingError> {
    let current = stored
        .iter()
        .filter(|k| k.alg == alg.name() && signs_at(k, now))
        .max_by_key(|k| (k.activates_at, k.created_at, k.kid.clone()))
        .ok_or_else(|| KeyRingError::NoActiveKey {
            alg,
            now,
            next: stored
                .iter()
                .filter(|k| k.alg == alg.name() && k.activates_at > now)
                .map(|k| k.activates_at)
                .min(),
        })?;
    let der = master.open(&current.kid, &current.sealed_private_key)?;
    Ok(SigningKey::from_pkcs8_der(&der, Some(alg))
        .map_err(key_error(&current.kid))?
        .with_kid(current.kid.clone()))
}

/// Whether a key signs at `now`.
fn signs_at(k: &StoredKey, now: i64) -> bool {
    k.activates_at <= now && k.retired_at.is_none_or(|r| r > now)
}

/// Loads the keys, creating the missing ones (first start).
pub async fn load_or_create<S: KeyStore>(
    store: &S,
    master: &MasterKey,
    token_alg: Algorithm,
    now: i64,
) -> Result<KeyRing, KeyRingError> {
    load(store, master, token_alg, now, true).await
}

/// Rotates the key of `alg`: the new key is published now and signs from
/// `now + PUBLISH_AHEAD`, when the current one retires.
pub async fn rotate<S: KeyStore>(
    store: &S,
    master: &MasterKey,
    alg: Algorithm,
    now: i64,
) -> Result<StoredKey, KeyRingError> {
    if alg.is_symmetric() {
        return Err(KeyRingError::UnsupportedAlgorithm(alg));
    }
    let key = new_key(master, alg, now, now + PUBLISH_AHEAD)?;
    store.insert_successor(&key).await?;
    tracing::info!(target: "audit", kid = %key.kid, alg = %key.alg, activates_at = key.activates_at, "signing key rotated");
    Ok(key)
}

/// What [`revoke`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    /// The revoked key, as it was.
    pub key: StoredKey,
    /// The key that signs in its place from now, when it was signing.
    pub replacement: Option<StoredKey>,
    /// It was a rotated key not yet signing: the keys it was to replace
    /// sign on (run `tessera keys rotate` again for a new successor).
    pub rotation_cancelled: bool,
}

/// Revokes the key `kid` at `now`, for a key that leaked. In one store
/// transaction ([`KeyStore::revoke_key`]):
///
/// 1. The key is marked revoked: [`load`] leaves it out, so it is no longer
///    published in the JWKS nor in the set introspection verifies with, and
///    never signs again. Running nodes check the keys every
///    [`CHECK_EVERY`] and reload them when they changed: the JWKS of every
///    node drops it within that bound.
/// 2. Its `kid` is recorded among revoked tokens
///    ([`crate::store::key_revocation_jti`]) for [`REVOKED_KEY_REFUSED_FOR`]:
///    introspection (and so userinfo and `/api/v1/me`) on every node
///    refuses what it signed from the next request on, before any reload.
/// 3. If it was the key of its algorithm that signs now, a new key of that
///    algorithm is created and signs at once: no [`PUBLISH_AHEAD`] wait, it
///    is an emergency. Nodes pick it up at their next check; until then
///    (at most [`CHECK_EVERY`]) they may still sign with the revoked key
///    (tokens that introspection refuses), and a relying party that cached
///    the JWKS meets an unknown `kid` until it fetches the JWKS again.
pub async fn revoke<S: KeyStore>(
    store: &S,
    master: &MasterKey,
    kid: &str,
    now: i64,
) -> Result<Revocation, KeyRingError> {
    let stored = store.keys().await?;
    let Some(key) = stored.iter().find(|k| k.kid == kid).cloned() else {
        if store.revoked_keys().await?.iter().any(|(k, _)| k.kid == kid) {
            return Err(KeyRingError::AlreadyRevoked(kid.to_owned()));
        }
        return Err(KeyRingError::UnknownKey(kid.to_owned()));
    };
    let current = stored
        .iter()
        .filter(|k| k.alg == key.alg && signs_at(k, now))
        .max_by_key(|k| (k.activates_at, k.created_at, k.kid.clone()));
    let replacement = if current.is_some_and(|c| c.kid == key.kid) {
        let alg = Algorithm::from_name(&key.alg).ok_or_else(|| KeyRingError::Key {
            kid: key.kid.clone(),
            source: tessera_jwt::KeyError::UnsupportedAlgorithm(key.alg.clone()),
        })?;
        Some(new_key(master, alg, now, now)?)
    } else {
        None
    };
    let marker_expires_at = now.saturating_add(REVOKED_KEY_REFUSED_FOR);
    if !store
        .revoke_key(&key, now, marker_expires_at, replacement.as_ref())
        .await?
    {
        // Revoked by someone else meanwhile.
        return Err(KeyRingError::AlreadyRevoked(kid.to_owned()));
    }
    let rotation_cancelled = key.activates_at > now;
    tracing::warn!(target: "audit", kid = %key.kid, alg = %key.alg, "signing key revoked");
    if let Some(new) = &replacement {
        tracing::info!(target: "audit", kid = %new.kid, alg = %new.alg, revoked = %key.kid, "replacement signing key created, signing now");
    }
    Ok(Revocation {
        key,
        replacement,
        rotation_cancelled,
    })
}

/// Loads the keys at `now`; with `create_missing`, creates a key for an
/// algorithm that has none current or upcoming. Revoked keys are left out
/// (the store does not return them).
pub async fn load<S: KeyStore>(
    store: &S,
    master: &MasterKey,
    token_alg: Algorithm,
    now: i64,
    create_missing: bool,
) -> Result<KeyRing, KeyRingError> {
    if token_alg.is_symmetric() {
        return Err(KeyRingError::UnsupportedAlgorithm(token_alg));
    }
    let mut stored = store.keys().await?;
    if create_missing {
        let mut missing = Vec::new();
        for alg in [ID_TOKEN_ALG, token_alg] {
            let have = stored
                .iter()
                .chain(&missing)
                .any(|k: &StoredKey| k.alg == alg.name() && k.retired_at.is_none_or(|r| r > now));
            if !have {
                missing.push(new_key(master, alg, now, FIRST_KEYS_ACTIVATE_AT)?);
            }
        }
        if !missing.is_empty() {
            // Under the keys' lock: another node starting now may have made
            // them first, and then its keys are the ones to use.
            for key in store.insert_first_keys(&missing, now).await? {
                let event = Event::new(AuditKind::KeyCreated, now, Actor::Server, "signing key created")
                    .with("kid", key.kid.as_str())
                    .with("alg", key.alg.as_str());
                audit::record(store, event).await;
            }
            stored = store.keys().await?;
        }
    }
    // The store's order, so the JWKS reads the same after a restart.
    stored.sort_by(|a, b| (a.created_at, &a.kid).cmp(&(b.created_at, &b.kid)));
    let signing = current_signing_key(&stored, master, token_alg, now)?;
    let id_signing = current_signing_key(&stored, master, ID_TOKEN_ALG, now)?;

    let mut public = Vec::with_capacity(stored.len());
    for key in stored
        .iter()
        .filter(|k| k.retired_at.is_none_or(|r| now < r + RETIRED_PUBLISHED_FOR))
    {
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
        id_tokens: Signer::new(id_signing, Some("JWT")),
        jwks_json: Arc::from(to_json(&jwks, "JWKS")?),
        verify,
        verified: crate::oauth::verified_tokens::empty(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    /// The JWKS document is the published keys, never empty: the RS256
    /// key and the access-token key, each with its `kid` and `alg`.
    #[tokio::test]
    async fn the_jwks_lists_every_published_key() {
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
            let store = fixtures::store().await;
            let ring = fixtures::key_ring(&store, alg).await;
            let jwks: serde_json::Value = serde_json::from_str(&ring.jwks_json).unwrap();
            let published: Vec<(String, String)> = jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| {
                    (
                        k["kid"].as_str().unwrap().to_owned(),
                        k["alg"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            let mut expected = vec![(ring.id_tokens.key().kid().to_owned(), "RS256".to_owned())];
            if alg != Algorithm::RS256 {
                expected.push((ring.access_tokens.key().kid().to_owned(), alg.name().to_owned()));
            }
            for key in &expected {
                assert!(published.contains(key), "{alg}: {key:?} in {published:?}");
            }
            assert_eq!(published.len(), expected.len(), "{alg}");
        }
    }

    /// Issue 18, item 9: a stored key whose public JWK is empty (or not a
    /// JWK) stops the key ring from loading, naming the key, rather than
    /// being published or skipped silently.
    #[tokio::test]
    async fn an_empty_stored_public_jwk_is_refused() {
        for broken in ["", "{}", "not json"] {
            let store = fixtures::store().await;
            let mut key = new_key(fixtures::master_key(), Algorithm::ES256, 1, 0).unwrap();
            key.public_jwk = broken.to_owned();
            store.insert_key(&key).await.unwrap();
            let loaded = load_or_create(&store, fixtures::master_key(), Algorithm::ES256, 10).await;
            assert!(
                matches!(&loaded, Err(KeyRingError::Key { kid, .. }) if *kid == key.kid),
                "{broken:?}: {loaded:?}"
            );
        }
    }

    /// The public JWK stored with a new key is the key's own.
    #[test]
    fn a_new_keys_public_jwk_is_stored() {
        let key = new_key(fixtures::master_key(), Algorithm::ES256, 1, 0).unwrap();
        let jwk: tessera_jwt::Jwk = serde_json::from_str(&key.public_jwk).unwrap();
        assert_eq!(VerifyingKey::from_jwk(&jwk).unwrap().kid(), key.kid);
    }
}
