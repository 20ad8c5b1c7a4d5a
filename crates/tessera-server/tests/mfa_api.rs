//! Issue 19, item 5 ("no bypass"), the non-browser half: a user with a
//! second factor gets no token on a password alone, neither from the
//! password grant nor from `POST /api/v1/login`, whose second step
//! `POST /api/v1/login/mfa` takes a one-time or recovery code with an
//! mfa_token that is single use, short-lived, bound to the first step and
//! stored hashed. On SQLite and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)] // tests fail by panicking

use std::net::SocketAddr;

use serde_json::{json, Value};
use tessera_jwt::UnixTime;
use tessera_server::clients::authentication::hash_secret;
use tessera_server::identity::{factors, totp};
use tessera_server::keys::MasterKey;
use tessera_server::store::{ClientStore, MfaToken, MfaTokenStore, PruneStore, Store, UserStore};
use tessera_testkit as support;

const PASSWORD: &str = "dora's long password";

/// Concurrent uses of one mfa_token per trial, and trials.
const RACERS: usize = 4;
const TRIALS: usize = 8;

/// A running server; `dora` (u-dora) has a confirmed authenticator and
/// recovery codes, `eve` (u-eve) has neither; the public clients `app`
/// (password and refresh grants, refresh cookie) and `other`.
struct Env {
    server: support::Running,
    store: Store,
    master: MasterKey,
    secret: totp::TotpSecret,
    recovery: Vec<String>,
}

/// The master key the server loaded: its own file beside a SQLite
/// database, the test kit's shared file for PostgreSQL.
fn server_master_key(db: &str) -> MasterKey {
    let path = match tessera_server::store::sqlite_path(db) {
        Some(file) => std::path::Path::new(file).parent().unwrap().join("master.key"),
        None => std::env::temp_dir().join(format!("tessera-test-master-{}.key", std::process::id())),
    };
    MasterKey::from_base64url(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn setup(db: &str) -> Env {
    let server = support::start(db, "ES256").await;
    let store = Store::open(db).await.unwrap();
    let mut app = support::client(
        "app",
        None,
        &["password", "refresh_token"],
        &["openid", "email"],
        &[],
    );
    app.refresh_cookie = true;
    store.create_client(&app).await.unwrap();
    let other = support::client("other", None, &["password"], &["openid"], &[]);
    store.create_client(&other).await.unwrap();
    for (id, name) in [("u-dora", "dora"), ("u-eve", "eve")] {
        store
            .create_user(&support::user(id, name, PASSWORD, &[]))
            .await
            .unwrap();
    }
    let master = server_master_key(db);
    let now = UnixTime::now().as_secs();
    let enrollment = factors::enroll_totp(&store, &master, "u-dora", now)
        .await
        .unwrap();
    // Confirmed with the code of the step before, so the current step's
    // code is still fresh for the test.
    let code = totp::code_at(&enrollment.secret, totp::step_of(now) - 1);
    assert!(factors::confirm_totp(&store, &master, "u-dora", &code, now)
        .await
        .unwrap());
    let recovery = factors::new_recovery_codes(&store, &master, "u-dora", now)
        .await
        .unwrap()
        .iter()
        .map(|c| c.as_str().to_owned())
        .collect();
    Env {
        server,
        store,
        master,
        secret: enrollment.secret,
        recovery,
    }
}

async fn post(addr: SocketAddr, path: &str, body: &Value) -> support::Response {
    support::request(
        addr,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await
}

async fn login(addr: SocketAddr, username: &str, password: &str) -> support::Response {
    post(
        addr,
        "/api/v1/login",
        &json!({"client_id": "app", "username": username, "password": password, "scope": "openid email"}),
    )
    .await
}

/// dora's first step: 401 `mfa_required` with a token, and nothing else.
async fn first_step(addr: SocketAddr) -> String {
    let r = login(addr, "dora", PASSWORD).await;
    assert_eq!(r.status, 401, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["error"], "mfa_required");
    assert!(body.get("access_token").is_none(), "{body}");
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert!(r.header("authorization").is_none());
    assert!(
        r.header("set-cookie").is_none(),
        "no cookie before the second step"
    );
    body["mfa_token"].as_str().unwrap().to_owned()
}

async fn second_step(addr: SocketAddr, mfa_token: &str, code: &str) -> support::Response {
    post(
        addr,
        "/api/v1/login/mfa",
        &json!({"mfa_token": mfa_token, "code": code}),
    )
    .await
}

fn assert_invalid_grant(r: &support::Response, what: &str) {
    assert_eq!(r.status, 400, "{what}: {}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"], "invalid_grant", "{what}");
    assert!(r.json().get("access_token").is_none(), "{what}");
}

fn current_code(secret: &totp::TotpSecret) -> String {
    totp::code_at(secret, totp::step_of(UnixTime::now().as_secs()))
        .as_str()
        .to_owned()
}

/// The password grant has no second step: dora's right password gets
/// `invalid_grant` saying where to go; her wrong password the usual
/// answer; eve (no factor) her tokens.
async fn password_grant_refuses_a_second_factor_user(db: &str) {
    let env = setup(db).await;
    let addr = env.server.addr;
    let grant = |user: &str, password: &str| {
        format!(
            "grant_type=password&client_id=app&username={user}&password={}",
            password.replace(' ', "%20").replace('\'', "%27")
        )
    };
    let r = support::token(addr, &grant("dora", PASSWORD), &[]).await;
    assert_invalid_grant(&r, "dora's right password");
    let description = r.json()["error_description"].as_str().unwrap().to_owned();
    assert!(description.contains("authorization code flow"), "{description}");
    assert!(description.contains("/api/v1/login"), "{description}");

    let r = support::token(addr, &grant("dora", "not her password"), &[]).await;
    assert_invalid_grant(&r, "dora's wrong password");
    assert_eq!(r.json()["error_description"], "invalid username or password");

    let r = support::token(addr, &grant("eve", PASSWORD), &[]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
}

/// login → mfa_required → a TOTP code computed here → the tokens, as
/// `/api/v1/login` gives them (Bearer header, refresh cookie); the same
/// code again is a replay; a recovery code works once.
async fn login_with_totp_then_recovery_code(db: &str) {
    let env = setup(db).await;
    let addr = env.server.addr;

    // A user without a second factor still logs in in one step.
    let r = login(addr, "eve", PASSWORD).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    let mfa_token = first_step(addr).await;
    let code = current_code(&env.secret);
    let r = second_step(addr, &mfa_token, &code).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {access}").as_str())
    );
    assert!(
        body.get("refresh_token").is_none(),
        "a cookie client's refresh token is in the cookie"
    );
    let cookies: Vec<&str> = r
        .headers
        .iter()
        .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|c| c.contains("HttpOnly") && c.contains("refresh")),
        "{cookies:?}"
    );
    let me = support::request(
        addr,
        "GET",
        "/api/v1/me",
        &[("Authorization", &format!("Bearer {access}"))],
        b"",
    )
    .await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["sub"], "u-dora");

    // The same code again: a replay (RFC 6238 §5.2).
    let mfa_token = first_step(addr).await;
    assert_invalid_grant(&second_step(addr, &mfa_token, &code).await, "replayed TOTP code");

    // The token survives a wrong code: a recovery code completes it, once.
    let r = second_step(addr, &mfa_token, &env.recovery[0]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        factors::recovery_codes_left(&env.store, "u-dora").await.unwrap(),
        9
    );
    let mfa_token = first_step(addr).await;
    assert_invalid_grant(
        &second_step(addr, &mfa_token, &env.recovery[0]).await,
        "a used recovery code",
    );
}

/// Five wrong codes count like five wrong passwords: the account locks
/// (its right password is refused), and the mfa_token is dead.
async fn wrong_codes_lock_the_account(db: &str) {
    let env = setup(db).await;
    let addr = env.server.addr;
    let mfa_token = first_step(addr).await;
    let right = current_code(&env.secret);
    let wrong = wrong_code(&env.secret);
    for n in 0..5 {
        assert_invalid_grant(
            &second_step(addr, &mfa_token, &wrong).await,
            &format!("wrong code {n}"),
        );
    }
    let user = env.store.user("u-dora").await.unwrap().unwrap();
    assert!(user.failed_logins >= 5, "{}", user.failed_logins);
    assert_invalid_grant(
        &second_step(addr, &mfa_token, &right).await,
        "the right code on a token after five wrong ones",
    );
    let r = login(addr, "dora", PASSWORD).await;
    assert_invalid_grant(&r, "the right password on a locked account");
    assert!(r.json().get("mfa_token").is_none());
}

/// A correct password does not reset the count of wrong codes (only a
/// completed sign-in does): wrong codes spread over fresh logins still
/// lock the account.
async fn a_right_password_does_not_reset_the_count_of_wrong_codes(db: &str) {
    let env = setup(db).await;
    let addr = env.server.addr;
    let wrong = wrong_code(&env.secret);
    let first = first_step(addr).await;
    for _ in 0..2 {
        assert_invalid_grant(&second_step(addr, &first, &wrong).await, "wrong code");
    }
    let again = first_step(addr).await;
    assert_invalid_grant(&second_step(addr, &again, &wrong).await, "wrong code");
    let r = login(addr, "dora", PASSWORD).await;
    assert_invalid_grant(&r, "the right password after wrong codes over two logins");

    // A completed sign-in clears the count (dora is locked above: on a
    // fresh database).
    let env = setup(&support_db(db).await).await;
    let addr = env.server.addr;
    let token = first_step(addr).await;
    assert_invalid_grant(
        &second_step(addr, &token, &wrong_code(&env.secret)).await,
        "wrong code",
    );
    let r = second_step(addr, &token, &current_code(&env.secret)).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let user = env.store.user("u-dora").await.unwrap().unwrap();
    assert_eq!(user.failed_logins, 0);
}

/// A fresh database of the same kind as `db`.
async fn support_db(db: &str) -> String {
    if db.starts_with("postgres") {
        tessera_testkit::postgres_url().await.unwrap()
    } else {
        tessera_testkit::sqlite_url()
    }
}

/// A code no step near now accepts.
fn wrong_code(secret: &totp::TotpSecret) -> String {
    let step = totp::step_of(UnixTime::now().as_secs());
    let near: Vec<String> = (step - 2..=step + 2)
        .map(|s| totp::code_at(secret, s).as_str().to_owned())
        .collect();
    ["000000", "111111", "222222", "333333", "444444", "555555"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap()
        .to_owned()
}

/// The mfa_token is stored as its SHA-256, expires after five minutes,
/// works once, and only for the client of the first step; a refused
/// token spends no code.
async fn mfa_token_is_hashed_bound_expiring_and_single_use(db: &str) {
    let env = setup(db).await;
    let addr = env.server.addr;
    let now = UnixTime::now().as_secs();

    let mfa_token = first_step(addr).await;
    let stored = env
        .store
        .mfa_token(&hash_secret(&mfa_token), now)
        .await
        .unwrap()
        .expect("stored under its SHA-256");
    assert_eq!(
        (stored.user_id.as_str(), stored.client_id.as_str()),
        ("u-dora", "app")
    );
    assert!(
        (295..=305).contains(&(stored.expires_at - now)),
        "{}",
        stored.expires_at - now
    );
    assert!(env
        .store
        .mfa_token(mfa_token.as_bytes(), now)
        .await
        .unwrap()
        .is_none());

    // Another client's: refused, and the token still works for its own.
    let r = post(
        addr,
        "/api/v1/login/mfa",
        &json!({"mfa_token": mfa_token, "code": env.recovery[1], "client_id": "other"}),
    )
    .await;
    assert_invalid_grant(&r, "another client's mfa_token");
    assert_eq!(
        factors::recovery_codes_left(&env.store, "u-dora").await.unwrap(),
        10
    );
    let r = second_step(addr, &mfa_token, &env.recovery[1]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));

    // Used: refused before any code is checked.
    let r = second_step(addr, &mfa_token, &env.recovery[2]).await;
    assert_invalid_grant(&r, "a used mfa_token");
    assert_eq!(
        factors::recovery_codes_left(&env.store, "u-dora").await.unwrap(),
        9
    );

    // Expired, and unknown.
    let expired = "an-expired-mfa-token";
    env.store
        .create_mfa_token(
            &hash_secret(expired),
            &MfaToken {
                user_id: "u-dora".into(),
                client_id: "app".into(),
                scope: None,
                expires_at: now - 1,
            },
        )
        .await
        .unwrap();
    assert_invalid_grant(
        &second_step(addr, expired, &env.recovery[2]).await,
        "an expired mfa_token",
    );
    assert_invalid_grant(
        &second_step(addr, "no-such-token", &env.recovery[2]).await,
        "an unknown mfa_token",
    );
    assert_eq!(
        factors::recovery_codes_left(&env.store, "u-dora").await.unwrap(),
        9
    );

    // Expired tokens are pruned.
    let pruned = env.store.prune(now, 1000, 600).await.unwrap();
    assert_eq!(pruned.mfa_tokens, 1);
}

/// Racing uses of one mfa_token, each with a different good recovery
/// code: exactly one gets tokens, every trial.
async fn racing_uses_of_one_mfa_token_one_wins(db: &str) {
    let env = setup(db).await;
    let addr = env.server.addr;
    for trial in 0..TRIALS {
        let codes = factors::new_recovery_codes(&env.store, &env.master, "u-dora", UnixTime::now().as_secs())
            .await
            .unwrap();
        let mfa_token = first_step(addr).await;
        let racers: Vec<_> = codes
            .iter()
            .take(RACERS)
            .map(|code| {
                let (mfa_token, code) = (mfa_token.clone(), code.as_str().to_owned());
                tokio::spawn(async move { second_step(addr, &mfa_token, &code).await.status })
            })
            .collect();
        let mut won = 0;
        for racer in racers {
            match racer.await.unwrap() {
                200 => won += 1,
                400 => {}
                other => panic!("trial {trial}: status {other}"),
            }
        }
        assert_eq!(won, 1, "trial {trial}");
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

on_both!(password_grant_refuses_a_second_factor_user);
on_both!(login_with_totp_then_recovery_code);
on_both!(wrong_codes_lock_the_account);
on_both!(a_right_password_does_not_reset_the_count_of_wrong_codes);
on_both!(mfa_token_is_hashed_bound_expiring_and_single_use);
on_both!(racing_uses_of_one_mfa_token_one_wins);
