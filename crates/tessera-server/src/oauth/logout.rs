//! RP-initiated logout ([OpenID Connect RP-Initiated Logout 1.0 §2, §3]):
//! a client sends the user to the end-session endpoint to sign out of
//! Tessera too, and may ask to be sent back.
//!
//! 1. Each parameter at most once.
//! 2. `id_token_hint`, when sent, must be an ID token this server signed
//!    (signature, `typ` not an access token's, `iss`, `aud`; an expired one
//!    is still a good hint, §2). It names the client (`aud`) and the user
//!    (`sub`).
//! 3. `client_id`, when sent with a hint, must be the hint's audience.
//! 4. `post_logout_redirect_uri` needs a client (from the hint or
//!    `client_id`) and must be one it registered, compared exactly (§3);
//!    otherwise the user stays on Tessera's page: never an open redirect.
//! 5. `state` goes back with the redirect.
//!
//! The endpoint's steps, like the sign-in's ([`super::interaction::flow`]),
//! take what the browser presented and return an [`Answer`]:
//!
//! - [`start`]: a request that proves who asks ([`proven`]) signs out at
//!   once; otherwise the user is asked to confirm, with a form whose CSRF
//!   token is bound to this browser and this request, so a link on another
//!   site cannot sign anyone out.
//! - [`confirm`]: the confirmation form; its token is checked, then the
//!   request again, then the user is signed out ([`sign_out`]).
//!
//! [OpenID Connect RP-Initiated Logout 1.0 §2, §3]: https://openid.net/specs/openid-connect-rpinitiated-1_0.html

use crate::audit::{self, Actor, AuditKind, Event};
use tessera_jwt::KeySet;

use super::authorize::redirect_url;
use super::client_auth::hash_secret;
use super::id_token::HintUse;
use super::interaction::flow::{Browser, Ctx};
use super::interaction::{binding_for, csrf_ok, csrf_token};
use super::{OAuthError, Params};
use crate::store::{Client, ClientStore, RefreshTokenStore, SessionStore, StoreError};

/// What the end-session endpoint does with the browser.
#[derive(Debug, PartialEq, Eq)]
pub enum Answer {
    /// Signed out: clear the session cookie, then go back to the client
    /// (`post_logout_redirect_uri` with `state`) or show Tessera's page.
    SignedOut {
        /// Where to send the browser, if the client asked and may.
        redirect: Option<String>,
    },
    /// Ask the user to confirm.
    Confirm {
        /// The request, carried by the form to [`confirm`].
        request: String,
        /// The form's CSRF token.
        csrf: String,
        /// The client's display name, when known.
        client_name: Option<String>,
        /// Where the confirmed form's 303 goes, when the request names a
        /// registered place (the page's CSP `form-action` allows it).
        returns_to: Option<String>,
        /// A new binding secret to give the browser.
        new_binding: Option<String>,
    },
    /// The request is wrong; the text says why.
    Refused(String),
    /// The confirmation form did not come from this browser.
    Forged,
}

/// The purpose a confirmation form's CSRF token is bound to.
fn purpose(raw: &str) -> String {
    format!("logout\0{raw}")
}

/// `/logout` with the request's parameters `raw`.
pub async fn start<S: ClientStore + SessionStore + RefreshTokenStore>(
    ctx: &Ctx<'_, S>,
    raw: &str,
    browser: Browser<'_>,
) -> Result<Answer, OAuthError> {
    let request = match check(ctx.store, ctx.keys, ctx.issuer, raw.as_bytes(), ctx.now).await {
        Ok(request) => request,
        Err(message) => return Ok(Answer::Refused(message)),
    };
    if proven(ctx.store, &request, browser.session, ctx.now).await? {
        return signed_out(ctx, &request, browser).await;
    }
    let (binding, new_binding) = binding_for(browser.binding)?;
    Ok(Answer::Confirm {
        request: raw.to_owned(),
        csrf: csrf_token(&binding, &purpose(raw)),
        returns_to: request.post_logout_redirect_uri,
        client_name: request.client.map(|c| c.name),
        new_binding,
    })
}

/// The confirmation form: the request `raw` it carries and its CSRF token.
pub async fn confirm<S: ClientStore + SessionStore + RefreshTokenStore>(
    ctx: &Ctx<'_, S>,
    raw: &str,
    csrf: &str,
    browser: Browser<'_>,
) -> Result<Answer, OAuthError> {
    if !browser.binding.is_some_and(|b| csrf_ok(b, &purpose(raw), csrf)) {
        tracing::warn!(target: "audit", "logout confirmation refused: bad CSRF token");
        return Ok(Answer::Forged);
    }
    match check(ctx.store, ctx.keys, ctx.issuer, raw.as_bytes(), ctx.now).await {
        Ok(request) => signed_out(ctx, &request, browser).await,
        Err(message) => Ok(Answer::Refused(message)),
    }
}

async fn signed_out<S: SessionStore + RefreshTokenStore>(
    ctx: &Ctx<'_, S>,
    request: &LogoutRequest,
    browser: Browser<'_>,
) -> Result<Answer, OAuthError> {
    sign_out(ctx.store, request, browser.session, ctx.now).await?;
    let redirect = request
        .post_logout_redirect_uri
        .as_ref()
        .map(|uri| match &request.state {
            Some(state) => redirect_url(uri, &[("state", state.as_str())]),
            None => uri.clone(),
        });
    Ok(Answer::SignedOut { redirect })
}

/// A checked logout request.
#[derive(Debug)]
pub struct LogoutRequest {
    /// The user the hint names, if a hint was sent.
    pub hint_subject: Option<String>,
    /// Where to send the user afterwards, if allowed.
    pub post_logout_redirect_uri: Option<String>,
    /// Returned with the redirect.
    pub state: Option<String>,
    /// The client, when known.
    pub client: Option<Client>,
}

/// Checks the request's parameters; the error is shown to the user.
pub async fn check<S: ClientStore>(
    store: &S,
    keys: &KeySet,
    issuer: &str,
    query: &[u8],
    now: i64,
) -> Result<LogoutRequest, String> {
    // 1.
    let (params, repeated) = Params::parse_browser(query);
    if let Some(name) = repeated {
        return Err(format!("the parameter {name} is repeated"));
    }
    // 2.
    let mut hint_subject = None;
    let mut hint_audiences = Vec::new();
    if let Some(hint) = params.get("id_token_hint") {
        let (sub, audiences) = super::id_token::hint(keys, issuer, hint, HintUse::Logout, now)
            .ok_or_else(|| "the id_token_hint is not an ID token from this server".to_owned())?;
        hint_subject = Some(sub);
        hint_audiences = audiences;
    }
    // 3.
    let client_id = match (params.get("client_id"), hint_audiences.first()) {
        (Some(id), _) if !hint_audiences.is_empty() && !hint_audiences.iter().any(|a| a == id) => {
            return Err("client_id is not the id_token_hint's audience".into())
        }
        (Some(id), _) => Some(id.to_owned()),
        (None, Some(aud)) => Some(aud.clone()),
        (None, None) => None,
    };
    let client = match &client_id {
        Some(id) => store
            .client(id)
            .await
            .map_err(|_| "the server could not read the client".to_owned())?,
        None => None,
    };
    // 4.
    let post_logout_redirect_uri = match params.get("post_logout_redirect_uri") {
        None => None,
        Some(uri) => match &client {
            Some(c) if c.post_logout_redirect_uris.iter().any(|r| r == uri) => Some(uri.to_owned()),
            Some(_) => return Err("the post_logout_redirect_uri is not registered for this client".into()),
            None => {
                return Err(
                    "post_logout_redirect_uri needs id_token_hint or client_id to name the client".into(),
                )
            }
        },
    };
    // 5.
    Ok(LogoutRequest {
        hint_subject,
        post_logout_redirect_uri,
        state: params.get("state").map(str::to_owned),
        client,
    })
}

/// Whether the request proves who asks to sign out, so no confirmation is
/// needed (§2: the OP "SHOULD ask the End-User whether to log out"): no
/// session to end, or an `id_token_hint` naming the signed-in user.
pub async fn proven<S: SessionStore>(
    store: &S,
    request: &LogoutRequest,
    session_cookie: Option<&str>,
    now: i64,
) -> Result<bool, StoreError> {
    let session = match session_cookie {
        Some(value) => store.session(&hash_secret(value), now).await?,
        None => None,
    };
    Ok(match (&session, &request.hint_subject) {
        (None, _) => true,
        (Some(s), Some(sub)) => s.user_id == *sub,
        (Some(_), None) => false,
    })
}

/// Ends the SSO session the cookie names: the refresh tokens it issued
/// (except those granted `offline_access`, which are meant to outlive it:
/// OpenID Connect Core §11), then the session itself.
pub async fn sign_out<S: SessionStore + RefreshTokenStore>(
    store: &S,
    request: &LogoutRequest,
    session_cookie: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    if let Some(value) = session_cookie {
        let hash = hash_secret(value);
        if let Some(session) = store.session(&hash, now).await? {
            let n = store.revoke_session_grants(&session.sid, now).await?;
            let event = Event::new(
                AuditKind::SessionEnded,
                now,
                Actor::User,
                "signed out; session grants revoked",
            )
            .user(&session.user_id)
            .client_opt(request.client.as_ref().map(|c| c.id.as_str()))
            .with("sid", session.sid.as_str())
            .with("families_revoked", n);
            audit::record(store, event).await;
        }
        store.delete_session(&hash).await?;
    }
    tracing::info!(target: "audit", client_id = ?request.client.as_ref().map(|c| &c.id), "signed out");
    Ok(())
}
