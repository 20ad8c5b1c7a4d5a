//! Issue 20, item 2: the mailed links in a real browser. Tessera sends to
//! a real SMTP server process (aiosmtpd, `tests/smtp/sink.py`); headless
//! Chromium (`tests/browser/email.mjs`) follows "Forgot password?" from
//! the sign-in page, opens the mailed reset link and sets a new password
//! (the other browser is signed out, and signs in with it), then asks for
//! a new address on `/account` and confirms it through the mailed
//! verification link. Screenshots of the forgot, reset and confirm pages
//! go to `$TESSERA_ARTIFACTS` (copies in docs/screenshots/issue-20/).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod smtp;

use std::path::Path;

use serde_json::{json, Value};
use tessera_server::config::SmtpSecurity;
use tessera_server::store::{Store, UserStore};
use tessera_testkit as support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mailed_links_in_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let Some(chromium) = support::chromium(&dir) else {
        return;
    };
    if !smtp::available() {
        return;
    }
    let sink = smtp::Sink::start("browser", smtp::Mode::Plain, None);
    let settings = sink.settings(SmtpSecurity::None);
    let database = support::sqlite_url();
    let server = support::start_configured(&database, "ES256", None, |c| c.smtp = Some(settings)).await;
    let store = Store::open(&database).await.unwrap();
    let mut ada = support::user("u-ada", "ada", "a long browser password", &["user"]);
    ada.email = Some("ada@example.com".into());
    ada.email_verified = true;
    store.create_user(&ada).await.unwrap();

    let artifacts = std::env::var("TESSERA_ARTIFACTS").map_or_else(
        |_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/ci-artifacts"),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&artifacts).unwrap();
    let shots = artifacts.clone();
    let issuer = server.issuer.clone();
    let mail_dir = sink.dir.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .current_dir(&dir)
            .env("CHROMIUM", chromium)
            .args([
                "email.mjs",
                issuer.as_str(),
                "ada",
                "a long browser password",
                "another long passphrase",
                "ada.new@example.com",
            ])
            .arg(&mail_dir)
            .arg(&shots)
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
            "forgot_autocomplete": "username",
            "forgot_answer": "If an account with a verified email address matches what you typed, we have sent a link to that address. It works once, for 30 minutes.",
            "reset_autocomplete": ["new-password", "new-password"],
            "laptop_signed_out": true,
            "signed_in_with_new_password": true,
            "pending": "ada.new@example.com",
            "email_while_pending": "ada@example.com",
            "confirm_address": "ada.new@example.com",
            "email_after": "ada.new@example.com verified",
            "pending_after": false,
        })
    );
    for name in ["forgot-password", "reset-password", "verify-email"] {
        let png = std::fs::read(artifacts.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}");
    }
    server.stop().await;
}
