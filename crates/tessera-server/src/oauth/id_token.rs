//! ID tokens ([OpenID Connect Core §2]): who signed in, for the client
//! that asked, signed RS256.
//!
//! `iss`, `sub`, `aud` (the client), `exp`, `iat`, `auth_time`, `nonce`
//! (when the request had one, §3.1.2.1), `azp` (the client, §2), `at_hash`
//! (§3.1.3.6), `sid` (Front-Channel Logout §3), and the standard claims the
//! granted scopes release (§5.4): `profile` gives `name` and
//! `preferred_username`, `email` gives `email` and `email_verified`.
//!
//! [OpenID Connect Core §2]: https://openid.net/specs/openid-connect-core-1_0.html#IDToken

use base64::Engine;
use serde::Serialize;
use tessera_jwt::Signer;

use super::{scope, OAuthError};
use crate::store::User;

/// How long an ID token is valid: it is read once, at sign-in.
pub const ID_TOKEN_TTL: i64 = 300;

#[derive(Serialize)]
struct IdClaims<'a> {
    iss: &'a str,
    sub: &'a str,
    aud: &'a str,
    exp: i64,
    iat: i64,
    auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<&'a str>,
    azp: &'a str,
    at_hash: String,
    sid: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    preferred_username: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    email_verified: Option<bool>,
}

/// What the ID token says.
pub struct IdToken<'a> {
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The client.
    pub client_id: &'a str,
    /// The user.
    pub user: &'a User,
    /// The granted scope.
    pub scope: &'a str,
    /// The request's `nonce`.
    pub nonce: Option<&'a str>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The SSO session.
    pub sid: &'a str,
    /// The access token issued with it.
    pub access_token: &'a str,
    /// Now.
    pub now: i64,
}

/// Signs the ID token.
pub fn issue(signer: &Signer, t: &IdToken<'_>) -> Result<String, OAuthError> {
    let profile = scope::has(t.scope, "profile");
    let email = scope::has(t.scope, "email") && t.user.email.is_some();
    let claims = IdClaims {
        iss: t.issuer,
        sub: &t.user.id,
        aud: t.client_id,
        exp: t.now.saturating_add(ID_TOKEN_TTL),
        iat: t.now,
        auth_time: t.auth_time,
        nonce: t.nonce,
        azp: t.client_id,
        at_hash: at_hash(t.access_token),
        sid: t.sid,
        name: t.user.name.as_deref().filter(|_| profile),
        preferred_username: profile.then_some(t.user.username.as_str()),
        email: t.user.email.as_deref().filter(|_| email),
        // Addresses are not verified by Tessera yet; saying so is required
        // when `email` is released (§5.1).
        email_verified: email.then_some(false),
    };
    signer
        .sign(&claims)
        .map_err(|e| OAuthError::Internal(format!("ID token: {e}")))
}

/// The subject of an `id_token_hint` (OpenID Connect Core §3.1.2.1): an
/// ID token this server signed (signature and `iss`; expired ones are still
/// good hints). `None` when it is not one. Also its audiences.
pub fn hint(keys: &tessera_jwt::KeySet, issuer: &str, hint: &str) -> Option<(String, Vec<String>)> {
    use serde_json::Value;
    let jws = keys.verify_signature(hint, 16 * 1024).ok()?;
    let claims: Value = serde_json::from_slice(jws.payload()).ok()?;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return None;
    }
    let sub = claims.get("sub").and_then(Value::as_str)?.to_owned();
    let audiences = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        _ => Vec::new(),
    };
    Some((sub, audiences))
}

/// §3.1.3.6: base64url of the left half of SHA-256 (RS256's hash) of the
/// access token's ASCII octets.
pub fn at_hash(access_token: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, access_token.as_bytes());
    let half = digest.as_ref().get(..16).unwrap_or_default();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(half)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// OpenID Connect Core §A.3's example: the access token
    /// `jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y` has
    /// `at_hash` `77QmUPtjPfzWtF2AnpK9RQ`.
    #[test]
    fn at_hash_matches_the_spec_example() {
        assert_eq!(
            at_hash("jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"),
            "77QmUPtjPfzWtF2AnpK9RQ"
        );
    }
}
