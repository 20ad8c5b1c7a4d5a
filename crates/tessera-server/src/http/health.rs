//! `/healthz` and `/readyz` (see [`crate::health`]): plain text, 200 or
//! 503.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;
use crate::health::{self, Readiness};

/// `GET /healthz`: the process answers.
pub(super) async fn live() -> &'static str {
    "ok"
}

/// `GET /readyz`: the process answers and reaches its database.
pub(super) async fn ready(State(state): State<Arc<AppState>>) -> (StatusCode, &'static str) {
    match health::readiness(&state.store).await {
        Readiness::Ready => (StatusCode::OK, "ready"),
        Readiness::DatabaseUnreachable => (StatusCode::SERVICE_UNAVAILABLE, "database unreachable"),
    }
}
