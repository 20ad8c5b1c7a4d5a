//! JSON answers: a status, a body and how long it may be cached. Token
//! material is never cached ([RFC 6749 §5.1]: `Cache-Control: no-store`,
//! and `Pragma: no-cache` for HTTP/1.0 caches); metadata and keys are
//! public for a while.
//!
//! [RFC 6749 §5.1]: https://www.rfc-editor.org/rfc/rfc6749#section-5.1

use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// How a JSON answer may be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Cache {
    /// Tokens, profiles, introspection: never stored.
    NoStore,
    /// Public metadata, for this many seconds.
    Public(u32),
}

/// A JSON answer.
#[derive(Debug)]
pub(super) struct Json {
    status: StatusCode,
    body: String,
    cache: Cache,
}

impl Json {
    /// `value` as JSON, never cached.
    pub(super) fn no_store(status: StatusCode, value: &impl serde::Serialize) -> Json {
        // Serialising the server's own types cannot fail (no maps with
        // non-string keys); were it to, the answer is an empty object.
        let body = serde_json::to_string(value).unwrap_or_else(|_| "{}".to_owned());
        Json {
            status,
            body,
            cache: Cache::NoStore,
        }
    }

    /// A body rendered already (the discovery document, the JWKS).
    /// JSON text rendered by the caller, never cached.
    pub(super) fn no_store_text(status: StatusCode, body: String) -> Json {
        Json {
            status,
            body,
            cache: Cache::NoStore,
        }
    }

    pub(super) fn rendered(body: String, seconds: u32) -> Json {
        Json {
            status: StatusCode::OK,
            body,
            cache: Cache::Public(seconds),
        }
    }
}

impl IntoResponse for Json {
    fn into_response(self) -> Response {
        let mut response = (self.status, self.body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        match self.cache {
            Cache::NoStore => {
                headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
                headers.insert(PRAGMA, HeaderValue::from_static("no-cache"));
            }
            Cache::Public(seconds) => {
                if let Ok(v) = HeaderValue::from_str(&format!("public, max-age={seconds}")) {
                    headers.insert(CACHE_CONTROL, v);
                }
            }
        }
        response
    }
}
