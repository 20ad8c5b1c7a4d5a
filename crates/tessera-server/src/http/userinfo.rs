//! `/userinfo` (GET and POST, OpenID Connect Core §5.3.1): the access
//! token in `Authorization: Bearer` (RFC 6750 §2.1) or, for POST, in the
//! form body (§2.2); never both, never in the URI (RFC 9700 §4.3.2).
//! Errors are RFC 6750 §3 challenges.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};

use super::bearer::{self, Challenge, Scheme};
use super::response::Json;
use super::{content_type_is, AppState};
use crate::oauth::userinfo::{self, Answer, Presented};
use crate::oauth::Params;

/// Both methods.
pub(super) async fn userinfo(
    State(state): State<Arc<AppState>>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (scheme, token) = match bearer_token(&method, &headers, &body) {
        Ok(Some(found)) => found,
        Ok(None) => return Challenge::Missing.into_response(),
        Err(challenge) => return challenge.into_response(),
    };
    let proofs: Vec<String> = headers
        .get_all("dpop")
        .iter()
        .map(|v| v.to_str().unwrap_or_default().to_owned())
        .collect();
    let presented = match scheme {
        Scheme::Bearer => Presented::Bearer(&token),
        Scheme::DPoP => Presented::Dpop {
            token: &token,
            proofs: &proofs,
            method: method.as_str(),
        },
    };
    let keys = state.keys();
    match userinfo::handle(&state.introspection(&keys), presented).await {
        Ok(Answer::Claims(claims)) => Json::no_store(StatusCode::OK, &claims).into_response(),
        Ok(Answer::InvalidToken) => {
            Challenge::InvalidToken("the access token is invalid, expired, revoked or not a user's")
                .into_response()
        }
        Ok(Answer::InsufficientScope) => {
            Challenge::InsufficientScope("the access token lacks the openid scope").into_response()
        }
        Ok(Answer::WrongScheme) => Challenge::DpopInvalidToken(
            "a DPoP-bound token goes with Authorization: DPoP and a DPoP proof; a bearer token with Bearer",
        )
        .into_response(),
        Ok(Answer::InvalidDpopProof(why)) => Challenge::InvalidDpopProof(why).into_response(),
        Err(e) => e.into_response(),
    }
}

/// The token, from the header (`Bearer` or `DPoP`) or the form body (a
/// bearer token); `None` when there is none.
fn bearer_token(
    method: &Method,
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<Option<(Scheme, String)>, Challenge> {
    let mut found = bearer::with_scheme(headers)?.map(|(s, t)| (s, t.to_owned()));
    if method == Method::POST && content_type_is(headers, "application/x-www-form-urlencoded") {
        let body = body
            .as_ref()
            .map_err(|_| Challenge::InvalidRequest("the body is too large"))?;
        let params =
            Params::parse(body).map_err(|_| Challenge::InvalidRequest("the body is not valid form data"))?;
        if let Some(token) = params.get("access_token") {
            if found.is_some() {
                return Err(Challenge::InvalidRequest(
                    "send the access token one way only (RFC 6750 §2)",
                ));
            }
            found = Some((Scheme::Bearer, token.to_owned()));
        }
    }
    Ok(found)
}
