//! Finding the issuer's `jwks_uri` and introspection endpoint from its
//! metadata: [OpenID Connect Discovery 1.0 §4] first, then [RFC 8414 §3].
//!
//! The document's `issuer` must equal the configured issuer exactly
//! (Discovery §4.3, RFC 8414 §3.3): otherwise an attacker who controls one
//! metadata document could pose as another issuer.
//!
//! An `https://` issuer's endpoints must be `https://` too ([`no_downgrade`]):
//! [RFC 8414 §2] says the `jwks_uri` "MUST use the `https` scheme", and an
//! `http://` one would let anyone on the path replace the keys that the
//! metadata's TLS vouched for. Other hosts are allowed (keys on a CDN).
//!
//! [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
//! [OpenID Connect Discovery 1.0 §4]: https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderConfig
//! [RFC 8414 §3]: https://www.rfc-editor.org/rfc/rfc8414#section-3

use serde::Deserialize;

use crate::fetch::{FetchError, Fetcher};
use crate::SetupError;

/// The members of the metadata this crate uses.
#[derive(Debug, Deserialize)]
pub(crate) struct Metadata {
    pub(crate) issuer: String,
    pub(crate) jwks_uri: Option<String>,
    pub(crate) introspection_endpoint: Option<String>,
}

/// Fetches and checks the issuer's metadata.
pub(crate) async fn discover(fetcher: &Fetcher, issuer: &str) -> Result<Metadata, SetupError> {
    let mut last = None;
    for url in metadata_urls(issuer) {
        match fetcher.get(&url).await {
            Ok(answer) => {
                let metadata: Metadata = serde_json::from_slice(&answer.body)
                    .map_err(|e| SetupError::Metadata(format!("{url}: {e}")))?;
                if metadata.issuer != issuer {
                    return Err(SetupError::IssuerMismatch {
                        expected: issuer.to_owned(),
                        found: metadata.issuer,
                    });
                }
                return Ok(metadata);
            }
            Err(e @ FetchError::Status(_, 404)) => last = Some(e),
            Err(e) => return Err(SetupError::Fetch(e)),
        }
    }
    Err(last.map_or_else(
        || SetupError::Metadata(format!("{issuer}: not a URL")),
        SetupError::Fetch,
    ))
}

/// Refuses `uri`, the issuer's endpoint `name`, if `issuer` is `https://`
/// and `uri` is not: the scheme may not be downgraded (the host may
/// differ). Schemes compare case-insensitively (RFC 3986 §3.1).
pub(crate) fn no_downgrade(issuer: &str, name: &'static str, uri: &str) -> Result<(), SetupError> {
    if is_https(issuer) && !is_https(uri) {
        return Err(SetupError::InsecureEndpoint {
            name,
            uri: uri.to_owned(),
        });
    }
    Ok(())
}

fn is_https(uri: &str) -> bool {
    uri.get(..8)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("https://"))
}

/// OIDC Discovery appends `/.well-known/openid-configuration` to the
/// issuer; RFC 8414 inserts `/.well-known/oauth-authorization-server`
/// between the host and the issuer's path.
fn metadata_urls(issuer: &str) -> Vec<String> {
    let base = issuer.trim_end_matches('/');
    let mut urls = vec![format!("{base}/.well-known/openid-configuration")];
    if let Some(after_scheme) = base.find("://").map(|i| i + 3) {
        let (origin, path) = match base.get(after_scheme..).and_then(|rest| rest.find('/')) {
            Some(slash) => base.split_at(after_scheme + slash),
            None => (base, ""),
        };
        urls.push(format!("{origin}/.well-known/oauth-authorization-server{path}"));
    }
    urls
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_locations() {
        assert_eq!(
            metadata_urls("http://id.example"),
            [
                "http://id.example/.well-known/openid-configuration",
                "http://id.example/.well-known/oauth-authorization-server"
            ]
        );
        // RFC 8414 §3.1's example of an issuer with a path.
        assert_eq!(
            metadata_urls("http://example.com/issuer1"),
            [
                "http://example.com/issuer1/.well-known/openid-configuration",
                "http://example.com/.well-known/oauth-authorization-server/issuer1"
            ]
        );
    }

    #[test]
    fn an_https_issuer_keeps_https() {
        let refused = |issuer: &str, uri: &str| {
            matches!(
                no_downgrade(issuer, "jwks_uri", uri),
                Err(SetupError::InsecureEndpoint { name: "jwks_uri", uri: u }) if u == uri
            )
        };
        let https = "https://id.example";
        assert!(refused(https, "http://id.example/keys"));
        assert!(refused("HTTPS://id.example", "http://id.example/keys"));
        assert!(refused(https, "ftp://id.example/keys"));
        assert!(refused(https, "//id.example/keys"));
        assert!(refused(https, "keys"));
        // Another host is fine, as long as it is https (a CDN).
        assert!(no_downgrade(https, "jwks_uri", "https://cdn.example/id/keys").is_ok());
        assert!(no_downgrade(https, "jwks_uri", "HTTPS://ID.EXAMPLE/keys").is_ok());
        // An http issuer may name either.
        assert!(no_downgrade("http://127.0.0.1:8080", "jwks_uri", "http://127.0.0.1:8080/keys").is_ok());
        assert!(no_downgrade("http://127.0.0.1:8080", "jwks_uri", "https://cdn.example/keys").is_ok());
    }
}
