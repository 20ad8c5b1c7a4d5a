//! A fake GitHub OAuth app provider, for tests of "sign in with GitHub".
//!
//! [`FakeGitHub::start`] serves GitHub's own paths on `127.0.0.1` and an
//! ephemeral port, inside the test process:
//!
//! - `GET /login/oauth/authorize`: a user who approves at once, answered
//!   with a 302 to `redirect_uri` carrying `code` and `state`;
//! - `POST /login/oauth/access_token`: the code exchange, with PKCE `S256`
//!   checked, answering JSON (`Accept: application/json`) or, as GitHub
//!   does by default, a form-encoded body; failures are HTTP 200 with an
//!   `error` member, as on GitHub;
//! - `GET /user` and `GET /user/emails`: the profile and the email list,
//!   for a bearer token it issued, and only with a `User-Agent` header.
//!
//! Knobs change what it answers while it runs: the user, the emails, a
//! token endpoint answering nonsense ([`FakeGitHub::set_token_status`]), a
//! slow provider ([`FakeGitHub::set_delay`]) and a provider that is down
//! ([`FakeGitHub::stop`]).
//!
//! What it shares with [`crate::fake_oidc`] (the listener, the faults, PKCE,
//! query strings, HTTP Basic) is in `fake_provider`.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

use crate::fake_provider::{
    self, append_query, basic_credentials, garbage, json_response, parse_pairs, random_bytes, redirect, text,
    Faults, Listening,
};
pub use crate::fake_provider::{s256, GARBAGE};

/// The user [`FakeGitHub`] signs in (change it with [`FakeGitHub::set_user`]).
#[derive(Clone, Debug)]
struct User {
    id: u64,
    login: String,
    name: Option<String>,
    public_email: Option<String>,
}

/// An authorization code and what it was issued for.
#[derive(Clone, Debug)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: Option<String>,
    used: bool,
}

/// Everything the handlers share with the [`FakeGitHub`] handle.
#[derive(Debug)]
struct Inner {
    client_id: String,
    client_secret: String,
    user: User,
    emails: Vec<(String, bool, bool)>,
    faults: Faults,
    authorize_requests: Vec<HashMap<String, String>>,
    codes: HashMap<String, Grant>,
    tokens: HashSet<String>,
}

type Shared = Arc<Mutex<Inner>>;

/// A running fake GitHub. Dropping it leaves it serving until the test's
/// runtime ends; [`FakeGitHub::stop`] takes it down at once.
#[derive(Debug)]
pub struct FakeGitHub {
    /// Where it listens (`127.0.0.1`, an ephemeral port).
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`, the base of every endpoint (GitHub's
    /// `https://github.com` and `https://api.github.com` in one).
    pub base: String,
    inner: Shared,
    listening: Listening,
}

impl FakeGitHub {
    /// Starts a fake that knows one OAuth app, `client_id` with
    /// `client_secret`, and signs in the user `octocat` (id 1, name "The
    /// Octocat", no public email) whose one email,
    /// `octocat@example.com`, is primary and verified.
    pub async fn start(client_id: &str, client_secret: &str) -> FakeGitHub {
        let inner = Arc::new(Mutex::new(Inner {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            user: User {
                id: 1,
                login: "octocat".to_owned(),
                name: Some("The Octocat".to_owned()),
                public_email: None,
            },
            emails: vec![("octocat@example.com".to_owned(), true, true)],
            faults: Faults::default(),
            authorize_requests: Vec::new(),
            codes: HashMap::new(),
            tokens: HashSet::new(),
        }));
        let router = Router::new()
            .route("/login/oauth/authorize", get(authorize))
            .route("/login/oauth/access_token", post(access_token))
            .route("/user", get(user))
            .route("/user/emails", get(emails))
            .with_state(inner.clone());
        let listening = Listening::start(router).await;
        FakeGitHub {
            addr: listening.addr,
            base: format!("http://{}", listening.addr),
            inner,
            listening,
        }
    }

    /// `{base}/login/oauth/authorize`.
    pub fn authorize_url(&self) -> String {
        format!("{}/login/oauth/authorize", self.base)
    }

    /// `{base}/login/oauth/access_token`.
    pub fn token_url(&self) -> String {
        format!("{}/login/oauth/access_token", self.base)
    }

    /// `{base}/user`.
    pub fn user_url(&self) -> String {
        format!("{}/user", self.base)
    }

    /// `{base}/user/emails`.
    pub fn emails_url(&self) -> String {
        format!("{}/user/emails", self.base)
    }

    /// The query of every authorize request so far, oldest first (recorded
    /// even when refused), so tests can check `state`, `code_challenge` and
    /// `code_challenge_method=S256` were sent.
    pub fn authorize_requests(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().authorize_requests.clone()
    }

    /// The user that `/user` describes. With `public_email`, that address
    /// is the profile's `email` and is marked `"visibility": "public"` in
    /// `/user/emails`.
    pub fn set_user(&self, id: u64, login: &str, name: Option<&str>, public_email: Option<&str>) {
        self.inner.lock().unwrap().user = User {
            id,
            login: login.to_owned(),
            name: name.map(str::to_owned),
            public_email: public_email.map(str::to_owned),
        };
    }

    /// The list `/user/emails` answers: `(email, primary, verified)`.
    pub fn set_emails(&self, emails: Vec<(String, bool, bool)>) {
        self.inner.lock().unwrap().emails = emails;
    }

    /// Makes the token endpoint answer `status` with [`GARBAGE`] as its
    /// body, whatever it is sent ("the provider answers nonsense").
    pub fn set_token_status(&self, status: u16) {
        self.inner.lock().unwrap().faults.token_status = Some(status);
    }

    /// Makes every endpoint wait `delay` before it does anything ("the
    /// provider is slow"); `Duration::ZERO` ends that.
    pub fn set_delay(&self, delay: Duration) {
        self.inner.lock().unwrap().faults.delay = delay;
    }

    /// Closes the listener, so later connections are refused ("the provider
    /// is down"), and waits for requests in flight to be answered.
    pub async fn stop(self) {
        self.listening.stop().await;
    }
}

/// Sleeps for the configured delay.
async fn pause(inner: &Shared) {
    let delay = inner.lock().unwrap().faults.delay;
    fake_provider::pause(delay).await;
}

async fn authorize(State(inner): State<Shared>, RawQuery(query): RawQuery) -> Response {
    pause(&inner).await;
    let query = parse_pairs(query.unwrap_or_default().as_bytes());
    let mut inner = inner.lock().unwrap();
    inner.authorize_requests.push(query.clone());
    let client_id = query.get("client_id").map(String::as_str).unwrap_or_default();
    if client_id != inner.client_id {
        return text(StatusCode::BAD_REQUEST, "unknown client_id");
    }
    let Some(redirect_uri) = query.get("redirect_uri") else {
        return text(StatusCode::BAD_REQUEST, "redirect_uri is required");
    };
    let challenge = query.get("code_challenge").cloned();
    if challenge.is_some() && query.get("code_challenge_method").map(String::as_str) != Some("S256") {
        return text(StatusCode::BAD_REQUEST, "code_challenge_method must be S256");
    }
    let code = random_hex(10);
    inner.codes.insert(
        code.clone(),
        Grant {
            client_id: client_id.to_owned(),
            redirect_uri: redirect_uri.clone(),
            challenge,
            used: false,
        },
    );
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = query.get("state") {
        params.push(("state", state));
    }
    redirect(&append_query(redirect_uri, &params))
}

async fn access_token(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    pause(&inner).await;
    let mut inner = inner.lock().unwrap();
    if let Some(status) = inner.faults.token_status {
        return garbage(status);
    }
    let as_json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let form = parse_pairs(&body);
    let (client_id, client_secret) = basic_credentials(&headers).unwrap_or_else(|| {
        (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        )
    });
    let fail = |error: &str, description: &str| {
        let anchor = error.replace('_', "-");
        let error_uri = format!(
            "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#{anchor}"
        );
        github_answer(
            as_json,
            &[
                ("error", error),
                ("error_description", description),
                ("error_uri", &error_uri),
            ],
        )
    };
    if client_id != inner.client_id || client_secret != inner.client_secret {
        return fail(
            "incorrect_client_credentials",
            "The client_id and/or client_secret passed are incorrect.",
        );
    }
    let bad_code = "The code passed is incorrect or expired.";
    let code = form.get("code").map(String::as_str).unwrap_or_default();
    let Some(grant) = inner.codes.get(code).cloned() else {
        return fail("bad_verification_code", bad_code);
    };
    if grant.used || grant.client_id != client_id {
        return fail("bad_verification_code", bad_code);
    }
    if form.get("redirect_uri").is_some_and(|r| *r != grant.redirect_uri) {
        return fail(
            "redirect_uri_mismatch",
            "The redirect_uri MUST match the registered callback URL for this application.",
        );
    }
    let verifier = form.get("code_verifier");
    let pkce_ok = match (&grant.challenge, verifier) {
        (Some(challenge), Some(verifier)) => s256(verifier) == *challenge,
        (None, None) => true,
        _ => false,
    };
    if !pkce_ok {
        return fail(
            "bad_verification_code",
            "The code_verifier does not match the code_challenge.",
        );
    }
    if let Some(grant) = inner.codes.get_mut(code) {
        grant.used = true;
    }
    let token = format!("gho_{}", random_alphanumeric(36));
    inner.tokens.insert(token.clone());
    github_answer(
        as_json,
        &[
            ("access_token", &token),
            ("token_type", "bearer"),
            ("scope", "read:user,user:email"),
        ],
    )
}

/// A token endpoint answer as JSON or, GitHub's default, as a form.
fn github_answer(as_json: bool, members: &[(&str, &str)]) -> Response {
    if as_json {
        let object: serde_json::Map<String, Value> = members
            .iter()
            .map(|(k, v)| ((*k).to_owned(), Value::from(*v)))
            .collect();
        json_response(StatusCode::OK, &Value::Object(object))
    } else {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(members)
            .finish();
        (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/x-www-form-urlencoded; charset=utf-8",
            )],
            body,
        )
            .into_response()
    }
}

/// The checks `/user` and `/user/emails` share: a `User-Agent`, then a
/// token this fake issued. `Some` is the refusal to send.
fn api_refusal(inner: &Inner, headers: &HeaderMap) -> Option<Response> {
    if !headers.contains_key(header::USER_AGENT) {
        return Some(json_response(
            StatusCode::FORBIDDEN,
            &json!({
                "message": "Request forbidden by administrative rules. Please make sure your request has a User-Agent header",
                "documentation_url": "https://docs.github.com/rest/overview/resources-in-the-rest-api#user-agent-required",
            }),
        ));
    }
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("token"))
        .map(|(_, token)| token.trim());
    match token {
        Some(token) if inner.tokens.contains(token) => None,
        _ => Some(json_response(
            StatusCode::UNAUTHORIZED,
            &json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest"}),
        )),
    }
}

async fn user(State(inner): State<Shared>, headers: HeaderMap) -> Response {
    pause(&inner).await;
    let inner = inner.lock().unwrap();
    if let Some(refusal) = api_refusal(&inner, &headers) {
        return refusal;
    }
    let user = &inner.user;
    json_response(
        StatusCode::OK,
        &json!({
            "login": user.login,
            "id": user.id,
            "type": "User",
            "name": user.name,
            "email": user.public_email,
        }),
    )
}

async fn emails(State(inner): State<Shared>, headers: HeaderMap) -> Response {
    pause(&inner).await;
    let inner = inner.lock().unwrap();
    if let Some(refusal) = api_refusal(&inner, &headers) {
        return refusal;
    }
    let list: Vec<Value> = inner
        .emails
        .iter()
        .map(|(email, primary, verified)| {
            let public = inner.user.public_email.as_deref() == Some(email.as_str());
            json!({
                "email": email,
                "primary": primary,
                "verified": verified,
                "visibility": if public { Some("public") } else { None },
            })
        })
        .collect();
    json_response(StatusCode::OK, &Value::Array(list))
}

/// `bytes` random bytes in lower-case hex (GitHub's codes look like this).
fn random_hex(bytes: usize) -> String {
    random_bytes(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// `len` random characters from `[0-9A-Za-z]` (GitHub's token alphabet).
fn random_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    random_bytes(len)
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fake_provider::random_b64;
    use crate::{basic, request, Response as Answer};

    const CALLBACK: &str = "http://tessera.test/federation/github/callback?tenant=a";
    const UA: (&str, &str) = ("User-Agent", "tessera-test");

    /// Sends an authorize request and returns the redirect's location.
    async fn approve(fake: &FakeGitHub, client_id: &str, challenge: &str) -> String {
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", client_id),
                ("redirect_uri", CALLBACK),
                ("state", "st-123"),
                ("scope", "read:user user:email"),
                ("code_challenge", challenge),
                ("code_challenge_method", "S256"),
            ])
            .finish();
        let r = request(
            fake.addr,
            "GET",
            &format!("/login/oauth/authorize?{query}"),
            &[],
            b"",
        )
        .await;
        assert_eq!(r.status, 302, "{}", String::from_utf8_lossy(&r.body));
        r.header("location").unwrap().to_owned()
    }

    /// The query of a redirect location.
    fn query_of(location: &str) -> HashMap<String, String> {
        parse_pairs(location.split_once('?').unwrap().1.as_bytes())
    }

    /// Exchanges `code`, asking for JSON.
    async fn exchange(fake: &FakeGitHub, code: &str, verifier: &str, secret: &str) -> Answer {
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("client_id", "gh-app"),
                ("client_secret", secret),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", verifier),
            ])
            .finish();
        request(
            fake.addr,
            "POST",
            "/login/oauth/access_token",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Accept", "application/json"),
            ],
            form.as_bytes(),
        )
        .await
    }

    /// A full sign-in: the access token.
    async fn sign_in(fake: &FakeGitHub) -> String {
        let verifier = random_b64(32);
        let location = approve(fake, "gh-app", &s256(&verifier)).await;
        let code = query_of(&location)["code"].clone();
        let r = exchange(fake, &code, &verifier, "gh-secret").await;
        r.json()["access_token"].as_str().unwrap().to_owned()
    }

    #[tokio::test]
    async fn authorize_redirects_with_code_and_state_and_records_the_request() {
        let fake = FakeGitHub::start("gh-app", "gh-secret").await;
        let location = approve(&fake, "gh-app", &s256("v")).await;
        assert!(location.starts_with("http://tessera.test/federation/github/callback?tenant=a&code="));
        let query = query_of(&location);
        assert_eq!(query["tenant"], "a");
        assert_eq!(query["state"], "st-123");
        assert!(!query["code"].is_empty());
        let seen = fake.authorize_requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0]["code_challenge_method"], "S256");
        assert_eq!(seen[0]["code_challenge"], s256("v"));
        assert_eq!(seen[0]["state"], "st-123");
    }

    #[tokio::test]
    async fn authorize_refuses_an_unknown_client() {
        let fake = FakeGitHub::start("gh-app", "gh-secret").await;
        let r = request(
            fake.addr,
            "GET",
            "/login/oauth/authorize?client_id=other&redirect_uri=http%3A%2F%2Fx%2Fcb",
            &[],
            b"",
        )
        .await;
        assert_eq!(r.status, 400);
        assert!(r.header("location").is_none());
        assert_eq!(fake.authorize_requests().len(), 1);
    }

    #[tokio::test]
    async fn token_endpoint_checks_pkce_secret_and_reuse() {
        let fake = FakeGitHub::start("gh-app", "gh-secret").await;
        let verifier = random_b64(32);
        let code = query_of(&approve(&fake, "gh-app", &s256(&verifier)).await)["code"].clone();

        let wrong = exchange(
            &fake,
            &code,
            "not-the-verifier-not-the-verifier-xxxxxxxxxx",
            "gh-secret",
        )
        .await;
        assert_eq!(wrong.status, 200);
        assert_eq!(wrong.json()["error"], "bad_verification_code");

        let secret = exchange(&fake, &code, &verifier, "wrong-secret").await;
        assert_eq!(secret.json()["error"], "incorrect_client_credentials");

        let ok = exchange(&fake, &code, &verifier, "gh-secret").await;
        let body = ok.json();
        assert!(
            body["access_token"].as_str().unwrap().starts_with("gho_"),
            "{body}"
        );
        assert_eq!(body["token_type"], "bearer");
        assert_eq!(body["scope"], "read:user,user:email");

        let again = exchange(&fake, &code, &verifier, "gh-secret").await;
        assert_eq!(again.status, 200);
        assert_eq!(again.json()["error"], "bad_verification_code");
    }

    #[tokio::test]
    async fn token_endpoint_takes_basic_auth_and_answers_a_form_by_default() {
        let fake = FakeGitHub::start("gh-app", "gh-secret").await;
        let verifier = random_b64(32);
        let code = query_of(&approve(&fake, "gh-app", &s256(&verifier)).await)["code"].clone();
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([("code", code.as_str()), ("code_verifier", &verifier)])
            .finish();
        let auth = basic("gh-app", "gh-secret");
        let r = request(
            fake.addr,
            "POST",
            "/login/oauth/access_token",
            &[
                ("Content-Type", "application/x-www-form-urlencoded"),
                ("Authorization", &auth),
            ],
            form.as_bytes(),
        )
        .await;
        assert_eq!(r.status, 200);
        assert!(r
            .header("content-type")
            .unwrap()
            .starts_with("application/x-www-form-urlencoded"));
        let answer = parse_pairs(&r.body);
        assert!(answer["access_token"].starts_with("gho_"));
        assert_eq!(answer["token_type"], "bearer");
    }

    #[tokio::test]
    async fn user_needs_a_user_agent_and_a_known_token() {
        let fake = FakeGitHub::start("gh-app", "gh-secret").await;
        fake.set_user(42, "alice", Some("Alice A."), Some("alice@example.com"));
        fake.set_emails(vec![
            ("alice@example.com".to_owned(), false, true),
            ("alice@work.example".to_owned(), true, true),
        ]);
        let token = sign_in(&fake).await;
        let bearer = format!("Bearer {token}");

        let no_ua = request(fake.addr, "GET", "/user", &[("Authorization", &bearer)], b"").await;
        assert_eq!(no_ua.status, 403);
        assert!(no_ua.json()["message"].as_str().unwrap().contains("User-Agent"));

        let unknown = request(
            fake.addr,
            "GET",
            "/user",
            &[UA, ("Authorization", "Bearer gho_nope")],
            b"",
        )
        .await;
        assert_eq!(unknown.status, 401);
        assert_eq!(unknown.json()["message"], "Bad credentials");

        let me = request(fake.addr, "GET", "/user", &[UA, ("Authorization", &bearer)], b"").await;
        assert_eq!(me.status, 200);
        let me = me.json();
        assert_eq!(me["id"], 42);
        assert_eq!(me["login"], "alice");
        assert_eq!(me["name"], "Alice A.");
        assert_eq!(me["email"], "alice@example.com");

        let legacy = format!("token {token}");
        let list = request(
            fake.addr,
            "GET",
            "/user/emails",
            &[UA, ("Authorization", &legacy)],
            b"",
        )
        .await;
        assert_eq!(list.status, 200);
        let list = list.json();
        assert_eq!(list[0]["visibility"], "public");
        assert_eq!(list[1]["email"], "alice@work.example");
        assert_eq!(list[1]["primary"], true);
        assert_eq!(list[1]["verified"], true);
        assert!(list[1]["visibility"].is_null());
    }

    #[tokio::test]
    async fn knobs_make_it_answer_nonsense_slowly_then_go_down() {
        let fake = FakeGitHub::start("gh-app", "gh-secret").await;
        fake.set_token_status(502);
        let r = exchange(&fake, "whatever", "v", "gh-secret").await;
        assert_eq!(r.status, 502);
        assert!(serde_json::from_slice::<Value>(&r.body).is_err());

        fake.set_delay(Duration::from_millis(60));
        let started = std::time::Instant::now();
        let r = request(fake.addr, "GET", "/user", &[UA], b"").await;
        assert_eq!(r.status, 401);
        assert!(started.elapsed() >= Duration::from_millis(60));

        let addr = fake.addr;
        fake.stop().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
