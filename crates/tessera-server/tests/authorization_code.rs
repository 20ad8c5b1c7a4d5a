//! Browser sign-in over real HTTP: `/authorize`, the login and consent
//! forms, the SSO session, the authorization code grant with PKCE, and the
//! ID token (RFC 6749 §4.1, RFC 7636, RFC 9700, OpenID Connect Core §3.1).
//! A small "browser" here keeps cookies and reads the forms' hidden fields.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_testkit as support;

use serde_json::Value;
use support::browser::{
    authorize_path, field, redeem, redirected, seed, setup, sign_in, text, Browser, CALLBACK, CHALLENGE,
    VERIFIER,
};
use support::{client, request, start, token, user};
use tessera_jwt::{KeySet, UnixTime, Validation};
use tessera_server::store::{AuthorizationCode, ClientStore, CodeStore, Store, UserStore};

/// The whole flow for a third-party public client: login page, consent,
/// code, PKCE, tokens, ID token; then a code replay revokes them.
#[tokio::test]
async fn sign_in_consent_code_and_id_token() {
    let (server, store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();

    // The login page: a product page with the security headers.
    let page = browser.get(&server, &authorize_path("web", "")).await;
    assert_eq!(page.status, 200);
    assert!(text(&page).contains("to continue to <strong>Photo Book</strong>"));
    assert_eq!(page.header("x-frame-options"), Some("DENY"));
    assert!(page
        .header("content-security-policy")
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(page.header("referrer-policy"), Some("no-referrer"));
    assert!(page.header("access-control-allow-origin").is_none());

    // A wrong password: the page again, with the error.
    let html = text(&page);
    let wrong = browser.log_in(&server, &html, "ann", "wrong").await;
    assert_eq!(wrong.status, 401);
    assert!(text(&wrong).contains("Wrong username or password"));
    assert!(!browser.cookies.contains_key("tessera_session"));

    // offline_access: a third party gets a refresh token only with it
    // (OpenID Connect Core §11), and the replay below revokes that too.
    let offline = authorize_path("web", "").replace(
        "scope=openid+profile+email",
        "scope=openid+profile+email+offline_access",
    );
    let answer = sign_in(&mut browser, &server, &offline).await;
    assert_eq!(answer["state"], "st-1");
    assert_eq!(answer["iss"], server.issuer, "RFC 9207");
    let session_cookie = browser.cookies.get("tessera_session").cloned().unwrap();
    assert!(session_cookie.len() >= 43);

    // Code + verifier: tokens.
    let r = redeem(&server, "web", &answer["code"], Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let tokens = r.json();
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    assert!(tokens["refresh_token"].is_string());
    let id_token = tokens["id_token"].as_str().unwrap();

    // The ID token: RS256, every claim OpenID Connect Core §2 asks for.
    let jwks = request(server.addr, "GET", "/jwks", &[], b"").await;
    let keys = KeySet::from_jwks_json(&jwks.body).unwrap();
    let rules = Validation::new().issuer(&server.issuer).audience("web");
    let verified = keys.verify::<Value>(id_token, &rules, UnixTime::now()).unwrap();
    assert_eq!(verified.header().alg.name(), "RS256");
    let c = verified.claims();
    assert_eq!(c["sub"], "u-ann");
    assert_eq!(c["nonce"], "n-1");
    assert_eq!(c["azp"], "web");
    assert_eq!(c["at_hash"], tessera_server::oauth::id_token::at_hash(&access));
    assert_eq!(c["preferred_username"], "ann");
    assert_eq!(c["email"], "ann@example.com");
    assert!(c["auth_time"].as_i64().unwrap() <= c["iat"].as_i64().unwrap());
    assert!(c["sid"].is_string());
    // The access token is the user's.
    let claims = support::verify(&server, &access, "api").await;
    assert_eq!(claims["sub"], "u-ann");
    assert_eq!(claims["client_id"], "web");

    // RFC 6749 §4.1.2: a second use fails and revokes what the first gave.
    let again = redeem(&server, "web", &answer["code"], Some(VERIFIER)).await;
    assert_eq!(again.status, 400);
    assert_eq!(again.json()["error"], "invalid_grant");
    let refresh = token(
        server.addr,
        &format!(
            "grant_type=refresh_token&client_id=web&refresh_token={}",
            tokens["refresh_token"].as_str().unwrap()
        ),
        &[],
    )
    .await;
    assert_eq!(
        refresh.json()["error"],
        "invalid_grant",
        "the refresh family is revoked"
    );
    let mut api = client("rs", Some("pw"), &["client_credentials"], &["read"], &["api"]);
    api.redirect_uris = vec![];
    // The API may introspect tokens for its audience (RFC 7662 §4), so an
    // inactive answer means revoked, not "not yours".
    api.resource_server_for = vec!["api".into()];
    store.create_client(&api).await.unwrap();
    let introspected = request(
        server.addr,
        "POST",
        "/introspect",
        &[
            ("Authorization", &support::basic("rs", "pw")),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        format!("token={access}").as_bytes(),
    )
    .await;
    assert_eq!(
        introspected.json()["active"],
        false,
        "the access token is revoked"
    );
    server.stop().await;
}

/// SSO: a signed-in browser gets a code for a first-party client without
/// any page; `prompt=login` and `max_age=0` ask for the password again;
/// `prompt=none` without a session is `login_required`.
#[tokio::test]
async fn single_sign_on_and_prompts() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();

    let answer = browser
        .get(&server, &authorize_path("first", "&prompt=none"))
        .await;
    let error = redirected(&answer);
    assert_eq!(error["error"], "login_required");
    assert_eq!(error["state"], "st-1");

    // First-party: no consent page.
    let first = sign_in(&mut browser, &server, &authorize_path("first", "")).await;
    assert!(first.contains_key("code"));
    // Signed in: straight back with a code, for any client that needs no consent.
    let sso = browser
        .get(&server, &authorize_path("first", "&prompt=none"))
        .await;
    assert!(redirected(&sso).contains_key("code"));
    // A third-party client needs consent: prompt=none says so.
    let third = browser.get(&server, &authorize_path("web", "&prompt=none")).await;
    assert_eq!(redirected(&third)["error"], "consent_required");
    // prompt=login and max_age=0: the login page, despite the session.
    for extra in ["&prompt=login", "&max_age=0"] {
        let page = browser.get(&server, &authorize_path("first", extra)).await;
        assert_eq!(page.status, 200, "{extra}");
        assert!(text(&page).contains("<h1>Sign in</h1>"), "{extra}");
    }
    // prompt=consent: the consent page even for a first-party client.
    let page = browser
        .get(&server, &authorize_path("first", "&prompt=consent"))
        .await;
    assert_eq!(page.status, 200);
    assert!(text(&page).contains("Allow first app?"), "{}", text(&page));
    // prompt=login goes through: the login form, then the code.
    let again = sign_in(&mut browser, &server, &authorize_path("first", "&prompt=login")).await;
    assert!(again.contains_key("code"));
    // Denying consent: access_denied.
    let page = browser.get(&server, &authorize_path("web", "")).await;
    let html = text(&page);
    let denied = browser
        .post(
            &server,
            "/authorize/consent",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("decision", "deny"),
            ],
        )
        .await;
    assert_eq!(redirected(&denied)["error"], "access_denied");
    server.stop().await;
}

/// Errors: an untrusted client or redirect URI is a page, never a
/// redirect; everything else is redirected with `error`, `state`, `iss`.
#[tokio::test]
async fn authorization_request_errors() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();
    for path in [
        "/authorize?response_type=code&client_id=nobody&redirect_uri=http%3A%2F%2Fapp.example%2Fcb"
            .to_owned(),
        "/authorize?response_type=code&client_id=web&redirect_uri=http%3A%2F%2Fevil.example%2Fcb".to_owned(),
        "/authorize?response_type=code&redirect_uri=http%3A%2F%2Fapp.example%2Fcb".to_owned(),
        format!("{}&client_id=first", authorize_path("web", "")),
    ] {
        let r = browser.get(&server, &path).await;
        assert_eq!(r.status, 400, "{path}");
        assert!(r.header("location").is_none(), "{path}");
        assert!(text(&r).contains("not valid"), "{path}");
    }
    let cases = [
        ("&response_type=token", "invalid_request"), // repeated parameter
        ("&request=eyJ", "request_not_supported"),
        ("&request_uri=https%3A%2F%2Fx", "request_uri_not_supported"),
        ("&scope=admin", "invalid_request"),
        ("&prompt=none+login", "invalid_request"),
        ("&max_age=-1", "invalid_request"),
    ];
    for (extra, error) in cases {
        let r = browser.get(&server, &authorize_path("web", extra)).await;
        assert_eq!(redirected(&r)["error"], error, "{extra}");
    }
    let swap = |from: &str, to: &str| authorize_path("web", "").replace(from, to);
    let more = [
        (
            swap("response_type=code", "response_type=token"),
            "unsupported_response_type",
        ),
        (
            swap("response_type=code", "response_type=code+id_token"),
            "unsupported_response_type",
        ),
        (
            swap("code_challenge_method=S256", "code_challenge_method=plain"),
            "invalid_request",
        ),
        (
            swap(
                &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
                "",
            ),
            "invalid_request",
        ),
        (
            swap("scope=openid+profile+email", "scope=openid+admin"),
            "invalid_scope",
        ),
        (
            swap("scope=openid+profile+email", "scope=openid++profile"),
            "invalid_scope",
        ),
    ];
    for (path, error) in more {
        let r = browser.get(&server, &path).await;
        let answer = redirected(&r);
        assert_eq!(answer["error"], error, "{path}");
        assert_eq!(answer["state"], "st-1");
        assert_eq!(answer["iss"], server.issuer);
        assert!(!answer["error_description"].is_empty());
    }
    // A form POSTed without the CSRF cookie is refused.
    let page = browser.get(&server, &authorize_path("web", "")).await;
    let html = text(&page);
    let mut stranger = Browser::default();
    let r = stranger
        .log_in(&server, &html, "ann", "correct horse battery")
        .await;
    assert_eq!(r.status, 403);
    assert!(!stranger.cookies.contains_key("tessera_session"));
    server.stop().await;
}

/// The token request's checks: PKCE both ways, the client and the redirect
/// URI the code is bound to, expiry.
#[tokio::test]
async fn code_redemption_checks() {
    let (server, store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();
    sign_in(&mut browser, &server, &authorize_path("first", "")).await;
    let fresh = |r: support::Response| redirected(&r)["code"].clone();
    let basic = support::basic("first", "pw");
    let redeem_as = |code: String, verifier: Option<&'static str>, redirect: &'static str| {
        let basic = basic.clone();
        let server = &server;
        async move {
            let mut form = format!("grant_type=authorization_code&code={code}&redirect_uri={redirect}");
            if let Some(v) = verifier {
                form.push_str(&format!("&code_verifier={v}"));
            }
            token(server.addr, &form, &[("Authorization", &basic)]).await
        }
    };
    let cb = "http%3A%2F%2Fapp.example%2Fcb";
    // Wrong verifier, missing verifier, wrong redirect_uri.
    for (verifier, redirect) in [
        (Some("x".repeat(43).leak() as &str), cb),
        (None, cb),
        (Some(VERIFIER), "http%3A%2F%2Fapp.example%2Fother"),
    ] {
        let c = fresh(browser.get(&server, &authorize_path("first", "")).await);
        let r = redeem_as(c, verifier, redirect).await;
        assert_eq!(r.status, 400);
        assert_eq!(r.json()["error"], "invalid_grant", "{verifier:?} {redirect}");
    }
    // PKCE downgrade: no challenge at /authorize, a verifier at /token.
    let no_pkce = authorize_path("first", "").replace(
        &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
        "",
    );
    let c = fresh(browser.get(&server, &no_pkce).await);
    let r = redeem_as(c, Some(VERIFIER), cb).await;
    assert_eq!(r.json()["error"], "invalid_grant");
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("code_challenge"));
    // Without PKCE on either side a confidential client is fine.
    let c = fresh(browser.get(&server, &no_pkce).await);
    assert_eq!(redeem_as(c, None, cb).await.status, 200);
    // Another client's code.
    let c = fresh(browser.get(&server, &authorize_path("first", "")).await);
    let r = redeem(&server, "web", &c, Some(VERIFIER)).await;
    assert_eq!(r.json()["error"], "invalid_grant");
    // An expired code.
    let now = UnixTime::now().as_secs();
    store
        .insert_code(&AuthorizationCode {
            code_hash: tessera_server::oauth::client_auth::hash_secret("old-code"),
            client_id: "first".into(),
            user_id: "u-ann".into(),
            redirect_uri: CALLBACK.into(),
            scope: tessera_server::oauth::Scope::from_tokens(["openid"]),
            nonce: None,
            code_challenge: None,
            auth_time: now - 100,
            sid: "s".into(),
            expires_at: now - 1,
            amr: tessera_server::domain::Amr::default(),
            resources: Default::default(),
            dpop_jkt: None,
        })
        .await
        .unwrap();
    let r = redeem_as("old-code".into(), None, cb).await;
    assert_eq!(r.json()["error"], "invalid_grant");
    // The right verifier works.
    let c = fresh(browser.get(&server, &authorize_path("first", "")).await);
    assert_eq!(redeem_as(c, Some(VERIFIER), cb).await.status, 200);
    // Discovery says what is supported.
    let d = request(server.addr, "GET", "/.well-known/openid-configuration", &[], b"")
        .await
        .json();
    assert_eq!(
        d["authorization_endpoint"],
        format!("{}/authorize", server.issuer)
    );
    assert_eq!(d["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(d["response_types_supported"], serde_json::json!(["code"]));
    let _ = store.user("u-ann").await.unwrap().unwrap();
    server.stop().await;
}

/// UserInfo (OpenID Connect Core §5.3): GET and POST, the token in the
/// header or the form body, the claims the scopes release, RFC 6750 errors.
/// And no CORS on the authorization endpoint, even for an allowed origin.
#[tokio::test]
async fn userinfo_and_no_cors_on_authorize() {
    let database = support::sqlite_url();
    let server = support::start_configured(&database, "ES256", None, |c| {
        c.cors_origins = vec!["http://app.example".into()];
    })
    .await;
    let store = Store::open(&database).await.unwrap();
    seed(&store).await;
    let mut browser = Browser::default();
    let redeem_with = |scope: &'static str| {
        let server = &server;
        let path = authorize_path("first", "").replace("scope=openid+profile+email", scope);
        async move {
            let mut b = Browser::default();
            let answer = sign_in(&mut b, server, &path).await;
            let r = token(
                server.addr,
                &format!(
                    "grant_type=authorization_code&code={}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}",
                    answer["code"]
                ),
                &[("Authorization", &support::basic("first", "pw"))],
            )
            .await;
            r.json()["access_token"].as_str().unwrap().to_owned()
        }
    };
    let full = redeem_with("scope=openid+profile+email").await;
    let bearer = format!("Bearer {full}");
    let r = request(
        server.addr,
        "GET",
        "/userinfo",
        &[("Authorization", &bearer)],
        b"",
    )
    .await;
    assert_eq!(r.status, 200);
    let claims = r.json();
    assert_eq!(claims["sub"], "u-ann");
    assert_eq!(claims["preferred_username"], "ann");
    assert_eq!(claims["email"], "ann@example.com");
    // POST with the header, POST with the token in the body.
    let r = request(
        server.addr,
        "POST",
        "/userinfo",
        &[("Authorization", &bearer)],
        b"",
    )
    .await;
    assert_eq!(r.json()["sub"], "u-ann");
    let form = format!("access_token={full}");
    let form_type = ("Content-Type", "application/x-www-form-urlencoded");
    let r = request(server.addr, "POST", "/userinfo", &[form_type], form.as_bytes()).await;
    assert_eq!(r.json()["sub"], "u-ann");
    // Both at once: invalid_request.
    let r = request(
        server.addr,
        "POST",
        "/userinfo",
        &[form_type, ("Authorization", &bearer)],
        form.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 400);
    // Only openid: sub only.
    let bare = redeem_with("scope=openid").await;
    let r = request(
        server.addr,
        "GET",
        "/userinfo",
        &[("Authorization", &format!("Bearer {bare}"))],
        b"",
    )
    .await;
    assert_eq!(r.json(), serde_json::json!({"sub": "u-ann"}));
    // No openid: insufficient_scope; no token; a bad token.
    let no_openid = redeem_with("scope=read").await;
    let r = request(
        server.addr,
        "GET",
        "/userinfo",
        &[("Authorization", &format!("Bearer {no_openid}"))],
        b"",
    )
    .await;
    assert_eq!(r.status, 403);
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("insufficient_scope"));
    let r = request(server.addr, "GET", "/userinfo", &[], b"").await;
    assert_eq!(r.status, 401);
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"tessera\""));
    let r = request(
        server.addr,
        "GET",
        "/userinfo",
        &[("Authorization", "Bearer nope")],
        b"",
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(r.header("www-authenticate").unwrap().contains("invalid_token"));

    // CORS: the token endpoint answers the allowed origin; /authorize never.
    let origin = ("Origin", "http://app.example");
    let preflight = [origin, ("Access-Control-Request-Method", "POST")];
    let r = request(server.addr, "OPTIONS", "/token", &preflight, b"").await;
    assert_eq!(
        r.header("access-control-allow-origin"),
        Some("http://app.example")
    );
    let r = request(server.addr, "OPTIONS", "/authorize", &preflight, b"").await;
    assert!(r.header("access-control-allow-origin").is_none());
    let r = browser.get(&server, &authorize_path("first", "")).await;
    assert_eq!(r.status, 200);
    let r = request(server.addr, "GET", &authorize_path("first", ""), &[origin], b"").await;
    assert!(r.header("access-control-allow-origin").is_none());
    server.stop().await;
}

/// RP-initiated logout: a hint naming the signed-in user signs out at once
/// and goes back to the registered URI with `state`; without a hint the
/// user confirms; an unregistered URI is never redirected to.
#[tokio::test]
async fn rp_initiated_logout() {
    let database = support::sqlite_url();
    let server = start(&database, "ES256").await;
    let store = Store::open(&database).await.unwrap();
    seed(&store).await;
    let d = request(server.addr, "GET", "/.well-known/openid-configuration", &[], b"")
        .await
        .json();
    assert_eq!(d["end_session_endpoint"], format!("{}/logout", server.issuer));

    let mut browser = Browser::default();
    let answer = sign_in(&mut browser, &server, &authorize_path("first", "")).await;
    let r = token(
        server.addr,
        &format!(
            "grant_type=authorization_code&code={}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}",
            answer["code"]
        ),
        &[("Authorization", &support::basic("first", "pw"))],
    )
    .await;
    let id_token = r.json()["id_token"].as_str().unwrap().to_owned();

    // Not registered: a page, no redirect, still signed in.
    let r = browser
        .get(
            &server,
            &format!(
                "/logout?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2Fevil.example%2F"
            ),
        )
        .await;
    assert_eq!(r.status, 400);
    assert!(r.header("location").is_none());
    let still = browser
        .get(&server, &authorize_path("first", "&prompt=none"))
        .await;
    assert!(redirected(&still).contains_key("code"));

    // Without a hint: a confirmation page first.
    let r = browser.get(&server, "/logout?client_id=first").await;
    assert_eq!(r.status, 200);
    assert!(text(&r).contains("Sign out?"));
    assert!(redirected(
        &browser
            .get(&server, &authorize_path("first", "&prompt=none"))
            .await
    )
    .contains_key("code"));

    // With the hint: signed out at once, back to the registered URI with state.
    let r = browser
        .get(
            &server,
            &format!("/logout?id_token_hint={id_token}&post_logout_redirect_uri=http%3A%2F%2Fapp.example%2Fbye&state=s-9"),
        )
        .await;
    assert_eq!(r.status, 303);
    assert_eq!(r.header("location"), Some("http://app.example/bye?state=s-9"));
    // The session is gone: prompt=none now says login_required.
    let r = browser
        .get(&server, &authorize_path("first", "&prompt=none"))
        .await;
    assert_eq!(redirected(&r)["error"], "login_required");
    server.stop().await;
}

/// CSP `form-action` (issue 17, item 10): a page's forms may go to
/// Tessera and, through Tessera's 303, to the origin of the client's
/// redirect URI (login, consent) or post-logout URI (the logout
/// confirmation), nowhere else; a page with no way out allows Tessera
/// alone. (`tests/browser.rs` shows Chromium following the 303s.)
#[tokio::test]
async fn pages_send_forms_only_to_tessera_and_the_client() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let form_action = |r: &support::Response| {
        r.header("content-security-policy")
            .unwrap()
            .split(';')
            .map(str::trim)
            .find(|d| d.starts_with("form-action"))
            .map(str::to_owned)
    };
    let mut browser = Browser::default();
    let login = browser.get(&server, &authorize_path("web", "")).await;
    assert_eq!(login.status, 200);
    assert_eq!(
        form_action(&login).as_deref(),
        Some("form-action 'self' http://app.example")
    );
    let consent = browser
        .log_in(&server, &text(&login), "ann", "correct horse battery")
        .await;
    assert!(
        text(&consent).contains("/authorize/consent"),
        "{}",
        text(&consent)
    );
    assert_eq!(
        form_action(&consent).as_deref(),
        Some("form-action 'self' http://app.example")
    );
    let confirm = browser
        .get(
            &server,
            "/logout?client_id=first&post_logout_redirect_uri=http%3A%2F%2Fapp.example%2Fbye",
        )
        .await;
    assert_eq!(confirm.status, 200, "{}", text(&confirm));
    assert_eq!(
        form_action(&confirm).as_deref(),
        Some("form-action 'self' http://app.example")
    );
    // No client to go back to: Tessera only.
    let error = browser.get(&server, &authorize_path("nobody", "")).await;
    assert_eq!(error.status, 400);
    assert_eq!(form_action(&error).as_deref(), Some("form-action 'self'"));
    let confirm = browser.get(&server, "/logout").await;
    assert_eq!(form_action(&confirm).as_deref(), Some("form-action 'self'"));
    server.stop().await;
}

/// A real relying party nobody here wrote: Python's authlib makes the
/// authorization URL (PKCE, state, nonce), exchanges the code, validates
/// the ID token (signature, iss, aud, nonce, at_hash), calls UserInfo and
/// refreshes. Needs `pip install authlib requests` (`.ci/run` does);
/// skipped with a message elsewhere, required under `CI`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authlib_relying_party() {
    let available = std::process::Command::new("python3")
        .args(["-c", "import authlib, requests"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !available {
        assert!(std::env::var_os("CI").is_none(), "CI must run the authlib test");
        eprintln!("SKIPPED authlib relying party: pip install authlib requests");
        return;
    }
    let database = support::sqlite_url();
    let server = start(&database, "ES256").await;
    let store = Store::open(&database).await.unwrap();
    let mut rp = client(
        "py-rp",
        Some("py-secret"),
        &["authorization_code", "refresh_token"],
        &["openid", "profile", "email"],
        &["api"],
    );
    rp.redirect_uris = vec![CALLBACK.into()];
    rp.first_party = true;
    store.create_client(&rp).await.unwrap();
    store
        .create_user(&user("u-gus", "gus", "gus's long password", &["user"]))
        .await
        .unwrap();
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/authlib_rp.py");
    let issuer = server.issuer.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args([
                issuer.as_str(),
                "py-rp",
                "py-secret",
                CALLBACK,
                "gus",
                "gus's long password",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["state_matches"], true);
    assert_eq!(got["iss"], server.issuer);
    assert_eq!(got["id_token_sub"], "u-gus");
    assert_eq!(got["id_token_alg"], "RS256");
    assert_eq!(got["userinfo"]["sub"], "u-gus");
    assert_eq!(got["userinfo"]["preferred_username"], "gus");
    assert_eq!(got["refreshed"], true);
    server.stop().await;
}

/// `tessera client create` registers a web app for the code flow: redirect
/// URIs are absolute without a fragment (RFC 6749 §3.1.2), and the code
/// grant needs at least one.
#[test]
fn cli_registers_web_apps() {
    let db = support::sqlite_url();
    let run = |extra: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args([
                "client",
                "create",
                "--database",
                &db,
                "--name",
                "Photo Book",
                "--grant-type",
                "authorization_code",
            ])
            .args(extra)
            .output()
            .unwrap()
    };
    let ok = run(&[
        "--redirect-uri",
        "https://photos.example/callback",
        "--post-logout-redirect-uri",
        "https://photos.example/",
        "--first-party",
        "--public",
    ]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    let created: Value = serde_json::from_slice(&ok.stdout).unwrap();
    let shown = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "client",
            "show",
            created["client_id"].as_str().unwrap(),
            "--database",
            &db,
        ])
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(
        shown["redirect_uris"],
        serde_json::json!(["https://photos.example/callback"])
    );
    assert_eq!(
        shown["post_logout_redirect_uris"],
        serde_json::json!(["https://photos.example/"])
    );
    assert_eq!(shown["first_party"], true);
    for bad in [
        vec![],
        vec!["--redirect-uri", "https://photos.example/cb#fragment"],
        vec!["--redirect-uri", "/relative/cb"],
        vec![
            "--redirect-uri",
            "https://photos.example/cb",
            "--post-logout-redirect-uri",
            "not a uri",
        ],
    ] {
        let out = run(&bad);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The login page is slowed and locked like the password grant: after
/// repeated failures even the right password is refused for a while.
#[tokio::test]
async fn login_page_locks_out_after_failures() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();
    let page = browser.get(&server, &authorize_path("first", "")).await;
    let html = text(&page);
    for _ in 0..5 {
        assert_eq!(browser.log_in(&server, &html, "ann", "wrong").await.status, 401);
    }
    let locked = browser
        .log_in(&server, &html, "ann", "correct horse battery")
        .await;
    assert_eq!(locked.status, 401);
    assert!(
        text(&locked).contains("Wrong username or password"),
        "a lock reads like a wrong password: {}",
        text(&locked)
    );
    server.stop().await;
}

/// Self-registration from the login page, when enabled: the link, the
/// sign-up form with the API's rules (weak password, duplicate name), and
/// the new user signed in and sent on with a code. Off: no link, 404.
#[tokio::test]
async fn sign_up_from_the_login_page() {
    let database = support::sqlite_url();
    let server = support::start_configured(&database, "ES256", None, |c| c.self_registration = true).await;
    let store = Store::open(&database).await.unwrap();
    seed(&store).await;

    let mut browser = Browser::default();
    let login = text(&browser.get(&server, &authorize_path("first", "")).await);
    let start = login.find("href=\"/authorize/register").unwrap() + 6;
    let link = support::browser::unescape(&login[start..start + login[start..].find('"').unwrap()]);
    assert!(link.starts_with("/authorize/register?interaction="), "{link}");
    let page = browser.get(&server, &link).await;
    assert_eq!(page.status, 200);
    let html = text(&page);
    assert!(html.contains("Create an account"));
    async fn submit(
        b: &mut Browser,
        server: &support::Running,
        html: &str,
        username: &str,
        password: &str,
    ) -> support::Response {
        let (interaction, csrf) = (field(html, "interaction"), field(html, "csrf"));
        b.post(
            server,
            "/authorize/register",
            &[
                ("interaction", &interaction),
                ("csrf", &csrf),
                ("username", username),
                ("email", "new@example.com"),
                ("password", password),
            ],
        )
        .await
    }
    let weak = submit(&mut browser, &server, &html, "newbie", "password").await;
    assert_eq!(weak.status, 400);
    assert!(text(&weak).contains("too weak"), "{}", text(&weak));
    let taken = submit(&mut browser, &server, &html, "ann", "a long new passphrase").await;
    assert_eq!(taken.status, 400);
    assert!(text(&taken).contains("already registered"));
    // Another account's email (issue 17 item 9): nothing is made; the page
    // cannot pretend to sign anyone in, so it says so (at the registration
    // rate, like a taken username).
    let (interaction, csrf) = (field(&html, "interaction"), field(&html, "csrf"));
    let email_taken = browser
        .post(
            &server,
            "/authorize/register",
            &[
                ("interaction", &interaction),
                ("csrf", &csrf),
                ("username", "newer"),
                ("email", "ann@example.com"),
                ("password", "a long new passphrase"),
            ],
        )
        .await;
    assert_eq!(email_taken.status, 400);
    assert!(
        text(&email_taken).contains("sign in instead"),
        "{}",
        text(&email_taken)
    );
    assert!(store.user_by_username("newer").await.unwrap().is_none());
    let done = submit(&mut browser, &server, &html, "newbie", "a long new passphrase").await;
    let code = redirected(&done)["code"].clone();
    let r = token(
        server.addr,
        &format!(
            "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}"
        ),
        &[("Authorization", &support::basic("first", "pw"))],
    )
    .await;
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    let info = request(
        server.addr,
        "GET",
        "/userinfo",
        &[("Authorization", &format!("Bearer {access}"))],
        b"",
    )
    .await;
    assert_eq!(info.json()["preferred_username"], "newbie");
    assert!(store.user_by_username("newbie").await.unwrap().is_some());
    server.stop().await;

    // Off by default: no link, and the page is not there.
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();
    let login = text(&browser.get(&server, &authorize_path("first", "")).await);
    assert!(!login.contains("Create an account"));
    assert_eq!(
        browser
            .get(&server, "/authorize/register?interaction=x")
            .await
            .status,
        404
    );
    server.stop().await;
}

/// Cookies: `Secure` and `__Host-` prefixed when the issuer is https (not
/// on a plain-http development issuer, where browsers would drop them);
/// always `HttpOnly` and `SameSite=Lax` (a second app's redirect carries
/// them): the SSO session, and the browser binding that interactions and
/// CSRF tokens derive from.
#[tokio::test]
async fn cookie_attributes_follow_the_issuer() {
    let database = support::sqlite_url();
    let server = support::start_node(&database, "ES256", Some("https://id.example")).await;
    let store = Store::open(&database).await.unwrap();
    seed(&store).await;
    let set_cookies = |r: &support::Response| {
        r.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.clone())
            .collect::<Vec<_>>()
    };
    let mut browser = Browser::default();
    let page = browser.get(&server, &authorize_path("first", "")).await;
    let binding = set_cookies(&page)
        .into_iter()
        .find(|c| c.starts_with("__Host-tessera_browser="))
        .unwrap();
    assert!(
        binding.contains("; HttpOnly")
            && binding.contains("SameSite=Lax")
            && binding.contains("; Secure")
            && binding.contains("Path=/")
            && !binding.contains("Domain"),
        "{binding}"
    );
    let html = text(&page);
    let done = browser
        .log_in(&server, &html, "ann", "correct horse battery")
        .await;
    assert_eq!(redirected(&done)["iss"], "https://id.example");
    let session = set_cookies(&done)
        .into_iter()
        .find(|c| c.starts_with("__Host-tessera_session="))
        .unwrap();
    assert!(
        session.contains("; HttpOnly") && session.contains("SameSite=Lax") && session.contains("; Secure"),
        "{session}"
    );
    // The device cookie of a password sign-in (issue 17 item 8).
    let device = set_cookies(&done)
        .into_iter()
        .find(|c| c.starts_with("__Host-tessera_device="))
        .unwrap();
    assert!(
        device.contains("; HttpOnly")
            && device.contains("SameSite=Strict")
            && device.contains("; Secure")
            && device.contains("Path=/")
            && !device.contains("Domain"),
        "{device}"
    );
    server.stop().await;

    // A plain-http issuer: no Secure.
    let (server, _store) = setup(&support::sqlite_url()).await;
    let page = Browser::default()
        .get(&server, &authorize_path("first", ""))
        .await;
    let binding = set_cookies(&page)
        .into_iter()
        .find(|c| c.starts_with("tessera_browser="))
        .unwrap();
    assert!(!binding.contains("Secure"), "{binding}");
    server.stop().await;
}

/// Consent is remembered per user, client and scope: the same or fewer
/// scopes skip the page (even with `prompt=none`), more scopes or
/// `prompt=consent` ask again.
#[tokio::test]
async fn consent_is_remembered_per_scope() {
    let (server, _store) = setup(&support::sqlite_url()).await;
    let mut browser = Browser::default();
    let first = sign_in(&mut browser, &server, &authorize_path("web", "")).await;
    assert!(first.contains_key("code"));
    // Same scopes, and fewer: straight back with a code, no page.
    for extra in ["&prompt=none", ""] {
        let r = browser.get(&server, &authorize_path("web", extra)).await;
        assert!(redirected(&r).contains_key("code"), "{extra}");
    }
    let fewer = authorize_path("web", "&prompt=none").replace("scope=openid+profile+email", "scope=openid");
    assert!(redirected(&browser.get(&server, &fewer).await).contains_key("code"));
    // More scopes: consent again (prompt=none cannot show it).
    let more = authorize_path("web", "").replace(
        "scope=openid+profile+email",
        "scope=openid+profile+email+offline_access",
    );
    let page = browser.get(&server, &more).await;
    assert_eq!(page.status, 200);
    assert!(text(&page).contains("Allow Photo Book?"));
    let more_none = format!("{more}&prompt=none");
    assert_eq!(
        redirected(&browser.get(&server, &more_none).await)["error"],
        "consent_required"
    );
    // prompt=consent: the page, whatever was given before.
    let page = browser
        .get(&server, &authorize_path("web", "&prompt=consent"))
        .await;
    assert_eq!(page.status, 200);
    assert!(text(&page).contains("Allow Photo Book?"));
    server.stop().await;
}

/// Issue 17, item 10: a third-party client gets a refresh token from the
/// code grant only when the user granted `offline_access` on the consent
/// page, which names it (OpenID Connect Core §11); the operator's own apps
/// get one without it, as before.
#[tokio::test]
async fn a_third_party_gets_a_refresh_token_only_with_offline_access() {
    let (server, store) = setup(&support::sqlite_url()).await;
    let mut own = client(
        "own",
        None,
        &["authorization_code", "refresh_token"],
        &["openid", "profile", "email"],
        &["api"],
    );
    own.redirect_uris = vec![CALLBACK.into()];
    own.first_party = true;
    store.create_client(&own).await.unwrap();
    let mut browser = Browser::default();

    let online = sign_in(&mut browser, &server, &authorize_path("web", "")).await;
    let r = redeem(&server, "web", &online["code"], Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(r.json()["access_token"].is_string());
    assert!(
        r.json().get("refresh_token").is_none(),
        "a third party without offline_access: {}",
        text(&r)
    );

    let offline =
        authorize_path("web", "").replace("scope=openid+profile+email", "scope=openid+offline_access");
    let page = browser.get(&server, &offline).await;
    let html = text(&page);
    assert!(
        html.contains("Stay signed in when you are away"),
        "the consent page names offline_access: {html}"
    );
    let done = browser
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
    let r = redeem(&server, "web", &redirected(&done)["code"], Some(VERIFIER)).await;
    assert_eq!(r.json()["scope"], "openid offline_access");
    let refresh_token = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let refreshed = token(
        server.addr,
        &format!("grant_type=refresh_token&client_id=web&refresh_token={refresh_token}"),
        &[],
    )
    .await;
    assert_eq!(refreshed.status, 200, "{}", text(&refreshed));
    assert!(
        refreshed.json()["refresh_token"].is_string(),
        "rotated, not ended"
    );

    // Signed in already, and no consent for the operator's own app.
    let own = redirected(&browser.get(&server, &authorize_path("own", "")).await);
    let r = redeem(&server, "own", &own["code"], Some(VERIFIER)).await;
    assert!(r.json()["refresh_token"].is_string(), "first party: {}", text(&r));
    server.stop().await;
}
