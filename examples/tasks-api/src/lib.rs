//! # tasks-api
//!
//! The classic "tasks" demo: a small JSON API whose every task route is
//! protected by [`tessera_guard`]. Run it against a Tessera server with
//!
//! ```sh
//! cargo run -p tasks-api -- --issuer http://127.0.0.1:8080
//! ```
//!
//! The API never calls the issuer per request: the guard verifies each
//! access token locally with the issuer's published keys, checks that it
//! was minted for this API (`aud`, default `tasks-api`) and that it carries
//! the route's scope, then hands the handler the token's [`Claims`].
//!
//! | route | scope | |
//! |---|---|---|
//! | `GET /tasks` | `tasks:read` | the caller's tasks |
//! | `GET /tasks?all=true` | `tasks:read` + role `admin` | everyone's, with `owner` |
//! | `GET /tasks/{id}` | `tasks:read` | one task |
//! | `POST /tasks` | `tasks:write` | `{"description", "done"?}` → 201 + `Location` |
//! | `PUT /tasks/{id}` | `tasks:write` | replaces `description` and `done` |
//! | `DELETE /tasks/{id}` | `tasks:write` | 204 |
//! | `GET /healthz` | none | `ok` |
//!
//! A task is `{"id": 1, "description": "...", "done": false}`; ids are
//! numbers the database assigns and never reuses ([`store`]). A task belongs
//! to the token's `sub`; someone else's task is 404, exactly like one that
//! does not exist. Token problems are RFC 6750 answers from the guard (401
//! `invalid_token`, 403 `insufficient_scope`); bad input is 400
//! `invalid_request` JSON ([`error`]).
//!
//! [`Claims`]: tessera_guard::Claims

#![forbid(unsafe_code)]

pub mod error;
mod routes;
pub mod store;

use axum::routing::{get, post, put};
use axum::Router;
use tessera_guard::Guard;

pub use routes::{ADMIN_ROLE, MAX_DESCRIPTION};
pub use store::Db;

/// The scope that lets a token read the caller's tasks.
pub const READ_SCOPE: &str = "tasks:read";
/// The scope that lets a token create, change and delete them.
pub const WRITE_SCOPE: &str = "tasks:write";

/// The whole API: every route, the scope it needs, and the database.
///
/// Each method gets its own `route_layer` (axum merges the two
/// `.route("/tasks", ..)` calls), so `GET` needs only `tasks:read` and
/// `POST` only `tasks:write`.
pub fn app(guard: Guard, db: Db) -> Router {
    let read = guard.layer().scope(READ_SCOPE);
    let write = guard.layer().scope(WRITE_SCOPE);
    Router::new()
        .route("/tasks", get(routes::list).route_layer(read.clone()))
        .route("/tasks", post(routes::create).route_layer(write.clone()))
        .route("/tasks/{id}", get(routes::get_one).route_layer(read))
        .route(
            "/tasks/{id}",
            put(routes::replace).delete(routes::delete).route_layer(write),
        )
        .route("/healthz", get(routes::healthz))
        .with_state(db)
}
