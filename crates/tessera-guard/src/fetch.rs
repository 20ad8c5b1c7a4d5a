//! Talking to the issuer: GET a JSON document, POST a form. Bounded in time
//! and size, so a slow or hostile issuer cannot stall or exhaust the API.
//! Public so the server can use the same client for its upstream identity
//! providers.
//!
//! `https://` with the `https` feature (on by default): rustls on aws-lc-rs,
//! TLS 1.2 and 1.3, Mozilla's root certificates (`webpki-roots`) plus any
//! the application adds ([`GuardBuilder::tls_root_certificates`](crate::GuardBuilder::tls_root_certificates)),
//! certificates checked against the issuer's host name. Plain `http://`
//! always works, for issuers on a private network or in tests.

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

/// The largest document read from the issuer.
pub const MAX_DOCUMENT: usize = 1 << 20;

#[cfg(feature = "https")]
type Connector = hyper_rustls::HttpsConnector<HttpConnector>;
#[cfg(not(feature = "https"))]
type Connector = HttpConnector;

/// Why a document could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL's scheme is not one this build fetches.
    #[error("{0}: only http:// and https:// URLs are fetched (https needs the `https` feature)")]
    Url(String),
    /// The extra root certificates are not PEM certificates.
    #[error("root certificates: {0}")]
    Certificates(String),
    /// No answer in time.
    #[error("{0}: no answer within {1:?}")]
    Timeout(String, Duration),
    /// Connection or protocol failure.
    #[error("{0}: {1}")]
    Transport(String, String),
    /// A status other than 200.
    #[error("{0}: HTTP status {1}")]
    Status(String, u16),
    /// The body is not the expected JSON.
    #[error("{0}: {1}")]
    Body(String, String),
}

/// A fetched document.
pub struct Fetched {
    /// The body.
    pub body: Bytes,
    /// `Cache-Control: max-age`, if the answer had one.
    pub max_age: Option<Duration>,
    /// `Cache-Control: no-store` or `no-cache`.
    pub no_cache: bool,
}

/// A small HTTP/1.1 client with a connection pool.
#[derive(Clone)]
pub struct Fetcher {
    client: Client<Connector, Full<Bytes>>,
    timeout: Duration,
}

impl Fetcher {
    /// A client whose every exchange ends within `timeout`, trusting
    /// Mozilla's roots and the PEM certificates in `extra_roots`.
    pub fn new(timeout: Duration, extra_roots: &[u8]) -> Result<Fetcher, FetchError> {
        let mut http = HttpConnector::new();
        http.set_connect_timeout(Some(timeout));
        http.set_nodelay(true);
        let connector = tls(http, extra_roots)?;
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Ok(Fetcher { client, timeout })
    }

    fn fetches(url: &str) -> bool {
        url.starts_with("http://") || (cfg!(feature = "https") && url.starts_with("https://"))
    }

    /// GET `url`, expecting 200 and JSON.
    pub async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        self.exchange(Method::GET, url, None, Bytes::new()).await
    }

    /// GET `url` with an `Authorization` header (a protected resource such
    /// as an OpenID provider's user info), expecting 200 and JSON.
    pub async fn get_authorized(&self, url: &str, authorization: &str) -> Result<Fetched, FetchError> {
        self.exchange(Method::GET, url, Some(authorization), Bytes::new())
            .await
    }

    /// POST a form to `url`, with an `Authorization` header when given.
    pub async fn post_form(
        &self,
        url: &str,
        authorization: Option<&str>,
        form: String,
    ) -> Result<Fetched, FetchError> {
        self.exchange(Method::POST, url, authorization, Bytes::from(form))
            .await
    }

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        authorization: Option<&str>,
        body: Bytes,
    ) -> Result<Fetched, FetchError> {
        if !Fetcher::fetches(url) {
            return Err(FetchError::Url(url.to_owned()));
        }
        let mut request = Request::builder()
            .method(method.clone())
            .uri(url)
            .header(header::ACCEPT, "application/json")
            // Some APIs (GitHub's) refuse a request without one.
            .header(header::USER_AGENT, concat!("tessera/", env!("CARGO_PKG_VERSION")));
        if method == Method::POST {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        }
        if let Some(value) = authorization {
            request = request.header(header::AUTHORIZATION, value);
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| FetchError::Url(format!("{url}: {e}")))?;
        let exchange = async {
            let response = self
                .client
                .request(request)
                .await
                .map_err(|e| FetchError::Transport(url.to_owned(), chain(&e)))?;
            let status = response.status();
            let (max_age, no_cache) = cache_control(response.headers().get(header::CACHE_CONTROL));
            let body = Limited::new(response.into_body(), MAX_DOCUMENT)
                .collect()
                .await
                .map_err(|e| FetchError::Body(url.to_owned(), e.to_string()))?
                .to_bytes();
            if status != http::StatusCode::OK {
                return Err(FetchError::Status(url.to_owned(), status.as_u16()));
            }
            Ok(Fetched {
                body,
                max_age,
                no_cache,
            })
        };
        tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| FetchError::Timeout(url.to_owned(), self.timeout))?
    }
}

/// Wraps the TCP connector in TLS for `https://` URLs.
#[cfg(feature = "https")]
fn tls(mut http: HttpConnector, extra_roots: &[u8]) -> Result<Connector, FetchError> {
    use rustls::pki_types::{pem::PemObject, CertificateDer};

    http.enforce_http(false);
    let mut roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    for cert in CertificateDer::pem_slice_iter(extra_roots) {
        let cert = cert.map_err(|e| FetchError::Certificates(e.to_string()))?;
        roots
            .add(cert)
            .map_err(|e| FetchError::Certificates(e.to_string()))?;
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| FetchError::Certificates(e.to_string()))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config)
        .https_or_http()
        .enable_http1()
        .wrap_connector(http))
}

#[cfg(not(feature = "https"))]
fn tls(http: HttpConnector, extra_roots: &[u8]) -> Result<Connector, FetchError> {
    match extra_roots.is_empty() {
        true => Ok(http),
        false => Err(FetchError::Certificates(
            "this build has no `https` feature".into(),
        )),
    }
}

/// An error and its causes ("client error (Connect): tcp connect error:
/// Connection refused"), since the outermost alone says little.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// `max-age` and `no-store`/`no-cache` of a `Cache-Control` header
/// (RFC 9111 §5.2.2); an unparsable header counts as absent. Public so
/// the server reads the headers of what it fetches for clients the same
/// way.
pub fn cache_control(value: Option<&HeaderValue>) -> (Option<Duration>, bool) {
    let Some(value) = value.and_then(|v| v.to_str().ok()) else {
        return (None, false);
    };
    let mut max_age = None;
    let mut no_cache = false;
    for directive in value.split(',').map(str::trim) {
        let (name, arg) = directive.split_once('=').unwrap_or((directive, ""));
        match name.to_ascii_lowercase().as_str() {
            "max-age" => max_age = arg.trim_matches('"').parse::<u64>().ok().map(Duration::from_secs),
            "no-store" | "no-cache" => no_cache = true,
            _ => {}
        }
    }
    (max_age, no_cache)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_control_directives() {
        let h = |s: &'static str| cache_control(Some(&HeaderValue::from_static(s)));
        assert_eq!(h("public, max-age=300"), (Some(Duration::from_secs(300)), false));
        assert_eq!(
            h("Max-Age=\"60\", must-revalidate"),
            (Some(Duration::from_secs(60)), false)
        );
        assert_eq!(h("no-store"), (None, true));
        assert_eq!(h("max-age=abc"), (None, false));
        assert_eq!(cache_control(None), (None, false));
    }
}
