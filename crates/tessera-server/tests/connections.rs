//! Connection handling: header-read and idle timeouts, keep-alive, https
//! served directly, and `/metrics` on its own address.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_testkit as support;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tessera_server::config::{Config, Overrides};
use tessera_server::server::Server;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long a test waits for the server to close a connection: a bound
/// for the test, not a performance assertion.
const CLOSE_WITHIN: Duration = Duration::from_secs(6);

/// Reads one response (head and `Content-Length` body) from a keep-alive
/// connection: status and body.
async fn read_response(stream: &mut (impl AsyncRead + Unpin)) -> (u16, Vec<u8>) {
    let (status, _, body) = read_response_head(stream).await;
    (status, body)
}

/// [`read_response`] with the head's text.
async fn read_response_head(stream: &mut (impl AsyncRead + Unpin)) -> (u16, String, Vec<u8>) {
    let mut raw = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(end) = raw.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8(raw[..end].to_vec()).unwrap();
            let status = head.split(' ').nth(1).unwrap().parse().unwrap();
            let length: usize = head
                .split("\r\n")
                .filter_map(|l| l.split_once(':'))
                .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
                .map_or(0, |(_, v)| v.trim().parse().unwrap());
            if raw.len() >= end + 4 + length {
                return (status, head, raw[end + 4..end + 4 + length].to_vec());
            }
        }
        let n = stream.read(&mut chunk).await.unwrap();
        assert!(
            n > 0,
            "connection closed mid-response: {}",
            String::from_utf8_lossy(&raw)
        );
        raw.extend_from_slice(&chunk[..n]);
    }
}

/// Waits for the server to close the connection: EOF or a reset, within
/// [`CLOSE_WITHIN`]. Any bytes before that are returned.
async fn closed_by_server(stream: &mut (impl AsyncRead + Unpin)) -> Vec<u8> {
    let mut got = Vec::new();
    let mut chunk = [0u8; 1024];
    let result = tokio::time::timeout(CLOSE_WITHIN, async {
        loop {
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&chunk[..n]),
            }
        }
    })
    .await;
    assert!(
        result.is_ok(),
        "the server kept the connection open for {CLOSE_WITHIN:?} (got {:?})",
        String::from_utf8_lossy(&got)
    );
    got
}

async fn healthz(stream: &mut (impl AsyncRead + AsyncWrite + Unpin)) -> (u16, Vec<u8>) {
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    read_response(stream).await
}

#[tokio::test]
async fn an_unfinished_head_is_cut_off_after_header_read_timeout() {
    let server = support::start_configured(&support::sqlite_url(), "ES256", None, |c| {
        c.header_read_timeout = 1;
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let got = closed_by_server(&mut stream).await;
    assert!(
        !got.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    server.stop().await;
}

#[tokio::test]
async fn keep_alive_works_and_idle_connections_are_closed_after_idle_timeout() {
    let server = support::start_configured(&support::sqlite_url(), "ES256", None, |c| {
        c.header_read_timeout = 10;
        c.idle_timeout = 1;
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    assert_eq!(healthz(&mut stream).await, (200, b"ok".to_vec()));
    // A second request on the same connection, right after the answer.
    assert_eq!(healthz(&mut stream).await, (200, b"ok".to_vec()));
    let got = closed_by_server(&mut stream).await;
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    server.stop().await;
}

#[tokio::test]
async fn a_stalled_body_is_cut_off_after_idle_timeout() {
    let server = support::start_configured(&support::sqlite_url(), "ES256", None, |c| {
        c.header_read_timeout = 10;
        c.idle_timeout = 1;
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream
        .write_all(
            b"POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
              Content-Length: 100\r\n\r\ngrant_type=",
        )
        .await
        .unwrap();
    closed_by_server(&mut stream).await;
    server.stop().await;
}

#[tokio::test]
async fn a_slow_but_steady_head_is_served() {
    let server = support::start_configured(&support::sqlite_url(), "ES256", None, |c| {
        c.header_read_timeout = 5;
        c.idle_timeout = 1;
    })
    .await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    // About 2 s in all: longer than idle_timeout, within header_read_timeout.
    let head = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-A: 1\r\nX-B: 2\r\n\r\n";
    for piece in head.chunks(5) {
        stream.write_all(piece).await.unwrap();
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(read_response(&mut stream).await, (200, b"ok".to_vec()));
    server.stop().await;
}

fn tls_connector(cert: &Path) -> tokio_rustls::TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(cert).unwrap() {
        roots.add(cert.unwrap()).unwrap();
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    tokio_rustls::TlsConnector::from(Arc::new(config))
}

/// Past `max_connections` a new connection waits (in the kernel's
/// backlog: not accepted, so it holds no descriptor here) and is served
/// once another closes; a burst larger than the cap is served in turn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_max_connections_wait_for_a_place() {
    let server = support::start_configured(&support::sqlite_url(), "ES256", None, |c| {
        c.max_connections = 2;
    })
    .await;
    // Two keep-alive connections, served once and held open.
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        assert_eq!(healthz(&mut stream).await.0, 200);
        held.push(stream);
    }
    // A third connects (the kernel completes the handshake) and asks; it
    // is not served while both are open.
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut byte = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(500), third.read(&mut byte))
            .await
            .is_err(),
        "a third connection was served past max_connections = 2"
    );
    // One closes: the third is served, and the other held one still is.
    drop(held.pop());
    let (status, _) = tokio::time::timeout(Duration::from_secs(10), read_response(&mut third))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert_eq!(healthz(&mut held[0]).await.0, 200);
    drop(held);
    drop(third);
    // Twenty at once through two places: each is served in turn.
    let burst: Vec<_> = (0..20)
        .map(|_| {
            let addr = server.addr;
            tokio::spawn(async move { support::request(addr, "GET", "/healthz", &[], b"").await.status })
        })
        .collect();
    for task in burst {
        let status = tokio::time::timeout(Duration::from_secs(20), task)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(status, 200);
    }
    server.stop().await;
}

/// RFC 6797 §7.2: no HSTS over plain http.
#[tokio::test]
async fn plain_http_sends_no_hsts() {
    let server = support::start(&support::sqlite_url(), "ES256").await;
    for path in ["/healthz", "/.well-known/openid-configuration", "/nowhere"] {
        let r = support::request(server.addr, "GET", path, &[], b"").await;
        assert_eq!(r.header("strict-transport-security"), None, "{path}");
    }
    server.stop().await;
}

#[tokio::test]
async fn https_is_served_directly() {
    let dir = support::self_signed_certificate("serve");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let server = support::start_configured(&support::sqlite_url(), "ES256", Some("https://127.0.0.1"), |c| {
        c.tls_cert = Some(cert.display().to_string());
        c.tls_key = Some(key.display().to_string());
    })
    .await;
    let tcp = TcpStream::connect(server.addr).await.unwrap();
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let mut tls = tls_connector(&cert).connect(name, tcp).await.unwrap();
    assert_eq!(
        tls.get_ref().1.alpn_protocol(),
        Some(&b"http/1.1"[..]),
        "HTTP/1.1 only"
    );
    assert_eq!(healthz(&mut tls).await, (200, b"ok".to_vec()));
    tls.write_all(b"GET /.well-known/openid-configuration HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, head, body) = read_response_head(&mut tls).await;
    assert_eq!(status, 200);
    let discovery: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(discovery["issuer"], "https://127.0.0.1");
    // HSTS (RFC 6797) on https answers, a page's and an error's alike.
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\nstrict-transport-security: max-age=31536000"),
        "{head}"
    );
    tls.write_all(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let (status, head, _) = read_response_head(&mut tls).await;
    assert_eq!(status, 404);
    assert!(
        head.to_ascii_lowercase()
            .contains("\r\nstrict-transport-security:"),
        "{head}"
    );

    // Plain http on the https port gets no answer.
    let mut plain = TcpStream::connect(server.addr).await.unwrap();
    plain
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let got = closed_by_server(&mut plain).await;
    assert!(
        !got.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&got)
    );
    server.stop().await;
}

/// A configuration for `Server::with_listener` on `listener`.
fn config_for(listener: &std::net::TcpListener, adjust: impl FnOnce(&mut Config)) -> Config {
    let addr = listener.local_addr().unwrap();
    let mut config = Config::load(
        None,
        &Overrides {
            listen: Some(addr.to_string()),
            database: Some(support::sqlite_url()),
            ..Overrides::default()
        },
    )
    .unwrap();
    config.token_alg = "ES256".into();
    // Not the default metrics port: tests running at once would share it.
    config.metrics_listen = "127.0.0.1:0".into();
    adjust(&mut config);
    config
}

#[tokio::test]
async fn bad_tls_files_are_a_start_error() {
    let dir = support::self_signed_certificate("bad");
    let other = support::self_signed_certificate("other");
    let cert = dir.join("cert.pem").display().to_string();
    let key = dir.join("key.pem").display().to_string();
    std::fs::write(dir.join("empty.pem"), "").unwrap();
    let cases = [
        // A missing key file.
        (
            cert.clone(),
            dir.join("missing.pem").display().to_string(),
            "missing.pem",
        ),
        // A missing certificate file.
        (
            dir.join("missing.pem").display().to_string(),
            key.clone(),
            "missing.pem",
        ),
        // No key in the file (a certificate instead).
        (cert.clone(), cert.clone(), "PRIVATE KEY"),
        // No certificate in the file.
        (
            dir.join("empty.pem").display().to_string(),
            key.clone(),
            "CERTIFICATE",
        ),
        // A key that does not match the certificate.
        (
            cert.clone(),
            other.join("key.pem").display().to_string(),
            "does not belong",
        ),
    ];
    for (cert, key, needle) in cases {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let config = config_for(&listener, |c| {
            c.tls_cert = Some(cert.clone());
            c.tls_key = Some(key.clone());
        });
        let Err(err) = Server::with_listener(&config, listener).await else {
            panic!("started with tls_cert {cert} and tls_key {key}");
        };
        let message = err.to_string();
        assert!(message.starts_with("tls: "), "{message}");
        assert!(message.contains(needle), "{message} should mention {needle}");
    }
}

/// Keys in every PEM form the server accepts: PKCS#8, SEC1 and PKCS#1.
#[test]
fn tls_keys_in_pkcs8_sec1_and_pkcs1_load() {
    let dir = support::self_signed_certificate("formats");
    let openssl = |args: &[&str]| {
        let status = std::process::Command::new("openssl")
            .current_dir(&dir)
            .args(args)
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success(), "openssl {args:?}");
    };
    openssl(&["ec", "-in", "key.pem", "-out", "sec1.pem"]);
    #[rustfmt::skip]
    openssl(&["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "rsa-pkcs8.pem",
        "-out", "rsa-cert.pem", "-days", "1", "-subj", "/CN=localhost",
        "-addext", "basicConstraints=critical,CA:FALSE"]);
    openssl(&[
        "rsa",
        "-in",
        "rsa-pkcs8.pem",
        "-traditional",
        "-out",
        "rsa-pkcs1.pem",
    ]);
    for (cert, key, marker) in [
        ("cert.pem", "key.pem", "-----BEGIN PRIVATE KEY-----"),
        ("cert.pem", "sec1.pem", "-----BEGIN EC PRIVATE KEY-----"),
        ("rsa-cert.pem", "rsa-pkcs1.pem", "-----BEGIN RSA PRIVATE KEY-----"),
    ] {
        let text = std::fs::read_to_string(dir.join(key)).unwrap();
        assert!(text.starts_with(marker), "{key}: {text}");
        let cert = dir.join(cert).display().to_string();
        let key = dir.join(key).display().to_string();
        if let Err(e) = tessera_server::listener::tls_acceptor(&cert, &key) {
            panic!("{key}: {e}");
        }
    }
}

#[tokio::test]
async fn metrics_are_served_on_their_own_address_only() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let config = config_for(&listener, |_| {});
    let server = Server::with_listener(&config, listener).await.unwrap();
    let metrics = server.metrics_addr().expect("a metrics address");
    assert_ne!(metrics, addr);
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    assert_eq!(
        support::request(addr, "GET", "/healthz", &[], b"").await.status,
        200
    );
    assert_eq!(
        support::request(addr, "GET", "/metrics", &[], b"").await.status,
        404
    );
    let scraped = support::request(metrics, "GET", "/metrics", &[], b"").await;
    assert_eq!(scraped.status, 200);
    let text = String::from_utf8(scraped.body).unwrap();
    assert!(text.contains("tessera_http_requests_total"), "{text}");
    // Only /metrics there.
    assert_eq!(
        support::request(metrics, "GET", "/healthz", &[], b"")
            .await
            .status,
        404
    );

    // Both addresses stop on shutdown.
    stop.send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(15), task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
    assert!(TcpStream::connect(metrics).await.is_err());
}

/// The old place, `metrics_listen = "listen"`, only when asked; `off`
/// serves it nowhere.
#[tokio::test]
async fn metrics_are_on_the_main_address_only_when_asked() {
    for (setting, on_main) in [("listen", 200), ("off", 404)] {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        let config = config_for(&listener, |c| c.metrics_listen = setting.into());
        let server = Server::with_listener(&config, listener).await.unwrap();
        assert_eq!(server.metrics_addr(), None, "{setting}: no address of its own");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(server.run(async {
            let _ = stopped.await;
        }));
        assert_eq!(
            support::request(addr, "GET", "/metrics", &[], b"").await.status,
            on_main,
            "{setting}"
        );
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(15), task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
    }
}

#[tokio::test]
async fn shutdown_lets_an_in_flight_request_finish() {
    let server = support::start_configured(&support::sqlite_url(), "ES256", None, |_| {}).await;
    let addr = server.addr;
    // A request whose body is half sent when shutdown starts is still
    // answered, while new connections are refused.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let body = b"grant_type=nonsense";
    let head = format!(
        "POST /token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&body[..5]).await.unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    let stopping = tokio::spawn(server.stop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(TcpStream::connect(addr).await.is_err(), "still accepting");
    stream.write_all(&body[5..]).await.unwrap();
    let (status, body) = read_response(&mut stream).await;
    assert_eq!(status, 400, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("unsupported_grant_type"));
    tokio::time::timeout(Duration::from_secs(15), stopping)
        .await
        .unwrap()
        .unwrap();
}
