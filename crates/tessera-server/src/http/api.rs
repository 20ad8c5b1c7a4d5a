//! `/api/v1`: the first-party JSON API (see `oauth::first_party`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_jwt::UnixTime;

use super::bearer::{self, Challenge};
use super::browser;
use super::client_ip::ClientIp;
use super::cookie::{self, Cookie};
use super::response::Json;
use super::{authorization, content_type_is, AppState};
use crate::oauth::first_party::{
    self, LoginRequest, LogoutRequest, MfaRequest, RefreshRequest, RegisterRequest,
};
use crate::oauth::grant::GrantType;
use crate::oauth::OAuthError;

/// A JSON body of the expected shape.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<T, OAuthError> {
    if !content_type_is(headers, "application/json") {
        return Err(OAuthError::MalformedJson("Content-Type must be application/json"));
    }
    let body = body.as_ref().map_err(|_| OAuthError::BodyTooLarge)?;
    serde_json::from_slice(body).map_err(|e| {
        tracing::debug!("JSON body refused: {e}");
        OAuthError::MalformedJson("a JSON object with the documented members only")
    })
}

/// The refresh cookie's value, if the browser sent one; a name sent twice
/// is refused ([`cookie::read_once`]), as for the sign-in cookies. Its
/// name and attributes are [`Cookie::Refresh`]'s.
fn cookie_value(state: &AppState, headers: &HeaderMap) -> Result<Option<String>, OAuthError> {
    cookie::read_once(headers, Cookie::Refresh.name(browser::https(state)))
        .map(|v| v.map(str::to_owned))
        .map_err(|_| OAuthError::RepeatedCookie)
}

/// A `Set-Cookie` that could not be built: a fault of the server.
fn cookie_failed(e: &cookie::CookieError) -> OAuthError {
    OAuthError::Internal(e.to_string())
}

/// Renders tokens: the JSON body, the access token in an `Authorization:
/// Bearer` header, and for cookie clients the refresh token as a cookie
/// instead of in the body.
fn issued(state: &AppState, mut issued: first_party::Issued) -> Response {
    let https = browser::https(state);
    let refresh = if issued.cookie {
        issued.tokens.refresh_token.take()
    } else {
        None
    };
    let cookies: Result<Vec<_>, _> = [(Cookie::Refresh, &refresh), (Cookie::Device, &issued.device)]
        .into_iter()
        .filter_map(|(cookie, value)| value.as_deref().map(|v| cookie.set(https, v)))
        .collect();
    let cookies = match cookies {
        Ok(cookies) => cookies,
        Err(e) => return cookie_failed(&e).into_response(),
    };
    let bearer = HeaderValue::from_str(&format!("Bearer {}", issued.tokens.access_token)).ok();
    let mut r = Json::no_store(StatusCode::OK, &issued.tokens).into_response();
    if let Some(bearer) = bearer {
        r.headers_mut().insert(AUTHORIZATION, bearer);
    }
    for cookie in &cookies {
        cookie.append_to(&mut r);
    }
    r
}

/// `POST /api/v1/login`: the token response as JSON, and the access token
/// in an `Authorization: Bearer` header too.
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let request: LoginRequest = json_body(&headers, &body)?;
        // The one cookie reader: a device cookie sent twice is refused.
        let device = super::browser::device_value(&state, &headers)
            .map_err(|_| OAuthError::MalformedJson("a cookie was sent twice"))?;
        let keys = state.keys();
        let issue = state.issue(&keys, peer);
        first_party::login(
            &state.store,
            &issue,
            authorization(&headers)?,
            &request,
            &state.devices,
            device,
        )
        .await
    }
    .await;
    match result {
        Ok(first_party::Login::Issued(tokens)) => {
            state.metrics.token_issued(GrantType::Password);
            issued(&state, tokens)
        }
        Ok(first_party::Login::MfaRequired(token)) => Json::no_store(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({
                "error": "mfa_required",
                "error_description": "this user signs in with a second factor: POST the mfa_token and a one-time or recovery code to /api/v1/login/mfa",
                "mfa_token": token.as_str(),
            }),
        )
        .into_response(),
        Err(OAuthError::MfaEnrollmentRequired) => Json::no_store(
            StatusCode::UNAUTHORIZED,
            &serde_json::json!({
                "error": "mfa_enrollment_required",
                "error_description": OAuthError::MfaEnrollmentRequired.to_string(),
            }),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/login/mfa`: the second step of a login for a user with
/// a second factor; on success the same answer as `POST /api/v1/login`.
pub(super) async fn login_mfa(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let request: MfaRequest = json_body(&headers, &body)?;
        let master = state.master.clone();
        let keys = state.keys();
        let issue = state.issue(&keys, peer);
        first_party::login_mfa(
            &state.store,
            &issue,
            &master,
            authorization(&headers)?,
            &request,
            &state.devices,
        )
        .await
    }
    .await;
    match result {
        Ok(tokens) => {
            state.metrics.token_issued(GrantType::Password);
            issued(&state, tokens)
        }
        Err(e) => e.into_response(),
    }
}

/// CSRF guard for the cookie endpoints: a custom header (which a cross-site
/// form cannot send and a cross-site script cannot send without a CORS
/// preflight), and an `Origin`, when present, that is ours or allowed.
fn csrf_check(state: &AppState, headers: &HeaderMap) -> Result<(), OAuthError> {
    if !headers.contains_key("x-requested-with") {
        return Err(OAuthError::MalformedJson(
            "the X-Requested-With header is required",
        ));
    }
    if let Some(origin) = headers.get(axum::http::header::ORIGIN) {
        let origin = origin.to_str().unwrap_or_default();
        let ours = state.issuer.strip_suffix('/').unwrap_or(&state.issuer);
        let own_origin = ours.split('/').take(3).collect::<Vec<_>>().join("/");
        if origin != own_origin && !state.cors_origins.iter().any(|o| o == origin) {
            return Err(OAuthError::MalformedJson("the request's Origin is not allowed"));
        }
    }
    Ok(())
}

/// `POST /api/v1/refresh`: a new access token from the refresh cookie,
/// which is rotated.
pub(super) async fn refresh(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        csrf_check(&state, &headers)?;
        let request: RefreshRequest = json_body(&headers, &body)?;
        let cookie = cookie_value(&state, &headers)?;
        let keys = state.keys();
        let issue = state.issue(&keys, peer);
        first_party::refresh(&state.store, &issue, &request, cookie.as_deref()).await
    }
    .await;
    match result {
        Ok(tokens) => {
            state.metrics.token_issued(GrantType::RefreshToken);
            issued(&state, tokens)
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/logout`: 204, also when repeated; clears the cookie.
pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let request: LogoutRequest = json_body(&headers, &body)?;
        let cookie = cookie_value(&state, &headers)?;
        if request.refresh_token.is_none() && cookie.is_some() {
            csrf_check(&state, &headers)?;
        }
        first_party::logout(
            &state.store,
            crate::oauth::client_auth::Audience {
                issuer: &state.issuer,
                now: UnixTime::now().as_secs(),
                clients: &state.clients,
            },
            authorization(&headers)?,
            &request,
            cookie.as_deref(),
        )
        .await
    }
    .await;
    match result {
        Ok(()) => match Cookie::Refresh.delete(browser::https(&state)) {
            Ok(delete) => {
                let mut r = (StatusCode::NO_CONTENT, [(CACHE_CONTROL, "no-store")]).into_response();
                delete.append_to(&mut r);
                r
            }
            Err(e) => cookie_failed(&e).into_response(),
        },
        Err(e) => e.into_response(),
    }
}

/// `GET /api/v1/me`: the caller's profile, from `Authorization: Bearer`.
pub(super) async fn me(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let token = match bearer::from_header(&headers) {
        Ok(Some(token)) => token,
        Ok(None) => return Challenge::Missing.into_response(),
        Err(challenge) => return challenge.into_response(),
    };
    let keys = state.keys();
    match first_party::me(&state.introspection(&keys), token).await {
        Ok(Some(profile)) => Json::no_store(StatusCode::OK, &profile).into_response(),
        Ok(None) => {
            Challenge::InvalidToken("the access token is invalid, expired or revoked").into_response()
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /api/v1/users`: self-registration (off unless configured); 201
/// with the username, the same whether the account was made or its email
/// was another account's (see [`first_party::register`]).
pub(super) async fn register(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let request: RegisterRequest = json_body(&headers, &body)?;
        first_party::register(
            &state.store,
            &state.outbox,
            state.self_registration,
            UnixTime::now().as_secs(),
            peer,
            request,
        )
        .await
    }
    .await;
    match result {
        Ok(registered) => Json::no_store(
            StatusCode::CREATED,
            &serde_json::json!({"username": registered.username()}),
        )
        .into_response(),
        Err(e) => e.into_response(),
    }
}
