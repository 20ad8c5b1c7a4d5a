//! The handlers: extract, call the store, render. By the time one runs, the
//! guard's layer has checked the token and the route's scope; what is left
//! is the rule only the handler can know, who owns what.
//!
//! A task belongs to the token's `sub` (a user, or the client itself for a
//! `client_credentials` token). Extractors are taken as `Result` so that a
//! malformed body, query or path becomes our 400 JSON ([`ApiError`]).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use tessera_guard::{Claims, Rejection};

use crate::error::ApiError;
use crate::store::Db;

/// The role that may list every user's tasks (`GET /tasks?all=true`).
pub const ADMIN_ROLE: &str = "admin";
/// The longest description accepted, in characters.
pub const MAX_DESCRIPTION: usize = 1000;

/// The body of `POST /tasks` and `PUT /tasks/{id}`. Unknown members are
/// refused rather than ignored, so a client that sends `"owner"` or a
/// misspelt `"dnoe"` learns at once that it had no effect.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    /// Required: 1 to [`MAX_DESCRIPTION`] characters, not only whitespace.
    description: String,
    /// Optional, `false` when absent (for `PUT` too: it replaces the task).
    #[serde(default)]
    done: bool,
}

impl TaskInput {
    /// The description, if it keeps the rules.
    fn checked_description(&self) -> Result<&str, ApiError> {
        if self.description.trim().is_empty() {
            return Err(ApiError::InvalidRequest("description must not be empty".into()));
        }
        if self.description.chars().count() > MAX_DESCRIPTION {
            return Err(ApiError::InvalidRequest(format!(
                "description must be at most {MAX_DESCRIPTION} characters"
            )));
        }
        Ok(&self.description)
    }
}

/// The query of `GET /tasks`: `all=true` asks for everyone's tasks.
/// Other parameters are ignored; `all` must be `true` or `false`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    all: bool,
}

/// `GET /healthz`: the process serves requests (no token, no database).
pub async fn healthz() -> &'static str {
    "ok"
}

/// `GET /tasks` (`tasks:read`): the caller's tasks; with `?all=true`,
/// everyone's, with their owners, for callers with the `admin` role.
pub async fn list(
    State(db): State<Db>,
    claims: Claims,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    if !query.all {
        return Ok(Json(db.list(claims.subject()).await?).into_response());
    }
    if !claims.has_role(ADMIN_ROLE) {
        // RFC 6750 §3.1 `insufficient_scope` is the code for "valid token,
        // not enough privilege"; no scope would help, so none is named.
        return Err(ApiError::Refused(Rejection::InsufficientScope {
            scope: String::new(),
            description: format!("listing every user's tasks needs the role {ADMIN_ROLE}"),
        }));
    }
    tracing::info!(target: "audit", sub = claims.subject(), "listed every user's tasks");
    Ok(Json(db.list_all().await?).into_response())
}

/// `GET /tasks/{id}` (`tasks:read`): one of the caller's tasks.
pub async fn get_one(
    State(db): State<Db>,
    claims: Claims,
    id: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let id = task_id(id?)?;
    let task = db.get(claims.subject(), id).await?.ok_or(ApiError::NotFound)?;
    Ok(Json(task).into_response())
}

/// `POST /tasks` (`tasks:write`): 201, the task, and its URL in `Location`.
pub async fn create(
    State(db): State<Db>,
    claims: Claims,
    body: Result<Json<TaskInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(input) = body?;
    let task = db
        .create(claims.subject(), input.checked_description()?, input.done)
        .await?;
    let location = format!("/tasks/{}", task.id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(task)).into_response())
}

/// `PUT /tasks/{id}` (`tasks:write`): replaces description and state.
pub async fn replace(
    State(db): State<Db>,
    claims: Claims,
    id: Result<Path<String>, PathRejection>,
    body: Result<Json<TaskInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let id = task_id(id?)?;
    let Json(input) = body?;
    let task = db
        .replace(claims.subject(), id, input.checked_description()?, input.done)
        .await?
        .ok_or(ApiError::NotFound)?;
    Ok(Json(task).into_response())
}

/// `DELETE /tasks/{id}` (`tasks:write`): 204.
pub async fn delete(
    State(db): State<Db>,
    claims: Claims,
    id: Result<Path<String>, PathRejection>,
) -> Result<StatusCode, ApiError> {
    let id = task_id(id?)?;
    match db.delete(claims.subject(), id).await? {
        true => Ok(StatusCode::NO_CONTENT),
        false => Err(ApiError::NotFound),
    }
}

/// A path segment that is not an id names no task: 404, like any id the
/// caller does not own.
fn task_id(Path(raw): Path<String>) -> Result<i64, ApiError> {
    raw.parse().map_err(|_| ApiError::NotFound)
}
