//! The end-session endpoint (OpenID Connect RP-Initiated Logout 1.0),
//! GET and POST. The checks live in [`crate::oauth::logout`]. A request
//! whose `id_token_hint` names the signed-in user signs out at once;
//! otherwise the user confirms on a page (a CSRF-protected form), so a
//! link on another site cannot sign anyone out. Signing out revokes the
//! refresh tokens the session issued (not `offline_access` ones), deletes
//! the session and its cookie, then goes back to a registered
//! `post_logout_redirect_uri` (with `state`) or shows a page.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tessera_jwt::UnixTime;

use super::browser::{self, append_cookie, page, see_other};
use super::AppState;
use crate::oauth::authorize::redirect_url;
use crate::oauth::interaction;
use crate::oauth::logout::{self, LogoutRequest};
use crate::ui;

/// `GET /logout`.
pub(super) async fn get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    start(&state, &headers, query.as_deref().unwrap_or("")).await
}

/// `POST /logout` (a form, §2: "MUST support the use of the HTTP GET and
/// POST methods").
pub(super) async fn post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match browser::form_body(&headers, &body) {
        Ok(body) => start(&state, &headers, body).await,
        Err(message) => page(StatusCode::BAD_REQUEST, ui::error(message), &[]),
    }
}

/// `POST /logout/confirm`: the confirmation form.
pub(super) async fn confirm(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let form = match browser::form(&headers, &body) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let raw = form.get("request").unwrap_or("");
    // The token is derived from this browser's binding secret and the
    // request it confirms (see `oauth::interaction::csrf_token`).
    let binding = match browser::existing_binding(&state, &headers) {
        Ok(binding) => binding,
        Err(response) => return *response,
    };
    let purpose = format!("logout\0{raw}");
    let sent = form.get("csrf").unwrap_or("");
    if !binding.is_some_and(|b| interaction::csrf_ok(b, &purpose, sent)) {
        tracing::warn!(target: "audit", "logout confirmation refused: bad CSRF token");
        return page(
            StatusCode::FORBIDDEN,
            ui::error("This form did not come from this site. Go back to the application and start again."),
            &[],
        );
    }
    match check(&state, raw).await {
        Ok(request) => sign_out(&state, &headers, &request).await,
        Err(response) => response,
    }
}

async fn check(state: &AppState, raw: &str) -> Result<LogoutRequest, Response> {
    let keys = state.keys();
    let now = UnixTime::now().as_secs();
    logout::check(&state.store, &keys.verify, &state.issuer, raw.as_bytes(), now)
        .await
        .map_err(|message| page(StatusCode::BAD_REQUEST, ui::error(&message), &[]))
}

async fn start(state: &AppState, headers: &HeaderMap, raw: &str) -> Response {
    let request = match check(state, raw).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let cookie = match browser::session_value(state, headers) {
        Ok(cookie) => cookie,
        Err(response) => return *response,
    };
    let proven = match logout::proven(&state.store, &request, cookie, now).await {
        Ok(proven) => proven,
        Err(e) => return browser::internal(&e.into()),
    };
    if proven {
        return sign_out(state, headers, &request).await;
    }
    let (binding, set) = match browser::binding(state, headers) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    let csrf = interaction::csrf_token(&binding, &format!("logout\0{raw}"));
    let client_name = request.client.as_ref().map(|c| c.name.as_str());
    let cookies: Vec<String> = set.into_iter().collect();
    page(
        StatusCode::OK,
        ui::logout_confirm(raw, &csrf, client_name),
        &cookies,
    )
}

/// Signs out ([`logout::sign_out`]), clears the cookie, and goes back to
/// the client or shows a page.
async fn sign_out(state: &AppState, headers: &HeaderMap, request: &LogoutRequest) -> Response {
    let cookie = browser::session_value(state, headers).ok().flatten();
    if let Err(e) = logout::sign_out(&state.store, request, cookie, UnixTime::now().as_secs()).await {
        return browser::internal(&e.into());
    }
    let mut response = match &request.post_logout_redirect_uri {
        Some(uri) => {
            let params: Vec<(&str, &str)> = request.state.iter().map(|s| ("state", s.as_str())).collect();
            let url = if params.is_empty() {
                uri.clone()
            } else {
                redirect_url(uri, &params)
            };
            see_other(&url)
        }
        None => page(StatusCode::OK, ui::signed_out(), &[]),
    };
    append_cookie(&mut response, &browser::session_cookie(state, "", 0));
    response
}
