//! Fetching what a client points us at: a client ID metadata document
//! (the `client_id` itself), a `jwks_uri`. Anyone can make the server
//! fetch such a URL, so each fetch is bounded and may reach only the public
//! internet (server-side request forgery, [OWASP SSRF Prevention]):
//!
//! 1. The URL is `https://` with a host, no credentials and no fragment.
//!    Plain `http://` only to a loopback host listed in
//!    `client_metadata_allow_hosts` (tests, a sidecar).
//! 2. The host is resolved once. Every address it resolves to must be a
//!    public unicast address ([`forbidden`]: not loopback, private,
//!    link-local, CGNAT, unspecified, multicast, broadcast, documentation,
//!    nor an IPv4-mapped or -compatible form of those), unless the host is
//!    listed in `client_metadata_allow_hosts`.
//! 3. The connection goes to an address that was checked: there is no
//!    second lookup a rebinding name server could answer differently.
//! 4. TLS with Mozilla's roots plus `outbound_ca_file`, the certificate
//!    checked against the URL's host.
//! 5. One GET; any answer but 200 is refused, and a redirect is never
//!    followed (its target was never checked).
//! 6. At most [`Limit`] bytes (the `Content-Length` is checked before the
//!    body is read, the body as it arrives), all within [`TIMEOUT`].
//!
//! [OWASP SSRF Prevention]: https://cheatsheetseries.owasp.org/cheatsheets/Server_Side_Request_Forgery_Prevention_Cheat_Sheet.html

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Empty, Limited};
use hyper::body::Bytes;
use hyper::{header, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// The longest a whole fetch (lookup, connection, TLS, answer) may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

/// How much a fetch may read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    /// A client ID metadata document: 5 KB (issue 21; the draft's
    /// suggested limit).
    MetadataDocument,
    /// A client's JWK Set at its `jwks_uri`: 64 KB, room for a few RSA
    /// keys with certificate chains.
    Jwks,
}

impl Limit {
    /// The limit in bytes.
    pub fn bytes(self) -> usize {
        match self {
            Limit::MetadataDocument => 5 * 1024,
            Limit::Jwks => 64 * 1024,
        }
    }
}

/// Why a URL cannot be fetched. The detail is for the log and the
/// operator; a client is told only that its document or keys could not be
/// had.
#[derive(Debug, thiserror::Error)]
pub enum OutboundError {
    /// Not an absolute URL with a host.
    #[error("not an absolute URL with a host")]
    NotAUrl,
    /// Neither https nor allow-listed loopback http.
    #[error(
        "only https URLs are fetched (plain http only to a loopback host in client_metadata_allow_hosts)"
    )]
    Scheme,
    /// A user name or password in the URL.
    #[error("the URL carries credentials")]
    Credentials,
    /// A fragment in the URL.
    #[error("the URL has a fragment")]
    Fragment,
    /// The host does not resolve.
    #[error("{host} does not resolve: {reason}")]
    Resolve {
        /// The host.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// The host resolves to an address that is not public, and is not
    /// allow-listed.
    #[error("{host} resolves to {address}, a {kind} address (list the host in client_metadata_allow_hosts to allow it)")]
    Address {
        /// The host.
        host: String,
        /// The address.
        address: IpAddr,
        /// What kind of address it is.
        kind: &'static str,
    },
    /// No connection to any of the checked addresses.
    #[error("connecting to {0}: {1}")]
    Connect(String, String),
    /// TLS or HTTP failed.
    #[error("{0}")]
    Transport(String),
    /// A redirect, not followed.
    #[error("answered with a redirect ({0}), which is not followed")]
    Redirect(u16),
    /// Another status than 200.
    #[error("answered with HTTP status {0}")]
    Status(u16),
    /// More than the limit.
    #[error("the answer is larger than {0} bytes")]
    TooLarge(usize),
    /// No answer within [`TIMEOUT`].
    #[error("no answer within {} seconds", TIMEOUT.as_secs())]
    Timeout,
    /// The CA file cannot be used.
    #[error("outbound_ca_file: {0}")]
    Certificates(String),
}

/// A fetched body, with what the answer said about caching it
/// (`Cache-Control`, [RFC 9111 §5.2.2]).
///
/// [RFC 9111 §5.2.2]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2
#[derive(Debug)]
pub struct Fetched {
    /// The body.
    pub body: Bytes,
    /// `max-age`, if given.
    pub max_age: Option<Duration>,
    /// `no-store` or `no-cache`.
    pub no_cache: bool,
}

/// The fetcher for client-supplied URLs.
#[derive(Clone)]
pub struct Outbound {
    tls: tokio_rustls::TlsConnector,
    allow_hosts: Arc<Vec<String>>,
    timeout: Duration,
}

impl std::fmt::Debug for Outbound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbound")
            .field("allow_hosts", &self.allow_hosts)
            .finish_non_exhaustive()
    }
}

/// A URL that passed step 1: where to connect and what to ask.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    https: bool,
    host: String,
    port: u16,
    /// Path and query.
    path: String,
    /// The `Host` header.
    authority: String,
    allowed: bool,
}

impl Outbound {
    /// A fetcher trusting Mozilla's roots and the PEM certificates in
    /// `extra_roots` (`outbound_ca_file`), allowing the hosts in
    /// `allow_hosts` (`client_metadata_allow_hosts`) to be on loopback or
    /// private addresses.
    pub fn new(allow_hosts: &[String], extra_roots: &[u8]) -> Result<Outbound, OutboundError> {
        use rustls::pki_types::{pem::PemObject, CertificateDer};
        let mut roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        for cert in CertificateDer::pem_slice_iter(extra_roots) {
            let cert = cert.map_err(|e| OutboundError::Certificates(e.to_string()))?;
            roots
                .add(cert)
                .map_err(|e| OutboundError::Certificates(e.to_string()))?;
        }
        let config = rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map_err(|e| OutboundError::Certificates(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
        Ok(Outbound {
            tls: tokio_rustls::TlsConnector::from(Arc::new(config)),
            allow_hosts: Arc::new(allow_hosts.iter().map(|h| normalize_host(h)).collect()),
            timeout: TIMEOUT,
        })
    }

    /// Whether `host` is in `client_metadata_allow_hosts`.
    fn allowed(&self, host: &str) -> bool {
        let host = normalize_host(host);
        self.allow_hosts.contains(&host)
    }

    /// Step 1: whether `url` may be fetched at all, before any lookup
    /// (also what registration asks of a `jwks_uri`).
    pub fn check_url(&self, url: &str) -> Result<(), OutboundError> {
        self.target(url).map(|_| ())
    }

    fn target(&self, url: &str) -> Result<Target, OutboundError> {
        let parsed = url::Url::parse(url).map_err(|_| OutboundError::NotAUrl)?;
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or(OutboundError::NotAUrl)?;
        if !parsed.username().is_empty() || parsed.password().is_some() {
            return Err(OutboundError::Credentials);
        }
        if parsed.fragment().is_some() {
            return Err(OutboundError::Fragment);
        }
        let allowed = self.allowed(host);
        let https = match parsed.scheme() {
            "https" => true,
            "http" if allowed && crate::config::secure_transport(url) => false,
            _ => return Err(OutboundError::Scheme),
        };
        let port = parsed.port_or_known_default().ok_or(OutboundError::NotAUrl)?;
        let path = match parsed.query() {
            Some(q) => format!("{}?{q}", parsed.path()),
            None => parsed.path().to_owned(),
        };
        let authority = match parsed.port() {
            Some(p) => format!("{host}:{p}"),
            None => host.to_owned(),
        };
        Ok(Target {
            https,
            host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
            port,
            path,
            authority,
            allowed,
        })
    }

    /// GETs `url` (steps 1-6 of the module), reading at most `limit`.
    pub async fn get(&self, url: &str, limit: Limit) -> Result<Fetched, OutboundError> {
        let target = self.target(url)?;
        tokio::time::timeout(self.timeout, self.exchange(&target, limit.bytes()))
            .await
            .map_err(|_| OutboundError::Timeout)?
    }

    async fn exchange(&self, target: &Target, limit: usize) -> Result<Fetched, OutboundError> {
        // 2.
        let addresses = resolve(target).await?;
        // 3.
        let stream = connect(&addresses, &target.host).await?;
        // 4.
        let request = Request::get(target.path.as_str())
            .header(header::HOST, target.authority.as_str())
            .header(header::ACCEPT, "application/json")
            .header(header::USER_AGENT, concat!("tessera/", env!("CARGO_PKG_VERSION")))
            .body(Empty::<Bytes>::new())
            .map_err(|e| OutboundError::Transport(e.to_string()))?;
        let response = if target.https {
            let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                .map_err(|e| OutboundError::Transport(format!("{}: {e}", target.host)))?;
            let tls = self
                .tls
                .connect(name, stream)
                .await
                .map_err(|e| OutboundError::Transport(format!("TLS with {}: {e}", target.host)))?;
            send(tls, request).await?
        } else {
            send(stream, request).await?
        };
        // 5.
        let status = response.status();
        if status.is_redirection() {
            return Err(OutboundError::Redirect(status.as_u16()));
        }
        if status != StatusCode::OK {
            return Err(OutboundError::Status(status.as_u16()));
        }
        // 6.
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(OutboundError::TooLarge(limit));
        }
        let (max_age, no_cache) =
            tessera_guard::fetch::cache_control(response.headers().get(header::CACHE_CONTROL));
        let body = Limited::new(response.into_body(), limit)
            .collect()
            .await
            .map_err(|e| match e.downcast_ref::<http_body_util::LengthLimitError>() {
                Some(_) => OutboundError::TooLarge(limit),
                None => OutboundError::Transport(e.to_string()),
            })?
            .to_bytes();
        Ok(Fetched {
            body,
            max_age,
            no_cache,
        })
    }
}

/// One HTTP/1.1 exchange on `io`, the connection closed after it.
async fn send<T>(
    io: T,
    request: Request<Empty<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, OutboundError>
where
    T: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .map_err(|e| OutboundError::Transport(e.to_string()))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!("outbound connection: {e}");
        }
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| OutboundError::Transport(e.to_string()))
}

/// Step 2: the host's addresses, each checked unless the host is
/// allow-listed.
async fn resolve(target: &Target) -> Result<Vec<SocketAddr>, OutboundError> {
    let addresses: Vec<SocketAddr> = match target.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, target.port)],
        Err(_) => tokio::net::lookup_host((target.host.as_str(), target.port))
            .await
            .map_err(|e| OutboundError::Resolve {
                host: target.host.clone(),
                reason: e.to_string(),
            })?
            .collect(),
    };
    if addresses.is_empty() {
        return Err(OutboundError::Resolve {
            host: target.host.clone(),
            reason: "no addresses".into(),
        });
    }
    if !target.allowed {
        // Every address, not just the first: which one a later connection
        // would use is not ours to predict.
        for a in &addresses {
            if let Some(kind) = forbidden(a.ip()) {
                return Err(OutboundError::Address {
                    host: target.host.clone(),
                    address: a.ip(),
                    kind,
                });
            }
        }
    }
    Ok(addresses)
}

/// Step 3: the first checked address that takes the connection.
async fn connect(addresses: &[SocketAddr], host: &str) -> Result<TcpStream, OutboundError> {
    let mut last = String::from("no address");
    for a in addresses {
        match TcpStream::connect(a).await {
            Ok(stream) => {
                let _ = stream.set_nodelay(true);
                return Ok(stream);
            }
            Err(e) => last = format!("{a}: {e}"),
        }
    }
    Err(OutboundError::Connect(host.to_owned(), last))
}

/// A host name as listed and compared: lower case, no brackets, no
/// trailing dot.
fn normalize_host(host: &str) -> String {
    host.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .trim_end_matches('.')
        .to_ascii_lowercase()
}

/// What kind of address `ip` is, if it is not a public unicast address a
/// client's URL may lead to ([RFC 6890] special-purpose registries).
///
/// [RFC 6890]: https://www.rfc-editor.org/rfc/rfc6890
pub fn forbidden(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    match (a, b, c) {
        _ if ip.is_unspecified() => Some("unspecified"),
        (0, _, _) => Some("\"this network\" (0.0.0.0/8)"),
        (127, _, _) => Some("loopback"),
        (10, _, _) => Some("private (RFC 1918)"),
        (172, 16..=31, _) => Some("private (RFC 1918)"),
        (192, 168, _) => Some("private (RFC 1918)"),
        (100, 64..=127, _) => Some("shared (CGNAT, RFC 6598)"),
        (169, 254, _) => Some("link-local"),
        (192, 0, 0) => Some("IETF protocol assignments (192.0.0.0/24)"),
        (192, 0, 2) | (198, 51, 100) | (203, 0, 113) => Some("documentation"),
        (198, 18..=19, _) => Some("benchmarking (198.18.0.0/15)"),
        _ if ip.is_broadcast() => Some("broadcast"),
        (224..=239, _, _) => Some("multicast"),
        (240..=255, _, _) => Some("reserved (240.0.0.0/4)"),
        _ => None,
    }
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    // An IPv4 address in IPv6 clothes is judged as the IPv4 address
    // (::ffff:a.b.c.d mapped, ::a.b.c.d compatible, 64:ff9b::/96 NAT64).
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4);
    }
    let segments = ip.segments();
    let [s0, s1, s2, s3, s4, s5, ..] = segments;
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    let embedded = || {
        let o = ip.octets();
        let tail: [u8; 4] = [o[12], o[13], o[14], o[15]];
        Ipv4Addr::from(tail)
    };
    if [s0, s1, s2, s3, s4, s5] == [0; 6] {
        return forbidden_v4(embedded()).or(Some("IPv4-compatible (deprecated)"));
    }
    if [s0, s1, s2, s3, s4, s5] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return forbidden_v4(embedded());
    }
    match s0 {
        _ if s0 & 0xfe00 == 0xfc00 => Some("unique local (fc00::/7)"),
        _ if s0 & 0xffc0 == 0xfe80 => Some("link-local"),
        _ if s0 & 0xffc0 == 0xfec0 => Some("site-local (deprecated)"),
        _ if s0 & 0xff00 == 0xff00 => Some("multicast"),
        0x2001 if s1 == 0x0db8 => Some("documentation"),
        0x3fff if s1 & 0xf000 == 0 => Some("documentation"),
        // 6to4 carries an IPv4 address in its second and third segments.
        0x2002 => {
            let [h1, l1] = s1.to_be_bytes();
            let [h2, l2] = s2.to_be_bytes();
            forbidden_v4(Ipv4Addr::new(h1, l1, h2, l2))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]
    use super::*;

    /// Every kind of address a client's URL must not lead to, and some
    /// that it may.
    #[test]
    fn only_public_addresses() {
        let refused = [
            "127.0.0.1",
            "127.8.9.10",
            "0.0.0.0",
            "0.1.2.3",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "192.0.0.8",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "255.255.255.255",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "2001:db8::1",
            "3fff::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "::8.8.8.8",
            "64:ff9b::10.0.0.1",
            "2002:a00:1::1",
        ];
        for a in refused {
            assert!(forbidden(a.parse().unwrap()).is_some(), "{a} must be refused");
        }
        let allowed = [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.0.3.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
        ];
        for a in allowed {
            assert_eq!(forbidden(a.parse().unwrap()), None, "{a} is public");
        }
    }

    /// Step 1: https, or http to an allow-listed loopback host; no
    /// credentials, no fragment.
    #[test]
    fn urls_are_checked_before_any_lookup() {
        let out = Outbound::new(&["LocalHost".into(), "127.0.0.1".into(), "[::1]".into()], b"").unwrap();
        let none = Outbound::new(&[], b"").unwrap();
        let ok = |o: &Outbound, u: &str| o.target(u).map(|t| (t.https, t.allowed));
        assert_eq!(ok(&none, "https://app.example/c.json").unwrap(), (true, false));
        assert_eq!(ok(&out, "http://localhost:8000/c.json").unwrap(), (false, true));
        assert_eq!(ok(&out, "http://127.0.0.1:8000/c").unwrap(), (false, true));
        assert_eq!(ok(&out, "http://[::1]:8000/c").unwrap(), (false, true));
        assert_eq!(ok(&out, "https://127.0.0.1:8443/c").unwrap(), (true, true));
        let t = out.target("https://app.example:8443/a/b?x=1").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str()),
            ("app.example", 8443, "/a/b?x=1")
        );
        assert_eq!(t.authority, "app.example:8443");
        for (o, u, want) in [
            (&none, "http://localhost:8000/c", "Scheme"),
            (&none, "http://app.example/c", "Scheme"),
            (&out, "http://app.example/c", "Scheme"),
            (&out, "ftp://localhost/c", "Scheme"),
            (&none, "https://user:pw@app.example/c", "Credentials"),
            (&none, "https://user@app.example/c", "Credentials"),
            (&none, "https://app.example/c#f", "Fragment"),
            (&none, "/relative", "NotAUrl"),
            (&none, "data:text/plain,x", "NotAUrl"),
        ] {
            let got = o.target(u).map_err(|e| format!("{e:?}"));
            assert!(
                matches!(&got, Err(e) if e.starts_with(want)),
                "{u}: {got:?}, want {want}"
            );
        }
    }

    /// Step 2: a host that is not allow-listed may not lead to a private
    /// address, even by an IP literal; the refusal comes before any
    /// connection.
    #[tokio::test]
    async fn private_addresses_are_refused_unless_allow_listed() {
        let none = Outbound::new(&[], b"").unwrap();
        for url in [
            "https://127.0.0.1:9/c",
            "https://[::1]:9/c",
            "https://10.1.2.3/c",
            "https://169.254.169.254/latest/meta-data",
            "https://[::ffff:192.168.0.1]/c",
            "https://localhost:9/c",
        ] {
            let got = none.get(url, Limit::MetadataDocument).await;
            assert!(
                matches!(got, Err(OutboundError::Address { .. })),
                "{url}: {got:?}"
            );
        }
        // Allow-listed: the address passes, and the fetch fails later
        // (nothing listens on port 9).
        let listed = Outbound::new(&["127.0.0.1".into()], b"").unwrap();
        let got = listed.get("https://127.0.0.1:9/c", Limit::MetadataDocument).await;
        assert!(matches!(got, Err(OutboundError::Connect(..))), "{got:?}");
    }
}
