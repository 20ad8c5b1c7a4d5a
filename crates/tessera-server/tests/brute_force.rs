//! Brute force and enumeration ([RFC 6749 §4.3.2]: "the authorization
//! server MUST protect the endpoint against brute force attacks";
//! [RFC 9700 §4.15]): the per-user lock holds against a burst sent at once
//! on several nodes, an expired lock starts the count again, a lock reads
//! like a wrong password, and the per-address limits (logins and
//! registrations) are shared by every node.
//!
//! Requests come from several loopback addresses (`127.0.x.y`), so each
//! test is its own set of clients as the server sees them.
//!
//! [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
//! [RFC 9700 §4.15]: https://www.rfc-editor.org/rfc/rfc9700#section-4.15

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_testkit as support;

use std::net::IpAddr;

use support::{basic, client, request_from, user, Running};
use tessera_server::oauth::sign_in::LOCK_THRESHOLD;
use tessera_server::oauth::throttle::{BLOCK_AFTER, REGISTRATIONS_PER_WINDOW};
use tessera_server::store::{ClientStore, Store, UserStore};

const RIGHT: &str = "correct horse battery";

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

/// Two nodes on one database, with the password client `app` and the users.
/// The hashing queue is deep enough for every burst here (its bound is
/// tested on its own, in `password_queue.rs`: the queue is per process).
async fn nodes(database: &str, users: &[&str]) -> (Running, Running, Store) {
    let deep = |c: &mut tessera_server::config::Config| c.password_queue = 1000;
    let a = support::start_configured(database, "ES256", None, deep).await;
    let b = support::start_configured(database, "ES256", Some(&a.issuer), deep).await;
    let store = Store::open(database).await.unwrap();
    store
        .create_client(&client("app", Some("pw"), &["password"], &["openid"], &["api"]))
        .await
        .unwrap();
    for name in users {
        store
            .create_user(&user(&format!("id-{name}"), name, RIGHT, &[]))
            .await
            .unwrap();
    }
    (a, b, store)
}

async fn password_grant(
    node: std::net::SocketAddr,
    from: IpAddr,
    username: &str,
    password: &str,
) -> support::Response {
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "password")
        .append_pair("username", username)
        .append_pair("password", password)
        .finish();
    let auth = basic("app", "pw");
    request_from(
        from,
        node,
        "POST",
        "/token",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &auth),
        ],
        form.as_bytes(),
    )
    .await
}

/// Item 1: 26 wrong passwords per user, sent at once from 26 addresses and
/// split over two nodes, for three users at a time: each account gets
/// exactly as many evaluations as the lock allows (its count, kept in the
/// database, is the number of hashes run for it), and is locked after.
async fn burst_is_bounded(database: &str) {
    let users = ["burst1", "burst2", "burst3"];
    let (a, b, store) = nodes(database, &users).await;
    let mut tasks = Vec::new();
    for (u, name) in users.iter().enumerate() {
        for i in 0..26 {
            let node = if i % 2 == 0 { a.addr } else { b.addr };
            let from = ip(&format!("127.0.{}.{}", 10 + u, 1 + i));
            let name = (*name).to_owned();
            tasks.push(tokio::spawn(async move {
                password_grant(node, from, &name, "a wrong guess").await.status
            }));
        }
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), 400);
    }
    for name in users {
        let row = store.user_by_username(name).await.unwrap().unwrap();
        assert_eq!(
            row.failed_logins, LOCK_THRESHOLD,
            "{name}: a burst of 26 must get {LOCK_THRESHOLD} evaluations, not {}",
            row.failed_logins
        );
        assert!(row.locked_until.is_some(), "{name} is locked");
        let right = password_grant(a.addr, ip("127.0.20.1"), name, RIGHT).await;
        assert_eq!(right.status, 400, "locked: even the right password is refused");
    }
    a.stop().await;
    b.stop().await;
}

mod rfc6749_4_3_2 {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_burst_gets_no_more_evaluations_than_the_lock_allows() {
        burst_is_bounded(&support::sqlite_url()).await;
        if let Some(pg) = support::postgres_url().await {
            burst_is_bounded(&pg).await;
        }
    }

    /// Item 2: one guess per lock period must not keep an account locked
    /// for ever. The lock's end is simulated by moving it into the past.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn an_expired_lock_starts_the_count_again() {
        let database = support::sqlite_url();
        let (a, b, store) = nodes(&database, &["slow"]).await;
        let from = ip("127.0.30.1");
        for _ in 0..LOCK_THRESHOLD {
            assert_eq!(password_grant(a.addr, from, "slow", "wrong").await.status, 400);
        }
        assert!(store
            .user_by_username("slow")
            .await
            .unwrap()
            .unwrap()
            .locked_until
            .is_some());
        let pool = sqlx::AnyPool::connect(&database).await.unwrap();
        sqlx::query("UPDATE users SET locked_until = 1 WHERE username = 'slow'")
            .execute(&pool)
            .await
            .unwrap();
        // The lock has run out: one wrong guess, then the right password.
        assert_eq!(password_grant(b.addr, from, "slow", "wrong").await.status, 400);
        let r = password_grant(b.addr, from, "slow", RIGHT).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        a.stop().await;
        b.stop().await;
    }

    /// Item 3: an unknown user, a wrong password and a locked account (even
    /// with the right password) get byte-identical answers, on the token
    /// endpoint and the JSON API.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn unknown_wrong_and_locked_read_the_same() {
        let database = support::sqlite_url();
        let (a, b, store) = nodes(&database, &["known", "locked"]).await;
        let from = ip("127.0.40.1");
        for _ in 0..LOCK_THRESHOLD {
            password_grant(a.addr, from, "locked", "wrong").await;
        }
        let wrong = password_grant(a.addr, from, "known", "wrong").await;
        let unknown = password_grant(a.addr, from, "nobody", "wrong").await;
        let locked = password_grant(a.addr, from, "locked", RIGHT).await;
        assert_eq!(wrong.status, 400);
        assert_eq!(wrong.body, unknown.body);
        assert_eq!(wrong.body, locked.body);

        store
            .create_client(&client("spa", None, &["password"], &["openid"], &["api"]))
            .await
            .unwrap();
        let api = |username: &str, password: &str| {
            serde_json::json!({"client_id": "spa", "username": username, "password": password}).to_string()
        };
        let mut bodies = Vec::new();
        for (username, password) in [("known", "wrong"), ("nobody", "wrong"), ("locked", RIGHT)] {
            let r = request_from(
                from,
                b.addr,
                "POST",
                "/api/v1/login",
                &[("Content-Type", "application/json")],
                api(username, password).as_bytes(),
            )
            .await;
            bodies.push((r.status, r.body));
        }
        assert_eq!(bodies[0], bodies[1]);
        assert_eq!(bodies[0], bodies[2]);
        a.stop().await;
        b.stop().await;
    }
}

/// Item 1 and 3: the per-address limits live in the database, so they hold
/// across nodes.
mod per_address {
    use super::*;

    /// 60 attempts from one address at once, split over two nodes: exactly
    /// the ones past the limit are refused, however they interleave.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn the_login_limit_is_shared_by_every_node() {
        let database = support::sqlite_url();
        let (a, b, _store) = nodes(&database, &[]).await;
        let extra = 10;
        let total = usize::try_from(BLOCK_AFTER).unwrap() + extra;
        let mut tasks = Vec::new();
        for i in 0..total {
            let node = if i % 2 == 0 { a.addr } else { b.addr };
            tasks.push(tokio::spawn(async move {
                let r = password_grant(node, ip("127.0.50.1"), &format!("nobody{i}"), "x").await;
                r.json()["error_description"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned()
            }));
        }
        let mut refused = 0;
        for task in tasks {
            if task.await.unwrap().contains("too many") {
                refused += 1;
            }
        }
        assert_eq!(refused, extra, "only the attempts past {BLOCK_AFTER} are refused");
        // Another address is not affected.
        let other = password_grant(a.addr, ip("127.0.50.2"), "nobody", "x").await;
        assert!(!other.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("too many"));
        a.stop().await;
        b.stop().await;
    }

    /// Self-registration is throttled per address like login.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn registrations_are_limited_per_address() {
        let database = support::sqlite_url();
        let open = |c: &mut tessera_server::config::Config| {
            c.self_registration = true;
            c.password_queue = 1000;
        };
        let a = support::start_configured(&database, "ES256", None, open).await;
        let b = support::start_configured(&database, "ES256", Some(&a.issuer), open).await;
        let register = |node: std::net::SocketAddr, from: &str, n: usize| {
            let from = ip(from);
            async move {
                let body = serde_json::json!({"username": format!("new{from}-{n}"), "password": "a long passphrase"});
                request_from(
                    from,
                    node,
                    "POST",
                    "/api/v1/users",
                    &[("Content-Type", "application/json")],
                    body.to_string().as_bytes(),
                )
                .await
            }
        };
        let limit = usize::try_from(REGISTRATIONS_PER_WINDOW).unwrap();
        for n in 0..limit {
            let node = if n % 2 == 0 { a.addr } else { b.addr };
            assert_eq!(register(node, "127.0.60.1", n).await.status, 201);
        }
        let refused = register(b.addr, "127.0.60.1", limit).await;
        assert_eq!(refused.status, 429, "{}", String::from_utf8_lossy(&refused.body));
        assert_eq!(register(a.addr, "127.0.60.2", 0).await.status, 201);
        a.stop().await;
        b.stop().await;
    }

    /// Item 4: behind a trusted proxy, each client counts on its own (the
    /// right-most untrusted `X-Forwarded-For` hop), so one client's
    /// failures do not lock everyone out; from any other peer the header
    /// is ignored, so it cannot be used to dodge the limit.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn behind_a_trusted_proxy_each_client_counts_alone() {
        let database = support::sqlite_url();
        let proxied = |c: &mut tessera_server::config::Config| {
            c.password_queue = 1000;
            c.trusted_proxies = vec!["127.0.71.1".into()];
        };
        let a = support::start_configured(&database, "ES256", None, proxied).await;
        let store = Store::open(&database).await.unwrap();
        store
            .create_client(&client("app", Some("pw"), &["password"], &["openid"], &["api"]))
            .await
            .unwrap();
        store
            .create_user(&user("id-vic", "victim", RIGHT, &[]))
            .await
            .unwrap();
        let via =
            |from: &'static str, forwarded_for: String, username: &'static str, password: &'static str| {
                let addr = a.addr;
                async move {
                    let form = format!("grant_type=password&username={username}&password={password}");
                    let auth = basic("app", "pw");
                    request_from(
                        ip(from),
                        addr,
                        "POST",
                        "/token",
                        &[
                            ("Content-Type", "application/x-www-form-urlencoded"),
                            ("Authorization", &auth),
                            ("X-Forwarded-For", &forwarded_for),
                        ],
                        form.as_bytes(),
                    )
                    .await
                }
            };
        // One client behind the proxy fails past the limit, forging a
        // left-most hop each time.
        let mut tasks = Vec::new();
        for i in 0..usize::try_from(BLOCK_AFTER).unwrap() + 5 {
            tasks.push(tokio::spawn(via(
                "127.0.71.1",
                format!("10.9.9.{i}, 198.51.100.7"),
                "nobody",
                "x",
            )));
        }
        let mut refused = 0;
        for task in tasks {
            if task.await.unwrap().json()["error_description"]
                .as_str()
                .unwrap()
                .contains("too many")
            {
                refused += 1;
            }
        }
        assert_eq!(refused, 5, "the forged hops do not split the count");
        // Another client behind the same proxy signs in.
        let r = via(
            "127.0.71.1",
            "198.51.100.8".into(),
            "victim",
            "correct+horse+battery",
        )
        .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        // A peer that is not a trusted proxy cannot borrow that address.
        let mut tasks = Vec::new();
        for i in 0..usize::try_from(BLOCK_AFTER).unwrap() + 1 {
            tasks.push(tokio::spawn(via(
                "127.0.71.2",
                format!("198.51.100.{i}"),
                "nobody",
                "x",
            )));
        }
        let mut last = String::new();
        for task in tasks {
            let d = task.await.unwrap().json()["error_description"]
                .as_str()
                .unwrap()
                .to_owned();
            if d.contains("too many") {
                last = d;
            }
        }
        assert!(
            last.contains("too many"),
            "the header is ignored from an untrusted peer"
        );
        a.stop().await;
    }
}

/// Issue 17 item 8: a lock by trickle. Five wrong guesses every five
/// minutes keep an account locked; a browser that signed in to it before
/// (a signed device cookie, OWASP "Blocking Brute Force Attacks") is not
/// locked out by them, while strangers still are, and a device gets a small
/// budget of its own.
mod device_cookies {
    use super::*;

    use support::browser::{self, authorize_path, redirected, text, Browser};
    use tessera_server::oauth::device::DEVICE_FAILURES;

    const DEVICE: &str = "tessera_device";

    /// The login page of a new interaction for the first-party client
    /// (`prompt=login`: a signed-in browser is asked again), submitted as
    /// ann.
    async fn page_login(
        browser: &mut Browser,
        node: std::net::SocketAddr,
        password: &str,
    ) -> support::Response {
        let page = browser
            .get(&node, &authorize_path("first", "&prompt=login"))
            .await;
        assert_eq!(page.status, 200, "{}", text(&page));
        browser.log_in(&node, &text(&page), "ann", password).await
    }

    /// `POST /api/v1/login` as ann for the public client `spa`, with these
    /// cookies.
    async fn api_login(node: std::net::SocketAddr, cookies: &str, password: &str) -> support::Response {
        let body = serde_json::json!({"client_id": "spa", "username": "ann", "password": password});
        support::request(
            node,
            "POST",
            "/api/v1/login",
            &[("Content-Type", "application/json"), ("Cookie", cookies)],
            body.to_string().as_bytes(),
        )
        .await
    }

    fn device_cookie(r: &support::Response) -> Option<String> {
        r.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case("set-cookie"))
            .map(|(_, v)| v.clone())
            .find(|v| v.starts_with(&format!("{DEVICE}=")))
    }

    /// A stranger keeps ann's account locked: every right password without
    /// a device cookie of hers is refused, on the token endpoint, the login
    /// page and the JSON API. Her own browser signs in through both, on
    /// either node; a forged cookie, or bob's, does not help; her device's
    /// own wrong guesses are limited.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_trickle_of_guesses_cannot_lock_the_owners_browser_out() {
        let database = support::sqlite_url();
        let (a, b, store) = nodes(&database, &["bob"]).await;
        browser::seed(&store).await;
        store
            .create_client(&client("spa", None, &["password"], &["openid"], &["api"]))
            .await
            .unwrap();
        // Ann signs in from her browser once, before any attack: it is a
        // known device of hers from now on.
        let mut owner = Browser::default();
        let done = page_login(&mut owner, a.addr, RIGHT).await;
        redirected(&done);
        let set = device_cookie(&done).expect("a device cookie after a password sign-in");
        assert!(
            set.contains("; HttpOnly") && set.contains("SameSite=Strict") && set.contains("Path=/"),
            "{set}"
        );
        // Her app (cookies kept by the browser) signs in through the API.
        let r = api_login(a.addr, "", RIGHT).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let api_device = device_cookie(&r).expect("the API gives a device cookie too");
        let api_device = api_device.split(';').next().unwrap().to_owned();

        // The stranger's trickle: five wrong guesses lock the account, and
        // each further one finds it locked.
        let stranger = ip("127.0.72.1");
        for _ in 0..LOCK_THRESHOLD + 2 {
            assert_eq!(
                password_grant(a.addr, stranger, "ann", "a wrong guess")
                    .await
                    .status,
                400
            );
        }
        let locked = |store: Store| async move {
            store
                .user_by_username("ann")
                .await
                .unwrap()
                .unwrap()
                .locked_until
                .is_some()
        };
        assert!(locked(store.clone()).await);
        // Strangers get nothing, even with the right password.
        assert_eq!(password_grant(b.addr, stranger, "ann", RIGHT).await.status, 400);
        let r = page_login(&mut Browser::default(), b.addr, RIGHT).await;
        assert_eq!(r.status, 401, "a new browser is a stranger: {}", text(&r));
        assert_eq!(api_login(b.addr, "", RIGHT).await.status, 400);

        // Ann's browser signs in on the other node, page and API.
        let r = page_login(&mut owner, b.addr, RIGHT).await;
        assert_eq!(r.status, 303, "her device is not locked out: {}", text(&r));
        redirected(&r);
        let r = api_login(b.addr, &api_device, RIGHT).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        assert!(
            locked(store.clone()).await,
            "her sign-in leaves the strangers' lock"
        );

        // A forged device cookie, and bob's own, count for nothing.
        let own = owner.cookies[DEVICE].clone();
        let (id, rest) = own.split_once('.').unwrap();
        let forged_id = if id.starts_with('A') { "B" } else { "A" };
        let forged = format!("{forged_id}{}.{rest}", &id[1..]);
        let mut forger = Browser::default();
        forger.cookies.insert(DEVICE.into(), forged.clone());
        let r = page_login(&mut forger, a.addr, RIGHT).await;
        assert_eq!(r.status, 401, "a forged device cookie: {}", text(&r));
        assert_eq!(
            api_login(a.addr, &format!("{DEVICE}={forged}"), RIGHT)
                .await
                .status,
            400
        );
        let mut bobs = Browser::default();
        let page = bobs.get(&a, &authorize_path("first", "")).await;
        let r = bobs.log_in(&a, &text(&page), "bob", RIGHT).await;
        assert_eq!(r.status, 303, "bob signs in: {}", text(&r));
        let bobs_device = bobs.cookies[DEVICE].clone();
        let mut borrower = Browser::default();
        borrower.cookies.insert(DEVICE.into(), bobs_device);
        let r = page_login(&mut borrower, a.addr, RIGHT).await;
        assert_eq!(r.status, 401, "another account's device cookie: {}", text(&r));

        // Her device's own guesses are limited: after its budget it is a
        // stranger again, and the lock applies to it too.
        for _ in 0..DEVICE_FAILURES {
            let r = page_login(&mut owner, a.addr, "a wrong guess").await;
            assert_eq!(r.status, 401);
        }
        let r = page_login(&mut owner, a.addr, RIGHT).await;
        assert_eq!(r.status, 401, "a spent device is a stranger: {}", text(&r));
        a.stop().await;
        b.stop().await;
    }
}
