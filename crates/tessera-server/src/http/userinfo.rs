//! `/userinfo` (GET and POST, OpenID Connect Core §5.3.1): the access
//! token in `Authorization: Bearer` (RFC 6750 §2.1) or, for POST, in the
//! form body (§2.2); never both, never in the URI (RFC 9700 §4.3.2).
//! Errors are RFC 6750 §3 challenges.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::bearer::{self, Challenge};
use super::response::Json;
use super::{content_type_is, AppState};
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
        Ok(None) => return Challenge::Missing.into_response(),
        Err(challenge) => return challenge.into_response(),
    };
    let keys = state.keys();
    match userinfo::handle(&state.introspection(&keys), &token).await {
        Ok(Answer::Claims(claims)) => Json::no_store(StatusCode::OK, &claims).into_response(),
        Ok(Answer::InvalidToken) => {
            Challenge::InvalidToken("the access token is invalid, expired, revoked or not a user's")
                .into_response()
        }
        Ok(Answer::InsufficientScope) => {
            Challenge::InsufficientScope("the access token lacks the openid scope").into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// The token, from the header or the form body; `None` when there is none.
fn bearer_token(
    method: &Method,
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<Option<String>, Challenge> {
    let mut found = bearer::from_header(headers)?.map(str::to_owned);
    if method == Method::POST && content_type_is(headers, "application/x-www-form-urlencoded") {
        let body = body
            .as_ref()
            .map_err(|_| Challenge::InvalidRequest("the body is too large"))?;
        let params =
            Params::parse(body).map_err(|_| Challenge::InvalidRequest("the body is not valid form data"))?;
        if let Some(token) = params.get("access_token") {
            if found.is_some() {
                return Err(Challenge::InvalidRequest(
                    "send the access token one way only (RFC 6750 §2)",
                ));
            }
            found = Some(token.to_owned());
        }
    }
    Ok(found)
}
