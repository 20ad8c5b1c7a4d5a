//! Client ID metadata documents
//! ([draft-ietf-oauth-client-id-metadata-document]) over real HTTP: a
//! client nobody registered names itself by the https URL of its document,
//! served here on loopback with a test certificate (trusted through
//! `outbound_ca_file`, the host allow-listed in
//! `client_metadata_allow_hosts`), signs a user in through the consent
//! page and redeems its code; and each check, one refusal each.
//!
//! [draft-ietf-oauth-client-id-metadata-document]: https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

mod fake_site;

use fake_site::{FakeSite, Page};
use serde_json::json;
use tessera_server::config::Config;
use tessera_server::store::Store;
use tessera_testkit as support;
use tessera_testkit::browser::{field, text, Browser};

const CALLBACK: &str = "https://app.example/cb";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

fn enc(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

/// A document describing the client at `id`.
fn document(id: &str) -> serde_json::Value {
    json!({
        "client_id": id,
        "client_name": "Agent Smith",
        "redirect_uris": [CALLBACK],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "scope": "openid profile offline_access",
    })
}

fn authorize_path(client_id: &str, redirect_uri: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={}&redirect_uri={}&scope=openid+offline_access\
         &state=st-1&code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc(client_id),
        enc(redirect_uri)
    )
}

/// A Tessera with metadata documents `on`, allowing `allow` hosts, and
/// trusting the site's certificate; seeded with ann.
async fn tessera(on: bool, allow: &[&str], ca: &std::path::Path) -> (support::Running, Store) {
    let db = support::sqlite_url();
    let ca = ca.display().to_string();
    let allow: Vec<String> = allow.iter().map(|h| (*h).to_owned()).collect();
    let server = support::start_configured(&db, "ES256", None, move |c: &mut Config| {
        c.client_metadata_documents = on;
        c.client_metadata_allow_hosts = allow;
        c.outbound_ca_file = Some(ca);
    })
    .await;
    let store = Store::open(&db).await.unwrap();
    support::browser::seed(&store).await;
    (server, store)
}

/// A site with its own certificate (`name`: one per test, as they run at
/// once).
async fn site(name: &str) -> (FakeSite, std::path::PathBuf) {
    let dir = support::self_signed_certificate(name);
    let site = FakeSite::start(Some((&dir.join("cert.pem"), &dir.join("key.pem")))).await;
    (site, dir.join("cert.pem"))
}

/// The whole flow: discovery says documents are supported; `/authorize`
/// with the document's URL as `client_id` shows the sign-in page, then the
/// consent page naming the client's host and saying it is not a registered
/// app (never skipped: it is third party); the code is redeemed at
/// `/token` by the same URL, public client with PKCE; `/par` takes it too.
/// The document is fetched once and kept (its `max-age`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_known_by_its_document_signs_a_user_in() {
    let (site, ca) = site("cimd-flow").await;
    let (server, _store) = tessera(true, &["127.0.0.1"], &ca).await;
    let id = site.url("/agent/client.json");
    site.put(
        "/agent/client.json",
        Page::json(&document(&id)).with("cache-control", "max-age=600"),
    );

    let discovery = support::request(
        server.addr,
        "GET",
        "/.well-known/oauth-authorization-server",
        &[],
        b"",
    )
    .await;
    assert_eq!(discovery.json()["client_id_metadata_document_supported"], true);
    let discovery = support::request(server.addr, "GET", "/.well-known/openid-configuration", &[], b"").await;
    assert_eq!(discovery.json()["client_id_metadata_document_supported"], true);

    let mut b = Browser::default();
    let page = b.get(&server, &authorize_path(&id, CALLBACK)).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    let page = b
        .log_in(&server, &text(&page), "ann", "correct horse battery")
        .await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("Allow Agent Smith?"), "{html}");
    assert!(html.contains("From <strong>127.0.0.1</strong>"), "{html}");
    assert!(html.contains("not an app registered with this server"), "{html}");
    let done = b
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
    let location = done.header("location").unwrap().to_owned();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, CALLBACK);
    let params: std::collections::HashMap<String, String> =
        form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let form = format!(
        "grant_type=authorization_code&code={}&redirect_uri={}&client_id={}&code_verifier={VERIFIER}",
        params["code"],
        enc(CALLBACK),
        enc(&id)
    );
    let r = support::token(server.addr, &form, &[]).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let tokens = r.json();
    assert_eq!(tokens["scope"], "openid offline_access");
    assert!(tokens["refresh_token"].is_string(), "{tokens}");
    let claims = support::verify(&server, tokens["access_token"].as_str().unwrap(), &server.issuer).await;
    assert_eq!(claims["client_id"], id.as_str());

    // The refresh grant, and /userinfo, know the client too.
    let form = format!(
        "grant_type=refresh_token&refresh_token={}&client_id={}",
        enc(tokens["refresh_token"].as_str().unwrap()),
        enc(&id)
    );
    let r = support::token(server.addr, &form, &[]).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let bearer = format!("Bearer {}", r.json()["access_token"].as_str().unwrap());
    let me = support::request(
        server.addr,
        "GET",
        "/userinfo",
        &[("authorization", &bearer)],
        b"",
    )
    .await;
    assert_eq!(me.status, 200, "{}", text(&me));

    // A pushed request from the same client.
    let form = format!(
        "client_id={}&response_type=code&redirect_uri={}&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256",
        enc(&id),
        enc(CALLBACK)
    );
    let r = support::request(
        server.addr,
        "POST",
        "/par",
        &[("content-type", "application/x-www-form-urlencoded")],
        form.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", text(&r));

    assert_eq!(site.hits("/agent/client.json"), 1, "fetched once, then kept");
    server.stop().await;
}

/// Each check, one refusal: the document is refused and the client is
/// unknown (`/authorize` shows a page and never redirects; `/token` says
/// `invalid_client`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_that_break_a_rule_are_refused() {
    let (site, ca) = site("cimd-rules").await;
    let (server, _store) = tessera(true, &["127.0.0.1"], &ca).await;

    let big = {
        let id = site.url("/big.json");
        let mut d = document(&id);
        d["padding"] = json!("x".repeat(5 * 1024));
        site.put("/big.json", Page::json(&d));
        id
    };
    let redirecting = {
        let id = site.url("/moved.json");
        site.put(
            "/moved.json",
            Page {
                status: 302,
                headers: vec![("location".into(), site.url("/target.json"))],
                body: vec![],
            },
        );
        site.put("/target.json", Page::json(&document(&id)));
        id
    };
    let mismatched = {
        let id = site.url("/mismatch.json");
        site.put("/mismatch.json", Page::json(&document(&site.url("/other.json"))));
        id
    };
    let secret = {
        let id = site.url("/secret.json");
        let mut d = document(&id);
        d["token_endpoint_auth_method"] = json!("client_secret_basic");
        site.put("/secret.json", Page::json(&d));
        id
    };
    let missing = site.url("/missing.json");
    let dotted = format!("https://{}/a/../dotted.json", site.addr);
    let cases = [
        ("larger than 5 KB", big.clone()),
        ("a redirect", redirecting.clone()),
        ("another client_id", mismatched.clone()),
        ("client_secret_basic", secret.clone()),
        ("404", missing),
        ("dot segments", dotted),
    ];
    for (name, id) in &cases {
        let mut b = Browser::default();
        let page = b.get(&server, &authorize_path(id, CALLBACK)).await;
        assert_eq!(page.status, 400, "{name}: {}", text(&page));
        assert!(
            text(&page).contains("not a registered client"),
            "{name}: {}",
            text(&page)
        );
        let form = format!(
            "grant_type=authorization_code&code=x&redirect_uri={}&client_id={}&code_verifier={VERIFIER}",
            enc(CALLBACK),
            enc(id)
        );
        let r = support::token(server.addr, &form, &[]).await;
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (401, Some("invalid_client")),
            "{name}"
        );
    }
    assert_eq!(site.hits("/target.json"), 0, "a redirect is never followed");
    assert!(site.hits("/moved.json") >= 1);

    // A good document, but a redirect_uri it does not list: a page, no
    // redirect (RFC 6749 §4.1.2.1).
    let id = site.url("/good.json");
    site.put("/good.json", Page::json(&document(&id)));
    let mut b = Browser::default();
    let page = b
        .get(&server, &authorize_path(&id, "https://evil.example/cb"))
        .await;
    assert_eq!(page.status, 400, "{}", text(&page));
    assert!(page.header("location").is_none());
    let page = b.get(&server, &authorize_path(&id, CALLBACK)).await;
    assert_eq!(page.status, 200, "the listed one works: {}", text(&page));
    server.stop().await;
}

/// The fetcher reaches only public addresses unless the host is listed:
/// with nothing allow-listed, a document on 127.0.0.1 is refused before
/// any connection. And with the setting off, a URL `client_id` is just an
/// unknown client: nothing is fetched, and discovery does not claim
/// support.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_addresses_and_the_setting_off() {
    let (site, ca) = site("cimd-private").await;
    let id = site.url("/client.json");
    site.put("/client.json", Page::json(&document(&id)));

    let (server, _store) = tessera(true, &[], &ca).await;
    let mut b = Browser::default();
    let page = b.get(&server, &authorize_path(&id, CALLBACK)).await;
    assert_eq!(page.status, 400, "{}", text(&page));
    assert_eq!(site.hits("/client.json"), 0, "a loopback address is not fetched");
    server.stop().await;

    let (server, _store) = tessera(false, &["127.0.0.1"], &ca).await;
    let page = b.get(&server, &authorize_path(&id, CALLBACK)).await;
    assert_eq!(page.status, 400, "{}", text(&page));
    assert!(text(&page).contains("not a registered client"));
    assert_eq!(site.hits("/client.json"), 0, "off: nothing fetched");
    let discovery = support::request(server.addr, "GET", "/.well-known/openid-configuration", &[], b"").await;
    assert!(discovery
        .json()
        .get("client_id_metadata_document_supported")
        .is_none());
    server.stop().await;
}
