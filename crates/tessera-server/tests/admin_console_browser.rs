//! Issue 20, item 4: the admin console in a real browser. Headless
//! Chromium (`tests/browser/admin.mjs`): an administrator signs in with a
//! password and a one-time code, creates a client, disables a user and
//! reads the audit entry (or, without an audit page, the user's page
//! saying disabled); the pages fit a phone's width. Screenshots go to
//! `$TESSERA_ARTIFACTS` (copies under `docs/screenshots/issue-20/`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;

use serde_json::Value;
use tessera_jwt::UnixTime;
use tessera_server::identity::{factors, totp};
use tessera_server::store::{ClientStore, Store, UserStore};
use tessera_testkit as support;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_console_in_chromium() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let Some(chromium) = support::chromium(&dir) else {
        return;
    };
    let database = support::sqlite_url();
    let server = support::start(&database, "ES256").await;
    let store = Store::open(&database).await.unwrap();
    store
        .create_user(&support::user(
            "u-ada",
            "ada",
            "a long browser password",
            &["admin"],
        ))
        .await
        .unwrap();
    store
        .create_user(&support::user(
            "u-bob",
            "bob",
            "bob's own long password",
            &["user"],
        ))
        .await
        .unwrap();
    let master = support::master_key_of(&database);
    let now = UnixTime::now().as_secs();
    let enrollment = factors::enroll_totp(&store, &master, "u-ada", now).await.unwrap();
    let confirm = totp::code_at(&enrollment.secret, totp::step_of(now) - 1);
    assert!(factors::confirm_totp(&store, &master, "u-ada", &confirm, now)
        .await
        .unwrap());
    // The codes of the next ten minutes, by time step.
    let step = totp::step_of(now);
    let codes: serde_json::Map<String, Value> = (step..step + 20)
        .map(|s| {
            let code = totp::code_at(&enrollment.secret, s).to_string();
            (s.to_string(), Value::from(code))
        })
        .collect();
    let codes = Value::Object(codes).to_string();

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
            .args(["admin.mjs", issuer.as_str(), "ada", "a long browser password"])
            .arg(&codes)
            .arg("bob")
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
    assert_eq!(got["signed_in_as"], "Signed in as ada");
    assert_eq!(got["scripts"], 0, "no scripts");
    assert_eq!(got["secret_shown"], true);
    assert_eq!(got["client_listed"], true);
    assert_eq!(got["user_page"], "/admin/users/ID");
    assert_eq!(got["status_after"], "disabled");
    assert_eq!(got["phone_clients_fit"], true, "the clients page fits a phone");
    assert_eq!(got["phone_user_fits"], true, "the user page fits a phone");

    // What the browser did is in the store.
    let client_id = got["client_id"].as_str().unwrap();
    let made = store.client(client_id).await.unwrap().unwrap();
    assert_eq!(made.name, "Photos");
    assert_eq!(made.redirect_uris, ["https://photos.example/cb"]);
    assert!(store.user("u-bob").await.unwrap().unwrap().is_disabled());

    let mut names = vec!["admin-clients", "admin-user", "admin-phone"];
    if got.get("audit_entry").is_some() {
        assert_eq!(got["audit_entry"], true);
        names.push("admin-audit");
    }
    for name in names {
        let png = std::fs::read(artifacts.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}");
    }
    server.stop().await;
}
