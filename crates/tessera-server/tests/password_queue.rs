//! Issue item 5: password hashing has a bounded queue. Past the bound the
//! answer is 503 with `Retry-After` at once, and registrations hold at most
//! one of the two hashing slots, so a registration flood cannot starve
//! logins. (Its own test binary: the queue is per process.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_testkit as support;

use support::{basic, client, request_from, user};
use tessera_server::store::{ClientStore, Store, UserStore};

fn ip(s: String) -> std::net::IpAddr {
    s.parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_full_queue_answers_503_and_registrations_cannot_starve_logins() {
    let database = support::sqlite_url();
    let server = support::start_configured(&database, "ES256", None, |c| {
        c.self_registration = true;
        c.password_queue = 8;
    })
    .await;
    let store = Store::open(&database).await.unwrap();
    store
        .create_client(&client("app", Some("pw"), &["password"], &["openid"], &["api"]))
        .await
        .unwrap();
    store
        .create_user(&user("u-ann", "ann", "correct horse battery", &[]))
        .await
        .unwrap();
    let addr = server.addr;
    let register = |n: usize| async move {
        let body = serde_json::json!({"username": format!("flood{n}"), "password": "a long passphrase"});
        request_from(
            ip(format!("127.0.90.{}", n % 250 + 1)),
            addr,
            "POST",
            "/api/v1/users",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await
    };
    let login = |n: usize| async move {
        request_from(
            ip(format!("127.0.91.{}", n % 250 + 1)),
            addr,
            "POST",
            "/token",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", &basic("app", "pw")),
            ],
            b"grant_type=password&username=ann&password=correct+horse+battery",
        )
        .await
    };
    // A registration flood, with logins sent while it runs.
    let flood: Vec<_> = (0..40).map(|n| tokio::spawn(register(n))).collect();
    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    let logins: Vec<_> = (0..4).map(|n| tokio::spawn(login(n))).collect();
    let mut shed = 0;
    for r in flood {
        let r = r.await.unwrap();
        match r.status {
            201 => {}
            503 => {
                assert_eq!(r.header("retry-after"), Some("1"));
                assert_eq!(r.json()["error"], "temporarily_unavailable");
                shed += 1;
            }
            other => panic!("registration answered {other}"),
        }
    }
    assert!(shed > 0, "the registration queue is bounded");
    for r in logins {
        let r = r.await.unwrap();
        assert_eq!(
            r.status,
            200,
            "logins are not starved: {}",
            String::from_utf8_lossy(&r.body)
        );
    }
    // A login flood past the bound is shed the same way. (The attempts
    // admitted all count against ann's lock until they succeed, so some
    // of a burst this size are refused as the lock policy says: 400.)
    let burst: Vec<_> = (0..40).map(|n| tokio::spawn(login(n + 10))).collect();
    let mut statuses = Vec::new();
    for r in burst {
        statuses.push(r.await.unwrap().status);
    }
    assert!(statuses.contains(&503), "{statuses:?}");
    assert!(
        statuses.iter().all(|s| [200, 400, 503].contains(s)),
        "{statuses:?}"
    );
    server.stop().await;
}
