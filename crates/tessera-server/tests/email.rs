//! Issue 20, item 2: email, against a real SMTP server process (aiosmtpd,
//! `tests/smtp/sink.py`) started by the test.
//!
//! - Transport: `security = "none"`, `"starttls"` and `"tls"` (a throwaway
//!   certificate trusted through `ca_file`), SMTP AUTH from a
//!   `password_file`; a certificate nobody vouches for is refused (no mail,
//!   the page answers the same); `mail_dir` writes `.eml` files.
//! - Messages: text and HTML, the issuer's name and URL, links from the
//!   issuer URL.
//! - Verification: registration mails a link; its `GET` does not spend it;
//!   the `POST` verifies once (single use); a forged token and an expired
//!   link do nothing; only the token's SHA-256 is stored.
//! - Email change from `/account`: CSRF and a fresh sign-in needed;
//!   pending until verified (ID tokens carry the old address until then);
//!   another account's address gets the same answer and no mail; the
//!   address taken meanwhile is refused at verification; racing
//!   confirmations of one address (any case) verify exactly one.
//! - Forgot password: one answer (status and body) for an account, none,
//!   an unverified address and throttled requests (per account, per client
//!   address); the link is single use, expires, refuses weak passwords
//!   without being spent, and the reset ends every session and refresh
//!   family and spends the other reset links.
//!
//! Every database test runs on SQLite and PostgreSQL.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod smtp;

use smtp::{settled, wait_for, Mode, Sink};
use tessera_jwt::UnixTime;
use tessera_server::config::SmtpSecurity;
use tessera_server::identity::email::{token_hash, RESETS_PER_ACCOUNT, RESETS_PER_ADDRESS, VERIFY_FOR};
use tessera_server::identity::users::{self, NewUser};
use tessera_server::store::{
    Confirmed, EmailToken, EmailTokenStore, Purpose, SessionStore, Store, UserStore,
};
use tessera_testkit as support;

use support::account::{location, sign_in_to_account};
use support::browser::{authorize_path, field, redeem, seed, sign_in, text, Browser, VERIFIER};
use support::Running;

fn now() -> i64 {
    UnixTime::now().as_secs()
}

const PASSPHRASE: &str = "a long enough passphrase";

/// A server (self-registration on) mailing through `sink`, its store, seeded.
async fn server_for(database: &str, sink: &Sink, security: SmtpSecurity) -> (Running, Store) {
    let settings = sink.settings(security);
    let server = support::start_configured(database, "ES256", None, |c| {
        c.self_registration = true;
        c.smtp = Some(settings);
    })
    .await;
    let store = Store::open(database).await.unwrap();
    seed(&store).await;
    (server, store)
}

/// `POST /api/v1/users`.
async fn register(server: &Running, username: &str, email: &str) -> support::Response {
    let body = serde_json::json!({"username": username, "password": PASSPHRASE, "email": email});
    support::request(
        server.addr,
        "POST",
        "/api/v1/users",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await
}

/// Runs `sql` with one bind.
async fn sql(store_url: &str, query: &'static str, bind: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(store_url).await.unwrap();
    sqlx::query(query)
        .bind(bind.to_owned())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// Gives `user_id` a verified `email` (set up outside the flows).
async fn verified(database: &str, user_id: &str, email: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database).await.unwrap();
    sqlx::query("UPDATE users SET email = $1, email_verified = 1 WHERE id = $2")
        .bind(email.to_owned())
        .bind(user_id.to_owned())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

/// Moves every live link of `user_id` past its expiry.
async fn expire_links(database: &str, user_id: &str) {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database).await.unwrap();
    sqlx::query("UPDATE email_tokens SET expires_at = $1 WHERE user_id = $2")
        .bind(now() - 1)
        .bind(user_id.to_owned())
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
}

async fn user(store: &Store, username: &str) -> tessera_server::domain::User {
    store.user_by_username(username).await.unwrap().unwrap()
}

/// The claims of the ID token Photo Book gets for ann now (a new sign-in).
async fn id_token_claims(server: &Running) -> serde_json::Value {
    let redirect = sign_in(&mut Browser::default(), server, &authorize_path("web", "")).await;
    let r = redeem(server, "web", &redirect["code"], Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let id_token = r.json()["id_token"].as_str().unwrap().to_owned();
    let payload = id_token.split('.').nth(1).unwrap();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// POSTs a mailed link's token.
async fn post_token(server: &Running, path: &str, form: &[(&str, &str)]) -> support::Response {
    Browser::default().post(server, path, form).await
}

async fn verification(database: &str) {
    let sink = Sink::start(&format!("verify-{}", database.len()), Mode::Plain, None);
    let (server, store) = server_for(database, &sink, SmtpSecurity::None).await;

    let r = register(&server, "zoe", "zoe@example.com").await;
    assert_eq!(r.status, 201, "{}", text(&r));
    let mail = wait_for(&sink.dir, 1).await.remove(0);
    assert!(smtp::to(&mail).contains("zoe@example.com"), "{mail}");
    assert!(mail.contains("multipart/alternative"), "{mail}");
    assert!(
        mail.contains("text/plain") && mail.contains("text/html"),
        "{mail}"
    );
    assert!(mail.contains("Example ID"), "the issuer's name: {mail}");
    let token = smtp::token(&mail, "/email/verify");
    assert!(
        mail.contains(&format!("{}/email/verify?token={token}", server.issuer)),
        "the link is built from the issuer URL: {mail}"
    );
    assert!(!user(&store, "zoe").await.email_verified);

    // Only the token's SHA-256 is stored.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(database).await.unwrap();
    let count = |hash: Vec<u8>| {
        let pool = pool.clone();
        async move {
            sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM email_tokens WHERE token_hash = $1")
                .bind(hash)
                .fetch_one(&pool)
                .await
                .unwrap()
        }
    };
    assert_eq!(count(token.as_bytes().to_vec()).await, 0, "not the token itself");
    assert_eq!(count(token_hash(&token)).await, 1, "its hash");
    pool.close().await;

    // The GET shows a button and spends nothing (a scanner's prefetch).
    for _ in 0..2 {
        let page = Browser::default()
            .get(&server, &format!("/email/verify?token={token}"))
            .await;
        let html = text(&page);
        assert_eq!(page.status, 200, "{html}");
        assert!(html.contains("zoe@example.com"), "{html}");
        assert!(html.contains("action=\"/email/verify\""), "{html}");
        assert_eq!(field(&html, "token"), token);
    }
    assert!(
        !user(&store, "zoe").await.email_verified,
        "a GET verifies nothing"
    );

    // A forged token (one character changed) does nothing.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let r = post_token(&server, "/email/verify", &[("token", &forged)]).await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert!(!user(&store, "zoe").await.email_verified);

    // The POST verifies, once.
    let r = post_token(&server, "/email/verify", &[("token", &token)]).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert!(
        text(&r).contains("is now the verified email address"),
        "{}",
        text(&r)
    );
    let zoe = user(&store, "zoe").await;
    assert!(zoe.email_verified);
    assert_eq!(zoe.email.as_deref(), Some("zoe@example.com"));
    let again = post_token(&server, "/email/verify", &[("token", &token)]).await;
    assert_eq!(again.status, 400, "single use: {}", text(&again));
    let page = Browser::default()
        .get(&server, &format!("/email/verify?token={token}"))
        .await;
    assert_eq!(page.status, 400, "{}", text(&page));

    // An expired link does nothing.
    let r = register(&server, "yan", "yan@example.com").await;
    assert_eq!(r.status, 201, "{}", text(&r));
    let mail = wait_for(&sink.dir, 2).await.remove(1);
    let token = smtp::token(&mail, "/email/verify");
    let yan = user(&store, "yan").await;
    expire_links(database, &yan.id).await;
    let page = Browser::default()
        .get(&server, &format!("/email/verify?token={token}"))
        .await;
    assert_eq!(page.status, 400, "{}", text(&page));
    let r = post_token(&server, "/email/verify", &[("token", &token)]).await;
    assert_eq!(r.status, 400, "expired: {}", text(&r));
    assert!(!user(&store, "yan").await.email_verified);
    let _ = VERIFY_FOR;
    server.stop().await;
}

#[tokio::test]
async fn verification_sqlite() {
    if smtp::available() {
        verification(&support::sqlite_url()).await;
    }
}

#[tokio::test]
async fn verification_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    if smtp::available() {
        verification(&url).await;
    }
}

async fn email_change(database: &str) {
    let sink = Sink::start(&format!("change-{}", database.len()), Mode::Plain, None);
    let (server, store) = server_for(database, &sink, SmtpSecurity::None).await;
    verified(database, "u-ann", "ann@example.com").await;

    let mut browser = Browser::default();
    let page = sign_in_to_account(&mut browser, &server, "/account", None).await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("name=\"email\" autocomplete=\"email\""), "{html}");
    let csrf = field(&html, "csrf");
    let before = id_token_claims(&server).await;
    assert_eq!(before["email"], "ann@example.com");

    // A forged CSRF token: refused.
    let r = browser
        .post(
            &server,
            "/account/email",
            &[("csrf", "forged"), ("email", "x@example.com")],
        )
        .await;
    assert_eq!(r.status, 403, "{}", text(&r));
    // Not an address.
    let r = browser
        .post(
            &server,
            "/account/email",
            &[("csrf", &csrf), ("email", "not an address")],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=bad-email");

    // The change: pending, a link to the new address, the old address kept.
    let r = browser
        .post(
            &server,
            "/account/email",
            &[("csrf", &csrf), ("email", "ann.new@example.com")],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=email-pending");
    let html = text(&browser.get(&server, "/account?done=email-pending").await);
    assert!(
        html.contains("<span id=\"pending-email\">ann.new@example.com</span>"),
        "{html}"
    );
    assert!(html.contains("ann@example.com</span> (verified)"), "{html}");
    let mail = wait_for(&sink.dir, 1).await.remove(0);
    assert!(smtp::to(&mail).contains("ann.new@example.com"), "{mail}");
    let token = smtp::token(&mail, "/email/verify");
    let pending = id_token_claims(&server).await;
    assert_eq!(
        pending["email"], "ann@example.com",
        "the old address until verified"
    );
    assert_eq!(pending["email_verified"], true);
    let ann = store.user("u-ann").await.unwrap().unwrap();
    assert_eq!(ann.email.as_deref(), Some("ann@example.com"));

    let r = post_token(&server, "/email/verify", &[("token", &token)]).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let after = id_token_claims(&server).await;
    assert_eq!(after["email"], "ann.new@example.com");
    assert_eq!(after["email_verified"], true);
    let html = text(&browser.get(&server, "/account").await);
    assert!(!html.contains("pending-email"), "{html}");

    // Another account's address: the same answer and page, no mail.
    users::create(
        &store,
        NewUser {
            username: "bob".into(),
            email: Some("bob@example.com".into()),
            email_verified: true,
            password: Some(zeroize::Zeroizing::new(PASSPHRASE.into())),
            ..NewUser::default()
        },
        now(),
    )
    .await
    .unwrap();
    let r = browser
        .post(
            &server,
            "/account/email",
            &[("csrf", &csrf), ("email", "BOB@example.com")],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=email-pending");
    let html = text(&browser.get(&server, "/account?done=email-pending").await);
    assert!(
        html.contains("<span id=\"pending-email\">BOB@example.com</span>"),
        "{html}"
    );
    assert_eq!(
        settled(&sink.dir).await,
        1,
        "nothing mailed to another account's address"
    );

    // An address taken between the request and the link: refused then.
    let r = browser
        .post(
            &server,
            "/account/email",
            &[("csrf", &csrf), ("email", "carl@example.com")],
        )
        .await;
    assert_eq!(location(&r, &server), "/account?done=email-pending");
    let mail = wait_for(&sink.dir, 2).await.remove(1);
    let token = smtp::token(&mail, "/email/verify");
    users::create(
        &store,
        NewUser {
            username: "carl".into(),
            email: Some("Carl@Example.com".into()),
            ..NewUser::default()
        },
        now(),
    )
    .await
    .unwrap();
    let r = post_token(&server, "/email/verify", &[("token", &token)]).await;
    assert_eq!(r.status, 409, "{}", text(&r));
    let ann = store.user("u-ann").await.unwrap().unwrap();
    assert_eq!(ann.email.as_deref(), Some("ann.new@example.com"), "unchanged");

    // A sign-in older than five minutes is sent to sign in again.
    sql(
        database,
        "UPDATE sessions SET auth_time = auth_time - 600 WHERE user_id = $1",
        "u-ann",
    )
    .await;
    let r = browser
        .post(
            &server,
            "/account/email",
            &[("csrf", &csrf), ("email", "late@example.com")],
        )
        .await;
    assert!(
        location(&r, &server).starts_with("/authorize?"),
        "a fresh sign-in first"
    );
    assert_eq!(store.pending_email("u-ann", now()).await.unwrap(), None);
    server.stop().await;
}

#[tokio::test]
async fn email_change_sqlite() {
    if smtp::available() {
        email_change(&support::sqlite_url()).await;
    }
}

#[tokio::test]
async fn email_change_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    if smtp::available() {
        email_change(&url).await;
    }
}

/// `POST /password/forgot` from `source`.
async fn forgot(server: &Running, source: [u8; 4], typed: &str) -> support::Response {
    let body = form_urlencoded::Serializer::new(String::new())
        .append_pair("username", typed)
        .finish();
    support::request_from(
        std::net::IpAddr::from(source),
        server.addr,
        "POST",
        "/password/forgot",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        body.as_bytes(),
    )
    .await
}

/// Signs `browser` in to Photo Book with `offline_access`: its refresh token.
async fn refresh_token_of(browser: &mut Browser, server: &Running) -> String {
    let path = authorize_path("web", "").replace(
        "scope=openid+profile+email",
        "scope=openid+profile+email+offline_access",
    );
    let redirect = sign_in(browser, server, &path).await;
    let r = redeem(server, "web", &redirect["code"], Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    r.json()["refresh_token"].as_str().unwrap().to_owned()
}

async fn refreshes(server: &Running, token: &str) -> bool {
    let r = support::token(
        server.addr,
        &format!("grant_type=refresh_token&client_id=web&refresh_token={token}"),
        &[],
    )
    .await;
    r.status == 200
}

async fn forgot_password(database: &str) {
    let sink = Sink::start(&format!("forgot-{}", database.len()), Mode::Plain, None);
    let (server, store) = server_for(database, &sink, SmtpSecurity::None).await;
    verified(database, "u-ann", "ann@example.com").await;
    for (name, email, is_verified) in [
        ("carl", "carl@example.com", false),
        ("dora", "dora@example.com", true),
    ] {
        users::create(
            &store,
            NewUser {
                username: name.into(),
                email: Some(email.into()),
                email_verified: is_verified,
                password: Some(zeroize::Zeroizing::new(PASSPHRASE.into())),
                ..NewUser::default()
            },
            now(),
        )
        .await
        .unwrap();
    }

    // The login page links to it; its form takes a username.
    let mut browser = Browser::default();
    let login = browser.get(&server, &authorize_path("web", "")).await;
    assert!(
        text(&login).contains("<a href=\"/password/forgot\">Forgot password?</a>"),
        "{}",
        text(&login)
    );
    let page = browser.get(&server, "/password/forgot").await;
    assert_eq!(page.status, 200);
    assert!(
        text(&page).contains("name=\"username\" autocomplete=\"username\""),
        "{}",
        text(&page)
    );

    // ann holds a refresh token and a session before the reset.
    let refresh = refresh_token_of(&mut browser, &server).await;
    assert!(!store.sessions_of("u-ann", now()).await.unwrap().is_empty());

    // One answer for everything, per account and per address throttles.
    let ip = [127, 0, 0, 2];
    let answers = [
        forgot(&server, ip, "ann").await,             // mail 1
        forgot(&server, ip, "nobody").await,          // no account
        forgot(&server, ip, "carl").await,            // unverified address
        forgot(&server, ip, "ANN@example.com").await, // mail 2, by address
        forgot(&server, ip, "ann").await,             // mail 3
        forgot(&server, ip, "ann").await,             // throttled: ann's 4th
    ];
    assert_eq!(RESETS_PER_ACCOUNT, 3);
    let first = &answers[0];
    assert_eq!(first.status, 200);
    for (n, r) in answers.iter().enumerate() {
        assert_eq!(r.status, first.status, "answer {n}");
        assert_eq!(text(r), text(first), "answer {n}");
    }
    assert_eq!(settled(&sink.dir).await, 3, "ann's three; nothing else");
    let mails = smtp::messages(&sink.dir);
    assert!(
        mails.iter().all(|m| smtp::to(m).contains("ann@example.com")),
        "{mails:?}"
    );
    // Past the address's budget, a verified account gets nothing either.
    assert_eq!(RESETS_PER_ADDRESS, 10);
    for _ in 0..4 {
        let r = forgot(&server, ip, "nobody").await;
        assert_eq!((r.status, text(&r)), (first.status, text(first)));
    }
    // (Each request is handled after its answer: let these be counted.)
    assert_eq!(settled(&sink.dir).await, 3);
    let r = forgot(&server, ip, "dora").await;
    assert_eq!(
        (r.status, text(&r)),
        (first.status, text(first)),
        "throttled, the same"
    );
    assert_eq!(
        settled(&sink.dir).await,
        3,
        "dora's request was over the address's budget"
    );

    // The link: a form; weak or differing passwords are refused and the
    // link still works.
    let tokens: Vec<String> = mails.iter().map(|m| smtp::token(m, "/password/reset")).collect();
    let reset = format!("/password/reset?token={}", tokens[0]);
    let form = browser.get(&server, &reset).await;
    let html = text(&form);
    assert_eq!(form.status, 200, "{html}");
    assert_eq!(html.matches("autocomplete=\"new-password\"").count(), 2, "{html}");
    assert_eq!(field(&html, "token"), tokens[0]);
    let weak = post_token(
        &server,
        "/password/reset",
        &[("token", &tokens[0]), ("new", "ann"), ("again", "ann")],
    )
    .await;
    assert_eq!(weak.status, 400, "{}", text(&weak));
    assert!(text(&weak).contains("cannot be used"), "{}", text(&weak));
    let differ = post_token(
        &server,
        "/password/reset",
        &[
            ("token", &tokens[0]),
            ("new", "one long passphrase"),
            ("again", "another long one"),
        ],
    )
    .await;
    assert_eq!(differ.status, 400, "{}", text(&differ));
    let new_password = "a brand new passphrase";
    let done = post_token(
        &server,
        "/password/reset",
        &[
            ("token", &tokens[0]),
            ("new", new_password),
            ("again", new_password),
        ],
    )
    .await;
    assert_eq!(done.status, 200, "{}", text(&done));

    // Every session and refresh family ended; the new password is set.
    assert!(
        store.sessions_of("u-ann", now()).await.unwrap().is_empty(),
        "sessions ended"
    );
    assert!(!refreshes(&server, &refresh).await, "the refresh token is dead");
    let ann = store.user("u-ann").await.unwrap().unwrap();
    let hash = ann.password().unwrap().as_str().to_owned();
    assert!(
        tessera_server::password::verify(zeroize::Zeroizing::new(new_password.into()), Some(hash))
            .await
            .unwrap()
    );
    // The audit log holds the request and the reset, for ann.
    let kinds: Vec<String> = tessera_server::audit::list::list(
        &store,
        &tessera_server::audit::list::AuditQuery {
            user_id: Some("u-ann".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .items
    .iter()
    .map(|e| e.kind.as_str().to_owned())
    .collect();
    assert!(kinds.iter().any(|k| k == "password_reset_requested"), "{kinds:?}");
    assert!(kinds.iter().any(|k| k == "password_reset"), "{kinds:?}");
    // Single use; the other reset links are spent too.
    for token in &tokens {
        let r = post_token(
            &server,
            "/password/reset",
            &[
                ("token", token),
                ("new", "yet another passphrase"),
                ("again", "yet another passphrase"),
            ],
        )
        .await;
        assert_eq!(r.status, 400, "{}", text(&r));
        let r = Browser::default()
            .get(&server, &format!("/password/reset?token={token}"))
            .await;
        assert_eq!(r.status, 400, "{}", text(&r));
    }

    // An expired link does nothing.
    let r = forgot(&server, [127, 0, 0, 3], "dora").await;
    assert_eq!((r.status, text(&r)), (first.status, text(first)));
    let mail = wait_for(&sink.dir, 4).await.remove(3);
    assert!(smtp::to(&mail).contains("dora@example.com"), "{mail}");
    let token = smtp::token(&mail, "/password/reset");
    let dora = user(&store, "dora").await;
    expire_links(database, &dora.id).await;
    let r = Browser::default()
        .get(&server, &format!("/password/reset?token={token}"))
        .await;
    assert_eq!(r.status, 400);
    let r = post_token(
        &server,
        "/password/reset",
        &[("token", &token), ("new", new_password), ("again", new_password)],
    )
    .await;
    assert_eq!(r.status, 400, "expired: {}", text(&r));
    assert_eq!(
        user(&store, "dora").await.password(),
        dora.password(),
        "unchanged"
    );
    server.stop().await;
}

#[tokio::test]
async fn forgot_password_sqlite() {
    if smtp::available() {
        forgot_password(&support::sqlite_url()).await;
    }
}

#[tokio::test]
async fn forgot_password_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    if smtp::available() {
        forgot_password(&url).await;
    }
}

/// Racing uses: of 8 confirmations of one link, one verifies; of two
/// users' links to one address (in different case), confirmed at once,
/// exactly one verifies; of 8 resets with one link, one wins. 20 trials.
async fn races(database: &str) {
    let store = Store::open(database).await.unwrap();
    let mut ids = Vec::new();
    for name in ["rae", "rex"] {
        let made = users::create(
            &store,
            NewUser {
                username: name.into(),
                ..NewUser::default()
            },
            now(),
        )
        .await
        .unwrap();
        ids.push(made.id);
    }
    let hash_of_new_password = {
        let phc = tessera_server::password::hash(zeroize::Zeroizing::new(PASSPHRASE.into()))
            .await
            .unwrap();
        tessera_server::domain::PasswordHash::new(phc).unwrap()
    };
    let link = |user_id: &str, email: &str| EmailToken {
        user_id: user_id.to_owned(),
        email: email.to_owned(),
        created_at: now(),
        expires_at: now() + 60,
    };
    for trial in 0..20 {
        // One link, eight confirmations.
        let token = format!("one-link-{trial}");
        store
            .create_email_token(
                &token_hash(&token),
                Purpose::Verify,
                &link(&ids[0], &format!("one{trial}@example.com")),
                now(),
            )
            .await
            .unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (store, hash) = (store.clone(), token_hash(&token));
                tokio::spawn(async move { store.confirm_email(&hash, now()).await.unwrap() })
            })
            .collect();
        let mut verified = 0;
        for t in tasks {
            match t.await.unwrap() {
                Confirmed::Verified { .. } => verified += 1,
                Confirmed::Invalid => {}
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(verified, 1, "trial {trial}: one link, one use");

        // Two users, one address.
        let (a, b) = (format!("a-{trial}"), format!("b-{trial}"));
        store
            .create_email_token(
                &token_hash(&a),
                Purpose::Verify,
                &link(&ids[0], &format!("same{trial}@example.com")),
                now(),
            )
            .await
            .unwrap();
        store
            .create_email_token(
                &token_hash(&b),
                Purpose::Verify,
                &link(&ids[1], &format!("SAME{trial}@Example.com")),
                now(),
            )
            .await
            .unwrap();
        let (sa, sb) = (store.clone(), store.clone());
        let (ra, rb) = tokio::join!(
            tokio::spawn(async move { sa.confirm_email(&token_hash(&a), now()).await.unwrap() }),
            tokio::spawn(async move { sb.confirm_email(&token_hash(&b), now()).await.unwrap() }),
        );
        let outcomes = [ra.unwrap(), rb.unwrap()];
        let won = outcomes
            .iter()
            .filter(|o| matches!(o, Confirmed::Verified { .. }))
            .count();
        let lost = outcomes
            .iter()
            .filter(|o| matches!(o, Confirmed::Taken { .. }))
            .count();
        assert_eq!((won, lost), (1, 1), "trial {trial}: {outcomes:?}");

        // One reset link, eight uses.
        let token = format!("reset-{trial}");
        store
            .create_email_token(
                &token_hash(&token),
                Purpose::Reset,
                &link(&ids[1], "rex@example.com"),
                now(),
            )
            .await
            .unwrap();
        let tasks: Vec<_> = (0..8)
            .map(|_| {
                let (store, hash, password) =
                    (store.clone(), token_hash(&token), hash_of_new_password.clone());
                tokio::spawn(async move { store.reset_password(&hash, &password, now()).await.unwrap() })
            })
            .collect();
        let mut won = 0;
        for t in tasks {
            won += usize::from(t.await.unwrap().is_some());
        }
        assert_eq!(won, 1, "trial {trial}: one reset per link");
    }
}

#[tokio::test]
async fn racing_uses_sqlite() {
    races(&support::sqlite_url()).await;
}

#[tokio::test]
async fn racing_uses_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    races(&url).await;
}

/// STARTTLS (required) and implicit TLS, with the sink's throwaway
/// certificate trusted through `ca_file`, and SMTP AUTH with the password
/// from `password_file`.
#[tokio::test]
async fn tls_modes_and_authentication() {
    if !smtp::available() {
        return;
    }
    for (name, mode, security) in [
        ("starttls", Mode::Starttls, SmtpSecurity::Starttls),
        ("tls", Mode::Tls, SmtpSecurity::Tls),
    ] {
        let sink = Sink::start(name, mode, Some("mailer:s3cret pass"));
        let password_file = sink.dir.with_extension("password");
        std::fs::write(&password_file, "s3cret pass\n").unwrap();
        let mut settings = sink.settings(security);
        settings.username = Some("mailer".into());
        settings.password_file = Some(password_file.display().to_string());
        let server = support::start_configured(&support::sqlite_url(), "ES256", None, |c| {
            c.self_registration = true;
            c.smtp = Some(settings);
        })
        .await;
        let r = register(&server, "tia", "tia@example.com").await;
        assert_eq!(r.status, 201, "{}", text(&r));
        let mail = wait_for(&sink.dir, 1).await.remove(0);
        assert!(smtp::to(&mail).contains("tia@example.com"), "{name}: {mail}");
        server.stop().await;
    }
}

/// A certificate nobody vouches for (no `ca_file`): refused, so nothing is
/// delivered, and the registration answers as ever.
#[tokio::test]
async fn an_untrusted_certificate_is_refused() {
    if !smtp::available() {
        return;
    }
    let sink = Sink::start("untrusted", Mode::Starttls, None);
    let mut settings = sink.settings(SmtpSecurity::Starttls);
    settings.ca_file = None;
    let server = support::start_configured(&support::sqlite_url(), "ES256", None, |c| {
        c.self_registration = true;
        c.smtp = Some(settings);
    })
    .await;
    let r = register(&server, "uma", "uma@example.com").await;
    assert_eq!(r.status, 201, "{}", text(&r));
    assert_eq!(
        settled(&sink.dir).await,
        0,
        "not delivered over an untrusted TLS connection"
    );
    server.stop().await;
}

/// `mail_dir`: each message is an `.eml` file there.
#[tokio::test]
async fn mail_dir_writes_eml_files() {
    let dir = std::env::temp_dir().join(format!("tessera-mail-dir-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let at = dir.display().to_string();
    let server = support::start_configured(&support::sqlite_url(), "ES256", None, |c| {
        c.self_registration = true;
        c.mail_dir = Some(at);
    })
    .await;
    let r = register(&server, "ivy", "ivy@example.com").await;
    assert_eq!(r.status, 201, "{}", text(&r));
    let mail = wait_for(&dir, 1).await.remove(0);
    assert!(smtp::to(&mail).contains("ivy@example.com"), "{mail}");
    assert!(
        mail.contains("Tessera <noreply@localhost>") || mail.contains("From: Tessera"),
        "{mail}"
    );
    let token = smtp::token(&mail, "/email/verify");
    assert!(
        mail.contains(&format!("{}/email/verify?token={token}", server.issuer)),
        "{mail}"
    );
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().all(|n| n.ends_with(".eml")), "{names:?}");
    server.stop().await;
}
