//! tessera-guard against a live Tessera server started in this process:
//! discovery, verification through the layer, RFC 6750 answers, key
//! rotation, an unknown-`kid` flood, an issuer outage, introspection.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use http::StatusCode;
use support::{api, call, Tessera};
use tessera_guard::{Guard, KeyPolicy, Rejection};
use tessera_jwt::{Algorithm, Signer, SigningKey};

/// Tokens Tessera issues pass the layer with their claims; each way a
/// request can fail gets its RFC 6750 §3 answer.
#[tokio::test]
async fn tessera_tokens_through_the_layer() {
    let tessera = Tessera::start(&support::sqlite_url(), None).await;
    tessera
        .client("svc", &["client_credentials"], "read write", &["api"])
        .await;
    tessera
        .client("elsewhere", &["client_credentials"], "read", &["other-api"])
        .await;
    tessera.client("app", &["password"], "read", &["api"]).await;
    tessera.user("ann", "correct horse battery", &["admin"]).await;
    tessera.user("bob", "correct horse battery", &["user"]).await;

    let guard = Guard::discover(&tessera.issuer, "api").await.unwrap();
    let app = api(&guard);

    let both = tessera
        .token("svc", "grant_type=client_credentials&scope=read+write")
        .await;
    let r = call(&app, "/me", Some(&both)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sub"], "svc");
    assert_eq!(r.body["client_id"], "svc");
    assert_eq!(r.body["scopes"], serde_json::json!(["read", "write"]));
    assert_eq!(call(&app, "/write", Some(&both)).await.status, StatusCode::OK);

    // §3.1 insufficient_scope: 403 naming the scope.
    let read_only = tessera
        .token("svc", "grant_type=client_credentials&scope=read")
        .await;
    assert_eq!(call(&app, "/read", Some(&read_only)).await.status, StatusCode::OK);
    let r = call(&app, "/write", Some(&read_only)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(
        r.challenge().contains("error=\"insufficient_scope\""),
        "{}",
        r.challenge()
    );
    assert!(r.challenge().contains("scope=\"write\""), "{}", r.challenge());
    assert_eq!(r.body["error"], "insufficient_scope");

    // No token: 401 with a challenge and no error code (§3.1).
    let r = call(&app, "/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.challenge(), "Bearer");
    // Garbage, and a token for another API: invalid_token.
    for bad in [
        "garbage".to_owned(),
        tessera.token("elsewhere", "grant_type=client_credentials").await,
    ] {
        let r = call(&app, "/me", Some(&bad)).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(
            r.challenge().starts_with("Bearer error=\"invalid_token\""),
            "{}",
            r.challenge()
        );
    }
    let other_audience = tessera.token("elsewhere", "grant_type=client_credentials").await;
    let r = call(&app, "/me", Some(&other_audience)).await;
    assert!(
        r.body["error_description"].as_str().unwrap().contains("aud"),
        "{}",
        r.body
    );
    // A tampered signature.
    let mut tampered = both.clone();
    let last = tampered.pop().unwrap();
    tampered.push(if last == 'A' { 'B' } else { 'A' });
    assert_eq!(
        call(&app, "/me", Some(&tampered)).await.status,
        StatusCode::UNAUTHORIZED
    );

    // User tokens carry roles: only an admin passes the role check.
    let ann = tessera
        .token(
            "app",
            "grant_type=password&username=ann&password=correct+horse+battery",
        )
        .await;
    let bob = tessera
        .token(
            "app",
            "grant_type=password&username=bob&password=correct+horse+battery",
        )
        .await;
    let r = call(&app, "/admin", Some(&ann)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["username"], "ann");
    let r = call(&app, "/admin", Some(&bob)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body["error_description"].as_str().unwrap().contains("admin"));
    assert_eq!(
        call(&app, "/admin", Some(&both)).await.status,
        StatusCode::FORBIDDEN
    );

    // The keys were fetched once for all of this.
    assert_eq!(guard.key_fetches(), 1);
    tessera.stop().await;
}

/// Rotation, a flood of unknown `kid`s, and an outage of the issuer.
#[tokio::test]
async fn rotation_flood_and_outage() {
    let database = support::sqlite_url();
    let tessera = Tessera::start(&database, None).await;
    let addr = tessera.addr;
    tessera
        .client("svc", &["client_credentials"], "read", &["api"])
        .await;
    let interval = Duration::from_millis(500);
    let guard = Guard::builder(&tessera.issuer, "api")
        .key_policy(KeyPolicy {
            refetch_interval: interval,
            ..KeyPolicy::default()
        })
        .build()
        .await
        .unwrap();
    let old_token = tessera.token("svc", "grant_type=client_credentials").await;
    assert!(guard.verify(&old_token).await.is_ok());
    assert_eq!(guard.key_fetches(), 1);

    // Rotate so that the new key signs already (as if its publication
    // period had passed), and restart Tessera on the same address.
    let config = tessera.config.clone();
    let store = tessera.store().await;
    let master = tessera_server::server::master_key(&config).unwrap();
    let now = tessera_jwt::UnixTime::now().as_secs();
    let new_key = tessera_server::keys::rotate(
        &store,
        &master,
        Algorithm::ES256,
        now - tessera_server::keys::PUBLISH_AHEAD - 1,
    )
    .await
    .unwrap();
    tessera.stop().await;
    let tessera = Tessera::start(&database, Some(addr)).await;
    tokio::time::sleep(interval).await;

    // A token from the new key: accepted after exactly one refetch; the
    // old key's tokens still verify (it stays published).
    let new_token = tessera.token("svc", "grant_type=client_credentials").await;
    let header = tessera_jwt::danger::decode_unverified(&new_token, 8192)
        .unwrap()
        .header;
    assert_eq!(header["kid"], new_key.kid.as_str());
    assert!(guard.verify(&new_token).await.is_ok());
    assert_eq!(guard.key_fetches(), 2);
    assert!(guard.verify(&old_token).await.is_ok());
    assert_eq!(guard.key_fetches(), 2);

    // A flood of tokens naming unknown kids, all at once: refused, with at
    // most one fetch per interval (here: none, the last fetch is recent,
    // then one after the interval however many wait).
    let forged = |n: usize| {
        let key = SigningKey::generate(Algorithm::ES256)
            .unwrap()
            .with_kid(format!("random-{n}"));
        Signer::new(key, Some("at+jwt"))
            .sign(&serde_json::json!({"sub": "x"}))
            .unwrap()
    };
    let flood: Vec<String> = (0..200).map(forged).collect();
    let results = futures_join(&guard, &flood).await;
    assert!(results
        .iter()
        .all(|r| matches!(r, Err(Rejection::InvalidToken(_)))));
    assert_eq!(
        guard.key_fetches(),
        2,
        "a flood right after a fetch fetches nothing"
    );
    tokio::time::sleep(interval).await;
    let results = futures_join(&guard, &flood).await;
    assert!(results
        .iter()
        .all(|r| matches!(r, Err(Rejection::InvalidToken(_)))));
    assert_eq!(guard.key_fetches(), 3, "200 waiting requests share one fetch");

    // The issuer goes down: cached keys keep working, unknown kids are
    // refused rather than failing the request.
    tessera.stop().await;
    tokio::time::sleep(interval).await;
    assert!(guard.verify(&new_token).await.is_ok());
    assert!(matches!(
        guard.verify(&flood[0]).await,
        Err(Rejection::InvalidToken(_))
    ));
    assert!(guard.verify(&old_token).await.is_ok());
}

/// Verifies every token concurrently.
async fn futures_join(guard: &Guard, tokens: &[String]) -> Vec<Result<tessera_guard::Claims, Rejection>> {
    let tasks: Vec<_> = tokens
        .iter()
        .map(|t| {
            let guard = guard.clone();
            let t = t.clone();
            tokio::spawn(async move { guard.verify(&t).await })
        })
        .collect();
    let mut out = Vec::new();
    for task in tasks {
        out.push(task.await.unwrap());
    }
    out
}

/// Introspection mode (RFC 7662): a revoked token is refused at once.
#[tokio::test]
async fn introspection_sees_revocation_at_once() {
    let tessera = Tessera::start(&support::sqlite_url(), None).await;
    tessera
        .client("svc", &["client_credentials"], "read", &["api"])
        .await;
    // The API introspects as the resource server of its audience (RFC 7662 §4).
    tessera
        .client_for("api", &["client_credentials"], "read", &["api"], &["api"])
        .await;
    let guard = Guard::builder(&tessera.issuer, "api")
        .introspection("api", "pw")
        .introspection_cache(Duration::ZERO, 0)
        .build()
        .await
        .unwrap();
    let app = api(&guard);
    let token = tessera.token("svc", "grant_type=client_credentials").await;
    let r = call(&app, "/read", Some(&token)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["sub"], "svc");

    let (status, _, _) = support::http(
        "POST",
        &format!("{}/revoke", tessera.issuer),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("authorization", &support::basic("svc", "pw")),
        ],
        &format!("token={token}"),
    )
    .await;
    assert_eq!(status, 200);
    let r = call(&app, "/read", Some(&token)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.body["error_description"]
        .as_str()
        .unwrap()
        .contains("not active"));

    // With a cache, an answer is reused: the issuer going away does not
    // fail a token seen a moment ago.
    let cached = Guard::builder(&tessera.issuer, "api")
        .introspection("api", "pw")
        .introspection_cache(Duration::from_secs(60), 100)
        .build()
        .await
        .unwrap();
    let fresh = tessera.token("svc", "grant_type=client_credentials").await;
    assert!(cached.verify(&fresh).await.is_ok());
    tessera.stop().await;
    assert!(cached.verify(&fresh).await.is_ok());
    // A token it never saw: the issuer is unreachable, which is a 503,
    // not a verdict on the token.
    assert!(matches!(
        cached.verify(&token).await,
        Err(Rejection::Unavailable(_))
    ));
}
