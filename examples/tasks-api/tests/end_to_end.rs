//! The whole story over real HTTP: a Tessera server and the tasks API, each
//! in-process on an ephemeral port. Users log in with the password grant
//! (RFC 6749 §4.3), services use client credentials (§4.4), and the API
//! verifies the tokens with keys it discovered from the server.
//!
//! Each test builds its own pair of servers on fresh databases.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;

use serde_json::{json, Value};
use tessera_server::store::{Client, ClientStore, Store, User, UserStore};
use tessera_testkit::{request, Response};

const PASSWORD: &str = "correct-horse-battery-staple";
const SERVICE_SECRET: &str = "a service secret of some length";

/// Alice and Bob are ordinary users; Ada is an administrator.
const ALICE: &str = "user-alice";
const BOB: &str = "user-bob";
const ADA: &str = "user-ada";

/// A Tessera server and a tasks API that trusts it.
struct World {
    tessera: SocketAddr,
    api: SocketAddr,
    /// Keeps Tessera running for the test (dropping it stops the server).
    _running: tessera_testkit::Running,
}

/// A fresh, empty folder for one test's databases.
fn temp_dir() -> std::path::PathBuf {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("tasks-api-e2e-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One argon2id hash of [`PASSWORD`], shared by every user of every test
/// (hashing is slow in a debug build).
fn password_hash() -> String {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| tessera_server::password::hash_blocking(PASSWORD).unwrap())
        .clone()
}

fn client(id: &str, secret: Option<&str>, grant: &str, scopes: &str, audience: &str) -> Client {
    let scopes: Vec<&str> = scopes.split(' ').collect();
    tessera_testkit::client(id, secret, &[grant], &scopes, &[audience])
}

fn user(id: &str, username: &str, roles: &[&str]) -> User {
    User {
        id: id.into(),
        username: username.into(),
        email: None,
        email_verified: false,
        name: None,
        roles: roles.iter().map(|r| r.to_string()).collect(),
        credentials: vec![tessera_server::domain::Credential::password(
            id,
            tessera_server::domain::PasswordHash::new(password_hash()).unwrap(),
            1,
        )],
        created_at: 1,
        failed_logins: 0,
        locked_until: None,
        disabled_at: None,
        require_mfa: false,
    }
}

impl World {
    /// Starts Tessera on a temp SQLite database with its clients and users,
    /// then the tasks API (audience `tasks-api`) on another temp database.
    async fn start() -> World {
        let dir = temp_dir();
        let database = format!("sqlite://{}/tessera.db", dir.display());
        let running = tessera_testkit::start(&database, "ES256").await;
        let (tessera, issuer) = (running.addr, running.issuer.clone());

        let store = Store::open(&database).await.unwrap();
        // The first-party app: a public client allowed the password grant
        // (off by default), for tokens with this API as audience.
        let app = client(
            "tasks-web",
            None,
            "password",
            "tasks:read tasks:write",
            "tasks-api",
        );
        // A service allowed only to read, and one whose tokens are for
        // another API altogether.
        let reader = client(
            "reader",
            Some(SERVICE_SECRET),
            "client_credentials",
            "tasks:read",
            "tasks-api",
        );
        let billing = client(
            "billing",
            Some(SERVICE_SECRET),
            "client_credentials",
            "tasks:read tasks:write",
            "billing-api",
        );
        for c in [app, reader, billing] {
            store.create_client(&c).await.unwrap();
        }
        // Roles reach the tokens of users (the `roles` claim).
        for u in [
            user(ALICE, "alice", &["user"]),
            user(BOB, "bob", &["user"]),
            user(ADA, "ada", &["admin"]),
        ] {
            store.create_user(&u).await.unwrap();
        }

        let guard = tessera_guard::Guard::discover(&issuer, "tasks-api")
            .await
            .unwrap();
        let db = tasks_api::Db::open(&format!("sqlite://{}/tasks/tasks.db", dir.display()))
            .await
            .unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let api = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, tasks_api::app(guard, db)).await });
        World {
            tessera,
            api,
            _running: running,
        }
    }

    /// A user's access token from the password grant, with `scope`.
    async fn login(&self, username: &str, scope: &str) -> String {
        let form = format!(
            "grant_type=password&client_id=tasks-web&username={username}&password={PASSWORD}&scope={}",
            scope.replace(' ', "+")
        );
        self.token(&form, &[]).await
    }

    /// A service's access token from the client credentials grant.
    async fn service_token(&self, client_id: &str, scope: &str) -> String {
        let basic = basic(client_id, SERVICE_SECRET);
        let form = format!("grant_type=client_credentials&scope={}", scope.replace(' ', "+"));
        self.token(&form, &[("Authorization", &basic)]).await
    }

    async fn token(&self, form: &str, extra: &[(&str, &str)]) -> String {
        let mut headers = vec![("Content-Type", "application/x-www-form-urlencoded")];
        headers.extend_from_slice(extra);
        let r = request(self.tessera, "POST", "/token", &headers, form.as_bytes()).await;
        assert_eq!(r.status, 200, "token request failed: {}", r.text());
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    /// A request to the tasks API, with `token` as Bearer token if any.
    async fn call(&self, method: &str, path: &str, token: Option<&str>, body: Option<&Value>) -> Response {
        self.call_raw(method, path, token, body.map(|b| b.to_string()).as_deref(), true)
            .await
    }

    /// Like [`World::call`], with the body as raw text, and the JSON content
    /// type only if `json`.
    async fn call_raw(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
        json: bool,
    ) -> Response {
        let bearer = token.map(|t| format!("Bearer {t}"));
        let mut headers = Vec::new();
        if let Some(bearer) = &bearer {
            headers.push(("Authorization", bearer.as_str()));
        }
        if body.is_some() && json {
            headers.push(("Content-Type", "application/json"));
        }
        request(self.api, method, path, &headers, body.unwrap_or("").as_bytes()).await
    }
}

/// What the tasks API's answers are checked for, on the test kit's
/// [`Response`].
trait Answer {
    fn text(&self) -> String;
    fn assert_error(&self, status: u16, code: &str);
}

impl Answer for Response {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// Asserts an error response: status, `error` code, and JSON.
    #[track_caller]
    fn assert_error(&self, status: u16, code: &str) {
        assert_eq!(self.status, status, "{}", self.text());
        assert!(
            self.header("content-type")
                .is_some_and(|c| c.starts_with("application/json")),
            "{:?}",
            self.headers
        );
        let body = self.json();
        assert_eq!(body["error"], code, "{body}");
        assert!(
            body["error_description"].as_str().is_some_and(|d| !d.is_empty()),
            "{body}"
        );
    }
}

/// `Authorization: Basic` for a client (RFC 6749 §2.3.1; the ids and
/// secrets here need no form-encoding).
fn basic(id: &str, secret: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

const READ_WRITE: &str = "tasks:read tasks:write";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_creates_lists_updates_and_deletes_tasks() {
    let w = World::start().await;
    let alice = w.login("alice", READ_WRITE).await;
    let token = Some(alice.as_str());

    let r = w.call("GET", "/tasks", token, None).await;
    assert_eq!((r.status, r.json()), (200, json!([])));

    let r = w
        .call("POST", "/tasks", token, Some(&json!({"description": "buy milk"})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let milk = r.json();
    let id = milk["id"].as_i64().expect("a numeric id");
    assert_eq!(milk, json!({"id": id, "description": "buy milk", "done": false}));
    let location = format!("/tasks/{id}");
    assert_eq!(r.header("location"), Some(location.as_str()));

    let r = w
        .call(
            "POST",
            "/tasks",
            token,
            Some(&json!({"description": "walk the dog", "done": true})),
        )
        .await;
    assert_eq!(r.status, 201);
    let dog = r.json();
    assert_eq!(dog["done"], true);
    assert_ne!(dog["id"], milk["id"]);

    let r = w.call("GET", "/tasks", token, None).await;
    assert_eq!((r.status, r.json()), (200, json!([milk, dog])));
    let r = w.call("GET", &location, token, None).await;
    assert_eq!((r.status, r.json()), (200, milk));

    let changed = json!({"id": id, "description": "buy oat milk", "done": true});
    let r = w
        .call(
            "PUT",
            &location,
            token,
            Some(&json!({"description": "buy oat milk", "done": true})),
        )
        .await;
    assert_eq!((r.status, r.json()), (200, changed.clone()));
    let r = w.call("GET", &location, token, None).await;
    assert_eq!(r.json(), changed);
    // PUT replaces: `done` left out is false again.
    let r = w
        .call(
            "PUT",
            &location,
            token,
            Some(&json!({"description": "buy oat milk"})),
        )
        .await;
    assert_eq!(r.json()["done"], false);

    let r = w.call("DELETE", &location, token, None).await;
    assert_eq!(r.status, 204, "{}", r.text());
    assert!(r.body.is_empty());
    let r = w.call("GET", "/tasks", token, None).await;
    assert_eq!(r.json(), json!([dog]));
    w.call("GET", &location, token, None)
        .await
        .assert_error(404, "not_found");
    w.call("DELETE", &location, token, None)
        .await
        .assert_error(404, "not_found");
    w.call("PUT", &location, token, Some(&json!({"description": "back"})))
        .await
        .assert_error(404, "not_found");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_users_task_is_not_found() {
    let w = World::start().await;
    let alice = w.login("alice", READ_WRITE).await;
    let bob = w.login("bob", READ_WRITE).await;
    let r = w
        .call(
            "POST",
            "/tasks",
            Some(&alice),
            Some(&json!({"description": "alice's secret"})),
        )
        .await;
    let task = r.json();
    let path = r.header("location").unwrap().to_owned();

    let r = w.call("GET", "/tasks", Some(&bob), None).await;
    assert_eq!((r.status, r.json()), (200, json!([])));
    let read = w.call("GET", &path, Some(&bob), None).await;
    read.assert_error(404, "not_found");
    w.call(
        "PUT",
        &path,
        Some(&bob),
        Some(&json!({"description": "bob's now", "done": true})),
    )
    .await
    .assert_error(404, "not_found");
    w.call("DELETE", &path, Some(&bob), None)
        .await
        .assert_error(404, "not_found");
    // Someone else's task and no task at all look the same.
    let missing = w.call("GET", "/tasks/999999", Some(&bob), None).await;
    assert_eq!((missing.status, missing.json()), (read.status, read.json()));

    // Alice's task is untouched, and Bob's own tasks stay his.
    let r = w.call("GET", "/tasks", Some(&alice), None).await;
    assert_eq!(r.json(), json!([task]));
    let r = w
        .call(
            "POST",
            "/tasks",
            Some(&bob),
            Some(&json!({"description": "bob's"})),
        )
        .await;
    assert_eq!(r.status, 201);
    let r = w.call("GET", "/tasks", Some(&alice), None).await;
    assert_eq!(r.json(), json!([task]));
    let r = w.call("GET", "/tasks", Some(&bob), None).await;
    assert_eq!(r.json().as_array().map(Vec::len), Some(1));
    assert_eq!(r.json()[0]["description"], "bob's");
}

/// RFC 6750 §3 and §3.1, answered by the guard before any handler runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_are_checked_as_rfc_6750_says() {
    let w = World::start().await;
    let new_task = json!({"description": "should not exist"});

    // No token: 401 and a bare challenge (no error code, §3.1).
    for (method, body) in [("GET", None), ("POST", Some(&new_task))] {
        let r = w.call(method, "/tasks", None, body).await;
        assert_eq!(r.status, 401, "{method}: {}", r.text());
        assert_eq!(r.header("www-authenticate"), Some("Bearer"), "{method}");
    }

    // A token that is not a JWT at all.
    let r = w.call("GET", "/tasks", Some("garbage.not.ajwt"), None).await;
    r.assert_error(401, "invalid_token");
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer error=\"invalid_token\""));

    // A valid token for another API (`aud: billing-api`).
    let billing = w.service_token("billing", READ_WRITE).await;
    let r = w.call("GET", "/tasks", Some(&billing), None).await;
    r.assert_error(401, "invalid_token");
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("audience"),
        "{}",
        r.text()
    );

    // A valid token with `tasks:read` only: reading works, writing is 403
    // naming the missing scope.
    let reader = w.service_token("reader", "tasks:read").await;
    let r = w.call("GET", "/tasks", Some(&reader), None).await;
    assert_eq!((r.status, r.json()), (200, json!([])));
    for (method, path, body) in [
        ("POST", "/tasks", Some(&new_task)),
        ("PUT", "/tasks/1", Some(&new_task)),
        ("DELETE", "/tasks/1", None),
    ] {
        let r = w.call(method, path, Some(&reader), body).await;
        r.assert_error(403, "insufficient_scope");
        let challenge = r.header("www-authenticate").unwrap();
        assert!(
            challenge.starts_with("Bearer error=\"insufficient_scope\""),
            "{challenge}"
        );
        assert!(challenge.contains("scope=\"tasks:write\""), "{challenge}");
    }
    // None of those requests wrote anything.
    let r = w.call("GET", "/tasks", Some(&reader), None).await;
    assert_eq!(r.json(), json!([]));

    // The health check needs no token.
    let r = w.call("GET", "/healthz", None, None).await;
    assert_eq!((r.status, r.text().as_str()), (200, "ok"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listing_everyones_tasks_needs_the_admin_role() {
    let w = World::start().await;
    let alice = w.login("alice", READ_WRITE).await;
    let bob = w.login("bob", READ_WRITE).await;
    let ada = w.login("ada", "tasks:read").await;
    let a = w
        .call("POST", "/tasks", Some(&alice), Some(&json!({"description": "a"})))
        .await
        .json();
    let b = w
        .call(
            "POST",
            "/tasks",
            Some(&bob),
            Some(&json!({"description": "b", "done": true})),
        )
        .await
        .json();

    let r = w.call("GET", "/tasks?all=true", Some(&alice), None).await;
    r.assert_error(403, "insufficient_scope");
    assert!(
        r.json()["error_description"].as_str().unwrap().contains("admin"),
        "{}",
        r.text()
    );
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"insufficient_scope\""));
    let r = w.call("GET", "/tasks?all=false", Some(&alice), None).await;
    assert_eq!((r.status, r.json()), (200, json!([a])));

    let r = w.call("GET", "/tasks?all=true", Some(&ada), None).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(
        r.json(),
        json!([
            {"owner": ALICE, "id": a["id"], "description": "a", "done": false},
            {"owner": BOB, "id": b["id"], "description": "b", "done": true},
        ])
    );
    // Without `all`, an administrator sees only their own tasks.
    let r = w.call("GET", "/tasks", Some(&ada), None).await;
    assert_eq!(r.json(), json!([]));
    // The role is read from the token, not the scope: a service token
    // (no roles) is refused too.
    let reader = w.service_token("reader", "tasks:read").await;
    w.call("GET", "/tasks?all=true", Some(&reader), None)
        .await
        .assert_error(403, "insufficient_scope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_400_invalid_request() {
    let w = World::start().await;
    let alice = w.login("alice", READ_WRITE).await;
    let token = Some(alice.as_str());
    let r = w
        .call("POST", "/tasks", token, Some(&json!({"description": "keep me"})))
        .await;
    let kept = r.json();
    let path = r.header("location").unwrap().to_owned();

    let bodies = [
        ("{\"description\":", true, "not JSON"),
        ("{\"description\": \"x\"}", false, "no JSON content type"),
        ("[]", true, "not an object"),
        ("{}", true, "no description"),
        ("{\"description\": 5}", true, "description not a string"),
        (
            "{\"description\": \"x\", \"done\": \"yes\"}",
            true,
            "done not a boolean",
        ),
        (
            "{\"description\": \"x\", \"owner\": \"user-bob\"}",
            true,
            "unknown member",
        ),
        ("{\"description\": \"\"}", true, "empty description"),
        ("{\"description\": \" \\n\\t \"}", true, "blank description"),
    ];
    let too_long = json!({"description": "x".repeat(1001)}).to_string();
    let bodies = bodies.iter().map(|(b, json, why)| (b.to_string(), *json, *why));
    for (body, json, why) in bodies.chain([(too_long, true, "1001 characters")]) {
        for (method, at) in [("POST", "/tasks"), ("PUT", path.as_str())] {
            let r = w.call_raw(method, at, token, Some(&body), json).await;
            assert_eq!(r.status, 400, "{method} {why}: {}", r.text());
            r.assert_error(400, "invalid_request");
        }
    }
    // 1000 characters is the limit, counted in characters, not bytes.
    let longest = "é".repeat(1000);
    let r = w
        .call("POST", "/tasks", token, Some(&json!({"description": longest})))
        .await;
    assert_eq!(r.status, 201, "{}", r.text());
    let longest = r.json();

    w.call("GET", "/tasks?all=maybe", token, None)
        .await
        .assert_error(400, "invalid_request");
    w.call("GET", "/tasks/not-a-number", token, None)
        .await
        .assert_error(404, "not_found");

    // None of the refused requests changed anything.
    let r = w.call("GET", "/tasks", token, None).await;
    assert_eq!(r.json(), json!([kept, longest]));
}
