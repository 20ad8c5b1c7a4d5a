//! Token revocation ([RFC 7009]): a client withdraws a token it holds.
//!
//! 1. The caller authenticates (§2.1).
//! 2. `token` is required; `token_type_hint` may be ignored.
//! 3. A token that is invalid, expired or not ours needs no action: the
//!    answer is 200 all the same (§2.2: "invalid tokens do not cause an
//!    error response").
//! 4. "The authorization server first validates the client credentials ...
//!    and then verifies whether the token was issued to the client making
//!    the revocation request. If this validation fails, the request is
//!    refused" (§2.1).
//! 5. The token's `jti` is recorded until its expiry, so introspection on
//!    every node answers `active: false` from now on.
//!
//! [RFC 7009]: https://www.rfc-editor.org/rfc/rfc7009

use crate::audit::{self, Actor, AuditKind, Event};
use serde_json::Value;

use super::client_auth::{hash_secret, identify, Audience, PublicClients};
use super::introspect::{active_claims, Context};
use super::{OAuthError, Params};
use crate::store::{AssertionStore, ClientStore, RefreshTokenStore, RevocationStore};

/// Who may call: confidential clients, and public clients for their own
/// refresh tokens (RFC 7009 §2.1, §5). Discovery's
/// `revocation_endpoint_auth_methods_supported` is derived from it.
pub const CALLERS: PublicClients = PublicClients::Allowed;

/// Handles a revocation request.
pub async fn handle<S: ClientStore + AssertionStore + RevocationStore + RefreshTokenStore>(
    ctx: &Context<'_, S>,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<(), OAuthError> {
    let mut params = Params::parse(body)?;
    // Public clients may revoke their own refresh tokens (§2.1, §5).
    let audience = Audience {
        issuer: ctx.issuer,
        now: ctx.now,
        clients: ctx.clients,
    };
    let client = identify(ctx.store, authorization, &mut params, CALLERS, audience).await?;
    let token = params.require("token")?;
    // 3. A refresh token? Revoke its family, if it is this client's.
    if !token.contains('.') {
        let hash = hash_secret(token);
        let caller = &client.client().id;
        if let Some(found) = ctx.store.revoke_refresh_family(&hash, caller, ctx.now).await? {
            if found.client_id != client.client().id {
                return Err(OAuthError::NotYourToken);
            }
            let event = Event::new(
                AuditKind::TokenRevoked,
                ctx.now,
                Actor::Client,
                "refresh token family revoked",
            )
            .user(&found.user_id)
            .client(&client.client().id)
            .with("token", "refresh_token");
            audit::record(ctx.store, event).await;
        }
        return Ok(());
    }
    let Some(claims) = active_claims(ctx, token).await? else {
        return Ok(());
    };
    // 4.
    if claims.get("client_id").and_then(Value::as_str) != Some(client.client().id.as_str()) {
        return Err(OAuthError::NotYourToken);
    }
    // 5.
    if let (Some(jti), Some(exp)) = (
        claims.get("jti").and_then(Value::as_str),
        claims.get("exp").and_then(Value::as_i64),
    ) {
        ctx.store.revoke(jti, exp).await?;
        let event = Event::new(
            AuditKind::TokenRevoked,
            ctx.now,
            Actor::Client,
            "access token revoked",
        )
        .client(&client.client().id)
        .with("token", "access_token")
        .with("jti", jti);
        audit::record(ctx.store, event).await;
    }
    Ok(())
}
