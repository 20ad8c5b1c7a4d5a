//! Issue 20, item 1: the account page in a real browser. Headless
//! Chromium, npm openid-client as the app (`tests/browser/account.mjs`):
//! from `/` to "Your account", ending another browser's session (it is
//! sent to sign in, its refresh token dies), revoking an app (its refresh
//! token dies), changing the password (the other browser's refresh token
//! dies, this browser stays signed in). Screenshots of `/` and `/account`
//! go to `$TESSERA_ARTIFACTS`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use serde_json::{json, Value};
use tessera_server::store::{ClientStore, Store, UserStore};
use tessera_testkit as support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_account_page_in_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let Some(chromium) = support::chromium(&dir) else {
        return;
    };
    let database = support::sqlite_url();
    let server = support::start(&database, "ES256").await;
    let app_port = support::free_port();
    let store = Store::open(&database).await.unwrap();
    let mut photos = support::client(
        "photos",
        Some("pw"),
        &["authorization_code", "refresh_token"],
        &["openid", "profile", "offline_access"],
        &["api"],
    );
    photos.name = "Photos".into();
    photos.redirect_uris = vec![format!("http://127.0.0.1:{app_port}/cb")];
    store.create_client(&photos).await.unwrap();
    store
        .create_user(&support::user(
            "u-ada",
            "ada",
            "a long browser password",
            &["user"],
        ))
        .await
        .unwrap();

    let artifacts = std::env::var("TESSERA_ARTIFACTS").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts"),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&artifacts).unwrap();
    let shots = artifacts.clone();
    let issuer = server.issuer.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .current_dir(&dir)
            .env("CHROMIUM", chromium)
            .args([
                "account.mjs",
                issuer.as_str(),
                "ada",
                "a long browser password",
                "another long passphrase",
            ])
            .arg(&shots)
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
    eprintln!("{got:#}");
    assert_eq!(
        got,
        json!({
            "phone_refreshes": true,
            "home_links_discovery": true,
            "sessions_listed": 2,
            "photos_listed": true,
            "phone_asked_to_sign_in": true,
            "phone_token_after_session_end": null,
            "photos_listed_after_revoke": false,
            "phone_token_after_revoke": null,
            "current_autocomplete": "current-password",
            "new_autocomplete": "new-password",
            "phone_token_after_password_change": null,
            "laptop_still_signed_in": true,
        })
    );
    for name in [
        "home",
        "account-page",
        "account-session-ended",
        "account-app-revoked",
        "account-password",
        "account-password-changed",
    ] {
        let png = std::fs::read(artifacts.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}");
    }
    server.stop().await;
}
