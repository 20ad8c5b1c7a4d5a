//! OAuth 2.0 Protected Resource Metadata ([RFC 9728]): the API says who it
//! is and which authorization server issues its tokens, so a client that
//! only knows the API's URL (an MCP client, say) can find where to get a
//! token for it.
//!
//! - The metadata document ([RFC 9728 §2]): `resource` (the API's
//!   identifier, an `https` URL), `authorization_servers`,
//!   `scopes_supported`, `bearer_methods_supported`.
//! - It is served at the well-known URL made from the identifier ([RFC
//!   9728 §3.1]): `/.well-known/oauth-protected-resource` inserted
//!   between the host and the path.
//! - A 401 challenge names that URL in `resource_metadata` ([RFC 9728
//!   §5.1]).
//!
//! [RFC 9728]: https://www.rfc-editor.org/rfc/rfc9728
//! [RFC 9728 §2]: https://www.rfc-editor.org/rfc/rfc9728#section-2
//! [RFC 9728 §3.1]: https://www.rfc-editor.org/rfc/rfc9728#section-3.1
//! [RFC 9728 §5.1]: https://www.rfc-editor.org/rfc/rfc9728#section-5.1

use http::{header, HeaderValue, Response, StatusCode};

/// The well-known path segment ([RFC 9728 §3]).
///
/// [RFC 9728 §3]: https://www.rfc-editor.org/rfc/rfc9728#section-3
pub const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// Why a resource identifier cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("a resource identifier is an https URL without query or fragment (RFC 9728 §1.2), not {0:?}")]
pub struct BadResource(pub String);

/// An API's protected resource metadata.
#[derive(Debug, Clone)]
pub struct ResourceMetadata {
    resource: String,
    origin: String,
    path: String,
    authorization_servers: Vec<String>,
    scopes_supported: Vec<String>,
}

impl ResourceMetadata {
    /// The metadata of the resource `identifier` (`https://`, or `http://`
    /// to a loopback host for development), whose tokens `issuer` issues.
    pub fn new(identifier: &str, issuer: &str) -> Result<ResourceMetadata, BadResource> {
        let bad = || BadResource(identifier.to_owned());
        let (scheme, rest) = identifier.split_once("://").ok_or_else(bad)?;
        if identifier.contains(['?', '#']) {
            return Err(bad());
        }
        let (host, path) = match rest.find('/') {
            Some(at) => rest.split_at(at),
            None => (rest, ""),
        };
        let hostname = host.rsplit_once(':').map_or(host, |(h, _)| h);
        let loopback = matches!(hostname, "127.0.0.1" | "[::1]" | "localhost");
        if host.is_empty() || !(scheme == "https" || (scheme == "http" && loopback)) {
            return Err(bad());
        }
        Ok(ResourceMetadata {
            resource: identifier.to_owned(),
            origin: format!("{scheme}://{host}"),
            path: path.trim_end_matches('/').to_owned(),
            authorization_servers: vec![issuer.to_owned()],
            scopes_supported: Vec::new(),
        })
    }

    /// Lists the scopes the API uses (`scopes_supported`).
    #[must_use]
    pub fn scopes(mut self, scopes: &[&str]) -> ResourceMetadata {
        self.scopes_supported = scopes.iter().map(|s| (*s).to_owned()).collect();
        self
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// Where the document is served, as a path on the API's host: the
    /// route to add (RFC 9728 §3.1).
    pub fn path(&self) -> String {
        format!("{WELL_KNOWN}{}", self.path)
    }

    /// Where the document is served, as a URL: the `resource_metadata` of
    /// the API's challenges (RFC 9728 §5.1).
    pub fn url(&self) -> String {
        format!("{}{}", self.origin, self.path())
    }

    /// The document (RFC 9728 §2).
    pub fn document(&self) -> serde_json::Value {
        // RFC 6750 §2.1 only: a cookie is not a method the RFC names.
        let methods = ["header"];
        serde_json::json!({
            "resource": self.resource,
            "authorization_servers": self.authorization_servers,
            "scopes_supported": self.scopes_supported,
            "bearer_methods_supported": methods,
        })
    }

    /// The document as an HTTP response (200, JSON, cacheable for an
    /// hour), for whatever framework serves the route at
    /// [`ResourceMetadata::path`].
    pub fn response<B: From<String>>(&self) -> Response<B> {
        let mut response = Response::new(B::from(self.document().to_string()));
        *response.status_mut() = StatusCode::OK;
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=3600"),
        );
        response
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use super::*;

    /// RFC 9728 §3.1's rule, on its own example and its neighbours.
    #[test]
    fn the_well_known_url_goes_between_host_and_path() {
        let rows = [
            (
                "https://resource.example.com",
                "https://resource.example.com/.well-known/oauth-protected-resource",
            ),
            (
                "https://resource.example.com/resource1",
                "https://resource.example.com/.well-known/oauth-protected-resource/resource1",
            ),
            (
                "https://api.example:8443/v1/",
                "https://api.example:8443/.well-known/oauth-protected-resource/v1",
            ),
            (
                "http://127.0.0.1:3000/tasks",
                "http://127.0.0.1:3000/.well-known/oauth-protected-resource/tasks",
            ),
        ];
        for (identifier, url) in rows {
            let m = ResourceMetadata::new(identifier, "https://id.example").unwrap();
            assert_eq!(m.url(), url, "{identifier}");
            assert!(url.ends_with(&m.path()), "{identifier}");
        }
        for bad in [
            "http://api.example/x",
            "https://api.example/x?y=1",
            "https://api.example/#f",
            "api.example",
            "https:///x",
        ] {
            assert_eq!(
                ResourceMetadata::new(bad, "https://id.example").unwrap_err(),
                BadResource(bad.into())
            );
        }
    }

    #[test]
    fn the_document_has_rfc_9728_section_2_members() {
        let m = ResourceMetadata::new("https://api.example/tasks", "https://id.example")
            .unwrap()
            .scopes(&["tasks:read", "tasks:write"]);
        let doc = m.document();
        assert_eq!(doc["resource"], "https://api.example/tasks");
        assert_eq!(
            doc["authorization_servers"],
            serde_json::json!(["https://id.example"])
        );
        assert_eq!(
            doc["scopes_supported"],
            serde_json::json!(["tasks:read", "tasks:write"])
        );
        assert_eq!(doc["bearer_methods_supported"], serde_json::json!(["header"]));
        let r: Response<String> = m.response();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/json");
        let back: serde_json::Value = serde_json::from_str(r.body()).unwrap();
        assert_eq!(back, doc);
    }
}
