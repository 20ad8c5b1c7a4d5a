//! `/userinfo` (GET and POST, OpenID Connect Core §5.3.1): the access
//! token in `Authorization: Bearer` (RFC 6750 §2.1) or, for POST, in the
//! form body (§2.2); never both, never in the URI (RFC 9700 §4.3.2).
//! Errors are RFC 6750 §3 challenges.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::{content_type_is, error, introspection_context, json, AppState};
use crate::oauth::userinfo::{self, Answer};
use crate::oauth::Params;

/// Both methods.
pub(super) async fn userinfo(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let token = match bearer_token(&method, &headers, &body) {
        Ok(Some(token)) => token,
        Ok(None) => return challenge(StatusCode::UNAUTHORIZED, None),
        Err(description) => {
            return challenge(StatusCode::BAD_REQUEST, Some(("invalid_request", description)))
        }
    };
    let keys = state.keys();
    match userinfo::handle(&introspection_context(&state, &keys), &token).await {
        Ok(Answer::Claims(claims)) => json(StatusCode::OK, claims.to_string(), "no-store"),
        Ok(Answer::InvalidToken) => challenge(
            StatusCode::UNAUTHORIZED,
            Some((
                "invalid_token",
                "the access token is invalid, expired, revoked or not a user's",
            )),
        ),
        Ok(Answer::InsufficientScope) => challenge(
            StatusCode::FORBIDDEN,
            Some(("insufficient_scope", "the access token lacks the openid scope")),
        ),
        Err(e) => error::render(&e),
    }
}

/// The token, from the header or the form body; `None` when there is none.
fn bearer_token(
    method: &Method,
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<Option<String>, &'static str> {
    let mut found = bearer_header(headers)?.map(str::to_owned);
    if method == Method::POST && content_type_is(headers, "application/x-www-form-urlencoded") {
        let body = body.as_ref().map_err(|_| "the body is too large")?;
        let params = Params::parse(body).map_err(|_| "the body is not valid form data")?;
        if let Some(token) = params.get("access_token") {
            if found.is_some() {
                return Err("send the access token one way only (RFC 6750 §2)");
            }
            found = Some(token.to_owned());
        }
    }
    Ok(found)
}

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1);
/// `None` without one; an error for a malformed or repeated header.
pub(super) fn bearer_header(headers: &HeaderMap) -> Result<Option<&str>, &'static str> {
    let mut values = headers.get_all(header::AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err("send one Authorization header");
    }
    let value = value
        .to_str()
        .map_err(|_| "the Authorization header is not ASCII")?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err("use Authorization: Bearer <access token>");
    }
    Ok(Some(token.trim()))
}

/// An RFC 6750 §3 challenge, with the same error as JSON.
fn challenge(status: StatusCode, error: Option<(&str, &str)>) -> Response {
    let (value, body) = match error {
        Some((code, description)) => (
            format!("Bearer realm=\"tessera\", error=\"{code}\", error_description=\"{description}\""),
            serde_json::json!({"error": code, "error_description": description}).to_string(),
        ),
        None => ("Bearer realm=\"tessera\"".to_owned(), String::new()),
    };
    let mut r = (status, body).into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
