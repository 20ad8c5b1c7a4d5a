//! Issue 20, item 1: `/` and the rest of `/account`, through their pages.
//!
//! - `/` says what the server is (its issuer, the discovery document) and
//!   links to the account page.
//! - The page shows the profile and changes the display name.
//! - The password changes with the current password (a wrong one is
//!   refused and counted like a failed sign-in; the new one follows the
//!   password rules); the change ends the user's other sessions and kills
//!   their refresh tokens, and keeps this browser signed in. Without the
//!   current password, a stale sign-in is asked again.
//! - Sessions are listed (which is this one); ending another signs that
//!   browser out (its next `/account` goes to `/authorize`) and its
//!   refresh token dies.
//! - Revoking an app removes it from the list and its refresh token dies.
//! - A linked identity is unlinked when a password remains, and not when
//!   it is the only way to sign in.
//! - A form with a forged CSRF token is refused (403).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_jwt::UnixTime;
use tessera_server::account::profile;
use tessera_server::account::AccountError;
use tessera_server::clients::authentication::hash_secret;
use tessera_server::domain::Proofs;
use tessera_server::identity::users::{self, NewUser};
use tessera_server::store::{Session, SessionStore, Store, UserStore};
use tessera_testkit as support;

use support::account::{age_session, finish_sign_in, location, sign_in_to_account, PASSWORD};
use support::browser::{authorize_path, field, redeem, setup, sign_in, text, Browser, VERIFIER};
use support::Running;

fn now() -> i64 {
    UnixTime::now().as_secs()
}

/// Signs `browser` in to Photo Book ("web", with consent) and redeems the
/// code: the refresh token (a third party gets one only with
/// `offline_access`, OpenID Connect Core §11; so every token here is an
/// offline one, which the changes below must end too).
async fn refresh_token_of(browser: &mut Browser, server: &Running) -> String {
    let path = authorize_path("web", "").replace(
        "scope=openid+profile+email",
        "scope=openid+profile+email+offline_access",
    );
    let redirect = sign_in(browser, server, &path).await;
    let r = redeem(server, "web", &redirect["code"], Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    r.json()["refresh_token"].as_str().unwrap().to_owned()
}

/// Refreshes with `token` as Photo Book: its successor (RFC 6749 §6:
/// the old one is used up), or `None` on `invalid_grant`.
async fn refresh(server: &Running, token: &str) -> Option<String> {
    let r = support::token(
        server.addr,
        &format!("grant_type=refresh_token&client_id=web&refresh_token={token}"),
        &[],
    )
    .await;
    if r.status == 200 {
        return Some(r.json()["refresh_token"].as_str().unwrap().to_owned());
    }
    assert_eq!(r.status, 400, "{}", text(&r));
    assert_eq!(r.json()["error"], "invalid_grant");
    None
}

/// Posts the password form.
async fn post(
    browser: &mut Browser,
    server: &Running,
    form: [(&'static str, String); 4],
) -> support::Response {
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(server, "/account/password", &form).await
}

/// The account page's CSRF token.
fn csrf(html: &str) -> String {
    field(html, "csrf")
}

async fn account_profile(database: &str) {
    let (server, store) = setup(database).await;

    // `/`: what this is, the discovery link, "Your account".
    let mut browser = Browser::default();
    let home = browser.get(&server, "/").await;
    let html = text(&home);
    assert_eq!(home.status, 200, "{html}");
    assert!(html.contains(&server.issuer), "{html}");
    assert!(
        html.contains("href=\"/.well-known/openid-configuration\""),
        "{html}"
    );
    assert!(html.contains("<a href=\"/account\">Your account</a>"), "{html}");

    // Another browser signed in to Photo Book, holding a refresh token.
    let mut elsewhere = Browser::default();
    let elsewhere_token = refresh_token_of(&mut elsewhere, &server).await;
    let elsewhere_token = refresh(&server, &elsewhere_token).await.expect("refreshes");
    let r = elsewhere.get(&server, "/account").await;
    assert_eq!(r.status, 200, "signed in already: {}", text(&r));

    // The page: profile, two sessions (this one marked), the app.
    let page = sign_in_to_account(&mut browser, &server, "/account", None).await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("Signed in as <strong>ann</strong>"), "{html}");
    assert_eq!(html.matches("<li>Signed in ").count(), 2, "{html}");
    assert_eq!(html.matches("(this browser)").count(), 1, "{html}");
    assert!(
        html.contains("<strong>Photo Book</strong>: openid profile email offline_access"),
        "{html}"
    );
    let token = csrf(&html);

    // A forged CSRF token: refused, nothing changes.
    let r = browser
        .post(
            &server,
            "/account/name",
            &[("csrf", "forged"), ("name", "Mallory")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", text(&r));
    // The name changes.
    let r = browser
        .post(
            &server,
            "/account/name",
            &[("csrf", &token), ("name", "  Ann Example ")],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=name-changed");
    let ann = store.user("u-ann").await.unwrap().unwrap();
    assert_eq!(ann.name.as_deref(), Some("Ann Example"));
    let html = text(&browser.get(&server, "/account?done=name-changed").await);
    assert!(html.contains("value=\"Ann Example\""), "{html}");
    assert!(html.contains("Your name was saved."), "{html}");
    let r = browser
        .post(
            &server,
            "/account/name",
            &[("csrf", &token), ("name", "bad\u{7}name")],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=bad-name");

    // Ending the other session: that browser is signed out (of the
    // account page too) and its refresh token dies.
    let sid = field(&html, "sid");
    let r = browser
        .post(
            &server,
            "/account/sessions/end",
            &[("csrf", &token), ("sid", &sid)],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=session-ended");
    let r = elsewhere.get(&server, "/account").await;
    assert!(location(&r, &server).starts_with("/authorize?"), "signed out");
    assert_eq!(refresh(&server, &elsewhere_token).await, None);
    let html = text(&browser.get(&server, "/account").await);
    assert_eq!(html.matches("<li>Signed in ").count(), 1, "{html}");

    // Revoking the app: gone from the list, its refresh token dies.
    let mut app_browser = Browser::default();
    let app_token = refresh_token_of(&mut app_browser, &server).await;
    let app_token = refresh(&server, &app_token).await.expect("refreshes");
    let r = browser
        .post(
            &server,
            "/account/apps/revoke",
            &[("csrf", &token), ("client_id", "web")],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=app-revoked");
    assert_eq!(refresh(&server, &app_token).await, None);
    let html = text(&browser.get(&server, "/account").await);
    assert!(!html.contains("Photo Book"), "{html}");
    assert!(html.contains("You have not allowed any app yet."), "{html}");

    // Unlinking an upstream identity of a user with a password: allowed.
    users::link(&store, "u-ann", "https://idp.example", "ann-at-idp", now())
        .await
        .unwrap();
    let html = text(&browser.get(&server, "/account").await);
    assert!(html.contains("https://idp.example, linked"), "{html}");
    let r = browser
        .post(
            &server,
            "/account/identities/unlink",
            &[("csrf", &token), ("provider", "https://idp.example")],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=unlinked");
    assert!(users::links(&store, "u-ann").await.unwrap().is_empty());

    // The password page: the standard autocomplete tokens.
    let mut app_browser = Browser::default();
    let app_token = refresh_token_of(&mut app_browser, &server).await;
    let mine = hash_secret(&browser.cookies["tessera_session"]);
    age_session(database, &mine, 600).await;
    let html = text(&browser.get(&server, "/account/password").await);
    assert!(
        html.contains("name=\"current\" autocomplete=\"current-password\" required"),
        "{html}"
    );
    assert_eq!(html.matches("autocomplete=\"new-password\"").count(), 2, "{html}");
    let good = "a brand new passphrase";
    let change = |current: &str, new: &str, again: &str| -> [(&'static str, String); 4] {
        [
            ("csrf", token.clone()),
            ("current", current.into()),
            ("new", new.into()),
            ("again", again.into()),
        ]
    };

    // A stale sign-in without the current password: asked again.
    let r = post(&mut browser, &server, change("", good, good)).await;
    let to = location(&r, &server);
    assert!(
        to.starts_with("/authorize?") && to.ends_with("&max_age=300"),
        "{to}"
    );
    // A wrong current password: refused, and counted like a sign-in.
    let r = post(&mut browser, &server, change("not my password", good, good)).await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("That is not your current password."));
    assert_eq!(store.user("u-ann").await.unwrap().unwrap().failed_logins, 1);
    // The new password's rules, and the repetition.
    let r = post(&mut browser, &server, change(PASSWORD, "short", "short")).await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("use at least 8 characters"), "{}", text(&r));
    let r = post(&mut browser, &server, change(PASSWORD, "password", "password")).await;
    assert!(
        text(&r).contains("one of the most common passwords"),
        "{}",
        text(&r)
    );
    let r = post(
        &mut browser,
        &server,
        change(PASSWORD, good, "a brand new passphrasE"),
    )
    .await;
    assert!(text(&r).contains("The two new passwords differ."), "{}", text(&r));
    let app_token = refresh(&server, &app_token).await.expect("nothing changed yet");

    // The current password: changed; the app's session and refresh token
    // end, this browser stays signed in.
    let app_session = hash_secret(&app_browser.cookies["tessera_session"]);
    assert!(store.session(&app_session, now()).await.unwrap().is_some());
    let r = post(&mut browser, &server, change(PASSWORD, good, good)).await;
    assert_eq!(location(&r, &server), "/account?done=password-changed");
    assert!(store.session(&app_session, now()).await.unwrap().is_none());
    assert_eq!(refresh(&server, &app_token).await, None);
    let page = browser.get(&server, "/account?done=password-changed").await;
    assert_eq!(page.status, 200, "{}", text(&page));
    assert!(text(&page).contains("Your password was changed."));
    // The new password signs in; the old one does not.
    let mut next = Browser::default();
    let login = next.get(&server, &authorize_path("first", "")).await;
    let r = next.log_in(&server, &text(&login), "ann", PASSWORD).await;
    assert_eq!(r.status, 401, "{}", text(&r));
    let login = next.get(&server, &authorize_path("first", "")).await;
    let r = next.log_in(&server, &text(&login), "ann", good).await;
    assert_eq!(r.status, 303, "{}", text(&r));

    // After a fresh sign-in the current password is not needed.
    let mut fresh = Browser::default();
    let r = fresh.get(&server, "/account/password").await;
    let login = fresh.get(&server, &location(&r, &server)).await;
    let after = fresh.log_in(&server, &text(&login), "ann", good).await;
    let back = fresh.get(&server, &location(&after, &server)).await;
    assert_eq!(location(&back, &server), "/account/password");
    let html = text(&fresh.get(&server, "/account/password").await);
    let form = [
        ("csrf", csrf(&html)),
        ("current", String::new()),
        ("new", PASSWORD.to_owned()),
        ("again", PASSWORD.to_owned()),
    ];
    let r = post(&mut fresh, &server, form).await;
    assert_eq!(location(&r, &server), "/account?done=password-changed");
    // The other browser's session ended with that change.
    let r = browser.get(&server, "/account").await;
    assert!(location(&r, &server).starts_with("/authorize?"));
    let page = finish_sign_in(&mut browser, &server, &r, None).await;
    assert_eq!(page.status, 200);

    server.stop().await;
}

#[tokio::test]
async fn the_account_page_manages_profile_password_sessions_and_apps_sqlite() {
    account_profile(&support::sqlite_url()).await;
}

#[tokio::test]
async fn the_account_page_manages_profile_password_sessions_and_apps_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    account_profile(&url).await;
}

/// A fresh session of `user_id`, stored.
async fn session_of(store: &Store, user_id: &str) -> Session {
    let session = Session {
        id_hash: hash_secret(&format!("cookie-{user_id}")),
        sid: format!("sid-{user_id}"),
        user_id: user_id.into(),
        auth_time: now(),
        expires_at: now() + 3600,
        client_ip: None,
        proofs: Proofs::none(),
    };
    store.create_session(&session).await.unwrap();
    session
}

/// An upstream identity is not unlinked when it is the only way to sign
/// in; with another one linked, it is.
async fn only_way_in(database: &str) {
    let (server, store) = setup(database).await;
    let bob = users::create(
        &store,
        NewUser {
            username: "bob".into(),
            email: None,
            email_verified: false,
            name: None,
            roles: vec![],
            password: None,
        },
        now(),
    )
    .await
    .unwrap();
    users::link(&store, &bob.id, "https://a.example", "bob-a", now())
        .await
        .unwrap();
    let session = session_of(&store, &bob.id).await;
    let refused = profile::unlink(&store, &session, "https://a.example", now()).await;
    assert!(matches!(refused, Err(AccountError::LastWayIn)), "{refused:?}");
    assert_eq!(users::links(&store, &bob.id).await.unwrap().len(), 1);
    users::link(&store, &bob.id, "https://b.example", "bob-b", now())
        .await
        .unwrap();
    profile::unlink(&store, &session, "https://a.example", now())
        .await
        .unwrap();
    let refused = profile::unlink(&store, &session, "https://b.example", now()).await;
    assert!(matches!(refused, Err(AccountError::LastWayIn)), "{refused:?}");
    server.stop().await;
}

#[tokio::test]
async fn the_only_way_to_sign_in_is_not_unlinked_sqlite() {
    only_way_in(&support::sqlite_url()).await;
}

#[tokio::test]
async fn the_only_way_to_sign_in_is_not_unlinked_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    only_way_in(&url).await;
}
