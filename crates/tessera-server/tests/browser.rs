//! A real browser and a real relying party nobody here wrote: headless
//! Chromium (Debian's `chromium`, driven by npm `playwright-core`) signs in
//! through Tessera's pages for npm `openid-client`, which does discovery,
//! the authorization code flow with PKCE, ID token validation (signature
//! included), UserInfo, refresh, SSO on a second client and RP-initiated
//! logout. A screenshot of the login page is kept as a CI artifact
//! (`$TESSERA_ARTIFACTS`, default `target/ci-artifacts`).
//!
//! Needs `chromium` and `npm ci` in `tests/browser` (`.ci/run` does both);
//! skipped with a message elsewhere, required under `CI`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_testkit as support;

use std::path::Path;

use serde_json::Value;
use support::{client, start, user};
use tessera_server::store::{ClientStore, Store, UserStore};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_and_openid_client_sign_in() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let Some(chromium) = support::chromium(&dir) else {
        return;
    };
    // The app's port, for its redirect URIs (the script serves it).
    let app_port = support::free_port();
    let app = format!("http://127.0.0.1:{app_port}");
    let database = support::sqlite_url();
    let server = start(&database, "ES256").await;
    let store = Store::open(&database).await.unwrap();
    for (id, name, first_party) in [("photos", "Photos", false), ("portal", "Portal", true)] {
        let mut c = client(
            id,
            Some("pw"),
            &["authorization_code", "refresh_token"],
            &["openid", "profile", "email", "offline_access"],
            &["api"],
        );
        c.name = name.into();
        c.redirect_uris = vec![format!("{app}/cb")];
        c.post_logout_redirect_uris = vec![format!("{app}/bye")];
        c.first_party = first_party;
        store.create_client(&c).await.unwrap();
    }
    store
        .create_user(&user("u-ada", "ada", "a long browser password", &["user"]))
        .await
        .unwrap();

    let artifacts = std::env::var("TESSERA_ARTIFACTS").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts"),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&artifacts).unwrap();
    let screenshot = artifacts.join("login-page.png");
    let _ = std::fs::remove_file(&screenshot);
    let issuer = server.issuer.clone();
    let shot = screenshot.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .current_dir(&dir)
            .env("CHROMIUM", chromium)
            .args(["signin.mjs", issuer.as_str(), "ada", "a long browser password"])
            .arg(&shot)
            .arg(app_port.to_string())
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
    assert_eq!(got["login_title"], "Sign in · Tessera");
    assert_eq!(got["consent_shown"], true);
    assert_eq!(got["sub"], "u-ada");
    assert_eq!(got["aud"], "photos");
    assert_eq!(got["has_refresh"], true);
    assert_eq!(got["userinfo"]["preferred_username"], "ada");
    assert_eq!(got["refreshed"], true);
    assert_eq!(got["sso_sub"], "u-ada");
    assert_eq!(got["same_session"], true);
    assert_eq!(got["after_logout"], format!("{app}/bye?state=bye-1"));
    assert_eq!(got["prompt_none_after_logout"], "login_required");
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a screenshot of the login page");
    server.stop().await;
}
