//! The UserInfo endpoint ([OpenID Connect Core §5.3]): the signed-in
//! user's claims, for an access token of this server that was granted
//! `openid`; the claims each scope releases are those of §5.4.
//!
//! A DPoP-bound token (`cnf.jkt`, [RFC 9449 §7]) is accepted only as
//! `Authorization: DPoP` with a proof for this request (`htm`, `htu` the
//! configured issuer's `/userinfo`, `ath` the token's hash) made with the
//! key it is bound to, used once; sent as a bearer token it is refused
//! with a `DPoP` challenge, and so is an unbound token sent as `DPoP`.
//!
//! [OpenID Connect Core §5.3]: https://openid.net/specs/openid-connect-core-1_0.html#UserInfo
//! [RFC 9449 §7]: https://www.rfc-editor.org/rfc/rfc9449#section-7

use serde_json::{json, Map, Value};

use super::dpop;
use super::introspect::{active_claims, Context};
use super::{OAuthError, Scope};
use crate::store::{ClientStore, DpopProofStore, RevocationStore, UserStore};

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
    /// A DPoP-bound token sent as a bearer token, or an unbound one sent as
    /// a DPoP token (401 `invalid_token`, `DPoP` challenge).
    WrongScheme,
    /// The DPoP proof was refused or missing (401 `invalid_dpop_proof`).
    InvalidDpopProof(&'static str),
}

/// How the token was presented.
#[derive(Clone, Copy, Debug)]
pub enum Presented<'a> {
    /// `Authorization: Bearer`, or the form body.
    Bearer(&'a str),
    /// `Authorization: DPoP`, with the `DPoP` headers sent and the request
    /// method.
    Dpop {
        /// The token.
        token: &'a str,
        /// Every `DPoP` header.
        proofs: &'a [String],
        /// The request's method.
        method: &'a str,
    },
}

/// Answers a UserInfo request made with `token`.
pub async fn handle<S: UserStore + ClientStore + RevocationStore + DpopProofStore>(
    ctx: &Context<'_, S>,
    presented: Presented<'_>,
) -> Result<Answer, OAuthError> {
    let token = match presented {
        Presented::Bearer(token) | Presented::Dpop { token, .. } => token,
    };
    let Some(claims) = active_claims(ctx, token).await? else {
        return Ok(Answer::InvalidToken);
    };
    // RFC 9449 §7: a bound token only with a proof by its key.
    let bound = claims
        .get("cnf")
        .and_then(|c| c.get("jkt"))
        .and_then(Value::as_str);
    match (presented, bound) {
        (Presented::Bearer(_), None) => {}
        (Presented::Bearer(_), Some(_)) | (Presented::Dpop { .. }, None) => return Ok(Answer::WrongScheme),
        (Presented::Dpop { proofs, method, .. }, Some(bound)) => {
            let url = dpop::endpoint(ctx.issuer, "/userinfo");
            let request = dpop::Request {
                method,
                url: &url,
                access_token: Some(token),
                now: ctx.now,
            };
            match dpop::check(ctx.store, proofs, request).await {
                Ok(Some(jkt)) if jkt.matches(bound) => {}
                Ok(Some(_)) => {
                    return Ok(Answer::InvalidDpopProof(
                        "the DPoP proof is not made with the key the token is bound to",
                    ))
                }
                Ok(None) => return Ok(Answer::InvalidDpopProof("a DPoP proof is required")),
                Err(e) => return Ok(Answer::InvalidDpopProof(e.description())),
            }
        }
    }
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
