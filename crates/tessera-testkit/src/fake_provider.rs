//! What the fake providers ([`crate::fake_github`], [`crate::fake_oidc`])
//! share: the listener, the faults a test can switch on (a token endpoint
//! answering nonsense, a slow provider), PKCE, random values, query strings,
//! HTTP Basic and the answers they send.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use base64::Engine as _;
use serde_json::Value;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The body the token endpoint sends when `set_token_status` (of either fake)
/// (or the OIDC fake's) asks for nonsense: neither JSON nor a form.
pub const GARBAGE: &str = "<html><body><h1>502 Bad Gateway</h1>\u{0}{\"access_token\":</body></html>";

/// The faults a fake provider shows while a test wants them.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Faults {
    /// The token endpoint answers this status with [`GARBAGE`].
    pub(crate) token_status: Option<u16>,
    /// Every endpoint waits this long first.
    pub(crate) delay: Duration,
}

/// Waits `delay` (the [`Faults::delay`] read under the fake's lock).
pub(crate) async fn pause(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

/// A server task on `127.0.0.1` and an ephemeral port, and the means to
/// stop it.
#[derive(Debug)]
pub(crate) struct Listening {
    /// Where it listens.
    pub(crate) addr: SocketAddr,
    stop: oneshot::Sender<()>,
    task: JoinHandle<()>,
}

impl Listening {
    /// Binds a fresh port and serves `router` on it.
    pub(crate) async fn start(router: Router) -> Listening {
        let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
            .await
            .unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
        Listening { addr, stop, task }
    }

    /// Drops the listener (later connections are refused) and waits for the
    /// connections still open to finish.
    pub(crate) async fn stop(self) {
        let _ = self.stop.send(());
        self.task.await.unwrap();
    }
}

/// `BASE64URL(SHA-256(verifier))`, the PKCE `S256` challenge of a verifier
/// (RFC 7636 §4.2).
pub fn s256(verifier: &str) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest.as_ref())
}

/// `len` random bytes.
pub(crate) fn random_bytes(len: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; len];
    aws_lc_rs::rand::fill(&mut bytes).unwrap();
    bytes
}

/// `bytes` random bytes, base64url without padding.
pub(crate) fn random_b64(bytes: usize) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes(bytes))
}

/// A query string or form body as a map (a repeated name keeps its last
/// value).
pub(crate) fn parse_pairs(raw: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(raw).into_owned().collect()
}

/// `uri` with `params` added to its query, keeping the query it has.
pub(crate) fn append_query(uri: &str, params: &[(&str, &str)]) -> String {
    let (uri, fragment) = match uri.split_once('#') {
        Some((uri, fragment)) => (uri, Some(fragment)),
        None => (uri, None),
    };
    let mut out = uri.to_owned();
    if !params.is_empty() {
        if !uri.contains('?') {
            out.push('?');
        } else if !uri.ends_with('?') && !uri.ends_with('&') {
            out.push('&');
        }
        out.push_str(
            &form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish(),
        );
    }
    if let Some(fragment) = fragment {
        out.push('#');
        out.push_str(fragment);
    }
    out
}

/// The client id and secret of an `Authorization: Basic` header, each
/// form-urlencoding-decoded as RFC 6749 §2.3.1 asks; `None` without one.
pub(crate) fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    Some((form_decode(id), form_decode(secret)))
}

/// Undoes `application/x-www-form-urlencoded` escaping of one value.
fn form_decode(value: &str) -> String {
    let mut out = Vec::with_capacity(value.len());
    let mut bytes = value.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex: Vec<u8> = bytes.clone().take(2).collect();
                match std::str::from_utf8(&hex)
                    .ok()
                    .filter(|h| h.len() == 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                {
                    Some(decoded) => {
                        out.push(decoded);
                        bytes.nth(1);
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A JSON response.
pub(crate) fn json_response(status: StatusCode, value: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json; charset=utf-8")],
        serde_json::to_vec(value).unwrap(),
    )
        .into_response()
}

/// A plain-text response.
pub(crate) fn text(status: StatusCode, message: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message.to_owned(),
    )
        .into_response()
}

/// A 302 to `location`.
pub(crate) fn redirect(location: &str) -> Response {
    Response::builder()
        .status(StatusCode::FOUND)
        .header(header::LOCATION, location)
        .body(Body::empty())
        .unwrap()
}

/// `status` (500 if it is not a valid status code) with [`GARBAGE`].
pub(crate) fn garbage(status: u16) -> Response {
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        [(header::CONTENT_TYPE, "text/html")],
        GARBAGE,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers() {
        // RFC 7636 Appendix B.
        assert_eq!(
            s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert_eq!(append_query("http://a/cb", &[("x", "1 2")]), "http://a/cb?x=1+2");
        assert_eq!(append_query("http://a/cb?", &[("x", "1")]), "http://a/cb?x=1");
        assert_eq!(
            append_query("http://a/cb?k=v#f", &[("x", "1")]),
            "http://a/cb?k=v&x=1#f"
        );
        assert_eq!(form_decode("a%3Ab+c%"), "a:b c%");
    }
}
