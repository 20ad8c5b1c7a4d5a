//! Signing in through an upstream provider (see
//! [`crate::oauth::interaction::upstream`]): the sign-in page's "Continue
//! with …" form, the provider's callback, and the link page's form. Each
//! reads the browser and calls its step; [`super::authorize::render`]
//! renders the answer.

use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use zeroize::Zeroizing;

use super::authorize::render;
use super::browser::{self, page, BrowserForm};
use super::client_ip::ClientIp;
use super::AppState;
use crate::oauth::interaction::upstream::{self, LinkChoice};
use crate::oauth::Params;
use crate::ui;

/// `POST /authorize/upstream`: go to the provider the button names.
pub(super) async fn leave(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let keys = state.keys();
    let provider = sent.form.get("provider").unwrap_or("");
    let answer = upstream::leave(
        &state.flow(&keys),
        &state.upstreams,
        sent.browser(),
        sent.step(),
        provider,
    )
    .await;
    render(&state, answer)
}

/// `GET /upstream/{id}/callback`: the provider's authorization response.
pub(super) async fn callback(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    let query = match Params::parse(query.as_deref().unwrap_or("").as_bytes()) {
        Ok(query) => query,
        Err(e) => return page(StatusCode::BAD_REQUEST, ui::error(&e.to_string()), &[]),
    };
    let browser = match browser::presented(&state, &headers, peer) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    let keys = state.keys();
    let answer = upstream::arrive(&state.flow(&keys), &state.upstreams, browser, &id, &query).await;
    render(&state, answer)
}

/// `POST /authorize/link`: prove the account with the provider's email, or
/// take a new one.
pub(super) async fn link(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let keys = state.keys();
    let browser = sent.browser();
    let issue = state.issue(&keys, browser.peer);
    let choice = match sent.form.get("decision") {
        Some("new") => LinkChoice::New,
        _ => LinkChoice::Prove {
            username: sent.form.get("username"),
            password: sent.form.get("password").map(|p| Zeroizing::new(p.to_owned())),
        },
    };
    let answer = upstream::link(
        &state.flow(&keys),
        &state.upstreams,
        &issue,
        browser,
        sent.step(),
        choice,
    )
    .await;
    render(&state, answer)
}
