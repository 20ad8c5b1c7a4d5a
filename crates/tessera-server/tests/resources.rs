//! Resource indicators ([RFC 8707]) over real HTTP: APIs registered with
//! `tessera resource create`, `resource` at `/authorize` and `/token`
//! (repeatable), the access token's `aud` and narrowed `scope`, refresh
//! tokens that remember the resources and may narrow them but never widen
//! them, `invalid_target`, the consent page naming the APIs, and which
//! client may ask for which resource.
//!
//! [RFC 8707]: https://www.rfc-editor.org/rfc/rfc8707

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use std::collections::HashMap;
use std::process::Output;

use serde_json::Value;
use tessera_testkit as support;

use support::browser::{authorize_path, field, redeem, redirected, setup, text, Browser, VERIFIER};
use support::{basic, client, token, Running};
use tessera_server::domain::{Provenance, Resource, Scope};
use tessera_server::store::{ClientStore, ResourceStore, Store};

const PHOTOS: &str = "https://photos.example/api";
const PRINT: &str = "https://print.example";
const OTHER: &str = "https://other.example";

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// Registers the three APIs, and the clients: "agent" (an operator's public
/// client allowed PHOTOS and PRINT, named Photo Book like the kit's
/// consent helper expects), "dyn" (a dynamically registered one, allowed
/// any resource) and "svc" (a service allowed PHOTOS).
async fn register(store: &Store) {
    for (identifier, name, scopes) in [
        (PHOTOS, "Photos API", "photos:read photos:write"),
        (PRINT, "Print Shop", "print"),
        (OTHER, "Other API", "other"),
    ] {
        store
            .create_resource(&Resource {
                identifier: identifier.into(),
                name: name.into(),
                scopes: Scope::parse(scopes).unwrap(),
                created_at: 0,
            })
            .await
            .unwrap();
    }
    let mut agent = client(
        "agent",
        None,
        &["authorization_code", "refresh_token"],
        &["openid", "offline_access"],
        &[PHOTOS, PRINT],
    );
    agent.name = "Photo Book".into();
    agent.redirect_uris = vec![support::browser::CALLBACK.into()];
    store.create_client(&agent).await.unwrap();
    let mut dynamic = agent.clone();
    dynamic.id = "dyn".into();
    dynamic.audiences = vec![];
    dynamic.provenance = Provenance::Dynamic;
    store.create_client(&dynamic).await.unwrap();
    let svc = client(
        "svc",
        Some("svc-secret"),
        &["client_credentials"],
        &["openid"],
        &[PHOTOS],
    );
    store.create_client(&svc).await.unwrap();
}

/// `/authorize` for `client_id` with `scope` and these resources.
fn path(client_id: &str, scope: &str, resources: &[&str]) -> String {
    let extra: String = resources
        .iter()
        .map(|r| format!("&resource={}", enc(r)))
        .collect();
    authorize_path(client_id, &extra).replace("scope=openid+profile+email", &format!("scope={}", enc(scope)))
}

/// Signs ann in at `path`; the consent page's HTML (if one was shown) and
/// the client's redirect.
async fn sign_in(
    browser: &mut Browser,
    server: &Running,
    path: &str,
) -> (Option<String>, HashMap<String, String>) {
    let page = browser.get(server, path).await;
    let page = if page.status == 200 && text(&page).contains("name=\"password\"") {
        browser
            .log_in(server, &text(&page), "ann", "correct horse battery")
            .await
    } else {
        page
    };
    if page.status == 303 {
        return (None, redirected(&page));
    }
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    let done = browser
        .post(
            server,
            "/authorize/consent",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("decision", "allow"),
            ],
        )
        .await;
    (Some(html), redirected(&done))
}

/// The access token's claims (signature checked with the server's JWKS,
/// for `audience`).
async fn claims(server: &Running, response: &support::Response, audience: &str) -> Value {
    let token = response.json()["access_token"].as_str().unwrap().to_owned();
    support::verify(server, &token, audience).await
}

async fn refresh(server: &Running, refresh_token: &str, extra: &str) -> support::Response {
    let form = format!("grant_type=refresh_token&refresh_token={refresh_token}&client_id=agent{extra}");
    token(server.addr, &form, &[]).await
}

fn resource_params(resources: &[&str]) -> String {
    resources
        .iter()
        .map(|r| format!("&resource={}", enc(r)))
        .collect()
}

async fn resource_indicators(db: &str) {
    let (server, store) = setup(db).await;
    register(&store).await;
    let mut browser = Browser::default();

    // §2: two resources at /authorize; the consent page names both APIs.
    let (consent, done) = sign_in(
        &mut browser,
        &server,
        &path(
            "agent",
            "openid offline_access photos:read print",
            &[PHOTOS, PRINT],
        ),
    )
    .await;
    let consent = consent.expect("a third-party client asks for consent");
    for name in ["Photos API", PHOTOS, "Print Shop", PRINT] {
        assert!(consent.contains(name), "the consent page names {name}: {consent}");
    }
    assert_eq!(done["state"], "st-1", "{done:?}");

    // §2.2: the code redeemed for one of them: aud is that API alone, the
    // scope narrowed silently to what it accepts.
    let r = support::browser::redeem(
        &server,
        "agent",
        &format!("{}{}", done["code"], resource_params(&[PHOTOS])),
        Some(VERIFIER),
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(r.json()["scope"], "photos:read");
    let c = claims(&server, &r, PHOTOS).await;
    assert_eq!(c["aud"], PHOTOS);
    assert_eq!(c["scope"], "photos:read");
    assert!(
        r.json()["id_token"].is_string(),
        "openid was granted: an ID token as before"
    );
    let refresh_token = r.json()["refresh_token"].as_str().unwrap().to_owned();

    // The refresh token remembers both: it may be narrowed to the other...
    let r = refresh(&server, &refresh_token, &resource_params(&[PRINT])).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let c = claims(&server, &r, PRINT).await;
    assert_eq!(
        (c["aud"].as_str(), c["scope"].as_str()),
        (Some(PRINT), Some("print"))
    );
    let refresh_token = r.json()["refresh_token"].as_str().unwrap().to_owned();
    // ...or used for all that was granted...
    let r = refresh(&server, &refresh_token, "").await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let c = claims(&server, &r, PHOTOS).await;
    assert_eq!(c["aud"], serde_json::json!([PHOTOS, PRINT]));
    assert_eq!(c["scope"], "photos:read print");
    let refresh_token = r.json()["refresh_token"].as_str().unwrap().to_owned();
    // ...but never widened, not even to an API the client may ask for.
    for widened in [&[OTHER][..], &[PHOTOS, OTHER]] {
        let r = refresh(&server, &refresh_token, &resource_params(widened)).await;
        assert_eq!(r.status, 400, "{}", text(&r));
        assert_eq!(r.json()["error"], "invalid_target", "{widened:?}");
    }
    let r = refresh(&server, &refresh_token, &resource_params(&[PRINT])).await;
    assert_eq!(r.status, 200, "a refused widening spends nothing: {}", text(&r));

    // A code given for one resource cannot be redeemed for another.
    let (consent, done) = sign_in(
        &mut browser,
        &server,
        &path("agent", "openid photos:read", &[PHOTOS]),
    )
    .await;
    assert!(consent.is_none(), "PHOTOS with these scopes was approved before");
    let r = redeem(
        &server,
        "agent",
        &format!("{}{}", done["code"], resource_params(&[PRINT])),
        Some(VERIFIER),
    )
    .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert_eq!(r.json()["error"], "invalid_target");

    // A remembered consent does not cover an API it did not name.
    let (consent, done) = sign_in(&mut browser, &server, &path("dyn", "openid other", &[OTHER])).await;
    assert!(consent.is_some(), "a new client: consent");
    let r = redeem(&server, "dyn", &done["code"], Some(VERIFIER)).await;
    assert_eq!(
        r.status,
        200,
        "a dynamically registered client may ask for any registered API: {}",
        text(&r)
    );
    assert_eq!(claims(&server, &r, OTHER).await["scope"], "other");
    let (consent, _) = sign_in(
        &mut browser,
        &server,
        &path("dyn", "openid other", &[OTHER, PHOTOS]),
    )
    .await;
    let consent = consent.expect("PHOTOS was never approved for dyn");
    assert!(consent.contains("Photos API"), "{consent}");

    // §2: refused at /authorize, back to the client as invalid_target.
    for (client_id, resources, why) in [
        (
            "agent",
            &[OTHER][..],
            "not one of the operator's client's resources",
        ),
        ("agent", &["https://unknown.example"][..], "not registered"),
        ("agent", &["https://photos.example/api#x"][..], "a fragment"),
        ("agent", &["photos"][..], "not absolute"),
        ("agent", &[PHOTOS, OTHER][..], "one of two not allowed"),
    ] {
        let r = Browser::default()
            .get(&server, &path(client_id, "openid", resources))
            .await;
        assert_eq!(r.status, 303, "{why}: {}", text(&r));
        let back = redirected(&r);
        assert_eq!(back["error"], "invalid_target", "{why}: {back:?}");
        assert_eq!(back["state"], "st-1");
    }
    // A scope that no named resource accepts and the client was not given
    // is still invalid_scope.
    let r = Browser::default()
        .get(&server, &path("agent", "openid print", &[PHOTOS]))
        .await;
    assert_eq!(redirected(&r)["error"], "invalid_scope");

    // Without resource: today's behaviour, the registered audiences.
    let (_, done) = sign_in(
        &mut browser,
        &server,
        &path("agent", "openid offline_access", &[]),
    )
    .await;
    let r = redeem(&server, "agent", &done["code"], Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(
        claims(&server, &r, PHOTOS).await["aud"],
        serde_json::json!([PHOTOS, PRINT])
    );
    // ...and a grant that named none cannot name one later.
    let r = refresh(
        &server,
        r.json()["refresh_token"].as_str().unwrap_or_default(),
        &resource_params(&[PHOTOS]),
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_target", "{}", text(&r));

    // client_credentials (§2): a resource the service may ask for, its
    // scopes narrowed; any other refused.
    let svc = basic("svc", "svc-secret");
    let cc = |extra: String| {
        let svc = svc.clone();
        let addr = server.addr;
        async move {
            token(
                addr,
                &format!("grant_type=client_credentials{extra}"),
                &[("Authorization", &svc)],
            )
            .await
        }
    };
    let r = cc(format!("&scope=photos%3Awrite{}", resource_params(&[PHOTOS]))).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let c = claims(&server, &r, PHOTOS).await;
    assert_eq!(
        (c["aud"].as_str(), c["scope"].as_str()),
        (Some(PHOTOS), Some("photos:write"))
    );
    for extra in [
        resource_params(&[PRINT]),
        resource_params(&["https://x.example#f"]),
        format!("&audience=api{}", resource_params(&[PHOTOS])),
    ] {
        let r = cc(extra.clone()).await;
        assert_eq!(r.status, 400, "{extra}: {}", text(&r));
        assert_eq!(r.json()["error"], "invalid_target", "{extra}");
    }

    // A pushed request (RFC 9126) keeps every resource it names.
    let form = format!(
        "response_type=code&client_id=agent&redirect_uri={}&scope=openid+photos%3Aread+print&state=st-1\
         &code_challenge={}&code_challenge_method=S256{}",
        enc(support::browser::CALLBACK),
        support::browser::CHALLENGE,
        resource_params(&[PHOTOS, PRINT])
    );
    let pushed = support::request(
        server.addr,
        "POST",
        "/par",
        &[("Content-Type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )
    .await;
    assert_eq!(pushed.status, 201, "{}", text(&pushed));
    let uri = pushed.json()["request_uri"].as_str().unwrap().to_owned();
    let (_, done) = sign_in(
        &mut browser,
        &server,
        &format!("/authorize?client_id=agent&request_uri={}", enc(&uri)),
    )
    .await;
    let r = redeem(&server, "agent", &done["code"], Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    assert_eq!(
        claims(&server, &r, PRINT).await["aud"],
        serde_json::json!([PHOTOS, PRINT])
    );

    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_8707_resource_indicators_sqlite() {
    resource_indicators(&support::sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_8707_resource_indicators_postgres() {
    match support::postgres_url().await {
        Some(url) => resource_indicators(&url).await,
        None => eprintln!("skipped: TESSERA_TEST_POSTGRES_URL is not set"),
    }
}

/// Runs the `tessera` binary, as an operator would.
fn tessera(args: &[&str]) -> Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .unwrap()
}

/// `tessera resource create | list` and `tessera client create --resource`,
/// with their names exactly as the issue fixes them.
#[test]
fn the_resource_commands() {
    let db = support::sqlite_url();
    let out = tessera(&[
        "resource",
        "create",
        "--database",
        &db,
        "--identifier",
        PHOTOS,
        "--scope",
        "photos:read photos:write",
        "--name",
        "Photos API",
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["identifier"], PHOTOS);
    assert_eq!(created["scope"], "photos:read photos:write");
    assert_eq!(created["name"], "Photos API");

    let again = tessera(&["resource", "create", "--database", &db, "--identifier", PHOTOS]);
    assert_eq!(again.status.code(), Some(2), "a second registration is refused");
    for bad in ["https://a.example/#x", "relative/path"] {
        let out = tessera(&["resource", "create", "--database", &db, "--identifier", bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--identifier"),
            "{bad}"
        );
    }

    let out = tessera(&["resource", "list", "--database", &db]);
    let list: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(1));
    assert_eq!(list[0]["identifier"], PHOTOS);

    let out = tessera(&[
        "client",
        "create",
        "--database",
        &db,
        "--name",
        "svc",
        "--resource",
        PHOTOS,
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let id = serde_json::from_slice::<Value>(&out.stdout).unwrap()["client_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let shown: Value =
        serde_json::from_slice(&tessera(&["client", "show", "--database", &db, &id]).stdout).unwrap();
    assert_eq!(shown["audiences"], serde_json::json!([PHOTOS]));
    let out = tessera(&[
        "client",
        "create",
        "--database",
        &db,
        "--name",
        "x",
        "--resource",
        OTHER,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("tessera resource create"));
}
