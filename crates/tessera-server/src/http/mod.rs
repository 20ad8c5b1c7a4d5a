//! HTTP: thin handlers that parse the request, call `oauth`, and render.
//! [`router`] builds the whole app, so tests can drive it.

mod error;

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use tessera_jwt::UnixTime;

use crate::keys::KeyRing;
use crate::oauth::token::{self, TokenContext};
use crate::oauth::OAuthError;
use crate::store::Store;

/// Largest accepted request body: token requests are a few hundred bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    issuer: String,
    store: Store,
    keys: KeyRing,
    discovery: String,
}

impl AppState {
    /// Builds the state, rendering the discovery document once.
    pub fn new(issuer: String, store: Store, keys: KeyRing) -> AppState {
        let discovery = serde_json::json!({
            "issuer": issuer,
            "token_endpoint": format!("{issuer}/token"),
            "jwks_uri": format!("{issuer}/jwks"),
            "grant_types_supported": ["client_credentials"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "response_types_supported": [],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["RS256"],
        })
        .to_string();
        AppState {
            issuer,
            store,
            keys,
            discovery,
        }
    }
}

/// The application.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/.well-known/oauth-authorization-server", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token_endpoint))
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

fn json(status: StatusCode, body: String, cache: &'static str) -> Response {
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static(cache));
    response
}

/// RFC 8414 §3 / OpenID Connect Discovery §4.
async fn discovery(State(state): State<Arc<AppState>>) -> Response {
    json(StatusCode::OK, state.discovery.clone(), "public, max-age=3600")
}

/// The JWKS (RFC 7517 §5); cacheable, since rotation publishes new keys
/// before they sign.
async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    json(
        StatusCode::OK,
        state.keys.jwks_json.to_string(),
        "public, max-age=300",
    )
}

async fn readyz(State(state): State<Arc<AppState>>) -> Response {
    match state.store.ping().await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => {
            tracing::warn!("readiness check failed: {e}");
            (StatusCode::SERVICE_UNAVAILABLE, "database unreachable").into_response()
        }
    }
}

/// RFC 6749 §3.2: `POST`, `application/x-www-form-urlencoded`.
async fn token_endpoint(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let form = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/x-www-form-urlencoded"));
        if !form {
            return Err(OAuthError::WrongContentType);
        }
        let body = body.map_err(|_| OAuthError::BodyTooLarge)?;
        let authorization = match headers.get(AUTHORIZATION) {
            Some(v) => Some(v.to_str().map_err(|_| OAuthError::MalformedBasicAuth)?),
            None => None,
        };
        let ctx = TokenContext {
            store: &state.store,
            issuer: &state.issuer,
            signer: &state.keys.access_tokens,
            now: UnixTime::now().as_secs(),
        };
        token::handle(&ctx, &body, authorization).await
    }
    .await;
    match result {
        Ok(response) => {
            let mut r = json(
                StatusCode::OK,
                serde_json::to_string(&response).unwrap_or_default(),
                "no-store",
            );
            r.headers_mut()
                .insert(PRAGMA, HeaderValue::from_static("no-cache"));
            r
        }
        Err(e) => error::render(&e),
    }
}
