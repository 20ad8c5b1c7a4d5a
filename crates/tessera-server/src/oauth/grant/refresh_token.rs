//! The refresh token grant ([RFC 6749 §6]) with rotation and reuse
//! detection ([RFC 9700 §4.14.2]). Checks in the order of §6:
//!
//! 1. `grant_type` is `refresh_token` (dispatched by the caller).
//! 2. `refresh_token` is required.
//! 3. "require client authentication for confidential clients": done by
//!    the caller; public clients are identified by `client_id`.
//! 4. The client may use the refresh grant.
//! 5. The token is used up in one statement: a token presented a second
//!    time revokes its whole family ("the authorization server ... revokes
//!    all refresh tokens of that family", RFC 9700 §4.14.2), and is
//!    `invalid_grant`.
//! 6. "ensure that the refresh token was issued to the authenticated
//!    client": part of the same statement, so another client cannot even
//!    use the token up.
//! 7. `scope`, if given, within the original grant ("MUST NOT include any
//!    scope not originally granted").
//! 8. Issue a new access token and a new refresh token in the same family.
//!
//! [RFC 6749 §6]: https://www.rfc-editor.org/rfc/rfc6749#section-6
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

use crate::oauth::access_token::TokenResponse;
use crate::oauth::client_auth::hash_secret;
use crate::oauth::user_tokens::{self, Issue};
use crate::oauth::{scope, AuthenticatedClient, OAuthError, Params};
use crate::store::{Consumed, RefreshTokenStore, UserStore};

/// The grant type this module serves.
pub const GRANT_TYPE: &str = "refresh_token";

/// Handles a refresh token request.
pub async fn handle<S: UserStore + RefreshTokenStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    // 2.
    let presented = params.require("refresh_token")?;
    let client = client.client();
    // 4.
    if !client.grant_types.iter().any(|g| g == GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.into()));
    }
    // 5-6. One statement uses the token only if it was issued to this
    // client; another client's token is invalid and stays untouched.
    let token = match store
        .consume_refresh_token(&hash_secret(presented), &client.id, ctx.now)
        .await?
    {
        Consumed::Fresh(token) => token,
        Consumed::Replayed { family_id } => {
            tracing::warn!(target: "audit", client_id = %client.id, family_id, "refresh token replayed: family revoked");
            return Err(OAuthError::RefreshTokenReplayed);
        }
        Consumed::Invalid => return Err(OAuthError::InvalidRefreshToken),
    };
    // 7.
    let original: Vec<String> = token.scope.split_ascii_whitespace().map(str::to_owned).collect();
    let granted = scope::grant(params.get("scope"), &original)?;
    let user = store
        .user(&token.user_id)
        .await?
        .ok_or(OAuthError::InvalidRefreshToken)?;
    // 8.
    user_tokens::issue(store, ctx, client, &user, &granted, Some(token.family_id)).await
}
