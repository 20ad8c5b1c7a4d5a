//! The account page's sign-in, for tests: from `/account` through the
//! account client's `/authorize` interaction (as ann) back to the page.

use crate::browser::{field, text, Browser};
use crate::{Response, Running};

/// ann's password in the sign-in tests' seed.
pub const PASSWORD: &str = "correct horse battery";

/// The path of a redirect to this server (its Location without the
/// issuer).
pub fn location(r: &Response, server: &Running) -> String {
    assert_eq!(r.status, 303, "{}", text(r));
    let to = r.header("location").unwrap();
    to.strip_prefix(&server.issuer).unwrap_or(to).to_owned()
}

/// From `/account` with no session to the account page: the account
/// client's sign-in (password, and the code when `code` gives one), the
/// callback, the page.
pub async fn sign_in_to_account(
    browser: &mut Browser,
    server: &Running,
    start: &str,
    code: Option<&str>,
) -> Response {
    let r = browser.get(server, start).await;
    finish_sign_in(browser, server, &r, code).await
}

/// From the account page's redirect `r` to `/authorize` on to the page
/// it was for, as ann.
pub async fn finish_sign_in(
    browser: &mut Browser,
    server: &Running,
    r: &Response,
    code: Option<&str>,
) -> Response {
    let ann = SignIn {
        username: "ann",
        password: PASSWORD,
        code,
    };
    finish_own_sign_in(browser, server, r, ACCOUNT, &ann).await
}

/// One of Tessera's own clients (`/account`, `/admin`): its client id and
/// callback.
#[derive(Clone, Copy, Debug)]
pub struct Own {
    /// Its client id.
    pub client_id: &'static str,
    /// Its callback's path.
    pub callback: &'static str,
}

/// The account page's client.
pub const ACCOUNT: Own = Own {
    client_id: "tessera-account",
    callback: "/account/callback",
};

/// The admin console's client.
pub const CONSOLE: Own = Own {
    client_id: "tessera-admin-console",
    callback: "/admin/callback",
};

/// Who signs in, and their one-time code when they have a second factor.
#[derive(Clone, Copy, Debug)]
pub struct SignIn<'a> {
    /// Username.
    pub username: &'a str,
    /// Password.
    pub password: &'a str,
    /// The current one-time code, for a user with an authenticator app.
    pub code: Option<&'a str>,
}

/// From an own page's redirect `r` to `/authorize` (as `own`) on to the
/// page it was for: the login page (password, and the code when `who`
/// gives one), no consent (first party), the callback, the page.
pub async fn finish_own_sign_in(
    browser: &mut Browser,
    server: &Running,
    r: &Response,
    own: Own,
    who: &SignIn<'_>,
) -> Response {
    let to_authorize = location(r, server);
    let start = format!("/authorize?response_type=code&client_id={}&", own.client_id);
    assert!(to_authorize.starts_with(&start), "{to_authorize}");
    let login = browser.get(server, &to_authorize).await;
    assert_eq!(login.status, 200, "{}", text(&login));
    let mut after = browser
        .log_in(server, &text(&login), who.username, who.password)
        .await;
    if let Some(code) = who.code {
        let html = text(&after);
        assert!(html.contains("action=\"/authorize/otp\""), "{html}");
        after = browser
            .post(
                server,
                "/authorize/otp",
                &[
                    ("interaction", &field(&html, "interaction")),
                    ("csrf", &field(&html, "csrf")),
                    ("code", code),
                ],
            )
            .await;
    }
    follow_callback(browser, server, &after, own).await
}

/// From the redirect `r` to `own`'s callback on to the page the sign-in
/// was for.
pub async fn follow_callback(browser: &mut Browser, server: &Running, r: &Response, own: Own) -> Response {
    let callback = location(r, server);
    assert!(
        callback.starts_with(&format!("{}?code=", own.callback)),
        "{callback}"
    );
    let back = browser.get(server, &callback).await;
    let page = location(&back, server);
    browser.get(server, &page).await
}

/// Moves a session's sign-in `seconds` into the past.
pub async fn age_session(database: &str, id_hash: &[u8], seconds: i64) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database).await.unwrap();
    sqlx::query("UPDATE sessions SET auth_time = auth_time - $1 WHERE id_hash = $2")
        .bind(seconds)
        .bind(id_hash.to_vec())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}
