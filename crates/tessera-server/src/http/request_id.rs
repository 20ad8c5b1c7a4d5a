//! A request id for every request: made here, carried by every log line
//! written while the request is handled (the `request` span's
//! `request_id`, shown with `log_format = "json"`), and returned in the
//! `x-request-id` response header, so an operator can go from a user's
//! answer to the log lines that explain it.
//!
//! The id is always made here, never taken from the request: a client's
//! (or a proxy's) `x-request-id` would let anyone put a chosen id on the
//! audit lines of their request, or the id of someone else's.

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

/// The response header naming the request's id.
pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The tracing target of the `request` span (text logs leave it out, so
/// their lines stay as they were).
pub const SPAN_TARGET: &str = "tessera::request";

/// A fresh request id: 12 random bytes, 16 base64url characters. Were
/// the system's randomness to fail (nothing else would work then either),
/// the request still runs, under the id `-`.
fn fresh() -> String {
    crate::random::id(12).unwrap_or_else(|| "-".into())
}

/// Runs the request inside a `request` span holding its id, method and
/// path (never the query, which may hold a code or a state), and names
/// the id in the answer's `x-request-id`.
pub async fn middleware(request: Request, next: Next) -> Response {
    let id = fresh();
    let span = tracing::info_span!(
        target: SPAN_TARGET,
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    );
    let mut response = next.run(request).instrument(span).await;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(HEADER, value);
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn ids_are_random_and_header_safe() {
        let a = super::fresh();
        assert_eq!(a.len(), 16);
        assert_ne!(a, super::fresh());
        assert!(axum::http::HeaderValue::from_str(&a).is_ok());
    }
}
