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
/// past the link page of a first sign-in (a new account) and through the
/// consent page for `web`: the code's redirect parameters.
async fn come_back(b: &mut Browser, server: &Running, url: &str) -> HashMap<String, String> {
    let r = b.get(server, &on(server, url)).await;
    let r = past_link_page(b, server, r).await;
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
    assert!(
        !local.email_verified,
        "the upstream asserted it, but it is not trust_email here"
    );
    assert!(local.password().is_none(), "no password: signs in upstream only");
    let links = store.identities_of(&local.id).await.unwrap();
    assert_eq!(links.len(), 1);
    assert_eq!(
        (links[0].provider.as_str(), links[0].subject.as_str()),
        (up_issuer.as_str(), "u-alice"),
        "keyed by the provider's issuer (OpenID Connect Core §5.7), not the table's id"
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
    assert!(
        !user.email_verified,
        "GitHub verified it, but it is not trust_email here"
    );
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
        (github.base.as_str(), "7"),
        "keyed by GitHub's API base"
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
/// `trust_email`, is never linked on its word: the page asks the person to
/// prove an account here; the right password links it (`amr` `fed pwd`), a
/// wrong one does not; "new account" makes one without the email.
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
    assert!(html.contains("Continue with gh name"), "{html}");
    assert!(
        html.contains("<strong>someone</strong> (ANN@example.com)"),
        "the page names the upstream account: {html}"
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
    let mut b = Browser::default();
    let page = attempt(&mut b, &server).await;
    assert!(!text(&page).contains("/authorize/link"), "{}", text(&page));
    let again = id_claims(
        &server,
        &browser::through_consent(&mut b, &server, page).await["code"],
    )
    .await;
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
/// when the provider says the email is verified and the local user's email
/// is verified too: an unverified one that matches gets the link page and
/// no link.
#[tokio::test]
async fn a_trusted_provider_links_by_verified_email_only() {
    let oidc = FakeOidc::start("rp", "rp-secret").await;
    let mut corp = support::upstream("corp", UpstreamKind::Oidc, "rp", "rp-secret");
    corp.issuer = Some(oidc.issuer.clone());
    corp.trust_email = true;
    let (server, store) = tessera_with(vec![corp], 5).await;
    let ann = store.user_by_username("ann").await.unwrap().unwrap();
    store.set_email_verified(&ann.id, true).await.unwrap();
    oidc.set_subject("impostor");
    oidc.set_profile(Some("ann@example.com"), false, None, Some("annie"), &[]);
    let mut b = Browser::default();
    let to = leave(&mut b, &server, "corp").await;
    let back = location(&get_url(&to).await);
    let page = b.get(&server, &on(&server, &back)).await;
    assert!(text(&page).contains("/authorize/link"), "{}", text(&page));
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
    // The right browser uses it once (see
    // `another_browser_cannot_use_up_the_state`); a replay is refused.
    let r = victim.get(&server, &on(&server, &back)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
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
    let ok = past_link_page(&mut b, &server, ok).await;
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
        (forge.user_url().as_str(), "31337"),
        "keyed by the user-info URL"
    );
    server.stop().await;
}

/// The same new GitHub person finishing eight sign-ins at the same
/// instant (eight browsers, each choosing a new account on the link page
/// at once): one local user is made and linked, all eight sign in as it,
/// and no request fails or leaves an unlinked user behind.
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
            let html = text(&b.get(&server, &on(&server, &back)).await);
            assert!(html.contains("/authorize/link"), "{html}");
            trips.push((b, field(&html, "interaction"), field(&html, "csrf")));
        }
        let addr = server.addr;
        let answers: Vec<_> = trips
            .into_iter()
            .map(|(mut b, interaction, csrf)| {
                tokio::spawn(async move {
                    let form = [
                        ("interaction", interaction.as_str()),
                        ("csrf", csrf.as_str()),
                        ("decision", "new"),
                    ];
                    b.post(&addr, "/authorize/link", &form).await
                })
            })
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

/// The form keys of a page, blanked, so two pages can be compared.
fn without_keys(html: &str) -> String {
    html.replace(&field(html, "interaction"), "INTERACTION")
        .replace(&field(html, "csrf"), "CSRF")
}

/// Past the link page, if the answer is one, by taking a new account.
async fn past_link_page(b: &mut Browser, server: &Running, page: Response) -> Response {
    let html = text(&page);
    if page.status != 200 || !html.contains("/authorize/link") {
        return page;
    }
    b.post(
        server,
        "/authorize/link",
        &[
            ("interaction", &field(&html, "interaction")),
            ("csrf", &field(&html, "csrf")),
            ("decision", "new"),
        ],
    )
    .await
}

/// Account pre-hijacking (second review, item 1): an attacker makes a local
/// account carrying the victim's email before the victim ever signs in,
/// (a) by self-registration, whose email is never verified, or (b) through
/// a provider that is not `trust_email` (here GitHub) with `create_users`.
/// The victim's first sign-in through a `trust_email` provider asserting
/// that email verified must not land in the attacker's account, and the
/// victim's upstream groups must not give that account `role_map` roles.
#[tokio::test]
async fn a_trusted_email_never_links_to_an_account_whose_email_is_unverified() {
    let oidc = FakeOidc::start("rp", "rp-secret").await;
    let github = FakeGitHub::start("gh-client", "gh-secret").await;
    let mut corp = support::upstream("corp", UpstreamKind::Oidc, "rp", "rp-secret");
    corp.issuer = Some(oidc.issuer.clone());
    corp.trust_email = true;
    corp.role_map = [("corp-admins".to_owned(), vec!["admin".to_owned()])].into();
    let mut gh = support::upstream("gh", UpstreamKind::Github, "gh-client", "gh-secret");
    gh.authorization_endpoint = Some(github.authorize_url());
    gh.token_endpoint = Some(github.token_url());
    gh.api_base = Some(github.base.clone());
    let (server, store) = tessera_with(vec![corp, gh], 5).await;

    // (a) Self-registered with the victim's address: never verified.
    let mut mallory = support::user("u-mallory", "mallory", "mallory's own password", &[]);
    mallory.email = Some("victim@corp.example".into());
    store.create_user(&mallory).await.unwrap();
    // (b) A GitHub account of the attacker's, giving the second victim's
    // address (GitHub verified it for GitHub; this server does not trust
    // GitHub's word), makes a local account on first sign-in.
    github.set_user(666, "eve", None, None);
    github.set_emails(vec![("second.victim@corp.example".into(), true, true)]);
    let mut b = Browser::default();
    let to = leave(&mut b, &server, "gh").await;
    let back = location(&get_url(&to).await);
    let r = b.get(&server, &on(&server, &back)).await;
    let r = past_link_page(&mut b, &server, r).await;
    browser::through_consent(&mut b, &server, r).await;
    let eve = store.user_by_username("eve").await.unwrap().unwrap();
    assert!(
        !eve.email_verified,
        "an email from a provider that is not trust_email is stored unverified"
    );

    for (victim, attacker) in [("victim", &mallory.id), ("second.victim", &eve.id)] {
        oidc.set_subject(&format!("{victim}-at-corp"));
        oidc.set_profile(
            Some(&format!("{victim}@corp.example")),
            true,
            None,
            Some(victim),
            &["corp-admins"],
        );
        let mut b = Browser::default();
        let to = leave(&mut b, &server, "corp").await;
        let back = location(&get_url(&to).await);
        let r = b.get(&server, &on(&server, &back)).await;
        let r = past_link_page(&mut b, &server, r).await;
        let answer = browser::through_consent(&mut b, &server, r).await;
        let claims = id_claims(&server, &answer["code"]).await;
        assert_ne!(
            claims["sub"],
            serde_json::json!(attacker),
            "{victim}: signed in to the attacker's account"
        );
        let attacker = store.user(attacker).await.unwrap().unwrap();
        assert!(
            !attacker.roles.contains(&"admin".to_owned()),
            "{victim}: the attacker's account got the victim's upstream role"
        );
        assert!(
            store
                .identities_of(&attacker.id)
                .await
                .unwrap()
                .iter()
                .all(|l| l.provider != oidc.issuer),
            "{victim}: the victim's identity was linked to the attacker's account"
        );
    }
    server.stop().await;
}

/// Login CSRF at the provider (second review, item 1): the attacker signs
/// the victim's browser in to the provider as the attacker, hoping the
/// victim proves their own account and so links the attacker's identity
/// to it. The link page names the upstream account being linked: the
/// provider, and the account's username and email there.
#[tokio::test]
async fn the_link_page_names_the_upstream_account_being_linked() {
    let (github, server, _store) = with_github(5).await;
    github.set_user(13, "attacker-octo", None, None);
    github.set_emails(vec![("ann@example.com".into(), true, true)]);
    let mut b = Browser::default();
    let html = text(&attempt(&mut b, &server).await);
    assert!(html.contains("/authorize/link"), "{html}");
    assert!(html.contains("gh name"), "the provider: {html}");
    assert!(html.contains("attacker-octo"), "the upstream username: {html}");
    assert!(html.contains("ann@example.com"), "the upstream email: {html}");
    server.stop().await;
}

/// The link page is no email oracle (second review, item 6): a first
/// sign-in whose email a local account uses and one whose email nobody
/// uses get the same page (the upstream account named on it aside), so
/// nobody learns which addresses have accounts here by trying them.
#[tokio::test]
async fn a_taken_and_a_free_email_get_the_same_link_page() {
    let (github, server, store) = with_github(5).await;
    let before = store.users().await.unwrap().len();
    let mut pages = Vec::new();
    for (id, email) in [(21, "ann@example.com"), (22, "nobody@example.com")] {
        github.set_user(id, "prober", None, None);
        github.set_emails(vec![(email.into(), true, true)]);
        let mut b = Browser::default();
        let page = attempt(&mut b, &server).await;
        let html = without_keys(&text(&page)).replace(email, "EMAIL");
        pages.push((page.status, html));
    }
    assert_eq!(pages[0], pages[1], "the answers differ");
    assert_eq!(
        store.users().await.unwrap().len(),
        before,
        "no account is made before the person chooses"
    );
    server.stop().await;
}

/// Someone who learns a sign-in's `state` (a leaked callback URL) cannot
/// cancel it (second review, item 10): a callback from another browser is
/// refused *before* the state is used up, so the right browser still
/// finishes.
#[tokio::test]
async fn another_browser_cannot_use_up_the_state() {
    let (github, server, _store) = with_github(5).await;
    github.set_user(1, "mallory", None, None);
    let mut victim = Browser::default();
    let to_github = leave(&mut victim, &server, "gh").await;
    let back = location(&get_url(&to_github).await);
    let mut other = Browser::default();
    other.get(&server, &browser::authorize_path("web", "")).await;
    let r = other.get(&server, &on(&server, &back)).await;
    assert_eq!(r.status, 403, "{}", text(&r));
    let r = victim.get(&server, &on(&server, &back)).await;
    let r = past_link_page(&mut victim, &server, r).await;
    browser::through_consent(&mut victim, &server, r).await;
    server.stop().await;
}

/// New accounts taken on the link page count as registrations from the
/// address (second review, item 6): what a new account's email says (kept,
/// or left out because another account has it) is the last trace of which
/// addresses have accounts here, so it is throttled like self-registration.
#[tokio::test]
async fn new_accounts_from_the_link_page_are_throttled_per_address() {
    let (github, server, store) = with_github(5).await;
    let limit = tessera_server::oauth::throttle::REGISTRATIONS_PER_WINDOW;
    for n in 0..=limit {
        github.set_user(
            1000 + u64::try_from(n).unwrap(),
            &format!("prober{n}"),
            None,
            None,
        );
        github.set_emails(vec![(format!("p{n}@example.com"), true, true)]);
        let mut b = Browser::default();
        let page = attempt(&mut b, &server).await;
        let r = past_link_page(&mut b, &server, page).await;
        let made = store.user_by_username(&format!("prober{n}")).await.unwrap();
        if n < limit {
            assert_eq!(r.status, 200, "{n}: {}", text(&r));
            assert!(made.is_some(), "{n}");
        } else {
            assert_eq!(r.status, 429, "{}", text(&r));
            assert!(text(&r).contains("Too many new accounts"), "{}", text(&r));
            assert!(made.is_none(), "past the limit, no account");
        }
    }
    server.stop().await;
}

/// Adding a "Continue with GitHub" button does not open sign-up (second
/// review, item 10): without `create_users` in its table a provider
/// follows `self_registration`, off by default, so a stranger's first
/// sign-in makes no account; an account here can still be linked.
#[tokio::test]
async fn create_users_follows_self_registration_by_default() {
    let github = FakeGitHub::start("gh-client", "gh-secret").await;
    let mut gh = support::upstream("gh", UpstreamKind::Github, "gh-client", "gh-secret");
    gh.authorization_endpoint = Some(github.authorize_url());
    gh.token_endpoint = Some(github.token_url());
    gh.api_base = Some(github.base.clone());
    gh.create_users = None;
    let (server, store) = tessera_with(vec![gh], 5).await;
    let before = store.users().await.unwrap().len();
    github.set_user(77, "stranger", None, None);
    github.set_emails(vec![("stranger@example.com".into(), true, true)]);
    let mut b = Browser::default();
    let page = attempt(&mut b, &server).await;
    let html = text(&page);
    assert!(html.contains("/authorize/link"), "{html}");
    assert!(!html.contains("value=\"new\""), "no new account offered: {html}");
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
    assert_ne!(r.status, 200, "{}", text(&r));
    assert_eq!(store.users().await.unwrap().len(), before, "no account made");
    // Without an email, the same: no account.
    github.set_user(78, "nomail", None, None);
    github.set_emails(vec![]);
    let mut b = Browser::default();
    let r = attempt(&mut b, &server).await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert_eq!(store.users().await.unwrap().len(), before, "no account made");
    server.stop().await;
}

/// Upstream calls are protected in transit (second review, item 7): an
/// OpenID provider's discovery document naming a plain-http endpoint on
/// another host is refused as untrusted before the browser leaves, so the
/// code and the client secret never go there; configured URLs are
/// checked at start (`config::upstream` unit tests).
#[tokio::test]
async fn a_discovered_plain_http_endpoint_is_refused() {
    let oidc = FakeOidc::start("rp", "rp-secret").await;
    oidc.set_falsify(Falsify::PlainHttpTokenEndpoint);
    let mut corp = support::upstream("corp", UpstreamKind::Oidc, "rp", "rp-secret");
    corp.issuer = Some(oidc.issuer.clone());
    let (server, _store) = tessera_with(vec![corp], 2).await;
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
    assert_eq!(r.status, 403, "{}", text(&r));
    assert!(text(&r).contains("failed a security check"), "{}", text(&r));
    server.stop().await;
}

/// A provider on a private network (second review, item 7): its
/// certificate is signed by a CA Mozilla's roots do not hold. Without
/// `ca_file` the discovery fetch fails (a page, 502); with the CA in
/// `ca_file` the sign-in goes to the provider.
#[tokio::test]
async fn ca_file_trusts_a_private_providers_certificate() {
    let dir = support::self_signed_certificate("upstream-ca");
    let port = support::free_port();
    let up_issuer = format!("https://127.0.0.1:{port}");
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let up = support::start_at(
        Some(([127, 0, 0, 1], port).into()),
        &support::sqlite_url(),
        "ES256",
        Some(&up_issuer),
        |c: &mut Config| {
            c.tls_cert = Some(cert.display().to_string());
            c.tls_key = Some(key.display().to_string());
        },
    )
    .await;
    let corp = |ca_file: Option<String>| {
        let mut corp = support::upstream("corp", UpstreamKind::Oidc, "downstream", "downstream-secret");
        corp.issuer = Some(up_issuer.clone());
        corp.ca_file = ca_file;
        corp
    };
    for (ca_file, want) in [
        (None, 502),
        (Some(dir.join("cert.pem").display().to_string()), 303),
    ] {
        let trusted = ca_file.is_some();
        let (server, _store) = tessera_with(vec![corp(ca_file)], 5).await;
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
        assert_eq!(r.status, want, "ca_file {trusted}: {}", text(&r));
        if trusted {
            assert!(
                location(&r).starts_with(&format!("{up_issuer}/authorize?")),
                "{}",
                location(&r)
            );
        }
        server.stop().await;
    }
    up.stop().await;
}

/// A whole sign-in through `provider` in a fresh browser, up to the
/// consent page.
async fn through_provider(server: &Running, provider: &str) {
    let mut b = Browser::default();
    let to = leave(&mut b, server, provider).await;
    let back = location(&get_url(&to).await);
    let r = b.get(server, &on(server, &back)).await;
    let html = text(&past_link_page(&mut b, server, r).await);
    assert!(html.contains("Allow Photo Book?"), "{provider}: {html}");
}

/// Renaming a provider's `id` in the configuration keeps its links
/// (second review, item 10): identities are keyed by the provider's
/// issuer, not the table's label; links recorded under the old `id` are
/// adopted at start.
#[tokio::test]
async fn renaming_a_providers_id_keeps_its_links() {
    let oidc = FakeOidc::start("rp", "rp-secret").await;
    oidc.set_subject("grace-upstream");
    oidc.set_profile(None, false, None, Some("grace"), &[]);
    let database = support::sqlite_url();
    let table = |id: &str| {
        let mut corp = support::upstream(id, UpstreamKind::Oidc, "rp", "rp-secret");
        corp.issuer = Some(oidc.issuer.clone());
        corp
    };
    let (server, store) = tessera_on(&database, vec![table("corp")], 5).await;
    through_provider(&server, "corp").await;
    let grace = store.user_by_username("grace").await.unwrap().unwrap();
    server.stop().await;
    // A link recorded by an older version, under the table's id.
    let ann = store.user_by_username("ann").await.unwrap().unwrap();
    store.link("old-corp", "ann-upstream", &ann.id, 1).await.unwrap();
    // Renamed (and the old id's links adopted).
    let server = support::start_configured(&database, "ES256", None, {
        let tables = vec![table("sso"), table("old-corp")];
        move |c: &mut Config| c.upstream = tables
    })
    .await;
    through_provider(&server, "sso").await;
    assert_eq!(
        store
            .users()
            .await
            .unwrap()
            .iter()
            .filter(|u| u.username.starts_with("grace"))
            .count(),
        1,
        "the same person, no second account"
    );
    let links = store.identities_of(&grace.id).await.unwrap();
    assert_eq!(links[0].provider, oidc.issuer);
    let links = store.identities_of(&ann.id).await.unwrap();
    assert_eq!(
        (links[0].provider.as_str(), links[0].subject.as_str()),
        (oidc.issuer.as_str(), "ann-upstream"),
        "a link under the old id is adopted"
    );
    server.stop().await;
}

/// A password reset after an account takeover (second review, item 10):
/// an upstream identity the intruder linked still signs in without the
/// password, so `tessera user set-password` says so, and `--unlink-all`
/// removes every link with the new password.
#[tokio::test]
async fn a_password_reset_can_remove_linked_identities() {
    let database = support::sqlite_url();
    let store = Store::open(&database).await.unwrap();
    browser::seed(&store).await;
    let ann = store.user_by_username("ann").await.unwrap().unwrap();
    store
        .link("https://idp.example", "intruder", &ann.id, 1)
        .await
        .unwrap();
    let set_password = |extra: &[&str]| {
        use std::io::Write;
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
            .args([
                "user",
                "set-password",
                "ann",
                "--password-stdin",
                "--database",
                &database,
            ])
            .args(extra)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(b"a brand new passphrase\n")
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    let said = set_password(&[]);
    assert!(said.contains("1 linked upstream identities"), "{said}");
    assert_eq!(store.identities_of(&ann.id).await.unwrap().len(), 1, "kept");
    let said = set_password(&["--unlink-all"]);
    assert!(said.contains("unlinked 1"), "{said}");
    assert!(store.identities_of(&ann.id).await.unwrap().is_empty(), "removed");
}
