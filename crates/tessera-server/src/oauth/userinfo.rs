//! The UserInfo endpoint ([OpenID Connect Core §5.3]): the signed-in
//! user's claims, for an access token of this server that was granted
//! `openid`; the claims each scope releases are those of §5.4.
//!
//! [OpenID Connect Core §5.3]: https://openid.net/specs/openid-connect-core-1_0.html#UserInfo

use serde_json::{json, Map, Value};

use super::introspect::{active_claims, Context};
use super::{OAuthError, Scope};
use crate::store::{ClientStore, RevocationStore, UserStore};

/// What the endpoint answers.
#[derive(Debug, PartialEq)]
pub enum Answer {
    /// The claims (200).
    Claims(Value),
    /// Not an active access token of this server for a user (401
    /// `invalid_token`, RFC 6750 §3.1).
    InvalidToken,
    /// The token lacks the `openid` scope (403 `insufficient_scope`).
    InsufficientScope,
}

/// Answers a UserInfo request made with `token`.
pub async fn handle<S: UserStore + ClientStore + RevocationStore>(
    ctx: &Context<'_, S>,
    token: &str,
) -> Result<Answer, OAuthError> {
    let Some(claims) = active_claims(ctx, token).await? else {
        return Ok(Answer::InvalidToken);
    };
    // (An access token this server signed: its scope was parsed when granted.)
    let granted = Scope::from_stored(claims.get("scope").and_then(Value::as_str).unwrap_or(""));
    if !granted.has("openid") {
        return Ok(Answer::InsufficientScope);
    }
    let Some(sub) = claims.get("sub").and_then(Value::as_str) else {
        return Ok(Answer::InvalidToken);
    };
    let Some(user) = ctx.store.user(sub).await? else {
        return Ok(Answer::InvalidToken);
    };
    let Some(client) = claims
        .get("client_id")
        .and_then(Value::as_str)
        .map(|id| ctx.clients.client(ctx.store, id, ctx.now))
    else {
        return Ok(Answer::InvalidToken);
    };
    let Some(client) = client.await? else {
        return Ok(Answer::InvalidToken);
    };
    // OpenID Connect Core §5.4: the claims the scopes release.
    let mut out = Map::new();
    out.insert("sub".into(), json!(user.id));
    let released = super::claims::Released::for_grant(&user, &client, &granted);
    for (name, value) in released.to_json() {
        if name != "roles" && (name != "preferred_username" || granted.has("profile")) {
            out.insert(name, value);
        }
    }
    Ok(Answer::Claims(Value::Object(out)))
}
