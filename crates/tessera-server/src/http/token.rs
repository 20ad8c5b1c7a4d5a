//! The client-authenticated form endpoints: `/token` ([RFC 6749 §3.2]),
//! `/introspect` ([RFC 7662 §2]), `/revoke` ([RFC 7009 §2]) and `/par`
//! ([RFC 9126 §2]). Each reads a
//! [`ClientForm`], calls its protocol module, and answers JSON that is
//! never cached, or an [`OAuthError`].
//!
//! [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2
//! [RFC 7662 §2]: https://www.rfc-editor.org/rfc/rfc7662#section-2
//! [RFC 7009 §2]: https://www.rfc-editor.org/rfc/rfc7009#section-2
//! [RFC 9126 §2]: https://www.rfc-editor.org/rfc/rfc9126#section-2

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, PRAGMA};
use axum::http::StatusCode;
use axum::response::IntoResponse;

use super::client_form::ClientForm;
use super::client_ip::ClientIp;
use super::response::Json;
use super::AppState;
use crate::oauth::par::{self, ParContext};
use crate::oauth::token::{self, TokenContext};
use crate::oauth::{introspect, revoke, OAuthError};

/// `POST /token`.
pub(super) async fn token(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    form: Result<ClientForm, OAuthError>,
) -> Result<Json, OAuthError> {
    let form = form?;
    let keys = state.keys();
    let ctx = TokenContext {
        store: &state.store,
        issue: state.issue(&keys, peer),
        id_signer: &keys.id_tokens,
    };
    let (response, grant_type) =
        token::handle(&ctx, &form.body, form.authorization.as_deref(), &form.dpop).await?;
    state.metrics.token_issued(grant_type);
    Ok(Json::no_store_text(StatusCode::OK, response.to_json()))
}

/// `POST /introspect`.
pub(super) async fn introspect(
    State(state): State<Arc<AppState>>,
    form: ClientForm,
) -> Result<Json, OAuthError> {
    let keys = state.keys();
    let ctx = state.introspection(&keys);
    let answer = introspect::handle(&ctx, &form.body, form.authorization.as_deref()).await?;
    Ok(Json::no_store_text(StatusCode::OK, answer))
}

/// `POST /revoke`: 200 with an empty body, also for a token that was
/// unknown or revoked already (RFC 7009 §2.2).
pub(super) async fn revoke(
    State(state): State<Arc<AppState>>,
    form: ClientForm,
) -> Result<impl IntoResponse, OAuthError> {
    let keys = state.keys();
    let ctx = state.introspection(&keys);
    revoke::handle(&ctx, &form.body, form.authorization.as_deref()).await?;
    Ok((
        StatusCode::OK,
        [(CACHE_CONTROL, "no-store"), (PRAGMA, "no-cache")],
    ))
}

/// `POST /par`: 201 with `request_uri` and `expires_in` (RFC 9126 §2.2).
pub(super) async fn par(
    State(state): State<Arc<AppState>>,
    form: Result<ClientForm, OAuthError>,
) -> Result<Json, OAuthError> {
    let form = form?;
    let keys = state.keys();
    let ctx = ParContext {
        store: &state.store,
        issuer: &state.issuer,
        keys: &keys.verify,
        now: tessera_jwt::UnixTime::now().as_secs(),
        clients: &state.clients,
    };
    let pushed = par::push(&ctx, &form.body, form.authorization.as_deref(), &form.dpop).await?;
    Ok(Json::no_store(StatusCode::CREATED, &pushed))
}
