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

use super::{OAuthError, Scope};
use crate::domain::Amr;
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
    /// How the user signed in (RFC 8176), when known.
    #[serde(skip_serializing_if = "Amr::is_empty")]
    amr: &'a Amr,
    /// The level the sign-in reached, from its methods.
    acr: &'static str,
}

/// What the ID token says.
pub struct IdToken<'a> {
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The client.
    pub client: &'a crate::store::Client,
    /// The user.
    pub user: &'a User,
    /// The granted scope.
    pub scope: &'a Scope,
    /// The request's `nonce`.
    pub nonce: Option<&'a str>,
    /// When the user authenticated.
    pub auth_time: i64,
    /// The SSO session.
    pub sid: &'a str,
    /// How the user signed in (RFC 8176 `amr`).
    pub amr: &'a Amr,
    /// The access token issued with it.
    pub access_token: &'a str,
    /// Now.
    pub now: i64,
}

/// Signs the ID token.
pub fn issue(signer: &Signer, t: &IdToken<'_>) -> Result<String, OAuthError> {
    let released = super::claims::Released::for_grant(t.user, t.client, t.scope);
    let claims = IdClaims {
        iss: t.issuer,
        sub: &t.user.id,
        aud: &t.client.id,
        exp: t.now.saturating_add(ID_TOKEN_TTL),
        iat: t.now,
        auth_time: t.auth_time,
        nonce: t.nonce,
        azp: &t.client.id,
        at_hash: at_hash(t.access_token),
        sid: t.sid,
        // Profile claims by scope only: the ID token is the relying
        // party's, first-party or not (OpenID Connect Core §5.4).
        name: released.name,
        preferred_username: released.preferred_username.filter(|_| t.scope.has("profile")),
        email: released.email,
        email_verified: released.email_verified,
        amr: t.amr,
        acr: t.amr.acr().as_str(),
    };
    signer
        .sign(&claims)
        .map_err(|e| OAuthError::Internal(format!("ID token: {e}")))
}

/// Where an `id_token_hint` is checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HintUse<'a> {
    /// At the authorization endpoint, for this client: the hint must be a
    /// current ID token issued to it (OpenID Connect Core §3.1.2.1).
    Authorize {
        /// The requesting client, which must be among the hint's `aud`.
        client_id: &'a str,
    },
    /// At the end-session endpoint: an expired ID token is still a good
    /// hint (RP-Initiated Logout 1.0 §2: "The OP need not be the one that
    /// issued the ID Token ... even if it has expired").
    Logout,
}

/// The subject and audiences of an `id_token_hint`, fully verified as an
/// ID token of this issuer: the signature with a published key, `typ` not
/// that of an access token (`at+jwt`, RFC 9068 §2.1 / RFC 8725 §3.11: an
/// access token is not an ID token, whatever its claims say), `iss`, a
/// string `sub`, `aud` naming the client, and `exp` (unless at logout).
/// `None` when it is not one.
pub fn hint(
    keys: &tessera_jwt::KeySet,
    issuer: &str,
    hint: &str,
    use_: HintUse<'_>,
    now: i64,
) -> Option<(String, Vec<String>)> {
    use serde_json::Value;
    let jws = keys.verify_signature(hint, 16 * 1024).ok()?;
    // ID tokens are issued with `typ: JWT` (or without `typ`).
    if let Some(typ) = jws.header().typ.as_deref() {
        let typ = typ.to_ascii_lowercase();
        if typ.trim_start_matches("application/") != "jwt" {
            return None;
        }
    }
    let claims: Value = serde_json::from_slice(jws.payload()).ok()?;
    if claims.get("iss").and_then(Value::as_str) != Some(issuer) {
        return None;
    }
    let sub = claims.get("sub").and_then(Value::as_str)?.to_owned();
    let audiences: Vec<String> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(many)) => many
            .iter()
            .map(|a| a.as_str().map(str::to_owned))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    // An ID token has a `nonce` or `auth_time`/`azp` only sometimes, but
    // always `exp` and `iat` (OpenID Connect Core §2).
    let exp = claims.get("exp").and_then(Value::as_i64)?;
    claims.get("iat").and_then(Value::as_i64)?;
    match use_ {
        HintUse::Authorize { client_id } => {
            if exp <= now || !audiences.iter().any(|a| a == client_id) {
                return None;
            }
        }
        HintUse::Logout => {}
    }
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
