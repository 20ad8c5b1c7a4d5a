//! `private_key_jwt` client authentication ([RFC 7523 §2.2, §3]) at the
//! token, introspection and revocation endpoints, over real HTTP: the
//! assertion is signed with the client's own key (made here with
//! tessera-jwt, standing in for the client), verified with the keys it
//! registered, and used once, on every node (the race below sends one
//! assertion many times at once).
//!
//! [RFC 7523 §2.2, §3]: https://www.rfc-editor.org/rfc/rfc7523#section-3

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use tessera_testkit as support;

mod fake_site;

use serde_json::json;
use support::{request, start, token};
use tessera_jwt::{Algorithm, KeySet, Signer, SigningKey, UnixTime};
use tessera_server::clients::registration::{register_with_id, NewClient};
use tessera_server::domain::{ClientKeys, GrantType, Scope};
use tessera_server::store::Store;

const TYPE: &str = "urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer";

/// The client's key pair: its signer, and its public JWK Set.
fn key_pair(alg: Algorithm) -> (Signer, String) {
    let key = SigningKey::generate(alg).unwrap();
    let jwks = KeySet::new(vec![key.verifying_key().unwrap()])
        .unwrap()
        .to_public_jwks();
    (Signer::new(key, None), serde_json::to_string(&jwks).unwrap())
}

async fn register(store: &Store, id: &str, keys: ClientKeys) {
    let new = NewClient {
        keys: Some(keys),
        grant_types: vec![GrantType::ClientCredentials],
        scopes: Scope::parse("read").unwrap(),
        audiences: vec!["api".into()],
        ..NewClient::new(id, 600)
    };
    register_with_id(store, id, new, 1).await.unwrap();
}

/// An assertion by `signer` for `client_id`, to `aud`, with `jti`,
/// expiring `ttl` seconds from now.
fn assertion(signer: &Signer, client_id: &str, aud: &str, jti: &str, ttl: i64) -> String {
    let now = UnixTime::now().as_secs();
    signer
        .sign(&json!({
            "iss": client_id, "sub": client_id, "aud": aud, "jti": jti,
            "iat": now, "exp": now + ttl,
        }))
        .unwrap()
}

fn form(assertion: &str, with_id: Option<&str>) -> String {
    let id = with_id.map(|id| format!("&client_id={id}")).unwrap_or_default();
    format!("grant_type=client_credentials&client_assertion_type={TYPE}&client_assertion={assertion}{id}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_7523_client_authentication() {
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let store = Store::open(&db).await.unwrap();
    let (signer, jwks) = key_pair(Algorithm::ES256);
    let (stranger, _) = key_pair(Algorithm::ES256);
    register(&store, "svc", ClientKeys::Jwks(jwks)).await;
    register(
        &store,
        "by-uri",
        ClientKeys::JwksUri("https://svc.example/jwks".into()),
    )
    .await;
    let addr = server.addr;
    let issuer = server.issuer.clone();
    let token_endpoint = format!("{issuer}/token");

    // A good assertion, aud the issuer; the client is named by sub alone.
    let r = token(
        addr,
        &form(&assertion(&signer, "svc", &issuer, "j1", 60), None),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["scope"], "read");
    // aud the token endpoint URL, with client_id in the body.
    let r = token(
        addr,
        &form(&assertion(&signer, "svc", &token_endpoint, "j2", 60), Some("svc")),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // Each refusal is invalid_client (RFC 7521 §4.2.1).
    let refused: Vec<(&str, String)> = vec![
        (
            "a replayed jti",
            form(&assertion(&signer, "svc", &issuer, "j1", 60), None),
        ),
        (
            "aud another server",
            form(&assertion(&signer, "svc", "https://else.example", "j3", 60), None),
        ),
        (
            "signed by another key",
            form(&assertion(&stranger, "svc", &issuer, "j4", 60), None),
        ),
        (
            "living too long",
            form(&assertion(&signer, "svc", &issuer, "j5", 3600), None),
        ),
        (
            "expired",
            form(&assertion(&signer, "svc", &issuer, "j6", -120), None),
        ),
        (
            "body client_id another client",
            form(&assertion(&signer, "svc", &issuer, "j7", 60), Some("by-uri")),
        ),
        (
            "no assertion at all",
            "grant_type=client_credentials&client_id=svc".into(),
        ),
    ];
    for (name, body) in refused {
        let r = token(addr, &body, &[]).await;
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (401, Some("invalid_client")),
            "{name}"
        );
    }
    // A jwks_uri client whose keys cannot be fetched (no such host here):
    // invalid_client.
    let r = token(
        addr,
        &form(&assertion(&signer, "by-uri", &issuer, "j8", 60), None),
        &[],
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("invalid_client"))
    );
    // An assertion and a secret at once: one method per request.
    let body = format!(
        "{}&client_secret=x",
        form(&assertion(&signer, "svc", &issuer, "j9", 60), None)
    );
    let r = token(addr, &body, &[]).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    // An unknown assertion type.
    let body = format!(
        "grant_type=client_credentials&client_assertion_type=saml&client_assertion={}",
        assertion(&signer, "svc", &issuer, "j10", 60)
    );
    let r = token(addr, &body, &[]).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // Introspection takes the same proof.
    let access = token(
        addr,
        &form(&assertion(&signer, "svc", &issuer, "j11", 60), None),
        &[],
    )
    .await
    .json()["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let body = format!(
        "token={access}&client_assertion_type={TYPE}&client_assertion={}",
        assertion(&signer, "svc", &issuer, "j12", 60)
    );
    let headers = [("Content-Type", "application/x-www-form-urlencoded")];
    let r = request(addr, "POST", "/introspect", &headers, body.as_bytes()).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["active"], true);

    // Discovery says so.
    let r = request(addr, "GET", "/.well-known/openid-configuration", &[], b"").await;
    let doc = r.json();
    let methods = doc["token_endpoint_auth_methods_supported"].as_array().unwrap();
    assert!(methods.iter().any(|m| m == "private_key_jwt"));
}

/// RFC 7523 §3 item 7 under real concurrency: one assertion sent many
/// times at once is accepted exactly once, trial after trial.
async fn one_assertion_sent_at_once_many_times_is_accepted_once(db: &str) {
    let server = start(db, "ES256").await;
    let store = Store::open(db).await.unwrap();
    let (signer, jwks) = key_pair(Algorithm::ES256);
    register(&store, "svc", ClientKeys::Jwks(jwks)).await;
    for trial in 0..5 {
        let body = form(
            &assertion(&signer, "svc", &server.issuer, &format!("race-{trial}"), 60),
            None,
        );
        let mut sent = Vec::new();
        for _ in 0..12 {
            let body = body.clone();
            let addr = server.addr;
            sent.push(tokio::spawn(async move { token(addr, &body, &[]).await.status }));
        }
        let mut statuses = Vec::new();
        for s in sent {
            statuses.push(s.await.unwrap());
        }
        let won = statuses.iter().filter(|s| **s == 200).count();
        assert_eq!(won, 1, "trial {trial}: {statuses:?}");
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 401),
            "trial {trial}: {statuses:?}"
        );
    }
}

mod replay_race {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        one_assertion_sent_at_once_many_times_is_accepted_once(&support::sqlite_url()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(url) = support::postgres_url().await {
            one_assertion_sent_at_once_many_times_is_accepted_once(&url).await;
        }
    }
}

/// `tessera client create --jwks FILE` registers a private_key_jwt client:
/// no secret is printed, and an assertion signed with the key is
/// accepted. A file that is not a JWK Set with an asymmetric key is
/// refused, naming the flag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_registers_a_client_by_its_keys() {
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let (signer, jwks) = key_pair(Algorithm::EdDSA);
    let dir = std::env::temp_dir().join(format!("tessera-pkjwt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("client.jwks");
    std::fs::write(&file, jwks).unwrap();
    let create = |file: &std::path::Path| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args([
                "client",
                "create",
                "--name",
                "svc",
                "--scope",
                "read",
                "--database",
                &db,
                "--jwks",
            ])
            .arg(file)
            .output()
            .unwrap()
    };
    let out = create(&file);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(created.get("client_secret").is_none(), "{created}");
    let id = created["client_id"].as_str().unwrap();
    let r = token(
        server.addr,
        &form(&assertion(&signer, id, &server.issuer, "cli-1", 60), None),
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let secret = dir.join("hmac.jwks");
    std::fs::write(
        &secret,
        r#"{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0","alg":"HS256"}]}"#,
    )
    .unwrap();
    for bad in [secret, dir.join("missing.jwks")] {
        let out = create(&bad);
        assert!(!out.status.success());
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--jwks"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A real client library nobody here wrote: npm openid-client signs its
/// own assertions (`client.PrivateKeyJwt`) for the client credentials
/// grant and for introspection. Its key pair is made by Node's WebCrypto;
/// Tessera only ever sees the public JWK Set, registered through the CLI.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_authenticates_with_private_key_jwt() {
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        scripts.join("node_modules/openid-client").exists(),
        "run `npm ci` in {} (.ci/run does)",
        scripts.display()
    );
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let dir = std::env::temp_dir().join(format!("tessera-pkjwt-node-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let node = move |args: Vec<String>| {
        let out = std::process::Command::new("node")
            .current_dir(&scripts)
            .arg("private_key_jwt.mjs")
            .args(args)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    };
    let jwks = node(vec!["keygen".into(), dir.display().to_string()]);
    let file = dir.join("client.jwks");
    std::fs::write(&file, jwks).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "client",
            "create",
            "--name",
            "node",
            "--scope",
            "read",
            "--audience",
            "api",
        ])
        .args(["--database", &db, "--resource-server", "api", "--jwks"])
        .arg(&file)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let (issuer, dir_arg) = (server.issuer.clone(), dir.display().to_string());
    let got = tokio::task::spawn_blocking(move || node(vec!["grant".into(), issuer, id.clone(), dir_arg]))
        .await
        .unwrap();
    let got: serde_json::Value = serde_json::from_slice(&got).unwrap();
    assert_eq!(got["scope"], "read");
    assert_eq!(got["token_type"], "bearer", "openid-client lower-cases it");
    assert_eq!(got["active"], true);
    assert!(got["advertised"]
        .as_array()
        .unwrap()
        .iter()
        .any(|m| m == "private_key_jwt"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `private_key_jwt` with keys at a `jwks_uri` (RFC 7591 §2), served on
/// an allow-listed loopback host over plain http: the keys are fetched and
/// kept (one fetch for several assertions); a key rotation is picked up
/// when an assertion names a key the kept set does not hold; and an
/// unknown key again within 30 seconds does not fetch again, so made-up
/// `kid`s cannot make the server hammer the URL.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_at_a_jwks_uri_are_fetched_kept_and_refreshed_on_rotation() {
    let site = fake_site::FakeSite::start(None).await;
    let db = support::sqlite_url();
    let server = support::start_configured(&db, "ES256", None, |c| {
        c.client_metadata_allow_hosts = vec!["127.0.0.1".into()];
    })
    .await;
    let store = Store::open(&db).await.unwrap();
    let (old, old_jwks) = key_pair(Algorithm::ES256);
    let (new, new_jwks) = key_pair(Algorithm::ES256);
    let (stranger, _) = key_pair(Algorithm::ES256);
    let serve = |jwks: &str| {
        site.put(
            "/jwks",
            fake_site::Page::json(&serde_json::from_str(jwks).unwrap()).with("cache-control", "max-age=3600"),
        )
    };
    serve(&old_jwks);
    register(&store, "rotating", ClientKeys::JwksUri(site.url("/jwks"))).await;
    let issuer = server.issuer.clone();
    let send = |signer: &Signer, jti: &str| {
        let body = form(&assertion(signer, "rotating", &issuer, jti, 60), None);
        async move { token(server.addr, &body, &[]).await }
    };

    for jti in ["r1", "r2"] {
        let r = send(&old, jti).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    assert_eq!(site.hits("/jwks"), 1, "fetched once, then kept");

    // The client rotates: the kept set lacks the new kid, so it is fetched
    // again and the assertion is accepted; many requests seeing the
    // rotation at once share that one fetch, and none is refused.
    serve(&new_jwks);
    let tasks: Vec<_> = (0..16)
        .map(|i| {
            let body = form(
                &assertion(&new, "rotating", &issuer, &format!("r3-{i}"), 60),
                None,
            );
            let addr = server.addr;
            tokio::spawn(async move { token(addr, &body, &[]).await })
        })
        .collect();
    for t in tasks {
        let r = t.await.unwrap();
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    assert_eq!(site.hits("/jwks"), 2, "one fetch for the rotation");
    // The old key is gone from the set now.
    let r = send(&old, "r4").await;
    assert_eq!(r.status, 401);
    // Unknown kids again: refused without another fetch (rate limit).
    for jti in ["r5", "r6", "r7"] {
        let r = send(&stranger, jti).await;
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (401, Some("invalid_client"))
        );
    }
    assert_eq!(site.hits("/jwks"), 2, "at most one early fetch per 30 s");
    server.stop().await;
}

/// A `jwks_uri` on a private address whose host is not allow-listed is
/// never fetched (server-side request forgery): the client is refused and
/// the site sees no request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_jwks_uri_on_a_private_address_is_not_fetched() {
    // https with a trusted certificate, so only the address rule can
    // refuse it.
    let dir = support::self_signed_certificate("pkjwt-private");
    let site = fake_site::FakeSite::start(Some((&dir.join("cert.pem"), &dir.join("key.pem")))).await;
    let (signer, jwks) = key_pair(Algorithm::ES256);
    site.put(
        "/jwks",
        fake_site::Page::json(&serde_json::from_str(&jwks).unwrap()),
    );
    let db = support::sqlite_url();
    let ca = dir.join("cert.pem").display().to_string();
    let server = support::start_configured(&db, "ES256", None, |c| c.outbound_ca_file = Some(ca)).await;
    let store = Store::open(&db).await.unwrap();
    let url = site.url("/jwks");
    register(&store, "inside", ClientKeys::JwksUri(url)).await;
    let r = token(
        server.addr,
        &form(&assertion(&signer, "inside", &server.issuer, "p1", 60), None),
        &[],
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert_eq!(site.hits("/jwks"), 0);
    server.stop().await;
}
