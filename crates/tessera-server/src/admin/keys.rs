//! `/admin/v1/keys`: the server's signing keys, listed, rotated and
//! revoked through [`crate::keys`], as `tessera keys list | rotate |
//! revoke` do. A key is shown by its public parts only: the sealed private
//! key never leaves the store.

use tessera_jwt::Algorithm;

use super::{page, Admin, AdminError, Page, PageRequest};
use crate::audit::{self, AuditKind, Event};
use crate::keys::{self as ring, KeyRingError, MasterKey};
use crate::store::{KeyStore, Store, StoredKey};

/// Where a key is in its life, as `tessera keys list` says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum KeyState {
    /// It signs (the latest activated of its algorithm does).
    Active,
    /// Rotated in: published, signing from `activates_at`.
    Next,
    /// Replaced: signs no more; `published` says whether the JWKS still
    /// lists it (for a day after `retired_at`).
    Retired,
    /// Revoked (it leaked): unpublished, and what it signed is refused.
    Revoked,
}

/// A signing key as the admin API shows it: never its private part.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct KeyView {
    /// The key id (`kid`, the RFC 7638 thumbprint).
    pub kid: String,
    /// The JWS algorithm it signs with (`alg`).
    pub alg: String,
    /// What it is for (`use`, RFC 7517 §4.2): always `sig`.
    #[serde(rename = "use")]
    pub key_use: String,
    /// Where it is in its life.
    pub state: KeyState,
    /// Whether the JWKS lists it.
    pub published: bool,
    /// When it was made (seconds since the epoch).
    pub created_at: i64,
    /// When it signs (or signed) from.
    pub activates_at: i64,
    /// When it stops (or stopped) signing, once replaced.
    pub retired_at: Option<i64>,
    /// When it was revoked.
    pub revoked_at: Option<i64>,
    /// Its public JWK (RFC 7517), as the JWKS publishes it; null for a
    /// stored JWK that is not JSON (such a key stops the key ring loading).
    #[schema(value_type = Option<Object>)]
    pub public_jwk: serde_json::Value,
}

/// A key as the admin API shows it at `now`; `revoked_at` if it was
/// revoked. Only its public fields are read.
pub fn view(k: &StoredKey, revoked_at: Option<i64>, now: i64) -> KeyView {
    let (state, published) = match (revoked_at, k.retired_at) {
        (Some(_), _) => (KeyState::Revoked, false),
        (None, Some(r)) if r <= now => (KeyState::Retired, now < r + ring::RETIRED_PUBLISHED_FOR),
        (None, _) if k.activates_at > now => (KeyState::Next, true),
        (None, _) => (KeyState::Active, true),
    };
    // A stored public JWK that is not JSON stops the key ring loading
    // (`keys::load`); here it shows as null rather than failing the list,
    // so the operator can find and revoke it.
    let public_jwk = serde_json::from_str(&k.public_jwk).unwrap_or(serde_json::Value::Null);
    KeyView {
        kid: k.kid.clone(),
        alg: k.alg.clone(),
        key_use: "sig".to_owned(),
        state,
        published,
        created_at: k.created_at,
        activates_at: k.activates_at,
        retired_at: k.retired_at,
        revoked_at,
        public_jwk,
    }
}

fn refusal(e: KeyRingError) -> AdminError {
    match e {
        KeyRingError::UnknownKey(_) => AdminError::NotFound("signing key"),
        e @ KeyRingError::AlreadyRevoked(_) => AdminError::Conflict(e.to_string()),
        e @ KeyRingError::UnsupportedAlgorithm(_) => AdminError::InvalidRequest(e.to_string()),
        e => AdminError::Internal(e.to_string()),
    }
}

/// The signing keys, revoked ones included, a page at a time, by `kid`.
pub async fn list(store: &Store, request: &PageRequest, now: i64) -> Result<Page<KeyView>, AdminError> {
    let mut keys: Vec<(StoredKey, Option<i64>)> =
        store.keys().await?.into_iter().map(|k| (k, None)).collect();
    keys.extend(
        store
            .revoked_keys()
            .await?
            .into_iter()
            .map(|(k, at)| (k, Some(at))),
    );
    page(
        keys,
        |(k, _)| k.kid.as_str(),
        request,
        |(k, at)| view(k, *at, now),
    )
}

/// `POST /admin/v1/keys/rotate`: what `tessera keys rotate` takes.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RotateKey {
    /// The algorithm of the key to rotate (default: the configured
    /// `token_alg`); not a symmetric one.
    pub alg: Option<String>,
}

/// Rotates the key of the requested algorithm (`default_alg` if none):
/// the new key is published now and signs from `activates_at`
/// ([`crate::keys::rotate`]).
pub async fn rotate(
    store: &Store,
    master: &MasterKey,
    admin: &Admin,
    request: RotateKey,
    default_alg: Algorithm,
    now: i64,
) -> Result<KeyView, AdminError> {
    let alg = match request.alg.as_deref() {
        None => default_alg,
        Some(name) => Algorithm::from_name(name)
            .ok_or_else(|| AdminError::InvalidRequest(format!("alg: {name:?} is not a JWS algorithm")))?,
    };
    let key = ring::rotate(store, master, alg, now).await.map_err(refusal)?;
    let event = Event::new(
        AuditKind::KeyRotated,
        now,
        admin.actor(),
        "signing key rotated through the admin API",
    )
    .with("kid", key.kid.clone())
    .with("alg", key.alg.clone());
    audit::record(store, event).await;
    Ok(view(&key, None, now))
}

/// What `POST /admin/v1/keys/{kid}/revoke` did.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RevokedKey {
    /// The revoked key.
    pub revoked: KeyView,
    /// The key that signs in its place from now, when it was signing.
    pub replacement: Option<KeyView>,
    /// It was a rotated key not yet signing: the key it was to replace
    /// signs on (rotate again for a new successor).
    pub rotation_cancelled: bool,
}

/// Revokes the key `kid` ([`crate::keys::revoke`]): 404 for an unknown
/// kid, 409 for one revoked already.
pub async fn revoke(
    store: &Store,
    master: &MasterKey,
    admin: &Admin,
    kid: &str,
    now: i64,
) -> Result<RevokedKey, AdminError> {
    let done = ring::revoke(store, master, kid, now).await.map_err(refusal)?;
    let event = Event::new(
        AuditKind::KeyRevoked,
        now,
        admin.actor(),
        "signing key revoked through the admin API",
    )
    .with("kid", done.key.kid.clone())
    .with("alg", done.key.alg.clone());
    audit::record(store, event).await;
    Ok(RevokedKey {
        revoked: view(&done.key, Some(now), now),
        replacement: done.replacement.as_ref().map(|k| view(k, None, now)),
        rotation_cancelled: done.rotation_cancelled,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    /// The view shows the public JWK and never the private parts, and
    /// says where a key is in its life.
    #[tokio::test]
    async fn a_key_is_shown_without_private_parts() {
        let store = fixtures::store().await;
        let ring_ = fixtures::key_ring(&store, Algorithm::ES256).await;
        let kid = ring_.access_tokens.key().kid().to_owned();
        let stored = store.keys().await.unwrap();
        let key = stored.iter().find(|k| k.kid == kid).unwrap();
        let shown = serde_json::to_value(view(key, None, fixtures::NOW)).unwrap();
        assert_eq!(shown["state"], "active");
        assert_eq!(shown["use"], "sig");
        assert_eq!(shown["public_jwk"]["kid"], kid.as_str());
        let text = shown.to_string();
        assert!(!text.contains("sealed"), "{text}");
        assert!(shown["public_jwk"].get("d").is_none(), "{text}");
        let next = StoredKey {
            activates_at: fixtures::NOW + 10,
            ..key.clone()
        };
        assert_eq!(view(&next, None, fixtures::NOW).state, KeyState::Next);
        let retired = StoredKey {
            retired_at: Some(fixtures::NOW - 10),
            ..key.clone()
        };
        let r = view(&retired, None, fixtures::NOW);
        assert_eq!((r.state, r.published), (KeyState::Retired, true));
        let r = view(&retired, None, fixtures::NOW + ring::RETIRED_PUBLISHED_FOR);
        assert_eq!((r.state, r.published), (KeyState::Retired, false));
        let r = view(key, Some(fixtures::NOW), fixtures::NOW);
        assert_eq!((r.state, r.published), (KeyState::Revoked, false));
    }
}
