//! DPoP ([RFC 9449]) over real HTTP: proofs at the token endpoint (one
//! negative case per check), tokens bound to the key (`cnf.jkt`,
//! `token_type: DPoP`), a public client's refresh tokens and a `dpop_jkt`
//! code bound to it, `--dpop-bound` clients, UserInfo with `Authorization:
//! DPoP`, introspection and discovery; a proof's single use under real
//! concurrency on both databases; and npm openid-client doing it all as a
//! client nobody here wrote. Proofs are made here with tessera-jwt's keys,
//! standing in for the client.
//!
//! [RFC 9449]: https://www.rfc-editor.org/rfc/rfc9449

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use tessera_testkit as support;

use base64::Engine;
use serde_json::{json, Value};
use support::browser::{setup, sign_in, Browser, CALLBACK, CHALLENGE, VERIFIER};
use support::{basic, request, token, Response};
use tessera_jwt::{Algorithm, SigningKey, UnixTime};
use tessera_server::store::{ClientStore, Store};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// The proof's header for `key`: `typ`, `alg` and the public `jwk`.
fn header(key: &SigningKey) -> Value {
    let mut jwk = serde_json::to_value(key.public_jwk().unwrap()).unwrap();
    jwk.as_object_mut().unwrap().remove("kid");
    json!({"typ": "dpop+jwt", "alg": key.algorithm().name(), "jwk": jwk})
}

/// A compact JWS of `header` and `claims`, signed by `key`.
fn signed(key: &SigningKey, header: &Value, claims: &Value) -> String {
    let input = format!(
        "{}.{}",
        b64(header.to_string().as_bytes()),
        b64(claims.to_string().as_bytes())
    );
    format!("{input}.{}", b64(&key.sign_bytes(input.as_bytes()).unwrap()))
}

fn fresh_jti() -> String {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    format!(
        "jti-{}-{}",
        std::process::id(),
        N.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
    )
}

/// A good proof by `key` for `htm htu`, made now, with `ath` when a token
/// goes with it.
fn proof(key: &SigningKey, htm: &str, htu: &str, token: Option<&str>) -> String {
    let mut claims = json!({"jti": fresh_jti(), "htm": htm, "htu": htu, "iat": UnixTime::now().as_secs()});
    if let Some(token) = token {
        claims["ath"] = json!(tessera_jwt::dpop::access_token_hash(token));
    }
    signed(key, &header(key), &claims)
}

fn thumbprint(key: &SigningKey) -> String {
    key.public_jwk().unwrap().thumbprint().unwrap()
}

/// The claims of a JWT, unverified (the tests check what the server wrote).
fn claims_of(jwt: &str) -> Value {
    tessera_jwt::danger::decode_unverified(jwt, 16 * 1024)
        .unwrap()
        .claims
}

/// A confidential client "svc" (secret "pw", client credentials), and the
/// same registered `--dpop-bound` as "bound".
async fn register_services(store: &Store) {
    let svc = support::client("svc", Some("pw"), &["client_credentials"], &["read"], &["api"]);
    store.create_client(&svc).await.unwrap();
    let mut bound = support::client("bound", Some("pw"), &["client_credentials"], &["read"], &["api"]);
    bound.dpop_bound = true;
    store.create_client(&bound).await.unwrap();
}

async fn client_credentials(addr: std::net::SocketAddr, client: &str, dpop: &[&str]) -> Response {
    let auth = basic(client, "pw");
    let mut headers = vec![("Authorization", auth.as_str())];
    for p in dpop {
        headers.push(("DPoP", p));
    }
    token(addr, "grant_type=client_credentials", &headers).await
}

fn assert_refused(r: &Response, code: &str, why: &str) {
    assert_eq!(r.status, 400, "{why}: {}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"], code, "{why}");
}

/// RFC 9449 §5 and §6: a proof at the token endpoint binds the access
/// token; introspection reports the binding (§6.2); discovery lists the
/// algorithms (§5.1).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_9449_5_bound_access_tokens() {
    let db = support::sqlite_url();
    let server = support::start(&db, "ES256").await;
    let store = Store::open(&db).await.unwrap();
    register_services(&store).await;
    let addr = server.addr;
    let htu = format!("{}/token", server.issuer);
    let key = SigningKey::generate(Algorithm::ES256).unwrap();

    let r = client_credentials(addr, "svc", &[&proof(&key, "POST", &htu, None)]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["token_type"], "DPoP");
    let at = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&at)["cnf"]["jkt"], thumbprint(&key));

    // Without a proof: a bearer token, no cnf.
    let r = client_credentials(addr, "svc", &[]).await;
    assert_eq!(r.json()["token_type"], "Bearer");
    assert!(claims_of(r.json()["access_token"].as_str().unwrap())
        .get("cnf")
        .is_none());

    // §6.2: introspection reports cnf and the token type.
    let r = request(
        addr,
        "POST",
        "/introspect",
        &[
            ("Content-Type", "application/x-www-form-urlencoded"),
            ("Authorization", &basic("svc", "pw")),
        ],
        format!("token={at}").as_bytes(),
    )
    .await;
    let answer = r.json();
    assert_eq!(answer["active"], true, "{answer}");
    assert_eq!(answer["token_type"], "DPoP");
    assert_eq!(answer["cnf"]["jkt"], thumbprint(&key));

    // §5.1: discovery lists what a proof may be signed with, in both
    // documents.
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc = request(addr, "GET", path, &[], b"").await.json();
        let algs: Vec<&str> = doc["dpop_signing_alg_values_supported"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_str().unwrap())
            .collect();
        assert!(
            algs.contains(&"ES256") && algs.contains(&"EdDSA"),
            "{path}: {algs:?}"
        );
        assert!(!algs.iter().any(|a| a.starts_with("HS")), "{path}: {algs:?}");
    }

    // §5.2 (dpop_bound_access_tokens): a --dpop-bound client without a
    // proof is refused; with one it gets a bound token.
    let r = client_credentials(addr, "bound", &[]).await;
    assert_refused(&r, "invalid_request", "a --dpop-bound client without a proof");
    let r = client_credentials(addr, "bound", &[&proof(&key, "POST", &htu, None)]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["token_type"], "DPoP");
}

/// RFC 9449 §4.3 at the token endpoint: one refused request per check,
/// each `invalid_dpop_proof` (§5).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_9449_4_3_each_check_refuses() {
    let db = support::sqlite_url();
    let server = support::start(&db, "ES256").await;
    let store = Store::open(&db).await.unwrap();
    register_services(&store).await;
    let addr = server.addr;
    let htu = format!("{}/token", server.issuer);
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let other = SigningKey::generate(Algorithm::ES256).unwrap();
    let now = UnixTime::now().as_secs();
    let claims = |over: Value| {
        let mut c = json!({"jti": fresh_jti(), "htm": "POST", "htu": htu, "iat": now});
        for (k, v) in over.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    let with_header = |over: Value| {
        let mut h = header(&key);
        for (k, v) in over.as_object().unwrap() {
            h[k] = v.clone();
        }
        h
    };
    let hmac = SigningKey::from_hmac_secret(Algorithm::HS256, &[9u8; 32]).unwrap();
    let private_jwk = serde_json::to_value(key.to_private_jwk().unwrap()).unwrap();
    let replayed = proof(&key, "POST", &htu, None);
    let r = client_credentials(addr, "svc", &[&replayed]).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let cases: Vec<(&str, Vec<String>)> = vec![
        (
            "typ JWT",
            vec![signed(
                &key,
                &with_header(json!({"typ": "JWT"})),
                &claims(json!({})),
            )],
        ),
        ("alg none", {
            let h = with_header(json!({"alg": "none"}));
            vec![format!(
                "{}.{}.",
                b64(h.to_string().as_bytes()),
                b64(claims(json!({})).to_string().as_bytes())
            )]
        }),
        (
            "alg HS256",
            vec![signed(
                &hmac,
                &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": serde_json::to_value(hmac.to_private_jwk().unwrap()).unwrap()}),
                &claims(json!({})),
            )],
        ),
        (
            "a private key in jwk",
            vec![signed(
                &key,
                &with_header(json!({"jwk": private_jwk})),
                &claims(json!({})),
            )],
        ),
        (
            "a bad signature",
            vec![signed(&other, &header(&key), &claims(json!({})))],
        ),
        (
            "htu another URL",
            vec![signed(
                &key,
                &header(&key),
                &claims(json!({"htu": format!("{}/introspect", server.issuer)})),
            )],
        ),
        (
            "htm another method",
            vec![signed(&key, &header(&key), &claims(json!({"htm": "GET"})))],
        ),
        (
            "iat too old",
            vec![signed(&key, &header(&key), &claims(json!({"iat": now - 600})))],
        ),
        (
            "iat too far ahead",
            vec![signed(&key, &header(&key), &claims(json!({"iat": now + 600})))],
        ),
        ("a replayed jti", vec![replayed.clone()]),
        (
            "two DPoP headers",
            vec![proof(&key, "POST", &htu, None), proof(&key, "POST", &htu, None)],
        ),
        ("not a JWT", vec!["not-a-jwt".into()]),
    ];
    for (why, proofs) in cases {
        let refs: Vec<&str> = proofs.iter().map(String::as_str).collect();
        let r = client_credentials(addr, "svc", &refs).await;
        assert_refused(&r, "invalid_dpop_proof", why);
    }
}

/// The front channel of a code flow for the public client "web" with
/// `offline_access`, and `extra` parameters.
fn authorize_path(extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id=web&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
         &scope=openid+offline_access&state=st-1&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    )
}

async fn redeem(server: &support::Running, code: &str, dpop: Option<&str>) -> Response {
    let form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
         &client_id=web&code_verifier={VERIFIER}"
    );
    let headers: Vec<(&str, &str)> = dpop.map(|p| ("DPoP", p)).into_iter().collect();
    token(server.addr, &form, &headers).await
}

async fn refresh(server: &support::Running, refresh_token: &str, dpop: Option<&str>) -> Response {
    let form = format!("grant_type=refresh_token&refresh_token={refresh_token}&client_id=web");
    let headers: Vec<(&str, &str)> = dpop.map(|p| ("DPoP", p)).into_iter().collect();
    token(server.addr, &form, &headers).await
}

async fn userinfo(server: &support::Running, authorization: &str, dpop: Option<&str>) -> Response {
    let mut headers = vec![("Authorization", authorization)];
    if let Some(p) = dpop {
        headers.push(("DPoP", p));
    }
    request(server.addr, "GET", "/userinfo", &headers, b"").await
}

/// RFC 9449 §5: a public client's refresh token is bound to the key; §7:
/// the access token is used with `Authorization: DPoP` and a proof, and
/// refused as a bearer token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_9449_5_and_7_public_client_code_refresh_userinfo() {
    let db = support::sqlite_url();
    let (server, _store) = setup(&db).await;
    let htu = format!("{}/token", server.issuer);
    let userinfo_url = format!("{}/userinfo", server.issuer);
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let thief = SigningKey::generate(Algorithm::ES256).unwrap();

    let mut browser = Browser::default();
    let done = sign_in(&mut browser, &server, &authorize_path("")).await;
    let r = redeem(&server, &done["code"], Some(&proof(&key, "POST", &htu, None))).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["token_type"], "DPoP");
    let at = body["access_token"].as_str().unwrap().to_owned();
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(claims_of(&at)["cnf"]["jkt"], thumbprint(&key));

    // §5: the refresh token is bound: another key, or none, is refused
    // and leaves it usable.
    let r = refresh(&server, &rt, Some(&proof(&thief, "POST", &htu, None))).await;
    assert_refused(&r, "invalid_grant", "a refresh with another key");
    let r = refresh(&server, &rt, None).await;
    assert_refused(&r, "invalid_grant", "a refresh without a proof");
    let r = refresh(&server, &rt, Some(&proof(&key, "POST", &htu, None))).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    assert_eq!(body["token_type"], "DPoP");
    let at = body["access_token"].as_str().unwrap().to_owned();
    let rt = body["refresh_token"].as_str().unwrap().to_owned();
    // The rotated token is bound too.
    let r = refresh(&server, &rt, Some(&proof(&thief, "POST", &htu, None))).await;
    assert_refused(&r, "invalid_grant", "the rotated token with another key");

    // §7.1: UserInfo with the key's proof.
    let dpop_auth = format!("DPoP {at}");
    let r = userinfo(
        &server,
        &dpop_auth,
        Some(&proof(&key, "GET", &userinfo_url, Some(&at))),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["sub"], "u-ann");

    // The bound token as a bearer token: 401 with a DPoP challenge.
    let r = userinfo(&server, &format!("Bearer {at}"), None).await;
    assert_eq!(r.status, 401);
    let challenge = r.header("www-authenticate").unwrap().to_owned();
    assert!(challenge.starts_with("DPoP "), "{challenge}");
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains("algs=\"ES256"), "{challenge}");

    // Each bad proof at the resource: 401 invalid_dpop_proof.
    let replayed = proof(&key, "GET", &userinfo_url, Some(&at));
    let r = userinfo(&server, &dpop_auth, Some(&replayed)).await;
    assert_eq!(r.status, 200);
    let cases: Vec<(&str, Option<String>)> = vec![
        ("no proof", None),
        (
            "ath of another token",
            Some(proof(&key, "GET", &userinfo_url, Some("another-token"))),
        ),
        ("no ath", Some(proof(&key, "GET", &userinfo_url, None))),
        (
            "htu the token endpoint",
            Some(proof(&key, "GET", &htu, Some(&at))),
        ),
        ("htm POST", Some(proof(&key, "POST", &userinfo_url, Some(&at)))),
        (
            "the thief's key",
            Some(proof(&thief, "GET", &userinfo_url, Some(&at))),
        ),
        ("a replayed proof", Some(replayed)),
    ];
    for (why, p) in cases {
        let r = userinfo(&server, &dpop_auth, p.as_deref()).await;
        assert_eq!(r.status, 401, "{why}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["error"], "invalid_dpop_proof", "{why}");
        let challenge = r.header("www-authenticate").unwrap();
        assert!(challenge.starts_with("DPoP "), "{why}: {challenge}");
    }
}

/// RFC 9449 §10: `dpop_jkt` at `/authorize` binds the code; redeeming it
/// takes a proof by that key.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rfc_9449_10_dpop_jkt_binds_the_code() {
    let db = support::sqlite_url();
    let (server, _store) = setup(&db).await;
    let htu = format!("{}/token", server.issuer);
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let other = SigningKey::generate(Algorithm::ES256).unwrap();

    let mut browser = Browser::default();
    let path = authorize_path(&format!("&dpop_jkt={}", thumbprint(&key)));
    let done = sign_in(&mut browser, &server, &path).await;
    let code = &done["code"];
    let r = redeem(&server, code, Some(&proof(&other, "POST", &htu, None))).await;
    assert_refused(&r, "invalid_grant", "the code redeemed with another key");
    let r = redeem(&server, code, None).await;
    assert_refused(&r, "invalid_grant", "the code redeemed without a proof");
    let r = redeem(&server, code, Some(&proof(&key, "POST", &htu, None))).await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        claims_of(r.json()["access_token"].as_str().unwrap())["cnf"]["jkt"],
        thumbprint(&key)
    );

    // A malformed dpop_jkt is refused at /authorize.
    let mut browser = Browser::default();
    let r = browser
        .get(&server, &authorize_path("&dpop_jkt=not-a-thumbprint"))
        .await;
    assert_eq!(support::browser::redirected(&r)["error"], "invalid_request");

    // At /par, a proof binds the pushed request's code to its key, and a
    // dpop_jkt naming another key is refused.
    let par_url = format!("{}/par", server.issuer);
    let form = format!(
        "response_type=code&client_id=web&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
         &scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256"
    );
    let push = |form: String, p: String| {
        let addr = server.addr;
        async move {
            request(
                addr,
                "POST",
                "/par",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("DPoP", &p),
                ],
                form.as_bytes(),
            )
            .await
        }
    };
    let r = push(
        format!("{form}&dpop_jkt={}", thumbprint(&other)),
        proof(&key, "POST", &par_url, None),
    )
    .await;
    assert_refused(&r, "invalid_dpop_proof", "dpop_jkt and the proof name two keys");
    let r = push(form.clone(), proof(&key, "POST", &htu, None)).await;
    assert_refused(&r, "invalid_dpop_proof", "a proof for /token sent to /par");
    let r = push(form, proof(&key, "POST", &par_url, None)).await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    let uri: String =
        form_urlencoded::byte_serialize(r.json()["request_uri"].as_str().unwrap().as_bytes()).collect();
    let mut browser = Browser::default();
    let done = sign_in(
        &mut browser,
        &server,
        &format!("/authorize?client_id=web&request_uri={uri}"),
    )
    .await;
    let r = redeem(&server, &done["code"], Some(&proof(&other, "POST", &htu, None))).await;
    assert_refused(&r, "invalid_grant", "a pushed request's code with another key");
}

/// RFC 9449 §11.1 under real concurrency: one proof sent many times at
/// once is accepted exactly once, trial after trial.
async fn one_proof_sent_at_once_many_times_is_accepted_once(db: &str) {
    let server = support::start(db, "ES256").await;
    let store = Store::open(db).await.unwrap();
    register_services(&store).await;
    let htu = format!("{}/token", server.issuer);
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    for trial in 0..5 {
        let p = proof(&key, "POST", &htu, None);
        let mut sent = Vec::new();
        for _ in 0..12 {
            let p = p.clone();
            let addr = server.addr;
            sent.push(tokio::spawn(async move {
                client_credentials(addr, "svc", &[&p]).await.status
            }));
        }
        let mut statuses = Vec::new();
        for s in sent {
            statuses.push(s.await.unwrap());
        }
        let won = statuses.iter().filter(|s| **s == 200).count();
        assert_eq!(won, 1, "trial {trial}: {statuses:?}");
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 400),
            "trial {trial}: {statuses:?}"
        );
    }
}

mod replay_race {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        one_proof_sent_at_once_many_times_is_accepted_once(&support::sqlite_url()).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        if let Some(url) = support::postgres_url().await {
            one_proof_sent_at_once_many_times_is_accepted_once(&url).await;
        }
    }
}

/// npm openid-client (v6, `getDPoPHandle`) as the client: a DPoP-bound
/// code flow through PAR, a refresh, and UserInfo with DPoP.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_uses_dpop() {
    use std::io::{BufRead, Write};
    let scripts = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    assert!(
        scripts.join("node_modules/openid-client").exists(),
        "run `npm ci` in {} (.ci/run does)",
        scripts.display()
    );
    let db = support::sqlite_url();
    let (server, store) = setup(&db).await;
    // A confidential client, registered --dpop-bound, that may refresh.
    let mut app = support::client(
        "app",
        Some("pw"),
        &["authorization_code", "refresh_token"],
        &["openid", "profile", "offline_access"],
        &["api"],
    );
    app.redirect_uris = vec![CALLBACK.into()];
    app.first_party = true;
    app.dpop_bound = true;
    store.create_client(&app).await.unwrap();
    let issuer = server.issuer.clone();
    let mut child = std::process::Command::new("node")
        .current_dir(&scripts)
        .args(["dpop.mjs", &issuer, "app", "pw", CALLBACK])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let first_line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        (line, stdout)
    })
    .await
    .unwrap();
    let (line, mut stdout) = first_line;
    let started: Value = serde_json::from_str(&line).unwrap_or_else(|e| {
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        panic!("{e}: {line:?}\n{err}")
    });
    let url = started["url"].as_str().unwrap();
    let path = url.strip_prefix(server.issuer.as_str()).unwrap();
    assert!(path.contains("request_uri="), "pushed: {url}");
    let mut browser = Browser::default();
    let done = sign_in(&mut browser, &server, path).await;
    let query: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(done.iter())
        .finish();
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{CALLBACK}?{query}").unwrap();
    drop(stdin);
    let out = tokio::task::spawn_blocking(move || {
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
        let status = child.wait().unwrap();
        let mut err = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
        (status, rest, err)
    })
    .await
    .unwrap();
    let (status, rest, err) = out;
    assert!(status.success(), "{rest}\n{err}");
    let got: Value = serde_json::from_str(rest.trim()).unwrap_or_else(|e| panic!("{e}: {rest}\n{err}"));
    let jkt = got["jkt"].as_str().unwrap();
    // (oauth4webapi reports the type in lower case.)
    assert!(
        got["token_type"].as_str().unwrap().eq_ignore_ascii_case("DPoP"),
        "{got}"
    );
    assert_eq!(
        claims_of(got["access_token"].as_str().unwrap())["cnf"]["jkt"],
        jkt
    );
    assert!(
        got["refreshed_token_type"]
            .as_str()
            .unwrap()
            .eq_ignore_ascii_case("DPoP"),
        "{got}"
    );
    assert_eq!(
        claims_of(got["refreshed_access_token"].as_str().unwrap())["cnf"]["jkt"],
        jkt
    );
    assert_eq!(got["userinfo"]["sub"], "u-ann", "{got}");
    // The bound token, replayed as a bearer token, is refused.
    let r = userinfo(
        &server,
        &format!("Bearer {}", got["refreshed_access_token"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(r.status, 401);
}
