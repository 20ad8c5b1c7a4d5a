//! The client credentials grant ([RFC 6749 §4.4]): a service gets a token
//! for itself. Checks in the order of §4.4.2:
//!
//! 1. `grant_type` is `client_credentials` (dispatched by the caller).
//! 2. "The client MUST authenticate with the authorization server": an
//!    [`AuthenticatedClient`] is the proof, and only confidential clients
//!    have one.
//! 3. The client is registered for this grant type.
//! 4. `scope` (optional, [RFC 6749 §3.3]) must be within the client's
//!    registered scopes; when absent, all registered scopes are granted.
//! 5. `audience` (optional) must be one of the client's registered
//!    audiences; when absent, all of them (or the issuer, if none).
//! 6. Issue a JWT access token; no refresh token (§4.4.3: "A refresh token
//!    SHOULD NOT be included").
//!
//! [RFC 6749 §4.4]: https://www.rfc-editor.org/rfc/rfc6749#section-4.4
//! [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3

use tessera_jwt::{Audience, Signer};

use crate::oauth::access_token::{self, AccessClaims, TokenResponse};
use crate::oauth::{AuthenticatedClient, OAuthError, Params, Scope};

/// The grant type this module serves.
pub const GRANT_TYPE: super::GrantType = super::GrantType::ClientCredentials;

/// What the grant needs from the server.
pub struct Context<'a> {
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The access-token signer.
    pub signer: &'a Signer,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// Handles a client credentials token request.
pub fn handle(
    ctx: &Context<'_>,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let client = client.client();
    // 3.
    if !client.may_use(GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.as_str()));
    }
    // 4.
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let scope = client
        .scopes
        .narrow(requested.as_ref())
        .ok_or(OAuthError::ScopeNotAllowed)?;
    // 5.
    let aud = match params.get("audience") {
        Some(requested) if client.audiences.iter().any(|a| a == requested) => {
            Audience::One(requested.to_owned())
        }
        Some(_) => return Err(OAuthError::AudienceNotAllowed),
        None => access_token::audience(&client.audiences, ctx.issuer),
    };
    // 6.
    let claims = AccessClaims {
        iss: ctx.issuer,
        sub: &client.id,
        aud,
        exp: ctx.now.saturating_add(client.access_token_ttl),
        iat: ctx.now,
        jti: access_token::new_jti()?,
        client_id: &client.id,
        scope: scope.as_str(),
        preferred_username: None,
        roles: None,
        email: None,
        email_verified: None,
        name: None,
    };
    Ok(TokenResponse {
        access_token: access_token::issue(ctx.signer, &claims)?,
        token_type: "Bearer",
        expires_in: client.access_token_ttl,
        scope: (!scope.is_empty()).then(|| scope.to_string()),
        refresh_token: None,
        id_token: None,
    })
}
