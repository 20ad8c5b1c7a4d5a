//! Pushed authorization requests ([RFC 9126]): a client sends the
//! authorization request's parameters straight to `/par`, authenticated,
//! and gets a short-lived `request_uri` to send the browser with instead;
//! the parameters never travel through the browser, so they can be neither
//! read nor changed there.
//!
//! At `/par` ([`push`], [RFC 9126 §2]):
//! 1. The form's parameters, each at most once.
//! 2. The client authenticates as at the token endpoint (§2.1); a public
//!    client is identified, and must then use PKCE like anywhere else.
//! 3. `request_uri` itself may not be pushed (§2.1). A DPoP proof sent
//!    with the push ([RFC 9449 §10.1]) binds the code to its key, as
//!    `dpop_jkt` would; sent with a `dpop_jkt`, both must name one key.
//! 4. Every rule of the authorization request ([`super::authorize`]) for
//!    this client; a broken one is answered here, as JSON (§2.3).
//! 5. The checked request is kept under the SHA-256 of a new random
//!    `urn:ietf:params:oauth:request_uri:...`, for [`PAR_TTL`] seconds
//!    (§2.2: 201 with `request_uri` and `expires_in`).
//!
//! At `/authorize` ([`pulled`], §4): `client_id` and `request_uri`, every
//! other parameter ignored; the pushed request must be this client's, not
//! expired and not used. It is used up when the sign-in it starts
//! completes, not when the page is first shown, so a reload of the sign-in
//! page does not spend it (the interaction's origin,
//! [`super::interaction::Origin::Pushed`], does it).
//!
//! [RFC 9126]: https://www.rfc-editor.org/rfc/rfc9126
//! [RFC 9126 §2]: https://www.rfc-editor.org/rfc/rfc9126#section-2
//! [RFC 9449 §10.1]: https://www.rfc-editor.org/rfc/rfc9449#section-10.1

use base64::Engine;
use tessera_jwt::KeySet;

use super::authorize::{self, AuthorizationRequest, AuthorizeError, Redirect, Refusal, Unkept};
use super::client_auth::{hash_secret, identify, Audience, PublicClients};
use super::{OAuthError, Params};
use crate::store::{
    AssertionStore, ClientStore, DpopProofStore, PushedRequest, PushedRequestStore, ResourceStore,
};

/// The prefix of every `request_uri` ([RFC 9126 §2.2]).
///
/// [RFC 9126 §2.2]: https://www.rfc-editor.org/rfc/rfc9126#section-2.2
pub const REQUEST_URI_PREFIX: &str = "urn:ietf:params:oauth:request_uri:";

/// How long a `request_uri` works, in seconds (§2.2: "a short lifetime",
/// between 5 and 600 seconds recommended).
pub const PAR_TTL: i64 = 90;

/// What `/par` needs.
pub struct ParContext<'a, S> {
    /// The store.
    pub store: &'a S,
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The keys that verify an `id_token_hint`.
    pub keys: &'a KeySet,
    /// Now.
    pub now: i64,
    /// Where clients are found.
    pub clients: &'a crate::clients::directory::Directory,
}

/// The answer to a push (§2.2).
#[derive(Debug, serde::Serialize)]
pub struct Pushed {
    /// Where the browser's `/authorize` request points.
    pub request_uri: String,
    /// Seconds it works for.
    pub expires_in: i64,
}

/// `POST /par` (steps 1-5 of the module).
pub async fn push<S: ClientStore + AssertionStore + PushedRequestStore + ResourceStore + DpopProofStore>(
    ctx: &ParContext<'_, S>,
    body: &[u8],
    authorization: Option<&str>,
    dpop: &[String],
) -> Result<Pushed, OAuthError> {
    // 1.
    let mut params = Params::parse(body)?;
    // 2.
    let audience = Audience {
        issuer: ctx.issuer,
        now: ctx.now,
        clients: ctx.clients,
    };
    let caller = identify(
        ctx.store,
        authorization,
        &mut params,
        PublicClients::Allowed,
        audience,
    )
    .await?;
    let client_id = caller.client().id.clone();
    // 3.
    if params.get("request_uri").is_some() {
        return Err(OAuthError::PushedRequestRefused(AuthorizeError::RequestUriPushed));
    }
    let url = super::dpop::endpoint(ctx.issuer, "/par");
    let proved = super::dpop::at_post_endpoint(ctx.store, dpop, &url, ctx.now).await?;
    let named = params.get("dpop_jkt");
    if let (Some(proved), Some(named)) = (&proved, named) {
        if !proved.matches(named) {
            return Err(OAuthError::InvalidDpopProof(
                super::dpop::DpopError::NotTheNamedKey,
            ));
        }
    }
    let proved_jkt = match (&proved, named) {
        (Some(proved), None) => Some(proved.as_str()),
        _ => None,
    };
    // 4. The authorization request's rules, for the authenticated client.
    // (client authentication took `client_id` out of the parameters.)
    let request_params = Params::from_pairs(
        params
            .pairs()
            .map(|(name, value)| (name, Some(value)))
            .chain([("client_id", Some(client_id.as_str()))])
            .chain(proved_jkt.map(|jkt| ("dpop_jkt", Some(jkt)))),
    );
    let request = authorize::check_params(
        ctx.store,
        ctx.clients,
        ctx.keys,
        ctx.issuer,
        &request_params,
        None,
        ctx.now,
    )
    .await
    .map_err(|refusal| match refusal {
        Refusal::Page(e) | Refusal::Redirect(Redirect { error: e, .. }) => {
            OAuthError::PushedRequestRefused(e)
        }
    })?;
    // 5.
    let random = crate::random::base64url(32).ok_or_else(|| OAuthError::Internal("no randomness".into()))?;
    let request_uri = format!("{REQUEST_URI_PREFIX}{random}");
    let kept = request
        .to_kept()
        .map_err(|e| OAuthError::Internal(format!("keeping the request: {e}")))?;
    let pushed = PushedRequest {
        client_id: client_id.clone(),
        request: kept,
        expires_at: ctx.now + PAR_TTL,
    };
    ctx.store
        .push_request(&hash_secret(&request_uri), &pushed)
        .await?;
    tracing::info!(target: "audit", client_id = %client_id, "authorization request pushed");
    Ok(Pushed {
        request_uri,
        expires_in: PAR_TTL,
    })
}

/// The pushed request a front-channel `/authorize` request names, checked
/// again against the client as it is now; with the `request_uri`'s hash
/// (base64url), which the interaction keeps to use it up at the end.
pub async fn pulled<S: ClientStore + PushedRequestStore + ResourceStore>(
    store: &S,
    clients: &crate::clients::directory::Directory,
    params: &Params,
    repeated: Option<&'static str>,
    now: i64,
) -> Result<(AuthorizationRequest, String), Refusal> {
    if let Some(name) = repeated.filter(|n| *n == "client_id" || *n == "request_uri") {
        return Err(Refusal::Page(AuthorizeError::RepeatedClientParameter(name)));
    }
    let client_id = params
        .get("client_id")
        .ok_or(Refusal::Page(AuthorizeError::MissingClientId))?;
    let uri = params
        .get("request_uri")
        .ok_or(Refusal::Page(AuthorizeError::BadRequestUri))?;
    let hash = hash_secret(uri);
    let pushed = store.pushed_request(&hash, now).await.map_err(|e| {
        tracing::error!("authorize: reading a pushed request failed: {e}");
        Refusal::Page(AuthorizeError::ClientUnavailable)
    })?;
    // Another client's request_uri is the same as none (§4: "the
    // authorization server MUST verify ... that the client_id ... matches").
    let Some(pushed) = pushed.filter(|p| p.client_id == client_id) else {
        return Err(Refusal::Page(AuthorizeError::BadRequestUri));
    };
    let request = match AuthorizationRequest::from_kept(store, clients, &pushed.request, now).await {
        Ok(request) => request,
        Err(Unkept::Refused(refusal)) => return Err(refusal),
        Err(Unkept::Unreadable(_)) => return Err(Refusal::Page(AuthorizeError::BadRequestUri)),
    };
    Ok((
        request,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash),
    ))
}

/// Uses up the pushed request whose `request_uri` hash (base64url) an
/// interaction kept; whether it was still there.
pub async fn use_up<S: PushedRequestStore>(store: &S, uri_hash: &str) -> Result<bool, OAuthError> {
    let Ok(hash) = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(uri_hash) else {
        return Ok(false);
    };
    Ok(store.use_pushed_request(&hash).await?)
}
