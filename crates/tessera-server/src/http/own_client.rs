//! What the pages of Tessera's own clients (`/account`, `/admin`) share
//! over HTTP ([`crate::own_client`]): sending a browser to sign in, and
//! the callback it comes back to.

use axum::http::StatusCode;
use axum::response::Response;
use tessera_jwt::UnixTime;

use super::browser::{self, page, see_other, BrowserQuery};
use super::cookie::Cookie;
use super::AppState;
use crate::oauth::interaction::binding_for;
use crate::oauth::token::TokenContext;
use crate::own_client::{self, Need, OwnClient, SignInError};
use crate::ui;

/// A page for an error no request should meet (storage, randomness).
pub(super) fn failed(client: &OwnClient, e: &dyn std::fmt::Display) -> Response {
    tracing::error!(
        client_id = client.client_id,
        "sign-in to a page of Tessera's own failed: {e}"
    );
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        ui::error(&format!(
            "The server could not show this page. Open {} to try again.",
            client.home
        )),
        &[],
    )
}

/// Sends the browser to sign in to `client`'s pages, asking for what
/// `need` says, then to `then`, giving it a binding cookie if it has none.
pub(super) fn sign_in_first(
    state: &AppState,
    client: &OwnClient,
    binding: Option<&str>,
    then: &str,
    need: Need,
) -> Response {
    let (binding, new_binding) = match binding_for(binding) {
        Ok(b) => b,
        Err(e) => return browser::internal(&e),
    };
    let url = match client.start(&state.issuer, &binding, then, need) {
        Ok(url) => url,
        Err(e) => return failed(client, &e),
    };
    let mut response = see_other(&url);
    if let Some(value) = new_binding {
        match Cookie::Binding.set(browser::https(state), &value) {
            Ok(cookie) => cookie.append_to(&mut response),
            Err(e) => return browser::internal(&crate::oauth::OAuthError::Internal(e.to_string())),
        }
    }
    response
}

/// `GET {client.callback}`: back from `/authorize`. Redeems the code for
/// the sign-in this browser started and gives the place its `state`
/// names (read by `place`), or the page that says why not.
pub(super) async fn callback<T>(
    state: &AppState,
    client: &OwnClient,
    sent: &BrowserQuery,
    place: impl FnOnce(&str) -> Option<T>,
) -> Result<T, Response> {
    let browser = sent.browser();
    let (Some(code), Some(state_param)) = (sent.query.get("code"), sent.query.get("state")) else {
        // An error from /authorize (the person cancelled, or a policy
        // refused): say so, with a way back.
        let why = sent.query.get("error").unwrap_or("invalid_request");
        tracing::info!(target: "audit", client_id = client.client_id, error = why, "sign-in to a page of Tessera's own did not complete");
        return Err(page(
            StatusCode::BAD_REQUEST,
            ui::error(&format!(
                "The sign-in did not complete. Open {} to try again.",
                client.home
            )),
            &[],
        ));
    };
    let now = UnixTime::now().as_secs();
    let session = match own_client::signed_in(&state.store, browser.session, now).await {
        Ok(s) => s,
        Err(e) => return Err(failed(client, &e)),
    };
    let keys = state.keys();
    let ctx = TokenContext {
        store: &state.store,
        issue: state.issue(&keys, browser.peer),
        id_signer: &keys.id_tokens,
    };
    match client
        .finish(&ctx, browser.binding, code, state_param, session.as_ref(), place)
        .await
    {
        Ok(then) => Ok(then),
        Err(SignInError::NotThisBrowser | SignInError::Code(_)) => Err(page(
            StatusCode::BAD_REQUEST,
            ui::error(&format!(
                "This sign-in link is not valid in this browser, or was already used. Open {} to try again.",
                client.home
            )),
            &[],
        )),
        Err(e) => Err(failed(client, &e)),
    }
}
