//! Issue 19: passkeys in a real browser. Headless Chromium with the
//! DevTools `WebAuthn` domain's virtual authenticator (CTAP2, internal
//! transport, resident keys, user verification) and npm openid-client as
//! the app (`tests/browser/passkey.mjs`):
//!
//! - the account page: sign in, add an authenticator app (TOTP through the
//!   pages, recovery codes shown), add a passkey;
//! - passwordless sign-in through conditional UI (the username field's
//!   autofill, `autocomplete="username webauthn"`): `acr` `phr`, `amr`
//!   `hwk` and `mfa`;
//! - the passkey as the second factor after a password: `acr` `phr`;
//! - a failed user verification signs nobody in.
//!
//! The issuer is `http://localhost:PORT`: WebAuthn refuses IP addresses
//! as relying-party IDs, and `localhost` is a secure context. Screenshots
//! of the pages go to `$TESSERA_ARTIFACTS`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::path::Path;

use serde_json::{json, Value};
use tessera_server::store::{ClientStore, Store, UserStore};
use tessera_testkit as support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn passkeys_in_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let Some(chromium) = support::chromium(&dir) else {
        return;
    };
    let port = support::free_port();
    let issuer = format!("http://localhost:{port}");
    let database = support::sqlite_url();
    let server = support::start_at(
        Some(SocketAddr::from(([127, 0, 0, 1], port))),
        &database,
        "ES256",
        Some(&issuer),
        |_| {},
    )
    .await;
    let app_port = support::free_port();
    let app = format!("http://127.0.0.1:{app_port}");
    let store = Store::open(&database).await.unwrap();
    let mut photos = support::client(
        "photos",
        Some("pw"),
        &["authorization_code"],
        &["openid", "profile"],
        &["api"],
    );
    photos.name = "Photos".into();
    photos.redirect_uris = vec![format!("{app}/cb")];
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
    let issuer_arg = issuer.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .current_dir(&dir)
            .env("CHROMIUM", chromium)
            .args([
                "passkey.mjs",
                issuer_arg.as_str(),
                "ada",
                "a long browser password",
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
    assert_eq!(got["login_has_webauthn_autocomplete"], true);
    assert_eq!(
        got["otpauth_uri"].as_str().unwrap().split('?').next(),
        Some("otpauth://totp/localhost:ada")
    );
    assert_eq!(got["recovery_codes"], 10);
    assert_eq!(got["passkey_listed"], true);
    assert_eq!(got["resident_credentials"], 1);
    assert_eq!(got["conditional_ui"], true, "passwordless through the autofill");
    assert_eq!(
        got["passwordless"],
        json!({"sub": "u-ada", "acr": "phr", "amr": ["hwk", "mfa"]})
    );
    assert_eq!(got["second_factor_page_has_code"], true);
    assert_eq!(
        got["second_factor"],
        json!({"sub": "u-ada", "acr": "phr", "amr": ["pwd", "hwk", "mfa"]})
    );
    assert_eq!(got["uv_failed_still_on_sign_in"], true);
    for name in [
        "sign-in-page",
        "totp-enrollment",
        "recovery-codes",
        "add-passkey",
        "account-passkeys",
        "second-factor-page",
    ] {
        let png = std::fs::read(artifacts.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}");
    }
    server.stop().await;
}
