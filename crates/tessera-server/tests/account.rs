//! Issue 19, item 6: the account page's factor part, through its pages.
//!
//! - `/account` signs the browser in through `/authorize` as Tessera's own
//!   first-party client (`tessera-account`), and the callback only works
//!   in the browser that started it.
//! - Adding an authenticator app shows the QR code, the `otpauth://` URI
//!   and the key as text; a wrong code is refused and the same key shown
//!   again; the right one turns it on, shows ten recovery codes once (as
//!   text, one per line), ends the user's other sessions, and from then
//!   on a sign-in asks for the code.
//! - A change on a sign-in older than five minutes sends the browser to
//!   sign in again (`max_age=300`); a form without the page's CSRF token
//!   is refused; new recovery codes replace the old ones; removing the app
//!   makes a password enough again.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_jwt::UnixTime;
use tessera_server::clients::authentication::hash_secret;
use tessera_server::identity::{factors, totp};
use tessera_server::store::SessionStore;
use tessera_testkit as support;

use support::account::{age_session, finish_sign_in, location, sign_in_to_account, PASSWORD};
use support::browser::{authorize_path, field, setup, sign_in, text, Browser};

fn now() -> i64 {
    UnixTime::now().as_secs()
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

async fn account_page(database: &str) {
    let (server, store) = setup(database).await;
    let master = support::master_key_of(database);

    // Another browser signed in to an app: its session ends when the
    // factors change.
    let mut elsewhere = Browser::default();
    sign_in(&mut elsewhere, &server, &authorize_path("first", "")).await;
    let elsewhere_session = hash_secret(&elsewhere.cookies["tessera_session"]);
    assert!(store.session(&elsewhere_session, now()).await.unwrap().is_some());

    // /account signs in through the account client and lands on the page.
    let mut browser = Browser::default();
    let page = sign_in_to_account(&mut browser, &server, "/account", None).await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("Signed in as <strong>ann</strong>"), "{html}");
    assert!(html.contains("href=\"/account/totp\""), "{html}");
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("default-src 'none'"));

    // The enrollment page: QR code, URI and key as text, a code input.
    let enroll = browser.get(&server, "/account/totp").await;
    let html = text(&enroll);
    assert_eq!(enroll.status, 200, "{html}");
    assert!(html.contains("<svg"), "{html}");
    assert!(
        html.contains("autocomplete=\"one-time-code\" inputmode=\"numeric\""),
        "{html}"
    );
    let key = element(&html, "secret");
    let uri = element(&html, "otpauth-uri");
    let host = totp::issuer_host(&server.issuer).unwrap();
    assert_eq!(
        uri,
        format!("otpauth://totp/{host}:ann?secret={key}&issuer={host}")
    );
    let secret = totp::TotpSecret::from_bytes(&base32_decode(&key)).unwrap();
    let csrf = field(&html, "csrf");

    // A wrong code: refused, the same key again, nothing turned on.
    let step = totp::step_of(now());
    let right = totp::code_at(&secret, step).to_string();
    let wrong = if right == "000000" { "111111" } else { "000000" };
    let r = browser
        .post(&server, "/account/totp", &[("csrf", &csrf), ("code", wrong)])
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("That code is not right"));
    assert_eq!(element(&text(&r), "secret"), key);
    assert!(
        !tessera_server::oauth::sign_in::has_second_factor(&store, "u-ann")
            .await
            .unwrap()
    );

    // A form without this page's token: refused.
    let r = browser
        .post(&server, "/account/totp", &[("csrf", "forged"), ("code", &right)])
        .await;
    assert_eq!(r.status, 403, "{}", text(&r));
    // The page's token from another browser (its own cookies): refused.
    let r = elsewhere
        .post(&server, "/account/totp", &[("csrf", &csrf), ("code", &right)])
        .await;
    assert_eq!(r.status, 403, "{}", text(&r));

    // The right code: on, ten recovery codes shown once, one per line.
    let r = browser
        .post(&server, "/account/totp", &[("csrf", &csrf), ("code", &right)])
        .await;
    let html = text(&r);
    assert_eq!(r.status, 200, "{html}");
    let codes: Vec<String> = element(&html, "recovery-codes")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(codes.len(), 10, "{html}");
    assert!(
        codes.iter().all(|c| c.len() == 11 && c.as_bytes()[5] == b'-'),
        "{codes:?}"
    );
    assert!(tessera_server::oauth::sign_in::has_second_factor(&store, "u-ann")
        .await
        .unwrap());
    // The other browser's session ended; this one's did not.
    assert!(store.session(&elsewhere_session, now()).await.unwrap().is_none());
    let mine = hash_secret(&browser.cookies["tessera_session"]);
    assert!(store.session(&mine, now()).await.unwrap().is_some());

    // The page now lists the app and the codes left.
    let page = browser.get(&server, "/account").await;
    let html = text(&page);
    assert!(html.contains("Authenticator app, added"), "{html}");
    assert!(html.contains("10 recovery codes left"), "{html}");

    // A new browser's sign-in now asks for the code (the next step's: the
    // current one was used).
    let mut fresh = Browser::default();
    let next = totp::code_at(&secret, step + 1).to_string();
    let page = sign_in_to_account(&mut fresh, &server, "/account", Some(&next)).await;
    assert!(text(&page).contains("Signed in as <strong>ann</strong>"));

    // New recovery codes replace the old ones.
    let csrf = field(&text(&page), "csrf");
    let r = fresh
        .post(&server, "/account/recovery-codes", &[("csrf", &csrf)])
        .await;
    let html = text(&r);
    assert_eq!(r.status, 200, "{html}");
    let new_codes: Vec<String> = element(&html, "recovery-codes")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(new_codes.len(), 10);
    assert!(!factors::use_recovery_code(&store, &master, "u-ann", &codes[0])
        .await
        .unwrap());
    assert!(
        factors::use_recovery_code(&store, &master, "u-ann", &new_codes[0])
            .await
            .unwrap()
    );

    // A sign-in older than five minutes: a change sends the browser to
    // sign in again with max_age=300, and nothing changes.
    let session = hash_secret(&fresh.cookies["tessera_session"]);
    age_session(database, &session, 600).await;
    let page = fresh.get(&server, "/account").await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    let id = field(&html, "id");
    let csrf = field(&html, "csrf");
    let r = fresh
        .post(&server, "/account/totp/remove", &[("csrf", &csrf), ("id", &id)])
        .await;
    let to = location(&r, &server);
    assert!(
        to.starts_with("/authorize?") && to.ends_with("&max_age=300"),
        "{to}"
    );
    assert!(tessera_server::oauth::sign_in::has_second_factor(&store, "u-ann")
        .await
        .unwrap());
    let stale = fresh.get(&server, "/account/totp").await;
    assert!(location(&stale, &server).ends_with("&max_age=300"));

    // Signing in again (password and a recovery code: the app's next
    // codes are used), then removing works, and a password is enough
    // again.
    let page = finish_sign_in(&mut fresh, &server, &r, Some(&new_codes[1])).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    let html = text(&page);
    // A user who must use a second factor cannot remove the last one.
    tessera_server::identity::users::set_require_mfa(&store, "u-ann", true)
        .await
        .unwrap();
    let r = fresh
        .post(
            &server,
            "/account/totp/remove",
            &[("csrf", &field(&html, "csrf")), ("id", &field(&html, "id"))],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=kept-last");
    assert!(tessera_server::oauth::sign_in::has_second_factor(&store, "u-ann")
        .await
        .unwrap());
    tessera_server::identity::users::set_require_mfa(&store, "u-ann", false)
        .await
        .unwrap();
    let r = fresh
        .post(
            &server,
            "/account/totp/remove",
            &[("csrf", &field(&html, "csrf")), ("id", &field(&html, "id"))],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=authenticator-removed");
    assert!(
        !tessera_server::oauth::sign_in::has_second_factor(&store, "u-ann")
            .await
            .unwrap()
    );
    let page = fresh.get(&server, "/account?done=authenticator-removed").await;
    assert!(text(&page).contains("Your authenticator app was removed."));
    let mut later = Browser::default();
    let page = sign_in_to_account(&mut later, &server, "/account", None).await;
    assert_eq!(page.status, 200);

    server.stop().await;
}

#[tokio::test]
async fn the_account_page_adds_and_removes_an_authenticator_sqlite() {
    account_page(&support::sqlite_url()).await;
}

#[tokio::test]
async fn the_account_page_adds_and_removes_an_authenticator_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    account_page(&url).await;
}

/// The callback finishes only the sign-in this browser started: a code
/// and state carried to another browser, a state changed, or a code used
/// twice are refused.
async fn callback_is_bound(database: &str) {
    let (server, _store) = setup(database).await;
    let mut browser = Browser::default();
    let r = browser.get(&server, "/account").await;
    let login = browser.get(&server, &location(&r, &server)).await;
    let after = browser.log_in(&server, &text(&login), "ann", PASSWORD).await;
    let callback = location(&after, &server);

    // Another browser with the same link (it has no session): refused.
    let mut other = Browser::default();
    let r = other.get(&server, &callback).await;
    assert_eq!(r.status, 400, "{} {:?}", text(&r), r.header("location"));
    // Another browser signed in as ann (its own binding): refused.
    sign_in(&mut other, &server, &authorize_path("first", "")).await;
    let r = other.get(&server, &callback).await;
    assert_eq!(r.status, 400, "{}", text(&r));
    // The state changed in this browser: refused (PKCE fails).
    let tampered = callback.replace("state=account.", "state=totp.");
    let r = browser.get(&server, &tampered).await;
    assert_eq!(r.status, 400, "{}", text(&r));
    // The right link in the right browser works, once (RFC 6749 §4.1.2).
    let r = browser.get(&server, &callback).await;
    assert_eq!(location(&r, &server), "/account");
    let r = browser.get(&server, &callback).await;
    assert_eq!(r.status, 400, "{}", text(&r));
    server.stop().await;
}

#[tokio::test]
async fn the_callback_finishes_only_this_browsers_sign_in_sqlite() {
    callback_is_bound(&support::sqlite_url()).await;
}
