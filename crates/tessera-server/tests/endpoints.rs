//! Discovery (RFC 8414) and JWKS, introspection (RFC 7662) and revocation (RFC 7009)
//! across nodes, `/metrics`, and CORS.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use tessera_testkit as support;

use serde_json::Value;
use support::{basic, client, request, start, token};
use tessera_jwt::{KeySet, UnixTime, Validation};
use tessera_server::store::{ClientStore, Store};

mod rfc8414_discovery {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn metadata_jwks_and_health() {
        let server = start(&support::sqlite_url(), "ES256").await;
        let a = request(server.addr, "GET", "/.well-known/openid-configuration", &[], b"").await;
        let b = request(
            server.addr,
            "GET",
            "/.well-known/oauth-authorization-server",
            &[],
            b"",
        )
        .await;
        assert_eq!(a.status, 200);
        assert_eq!(a.body, b.body);
        let meta = a.json();
        assert_eq!(meta["issuer"], server.issuer, "RFC 8414 §3.3: issuer must match");
        assert_eq!(meta["token_endpoint"], format!("{}/token", server.issuer));
        assert_eq!(meta["jwks_uri"], format!("{}/jwks", server.issuer));
        let jwks = request(server.addr, "GET", "/jwks", &[], b"").await;
        assert!(jwks.header("cache-control").unwrap().contains("max-age"));
        let keys = jwks.json();
        let algs: Vec<&str> = keys["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["alg"].as_str().unwrap())
            .collect();
        assert!(algs.contains(&"RS256") && algs.contains(&"ES256"), "{algs:?}");
        for k in keys["keys"].as_array().unwrap() {
            assert!(
                k.get("d").is_none() && k.get("p").is_none(),
                "private members published"
            );
        }
        assert_eq!(
            request(server.addr, "GET", "/healthz", &[], b"").await.status,
            200
        );
        assert_eq!(request(server.addr, "GET", "/readyz", &[], b"").await.status, 200);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn restart_keeps_keys_and_data() {
        let db = support::sqlite_url();
        let first = start(&db, "ES256").await;
        let store = Store::open(&db).await.unwrap();
        store
            .create_client(&client("svc", Some("pw"), &["client_credentials"], &[], &["api"]))
            .await
            .unwrap();
        let jwks1 = request(first.addr, "GET", "/jwks", &[], b"").await.json();
        let r = token(
            first.addr,
            "grant_type=client_credentials",
            &[("Authorization", &basic("svc", "pw"))],
        )
        .await;
        let issued = r.json()["access_token"].as_str().unwrap().to_owned();
        let first_issuer = first.issuer.clone();
        first.stop().await;

        let second = start(&db, "ES256").await;
        let jwks2 = request(second.addr, "GET", "/jwks", &[], b"").await.json();
        assert_eq!(jwks1, jwks2, "keys must survive a restart");
        let r = token(
            second.addr,
            "grant_type=client_credentials",
            &[("Authorization", &basic("svc", "pw"))],
        )
        .await;
        assert_eq!(r.status, 200, "clients must survive a restart");
        // The first run's token still verifies against the second's JWKS.
        let keys = KeySet::from_jwks_json(&serde_json::to_vec(&jwks2).unwrap()).unwrap();
        let rules = Validation::access_token(&first_issuer, "api");
        assert!(keys.verify::<Value>(&issued, &rules, UnixTime::now()).is_ok());
        second.stop().await;
        // The private keys at rest are sealed: no PKCS#8 in the database file.
        let path = tessera_server::store::sqlite_path(&db).unwrap();
        let mut raw = std::fs::read(path).unwrap();
        if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
            raw.extend(wal);
        }
        assert!(!raw.windows(11).any(|w| w == b"PRIVATE KEY"));
        let pkcs8_ec_prefix = [0x30, 0x81, 0x87, 0x02, 0x01, 0x00, 0x30, 0x13];
        assert!(
            !raw.windows(8).any(|w| w == pkcs8_ec_prefix),
            "an unsealed PKCS#8 key is in the database"
        );
    }
}

/// RFC 7662 introspection and RFC 7009 revocation, across two server
/// nodes on one database.
async fn introspection_and_revocation_suite(database: &str) {
    let node1 = start(database, "ES256").await;
    let node2 = support::start_node(database, "ES256", Some(&node1.issuer)).await;
    let store = Store::open(database).await.unwrap();
    for (id, ttl) in [("svc", 600), ("api", 600), ("other", 600), ("brief", 1)] {
        let mut c = client(id, Some("pw"), &["client_credentials"], &["read"], &["api"]);
        c.access_token_ttl = ttl;
        if id == "api" {
            // The API may introspect tokens issued for it (RFC 7662 §4).
            c.resource_server_for = vec!["api".into()];
        }
        store.create_client(&c).await.unwrap();
    }
    let get_token = |id: &'static str, addr| async move {
        let r = token(
            addr,
            "grant_type=client_credentials",
            &[("Authorization", &basic(id, "pw"))],
        )
        .await;
        r.json()["access_token"].as_str().unwrap().to_owned()
    };
    let form = |path: &'static str, addr, id: &'static str, body: String| async move {
        let auth = basic(id, "pw");
        request(
            addr,
            "POST",
            path,
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", &auth),
            ],
            body.as_bytes(),
        )
        .await
    };
    let t = get_token("svc", node1.addr).await;

    // RFC 7662 §2.2: an active token and its claims.
    let r = form("/introspect", node1.addr, "api", format!("token={t}")).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let answer = r.json();
    assert_eq!(answer["active"], true);
    assert_eq!(answer["client_id"], "svc");
    assert_eq!(answer["sub"], "svc");
    assert_eq!(answer["scope"], "read");
    assert_eq!(answer["aud"], "api");
    assert_eq!(answer["token_type"], "Bearer");
    assert_eq!(answer["iss"], node1.issuer);
    assert!(answer["exp"].as_i64().is_some() && answer["jti"].as_str().is_some());

    // Not a token of ours: inactive, and nothing else is said.
    for junk in ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."] {
        let r = form("/introspect", node1.addr, "api", format!("token={junk}")).await;
        assert_eq!(r.json(), serde_json::json!({"active": false}), "{junk}");
    }
    // §2.1: the endpoint requires client authentication.
    let r = token(node1.addr, "token=x", &[]).await;
    let r2 = request(
        node1.addr,
        "POST",
        "/introspect",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("token={t}").as_bytes(),
    )
    .await;
    assert_eq!(r.status, 400);
    assert_eq!(
        (r2.status, r2.json()["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let r = form("/introspect", node1.addr, "api", String::new()).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // RFC 7009 §2.1: only the client the token was issued to may revoke it.
    let r = form("/revoke", node1.addr, "other", format!("token={t}")).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(
        form("/introspect", node2.addr, "api", format!("token={t}"))
            .await
            .json()["active"],
        true
    );

    // Revoked on node 1, inactive on node 2 at once.
    let r = form(
        "/revoke",
        node1.addr,
        "svc",
        format!("token={t}&token_type_hint=access_token"),
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.body.is_empty());
    assert_eq!(
        form("/introspect", node2.addr, "api", format!("token={t}"))
            .await
            .json(),
        serde_json::json!({"active": false})
    );
    assert_eq!(
        form("/introspect", node1.addr, "api", format!("token={t}"))
            .await
            .json()["active"],
        false
    );
    // Repeating it, or revoking junk, is still 200 (§2.2).
    assert_eq!(
        form("/revoke", node2.addr, "svc", format!("token={t}"))
            .await
            .status,
        200
    );
    assert_eq!(
        form("/revoke", node2.addr, "svc", "token=junk".into())
            .await
            .status,
        200
    );
    // Other tokens of the same client stay active.
    let t2 = get_token("svc", node2.addr).await;
    assert_eq!(
        form("/introspect", node1.addr, "api", format!("token={t2}"))
            .await
            .json()["active"],
        true
    );

    // An expired token is inactive.
    let brief = get_token("brief", node1.addr).await;
    assert_eq!(
        form("/introspect", node1.addr, "api", format!("token={brief}"))
            .await
            .json()["active"],
        true
    );
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    assert_eq!(
        form("/introspect", node1.addr, "api", format!("token={brief}"))
            .await
            .json()["active"],
        false
    );

    node1.stop().await;
    node2.stop().await;
}

mod rfc7662_rfc7009_introspection_and_revocation {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        introspection_and_revocation_suite(&support::sqlite_url()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(url) = support::postgres_url().await {
            introspection_and_revocation_suite(&url).await;
        }
    }
}

/// `/metrics`: requests by route and status, latency, tokens by grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_and_tokens() {
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let store = Store::open(&db).await.unwrap();
    store
        .create_client(&client("svc", Some("pw"), &["client_credentials"], &[], &[]))
        .await
        .unwrap();
    for _ in 0..3 {
        token(
            server.addr,
            "grant_type=client_credentials",
            &[("Authorization", &basic("svc", "pw"))],
        )
        .await;
    }
    token(
        server.addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic("svc", "no"))],
    )
    .await;
    request(server.addr, "GET", "/jwks", &[], b"").await;
    let r = request(server.metrics.unwrap(), "GET", "/metrics", &[], b"").await;
    assert_eq!(r.status, 200);
    assert!(r.header("content-type").unwrap().starts_with("text/plain"));
    let text = String::from_utf8(r.body).unwrap();
    for line in [
        "tessera_http_requests_total{route=\"/token\",status=\"200\"} 3",
        "tessera_http_requests_total{route=\"/token\",status=\"401\"} 1",
        "tessera_http_requests_total{route=\"/jwks\",status=\"200\"} 1",
        "tessera_http_request_duration_seconds_count{route=\"/token\"} 4",
        "tessera_http_request_duration_seconds_bucket{route=\"/token\",le=\"+Inf\"} 4",
        "tessera_tokens_issued_total{grant_type=\"client_credentials\"} 3",
        "tessera_tokens_issued_total{grant_type=\"password\"} 0",
    ] {
        assert!(text.lines().any(|l| l == line), "missing {line:?} in\n{text}");
    }
    server.stop().await;
}

/// CORS: nothing open by default; configured origins get preflights and
/// labelled responses (with the login `Authorization` header exposed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_only_for_configured_origins() {
    let db = support::sqlite_url();
    let server = support::start_configured(&db, "ES256", None, |c| {
        c.cors_origins = vec!["https://app.example".into()]
    })
    .await;
    let addr = server.addr;
    let preflight = |origin: &'static str| async move {
        let headers = [
            ("Origin", origin),
            ("Access-Control-Request-Method", "POST"),
            ("Access-Control-Request-Headers", "content-type"),
        ];
        request(addr, "OPTIONS", "/api/v1/login", &headers, b"").await
    };
    let ok = preflight("https://app.example").await;
    assert_eq!(ok.status, 204);
    assert_eq!(
        ok.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert!(ok
        .header("access-control-allow-headers")
        .unwrap()
        .contains("Content-Type"));
    let evil = preflight("https://evil.example").await;
    assert!(evil.header("access-control-allow-origin").is_none());
    let lookalike = preflight("https://app.example.evil").await;
    assert!(lookalike.header("access-control-allow-origin").is_none());

    let r = request(
        server.addr,
        "GET",
        "/jwks",
        &[("Origin", "https://app.example")],
        b"",
    )
    .await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://app.example")
    );
    assert_eq!(r.header("access-control-expose-headers"), Some("Authorization"));
    let r = request(
        server.addr,
        "GET",
        "/jwks",
        &[("Origin", "https://evil.example")],
        b"",
    )
    .await;
    assert!(r.header("access-control-allow-origin").is_none());
    server.stop().await;

    // The default: no origin is allowed.
    let closed = start(&support::sqlite_url(), "ES256").await;
    let r = request(
        closed.addr,
        "GET",
        "/jwks",
        &[("Origin", "https://app.example")],
        b"",
    )
    .await;
    assert!(r.header("access-control-allow-origin").is_none());
    closed.stop().await;
}

/// CORS origins registered per client (`--cors-origin`) are allowed too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cors_origins_registered_per_client() {
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let addr = server.addr;
    let check = |origin: &'static str| async move {
        let headers = [("Origin", origin), ("Access-Control-Request-Method", "POST")];
        request(addr, "OPTIONS", "/api/v1/login", &headers, b"").await
    };
    assert!(check("https://spa.example")
        .await
        .header("access-control-allow-origin")
        .is_none());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "client",
            "create",
            "--name",
            "spa",
            "--public",
            "--grant-type",
            "password",
        ])
        .args(["--cors-origin", "https://spa.example", "--database", &db])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let r = check("https://spa.example").await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("https://spa.example")
    );
    assert!(check("https://other.example")
        .await
        .header("access-control-allow-origin")
        .is_none());
    // A path is not an origin.
    let bad = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "client",
            "create",
            "--name",
            "x",
            "--cors-origin",
            "https://spa.example/app",
            "--database",
            &db,
        ])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    server.stop().await;
}
