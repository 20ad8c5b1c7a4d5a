//! CORS (the Fetch standard's CORS protocol): browsers on the origins
//! [`origins::allowed`] accepts may call the token, revocation and
//! `/api/v1` endpoints, and read the login response's `Authorization`
//! header. The authorization endpoint and its forms never answer CORS.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::header::{
    ACCESS_CONTROL_ALLOW_CREDENTIALS, ACCESS_CONTROL_ALLOW_HEADERS, ACCESS_CONTROL_ALLOW_METHODS,
    ACCESS_CONTROL_ALLOW_ORIGIN, ACCESS_CONTROL_EXPOSE_HEADERS, ACCESS_CONTROL_MAX_AGE,
    ACCESS_CONTROL_REQUEST_METHOD, ORIGIN, VARY,
};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::oauth::origins;

/// Answers preflights and labels responses for allowed origins.
pub async fn cors(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    // The authorization endpoint and its forms are for top-level browser
    // navigation only: no script on any origin may call them.
    if request.uri().path().starts_with("/authorize") || request.uri().path().starts_with("/logout") {
        return next.run(request).await;
    }
    let origin = request.headers().get(ORIGIN).cloned();
    let allowed = match origin.as_ref().and_then(|o| o.to_str().ok()) {
        Some(o) => origins::allowed(&state.store, &state.cors_origins, o).await,
        None => false,
    };
    let preflight =
        request.method() == Method::OPTIONS && request.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD);
    if preflight {
        let mut r = StatusCode::NO_CONTENT.into_response();
        let h = r.headers_mut();
        h.insert(VARY, HeaderValue::from_static("Origin"));
        if let (true, Some(origin)) = (allowed, origin) {
            h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
            h.insert(
                ACCESS_CONTROL_ALLOW_METHODS,
                HeaderValue::from_static("GET, POST"),
            );
            h.insert(
                ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("Authorization, Content-Type, X-Requested-With"),
            );
            h.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
            h.insert(ACCESS_CONTROL_MAX_AGE, HeaderValue::from_static("600"));
        }
        return r;
    }
    let mut response = next.run(request).await;
    if let (true, Some(origin)) = (allowed, origin) {
        let h = response.headers_mut();
        h.insert(ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("Authorization"),
        );
        h.insert(ACCESS_CONTROL_ALLOW_CREDENTIALS, HeaderValue::from_static("true"));
        h.append(VARY, HeaderValue::from_static("Origin"));
    }
    response
}
