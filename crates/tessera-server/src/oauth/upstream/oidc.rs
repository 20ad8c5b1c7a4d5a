//! An OpenID provider upstream: metadata from its discovery document
//! (OpenID Connect Discovery 1.0 §4), the identity from its ID token,
//! verified as OpenID Connect Core §3.1.3.7 lists the checks:
//!
//! 1. the signature, with a key from the provider's `jwks_uri` (fetched
//!    again once when the `kid` is unknown: the provider rotated), never
//!    `alg: none` and never a key of another algorithm (tessera-jwt);
//! 2. `iss` is the configured issuer, exactly;
//! 3. `aud` contains Tessera's client id;
//! 4. with several audiences, `azp` is required; when present it is
//!    Tessera's client id;
//! 5. `exp` not passed, `iat` not in the future (60 s leeway);
//! 6. `nonce` is the one this browser's trip sent (constant-time).
//!
//! The authorization response's `iss` ([RFC 9207 §2.4]) must be the issuer
//! when sent, and is required when the metadata says the provider sends it.
//!
//! [RFC 9207 §2.4]: https://www.rfc-editor.org/rfc/rfc9207#section-2.4

use serde::Deserialize;
use serde_json::Value;
use tessera_jwt::{Audience, KeySet, UnixTime, Validation};
use tokio::sync::RwLock;

use super::{check_iss, Profile, Provider, UpstreamError, Upstreams};

/// The discovery document's members Tessera uses.
#[derive(Clone, Debug, Deserialize)]
pub struct Metadata {
    /// Must equal the configured issuer (Discovery §4.3).
    pub issuer: String,
    /// Where the browser goes.
    pub authorization_endpoint: String,
    /// Where the code is exchanged.
    pub token_endpoint: String,
    /// The provider's signing keys.
    pub jwks_uri: String,
    /// Whether it sends `iss` on authorization responses (RFC 9207 §3).
    #[serde(default)]
    pub authorization_response_iss_parameter_supported: bool,
    /// How it authenticates clients at the token endpoint.
    #[serde(default)]
    pub token_endpoint_auth_methods_supported: Vec<String>,
}

/// Metadata and keys, fetched once and kept.
#[derive(Default)]
pub struct Cache {
    metadata: RwLock<Option<Metadata>>,
    keys: RwLock<Option<KeySet>>,
}

impl Cache {
    /// The discovered authorization endpoint, if the metadata is here and
    /// not being written this instant (no waiting).
    pub fn cached_authorization_endpoint(&self) -> Option<String> {
        self.metadata
            .try_read()
            .ok()?
            .as_ref()
            .map(|m| m.authorization_endpoint.clone())
    }
}

/// The provider's metadata, from the cache or its discovery document.
pub async fn metadata(provider: &Provider) -> Result<Metadata, UpstreamError> {
    if let Some(m) = provider.oidc.metadata.read().await.as_ref() {
        return Ok(m.clone());
    }
    let issuer = provider.config.issuer.clone().unwrap_or_default();
    let url = format!("{issuer}/.well-known/openid-configuration");
    let fetched = provider
        .fetcher_for(&url)?
        .get(&url)
        .await
        .map_err(|e| super::unavailable(provider, &e))?;
    let metadata: Metadata = serde_json::from_slice(&fetched.body).map_err(|e| {
        tracing::warn!(provider = %provider.config.id, "discovery document refused: {e}");
        UpstreamError::Nonsense(provider.config.name.clone())
    })?;
    // Discovery §4.3: "MUST be identical to the Issuer URL".
    if metadata.issuer != issuer {
        tracing::warn!(provider = %provider.config.id, issuer = %metadata.issuer, "discovery names another issuer");
        return Err(UpstreamError::Untrusted(provider.config.name.clone()));
    }
    // Every endpoint it names is reached over https (a provider's https
    // discovery document naming an http endpoint would hand the code and
    // client secret, or the keys, to the network).
    let endpoints = [
        &metadata.authorization_endpoint,
        &metadata.token_endpoint,
        &metadata.jwks_uri,
    ];
    if let Some(url) = endpoints
        .into_iter()
        .find(|u| !crate::config::secure_transport(u))
    {
        tracing::warn!(provider = %provider.config.id, url, "discovery names an endpoint that is not https");
        return Err(UpstreamError::Untrusted(provider.config.name.clone()));
    }
    *provider.oidc.metadata.write().await = Some(metadata.clone());
    Ok(metadata)
}

async fn keys(provider: &Provider, jwks_uri: &str, refresh: bool) -> Result<KeySet, UpstreamError> {
    if !refresh {
        if let Some(keys) = provider.oidc.keys.read().await.as_ref() {
            return Ok(keys.clone());
        }
    }
    let fetched = provider
        .fetcher_for(jwks_uri)?
        .get(jwks_uri)
        .await
        .map_err(|e| super::unavailable(provider, &e))?;
    let keys = KeySet::from_jwks_json(&fetched.body).map_err(|e| {
        tracing::warn!(provider = %provider.config.id, "JWKS refused: {e}");
        UpstreamError::Nonsense(provider.config.name.clone())
    })?;
    *provider.oidc.keys.write().await = Some(keys.clone());
    Ok(keys)
}

/// The ID token's claims Tessera reads.
#[derive(Debug, Deserialize)]
struct IdClaims {
    sub: String,
    aud: Audience,
    #[serde(default)]
    azp: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

/// Exchanges the code and verifies the ID token.
pub async fn arrive(
    upstreams: &Upstreams,
    provider: &Provider,
    code: &str,
    verifier: &str,
    nonce: &str,
    iss: Option<&str>,
    now: i64,
) -> Result<Profile, UpstreamError> {
    let c = &provider.config;
    let untrusted = || UpstreamError::Untrusted(c.name.clone());
    let metadata = metadata(provider).await?;
    check_iss(
        provider,
        &metadata.issuer,
        iss,
        metadata.authorization_response_iss_parameter_supported,
    )?;
    let in_body = metadata
        .token_endpoint_auth_methods_supported
        .iter()
        .all(|m| m == "client_secret_post")
        && !metadata.token_endpoint_auth_methods_supported.is_empty();
    let answer = upstreams
        .exchange(provider, &metadata.token_endpoint, code, verifier, in_body)
        .await?;
    let id_token = answer
        .get("id_token")
        .and_then(Value::as_str)
        .ok_or_else(|| UpstreamError::Nonsense(c.name.clone()))?;
    // 1-3, 5.
    let validation = Validation::new()
        .issuer(&metadata.issuer)
        .audience(&c.client_id)
        .require("sub")
        .require("iat");
    let mut verified = None;
    for refresh in [false, true] {
        let keys = keys(provider, &metadata.jwks_uri, refresh).await?;
        match keys.verify::<IdClaims>(id_token, &validation, UnixTime::from_secs(now)) {
            Ok(v) => {
                verified = Some(v.into_claims());
                break;
            }
            Err(tessera_jwt::Error::UnknownKid(_)) if !refresh => continue,
            Err(e) => {
                tracing::warn!(target: "audit", provider = %c.id, "upstream ID token refused: {e}");
                return Err(untrusted());
            }
        }
    }
    let claims = verified.ok_or_else(untrusted)?;
    // 4.
    let several = matches!(&claims.aud, Audience::Many(list) if list.len() > 1);
    match claims.azp.as_deref() {
        Some(azp) if azp != c.client_id => {
            tracing::warn!(target: "audit", provider = %c.id, "upstream ID token azp is another client");
            return Err(untrusted());
        }
        None if several => {
            tracing::warn!(target: "audit", provider = %c.id, "upstream ID token with several audiences and no azp");
            return Err(untrusted());
        }
        _ => {}
    }
    // 6.
    let nonce_ok = claims.nonce.as_deref().is_some_and(|sent| {
        aws_lc_rs::constant_time::verify_slices_are_equal(sent.as_bytes(), nonce.as_bytes()).is_ok()
    });
    if !nonce_ok {
        tracing::warn!(target: "audit", provider = %c.id, "upstream ID token nonce mismatch (replay?)");
        return Err(untrusted());
    }
    Ok(profile(&claims.sub, &claims.rest, c.roles_claim.as_deref()))
}

/// The standard claims (OpenID Connect Core §5.1) as a [`Profile`].
fn profile(sub: &str, claims: &serde_json::Map<String, Value>, roles_claim: Option<&str>) -> Profile {
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    Profile {
        subject: sub.to_owned(),
        username: text("preferred_username"),
        name: text("name"),
        email: text("email"),
        email_verified: claims.get("email_verified").and_then(Value::as_bool) == Some(true),
        groups: super::groups(claims, roles_claim),
        amr: claims
            .get("amr")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default(),
    }
}
