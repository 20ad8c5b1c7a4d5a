//! The axum extractor: a handler takes [`Claims`] as an argument on routes
//! behind a [`GuardLayer`](crate::GuardLayer).

use axum_core::extract::FromRequestParts;
use axum_core::response::{IntoResponse, Response};
use http::request::Parts;

use crate::{Claims, Rejection};

/// The claims the layer verified. A route without the layer is a wiring
/// mistake, answered with 500 and a message saying so; a bad token never
/// reaches the handler.
impl<S: Send + Sync> FromRequestParts<S> for Claims {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Claims, Response> {
        parts.extensions.get::<Claims>().cloned().ok_or_else(|| {
            (
                http::StatusCode::INTERNAL_SERVER_ERROR,
                "this route takes Claims but has no tessera-guard layer",
            )
                .into_response()
        })
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.to_response(None)
    }
}
