//! The API's one error type and its one mapping to HTTP.
//!
//! Bad input is the client's to fix, so it is described
//! (`400 {"error": "invalid_request", "error_description": ".."}`, the shape
//! of RFC 6749 §5.2 and RFC 6750 §3 errors the client already parses);
//! a storage failure is ours, so the client gets fixed text and the log
//! gets the cause. Token problems never get here: the guard's layer answers
//! them before a handler runs.

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use tessera_guard::Rejection;

use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug)]
pub enum ApiError {
    /// The body, query or path is malformed or breaks a rule (400).
    InvalidRequest(String),
    /// No such task for this user: also said of another user's task, so
    /// ids do not reveal what exists (404).
    NotFound,
    /// Refused by an authorization rule the handler checks itself (the
    /// guard's RFC 6750 response, e.g. 403 `insufficient_scope`).
    Refused(Rejection),
    /// The database failed (500; the cause is logged, not sent).
    Storage(StoreError),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        ApiError::Storage(e)
    }
}

/// Covers syntax errors, wrong types, unknown fields and a missing
/// `Content-Type: application/json`: all the client's to fix, all 400
/// (axum alone would answer 415 or 422 with a plain-text body).
impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> ApiError {
        ApiError::InvalidRequest(e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> ApiError {
        ApiError::InvalidRequest(e.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> ApiError {
        ApiError::InvalidRequest(e.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, description) = match self {
            ApiError::InvalidRequest(description) => {
                (StatusCode::BAD_REQUEST, "invalid_request", description)
            }
            ApiError::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such task".to_owned()),
            ApiError::Refused(rejection) => return rejection.into_response(),
            ApiError::Storage(e) => {
                tracing::error!(error = %e, "storage failure");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    "internal error, try again later".to_owned(),
                )
            }
        };
        let body = serde_json::json!({"error": code, "error_description": description});
        let mut response = (status, Json(body)).into_response();
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }
}
