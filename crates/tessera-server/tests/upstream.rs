//! Signing in through upstream providers, end to end on loopback: a second
//! Tessera as a real OpenID provider, a fake GitHub, and a fake OpenID
//! provider whose answers can be falsified one check at a time.
//!
//! Cookies are kept per host: the upstream Tessera is `localhost`, the one
//! under test `127.0.0.1` (a browser does not separate cookies by port, so
//! two servers on one host name would share theirs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::time::Duration;

use tessera_server::config::{Config, UpstreamConfig, UpstreamKind};
use tessera_server::store::{ClientStore, Store, UpstreamStore, UserStore};
use tessera_testkit as support;

use support::browser::{self, field, text, Browser, VERIFIER};
use support::fake_github::FakeGitHub;
use support::fake_oidc::{FakeOidc, Falsify};
use support::{Response, Running};

/// The server under test (`127.0.0.1`), seeded with the sign-in tests'
/// clients and ann, with these upstreams.
async fn tessera_with(upstreams: Vec<UpstreamConfig>, timeout: u64) -> (Running, Store) {
    tessera_on(&support::sqlite_url(), upstreams, timeout).await
}

/// [`tessera_with`] on `database`.
async fn tessera_on(database: &str, upstreams: Vec<UpstreamConfig>, timeout: u64) -> (Running, Store) {
    let server = support::start_configured(database, "ES256", None, move |c: &mut Config| {
        c.upstream = upstreams;
        c.upstream_timeout = timeout;
    })
    .await;
    let store = Store::open(database).await.unwrap();
    browser::seed(&store).await;
    (server, store)
}

/// A path and query of an absolute URL on `server`.
fn on(server: &Running, url: &str) -> String {
    let origin = &server.issuer;
    url.strip_prefix(origin.as_str())
        .unwrap_or_else(|| panic!("{url} is not on {origin}"))
        .to_owned()
}

/// GET an absolute `http://127.0.0.1:PORT/...` or `http://localhost:PORT/...`
/// URL (no cookies: the fakes set none).
async fn get_url(url: &str) -> Response {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let port: u16 = host.rsplit(':').next().unwrap().parse().unwrap();
    support::request(([127, 0, 0, 1], port).into(), "GET", path, &[], b"").await
}

fn location(r: &Response) -> String {
    assert!(matches!(r.status, 302 | 303), "{} {}", r.status, text(r));
    r.header("location").unwrap().to_owned()
}

/// Starts a sign-in at the server under test for client `web` and presses
/// "Continue with {provider}": the URL the browser is sent to.
async fn leave(b: &mut Browser, server: &Running, provider: &str) -> String {
    let page = b.get(server, &browser::authorize_path("web", "")).await;
    let html = text(&page);
    assert!(html.contains(&format!("Continue with {provider} name")), "{html}");
    let r = b
        .post(
            server,
            "/authorize/upstream",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("provider", provider),
            ],
        )
        .await;
    let to = location(&r);
    // The page's CSP lets its form end at the provider (Chromium checks
    // `form-action` on the 303 too), and the client, and nothing else.
    let (scheme, rest) = to.split_once("://").unwrap();
    let origin = format!("{scheme}://{}", rest.split('/').next().unwrap());
    let csp = page.header("content-security-policy").unwrap();
    let form_action = csp
        .split(';')
        .map(str::trim)
        .find(|d| d.starts_with("form-action "))
        .unwrap();
    let allowed: Vec<&str> = form_action.split(' ').skip(1).collect();
    assert!(allowed.contains(&origin.as_str()), "{csp} for {to}");
    assert!(
        allowed.contains(&"'self'") && allowed.contains(&"http://app.example"),
        "{csp}"
    );
    to
}

/// Back at the server under test with the provider's redirect `url`; then
/// through its consent page for `web`: the code's redirect parameters.
async fn come_back(b: &mut Browser, server: &Running, url: &str) -> HashMap<String, String> {
    let r = b.get(server, &on(server, url)).await;
    browser::through_consent(b, server, r).await
}

/// The ID token's claims for a code of `web`.
async fn id_claims(server: &Running, code: &str) -> serde_json::Value {
    let r = browser::redeem(server, "web", code, Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let id_token = r.json()["id_token"].as_str().unwrap().to_owned();
    tessera_jwt::danger::decode_unverified(&id_token, 16384)
        .unwrap()
        .claims
}

/// A second Tessera, as a real OpenID provider: users sign in there, and
/// the server under test trusts its ID tokens. The same person signing in
/// twice is the same local user; `amr` says `fed`.
#[tokio::test]
async fn another_tessera_as_the_openid_provider() {
    // The upstream, at http://localhost:PORT.
    let (up, up_store) = support::provider_tessera("correct horse battery").await;
    let up_issuer = up.issuer.clone();

    let mut corp = support::upstream("corp", UpstreamKind::Oidc, "downstream", "downstream-secret");
    corp.issuer = Some(up_issuer.clone());
    let (server, store) = tessera_with(vec![corp], 5).await;
    let mut client = support::client(
        "downstream",
        Some("downstream-secret"),
        &["authorization_code"],
        &["openid", "profile", "email"],
        &[],
    );
    client.redirect_uris = vec![format!("{}/upstream/corp/callback", server.issuer)];
    up_store.create_client(&client).await.unwrap();

    let mut sub = None;
    let mut up_browser = Browser::default();
    for round in 0..2 {
        let mut b = Browser::default();
        let to_upstream = leave(&mut b, &server, "corp").await;
        let query: HashMap<String, String> =
            form_urlencoded::parse(to_upstream.split_once('?').unwrap().1.as_bytes())
                .into_owned()
                .collect();
        assert_eq!(query["code_challenge_method"], "S256");
        assert!(query.contains_key("nonce") && query.contains_key("state"));
        // At the upstream: sign in the first time (then its session and
        // remembered consent carry the second).
        let mut r = up_browser.get(&up, &on(&up, &to_upstream)).await;
        if round == 0 {
            let html = text(&r);
            r = up_browser
                .log_in(&up, &html, "alice", "correct horse battery")
                .await;
            let html = text(&r);
            assert!(html.contains("Allow downstream app?"), "{html}");
            r = up_browser
                .post(
                    &up,
                    "/authorize/consent",
                    &[
                        ("interaction", &field(&html, "interaction")),
                        ("csrf", &field(&html, "csrf")),
                        ("decision", "allow"),
                    ],
                )
                .await;
        }
        let back = location(&r);
        assert!(
            back.contains("iss=http%3A%2F%2Flocalhost"),
            "RFC 9207 iss: {back}"
        );
        let answer = come_back(&mut b, &server, &back).await;
        let claims = id_claims(&server, &answer["code"]).await;
        assert_eq!(claims["amr"], serde_json::json!(["fed"]));
        match &sub {
            None => sub = Some(claims["sub"].clone()),
            Some(first) => assert_eq!(&claims["sub"], first, "the same person is the same local user"),
        }
    }
    let local = store.user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(Some(serde_json::json!(local.id)), sub);
    assert_eq!(local.email.as_deref(), Some("alice@corp.example"));
    assert!(local.email_verified, "the upstream asserted it");
    assert!(
        local.password_hash.is_empty(),
        "no password: signs in upstream only"
    );
    let links = store.identities_of(&local.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(
        (links[0].provider.as_str(), links[0].subject.as_str()),
        ("corp", "u-alice")
    );
    up.stop().await;
    server.stop().await;
}

/// The server under test with a fake GitHub as `gh`.
async fn with_github(timeout: u64) -> (FakeGitHub, Running, Store) {
    with_github_on(&support::sqlite_url(), timeout).await
}

/// [`with_github`] on `database`.
async fn with_github_on(database: &str, timeout: u64) -> (FakeGitHub, Running, Store) {
    let github = FakeGitHub::start("gh-client", "gh-secret").await;
    let mut gh = support::upstream("gh", UpstreamKind::Github, "gh-client", "gh-secret");
    gh.authorization_endpoint = Some(github.authorize_url());
    gh.token_endpoint = Some(github.token_url());
    gh.api_base = Some(github.base.clone());
    let (server, store) = tessera_on(database, vec![gh], timeout).await;
    (github, server, store)
}

/// A whole sign-in through GitHub in a fresh browser: the code's redirect.
async fn through_github(server: &Running) -> HashMap<String, String> {
    let mut b = Browser::default();
    let to_github = leave(&mut b, server, "gh").await;
    let back = location(&get_url(&to_github).await);
    come_back(&mut b, server, &back).await
}

/// GitHub: the identity is the numeric id, the email the primary verified
/// one; the same GitHub user twice is one local user even after renaming
/// their login; PKCE S256 went upstream.
#[tokio::test]
async fn github_sign_in_creates_then_finds_the_same_user() {
    let (github, server, store) = with_github(5).await;
    github.set_user(4242, "Octo-Cat", Some("Mona Octocat"), None);
    github.set_emails(vec![
        ("old@octo.example".into(), false, true),
        ("mona@octo.example".into(), true, true),
    ]);
    let first = id_claims(&server, &through_github(&server).await["code"]).await;
    assert_eq!(first["amr"], serde_json::json!(["fed"]));
    let sent = &github.authorize_requests()[0];
    assert_eq!(sent["code_challenge_method"], "S256");
    assert!(sent["code_challenge"].len() == 43 && !sent["state"].is_empty());
    let user = store.user_by_username("octo-cat").await.unwrap().unwrap();
    assert_eq!(first["sub"], serde_json::json!(user.id));
    assert_eq!(user.email.as_deref(), Some("mona@octo.example"));
    assert!(user.email_verified);
    assert_eq!(user.name.as_deref(), Some("Mona Octocat"));
    // The login changes upstream; the numeric id does not.
    github.set_user(4242, "mona", Some("Mona"), None);
    let second = id_claims(&server, &through_github(&server).await["code"]).await;
    assert_eq!(second["sub"], first["sub"], "keyed by GitHub's id, not its login");
    // Another GitHub user whose login is taken here gets another username.
    github.set_user(7, "ann", None, None);
    github.set_emails(vec![]);
    through_github(&server).await;
    let seven = store.user_by_username("ann-2").await.unwrap().unwrap();
    assert_eq!(seven.email, None, "no verified primary email, none copied");
    let links = store.identities_of(&seven.id).await.unwrap();
    assert_eq!(
        (links[0].provider.as_str(), links[0].subject.as_str()),
        ("gh", "7")
    );
    server.stop().await;
}

/// Leaves for GitHub and comes back: the page the server under test shows.
async fn attempt(b: &mut Browser, server: &Running) -> Response {
    let to_github = leave(b, server, "gh").await;
    let back = location(&get_url(&to_github).await);
    b.get(server, &on(server, &back)).await
}

/// An upstream email that matches a local user, from a provider that is not
/// `trust_email`, is never linked on its word: the page asks for that
/// account's password; the right password links it
/// (`amr` `fed pwd`), a wrong one does not; "new account" makes one without
/// the email.
#[tokio::test]
async fn an_email_match_is_linked_only_after_the_account_is_proven() {
    let (github, server, store) = with_github(5).await;
    // ann@example.com is the seeded local user ann's email.
    github.set_user(99, "someone", None, None);
    github.set_emails(vec![("ANN@example.com".into(), true, true)]);
    let mut b = Browser::default();
    let page = attempt(&mut b, &server).await;
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("Link your gh name account"), "{html}");
    assert!(
        !html.contains("ann@example.com"),
        "the page does not repeat the email"
    );
    let ann = store.user_by_username("ann").await.unwrap().unwrap();
    assert!(
        store.identities_of(&ann.id).await.unwrap().is_empty(),
        "not linked silently"
    );
    // A wrong password links nothing.
    let form = |html: &str, password: &str| {
        vec![
            ("interaction", field(html, "interaction")),
            ("csrf", field(html, "csrf")),
            ("username", "ann".to_owned()),
            ("password", password.to_owned()),
            ("decision", "link".to_owned()),
        ]
    };
    let fields = form(&html, "wrong password!");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let wrong = b.post(&server, "/authorize/link", &pairs).await;
    assert_eq!(wrong.status, 401, "{}", text(&wrong));
    assert!(store.identities_of(&ann.id).await.unwrap().is_empty());
    // The right one links, and the user signs in as ann.
    let html = text(&wrong);
    let fields = form(&html, "correct horse battery");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let linked = b.post(&server, "/authorize/link", &pairs).await;
    let answer = browser::through_consent(&mut b, &server, linked).await;
    let claims = id_claims(&server, &answer["code"]).await;
    assert_eq!(claims["sub"], serde_json::json!(ann.id));
    assert_eq!(claims["amr"], serde_json::json!(["fed", "pwd"]));
    assert_eq!(store.identities_of(&ann.id).await.unwrap().len(), 1);
    // The next time, the link is used: no page.
    let again = id_claims(&server, &through_github(&server).await["code"]).await;
    assert_eq!(again["sub"], serde_json::json!(ann.id));

    // Another upstream user with ann's email takes a new account instead.
    github.set_user(100, "other", None, None);
    let mut b = Browser::default();
    let html = text(&attempt(&mut b, &server).await);
    let r = b
        .post(
            &server,
            "/authorize/link",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("decision", "new"),
            ],
        )
        .await;
    let answer = browser::through_consent(&mut b, &server, r).await;
    let claims = id_claims(&server, &answer["code"]).await;
    assert_ne!(claims["sub"], serde_json::json!(ann.id));
    let other = store.user_by_username("other").await.unwrap().unwrap();
    assert_eq!(other.email, None, "the email stays ann's");
    server.stop().await;
}

/// `trust_email` links to the local user with that email at once, but only
/// when the provider says the email is verified: an unverified one that
/// matches gets the link page and no link.
#[tokio::test]
async fn a_trusted_provider_links_by_verified_email_only() {
    let oidc = FakeOidc::start("rp", "rp-secret").await;
    let mut corp = support::upstream("corp", UpstreamKind::Oidc, "rp", "rp-secret");
    corp.issuer = Some(oidc.issuer.clone());
    corp.trust_email = true;
    let (server, store) = tessera_with(vec![corp], 5).await;
    let ann = store.user_by_username("ann").await.unwrap().unwrap();
    oidc.set_subject("impostor");
    oidc.set_profile(Some("ann@example.com"), false, None, Some("annie"), &[]);
    let mut b = Browser::default();
    let to = leave(&mut b, &server, "corp").await;
    let back = location(&get_url(&to).await);
    let page = b.get(&server, &on(&server, &back)).await;
    assert!(
        text(&page).contains("Link your corp name account"),
        "{}",
        text(&page)
    );
    assert!(
        store.identities_of(&ann.id).await.unwrap().is_empty(),
        "unverified: not linked"
    );
    oidc.set_subject("ann-upstream");
    oidc.set_profile(Some("ann@example.com"), true, Some("Ann"), Some("annie"), &[]);
    let mut b = Browser::default();
    let to = leave(&mut b, &server, "corp").await;
    let back = location(&get_url(&to).await);
    let answer = come_back(&mut b, &server, &back).await;
    assert_eq!(
        id_claims(&server, &answer["code"]).await["sub"],
        serde_json::json!(ann.id)
    );
    let links = store.identities_of(&ann.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].subject, "ann-upstream");
    server.stop().await;
}

/// Each check of the ID token and the authorization response, broken
/// alone by the fake provider, stops the sign-in with a page; nobody is
/// signed in and no user is made.
#[tokio::test]
async fn every_id_token_check_holds() {
    let oidc = FakeOidc::start("rp", "rp-secret").await;
    oidc.set_profile(Some("eve@corp.example"), true, None, Some("eve"), &[]);
    let mut corp = support::upstream("corp", UpstreamKind::Oidc, "rp", "rp-secret");
    corp.issuer = Some(oidc.issuer.clone());
    let (server, store) = tessera_with(vec![corp], 5).await;
    for falsify in [
        Falsify::Nonce,
        Falsify::Audience,
        Falsify::Azp,
        Falsify::IssClaim,
        Falsify::IssParameter,
        Falsify::OmitIssParameter,
        Falsify::Expired,
        Falsify::IssuedInFuture,
        Falsify::OtherKey,
        Falsify::AlgNone,
    ] {
        oidc.set_falsify(falsify);
        let mut b = Browser::default();
        let to = leave(&mut b, &server, "corp").await;
        let back = location(&get_url(&to).await);
        let r = b.get(&server, &on(&server, &back)).await;
        assert_eq!(r.status, 403, "{falsify:?}: {}", text(&r));
        assert!(text(&r).contains("failed a security check"), "{falsify:?}");
        assert!(
            !b.cookies.keys().any(|k| k.contains("session")),
            "{falsify:?}: signed in"
        );
    }
    assert!(
        store.user_by_username("eve").await.unwrap().is_none(),
        "no user made"
    );
    // And with nothing falsified, the same provider works.
    oidc.set_falsify(Falsify::None);
    let mut b = Browser::default();
    let to = leave(&mut b, &server, "corp").await;
    let back = location(&get_url(&to).await);
    come_back(&mut b, &server, &back).await;
    assert!(store.user_by_username("eve").await.unwrap().is_some());
    server.stop().await;
}

/// The `state` works once, in the browser that left, for the provider it
/// was made for: a replayed, forged or other browser's callback is refused.
#[tokio::test]
async fn state_is_single_use_and_bound_to_the_browser() {
    let (github, server, _store) = with_github(5).await;
    github.set_user(1, "mallory", None, None);
    let mut victim = Browser::default();
    let to_github = leave(&mut victim, &server, "gh").await;
    let back = location(&get_url(&to_github).await);
    // Another browser (the attacker's, or a victim sent the attacker's
    // callback URL: login CSRF) cannot use it.
    let mut other = Browser::default();
    other.get(&server, &browser::authorize_path("web", "")).await;
    let r = other.get(&server, &on(&server, &back)).await;
    assert_eq!(r.status, 403, "{}", text(&r));
    // The trip was used up by that attempt: the right browser now fails too.
    let r = victim.get(&server, &on(&server, &back)).await;
    assert_eq!(r.status, 403, "replayed state: {}", text(&r));
    // A forged state.
    let mut b = Browser::default();
    let to_github = leave(&mut b, &server, "gh").await;
    let back = location(&get_url(&to_github).await);
    let (base, query) = back.split_once('?').unwrap();
    let forged: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form_urlencoded::parse(query.as_bytes()).map(|(k, v)| {
            (
                k.to_string(),
                if k == "state" {
                    "forged".to_string()
                } else {
                    v.to_string()
                },
            )
        }))
        .finish();
    let r = b.get(&server, &on(&server, &format!("{base}?{forged}"))).await;
    assert_eq!(r.status, 403, "{}", text(&r));
    // The real one still works once, then not again.
    let ok = b.get(&server, &on(&server, &back)).await;
    browser::through_consent(&mut b, &server, ok).await;
    let again = b.get(&server, &on(&server, &back)).await;
    assert_eq!(again.status, 403, "{}", text(&again));
    // The same state at another provider's callback is refused.
    let mut b = Browser::default();
    let to_github = leave(&mut b, &server, "gh").await;
    let back = location(&get_url(&to_github).await);
    let r = b
        .get(
            &server,
            &on(&server, &back).replace("/upstream/gh/", "/upstream/nope/"),
        )
        .await;
    assert_eq!(r.status, 404, "{}", text(&r));
    server.stop().await;
}

/// A provider that is down, too slow, or answers nonsense gets an error
/// page (502), never a 500, and no half-made account.
#[tokio::test]
async fn a_failing_provider_gets_a_page_not_a_500() {
    let (github, server, store) = with_github(1).await;
    github.set_user(5, "slowpoke", None, None);
    let before = store.users().await.unwrap().len();
    // Nonsense at the token endpoint.
    github.set_token_status(500);
    let mut b = Browser::default();
    let to = leave(&mut b, &server, "gh").await;
    let back = location(&get_url(&to).await);
    let r = b.get(&server, &on(&server, &back)).await;
    assert_eq!(r.status, 502, "{}", text(&r));
    assert!(
        text(&r).contains("could not be reached or refused"),
        "{}",
        text(&r)
    );
    // Slower than upstream_timeout (1 s).
    github.set_token_status(200);
    let mut b = Browser::default();
    let to = leave(&mut b, &server, "gh").await;
    let back = location(&get_url(&to).await);
    github.set_delay(Duration::from_millis(1500));
    let r = b.get(&server, &on(&server, &back)).await;
    assert_eq!(r.status, 502, "{}", text(&r));
    github.set_delay(Duration::ZERO);
    // Down.
    let mut b = Browser::default();
    let to = leave(&mut b, &server, "gh").await;
    let back = location(&get_url(&to).await);
    github.stop().await;
    let r = b.get(&server, &on(&server, &back)).await;
    assert_eq!(r.status, 502, "{}", text(&r));
    assert_eq!(store.users().await.unwrap().len(), before, "no account made");
    server.stop().await;
}

/// An OpenID provider that is down when the button is pressed: a page.
#[tokio::test]
async fn an_unreachable_openid_provider_gets_a_page() {
    let oidc = FakeOidc::start("rp", "rp-secret").await;
    let mut corp = support::upstream("corp", UpstreamKind::Oidc, "rp", "rp-secret");
    corp.issuer = Some(oidc.issuer.clone());
    oidc.stop().await;
    let (server, _store) = tessera_with(vec![corp], 1).await;
    let mut b = Browser::default();
    let page = b.get(&server, &browser::authorize_path("web", "")).await;
    let html = text(&page);
    let r = b
        .post(
            &server,
            "/authorize/upstream",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("provider", "corp"),
            ],
        )
        .await;
    assert_eq!(r.status, 502, "{}", text(&r));
    server.stop().await;
}

/// Roles named in `role_map` follow the provider's groups at each sign-in.
#[tokio::test]
async fn mapped_roles_follow_the_upstream_groups() {
    let oidc = FakeOidc::start("rp", "rp-secret").await;
    oidc.set_subject("grace");
    oidc.set_profile(None, false, None, Some("grace"), &["corp-admins"]);
    let mut corp = support::upstream("corp", UpstreamKind::Oidc, "rp", "rp-secret");
    corp.issuer = Some(oidc.issuer.clone());
    corp.role_map = [("corp-admins".to_owned(), vec!["admin".to_owned()])].into();
    let (server, store) = tessera_with(vec![corp], 5).await;
    let sign_in = || async {
        let mut b = Browser::default();
        let to = leave(&mut b, &server, "corp").await;
        let back = location(&get_url(&to).await);
        come_back(&mut b, &server, &back).await;
    };
    sign_in().await;
    let grace = store.user_by_username("grace").await.unwrap().unwrap();
    assert_eq!(grace.roles, ["admin"]);
    oidc.set_profile(None, false, None, Some("grace"), &[]);
    sign_in().await;
    assert!(
        store.user(&grace.id).await.unwrap().unwrap().roles.is_empty(),
        "taken away upstream"
    );
    server.stop().await;
}

/// A plain OAuth 2.0 provider (`kind = "oauth2"`): the configured fields of
/// its user-info answer give the identity; without an `email_verified`
/// field no email counts as verified. (The GitHub fake stands in: its
/// token endpoint takes HTTP Basic too.)
#[tokio::test]
async fn a_plain_oauth2_provider_maps_its_fields() {
    let forge = FakeGitHub::start("forge-client", "forge-secret").await;
    forge.set_user(31337, "Forger", Some("Fay Forger"), Some("fay@forge.example"));
    let mut cfg = support::upstream("forge", UpstreamKind::Oauth2, "forge-client", "forge-secret");
    cfg.authorization_endpoint = Some(forge.authorize_url());
    cfg.token_endpoint = Some(forge.token_url());
    cfg.userinfo_endpoint = Some(forge.user_url());
    cfg.fields = Some(tessera_server::config::UpstreamFields {
        id: "id".into(),
        username: Some("login".into()),
        name: None,
        email: None,
        email_verified: None,
    });
    let (server, store) = tessera_with(vec![cfg], 5).await;
    let mut b = Browser::default();
    let to = leave(&mut b, &server, "forge").await;
    let back = location(&get_url(&to).await);
    let answer = come_back(&mut b, &server, &back).await;
    let claims = id_claims(&server, &answer["code"]).await;
    let fay = store.user_by_username("forger").await.unwrap().unwrap();
    assert_eq!(claims["sub"], serde_json::json!(fay.id));
    assert_eq!(fay.name.as_deref(), Some("Fay Forger"));
    assert_eq!(fay.email.as_deref(), Some("fay@forge.example"));
    assert!(!fay.email_verified, "no email_verified field: not verified");
    let links = store.identities_of(&fay.id).await.unwrap();
    assert_eq!(
        (links[0].provider.as_str(), links[0].subject.as_str()),
        ("forge", "31337")
    );
    server.stop().await;
}

/// The same new GitHub person finishing eight sign-ins at the same
/// instant (eight browsers): one local user is made and linked, all eight
/// sign in as it, and no request fails or leaves an unlinked user behind.
/// On SQLite, and on PostgreSQL when the tests have one (where the
/// transactions really overlap).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn simultaneous_first_sign_ins_make_one_user() {
    for (trial, on_postgres) in (0..3).flat_map(|t| [(t, false), (t, true)]) {
        let database = if on_postgres {
            let Some(url) = support::postgres_url().await else {
                continue;
            };
            url
        } else {
            support::sqlite_url()
        };
        let (github, server, store) = with_github_on(&database, 5).await;
        github.set_user(9000 + trial, "racer", None, None);
        github.set_emails(vec![("racer@github.example".into(), true, true)]);
        let mut trips = Vec::new();
        for _ in 0..8 {
            let mut b = Browser::default();
            let to_github = leave(&mut b, &server, "gh").await;
            let back = location(&get_url(&to_github).await);
            trips.push((b, on(&server, &back)));
        }
        let addr = server.addr;
        let answers: Vec<_> = trips
            .into_iter()
            .map(|(mut b, path)| tokio::spawn(async move { b.get(&addr, &path).await }))
            .collect();
        for answer in answers {
            let r = answer.await.unwrap();
            assert!(
                r.status == 200 && text(&r).contains("Allow Photo Book?"),
                "trial {trial}: {} {}",
                r.status,
                text(&r)
            );
        }
        let users = store.users().await.unwrap();
        let racers: Vec<_> = users.iter().filter(|u| u.username.starts_with("racer")).collect();
        assert_eq!(racers.len(), 1, "trial {trial}: {racers:?}");
        assert_eq!(store.identities_of(&racers[0].id).await.unwrap().len(), 1);
        server.stop().await;
    }
}
