//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0),
//! GET and POST, and its confirmation form. Each handler reads the
//! browser's cookies and the request, calls its step in
//! [`crate::oauth::logout`] (where the rules live), and renders the
//! [`Answer`]: a 303 back to the client or a page, with the session cookie
//! cleared once signed out.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

use super::browser::{self, page, see_other, BrowserForm};
use super::client_ip::ClientIp;
use super::cookie::Cookie;
use super::AppState;
use crate::oauth::logout::{self, Answer};
use crate::oauth::OAuthError;
use crate::ui;

/// `GET /logout`.
pub(super) async fn get(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    start(&state, &headers, peer, query.as_deref().unwrap_or("")).await
}

/// `POST /logout` (a form, §2: "MUST support the use of the HTTP GET and
/// POST methods").
pub(super) async fn post(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match browser::form_body(&headers, &body) {
        Ok(body) => start(&state, &headers, peer, body).await,
        Err(message) => page(StatusCode::BAD_REQUEST, ui::error(message), &[]),
    }
}

async fn start(state: &AppState, headers: &HeaderMap, peer: Option<std::net::IpAddr>, raw: &str) -> Response {
    let browser = match browser::presented(state, headers, peer) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    let keys = state.keys();
    render(state, logout::start(&state.flow(&keys), raw, browser).await)
}

/// `POST /logout/confirm`: the confirmation form.
pub(super) async fn confirm(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let keys = state.keys();
    let raw = sent.form.get("request").unwrap_or("");
    let csrf = sent.form.get("csrf").unwrap_or("");
    render(
        &state,
        logout::confirm(&state.flow(&keys), raw, csrf, sent.browser()).await,
    )
}

/// A step's answer as HTTP.
fn render(state: &AppState, answer: Result<Answer, OAuthError>) -> Response {
    match answer {
        Ok(Answer::SignedOut { redirect }) => {
            let delete = match Cookie::Session.delete(browser::https(state)) {
                Ok(delete) => delete,
                Err(e) => return browser::internal(&OAuthError::Internal(e.to_string())),
            };
            let mut response = match redirect {
                Some(url) => see_other(&url),
                None => page(StatusCode::OK, ui::signed_out(), &[]),
            };
            delete.append_to(&mut response);
            response
        }
        Ok(Answer::Confirm {
            request,
            csrf,
            client_name,
            returns_to,
            new_binding,
        }) => {
            let cookies: Result<Vec<_>, _> = new_binding
                .iter()
                .map(|b| Cookie::Binding.set(browser::https(state), b))
                .collect();
            let cookies = match cookies {
                Ok(cookies) => cookies,
                Err(e) => return browser::internal(&OAuthError::Internal(e.to_string())),
            };
            let targets: Vec<String> = returns_to
                .as_deref()
                .and_then(ui::form_target)
                .into_iter()
                .collect();
            browser::page_to(
                StatusCode::OK,
                ui::logout_confirm(&request, &csrf, client_name.as_deref()),
                &cookies,
                &targets,
            )
        }
        Ok(Answer::Refused(message)) => page(StatusCode::BAD_REQUEST, ui::error(&message), &[]),
        Ok(Answer::Forged) => page(
            StatusCode::FORBIDDEN,
            ui::error("This form did not come from this site. Go back to the application and start again."),
            &[],
        ),
        Err(e) => browser::internal(&e),
    }
}
