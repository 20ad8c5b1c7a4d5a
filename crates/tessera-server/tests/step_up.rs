//! Issue 19, item 4: step-up and second-factor policy through the pages.
//! An application asks for two factors (`acr_values`, or an essential
//! `acr` in the `claims` parameter of OpenID Connect Core §5.5), or a
//! client or a user requires them (`--require-mfa`, `tessera user
//! require-mfa`). A one-factor session of a user with a second factor is
//! stepped up with the one-time code alone (no password again) into a new
//! session; a second factor older than `second_factor_max_age` is asked
//! again; a user without one is taken to the enrollment of an
//! authenticator app inside the sign-in (tests/enroll_in_sign_in.rs
//! follows it to the end), voluntary or essential; `prompt=none` that
//! needs a step-up is `interaction_required`; the password grant and
//! `/api/v1/login` refuse a require-mfa user without a factor. The last
//! test runs npm
//! `openid-client` with headless Chromium (see tests/browser.rs).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::HashMap;
use std::path::Path;

use serde_json::{json, Value};
use tessera_jwt::{KeySet, UnixTime, Validation};
use tessera_server::identity::{factors, totp};
use tessera_server::keys::MasterKey;
use tessera_server::store::{ClientStore, Store};
use tessera_testkit as support;

use support::browser::{
    authorize_path, field, redeem, redirected, seed, text, through_consent, Browser, VERIFIER,
};
use support::{request, Response, Running};

const PASSWORD: &str = "correct horse battery";
const TWO_FACTORS: &str = "urn:tessera:acr:2fa";
const ONE_FACTOR: &str = "urn:tessera:acr:1fa";
/// `acr_values=urn:tessera:acr:2fa`, as a query parameter.
const ASK_2FA: &str = "&acr_values=urn%3Atessera%3Aacr%3A2fa";

/// The master key the server of `database` uses.
fn master_of(database: &str) -> MasterKey {
    let path = match database.strip_prefix("sqlite://") {
        Some(file) => Path::new(file).with_file_name("master.key"),
        None => std::env::temp_dir().join(format!("tessera-test-master-{}.key", std::process::id())),
    };
    let text = std::fs::read_to_string(&path).unwrap();
    MasterKey::from_base64url(text.trim()).unwrap()
}

fn now() -> i64 {
    UnixTime::now().as_secs()
}

/// A server whose second factors satisfy a step-up for `max_age` seconds,
/// with the browser tests' clients and ann (no second factor yet).
async fn setup(database: &str, max_age: i64) -> (Running, Store) {
    let server = support::start_configured(database, "ES256", None, |c| {
        c.second_factor_max_age = max_age;
    })
    .await;
    let store = Store::open(database).await.unwrap();
    seed(&store).await;
    (server, store)
}

/// Enrolls and confirms an authenticator app for `user_id` (confirmed
/// with the previous step's code, so the current one is still unused).
async fn enroll(store: &Store, master: &MasterKey, user_id: &str) -> totp::TotpSecret {
    let now = now();
    let enrollment = factors::enroll_totp(store, master, user_id, now).await.unwrap();
    let code = totp::code_at(&enrollment.secret, totp::step_of(now) - 1);
    assert!(factors::confirm_totp(store, master, user_id, &code, now)
        .await
        .unwrap());
    enrollment.secret
}

/// The code of the time step `ahead` steps from now (1: a step later than
/// any code used so far, which the ±1 step window still accepts).
fn code(secret: &totp::TotpSecret, ahead: i64) -> String {
    totp::code_at(secret, totp::step_of(now()) + ahead).to_string()
}

/// A six-digit code no step near now accepts.
fn wrong_code(secret: &totp::TotpSecret) -> String {
    let t = totp::step_of(now());
    let near: Vec<String> = (t - 2..=t + 2)
        .map(|s| totp::code_at(secret, s).to_string())
        .collect();
    ["000000", "111111", "222222"]
        .into_iter()
        .find(|c| !near.iter().any(|n| n == c))
        .unwrap()
        .to_owned()
}

/// The page is the enrollment of an authenticator app inside the sign-in
/// (nothing went to the client).
fn is_enrollment(r: &Response) {
    let html = text(r);
    assert_eq!(r.status, 200, "{html}");
    assert!(html.contains("action=\"/authorize/enroll\""), "{html}");
    assert!(html.contains("otpauth://totp/"), "{html}");
}

/// Sends `code` on the code page `page`.
async fn send_code(browser: &mut Browser, server: &Running, page: &Response, code: &str) -> Response {
    let html = text(page);
    browser
        .post(
            server,
            "/authorize/otp",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("code", code),
            ],
        )
        .await
}

/// The page is the code form and nothing else: no username or password
/// field, no consent.
fn is_code_only(r: &Response) {
    assert_eq!(r.status, 200, "{}", text(r));
    code_only(&text(r));
}

/// [`is_code_only`] of a page's HTML, whatever its status.
fn code_only(html: &str) {
    assert!(html.contains("action=\"/authorize/otp\""), "{html}");
    assert!(html.contains("autocomplete=\"one-time-code\""), "{html}");
    assert!(!html.contains("type=\"password\""), "{html}");
    assert!(!html.contains("name=\"username\""), "{html}");
    assert!(!html.contains("action=\"/authorize/login\""), "{html}");
    assert!(!html.contains("Allow Photo Book?"), "{html}");
}

/// The ID token's claims for `code` (Photo Book's, verified).
async fn id_token_claims(server: &Running, code: &str) -> Value {
    let r = redeem(server, "web", code, Some(VERIFIER)).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let id_token = r.json()["id_token"].as_str().unwrap().to_owned();
    let jwks = request(server.addr, "GET", "/jwks", &[], b"").await;
    let keys = KeySet::from_jwks_json(&jwks.body).unwrap();
    let rules = Validation::new().issuer(&server.issuer).audience("web");
    keys.verify::<Value>(&id_token, &rules, UnixTime::now())
        .unwrap()
        .into_claims()
}

/// A sign-in with ann's password from `page`, through consent: the
/// redirect's parameters.
async fn password_through(
    browser: &mut Browser,
    server: &Running,
    page: Response,
) -> HashMap<String, String> {
    assert_eq!(page.status, 200, "{}", text(&page));
    let after = browser.log_in(server, &text(&page), "ann", PASSWORD).await;
    through_consent(browser, server, after).await
}

/// An error redirect to Photo Book: its `error`, with `state` and `iss`.
fn error_of(answer: &HashMap<String, String>, server: &Running) -> String {
    assert_eq!(
        answer.get("state").map(String::as_str),
        Some("st-1"),
        "{answer:?}"
    );
    assert_eq!(answer.get("iss"), Some(&server.issuer), "{answer:?}");
    assert!(!answer.contains_key("code"), "{answer:?}");
    answer.get("error").cloned().unwrap_or_default()
}

/// `claims` asking for an essential `acr` of two factors, as a query
/// parameter.
fn essential_2fa() -> String {
    let claims = json!({"id_token": {"acr": {"essential": true, "values": [TWO_FACTORS]}}}).to_string();
    format!(
        "&claims={}",
        form_urlencoded::byte_serialize(claims.as_bytes()).collect::<String>()
    )
}

/// A one-factor session, then ann enrolls an authenticator app: a request
/// for two factors with `prompt=none` is `interaction_required`; without
/// it the page offers only the code, and the code makes a new session
/// whose ID token says two factors (`acr` 2fa, `amr` pwd otp mfa). A
/// second request for two factors right after needs no page.
async fn step_up_from_one_factor(database: &str) {
    let (server, store) = setup(database, 3600).await;
    let master = master_of(database);

    let mut browser = Browser::default();
    let page = browser.get(&server, &authorize_path("web", "")).await;
    let answer = password_through(&mut browser, &server, page).await;
    let claims = id_token_claims(&server, &answer["code"]).await;
    assert_eq!(claims["acr"], ONE_FACTOR);
    assert_eq!(claims["amr"], json!(["pwd"]));
    let first_sid = claims["sid"].as_str().unwrap().to_owned();
    let first_cookie = browser.cookies.get("tessera_session").cloned().unwrap();

    let secret = enroll(&store, &master, "u-ann").await;

    // prompt=none cannot ask for the code.
    let none = browser
        .get(&server, &authorize_path("web", &format!("{ASK_2FA}&prompt=none")))
        .await;
    assert_eq!(error_of(&redirected(&none), &server), "interaction_required");

    // The step-up: the code only.
    let page = browser.get(&server, &authorize_path("web", ASK_2FA)).await;
    is_code_only(&page);
    // A wrong code keeps the code-only page (and no new session).
    let wrong = send_code(&mut browser, &server, &page, &wrong_code(&secret)).await;
    assert_eq!(wrong.status, 401, "{}", text(&wrong));
    code_only(&text(&wrong));
    assert_eq!(browser.cookies.get("tessera_session"), Some(&first_cookie));
    let done = send_code(&mut browser, &server, &page, &code(&secret, 0)).await;
    let new_cookie = browser.cookies.get("tessera_session").cloned().unwrap();
    assert_ne!(new_cookie, first_cookie, "a new session");
    let answer = through_consent(&mut browser, &server, done).await;
    let claims = id_token_claims(&server, &answer["code"]).await;
    assert_eq!(claims["sub"], "u-ann");
    assert_eq!(claims["acr"], TWO_FACTORS);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_ne!(claims["sid"], first_sid.as_str(), "a new sid");

    // Two factors now, and fresh: no page, with or without prompt=none.
    for extra in [
        ASK_2FA.to_owned(),
        format!("{ASK_2FA}&prompt=none"),
        essential_2fa(),
    ] {
        let again = browser.get(&server, &authorize_path("web", &extra)).await;
        let answer = redirected(&again);
        let claims = id_token_claims(&server, &answer["code"]).await;
        assert_eq!(claims["acr"], TWO_FACTORS, "{extra}");
    }
    server.stop().await;
}

#[tokio::test]
async fn step_up_from_one_factor_sqlite() {
    step_up_from_one_factor(&support::sqlite_url()).await;
}

#[tokio::test]
async fn step_up_from_one_factor_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    step_up_from_one_factor(&url).await;
}

/// ann has no second factor: `acr_values` asking for two factors (a
/// step-up she may meet by enrolling one) takes her, after her password,
/// to the enrollment of an authenticator app; so does an essential `acr`
/// in `claims`, new sign-in or existing session; with `prompt=none` it is
/// `interaction_required`. A `claims` that is not a JSON object is
/// `invalid_request`.
async fn without_a_factor(database: &str) {
    let (server, _store) = setup(database, 3600).await;

    let mut browser = Browser::default();
    let page = browser.get(&server, &authorize_path("web", ASK_2FA)).await;
    assert!(text(&page).contains("current-password"), "{}", text(&page));
    let after = browser.log_in(&server, &text(&page), "ann", PASSWORD).await;
    is_enrollment(&after);

    // Essential, with her session.
    let page = browser
        .get(&server, &authorize_path("web", &essential_2fa()))
        .await;
    is_enrollment(&page);
    // Essential, in a new sign-in: after the password.
    let mut other = Browser::default();
    let page = other.get(&server, &authorize_path("web", &essential_2fa())).await;
    let after = other.log_in(&server, &text(&page), "ann", PASSWORD).await;
    is_enrollment(&after);
    // Essential with prompt=none: the enrollment needs a page.
    let none = browser
        .get(
            &server,
            &authorize_path("web", &format!("{}&prompt=none", essential_2fa())),
        )
        .await;
    assert_eq!(error_of(&redirected(&none), &server), "interaction_required");

    // Discovery says `claims` is read, and that ID tokens carry the level.
    let doc = request(server.addr, "GET", "/.well-known/openid-configuration", &[], b"")
        .await
        .json();
    assert_eq!(doc["claims_parameter_supported"], true);
    for claim in ["acr", "amr"] {
        assert!(doc["claims_supported"]
            .as_array()
            .unwrap()
            .contains(&Value::from(claim)));
    }

    for bad in ["%7B", "%5B%5D", "%7B%22id_token%22%3A1%7D"] {
        let r = browser
            .get(&server, &authorize_path("web", &format!("&claims={bad}")))
            .await;
        assert_eq!(error_of(&redirected(&r), &server), "invalid_request", "{bad}");
    }
    server.stop().await;
}

#[tokio::test]
async fn without_a_factor_sqlite() {
    without_a_factor(&support::sqlite_url()).await;
}

#[tokio::test]
async fn without_a_factor_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    without_a_factor(&url).await;
}

/// `second_factor_max_age` is 2 s: a code proven 3 s ago no longer
/// satisfies a request for two factors, which asks for it again (the code
/// only); a request that asks for nothing is issued without a page, its
/// ID token still saying the two factors the session reached.
async fn an_old_second_factor_is_asked_again(database: &str) {
    let (server, store) = setup(database, 2).await;
    let master = master_of(database);
    let secret = enroll(&store, &master, "u-ann").await;

    let mut browser = Browser::default();
    let page = browser.get(&server, &authorize_path("web", ASK_2FA)).await;
    let after = browser.log_in(&server, &text(&page), "ann", PASSWORD).await;
    is_code_only(&after);
    let done = send_code(&mut browser, &server, &after, &code(&secret, 0)).await;
    let answer = through_consent(&mut browser, &server, done).await;
    let claims = id_token_claims(&server, &answer["code"]).await;
    assert_eq!(claims["acr"], TWO_FACTORS);
    let first_sid = claims["sid"].as_str().unwrap().to_owned();

    tokio::time::sleep(std::time::Duration::from_secs(3)).await;

    let plain = browser.get(&server, &authorize_path("web", "")).await;
    let claims = id_token_claims(&server, &redirected(&plain)["code"]).await;
    assert_eq!(claims["acr"], TWO_FACTORS, "what the session reached");
    assert_eq!(claims["sid"], first_sid.as_str());

    let page = browser.get(&server, &authorize_path("web", ASK_2FA)).await;
    is_code_only(&page);
    let done = send_code(&mut browser, &server, &page, &code(&secret, 1)).await;
    let answer = through_consent(&mut browser, &server, done).await;
    let claims = id_token_claims(&server, &answer["code"]).await;
    assert_eq!(claims["acr"], TWO_FACTORS);
    assert_eq!(claims["amr"], json!(["pwd", "otp", "mfa"]));
    assert_ne!(claims["sid"], first_sid.as_str());
    server.stop().await;
}

#[tokio::test]
async fn an_old_second_factor_is_asked_again_sqlite() {
    an_old_second_factor_is_asked_again(&support::sqlite_url()).await;
}

#[tokio::test]
async fn an_old_second_factor_is_asked_again_postgres() {
    let Some(url) = support::postgres_url().await else {
        return;
    };
    an_old_second_factor_is_asked_again(&url).await;
}

fn tessera(args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The require-mfa client's redirect URI (the CLI takes http for loopback
/// hosts only).
const STRICT_CALLBACK: &str = "https://app.example/cb";

/// The password grant for `username`, by the public client `client_id`.
async fn password_grant(server: &Running, client_id: &str) -> Response {
    let form = format!(
        "grant_type=password&client_id={client_id}&username=ann&password={}",
        PASSWORD.replace(' ', "%20")
    );
    support::token(server.addr, &form, &[]).await
}

/// `POST /api/v1/login` for ann by `client_id`.
async fn api_login(server: &Running, client_id: &str) -> Response {
    let body = json!({"client_id": client_id, "username": "ann", "password": PASSWORD}).to_string();
    request(
        server.addr,
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json")],
        body.as_bytes(),
    )
    .await
}

/// A client made with `tessera client create --require-mfa` and a user
/// made to with `tessera user require-mfa` make two factors essential:
/// ann, without a factor, is taken to the enrollment of an authenticator
/// app by the pages and gets no token from the password grant (`invalid_grant`) or
/// `/api/v1/login` (401 `mfa_enrollment_required`); `--off` lifts the
/// user's requirement. With a factor, the require-mfa client steps her
/// one-factor session up with the code alone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_mfa_clients_and_users() {
    let database = support::sqlite_url();
    let (server, store) = setup(&database, 3600).await;
    let master = master_of(&database);
    let mut app = support::client("app", None, &["password"], &["openid"], &[]);
    app.redirect_uris = vec!["http://app.example/cb".into()];
    store.create_client(&app).await.unwrap();

    let made = tessera(&[
        "client",
        "create",
        "--name",
        "Strict",
        "--public",
        "--grant-type",
        "authorization_code",
        "--grant-type",
        "password",
        "--redirect-uri",
        STRICT_CALLBACK,
        "--scope",
        "openid profile email",
        "--require-mfa",
        "--database",
        &database,
    ]);
    let strict: Value = serde_json::from_slice(&made.stdout).unwrap();
    let strict = strict["client_id"].as_str().unwrap().to_owned();
    assert!(store.client(&strict).await.unwrap().unwrap().require_mfa);

    // The require-mfa client: after ann's password, the enrollment.
    let strict_path =
        authorize_path(&strict, "").replace("http%3A%2F%2Fapp.example", "https%3A%2F%2Fapp.example");
    let mut browser = Browser::default();
    let page = browser.get(&server, &strict_path).await;
    let after = browser.log_in(&server, &text(&page), "ann", PASSWORD).await;
    is_enrollment(&after);
    // Photo Book, which asks nothing, is fine with her session.
    let page = browser.get(&server, &authorize_path("web", "")).await;
    let answer = through_consent(&mut browser, &server, page).await;
    assert_eq!(id_token_claims(&server, &answer["code"]).await["acr"], ONE_FACTOR);
    // No token from the password grant or the JSON API of that client.
    let r = password_grant(&server, &strict).await;
    assert_eq!(
        (r.status, r.json()["error"].clone()),
        (400, json!("invalid_grant"))
    );
    let r = api_login(&server, &strict).await;
    assert_eq!(r.status, 401, "{}", text(&r));
    assert_eq!(r.json()["error"], "mfa_enrollment_required");
    assert!(r.json().get("access_token").is_none());
    assert_eq!(password_grant(&server, "app").await.status, 200);

    // The user's requirement: every client.
    let out = tessera(&["user", "require-mfa", "ann", "--database", &database]);
    assert!(String::from_utf8_lossy(&out.stderr).contains("requires a second factor"));
    let page = browser.get(&server, &authorize_path("web", "")).await;
    is_enrollment(&page);
    let r = password_grant(&server, "app").await;
    assert_eq!(r.status, 400, "{}", text(&r));
    assert_eq!(r.json()["error"], "invalid_grant");
    let description = r.json()["error_description"].as_str().unwrap().to_owned();
    assert!(description.contains("second factor"), "{description}");
    let r = api_login(&server, "app").await;
    assert_eq!(r.status, 401, "{}", text(&r));
    assert_eq!(r.json()["error"], "mfa_enrollment_required");
    let listed = tessera(&["user", "list", "--database", &database]);
    let listed: Value = serde_json::from_slice(&listed.stdout).unwrap();
    assert_eq!(listed[0]["require_mfa"], true);

    // --off lifts it.
    tessera(&["user", "require-mfa", "ann", "--off", "--database", &database]);
    let page = browser.get(&server, &authorize_path("web", "")).await;
    assert!(redirected(&page).contains_key("code"));
    assert_eq!(password_grant(&server, "app").await.status, 200);
    assert_eq!(api_login(&server, "app").await.status, 200);

    // With a factor, the require-mfa client steps her one-factor session
    // up with the code alone.
    let secret = enroll(&store, &master, "u-ann").await;
    let page = browser.get(&server, &strict_path).await;
    is_code_only(&page);
    let done = send_code(&mut browser, &server, &page, &code(&secret, 0)).await;
    assert_eq!(done.status, 200, "{}", text(&done));
    assert!(text(&done).contains("Allow Strict?"), "{}", text(&done));
    server.stop().await;
}

/// npm openid-client asks for `acr_values=urn:tessera:acr:2fa`; headless
/// Chromium signs in with a password and a code; the validated ID token
/// says `acr` 2fa and `amr` pwd, otp, mfa. Past `second_factor_max_age`
/// the same request is a step-up: the page has no password field, and the
/// new ID token (new `sid`) says two factors again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openid_client_steps_up_with_acr_values() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser");
    let Some(chromium) = support::chromium(&dir) else {
        return;
    };
    let app_port = support::free_port();
    let app = format!("http://127.0.0.1:{app_port}");
    let database = support::sqlite_url();
    let server = support::start_configured(&database, "ES256", None, |c| {
        c.second_factor_max_age = 2;
    })
    .await;
    let store = Store::open(&database).await.unwrap();
    let mut photos = support::client(
        "photos",
        Some("pw"),
        &["authorization_code"],
        &["openid", "profile", "email"],
        &["api"],
    );
    photos.name = "Photos".into();
    photos.redirect_uris = vec![format!("{app}/cb")];
    store.create_client(&photos).await.unwrap();
    use tessera_server::store::UserStore;
    store
        .create_user(&support::user("u-ada", "ada", "a long browser password", &[]))
        .await
        .unwrap();
    let secret = enroll(&store, &master_of(&database), "u-ada").await;
    // The codes of the next ten minutes, by time step.
    let step = totp::step_of(now());
    let codes: serde_json::Map<String, Value> = (step..step + 20)
        .map(|s| (s.to_string(), Value::from(totp::code_at(&secret, s).to_string())))
        .collect();
    let codes = Value::Object(codes).to_string();

    let issuer = server.issuer.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("node")
            .current_dir(&dir)
            .env("CHROMIUM", chromium)
            .args(["stepup.mjs", issuer.as_str(), "ada", "a long browser password"])
            .arg(&codes)
            .arg(app_port.to_string())
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(got["acr_values_supported"], json!([ONE_FACTOR, TWO_FACTORS]));
    for round in ["first", "stepped"] {
        assert_eq!(got[round]["sub"], "u-ada", "{round}");
        assert_eq!(got[round]["acr"], TWO_FACTORS, "{round}");
        assert_eq!(got[round]["amr"], json!(["pwd", "otp", "mfa"]), "{round}");
    }
    assert_eq!(got["step_up_password_fields"], 0);
    assert_eq!(got["step_up_username_fields"], 0);
    assert_ne!(got["first"]["sid"], got["stepped"]["sid"]);
    server.stop().await;
}

/// OpenID Connect Core §5.5 through a pushed request (RFC 9126): the
/// level asked for in `claims` at `/par` is kept with the request, so the
/// sign-in it starts takes ann (no factor) to the enrollment of an
/// authenticator app; a `claims` that is not a JSON object is refused at `/par`
/// itself (400 `invalid_request`).
#[tokio::test]
async fn a_pushed_request_keeps_its_level() {
    let database = support::sqlite_url();
    let (server, _store) = setup(&database, 3600).await;
    let push = |claims: String| {
        let form = format!(
            "response_type=code&redirect_uri=http%3A%2F%2Fapp.example%2Fcb&scope=openid&state=st-1\
             &code_challenge={}&code_challenge_method=S256&claims={}",
            support::browser::CHALLENGE,
            form_urlencoded::byte_serialize(claims.as_bytes()).collect::<String>()
        );
        let auth = support::basic("first", "pw");
        async move {
            request(
                server.addr,
                "POST",
                "/par",
                &[
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Authorization", &auth),
                ],
                form.as_bytes(),
            )
            .await
        }
    };
    let bad = push("[1]".into()).await;
    assert_eq!(bad.status, 400, "{}", text(&bad));
    assert_eq!(bad.json()["error"], "invalid_request");

    let claims = json!({"id_token": {"acr": {"essential": true, "value": TWO_FACTORS}}}).to_string();
    let pushed = push(claims).await;
    assert_eq!(pushed.status, 201, "{}", text(&pushed));
    let uri = pushed.json()["request_uri"].as_str().unwrap().to_owned();
    let path = format!(
        "/authorize?client_id=first&request_uri={}",
        form_urlencoded::byte_serialize(uri.as_bytes()).collect::<String>()
    );
    let mut browser = Browser::default();
    let page = browser.get(&server, &path).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    let after = browser.log_in(&server, &text(&page), "ann", PASSWORD).await;
    is_enrollment(&after);
    server.stop().await;
}
