//! `/admin/v1`: the admin REST API's thin shell (the rules are in
//! [`crate::admin`]). Every route but `openapi.json` takes an
//! `Authorization: Bearer` token for the `tessera-admin` audience with the
//! admin role; errors are `{"error", "error_description"}` JSON, with an
//! RFC 6750 challenge on 401 and 403.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header::{CONTENT_TYPE, ETAG, IF_MATCH, LOCATION};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_jwt::UnixTime;

use super::bearer::{self, Challenge};
use super::response::Json;
use super::{content_type_is, AppState};
use crate::admin::{self, clients, users, Admin, AdminError, PageRequest};

/// The OpenAPI document of this API, as checked in (`docs/admin-openapi.json`).
const OPENAPI: &str = include_str!("../../../../docs/admin-openapi.json");

impl IntoResponse for AdminError {
    fn into_response(self) -> Response {
        match self {
            AdminError::InvalidToken(why) => return Challenge::InvalidToken(why).into_response(),
            AdminError::NotAnAdmin => {
                return Challenge::InsufficientScope("the access token does not carry the admin role")
                    .into_response()
            }
            AdminError::Internal(ref detail) => tracing::error!(%detail, "admin API fault"),
            _ => {}
        }
        let status = StatusCode::from_u16(self.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        Json::no_store(
            status,
            &serde_json::json!({"error": self.code(), "error_description": self.description()}),
        )
        .into_response()
    }
}

/// Who is calling, or the answer that refuses them.
async fn caller(state: &AppState, headers: &HeaderMap) -> Result<Admin, Response> {
    let token = match bearer::from_header(headers) {
        Ok(Some(token)) => token,
        // RFC 6750 §3.1: no error code in the challenge without
        // credentials; the body still says what to send.
        Ok(None) => {
            let (parts, _) = Challenge::Missing.into_response().into_parts();
            let mut r = Response::from_parts(
                parts,
                Body::from(
                    serde_json::json!({
                        "error": "invalid_token",
                        "error_description": "send Authorization: Bearer with an access token for the tessera-admin audience"
                    })
                    .to_string(),
                ),
            );
            r.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            return Err(r);
        }
        Err(challenge) => return Err(challenge.into_response()),
    };
    let keys = state.keys();
    admin::authorize(&state.introspection(&keys), token)
        .await
        .map_err(IntoResponse::into_response)
}

/// A JSON body of the expected shape.
fn json_body<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<T, AdminError> {
    if !content_type_is(headers, "application/json") {
        return Err(AdminError::InvalidRequest(
            "Content-Type must be application/json".into(),
        ));
    }
    let body = body
        .as_ref()
        .map_err(|_| AdminError::InvalidRequest("the body is too large".into()))?;
    serde_json::from_slice(body).map_err(|e| AdminError::InvalidRequest(format!("the JSON body: {e}")))
}

/// `?limit=&cursor=`.
fn page_request(query: Result<Query<PageRequest>, QueryRejection>) -> Result<PageRequest, AdminError> {
    query
        .map(|Query(q)| q)
        .map_err(|_| AdminError::InvalidRequest("the query takes limit and cursor only".into()))
}

/// The `If-Match` header, if sent (not ASCII counts as sent and stale).
fn if_match(headers: &HeaderMap) -> Option<&str> {
    headers.get(IF_MATCH).map(|v| v.to_str().unwrap_or("\u{0}"))
}

/// 200 with the resource and its `ETag`.
fn with_etag(resource: &serde_json::Value) -> Response {
    let mut r = Json::no_store(StatusCode::OK, resource).into_response();
    if let Ok(tag) = HeaderValue::from_str(&admin::etag(resource)) {
        r.headers_mut().insert(ETAG, tag);
    }
    r
}

fn now() -> i64 {
    UnixTime::now().as_secs()
}

/// The answer of a handler's body.
fn answer(result: Result<Response, AdminError>) -> Response {
    result.unwrap_or_else(IntoResponse::into_response)
}

/// Runs `$body` for an administrator (`$admin` names them), or answers the
/// refusal.
macro_rules! as_admin {
    ($state:expr, $headers:expr, |$admin:ident| $body:expr) => {
        match caller(&$state, &$headers).await {
            Ok($admin) => answer($body),
            Err(refused) => refused,
        }
    };
}

/// `GET /admin/v1/openapi.json`: the document, without a token.
pub(super) async fn openapi() -> Response {
    Json::rendered(OPENAPI.to_owned(), 300).into_response()
}

/// `GET /admin/v1/clients`.
pub(super) async fn list_clients(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<PageRequest>, QueryRejection>,
) -> Response {
    as_admin!(state, headers, |_admin| async {
        let page = clients::list(&state.store, &page_request(query)?).await?;
        Ok(Json::no_store(StatusCode::OK, &page).into_response())
    }
    .await)
}

/// `POST /admin/v1/clients`: 201 with the client and, this once, its
/// secret.
pub(super) async fn create_client(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        let request = json_body(&headers, &body)?;
        let created = clients::create(&state.store, &admin, request, state.access_token_ttl, now()).await?;
        let mut r = Json::no_store(StatusCode::CREATED, &created.body).into_response();
        if let Some(id) = created.body.get("client_id").and_then(|v| v.as_str()) {
            if let Ok(at) = HeaderValue::from_str(&format!("/admin/v1/clients/{id}")) {
                r.headers_mut().insert(LOCATION, at);
            }
        }
        Ok(r)
    }
    .await)
}

/// `GET /admin/v1/clients/{client_id}`, with its `ETag`.
pub(super) async fn get_client(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    as_admin!(state, headers, |_admin| async {
        Ok(with_etag(&clients::get(&state.store, &id).await?))
    }
    .await)
}

/// `DELETE /admin/v1/clients/{client_id}` with `If-Match`: 204.
pub(super) async fn delete_client(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        clients::delete(&state.store, &admin, &id, if_match(&headers)).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await)
}

/// `GET /admin/v1/users`.
pub(super) async fn list_users(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<PageRequest>, QueryRejection>,
) -> Response {
    as_admin!(state, headers, |_admin| async {
        let page = users::list(&state.store, &page_request(query)?).await?;
        Ok(Json::no_store(StatusCode::OK, &page).into_response())
    }
    .await)
}

/// `POST /admin/v1/users`: 201 with the user.
pub(super) async fn create_user(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        let request = json_body(&headers, &body)?;
        let user = users::create(&state.store, &admin, request, now()).await?;
        let mut r = Json::no_store(StatusCode::CREATED, &user).into_response();
        if let Some(id) = user.get("user_id").and_then(|v| v.as_str()) {
            if let Ok(at) = HeaderValue::from_str(&format!("/admin/v1/users/{id}")) {
                r.headers_mut().insert(LOCATION, at);
            }
        }
        Ok(r)
    }
    .await)
}

/// `GET /admin/v1/users/{user_id}`, with its `ETag`.
pub(super) async fn get_user(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    as_admin!(state, headers, |_admin| async {
        Ok(with_etag(&users::get(&state.store, &id).await?))
    }
    .await)
}

/// `PATCH /admin/v1/users/{user_id}` with `If-Match`: the user as changed,
/// with its new `ETag`.
pub(super) async fn patch_user(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        let request = json_body(&headers, &body)?;
        let user = users::patch(&state.store, &admin, &id, if_match(&headers), request, now()).await?;
        Ok(with_etag(&user))
    }
    .await)
}

/// `DELETE /admin/v1/users/{user_id}` with `If-Match`: 204.
pub(super) async fn delete_user(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        users::delete(&state.store, &admin, &id, if_match(&headers), now()).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await)
}

/// `GET /admin/v1/users/{user_id}/sessions`.
pub(super) async fn list_sessions(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<PageRequest>, QueryRejection>,
) -> Response {
    as_admin!(state, headers, |_admin| async {
        let page = users::sessions(&state.store, &id, &page_request(query)?, now()).await?;
        Ok(Json::no_store(StatusCode::OK, &page).into_response())
    }
    .await)
}

/// `DELETE /admin/v1/users/{user_id}/sessions/{sid}`: 204.
pub(super) async fn end_session(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, sid)): Path<(String, String)>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        users::end_session(&state.store, &admin, &id, &sid, now()).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await)
}

/// `GET /admin/v1/users/{user_id}/consents`.
pub(super) async fn list_consents(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    query: Result<Query<PageRequest>, QueryRejection>,
) -> Response {
    as_admin!(state, headers, |_admin| async {
        let page = users::consents(&state.store, &id, &page_request(query)?).await?;
        Ok(Json::no_store(StatusCode::OK, &page).into_response())
    }
    .await)
}

/// `DELETE /admin/v1/users/{user_id}/consents/{client_id}`: 204.
pub(super) async fn revoke_consent(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path((id, client_id)): Path<(String, String)>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        users::revoke_consent(&state.store, &admin, &id, &client_id, now()).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await)
}
