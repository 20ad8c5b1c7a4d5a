//! JWT access tokens ([RFC 9068]): `typ: at+jwt`, and the claims `iss`,
//! `sub`, `aud`, `exp`, `iat`, `jti`, `client_id`, `scope`.
//!
//! [RFC 9068]: https://www.rfc-editor.org/rfc/rfc9068

use serde::Serialize;
use tessera_jwt::{Audience, Signer};

use super::OAuthError;

/// The claims of an access token (RFC 9068 §2.2).
#[derive(Debug, Serialize)]
pub struct AccessClaims<'a> {
    /// Issuer.
    pub iss: &'a str,
    /// Subject: the user, or the client itself for client credentials.
    pub sub: &'a str,
    /// Audience: the resource servers it is meant for.
    pub aud: Audience,
    /// Expiry.
    pub exp: i64,
    /// Issued at.
    pub iat: i64,
    /// Unique id (128 random bits).
    pub jti: String,
    /// The client it was issued to.
    pub client_id: &'a str,
    /// Granted scopes, space-separated (omitted when none).
    #[serde(skip_serializing_if = "str::is_empty")]
    pub scope: &'a str,
    /// The user's login name (see `oauth::claims` for when it is sent).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub preferred_username: Option<&'a str>,
    /// The user's roles (see `oauth::claims`; never an empty array).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub roles: Option<&'a [String]>,
    /// The user's email, when the `email` scope was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<&'a str>,
    /// Whether that email was verified (sent with `email`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email_verified: Option<bool>,
    /// The user's name, when the `profile` scope was granted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'a str>,
    /// The key the token is bound to ([RFC 9449 §6.1]), when the request
    /// proved one with DPoP.
    ///
    /// [RFC 9449 §6.1]: https://www.rfc-editor.org/rfc/rfc9449#section-6.1
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
}

/// The confirmation claim of a DPoP-bound token ([RFC 7800 §3.1], [RFC
/// 9449 §6.1]): the JWK SHA-256 thumbprint of the key.
///
/// [RFC 7800 §3.1]: https://www.rfc-editor.org/rfc/rfc7800#section-3.1
/// [RFC 9449 §6.1]: https://www.rfc-editor.org/rfc/rfc9449#section-6.1
#[derive(Debug, Serialize)]
pub struct Confirmation {
    /// The thumbprint.
    pub jkt: String,
}

impl Confirmation {
    /// The `cnf` of a token issued to a request that proved `jkt`, if any.
    pub fn of(jkt: Option<&crate::oauth::dpop::Jkt>) -> Option<Confirmation> {
        jkt.map(|k| Confirmation {
            jkt: k.as_str().to_owned(),
        })
    }
}

/// The `token_type` of a token response: `DPoP` for a bound token
/// ([RFC 9449 §5]), `Bearer` otherwise ([RFC 6750]).
///
/// [RFC 9449 §5]: https://www.rfc-editor.org/rfc/rfc9449#section-5
/// [RFC 6750]: https://www.rfc-editor.org/rfc/rfc6750
pub fn token_type(cnf: &Option<Confirmation>) -> &'static str {
    if cnf.is_some() {
        "DPoP"
    } else {
        "Bearer"
    }
}

/// A random token id (128 bits).
pub fn new_jti() -> Result<String, OAuthError> {
    crate::random::base64url(16).ok_or_else(|| OAuthError::Internal("no randomness".into()))
}

/// The `aud` of a client's tokens: its registered audiences, or the issuer
/// when it has none (RFC 9068 §3 asks for a default resource).
pub fn audience(audiences: &[String], issuer: &str) -> Audience {
    match audiences {
        [] => Audience::One(issuer.to_owned()),
        [one] => Audience::One(one.clone()),
        many => Audience::Many(many.to_vec()),
    }
}

/// Signs the access token.
pub fn issue(signer: &Signer, claims: &AccessClaims<'_>) -> Result<String, OAuthError> {
    Ok(signer.sign(claims)?)
}

/// The token response ([RFC 6749 §5.1]).
///
/// [RFC 6749 §5.1]: https://www.rfc-editor.org/rfc/rfc6749#section-5.1
#[derive(Debug, Serialize)]
pub struct TokenResponse {
    /// The JWT.
    pub access_token: String,
    /// `Bearer` ([RFC 6750]), or `DPoP` for a DPoP-bound token ([RFC 9449
    /// §5]).
    ///
    /// [RFC 6750]: https://www.rfc-editor.org/rfc/rfc6750
    /// [RFC 9449 §5]: https://www.rfc-editor.org/rfc/rfc9449#section-5
    pub token_type: &'static str,
    /// Lifetime in seconds.
    pub expires_in: i64,
    /// Granted scopes, when any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// A refresh token, for grants that issue one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
    /// An OpenID Connect ID token, when `openid` was granted through the
    /// authorization code flow (OpenID Connect Core §3.1.3.3).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<String>,
}
