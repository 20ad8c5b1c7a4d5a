//! Introspection ([RFC 7662]) is need-to-know, refresh tokens introspect for
//! their own client, and `tessera keys revoke` makes introspection refuse
//! what a key signed at once and drops the key from the JWKS.
//!
//! Clients that need the new registration attribute are registered through
//! the CLI (`tessera client create --resource-server`), as an operator does.
//!
//! [RFC 7662]: https://www.rfc-editor.org/rfc/rfc7662

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
use support::{basic, client, request, start, token, user};
use tessera_server::store::{ClientStore, Store, UserStore};

const TESSERA: &str = env!("CARGO_BIN_EXE_tessera");

/// The master key `support` gives PostgreSQL servers (SQLite ones keep
/// theirs beside the database, where the CLI finds it).
const POSTGRES_MASTER_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

/// Runs the `tessera` binary (a separate process, as an operator would).
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

/// `tessera client create ... --database DB`; its (id, secret).
async fn create_client(database: &str, args: &[&str]) -> (String, String) {
    let mut all = vec!["client", "create", "--database", database];
    all.extend_from_slice(args);
    let out = tessera(&all).await;
    assert!(out.status.success(), "client create: {}", text(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    (
        created["client_id"].as_str().unwrap().to_owned(),
        created["client_secret"].as_str().unwrap().to_owned(),
    )
}

/// POSTs `form` to `/introspect` as the client (`id`, `secret`).
async fn introspect(addr: SocketAddr, id: &str, secret: &str, form: &str) -> Value {
    let auth = basic(id, secret);
    let r = request(
        addr,
        "POST",
        "/introspect",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &auth),
        ],
        form.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    assert_eq!(r.header("cache-control"), Some("no-store"));
    r.json()
}

/// A client-credentials access token.
async fn service_token(addr: SocketAddr, id: &str) -> String {
    let r = token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic(id, "pw"))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", text(&r.body));
    r.json()["access_token"].as_str().unwrap().to_owned()
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

fn inactive() -> Value {
    json!({"active": false})
}

/// RFC 7662 §2.2 and §4: an active answer, with the claims, only for the
/// token's own client or the resource server of one of its audiences; for
/// any other authenticated client exactly `{"active": false}`.
mod rfc7662_2_2 {
    use super::*;

    async fn only_the_tokens_client_and_its_audiences_resource_server_see_it_active(database: &str) {
        let db = database.to_owned();
        let server = start(&db, "ES256").await;
        let store = Store::open(&db).await.unwrap();
        for (id, grants, aud) in [
            ("app", &["password", "refresh_token"][..], "api"),
            ("other", &["client_credentials"][..], "other-api"),
        ] {
            store
                .create_client(&client(
                    id,
                    Some("pw"),
                    grants,
                    &["read", "profile", "email"],
                    &[aud],
                ))
                .await
                .unwrap();
        }
        store
            .create_user(&user("u-ann", "ann", "ann's long password", &["user"]))
            .await
            .unwrap();
        let r = token(
            server.addr,
            "grant_type=password&username=ann&password=ann%27s+long+password&scope=read+profile+email",
            &[("Authorization", &basic("app", "pw"))],
        )
        .await;
        assert_eq!(r.status, 200, "{}", text(&r.body));
        let t = r.json()["access_token"].as_str().unwrap().to_owned();

        // (a) The token's own client: active, with its claims.
        let own = introspect(server.addr, "app", "pw", &format!("token={t}")).await;
        assert_eq!(own["active"], true, "{own}");
        assert_eq!(own["client_id"], "app");
        assert_eq!(own["sub"], "u-ann");
        assert_eq!(own["aud"], "api");
        assert_eq!(own["token_type"], "Bearer");
        assert_eq!(own["username"], "ann", "username from preferred_username");
        assert_eq!(own["email"], "ann@example.com");

        // An unrelated confidential client learns nothing: no claims, no
        // PII, not even that the token is active; and no error (§2.2).
        let stranger = introspect(server.addr, "other", "pw", &format!("token={t}")).await;
        assert_eq!(stranger, inactive());
        let hinted = introspect(
            server.addr,
            "other",
            "pw",
            &format!("token={t}&token_type_hint=access_token"),
        )
        .await;
        assert_eq!(hinted, inactive());

        // (b) The resource server registered for the token's audience.
        let (rs, rs_secret) = create_client(&db, &["--name", "the api", "--resource-server", "api"]).await;
        let answer = introspect(server.addr, &rs, &rs_secret, &format!("token={t}")).await;
        assert_eq!(answer, own, "the resource server gets the same claims");
        // A resource server for other audiences does not.
        let (elsewhere, secret) =
            create_client(&db, &["--name", "billing", "--resource-server", "billing"]).await;
        assert_eq!(
            introspect(server.addr, &elsewhere, &secret, &format!("token={t}")).await,
            inactive()
        );
        // The registration is shown.
        let out = tessera(&["client", "show", &rs, "--database", &db]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let shown: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(shown["resource_server_for"], json!(["api"]));
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_the_tokens_client_and_its_audiences_resource_server_see_it_active_sqlite() {
        only_the_tokens_client_and_its_audiences_resource_server_see_it_active(&support::sqlite_url()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn only_the_tokens_client_and_its_audiences_resource_server_see_it_active_postgres() {
        if let Some(url) = support::postgres_url().await {
            only_the_tokens_client_and_its_audiences_resource_server_see_it_active(&url).await;
        }
    }

    /// `tessera client create --help` documents the flag; a public client
    /// cannot be a resource server (introspection authenticates, §2.1).
    #[tokio::test]
    async fn the_resource_server_flag_is_documented_and_checked() {
        let out = tessera(&["client", "create", "--help"]).await;
        assert!(out.status.success());
        let help = text(&out.stdout);
        assert!(help.contains("--resource-server <AUDIENCE>"), "{help}");
        assert!(help.contains("introspect"), "{help}");
        let db = support::sqlite_url();
        let out = tessera(&[
            "client",
            "create",
            "--database",
            &db,
            "--name",
            "spa",
            "--public",
            "--grant-type",
            "password",
            "--resource-server",
            "api",
        ])
        .await;
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("--resource-server"),
            "{}",
            text(&out.stderr)
        );
    }
}

/// RFC 7662 §2.1: refresh tokens introspect for their own client, whatever
/// the hint says (a hint is only a hint), and stop being active once used,
/// revoked, or when asked by another client.
mod rfc7662_2_1 {
    use super::*;

    fn assert_active_refresh(answer: &Value, issuer: &str) {
        let keys: Vec<&str> = answer.as_object().unwrap().keys().map(String::as_str).collect();
        let mut keys = keys;
        keys.sort_unstable();
        assert_eq!(
            keys,
            ["active", "client_id", "exp", "iss", "scope", "sub", "token_type"],
            "{answer}"
        );
        assert_eq!(answer["active"], true);
        assert_eq!(answer["token_type"], "refresh_token");
        assert_eq!(answer["client_id"], "app");
        assert_eq!(answer["sub"], "u-bob");
        assert_eq!(answer["scope"], "read");
        assert_eq!(answer["iss"], issuer);
        let now = tessera_jwt::UnixTime::now().as_secs();
        assert!(answer["exp"].as_i64().unwrap() > now, "{answer}");
    }

    async fn refresh_tokens_introspect_for_their_own_client_only(database: &str) {
        let db = database.to_owned();
        let server = start(&db, "ES256").await;
        let store = Store::open(&db).await.unwrap();
        store
            .create_client(&client(
                "app",
                Some("pw"),
                &["password", "refresh_token"],
                &["read"],
                &["api"],
            ))
            .await
            .unwrap();
        store
            .create_client(&client(
                "other",
                Some("pw"),
                &["client_credentials"],
                &[],
                &["api"],
            ))
            .await
            .unwrap();
        store
            .create_user(&user("u-bob", "bob", "bob's long password", &["user"]))
            .await
            .unwrap();
        let app = basic("app", "pw");
        let r = token(
            server.addr,
            "grant_type=password&username=bob&password=bob%27s+long+password&scope=read",
            &[("Authorization", &app)],
        )
        .await;
        assert_eq!(r.status, 200, "{}", text(&r.body));
        let access = r.json()["access_token"].as_str().unwrap().to_owned();
        let rt = r.json()["refresh_token"].as_str().unwrap().to_owned();

        // Without a hint, with the right one, and with a wrong one.
        for form in [
            format!("token={rt}"),
            format!("token={rt}&token_type_hint=refresh_token"),
            format!("token={rt}&token_type_hint=access_token"),
        ] {
            let answer = introspect(server.addr, "app", "pw", &form).await;
            assert_active_refresh(&answer, &server.issuer);
            // Another client learns nothing.
            assert_eq!(introspect(server.addr, "other", "pw", &form).await, inactive());
        }
        // The wrong hint the other way round: an access token hinted as a
        // refresh token is still found.
        let answer = introspect(
            server.addr,
            "app",
            "pw",
            &format!("token={access}&token_type_hint=refresh_token"),
        )
        .await;
        assert_eq!(
            (answer["active"].clone(), answer["token_type"].clone()),
            (json!(true), json!("Bearer"))
        );

        // Introspecting does not use it: it still rotates; once used, it is
        // inactive, and its successor is active.
        let r = token(
            server.addr,
            &format!("grant_type=refresh_token&refresh_token={rt}"),
            &[("Authorization", &app)],
        )
        .await;
        assert_eq!(r.status, 200, "{}", text(&r.body));
        let rt2 = r.json()["refresh_token"].as_str().unwrap().to_owned();
        assert_eq!(
            introspect(server.addr, "app", "pw", &format!("token={rt}")).await,
            inactive(),
            "a used refresh token is inactive"
        );
        assert_active_refresh(
            &introspect(server.addr, "app", "pw", &format!("token={rt2}")).await,
            &server.issuer,
        );

        // Revoked (RFC 7009): inactive.
        let r = request(
            server.addr,
            "POST",
            "/revoke",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", &app),
            ],
            format!("token={rt2}&token_type_hint=refresh_token").as_bytes(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", text(&r.body));
        assert_eq!(
            introspect(
                server.addr,
                "app",
                "pw",
                &format!("token={rt2}&token_type_hint=refresh_token")
            )
            .await,
            inactive(),
            "a revoked refresh token is inactive"
        );
        // Junk is inactive whatever the hint.
        for hint in ["refresh_token", "access_token", "unknown"] {
            assert_eq!(
                introspect(
                    server.addr,
                    "app",
                    "pw",
                    &format!("token=junk&token_type_hint={hint}")
                )
                .await,
                inactive()
            );
        }
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refresh_tokens_introspect_for_their_own_client_only_sqlite() {
        refresh_tokens_introspect_for_their_own_client_only(&support::sqlite_url()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn refresh_tokens_introspect_for_their_own_client_only_postgres() {
        if let Some(url) = support::postgres_url().await {
            refresh_tokens_introspect_for_their_own_client_only(&url).await;
        }
    }
}

/// `tessera keys revoke KID`: an emergency. Introspection refuses what the
/// key signed at once, on a server that has not reloaded its keys; after a
/// reload the JWKS no longer lists it and a new key signs.
mod key_revocation {
    use super::*;

    async fn a_revoked_key_is_refused_at_once_and_unpublished_at_reload(database: &str) {
        let db = database.to_owned();
        let server = start(&db, "ES256").await;
        let store = Store::open(&db).await.unwrap();
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
        let t = service_token(server.addr, "svc").await;
        let revoked = kid(&t);
        assert!(published(server.addr).await.contains(&revoked));
        assert_eq!(
            introspect(server.addr, "svc", "pw", &format!("token={t}")).await["active"],
            true
        );

        // The CLI is another process, on the same database, while the
        // server runs.
        let out = tessera(&["keys", "revoke", "--database", &db, "--", &revoked]).await;
        assert!(out.status.success(), "keys revoke: {}", text(&out.stderr));
        let done: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(done["revoked"], revoked.as_str());
        let replacement = done["replacement"]
            .as_str()
            .expect("it was signing: replaced")
            .to_owned();
        assert_ne!(replacement, revoked);
        assert!(text(&out.stderr).contains("revoked"), "{}", text(&out.stderr));

        // At once, before the server reloads its keys (it still has the
        // revoked key, and still signs with it): introspection refuses.
        assert_eq!(
            introspect(server.addr, "svc", "pw", &format!("token={t}")).await,
            inactive()
        );
        let late = service_token(server.addr, "svc").await;
        if kid(&late) == revoked {
            assert_eq!(
                introspect(server.addr, "svc", "pw", &format!("token={late}")).await,
                inactive(),
                "a token the node signed before its reload is refused too"
            );
        }

        // `keys list` records it.
        let out = tessera(&["keys", "list", "--database", &db]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
        let entry = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == revoked.as_str())
            .unwrap();
        assert_eq!(entry["state"], "revoked");

        // After a reload (here a restart): the JWKS drops it, the new key
        // signs, and its tokens are active.
        server.stop().await;
        let server = start(&db, "ES256").await;
        let kids = published(server.addr).await;
        assert!(!kids.contains(&revoked), "{kids:?}");
        assert!(kids.contains(&replacement), "{kids:?}");
        let fresh = service_token(server.addr, "svc").await;
        assert_eq!(kid(&fresh), replacement);
        assert_eq!(
            introspect(server.addr, "svc", "pw", &format!("token={fresh}")).await["active"],
            true
        );
        assert_eq!(
            introspect(server.addr, "svc", "pw", &format!("token={t}")).await,
            inactive()
        );
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_revoked_key_is_refused_at_once_and_unpublished_at_reload_sqlite() {
        a_revoked_key_is_refused_at_once_and_unpublished_at_reload(&support::sqlite_url()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_revoked_key_is_refused_at_once_and_unpublished_at_reload_postgres() {
        if let Some(url) = support::postgres_url().await {
            a_revoked_key_is_refused_at_once_and_unpublished_at_reload(&url).await;
        }
    }

    async fn revoking_an_unknown_or_revoked_kid_fails_cleanly(database: &str) {
        let db = database.to_owned();
        let server = start(&db, "ES256").await;
        let kids = published(server.addr).await;
        server.stop().await;
        let out = tessera(&["keys", "revoke", "--database", &db, "--", "no-such-kid"]).await;
        assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("no signing key \"no-such-kid\""), "{err}");
        assert!(out.stdout.is_empty());

        // Revoking twice: the second says so, and changes nothing.
        let first = tessera(&["keys", "revoke", "--database", &db, "--", &kids[0]]).await;
        assert!(first.status.success(), "{}", text(&first.stderr));
        let before = tessera(&["keys", "list", "--database", &db]).await.stdout;
        let again = tessera(&["keys", "revoke", "--database", &db, "--", &kids[0]]).await;
        assert_eq!(again.status.code(), Some(2));
        assert!(
            text(&again.stderr).contains("revoked already"),
            "{}",
            text(&again.stderr)
        );
        assert_eq!(tessera(&["keys", "list", "--database", &db]).await.stdout, before);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revoking_an_unknown_or_revoked_kid_fails_cleanly_sqlite() {
        revoking_an_unknown_or_revoked_kid_fails_cleanly(&support::sqlite_url()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revoking_an_unknown_or_revoked_kid_fails_cleanly_postgres() {
        if let Some(url) = support::postgres_url().await {
            revoking_an_unknown_or_revoked_kid_fails_cleanly(&url).await;
        }
    }

    /// A rotated key that was not signing yet: revoking it cancels the
    /// rotation, and the current key signs on (the server still starts).
    async fn revoking_a_key_not_yet_signing_keeps_the_current_one(database: &str) {
        let db = database.to_owned();
        let server = start(&db, "ES256").await;
        let store = Store::open(&db).await.unwrap();
        store
            .create_client(&client("svc", Some("pw"), &["client_credentials"], &[], &["api"]))
            .await
            .unwrap();
        let current = kid(&service_token(server.addr, "svc").await);
        server.stop().await;
        let out = tessera(&["keys", "rotate", "--alg", "ES256", "--database", &db]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let listed: Value =
            serde_json::from_slice(&tessera(&["keys", "list", "--database", &db]).await.stdout).unwrap();
        let upcoming = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["state"] == "published, not yet signing")
            .unwrap()["kid"]
            .as_str()
            .unwrap()
            .to_owned();
        let out = tessera(&["keys", "revoke", "--database", &db, "--", &upcoming]).await;
        assert!(out.status.success(), "{}", text(&out.stderr));
        let done: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(done["replacement"], Value::Null);
        assert_eq!(done["rotation_cancelled"], true);
        let listed: Value =
            serde_json::from_slice(&tessera(&["keys", "list", "--database", &db]).await.stdout).unwrap();
        let entry = listed
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == current.as_str())
            .unwrap();
        assert_eq!(entry["state"], "signing");
        assert_eq!(entry["retired_at"], Value::Null, "no longer scheduled to retire");

        let server = start(&db, "ES256").await;
        assert!(!published(server.addr).await.contains(&upcoming));
        assert_eq!(kid(&service_token(server.addr, "svc").await), current);
        server.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revoking_a_key_not_yet_signing_keeps_the_current_one_sqlite() {
        revoking_a_key_not_yet_signing_keeps_the_current_one(&support::sqlite_url()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn revoking_a_key_not_yet_signing_keeps_the_current_one_postgres() {
        if let Some(url) = support::postgres_url().await {
            revoking_a_key_not_yet_signing_keeps_the_current_one(&url).await;
        }
    }
}
