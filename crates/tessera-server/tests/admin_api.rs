//! The admin API (`/admin/v1`, issue 20 item 3) over HTTP, on SQLite and
//! PostgreSQL: who may call it (RFC 6750 §3.1 challenges: 401 without a
//! token or with one for another audience, 403 without the admin role),
//! clients and users created, read with an `ETag`, changed and deleted
//! with `If-Match` (428 without, 412 stale), cursor paging, a user's
//! sessions ended, signing keys listed (public parts only), rotated and
//! revoked, and the OpenAPI document served without a token,
//! equal to the checked-in one and valid OpenAPI 3.1.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use tessera_testkit as support;

use std::net::SocketAddr;
use std::process::Output;

use serde_json::{json, Value};
use support::{basic, client, request, start, token, Response};
use tessera_server::store::{ClientStore, Session, SessionStore, Store, UserStore};

const TESSERA: &str = env!("CARGO_BIN_EXE_tessera");

/// The master key `support` gives PostgreSQL servers.
const POSTGRES_MASTER_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Runs the `tessera` binary, as an operator would.
async fn tessera(args: &[&str]) -> Output {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let postgres = args
        .windows(2)
        .any(|w| w[0] == "--database" && w[1].starts_with("postgres"));
    tokio::task::spawn_blocking(move || {
        let mut command = std::process::Command::new(TESSERA);
        command.args(&args);
        if postgres {
            command.env("TESSERA_MASTER_KEY", POSTGRES_MASTER_KEY);
        }
        command.output().unwrap()
    })
    .await
    .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The claims of a JWT, unverified (the test reads what it was given).
fn claims(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).unwrap();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, payload).unwrap();
    serde_json::from_slice(&bytes).unwrap()
}

/// A client-credentials token of (`id`, `secret`), with `form` added.
async fn service_token(addr: SocketAddr, id: &str, secret: &str, form: &str) -> String {
    let r = token(
        addr,
        &format!("grant_type=client_credentials{form}"),
        &[("Authorization", &basic(id, secret))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    r.json()["access_token"].as_str().unwrap().to_owned()
}

/// A request to the admin API with `token` (if any) and `extra` headers.
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: Option<Value>,
) -> Response {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers: Vec<(&str, &str)> = extra.to_vec();
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    if !body.is_empty() {
        headers.push(("Content-Type", "application/json"));
    }
    request(addr, method, path, &headers, body.as_bytes()).await
}

/// The admin client, made with `tessera client create --admin`, and its
/// token: `aud` holds `tessera-admin`, `roles` is `["admin"]`.
async fn admin_token(database: &str, addr: SocketAddr) -> String {
    let out = tessera(&[
        "client",
        "create",
        "--database",
        database,
        "--name",
        "ops script",
        "--admin",
    ])
    .await;
    assert!(
        out.status.success(),
        "client create --admin: {}",
        text(&out.stderr)
    );
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = created["client_id"].as_str().unwrap();
    let secret = created["client_secret"].as_str().unwrap();
    let token = service_token(addr, id, secret, "").await;
    let c = claims(&token);
    let aud: Vec<&str> = match &c["aud"] {
        Value::String(one) => vec![one.as_str()],
        Value::Array(many) => many.iter().map(|v| v.as_str().unwrap()).collect(),
        other => panic!("aud {other:?}"),
    };
    assert!(aud.contains(&"tessera-admin"), "{c}");
    assert_eq!(c["roles"], json!(["admin"]), "{c}");
    token
}

/// 401 with a `Bearer` challenge.
fn assert_unauthenticated(r: &Response, what: &str) {
    assert_eq!(r.status, 401, "{what}: {}", text(&r.body));
    assert!(
        r.header("www-authenticate")
            .unwrap_or_default()
            .starts_with("Bearer"),
        "{what}"
    );
    assert_eq!(r.header("content-type"), Some("application/json"), "{what}");
}

async fn who_may_call(database: &str) {
    let server = start(database, "ES256").await;
    let addr = server.addr;
    let store = Store::open(database).await.unwrap();
    let admin = admin_token(database, addr).await;
    // A client that may ask for the tessera-admin audience but is no
    // administrator's: its token carries no admin role.
    store
        .create_client(&client(
            "reporter",
            Some("pw"),
            &["client_credentials"],
            &[],
            &["tessera-admin", "reports"],
        ))
        .await
        .unwrap();

    // No token: 401, bare challenge, JSON body.
    let r = call(addr, "GET", "/admin/v1/clients", None, &[], None).await;
    assert_unauthenticated(&r, "no token");
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"tessera\""));
    assert_eq!(r.json()["error"], "invalid_token");
    // Junk: 401 invalid_token.
    let r = call(addr, "GET", "/admin/v1/clients", Some("e30.e30.e30"), &[], None).await;
    assert_unauthenticated(&r, "junk token");
    // A token of this server for another audience: 401.
    let reports = service_token(addr, "reporter", "pw", "&audience=reports").await;
    let r = call(addr, "GET", "/admin/v1/users", Some(&reports), &[], None).await;
    assert_unauthenticated(&r, "another audience");
    assert!(r.header("www-authenticate").unwrap().contains("invalid_token"));
    // A tessera-admin token without the admin role: 403.
    let no_role = service_token(addr, "reporter", "pw", "&audience=tessera-admin").await;
    assert!(claims(&no_role).get("roles").is_none());
    let r = call(addr, "GET", "/admin/v1/users", Some(&no_role), &[], None).await;
    assert_eq!(r.status, 403, "{}", text(&r.body));
    assert_eq!(r.json()["error"], "insufficient_scope");
    assert!(r
        .header("www-authenticate")
        .unwrap()
        .contains("insufficient_scope"));
    // The admin's token: 200.
    let r = call(addr, "GET", "/admin/v1/users", Some(&admin), &[], None).await;
    assert_eq!(r.status, 200, "{}", text(&r.body));

    // A user with the admin role (`tessera user create --role admin`)
    // gets it in their tokens, and may administer; one without it may not.
    // Demoted, their token stops working at once (step 5 of
    // `admin::authorize`), not at its expiry.
    for (id, name, roles) in [("u-root", "root", &["admin"][..]), ("u-dev", "dev", &[][..])] {
        store
            .create_user(&support::user(id, name, PASSWORD, roles))
            .await
            .unwrap();
    }
    store
        .create_client(&client(
            "console",
            Some("pw"),
            &["password"],
            &["roles", "profile"],
            &["tessera-admin"],
        ))
        .await
        .unwrap();
    let password = PASSWORD.replace(' ', "+");
    let mut tokens = Vec::new();
    for (name, status) in [("root", 200), ("dev", 403)] {
        let r = token(
            addr,
            &format!("grant_type=password&username={name}&password={password}&scope=roles"),
            &[("Authorization", &basic("console", "pw"))],
        )
        .await;
        assert_eq!(r.status, 200, "{}", text(&r.body));
        let user_token = r.json()["access_token"].as_str().unwrap().to_owned();
        let r = call(addr, "GET", "/admin/v1/clients", Some(&user_token), &[], None).await;
        assert_eq!(r.status, status, "{name}: {}", text(&r.body));
        tokens.push(user_token);
    }
    assert_eq!(claims(&tokens[0])["roles"], json!(["admin"]));
    let r = call(addr, "GET", "/admin/v1/users/u-root", Some(&admin), &[], None).await;
    let etag = r.header("etag").unwrap().to_owned();
    let r = call(
        addr,
        "PATCH",
        "/admin/v1/users/u-root",
        Some(&admin),
        &[("If-Match", &etag)],
        Some(json!({"roles": []})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    let r = call(addr, "GET", "/admin/v1/clients", Some(&tokens[0]), &[], None).await;
    assert_eq!(r.status, 403, "demoted: {}", text(&r.body));

    // The OpenAPI document needs no token.
    let r = call(addr, "GET", "/admin/v1/openapi.json", None, &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["openapi"], "3.1.0");
    server.stop().await;
}

/// Where the OpenAPI document is checked in.
const CHECKED_IN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/admin-openapi.json");

/// The document the server serves (generated from the handlers by
/// utoipa) is the checked-in one, byte for byte, so it cannot drift.
/// `TESSERA_WRITE_OPENAPI=1` writes it instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_is_the_checked_in_one() {
    let server = start(&support::sqlite_url(), "ES256").await;
    let r = call(server.addr, "GET", "/admin/v1/openapi.json", None, &[], None).await;
    server.stop().await;
    assert_eq!(r.status, 200);
    let served = text(&r.body);
    if std::env::var_os("TESSERA_WRITE_OPENAPI").is_some() {
        std::fs::write(CHECKED_IN, &served).unwrap();
        return;
    }
    let checked_in = std::fs::read_to_string(CHECKED_IN).unwrap_or_default();
    assert!(
        served == checked_in,
        "docs/admin-openapi.json is not the document the handlers generate; regenerate it with\n  \
         TESSERA_WRITE_OPENAPI=1 cargo test -p tessera-server --test admin_api the_openapi_document_is_the_checked_in_one\n\
         and review the diff"
    );
    // Every path the issue names for this slice is in it.
    let doc: Value = serde_json::from_str(&served).unwrap();
    for path in [
        "/admin/v1/clients",
        "/admin/v1/clients/{client_id}",
        "/admin/v1/users",
        "/admin/v1/users/{user_id}",
        "/admin/v1/users/{user_id}/sessions",
        "/admin/v1/users/{user_id}/consents",
        "/admin/v1/keys",
        "/admin/v1/keys/rotate",
        "/admin/v1/keys/{kid}/revoke",
        "/admin/v1/clients/{client_id}/secret",
        "/admin/v1/users/{user_id}/password",
        "/admin/v1/upstreams",
        "/admin/v1/upstreams/{id}",
        "/admin/v1/audit",
        "/admin/v1/openapi.json",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} missing");
    }
}

/// The checked-in document is valid OpenAPI 3.1, by an independent
/// validator (Python's `openapi-spec-validator`; `.ci/run` installs it).
/// Outside CI a missing validator skips the test with a message; in CI
/// (`CI` set) it fails.
#[test]
fn the_openapi_document_is_valid_openapi_3_1() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import openapi_spec_validator"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must validate the OpenAPI document: pip install openapi-spec-validator"
        );
        eprintln!("SKIPPED OpenAPI validation: python3 with openapi-spec-validator not found (pip install openapi-spec-validator)");
        return;
    }
    let script = "import json, sys\n\
from openapi_spec_validator import validate\n\
from openapi_spec_validator.validation import OpenAPIV31SpecValidator\n\
validate(json.load(open(sys.argv[1])), cls=OpenAPIV31SpecValidator)\n\
print('valid')\n";
    let out = std::process::Command::new("python3")
        .args(["-c", script, CHECKED_IN])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openapi-spec-validator refused docs/admin-openapi.json:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

/// Issue 20: the admin API exercised by a client checked against the
/// OpenAPI document. `tests/interop/admin_openapi_client.py` runs a
/// scripted admin session (create a client, patch it with If-Match, rotate
/// its secret, create, reset and disable a user, list the audit filtered)
/// and validates every request and response with Python's `openapi-core`
/// (`.ci/run` installs it). Outside CI a missing package skips the test
/// with a message; in CI (`CI` set) it fails.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_admin_api_answers_as_its_document_says() {
    let probe = std::process::Command::new("python3")
        .args(["-c", "import openapi_core, requests"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must check the admin API against its document: pip install openapi-core requests"
        );
        eprintln!("SKIPPED the openapi-core client: pip install 'openapi-core>=0.19,<0.20' requests");
        return;
    }
    let database = support::sqlite_url();
    let server = start(&database, "ES256").await;
    let admin = admin_token(&database, server.addr).await;
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/admin_openapi_client.py");
    let base = format!("http://{}", server.addr);
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("python3")
            .arg(script)
            .args([base.as_str(), admin.as_str(), CHECKED_IN])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    server.stop().await;
    assert!(
        out.status.success(),
        "the openapi-core client failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).contains("ok "), "{}", text(&out.stdout));
}

async fn clients_are_created_read_and_deleted(database: &str) {
    let server = start(database, "ES256").await;
    let addr = server.addr;
    let admin = admin_token(database, addr).await;
    let r = call(
        addr,
        "POST",
        "/admin/v1/clients",
        Some(&admin),
        &[],
        Some(json!({
            "name": "billing",
            "grant_types": ["client_credentials"],
            "scope": "invoices:read",
            "audiences": ["billing-api"],
        })),
    )
    .await;
    assert_eq!(r.status, 201, "{}", text(&r.body));
    let created = r.json();
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("location"),
        Some(format!("/admin/v1/clients/{id}").as_str())
    );
    // The secret works, and is shown once: a GET has none.
    service_token(addr, &id, &secret, "").await;
    let path = format!("/admin/v1/clients/{id}");
    let r = call(addr, "GET", &path, Some(&admin), &[], None).await;
    assert_eq!(r.status, 200);
    assert!(r.json().get("client_secret").is_none());
    assert_eq!(r.json()["audiences"], json!(["billing-api"]));
    let etag = r.header("etag").unwrap().to_owned();
    // A rule of registration is the API's 400: a public client_credentials client.
    let r = call(
        addr,
        "POST",
        "/admin/v1/clients",
        Some(&admin),
        &[],
        Some(json!({"name": "x", "public": true})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", text(&r.body));
    assert_eq!(r.json()["error"], "invalid_request");
    // An unknown field is refused, not ignored.
    let r = call(
        addr,
        "POST",
        "/admin/v1/clients",
        Some(&admin),
        &[],
        Some(json!({"name": "x", "secret": "mine"})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", text(&r.body));
    // Delete: 428 without If-Match, 412 stale, 204 current.
    let r = call(addr, "DELETE", &path, Some(&admin), &[], None).await;
    assert_eq!(r.status, 428, "{}", text(&r.body));
    assert_eq!(r.json()["error"], "precondition_required");
    let r = call(
        addr,
        "DELETE",
        &path,
        Some(&admin),
        &[("If-Match", "\"stale\"")],
        None,
    )
    .await;
    assert_eq!(r.status, 412, "{}", text(&r.body));
    let r = call(addr, "DELETE", &path, Some(&admin), &[("If-Match", &etag)], None).await;
    assert_eq!(r.status, 204, "{}", text(&r.body));
    let r = call(addr, "GET", &path, Some(&admin), &[], None).await;
    assert_eq!(r.status, 404);
    assert_eq!(r.json()["error"], "not_found");
    // Its secret no longer works.
    let r = token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic(&id, &secret))],
    )
    .await;
    assert_eq!(r.status, 401);
    server.stop().await;
}

const PASSWORD: &str = "correct horse battery staple 41";

async fn users_are_created_disabled_paged_and_their_sessions_ended(database: &str) {
    let server = start(database, "ES256").await;
    let addr = server.addr;
    let store = Store::open(database).await.unwrap();
    let admin = admin_token(database, addr).await;
    store
        .create_client(&client("app", Some("pw"), &["password"], &["profile"], &["api"]))
        .await
        .unwrap();
    let mut ids = Vec::new();
    for name in ["alice", "bob", "carol"] {
        let r = call(
            addr,
            "POST",
            "/admin/v1/users",
            Some(&admin),
            &[],
            Some(json!({"username": name, "email": format!("{name}@example.com"), "password": PASSWORD})),
        )
        .await;
        assert_eq!(r.status, 201, "{}", text(&r.body));
        assert_eq!(r.json()["username"], name);
        assert!(r.json().get("password").is_none());
        ids.push(r.json()["user_id"].as_str().unwrap().to_owned());
    }
    // A taken username is 409.
    let r = call(
        addr,
        "POST",
        "/admin/v1/users",
        Some(&admin),
        &[],
        Some(json!({"username": "alice"})),
    )
    .await;
    assert_eq!(r.status, 409, "{}", text(&r.body));
    // Paging by cursor: 2, then 1, then no cursor.
    let r = call(addr, "GET", "/admin/v1/users?limit=2", Some(&admin), &[], None).await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    let first = r.json();
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_cursor"].as_str().unwrap();
    let r = call(
        addr,
        "GET",
        &format!("/admin/v1/users?limit=2&cursor={cursor}"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    let second = r.json();
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second.get("next_cursor").is_none());
    let mut seen: Vec<String> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .chain(second["items"].as_array().unwrap())
        .map(|u| u["user_id"].as_str().unwrap().to_owned())
        .collect();
    seen.sort();
    ids.sort();
    assert_eq!(seen, ids);
    let r = call(addr, "GET", "/admin/v1/users?limit=0", Some(&admin), &[], None).await;
    assert_eq!(r.status, 400);

    // alice signs in with the password grant.
    let alice = call(addr, "GET", "/admin/v1/users", Some(&admin), &[], None)
        .await
        .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["username"] == "alice")
        .unwrap()["user_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let password_grant = format!(
        "grant_type=password&username=alice&password={}",
        PASSWORD.replace(' ', "+")
    );
    let r = token(addr, &password_grant, &[("Authorization", &basic("app", "pw"))]).await;
    assert_eq!(r.status, 200, "{}", text(&r.body));

    // Her sessions: listed, and one ended.
    let now = tessera_jwt::UnixTime::now().as_secs();
    for sid in ["sid-a", "sid-b"] {
        store
            .create_session(&Session {
                id_hash: sid.as_bytes().to_vec(),
                sid: sid.into(),
                user_id: alice.clone(),
                auth_time: now,
                expires_at: now + 3600,
                client_ip: None,
                proofs: tessera_server::domain::Proofs::none(),
            })
            .await
            .unwrap();
    }
    let sessions = format!("/admin/v1/users/{alice}/sessions");
    let r = call(addr, "GET", &sessions, Some(&admin), &[], None).await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    let listed: Vec<String> = r.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["sid"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ["sid-a", "sid-b"]);
    let r = call(
        addr,
        "DELETE",
        &format!("{sessions}/sid-a"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", text(&r.body));
    let r = call(addr, "GET", &sessions, Some(&admin), &[], None).await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 1);
    assert_eq!(r.json()["items"][0]["sid"], "sid-b");
    let r = call(
        addr,
        "DELETE",
        &format!("{sessions}/sid-a"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404);
    let r = call(
        addr,
        "GET",
        &format!("/admin/v1/users/{alice}/consents"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    assert_eq!(r.json()["items"], json!([]));

    // Disable her: PATCH with If-Match (428 without, 412 stale).
    let path = format!("/admin/v1/users/{alice}");
    let r = call(addr, "GET", &path, Some(&admin), &[], None).await;
    let etag = r.header("etag").unwrap().to_owned();
    assert_eq!(r.json()["disabled"], false);
    let disable = json!({"disabled": true});
    let r = call(addr, "PATCH", &path, Some(&admin), &[], Some(disable.clone())).await;
    assert_eq!(r.status, 428, "{}", text(&r.body));
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", "\"old\"")],
        Some(disable.clone()),
    )
    .await;
    assert_eq!(r.status, 412, "{}", text(&r.body));
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", &etag)],
        Some(disable.clone()),
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    assert_eq!(r.json()["disabled"], true);
    let new_etag = r.header("etag").unwrap().to_owned();
    assert_ne!(new_etag, etag);
    // The old ETag is stale now: a second admin's write with it is 412.
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", &etag)],
        Some(json!({"roles": ["auditor"]})),
    )
    .await;
    assert_eq!(r.status, 412, "{}", text(&r.body));
    // Disabled: her password grant fails, and her sessions ended.
    let r = token(addr, &password_grant, &[("Authorization", &basic("app", "pw"))]).await;
    assert_eq!(r.status, 400, "{}", text(&r.body));
    assert_eq!(r.json()["error"], "invalid_grant");
    let r = call(addr, "GET", &sessions, Some(&admin), &[], None).await;
    assert_eq!(r.json()["items"], json!([]));

    // Delete: If-Match with the current tag.
    let r = call(
        addr,
        "DELETE",
        &path,
        Some(&admin),
        &[("If-Match", &new_etag)],
        None,
    )
    .await;
    assert_eq!(r.status, 204, "{}", text(&r.body));
    let r = call(addr, "GET", &path, Some(&admin), &[], None).await;
    assert_eq!(r.status, 404);
    server.stop().await;
}

/// Step 5 of `admin::authorize`: a deleted admin client's token stops
/// working at once, not at its expiry.
async fn a_deleted_admin_clients_token_dies_with_it(database: &str) {
    let server = start(database, "ES256").await;
    let addr = server.addr;
    let admin = admin_token(database, addr).await;
    let other = admin_token(database, addr).await;
    let id = claims(&other)["client_id"].as_str().unwrap().to_owned();
    let path = format!("/admin/v1/clients/{id}");
    let etag = call(addr, "GET", &path, Some(&admin), &[], None)
        .await
        .header("etag")
        .unwrap()
        .to_owned();
    let r = call(addr, "DELETE", &path, Some(&admin), &[("If-Match", &etag)], None).await;
    assert_eq!(r.status, 204);
    let r = call(addr, "GET", "/admin/v1/clients", Some(&other), &[], None).await;
    assert_unauthenticated(&r, "deleted admin client");
    server.stop().await;
}

/// The `kid` in a JWT's header.
fn kid(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let bytes = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, header).unwrap();
    let header: Value = serde_json::from_slice(&bytes).unwrap();
    header["kid"].as_str().unwrap().to_owned()
}

/// The kids the server publishes.
async fn published(addr: SocketAddr) -> Vec<String> {
    let jwks = request(addr, "GET", "/jwks", &[], b"").await.json();
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

/// RFC 7662 introspection of `token` by the client `svc`.
async fn introspect(addr: SocketAddr, token: &str) -> Value {
    let r = request(
        addr,
        "POST",
        "/introspect",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &basic("svc", "pw")),
        ],
        format!("token={token}").as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    r.json()
}

/// The admin API's `/admin/v1/keys`, as `tessera keys list | rotate |
/// revoke`: the list shows public parts only; a rotated key is published;
/// a revoked key's tokens are refused at once (the admin's own included),
/// and revoking it again is 409; a token without the admin role gets 403.
async fn signing_keys_are_listed_rotated_and_revoked(database: &str) {
    let server = start(database, "ES256").await;
    let addr = server.addr;
    let store = Store::open(database).await.unwrap();
    let admin = admin_token(database, addr).await;
    store
        .create_client(&client(
            "svc",
            Some("pw"),
            &["client_credentials"],
            &[],
            &["api", "tessera-admin"],
        ))
        .await
        .unwrap();
    let signing = kid(&admin);

    // Not an administrator: 403 on every keys route, and nothing changes.
    let no_role = service_token(addr, "svc", "pw", "&audience=tessera-admin").await;
    let before = call(addr, "GET", "/admin/v1/keys", Some(&admin), &[], None).await;
    for (method, path) in [
        ("GET", "/admin/v1/keys".to_owned()),
        ("POST", "/admin/v1/keys/rotate".to_owned()),
        ("POST", format!("/admin/v1/keys/{signing}/revoke")),
    ] {
        let r = call(addr, method, &path, Some(&no_role), &[], None).await;
        assert_eq!(r.status, 403, "{method} {path}: {}", text(&r.body));
        assert_eq!(r.json()["error"], "insufficient_scope");
        let r = call(addr, method, &path, None, &[], None).await;
        assert_unauthenticated(&r, &path);
    }

    // The list: the ES256 key signing, the RS256 key of ID tokens, public
    // parts only.
    let r = call(addr, "GET", "/admin/v1/keys", Some(&admin), &[], None).await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    assert_eq!(r.body, before.body, "a refused call changed nothing");
    let listed = r.json();
    let items = listed["items"].as_array().unwrap();
    let es = items.iter().find(|k| k["kid"] == signing.as_str()).unwrap();
    assert_eq!(es["alg"], "ES256");
    assert_eq!(es["use"], "sig");
    assert_eq!(es["state"], "active");
    assert_eq!(es["published"], true);
    assert_eq!(es["public_jwk"]["kid"], signing.as_str());
    assert!(items
        .iter()
        .any(|k| k["alg"] == "RS256" && k["state"] == "active"));
    for k in items {
        let jwk = k["public_jwk"].as_object().unwrap();
        for private in ["d", "p", "q", "dp", "dq", "qi", "k", "oth"] {
            assert!(!jwk.contains_key(private), "{private} in {k}");
        }
    }
    let body = text(&r.body);
    assert!(!body.contains("sealed") && !body.contains("private"), "{body}");

    // Rotation: 201, the new key is next and published (within a reload).
    for bad in [
        json!({"alg": "HS256"}),
        json!({"alg": "none"}),
        json!({"bits": 4096}),
    ] {
        let r = call(
            addr,
            "POST",
            "/admin/v1/keys/rotate",
            Some(&admin),
            &[],
            Some(bad.clone()),
        )
        .await;
        assert_eq!(r.status, 400, "{bad}: {}", text(&r.body));
        assert_eq!(r.json()["error"], "invalid_request");
    }
    let r = call(addr, "POST", "/admin/v1/keys/rotate", Some(&admin), &[], None).await;
    assert_eq!(r.status, 201, "{}", text(&r.body));
    let next = r.json();
    assert_eq!(next["alg"], "ES256", "the configured token_alg");
    assert_eq!(next["state"], "next");
    assert!(next["public_jwk"].get("d").is_none());
    let next_kid = next["kid"].as_str().unwrap().to_owned();
    let mut seen = false;
    for _ in 0..50 {
        if published(addr).await.contains(&next_kid) {
            seen = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(seen, "the rotated key {next_kid} is published");

    // Revocation of the signing key: a token it signed is refused at
    // once, the admin's own too; a new key signs in its place.
    let t = service_token(addr, "svc", "pw", "&audience=api").await;
    assert_eq!(kid(&t), signing);
    assert_eq!(introspect(addr, &t).await["active"], true);
    let path = format!("/admin/v1/keys/{signing}/revoke");
    let r = call(addr, "POST", &path, Some(&admin), &[], None).await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    let done = r.json();
    assert_eq!(done["revoked"]["kid"], signing.as_str());
    assert_eq!(done["revoked"]["state"], "revoked");
    let replacement = done["replacement"]["kid"].as_str().unwrap().to_owned();
    assert_ne!(replacement, signing);
    assert_eq!(done["rotation_cancelled"], false);
    assert_eq!(introspect(addr, &t).await, json!({"active": false}));
    let r = call(addr, "GET", "/admin/v1/keys", Some(&admin), &[], None).await;
    assert_unauthenticated(&r, "the admin's token, signed by the revoked key");

    // A new admin token, once the server signs with the replacement.
    let mut admin = admin_token(database, addr).await;
    for _ in 0..50 {
        if kid(&admin) != signing {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        admin = admin_token(database, addr).await;
    }
    assert_eq!(kid(&admin), replacement);
    // Revoked already: 409, and nothing changes; unknown: 404.
    let before = call(addr, "GET", "/admin/v1/keys", Some(&admin), &[], None).await;
    let r = call(addr, "POST", &path, Some(&admin), &[], None).await;
    assert_eq!(r.status, 409, "{}", text(&r.body));
    assert_eq!(r.json()["error"], "conflict");
    let r = call(
        addr,
        "POST",
        "/admin/v1/keys/no-such-kid/revoke",
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", text(&r.body));
    let after = call(addr, "GET", "/admin/v1/keys", Some(&admin), &[], None).await;
    assert_eq!(after.body, before.body);
    let listed = after.json();
    let gone = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == signing.as_str())
        .unwrap();
    assert_eq!(gone["state"], "revoked");
    assert_eq!(gone["published"], false);
    assert!(!published(addr).await.contains(&signing));
    server.stop().await;
}

/// The ETag of a GET of `path`.
async fn etag_of(addr: SocketAddr, admin: &str, path: &str) -> String {
    let r = call(addr, "GET", path, Some(admin), &[], None).await;
    assert_eq!(r.status, 200, "{path}: {}", text(&r.body));
    r.header("etag").unwrap().to_owned()
}

/// `PATCH /admin/v1/clients/{client_id}` (the rules of registration,
/// `If-Match`) and `POST .../secret` (the new secret once, the old one
/// dead, public clients refused).
async fn clients_are_patched_and_their_secret_rotated(database: &str) {
    let server = start(database, "ES256").await;
    let addr = server.addr;
    let store = Store::open(database).await.unwrap();
    let admin = admin_token(database, addr).await;
    let r = call(
        addr,
        "POST",
        "/admin/v1/clients",
        Some(&admin),
        &[],
        Some(json!({"name": "billing", "scope": "invoices:read", "audiences": ["billing-api"]})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", text(&r.body));
    let id = r.json()["client_id"].as_str().unwrap().to_owned();
    let old_secret = r.json()["client_secret"].as_str().unwrap().to_owned();
    let path = format!("/admin/v1/clients/{id}");
    let etag = etag_of(addr, &admin, &path).await;

    // Refusals: no If-Match 428, stale 412, unknown client 404, a rule of
    // registration 400 with its reason, an unknown field 400, and a token
    // without the admin role 403; none changes anything.
    let rename = json!({"name": "invoices"});
    let r = call(addr, "PATCH", &path, Some(&admin), &[], Some(rename.clone())).await;
    assert_eq!(r.status, 428, "{}", text(&r.body));
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", "\"stale\"")],
        Some(rename.clone()),
    )
    .await;
    assert_eq!(r.status, 412, "{}", text(&r.body));
    assert_eq!(r.json()["error"], "precondition_failed");
    let r = call(
        addr,
        "PATCH",
        "/admin/v1/clients/no-such-client",
        Some(&admin),
        &[("If-Match", &etag)],
        Some(rename.clone()),
    )
    .await;
    assert_eq!(r.status, 404, "{}", text(&r.body));
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", &etag)],
        Some(json!({"grant_types": ["authorization_code"]})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", text(&r.body));
    assert_eq!(r.json()["error"], "invalid_request");
    assert!(
        r.json()["error_description"]
            .as_str()
            .unwrap()
            .contains("redirect"),
        "the reason: {}",
        text(&r.body)
    );
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", &etag)],
        Some(json!({"redirect_uris": ["javascript:alert(1)"], "grant_types": ["authorization_code"]})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", text(&r.body));
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", &etag)],
        Some(json!({"public": true})),
    )
    .await;
    assert_eq!(r.status, 400, "unknown field: {}", text(&r.body));
    store
        .create_client(&client(
            "reporter",
            Some("pw"),
            &["client_credentials"],
            &[],
            &["tessera-admin"],
        ))
        .await
        .unwrap();
    let no_role = service_token(addr, "reporter", "pw", "&audience=tessera-admin").await;
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&no_role),
        &[("If-Match", &etag)],
        Some(rename.clone()),
    )
    .await;
    assert_eq!(r.status, 403, "{}", text(&r.body));
    let r = call(
        addr,
        "POST",
        &format!("{path}/secret"),
        Some(&no_role),
        &[("If-Match", &etag)],
        None,
    )
    .await;
    assert_eq!(r.status, 403, "{}", text(&r.body));
    let r = call(
        addr,
        "POST",
        &format!("{path}/secret"),
        None,
        &[("If-Match", &etag)],
        None,
    )
    .await;
    assert_unauthenticated(&r, "rotation without a token");
    assert_eq!(etag_of(addr, &admin, &path).await, etag, "nothing changed");

    // A change: 200 with the client as changed and a new ETag.
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", &etag)],
        Some(json!({"name": "invoices", "scope": "invoices:read invoices:write", "require_mfa": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    assert_eq!(r.json()["name"], "invoices");
    assert_eq!(r.json()["scope"], "invoices:read invoices:write");
    assert_eq!(r.json()["require_mfa"], true);
    assert_eq!(r.json()["audiences"], json!(["billing-api"]), "untouched");
    let etag2 = r.header("etag").unwrap().to_owned();
    assert_ne!(etag2, etag);
    assert_eq!(etag_of(addr, &admin, &path).await, etag2);
    let t = service_token(addr, &id, &old_secret, "&scope=invoices:write").await;
    assert_eq!(claims(&t)["scope"], "invoices:write", "the new scope is used");

    // Rotation: 428 without If-Match, 412 stale; then the new secret once,
    // the old one refused at once.
    let secret_path = format!("{path}/secret");
    let r = call(addr, "POST", &secret_path, Some(&admin), &[], None).await;
    assert_eq!(r.status, 428, "{}", text(&r.body));
    let r = call(
        addr,
        "POST",
        &secret_path,
        Some(&admin),
        &[("If-Match", &etag)],
        None,
    )
    .await;
    assert_eq!(r.status, 412, "the ETag before the change: {}", text(&r.body));
    let r = call(
        addr,
        "POST",
        "/admin/v1/clients/no-such-client/secret",
        Some(&admin),
        &[("If-Match", &etag2)],
        None,
    )
    .await;
    assert_eq!(r.status, 404, "{}", text(&r.body));
    let r = call(
        addr,
        "POST",
        &secret_path,
        Some(&admin),
        &[("If-Match", &etag2)],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let new_secret = r.json()["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["client_id"], id.as_str());
    assert_ne!(new_secret, old_secret);
    let r = token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic(&id, &old_secret))],
    )
    .await;
    assert_eq!(r.status, 401, "the old secret: {}", text(&r.body));
    service_token(addr, &id, &new_secret, "").await;
    let got = call(addr, "GET", &path, Some(&admin), &[], None).await;
    assert!(!text(&got.body).contains(&new_secret));
    assert_ne!(got.header("etag").unwrap(), etag2, "a rotation changes the ETag");

    // A public client has no secret to rotate: 400.
    let r = call(
        addr,
        "POST",
        "/admin/v1/clients",
        Some(&admin),
        &[],
        Some(
            json!({"name": "spa", "public": true, "grant_types": ["authorization_code"],
                    "redirect_uris": ["https://spa.example/cb"]}),
        ),
    )
    .await;
    assert_eq!(r.status, 201, "{}", text(&r.body));
    let spa = format!("/admin/v1/clients/{}", r.json()["client_id"].as_str().unwrap());
    let spa_etag = etag_of(addr, &admin, &spa).await;
    let r = call(
        addr,
        "POST",
        &format!("{spa}/secret"),
        Some(&admin),
        &[("If-Match", &spa_etag)],
        None,
    )
    .await;
    assert_eq!(r.status, 400, "{}", text(&r.body));
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("no secret"));
    server.stop().await;
}

/// `POST /admin/v1/users/{user_id}/password`: the usual rules; every
/// session and refresh family of the user ends; and `PATCH` of the email
/// (not verified unless said).
async fn an_admin_sets_a_users_password_and_email(database: &str) {
    let server = start(database, "ES256").await;
    let addr = server.addr;
    let store = Store::open(database).await.unwrap();
    let admin = admin_token(database, addr).await;
    store
        .create_client(&client(
            "app",
            Some("pw"),
            &["password", "refresh_token"],
            &["profile"],
            &["api"],
        ))
        .await
        .unwrap();
    let r = call(
        addr,
        "POST",
        "/admin/v1/users",
        Some(&admin),
        &[],
        Some(json!({"username": "dora", "password": PASSWORD})),
    )
    .await;
    assert_eq!(r.status, 201, "{}", text(&r.body));
    let id = r.json()["user_id"].as_str().unwrap().to_owned();
    let grant = |password: &str| {
        format!(
            "grant_type=password&username=dora&password={}",
            password.replace(' ', "+")
        )
    };
    let r = token(addr, &grant(PASSWORD), &[("Authorization", &basic("app", "pw"))]).await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    let refresh = r.json()["refresh_token"].as_str().unwrap().to_owned();
    let now = tessera_jwt::UnixTime::now().as_secs();
    store
        .create_session(&Session {
            id_hash: b"dora-session".to_vec(),
            sid: "sid-dora".into(),
            user_id: id.clone(),
            auth_time: now,
            expires_at: now + 3600,
            client_ip: None,
            proofs: tessera_server::domain::Proofs::none(),
        })
        .await
        .unwrap();
    let password_path = format!("/admin/v1/users/{id}/password");
    // Refusals, each changing nothing: too weak, unknown user, no body,
    // an unknown field.
    for (path, body, status) in [
        (password_path.clone(), json!({"password": "short"}), 400),
        (
            password_path.clone(),
            json!({"password": PASSWORD, "ends_sessions": false}),
            400,
        ),
        (
            "/admin/v1/users/nobody/password".to_owned(),
            json!({"password": "another long passphrase 7"}),
            404,
        ),
    ] {
        let r = call(addr, "POST", &path, Some(&admin), &[], Some(body)).await;
        assert_eq!(r.status, status, "{path}: {}", text(&r.body));
        assert!(!r.json()["error_description"].as_str().unwrap().is_empty());
    }
    let r = call(addr, "POST", &password_path, Some(&admin), &[], None).await;
    assert_eq!(r.status, 400, "{}", text(&r.body));
    let sessions = format!("/admin/v1/users/{id}/sessions");
    let r = call(addr, "GET", &sessions, Some(&admin), &[], None).await;
    assert_eq!(
        r.json()["items"].as_array().unwrap().len(),
        1,
        "refusals ended nothing"
    );

    let new_password = "a brand new passphrase 99";
    let r = call(
        addr,
        "POST",
        &password_path,
        Some(&admin),
        &[],
        Some(json!({"password": new_password})),
    )
    .await;
    assert_eq!(r.status, 204, "{}", text(&r.body));
    // Her session and refresh family ended; the old password is refused,
    // the new one works.
    let r = call(addr, "GET", &sessions, Some(&admin), &[], None).await;
    assert_eq!(r.json()["items"], json!([]), "sessions ended");
    let r = token(
        addr,
        &format!("grant_type=refresh_token&refresh_token={refresh}"),
        &[("Authorization", &basic("app", "pw"))],
    )
    .await;
    assert_eq!(r.status, 400, "the refresh family ended: {}", text(&r.body));
    assert_eq!(r.json()["error"], "invalid_grant");
    let r = token(addr, &grant(PASSWORD), &[("Authorization", &basic("app", "pw"))]).await;
    assert_eq!(r.status, 400, "the old password: {}", text(&r.body));
    let r = token(
        addr,
        &grant(new_password),
        &[("Authorization", &basic("app", "pw"))],
    )
    .await;
    assert_eq!(r.status, 200, "the new password: {}", text(&r.body));

    // Email: an admin-set address is not verified by default; verified
    // when said; a malformed one is 400; another account's is 409.
    let path = format!("/admin/v1/users/{id}");
    let etag = etag_of(addr, &admin, &path).await;
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", &etag)],
        Some(json!({"email": "not an address"})),
    )
    .await;
    assert_eq!(r.status, 400, "{}", text(&r.body));
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", &etag)],
        Some(json!({"email": "dora@example.com", "name": "Dora M."})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    assert_eq!(r.json()["email"], "dora@example.com");
    assert_eq!(r.json()["email_verified"], false);
    assert_eq!(r.json()["name"], "Dora M.");
    let etag = r.header("etag").unwrap().to_owned();
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", &etag)],
        Some(json!({"email_verified": true})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    assert_eq!(r.json()["email_verified"], true);
    let r = call(
        addr,
        "POST",
        "/admin/v1/users",
        Some(&admin),
        &[],
        Some(json!({"username": "eve", "email": "eve@example.com"})),
    )
    .await;
    assert_eq!(r.status, 201);
    let etag = etag_of(addr, &admin, &path).await;
    let r = call(
        addr,
        "PATCH",
        &path,
        Some(&admin),
        &[("If-Match", &etag)],
        Some(json!({"email": "EVE@example.com"})),
    )
    .await;
    assert_eq!(r.status, 409, "{}", text(&r.body));
    server.stop().await;
}

/// The ids of the items of an audit page.
fn kinds(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap().to_owned())
        .collect()
}

/// `GET /admin/v1/audit` and `tessera audit list`: what happened is
/// stored, filtered by user, client, kind and time, paged newest first,
/// and no secret is in any detail.
async fn the_audit_log_is_stored_and_filtered(database: &str) {
    let server = start(database, "ES256").await;
    let addr = server.addr;
    let store = Store::open(database).await.unwrap();
    let admin = admin_token(database, addr).await;
    let admin_sub = claims(&admin)["sub"].as_str().unwrap().to_owned();
    let started = tessera_jwt::UnixTime::now().as_secs();
    store
        .create_client(&client("app", Some("pw"), &["password"], &["profile"], &["api"]))
        .await
        .unwrap();
    let r = call(
        addr,
        "POST",
        "/admin/v1/users",
        Some(&admin),
        &[],
        Some(json!({"username": "fay", "password": PASSWORD})),
    )
    .await;
    let fay = r.json()["user_id"].as_str().unwrap().to_owned();
    // A failed sign-in, then one that works, through `app`.
    let wrong = "grant_type=password&username=fay&password=wrong+guess+of+a+password";
    let r = token(addr, wrong, &[("Authorization", &basic("app", "pw"))]).await;
    assert_eq!(r.status, 400);
    let right = format!(
        "grant_type=password&username=fay&password={}",
        PASSWORD.replace(' ', "+")
    );
    let r = token(addr, &right, &[("Authorization", &basic("app", "pw"))]).await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    // An admin sets her password, makes a client and rotates its secret.
    let reset = "the administrator's passphrase 5";
    let r = call(
        addr,
        "POST",
        &format!("/admin/v1/users/{fay}/password"),
        Some(&admin),
        &[],
        Some(json!({"password": reset})),
    )
    .await;
    assert_eq!(r.status, 204);
    let r = call(
        addr,
        "POST",
        "/admin/v1/clients",
        Some(&admin),
        &[],
        Some(json!({"name": "svc"})),
    )
    .await;
    let svc = r.json()["client_id"].as_str().unwrap().to_owned();
    let first_secret = r.json()["client_secret"].as_str().unwrap().to_owned();
    let etag = etag_of(addr, &admin, &format!("/admin/v1/clients/{svc}")).await;
    let r = call(
        addr,
        "POST",
        &format!("/admin/v1/clients/{svc}/secret"),
        Some(&admin),
        &[("If-Match", &etag)],
        None,
    )
    .await;
    let second_secret = r.json()["client_secret"].as_str().unwrap().to_owned();

    // Her events, newest first.
    let r = call(
        addr,
        "GET",
        &format!("/admin/v1/audit?user_id={fay}"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    let page = r.json();
    assert_eq!(
        kinds(&page),
        ["password_changed", "sign_in", "sign_in_failed", "user_created"]
    );
    for e in page["items"].as_array().unwrap() {
        assert_eq!(e["user_id"], fay.as_str());
    }
    let items = page["items"].as_array().unwrap();
    assert_eq!(items[0]["actor"], format!("admin:{admin_sub}"));
    assert_eq!(items[1]["actor"], "user");
    assert_eq!(items[1]["client_id"], "app");
    assert_eq!(items[2]["detail"]["why"], "wrong password");
    assert_eq!(items[2]["client_id"], "app");
    let ids: Vec<i64> = items.iter().map(|e| e["id"].as_i64().unwrap()).collect();
    assert!(ids.windows(2).all(|w| w[0] > w[1]), "newest first: {ids:?}");
    // By kind; by client; by kind and user.
    let r = call(
        addr,
        "GET",
        "/admin/v1/audit?kind=sign_in_failed",
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(kinds(&r.json()), ["sign_in_failed"]);
    let r = call(
        addr,
        "GET",
        &format!("/admin/v1/audit?client_id={svc}"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(kinds(&r.json()), ["client_secret_rotated", "client_created"]);
    let r = call(
        addr,
        "GET",
        &format!("/admin/v1/audit?client_id=app&user_id={fay}&kind=sign_in"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(kinds(&r.json()), ["sign_in"]);
    // By time: nothing before the test started, nothing from a minute on.
    let r = call(
        addr,
        "GET",
        &format!("/admin/v1/audit?user_id={fay}&until={started}"),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.json()["items"], json!([]));
    let r = call(
        addr,
        "GET",
        &format!("/admin/v1/audit?user_id={fay}&since={}", started + 60),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.json()["items"], json!([]));
    let r = call(
        addr,
        "GET",
        &format!(
            "/admin/v1/audit?user_id={fay}&since={started}&until={}",
            started + 60
        ),
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert_eq!(r.json()["items"].as_array().unwrap().len(), 4);
    // Paging: one at a time, the same four, then no cursor.
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/admin/v1/audit?user_id={fay}&limit=1&cursor={c}"),
            None => format!("/admin/v1/audit?user_id={fay}&limit=1"),
        };
        let page = call(addr, "GET", &path, Some(&admin), &[], None).await.json();
        seen.extend(kinds(&page));
        match page.get("next_cursor").and_then(Value::as_str) {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen, kinds(&page));
    // Bad filters: 400 with what to fix.
    for bad in [
        "kind=SignIn",
        "kind=nothing",
        "since=yesterday",
        "limit=0",
        "cursor=!!",
        "since=10&until=5",
        "colour=blue",
    ] {
        let r = call(
            addr,
            "GET",
            &format!("/admin/v1/audit?{bad}"),
            Some(&admin),
            &[],
            None,
        )
        .await;
        assert_eq!(r.status, 400, "{bad}: {}", text(&r.body));
        assert_eq!(r.json()["error"], "invalid_request");
        assert!(!r.json()["error_description"].as_str().unwrap().is_empty());
    }
    let r = call(
        addr,
        "GET",
        "/admin/v1/audit?kind=nothing",
        Some(&admin),
        &[],
        None,
    )
    .await;
    assert!(r.json()["error_description"]
        .as_str()
        .unwrap()
        .contains("sign_in_failed"));
    // Not an administrator: 401 and 403.
    let r = call(addr, "GET", "/admin/v1/audit", None, &[], None).await;
    assert_unauthenticated(&r, "audit without a token");
    // No secret in any event.
    let all = call(addr, "GET", "/admin/v1/audit?limit=200", Some(&admin), &[], None).await;
    let body = text(&all.body);
    for secret in [
        PASSWORD,
        reset,
        "wrong guess",
        first_secret.as_str(),
        second_secret.as_str(),
    ] {
        assert!(!body.contains(secret), "a secret in the audit log: {body}");
    }
    // The CLI: the same page, the same filters.
    let out = tessera(&[
        "audit",
        "list",
        "--database",
        database,
        "--user-id",
        &fay,
        "--kind",
        "sign_in",
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out.stderr));
    let cli: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(kinds(&cli), ["sign_in"]);
    assert_eq!(cli["items"][0]["user_id"], fay.as_str());
    let out = tessera(&["audit", "list", "--database", database, "--kind", "nothing"]).await;
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("kind"), "{}", text(&out.stderr));
    server.stop().await;
}

/// Issue 20: two administrators PATCH the same user (and client) with the
/// same ETag at the same moment: exactly one wins, the other gets 412.
/// Many trials, real concurrency (two requests in flight at once).
async fn racing_admins_one_wins(database: &str) {
    let server = start(database, "ES256").await;
    let addr = server.addr;
    let admin = admin_token(database, addr).await;
    let r = call(
        addr,
        "POST",
        "/admin/v1/users",
        Some(&admin),
        &[],
        Some(json!({"username": "gil"})),
    )
    .await;
    let user = format!("/admin/v1/users/{}", r.json()["user_id"].as_str().unwrap());
    let r = call(
        addr,
        "POST",
        "/admin/v1/clients",
        Some(&admin),
        &[],
        Some(json!({"name": "raced"})),
    )
    .await;
    let client = format!("/admin/v1/clients/{}", r.json()["client_id"].as_str().unwrap());
    for trial in 0..25 {
        for (path, a, b) in [
            (
                &user,
                json!({"roles": [format!("a{trial}")]}),
                json!({"roles": [format!("b{trial}")]}),
            ),
            (
                &client,
                json!({"name": format!("a{trial}")}),
                json!({"name": format!("b{trial}")}),
            ),
        ] {
            let etag = etag_of(addr, &admin, path).await;
            let go = |body: Value| {
                let (path, admin, etag) = (path.clone(), admin.clone(), etag.clone());
                tokio::spawn(async move {
                    call(
                        addr,
                        "PATCH",
                        &path,
                        Some(&admin),
                        &[("If-Match", &etag)],
                        Some(body),
                    )
                    .await
                })
            };
            let (first, second) = (go(a.clone()), go(b.clone()));
            let (first, second) = (first.await.unwrap(), second.await.unwrap());
            let mut statuses = [first.status, second.status];
            statuses.sort();
            assert_eq!(
                statuses,
                [200, 412],
                "trial {trial} {path}: {} / {}",
                text(&first.body),
                text(&second.body)
            );
            // What is stored is the winner's write.
            let winner = if first.status == 200 { &first } else { &second };
            let now = call(addr, "GET", path, Some(&admin), &[], None).await;
            assert_eq!(now.body, winner.body, "trial {trial}");
            assert_eq!(now.header("etag"), winner.header("etag"));
        }
    }
    server.stop().await;
}

/// `GET /admin/v1/upstreams` and `/{id}`: the providers, never the
/// client secret.
async fn upstreams_are_read_without_their_secret(database: &str) {
    use tessera_server::config::{Config, UpstreamKind};
    let secret = "gh-secret-4c1d2f0e";
    let mut gh = support::upstream("gh", UpstreamKind::Github, "gh-client", secret);
    gh.trust_email = true;
    gh.role_map = [("staff".to_owned(), vec!["tasks:write".to_owned()])]
        .into_iter()
        .collect();
    let server = support::start_configured(database, "ES256", None, move |c: &mut Config| {
        c.upstream = vec![gh];
    })
    .await;
    let addr = server.addr;
    let admin = admin_token(database, addr).await;
    let r = call(addr, "GET", "/admin/v1/upstreams", Some(&admin), &[], None).await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    assert!(!text(&r.body).contains(secret), "{}", text(&r.body));
    let items = r.json()["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1);
    let one = &items[0];
    assert_eq!(one["id"], "gh");
    assert_eq!(one["kind"], "github");
    assert_eq!(one["client_id"], "gh-client");
    assert_eq!(one["trust_email"], true);
    assert_eq!(one["trust_mfa"], false);
    assert_eq!(one["create_users"], true);
    assert_eq!(one["scopes"], json!(["read:user", "user:email"]));
    assert_eq!(one["role_map"], json!({"staff": ["tasks:write"]}));
    assert_eq!(
        one["redirect_uri"],
        format!("{}/upstream/gh/callback", server.issuer)
    );
    let r = call(addr, "GET", "/admin/v1/upstreams/gh", Some(&admin), &[], None).await;
    assert_eq!(r.status, 200);
    assert_eq!(&r.json(), one);
    assert!(!text(&r.body).contains(secret));
    let r = call(addr, "GET", "/admin/v1/upstreams/nope", Some(&admin), &[], None).await;
    assert_eq!(r.status, 404);
    let r = call(addr, "GET", "/admin/v1/upstreams", None, &[], None).await;
    assert_unauthenticated(&r, "upstreams without a token");
    server.stop().await;
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(&super::support::sqlite_url()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                if let Some(url) = super::support::postgres_url().await {
                    super::$name(&url).await;
                }
            }
        }
    };
}

on_both!(who_may_call);
on_both!(clients_are_created_read_and_deleted);
on_both!(users_are_created_disabled_paged_and_their_sessions_ended);
on_both!(a_deleted_admin_clients_token_dies_with_it);
on_both!(signing_keys_are_listed_rotated_and_revoked);
on_both!(clients_are_patched_and_their_secret_rotated);
on_both!(an_admin_sets_a_users_password_and_email);
on_both!(the_audit_log_is_stored_and_filtered);
on_both!(racing_admins_one_wins);
on_both!(upstreams_are_read_without_their_secret);
