//! An `https://` issuer: the guard fetches metadata and keys over TLS,
//! trusting a private CA the application adds, and refuses an issuer whose
//! certificate it cannot trust. Certificates are made with the `openssl`
//! command for this test run.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use support::FakeIssuer;
use tessera_guard::{Guard, SetupError};
use tessera_jwt::{Algorithm, Signer, SigningKey, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls::pki_types::pem::PemObject;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A CA, and a certificate for 127.0.0.1 that it signed.
fn certificates(dir: &Path) -> bool {
    let openssl = |args: &[&str]| {
        Command::new("openssl")
            .current_dir(dir)
            .args(args)
            .output()
            .is_ok_and(|o| o.status.success())
    };
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.pem",
                "-days",
                "2",
                "-subj",
                "/CN=tessera test CA",
            ],
        ]
        .concat(),
    ) && openssl(
        &[
            &["req"],
            &ec[..],
            &[
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    ) && openssl(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "2",
        "-extfile",
        "leaf.ext",
    ])
}

/// Serves discovery and `jwks` over TLS, one request per connection; the
/// discovery document names `{url}/jwks`, unless `members` say otherwise.
async fn issuer(dir: &Path, jwks: String, members: &[(&str, &str)]) -> String {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(dir.join("leaf.pem"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    let key = PrivateKeyDer::from_pem_file(dir.join("leaf.key")).unwrap();
    let config = tokio_rustls::rustls::ServerConfig::builder_with_provider(Arc::new(
        tokio_rustls::rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let mut discovery = serde_json::json!({"issuer": url, "jwks_uri": format!("{url}/jwks")});
    for (name, value) in members {
        discovery[*name] = (*value).into();
    }
    let discovery = discovery.to_string();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let (acceptor, discovery, jwks) = (acceptor.clone(), discovery.clone(), jwks.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&head)
                    .lines()
                    .next()
                    .unwrap_or("")
                    .to_owned();
                let body = if line.contains("/.well-known/openid-configuration") {
                    &discovery
                } else {
                    &jwks
                };
                let response = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    url
}

/// A folder with fresh certificates for the test `name`, or `None` (the
/// test is skipped) without the openssl command.
fn certificates_for(name: &str) -> Option<PathBuf> {
    let dir = std::env::temp_dir().join(format!("tessera-guard-tls-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    if !certificates(&dir) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have the openssl command"
        );
        eprintln!("SKIPPED: the openssl command is not available");
        return None;
    }
    Some(dir)
}

/// An ES256 key and its JWK Set.
fn key_and_jwks() -> (SigningKey, String) {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let jwks = support::public_jwks(&key);
    (key, jwks)
}

#[tokio::test]
async fn https_issuer_with_a_private_ca() {
    let Some(dir) = certificates_for("ca") else {
        return;
    };
    let (key, jwks) = key_and_jwks();
    let url = issuer(&dir, jwks, &[]).await;

    // Without the private CA, the issuer's certificate is not trusted.
    match Guard::discover(&url, "api").await {
        Err(SetupError::Fetch(e)) => assert!(e.to_string().to_lowercase().contains("certificate"), "{e}"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("an untrusted issuer was accepted"),
    }

    // With it: metadata and keys over TLS, and a token verifies.
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    let guard = Guard::builder(&url, "api")
        .tls_root_certificates(&ca)
        .build()
        .await
        .unwrap();
    let now = UnixTime::now().as_secs();
    let token = Signer::new(key, Some("at+jwt"))
        .sign(&serde_json::json!({
            "iss": url, "sub": "u", "aud": "api", "exp": now + 60, "iat": now, "jti": "j", "client_id": "c"
        }))
        .unwrap();
    assert_eq!(guard.verify(&token).await.unwrap().subject(), "u");
    assert_eq!(guard.key_fetches(), 1);

    // Not PEM: refused when building, not at the first request.
    assert!(matches!(
        Guard::builder(&url, "api")
            .tls_root_certificates(b"-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n")
            .build()
            .await,
        Err(SetupError::Fetch(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

/// An `https://` issuer's keys are fetched over `https://` only (RFC 8414
/// §2), and tokens are introspected over `https://` only: an `http://`
/// `jwks_uri` or `introspection_endpoint` is refused when building, even
/// one that serves the issuer's very keys, as a network attacker's would.
#[tokio::test]
async fn https_issuer_refuses_http_endpoints() {
    let Some(dir) = certificates_for("downgrade") else {
        return;
    };
    let ca = std::fs::read(dir.join("ca.pem")).unwrap();
    let (_, jwks) = key_and_jwks();
    // A plain-http server that serves the keys (and answers introspection).
    let (_plain, plain) = FakeIssuer::start(&jwks).await;
    let http_keys = format!("{plain}/keys");
    let http_introspect = format!("{plain}/introspect");
    // (Told by the error's text and `Debug`, so that this test also runs,
    // and fails, against a guard without `SetupError::InsecureEndpoint`.)
    let refused = |result: Result<Guard, SetupError>, which: &str, url: &str| match result {
        Err(e) => {
            let debug = format!("{e:?}");
            assert!(debug.starts_with("InsecureEndpoint"), "wrong error: {debug}");
            assert!(debug.contains(which) && debug.contains(url), "{debug}");
            let text = e.to_string();
            assert!(text.contains(which) && text.contains(url), "{text}");
        }
        Ok(_) => panic!("an https issuer's {which} over http was accepted"),
    };

    // The metadata names an http jwks_uri.
    let url = issuer(
        &dir,
        jwks.clone(),
        &[
            ("jwks_uri", &http_keys),
            ("introspection_endpoint", &http_introspect),
        ],
    )
    .await;
    let builder = || Guard::builder(&url, "api").tls_root_certificates(&ca);
    refused(builder().build().await, "jwks_uri", &http_keys);
    // So does introspection.
    refused(
        builder().introspection("api", "pw").build().await,
        "introspection_endpoint",
        &http_introspect,
    );
    // One set by the application must keep the issuer's scheme too ...
    refused(
        builder().jwks_uri(&http_keys).build().await,
        "jwks_uri",
        &http_keys,
    );
    // ... while an https one is taken, wherever the metadata points.
    let guard = builder().jwks_uri(&format!("{url}/jwks")).build().await.unwrap();
    assert_eq!(guard.key_fetches(), 1);

    // An http issuer may still name http endpoints (a private network).
    let guard = Guard::builder(&plain, "api").build().await.unwrap();
    assert_eq!(guard.key_fetches(), 1);
    let _ = std::fs::remove_dir_all(&dir);
}
