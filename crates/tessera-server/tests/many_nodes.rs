//! Many `tessera serve` processes on one PostgreSQL database (issue 12).
//! Needs `TESSERA_TEST_POSTGRES_URL` (`.ci/run` sets it); says it was
//! skipped otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use tessera_testkit as support;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A node: `tessera serve` on `port`, sharing `database`, the issuer and
/// the master key with its peers.
fn node(database: &str, port: u16) -> support::KillOnDrop {
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--database",
            database,
        ])
        .args(["--issuer", "http://tessera.test"])
        .env(
            "TESSERA_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .env("TESSERA_TOKEN_ALG", "ES256")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    support::KillOnDrop(child)
}

/// GET `path` on the node at `port` once it answers `/readyz`.
async fn get_when_ready(port: u16, path: &str) -> support::Response {
    let addr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Ok(r)) = tokio::time::timeout(
            Duration::from_secs(2),
            tokio::spawn(async move { support::request(addr, "GET", "/readyz", &[], b"").await }),
        )
        .await
        {
            if r.status == 200 {
                return support::request(addr, "GET", path, &[], b"").await;
            }
        }
        assert!(Instant::now() < deadline, "node on {port} never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Four nodes started at the same instant on an empty database: the
/// migrations run once (sqlx's migration lock) and the first keys are made
/// once (under the keys' advisory lock), so every node publishes the same
/// JWKS from its first answer: one RS256 key and one ES256 key. Three
/// trials, each on a fresh database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_nodes_started_at_once_make_one_set_of_keys() {
    for trial in 0..3 {
        let Some(database) = support::postgres_url().await else {
            return;
        };
        let ports: Vec<u16> = (0..4).map(|_| free_port()).collect();
        let nodes: Vec<_> = ports.iter().map(|&port| node(&database, port)).collect();
        let mut jwks = Vec::new();
        for &port in &ports {
            let r = get_when_ready(port, "/jwks").await;
            assert_eq!(r.status, 200);
            jwks.push(r.json());
        }
        let kids = |j: &serde_json::Value| -> Vec<String> {
            j["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| format!("{} {}", k["alg"], k["kid"]))
                .collect()
        };
        for (i, j) in jwks.iter().enumerate() {
            assert_eq!(
                kids(j),
                kids(&jwks[0]),
                "trial {trial}: node {i} publishes other keys"
            );
        }
        assert_eq!(
            kids(&jwks[0]).len(),
            2,
            "trial {trial}: one key per algorithm: {:?}",
            kids(&jwks[0])
        );
        drop(nodes);
    }
}
