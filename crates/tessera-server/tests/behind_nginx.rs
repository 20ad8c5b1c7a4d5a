//! Tessera behind Debian's nginx, configured as the README's "Running many
//! nodes" section shows (its `proxy_set_header` lines are read from
//! README.md): the token endpoint answers through the proxy, nginx
//! spreads the requests over two nodes, and a client's own forwarding
//! headers never choose the address Tessera counts.
//! Needs `nginx` and `TESSERA_TEST_POSTGRES_URL` (`.ci/run` provides both);
//! skipped with a message elsewhere.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use tessera_server::config::Config;
use tessera_server::oauth::throttle::{BLOCK_AFTER, FREE_FAILURES};
use tessera_server::store::{ClientStore, Store, UserStore};
use tessera_testkit as support;

const NGINX: &str = "/usr/sbin/nginx";

/// Whether nginx is here (CI must have it).
fn have_nginx() -> bool {
    if std::path::Path::new(NGINX).exists() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must run the nginx test: apt-get install nginx"
    );
    eprintln!("SKIPPED nginx test: {NGINX} not found");
    false
}

/// The `proxy_http_version` and `proxy_set_header` lines of the README's
/// nginx block, so the test runs what operators copy.
fn readme_proxy_lines() -> Vec<String> {
    let readme = include_str!("../../../README.md");
    let block = readme
        .split("```nginx\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("README.md has an nginx block");
    let lines: Vec<String> = block
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("proxy_set_header") || l.starts_with("proxy_http_version"))
        .map(str::to_owned)
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l == "proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;"),
        "{lines:?}"
    );
    lines
}

/// nginx, running until dropped, with one server per entry of `sites`:
/// its `proxy_set_header` (and other) lines, in front of `nodes`. Returns
/// each site's address.
struct Nginx {
    _child: support::KillOnDrop,
    dir: std::path::PathBuf,
    sites: Vec<SocketAddr>,
}

impl Nginx {
    async fn start(name: &str, nodes: &[SocketAddr], sites: &[Vec<String>]) -> Nginx {
        let dir = std::env::temp_dir().join(format!("tessera-nginx-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let d = dir.display();
        let upstream: String = nodes.iter().map(|n| format!("server {n}; ")).collect();
        let mut addrs = Vec::new();
        let mut servers = String::new();
        for lines in sites {
            let port = support::free_port();
            addrs.push(SocketAddr::from(([127, 0, 0, 1], port)));
            servers.push_str(&format!(
                "  server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://tessera;\n      {}\n    }}\n  }}\n",
                lines.join("\n      ")
            ));
        }
        let conf = format!(
            "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 512; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
             upstream tessera {{ {upstream}keepalive 8; }}\n{servers}}}\n"
        );
        std::fs::write(dir.join("nginx.conf"), conf).unwrap();
        let child = std::process::Command::new(NGINX)
            .arg("-p")
            .arg(&dir)
            .arg("-c")
            .arg(dir.join("nginx.conf"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let child = support::KillOnDrop(child);
        let started = Instant::now();
        for site in &addrs {
            while tokio::net::TcpStream::connect(site).await.is_err() {
                assert!(
                    started.elapsed() < Duration::from_secs(10),
                    "nginx did not start: {}",
                    std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Nginx {
            _child: child,
            dir,
            sites: addrs,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Client-credentials tokens issued so far by `node`.
async fn issued(node: &support::Running) -> u64 {
    let metrics = support::request(node.metrics.unwrap(), "GET", "/metrics", &[], b"").await;
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    text.lines()
        .find(|l| l.starts_with("tessera_tokens_issued_total{grant_type=\"client_credentials\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_through_nginx_reaches_both_nodes() {
    if !have_nginx() {
        return;
    }
    let Some(database) = support::postgres_url().await else {
        return;
    };
    let issuer = "http://id.test";
    let trust = |c: &mut Config| c.trusted_proxies = vec!["127.0.0.1".into()];
    let a = support::start_configured(&database, "ES256", Some(issuer), trust).await;
    let b = support::start_configured(&database, "ES256", Some(issuer), trust).await;
    let store = Store::open(&database).await.unwrap();
    let svc = support::client(
        "svc",
        Some("svc-secret"),
        &["client_credentials"],
        &["read"],
        &["api"],
    );
    store.create_client(&svc).await.unwrap();

    let nginx = Nginx::start("spread", &[a.addr, b.addr], &[readme_proxy_lines()]).await;
    let proxy = nginx.sites[0];

    let auth = support::basic("svc", "svc-secret");
    for _ in 0..20 {
        let r = support::token(
            proxy,
            "grant_type=client_credentials",
            &[("Authorization", &auth)],
        )
        .await;
        assert_eq!(r.status, 200, "{:?}", r.json());
        let claims = support::verify(&a, r.json()["access_token"].as_str().unwrap(), "api").await;
        assert_eq!(claims["iss"], issuer);
    }
    let (on_a, on_b) = (issued(&a).await, issued(&b).await);
    assert_eq!(on_a + on_b, 20);
    assert!(
        on_a > 0 && on_b > 0,
        "nginx spread the requests: {on_a} and {on_b}"
    );
    drop(nginx);
    a.stop().await;
    b.stop().await;
}

/// Issue 17, item 2: behind nginx, a client's own `Forwarded`,
/// `X-Forwarded-For` and `X-Real-IP` never choose the address Tessera
/// counts. Two sites in front of one node: the README's block (which clears
/// `Forwarded` and `X-Real-IP`), and the block the review probed, which
/// set `X-Forwarded-For` and passed a client's `Forwarded` through. Through
/// either, an attacker at 127.0.0.2 forging a new `Forwarded` address on
/// every guess, and a victim's address in the others, is limited as itself;
/// the victim (127.0.0.3) still signs in; and the attempt counters (what
/// the limit and the audit log go by) hold only real addresses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_sent_forwarding_header_does_not_choose_the_counted_address() {
    if !have_nginx() {
        return;
    }
    let Some(database) = support::postgres_url().await else {
        return;
    };
    // nginx reaches the node from 127.0.0.1; clients come from 127.0.0.2+.
    let node = support::start_configured(&database, "ES256", None, |c: &mut Config| {
        c.trusted_proxies = vec!["127.0.0.1".into()];
        c.password_queue = 1000;
    })
    .await;
    let store = Store::open(&database).await.unwrap();
    store
        .create_client(&support::client(
            "app",
            Some("pw"),
            &["password"],
            &["openid"],
            &["api"],
        ))
        .await
        .unwrap();
    store
        .create_user(&support::user("id-vic", "victim", "correct horse battery", &[]))
        .await
        .unwrap();
    let readme = readme_proxy_lines();
    let passthrough: Vec<String> = readme
        .iter()
        .filter(|l| {
            !l.starts_with("proxy_set_header Forwarded ") && !l.starts_with("proxy_set_header X-Real-IP ")
        })
        .cloned()
        .collect();
    assert!(
        passthrough.len() < readme.len(),
        "the README's block clears the other forwarding headers: {readme:?}"
    );
    let nginx = Nginx::start("forged", &[node.addr], &[passthrough, readme]).await;

    let login = |site: SocketAddr,
                 from: &'static str,
                 forged: String,
                 username: &'static str,
                 password: &'static str| async move {
        let form = format!("grant_type=password&username={username}&password={password}");
        let auth = support::basic("app", "pw");
        let forwarded = format!("for={forged}");
        support::request_from(
            from.parse::<IpAddr>().unwrap(),
            site,
            "POST",
            "/token",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", &auth),
                ("Forwarded", &forwarded),
                ("X-Forwarded-For", "127.0.0.3"),
                ("X-Real-IP", "127.0.0.3"),
            ],
            form.as_bytes(),
        )
        .await
    };
    // Through the probed block: one guess more than the limit, all at
    // once, each claiming a new address in `Forwarded` and the victim's in
    // the others; through the README's, a few.
    let limit = usize::try_from(BLOCK_AFTER).unwrap() + 5;
    let few = usize::try_from(FREE_FAILURES).unwrap() + 1;
    for (site, attacker, guesses) in [
        (nginx.sites[0], "127.0.0.2", limit),
        (nginx.sites[1], "127.0.0.4", few),
    ] {
        let mut tasks = Vec::new();
        for i in 0..guesses {
            let forged = format!("10.9.{}.{}", i / 200, i % 200);
            tasks.push(tokio::spawn(login(site, attacker, forged, "nobody", "x")));
        }
        let mut refused = 0;
        for task in tasks {
            let r = task.await.unwrap();
            assert_ne!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            if r.json()["error_description"]
                .as_str()
                .unwrap()
                .contains("too many")
            {
                refused += 1;
            }
        }
        assert_eq!(
            refused,
            guesses.saturating_sub(usize::try_from(BLOCK_AFTER).unwrap()),
            "{attacker} through {site}: limited as itself, not as the addresses it sent"
        );
        // The victim, whose address the attacker sent, signs in.
        let r = login(
            site,
            "127.0.0.3",
            "127.0.0.2".into(),
            "victim",
            "correct+horse+battery",
        )
        .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    }
    // Only the real addresses were counted.
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&database)
        .await
        .unwrap();
    let counted: Vec<(String, i64)> =
        sqlx::query_as("SELECT bucket, failures FROM login_attempts WHERE failures > 0 ORDER BY bucket")
            .fetch_all(&mut db)
            .await
            .unwrap();
    let buckets: Vec<&str> = counted.iter().map(|(b, _)| b.as_str()).collect();
    assert_eq!(buckets, ["login:127.0.0.2", "login:127.0.0.4"], "{counted:?}");
    assert!(counted.iter().all(|(_, f)| *f >= FREE_FAILURES), "{counted:?}");
    drop(nginx);
    node.stop().await;
}
