//! Issue 19, item 4: "A user who must use a second factor and has none is
//! taken through enrollment inside the sign-in (and gets recovery codes)
//! before a code is issued." Through the pages: a require-mfa user (and a
//! user signing in to a require-mfa client) without a factor gets, after
//! the password, the authenticator setup page (no code reaches the
//! client); a wrong code is refused (400, the same key); the right code
//! confirms the authenticator, makes ten recovery codes, ends the user's
//! other sessions and shows the codes; only "Continue" after that issues
//! the code, whose ID token says two factors. "Continue" before enrolling
//! issues nothing, and `prompt=none` is `interaction_required`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};
use tessera_jwt::{KeySet, UnixTime, Validation};
use tessera_server::clients::authentication::hash_secret;
use tessera_server::domain::FactorKind;
use tessera_server::identity::{factors, totp, users};
use tessera_server::keys::MasterKey;
use tessera_server::store::{ClientStore, SessionStore, Store};
use tessera_testkit as support;

use support::browser::{
    authorize_path, field, redeem, redirected, setup, sign_in, text, through_consent, Browser, CALLBACK,
    VERIFIER,
};
use support::{request, Response, Running};

const PASSWORD: &str = "correct horse battery";

fn now() -> i64 {
    UnixTime::now().as_secs()
}

/// The master key the server of `database` uses.
fn master_of(database: &str) -> MasterKey {
    let path = match database.strip_prefix("sqlite://") {
        Some(file) => Path::new(file).with_file_name("master.key"),
        None => std::env::temp_dir().join(format!("tessera-test-master-{}.key", std::process::id())),
    };
    MasterKey::from_base64url(std::fs::read_to_string(&path).unwrap().trim()).unwrap()
}

/// RFC 4648 §6 base32 (no padding), as the page shows the key.
fn base32_decode(text: &str) -> Vec<u8> {
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let (mut bits, mut value, mut out) = (0u32, 0u32, Vec::new());
    for c in text.chars() {
        value = (value << 5) | u32::try_from(ALPHABET.find(c).unwrap()).unwrap();
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push(u8::try_from((value >> bits) & 0xff).unwrap());
        }
    }
    out
}

/// The text of the element with `id`.
fn element(html: &str, id: &str) -> String {
    let start = html
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("no #{id} in {html}"));
    let rest = &html[start..];
    let from = rest.find('>').unwrap() + 1;
    let to = rest.find("</").unwrap();
    support::browser::unescape(&rest[from..to])
}

/// The page is the authenticator setup inside the sign-in (and nothing
/// went to the client): its key.
fn setup_key(r: &Response, status: u16) -> String {
    let html = text(r);
    assert_eq!(r.status, status, "{html}");
    assert!(html.contains("action=\"/authorize/enroll\""), "{html}");
    assert!(html.contains("<svg role=\"img\""), "an inline QR code: {html}");
    assert!(
        html.contains("autocomplete=\"one-time-code\" inputmode=\"numeric\""),
        "{html}"
    );
    assert!(!html.contains("type=\"password\""), "{html}");
    let key = element(&html, "secret");
    let uri = element(&html, "otpauth-uri");
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains(&format!("secret={key}&")), "{uri}");
    key
}

/// The code the authenticator app set up with `key` shows now.
fn code_of(key: &str) -> String {
    let secret = totp::TotpSecret::from_bytes(&base32_decode(key)).unwrap();
    totp::code_at(&secret, totp::step_of(now())).to_string()
}

/// A six-digit code no step near now accepts for `key`.
fn wrong_code_of(key: &str) -> String {
    let secret = totp::TotpSecret::from_bytes(&base32_decode(key)).unwrap();
    let t = totp::step_of(now());
    let near: Vec<String> = (t - 2..=t + 2)
        .map(|s| totp::code_at(&secret, s).to_string())
        .collect();
    ["000000", "111111", "222222"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap()
        .to_owned()
}

/// Posts the form of `page` (its interaction and CSRF token) to `path`,
/// with `extra` fields.
async fn post_from(
    browser: &mut Browser,
    server: &Running,
    page: &Response,
    path: &str,
    extra: &[(&str, &str)],
) -> Response {
    let html = text(page);
    let (interaction, csrf) = (field(&html, "interaction"), field(&html, "csrf"));
    let mut form = vec![("interaction", interaction.as_str()), ("csrf", csrf.as_str())];
    form.extend_from_slice(extra);
    browser.post(server, path, &form).await
}

/// The ID token's claims for `code` of `client_id`, verified.
async fn id_token_claims(server: &Running, client_id: &str, code: &str) -> Value {
    let r = redeem(server, client_id, code, Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let id_token = r.json()["id_token"].as_str().unwrap().to_owned();
    let jwks = request(server.addr, "GET", "/jwks", &[], b"").await;
    let keys = KeySet::from_jwks_json(&jwks.body).unwrap();
    let rules = Validation::new().issuer(&server.issuer).audience(client_id);
    keys.verify::<Value>(&id_token, &rules, UnixTime::now())
        .unwrap()
        .into_claims()
}

/// An error redirect to the client: its `error` (no code).
fn error_of(answer: &HashMap<String, String>) -> String {
    assert!(!answer.contains_key("code"), "{answer:?}");
    answer.get("error").cloned().unwrap_or_default()
}

/// The user's confirmed authenticators and recovery codes left.
async fn factors_of(store: &Store, user_id: &str) -> (usize, i64) {
    let mut confirmed = 0;
    let mut left = 0;
    for f in factors::list(store, user_id).await.unwrap() {
        match f.kind {
            FactorKind::Totp { confirmed: true } => confirmed += 1,
            FactorKind::Totp { confirmed: false } | FactorKind::Passkey { .. } => {}
            FactorKind::RecoveryCodes { left: n } => left = n,
        }
    }
    (confirmed, left)
}

/// ann must use a second factor (`tessera user require-mfa`) and has
/// none: the whole enrollment inside a sign-in to Photo Book.
async fn a_require_mfa_user_enrolls(database: &str) {
    let (server, store) = setup(database).await;
    // A session of ann elsewhere, from before.
    let mut elsewhere = Browser::default();
    sign_in(&mut elsewhere, &server, &authorize_path("web", "")).await;
    let elsewhere_session = hash_secret(&elsewhere.cookies["tessera_session"]);
    users::set_require_mfa(&store, "u-ann", true).await.unwrap();

    let mut browser = Browser::default();
    let login = browser.get(&server, &authorize_path("web", "")).await;
    assert_eq!(login.status, 200, "{}", text(&login));
    let page = browser.log_in(&server, &text(&login), "ann", PASSWORD).await;
    // The setup page, not a redirect: no code reached the client.
    let first_key = setup_key(&page, 200);
    assert_eq!(factors_of(&store, "u-ann").await, (0, 0));

    // "Continue" before enrolling issues nothing: the setup again (a new
    // key).
    let early = post_from(&mut browser, &server, &page, "/authorize/continue", &[]).await;
    let key = setup_key(&early, 200);
    assert_ne!(key, first_key);
    // Nor does the code form of a second factor she does not have.
    let otp = post_from(
        &mut browser,
        &server,
        &early,
        "/authorize/otp",
        &[("code", "123456")],
    )
    .await;
    setup_key(&otp, 200);
    let page = otp;
    let key = element(&text(&page), "secret");
    // prompt=none cannot enroll.
    let none = browser.get(&server, &authorize_path("web", "&prompt=none")).await;
    assert_eq!(error_of(&redirected(&none)), "interaction_required");

    // Another browser's form, or a bad CSRF token: refused.
    let mut stranger = Browser::default();
    let r = post_from(
        &mut stranger,
        &server,
        &page,
        "/authorize/enroll",
        &[("code", &code_of(&key))],
    )
    .await;
    assert_eq!(r.status, 403, "{}", text(&r));
    let html = text(&page);
    let r = browser
        .post(
            &server,
            "/authorize/enroll",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", "forged"),
                ("code", &code_of(&key)),
            ],
        )
        .await;
    assert_eq!(r.status, 403, "{}", text(&r));

    // A wrong code, and no code: the same key again, 400.
    let wrong = post_from(
        &mut browser,
        &server,
        &page,
        "/authorize/enroll",
        &[("code", &wrong_code_of(&key))],
    )
    .await;
    assert_eq!(setup_key(&wrong, 400), key);
    assert!(text(&wrong).contains("role=\"alert\""), "{}", text(&wrong));
    let empty = post_from(
        &mut browser,
        &server,
        &wrong,
        "/authorize/enroll",
        &[("code", " ")],
    )
    .await;
    assert_eq!(setup_key(&empty, 400), key);
    assert_eq!(factors_of(&store, "u-ann").await, (0, 0));

    // The right code: the recovery codes, and still no code for the
    // client.
    let done = post_from(
        &mut browser,
        &server,
        &empty,
        "/authorize/enroll",
        &[("code", &code_of(&key))],
    )
    .await;
    let html = text(&done);
    assert_eq!(done.status, 200, "{html}");
    let codes = element(&html, "recovery-codes");
    let codes: Vec<&str> = codes.lines().collect();
    assert_eq!(codes.len(), 10, "{html}");
    for c in &codes {
        assert_eq!(c.len(), 11, "{c}");
        assert_eq!(c.as_bytes()[5], b'-', "{c}");
    }
    assert!(html.contains("action=\"/authorize/continue\""), "{html}");
    assert_eq!(factors_of(&store, "u-ann").await, (1, 10));
    // Her other session ended.
    assert!(store.session(&elsewhere_session, now()).await.unwrap().is_none());

    // Continue: the session of both proofs, consent, the code.
    let on = post_from(&mut browser, &server, &done, "/authorize/continue", &[]).await;
    let answer = through_consent(&mut browser, &server, on).await;
    let claims = id_token_claims(&server, "web", &answer["code"]).await;
    assert_eq!(claims["sub"], "u-ann");
    assert_eq!(claims["acr"], "urn:tessera:acr:2fa");
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    // The interaction is over: its forms do nothing more.
    let again = post_from(&mut browser, &server, &done, "/authorize/continue", &[]).await;
    assert_eq!(again.status, 400, "{}", text(&again));

    // A new sign-in asks for her new authenticator's code, not a setup.
    let mut later = Browser::default();
    let login = later.get(&server, &authorize_path("web", "")).await;
    let after = later.log_in(&server, &text(&login), "ann", PASSWORD).await;
    assert!(
        text(&after).contains("action=\"/authorize/otp\""),
        "{}",
        text(&after)
    );
    assert!(!text(&after).contains("/authorize/enroll"), "{}", text(&after));
    server.stop().await;
}

#[tokio::test]
async fn a_require_mfa_user_enrolls_sqlite() {
    a_require_mfa_user_enrolls(&support::sqlite_url()).await;
}

#[tokio::test]
async fn a_require_mfa_user_enrolls_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    a_require_mfa_user_enrolls(&url).await;
}

/// A require-mfa client: ann (no factor, not required herself) signs in
/// to Photo Book with her password alone, then the require-mfa client
/// takes her one-factor session through the enrollment (no password
/// again), and its ID token says two factors.
async fn a_require_mfa_client_enrolls(database: &str) {
    let (server, store) = setup(database).await;
    let mut strict = support::client(
        "strict",
        None,
        &["authorization_code"],
        &["openid", "profile", "email"],
        &[],
    );
    strict.redirect_uris = vec![CALLBACK.into()];
    strict.first_party = true;
    strict.require_mfa = true;
    store.create_client(&strict).await.unwrap();

    let mut browser = Browser::default();
    let answer = sign_in(&mut browser, &server, &authorize_path("web", "")).await;
    let claims = id_token_claims(&server, "web", &answer["code"]).await;
    assert_eq!(claims["acr"], "urn:tessera:acr:1fa");

    // Where nothing asks for a second factor, the enrollment form changes
    // nothing: the consent page again.
    let consent = browser
        .get(&server, &authorize_path("web", "&prompt=consent"))
        .await;
    assert!(text(&consent).contains("Allow Photo Book?"), "{}", text(&consent));
    let r = post_from(
        &mut browser,
        &server,
        &consent,
        "/authorize/enroll",
        &[("code", "123456")],
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(text(&r).contains("Allow Photo Book?"), "{}", text(&r));
    assert!(factors::pending_totp(&store, &master_of(database), "u-ann")
        .await
        .unwrap()
        .is_none());

    let none = browser
        .get(&server, &authorize_path("strict", "&prompt=none"))
        .await;
    assert_eq!(error_of(&redirected(&none)), "interaction_required");
    let page = browser.get(&server, &authorize_path("strict", "")).await;
    let key = setup_key(&page, 200);
    let done = post_from(
        &mut browser,
        &server,
        &page,
        "/authorize/enroll",
        &[("code", &code_of(&key))],
    )
    .await;
    assert_eq!(done.status, 200, "{}", text(&done));
    assert_eq!(element(&text(&done), "recovery-codes").lines().count(), 10);
    let on = post_from(&mut browser, &server, &done, "/authorize/continue", &[]).await;
    let answer = redirected(&on);
    let claims = id_token_claims(&server, "strict", &answer["code"]).await;
    assert_eq!(claims["sub"], "u-ann");
    assert_eq!(claims["acr"], "urn:tessera:acr:2fa");
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_eq!(factors_of(&store, "u-ann").await, (1, 10));
    server.stop().await;
}

#[tokio::test]
async fn a_require_mfa_client_enrolls_sqlite() {
    a_require_mfa_client_enrolls(&support::sqlite_url()).await;
}

#[tokio::test]
async fn a_require_mfa_client_enrolls_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    a_require_mfa_client_enrolls(&url).await;
}
