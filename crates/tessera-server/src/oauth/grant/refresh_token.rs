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
use crate::oauth::client_auth::CallingClient;
use crate::oauth::user_tokens::{self, FamilyOf, Issue};
use crate::oauth::{OAuthError, Params, Scope};
use crate::store::{Consumed, Presented, RefreshTokenStore, User};

/// The grant type this module serves.
pub const GRANT_TYPE: super::GrantType = super::GrantType::RefreshToken;

/// Handles a refresh token request.
pub async fn handle<S: RefreshTokenStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &CallingClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    // 2.
    let presented = params.require("refresh_token")?;
    let client = client.client();
    // 4.
    if !client.may_use(GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.as_str()));
    }
    // 6. (parsed before the transaction; checked inside it)
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let drawn = user_tokens::Drawn::new()?;
    // What to issue for the token as read: the narrowed scope and the
    // tokens, built the same way inside the rotation and for signing.
    let grant_for = |presented: &Presented, user: &User| -> Result<Scope, OAuthError> {
        if user.disabled_at.is_some() {
            return Err(OAuthError::InvalidRefreshToken);
        }
        presented
            .token
            .scope
            .narrow(requested.as_ref())
            .ok_or(OAuthError::ScopeNotAllowed)
    };
    let family_of = |presented: &Presented| FamilyOf::Existing {
        family_id: presented.token.family_id.clone(),
        expires_at: presented.family_expires_at,
    };
    // 5. to 7., in one transaction serialised on the family. (A used token
    // is still found: the store tells a replay.)
    let hash = hash_secret(presented);
    let rotated = store
        .rotate_refresh_token(&hash, &client.id, ctx.now, |presented, user| {
            let granted = grant_for(presented, user)?;
            let family = family_of(presented);
            Ok(user_tokens::prepare_drawn(ctx, client, user, &granted, family, drawn.clone()).grant)
        })
        .await?;
    let (presented, user) = match rotated {
        Consumed::Fresh { presented, user } => (presented, user),
        Consumed::Refused(refused) => return Err(refused),
        Consumed::Replayed { family_id } => {
            tracing::warn!(target: "audit", client_id = %client.id, family_id, "refresh token replayed: family revoked");
            return Err(OAuthError::RefreshTokenReplayed);
        }
        Consumed::Invalid => return Err(OAuthError::InvalidRefreshToken),
    };
    // 8. The tokens stored in the rotation, rebuilt from the same draw.
    let granted = grant_for(&presented, &user)?;
    let family = family_of(&presented);
    user_tokens::prepare_drawn(ctx, client, &user, &granted, family, drawn).sign(ctx.signer)
}
