//! The resource owner password credentials grant ([RFC 6749 §4.3]), for
//! first-party apps only: a client must be registered for it explicitly.
//! Checks in the order of §4.3.2:
//!
//! 1. `grant_type` is `password` (dispatched by the caller).
//! 2. `username` and `password` are required.
//! 3. "require client authentication for confidential clients": done by
//!    the caller; public clients are identified by `client_id`.
//! 4. The client is registered for this grant type.
//! 5. `scope` within the client's scopes.
//! 6. "validate the resource owner password credentials using its existing
//!    password validation algorithm": argon2id on the blocking pool; an
//!    unknown user costs the same as a wrong password; a locked account is
//!    refused; five failures in a row lock it for five minutes
//!    ("the authorization server MUST protect the endpoint against
//!    brute force attacks").
//! 7. Issue an access token and, if the client may refresh, a refresh
//!    token in a new family.
//!
//! [RFC 6749 §4.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3

use zeroize::Zeroizing;

use crate::oauth::access_token::TokenResponse;
use crate::oauth::client_auth::CallingClient;
use crate::oauth::user_tokens::{self, Issue};
use crate::oauth::{sign_in, OAuthError, Params, Scope};
use crate::store::{AttemptStore, RefreshTokenStore, UserStore};

/// The grant type this module serves.
pub const GRANT_TYPE: super::GrantType = super::GrantType::Password;
/// Handles a password grant request (the token endpoint: no device
/// cookie, so the account's plain lock applies).
pub async fn handle<S: UserStore + AttemptStore + RefreshTokenStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &CallingClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let (tokens, _) = handle_from(store, ctx, client, params, None).await?;
    Ok(tokens)
}

/// [`handle`] for a browser that may have presented a device cookie
/// (`POST /api/v1/login`, see [`crate::oauth::device`]); the tokens and
/// the user they were issued for.
pub async fn handle_from<S: UserStore + AttemptStore + RefreshTokenStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &CallingClient,
    params: &Params,
    device: Option<sign_in::Presented<'_>>,
) -> Result<(TokenResponse, crate::store::User), OAuthError> {
    // 2.
    let username = params.require("username")?;
    let password = Zeroizing::new(params.require("password")?.to_owned());
    let client = client.client();
    // 4.
    if !client.may_use(GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.as_str()));
    }
    // 5.
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let granted = client
        .scopes
        .narrow(requested.as_ref())
        .ok_or(OAuthError::ScopeNotAllowed)?;
    // 6.
    let user = sign_in::check_password_from(store, ctx, username, password, &client.id, device).await?;
    // 7.
    let tokens = user_tokens::issue(store, ctx, client, &user, &granted).await?;
    Ok((tokens, user))
}
