//! The [`ClientForm`] extractor: the body and `Authorization` header of a
//! client-authenticated POST (RFC 6749 §3.2, RFC 7662 §2.1, RFC 7009 §2.1),
//! checked before the handler runs: `application/x-www-form-urlencoded`,
//! within the body limit, an ASCII `Authorization` header. A refusal is the
//! endpoint's OAuth error ([`OAuthError`] is `IntoResponse`); parameters
//! (each at most once) are parsed by the protocol code.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::header::AUTHORIZATION;

use super::content_type_is;
use crate::oauth::OAuthError;

/// A form POST from a client.
pub struct ClientForm {
    /// The raw form body.
    pub body: Bytes,
    /// The `Authorization` header, if sent.
    pub authorization: Option<String>,
    /// Every `DPoP` header sent ([RFC 9449 §4.1]; more than one is refused
    /// by the protocol code). A value that is not visible ASCII is kept
    /// empty, which no proof parses as.
    ///
    /// [RFC 9449 §4.1]: https://www.rfc-editor.org/rfc/rfc9449#section-4.1
    pub dpop: Vec<String>,
}

impl<S: Send + Sync> FromRequest<S> for ClientForm {
    type Rejection = OAuthError;

    async fn from_request(request: Request, state: &S) -> Result<ClientForm, OAuthError> {
        if !content_type_is(request.headers(), "application/x-www-form-urlencoded") {
            return Err(OAuthError::WrongContentType);
        }
        let authorization = request
            .headers()
            .get(AUTHORIZATION)
            .map(|v| {
                v.to_str()
                    .map(str::to_owned)
                    .map_err(|_| OAuthError::MalformedBasicAuth)
            })
            .transpose()?;
        let dpop = request
            .headers()
            .get_all("dpop")
            .iter()
            .map(|v| v.to_str().unwrap_or_default().to_owned())
            .collect();
        let body = Bytes::from_request(request, state)
            .await
            .map_err(|_| OAuthError::BodyTooLarge)?;
        Ok(ClientForm {
            body,
            authorization,
            dpop,
        })
    }
}
