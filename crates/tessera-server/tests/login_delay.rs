//! Issue 17 item 4: a slowed login serves its address's delay *before* it
//! takes a place in the bounded hashing queue. Before, the delay (up to
//! 4 s) was served holding a place, so about a hundred guesses from two
//! slowed addresses filled the queue and everyone else's correct logins
//! were shed with 503. (Its own test binary: the queue is per process.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tessera_testkit as support;

use support::{basic, client, request_from, user};
use tessera_server::oauth::throttle::{self, MAX_DELAY, WINDOW_SECS};
use tessera_server::store::{AttemptStore, ClientStore, Store, UserStore};

const QUEUE: usize = 64;
const FLOOD_PER_ADDRESS: usize = 48;

fn ip(s: &str) -> std::net::IpAddr {
    s.parse().unwrap()
}

async fn password_grant(
    node: std::net::SocketAddr,
    from: std::net::IpAddr,
    username: &str,
    password: &str,
) -> support::Response {
    let form = format!("grant_type=password&username={username}&password={password}");
    request_from(
        from,
        node,
        "POST",
        "/token",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &basic("app", "pw")),
        ],
        form.as_bytes(),
    )
    .await
}

/// 96 wrong guesses at once from two addresses that are already slowed to
/// the longest delay, with the default queue of 64: while they wait, ann's
/// correct logins from a third address all succeed.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn slowed_guesses_wait_outside_the_hashing_queue() {
    let database = support::sqlite_url();
    let server = support::start_configured(&database, "ES256", None, |c| c.password_queue = QUEUE).await;
    let store = Store::open(&database).await.unwrap();
    store
        .create_client(&client("app", Some("pw"), &["password"], &["openid"], &["api"]))
        .await
        .unwrap();
    store
        .create_user(&user("u-ann", "ann", "correct horse battery", &[]))
        .await
        .unwrap();
    // Both flooding addresses have failed often enough for the longest
    // delay (counted straight into the store: no need to wait for it).
    let attackers = [ip("127.0.95.1"), ip("127.0.95.2")];
    let now = tessera_jwt::UnixTime::now().as_secs();
    for addr in attackers {
        let bucket = throttle::bucket("login", addr);
        for _ in 0..9 {
            store.reserve_attempt(&bucket, now, WINDOW_SECS).await.unwrap();
            store.record_failure(&bucket, now, WINDOW_SECS).await.unwrap();
        }
        let counts = store.reserve_attempt(&bucket, now, WINDOW_SECS).await.unwrap();
        assert_eq!(throttle::verdict(counts), throttle::Verdict::Wait(MAX_DELAY));
        store.refund_attempt(&bucket, now, WINDOW_SECS).await.unwrap();
    }
    // The flood. Each request that has answered is counted, so the test
    // knows when every other one is waiting out its delay.
    let answered = Arc::new(AtomicUsize::new(0));
    let mut flood = Vec::new();
    for n in 0..FLOOD_PER_ADDRESS * attackers.len() {
        let (addr, from, answered) = (server.addr, attackers[n % attackers.len()], Arc::clone(&answered));
        flood.push(tokio::spawn(async move {
            let r = password_grant(addr, from, "nobody", "a+wrong+guess").await;
            answered.fetch_add(1, Ordering::AcqRel);
            r
        }));
    }
    let total = flood.len();
    let settled = Instant::now();
    loop {
        let (waiting, done) = (throttle::logins_delayed(), answered.load(Ordering::Acquire));
        if waiting > 0 && waiting + done == total {
            break;
        }
        assert!(
            settled.elapsed() < Duration::from_secs(30),
            "the flood never settled: {waiting} waiting, {done} answered"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let waiting = throttle::logins_delayed();
    // Everyone else's correct logins, while the flood waits.
    let logins: Vec<_> = (0..4)
        .map(|n| {
            let addr = server.addr;
            tokio::spawn(async move {
                password_grant(
                    addr,
                    ip(&format!("127.0.96.{}", n + 1)),
                    "ann",
                    "correct+horse+battery",
                )
                .await
            })
        })
        .collect();
    for login in logins {
        let r = login.await.unwrap();
        assert_eq!(
            r.status,
            200,
            "a correct login while {waiting} slowed guesses wait: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    // The guesses' own answers do not matter here (and would take a while
    // to hash).
    for r in flood {
        r.abort();
    }
    server.stop().await;
}
