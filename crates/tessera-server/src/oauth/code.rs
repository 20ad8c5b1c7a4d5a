//! Issuing an authorization code ([RFC 6749 §4.1.2]), the authorization
//! endpoint's half of the code grant; [`super::grant::authorization_code`]
//! is the token endpoint's half, which redeems it.
//!
//! 1. 256 random bits; only the SHA-256 is stored.
//! 2. Bound to everything the token request must match: the client, the
//!    `redirect_uri`, the PKCE challenge, and what the ID token will say
//!    (user, `nonce`, `auth_time`, `sid`, `amr`).
//! 3. Redeemable for [`CODE_TTL`] seconds (RFC 6749 §4.1.2 recommends at
//!    most 10 minutes; a browser redirect takes seconds).
//! 4. The response: `code`, `state` when the request had one, and `iss`
//!    ([RFC 9207 §2]) on the registered redirect URI.
//!
//! [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
//! [RFC 9207 §2]: https://www.rfc-editor.org/rfc/rfc9207#section-2

use super::authorize::{redirect_url, AuthorizationRequest};
use super::client_auth::hash_secret;
use super::OAuthError;
use crate::store::{AuthorizationCode, CodeStore};

/// How long an authorization code may be redeemed.
pub const CODE_TTL: i64 = 60;

/// Who the code is for.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// The user.
    pub user_id: &'a str,
    /// When they signed in (the ID token's `auth_time`).
    pub auth_time: i64,
    /// The SSO session (the ID token's `sid`).
    pub sid: &'a str,
    /// How they signed in (the ID token's `amr`, RFC 8176).
    pub amr: &'a [String],
}

/// Issues a code for `request` and `subject`; the redirect that carries it.
pub async fn issue<S: CodeStore>(
    store: &S,
    issuer: &str,
    request: &AuthorizationRequest,
    subject: Subject<'_>,
    now: i64,
) -> Result<String, OAuthError> {
    // 1.
    let code = crate::random::base64url(32).ok_or_else(|| OAuthError::Internal("no randomness".into()))?;
    // 2-3.
    store
        .insert_code(&AuthorizationCode {
            code_hash: hash_secret(&code),
            client_id: request.client.id.clone(),
            user_id: subject.user_id.to_owned(),
            redirect_uri: request.redirect_uri.clone(),
            scope: request.scope.clone(),
            nonce: request.nonce.clone(),
            code_challenge: request.code_challenge.clone(),
            auth_time: subject.auth_time,
            sid: subject.sid.to_owned(),
            expires_at: now + CODE_TTL,
            amr: subject.amr.to_vec(),
        })
        .await?;
    tracing::info!(target: "audit", user_id = %subject.user_id, client_id = %request.client.id, "authorization code issued");
    // 4.
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = &request.state {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    Ok(redirect_url(&request.redirect_uri, &params))
}
