//! Issue 20, item 4: the admin console at `/admin`, through its pages.
//!
//! - The console signs in through `/authorize` as Tessera's own
//!   first-party client `tessera-admin-console`; a person without the
//!   admin role gets a 403 page, not the console.
//! - An administrator with an authenticator app (password and code)
//!   searches and pages the lists, creates a client (its secret shown
//!   once), ends a user's session, disables the user, rotates a signing
//!   key: each change is in the store.
//! - Every write needs the form's CSRF token (403 without it), a sign-in
//!   at most five minutes old (else `max_age=300`) and two factors (else
//!   `acr_values=urn:tessera:acr:2fa`, a step-up, after which the write
//!   goes through).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_jwt::UnixTime;
use tessera_server::clients::authentication::hash_secret;
use tessera_server::identity::{factors, totp};
use tessera_server::keys::MasterKey;
use tessera_server::store::{ClientStore, KeyStore, SessionStore, Store, UserStore};
use tessera_testkit as support;

use support::account::{
    age_session, finish_own_sign_in, follow_callback, location, SignIn, CONSOLE, PASSWORD,
};
use support::browser::{authorize_path, field, setup, sign_in, text, Browser};
use support::{Response, Running};

const ROOT_PASSWORD: &str = "root's long passphrase";
const OPS_PASSWORD: &str = "ops has a long one too";

fn now() -> i64 {
    UnixTime::now().as_secs()
}

/// Enrolls and confirms an authenticator app for `user_id`, confirmed
/// with the previous step's code so that the current step's is unused.
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
fn code(secret: &totp::TotpSecret) -> String {
    totp::code_at(secret, totp::step_of(now())).to_string()
}

/// The sign-in tests' seed, and two administrators: root (with an
/// authenticator app) and ops (a password only).
async fn admins(database: &str) -> (Running, Store, totp::TotpSecret) {
    let (server, store) = setup(database).await;
    store
        .create_user(&support::user("u-root", "root", ROOT_PASSWORD, &["admin"]))
        .await
        .unwrap();
    store
        .create_user(&support::user("u-ops", "ops", OPS_PASSWORD, &["admin"]))
        .await
        .unwrap();
    let secret = enroll(&store, &support::master_key_of(database), "u-root").await;
    (server, store, secret)
}

/// Opens `path` of the console in a browser without a session and signs
/// in as `who`: the page.
async fn console_as(browser: &mut Browser, server: &Running, path: &str, who: &SignIn<'_>) -> Response {
    let r = browser.get(server, path).await;
    let to = location(&r, server);
    assert!(!to.contains("max_age"), "reading asks for no fresh sign-in: {to}");
    finish_own_sign_in(browser, server, &r, CONSOLE, who).await
}

/// The redirect of a refused write: to sign in again as the console's
/// client, with `max_age=300` and two factors asked for.
fn asked_to_sign_in_again(r: &Response, server: &Running) -> String {
    let to = location(r, server);
    assert!(
        to.starts_with("/authorize?response_type=code&client_id=tessera-admin-console&"),
        "{to}"
    );
    assert!(to.contains("&max_age=300"), "{to}");
    assert!(to.contains("&acr_values=urn%3Atessera%3Aacr%3A2fa"), "{to}");
    to
}

/// The value of the hidden field `name` in the form posting to `action`.
fn form_field(html: &str, action: &str, name: &str) -> String {
    let start = html
        .find(&format!("action=\"{action}\""))
        .unwrap_or_else(|| panic!("no form to {action} in {html}"));
    field(&html[start..], name)
}

async fn console(database: &str) {
    let (server, store, secret) = admins(database).await;

    // ann (no admin role) signs in through the console's client: 403.
    let mut ann = Browser::default();
    let who = SignIn {
        username: "ann",
        password: PASSWORD,
        code: None,
    };
    let page = console_as(&mut ann, &server, "/admin", &who).await;
    assert_eq!(page.status, 403, "{}", text(&page));
    assert!(text(&page).contains("Not an administrator"));
    assert!(!text(&page).contains("Signed in as"));
    let r = ann.get(&server, "/admin/users").await;
    assert_eq!(r.status, 403, "{}", text(&r));
    // Her form to the console, with a token made for her session: 403.
    let r = ann
        .post(&server, "/admin/users/u-ops/disable", &[("csrf", "x")])
        .await;
    assert_eq!(r.status, 403, "{}", text(&r));
    assert!(!store.user("u-ops").await.unwrap().unwrap().is_disabled());

    // ann is also signed in to an app elsewhere: a session to end.
    let mut phone = Browser::default();
    sign_in(&mut phone, &server, &authorize_path("first", "")).await;
    let phone_session = hash_secret(&phone.cookies["tessera_session"]);
    assert!(store.session(&phone_session, now()).await.unwrap().is_some());

    // root: password and code, then the overview.
    let mut root = Browser::default();
    let code_now = code(&secret);
    let who = SignIn {
        username: "root",
        password: ROOT_PASSWORD,
        code: Some(&code_now),
    };
    let page = console_as(&mut root, &server, "/admin", &who).await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("Signed in as <strong>root</strong>"), "{html}");
    assert!(!html.contains("<script"), "{html}");
    let csp = page.header("content-security-policy").unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert_eq!(page.header("x-frame-options"), Some("DENY"));

    // The clients list, searched.
    let page = root.get(&server, "/admin/clients").await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    for id in ["web", "first", "tessera-account", "tessera-admin-console"] {
        assert!(html.contains(&format!(">{id}</a>")), "{id}: {html}");
    }
    let page = root.get(&server, "/admin/clients?q=PHOTO").await;
    let html = text(&page);
    assert!(html.contains(">web</a>"), "the name matches: {html}");
    assert!(!html.contains(">first</a>"), "{html}");

    // Create a client: a form without the page's CSRF token is refused,
    // then with it the client is made and its secret shown once.
    let form = root.get(&server, "/admin/clients/new").await;
    let csrf = form_field(&text(&form), "/admin/clients", "csrf");
    fn new_client(csrf: &str) -> Vec<(&str, &str)> {
        vec![
            ("csrf", csrf),
            ("name", "Photos"),
            ("grant_authorization_code", "on"),
            ("grant_refresh_token", "on"),
            (
                "redirect_uris",
                "https://photos.example/cb\r\nhttps://photos.example/cb2",
            ),
            ("scope", "openid profile"),
        ]
    }
    let before = store.clients().await.unwrap().len();
    let mut no_csrf = new_client("");
    no_csrf.remove(0);
    let r = root.post(&server, "/admin/clients", &no_csrf).await;
    assert_eq!(r.status, 403, "{}", text(&r));
    let r = root.post(&server, "/admin/clients", &new_client("forged")).await;
    assert_eq!(r.status, 403, "{}", text(&r));
    assert_eq!(store.clients().await.unwrap().len(), before, "nothing made");
    let r = root.post(&server, "/admin/clients", &new_client(&csrf)).await;
    let html = text(&r);
    assert_eq!(r.status, 200, "{html}");
    let client_id = html
        .split("<code id=\"client-id\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert!(html.contains("<code id=\"client-secret\">"), "{html}");
    let made = store.client(&client_id).await.unwrap().unwrap();
    assert_eq!(made.name, "Photos");
    assert_eq!(
        made.redirect_uris,
        ["https://photos.example/cb", "https://photos.example/cb2"]
    );
    let page = root.get(&server, &format!("/admin/clients/{client_id}")).await;
    assert!(
        text(&page).contains("https://photos.example/cb2"),
        "{}",
        text(&page)
    );
    // A refused client comes back with what was typed and why.
    let r = root
        .post(
            &server,
            "/admin/clients",
            &[
                ("csrf", &csrf),
                ("name", "Bad"),
                ("grant_authorization_code", "on"),
                ("redirect_uris", "not a uri"),
            ],
        )
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("value=\"Bad\""), "{}", text(&r));

    // The users list, searched; ann's page lists her session: end it.
    let page = root.get(&server, "/admin/users?q=ANN").await;
    let html = text(&page);
    assert!(html.contains("href=\"/admin/users/u-ann\">ann</a>"), "{html}");
    assert!(!html.contains(">root</a>"), "{html}");
    let page = root.get(&server, "/admin/users/u-ann").await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    let sid = form_field(&html, "/admin/users/u-ann/sessions/end", "sid");
    let csrf = form_field(&html, "/admin/users/u-ann/sessions/end", "csrf");
    let r = root
        .post(
            &server,
            "/admin/users/u-ann/sessions/end",
            &[("csrf", &csrf), ("sid", &sid)],
        )
        .await;
    assert_eq!(location(&r, &server), "/admin/users/u-ann?done=session-ended");
    let remaining = store.sessions_of("u-ann", now()).await.unwrap();
    assert!(remaining.iter().all(|s| s.sid != sid), "{remaining:?}");

    // Disable ann.
    let page = root.get(&server, "/admin/users/u-ann").await;
    let html = text(&page);
    let etag = form_field(&html, "/admin/users/u-ann/disable", "etag");
    let r = root
        .post(
            &server,
            "/admin/users/u-ann/disable",
            &[("csrf", &csrf), ("etag", &etag)],
        )
        .await;
    assert_eq!(location(&r, &server), "/admin/users/u-ann?done=user-disabled");
    assert!(store.user("u-ann").await.unwrap().unwrap().is_disabled());
    assert!(store.session(&phone_session, now()).await.unwrap().is_none());
    let page = root.get(&server, "/admin/users/u-ann?done=user-disabled").await;
    let html = text(&page);
    assert!(html.contains("id=\"status\">disabled<"), "{html}");
    assert!(html.contains("The user was disabled"), "{html}");
    // A stale ETag (ann changed since) is not applied.
    let r = root
        .post(
            &server,
            "/admin/users/u-ann/enable",
            &[("csrf", &csrf), ("etag", &etag)],
        )
        .await;
    assert_eq!(location(&r, &server), "/admin/users/u-ann?done=stale");
    assert!(store.user("u-ann").await.unwrap().unwrap().is_disabled());
    // root may not disable themselves.
    let r = root
        .post(
            &server,
            "/admin/users/u-root/disable",
            &[("csrf", &csrf), ("etag", "*")],
        )
        .await;
    assert_eq!(location(&r, &server), "/admin/users/u-root?done=yourself");
    assert!(!store.user("u-root").await.unwrap().unwrap().is_disabled());

    // The audit log has it: who disabled ann, filtered by user and kind.
    let page = root
        .get(&server, "/admin/audit?user=u-ann&kind=user_changed")
        .await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("<code>user_changed</code>"), "{html}");
    assert!(html.contains("admin:u-root"), "{html}");
    assert!(html.contains("disabled&#34;:true"), "{html}");
    assert!(
        !html.contains("<code>session_started</code>"),
        "filtered by kind: {html}"
    );
    let page = root.get(&server, "/admin/audit?since=yesterday").await;
    assert!(text(&page).contains("From: a UTC time"), "{}", text(&page));
    let page = root
        .get(&server, "/admin/audit?kind=client_created&since=2000-01-01")
        .await;
    assert!(
        text(&page).contains(&format!(">{client_id}</a>")),
        "{}",
        text(&page)
    );

    // Edit the client, then rotate its secret (each with its ETag).
    let href = format!("/admin/clients/{client_id}");
    let page = root.get(&server, &href).await;
    let etag = form_field(&text(&page), &href, "etag");
    let edit = |etag: &str| {
        vec![
            ("csrf".to_owned(), csrf.clone()),
            ("etag".to_owned(), etag.to_owned()),
            ("name".to_owned(), "Photos 2".to_owned()),
            ("grant_authorization_code".to_owned(), "on".to_owned()),
            (
                "redirect_uris".to_owned(),
                "https://photos.example/cb3".to_owned(),
            ),
            ("scope".to_owned(), "openid".to_owned()),
            ("require_mfa".to_owned(), "on".to_owned()),
        ]
    };
    let fields = edit(&etag);
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let r = root.post(&server, &href, &pairs).await;
    assert_eq!(location(&r, &server), format!("{href}?done=client-saved"));
    // (A fresh store: the test's own caches the client it read before.)
    let changed = Store::open(database)
        .await
        .unwrap()
        .client(&client_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(changed.name, "Photos 2");
    assert_eq!(changed.redirect_uris, ["https://photos.example/cb3"]);
    assert!(changed.require_mfa);
    let r = root.post(&server, &href, &pairs).await;
    assert_eq!(
        location(&r, &server),
        format!("{href}?done=stale"),
        "the old ETag"
    );
    let page = root.get(&server, &href).await;
    let html = text(&page);
    assert!(html.contains("value=\"Photos 2\""), "{html}");
    let etag = form_field(&html, &format!("{href}/secret"), "etag");
    let r = root
        .post(
            &server,
            &format!("{href}/secret"),
            &[("csrf", &csrf), ("etag", &etag), ("confirm", "on")],
        )
        .await;
    let html = text(&r);
    assert_eq!(r.status, 200, "{html}");
    assert!(html.contains("<h1>New client secret</h1>"), "{html}");
    let secret = html
        .split("<code id=\"client-secret\">")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_owned();
    assert!(secret.len() >= 32, "{secret}");
    let token = support::token(
        server.addr,
        "grant_type=client_credentials",
        &[("Authorization", &support::basic(&client_id, &secret))],
    )
    .await;
    assert_eq!(
        token.status,
        400,
        "authenticated (the grant is not the client's): {}",
        text(&token)
    );
    assert_eq!(token.json()["error"], "unauthorized_client", "{}", text(&token));

    // Set ops's password: the new one signs in.
    let r = root
        .post(
            &server,
            "/admin/users/u-ops/password",
            &[("csrf", &csrf), ("password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(location(&r, &server), "/admin/users/u-ops?done=password-set");
    let r = root
        .post(
            &server,
            "/admin/users/u-ops/password",
            &[("csrf", &csrf), ("password", "short")],
        )
        .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(text(&r).contains("class=\"error\""), "{}", text(&r));
    let mut ops = Browser::default();
    let who = SignIn {
        username: "ops",
        password: "a brand new passphrase",
        code: None,
    };
    let page = console_as(&mut ops, &server, "/admin", &who).await;
    assert_eq!(page.status, 200, "{}", text(&page));

    // Rotate a key.
    let keys_before = store.keys().await.unwrap().len();
    let r = root
        .post(
            &server,
            "/admin/keys/rotate",
            &[("csrf", &csrf), ("alg", "ES256")],
        )
        .await;
    assert_eq!(location(&r, &server), "/admin/keys?done=key-rotated");
    assert_eq!(store.keys().await.unwrap().len(), keys_before + 1);
    let page = root.get(&server, "/admin/keys").await;
    assert!(text(&page).contains(">next</td>"), "{}", text(&page));

    // Six minutes later (the session's sign-in aged): reading is fine, a
    // write is sent to sign in again and is not done.
    let root_session = hash_secret(&root.cookies["tessera_session"]);
    age_session(database, &root_session, 360).await;
    let page = root.get(&server, "/admin/users/u-ann").await;
    assert_eq!(page.status, 200, "{}", text(&page));
    let etag = form_field(&text(&page), "/admin/users/u-ann/enable", "etag");
    let r = root
        .post(
            &server,
            "/admin/users/u-ann/enable",
            &[("csrf", &csrf), ("etag", &etag)],
        )
        .await;
    asked_to_sign_in_again(&r, &server);
    assert!(store.user("u-ann").await.unwrap().unwrap().is_disabled());
    server.stop().await;
}

#[tokio::test]
async fn console_sqlite() {
    console(&support::sqlite_url()).await;
}

#[tokio::test]
async fn console_postgres() {
    let Some(database) = support::postgres_url().await else {
        return;
    };
    console(&database).await;
}

/// An administrator signed in with a password only reads the console, but
/// a write sends them to step up (`acr_values=urn:tessera:acr:2fa`); with
/// an authenticator app the step-up asks for its code only, and the write
/// then goes through.
async fn step_up(database: &str) {
    let (server, store, _) = admins(database).await;
    let mut ops = Browser::default();
    let who = SignIn {
        username: "ops",
        password: OPS_PASSWORD,
        code: None,
    };
    let page = console_as(&mut ops, &server, "/admin/keys", &who).await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    let csrf = form_field(&html, "/admin/keys/rotate", "csrf");
    let keys_before = store.keys().await.unwrap().len();
    let r = ops
        .post(
            &server,
            "/admin/keys/rotate",
            &[("csrf", &csrf), ("alg", "ES256")],
        )
        .await;
    let to = asked_to_sign_in_again(&r, &server);
    assert_eq!(store.keys().await.unwrap().len(), keys_before, "not rotated");

    // ops adds an authenticator app; the step-up asks for its code only.
    let secret = enroll(&store, &support::master_key_of(database), "u-ops").await;
    let page = ops.get(&server, &to).await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("action=\"/authorize/otp\""), "{html}");
    assert!(!html.contains("type=\"password\""), "{html}");
    let r = ops
        .post(
            &server,
            "/authorize/otp",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("code", &code(&secret)),
            ],
        )
        .await;
    let page = follow_callback(&mut ops, &server, &r, CONSOLE).await;
    let html = text(&page);
    assert_eq!(page.status, 200, "back on the keys page: {html}");
    assert!(html.contains("<h1>Signing keys</h1>"), "{html}");
    // A new session: the old page's token is stale, the new one works.
    let r = ops
        .post(
            &server,
            "/admin/keys/rotate",
            &[("csrf", &csrf), ("alg", "ES256")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", text(&r));
    let csrf = form_field(&html, "/admin/keys/rotate", "csrf");
    let r = ops
        .post(
            &server,
            "/admin/keys/rotate",
            &[("csrf", &csrf), ("alg", "ES256")],
        )
        .await;
    assert_eq!(location(&r, &server), "/admin/keys?done=key-rotated");
    assert_eq!(store.keys().await.unwrap().len(), keys_before + 1);
    server.stop().await;
}

#[tokio::test]
async fn step_up_sqlite() {
    step_up(&support::sqlite_url()).await;
}

#[tokio::test]
async fn step_up_postgres() {
    let Some(database) = support::postgres_url().await else {
        return;
    };
    step_up(&database).await;
}

/// The callback goes back only to a console page, and only in the
/// browser that started the sign-in.
async fn callback_is_bound(database: &str) {
    let (server, _store, _) = admins(database).await;
    let mut browser = Browser::default();
    let r = browser.get(&server, "/admin/users/u-ann").await;
    let to = location(&r, &server);
    assert!(to.contains("&state=%2Fadmin%2Fusers%2Fu-ann."), "{to}");
    let login = browser.get(&server, &to).await;
    let after = browser.log_in(&server, &text(&login), "ops", OPS_PASSWORD).await;
    let callback = location(&after, &server);
    assert!(callback.starts_with("/admin/callback?code="), "{callback}");
    // Another place in the state: PKCE fails, refused.
    let tampered = callback.replace("state=%2Fadmin%2Fusers%2Fu-ann.", "state=%2Fadmin%2Fkeys.");
    let r = browser.get(&server, &tampered).await;
    assert_eq!(r.status, 400, "{}", text(&r));
    let r = browser.get(&server, &callback).await;
    assert_eq!(location(&r, &server), "/admin/users/u-ann");
    server.stop().await;
}

#[tokio::test]
async fn the_callback_finishes_only_this_browsers_sign_in_sqlite() {
    callback_is_bound(&support::sqlite_url()).await;
}
