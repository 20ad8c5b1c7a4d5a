//! Issue 19, items 1, 2 and 7 (the foundation): TOTP authenticators and
//! recovery codes in the store, on SQLite and PostgreSQL: enrollment
//! confirmed by one code, the secret sealed at rest, replay refused (RFC
//! 6238 §5.2), racing uses of one TOTP code or one recovery code giving
//! exactly one success, and `tessera user factors | reset-factors`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::Arc;

use tessera_server::domain::FactorKind;
use tessera_server::identity::factors::{self, FactorError};
use tessera_server::identity::totp;
use tessera_server::keys::MasterKey;
use tessera_server::store::{FactorStore, Store, UserStore};
use tessera_testkit as support;

/// A fixed time inside a step (not at its edge), far from the clock.
const NOW: i64 = 1_700_000_015;

/// Concurrent uses per trial, and trials per race.
const RACERS: usize = 8;
const TRIALS: i64 = 20;

async fn store_with_user(db: &str, id: &str, username: &str) -> Store {
    let store = Store::open(db).await.unwrap();
    store
        .create_user(&support::user(id, username, "a long test password", &[]))
        .await
        .unwrap();
    store
}

fn master() -> MasterKey {
    MasterKey::generate().unwrap().0
}

async fn enrolled_and_confirmed(store: &Store, master: &MasterKey, user_id: &str) -> totp::TotpSecret {
    let enrollment = factors::enroll_totp(store, master, user_id, NOW).await.unwrap();
    let code = totp::code_at(&enrollment.secret, totp::step_of(NOW));
    assert!(factors::confirm_totp(store, master, user_id, &code, NOW)
        .await
        .unwrap());
    enrollment.secret
}

async fn totp_lifecycle(db: &str) {
    let store = store_with_user(db, "u-ann", "ann").await;
    let master = master();

    let enrollment = factors::enroll_totp(&store, &master, "u-ann", NOW).await.unwrap();
    let secret = enrollment.secret.clone();
    let t = totp::step_of(NOW);
    let uri = enrollment.uri("localhost", "ann");
    assert!(
        uri.starts_with("otpauth://totp/localhost:ann?secret="),
        "{}",
        uri.as_str()
    );
    assert!(uri.contains(secret.base32().as_str()));

    // Sealed at rest: the row holds neither the bytes nor their base32,
    // is bound to its id, and opens only with this master key.
    let row = store.totp("u-ann").await.unwrap().unwrap();
    assert!(!row.confirmed);
    assert!(!row.secret_sealed.windows(20).any(|w| w == secret.as_bytes()));
    assert!(!row
        .secret_sealed
        .windows(8)
        .any(|w| w == &secret.base32().as_bytes()[..8]));
    assert_eq!(
        &master.open(&row.id, &row.secret_sealed).unwrap()[..],
        secret.as_bytes()
    );
    assert!(master.open("totp:other", &row.secret_sealed).is_err());
    assert!(self::master().open(&row.id, &row.secret_sealed).is_err());

    // Unconfirmed, it does not count.
    let code = totp::code_at(&secret, t);
    assert_eq!(
        factors::verify_totp(&store, &master, "u-ann", &code, NOW)
            .await
            .unwrap(),
        None
    );
    // The store itself advances an unconfirmed credential only by a
    // confirmation, and a confirmed one never by a confirmation.
    assert!(!store.advance_totp_step(&row.id, t, false).await.unwrap());
    // A wrong code does not confirm it.
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    assert!(!factors::confirm_totp(&store, &master, "u-ann", &wrong, NOW)
        .await
        .unwrap());
    assert!(!store.totp("u-ann").await.unwrap().unwrap().confirmed);
    // One valid code confirms it, and that code is spent.
    assert!(factors::confirm_totp(&store, &master, "u-ann", &code, NOW)
        .await
        .unwrap());
    let row = store.totp("u-ann").await.unwrap().unwrap();
    assert!(row.confirmed);
    assert_eq!(row.last_step, Some(t));
    assert!(!store.advance_totp_step(&row.id, t + 5, true).await.unwrap());
    assert_eq!(
        factors::verify_totp(&store, &master, "u-ann", &code, NOW)
            .await
            .unwrap(),
        None,
        "the confirming code cannot be used again"
    );
    assert!(matches!(
        factors::confirm_totp(&store, &master, "u-ann", &code, NOW).await,
        Err(FactorError::NothingToConfirm)
    ));

    // The next step's code passes once; then it and earlier ones are replays.
    let next = totp::code_at(&secret, t + 1);
    assert_eq!(
        factors::verify_totp(&store, &master, "u-ann", &next, NOW + 30)
            .await
            .unwrap(),
        Some(t + 1)
    );
    for (what, code, at) in [
        ("the same code again", next.clone(), NOW + 30),
        ("the same code a step later", next.clone(), NOW + 60),
        ("an earlier step's code", totp::code_at(&secret, t), NOW + 30),
    ] {
        assert_eq!(
            factors::verify_totp(&store, &master, "u-ann", &code, at)
                .await
                .unwrap(),
            None,
            "{what}"
        );
    }
    assert_eq!(store.totp("u-ann").await.unwrap().unwrap().last_step, Some(t + 1));
    // Another master key cannot check codes.
    assert!(factors::verify_totp(
        &store,
        &self::master(),
        "u-ann",
        &totp::code_at(&secret, t + 2),
        NOW + 60
    )
    .await
    .is_err());

    // A confirmed authenticator is not replaced by a new enrollment.
    assert!(matches!(
        factors::enroll_totp(&store, &master, "u-ann", NOW).await,
        Err(FactorError::AlreadyEnrolled)
    ));
    let listed = factors::list(&store, "u-ann").await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].kind, FactorKind::Totp { confirmed: true });
    assert!(factors::remove_totp(&store, "u-ann", &row.id).await.unwrap());
    assert!(factors::list(&store, "u-ann").await.unwrap().is_empty());

    // An unconfirmed enrollment started again replaces the first.
    let first = factors::enroll_totp(&store, &master, "u-ann", NOW).await.unwrap();
    let second = factors::enroll_totp(&store, &master, "u-ann", NOW).await.unwrap();
    assert_ne!(first.id, second.id);
    let code = totp::code_at(&first.secret, t);
    assert!(!factors::confirm_totp(&store, &master, "u-ann", &code, NOW)
        .await
        .unwrap());
}

/// RFC 6238 §5.2 under real concurrency: one code sent many times at once
/// is accepted exactly once, trial after trial.
async fn racing_uses_of_one_totp_code_give_one_success(db: &str) {
    let store = store_with_user(db, "u-bob", "bob").await;
    let master = Arc::new(master());
    let secret = enrolled_and_confirmed(&store, &master, "u-bob").await;
    for trial in 1..=TRIALS {
        let at = NOW + 30 * trial;
        let code = totp::code_at(&secret, totp::step_of(at));
        let tasks: Vec<_> = (0..RACERS)
            .map(|_| {
                let (store, master, code) = (store.clone(), master.clone(), code.clone());
                tokio::spawn(async move { factors::verify_totp(&store, &master, "u-bob", &code, at).await })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            if task.await.unwrap().unwrap().is_some() {
                won += 1;
            }
        }
        assert_eq!(won, 1, "trial {trial}");
    }
}

async fn recovery_codes(db: &str) {
    let store = store_with_user(db, "u-cat", "cat").await;
    store
        .create_user(&support::user("u-dan", "dan", "a long test password", &[]))
        .await
        .unwrap();
    let master = master();
    let codes = factors::new_recovery_codes(&store, &master, "u-cat", NOW)
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(factors::recovery_codes_left(&store, "u-cat").await.unwrap(), 10);
    let listed = factors::list(&store, "u-cat").await.unwrap();
    assert_eq!(listed[0].kind, FactorKind::RecoveryCodes { left: 10 });
    assert_eq!(listed[0].created_at, NOW);

    // Typed sloppily, it still works, once.
    let typed = codes[0].replace('-', " ").to_uppercase();
    assert!(factors::use_recovery_code(&store, &master, "u-cat", &typed)
        .await
        .unwrap());
    assert!(
        !factors::use_recovery_code(&store, &master, "u-cat", &codes[0])
            .await
            .unwrap(),
        "single use"
    );
    assert_eq!(factors::recovery_codes_left(&store, "u-cat").await.unwrap(), 9);
    // Not for another account, not with another master key, not malformed.
    assert!(!factors::use_recovery_code(&store, &master, "u-dan", &codes[1])
        .await
        .unwrap());
    assert!(
        !factors::use_recovery_code(&store, &self::master(), "u-cat", &codes[1])
            .await
            .unwrap()
    );
    for bad in ["", "abcde", "not a code at all", "abcde-1234u"] {
        assert!(
            !factors::use_recovery_code(&store, &master, "u-cat", bad)
                .await
                .unwrap(),
            "{bad:?}"
        );
    }
    assert_eq!(factors::recovery_codes_left(&store, "u-cat").await.unwrap(), 9);

    // A new set replaces the old one.
    let fresh = factors::new_recovery_codes(&store, &master, "u-cat", NOW + 1)
        .await
        .unwrap();
    assert_eq!(factors::recovery_codes_left(&store, "u-cat").await.unwrap(), 10);
    assert!(
        !factors::use_recovery_code(&store, &master, "u-cat", &codes[1])
            .await
            .unwrap(),
        "old set"
    );
    assert!(factors::use_recovery_code(&store, &master, "u-cat", &fresh[9])
        .await
        .unwrap());

    // Deleting the user deletes their factors.
    assert!(store.delete_user("u-cat", NOW).await.unwrap());
    assert_eq!(factors::recovery_codes_left(&store, "u-cat").await.unwrap(), 0);
}

/// One recovery code used many times at once: exactly one use wins.
async fn racing_uses_of_one_recovery_code_give_one_success(db: &str) {
    let store = store_with_user(db, "u-eve", "eve").await;
    let master = Arc::new(master());
    for trial in 0..TRIALS {
        let codes = factors::new_recovery_codes(&store, &master, "u-eve", NOW)
            .await
            .unwrap();
        let code = Arc::new(codes[(trial % 10) as usize].to_string());
        let tasks: Vec<_> = (0..RACERS)
            .map(|_| {
                let (store, master, code) = (store.clone(), master.clone(), code.clone());
                tokio::spawn(async move { factors::use_recovery_code(&store, &master, "u-eve", &code).await })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            if task.await.unwrap().unwrap() {
                won += 1;
            }
        }
        assert_eq!(won, 1, "trial {trial}");
        assert_eq!(factors::recovery_codes_left(&store, "u-eve").await.unwrap(), 9);
    }
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(&tessera_testkit::sqlite_url()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(url) = tessera_testkit::postgres_url().await {
                    super::$name(&url).await;
                }
            }
        }
    };
}

on_both!(totp_lifecycle);
on_both!(racing_uses_of_one_totp_code_give_one_success);
on_both!(recovery_codes);
on_both!(racing_uses_of_one_recovery_code_give_one_success);

fn tessera(args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .unwrap()
}

/// `tessera user factors` lists kinds and counts without secrets;
/// `tessera user reset-factors` removes them all, writes an audit line,
/// and ends the user's grants.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_lists_and_resets_factors() {
    let db = support::sqlite_url();
    let store = store_with_user(&db, "u-fay", "fay").await;
    let master = master();
    let secret = enrolled_and_confirmed(&store, &master, "u-fay").await;
    let codes = factors::new_recovery_codes(&store, &master, "u-fay", NOW)
        .await
        .unwrap();
    factors::use_recovery_code(&store, &master, "u-fay", &codes[0])
        .await
        .unwrap();
    // A passkey, registered through the service with a software
    // authenticator.
    let rp = tessera_server::identity::passkeys::RelyingParty::from_issuer("https://id.example", "Tessera")
        .unwrap();
    let user = tessera_server::store::UserStore::user(&store, "u-fay")
        .await
        .unwrap()
        .unwrap();
    let options = tessera_server::identity::passkeys::begin_registration(&store, &user, &rp, "cli", NOW)
        .await
        .unwrap();
    let key = tessera_testkit::webauthn::Authenticator::new(b"fay-key");
    let passkey = tessera_server::identity::passkeys::finish_registration(
        &store,
        &user,
        &rp,
        "cli",
        &key.register(&rp, &serde_json::to_value(&options).unwrap()),
        "Fay's phone",
        NOW,
    )
    .await
    .unwrap();

    let out = tessera(&["user", "factors", "fay", "--database", &db]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let listed: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let row = store.totp("u-fay").await.unwrap().unwrap();
    assert_eq!(
        listed,
        serde_json::json!([
            {"id": row.id, "kind": "totp", "confirmed": true, "created_at": NOW},
            {"id": passkey.id, "kind": "passkey", "name": "Fay's phone", "created_at": NOW, "last_used_at": null},
            {"id": "recovery:u-fay", "kind": "recovery_codes", "left": 9, "created_at": NOW},
        ])
    );
    assert!(!stdout.contains(secret.base32().as_str()));
    for code in &codes {
        assert!(!stdout.contains(code.as_str()));
    }

    let out = tessera(&["user", "reset-factors", "fay", "--database", &db]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("audit") && stderr.contains("second factors reset") && stderr.contains("u-fay"),
        "{stderr}"
    );
    assert!(factors::list(&store, "u-fay").await.unwrap().is_empty());
    let out = tessera(&["user", "factors", "fay", "--database", &db]);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap(),
        serde_json::json!([])
    );
    let out = tessera(&["user", "reset-factors", "nobody", "--database", &db]);
    assert!(!out.status.success());
}
