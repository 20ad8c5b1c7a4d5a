//! Dynamic client registration ([RFC 7591]) and its management ([RFC
//! 7592]) over real HTTP: the three settings, what registration refuses,
//! initial access tokens, the per-address limit of open registration,
//! reading, updating and deleting with the registration access token, and
//! a registered client signing a user in (by hand, and as npm
//! openid-client does it).
//!
//! [RFC 7591]: https://www.rfc-editor.org/rfc/rfc7591
//! [RFC 7592]: https://www.rfc-editor.org/rfc/rfc7592

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use std::collections::HashMap;
use std::net::SocketAddr;

use serde_json::{json, Value};
use tessera_server::config::DynamicRegistration;
use tessera_server::oauth::client_auth::hash_secret;
use tessera_server::store::{ClientStore, RegistrationStore, RevocationStore, Store};
use tessera_testkit as support;

use support::browser::{field, text, Browser, CHALLENGE, VERIFIER};
use support::{basic, request, Running};

const REDIRECT: &str = "http://127.0.0.1:9/cb";

async fn server(db: &str, mode: DynamicRegistration) -> (Running, Store) {
    let server = support::start_configured(db, "ES256", None, |c| {
        c.dynamic_registration = mode;
    })
    .await;
    let store = Store::open(db).await.unwrap();
    support::browser::seed(&store).await;
    (server, store)
}

async fn register(addr: SocketAddr, metadata: &Value, bearer: Option<&str>) -> support::Response {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    request(
        addr,
        "POST",
        "/register",
        &headers,
        metadata.to_string().as_bytes(),
    )
    .await
}

/// GET, PUT or DELETE on a registration client URI.
async fn manage(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<&Value>,
) -> support::Response {
    let auth = bearer.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("Content-Type", "application/json")];
    if let Some(auth) = &auth {
        headers.push(("Authorization", auth));
    }
    let body = body.map(Value::to_string).unwrap_or_default();
    request(addr, method, path, &headers, body.as_bytes()).await
}

fn web_app() -> Value {
    json!({
        "client_name": "Notes",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
        "scope": "openid profile offline_access",
        "logo_uri": "https://notes.example/logo.png",
    })
}

fn body(r: &support::Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The path of a `registration_client_uri`.
fn path_of(server: &Running, uri: &Value) -> String {
    uri.as_str()
        .unwrap()
        .strip_prefix(server.issuer.as_str())
        .unwrap()
        .to_owned()
}

async fn discovery(addr: SocketAddr) -> Vec<Value> {
    let mut docs = Vec::new();
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        docs.push(request(addr, "GET", path, &[], b"").await.json());
    }
    docs
}

/// `off` (the default): not routed, not advertised. `open`: advertised in
/// both documents, and a registration answers 201 with everything RFC 7591
/// §3.2.1 and RFC 7592 §3 name, never cached.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_setting() {
    assert_eq!(
        tessera_server::config::Config::default().dynamic_registration,
        DynamicRegistration::Off
    );
    let db = support::sqlite_url();
    let (off, _store) = server(&db, DynamicRegistration::Off).await;
    assert_eq!(register(off.addr, &web_app(), None).await.status, 404);
    assert_eq!(
        manage(off.addr, "GET", "/register/web", Some("x"), None)
            .await
            .status,
        404
    );
    for doc in discovery(off.addr).await {
        assert!(doc.get("registration_endpoint").is_none(), "{doc}");
    }

    let db = support::sqlite_url();
    let (open, store) = server(&db, DynamicRegistration::Open).await;
    for doc in discovery(open.addr).await {
        assert_eq!(doc["registration_endpoint"], format!("{}/register", open.issuer));
    }
    let r = register(open.addr, &web_app(), None).await;
    assert_eq!(r.status, 201, "{}", body(&r));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let got = r.json();
    let id = got["client_id"].as_str().unwrap();
    assert_eq!(got["client_name"], "Notes");
    assert_eq!(got["redirect_uris"], json!([REDIRECT]));
    assert_eq!(got["token_endpoint_auth_method"], "client_secret_basic");
    assert_eq!(got["response_types"], json!(["code"]));
    assert_eq!(got["scope"], "openid profile offline_access");
    assert_eq!(got["client_secret_expires_at"], 0);
    assert!(got["client_id_issued_at"].as_i64().unwrap() > 0);
    assert!(got.get("logo_uri").is_none(), "ignored, not stored: {got}");
    assert_eq!(
        got["registration_client_uri"],
        format!("{}/register/{id}", open.issuer)
    );
    let secret = got["client_secret"].as_str().unwrap();
    let token = got["registration_access_token"].as_str().unwrap();
    // Stored as hashes; the client is a dynamic one.
    let stored = store.client(id).await.unwrap().unwrap();
    assert_eq!(stored.provenance.as_str(), "dynamic");
    assert!(!stored.first_party);
    assert_eq!(
        store.registration_token_hash(id).await.unwrap(),
        Some(hash_secret(token))
    );
    // The secret works at the token endpoint.
    let r = support::token(
        open.addr,
        "grant_type=client_credentials&scope=profile",
        &[("Authorization", &basic(id, secret))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    // A public client gets no secret.
    let r = register(
        open.addr,
        &json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "none"}),
        None,
    )
    .await;
    assert_eq!(r.status, 201, "{}", body(&r));
    assert!(r.json().get("client_secret").is_none());
    assert_eq!(r.json()["client_name"], "Unnamed app");
}

/// `token`: an initial access token is required (RFC 7591 §3): none is a
/// bare challenge, a wrong or expired one `invalid_token`; a good one
/// registers one client and is then used up. `tessera client
/// registration-token` makes them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn initial_access_tokens() {
    let db = support::sqlite_url();
    let (server, store) = server(&db, DynamicRegistration::Token).await;
    let addr = server.addr;

    let r = register(addr, &web_app(), None).await;
    assert_eq!(r.status, 401, "{}", body(&r));
    assert_eq!(r.header("www-authenticate"), Some("Bearer realm=\"tessera\""));

    let r = register(addr, &web_app(), Some("not-a-token")).await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("www-authenticate")
            .unwrap()
            .contains("error=\"invalid_token\""),
        "{:?}",
        r.headers
    );

    let now = tessera_jwt::UnixTime::now().as_secs();
    store
        .create_initial_access_token(&hash_secret("expired-token"), now - 100, now - 1)
        .await
        .unwrap();
    let r = register(addr, &web_app(), Some("expired-token")).await;
    assert_eq!(r.status, 401, "an expired token: {}", body(&r));

    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["client", "registration-token", "--ttl", "600", "--database", &db])
        .env("TESSERA_DYNAMIC_REGISTRATION", "token")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let made: Value = serde_json::from_slice(&out.stdout).unwrap();
    let token = made["initial_access_token"].as_str().unwrap();
    let expires_at = made["expires_at"].as_i64().unwrap();
    assert!((now + 600..now + 700).contains(&expires_at), "{made}");
    assert_eq!(token.len(), 43, "256 bits, base64url");

    // Bad metadata does not spend it.
    let r = register(
        addr,
        &json!({"redirect_uris": ["http://app.example/cb"]}),
        Some(token),
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_redirect_uri");
    let r = register(addr, &web_app(), Some(token)).await;
    assert_eq!(r.status, 201, "{}", body(&r));
    // One token, one client.
    let r = register(addr, &web_app(), Some(token)).await;
    assert_eq!(r.status, 401, "a used token: {}", body(&r));
    assert!(r.header("www-authenticate").unwrap().contains("invalid_token"));
    assert!(!store
        .initial_access_token_valid(&hash_secret(token), now)
        .await
        .unwrap());
}

/// Each rule of registration, refused with RFC 7591 §3.2.2's codes, a
/// description that names the member but never echoes the value, and
/// nothing stored. (With an initial access token, which a refusal does not
/// spend: open registration would count every attempt.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registration_refuses_what_it_must() {
    let db = support::sqlite_url();
    let (server, store) = server(&db, DynamicRegistration::Token).await;
    let now = tessera_jwt::UnixTime::now().as_secs();
    store
        .create_initial_access_token(&hash_secret("iat"), now, now + 600)
        .await
        .unwrap();
    let before = store.clients().await.unwrap().len();
    let table: Vec<(&str, Value, &str)> = vec![
        (
            "http redirect to another host",
            json!({"redirect_uris": ["http://evil.example/cb"]}),
            "invalid_redirect_uri",
        ),
        (
            "a fragment",
            json!({"redirect_uris": ["https://notes.example/cb#frag"]}),
            "invalid_redirect_uri",
        ),
        (
            "a javascript: URI",
            json!({"redirect_uris": ["javascript:alert(1)"]}),
            "invalid_redirect_uri",
        ),
        (
            "the code grant without redirect_uris",
            json!({"grant_types": ["authorization_code"]}),
            "invalid_redirect_uri",
        ),
        (
            "an unsupported auth method",
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "client_secret_jwt"}),
            "invalid_client_metadata",
        ),
        (
            "the password grant",
            json!({"grant_types": ["password"]}),
            "invalid_client_metadata",
        ),
        (
            "the implicit grant",
            json!({"redirect_uris": [REDIRECT], "grant_types": ["implicit"]}),
            "invalid_client_metadata",
        ),
        (
            "response type token",
            json!({"redirect_uris": [REDIRECT], "response_types": ["token"]}),
            "invalid_client_metadata",
        ),
        (
            "a public client_credentials client",
            json!({"grant_types": ["client_credentials"], "token_endpoint_auth_method": "none"}),
            "invalid_client_metadata",
        ),
        (
            "refresh_token alone",
            json!({"grant_types": ["refresh_token"]}),
            "invalid_client_metadata",
        ),
        (
            "private_key_jwt without jwks",
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt"}),
            "invalid_client_metadata",
        ),
        (
            "jwks_uri over plain http",
            json!({"redirect_uris": [REDIRECT], "token_endpoint_auth_method": "private_key_jwt",
                   "jwks_uri": "http://notes.example/jwks"}),
            "invalid_client_metadata",
        ),
        (
            "a bad post-logout URI",
            json!({"redirect_uris": [REDIRECT], "post_logout_redirect_uris": ["http://evil.example/bye"]}),
            "invalid_client_metadata",
        ),
        (
            "redirect_uris not a list",
            json!({"redirect_uris": REDIRECT}),
            "invalid_client_metadata",
        ),
        (
            "not an object",
            json!(["redirect_uris"]),
            "invalid_client_metadata",
        ),
    ];
    for (name, metadata, error) in table {
        let r = register(server.addr, &metadata, Some("iat")).await;
        let got = r.json();
        assert_eq!(
            (r.status, got["error"].as_str()),
            (400, Some(error)),
            "{name}: {got}"
        );
        let description = got["error_description"].as_str().unwrap();
        assert!(!description.contains("evil.example"), "{name}: {description}");
    }
    let r = request(
        server.addr,
        "POST",
        "/register",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", "Bearer iat"),
        ],
        b"redirect_uris=x",
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    assert_eq!(store.clients().await.unwrap().len(), before, "nothing stored");
    assert!(store
        .initial_access_token_valid(&hash_secret("iat"), now)
        .await
        .unwrap());
}

/// Open registration: at most 10 registrations per client address an
/// hour; the 11th is 429 with `Retry-After`; another address is not
/// affected.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_registration_is_throttled_per_address() {
    let db = support::sqlite_url();
    let (server, _store) = server(&db, DynamicRegistration::Open).await;
    let metadata = web_app().to_string();
    let send = |from: [u8; 4]| {
        let metadata = metadata.clone();
        async move {
            support::request_from(
                std::net::IpAddr::from(from),
                server.addr,
                "POST",
                "/register",
                &[("Content-Type", "application/json")],
                metadata.as_bytes(),
            )
            .await
        }
    };
    for n in 1..=10 {
        let r = send([127, 0, 0, 1]).await;
        assert_eq!(r.status, 201, "registration {n}: {}", body(&r));
    }
    let r = send([127, 0, 0, 1]).await;
    assert_eq!(r.status, 429, "{}", body(&r));
    assert_eq!(r.header("retry-after"), Some("3600"));
    assert_eq!(r.json()["error"], "invalid_request");
    let r = send([127, 0, 0, 2]).await;
    assert_eq!(r.status, 201, "another address: {}", body(&r));
}

/// RFC 7592: read, update and delete with the registration access token;
/// 401 with a wrong one, without one, with another client's, and for an
/// operator's client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_7592_management() {
    let db = support::sqlite_url();
    let (server, store) = server(&db, DynamicRegistration::Open).await;
    let addr = server.addr;
    let made = register(addr, &web_app(), None).await.json();
    let id = made["client_id"].as_str().unwrap().to_owned();
    let secret = made["client_secret"].as_str().unwrap().to_owned();
    let token = made["registration_access_token"].as_str().unwrap().to_owned();
    let path = path_of(&server, &made["registration_client_uri"]);
    let other = register(addr, &web_app(), None).await.json();
    let other_token = other["registration_access_token"].as_str().unwrap().to_owned();

    // §2.1 read.
    let r = manage(addr, "GET", &path, Some(&token), None).await;
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let read = r.json();
    assert_eq!(read["client_id"], id.as_str());
    assert_eq!(read["client_name"], "Notes");
    assert_eq!(read["registration_client_uri"], made["registration_client_uri"]);
    assert!(read.get("client_secret").is_none(), "stored hashed only");

    // Refused: each is 401 with a Bearer challenge.
    let refused: Vec<(&str, String, Option<&str>, &str)> = vec![
        ("a wrong token", path.clone(), Some("wrong"), "invalid_token"),
        ("no token", path.clone(), None, ""),
        (
            "another client's token",
            path.clone(),
            Some(&other_token),
            "invalid_token",
        ),
        (
            "an operator's client",
            "/register/web".into(),
            Some(&token),
            "invalid_token",
        ),
        (
            "an unknown client",
            "/register/nobody".into(),
            Some(&token),
            "invalid_token",
        ),
    ];
    for method in ["GET", "PUT", "DELETE"] {
        for (name, path, bearer, error) in &refused {
            let put = json!({"client_id": id, "redirect_uris": [REDIRECT]});
            let r = manage(addr, method, path, *bearer, (method == "PUT").then_some(&put)).await;
            assert_eq!(r.status, 401, "{method} with {name}: {}", body(&r));
            let challenge = r.header("www-authenticate").unwrap();
            assert!(challenge.starts_with("Bearer"), "{challenge}");
            assert!(challenge.contains(error), "{method} with {name}: {challenge}");
        }
    }
    assert!(store.client("web").await.unwrap().is_some());

    // §2.2 update: the request's client_id must be this client's; a
    // client_secret sent must be its secret; members only the server sets
    // may not be sent; every rule of registration holds.
    let update = |extra: Value| {
        let mut v = json!({
            "client_id": id,
            "client_name": "Notes 2",
            "redirect_uris": ["https://notes.example/cb"],
            "grant_types": ["authorization_code", "client_credentials"],
            "token_endpoint_auth_method": "client_secret_post",
        });
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let bad: Vec<(&str, Value, &str)> = vec![
        (
            "another client_id",
            update(json!({"client_id": "web"})),
            "invalid_request",
        ),
        (
            "no client_id",
            update(json!({"client_id": null})),
            "invalid_request",
        ),
        (
            "a wrong secret",
            update(json!({"client_secret": "chosen"})),
            "invalid_request",
        ),
        (
            "the registration token",
            update(json!({"registration_access_token": token})),
            "invalid_request",
        ),
        (
            "a plain http redirect",
            update(json!({"redirect_uris": ["http://evil.example/cb"]})),
            "invalid_redirect_uri",
        ),
        (
            "the password grant",
            update(json!({"grant_types": ["password"]})),
            "invalid_client_metadata",
        ),
    ];
    for (name, put, error) in bad {
        let r = manage(addr, "PUT", &path, Some(&token), Some(&put)).await;
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (400, Some(error)),
            "{name}: {}",
            body(&r)
        );
    }
    let r = manage(
        addr,
        "PUT",
        &path,
        Some(&token),
        Some(&update(json!({"client_secret": secret}))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let updated = r.json();
    assert_eq!(updated["client_name"], "Notes 2");
    assert_eq!(updated["redirect_uris"], json!(["https://notes.example/cb"]));
    assert_eq!(updated["token_endpoint_auth_method"], "client_secret_post");
    // Omitted members are reset (§2.2): the scope to the default.
    assert_eq!(updated["scope"], "openid profile email offline_access");
    assert!(updated.get("client_secret").is_none(), "the secret stays");
    let stored = store.client(&id).await.unwrap().unwrap();
    assert_eq!(stored.name, "Notes 2");
    assert_eq!(stored.provenance.as_str(), "dynamic");
    // The same secret, now with client_secret_post only.
    let form = format!("grant_type=client_credentials&client_id={id}&client_secret={secret}");
    let r = support::token(addr, &form, &[]).await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let r = support::token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic(&id, &secret))],
    )
    .await;
    assert_eq!(r.status, 401, "basic is no longer registered");

    // §2.3 delete: 204, then the client and its token are gone.
    let r = manage(addr, "DELETE", &path, Some(&token), None).await;
    assert_eq!(r.status, 204, "{}", body(&r));
    // (`clients()` reads the database, not this store's cache.)
    assert!(!store.clients().await.unwrap().iter().any(|c| c.id == id));
    let r = manage(addr, "GET", &path, Some(&token), None).await;
    assert_eq!(r.status, 401);
    let r = support::token(addr, &form, &[]).await;
    assert_eq!(r.status, 401, "{}", body(&r));
    // The other client is untouched.
    let other_path = path_of(&server, &other["registration_client_uri"]);
    assert_eq!(
        manage(addr, "GET", &other_path, Some(&other_token), None)
            .await
            .status,
        200
    );
}

/// The query of a redirect to `REDIRECT`.
fn redirected(r: &support::Response) -> HashMap<String, String> {
    assert_eq!(r.status, 303, "{}", text(r));
    let location = r.header("location").unwrap();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, REDIRECT);
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

fn authorize(client_id: &str, pkce: bool) -> String {
    let redirect: String = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    let pkce = if pkce {
        format!("&code_challenge={CHALLENGE}&code_challenge_method=S256")
    } else {
        String::new()
    };
    format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={redirect}\
         &scope=openid+profile+offline_access&state=st-1&nonce=n-1{pkce}"
    )
}

/// A registered client signs a user in with the code flow and PKCE: the
/// consent page marks it as unvetted (an operator's client is not
/// marked); without PKCE even a confidential one is refused; the refresh
/// token comes with the consented `offline_access`; deleting the client
/// revokes what it was given.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_client_signs_a_user_in() {
    let db = support::sqlite_url();
    let (server, store) = server(&db, DynamicRegistration::Open).await;
    let made = register(server.addr, &web_app(), None).await.json();
    let id = made["client_id"].as_str().unwrap().to_owned();
    let secret = made["client_secret"].as_str().unwrap().to_owned();

    // Without PKCE: refused to the client, though it is confidential.
    let r = Browser::default().get(&server, &authorize(&id, false)).await;
    let back = redirected(&r);
    assert_eq!(back["error"], "invalid_request");
    assert!(back["error_description"].contains("PKCE"), "{back:?}");

    let mut browser = Browser::default();
    let page = browser.get(&server, &authorize(&id, true)).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    let consent = browser
        .log_in(&server, &text(&page), "ann", "correct horse battery")
        .await;
    let html = text(&consent);
    assert_eq!(consent.status, 200, "{html}");
    assert!(html.contains("Allow Notes?"), "{html}");
    assert!(
        html.contains("This app registered itself; Tessera has not vetted it."),
        "{html}"
    );
    let done = browser
        .post(
            &server,
            "/authorize/consent",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("decision", "allow"),
            ],
        )
        .await;
    let back = redirected(&done);
    let redirect: String = form_urlencoded::byte_serialize(REDIRECT.as_bytes()).collect();
    let form = format!(
        "grant_type=authorization_code&code={}&redirect_uri={redirect}&code_verifier={VERIFIER}",
        back["code"]
    );
    let r = support::token(server.addr, &form, &[("Authorization", &basic(&id, &secret))]).await;
    assert_eq!(r.status, 200, "{}", body(&r));
    let tokens = r.json();
    assert!(tokens["id_token"].is_string());
    assert!(
        tokens["refresh_token"].is_string(),
        "offline_access was consented: {tokens}"
    );
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let r = request(
        server.addr,
        "GET",
        "/userinfo",
        &[("Authorization", &format!("Bearer {access}"))],
        b"",
    )
    .await;
    assert_eq!(r.status, 200, "{}", body(&r));

    // An operator's third-party client's consent page carries no mark.
    let mut browser = Browser::default();
    let page = browser
        .get(&server, &support::browser::authorize_path("web", ""))
        .await;
    let consent = browser
        .log_in(&server, &text(&page), "ann", "correct horse battery")
        .await;
    let html = text(&consent);
    assert!(html.contains("Allow Photo Book?"), "{html}");
    assert!(!html.contains("not vetted"), "{html}");

    // Deleting the client revokes the access token its refresh family
    // was issued with (and the client is gone, so /userinfo refuses it).
    let jti = {
        use base64::Engine;
        let payload = access.split('.').nth(1).unwrap();
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(payload)
            .unwrap();
        serde_json::from_slice::<Value>(&payload).unwrap()["jti"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(!store.is_revoked(&jti).await.unwrap());
    let token = made["registration_access_token"].as_str().unwrap();
    let path = path_of(&server, &made["registration_client_uri"]);
    let r = manage(server.addr, "DELETE", &path, Some(token), None).await;
    assert_eq!(r.status, 204);
    assert!(store.is_revoked(&jti).await.unwrap(), "revoked with its client");
    let r = request(
        server.addr,
        "GET",
        "/userinfo",
        &[("Authorization", &format!("Bearer {access}"))],
        b"",
    )
    .await;
    assert_eq!(r.status, 401, "{}", body(&r));
}

/// A real client library nobody here wrote: npm openid-client's
/// `dynamicClientRegistration` registers a public client (with an initial
/// access token), then completes the code flow with PKCE and refreshes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_registers_itself() {
    use std::io::{BufRead, Write};
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        scripts.join("node_modules/openid-client").exists(),
        "run `npm ci` in {} (.ci/run does)",
        scripts.display()
    );
    let db = support::sqlite_url();
    let (server, store) = server(&db, DynamicRegistration::Token).await;
    let now = tessera_jwt::UnixTime::now().as_secs();
    store
        .create_initial_access_token(&hash_secret("iat-for-node"), now, now + 600)
        .await
        .unwrap();
    let mut child = std::process::Command::new("node")
        .current_dir(&scripts)
        .args(["dcr.mjs", &server.issuer, REDIRECT, "iat-for-node"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (first, mut lines) = tokio::task::spawn_blocking(move || {
        let mut lines = std::io::BufReader::new(stdout).lines();
        (lines.next(), lines)
    })
    .await
    .unwrap();
    let Some(Ok(first)) = first else {
        let out = child.wait_with_output().unwrap();
        panic!("node: {}", String::from_utf8_lossy(&out.stderr));
    };
    let started: Value = serde_json::from_str(&first).unwrap();
    let client_id = started["client_id"].as_str().unwrap();
    let client = store.client(client_id).await.unwrap().unwrap();
    assert_eq!(client.provenance.as_str(), "dynamic");
    assert!(client.is_public());
    let url = started["url"].as_str().unwrap();
    let path = url.strip_prefix(server.issuer.as_str()).unwrap();

    let mut browser = Browser::default();
    let page = browser.get(&server, path).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    let consent = browser
        .log_in(&server, &text(&page), "ann", "correct horse battery")
        .await;
    let html = text(&consent);
    assert!(html.contains("Notes (openid-client)"), "{html}");
    assert!(html.contains("Tessera has not vetted it"), "{html}");
    let done = browser
        .post(
            &server,
            "/authorize/consent",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", text(&done));
    let callback = done.header("location").unwrap().to_owned();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{callback}").unwrap();
    drop(stdin);
    let second = tokio::task::spawn_blocking(move || lines.next()).await.unwrap();
    let out = child.wait_with_output().unwrap();
    let Some(Ok(second)) = second else {
        panic!("node: {}", String::from_utf8_lossy(&out.stderr));
    };
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: Value = serde_json::from_str(&second).unwrap();
    assert_eq!(got["sub"], "u-ann");
    assert_eq!(got["aud"], client_id);
    assert_eq!(got["refreshed"], true);
    assert_eq!(
        got["registration_client_uri"],
        format!("{}/register/{client_id}", server.issuer)
    );
    // The registration access token it was given reads its registration.
    let token = got["registration_access_token"].as_str().unwrap();
    let r = manage(
        server.addr,
        "GET",
        &format!("/register/{client_id}"),
        Some(token),
        None,
    )
    .await;
    assert_eq!(r.status, 200, "{}", body(&r));
}

/// One initial access token, two registrations racing with it: exactly
/// one registers, on SQLite and on PostgreSQL (when
/// `TESSERA_TEST_POSTGRES_URL` is set); the winner manages its
/// registration.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_registrations_use_a_token_once() {
    races(&support::sqlite_url()).await;
    if let Some(db) = support::postgres_url().await {
        races(&db).await;
    }
}

async fn races(db: &str) {
    let (server, store) = server(db, DynamicRegistration::Token).await;
    let now = tessera_jwt::UnixTime::now().as_secs();
    for trial in 0..5 {
        let token = format!("race-{trial}");
        store
            .create_initial_access_token(&hash_secret(&token), now, now + 600)
            .await
            .unwrap();
        let app = web_app();
        let (a, b) = tokio::join!(
            register(server.addr, &app, Some(&token)),
            register(server.addr, &app, Some(&token))
        );
        let mut statuses = [a.status, b.status];
        statuses.sort_unstable();
        assert_eq!(statuses, [201, 401], "trial {trial}");
        let made = if a.status == 201 { a.json() } else { b.json() };
        let path = path_of(&server, &made["registration_client_uri"]);
        let token = made["registration_access_token"].as_str().unwrap();
        assert_eq!(
            manage(server.addr, "GET", &path, Some(token), None).await.status,
            200
        );
        assert_eq!(
            manage(server.addr, "DELETE", &path, Some(token), None)
                .await
                .status,
            204
        );
    }
}
