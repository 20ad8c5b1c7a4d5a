//! The refresh token grant ([RFC 6749 §6]) with rotation and reuse
//! detection ([RFC 9700 §4.14.2]). Checks in the order of §6:
//!
//! 1. `grant_type` is `refresh_token` (dispatched by the caller).
//! 2. `refresh_token` is required.
//! 3. "require client authentication for confidential clients": done by
//!    the caller; public clients are identified by `client_id`.
//! 4. The client may use the refresh grant.
//! 5. "ensure that the refresh token was issued to the authenticated
//!    client" and is still usable: unused, unrevoked, unexpired, in a live
//!    family (a family ends a fixed time after its sign-in, however often it
//!    is rotated). Another client's token is invalid and stays untouched.
//! 6. `scope`, if given, within the original grant ("MUST NOT include any
//!    scope not originally granted"); the user still exists and is enabled.
//! 7. Rotate, in one transaction serialised on the family: the old token is
//!    used up, the new refresh token and the new access token's `jti` are
//!    stored. A token presented a second time is a replay: the whole family
//!    and every access token it issued are revoked ("the authorization
//!    server ... revokes all refresh tokens of that family", RFC 9700
//!    §4.14.2), and the answer is `invalid_grant`.
//! 8. Sign the new access token (its `jti` is already recorded, so a replay
//!    racing with this request revokes it too).
//!
//! [RFC 6749 §6]: https://www.rfc-editor.org/rfc/rfc6749#section-6
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

use crate::oauth::access_token::TokenResponse;
use crate::oauth::client_auth::hash_secret;
use crate::oauth::user_tokens::{self, FamilyOf, Issue};
use crate::oauth::{AuthenticatedClient, OAuthError, Params, Scope};
use crate::store::{Consumed, RefreshTokenStore, UserStore};

/// The grant type this module serves.
pub const GRANT_TYPE: super::GrantType = super::GrantType::RefreshToken;

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
    if !client.may_use(GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.as_str()));
    }
    // 5.
    let hash = hash_secret(presented);
    // (A used token is still found here: step 7 tells a replay.)
    let current = store
        .presented_refresh_token(&hash, &client.id, ctx.now)
        .await?
        .ok_or(OAuthError::InvalidRefreshToken)?;
    // 6.
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let granted = current
        .token
        .scope
        .narrow(requested.as_ref())
        .ok_or(OAuthError::ScopeNotAllowed)?;
    let user = store
        .user(&current.token.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none())
        .ok_or(OAuthError::InvalidRefreshToken)?;
    // 7.
    let family = FamilyOf::Existing {
        family_id: current.token.family_id.clone(),
        expires_at: current.family_expires_at,
    };
    let prepared = user_tokens::prepare(ctx, client, &user, &granted, family)?;
    match store
        .rotate_refresh_token(
            &hash,
            &client.id,
            &current.token.family_id,
            ctx.now,
            &prepared.grant,
        )
        .await?
    {
        Consumed::Fresh(_) => {}
        Consumed::Replayed { family_id } => {
            tracing::warn!(target: "audit", client_id = %client.id, family_id, "refresh token replayed: family revoked");
            return Err(OAuthError::RefreshTokenReplayed);
        }
        Consumed::Invalid => return Err(OAuthError::InvalidRefreshToken),
    }
    // 8.
    prepared.sign(ctx.signer)
}
