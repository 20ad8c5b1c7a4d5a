//! The one place protocol errors become HTTP responses ([RFC 6749 §5.2]):
//! a JSON body with `error` and `error_description`, `Cache-Control:
//! no-store`, and `WWW-Authenticate` on 401. Internal faults are logged
//! with their detail and answered with fixed text.
//!
//! [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA, RETRY_AFTER, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::oauth::OAuthError;

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        render(&self)
    }
}

/// Renders a protocol error.
fn render(e: &OAuthError) -> Response {
    let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    if status == StatusCode::INTERNAL_SERVER_ERROR {
        tracing::error!(error = ?e, "internal error");
    }
    if let OAuthError::Store(store) = e {
        if store.is_unavailable() {
            tracing::warn!("database unreachable: {store}");
        }
    }
    let body = serde_json::json!({"error": e.code(), "error_description": e.description()}).to_string();
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
    if let Some(seconds) = e.retry_after() {
        headers.insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    if status == StatusCode::UNAUTHORIZED {
        headers.insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tessera\""),
        );
    }
    response
}
