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

use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::bearer::{self, Challenge};
use super::response::Json;
use super::{content_type_is, AppState};
use crate::admin::clients::{ClientView, CreateClient, CreatedClient, PatchClient, RotatedSecret};
use crate::admin::keys::{KeyView, RevokedKey, RotateKey};
use crate::admin::upstreams::{self, UpstreamView};
use crate::admin::users::{ConsentView, CreateUser, PatchUser, SessionView, SetPassword, UserView};
use crate::admin::{self, clients, keys, users, Admin, AdminError, ErrorBody, Page, PageRequest, Tagged};
use crate::audit::{AuditQuery, EventPage};

/// The document's frame: title, version, the bearer scheme every path but
/// `openapi.json` asks for, and the tags.
#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Tessera admin API",
        version = "1",
        description = "Administer Tessera's clients, users, sessions, consents and signing keys; read the upstream providers and the audit log. Authorised by Tessera's own access tokens for the audience tessera-admin carrying roles [\"admin\"]: a client made with `tessera client create --admin`, or a user with the admin role. Writes to a resource that has a GET of its own need If-Match with its ETag.",
        license(name = "MIT OR Apache-2.0")
    ),
    modifiers(&BearerScheme),
    security(("bearer" = [])),
    tags(
        (name = "clients", description = "OAuth clients"),
        (name = "users", description = "Users, their sessions and consents"),
        (name = "keys", description = "The server's signing keys"),
        (name = "upstreams", description = "Upstream identity providers (read only)"),
        (name = "audit", description = "The audit log"),
        (name = "meta", description = "This document")
    )
)]
struct AdminApi;

/// Adds the `bearer` security scheme (RFC 6750 bearer JWTs).
struct BearerScheme;

impl utoipa::Modify for BearerScheme {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// The admin routes, and the OpenAPI document generated from them.
fn routes_and_document() -> (axum::Router<Arc<AppState>>, utoipa::openapi::OpenApi) {
    OpenApiRouter::with_openapi(AdminApi::openapi())
        .routes(routes!(openapi))
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, patch_client, delete_client))
        .routes(routes!(rotate_client_secret))
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, patch_user, delete_user))
        .routes(routes!(set_user_password))
        .routes(routes!(list_sessions))
        .routes(routes!(end_session))
        .routes(routes!(list_consents))
        .routes(routes!(revoke_consent))
        .routes(routes!(list_keys))
        .routes(routes!(rotate_key))
        .routes(routes!(revoke_key))
        .routes(routes!(list_upstreams))
        .routes(routes!(get_upstream))
        .routes(routes!(list_audit))
        .split_for_parts()
}

/// The `/admin/v1` routes.
pub(super) fn router() -> axum::Router<Arc<AppState>> {
    routes_and_document().0
}

/// The OpenAPI 3.1 document, pretty-printed with a final newline (what
/// `docs/admin-openapi.json` holds), rendered once.
fn document() -> &'static str {
    static DOCUMENT: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, api) = routes_and_document();
        // Serialising utoipa's own types cannot fail; were it to, the
        // answer is an empty object (and the drift test fails).
        let mut text = api.to_pretty_json().unwrap_or_else(|_| "{}".to_owned());
        text.push('\n');
        text
    })
}

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
fn with_etag<T: serde::Serialize>(resource: &Tagged<T>) -> Response {
    let mut r = Json::no_store(StatusCode::OK, &resource.view).into_response();
    if let Ok(tag) = HeaderValue::from_str(&resource.etag) {
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

/// The OpenAPI 3.1 document of this API. Needs no token.
#[utoipa::path(get, path = "/admin/v1/openapi.json", tag = "meta", security(()),
    responses((status = 200, description = "This document", content_type = "application/json")))]
pub(super) async fn openapi() -> Response {
    Json::rendered(document().to_owned(), 300).into_response()
}

/// `GET /admin/v1/clients`.
#[utoipa::path(get, path = "/admin/v1/clients", tag = "clients", params(PageRequest), responses((status = 200, description = "A page of clients, by client_id", body = Page<ClientView>), (status = 400, description = "A malformed request, or one that breaks a rule", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody)))]
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
#[utoipa::path(post, path = "/admin/v1/clients", tag = "clients", request_body = CreateClient, responses((status = 201, description = "The client, with its secret shown this once", body = CreatedClient), (status = 400, description = "A malformed request, or one that breaks a rule", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody)))]
pub(super) async fn create_client(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        let request = json_body(&headers, &body)?;
        let created = clients::create(&state.store, &admin, request, state.access_token_ttl, now()).await?;
        let mut r = Json::no_store(StatusCode::CREATED, &created).into_response();
        if let Ok(at) = HeaderValue::from_str(&format!("/admin/v1/clients/{}", created.client.client_id)) {
            r.headers_mut().insert(LOCATION, at);
        }
        Ok(r)
    }
    .await)
}

/// `GET /admin/v1/clients/{client_id}`, with its `ETag`.
#[utoipa::path(get, path = "/admin/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path, description = "The client")), responses((status = 200, description = "The client", body = ClientView, headers(("ETag" = String, description = "A strong validator of this representation, for If-Match"))), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody)))]
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
#[utoipa::path(delete, path = "/admin/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path, description = "The client"), ("If-Match" = String, Header, description = "The ETag of a GET of this resource")), responses((status = 204, description = "Deleted"), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody), (status = 412, description = "If-Match is not the current ETag", body = ErrorBody), (status = 428, description = "If-Match is missing", body = ErrorBody)))]
pub(super) async fn delete_client(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        clients::delete(&state.store, &admin, &id, if_match(&headers), now()).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await)
}

/// `GET /admin/v1/users`.
#[utoipa::path(get, path = "/admin/v1/users", tag = "users", params(PageRequest), responses((status = 200, description = "A page of users, by user_id", body = Page<UserView>), (status = 400, description = "A malformed request, or one that breaks a rule", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody)))]
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
#[utoipa::path(post, path = "/admin/v1/users", tag = "users", request_body = CreateUser, responses((status = 201, description = "The user", body = UserView), (status = 400, description = "A malformed request, or one that breaks a rule", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 409, description = "The username or email is taken", body = ErrorBody)))]
pub(super) async fn create_user(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        let request = json_body(&headers, &body)?;
        let user = users::create(&state.store, &admin, request, now()).await?;
        let mut r = Json::no_store(StatusCode::CREATED, &user).into_response();
        if let Ok(at) = HeaderValue::from_str(&format!("/admin/v1/users/{}", user.user_id)) {
            r.headers_mut().insert(LOCATION, at);
        }
        Ok(r)
    }
    .await)
}

/// `GET /admin/v1/users/{user_id}`, with its `ETag`.
#[utoipa::path(get, path = "/admin/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path, description = "The user")), responses((status = 200, description = "The user", body = UserView, headers(("ETag" = String, description = "A strong validator of this representation, for If-Match"))), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody)))]
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
#[utoipa::path(patch, path = "/admin/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path, description = "The user"), ("If-Match" = String, Header, description = "The ETag of a GET of this resource")), request_body = PatchUser, responses((status = 200, description = "The user as changed", body = UserView, headers(("ETag" = String, description = "A strong validator of this representation, for If-Match"))), (status = 400, description = "A malformed request, or one that breaks a rule", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody), (status = 412, description = "If-Match is not the current ETag", body = ErrorBody), (status = 428, description = "If-Match is missing", body = ErrorBody)))]
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
#[utoipa::path(delete, path = "/admin/v1/users/{user_id}", tag = "users", params(("user_id" = String, Path, description = "The user"), ("If-Match" = String, Header, description = "The ETag of a GET of this resource")), responses((status = 204, description = "Deleted, with their credentials, grants and sessions"), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody), (status = 412, description = "If-Match is not the current ETag", body = ErrorBody), (status = 428, description = "If-Match is missing", body = ErrorBody)))]
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
#[utoipa::path(get, path = "/admin/v1/users/{user_id}/sessions", tag = "users", params(("user_id" = String, Path, description = "The user"), PageRequest), responses((status = 200, description = "A page of the user's unexpired SSO sessions, by sid", body = Page<SessionView>), (status = 400, description = "A malformed request, or one that breaks a rule", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody)))]
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
#[utoipa::path(delete, path = "/admin/v1/users/{user_id}/sessions/{sid}", tag = "users", params(("user_id" = String, Path, description = "The user"), ("sid" = String, Path, description = "The session")), responses((status = 204, description = "Ended; the refresh tokens issued in it are revoked"), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody)))]
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
#[utoipa::path(get, path = "/admin/v1/users/{user_id}/consents", tag = "users", params(("user_id" = String, Path, description = "The user"), PageRequest), responses((status = 200, description = "A page of the apps the user consented to, by client_id", body = Page<ConsentView>), (status = 400, description = "A malformed request, or one that breaks a rule", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody)))]
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
#[utoipa::path(delete, path = "/admin/v1/users/{user_id}/consents/{client_id}", tag = "users", params(("user_id" = String, Path, description = "The user"), ("client_id" = String, Path, description = "The client")), responses((status = 204, description = "Revoked, with the refresh tokens the user holds there"), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody)))]
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

/// `GET /admin/v1/keys`: the signing keys, revoked ones included, by
/// their public parts only.
#[utoipa::path(get, path = "/admin/v1/keys", tag = "keys", params(PageRequest), responses((status = 200, description = "A page of the signing keys, by kid", body = Page<KeyView>), (status = 400, description = "A malformed request, or one that breaks a rule", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody)))]
pub(super) async fn list_keys(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<PageRequest>, QueryRejection>,
) -> Response {
    as_admin!(state, headers, |_admin| async {
        let page = keys::list(&state.store, &page_request(query)?, now()).await?;
        Ok(Json::no_store(StatusCode::OK, &page).into_response())
    }
    .await)
}

/// `POST /admin/v1/keys/rotate`: 201 with the new key, published now and
/// signing from its `activates_at`. An empty body rotates the key of the
/// configured `token_alg`.
#[utoipa::path(post, path = "/admin/v1/keys/rotate", tag = "keys", request_body(content = RotateKey, description = "The algorithm; an empty body or none means the configured token_alg"), responses((status = 201, description = "The new key, published now, signing from activates_at", body = KeyView), (status = 400, description = "A malformed request, or one that breaks a rule", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody)))]
pub(super) async fn rotate_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        let empty = body.as_ref().is_ok_and(|b| b.is_empty());
        let request: RotateKey = if empty {
            RotateKey::default()
        } else {
            json_body(&headers, &body)?
        };
        let default_alg = state.keys().access_tokens.key().algorithm();
        let key = keys::rotate(&state.store, &state.master, &admin, request, default_alg, now()).await?;
        Ok(Json::no_store(StatusCode::CREATED, &key).into_response())
    }
    .await)
}

/// `POST /admin/v1/keys/{kid}/revoke`: for a key that leaked. It leaves
/// the JWKS and stops signing, and introspection refuses what it signed,
/// at once; if it was signing, a new key signs in its place at once.
#[utoipa::path(post, path = "/admin/v1/keys/{kid}/revoke", tag = "keys", params(("kid" = String, Path, description = "The key")), responses((status = 200, description = "Revoked; the key that signs in its place, if it was signing", body = RevokedKey), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody), (status = 409, description = "The key was revoked already", body = ErrorBody)))]
pub(super) async fn revoke_key(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(kid): Path<String>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        let done = keys::revoke(&state.store, &state.master, &admin, &kid, now()).await?;
        Ok(Json::no_store(StatusCode::OK, &done).into_response())
    }
    .await)
}

/// `PATCH /admin/v1/clients/{client_id}` with `If-Match`: the client as
/// changed, with its new `ETag`.
#[utoipa::path(patch, path = "/admin/v1/clients/{client_id}", tag = "clients", params(("client_id" = String, Path, description = "The client"), ("If-Match" = String, Header, description = "The ETag of a GET of this resource")), request_body = PatchClient, responses((status = 200, description = "The client as changed", body = ClientView, headers(("ETag" = String, description = "A strong validator of this representation, for If-Match"))), (status = 400, description = "A malformed request, or one that breaks a rule of registration", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody), (status = 412, description = "If-Match is not the current ETag (another write came first)", body = ErrorBody), (status = 428, description = "If-Match is missing", body = ErrorBody)))]
pub(super) async fn patch_client(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        let request = json_body(&headers, &body)?;
        let client = clients::patch(&state.store, &admin, &id, if_match(&headers), request, now()).await?;
        Ok(with_etag(&client))
    }
    .await)
}

/// `POST /admin/v1/clients/{client_id}/secret` with `If-Match`: 200 with
/// the new secret, shown this once; the old one stops working.
#[utoipa::path(post, path = "/admin/v1/clients/{client_id}/secret", tag = "clients", params(("client_id" = String, Path, description = "The client"), ("If-Match" = String, Header, description = "The ETag of a GET of the client")), responses((status = 200, description = "The new secret, shown this once; the old one no longer works", body = RotatedSecret), (status = 400, description = "The client has no secret (public, or private_key_jwt)", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody), (status = 412, description = "If-Match is not the current ETag (another write came first)", body = ErrorBody), (status = 428, description = "If-Match is missing", body = ErrorBody)))]
pub(super) async fn rotate_client_secret(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        let rotated = clients::rotate_secret(&state.store, &admin, &id, if_match(&headers), now()).await?;
        Ok(Json::no_store(StatusCode::OK, &rotated).into_response())
    }
    .await)
}

/// `POST /admin/v1/users/{user_id}/password`: 204; every session and
/// refresh family of the user ends.
#[utoipa::path(post, path = "/admin/v1/users/{user_id}/password", tag = "users", params(("user_id" = String, Path, description = "The user")), request_body = SetPassword, responses((status = 204, description = "Set; every SSO session and refresh family of the user ended"), (status = 400, description = "A malformed request, or a password the rules refuse", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody)))]
pub(super) async fn set_user_password(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    as_admin!(state, headers, |admin| async {
        let request = json_body(&headers, &body)?;
        users::set_password(&state.store, &admin, &id, request, now()).await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    }
    .await)
}

/// `GET /admin/v1/upstreams`: the upstream identity providers.
#[utoipa::path(get, path = "/admin/v1/upstreams", tag = "upstreams", responses((status = 200, description = "The configured upstream providers (one page); never a client secret", body = Page<UpstreamView>), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody)))]
pub(super) async fn list_upstreams(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    as_admin!(state, headers, |_admin| async {
        Ok(Json::no_store(StatusCode::OK, &upstreams::list(state.upstreams())).into_response())
    }
    .await)
}

/// `GET /admin/v1/upstreams/{id}`.
#[utoipa::path(get, path = "/admin/v1/upstreams/{id}", tag = "upstreams", params(("id" = String, Path, description = "The provider's id")), responses((status = 200, description = "The provider; never its client secret", body = UpstreamView), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody), (status = 404, description = "No such resource", body = ErrorBody)))]
pub(super) async fn get_upstream(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    as_admin!(state, headers, |_admin| async {
        let upstream = upstreams::get(state.upstreams(), &id)?;
        Ok(Json::no_store(StatusCode::OK, &upstream).into_response())
    }
    .await)
}

/// `GET /admin/v1/audit`: audit events, newest first.
#[utoipa::path(get, path = "/admin/v1/audit", tag = "audit", params(AuditQuery), responses((status = 200, description = "A page of audit events, newest first", body = EventPage), (status = 400, description = "A malformed filter or cursor", body = ErrorBody), (status = 401, description = "No token, or not a valid access token for the tessera-admin audience", body = ErrorBody), (status = 403, description = "The token does not carry the admin role", body = ErrorBody)))]
pub(super) async fn list_audit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    query: Result<Query<AuditQuery>, QueryRejection>,
) -> Response {
    as_admin!(state, headers, |_admin| {
        async {
        let query = query.map(|Query(q)| q).map_err(|e| {
            AdminError::InvalidRequest(format!(
                "the query takes user_id, client_id, kind, since, until (seconds since the epoch), limit and cursor: {}",
                e.body_text()
            ))
        })?;
        let page = admin::audit::list(&state.store, &query).await?;
        Ok(Json::no_store(StatusCode::OK, &page).into_response())
    }
    .await
    })
}
