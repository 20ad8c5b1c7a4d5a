//! What a client reads before it talks to the server: the metadata
//! document ([RFC 8414 §3], OpenID Connect Discovery §4) and the signing
//! keys ([RFC 7517 §5]). Both are public and cacheable; the JWKS for less
//! long, though rotation publishes a key before it signs.
//!
//! [RFC 8414 §3]: https://www.rfc-editor.org/rfc/rfc8414#section-3
//! [RFC 7517 §5]: https://www.rfc-editor.org/rfc/rfc7517#section-5

use std::sync::Arc;

use axum::extract::State;

use super::response::Json;
use super::AppState;

/// `GET /.well-known/openid-configuration` and
/// `/.well-known/oauth-authorization-server`.
pub(super) async fn metadata(State(state): State<Arc<AppState>>) -> Json {
    Json::rendered(state.discovery.clone(), 3600)
}

/// `GET /jwks`.
pub(super) async fn jwks(State(state): State<Arc<AppState>>) -> Json {
    Json::rendered(state.keys().jwks_json.to_string(), 300)
}
