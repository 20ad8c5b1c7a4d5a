//! Issue 19: passkeys through the sign-in pages, with a software
//! authenticator (`tessera_testkit::webauthn`) answering the options the
//! page's script would fetch:
//!
//! - passwordless: the login page offers the passkey (a hidden form, the
//!   hashed script, `autocomplete="username webauthn"`, a CSP allowing
//!   `script-src 'self'`); a user-verified assertion signs in at `acr`
//!   `phr` with `amr` `hwk` and `mfa`;
//! - refused: an assertion without user verification, an assertion
//!   replayed into another sign-in, and, after ann's password, bob's
//!   passkey;
//! - the second factor: after the password the code page also offers
//!   ann's passkey, and it signs her in at `phr` (`pwd`, `hwk`, `mfa`);
//! - a passkey is a second factor: the password grant refuses its user.
//!
//! The issuer is `http://localhost:PORT` (WebAuthn refuses IP addresses).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;

use serde_json::Value;
use tessera_jwt::{KeySet, UnixTime, Validation};
use tessera_server::identity::passkeys::{self, RelyingParty};
use tessera_server::store::{Store, UserStore};
use tessera_testkit as support;
use tessera_testkit::webauthn::{Authenticator, PRESENT_ONLY};

use support::browser::{authorize_path, field, redeem, seed, text, through_consent, Browser, VERIFIER};
use support::{request, Response, Running};

const PASSWORD: &str = "correct horse battery";

fn now() -> i64 {
    UnixTime::now().as_secs()
}

/// Registers a passkey of `auth` for `user_id` through the service.
async fn register(store: &Store, rp: &RelyingParty, user_id: &str, auth: &Authenticator) {
    let user = store.user(user_id).await.unwrap().unwrap();
    let options = passkeys::begin_registration(store, &user, rp, "setup", now())
        .await
        .unwrap();
    let response = auth.register(rp, &serde_json::to_value(&options).unwrap());
    passkeys::finish_registration(store, &user, rp, "setup", &response, "key", now())
        .await
        .unwrap();
}

/// The passkey options of the sign-in page `page`.
async fn options(browser: &mut Browser, server: &Running, page: &Response) -> Value {
    let html = text(page);
    assert!(html.contains("data-passkey=\"get\""), "{html}");
    let interaction = field(&html, "interaction");
    let r = browser
        .get(server, &format!("/authorize/passkey?interaction={interaction}"))
        .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json()
}

async fn post_passkey(
    browser: &mut Browser,
    server: &Running,
    page: &Response,
    credential: &str,
) -> Response {
    let html = text(page);
    browser
        .post(
            server,
            "/authorize/passkey",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("credential", credential),
            ],
        )
        .await
}

async fn id_token_claims(server: &Running, code: &str) -> Value {
    let r = redeem(server, "web", code, Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let id_token = r.json()["id_token"].as_str().unwrap().to_owned();
    let jwks = request(server.addr, "GET", "/jwks", &[], b"").await;
    let keys = KeySet::from_jwks_json(&jwks.body).unwrap();
    let rules = Validation::new().issuer(&server.issuer).audience("web");
    keys.verify::<Value>(&id_token, &rules, UnixTime::now())
        .unwrap()
        .into_claims()
}

fn refused(r: &Response) {
    assert_eq!(r.status, 401, "{}", text(r));
    assert!(text(r).contains("That passkey was not accepted"), "{}", text(r));
}

async fn passkeys_through_the_pages(database: &str) {
    let port = support::free_port();
    let issuer = format!("http://localhost:{port}");
    let server = support::start_at(
        Some(SocketAddr::from(([127, 0, 0, 1], port))),
        database,
        "ES256",
        Some(&issuer),
        |_| {},
    )
    .await;
    let store = Store::open(database).await.unwrap();
    seed(&store).await;
    store
        .create_user(&support::user("u-bob", "bob", "another long password", &["user"]))
        .await
        .unwrap();
    let rp = RelyingParty::from_issuer(&issuer, "Tessera").unwrap();
    let ann = Authenticator::new(b"ann-passkey");
    let bob = Authenticator::new(b"bob-passkey");
    register(&store, &rp, "u-ann", &ann).await;
    register(&store, &rp, "u-bob", &bob).await;

    // Discovery names the phishing-resistant level (a host-name issuer).
    let doc = request(server.addr, "GET", "/.well-known/openid-configuration", &[], b"")
        .await
        .json();
    assert_eq!(
        doc["acr_values_supported"],
        serde_json::json!(["urn:tessera:acr:1fa", "urn:tessera:acr:2fa", "phr"])
    );

    // The login page offers passkeys beside the password.
    let mut browser = Browser::default();
    let page = browser.get(&server, &authorize_path("web", "")).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    let html = text(&page);
    assert!(html.contains("autocomplete=\"username webauthn\""), "{html}");
    assert!(html.contains("<script src=\"/static/passkey-"), "{html}");
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.starts_with("script-src 'self'; connect-src 'self'; default-src 'none'"),
        "{csp}"
    );
    let script = &html[html.find("/static/passkey-").unwrap()..];
    let script = &script[..script.find('"').unwrap()];
    let js = request(server.addr, "GET", script, &[], b"").await;
    assert_eq!(js.status, 200);
    assert!(js.header("cache-control").unwrap().contains("immutable"));
    let stale = request(
        server.addr,
        "GET",
        "/static/passkey-0000000000000000.js",
        &[],
        b"",
    )
    .await;
    assert_eq!(stale.status, 404);

    // Passwordless options: no credentials listed, verification required.
    let asked = options(&mut browser, &server, &page).await;
    assert_eq!(asked["allowCredentials"], serde_json::json!([]));
    assert_eq!(asked["userVerification"], "required");
    assert_eq!(asked["rpId"], "localhost");

    // Without user verification: refused, no session.
    let unverified = ann.sign_in_with(&rp, &asked, 1, Some(b"u-ann"), PRESENT_ONLY);
    let r = post_passkey(&mut browser, &server, &page, &unverified).await;
    refused(&r);
    assert!(!browser.cookies.contains_key("tessera_session"));

    // A user-verified assertion: signed in, phishing-resistant.
    let asked = options(&mut browser, &server, &r).await;
    let good = ann.sign_in(&rp, &asked, 2, Some(b"u-ann"));
    let done = post_passkey(&mut browser, &server, &r, &good).await;
    assert!(browser.cookies.contains_key("tessera_session"));
    let answer = through_consent(&mut browser, &server, done).await;
    let claims = id_token_claims(&server, &answer["code"]).await;
    assert_eq!(claims["sub"], "u-ann");
    assert_eq!(claims["acr"], "phr");
    assert_eq!(claims["amr"], serde_json::json!(["hwk", "mfa"]));

    // The same assertion replayed into another sign-in: refused.
    let mut other = Browser::default();
    let page = other.get(&server, &authorize_path("web", "")).await;
    let _ = options(&mut other, &server, &page).await;
    refused(&post_passkey(&mut other, &server, &page, &good).await);

    // The second factor: ann's password, then the code page offers her
    // passkey; bob's passkey is refused, hers accepted.
    let mut browser = Browser::default();
    let page = browser.get(&server, &authorize_path("web", "")).await;
    let page = browser.log_in(&server, &text(&page), "ann", PASSWORD).await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("action=\"/authorize/otp\""), "{html}");
    assert!(html.contains("data-second-factor=\"true\""), "{html}");
    assert!(!browser.cookies.contains_key("tessera_session"));
    let asked = options(&mut browser, &server, &page).await;
    assert_eq!(asked["allowCredentials"][0]["id"], "YW5uLXBhc3NrZXk");
    let r = post_passkey(
        &mut browser,
        &server,
        &page,
        &bob.sign_in(&rp, &asked, 1, Some(b"u-bob")),
    )
    .await;
    refused(&r);
    assert!(!browser.cookies.contains_key("tessera_session"));
    let asked = options(&mut browser, &server, &r).await;
    let done = post_passkey(
        &mut browser,
        &server,
        &r,
        &ann.sign_in(&rp, &asked, 3, Some(b"u-ann")),
    )
    .await;
    let answer = through_consent(&mut browser, &server, done).await;
    let claims = id_token_claims(&server, &answer["code"]).await;
    assert_eq!(claims["acr"], "phr");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "hwk", "mfa"]));

    // A passkey is a second factor: the password grant refuses its user.
    let mut app = support::client("app", Some("pw"), &["password"], &["openid"], &["api"]);
    app.first_party = true;
    tessera_server::store::ClientStore::create_client(&store, &app)
        .await
        .unwrap();
    let r = request(
        server.addr,
        "POST",
        "/token",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", "Basic YXBwOnB3"),
        ],
        format!(
            "grant_type=password&username=ann&password={}",
            PASSWORD.replace(' ', "+")
        )
        .as_bytes(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert_eq!(r.json()["error"], "invalid_grant");

    server.stop().await;
}

#[tokio::test]
async fn passkeys_through_the_pages_sqlite() {
    passkeys_through_the_pages(&support::sqlite_url()).await;
}

#[tokio::test]
async fn passkeys_through_the_pages_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    passkeys_through_the_pages(&url).await;
}
