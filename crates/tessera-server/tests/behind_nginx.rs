//! Two nodes on one PostgreSQL behind Debian's nginx, configured as the
//! README's "Running many nodes" section shows: the token endpoint answers
//! through the proxy, and nginx spreads the requests over both nodes.
//! Needs `nginx` and `TESSERA_TEST_POSTGRES_URL` (`.ci/run` provides both);
//! skipped with a message elsewhere.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::{Duration, Instant};

use tessera_server::config::Config;
use tessera_server::store::{ClientStore, Store};
use tessera_testkit as support;

const NGINX: &str = "/usr/sbin/nginx";

/// Client-credentials tokens issued so far by the node at `addr`.
async fn issued(addr: std::net::SocketAddr) -> u64 {
    let metrics = support::request(addr, "GET", "/metrics", &[], b"").await;
    let text = String::from_utf8_lossy(&metrics.body).into_owned();
    text.lines()
        .find(|l| l.starts_with("tessera_tokens_issued_total{grant_type=\"client_credentials\"}"))
        .and_then(|l| l.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_token_endpoint_through_nginx_reaches_both_nodes() {
    if !std::path::Path::new(NGINX).exists() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the nginx test: apt-get install nginx"
        );
        eprintln!("SKIPPED nginx test: {NGINX} not found");
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

    let dir = std::env::temp_dir().join(format!("tessera-nginx-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let port = support::free_port();
    let d = dir.display();
    let conf = format!(
        "daemon off;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n\
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n\
         upstream tessera {{ server {}; server {}; keepalive 8; }}\n\
         server {{\n    listen 127.0.0.1:{port};\n    location / {{\n      proxy_pass http://tessera;\n\
         proxy_http_version 1.1;\n      proxy_set_header Connection \"\";\n      proxy_set_header Host $host;\n\
         proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n    }}\n  }}\n}}\n",
        a.addr, b.addr
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
    let _nginx = support::KillOnDrop(child);
    let proxy = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let started = Instant::now();
    while tokio::net::TcpStream::connect(proxy).await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("error.log")).unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

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
    let (on_a, on_b) = (issued(a.addr).await, issued(b.addr).await);
    assert_eq!(on_a + on_b, 20);
    assert!(
        on_a > 0 && on_b > 0,
        "nginx spread the requests: {on_a} and {on_b}"
    );
    a.stop().await;
    b.stop().await;
    let _ = std::fs::remove_dir_all(&dir);
}
