//! Pushed authorization requests ([RFC 9126]) over real HTTP: the push
//! (client authentication, the authorization request's rules, 201), the
//! front channel (`client_id` and `request_uri`, everything else ignored),
//! single use when the sign-in completes (not when the page is shown),
//! and what is refused.
//!
//! [RFC 9126]: https://www.rfc-editor.org/rfc/rfc9126

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use tessera_testkit as support;

use support::browser::{redeem, setup, sign_in, text, Browser, CHALLENGE, VERIFIER};
use support::{basic, request};

/// The authorization request's parameters, as a form.
fn pushed_form(client_id: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
         &scope=openid+profile&state=st-1&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    )
}

async fn push(addr: std::net::SocketAddr, form: &str, auth: Option<&str>) -> support::Response {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    if let Some(auth) = auth {
        headers.push(("Authorization", auth));
    }
    request(addr, "POST", "/par", &headers, form.as_bytes()).await
}

fn front_channel(client_id: &str, request_uri: &str, extra: &str) -> String {
    let uri: String = form_urlencoded::byte_serialize(request_uri.as_bytes()).collect();
    format!("/authorize?client_id={client_id}&request_uri={uri}{extra}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_9126_pushed_authorization_requests() {
    let db = support::sqlite_url();
    let (server, _store) = setup(&db).await;
    let addr = server.addr;

    // §2.2: a public client pushes (with PKCE); 201, never cached.
    let r = push(addr, &pushed_form("web", ""), None).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let body = r.json();
    let request_uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(
        request_uri.starts_with("urn:ietf:params:oauth:request_uri:"),
        "{request_uri}"
    );
    assert_eq!(body["expires_in"], 90);

    // §4: the front channel names the pushed request; its other parameters
    // are ignored (the state that comes back is the pushed one). Showing
    // the page twice does not spend it.
    let mut browser = Browser::default();
    let path = front_channel("web", &request_uri, "&state=forged&scope=openid+email");
    let first_look = browser.get(&server, &path).await;
    assert_eq!(first_look.status, 200, "{}", text(&first_look));
    let done = sign_in(&mut browser, &server, &path).await;
    assert_eq!(done["state"], "st-1");
    let r = redeem(&server, "web", &done["code"], Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["scope"], "openid profile");

    // Used up by the completed sign-in.
    let again = Browser::default().get(&server, &path).await;
    assert_eq!(again.status, 400);
    assert!(text(&again).contains("request_uri"), "{}", text(&again));

    // Another client's request_uri names nothing.
    let r = push(addr, &pushed_form("web", ""), None).await;
    let other_uri = r.json()["request_uri"].as_str().unwrap().to_owned();
    let r = Browser::default()
        .get(&server, &front_channel("first", &other_uri, ""))
        .await;
    assert_eq!(r.status, 400);
    // An unknown one neither.
    let r = Browser::default()
        .get(
            &server,
            &front_channel("web", "urn:ietf:params:oauth:request_uri:nope", ""),
        )
        .await;
    assert_eq!(r.status, 400);

    // A confidential client authenticates (Basic), and may push without PKCE.
    let confidential = pushed_form("first", "").replace(
        &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
        "",
    );
    let r = push(addr, &confidential, Some(&basic("first", "pw"))).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));

    // Refusals, as JSON (§2.3).
    let refused: Vec<(&str, String, Option<String>, u16, &str)> = vec![
        (
            "a wrong secret",
            confidential.clone(),
            Some(basic("first", "nope")),
            401,
            "invalid_client",
        ),
        (
            "a public client without PKCE",
            pushed_form("web", "")
                .replace(&format!("&code_challenge={CHALLENGE}"), "")
                .replace("&code_challenge_method=S256", ""),
            None,
            400,
            "invalid_request",
        ),
        (
            "request_uri pushed",
            pushed_form("web", "&request_uri=urn%3Ax"),
            None,
            400,
            "invalid_request",
        ),
        (
            "a scope beyond the client's",
            pushed_form("web", "").replace("scope=openid+profile", "scope=admin"),
            None,
            400,
            "invalid_scope",
        ),
        (
            "an unregistered redirect URI",
            pushed_form("web", "").replace("app.example", "evil.example"),
            None,
            400,
            "invalid_request",
        ),
        (
            "a repeated parameter",
            pushed_form("web", "&state=again"),
            None,
            400,
            "invalid_request",
        ),
    ];
    for (name, form, auth, status, error) in refused {
        let r = push(addr, &form, auth.as_deref()).await;
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (status, Some(error)),
            "{name}: {}",
            String::from_utf8_lossy(&r.body)
        );
    }

    // Discovery names the endpoint (§5).
    let doc = request(addr, "GET", "/.well-known/oauth-authorization-server", &[], b"")
        .await
        .json();
    assert_eq!(
        doc["pushed_authorization_request_endpoint"],
        format!("{}/par", server.issuer)
    );
}

/// §4's single use under real concurrency: two browsers sign in from one
/// `request_uri` at the same time; exactly one gets a code.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_sign_ins_from_one_request_uri_complete_once() {
    let db = support::sqlite_url();
    let (server, _store) = setup(&db).await;
    let server = std::sync::Arc::new(server);
    for trial in 0..3 {
        let confidential = pushed_form("first", "");
        let r = push(server.addr, &confidential, Some(&basic("first", "pw"))).await;
        let request_uri = r.json()["request_uri"].as_str().unwrap().to_owned();
        let path = front_channel("first", &request_uri, "");
        // Both browsers reach the sign-in page first.
        let mut pages = Vec::new();
        for _ in 0..2 {
            let mut browser = Browser::default();
            let page = browser.get(&*server, &path).await;
            assert_eq!(page.status, 200, "trial {trial}");
            pages.push((browser, text(&page)));
        }
        let mut tasks = Vec::new();
        for (mut browser, html) in pages {
            let server = server.clone();
            tasks.push(tokio::spawn(async move {
                browser
                    .log_in(&*server, &html, "ann", "correct horse battery")
                    .await
                    .status
            }));
        }
        let mut statuses = Vec::new();
        for t in tasks {
            statuses.push(t.await.unwrap());
        }
        let codes = statuses.iter().filter(|s| **s == 303).count();
        assert_eq!(codes, 1, "trial {trial}: {statuses:?}");
    }
}

/// RFC 9126 §5: with `require_pushed_authorization_requests`, plain
/// parameters at `/authorize` are refused (to the client: it and its
/// redirect URI are known), a pushed request works, and discovery says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pushed_requests_may_be_required() {
    let db = support::sqlite_url();
    let server = support::start_configured(&db, "ES256", None, |c| {
        c.require_pushed_authorization_requests = true;
    })
    .await;
    let store = tessera_server::store::Store::open(&db).await.unwrap();
    support::browser::seed(&store).await;
    let mut browser = Browser::default();
    let plain = browser
        .get(&server, &support::browser::authorize_path("web", ""))
        .await;
    assert_eq!(plain.status, 303, "{}", text(&plain));
    let back = support::browser::redirected(&plain);
    assert_eq!(back["error"], "invalid_request");
    assert_eq!(back["state"], "st-1");
    let r = push(server.addr, &pushed_form("web", ""), None).await;
    let request_uri = r.json()["request_uri"].as_str().unwrap().to_owned();
    let done = sign_in(&mut browser, &server, &front_channel("web", &request_uri, "")).await;
    assert!(done.contains_key("code"), "{done:?}");
    let doc = request(server.addr, "GET", "/.well-known/openid-configuration", &[], b"")
        .await
        .json();
    assert_eq!(doc["require_pushed_authorization_requests"], true);
}

/// A real client library nobody here wrote: npm openid-client pushes the
/// request (`buildAuthorizationUrlWithPAR`, authenticated with the secret)
/// and gets back the URL to send the browser to; signing in through it
/// gives a code that redeems.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_pushes_its_request() {
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        scripts.join("node_modules/openid-client").exists(),
        "run `npm ci` in {} (.ci/run does)",
        scripts.display()
    );
    let db = support::sqlite_url();
    let (server, _store) = setup(&db).await;
    let issuer = server.issuer.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .current_dir(&scripts)
            .args([
                "par.mjs",
                &issuer,
                "first",
                "pw",
                support::browser::CALLBACK,
                CHALLENGE,
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let url = got["url"].as_str().unwrap();
    let path = url.strip_prefix(server.issuer.as_str()).unwrap();
    let query: std::collections::HashMap<String, String> =
        form_urlencoded::parse(path.split_once('?').unwrap().1.as_bytes())
            .into_owned()
            .collect();
    assert!(
        query["request_uri"].starts_with("urn:ietf:params:oauth:request_uri:"),
        "{url}"
    );
    assert!(
        !query.contains_key("scope"),
        "the parameters stay out of the URL: {url}"
    );
    let mut browser = Browser::default();
    let done = sign_in(&mut browser, &server, path).await;
    assert_eq!(done["state"], "st-1");
    let form = format!(
        "grant_type=authorization_code&code={}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb&code_verifier={VERIFIER}",
        done["code"]
    );
    let r = support::token(server.addr, &form, &[("Authorization", &basic("first", "pw"))]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

/// RFC 9126 §6 per client (`tessera client create --require-par`): that
/// client's plain parameters are refused; other clients are not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_may_require_pushed_requests() {
    let db = support::sqlite_url();
    let (server, store) = setup(&db).await;
    let mut strict = support::client(
        "strict",
        None,
        &["authorization_code"],
        &["openid", "profile", "email"],
        &[],
    );
    strict.redirect_uris = vec![support::browser::CALLBACK.into()];
    strict.require_par = true;
    tessera_server::store::ClientStore::create_client(&store, &strict)
        .await
        .unwrap();
    let plain = Browser::default()
        .get(&server, &support::browser::authorize_path("strict", ""))
        .await;
    assert_eq!(plain.status, 303, "{}", text(&plain));
    assert_eq!(support::browser::redirected(&plain)["error"], "invalid_request");
    let other = Browser::default()
        .get(&server, &support::browser::authorize_path("web", ""))
        .await;
    assert_eq!(other.status, 200, "another client is not affected");
    let r = push(server.addr, &pushed_form("strict", ""), None).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let request_uri = r.json()["request_uri"].as_str().unwrap().to_owned();
    let mut browser = Browser::default();
    let page = browser
        .get(&server, &front_channel("strict", &request_uri, ""))
        .await;
    assert_eq!(page.status, 200, "{}", text(&page));

    // The CLI flag registers it, and `client show` says so.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "client",
            "create",
            "--name",
            "cli",
            "--grant-type",
            "authorization_code",
        ])
        .args([
            "--redirect-uri",
            "https://app.example/cb",
            "--public",
            "--require-par",
            "--database",
            &db,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let client = tessera_server::store::ClientStore::client(&store, created["client_id"].as_str().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(client.require_par);
}
