//! `/register` and `/register/{client_id}`: dynamic client registration
//! ([RFC 7591 §3]) and its management ([RFC 7592 §2]), routed only when
//! `dynamic_registration` is not `off` (see `oauth::dynamic_registration`).
//! JSON in, JSON out, never cached; a refused bearer token is an RFC 6750
//! §3 challenge.
//!
//! [RFC 7591 §3]: https://www.rfc-editor.org/rfc/rfc7591#section-3
//! [RFC 7592 §2]: https://www.rfc-editor.org/rfc/rfc7592#section-2

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_jwt::UnixTime;

use super::bearer::{self, Challenge};
use super::client_ip::ClientIp;
use super::response::Json;
use super::{content_type_is, AppState};
use crate::oauth::dynamic_registration::{self, Refusal, Registrar};
use crate::oauth::OAuthError;

impl AppState {
    fn registrar(&self) -> Registrar<'_, crate::store::Store> {
        Registrar {
            store: &self.store,
            issuer: &self.issuer,
            mode: self.dynamic_registration,
            access_token_ttl: self.access_token_ttl,
            now: UnixTime::now().as_secs(),
        }
    }
}

/// A refusal as HTTP.
fn refused(refusal: Refusal) -> Response {
    match refusal {
        Refusal::TokenMissing => Challenge::Missing.into_response(),
        Refusal::TokenInvalid => {
            Challenge::InvalidToken("the token is unknown, expired, used, or not for this client")
                .into_response()
        }
        Refusal::Error(e) => e.into_response(),
    }
}

/// The JSON body: `application/json`, within the size limit.
/// (Read after the bearer token is checked: an unauthorised caller learns
/// nothing from a body's fault.)
fn json<'a>(headers: &HeaderMap, body: &'a Result<Bytes, BytesRejection>) -> Result<&'a [u8], OAuthError> {
    if !content_type_is(headers, "application/json") {
        return Err(OAuthError::MalformedJson("Content-Type must be application/json"));
    }
    body.as_deref().map_err(|_| OAuthError::BodyTooLarge)
}

/// `POST /register`: 201 with the client's registration.
pub(super) async fn register(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let bearer = match bearer::from_header(&headers) {
        Ok(token) => token,
        Err(challenge) => return challenge.into_response(),
    };
    let ctx = state.registrar();
    let answer = dynamic_registration::register(&ctx, bearer, peer, json(&headers, &body)).await;
    match answer {
        Ok(answer) => Json::no_store(StatusCode::CREATED, &answer).into_response(),
        Err(refusal) => refused(refusal),
    }
}

/// `GET /register/{client_id}`.
pub(super) async fn read(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let bearer = match bearer::from_header(&headers) {
        Ok(token) => token,
        Err(challenge) => return challenge.into_response(),
    };
    match dynamic_registration::read(&state.registrar(), &client_id, bearer).await {
        Ok(answer) => Json::no_store(StatusCode::OK, &answer).into_response(),
        Err(refusal) => refused(refusal),
    }
}

/// `PUT /register/{client_id}`.
pub(super) async fn update(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let bearer = match bearer::from_header(&headers) {
        Ok(token) => token,
        Err(challenge) => return challenge.into_response(),
    };
    let ctx = state.registrar();
    let answer = dynamic_registration::update(&ctx, &client_id, bearer, json(&headers, &body)).await;
    match answer {
        Ok(answer) => Json::no_store(StatusCode::OK, &answer).into_response(),
        Err(refusal) => refused(refusal),
    }
}

/// `DELETE /register/{client_id}`: 204.
pub(super) async fn delete(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    headers: HeaderMap,
) -> Response {
    let bearer = match bearer::from_header(&headers) {
        Ok(token) => token,
        Err(challenge) => return challenge.into_response(),
    };
    match dynamic_registration::delete(&state.registrar(), &client_id, bearer).await {
        Ok(()) => (
            StatusCode::NO_CONTENT,
            [(axum::http::header::CACHE_CONTROL, "no-store")],
        )
            .into_response(),
        Err(refusal) => refused(refusal),
    }
}
