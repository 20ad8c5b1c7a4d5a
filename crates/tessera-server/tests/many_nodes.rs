//! Many `tessera serve` processes on one PostgreSQL database (issue 12).
//! Needs `TESSERA_TEST_POSTGRES_URL` (`.ci/run` sets it); says it was
//! skipped otherwise.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tessera_server::store::{ClientStore, Store, UserStore};
use tessera_testkit as support;

use support::browser::{self, Browser};
use support::{basic, token};

/// `tessera serve` processes sharing `database`, the issuer and the master
/// key, started at the same instant. Each binds `127.0.0.1:0` and says which
/// port it got: a port chosen beforehand could be taken by another socket
/// (the tests' own clients use the same ephemeral range) before the node
/// binds it. Returns once every node listens, with its address; a node that
/// exits first fails the test with its log.
async fn nodes(database: &str, n: usize) -> Vec<(SocketAddr, support::KillOnDrop)> {
    nodes_with_clocks(database, &vec![None; n]).await
}

/// As [`nodes`], one node per entry of `clocks`: `Some(s)` runs that node's
/// clock `s` seconds off the real one (libfaketime), `None` on the real one.
async fn nodes_with_clocks(database: &str, clocks: &[Option<i64>]) -> Vec<(SocketAddr, support::KillOnDrop)> {
    let started: Vec<_> = clocks.iter().map(|clock| spawn_node(database, *clock)).collect();
    let mut nodes = Vec::new();
    for (process, said) in started {
        let addr = tokio::task::spawn_blocking(move || said.recv_timeout(Duration::from_secs(60)))
            .await
            .unwrap();
        let addr = addr.unwrap_or_else(|e| panic!("a node did not start ({e}); see its log above"));
        nodes.push((addr, process));
    }
    for (addr, _) in &nodes {
        wait_ready(*addr).await;
    }
    nodes
}

/// Starts one node, its clock `clock` seconds off the real one when given;
/// its address arrives on the receiver when it listens. Its log goes to the
/// test's stderr (shown when a test fails).
fn spawn_node(
    database: &str,
    clock: Option<i64>,
) -> (support::KillOnDrop, std::sync::mpsc::Receiver<SocketAddr>) {
    use std::io::BufRead;
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    if let Some(offset) = clock {
        // libfaketime moves the wall clock only (`UnixTime::now`): the
        // monotonic clock that tokio's timers use stays real.
        command
            .env("LD_PRELOAD", libfaketime().expect("libfaketime is installed"))
            .env("FAKETIME", format!("{offset:+}"))
            .env("FAKETIME_DONT_FAKE_MONOTONIC", "1");
    }
    let mut child = command
        .args(["serve", "--listen", "127.0.0.1:0", "--database", database])
        // Each node its own metrics port: the default is one fixed port.
        .args(["--metrics-listen", "127.0.0.1:0"])
        .args(["--issuer", "http://tessera.test"])
        .env(
            "TESSERA_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .env("TESSERA_TOKEN_ALG", "ES256")
        .env("NO_COLOR", "1")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let log = child.stderr.take().unwrap();
    let (say, said) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(log).lines().map_while(Result::ok) {
            eprintln!("node: {line}");
            let listening = line
                .split("listening on http://")
                .nth(1)
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|addr| addr.parse::<SocketAddr>().ok());
            if let Some(addr) = listening {
                let _ = say.send(addr);
            }
        }
    });
    (support::KillOnDrop(child), said)
}

/// Debian's libfaketime (package `faketime`), which sets the clock of the
/// process it is preloaded into; `None` when it is not installed.
fn libfaketime() -> Option<std::path::PathBuf> {
    std::fs::read_dir("/usr/lib")
        .ok()?
        .filter_map(Result::ok)
        .map(|e| e.path().join("faketime/libfaketimeMT.so.1"))
        .chain([std::path::PathBuf::from("/usr/lib/faketime/libfaketimeMT.so.1")])
        .find(|p| p.exists())
}

/// Waits until the node at `addr` (listening already) answers `/readyz`
/// with 200.
async fn wait_ready(addr: SocketAddr) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while support::request(addr, "GET", "/readyz", &[], b"").await.status != 200 {
        assert!(Instant::now() < deadline, "node on {addr} never became ready");
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
        let nodes = nodes(&database, 4).await;
        let mut jwks = Vec::new();
        for (addr, _) in &nodes {
            let r = support::request(*addr, "GET", "/jwks", &[], b"").await;
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

/// Issue 17, item 11: nodes whose clocks are up to 5 s apart, started at the
/// same instant on an empty database. Whichever stores the first keys, the
/// others take them, and every node starts and signs with them at once
/// (before the fix, a node whose clock ran behind the one that stored them
/// found no key "signing at now" and exited: "token algorithm RS256 is not
/// supported for server keys"). Four trials of six nodes, clocks 0 to 5 s
/// behind in a different order each time, each on a fresh database; needs
/// libfaketime (`.ci/run` installs Debian's `faketime`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_with_clocks_seconds_apart_start_together_on_an_empty_database() {
    if libfaketime().is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the clock test: apt-get install faketime"
        );
        eprintln!("SKIPPED clock test: libfaketime not found (apt-get install faketime)");
        return;
    }
    for trial in 0..4_i64 {
        let Some(database) = support::postgres_url().await else {
            return;
        };
        // Clients exist before the nodes start; the keys do not.
        let store = Store::open(&database).await.unwrap();
        store
            .create_client(&support::client(
                "svc",
                Some("svc-secret"),
                &["client_credentials"],
                &["read"],
                &["api"],
            ))
            .await
            .unwrap();
        let clocks: Vec<_> = (0..6).map(|i| Some(-((i + trial) % 6))).collect();
        let nodes = nodes_with_clocks(&database, &clocks).await;
        let first = support::request(nodes[0].0, "GET", "/jwks", &[], b"")
            .await
            .json();
        let published: Vec<String> = first["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect();
        assert_eq!(published.len(), 2, "trial {trial}: one key per algorithm");
        for ((addr, _), clock) in nodes.iter().zip(&clocks) {
            let jwks = support::request(*addr, "GET", "/jwks", &[], b"").await.json();
            assert_eq!(
                jwks, first,
                "trial {trial}: the node {clock:?} s off publishes other keys"
            );
            let signed = kid_of(&signed_by(*addr).await);
            assert!(
                published.contains(&signed),
                "trial {trial}: the node {clock:?} s off signs with an unpublished key"
            );
        }
        drop(nodes);
    }
}

/// Two or more nodes on a fresh database, ready, and the store they share
/// (seeded with the sign-in tests' clients and ann, and a confidential
/// service `svc` that may also use the password and refresh grants).
struct Cluster {
    nodes: Vec<SocketAddr>,
    store: Store,
    database: String,
    processes: Vec<support::KillOnDrop>,
}

impl Cluster {
    async fn start(n: usize) -> Option<Cluster> {
        let database = support::postgres_url().await?;
        let store = Store::open(&database).await.unwrap();
        browser::seed(&store).await;
        let svc = support::client(
            "svc",
            Some("svc-secret"),
            &["client_credentials", "password", "refresh_token"],
            &["read", "openid"],
            &["api"],
        );
        store.create_client(&svc).await.unwrap();
        let (nodes, processes) = nodes(&database, n).await.into_iter().unzip();
        Some(Cluster {
            nodes,
            store,
            database,
            processes,
        })
    }
}

fn svc() -> (&'static str, String) {
    ("Authorization", basic("svc", "svc-secret"))
}

/// A token issued by node A verifies and introspects on node B, and a
/// revocation on A holds on B at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_from_one_node_holds_on_the_other() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let (a, b) = (cluster.nodes[0], cluster.nodes[1]);
    let auth = svc();
    let r = token(
        a,
        "grant_type=client_credentials&scope=read",
        &[(auth.0, &auth.1)],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let access = r.json()["access_token"].as_str().unwrap().to_owned();
    let jwks_a = support::request(a, "GET", "/jwks", &[], b"").await.json();
    let jwks_b = support::request(b, "GET", "/jwks", &[], b"").await.json();
    assert_eq!(jwks_a, jwks_b);
    let keys = tessera_jwt::KeySet::from_jwks_json(jwks_b.to_string().as_bytes()).unwrap();
    let rules = tessera_jwt::Validation::access_token("http://tessera.test", "api");
    keys.verify::<serde_json::Value>(&access, &rules, tessera_jwt::UnixTime::now())
        .unwrap();
    assert!(introspect(b, &access).await, "active on B");
    let r = post_as_svc(a, "/revoke", &format!("token={access}")).await;
    assert_eq!(r.status, 200);
    assert!(
        !introspect(b, &access).await,
        "revoked on A: inactive on B at once"
    );
}

/// The same refresh token sent to two nodes at the same instant, 10 times
/// over: exactly one succeeds each time, and the replay revokes the family,
/// so the winner's new refresh token is dead too (RFC 9700 §4.14.2).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refresh_token_raced_across_nodes_is_spent_once() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let (a, b) = (cluster.nodes[0], cluster.nodes[1]);
    let auth = svc();
    for trial in 0..10 {
        let r = token(
            a,
            "grant_type=password&username=ann&password=correct+horse+battery&scope=read",
            &[(auth.0, &auth.1)],
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.json());
        let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
        let form = format!("grant_type=refresh_token&refresh_token={refresh}");
        let send = |node: SocketAddr| {
            let (form, auth) = (form.clone(), svc());
            tokio::spawn(async move { token(node, &form, &[(auth.0, &auth.1)]).await })
        };
        let (ra, rb) = (send(a), send(b));
        let (ra, rb) = (ra.await.unwrap(), rb.await.unwrap());
        let wins: Vec<_> = [&ra, &rb].into_iter().filter(|r| r.status == 200).collect();
        assert_eq!(wins.len(), 1, "trial {trial}: {} and {}", ra.status, rb.status);
        let next = wins[0].json()["refresh_token"].as_str().unwrap().to_owned();
        let r = token(
            b,
            &format!("grant_type=refresh_token&refresh_token={next}"),
            &[(auth.0, &auth.1)],
        )
        .await;
        assert_eq!(
            r.status, 400,
            "trial {trial}: the family was revoked by the replay"
        );
    }
}

/// One authorization code redeemed on two nodes at the same instant, 10
/// times over: exactly one wins. And the SSO session made on A is
/// honoured by B (no login page there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_code_raced_across_nodes_is_redeemed_once_and_sso_is_shared() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let (a, b) = (cluster.nodes[0], cluster.nodes[1]);
    let mut browser = Browser::default();
    let path = browser::authorize_path("first", "");
    let first = browser::sign_in(&mut browser, &a, &path).await;
    assert!(first.contains_key("code"));
    for trial in 0..10 {
        // The session from A, at B: straight to the client with a code.
        let at = if trial % 2 == 0 { b } else { a };
        let r = browser.get(&at, &path).await;
        let code = browser::redirected(&r)["code"].clone();
        let redeem = |node: SocketAddr| {
            let code = code.clone();
            tokio::spawn(async move {
                let form = format!(
                    "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
                     &code_verifier={}",
                    browser::VERIFIER
                );
                token(node, &form, &[("Authorization", &basic("first", "pw"))]).await
            })
        };
        let (ra, rb) = (redeem(a), redeem(b));
        let (ra, rb) = (ra.await.unwrap(), rb.await.unwrap());
        let wins = [&ra, &rb].iter().filter(|r| r.status == 200).count();
        assert_eq!(wins, 1, "trial {trial}: {} and {}", ra.status, rb.status);
    }
}

/// A client deleted, a user deleted or a password changed (here through
/// the store, as `tessera client delete` and `tessera user` do) is refused
/// by every node: clients within the client cache's 5 s
/// (`store::clients::CACHE_TTL`), users at once (never cached).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_made_elsewhere_reach_every_node_in_bounded_time() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let b = cluster.nodes[1];
    let auth = svc();
    // Warm B's client cache.
    let r = token(b, "grant_type=client_credentials", &[(auth.0, &auth.1)]).await;
    assert_eq!(r.status, 200);
    // ann's password is changed (as `tessera user set-password` does): on B the
    // old password and the refresh token it obtained are refused at once,
    // and the new password works.
    let r = token(
        b,
        "grant_type=password&username=ann&password=correct+horse+battery",
        &[(auth.0, &auth.1)],
    )
    .await;
    let before = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let hash = tessera_server::domain::PasswordHash::new(
        tessera_server::password::hash_blocking("a new passphrase").unwrap(),
    )
    .unwrap();
    let now = tessera_jwt::UnixTime::now().as_secs();
    assert!(cluster
        .store
        .set_password("u-ann", &hash, None, now)
        .await
        .unwrap());
    let r = token(
        b,
        "grant_type=password&username=ann&password=correct+horse+battery",
        &[(auth.0, &auth.1)],
    )
    .await;
    assert_eq!(r.status, 400, "the old password, at once");
    let r = token(
        b,
        &format!("grant_type=refresh_token&refresh_token={before}"),
        &[(auth.0, &auth.1)],
    )
    .await;
    assert_eq!(r.status, 400, "a refresh token from the old password, at once");
    // ann's refresh token, then ann is deleted: refused at once.
    let r = token(
        b,
        "grant_type=password&username=ann&password=a+new+passphrase",
        &[(auth.0, &auth.1)],
    )
    .await;
    assert_eq!(r.status, 200, "the new password");
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    cluster
        .store
        .delete_user("u-ann", tessera_jwt::UnixTime::now().as_secs())
        .await
        .unwrap();
    let r = token(
        b,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
        &[(auth.0, &auth.1)],
    )
    .await;
    assert_eq!(r.status, 400, "a deleted user's refresh token, at once");
    // The client is deleted: B refuses it within the cache TTL.
    cluster.store.delete_client("svc").await.unwrap();
    let deleted = Instant::now();
    loop {
        let r = token(b, "grant_type=client_credentials", &[(auth.0, &auth.1)]).await;
        if r.status == 401 {
            break;
        }
        assert!(
            deleted.elapsed() < tessera_server::store::CLIENT_CACHE_TTL + Duration::from_secs(2),
            "still served {:?} after deletion",
            deleted.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// `tessera keys ARGS` against the shared database, as an operator runs it
/// next to node A.
async fn keys_cli(database: &str, args: &[&str]) {
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
    command
        .arg("keys")
        .args(args)
        .args(["--database", database])
        .env(
            "TESSERA_MASTER_KEY",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        )
        .env("TESSERA_TOKEN_ALG", "ES256");
    let out = tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

fn kid_of(token: &str) -> String {
    tessera_jwt::danger::decode_unverified(token, 16384)
        .unwrap()
        .header["kid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// An access token from `node` (client credentials).
async fn signed_by(node: SocketAddr) -> String {
    let auth = svc();
    let r = token(node, "grant_type=client_credentials", &[(auth.0, &auth.1)]).await;
    r.json()["access_token"].as_str().unwrap().to_owned()
}

/// POSTs the form `body` to `path` on `node`, authenticated as `svc`.
async fn post_as_svc(node: SocketAddr, path: &str, body: &str) -> support::Response {
    let auth = svc();
    support::request(
        node,
        "POST",
        path,
        &[
            (auth.0, &auth.1),
            ("Content-Type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    )
    .await
}

async fn introspect(node: SocketAddr, t: &str) -> bool {
    let r = post_as_svc(node, "/introspect", &format!("token={t}")).await;
    r.json()["active"].as_bool().unwrap()
}

/// The bound on a key change reaching every node: each polls the keys'
/// state every `keys::CHECK_EVERY` (1 s); with slack for a loaded CI.
fn key_change_bound() -> Duration {
    tessera_server::keys::CHECK_EVERY + Duration::from_secs(4)
}

/// A leaked signing key revoked with the CLI: introspection on every node
/// refuses the tokens it signed at once, and within the key check period
/// (`keys::CHECK_EVERY`) every node has dropped it from its JWKS and signs
/// with the replacement, which its JWKS publishes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_revoked_on_one_node_is_dropped_by_every_node() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let (a, b) = (cluster.nodes[0], cluster.nodes[1]);
    let leaked = signed_by(a).await;
    let kid = kid_of(&leaked);
    assert!(introspect(b, &leaked).await, "active before the revocation");
    keys_cli(&cluster.database, &["revoke", &kid]).await;
    let revoked = Instant::now();
    assert!(!introspect(b, &leaked).await, "refused on B at once");
    assert!(!introspect(a, &leaked).await, "refused on A at once");
    let rules = tessera_jwt::Validation::access_token("http://tessera.test", "api");
    for &node in &cluster.nodes {
        loop {
            let jwks = support::request(node, "GET", "/jwks", &[], b"").await.json();
            let published: Vec<String> = jwks["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| k["kid"].as_str().unwrap().to_owned())
                .collect();
            let fresh = signed_by(node).await;
            if !published.contains(&kid) && kid_of(&fresh) != kid {
                let keys = tessera_jwt::KeySet::from_jwks_json(jwks.to_string().as_bytes()).unwrap();
                keys.verify::<serde_json::Value>(&fresh, &rules, tessera_jwt::UnixTime::now())
                    .expect("the replacement is published by the node that signs with it");
                break;
            }
            assert!(
                revoked.elapsed() < key_change_bound(),
                "{node} still publishes or signs with the revoked key after {:?}",
                revoked.elapsed()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A key rotation run with the CLI against the shared database: every node
/// publishes the new key within the key check period (`keys::CHECK_EVERY`),
/// and none signs with it before it has been published for
/// `keys::PUBLISH_AHEAD` (6 min), so no verifier meets a token signed by a
/// key it has not seen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_on_one_node_is_published_by_all_before_anyone_signs_with_it() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let before = kid_of(&signed_by(cluster.nodes[0]).await);
    keys_cli(&cluster.database, &["rotate"]).await;
    let rotated = Instant::now();
    for &node in &cluster.nodes {
        loop {
            let jwks = support::request(node, "GET", "/jwks", &[], b"").await.json();
            let published = jwks["keys"].as_array().unwrap().len();
            // Still the old key signing, on every node.
            assert_eq!(kid_of(&signed_by(node).await), before);
            if published == 3 {
                break;
            }
            assert!(
                rotated.elapsed() < key_change_bound(),
                "{node} did not publish the new key in {:?}",
                key_change_bound()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A rotated key starts signing on every node within the key check period
/// of its activation time (here a rotation dated `PUBLISH_AHEAD - 3 s` ago,
/// so it activates 3 s from now): before it, every node signs with the old
/// key; after, every node signs with the new one and publishes it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotated_key_signs_on_every_node_once_it_activates() {
    use tessera_server::keys::{self, MasterKey, PUBLISH_AHEAD};
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let before = kid_of(&signed_by(cluster.nodes[0]).await);
    let master = MasterKey::from_base64url("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let now = tessera_jwt::UnixTime::now().as_secs();
    let new = keys::rotate(
        &cluster.store,
        &master,
        tessera_jwt::Algorithm::ES256,
        now - PUBLISH_AHEAD + 3,
    )
    .await
    .unwrap();
    let activates = Instant::now() + Duration::from_secs(u64::try_from(new.activates_at - now).unwrap());
    for &node in &cluster.nodes {
        let kid = kid_of(&signed_by(node).await);
        assert!(
            kid == before || Instant::now() >= activates,
            "{node} signs with the new key before it activates"
        );
    }
    let rules = tessera_jwt::Validation::access_token("http://tessera.test", "api");
    for &node in &cluster.nodes {
        loop {
            let fresh = signed_by(node).await;
            if kid_of(&fresh) == new.kid {
                assert!(Instant::now() >= activates - Duration::from_secs(1));
                let jwks = support::request(node, "GET", "/jwks", &[], b"").await.json();
                let keys = tessera_jwt::KeySet::from_jwks_json(jwks.to_string().as_bytes()).unwrap();
                keys.verify::<serde_json::Value>(&fresh, &rules, tessera_jwt::UnixTime::now())
                    .unwrap();
                break;
            }
            assert!(
                Instant::now() < activates + key_change_bound(),
                "{node} still signs with {} after the new key activated",
                kid_of(&fresh)
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A node killed with SIGKILL in the middle of refresh and code traffic:
/// no family is left with two live refresh tokens or none, no code is
/// spent without recording what it issued, and the other node serves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_traffic_leaves_no_half_done_grant() {
    let Some(mut cluster) = Cluster::start(2).await else {
        return;
    };
    let (a, b) = (cluster.nodes[0], cluster.nodes[1]);
    let auth = svc();
    // Four refresh families, rotated on A as fast as A answers.
    let mut loops = Vec::new();
    for _ in 0..4 {
        let r = token(
            b,
            "grant_type=password&username=ann&password=correct+horse+battery&scope=read",
            &[(auth.0, &auth.1)],
        )
        .await;
        let mut refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
        loops.push(tokio::spawn(async move {
            let auth = svc();
            loop {
                let form = format!("grant_type=refresh_token&refresh_token={refresh}");
                let r = token(a, &form, &[(auth.0, &auth.1)]).await;
                if r.status != 200 {
                    return;
                }
                refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
            }
        }));
    }
    // Codes for the public client `web`, issued and redeemed on A; with
    // offline_access, so each starts a refresh family (a third party gets
    // none without it).
    let mut browser = Browser::default();
    let path = browser::authorize_path("web", "").replace(
        "scope=openid+profile+email",
        "scope=openid+profile+email+offline_access",
    );
    browser::sign_in(&mut browser, &a, &path).await;
    loops.push(tokio::spawn(async move {
        loop {
            let r = browser.get(&a, &path).await;
            if r.status != 303 {
                return;
            }
            let code = browser::redirected(&r)["code"].clone();
            let r = browser::redeem(&a, "web", &code, Some(browser::VERIFIER)).await;
            if r.status != 200 {
                return;
            }
        }
    }));
    tokio::time::sleep(Duration::from_millis(1500)).await;
    cluster.processes[0].0.kill().unwrap();
    cluster.processes[0].0.wait().unwrap();
    for task in loops {
        // (A request cut by the kill ends its loop with a panic: fine.)
        let _ = task.await;
    }

    sqlx::any::install_default_drivers();
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(&cluster.database)
        .await
        .unwrap();
    use sqlx::Row;
    let now = tessera_jwt::UnixTime::now().as_secs();
    let families = sqlx::query(
        "SELECT f.family_id, \
         (SELECT COUNT(*) FROM refresh_tokens t WHERE t.family_id = f.family_id \
            AND t.used_at IS NULL AND t.revoked_at IS NULL AND t.expires_at > $1) AS live, \
         (SELECT COUNT(*) FROM refresh_tokens t WHERE t.family_id = f.family_id) AS issued \
         FROM refresh_families f WHERE f.revoked_at IS NULL",
    )
    .bind(now)
    .fetch_all(&mut db)
    .await
    .unwrap();
    assert!(families.len() >= 5, "the families and the code grants' families");
    let mut rotations = 0;
    for f in &families {
        let id: String = f.get("family_id");
        let live: i64 = f.get("live");
        rotations += f.get::<i64, _>("issued");
        assert_eq!(live, 1, "family {id}: {live} live refresh tokens");
    }
    assert!(rotations > 10, "traffic ran before the kill ({rotations} tokens)");
    eprintln!(
        "{} live families, {rotations} refresh tokens issued before the kill",
        families.len()
    );
    let half_done: i64 = sqlx::query(
        "SELECT COUNT(*) AS n FROM authorization_codes WHERE used_at IS NOT NULL AND \
         (access_jti IS NULL OR family_id IS NULL \
          OR NOT EXISTS (SELECT 1 FROM refresh_families f WHERE f.family_id = authorization_codes.family_id))",
    )
    .fetch_one(&mut db)
    .await
    .unwrap()
    .get("n");
    assert_eq!(half_done, 0, "codes spent without what they issued");
    // B serves on.
    let r = token(b, "grant_type=client_credentials", &[(auth.0, &auth.1)]).await;
    assert_eq!(r.status, 200);
}

/// Wrong passwords for one account spread over two nodes lock it on both:
/// the lock lives in the user's row, not in a node.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lockout_earned_on_two_nodes_holds_on_both() {
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let login = |node: SocketAddr, password: &'static str| {
        let auth = svc();
        async move {
            let form = format!("grant_type=password&username=ann&password={password}");
            token(node, &form, &[(auth.0, &auth.1)]).await.status
        }
    };
    assert_eq!(
        login(cluster.nodes[1], "correct+horse+battery").await,
        200,
        "not locked yet"
    );
    for i in 0..tessera_server::oauth::sign_in::LOCK_THRESHOLD {
        let node = cluster.nodes[usize::try_from(i).unwrap() % 2];
        assert_eq!(login(node, "wrong+guess").await, 400);
    }
    for &node in &cluster.nodes {
        assert_eq!(login(node, "correct+horse+battery").await, 400, "{node}: locked");
    }
}

/// 60 wrong logins from one address sent at once, split over two
/// processes: exactly the 10 past the per-address limit
/// (`throttle::BLOCK_AFTER`, 50) are refused, because the count lives in
/// the database and is reserved before any password is hashed. A
/// per-process count would let each node check 50. Another address is
/// not affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_per_address_limit_holds_across_nodes() {
    use tessera_server::oauth::throttle::BLOCK_AFTER;
    let Some(cluster) = Cluster::start(2).await else {
        return;
    };
    let attempt = |node: SocketAddr, from: &str, i: usize| {
        let from: std::net::IpAddr = from.parse().unwrap();
        let auth = svc();
        tokio::spawn(async move {
            let form = format!("grant_type=password&username=nobody{i}&password=x");
            let r = support::request_from(
                from,
                node,
                "POST",
                "/token",
                &[
                    (auth.0, &auth.1),
                    ("Content-Type", "application/x-www-form-urlencoded"),
                ],
                form.as_bytes(),
            )
            .await;
            assert_eq!(r.status, 400, "{}", String::from_utf8_lossy(&r.body));
            r.json()["error_description"]
                .as_str()
                .unwrap_or_default()
                .contains("too many")
        })
    };
    let extra = 10;
    let total = usize::try_from(BLOCK_AFTER).unwrap() + extra;
    let tasks: Vec<_> = (0..total)
        .map(|i| attempt(cluster.nodes[i % 2], "127.0.60.1", i))
        .collect();
    let mut refused = 0;
    for task in tasks {
        refused += usize::from(task.await.unwrap());
    }
    assert_eq!(refused, extra, "only the attempts past {BLOCK_AFTER} are refused");
    assert!(
        !attempt(cluster.nodes[1], "127.0.60.2", 0).await.unwrap(),
        "another address is not limited"
    );
}
