//! Signing in through an upstream provider (see
//! [`crate::oauth::interaction::upstream`]): the sign-in page's "Continue
//! with …" form, the provider's callback, and the link page's form. Each
//! reads the browser and calls its step; [`super::authorize::render`]
//! renders the answer.

use std::sync::Arc;

use axum::extract::{Path, State};
use axum::response::Response;
use zeroize::Zeroizing;

use super::authorize::render;
use super::browser::{BrowserForm, BrowserQuery};
use super::AppState;
use crate::oauth::interaction::upstream::{self, LinkChoice};

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
    Path(id): Path<String>,
    sent: BrowserQuery,
) -> Response {
    let keys = state.keys();
    let answer = upstream::arrive(
        &state.flow(&keys),
        &state.upstreams,
        sent.browser(),
        &id,
        &sent.query,
    )
    .await;
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
