//! tessera-guard against issuers that are not Tessera: a fake issuer whose
//! keys, `Cache-Control` and availability each test sets, and tokens minted
//! by PyJWT.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::process::Command;
use std::time::Duration;

use http::StatusCode;
use serde_json::Value;
use support::{api, call, FakeIssuer};
use tessera_guard::{Guard, KeyPolicy, Rejection, SetupError};
use tessera_jwt::{Algorithm, KeySet, Signer, SigningKey, UnixTime};

/// A key, its JWKS, and tokens for `issuer` and audience `api`.
struct Keys {
    signer: Signer,
    jwks: String,
}

impl Keys {
    fn new(kid: &str) -> Keys {
        let key = SigningKey::generate(Algorithm::ES256).unwrap().with_kid(kid);
        let jwks = support::public_jwks(&key);
        Keys {
            signer: Signer::new(key, Some("at+jwt")),
            jwks,
        }
    }

    fn token(&self, issuer: &str) -> String {
        let now = UnixTime::now().as_secs();
        self.signer
            .sign(&serde_json::json!({
                "iss": issuer, "sub": "u", "aud": "api", "exp": now + 300, "iat": now,
                "jti": "j", "client_id": "c", "scope": "read"
            }))
            .unwrap()
    }
}

/// Tokens minted by PyJWT, keys published by an issuer that is not
/// Tessera: the RFC 9068 rules hold for them too.
#[tokio::test]
async fn pyjwt_tokens_from_another_issuer() {
    let available = Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have PyJWT (`.ci/run` installs it)"
        );
        eprintln!("SKIPPED: python3 with pyjwt[crypto] is not installed");
        return;
    }
    let (fake, issuer) = FakeIssuer::start("{\"keys\": []}").await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/pyjwt_issuer.py");
    let out = Command::new("python3")
        .args([script, &issuer, "api"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let minted: Value = serde_json::from_slice(&out.stdout).unwrap();
    fake.set(|s| s.jwks = minted["jwks"].to_string());

    let guard = Guard::discover(&issuer, "api").await.unwrap();
    let app = api(&guard);
    let token = |name: &str| minted["tokens"][name].as_str().unwrap().to_owned();
    let r = call(&app, "/read", Some(&token("good"))).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sub"], "user-42");
    assert_eq!(r.body["scopes"], serde_json::json!(["read", "write"]));
    let claims = guard.verify(&token("good")).await.unwrap();
    assert_eq!(claims.get::<String>("org").as_deref(), Some("acme"));

    for (name, needle) in [
        ("expired", "expired"),
        ("other_audience", "aud"),
        ("no_typ", "typ"),
    ] {
        let r = call(&app, "/read", Some(&token(name))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{name}");
        let description = r.body["error_description"].as_str().unwrap();
        assert!(description.contains(needle), "{name}: {description}");
    }
}

/// The metadata must name the issuer the guard was configured with.
#[tokio::test]
async fn metadata_for_another_issuer_is_refused() {
    let keys = Keys::new("k1");
    let (fake, issuer) = FakeIssuer::start(&keys.jwks).await;
    fake.set(|s| s.issuer = "http://impostor.example".into());
    match Guard::discover(&issuer, "api").await {
        Err(SetupError::IssuerMismatch { found, .. }) => assert_eq!(found, "http://impostor.example"),
        Err(e) => panic!("wrong error: {e}"),
        Ok(_) => panic!("a guard for the wrong issuer"),
    }
}

/// `Cache-Control: max-age` sets freshness within the policy's bounds; a
/// stale set is refreshed in the background while requests go on.
#[tokio::test]
async fn cache_control_within_bounds() {
    let first = Keys::new("first");
    let (fake, issuer) = FakeIssuer::start(&first.jwks).await;
    // Asks for a day; the policy caps freshness at 1 s.
    fake.set(|s| s.cache_control = Some("public, max-age=86400".into()));
    let policy = KeyPolicy {
        min_ttl: Duration::from_millis(200),
        max_ttl: Duration::from_secs(1),
        refetch_interval: Duration::from_millis(100),
        ..KeyPolicy::default()
    };
    let guard = Guard::builder(&issuer, "api")
        .key_policy(policy.clone())
        .build()
        .await
        .unwrap();
    let token = first.token(&issuer);
    assert!(guard.verify(&token).await.is_ok());
    assert!(guard.verify(&token).await.is_ok());
    assert_eq!(fake.fetches(), 1, "fresh keys are not fetched again");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert!(
        guard.verify(&token).await.is_ok(),
        "stale keys still serve while refreshing"
    );
    wait_for(|| fake.fetches() == 2).await;

    // `no-store` means the floor: fresh for 200 ms only.
    let (fake, issuer) = FakeIssuer::start(&first.jwks).await;
    fake.set(|s| s.cache_control = Some("no-store".into()));
    let guard = Guard::builder(&issuer, "api")
        .key_policy(policy)
        .build()
        .await
        .unwrap();
    let token = first.token(&issuer);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(guard.verify(&token).await.is_ok());
    wait_for(|| fake.fetches() == 2).await;
}

/// An outage: failed refreshes keep the cached keys (a malformed JWKS is
/// a failed refresh, not an empty key set) until `max_stale`, then 503.
#[tokio::test]
async fn outage_keeps_keys_until_max_stale() {
    let keys = Keys::new("k1");
    let (fake, issuer) = FakeIssuer::start(&keys.jwks).await;
    fake.set(|s| s.cache_control = Some("max-age=0".into()));
    let policy = KeyPolicy {
        min_ttl: Duration::from_millis(100),
        refetch_interval: Duration::from_millis(100),
        max_stale: Duration::from_millis(1500),
        ..KeyPolicy::default()
    };
    let guard = Guard::builder(&issuer, "api")
        .key_policy(policy)
        .build()
        .await
        .unwrap();
    let app = api(&guard);
    let token = keys.token(&issuer);
    fake.set(|s| s.jwks = "{\"keys\": \"not a list\"}".into());
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(guard.verify(&token).await.is_ok());
    wait_for(|| fake.fetches() >= 2).await;
    fake.set(|s| s.failing = true);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        guard.verify(&token).await.is_ok(),
        "cached keys serve through the outage"
    );
    // Past max_stale: the guard cannot vouch for any token; 503, no challenge.
    tokio::time::sleep(Duration::from_millis(1300)).await;
    let r = call(&app, "/read", Some(&token)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(r.headers.get("www-authenticate").is_none());
    // The issuer is back: the next refresh restores service.
    fake.set(|s| {
        s.failing = false;
        s.jwks = keys.jwks.clone();
    });
    let mut ok = false;
    for _ in 0..50 {
        if guard.verify(&token).await.is_ok() {
            ok = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(ok, "service comes back with the issuer");
    assert!(matches!(
        guard.verify("a.b.c").await,
        Err(Rejection::InvalidToken(_))
    ));
}

/// A JWK Set fetched from the issuer may list a symmetric (`oct`) key,
/// whose secret is then public: tokens signed with it are refused, while
/// the set's public keys still verify tokens.
#[tokio::test]
async fn symmetric_keys_in_a_fetched_jwks_are_ignored() {
    let rsa = SigningKey::generate_rsa(Algorithm::RS256, 2048)
        .unwrap()
        .with_kid("rsa");
    let shared = || {
        SigningKey::from_hmac_secret(Algorithm::HS256, b"a secret anyone can read in the JWKS")
            .unwrap()
            .with_kid("shared")
    };
    let mut jwks = KeySet::new(vec![rsa.verifying_key().unwrap()])
        .unwrap()
        .to_public_jwks();
    jwks.keys.push(shared().to_private_jwk().unwrap());
    let (_fake, issuer) = FakeIssuer::start(&serde_json::to_string(&jwks).unwrap()).await;
    let guard = Guard::discover(&issuer, "api").await.unwrap();
    let app = api(&guard);

    let claims = |iss: &str| {
        let now = UnixTime::now().as_secs();
        serde_json::json!({
            "iss": iss, "sub": "u", "aud": "api", "exp": now + 300, "iat": now,
            "jti": "j", "client_id": "c", "scope": "read"
        })
    };
    let forged = Signer::new(shared(), Some("at+jwt"))
        .sign(&claims(&issuer))
        .unwrap();
    let r = call(&app, "/read", Some(&forged)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    assert!(
        r.challenge().starts_with("Bearer error=\"invalid_token\""),
        "{}",
        r.challenge()
    );

    let good = Signer::new(rsa, Some("at+jwt")).sign(&claims(&issuer)).unwrap();
    let r = call(&app, "/read", Some(&good)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sub"], "u");
}

/// Keys the application configures itself may be symmetric: a secret it
/// shares with the issuer, distributed out of band.
#[tokio::test]
async fn configured_symmetric_keys_verify() {
    let secret = SigningKey::from_hmac_secret(Algorithm::HS256, b"a secret shared with the issuer only")
        .unwrap()
        .with_kid("shared");
    let jwks = serde_json::json!({ "keys": [secret.to_private_jwk().unwrap()] }).to_string();
    let guard = Guard::builder("http://id.example", "api")
        .jwks_json(jwks.as_bytes())
        .build()
        .await
        .unwrap();
    let now = UnixTime::now().as_secs();
    let token = Signer::new(secret, Some("at+jwt"))
        .sign(&serde_json::json!({
            "iss": "http://id.example", "sub": "u", "aud": "api", "exp": now + 300, "iat": now,
            "jti": "j", "client_id": "c"
        }))
        .unwrap();
    assert_eq!(guard.verify(&token).await.unwrap().subject(), "u");
    assert_eq!(guard.key_fetches(), 0);
}

/// Many distinct invalid tokens cannot flush a valid token's answer out
/// of the introspection cache: the valid token is still answered from the
/// cache, without asking the issuer again.
#[tokio::test]
async fn introspection_cache_cannot_be_flushed() {
    let (fake, issuer) = FakeIssuer::start("{\"keys\": []}").await;
    fake.set(|s| s.active = vec!["valid-token".into()]);
    let capacity = 10;
    let guard = Guard::builder(&issuer, "api")
        .introspection("api", "pw")
        .introspection_cache(Duration::from_secs(60), capacity)
        .build()
        .await
        .unwrap();
    let app = api(&guard);
    let r = call(&app, "/read", Some("valid-token")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(fake.introspections(), 1);

    let junk: Vec<String> = (0..capacity * 2).map(|n| format!("junk-{n}")).collect();
    for token in &junk {
        let r = call(&app, "/read", Some(token)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
    }
    assert_eq!(fake.introspections(), 1 + capacity * 2);

    let r = call(&app, "/read", Some("valid-token")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        fake.introspections(),
        1 + capacity * 2,
        "the valid token's answer was pushed out of the cache"
    );
    // The latest refusal is remembered too: no new question for it.
    assert!(matches!(
        guard.verify(junk.last().unwrap()).await,
        Err(Rejection::InvalidToken(_))
    ));
    assert_eq!(fake.introspections(), 1 + capacity * 2);
}

async fn wait_for(mut done: impl FnMut() -> bool) {
    for _ in 0..100 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("condition not reached in 2 s");
}

/// RFC 9728: a guard that names its API serves the protected resource
/// metadata at the well-known URL made from the identifier (§3.1), and
/// every 401 names that URL in `resource_metadata` (§5.1); a 403 still
/// names the scope needed.
#[tokio::test]
async fn protected_resource_metadata() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let jwks =
        serde_json::json!({ "keys": [key.verifying_key().unwrap().public_jwk().unwrap()] }).to_string();
    let guard = Guard::builder("https://id.example", "https://api.example/tasks")
        .jwks_json(jwks.as_bytes())
        .resource("https://api.example/tasks", &["read", "write"])
        .build()
        .await
        .unwrap();
    let metadata = guard.resource_metadata().unwrap().clone();
    assert_eq!(metadata.path(), "/.well-known/oauth-protected-resource/tasks");
    let served = metadata.clone();
    let app = api(&guard).route(
        &metadata.path(),
        axum::routing::get(move || {
            let served = served.clone();
            async move { served.response::<axum::body::Body>() }
        }),
    );
    let doc = call(&app, &metadata.path(), None).await;
    assert_eq!(doc.status, StatusCode::OK);
    assert_eq!(doc.body["resource"], "https://api.example/tasks");
    assert_eq!(
        doc.body["authorization_servers"],
        serde_json::json!(["https://id.example"])
    );
    assert_eq!(doc.body["scopes_supported"], serde_json::json!(["read", "write"]));
    let url = "https://api.example/.well-known/oauth-protected-resource/tasks";
    let none = call(&app, "/me", None).await;
    assert_eq!(none.status, StatusCode::UNAUTHORIZED);
    assert!(
        none.challenge().contains(&format!("resource_metadata=\"{url}\"")),
        "{}",
        none.challenge()
    );
    let bad = call(&app, "/me", Some("not.a.token")).await;
    assert!(
        bad.challenge().contains("resource_metadata="),
        "{}",
        bad.challenge()
    );
    let now = UnixTime::now().as_secs();
    let signer = Signer::new(key, Some("at+jwt"));
    let token = signer
        .sign(&serde_json::json!({
            "iss": "https://id.example", "sub": "u", "aud": "https://api.example/tasks", "exp": now + 300,
            "iat": now, "jti": "j", "client_id": "c", "scope": "write"
        }))
        .unwrap();
    let forbidden = call(&app, "/read", Some(&token)).await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
    assert!(
        forbidden.challenge().contains("scope=\"read\""),
        "{}",
        forbidden.challenge()
    );
    assert_eq!(call(&app, "/me", Some(&token)).await.status, StatusCode::OK);
    // A token the issuer minted for another API (RFC 8707 `resource`) is
    // not this one's.
    let elsewhere = signer
        .sign(&serde_json::json!({
            "iss": "https://id.example", "sub": "u", "aud": "https://api.example/other", "exp": now + 300,
            "iat": now, "jti": "j2", "client_id": "c", "scope": "read write"
        }))
        .unwrap();
    let refused = call(&app, "/me", Some(&elsewhere)).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(
        refused.challenge().contains("invalid_token"),
        "{}",
        refused.challenge()
    );
    // The guard checks its resource as the audience: naming another is a
    // setup error, not a guard that takes the wrong tokens.
    let mismatched = Guard::builder("https://id.example", "api")
        .jwks_json(jwks.as_bytes())
        .resource("https://api.example/tasks", &[])
        .build()
        .await;
    assert!(matches!(mismatched, Err(SetupError::ResourceAudience { .. })));
    // A resource identifier that is not an https URL is refused at build.
    let refused = Guard::builder("https://id.example", "tasks-api")
        .jwks_json(jwks.as_bytes())
        .resource("tasks-api", &[])
        .build()
        .await;
    assert!(matches!(refused, Err(SetupError::Resource(_))));
}
