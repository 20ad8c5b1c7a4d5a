//! # tessera-guard
//!
//! JWT access-token verification for APIs ("resource servers"): the API
//! trusts a request without calling anyone, by checking the token's
//! signature with the issuer's published keys ([RFC 9068], [RFC 8725]).
//! Works with any standards-compliant issuer, not only Tessera.
//!
//! - [`Guard`]: an issuer and an audience. Finds `jwks_uri` through the
//!   issuer's metadata, caches the keys ([`KeyPolicy`]: `Cache-Control`
//!   within bounds, one refetch for an unknown `kid`, rate-limited, cached
//!   keys kept through an issuer outage). A token it has verified twice with
//!   the current keys is remembered (by its SHA-256, at most 4,096) until
//!   its `exp` plus the leeway, so the same token on later calls skips the
//!   signature; scopes, roles and DPoP proofs are still checked per request.
//!   Or, in introspection mode, asks the issuer about each token ([RFC 7662]).
//! - [`GuardLayer`]: a tower layer; per-route scopes and roles.
//! - [`Claims`]: what the handler gets; an axum extractor.
//! - [`Rejection`]: RFC 6750 §3 errors: 401 `invalid_token`, 403
//!   `insufficient_scope` naming the scope, 400 `invalid_request`, each
//!   with a `WWW-Authenticate` challenge. A bad token is never a 5xx.
//! - DPoP ([RFC 9449]): a DPoP-bound token (`cnf.jkt`) is accepted only
//!   as `Authorization: DPoP` with a proof by its key
//!   ([`GuardBuilder::dpop`]), and refused as a bearer token.
//! - [`ResourceMetadata`]: the API's protected resource metadata ([RFC
//!   9728]), served at its well-known URL and named in every challenge
//!   (`resource_metadata`), so a client that knows only the API finds its
//!   authorization server ([`GuardBuilder::resource`]).
//!
//! ## An API in a few lines
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use tessera_guard::{Claims, Guard};
//!
//! async fn tasks(claims: Claims) -> String {
//!     format!("tasks of {}", claims.subject())
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let guard = Guard::discover("http://127.0.0.1:8080", "tasks-api").await?;
//! let app = Router::new()
//!     .route("/tasks", get(tasks).route_layer(guard.layer().scope("tasks:read")));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! `route_layer` covers every method routed so far on that path: to
//! require `tasks:write` for `POST` only, route `GET` and `POST` in two
//! `.route(..)` calls, each with its own layer.
//!
//! Issuers are reached over `https://` (the default `https` feature:
//! rustls, Mozilla's roots, plus a private CA through
//! [`GuardBuilder::tls_root_certificates`]) or plain `http://`;
//! [`GuardBuilder::jwks_json`] takes keys distributed out of band.
//!
//! [RFC 9068]: https://www.rfc-editor.org/rfc/rfc9068
//! [RFC 8725]: https://www.rfc-editor.org/rfc/rfc8725
//! [RFC 7662]: https://www.rfc-editor.org/rfc/rfc7662
//! [RFC 9728]: https://www.rfc-editor.org/rfc/rfc9728
//! [RFC 9449]: https://www.rfc-editor.org/rfc/rfc9449

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod bearer;
mod claims;
mod discovery;
pub mod dpop;
#[cfg(feature = "axum")]
mod extract;
pub mod fetch;
mod guard;
mod introspection;
mod jwks;
mod layer;
mod rejection;
pub mod resource;
mod verified;

pub use bearer::{CookieToken, Csrf};
pub use claims::Claims;
pub use fetch::FetchError;
pub use guard::{Guard, GuardBuilder, SetupError};
pub use jwks::{KeyPolicy, KeysError};
pub use layer::{GuardLayer, GuardService};
pub use rejection::Rejection;
pub use resource::{BadResource, ResourceMetadata};
