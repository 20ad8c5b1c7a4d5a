//! Issue 19, the browser half of "no bypass": a user with a confirmed
//! authenticator app signs in through the pages with a password and then
//! a one-time code (computed here from the secret), and the ID token says
//! so (`amr` pwd, otp, mfa; `acr` 2fa). A password alone never reaches a
//! session, a consent or a code; a replayed code and a wrong one are
//! refused (the wrong one counted by the login guard, five of them locking
//! the account); a recovery code works once; a user without a second
//! factor signs in as before, at `acr` 1fa.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use serde_json::Value;
use tessera_jwt::{KeySet, UnixTime, Validation};
use tessera_server::identity::{factors, totp};
use tessera_server::keys::MasterKey;
use tessera_server::store::{Store, UserStore};
use tessera_testkit as support;

use support::browser::{authorize_path, field, redeem, setup, text, through_consent, Browser, VERIFIER};
use support::{request, Response, Running};

const PASSWORD: &str = "correct horse battery";
const TWO_FACTORS: &str = "urn:tessera:acr:2fa";
const ONE_FACTOR: &str = "urn:tessera:acr:1fa";

fn now() -> i64 {
    UnixTime::now().as_secs()
}

/// Enrolls and confirms an authenticator app for `user_id`, confirmed
/// with the previous step's code so that the current step's code is
/// still unused.
async fn enroll(store: &Store, master: &MasterKey, user_id: &str) -> totp::TotpSecret {
    let now = now();
    let enrollment = factors::enroll_totp(store, master, user_id, now).await.unwrap();
    let code = totp::code_at(&enrollment.secret, totp::step_of(now) - 1);
    assert!(factors::confirm_totp(store, master, user_id, &code, now)
        .await
        .unwrap());
    enrollment.secret
}

/// The code of the current step.
fn current_code(secret: &totp::TotpSecret) -> String {
    totp::code_at(secret, totp::step_of(now())).to_string()
}

/// A six-digit code no step near now accepts.
fn wrong_code(secret: &totp::TotpSecret) -> String {
    let t = totp::step_of(now());
    let near: Vec<String> = (t - 2..=t + 2)
        .map(|s| totp::code_at(secret, s).to_string())
        .collect();
    ["000000", "111111", "222222"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap()
        .to_owned()
}

/// `/authorize` for Photo Book and ann's password: the page after it.
async fn password_step(browser: &mut Browser, server: &Running) -> Response {
    let page = browser.get(server, &authorize_path("web", "")).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    browser.log_in(server, &text(&page), "ann", PASSWORD).await
}

/// Sends `code` on the code page `page`.
async fn send_code(browser: &mut Browser, server: &Running, page: &Response, code: &str) -> Response {
    let html = text(page);
    browser
        .post(
            server,
            "/authorize/otp",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("code", code),
            ],
        )
        .await
}

/// The page is the code form, and only it.
fn is_code_page(r: &Response) {
    let html = text(r);
    assert!(html.contains("action=\"/authorize/otp\""), "{html}");
    assert!(
        html.contains("name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\""),
        "{html}"
    );
    assert!(!html.contains("current-password"), "{html}");
    assert!(!html.contains("Allow Photo Book?"), "{html}");
}

/// The ID token's claims after redeeming the code of `answer`.
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

async fn two_factor_sign_in(database: &str) {
    let (server, store) = setup(database).await;
    let master = support::master_key_of(database);
    let secret = enroll(&store, &master, "u-ann").await;

    // The password alone: the code form, no session.
    let mut browser = Browser::default();
    let page = password_step(&mut browser, &server).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    is_code_page(&page);
    assert!(!browser.cookies.contains_key("tessera_session"));

    // The consent form posted directly, and the password again, change
    // nothing: still the code form, still no session and no code.
    let html = text(&page);
    let (interaction, csrf) = (field(&html, "interaction"), field(&html, "csrf"));
    let consent = browser
        .post(
            &server,
            "/authorize/consent",
            &[
                ("interaction", &interaction),
                ("csrf", &csrf),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(consent.status, 200, "{}", text(&consent));
    is_code_page(&consent);
    let again = browser.log_in(&server, &html, "ann", PASSWORD).await;
    assert_eq!(again.status, 200, "{}", text(&again));
    is_code_page(&again);
    assert!(!browser.cookies.contains_key("tessera_session"));

    // The code: the session, the consent page, the code, and an ID token
    // saying two factors.
    let code = current_code(&secret);
    let done = send_code(&mut browser, &server, &again, &code).await;
    assert!(browser.cookies.contains_key("tessera_session"));
    let answer = through_consent(&mut browser, &server, done).await;
    let claims = id_token_claims(&server, &answer["code"]).await;
    assert_eq!(claims["sub"], "u-ann");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], TWO_FACTORS);

    // The same code again, in another browser: refused (RFC 6238 §5.2).
    let mut other = Browser::default();
    let page = password_step(&mut other, &server).await;
    is_code_page(&page);
    let replayed = send_code(&mut other, &server, &page, &code).await;
    assert_eq!(replayed.status, 401, "{}", text(&replayed));
    is_code_page(&replayed);
    assert!(text(&replayed).contains("That code is not right, or was used already"));
    assert!(!other.cookies.contains_key("tessera_session"));

    server.stop().await;
}

/// A TOTP user signs in with a password and a code; a password alone
/// gets no session, no consent and no code; a replayed code is refused.
#[tokio::test]
async fn two_factor_sign_in_sqlite() {
    two_factor_sign_in(&support::sqlite_url()).await;
}

#[tokio::test]
async fn two_factor_sign_in_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    two_factor_sign_in(&url).await;
}

/// A wrong code shows the form with the error and counts against the
/// account like a wrong password: the fifth locks it, after which even
/// the right code and the right password are refused.
#[tokio::test]
async fn wrong_codes_count_and_lock() {
    let database = support::sqlite_url();
    let (server, store) = setup(&database).await;
    let master = support::master_key_of(&database);
    let secret = enroll(&store, &master, "u-ann").await;

    let mut browser = Browser::default();
    let mut page = password_step(&mut browser, &server).await;
    is_code_page(&page);
    let wrong = wrong_code(&secret);
    for n in 1..=5 {
        page = send_code(&mut browser, &server, &page, &wrong).await;
        assert_eq!(page.status, 401, "{}", text(&page));
        is_code_page(&page);
        assert!(text(&page).contains("That code is not right"));
        let ann = store.user("u-ann").await.unwrap().unwrap();
        assert_eq!(ann.failed_logins, n, "wrong code {n} counted");
    }
    let ann = store.user("u-ann").await.unwrap().unwrap();
    assert!(ann.locked_until.is_some(), "five wrong codes lock");

    // Locked: the right code is not even checked (and not spent).
    let right = send_code(&mut browser, &server, &page, &current_code(&secret)).await;
    assert_eq!(right.status, 401, "{}", text(&right));
    assert!(!browser.cookies.contains_key("tessera_session"));
    // And the password is refused like any wrong one.
    let mut other = Browser::default();
    let locked = password_step(&mut other, &server).await;
    assert_eq!(locked.status, 401, "{}", text(&locked));
    assert!(text(&locked).contains("Wrong username or password"));

    // An empty code is asked for again, and not counted.
    store.record_login("u-ann").await.unwrap();
    let mut third = Browser::default();
    let page = password_step(&mut third, &server).await;
    is_code_page(&page);
    let empty = send_code(&mut third, &server, &page, "").await;
    assert_eq!(empty.status, 200, "{}", text(&empty));
    assert!(text(&empty).contains("Enter the code from your authenticator app"));
    assert_eq!(store.user("u-ann").await.unwrap().unwrap().failed_logins, 0);

    server.stop().await;
}

/// A correct password does not reset the count of wrong codes: four
/// wrong codes, the password again (which clears the account's password
/// count), one more wrong code, and the right code is refused.
#[tokio::test]
async fn a_correct_password_does_not_reset_wrong_codes() {
    let database = support::sqlite_url();
    let (server, store) = setup(&database).await;
    let master = support::master_key_of(&database);
    let secret = enroll(&store, &master, "u-ann").await;
    let wrong = wrong_code(&secret);

    let mut browser = Browser::default();
    let mut page = password_step(&mut browser, &server).await;
    for _ in 0..4 {
        page = send_code(&mut browser, &server, &page, &wrong).await;
        assert_eq!(page.status, 401, "{}", text(&page));
    }
    let mut again = Browser::default();
    let page = password_step(&mut again, &server).await;
    is_code_page(&page);
    assert_eq!(store.user("u-ann").await.unwrap().unwrap().failed_logins, 0);
    let page = send_code(&mut again, &server, &page, &wrong).await;
    assert_eq!(page.status, 401, "{}", text(&page));
    let right = send_code(&mut again, &server, &page, &current_code(&secret)).await;
    assert_eq!(right.status, 401, "{}", text(&right));
    is_code_page(&right);
    assert!(!again.cookies.contains_key("tessera_session"));

    server.stop().await;
}

/// A recovery code stands in for the authenticator, once.
#[tokio::test]
async fn a_recovery_code_works_once() {
    let database = support::sqlite_url();
    let (server, store) = setup(&database).await;
    let master = support::master_key_of(&database);
    enroll(&store, &master, "u-ann").await;
    let codes = factors::new_recovery_codes(&store, &master, "u-ann", now())
        .await
        .unwrap();
    let recovery = codes[0].to_string();

    let mut browser = Browser::default();
    let page = password_step(&mut browser, &server).await;
    is_code_page(&page);
    let done = send_code(&mut browser, &server, &page, &recovery).await;
    let answer = through_consent(&mut browser, &server, done).await;
    let claims = id_token_claims(&server, &answer["code"]).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], TWO_FACTORS);
    assert_eq!(factors::recovery_codes_left(&store, "u-ann").await.unwrap(), 9);

    let mut other = Browser::default();
    let page = password_step(&mut other, &server).await;
    let spent = send_code(&mut other, &server, &page, &recovery).await;
    assert_eq!(spent.status, 401, "{}", text(&spent));
    is_code_page(&spent);
    assert!(!other.cookies.contains_key("tessera_session"));

    server.stop().await;
}

/// Without a confirmed authenticator (none, an unconfirmed enrollment, or
/// recovery codes alone) the password is the whole sign-in, at `acr`
/// 1fa; discovery publishes the levels and the `acr` claim.
#[tokio::test]
async fn without_a_second_factor_one_factor() {
    let database = support::sqlite_url();
    let (server, store) = setup(&database).await;
    let master = support::master_key_of(&database);

    for prepare in ["none", "unconfirmed", "recovery codes alone"] {
        match prepare {
            "unconfirmed" => {
                factors::enroll_totp(&store, &master, "u-ann", now())
                    .await
                    .unwrap();
            }
            "recovery codes alone" => {
                factors::new_recovery_codes(&store, &master, "u-ann", now())
                    .await
                    .unwrap();
            }
            _ => {}
        }
        let mut browser = Browser::default();
        let page = password_step(&mut browser, &server).await;
        assert!(!text(&page).contains("/authorize/otp"), "{prepare}");
        let answer = through_consent(&mut browser, &server, page).await;
        let claims = id_token_claims(&server, &answer["code"]).await;
        assert_eq!(claims["amr"], serde_json::json!(["pwd"]), "{prepare}");
        assert_eq!(claims["acr"], ONE_FACTOR, "{prepare}");
    }

    let doc = request(server.addr, "GET", "/.well-known/openid-configuration", &[], b"")
        .await
        .json();
    assert_eq!(
        doc["acr_values_supported"],
        serde_json::json!([ONE_FACTOR, TWO_FACTORS])
    );
    assert!(doc["claims_supported"]
        .as_array()
        .unwrap()
        .contains(&Value::from("acr")));

    server.stop().await;
}
