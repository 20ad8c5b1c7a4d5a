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
