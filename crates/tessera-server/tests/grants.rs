//! What a grant issues, and what ends it: refresh-token reuse revokes
//! everything the family issued, even a token minted in the same instant
//! (RFC 9700 §4.14.2); a code is checked before it is consumed (RFC 6749
//! §4.1.3); credential events and logout end grants; claims follow the
//! granted scopes (OpenID Connect Core §5.4) and empty ones are left out.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_testkit as support;

use serde_json::Value;
use support::browser::{redeem, seed, sign_in, Browser, VERIFIER};
use support::{basic, client, request, token, user, Running};
use tessera_server::store::{ClientStore, Store, UserStore};

const PASSWORD: &str = "correct horse battery";

/// A server with the confidential client `app` (password and refresh
/// grants, secret `pw`), the sign-in tests' clients, and the users ann
/// (role `user`) and bob (no roles).
async fn server(adjust: impl FnOnce(&mut tessera_server::config::Config)) -> (Running, Store) {
    let database = support::sqlite_url();
    let server = support::start_configured(&database, "ES256", None, adjust).await;
    let store = Store::open(&database).await.unwrap();
    seed(&store).await;
    store
        .create_client(&client(
            "app",
            Some("pw"),
            &["password", "refresh_token"],
            &["openid", "profile", "email"],
            &["api"],
        ))
        .await
        .unwrap();
    store
        .create_user(&user("u-bob", "bob", PASSWORD, &[]))
        .await
        .unwrap();
    (server, store)
}

fn app() -> String {
    basic("app", "pw")
}

async fn log_in(server: &Running, username: &str) -> (String, String) {
    let r = token(
        server.addr,
        &format!("grant_type=password&username={username}&password=correct+horse+battery"),
        &[("Authorization", &app())],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(addr: std::net::SocketAddr, refresh_token: &str) -> support::Response {
    token(
        addr,
        &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
        &[("Authorization", &app())],
    )
    .await
}

/// Whether the token's own client finds it active.
async fn active(server: &Running, token: &str) -> bool {
    let r = request(
        server.addr,
        "POST",
        "/introspect",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &app()),
        ],
        format!("token={token}").as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    r.json()["active"] == Value::Bool(true)
}

/// The tokens a 200 answer carries.
fn tokens(r: &support::Response) -> Option<(String, String)> {
    (r.status == 200).then(|| {
        let body = r.json();
        (
            body["access_token"].as_str().unwrap().to_owned(),
            body["refresh_token"].as_str().unwrap().to_owned(),
        )
    })
}

mod rfc9700_4_14_2 {
    use super::*;

    /// The same refresh token sent twice at once, 15 times over: one wins,
    /// the other is a replay, and the replay revokes what the winner was
    /// given, its access token included, whichever committed first.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_replay_revokes_what_a_racing_rotation_issued() {
        let (server, _store) = server(|_| {}).await;
        for trial in 0..15 {
            let (_, r1) = log_in(&server, "ann").await;
            let addr = server.addr;
            let (a, b) = tokio::join!(
                tokio::spawn({
                    let r1 = r1.clone();
                    async move { refresh(addr, &r1).await }
                }),
                tokio::spawn(async move { refresh(addr, &r1).await })
            );
            let (a, b) = (a.unwrap(), b.unwrap());
            let winners: Vec<_> = [&a, &b].into_iter().filter_map(tokens).collect();
            assert_eq!(winners.len(), 1, "trial {trial}: exactly one rotation wins");
            let (access, next) = &winners[0];
            assert!(
                !active(&server, access).await,
                "trial {trial}: the winner's access token is revoked"
            );
            assert_eq!(
                refresh(addr, next).await.status,
                400,
                "trial {trial}: and its refresh token"
            );
        }
        server.stop().await;
    }

    /// The family's newest token rotated while an old one is replayed, 15
    /// times over: the token minted in that instant is revoked too.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn a_token_minted_during_a_replay_is_revoked() {
        let (server, _store) = server(|_| {}).await;
        for trial in 0..15 {
            let (_, r1) = log_in(&server, "ann").await;
            let (_, r2) = tokens(&refresh(server.addr, &r1).await).unwrap();
            let addr = server.addr;
            let (rotated, replayed) = tokio::join!(
                tokio::spawn(async move { refresh(addr, &r2).await }),
                tokio::spawn(async move { refresh(addr, &r1).await })
            );
            assert_eq!(replayed.unwrap().status, 400);
            if let Some((access, r3)) = tokens(&rotated.unwrap()) {
                assert!(
                    !active(&server, &access).await,
                    "trial {trial}: minted then revoked"
                );
                assert_eq!(refresh(addr, &r3).await.status, 400, "trial {trial}");
            }
        }
        server.stop().await;
    }
}

mod rfc6749_4_1_3 {
    use super::*;

    /// Another client presenting a leaked code, or the right client with a
    /// wrong verifier, is refused without consuming it: the real exchange
    /// still works, and nothing was revoked.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_code_is_checked_before_it_is_consumed() {
        let (server, _store) = server(|_| {}).await;
        let mut browser = Browser::default();
        // offline_access: the refresh token is what the replay must revoke.
        let path = support::browser::authorize_path("web", "").replace(
            "scope=openid+profile+email",
            "scope=openid+profile+email+offline_access",
        );
        let code = sign_in(&mut browser, &server, &path).await["code"].clone();
        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
             &code_verifier={VERIFIER}"
        );
        let other = token(server.addr, &form, &[("Authorization", &basic("first", "pw"))]).await;
        assert_eq!(other.json()["error"], "invalid_grant");
        let wrong = redeem(&server, "web", &code, Some(&"x".repeat(43))).await;
        assert_eq!(wrong.json()["error"], "invalid_grant");
        let right = redeem(&server, "web", &code, Some(VERIFIER)).await;
        assert_eq!(right.status, 200, "{}", String::from_utf8_lossy(&right.body));
        // A replay by the code's own client still revokes what it issued.
        let again = redeem(&server, "web", &code, Some(VERIFIER)).await;
        assert_eq!(again.json()["error"], "invalid_grant");
        let refresh_token = right.json()["refresh_token"].as_str().unwrap().to_owned();
        let r = token(
            server.addr,
            &format!("grant_type=refresh_token&refresh_token={refresh_token}&client_id=web"),
            &[],
        )
        .await;
        assert_eq!(r.json()["error"], "invalid_grant");
        // Item 18: the metrics count the code grant's token.
        let metrics = request(server.metrics.unwrap(), "GET", "/metrics", &[], b"").await;
        let text = String::from_utf8_lossy(&metrics.body);
        assert!(
            text.contains("tessera_tokens_issued_total{grant_type=\"authorization_code\"} 1"),
            "{text}"
        );
        server.stop().await;
    }
}

mod credential_events {
    use super::*;

    /// A password change, disabling and deleting a user each end their
    /// refresh families, the access tokens issued with them, and their SSO
    /// sessions.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn credential_changes_end_grants_and_sessions() {
        let (server, store) = server(|_| {}).await;
        let now = || tessera_jwt::UnixTime::now().as_secs();
        let hash = tessera_server::domain::PasswordHash::new(
            tessera_server::password::hash_blocking("a new long passphrase").unwrap(),
        )
        .unwrap();
        for event in ["password", "disable", "delete"] {
            store.create_user(&user("u-eve", "eve", PASSWORD, &[])).await.ok();
            let (access, r1) = log_in(&server, "eve").await;
            assert!(active(&server, &access).await);
            match event {
                "password" => assert!(store.set_password("u-eve", &hash, None, now()).await.unwrap()),
                "disable" => assert!(store.set_disabled("u-eve", true, now()).await.unwrap()),
                _ => assert!(store.delete_user("u-eve", now()).await.unwrap()),
            }
            assert_eq!(
                refresh(server.addr, &r1).await.status,
                400,
                "{event}: refresh token ends"
            );
            assert!(!active(&server, &access).await, "{event}: access token revoked");
            if event != "delete" {
                store.delete_user("u-eve", now()).await.unwrap();
            }
        }
        // The SSO session ends with a password change.
        let mut browser = Browser::default();
        let path = support::browser::authorize_path("first", "");
        sign_in(&mut browser, &server, &path).await;
        let silent = browser
            .get(
                &server,
                &support::browser::authorize_path("first", "&prompt=none"),
            )
            .await;
        assert!(silent.header("location").unwrap().contains("code="), "signed in");
        store.set_password("u-ann", &hash, None, now()).await.unwrap();
        let silent = browser
            .get(
                &server,
                &support::browser::authorize_path("first", "&prompt=none"),
            )
            .await;
        assert!(
            silent
                .header("location")
                .unwrap()
                .contains("error=login_required"),
            "the session ended with the password"
        );
        server.stop().await;
    }

    /// A family ends a fixed time after its sign-in, however often it is
    /// rotated.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_family_has_an_absolute_lifetime() {
        let (server, _store) = server(|c| c.refresh_family_lifetime = 2).await;
        let (_, r1) = log_in(&server, "ann").await;
        let (_, r2) = tokens(&refresh(server.addr, &r1).await).expect("rotates within the lifetime");
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(refresh(server.addr, &r2).await.json()["error"], "invalid_grant");
        server.stop().await;
    }
}

mod oidc_core_5_4 {
    use super::*;

    /// A third-party client granted only `openid` learns the user's id and
    /// nothing else, in its access token and from `/api/v1/me`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn claims_follow_the_granted_scopes() {
        let (server, store) = server(|_| {}).await;
        let mut third = client(
            "third",
            Some("pw"),
            &["authorization_code"],
            &["openid", "profile", "email", "roles"],
            &["api"],
        );
        third.redirect_uris = vec![support::browser::CALLBACK.into()];
        third.name = "Photo Book".into();
        store.create_client(&third).await.unwrap();
        let scope =
            |s: &str| support::browser::authorize_path("third", "").replace("scope=openid+profile+email", s);
        let get_claims = async |scope_param: &str| {
            let mut browser = Browser::default();
            let code = sign_in(&mut browser, &server, &scope(scope_param)).await["code"].clone();
            let form = format!(
                "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
                 &code_verifier={VERIFIER}"
            );
            let r = token(server.addr, &form, &[("Authorization", &basic("third", "pw"))]).await;
            assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
            let access = r.json()["access_token"].as_str().unwrap().to_owned();
            let claims = support::verify(&server, &access, "api").await;
            let me = request(
                server.addr,
                "GET",
                "/api/v1/me",
                &[("Authorization", &format!("Bearer {access}"))],
                b"",
            )
            .await;
            (claims, me.json())
        };
        let (claims, me) = get_claims("scope=openid").await;
        for name in ["email", "email_verified", "name", "preferred_username", "roles"] {
            assert!(
                claims.get(name).is_none(),
                "openid alone releases no {name}: {claims}"
            );
        }
        assert_eq!(me, serde_json::json!({"sub": "u-ann"}));
        let (claims, me) = get_claims("scope=openid+email+roles").await;
        assert_eq!(claims["email"], "ann@example.com");
        assert_eq!(claims["email_verified"], false);
        assert_eq!(claims["roles"], serde_json::json!(["user"]));
        assert!(claims.get("preferred_username").is_none() && me.get("username").is_none());
        assert_eq!(me["email"], "ann@example.com");
        server.stop().await;
    }

    /// A user without roles gets no `roles` claim at all, not `[]`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn empty_claims_are_left_out() {
        let (server, _store) = server(|_| {}).await;
        let (access, _) = log_in(&server, "bob").await;
        let claims = support::verify(&server, &access, "api").await;
        assert_eq!(claims["preferred_username"], "bob", "first party");
        assert!(claims.get("roles").is_none(), "{claims}");
        server.stop().await;
    }
}

mod oidc_core_3_1_2_1_id_token_hint {
    use super::*;

    /// An access token is not an ID token: as `id_token_hint` it is refused
    /// at `/authorize`, and at `/logout` it does not sign anyone out without
    /// asking. An ID token issued to another client is refused at
    /// `/authorize`.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_an_id_token_of_this_client_is_a_hint() {
        let (server, _store) = server(|_| {}).await;
        let mut browser = Browser::default();
        let code = sign_in(
            &mut browser,
            &server,
            &support::browser::authorize_path("first", ""),
        )
        .await["code"]
            .clone();
        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
             &code_verifier={VERIFIER}"
        );
        let r = token(server.addr, &form, &[("Authorization", &basic("first", "pw"))]).await;
        let body = r.json();
        let access = body["access_token"].as_str().unwrap();
        let id_token = body["id_token"].as_str().unwrap();
        let with_hint = |client: &str, hint: &str| {
            support::browser::authorize_path(client, &format!("&prompt=none&id_token_hint={hint}"))
        };
        let good = browser.get(&server, &with_hint("first", id_token)).await;
        assert!(
            good.header("location").unwrap().contains("code="),
            "the ID token is a good hint"
        );
        let refused = browser.get(&server, &with_hint("first", access)).await;
        assert!(
            refused
                .header("location")
                .unwrap()
                .contains("error=invalid_request"),
            "an access token is not an ID token: {:?}",
            refused.header("location")
        );
        let other = browser.get(&server, &with_hint("web", id_token)).await;
        assert!(
            other
                .header("location")
                .unwrap()
                .contains("error=invalid_request"),
            "another client's ID token"
        );
        let logout = browser
            .get(&server, &format!("/logout?id_token_hint={access}"))
            .await;
        let page = support::browser::text(&logout);
        assert!(
            logout.status == 400 || page.contains("/logout/confirm"),
            "an access token as hint must not sign out at once: {} {page}",
            logout.status
        );
        let still = browser.get(&server, &with_hint("first", id_token)).await;
        assert!(
            still.header("location").unwrap().contains("code="),
            "still signed in"
        );
        server.stop().await;
    }
}

/// Item 19: error descriptions are fixed words. What a client sends is
/// never repeated back (a reflected-content or log-injection vector).
mod error_text {
    use super::*;

    const MARK: &str = "ATTACKERmark";

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn errors_never_echo_what_the_client_sent() {
        let (server, store) = server(|_| {}).await;
        store
            .create_client(&client(
                "svc",
                Some("pw"),
                &["client_credentials"],
                &["read"],
                &["api"],
            ))
            .await
            .unwrap();
        let svc = basic("svc", "pw");
        let form = "application/x-www-form-urlencoded";
        let mut answers = Vec::new();
        for (auth, body) in [
            (&svc, format!("grant_type={MARK}")),
            (&svc, format!("grant_type=client_credentials&scope={MARK}")),
            (&svc, format!("grant_type=client_credentials&audience={MARK}")),
            (&svc, format!("grant_type=client_credentials&{MARK}=1&{MARK}=2")),
            (
                &app(),
                format!("grant_type=password&username=ann&password=x&scope=openid+{MARK}"),
            ),
        ] {
            let r = request(
                server.addr,
                "POST",
                "/token",
                &[("Content-Type", form), ("Authorization", auth)],
                body.as_bytes(),
            )
            .await;
            assert_eq!(r.status, 400, "{body}");
            answers.push((body, r));
        }
        let path = |extra: &str| {
            format!(
                "/authorize?response_type=code&client_id=web&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
                 &code_challenge={}&code_challenge_method=S256{extra}",
                support::browser::CHALLENGE
            )
        };
        for p in [
            format!("/authorize?response_type=code&client_id={MARK}"),
            path(&format!("&prompt={MARK}")),
            path(&format!("&{MARK}=1&{MARK}=2")),
            path(&format!("&scope={MARK}")),
            path("").replace("response_type=code", &format!("response_type={MARK}")),
            path("").replace(
                "code_challenge_method=S256",
                &format!("code_challenge_method={MARK}"),
            ),
            format!("/logout?{MARK}=1&{MARK}=2"),
        ] {
            let r = request(server.addr, "GET", &p, &[], b"").await;
            answers.push((p, r));
        }
        let json = format!("{{\"client_id\":\"app\",\"username\":\"a\",\"password\":\"b\",\"{MARK}\":1}}");
        let r = request(
            server.addr,
            "POST",
            "/api/v1/login",
            &[("Content-Type", "application/json")],
            json.as_bytes(),
        )
        .await;
        assert_eq!(r.status, 400);
        answers.push((json, r));
        for (sent, r) in answers {
            let body = String::from_utf8_lossy(&r.body);
            let location = r.header("location").unwrap_or_default();
            assert!(
                !body.contains(MARK) && !location.contains(MARK),
                "{sent}: the answer repeats the input: {location} {body}"
            );
            assert!(r.status >= 300 && r.status < 500, "{sent}: {}", r.status);
        }
        server.stop().await;
    }
}

mod rp_initiated_logout {
    use super::*;

    /// Logout at the end-session endpoint revokes the refresh tokens the
    /// session issued; one granted `offline_access` lives on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn logout_ends_the_sessions_refresh_tokens_but_offline_ones() {
        let (server, store) = server(|_| {}).await;
        // A refresh token bound to the session: the operator's own app
        // without offline_access (a third party gets none without it).
        let mut own = client(
            "own",
            None,
            &["authorization_code", "refresh_token"],
            &["openid", "profile", "email"],
            &["api"],
        );
        own.redirect_uris = vec![support::browser::CALLBACK.into()];
        own.first_party = true;
        store.create_client(&own).await.unwrap();
        let mut browser = Browser::default();
        let online = sign_in(
            &mut browser,
            &server,
            &support::browser::authorize_path("own", ""),
        )
        .await["code"]
            .clone();
        let offline_path = support::browser::authorize_path("web", "")
            .replace("scope=openid+profile+email", "scope=openid+offline_access");
        let page = browser.get(&server, &offline_path).await;
        let html = support::browser::text(&page);
        let done = browser
            .post(
                &server,
                "/authorize/consent",
                &[
                    ("interaction", &support::browser::field(&html, "interaction")),
                    ("csrf", &support::browser::field(&html, "csrf")),
                    ("decision", "allow"),
                ],
            )
            .await;
        let offline = support::browser::redirected(&done)["code"].clone();
        let refresh_of = |r: support::Response| r.json()["refresh_token"].as_str().unwrap().to_owned();
        let online = refresh_of(redeem(&server, "own", &online, Some(VERIFIER)).await);
        let offline = refresh_of(redeem(&server, "web", &offline, Some(VERIFIER)).await);
        let out = browser.get(&server, "/logout").await;
        let page = support::browser::text(&out);
        let confirmed = browser
            .post(
                &server,
                "/logout/confirm",
                &[("request", ""), ("csrf", &support::browser::field(&page, "csrf"))],
            )
            .await;
        assert_eq!(confirmed.status, 200, "{}", support::browser::text(&confirmed));
        let use_it = |t: String, client_id: &'static str| {
            let addr = server.addr;
            async move {
                token(
                    addr,
                    &format!("grant_type=refresh_token&refresh_token={t}&client_id={client_id}"),
                    &[],
                )
                .await
                .status
            }
        };
        assert_eq!(
            use_it(online, "own").await,
            400,
            "the session's refresh token ended with it"
        );
        assert_eq!(
            use_it(offline, "web").await,
            200,
            "offline_access outlives the session"
        );
        server.stop().await;
    }
}

/// Item 4: a session records the client's address (as resolved for
/// trusted proxies, like throttling and the audit log).
mod session_address {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_session_records_the_client_address() {
        let database = support::sqlite_url();
        let server = support::start(&database, "ES256").await;
        let store = Store::open(&database).await.unwrap();
        seed(&store).await;
        let mut browser = Browser::default();
        sign_in(
            &mut browser,
            &server,
            &support::browser::authorize_path("first", ""),
        )
        .await;
        let pool = sqlx::AnyPool::connect(&database).await.unwrap();
        let recorded: Vec<Option<String>> = sqlx::query_scalar("SELECT client_ip FROM sessions")
            .fetch_all(&pool)
            .await
            .unwrap();
        assert_eq!(recorded, vec![Some("127.0.0.1".to_owned())]);
        server.stop().await;
    }
}
