//! # tessera-testkit
//!
//! Test support shared by Tessera's crates (`publish = false`): databases
//! for both backends ([`sqlite_url`], [`postgres_url`]), an in-process
//! server on an ephemeral port ([`start`], [`start_configured`]), seeding
//! ([`client`], [`user`]), a minimal HTTP/1.1 client (one request per
//! connection, so tests speak real HTTP without a client library:
//! [`request`], [`request_from`], [`token`]) and, in [`browser`], a
//! cookie-keeping browser that walks the sign-in pages.
//!
//! It panics on any setup failure: it is for tests only.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;
use tessera_jwt::{KeySet, UnixTime, Validation};
use tessera_server::config::{Config, Overrides};
use tessera_server::domain::{ClientCredentials, GrantType, SecretMethod};
use tessera_server::oauth::client_auth::hash_secret;
use tessera_server::server::Server;
use tessera_server::store::Client;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

pub mod account;
pub mod browser;
pub mod fake_github;
pub mod fake_oidc;
mod fake_provider;
pub mod webauthn;

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The master key the test server of `database` uses: for SQLite the
/// file beside the database, for PostgreSQL this process's file.
pub fn master_key_of(database: &str) -> tessera_server::keys::MasterKey {
    let path = match database.strip_prefix("sqlite://") {
        Some(file) => std::path::Path::new(file).with_file_name("master.key"),
        None => std::env::temp_dir().join(format!("tessera-test-master-{}.key", std::process::id())),
    };
    let text = std::fs::read_to_string(&path).unwrap();
    tessera_server::keys::MasterKey::from_base64url(text.trim()).unwrap()
}

/// A fresh SQLite database URL in a temp folder (with its own master key).
pub fn sqlite_url() -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("tessera-test-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}/tessera.db", dir.display())
}

/// A fresh PostgreSQL database on the server in `TESSERA_TEST_POSTGRES_URL`,
/// or `None` (with a message) when it is not set.
pub async fn postgres_url() -> Option<String> {
    let Ok(base) = std::env::var("TESSERA_TEST_POSTGRES_URL") else {
        eprintln!("SKIPPED PostgreSQL: TESSERA_TEST_POSTGRES_URL is not set");
        return None;
    };
    sqlx::any::install_default_drivers();
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let name = format!("tessera_test_{}_{n}", std::process::id());
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(&base)
        .await
        .unwrap();
    // Drop databases left by earlier test processes: never this one's, nor
    // those of a test process still running (another test binary, or
    // another checkout's run on the same server, uses them right now).
    let ours = format!("tessera_test_{}_", std::process::id());
    let stale: Vec<String> =
        sqlx::query_scalar("SELECT datname::text FROM pg_database WHERE datname LIKE 'tessera_test_%'")
            .fetch_all(&mut admin)
            .await
            .unwrap();
    let running = |db: &str| {
        db.strip_prefix("tessera_test_")
            .and_then(|rest| rest.split('_').next())
            .and_then(|pid| pid.parse::<u32>().ok())
            .is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists())
    };
    for db in stale.into_iter().filter(|d| !d.starts_with(&ours) && !running(d)) {
        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {db} WITH (FORCE)"
        )))
        .execute(&mut admin)
        .await;
    }
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').unwrap();
    Some(format!("{prefix}/{name}"))
}

/// A running server on an ephemeral port.
pub struct Running {
    pub addr: SocketAddr,
    pub issuer: String,
    /// Where `/metrics` answers: its own port (every test server picks a
    /// free one, so servers in one process never share the default), or
    /// `addr` when a test asked for `metrics_listen = "listen"`.
    pub metrics: Option<SocketAddr>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Stops the server and waits for it to finish.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
    }
}

/// Starts a server on `database` with the given token algorithm; its
/// issuer is its own address.
pub async fn start(database: &str, token_alg: &str) -> Running {
    start_node(database, token_alg, None).await
}

/// Starts one node of a deployment: nodes share a database and an issuer.
pub async fn start_node(database: &str, token_alg: &str, issuer: Option<&str>) -> Running {
    start_configured(database, token_alg, issuer, |_| {}).await
}

/// Starts a server after `adjust` has changed its configuration.
pub async fn start_configured(
    database: &str,
    token_alg: &str,
    issuer: Option<&str>,
    adjust: impl FnOnce(&mut Config),
) -> Running {
    // Port 0 picks a free port; by default the issuer names it.
    start_at(None, database, token_alg, issuer, adjust).await
}

/// [`start_configured`] on `addr` (a port a stopped server freed, to
/// restart "the same" server), or on a free port.
pub async fn start_at(
    addr: Option<SocketAddr>,
    database: &str,
    token_alg: &str,
    issuer: Option<&str>,
    adjust: impl FnOnce(&mut Config),
) -> Running {
    // The server's warnings and errors go to the test's output, which the
    // harness shows when the test fails (RUST_LOG overrides the level).
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into());
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_test_writer()
        .try_init();
    let listener =
        std::net::TcpListener::bind(addr.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))).unwrap();
    let addr = listener.local_addr().unwrap();
    let issuer = issuer.map_or_else(|| format!("http://{addr}"), str::to_owned);
    let mut config = Config::load(
        None,
        &Overrides {
            listen: Some(addr.to_string()),
            issuer: Some(issuer.clone()),
            database: Some(database.to_owned()),
            ..Overrides::default()
        },
    )
    .unwrap();
    config.token_alg = token_alg.to_owned();
    config.metrics_listen = "127.0.0.1:0".into();
    adjust(&mut config);
    if database.starts_with("postgres") {
        let key_file = std::env::temp_dir().join(format!("tessera-test-master-{}.key", std::process::id()));
        if !key_file.exists() {
            std::fs::write(&key_file, "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        }
        config.master_key_file = Some(key_file.display().to_string());
    }
    let server = Server::with_listener(&config, listener).await.unwrap();
    let metrics = match config.metrics_at().unwrap() {
        tessera_server::config::MetricsAt::Listen => Some(addr),
        _ => server.metrics_addr(),
    };
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        server
            .run(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
    });
    Running {
        addr,
        issuer,
        metrics,
        stop: Some(tx),
        task: Some(task),
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

/// Sends one request and reads the whole response.
pub async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let stream = TcpStream::connect(addr).await.unwrap();
    exchange(stream, addr, method, path, headers, body).await
}

/// [`request`] from another loopback address (`127.0.0.2`, ...), so tests
/// can be several clients as the server sees them.
pub async fn request_from(
    source: std::net::IpAddr,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(source, 0)).unwrap();
    let stream = socket.connect(addr).await.unwrap();
    exchange(stream, addr, method, path, headers, body).await
}

async fn exchange(
    mut stream: TcpStream,
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Response {
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (n, v) in headers {
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(body).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("no header end");
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    Response {
        status,
        headers,
        body: raw[split + 4..].to_vec(),
    }
}

/// POSTs a form to the token endpoint.
pub async fn token(addr: SocketAddr, form: &str, extra: &[(&str, &str)]) -> Response {
    let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
    headers.extend_from_slice(extra);
    request(addr, "POST", "/token", &headers, form.as_bytes()).await
}

/// `Authorization: Basic` for a client.
pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            format!("{id}:{secret}")
        )
    )
}

/// Kills a child process when dropped, so a failing test leaves no server
/// running.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A registered client for tests, stored as given: tests may register
/// what `clients::registration` would refuse (to see an endpoint refuse
/// it too). `secret` makes a confidential client that may use either
/// secret method; `None` a public one. Grant names must be known.
pub fn client(
    id: &str,
    secret: Option<&str>,
    grants: &[&str],
    scopes: &[&str],
    audiences: &[&str],
) -> Client {
    Client {
        id: id.into(),
        name: format!("{id} app"),
        credentials: match secret {
            Some(secret) => ClientCredentials::Secret {
                hash: hash_secret(secret),
                method: SecretMethod::Either,
            },
            None => ClientCredentials::None,
        },
        grant_types: grants
            .iter()
            .map(|g| GrantType::parse(g).unwrap_or_else(|| panic!("unknown grant type {g:?}")))
            .collect(),
        scopes: tessera_server::oauth::Scope::from_tokens(scopes.iter().copied()),
        audiences: audiences.iter().map(|s| s.to_string()).collect(),
        redirect_uris: vec![],
        access_token_ttl: 600,
        created_at: 1,
        refresh_cookie: false,
        first_party: false,
        post_logout_redirect_uris: vec![],
        resource_server_for: vec![],
        require_par: false,
        dpop_bound: false,
        require_mfa: false,
        admin: false,
        provenance: tessera_server::domain::Provenance::Operator,
    }
}

/// `client` registered for one secret method only (RFC 7591 §2
/// `token_endpoint_auth_method`).
pub fn secret_method(client: &mut Client, method: SecretMethod) {
    if let ClientCredentials::Secret { method: m, .. } = &mut client.credentials {
        *m = method;
    }
}

/// Verifies an access token against the server's own JWKS.
pub async fn verify(server: &Running, token: &str, audience: &str) -> Value {
    let jwks = request(server.addr, "GET", "/jwks", &[], b"").await;
    let keys = KeySet::from_jwks_json(&jwks.body).unwrap();
    let rules = Validation::access_token(&server.issuer, audience);
    keys.verify::<Value>(token, &rules, UnixTime::now())
        .unwrap()
        .into_claims()
}

/// A user for tests (password hashed with the server's argon2id).
pub fn user(id: &str, username: &str, password: &str, roles: &[&str]) -> tessera_server::store::User {
    tessera_server::store::User {
        id: id.into(),
        username: username.into(),
        email: Some(format!("{username}@example.com")),
        email_verified: false,
        name: Some(format!("{username} example")),
        roles: roles.iter().map(|r| r.to_string()).collect(),
        credentials: vec![tessera_server::domain::Credential::password(
            id,
            tessera_server::domain::PasswordHash::new(
                tessera_server::password::hash_blocking(password).unwrap(),
            )
            .unwrap(),
            1,
        )],
        created_at: 1,
        failed_logins: 0,
        locked_until: None,
        disabled_at: None,
        require_mfa: false,
    }
}

/// A port that was free a moment ago on 127.0.0.1 (for a server the test
/// starts as a process, or one whose address another's config must name).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Another Tessera to sign in at, as an upstream OpenID provider: at
/// `http://localhost:PORT`, so its cookies are its own and not the server
/// under test's (`127.0.0.1`), with the user alice (`u-alice`, verified
/// email `alice@corp.example`, the given password). Its store, to register
/// the downstream server as its client.
pub async fn provider_tessera(password: &str) -> (Running, tessera_server::store::Store) {
    use tessera_server::store::{Store, UserStore};
    let port = free_port();
    let database = sqlite_url();
    let issuer = format!("http://localhost:{port}");
    let server = start_at(
        Some(([127, 0, 0, 1], port).into()),
        &database,
        "ES256",
        Some(&issuer),
        |_| {},
    )
    .await;
    let store = Store::open(&database).await.unwrap();
    let mut alice = user("u-alice", "alice", password, &[]);
    alice.email = Some("alice@corp.example".into());
    alice.email_verified = true;
    store.create_user(&alice).await.unwrap();
    (server, store)
}

/// An `[[upstream]]` table with the defaults of the configuration file
/// (`create_users = true`, no `trust_email`), labelled "{id} name".
pub fn upstream(
    id: &str,
    kind: tessera_server::config::UpstreamKind,
    client_id: &str,
    secret: &str,
) -> tessera_server::config::UpstreamConfig {
    tessera_server::config::UpstreamConfig {
        id: id.into(),
        name: format!("{id} name"),
        kind,
        client_id: client_id.into(),
        client_secret: Some(secret.into()),
        client_secret_file: None,
        client_secret_env: None,
        scopes: None,
        issuer: None,
        authorization_endpoint: None,
        token_endpoint: None,
        api_base: None,
        userinfo_endpoint: None,
        fields: None,
        create_users: Some(true),
        trust_email: false,
        trust_mfa: false,
        roles_claim: None,
        role_map: Default::default(),
        ca_file: None,
        store_tokens: false,
    }
}

/// The Chromium to drive and the npm tools in `dir` (`playwright-core`,
/// `openid-client`), or `None` with a message when either is missing;
/// under `CI` a missing one fails the test instead.
pub fn chromium(dir: &std::path::Path) -> Option<String> {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let ready = std::path::Path::new(&chromium).exists() && dir.join("node_modules/openid-client").exists();
    if !ready {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the browser test: apt-get install chromium; npm ci in tests/browser"
        );
        eprintln!(
            "SKIPPED browser test: install chromium and run `npm ci` in {}",
            dir.display()
        );
        return None;
    }
    Some(chromium)
}

/// A temp folder with a self-signed certificate for 127.0.0.1 (`cert.pem`)
/// and its key (`key.pem`, PKCS#8), made with the `openssl` CLI: for a
/// server under test that serves https itself, and a client that trusts
/// `cert.pem` as its root.
pub fn self_signed_certificate(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-tls-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let status = std::process::Command::new("openssl")
        .current_dir(&dir)
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            // openssl marks self-signed certificates as CAs by default,
            // which webpki refuses as a server certificate.
            "-addext",
            "basicConstraints=critical,CA:FALSE",
        ])
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the openssl CLI");
    assert!(status.success());
    dir
}
