//! "Continue with …" in a real browser: headless Chromium signs in to an
//! app (npm `openid-client`) at Tessera through both kinds of upstream
//! provider: a second Tessera as a real OpenID provider (its own login
//! and consent pages, at `localhost` so its cookies are its own), and a
//! fake GitHub (`tessera_testkit::fake_github`). The same GitHub person
//! signing in twice is one local user; ID tokens say `amr: ["fed"]`. A
//! screenshot of the login page with its buttons is kept as a CI artifact.
//!
//! Needs `chromium` and `npm ci` in `tests/browser` (`.ci/run` does both);
//! skipped with a message elsewhere, required under `CI`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use serde_json::Value;
use tessera_server::config::{Config, UpstreamKind};
use tessera_server::store::{ClientStore, Store, UserStore};
use tessera_testkit as support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_through_an_openid_provider_and_github() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let Some(chromium) = support::chromium(&dir) else {
        return;
    };
    // The Corp provider: another Tessera at http://localhost:PORT.
    let (up, up_store) = support::provider_tessera("a long upstream password").await;
    let up_issuer = up.issuer.clone();
    // GitHub.
    let github = support::fake_github::FakeGitHub::start("gh-client", "gh-secret").await;
    github.set_user(583231, "octocat", Some("The Octocat"), None);
    github.set_emails(vec![("octocat@github.example".into(), true, true)]);

    // The Tessera under test, with both.
    let mut corp = support::upstream("corp", UpstreamKind::Oidc, "downstream", "downstream-secret");
    corp.name = "Corp SSO".into();
    corp.issuer = Some(up_issuer.clone());
    let mut gh = support::upstream("gh", UpstreamKind::Github, "gh-client", "gh-secret");
    gh.name = "GitHub".into();
    gh.authorization_endpoint = Some(github.authorize_url());
    gh.token_endpoint = Some(github.token_url());
    gh.api_base = Some(github.base.clone());
    let database = support::sqlite_url();
    let server = support::start_configured(&database, "ES256", None, move |c: &mut Config| {
        c.upstream = vec![corp, gh];
    })
    .await;
    let store = Store::open(&database).await.unwrap();
    let mut downstream = support::client(
        "downstream",
        Some("downstream-secret"),
        &["authorization_code"],
        &["openid", "profile", "email"],
        &[],
    );
    downstream.redirect_uris = vec![format!("{}/upstream/corp/callback", server.issuer)];
    up_store.create_client(&downstream).await.unwrap();
    let app_port = support::free_port();
    let mut photos = support::client(
        "photos",
        Some("pw"),
        &["authorization_code"],
        &["openid", "profile", "email"],
        &["api"],
    );
    photos.name = "Photos".into();
    photos.redirect_uris = vec![format!("http://127.0.0.1:{app_port}/cb")];
    store.create_client(&photos).await.unwrap();

    let artifacts = std::env::var("TESSERA_ARTIFACTS").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts"),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("login-page-upstream.png");
    let _ = std::fs::remove_file(&screenshot);
    let issuer = server.issuer.clone();
    let shot = screenshot.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .current_dir(&dir)
            .env("CHROMIUM", chromium)
            .args([
                "upstream.mjs",
                issuer.as_str(),
                "alice",
                "a long upstream password",
            ])
            .arg(app_port.to_string())
            .arg(&shot)
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
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        got["corp_login_url"].as_str().unwrap().starts_with(&up_issuer),
        "{got}"
    );
    let alice_here = store.user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(got["corp"]["sub"], Value::from(alice_here.id.clone()));
    assert_eq!(got["corp"]["amr"], serde_json::json!(["fed"]));
    assert_eq!(got["corp"]["email"], "alice@corp.example");
    let octocat = store.user_by_username("octocat").await.unwrap().unwrap();
    assert_eq!(got["github"]["sub"], Value::from(octocat.id.clone()));
    assert_eq!(got["github"]["amr"], serde_json::json!(["fed"]));
    assert_eq!(got["github"]["email"], "octocat@github.example");
    assert_eq!(
        got["github_again"]["sub"], got["github"]["sub"],
        "one person, one user"
    );
    assert_ne!(got["github"]["sub"], got["corp"]["sub"]);
    assert_eq!(got["github"]["consent"], true);
    assert_eq!(
        got["github"]["link_page"], true,
        "a first sign-in asks whether the person has an account here"
    );
    assert_eq!(
        got["github_again"]["link_page"], false,
        "a linked identity signs in"
    );
    assert_eq!(
        got["github_again"]["consent"], false,
        "the same user's consent is remembered"
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a screenshot of the login page");
    server.stop().await;
    up.stop().await;
}
