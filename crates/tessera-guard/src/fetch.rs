//! Talking to the issuer: GET a JSON document, POST a form. Bounded in time
//! and size, so a slow or hostile issuer cannot stall or exhaust the API.
//!
//! Plain `http://` only: put the issuer behind the API's own TLS-terminating
//! egress, or on a private network, or supply keys with
//! [`GuardBuilder::jwks_json`](crate::GuardBuilder::jwks_json).

use std::time::Duration;

use bytes::Bytes;
use http::{header, HeaderValue, Method, Request};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::{connect::HttpConnector, Client};
use hyper_util::rt::TokioExecutor;

/// The largest document read from the issuer.
pub const MAX_DOCUMENT: usize = 1 << 20;

/// Why a document could not be had.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL is not a plain `http://` URL.
    #[error("{0}: only http:// URLs are fetched")]
    Url(String),
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
    client: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
}

impl Fetcher {
    /// A client whose every exchange ends within `timeout`.
    pub fn new(timeout: Duration) -> Fetcher {
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(30))
            .build(connector);
        Fetcher { client, timeout }
    }

    /// GET `url`, expecting 200 and JSON.
    pub async fn get(&self, url: &str) -> Result<Fetched, FetchError> {
        self.exchange(Method::GET, url, None, Bytes::new()).await
    }

    /// POST a form to `url` with an `Authorization` header.
    pub async fn post_form(
        &self,
        url: &str,
        authorization: &str,
        form: String,
    ) -> Result<Fetched, FetchError> {
        self.exchange(Method::POST, url, Some(authorization), Bytes::from(form))
            .await
    }

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        authorization: Option<&str>,
        body: Bytes,
    ) -> Result<Fetched, FetchError> {
        if !url.starts_with("http://") {
            return Err(FetchError::Url(url.to_owned()));
        }
        let mut request = Request::builder()
            .method(method.clone())
            .uri(url)
            .header(header::ACCEPT, "application/json");
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
/// (RFC 9111 §5.2.2); an unparsable header counts as absent.
fn cache_control(value: Option<&HeaderValue>) -> (Option<Duration>, bool) {
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
