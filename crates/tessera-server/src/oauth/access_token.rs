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
    crate::random::id(16).ok_or_else(|| OAuthError::Internal("no randomness".into()))
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

impl TokenResponse {
    /// The response as JSON text, exactly as `serde_json` would write it.
    /// Every member is written directly: tokens are base64url with dots and
    /// a scope is `NQCHAR`s (RFC 6749 §3.3), so nothing needs escaping, and
    /// this skips `serde_json`'s byte-by-byte escape scan of the access
    /// token, the largest string the server writes per request (issue 22's
    /// profile). A value that would need escaping still goes through
    /// `serde_json`.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(
            96 + self.access_token.len()
                + self.refresh_token.as_ref().map_or(0, String::len)
                + self.id_token.as_ref().map_or(0, String::len)
                + self.scope.as_ref().map_or(0, String::len),
        );
        out.push_str("{\"access_token\":");
        push_json_str(&mut out, &self.access_token);
        out.push_str(",\"token_type\":");
        push_json_str(&mut out, self.token_type);
        out.push_str(",\"expires_in\":");
        out.push_str(&self.expires_in.to_string());
        for (name, value) in [
            ("scope", &self.scope),
            ("refresh_token", &self.refresh_token),
            ("id_token", &self.id_token),
        ] {
            if let Some(value) = value {
                out.push_str(",\"");
                out.push_str(name);
                out.push_str("\":");
                push_json_str(&mut out, value);
            }
        }
        out.push('}');
        out
    }
}

/// `value` as a JSON string: written as is when `serde_json` would not
/// escape any of it (it escapes only `"`, `\` and control characters).
fn push_json_str(out: &mut String, value: &str) {
    if value.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push('"');
        out.push_str(value);
        out.push('"');
    } else {
        // Serialising a string cannot fail.
        out.push_str(&serde_json::to_string(value).unwrap_or_default());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `to_json` writes what `serde_json` writes, for every shape of
    /// response and for values that need escaping.
    #[test]
    fn the_direct_json_is_serde_jsons() {
        let token = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln-_";
        let shapes = [
            (None, None, None),
            (Some("read write"), None, None),
            (Some("read"), Some("rt-_abc"), Some("a.b.c")),
            (None, Some("rt"), None),
            (Some("odd\"scope\\ \u{1}"), None, Some("é.ü")),
        ];
        for (scope, refresh, id) in shapes {
            for token_type in ["Bearer", "DPoP"] {
                let r = TokenResponse {
                    access_token: token.into(),
                    token_type,
                    expires_in: -3,
                    scope: scope.map(str::to_owned),
                    refresh_token: refresh.map(str::to_owned),
                    id_token: id.map(str::to_owned),
                };
                assert_eq!(r.to_json(), serde_json::to_string(&r).unwrap());
            }
        }
    }
}
