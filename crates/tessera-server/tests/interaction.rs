//! Issue 10: browser sign-in as an interaction record bound to the
//! browser, and a policy that every step runs in full. Regressions: the
//! consent POST that skipped `prompt=login`, `max_age` and `id_token_hint`;
//! a planted CSRF cookie; duplicate cookies; session fixation; replayed
//! forms. (The policy's rules, check by check, are unit tests in
//! `src/oauth/interaction/policy.rs`.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_testkit as support;

use support::browser::{authorize_path, field, redirected, setup, sign_in, text, Browser};
use support::request;

fn consent_form<'a>(html: &'a str, decision: &'a str) -> Vec<(&'static str, String)> {
    vec![
        ("interaction", field(html, "interaction")),
        ("csrf", field(html, "csrf")),
        ("decision", decision.to_owned()),
    ]
}

async fn post(
    browser: &mut Browser,
    server: &support::Running,
    path: &str,
    form: &[(&'static str, String)],
) -> support::Response {
    let pairs: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
    browser.post(server, path, &pairs).await
}

/// A consent POST runs every check again: with `prompt=login` (or
/// `max_age=0`, or an `id_token_hint` for someone else) it cannot stand in
/// for the new sign-in, even from the right browser with a good token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consent_post_cannot_skip_re_authentication() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();
    // Signed in, and consent given to "web" once.
    sign_in(&mut browser, &server, &authorize_path("web", "")).await;
    for extra in ["&prompt=login", "&max_age=0"] {
        let page = browser.get(&server, &authorize_path("web", extra)).await;
        let html = text(&page);
        assert!(html.contains("Sign in"), "{extra}: the login page first");
        // Skip it: post the consent form for this interaction instead.
        let skipped = post(
            &mut browser,
            &server,
            "/authorize/consent",
            &consent_form(&html, "allow"),
        )
        .await;
        assert_ne!(skipped.status, 303, "{extra}: no code without the new sign-in");
        assert!(
            text(&skipped).contains("Sign in"),
            "{extra}: still the login page"
        );
    }
    server.stop().await;
}

/// A CSRF token is good only in the browser whose binding it derives from:
/// an attacker's own interaction and token, replayed from the victim's
/// signed-in browser (a planted form), are refused; so is a form with no
/// binding cookie at all.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_form_from_another_browser_is_refused() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut victim = Browser::default();
    sign_in(&mut victim, &server, &authorize_path("web", "")).await;
    // The attacker starts an interaction for a client, in their browser.
    let mut attacker = Browser::default();
    let page = attacker
        .get(&server, &authorize_path("first", "&prompt=consent"))
        .await;
    let html = text(&page);
    // ... and makes the victim's browser submit it, with a planted
    // double-submit cookie of the old kind for good measure.
    victim.cookies.insert("tessera_csrf".into(), field(&html, "csrf"));
    let forged = post(
        &mut victim,
        &server,
        "/authorize/consent",
        &consent_form(&html, "allow"),
    )
    .await;
    assert_eq!(forged.status, 403, "{}", text(&forged));
    assert!(forged.header("location").is_none(), "no code for the attacker");
    // No binding cookie at all.
    let mut bare = Browser::default();
    let forged = post(
        &mut bare,
        &server,
        "/authorize/consent",
        &consent_form(&html, "allow"),
    )
    .await;
    assert_eq!(forged.status, 403);
    server.stop().await;
}

/// Two cookies of one name (one planted through a sibling domain) are
/// refused rather than guessed between.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn duplicate_cookies_are_refused() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    for name in ["tessera_browser", "tessera_session"] {
        let cookie = format!("{name}=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa; {name}=bbb");
        let r = request(
            server.addr,
            "GET",
            &authorize_path("web", ""),
            &[("Cookie", &cookie)],
            b"",
        )
        .await;
        assert_eq!(r.status, 400, "{name}: {}", String::from_utf8_lossy(&r.body));
    }
    server.stop().await;
}

/// Signing in always makes a new session id and ends the one the browser
/// had: a session cookie someone planted or copied before the sign-in is
/// worth nothing after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signing_in_rotates_the_session() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();
    sign_in(&mut browser, &server, &authorize_path("first", "")).await;
    let before = browser.cookies.get("tessera_session").cloned().unwrap();
    let page = browser
        .get(&server, &authorize_path("first", "&prompt=login"))
        .await;
    let done = browser
        .log_in(&server, &text(&page), "ann", "correct horse battery")
        .await;
    redirected(&done);
    let after = browser.cookies.get("tessera_session").cloned().unwrap();
    assert_ne!(before, after, "a new id");
    let mut copy = Browser::default();
    copy.cookies.insert("tessera_session".into(), before);
    let silent = copy.get(&server, &authorize_path("first", "&prompt=none")).await;
    assert!(
        silent
            .header("location")
            .unwrap()
            .contains("error=login_required"),
        "the old id ended"
    );
    server.stop().await;
}

/// An interaction is single use: once its code is issued, replaying its
/// forms gets a plain "expired" page, not a second code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_finished_interaction_cannot_be_replayed() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();
    let page = browser.get(&server, &authorize_path("web", "")).await;
    let login_html = text(&page);
    let consent = browser
        .log_in(&server, &login_html, "ann", "correct horse battery")
        .await;
    let html = text(&consent);
    let form = consent_form(&html, "allow");
    let done = post(&mut browser, &server, "/authorize/consent", &form).await;
    assert!(redirected(&done).contains_key("code"));
    let again = post(&mut browser, &server, "/authorize/consent", &form).await;
    assert_eq!(again.status, 400);
    assert!(text(&again).contains("expired or was already completed"));
    let relogin = browser
        .log_in(&server, &login_html, "ann", "correct horse battery")
        .await;
    assert_eq!(relogin.status, 400);
    server.stop().await;
}

/// The interaction records how the user signed in; the session keeps it,
/// and the ID token says it (`amr`, RFC 8176 §2: `pwd`), also for a code
/// issued later through single sign-on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_id_token_says_how_the_user_signed_in() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();
    let id_token_amr = |code: String| {
        let addr = server.addr;
        async move {
            let form = format!(
                "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
                 &code_verifier={}",
                support::browser::VERIFIER
            );
            let r = support::token(addr, &form, &[("Authorization", &support::basic("first", "pw"))]).await;
            let id_token = r.json()["id_token"].as_str().unwrap().to_owned();
            let payload = id_token.split('.').nth(1).unwrap().to_owned();
            let claims: serde_json::Value = serde_json::from_slice(
                &base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap(),
            )
            .unwrap();
            claims["amr"].clone()
        }
    };
    let first = sign_in(&mut browser, &server, &authorize_path("first", "")).await["code"].clone();
    assert_eq!(id_token_amr(first).await, serde_json::json!(["pwd"]));
    let sso = browser
        .get(&server, &authorize_path("first", "&prompt=none"))
        .await;
    let code = redirected(&sso)["code"].clone();
    assert_eq!(
        id_token_amr(code).await,
        serde_json::json!(["pwd"]),
        "kept by the session"
    );
    server.stop().await;
}

/// A response mode other than `query` is refused on the redirect URI,
/// not silently answered in the query (Multiple Response Type Encoding
/// Practices §2.1); `query` itself is fine.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_the_query_response_mode() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();
    for mode in ["fragment", "form_post"] {
        let r = browser
            .get(&server, &authorize_path("web", &format!("&response_mode={mode}")))
            .await;
        assert_eq!(redirected(&r)["error"], "invalid_request", "{mode}");
    }
    let r = browser
        .get(&server, &authorize_path("web", "&response_mode=query"))
        .await;
    assert_eq!(r.status, 200, "the login page");
    server.stop().await;
}
