//! Bearer tokens on this server's own resources (`/userinfo`,
//! `/api/v1/me`): `Authorization: Bearer` ([RFC 6750 §2.1]) read with
//! tessera-guard's parser ([`tessera_guard::bearer::parse_authorization`],
//! the one RFC 6750 reader of the workspace), and the one writer of its
//! `WWW-Authenticate` challenges ([RFC 6750 §3]).
//!
//! [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
//! [RFC 6750 §3]: https://www.rfc-editor.org/rfc/rfc6750#section-3

use axum::http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
pub(super) use tessera_guard::bearer::Scheme;

/// The token of an `Authorization: Bearer` header; `None` without one, a
/// [`Challenge::InvalidRequest`] for a repeated header, another scheme
/// (this server's resources take bearer tokens only), or a token outside
/// RFC 6750 §2.1's `b64token`.
pub(super) fn from_header(headers: &HeaderMap) -> Result<Option<&str>, Challenge> {
    match with_scheme(headers)? {
        Some((Scheme::Bearer, token)) => Ok(Some(token)),
        Some((Scheme::DPoP, _)) => Err(Challenge::InvalidRequest(
            "use Authorization: Bearer <access token>",
        )),
        None => Ok(None),
    }
}

/// The token of an `Authorization: Bearer` or `Authorization: DPoP` header
/// ([RFC 9449 §7.1]), with its scheme; otherwise as [`from_header`].
///
/// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
pub(super) fn with_scheme(headers: &HeaderMap) -> Result<Option<(Scheme, &str)>, Challenge> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(Challenge::InvalidRequest("send one Authorization header"));
    }
    match tessera_guard::bearer::parse_scheme(value.as_bytes()) {
        Ok(Some(found)) => Ok(Some(found)),
        Ok(None) => Err(Challenge::InvalidRequest(
            "use Authorization: Bearer <access token>",
        )),
        Err(tessera_guard::Rejection::InvalidRequest(why)) => Err(Challenge::InvalidRequest(why)),
        Err(_) => Err(Challenge::InvalidRequest(
            "use Authorization: Bearer <access token>",
        )),
    }
}

/// Why a protected resource refused, as RFC 6750 §3.1 names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Challenge {
    /// No credentials: a bare challenge, no error code (§3.1, "SHOULD NOT
    /// include an error code").
    Missing,
    /// 400 `invalid_request`: the token was sent wrongly.
    InvalidRequest(&'static str),
    /// 401 `invalid_token`: expired, revoked, malformed or not ours.
    InvalidToken(&'static str),
    /// 403 `insufficient_scope`: valid, but not for this resource.
    InsufficientScope(&'static str),
    /// 401 `invalid_token` with a `DPoP` challenge ([RFC 9449 §7.1]): a
    /// DPoP-bound token sent as a bearer token, or a bearer token sent as
    /// a DPoP one.
    ///
    /// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
    DpopInvalidToken(&'static str),
    /// 401 `invalid_dpop_proof` with a `DPoP` challenge ([RFC 9449 §7.1]).
    ///
    /// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
    InvalidDpopProof(&'static str),
}

impl Challenge {
    fn status(self) -> StatusCode {
        match self {
            Challenge::Missing
            | Challenge::InvalidToken(_)
            | Challenge::DpopInvalidToken(_)
            | Challenge::InvalidDpopProof(_) => StatusCode::UNAUTHORIZED,
            Challenge::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Challenge::InsufficientScope(_) => StatusCode::FORBIDDEN,
        }
    }

    /// The error code and its description, when there is an error.
    fn error(self) -> Option<(&'static str, &'static str)> {
        match self {
            Challenge::Missing => None,
            Challenge::InvalidRequest(d) => Some(("invalid_request", d)),
            Challenge::InvalidToken(d) | Challenge::DpopInvalidToken(d) => Some(("invalid_token", d)),
            Challenge::InvalidDpopProof(d) => Some(("invalid_dpop_proof", d)),
            Challenge::InsufficientScope(d) => Some(("insufficient_scope", d)),
        }
    }
}

/// The challenge in `WWW-Authenticate` and, when there is an error, the
/// same error as a JSON body; never cached.
impl IntoResponse for Challenge {
    fn into_response(self) -> Response {
        let dpop = matches!(
            self,
            Challenge::DpopInvalidToken(_) | Challenge::InvalidDpopProof(_)
        );
        let (header, body) = match self.error() {
            // RFC 9449 §7.1: the DPoP scheme, with the algorithms a proof
            // may use.
            Some((code, description)) if dpop => (
                format!(
                    "DPoP realm=\"tessera\", error=\"{code}\", error_description=\"{description}\", algs=\"{}\"",
                    crate::oauth::dpop::ALGORITHMS.map(tessera_jwt::Algorithm::name).join(" ")
                ),
                serde_json::json!({"error": code, "error_description": description}).to_string(),
            ),
            // (Descriptions are fixed text without quotes or backslashes,
            // so they need no quoted-string escaping.)
            Some((code, description)) => (
                format!("Bearer realm=\"tessera\", error=\"{code}\", error_description=\"{description}\""),
                serde_json::json!({"error": code, "error_description": description}).to_string(),
            ),
            None => ("Bearer realm=\"tessera\"".to_owned(), String::new()),
        };
        let mut r = (self.status(), body).into_response();
        let headers = r.headers_mut();
        if let Ok(v) = HeaderValue::from_str(&header) {
            headers.insert(WWW_AUTHENTICATE, v);
        }
        if self.error().is_some() {
            headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        }
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(AUTHORIZATION, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    /// RFC 6750 §2.1, with the scheme case-insensitive (RFC 7235 §2.1).
    #[test]
    fn the_header_is_read_once_and_strictly() {
        assert_eq!(from_header(&headers(&[])), Ok(None));
        assert_eq!(from_header(&headers(&["Bearer abc"])), Ok(Some("abc")));
        assert_eq!(from_header(&headers(&["bearer abc"])), Ok(Some("abc")));
        assert_eq!(
            from_header(&headers(&["BEARER  e30.e30.e30"])),
            Ok(Some("e30.e30.e30"))
        );
        for bad in [
            &["Basic YTpi"][..],
            &["Bearer "],
            &["Bearer"],
            &["Bearer a", "Bearer b"],
            // Issue 18, item 9: tessera-guard's reader, RFC 6750 §2.1's
            // b64token: a space or a quote inside is not a bearer token.
            &["Bearer a b"],
            &["Bearer a\"b"],
            &["Bearer ==="],
        ] {
            assert!(
                matches!(from_header(&headers(bad)), Err(Challenge::InvalidRequest(_))),
                "{bad:?}"
            );
        }
    }

    /// RFC 6750 §3 and §3.1: status, challenge and body per error.
    #[test]
    fn challenges_carry_their_code() {
        let r = Challenge::Missing.into_response();
        assert_eq!(r.status(), 401);
        assert_eq!(r.headers()[WWW_AUTHENTICATE], "Bearer realm=\"tessera\"");
        let r = Challenge::InsufficientScope("needs openid").into_response();
        assert_eq!(r.status(), 403);
        assert_eq!(
            r.headers()[WWW_AUTHENTICATE],
            "Bearer realm=\"tessera\", error=\"insufficient_scope\", error_description=\"needs openid\""
        );
        assert_eq!(Challenge::InvalidRequest("x").into_response().status(), 400);
        assert_eq!(Challenge::InvalidToken("x").into_response().status(), 401);
    }
}
