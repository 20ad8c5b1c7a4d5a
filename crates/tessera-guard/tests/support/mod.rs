//! Test support: a live Tessera server in-process, a fake issuer whose keys
//! and answers a test controls, an HTTP client, and a small API behind the
//! guard that is called without a socket.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::routing::get;
use axum::Router;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use serde_json::Value;
use tessera_guard::{Claims, Guard};
use tessera_server::config::Config;
use tessera_server::store::{ClientStore, Store, UserStore};
use tower::ServiceExt;

#[allow(unused_imports)] // each test binary uses its own part
pub use tessera_testkit::{basic, sqlite_url};

/// The public JWK Set of one signing key, as an issuer publishes it.
pub fn public_jwks(key: &tessera_jwt::SigningKey) -> String {
    serde_json::to_string(
        &tessera_jwt::KeySet::new(vec![key.verifying_key().unwrap()])
            .unwrap()
            .to_public_jwks(),
    )
    .unwrap()
}

/// A Tessera server running in this process (the shared test kit's), with
/// helpers for what the guard's tests register.
pub struct Tessera {
    pub addr: SocketAddr,
    pub issuer: String,
    /// Its configuration (the database, so a test can reach the store and
    /// the master key beside it).
    pub config: Config,
    running: tessera_testkit::Running,
}

impl Tessera {
    /// Starts Tessera on `database` (ES256 access tokens) at `addr`, or on
    /// a free port.
    pub async fn start(database: &str, addr: Option<SocketAddr>) -> Tessera {
        let running = tessera_testkit::start_at(addr, database, "ES256", None, |_| {}).await;
        Tessera {
            addr: running.addr,
            issuer: running.issuer.clone(),
            config: Config {
                database: database.to_owned(),
                ..Config::default()
            },
            running,
        }
    }

    /// Stops the server; its port is free again when this returns.
    pub async fn stop(self) {
        self.running.stop().await;
    }

    pub async fn store(&self) -> Store {
        Store::open(&self.config.database).await.unwrap()
    }

    /// A confidential client (secret "pw") with these grants, scopes and
    /// audiences.
    pub async fn client(&self, id: &str, grants: &[&str], scopes: &str, audiences: &[&str]) {
        self.client_for(id, grants, scopes, audiences, &[]).await;
    }

    /// [`Tessera::client`], registered as the resource server of
    /// `resource_server_for`: it may introspect tokens issued for them
    /// (RFC 7662 §4).
    pub async fn client_for(
        &self,
        id: &str,
        grants: &[&str],
        scopes: &str,
        audiences: &[&str],
        resource_server_for: &[&str],
    ) {
        let scopes: Vec<&str> = scopes.split(' ').collect();
        let mut client = tessera_testkit::client(id, Some("pw"), grants, &scopes, audiences);
        client.name = id.into();
        client.resource_server_for = resource_server_for.iter().map(|s| s.to_string()).collect();
        self.store().await.create_client(&client).await.unwrap();
    }

    /// A user with this password and these roles.
    pub async fn user(&self, username: &str, password: &str, roles: &[&str]) {
        let mut user = tessera_testkit::user(&format!("id-{username}"), username, password, roles);
        user.name = None;
        self.store().await.create_user(&user).await.unwrap();
    }

    /// An access token from the token endpoint (client secret "pw").
    pub async fn token(&self, client_id: &str, form: &str) -> String {
        let (status, _, body) = http(
            "POST",
            &format!("{}/token", self.issuer),
            &[
                ("content-type", "application/x-www-form-urlencoded"),
                ("authorization", &basic(client_id, "pw")),
            ],
            form,
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let json: Value = serde_json::from_slice(&body).unwrap();
        json["access_token"].as_str().unwrap().to_owned()
    }
}

/// One HTTP exchange.
pub async fn http(method: &str, url: &str, headers: &[(&str, &str)], body: &str) -> (u16, HeaderMap, Bytes) {
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build_http::<Full<Bytes>>();
    let mut request = Request::builder().method(method).uri(url);
    for (n, v) in headers {
        request = request.header(*n, *v);
    }
    let response = client
        .request(request.body(Full::new(Bytes::from(body.to_owned()))).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, headers, body)
}

/// A small API: `/me` needs any valid token, `/read` the scope `read`,
/// `/write` the scope `write`, `/admin` the role `admin`.
pub fn api(guard: &Guard) -> Router {
    async fn me(claims: Claims) -> axum::Json<Value> {
        axum::Json(serde_json::json!({
            "sub": claims.subject(),
            "client_id": claims.client_id(),
            "scopes": claims.scopes().collect::<Vec<_>>(),
            "roles": claims.roles().collect::<Vec<_>>(),
            "username": claims.preferred_username(),
        }))
    }
    Router::new()
        .route("/me", get(me).route_layer(guard.layer()))
        .route("/read", get(me).route_layer(guard.layer().scope("read")))
        .route("/write", get(me).route_layer(guard.layer().scope("write")))
        .route("/admin", get(me).route_layer(guard.layer().role("admin")))
}

/// What the API answered.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn challenge(&self) -> &str {
        self.headers
            .get("www-authenticate")
            .map_or("", |v| v.to_str().unwrap())
    }
}

/// Calls `path` on `app` with this token (no socket).
pub async fn call(app: &Router, path: &str, token: Option<&str>) -> Answer {
    let mut request = Request::get(path);
    if let Some(token) = token {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&body).unwrap_or(Value::Null),
    }
}

/// A fake issuer: discovery and a JWKS the test sets, with a count of JWKS
/// fetches, a switch to make it fail, and the Cache-Control it sends; and
/// an introspection endpoint (RFC 7662) that calls the tokens in `active`
/// active, counting its calls.
#[derive(Clone, Default)]
pub struct FakeIssuer {
    pub state: Arc<Mutex<FakeState>>,
}

#[derive(Default)]
pub struct FakeState {
    pub issuer: String,
    pub jwks: String,
    pub cache_control: Option<String>,
    pub failing: bool,
    pub jwks_fetches: usize,
    pub active: Vec<String>,
    pub introspections: usize,
}

impl FakeIssuer {
    /// Serves on a free port; returns the issuer URL.
    pub async fn start(jwks: &str) -> (FakeIssuer, String) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let issuer = format!("http://{}", listener.local_addr().unwrap());
        let fake = FakeIssuer::default();
        {
            let mut s = fake.state.lock().unwrap();
            s.issuer = issuer.clone();
            s.jwks = jwks.to_owned();
        }
        let discovery = {
            let fake = fake.clone();
            move || {
                let s = fake.state.lock().unwrap();
                let doc = serde_json::json!({
                    "issuer": s.issuer,
                    "jwks_uri": format!("{}/keys", s.issuer),
                    "introspection_endpoint": format!("{}/introspect", s.issuer),
                });
                async move { axum::Json(doc) }
            }
        };
        let keys = {
            let fake = fake.clone();
            move || {
                let mut s = fake.state.lock().unwrap();
                s.jwks_fetches += 1;
                let response = if s.failing {
                    (StatusCode::SERVICE_UNAVAILABLE, HeaderMap::new(), String::new())
                } else {
                    let mut headers = HeaderMap::new();
                    if let Some(cc) = &s.cache_control {
                        headers.insert("cache-control", cc.parse().unwrap());
                    }
                    (StatusCode::OK, headers, s.jwks.clone())
                };
                async move { response }
            }
        };
        let introspect = {
            let fake = fake.clone();
            move |form: String| {
                let mut s = fake.state.lock().unwrap();
                s.introspections += 1;
                let token = form_urlencoded::parse(form.as_bytes())
                    .find(|(name, _)| name == "token")
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default();
                let now = tessera_jwt::UnixTime::now().as_secs();
                let answer = if s.active.contains(&token) {
                    serde_json::json!({
                        "active": true, "iss": s.issuer, "sub": "u", "aud": "api", "exp": now + 300,
                        "iat": now, "jti": "j", "client_id": "c", "scope": "read"
                    })
                } else {
                    serde_json::json!({"active": false})
                };
                async move { axum::Json(answer) }
            }
        };
        let app = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/keys", get(keys))
            .route("/introspect", axum::routing::post(introspect));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        (fake, issuer)
    }

    pub fn set(&self, change: impl FnOnce(&mut FakeState)) {
        change(&mut self.state.lock().unwrap());
    }

    pub fn fetches(&self) -> usize {
        self.state.lock().unwrap().jwks_fetches
    }

    pub fn introspections(&self) -> usize {
        self.state.lock().unwrap().introspections
    }
}
