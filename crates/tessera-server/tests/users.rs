//! Issue item 8: usernames have one spelling (RFC 8265 §3.3: NFKC and
//! lowercase), names of mixed scripts or that look like an existing one
//! (UTS #39) are refused, and `email_verified` is carried wherever
//! `email` is: false after self-registration, true once an administrator
//! says so.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_testkit as support;

use support::{basic, client, request, token};
use tessera_server::store::{ClientStore, Store, UserStore};

async fn register(addr: std::net::SocketAddr, username: &str, email: Option<&str>) -> support::Response {
    let body = serde_json::json!({"username": username, "password": "a long passphrase", "email": email});
    request(
        addr,
        "POST",
        "/api/v1/users",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usernames_have_one_spelling_and_no_lookalikes() {
    let database = support::sqlite_url();
    let server = support::start_configured(&database, "ES256", None, |c| c.self_registration = true).await;
    let store = Store::open(&database).await.unwrap();
    store
        .create_client(&client(
            "app",
            Some("pw"),
            &["password"],
            &["openid", "email"],
            &["api"],
        ))
        .await
        .unwrap();
    let r = register(server.addr, "Alice", Some("alice@example.com")).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["username"], "alice");
    let login = |name: &'static str| {
        let addr = server.addr;
        async move {
            token(
                addr,
                &format!("grant_type=password&username={name}&password=a+long+passphrase&scope=openid+email"),
                &[("Authorization", &basic("app", "pw"))],
            )
            .await
        }
    };
    let r = login("ALICE").await;
    assert_eq!(
        r.status,
        200,
        "any case signs in: {}",
        String::from_utf8_lossy(&r.body)
    );
    // Full-width forms are the same name.
    assert_eq!(register(server.addr, "ＡＬＩＣＥ", None).await.status, 409);
    // Mixed scripts: a Cyrillic а among Latin letters.
    assert_eq!(register(server.addr, "p\u{430}ypal", None).await.status, 400);
    // Whole-script lookalike: Cyrillic "раура" next to Latin "paypa".
    assert_eq!(register(server.addr, "paypa", None).await.status, 201);
    assert_eq!(
        register(server.addr, "\u{440}\u{430}\u{443}\u{440}\u{430}", None)
            .await
            .status,
        409
    );
    // Invisible characters.
    assert_eq!(register(server.addr, "bo\u{200b}b", None).await.status, 400);

    // email_verified: false after self-registration, in the access token.
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    let claims = support::verify(&server, &access, "api").await;
    assert_eq!(claims["email"], "alice@example.com");
    assert_eq!(claims["email_verified"], false);
    let alice = store.user_by_username("alice").await.unwrap().unwrap();
    assert!(store.set_email_verified(&alice.id, true).await.unwrap());
    let r = login("alice").await;
    let claims = support::verify(&server, r.json()["access_token"].as_str().unwrap(), "api").await;
    assert_eq!(claims["email_verified"], true, "set by the administrator");
    server.stop().await;
}
