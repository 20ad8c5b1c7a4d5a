//! Why a request was refused, and the RFC 6750 §3 response that says so.
//!
//! | case | status | `WWW-Authenticate` |
//! |---|---|---|
//! | no token at all (§3.1: no error code) | 401 | `Bearer realm=".."` |
//! | malformed request (`invalid_request`) | 400 | `Bearer error="invalid_request", ..` |
//! | bad, expired or revoked token (`invalid_token`) | 401 | `Bearer error="invalid_token", ..` |
//! | scope or role missing (`insufficient_scope`) | 403 | `Bearer error="insufficient_scope", scope=".."` |
//! | DPoP-bound token sent as `Bearer`, or unbound as `DPoP` | 401 | `DPoP error="invalid_token", .., algs=".."` |
//! | bad or missing DPoP proof (`invalid_dpop_proof`, RFC 9449 §7.1) | 401 | `DPoP error="invalid_dpop_proof", .., algs=".."` |
//! | keys or introspection unavailable | 503 | none |
//!
//! A bad token is never a 5xx: only the guard's own inability to check any
//! token (the issuer unreachable with no usable keys) is.

use http::{header, HeaderValue, Response, StatusCode};

/// A refused request.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The request carries no access token (RFC 6750 §3.1: the challenge
    /// has no error code).
    #[error("no access token")]
    MissingToken,
    /// `invalid_request`: the request is malformed, e.g. two tokens or an
    /// `Authorization` header that is not `Bearer <token>`.
    #[error("invalid_request: {0}")]
    InvalidRequest(&'static str),
    /// `invalid_token`: expired, revoked, malformed, wrong issuer or
    /// audience, or a bad signature.
    #[error("invalid_token: {0}")]
    InvalidToken(String),
    /// `insufficient_scope`: the token is valid but lacks a scope (named in
    /// the challenge's `scope`) or a role the route requires.
    #[error("insufficient_scope: {description}")]
    InsufficientScope {
        /// The scopes the route requires, space-separated (may be empty
        /// when a role is what is missing).
        scope: String,
        /// What is missing.
        description: String,
    },
    /// `invalid_token` with a `DPoP` challenge ([RFC 9449 §7.1]): a
    /// DPoP-bound token sent as a bearer token, or an unbound one as a
    /// DPoP token.
    ///
    /// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
    #[error("invalid_token: {0}")]
    DpopInvalidToken(&'static str),
    /// `invalid_dpop_proof` ([RFC 9449 §7.1]): the DPoP proof is missing,
    /// malformed, for another request, replayed, or made with another key
    /// than the token is bound to.
    ///
    /// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
    #[error("invalid_dpop_proof: {0}")]
    InvalidDpopProof(String),
    /// The guard cannot check any token right now (no keys, or the
    /// introspection endpoint is unreachable).
    #[error("token verification unavailable: {0}")]
    Unavailable(String),
}

impl Rejection {
    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        match self {
            Rejection::MissingToken
            | Rejection::InvalidToken(_)
            | Rejection::DpopInvalidToken(_)
            | Rejection::InvalidDpopProof(_) => StatusCode::UNAUTHORIZED,
            Rejection::InvalidRequest(_) => StatusCode::BAD_REQUEST,
            Rejection::InsufficientScope { .. } => StatusCode::FORBIDDEN,
            Rejection::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The RFC 6750 error code, if any.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            Rejection::MissingToken | Rejection::Unavailable(_) => None,
            Rejection::InvalidRequest(_) => Some("invalid_request"),
            Rejection::InvalidToken(_) | Rejection::DpopInvalidToken(_) => Some("invalid_token"),
            Rejection::InvalidDpopProof(_) => Some("invalid_dpop_proof"),
            Rejection::InsufficientScope { .. } => Some("insufficient_scope"),
        }
    }

    /// The human-readable description.
    pub fn description(&self) -> String {
        match self {
            Rejection::MissingToken => "no access token was sent".into(),
            Rejection::InvalidRequest(d) | Rejection::DpopInvalidToken(d) => (*d).into(),
            Rejection::InvalidToken(d) | Rejection::Unavailable(d) | Rejection::InvalidDpopProof(d) => {
                d.clone()
            }
            Rejection::InsufficientScope { description, .. } => description.clone(),
        }
    }

    /// The `WWW-Authenticate` challenge (RFC 6750 §3), if this rejection
    /// has one.
    pub fn challenge(&self, realm: Option<&str>) -> Option<String> {
        self.challenge_with(realm, None)
    }

    /// [`Rejection::challenge`], also naming the API's protected resource
    /// metadata (`resource_metadata`, [RFC 9728 §5.1]).
    ///
    /// [RFC 9728 §5.1]: https://www.rfc-editor.org/rfc/rfc9728#section-5.1
    pub fn challenge_with(&self, realm: Option<&str>, resource_metadata: Option<&str>) -> Option<String> {
        if matches!(self, Rejection::Unavailable(_)) {
            return None;
        }
        let mut params = Vec::new();
        if let Some(realm) = realm {
            params.push(format!("realm=\"{}\"", quotable(realm)));
        }
        if let Some(code) = self.error_code() {
            params.push(format!("error=\"{code}\""));
            params.push(format!("error_description=\"{}\"", quotable(&self.description())));
        }
        if let Rejection::InsufficientScope { scope, .. } = self {
            if !scope.is_empty() {
                params.push(format!("scope=\"{}\"", quotable(scope)));
            }
        }
        if let Some(url) = resource_metadata {
            params.push(format!("resource_metadata=\"{}\"", quotable(url)));
        }
        // RFC 9449 §7.1: the DPoP scheme names the algorithms a proof may
        // use.
        let scheme = match self {
            Rejection::DpopInvalidToken(_) | Rejection::InvalidDpopProof(_) => {
                let algs: Vec<&str> = tessera_jwt::dpop::ALGORITHMS.iter().map(|a| a.name()).collect();
                params.push(format!("algs=\"{}\"", algs.join(" ")));
                "DPoP"
            }
            _ => "Bearer",
        };
        Some(if params.is_empty() {
            scheme.to_owned()
        } else {
            format!("{scheme} {}", params.join(", "))
        })
    }

    /// The whole response: status, challenge, and a JSON body with the same
    /// `error` and `error_description`.
    pub fn to_response<B: From<String>>(&self, realm: Option<&str>) -> Response<B> {
        self.to_response_with(realm, None)
    }

    /// [`Rejection::to_response`], its challenge naming the API's protected
    /// resource metadata ([`Rejection::challenge_with`]).
    pub fn to_response_with<B: From<String>>(
        &self,
        realm: Option<&str>,
        resource_metadata: Option<&str>,
    ) -> Response<B> {
        let body = match self.error_code() {
            Some(code) => serde_json::json!({"error": code, "error_description": self.description()}),
            None => serde_json::json!({"error_description": self.description()}),
        };
        let mut response = Response::new(B::from(body.to_string()));
        *response.status_mut() = self.status();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if let Some(value) = self
            .challenge_with(realm, resource_metadata)
            .and_then(|c| HeaderValue::try_from(c).ok())
        {
            headers.insert(header::WWW_AUTHENTICATE, value);
        }
        if matches!(self, Rejection::Unavailable(_)) {
            headers.insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        response
    }
}

/// RFC 6750 §3: the attribute values use only `%x20-21 / %x23-5B /
/// %x5D-7E`; anything else (quotes, backslashes, control characters,
/// non-ASCII) becomes `'` or `?`, and the text is bounded.
fn quotable(text: &str) -> String {
    text.chars()
        .take(200)
        .map(|c| match c {
            '"' | '\\' => '\'',
            ' '..='~' => c,
            _ => '?',
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn challenges_follow_rfc_6750_section_3() {
        assert_eq!(
            Rejection::MissingToken.challenge(Some("api")).unwrap(),
            "Bearer realm=\"api\""
        );
        assert_eq!(Rejection::MissingToken.challenge(None).unwrap(), "Bearer");
        let c = Rejection::InvalidToken("the \"kid\" is\\unknown\n".into())
            .challenge(None)
            .unwrap();
        assert_eq!(
            c,
            "Bearer error=\"invalid_token\", error_description=\"the 'kid' is'unknown?\""
        );
        let r = Rejection::InsufficientScope {
            scope: "tasks:write".into(),
            description: "x".into(),
        };
        assert!(r.challenge(None).unwrap().ends_with("scope=\"tasks:write\""));
        assert_eq!(r.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            Rejection::InvalidRequest("two tokens").status(),
            StatusCode::BAD_REQUEST
        );
        assert!(Rejection::Unavailable("down".into()).challenge(None).is_none());
        // RFC 9728 §5.1: the challenge names the resource metadata.
        let url = "https://api.example/.well-known/oauth-protected-resource/tasks";
        assert_eq!(
            Rejection::MissingToken
                .challenge_with(Some("api"), Some(url))
                .unwrap(),
            format!("Bearer realm=\"api\", resource_metadata=\"{url}\"")
        );
        assert!(Rejection::InvalidToken("expired".into())
            .challenge_with(None, Some(url))
            .unwrap()
            .ends_with(&format!("resource_metadata=\"{url}\"")));
    }

    #[test]
    fn responses_carry_status_challenge_and_json() {
        let r: Response<String> = Rejection::InvalidToken("expired".into()).to_response(Some("tasks"));
        assert_eq!(r.status(), 401);
        let challenge = r
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .unwrap()
            .to_str()
            .unwrap();
        assert!(challenge.starts_with("Bearer realm=\"tasks\", error=\"invalid_token\""));
        let body: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(body["error"], "invalid_token");
        assert_eq!(body["error_description"], "expired");
        let r: Response<String> = Rejection::Unavailable("issuer down".into()).to_response(None);
        assert_eq!(r.status(), 503);
        assert!(r.headers().get(header::WWW_AUTHENTICATE).is_none());
    }
}
