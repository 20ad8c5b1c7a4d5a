//! A fake OpenID provider, for tests of "sign in with any OpenID provider",
//! whose answers tests can falsify one check at a time.
//!
//! [`FakeOidc::start`] serves, on `127.0.0.1` and an ephemeral port inside
//! the test process, with the issuer `http://127.0.0.1:PORT`:
//!
//! - `GET /.well-known/openid-configuration`: discovery (OpenID Connect
//!   Discovery 1.0 §3);
//! - `GET /jwks`: its public ES256 key;
//! - `GET /authorize`: a user who approves at once, answered with a 302 to
//!   `redirect_uri` carrying `code`, `state` and `iss` ([RFC 9207]); PKCE
//!   `S256` and the `openid` scope are required;
//! - `POST /token`: the code exchange (`client_secret_basic` or
//!   `client_secret_post`), answering an access token and an ES256 ID
//!   token; errors are [RFC 6749 §5.2] JSON;
//! - `GET /userinfo`: the profile, for an access token it issued.
//!
//! [`Falsify`] makes exactly one thing wrong in what it answers, so a
//! negative test proves one check of the client; the other knobs change
//! the user, make the token endpoint answer nonsense, slow every endpoint
//! down, or take the provider down.
//!
//! [RFC 9207]: https://www.rfc-editor.org/rfc/rfc9207
//! [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use tessera_jwt::{Algorithm, KeySet, Signer, SigningKey, UnixTime};

use crate::fake_provider::{
    self, append_query, basic_credentials, garbage, json_response, parse_pairs, random_b64, redirect, s256,
    text, Faults, Listening,
};

/// The issuer a falsified `iss` (claim or redirect parameter) names.
pub const WRONG_ISSUER: &str = "https://wrong-issuer.example";
/// The client a falsified `aud` or `azp` names.
pub const WRONG_CLIENT: &str = "some-other-client";
/// The nonce a falsified ID token carries.
pub const WRONG_NONCE: &str = "not-the-nonce-you-sent";

/// What [`FakeOidc`] gets wrong, one thing at a time (see
/// [`FakeOidc::set_falsify`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Falsify {
    /// Nothing: every answer is correct.
    #[default]
    None,
    /// The ID token's `nonce` is [`WRONG_NONCE`] (present even when the
    /// authorize request sent none).
    Nonce,
    /// The ID token's `aud` is [`WRONG_CLIENT`] (`azp` still names the
    /// client).
    Audience,
    /// The ID token's `azp` is [`WRONG_CLIENT`].
    Azp,
    /// The ID token's `iss` claim is [`WRONG_ISSUER`].
    IssClaim,
    /// The authorization response's `iss` parameter is [`WRONG_ISSUER`]
    /// (RFC 9207 mix-up defence).
    IssParameter,
    /// The authorization response has no `iss` parameter, though discovery
    /// says it sends one.
    OmitIssParameter,
    /// The ID token expired ten minutes ago (`iat` five minutes before
    /// that, so only `exp` is wrong).
    Expired,
    /// The ID token's `iat` is an hour from now (`exp` five minutes after
    /// it, so only `iat` is wrong).
    IssuedInFuture,
    /// The ID token is signed by a key absent from the JWKS, under the
    /// published key's `kid`: only the signature is wrong.
    OtherKey,
    /// The ID token is unsigned: `alg` is `none` and the signature empty.
    AlgNone,
    /// Discovery names a plain-http token endpoint on another host
    /// ([`PLAIN_HTTP_TOKEN_ENDPOINT`]), where the code and client secret
    /// would cross the network unprotected.
    PlainHttpTokenEndpoint,
}

/// The token endpoint [`Falsify::PlainHttpTokenEndpoint`] names.
pub const PLAIN_HTTP_TOKEN_ENDPOINT: &str = "http://idp.example/token";

/// The profile claims the ID token and `/userinfo` carry.
#[derive(Clone, Debug)]
struct Profile {
    email: Option<String>,
    email_verified: bool,
    name: Option<String>,
    preferred_username: Option<String>,
    groups: Vec<String>,
}

/// An authorization code and what it was issued for.
#[derive(Clone, Debug)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    challenge: String,
    nonce: Option<String>,
    auth_time: i64,
    used: bool,
}

/// Everything the handlers share with the [`FakeOidc`] handle.
#[derive(Debug)]
struct Inner {
    issuer: String,
    client_id: String,
    client_secret: String,
    signer: Signer,
    other_signer: Signer,
    jwks: Value,
    subject: String,
    profile: Profile,
    amr: Option<Vec<String>>,
    falsify: Falsify,
    faults: Faults,
    authorize_requests: Vec<HashMap<String, String>>,
    codes: HashMap<String, Grant>,
    tokens: HashSet<String>,
}

type Shared = Arc<Mutex<Inner>>;

/// A running fake OpenID provider. Dropping it leaves it serving until the
/// test's runtime ends; [`FakeOidc::stop`] takes it down at once.
#[derive(Debug)]
pub struct FakeOidc {
    /// Where it listens (`127.0.0.1`, an ephemeral port).
    pub addr: SocketAddr,
    /// `http://127.0.0.1:PORT`: its issuer identifier and the base of its
    /// endpoints.
    pub issuer: String,
    inner: Shared,
    listening: Listening,
}

impl FakeOidc {
    /// Starts a provider that knows one client, `client_id` with
    /// `client_secret`, signs ID tokens with a fresh ES256 key, and signs in
    /// the subject `upstream-user-1` (email `alice@example.com`, verified;
    /// name "Alice Example"; username `alice`; no groups).
    pub async fn start(client_id: &str, client_secret: &str) -> FakeOidc {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let kid = key.kid().to_owned();
        let jwks = KeySet::new(vec![key.verifying_key().unwrap()])
            .unwrap()
            .to_public_jwks();
        let other = SigningKey::generate(Algorithm::ES256).unwrap().with_kid(kid);
        let inner = Arc::new(Mutex::new(Inner {
            issuer: String::new(),
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            signer: Signer::new(key, Some("JWT")),
            other_signer: Signer::new(other, Some("JWT")),
            jwks: serde_json::to_value(&jwks).unwrap(),
            subject: "upstream-user-1".to_owned(),
            profile: Profile {
                email: Some("alice@example.com".to_owned()),
                email_verified: true,
                name: Some("Alice Example".to_owned()),
                preferred_username: Some("alice".to_owned()),
                groups: Vec::new(),
            },
            amr: None,
            falsify: Falsify::None,
            faults: Faults::default(),
            authorize_requests: Vec::new(),
            codes: HashMap::new(),
            tokens: HashSet::new(),
        }));
        let router = Router::new()
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks_document))
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/userinfo", get(userinfo))
            .with_state(inner.clone());
        let listening = Listening::start(router).await;
        let issuer = format!("http://{}", listening.addr);
        inner.lock().unwrap().issuer = issuer.clone();
        FakeOidc {
            addr: listening.addr,
            issuer,
            inner,
            listening,
        }
    }

    /// The `kid` of its signing key (the one [`Falsify::OtherKey`] reuses).
    pub fn kid(&self) -> String {
        self.inner.lock().unwrap().signer.key().kid().to_owned()
    }

    /// The query of every authorize request so far, oldest first (recorded
    /// even when refused), so tests can check `state`, `nonce`,
    /// `code_challenge` and `code_challenge_method=S256` were sent.
    pub fn authorize_requests(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().authorize_requests.clone()
    }

    /// The `sub` of the ID tokens and `/userinfo` from now on.
    pub fn set_subject(&self, subject: &str) {
        self.inner.lock().unwrap().subject = subject.to_owned();
    }

    /// The profile claims of the ID tokens and `/userinfo` from now on. An
    /// absent value leaves its claim out (`email_verified` goes with
    /// `email`); `groups` is always sent, even empty.
    pub fn set_profile(
        &self,
        email: Option<&str>,
        email_verified: bool,
        name: Option<&str>,
        preferred_username: Option<&str>,
        groups: &[&str],
    ) {
        self.inner.lock().unwrap().profile = Profile {
            email: email.map(str::to_owned),
            email_verified,
            name: name.map(str::to_owned),
            preferred_username: preferred_username.map(str::to_owned),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
        };
    }

    /// The ID tokens' `amr` (OpenID Connect Core §2) from now on: these
    /// values, or (`None`, the default) no `amr` claim at all.
    pub fn set_amr(&self, amr: Option<&[&str]>) {
        self.inner.lock().unwrap().amr = amr.map(|a| a.iter().map(|v| (*v).to_owned()).collect());
    }

    /// What to get wrong from now on ([`Falsify::None`]: nothing).
    pub fn set_falsify(&self, falsify: Falsify) {
        self.inner.lock().unwrap().falsify = falsify;
    }

    /// Makes the token endpoint answer `status` with
    /// [`crate::fake_github::GARBAGE`] as its body, whatever it is sent
    /// ("the provider answers nonsense").
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

async fn discovery(State(inner): State<Shared>) -> Response {
    pause(&inner).await;
    let (issuer, falsify) = {
        let inner = inner.lock().unwrap();
        (inner.issuer.clone(), inner.falsify)
    };
    let token_endpoint = match falsify {
        Falsify::PlainHttpTokenEndpoint => PLAIN_HTTP_TOKEN_ENDPOINT.to_owned(),
        _ => format!("{issuer}/token"),
    };
    json_response(
        StatusCode::OK,
        &json!({
            "issuer": issuer,
            "authorization_endpoint": format!("{issuer}/authorize"),
            "token_endpoint": token_endpoint,
            "jwks_uri": format!("{issuer}/jwks"),
            "userinfo_endpoint": format!("{issuer}/userinfo"),
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": ["ES256"],
            "code_challenge_methods_supported": ["S256"],
            "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
            "scopes_supported": ["openid", "email", "profile"],
            "claims_supported": [
                "iss", "sub", "aud", "azp", "nonce", "iat", "exp", "auth_time",
                "email", "email_verified", "name", "preferred_username", "groups", "amr"
            ],
            "authorization_response_iss_parameter_supported": true,
        }),
    )
}

async fn jwks_document(State(inner): State<Shared>) -> Response {
    pause(&inner).await;
    let jwks = inner.lock().unwrap().jwks.clone();
    let mut response = json_response(StatusCode::OK, &jwks);
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/jwk-set+json"),
    );
    response
}

async fn authorize(State(inner): State<Shared>, RawQuery(query): RawQuery) -> Response {
    pause(&inner).await;
    let query = parse_pairs(query.unwrap_or_default().as_bytes());
    let mut inner = inner.lock().unwrap();
    inner.authorize_requests.push(query.clone());
    // Without a known client and a redirect URI there is nowhere safe to
    // send an error (RFC 6749 §4.1.2.1): it is shown to the user.
    let client_id = query.get("client_id").map(String::as_str).unwrap_or_default();
    if client_id != inner.client_id {
        return text(StatusCode::BAD_REQUEST, "unknown client_id");
    }
    let Some(redirect_uri) = query.get("redirect_uri").cloned() else {
        return text(StatusCode::BAD_REQUEST, "redirect_uri is required");
    };
    let iss = match inner.falsify {
        Falsify::IssParameter => Some(WRONG_ISSUER.to_owned()),
        Falsify::OmitIssParameter => None,
        _ => Some(inner.issuer.clone()),
    };
    let state = query.get("state").map(String::as_str);
    let answer = |params: &[(&str, &str)]| {
        let mut params = params.to_vec();
        params.extend(state.map(|state| ("state", state)));
        params.extend(iss.as_deref().map(|iss| ("iss", iss)));
        redirect(&append_query(&redirect_uri, &params))
    };
    let refuse =
        |error: &str, description: &str| answer(&[("error", error), ("error_description", description)]);
    if query.get("response_type").map(String::as_str) != Some("code") {
        return refuse(
            "unsupported_response_type",
            "only response_type=code is supported",
        );
    }
    let scope = query.get("scope").map(String::as_str).unwrap_or_default();
    if !scope.split(' ').any(|s| s == "openid") {
        return refuse("invalid_scope", "the openid scope is required");
    }
    let challenge = match (query.get("code_challenge"), query.get("code_challenge_method")) {
        (Some(challenge), Some(method)) if method == "S256" && !challenge.is_empty() => challenge.clone(),
        _ => {
            return refuse(
                "invalid_request",
                "PKCE with code_challenge_method=S256 is required",
            )
        }
    };
    let code = random_b64(24);
    let grant = Grant {
        client_id: client_id.to_owned(),
        redirect_uri: redirect_uri.clone(),
        challenge,
        nonce: query.get("nonce").cloned(),
        auth_time: UnixTime::now().as_secs(),
        used: false,
    };
    inner.codes.insert(code.clone(), grant);
    answer(&[("code", &code)])
}

/// An RFC 6749 §5.2 error.
fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    let mut response = json_response(status, &json!({"error": error, "error_description": description}));
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

async fn token(State(inner): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    pause(&inner).await;
    let mut inner = inner.lock().unwrap();
    if let Some(status) = inner.faults.token_status {
        return garbage(status);
    }
    let form = parse_pairs(&body);
    let basic = basic_credentials(&headers);
    if basic.is_some() && form.contains_key("client_secret") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "more than one client authentication method",
        );
    }
    let used_basic = basic.is_some();
    let (client_id, client_secret) = basic.unwrap_or_else(|| {
        (
            form.get("client_id").cloned().unwrap_or_default(),
            form.get("client_secret").cloned().unwrap_or_default(),
        )
    });
    if client_id != inner.client_id || client_secret != inner.client_secret {
        let mut response = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "client authentication failed",
        );
        if used_basic {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"fake-oidc\""),
            );
        }
        return response;
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "only authorization_code is supported",
        );
    }
    let invalid_grant =
        |description: &str| oauth_error(StatusCode::BAD_REQUEST, "invalid_grant", description);
    let code = form.get("code").map(String::as_str).unwrap_or_default();
    let Some(grant) = inner.codes.get(code).cloned() else {
        return invalid_grant("unknown code");
    };
    if grant.used {
        return invalid_grant("code already used");
    }
    if grant.client_id != client_id {
        return invalid_grant("code issued to another client");
    }
    if form.get("redirect_uri") != Some(&grant.redirect_uri) {
        return invalid_grant("redirect_uri differs from the authorization request's");
    }
    if form.get("code_verifier").map(|v| s256(v)) != Some(grant.challenge.clone()) {
        return invalid_grant("code_verifier does not match the code_challenge");
    }
    if let Some(grant) = inner.codes.get_mut(code) {
        grant.used = true;
    }
    let access_token = random_b64(32);
    inner.tokens.insert(access_token.clone());
    let id_token = id_token(&inner, &grant, UnixTime::now().as_secs());
    let mut response = json_response(
        StatusCode::OK,
        &json!({
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "scope": "openid email profile",
            "id_token": id_token,
        }),
    );
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The profile claims (no `sub`).
fn profile_claims(profile: &Profile, claims: &mut serde_json::Map<String, Value>) {
    if let Some(email) = &profile.email {
        claims.insert("email".into(), json!(email));
        claims.insert("email_verified".into(), json!(profile.email_verified));
    }
    if let Some(name) = &profile.name {
        claims.insert("name".into(), json!(name));
    }
    if let Some(username) = &profile.preferred_username {
        claims.insert("preferred_username".into(), json!(username));
    }
    claims.insert("groups".into(), json!(profile.groups));
}

/// The ID token for `grant` at `now`, falsified as configured.
fn id_token(inner: &Inner, grant: &Grant, now: i64) -> String {
    let falsify = inner.falsify;
    let client = inner.client_id.as_str();
    let (iat, exp, auth_time) = match falsify {
        Falsify::Expired => (now - 900, now - 600, grant.auth_time.min(now - 900)),
        Falsify::IssuedInFuture => (now + 3600, now + 3900, grant.auth_time),
        _ => (now, now + 300, grant.auth_time),
    };
    let mut claims = serde_json::Map::new();
    let iss = if falsify == Falsify::IssClaim {
        WRONG_ISSUER
    } else {
        inner.issuer.as_str()
    };
    claims.insert("iss".into(), json!(iss));
    claims.insert("sub".into(), json!(inner.subject));
    let aud = if falsify == Falsify::Audience {
        WRONG_CLIENT
    } else {
        client
    };
    claims.insert("aud".into(), json!(aud));
    let azp = if falsify == Falsify::Azp {
        WRONG_CLIENT
    } else {
        client
    };
    claims.insert("azp".into(), json!(azp));
    let nonce = if falsify == Falsify::Nonce {
        Some(WRONG_NONCE)
    } else {
        grant.nonce.as_deref()
    };
    if let Some(nonce) = nonce {
        claims.insert("nonce".into(), json!(nonce));
    }
    claims.insert("iat".into(), json!(iat));
    claims.insert("exp".into(), json!(exp));
    claims.insert("auth_time".into(), json!(auth_time));
    profile_claims(&inner.profile, &mut claims);
    if let Some(amr) = &inner.amr {
        claims.insert("amr".into(), json!(amr));
    }
    match falsify {
        Falsify::OtherKey => inner.other_signer.sign(&claims).unwrap(),
        Falsify::AlgNone => {
            let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
            let header = json!({"alg": "none", "typ": "JWT", "kid": inner.signer.key().kid()});
            format!(
                "{}.{}.",
                b64.encode(serde_json::to_vec(&header).unwrap()),
                b64.encode(serde_json::to_vec(&claims).unwrap())
            )
        }
        _ => inner.signer.sign(&claims).unwrap(),
    }
}

async fn userinfo(State(inner): State<Shared>, headers: HeaderMap) -> Response {
    pause(&inner).await;
    let inner = inner.lock().unwrap();
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    if !token.is_some_and(|t| inner.tokens.contains(t)) {
        let mut response = oauth_error(StatusCode::UNAUTHORIZED, "invalid_token", "unknown access token");
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer error=\"invalid_token\""),
        );
        return response;
    }
    let mut claims = serde_json::Map::new();
    claims.insert("sub".into(), json!(inner.subject));
    profile_claims(&inner.profile, &mut claims);
    json_response(StatusCode::OK, &Value::Object(claims))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{basic, request, Response as Answer};
    use tessera_jwt::{Error, Validation};

    const CALLBACK: &str = "http://tessera.test/federation/oidc/callback";

    /// Sends an authorize request for `openid email profile` with PKCE.
    async fn authorize_with(fake: &FakeOidc, client_id: &str, verifier: &str, nonce: &str) -> Answer {
        let challenge = s256(verifier);
        let query = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", CALLBACK),
                ("scope", "openid email profile"),
                ("state", "st-9"),
                ("nonce", nonce),
                ("code_challenge", &challenge),
                ("code_challenge_method", "S256"),
            ])
            .finish();
        request(fake.addr, "GET", &format!("/authorize?{query}"), &[], b"").await
    }

    /// The query of a redirect's location.
    fn redirect_query(r: &Answer) -> HashMap<String, String> {
        assert_eq!(r.status, 302, "{}", String::from_utf8_lossy(&r.body));
        let location = r.header("location").unwrap();
        assert!(location.starts_with(CALLBACK), "{location}");
        parse_pairs(location.split_once('?').unwrap().1.as_bytes())
    }

    /// Exchanges `code` with `client_secret_post`.
    async fn exchange(fake: &FakeOidc, code: &str, verifier: &str) -> Answer {
        let form = form_urlencoded::Serializer::new(String::new())
            .extend_pairs([
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", CALLBACK),
                ("code_verifier", verifier),
                ("client_id", "rp"),
                ("client_secret", "rp-secret"),
            ])
            .finish();
        request(
            fake.addr,
            "POST",
            "/token",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            form.as_bytes(),
        )
        .await
    }

    /// A whole sign-in: the authorization response's query and the token
    /// response.
    async fn sign_in(fake: &FakeOidc, nonce: &str) -> (HashMap<String, String>, Value) {
        let verifier = random_b64(32);
        let query = redirect_query(&authorize_with(fake, "rp", &verifier, nonce).await);
        let r = exchange(fake, &query["code"], &verifier).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        (query, r.json())
    }

    /// Verifies an ID token as a relying party would (without `nonce`,
    /// `azp` and the `iss` parameter, which the caller compares).
    async fn verify(fake: &FakeOidc, id_token: &str) -> Result<Value, Error> {
        let jwks = request(fake.addr, "GET", "/jwks", &[], b"").await;
        let keys = KeySet::from_jwks_json(&jwks.body).unwrap();
        let rules = Validation::new()
            .typ("JWT")
            .issuer(&fake.issuer)
            .audience("rp")
            .require("iat")
            .require("sub");
        keys.verify::<Value>(id_token, &rules, UnixTime::now())
            .map(|v| v.into_claims())
    }

    #[tokio::test]
    async fn discovery_names_its_endpoints() {
        let fake = FakeOidc::start("rp", "rp-secret").await;
        let r = request(fake.addr, "GET", "/.well-known/openid-configuration", &[], b"").await;
        assert_eq!(r.status, 200);
        let doc = r.json();
        assert_eq!(doc["issuer"], fake.issuer.as_str());
        assert_eq!(
            doc["authorization_endpoint"],
            format!("{}/authorize", fake.issuer)
        );
        assert_eq!(doc["token_endpoint"], format!("{}/token", fake.issuer));
        assert_eq!(doc["jwks_uri"], format!("{}/jwks", fake.issuer));
        assert_eq!(doc["userinfo_endpoint"], format!("{}/userinfo", fake.issuer));
        assert_eq!(doc["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(doc["id_token_signing_alg_values_supported"], json!(["ES256"]));
        assert_eq!(doc["authorization_response_iss_parameter_supported"], true);
    }

    #[tokio::test]
    async fn authorize_redirects_with_code_state_and_iss() {
        let fake = FakeOidc::start("rp", "rp-secret").await;
        let query = redirect_query(&authorize_with(&fake, "rp", "verifier-1", "n-1").await);
        assert!(!query["code"].is_empty());
        assert_eq!(query["state"], "st-9");
        assert_eq!(query["iss"], fake.issuer);
        let seen = fake.authorize_requests();
        assert_eq!(seen.len(), 1);
        assert_eq!(seen[0]["nonce"], "n-1");
        assert_eq!(seen[0]["code_challenge"], s256("verifier-1"));
        assert_eq!(seen[0]["code_challenge_method"], "S256");

        let unknown = authorize_with(&fake, "stranger", "v", "n").await;
        assert_eq!(unknown.status, 400);
        assert!(unknown.header("location").is_none());

        let no_pkce = request(
            fake.addr,
            "GET",
            "/authorize?response_type=code&client_id=rp&scope=openid&state=s&redirect_uri=http%3A%2F%2Ftessera.test%2Ffederation%2Foidc%2Fcallback",
            &[],
            b"",
        )
        .await;
        let error = redirect_query(&no_pkce);
        assert_eq!(error["error"], "invalid_request");
        assert_eq!(error["state"], "s");
        assert_eq!(error["iss"], fake.issuer);
    }

    #[tokio::test]
    async fn token_endpoint_refuses_a_wrong_verifier_a_reused_code_and_a_wrong_secret() {
        let fake = FakeOidc::start("rp", "rp-secret").await;
        let verifier = random_b64(32);
        let code = redirect_query(&authorize_with(&fake, "rp", &verifier, "n").await)["code"].clone();

        let wrong = exchange(&fake, &code, &random_b64(32)).await;
        assert_eq!(wrong.status, 400);
        assert_eq!(wrong.json()["error"], "invalid_grant");

        let form = format!(
            "grant_type=authorization_code&code={code}&redirect_uri={}&code_verifier={verifier}",
            form_urlencoded::byte_serialize(CALLBACK.as_bytes()).collect::<String>()
        );
        let content_type = ("Content-Type", "application/x-www-form-urlencoded");
        let bad_secret = basic("rp", "nope");
        let r = request(
            fake.addr,
            "POST",
            "/token",
            &[content_type, ("Authorization", &bad_secret)],
            form.as_bytes(),
        )
        .await;
        assert_eq!(r.status, 401);
        assert_eq!(r.json()["error"], "invalid_client");

        let good = basic("rp", "rp-secret");
        let r = request(
            fake.addr,
            "POST",
            "/token",
            &[content_type, ("Authorization", &good)],
            form.as_bytes(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let body = r.json();
        assert_eq!(body["token_type"], "Bearer");
        assert_eq!(body["expires_in"], 300);
        assert!(body["id_token"].is_string());

        let again = exchange(&fake, &code, &verifier).await;
        assert_eq!(again.status, 400);
        assert_eq!(again.json()["error"], "invalid_grant");
    }

    #[tokio::test]
    async fn id_token_verifies_against_the_jwks_and_carries_the_profile() {
        let fake = FakeOidc::start("rp", "rp-secret").await;
        fake.set_subject("u-77");
        fake.set_profile(
            Some("bob@example.com"),
            false,
            Some("Bob"),
            Some("bob"),
            &["admins", "devs"],
        );
        let (_, body) = sign_in(&fake, "nonce-abc").await;
        let id_token = body["id_token"].as_str().unwrap();
        let unverified = tessera_jwt::danger::decode_unverified(id_token, 16 * 1024).unwrap();
        assert_eq!(
            unverified.header,
            json!({"alg": "ES256", "typ": "JWT", "kid": fake.kid()})
        );
        let claims = verify(&fake, id_token).await.unwrap();
        assert_eq!(claims["sub"], "u-77");
        assert_eq!(claims["aud"], "rp");
        assert_eq!(claims["azp"], "rp");
        assert_eq!(claims["nonce"], "nonce-abc");
        assert_eq!(claims["email"], "bob@example.com");
        assert_eq!(claims["email_verified"], false);
        assert_eq!(claims["name"], "Bob");
        assert_eq!(claims["preferred_username"], "bob");
        assert_eq!(claims["groups"], json!(["admins", "devs"]));
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            300
        );
        assert!(claims["auth_time"].as_i64().unwrap() <= claims["iat"].as_i64().unwrap());

        let access = format!("Bearer {}", body["access_token"].as_str().unwrap());
        let info = request(fake.addr, "GET", "/userinfo", &[("Authorization", &access)], b"").await;
        assert_eq!(info.status, 200);
        assert_eq!(info.json()["sub"], "u-77");
        let refused = request(
            fake.addr,
            "GET",
            "/userinfo",
            &[("Authorization", "Bearer x")],
            b"",
        )
        .await;
        assert_eq!(refused.status, 401);
    }

    #[tokio::test]
    async fn amr_is_absent_until_set() {
        let fake = FakeOidc::start("rp", "rp-secret").await;
        let (_, body) = sign_in(&fake, "n").await;
        let claims = verify(&fake, body["id_token"].as_str().unwrap()).await.unwrap();
        assert!(claims.get("amr").is_none(), "{claims}");
        fake.set_amr(Some(&["pwd", "mfa"]));
        let (_, body) = sign_in(&fake, "n").await;
        let claims = verify(&fake, body["id_token"].as_str().unwrap()).await.unwrap();
        assert_eq!(claims["amr"], json!(["pwd", "mfa"]));
        fake.set_amr(None);
        let (_, body) = sign_in(&fake, "n").await;
        let claims = verify(&fake, body["id_token"].as_str().unwrap()).await.unwrap();
        assert!(claims.get("amr").is_none(), "{claims}");
    }

    #[tokio::test]
    async fn other_key_and_alg_none_do_not_verify() {
        let fake = FakeOidc::start("rp", "rp-secret").await;
        fake.set_falsify(Falsify::OtherKey);
        let (_, body) = sign_in(&fake, "n").await;
        let forged = body["id_token"].as_str().unwrap();
        let unverified = tessera_jwt::danger::decode_unverified(forged, 16 * 1024).unwrap();
        assert_eq!(unverified.header["kid"], fake.kid());
        assert!(matches!(
            verify(&fake, forged).await,
            Err(Error::InvalidSignature)
        ));

        fake.set_falsify(Falsify::AlgNone);
        let (_, body) = sign_in(&fake, "n").await;
        let unsigned = body["id_token"].as_str().unwrap();
        assert!(unsigned.ends_with('.'));
        assert!(verify(&fake, unsigned).await.is_err());
    }

    #[tokio::test]
    async fn each_falsification_breaks_one_thing() {
        let fake = FakeOidc::start("rp", "rp-secret").await;
        for falsify in [
            Falsify::Nonce,
            Falsify::Audience,
            Falsify::Azp,
            Falsify::IssClaim,
            Falsify::IssParameter,
            Falsify::OmitIssParameter,
            Falsify::Expired,
            Falsify::IssuedInFuture,
        ] {
            fake.set_falsify(falsify);
            let (query, body) = sign_in(&fake, "the-nonce").await;
            let verified = verify(&fake, body["id_token"].as_str().unwrap()).await;
            let iss_param = query.get("iss").map(String::as_str);
            match falsify {
                Falsify::Audience => assert!(matches!(verified, Err(Error::InvalidAudience { .. }))),
                Falsify::IssClaim => assert!(matches!(verified, Err(Error::InvalidIssuer { .. }))),
                Falsify::Expired => assert!(matches!(verified, Err(Error::Expired { .. }))),
                Falsify::IssuedInFuture => assert!(matches!(verified, Err(Error::IssuedInFuture { .. }))),
                _ => {
                    let claims = verified.unwrap();
                    let nonce_ok = claims["nonce"] == "the-nonce";
                    let azp_ok = claims["azp"] == "rp";
                    let iss_ok = iss_param == Some(fake.issuer.as_str());
                    assert_eq!(nonce_ok, falsify != Falsify::Nonce, "{falsify:?}");
                    assert_eq!(azp_ok, falsify != Falsify::Azp, "{falsify:?}");
                    assert_eq!(
                        iss_ok,
                        !matches!(falsify, Falsify::IssParameter | Falsify::OmitIssParameter),
                        "{falsify:?}"
                    );
                }
            }
            if falsify == Falsify::OmitIssParameter {
                assert!(iss_param.is_none());
            }
        }
    }

    #[tokio::test]
    async fn knobs_make_it_answer_nonsense_slowly_then_go_down() {
        let fake = FakeOidc::start("rp", "rp-secret").await;
        fake.set_token_status(500);
        let r = exchange(&fake, "any", "v").await;
        assert_eq!(r.status, 500);
        assert!(serde_json::from_slice::<Value>(&r.body).is_err());

        fake.set_delay(Duration::from_millis(60));
        let started = std::time::Instant::now();
        let r = request(fake.addr, "GET", "/jwks", &[], b"").await;
        assert_eq!(r.status, 200);
        assert!(started.elapsed() >= Duration::from_millis(60));

        let addr = fake.addr;
        fake.stop().await;
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
