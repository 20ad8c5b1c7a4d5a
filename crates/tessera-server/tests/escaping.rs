//! Issue 20, item 4: the pages are askama templates, and askama escapes
//! every value. What a client or a user chose (a client's name, a
//! username, a display name, an email address) reaches the login, consent
//! and account pages as text, never as markup: a client named
//! `<script>…</script>` and a user named `mal"><img …>` show their names
//! and run nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_server::store::{ClientStore, UserStore};
use tessera_testkit as support;

use support::account::location;
use support::browser::{authorize_path, field, setup, text, unescape, Browser, CALLBACK};
use support::{client, user, Running};

/// The client's name: a script.
const CLIENT_NAME: &str = "<script>alert(1)</script>";
/// The username (stored as it is; sign-in looks it up lowercased): it
/// ends an attribute value and opens an element.
const USERNAME: &str = "mal\"><img src=x onerror=alert(2)>";
/// The display name and the email address, ending attributes and opening
/// elements too.
const NAME: &str = "Mal' onmouseover='alert(3)";
const EMAIL: &str = "\"><svg onload=alert(4)>@example.com";
const PASSWORD: &str = "correct horse battery";

/// `raw` as askama escapes it: `"&'<>` as numeric character references.
fn escaped(raw: &str) -> String {
    raw.chars()
        .map(|c| match c {
            '"' | '&' | '\'' | '<' | '>' => format!("&#{};", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}

/// `raw` does not appear in `html`; its escaped spelling does (shown as
/// text, in full).
fn shown_as_text(html: &str, raw: &str, what: &str) {
    assert!(!html.contains(raw), "{what} unescaped: {html}");
    let escaped = escaped(raw);
    assert_eq!(unescape(&escaped), raw);
    assert!(html.contains(&escaped), "{what} not shown as {escaped}: {html}");
}

/// Follows this server's redirects from `r` until a page.
async fn follow(browser: &mut Browser, server: &Running, mut r: support::Response) -> support::Response {
    for _ in 0..8 {
        if r.status != 303 {
            return r;
        }
        let to = location(&r, server);
        assert!(to.starts_with('/'), "left the server: {to}");
        r = browser.get(server, &to).await;
    }
    panic!("too many redirects");
}

async fn hostile_text(database: &str) {
    let (server, store) = setup(database).await;
    let mut evil = client(
        "evil",
        None,
        &["authorization_code"],
        &["openid", "profile", "email"],
        &["api"],
    );
    evil.name = CLIENT_NAME.into();
    evil.redirect_uris = vec![CALLBACK.into()];
    store.create_client(&evil).await.unwrap();
    let mut mal = user("u-mal", USERNAME, PASSWORD, &["user"]);
    mal.name = Some(NAME.into());
    mal.email = Some(EMAIL.into());
    store.create_user(&mal).await.unwrap();

    // The login page: the client's name; after a wrong password, the
    // username typed, in the field's value.
    let mut browser = Browser::default();
    let login = browser.get(&server, &authorize_path("evil", "")).await;
    let html = text(&login);
    assert_eq!(login.status, 200, "{html}");
    shown_as_text(&html, CLIENT_NAME, "the client's name on the login page");
    assert!(html.contains("to continue to <strong>&#60;script&#62;"), "{html}");
    let again = browser.log_in(&server, &html, USERNAME, "wrong password").await;
    let html = text(&again);
    assert!(html.contains("role=\"alert\""), "refused: {html}");
    shown_as_text(&html, USERNAME, "the username on the login page");
    assert_eq!(
        field(&html, "username"),
        USERNAME,
        "the field keeps what was typed"
    );
    assert!(!html.contains("<img"), "{html}");

    // The consent page: the client's name (three times) and the username.
    let consent = browser.log_in(&server, &html, USERNAME, PASSWORD).await;
    let html = text(&consent);
    assert_eq!(consent.status, 200, "{html}");
    assert!(html.contains("<h1>Allow &#60;script&#62;"), "{html}");
    shown_as_text(&html, CLIENT_NAME, "the client's name on the consent page");
    shown_as_text(&html, USERNAME, "the username on the consent page");
    assert!(!html.contains("<img") && !html.contains("<script>"), "{html}");
    let allowed = browser
        .post(
            &server,
            "/authorize/consent",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(allowed.status, 303, "{}", text(&allowed));

    // The account page (the session carries over): the username, the
    // display name in the name field, the email, the app allowed.
    let r = browser.get(&server, "/account").await;
    let page = follow(&mut browser, &server, r).await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("<h1>Your account</h1>"), "{html}");
    shown_as_text(&html, USERNAME, "the username on the account page");
    shown_as_text(&html, NAME, "the display name on the account page");
    assert!(
        html.contains(&format!(
            "name=\"name\" autocomplete=\"name\" maxlength=\"128\" value=\"{}\"",
            escaped(NAME)
        )),
        "the name field's value: {html}"
    );
    shown_as_text(&html, EMAIL, "the email on the account page");
    shown_as_text(&html, CLIENT_NAME, "the app's name on the account page");
    assert!(html.contains("Revoke &#60;script&#62;"), "{html}");
    for markup in ["<img", "<script>", "<svg onload", "' onmouseover"] {
        assert!(!html.contains(markup), "{markup} in {html}");
    }
    server.stop().await;
}

#[tokio::test]
async fn what_clients_and_users_chose_is_shown_as_text_sqlite() {
    hostile_text(&support::sqlite_url()).await;
}

#[tokio::test]
async fn what_clients_and_users_chose_is_shown_as_text_postgres() {
    let Some(url) = support::postgres_url().await else {
        eprintln!("skipped: TESSERA_TEST_POSTGRES_URL is not set");
        return;
    };
    hostile_text(&url).await;
}
