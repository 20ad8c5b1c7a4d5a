//! DPoP-bound tokens at an API ([RFC 9449 §7]): Tessera binds a token to
//! the client's key; the guard accepts it only as `Authorization: DPoP`
//! with a proof by that key for this request (`htu` from the configured
//! base URL), once, and refuses it as a bearer token with a `DPoP`
//! challenge.
//!
//! [RFC 9449 §7]: https://www.rfc-editor.org/rfc/rfc9449#section-7

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use base64::Engine;
use serde_json::json;
use support::Tessera;
use tessera_guard::{Guard, Rejection};
use tessera_jwt::{Algorithm, SigningKey, UnixTime};

const BASE: &str = "https://api.example";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A proof by `key` for `htm htu`, with `ath` for `token` when given.
fn proof(key: &SigningKey, jti: &str, htm: &str, htu: &str, token: Option<&str>) -> String {
    let jwk = key.public_jwk().unwrap();
    let header = json!({"typ": "dpop+jwt", "alg": key.algorithm().name(), "jwk": jwk});
    let mut claims = json!({"jti": jti, "htm": htm, "htu": htu, "iat": UnixTime::now().as_secs()});
    if let Some(token) = token {
        claims["ath"] = json!(tessera_jwt::dpop::access_token_hash(token));
    }
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!("{input}.{}", b64(&key.sign_bytes(input.as_bytes()).unwrap()))
}

fn parts(method: &str, path: &str, headers: &[(&str, &str)]) -> http::request::Parts {
    let mut request = http::Request::builder().method(method).uri(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    request.body(()).unwrap().into_parts().0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_9449_7_bound_tokens_at_the_api() {
    let tessera = Tessera::start(&tessera_testkit::sqlite_url(), None).await;
    tessera
        .client("svc", &["client_credentials"], "read", &["api"])
        .await;
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let thief = SigningKey::generate(Algorithm::ES256).unwrap();
    let token_url = format!("{}/token", tessera.issuer);
    let r = tessera_testkit::token(
        tessera.addr,
        "grant_type=client_credentials",
        &[
            ("Authorization", &tessera_testkit::basic("svc", "pw")),
            ("DPoP", &proof(&key, "t1", "POST", &token_url, None)),
        ],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let token = r.json()["access_token"].as_str().unwrap().to_owned();
    let plain = tessera.token("svc", "grant_type=client_credentials").await;

    let guard = Guard::builder(&tessera.issuer, "api")
        .dpop(BASE)
        .build()
        .await
        .unwrap();
    let url = format!("{BASE}/tasks");
    let dpop_auth = format!("DPoP {token}");

    // The bound token with its key's proof for this request.
    let good = proof(&key, "g1", "GET", &url, Some(&token));
    let claims = guard
        .authenticate(&parts(
            "GET",
            "/tasks",
            &[("authorization", &dpop_auth), ("dpop", &good)],
        ))
        .await
        .unwrap();
    assert_eq!(claims.subject(), "svc");
    // An unbound token still works as a bearer token.
    guard
        .authenticate(&parts(
            "GET",
            "/tasks",
            &[("authorization", &format!("Bearer {plain}"))],
        ))
        .await
        .unwrap();

    // The bound token as a bearer token: invalid_token, DPoP challenge.
    let e = guard
        .authenticate(&parts(
            "GET",
            "/tasks",
            &[("authorization", &format!("Bearer {token}"))],
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, Rejection::DpopInvalidToken(_)), "{e:?}");
    let challenge = e.challenge(None).unwrap();
    assert!(
        challenge.starts_with("DPoP error=\"invalid_token\"") && challenge.contains("algs=\"ES256"),
        "{challenge}"
    );
    assert_eq!(e.status(), 401);
    // ... and so is an unbound token sent as DPoP.
    let e = guard
        .authenticate(&parts(
            "GET",
            "/tasks",
            &[("authorization", &format!("DPoP {plain}"))],
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, Rejection::DpopInvalidToken(_)), "{e:?}");

    // Each bad proof: invalid_dpop_proof.
    let cases: Vec<(&str, Vec<String>)> = vec![
        ("no proof", vec![]),
        ("a replayed proof", vec![good.clone()]),
        (
            "another key",
            vec![proof(&thief, "b1", "GET", &url, Some(&token))],
        ),
        (
            "ath of another token",
            vec![proof(&key, "b2", "GET", &url, Some(&plain))],
        ),
        ("no ath", vec![proof(&key, "b3", "GET", &url, None)]),
        (
            "htu another path",
            vec![proof(&key, "b4", "GET", &format!("{BASE}/admin"), Some(&token))],
        ),
        (
            "htu the Host the request names, not the configured URL",
            vec![proof(
                &key,
                "b5",
                "GET",
                "https://evil.example/tasks",
                Some(&token),
            )],
        ),
        ("htm POST", vec![proof(&key, "b6", "POST", &url, Some(&token))]),
        (
            "two proofs",
            vec![
                proof(&key, "b7", "GET", &url, Some(&token)),
                proof(&key, "b8", "GET", &url, Some(&token)),
            ],
        ),
    ];
    for (why, proofs) in cases {
        let mut headers = vec![("authorization", dpop_auth.as_str()), ("host", "evil.example")];
        for p in &proofs {
            headers.push(("dpop", p));
        }
        let e = guard
            .authenticate(&parts("GET", "/tasks", &headers))
            .await
            .unwrap_err();
        assert!(matches!(e, Rejection::InvalidDpopProof(_)), "{why}: {e:?}");
        let challenge = e.challenge(None).unwrap();
        assert!(
            challenge.starts_with("DPoP error=\"invalid_dpop_proof\""),
            "{why}: {challenge}"
        );
    }

    // A guard without DPoP refuses bound tokens either way.
    let plain_guard = Guard::discover(&tessera.issuer, "api").await.unwrap();
    let fresh = proof(&key, "n1", "GET", &url, Some(&token));
    let e = plain_guard
        .authenticate(&parts(
            "GET",
            "/tasks",
            &[("authorization", &dpop_auth), ("dpop", &fresh)],
        ))
        .await
        .unwrap_err();
    assert!(matches!(e, Rejection::DpopInvalidToken(_)), "{e:?}");
}
