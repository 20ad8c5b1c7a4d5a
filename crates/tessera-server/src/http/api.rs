//! `/api/v1`: the first-party JSON API (see `oauth::first_party`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_jwt::UnixTime;

use super::{error, introspection_context, json, AppState};
use crate::oauth::first_party::{self, LoginRequest, LogoutRequest, RegisterRequest};
use crate::oauth::user_tokens::Issue;
use crate::oauth::OAuthError;

/// A JSON body of the expected shape.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<T, OAuthError> {
    let is_json = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !is_json {
        return Err(OAuthError::MalformedJson(
            "Content-Type must be application/json".into(),
        ));
    }
    let body = body.as_ref().map_err(|_| OAuthError::BodyTooLarge)?;
    serde_json::from_slice(body).map_err(|e| OAuthError::MalformedJson(e.to_string()))
}

fn authorization(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    match headers.get(AUTHORIZATION) {
        Some(v) => Ok(Some(v.to_str().map_err(|_| OAuthError::MalformedBasicAuth)?)),
        None => Ok(None),
    }
}

/// `POST /api/v1/login`: the token response as JSON, and the access token
/// in an `Authorization: Bearer` header too.
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let request: LoginRequest = json_body(&headers, &body)?;
        let keys = state.keys();
        let issue = Issue {
            issuer: &state.issuer,
            signer: &keys.access_tokens,
            now: UnixTime::now().as_secs(),
        };
        first_party::login(&state.store, &issue, authorization(&headers)?, &request).await
    }
    .await;
    match result {
        Ok(tokens) => {
            let bearer = HeaderValue::from_str(&format!("Bearer {}", tokens.access_token)).ok();
            let mut r = json(
                StatusCode::OK,
                serde_json::to_string(&tokens).unwrap_or_default(),
                "no-store",
            );
            if let Some(bearer) = bearer {
                r.headers_mut().insert(AUTHORIZATION, bearer);
            }
            r
        }
        Err(e) => error::render(&e),
    }
}

/// `POST /api/v1/logout`: 204, also when repeated.
pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let request: LogoutRequest = json_body(&headers, &body)?;
        first_party::logout(
            &state.store,
            UnixTime::now().as_secs(),
            authorization(&headers)?,
            &request,
        )
        .await
    }
    .await;
    match result {
        Ok(()) => (StatusCode::NO_CONTENT, [(CACHE_CONTROL, "no-store")]).into_response(),
        Err(e) => error::render(&e),
    }
}

/// An RFC 6750 §3 challenge.
fn challenge(error: Option<(&str, &str)>) -> Response {
    let value = match error {
        Some((code, description)) => {
            format!("Bearer realm=\"tessera\", error=\"{code}\", error_description=\"{description}\"")
        }
        None => "Bearer realm=\"tessera\"".to_owned(),
    };
    let mut r = StatusCode::UNAUTHORIZED.into_response();
    if let Ok(v) = HeaderValue::from_str(&value) {
        r.headers_mut().insert(WWW_AUTHENTICATE, v);
    }
    r
}

/// `GET /api/v1/me`: the caller's profile, from `Authorization: Bearer`.
pub(super) async fn me(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let Some(value) = headers.get(AUTHORIZATION) else {
        // RFC 6750 §3.1: no credentials, so no error code.
        return challenge(None);
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let Some(token) = token.filter(|t| !t.is_empty()) else {
        let mut r = challenge(Some(("invalid_request", "use Authorization: Bearer <token>")));
        *r.status_mut() = StatusCode::BAD_REQUEST;
        return r;
    };
    let keys = state.keys();
    match first_party::me(&introspection_context(&state, &keys), token).await {
        Ok(Some(profile)) => json(StatusCode::OK, profile.to_string(), "no-store"),
        Ok(None) => challenge(Some((
            "invalid_token",
            "the access token is invalid, expired or revoked",
        ))),
        Err(e) => error::render(&e),
    }
}

/// `POST /api/v1/users`: self-registration (off unless configured); 201.
pub(super) async fn register(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let request: RegisterRequest = json_body(&headers, &body)?;
        first_party::register(
            &state.store,
            state.self_registration,
            UnixTime::now().as_secs(),
            request,
        )
        .await
    }
    .await;
    match result {
        Ok(created) => json(StatusCode::CREATED, created.to_string(), "no-store"),
        Err(e) => error::render(&e),
    }
}
