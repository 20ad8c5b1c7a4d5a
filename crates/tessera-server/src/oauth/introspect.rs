//! Token introspection ([RFC 7662]): a resource server asks whether a token
//! is active and what it says.
//!
//! 1. The caller is an authenticated confidential client (§2.1: "the
//!    endpoint MUST also require some form of authorization").
//! 2. `token` is required; `token_type_hint` may be ignored (§2.1).
//! 3. A token that fails any check (signature, issuer, `typ`, expiry) or
//!    was revoked is `{"active": false}`, with nothing else (§2.2).
//! 4. An active access token's claims are returned with `active: true` and
//!    `token_type: Bearer`. Refresh tokens are for the client that holds
//!    them, not for resource servers: they introspect as inactive.
//!
//! [RFC 7662]: https://www.rfc-editor.org/rfc/rfc7662

use serde_json::{Map, Value};
use tessera_jwt::{KeySet, UnixTime, Validation};

use super::{authenticate, OAuthError, Params};
use crate::store::{ClientStore, RevocationStore};

/// What introspection needs from the server.
pub struct Context<'a, S> {
    /// The store.
    pub store: &'a S,
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The server's published keys.
    pub keys: &'a KeySet,
    /// Now, in seconds since the epoch.
    pub now: i64,
}

/// Verifies one of this server's access tokens, without the audience check
/// (the audience is reported, not checked). `None` when not active.
pub(crate) async fn active_claims<S: RevocationStore>(
    ctx: &Context<'_, S>,
    token: &str,
) -> Result<Option<Map<String, Value>>, OAuthError> {
    let rules = Validation::new()
        .issuer(ctx.issuer)
        .typ("at+jwt")
        .ignore_audience()
        .leeway(0);
    let Ok(verified) = ctx
        .keys
        .verify::<Map<String, Value>>(token, &rules, UnixTime::from_secs(ctx.now))
    else {
        return Ok(None);
    };
    let claims = verified.into_claims();
    let revoked = match claims.get("jti").and_then(Value::as_str) {
        Some(jti) => ctx.store.is_revoked(jti).await?,
        None => false,
    };
    Ok((!revoked).then_some(claims))
}

/// Handles an introspection request.
pub async fn handle<S: ClientStore + RevocationStore>(
    ctx: &Context<'_, S>,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<Value, OAuthError> {
    let mut params = Params::parse(body)?;
    authenticate(ctx.store, authorization, &mut params).await?;
    let token = params.require("token")?;
    let Some(mut claims) = active_claims(ctx, token).await? else {
        return Ok(serde_json::json!({"active": false}));
    };
    claims.insert("active".into(), Value::Bool(true));
    claims.insert("token_type".into(), Value::from("Bearer"));
    if let Some(name) = claims.get("preferred_username").cloned() {
        claims.entry("username").or_insert(name);
    }
    Ok(Value::Object(claims))
}
