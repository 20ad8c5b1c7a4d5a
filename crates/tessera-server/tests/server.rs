//! The authorization server over real HTTP, started in-process on an
//! ephemeral port; the store conformance suite on SQLite and, when
//! `TESSERA_TEST_POSTGRES_URL` is set (CI sets it), PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

mod support;

use serde_json::Value;
use support::{basic, request, start, token};
use tessera_jwt::{KeySet, UnixTime, Validation};
use tessera_server::oauth::client_auth::hash_secret;
use tessera_server::store::{Client, ClientStore, KeyStore, RevocationStore, Store, StoreError, StoredKey};

fn client(id: &str, secret: Option<&str>, grants: &[&str], scopes: &[&str], audiences: &[&str]) -> Client {
    Client {
        id: id.into(),
        name: format!("{id} app"),
        secret_hash: secret.map(hash_secret),
        grant_types: grants.iter().map(|s| s.to_string()).collect(),
        scopes: scopes.iter().map(|s| s.to_string()).collect(),
        audiences: audiences.iter().map(|s| s.to_string()).collect(),
        redirect_uris: vec![],
        access_token_ttl: 600,
        created_at: 1,
        refresh_cookie: false,
        auth_method: String::new(),
    }
}

/// The same checks for every backend.
async fn store_conformance(url: &str) {
    let store = Store::open(url).await.unwrap();
    // Migrations are idempotent.
    let store2 = Store::open(url).await.unwrap();
    store.ping().await.unwrap();

    let a = client(
        "a",
        Some("secret-a"),
        &["client_credentials"],
        &["read", "write"],
        &["api"],
    );
    let b = client("b", None, &["password"], &[], &[]);
    store.create_client(&a).await.unwrap();
    store.create_client(&b).await.unwrap();
    assert!(matches!(
        store.create_client(&a).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store2.client("a").await.unwrap(), Some(a.clone()));
    assert_eq!(store.client("b").await.unwrap().unwrap().secret_hash, None);
    assert_eq!(store.client("nobody").await.unwrap(), None);
    assert_eq!(store.clients().await.unwrap().len(), 2);
    assert!(store.delete_client("b").await.unwrap());
    assert!(!store.delete_client("b").await.unwrap());
    assert_eq!(store.clients().await.unwrap(), vec![a]);

    let key = StoredKey {
        kid: "k1".into(),
        alg: "ES256".into(),
        sealed_private_key: vec![1, 0, 255, 7],
        public_jwk: "{}".into(),
        created_at: 5,
        retired_at: None,
        activates_at: 5,
    };
    store.insert_key(&key).await.unwrap();
    assert!(matches!(
        store.insert_key(&key).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.keys().await.unwrap(), vec![key]);

    store.revoke("j1", 100).await.unwrap();
    store.revoke("j1", 100).await.unwrap();
    store.revoke("j2", 300).await.unwrap();
    assert!(store2.is_revoked("j1").await.unwrap());
    assert!(!store.is_revoked("j3").await.unwrap());
    assert_eq!(store.prune_revocations(200).await.unwrap(), 1);
    assert!(!store.is_revoked("j1").await.unwrap());
    assert!(store.is_revoked("j2").await.unwrap());
}

#[tokio::test]
async fn store_conformance_sqlite() {
    store_conformance(&support::sqlite_url()).await;
}

#[tokio::test]
async fn store_conformance_postgres() {
    if let Some(url) = support::postgres_url().await {
        store_conformance(&url).await;
    }
}

/// Verifies an access token against the server's own JWKS.
async fn verify(server: &support::Running, token: &str, audience: &str) -> Value {
    let jwks = request(server.addr, "GET", "/jwks", &[], b"").await;
    let keys = KeySet::from_jwks_json(&jwks.body).unwrap();
    let rules = Validation::access_token(&server.issuer, audience);
    keys.verify::<Value>(token, &rules, UnixTime::now())
        .unwrap()
        .into_claims()
}

async fn client_credentials_suite(database: &str, alg: &str) {
    let server = start(database, alg).await;
    let store = Store::open(database).await.unwrap();
    store
        .create_client(&client(
            "svc",
            Some("s3cret"),
            &["client_credentials"],
            &["read", "write"],
            &["api"],
        ))
        .await
        .unwrap();
    store
        .create_client(&client("pw-only", Some("x"), &["password"], &[], &[]))
        .await
        .unwrap();
    store
        .create_client(&client("spa", None, &["client_credentials"], &[], &[]))
        .await
        .unwrap();
    let auth = basic("svc", "s3cret");
    let addr = server.addr;

    // RFC 6749 §4.4.2-4.4.3: Basic authentication, default scope and audience.
    let r = token(addr, "grant_type=client_credentials", &[("Authorization", &auth)]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert_eq!(body["scope"], "read write");
    assert!(body.get("refresh_token").is_none(), "§4.4.3: no refresh token");
    let claims = verify(&server, body["access_token"].as_str().unwrap(), "api").await;
    assert_eq!(claims["sub"], "svc");
    assert_eq!(claims["client_id"], "svc");
    assert_eq!(claims["iss"], server.issuer);
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    let header = tessera_jwt::danger::decode_unverified(body["access_token"].as_str().unwrap(), 16384)
        .unwrap()
        .header;
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], alg);

    // client_secret_post and a narrower scope.
    let r = token(
        addr,
        "grant_type=client_credentials&client_id=svc&client_secret=s3cret&scope=read",
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["scope"], "read");
    let r = token(
        addr,
        "grant_type=client_credentials&audience=api",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, 200);

    // Errors, each the RFC 6749 §5.2 JSON.
    // (form, headers, status, error code)
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            "grant_type=client_credentials&scope=admin",
            vec![("Authorization", auth.clone())],
            400,
            "invalid_scope",
        ),
        (
            "grant_type=client_credentials&audience=billing",
            vec![("Authorization", auth.clone())],
            400,
            "invalid_target",
        ),
        (
            "grant_type=client_credentials",
            vec![("Authorization", basic("svc", "wrong"))],
            401,
            "invalid_client",
        ),
        (
            "grant_type=client_credentials",
            vec![("Authorization", basic("ghost", "s3cret"))],
            401,
            "invalid_client",
        ),
        ("grant_type=client_credentials", vec![], 401, "invalid_client"),
        (
            "grant_type=client_credentials&client_id=svc&client_secret=s3cret",
            vec![("Authorization", auth.clone())],
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials",
            vec![("Authorization", "Basic !!!".into())],
            400,
            "invalid_request",
        ),
        (
            "scope=read",
            vec![("Authorization", auth.clone())],
            400,
            "invalid_request",
        ),
        (
            "grant_type=client_credentials&grant_type=client_credentials",
            vec![("Authorization", auth.clone())],
            400,
            "invalid_request",
        ),
        (
            "grant_type=urn:ietf:params:oauth:grant-type:device_code",
            vec![("Authorization", auth.clone())],
            400,
            "unsupported_grant_type",
        ),
        (
            "grant_type=client_credentials",
            vec![("Authorization", basic("pw-only", "x"))],
            400,
            "unauthorized_client",
        ),
        (
            "grant_type=client_credentials&client_id=spa",
            vec![],
            401,
            "invalid_client",
        ),
    ];
    for (form, headers, status, code) in cases {
        let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        let r = token(addr, form, &headers).await;
        assert_eq!(r.status, status, "{form}: {}", String::from_utf8_lossy(&r.body));
        let body = r.json();
        assert_eq!(body["error"], code, "{form}");
        assert!(!body["error_description"].as_str().unwrap().is_empty());
        assert_eq!(r.header("cache-control"), Some("no-store"));
        if status == 401 {
            assert!(
                r.header("www-authenticate").is_some(),
                "{form}: RFC 6749 §5.2 needs WWW-Authenticate"
            );
        }
    }
    // Unknown client and wrong secret read the same, so ids cannot be probed.
    let a = token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic("svc", "no"))],
    )
    .await;
    let b = token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic("nope", "no"))],
    )
    .await;
    assert_eq!(a.body, b.body);

    // Wrong content type, oversized body.
    let r = request(
        addr,
        "POST",
        "/token",
        &[("Content-Type", "application/json")],
        b"{}",
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let big = format!("grant_type=client_credentials&pad={}", "x".repeat(20_000));
    let r = token(addr, &big, &[("Authorization", &auth)]).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (413, Some("invalid_request"))
    );

    server.stop().await;
}

mod rfc6749_4_4_client_credentials {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_rs256() {
        client_credentials_suite(&support::sqlite_url(), "RS256").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_es256() {
        client_credentials_suite(&support::sqlite_url(), "ES256").await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres_eddsa() {
        if let Some(url) = support::postgres_url().await {
            client_credentials_suite(&url, "EdDSA").await;
        }
    }
}

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

/// The per-node client cache: changes through this node apply at once.
#[tokio::test]
async fn client_cache_never_serves_a_client_this_node_deleted() {
    let store = Store::open(&support::sqlite_url()).await.unwrap();
    store
        .create_client(&client("c", Some("pw"), &["client_credentials"], &[], &[]))
        .await
        .unwrap();
    assert!(store.client("c").await.unwrap().is_some());
    assert!(
        store.client("c").await.unwrap().is_some(),
        "served from the cache"
    );
    assert!(store.delete_client("c").await.unwrap());
    assert_eq!(store.client("c").await.unwrap(), None);
}

fn user(id: &str, username: &str, password: &str, roles: &[&str]) -> tessera_server::store::User {
    tessera_server::store::User {
        id: id.into(),
        username: username.into(),
        email: Some(format!("{username}@example.com")),
        name: Some(format!("{username} example")),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        password_hash: tessera_server::password::hash_blocking(password).unwrap(),
        created_at: 1,
        failed_logins: 0,
        locked_until: None,
    }
}

/// RFC 6749 §4.3 (password) and §6 (refresh, with RFC 9700 §4.14.2
/// rotation and reuse detection).
async fn password_and_refresh_suite(database: &str) {
    use tessera_server::store::UserStore;
    let server = start(database, "ES256").await;
    let addr = server.addr;
    let store = Store::open(database).await.unwrap();
    let scopes = ["openid", "profile", "email", "tasks:read"];
    store
        .create_client(&client(
            "app",
            Some("pw"),
            &["password", "refresh_token"],
            &scopes,
            &["tasks-api"],
        ))
        .await
        .unwrap();
    store
        .create_client(&client(
            "spa",
            None,
            &["password", "refresh_token"],
            &scopes,
            &["tasks-api"],
        ))
        .await
        .unwrap();
    store
        .create_client(&client("svc", Some("pw"), &["client_credentials"], &[], &[]))
        .await
        .unwrap();
    store
        .create_client(&client("once", Some("pw"), &["password"], &[], &[]))
        .await
        .unwrap();
    store
        .create_user(&user("u1", "alice", "correct horse battery", &["admin", "user"]))
        .await
        .unwrap();
    store
        .create_user(&user("u2", "victim", "victim password", &[]))
        .await
        .unwrap();
    let app = basic("app", "pw");

    // §4.3.2-4.3.3: an access token with the user's claims and a refresh token.
    let r = token(
        addr,
        "grant_type=password&username=alice&password=correct+horse+battery",
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    let claims = verify(&server, body["access_token"].as_str().unwrap(), "tasks-api").await;
    assert_eq!(claims["sub"], "u1");
    assert_eq!(claims["preferred_username"], "alice");
    assert_eq!(claims["roles"], serde_json::json!(["admin", "user"]));
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["name"], "alice example");
    assert_eq!(claims["client_id"], "app");
    let r1 = body["refresh_token"].as_str().unwrap().to_owned();

    // Profile claims follow the granted scope.
    let r = token(
        addr,
        "grant_type=password&username=alice&password=correct+horse+battery&scope=tasks:read",
        &[("Authorization", &app)],
    )
    .await;
    let narrow = verify(&server, r.json()["access_token"].as_str().unwrap(), "tasks-api").await;
    assert!(narrow.get("email").is_none() && narrow.get("name").is_none());
    // A client without the refresh grant gets no refresh token.
    let r = token(
        addr,
        "grant_type=password&username=alice&password=correct+horse+battery",
        &[("Authorization", &basic("once", "pw"))],
    )
    .await;
    assert_eq!(r.status, 200);
    assert!(r.json().get("refresh_token").is_none());
    // A public client identifies itself with client_id alone.
    let r = token(
        addr,
        "grant_type=password&client_id=spa&username=alice&password=correct+horse+battery",
        &[],
    )
    .await;
    assert_eq!(r.status, 200);
    let spa_refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();

    // Errors.
    let wrong = token(
        addr,
        "grant_type=password&username=alice&password=nope",
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(
        (wrong.status, wrong.json()["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let unknown = token(
        addr,
        "grant_type=password&username=nobody&password=nope",
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(
        wrong.body, unknown.body,
        "unknown user and wrong password must read the same"
    );
    let r = token(
        addr,
        "grant_type=password&username=alice&password=correct+horse+battery",
        &[("Authorization", &basic("svc", "pw"))],
    )
    .await;
    assert_eq!(r.json()["error"], "unauthorized_client");
    let r = token(
        addr,
        "grant_type=password&username=alice&password=correct+horse+battery&scope=admin",
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_scope");
    let r = token(addr, "grant_type=password&password=x", &[("Authorization", &app)]).await;
    assert_eq!(r.json()["error"], "invalid_request");

    // Brute force: five failures lock the account, even for the right password.
    for _ in 0..5 {
        let r = token(
            addr,
            "grant_type=password&username=victim&password=guess",
            &[("Authorization", &app)],
        )
        .await;
        assert_eq!(r.json()["error"], "invalid_grant");
    }
    let r = token(
        addr,
        "grant_type=password&username=victim&password=victim+password",
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(r.status, 400);
    assert!(r.json()["error_description"].as_str().unwrap().contains("locked"));

    // §6: rotation. The new refresh token differs; the old one is used up.
    let r = token(
        addr,
        &format!("grant_type=refresh_token&refresh_token={r1}"),
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    let r2 = body["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(r1, r2);
    assert_eq!(
        verify(&server, body["access_token"].as_str().unwrap(), "tasks-api").await["sub"],
        "u1"
    );
    // Narrower scope allowed, wider refused (§6: "MUST NOT include any scope not originally granted").
    let r = token(
        addr,
        &format!("grant_type=refresh_token&refresh_token={r2}&scope=openid+email+admin"),
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_scope");
    // (The refused request used r2 up; RFC 9700 rotation is strict.)
    let r = token(
        addr,
        &format!("grant_type=refresh_token&refresh_token={r2}"),
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_grant", "r2 was consumed");

    // RFC 9700 §4.14.2: a replayed token revokes the family.
    let r = token(
        addr,
        "grant_type=password&username=alice&password=correct+horse+battery",
        &[("Authorization", &app)],
    )
    .await;
    let a1 = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let r = token(
        addr,
        &format!("grant_type=refresh_token&refresh_token={a1}"),
        &[("Authorization", &app)],
    )
    .await;
    let a2 = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let replay = token(
        addr,
        &format!("grant_type=refresh_token&refresh_token={a1}"),
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(replay.json()["error"], "invalid_grant");
    let after = token(
        addr,
        &format!("grant_type=refresh_token&refresh_token={a2}"),
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(
        after.json()["error"],
        "invalid_grant",
        "the family must be revoked after a replay"
    );

    // A refresh token is bound to its client.
    let r = token(
        addr,
        &format!("grant_type=refresh_token&refresh_token={spa_refresh}"),
        &[("Authorization", &app)],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");

    // RFC 7009: revoking a refresh token (logout) ends its family.
    let r = token(
        addr,
        "grant_type=refresh_token&client_id=spa&refresh_token="
            .to_owned()
            .as_str(),
        &[],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_request");
    let revoke = request(
        addr,
        "POST",
        "/revoke",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        format!("client_id=spa&token={spa_refresh}").as_bytes(),
    )
    .await;
    assert_eq!(revoke.status, 200);
    let r = token(
        addr,
        &format!("grant_type=refresh_token&client_id=spa&refresh_token={spa_refresh}"),
        &[],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");

    server.stop().await;
}

mod rfc6749_4_3_and_6_password_and_refresh {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        password_and_refresh_suite(&support::sqlite_url()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(url) = support::postgres_url().await {
            password_and_refresh_suite(&url).await;
        }
    }
}

/// `tessera user create --password-stdin` against the server's database,
/// then a password login with that user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_user_create_then_login() {
    use std::io::Write;
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "user",
            "create",
            "--username",
            "bob",
            "--role",
            "editor",
            "--password-stdin",
            "--database",
            &db,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "a long passphrase").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "client",
            "create",
            "--name",
            "web",
            "--grant-type",
            "password",
            "--database",
            &db,
        ])
        .output()
        .unwrap();
    let cred: Value = serde_json::from_slice(&out.stdout).unwrap();
    let auth = basic(
        cred["client_id"].as_str().unwrap(),
        cred["client_secret"].as_str().unwrap(),
    );
    let r = token(
        server.addr,
        "grant_type=password&username=bob&password=a+long+passphrase",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let claims = verify(
        &server,
        r.json()["access_token"].as_str().unwrap(),
        &server.issuer,
    )
    .await;
    assert_eq!(claims["sub"], created["user_id"]);
    assert_eq!(claims["roles"], serde_json::json!(["editor"]));
    // Short passwords are refused.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "user",
            "create",
            "--username",
            "eve",
            "--password-stdin",
            "--database",
            &db,
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "short").unwrap();
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(2));
    server.stop().await;
}

/// The first-party JSON API: login, me, logout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_party_api_login_me_logout() {
    use tessera_server::store::UserStore;
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let addr = server.addr;
    let store = Store::open(&db).await.unwrap();
    store
        .create_client(&client(
            "web",
            None,
            &["password", "refresh_token"],
            &["openid", "email"],
            &["tasks-api"],
        ))
        .await
        .unwrap();
    store
        .create_user(&user("u9", "carol", "carol's long password", &["user"]))
        .await
        .unwrap();
    let post = |path: &'static str, body: Value| async move {
        request(
            addr,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await
    };

    let r = post(
        "/api/v1/login",
        serde_json::json!({"client_id": "web", "username": "carol", "password": "carol's long password"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {access}").as_str())
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    let bearer = format!("Bearer {access}");
    let me = request(addr, "GET", "/api/v1/me", &[("Authorization", &bearer)], b"").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["username"], "carol");
    assert_eq!(me.json()["roles"], serde_json::json!(["user"]));
    // RFC 6750 §3: no token, a bad token, a malformed header.
    let none = request(addr, "GET", "/api/v1/me", &[], b"").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer realm=\"tessera\""));
    let bad = request(
        addr,
        "GET",
        "/api/v1/me",
        &[("Authorization", "Bearer e30.e30.e30")],
        b"",
    )
    .await;
    assert_eq!(bad.status, 401);
    assert!(bad
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
    let odd = request(addr, "GET", "/api/v1/me", &[("Authorization", "Basic abc")], b"").await;
    assert_eq!(odd.status, 400);

    // Bad input gets RFC 6749 §5.2 JSON.
    let r = post(
        "/api/v1/login",
        serde_json::json!({"client_id": "web", "username": "carol", "password": "wrong"}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let r = post(
        "/api/v1/login",
        serde_json::json!({"client_id": "web", "username": "carol", "password": "x", "admin": true}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = request(
        addr,
        "POST",
        "/api/v1/login",
        &[("Content-Type", "text/plain")],
        b"{}",
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // Logout revokes the refresh token's family: 204, and again 204.
    for _ in 0..2 {
        let r = post(
            "/api/v1/logout",
            serde_json::json!({"client_id": "web", "refresh_token": refresh}),
        )
        .await;
        assert_eq!(r.status, 204);
    }
    let r = token(
        addr,
        &format!("grant_type=refresh_token&client_id=web&refresh_token={refresh}"),
        &[],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");
    server.stop().await;
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
    let r = request(server.addr, "GET", "/metrics", &[], b"").await;
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

/// `tessera serve --demo` prints commands that work as printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_prints_working_commands() {
    use std::io::{BufRead, BufReader};
    let db = support::sqlite_url();
    // Port 0: the server picks a free port and logs it (no race with
    // other tests for a port chosen here).
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--database", &db])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = support::KillOnDrop(child);
    // Read the demo commands, and keep draining stdout afterwards.
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    let (out_tx, out_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut secret = None;
        let mut password = None;
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("curl -s -u demo-service:") {
                secret = rest.split(' ').next().map(str::to_owned);
            }
            if let Some(i) = line.find("\"password\":\"") {
                password = line[i + 12..].split('"').next().map(str::to_owned);
            }
            if line.starts_with("curl -s http") {
                let _ = out_tx.send((secret.take(), password.take()));
            }
        }
    });
    let (secret, password) = out_rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
    // Read the address from the log, and keep draining the log so the
    // server never writes to a closed pipe.
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on http://") {
                let rest = &line[i + "listening on http://".len()..];
                let _ = tx.send(
                    rest.split(' ')
                        .next()
                        .and_then(|a| a.parse::<std::net::SocketAddr>().ok()),
                );
            }
        }
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .ok()
        .flatten()
        .expect("the server logs its address");
    // Ready when /readyz answers 200 over a whole HTTP exchange.
    async fn readyz(addr: std::net::SocketAddr) -> Option<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        out.starts_with(b"HTTP/1.1 200").then_some(())
    }
    let mut ready = false;
    for _ in 0..200 {
        if readyz(addr).await.is_some() {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(ready, "server did not start");
    let r = token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic("demo-service", &secret.unwrap()))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body =
        serde_json::json!({"client_id": "demo-app", "username": "demo", "password": password.unwrap()});
    let r = request(
        addr,
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    drop(child);
}

/// Key rotation: the new key is published before it signs; the old one
/// signs until then and stays published until its tokens have expired.
#[tokio::test]
async fn key_rotation_publishes_ahead_and_retires_behind() {
    use tessera_server::keys::{self, MasterKey, PUBLISH_AHEAD, RETIRED_PUBLISHED_FOR};
    let db = support::sqlite_url();
    let store = Store::open(&db).await.unwrap();
    let (master, _) = MasterKey::generate().unwrap();
    let alg = tessera_jwt::Algorithm::ES256;
    let t0 = 1_000_000;
    let before = keys::load_or_create(&store, &master, alg, t0).await.unwrap();
    let old_kid = before.access_tokens.key().kid().to_owned();

    let new = keys::rotate(&store, &master, alg, t0 + 10).await.unwrap();
    let kids = |ring: &keys::KeyRing| {
        ring.verify
            .keys()
            .iter()
            .map(|k| k.kid().to_owned())
            .collect::<Vec<_>>()
    };

    // Just after rotating: the old key signs, both are published.
    let ring = keys::load(&store, &master, alg, t0 + 11, false).await.unwrap();
    assert_eq!(ring.access_tokens.key().kid(), old_kid);
    assert!(kids(&ring).contains(&new.kid) && kids(&ring).contains(&old_kid));
    // Once the new key is active, it signs; the old one is still published.
    let at = t0 + 10 + PUBLISH_AHEAD;
    let ring = keys::load(&store, &master, alg, at, false).await.unwrap();
    assert_eq!(ring.access_tokens.key().kid(), new.kid);
    assert!(kids(&ring).contains(&old_kid));
    // A day later the old key is gone from the JWKS.
    let ring = keys::load(&store, &master, alg, at + RETIRED_PUBLISHED_FOR, false)
        .await
        .unwrap();
    assert!(!kids(&ring).contains(&old_kid));
    assert!(kids(&ring).contains(&new.kid));
    // Starting again right after rotation creates no extra key.
    let count = store.keys().await.unwrap().len();
    keys::load_or_create(&store, &master, alg, t0 + 20).await.unwrap();
    assert_eq!(store.keys().await.unwrap().len(), count);

    // The CLI lists the states.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["keys", "list", "--database", &db])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), count);
}

/// Regression: with its stderr closed (a log pipe gone), the server kept
/// running but dropped every request that logged, because tracing's
/// internal-error report panicked on the closed stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_keeps_serving_when_its_log_pipe_closes() {
    use std::io::{BufRead, BufReader};
    let db = support::sqlite_url();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = support::KillOnDrop(child);
    let mut addr = None;
    {
        let stderr = BufReader::new(child.0.stderr.take().unwrap());
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on http://") {
                addr = line[i + 20..]
                    .split(' ')
                    .next()
                    .and_then(|a| a.parse::<std::net::SocketAddr>().ok());
                break;
            }
        }
        // The reader is dropped here: the server's stderr is now a closed pipe.
    }
    let addr = addr.unwrap();
    let store = Store::open(&db).await.unwrap();
    store
        .create_client(&client("svc", Some("pw"), &["client_credentials"], &[], &[]))
        .await
        .unwrap();
    // A failed authentication writes an audit log line.
    for _ in 0..3 {
        let r = token(
            addr,
            "grant_type=client_credentials",
            &[("Authorization", &basic("svc", "bad"))],
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let r = token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic("svc", "pw"))],
    )
    .await;
    assert_eq!(r.status, 200);
}

/// `POST /api/v1/users`: off by default; when on, password strength and
/// uniqueness are checked, and the new user can log in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_registration() {
    let post = |addr, body: Value| async move {
        request(
            addr,
            "POST",
            "/api/v1/users",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await
    };
    let off = start(&support::sqlite_url(), "ES256").await;
    let r = post(
        off.addr,
        serde_json::json!({"username": "dave", "password": "a good long password"}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (403, Some("access_denied"))
    );
    off.stop().await;

    let db = support::sqlite_url();
    let on = support::start_configured(&db, "ES256", None, |c| c.self_registration = true).await;
    let r = post(
        on.addr,
        serde_json::json!({"username": "dave", "password": "a good long password", "email": "d@example.com"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["username"], "dave");
    // Duplicates: 409.
    let r = post(
        on.addr,
        serde_json::json!({"username": "dave", "password": "another long password"}),
    )
    .await;
    assert_eq!(r.status, 409);
    let r = post(on.addr, serde_json::json!({"username": "dave2", "password": "another long password", "email": "d@example.com"})).await;
    assert_eq!(r.status, 409);
    // Weak passwords and bad input: 400.
    for (user, password) in [
        ("erin", "short"),
        ("erin", "password1"),
        ("erin", "aaaaaaaaaaaa"),
        ("erin-the-user", "erin-the-user"),
    ] {
        let r = post(
            on.addr,
            serde_json::json!({"username": user, "password": password}),
        )
        .await;
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (400, Some("invalid_request")),
            "{password}"
        );
    }
    let r = post(
        on.addr,
        serde_json::json!({"username": "x y", "password": "a good long password"}),
    )
    .await;
    assert_eq!(r.status, 400);
    // The new user logs in.
    let store = Store::open(&db).await.unwrap();
    store
        .create_client(&client("web", None, &["password"], &[], &[]))
        .await
        .unwrap();
    let r = token(
        on.addr,
        "grant_type=password&client_id=web&username=dave&password=a+good+long+password",
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    on.stop().await;
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

/// Refresh token in an HttpOnly cookie for browser apps, with the CSRF
/// guard on `/api/v1/refresh`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_cookie_for_browser_apps() {
    use tessera_server::store::UserStore;
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let addr = server.addr;
    let store = Store::open(&db).await.unwrap();
    let mut spa = client("spa", None, &["password", "refresh_token"], &["openid"], &[]);
    spa.refresh_cookie = true;
    store.create_client(&spa).await.unwrap();
    store
        .create_user(&user("u5", "fay", "fay's long password", &[]))
        .await
        .unwrap();
    let body = serde_json::json!({"client_id": "spa", "username": "fay", "password": "fay's long password"});
    let r = request(
        addr,
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.json().get("refresh_token").is_none(),
        "the refresh token must not reach script"
    );
    let set = r.header("set-cookie").unwrap().to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1"] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_owned();

    let refresh = |headers: Vec<(&'static str, String)>| async move {
        let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        h.extend(headers.iter().map(|(n, v)| (*n, v.as_str())));
        request(addr, "POST", "/api/v1/refresh", &h, br#"{"client_id":"spa"}"#).await
    };
    // CSRF: the custom header is required, and a foreign Origin is refused.
    let r = refresh(vec![("Cookie", cookie.clone())]).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = refresh(vec![
        ("Cookie", cookie.clone()),
        ("X-Requested-With", "fetch".into()),
        ("Origin", "https://evil.example".into()),
    ])
    .await;
    assert_eq!(r.status, 400);
    // The real thing: a new access token and a rotated cookie.
    let r = refresh(vec![
        ("Cookie", cookie.clone()),
        ("X-Requested-With", "fetch".into()),
        ("Origin", server.issuer.clone()),
    ])
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["access_token"].as_str().is_some());
    let rotated = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, cookie);
    // The old cookie is used up; replaying it revokes the family.
    let r = refresh(vec![
        ("Cookie", cookie.clone()),
        ("X-Requested-With", "fetch".into()),
    ])
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");
    let r = refresh(vec![
        ("Cookie", rotated.clone()),
        ("X-Requested-With", "fetch".into()),
    ])
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");
    // Logout clears the cookie.
    let r = request(
        addr,
        "POST",
        "/api/v1/logout",
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &rotated),
            ("X-Requested-With", "fetch"),
        ],
        br#"{"client_id":"spa"}"#,
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    server.stop().await;
}

/// A client registered for one authentication method may not use another
/// (RFC 7591 §2 `token_endpoint_auth_method`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registered_auth_method_is_enforced() {
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let store = Store::open(&db).await.unwrap();
    let mut basic_only = client("b", Some("pw"), &["client_credentials"], &[], &[]);
    basic_only.auth_method = "client_secret_basic".into();
    store.create_client(&basic_only).await.unwrap();
    let mut post_only = client("p", Some("pw"), &["client_credentials"], &[], &[]);
    post_only.auth_method = "client_secret_post".into();
    store.create_client(&post_only).await.unwrap();
    let ok = token(
        server.addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic("b", "pw"))],
    )
    .await;
    assert_eq!(ok.status, 200);
    let no = token(
        server.addr,
        "grant_type=client_credentials&client_id=b&client_secret=pw",
        &[],
    )
    .await;
    assert_eq!(
        (no.status, no.json()["error"].as_str()),
        (401, Some("invalid_client"))
    );
    let ok = token(
        server.addr,
        "grant_type=client_credentials&client_id=p&client_secret=pw",
        &[],
    )
    .await;
    assert_eq!(ok.status, 200);
    let no = token(
        server.addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic("p", "pw"))],
    )
    .await;
    assert_eq!(no.status, 401);
    server.stop().await;
}

/// A real OAuth client library drives the server: Python's authlib
/// (`OAuth2Session`) runs client credentials, password, refresh (and a
/// refresh replay), introspection and revocation from discovery alone.
/// Needs `pip install authlib requests` (`.ci/run` installs them); skipped
/// with a message elsewhere, required under `CI`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_client_end_to_end() {
    use tessera_server::store::UserStore;
    let available = std::process::Command::new("python3")
        .args(["-c", "import authlib, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the authlib test: pip install authlib requests"
        );
        eprintln!("SKIPPED authlib interop: pip install authlib requests");
        return;
    }
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let store = Store::open(&db).await.unwrap();
    store
        .create_client(&client(
            "py",
            Some("py-secret"),
            &["client_credentials", "password", "refresh_token"],
            &["openid"],
            &["api"],
        ))
        .await
        .unwrap();
    store
        .create_user(&user("u7", "gus", "gus's long password", &["user"]))
        .await
        .unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/authlib_client.py");
    let issuer = server.issuer.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args([issuer.as_str(), "py", "py-secret", "gus", "gus's long password"])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["service_token_type"], "Bearer");
    assert_eq!(got["user_has_refresh"], true);
    assert_eq!(got["rotated"], true);
    assert_eq!(got["active"], true);
    assert_eq!(got["username"], "gus");
    assert_eq!(got["after_revoke"], false);
    assert_eq!(got["replay"], "invalid_grant");
    server.stop().await;
}
