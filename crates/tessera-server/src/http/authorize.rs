//! The browser side of the authorization code flow: `/authorize` (GET and
//! POST, OpenID Connect Core §3.1.2.1), the login form and the consent
//! form. The protocol checks live in [`crate::oauth::authorize`]; this
//! module decides which page comes next, and keeps the browser state:
//!
//! - the SSO session cookie (`HttpOnly`, `SameSite=Lax` so a second app's
//!   redirect carries it, `Secure` when the issuer is https); the store
//!   keeps only its SHA-256;
//! - a CSRF cookie (`SameSite=Strict`) whose value every form repeats,
//!   compared in constant time (double submit);
//! - 303 after every form POST, never 307, so a password is never re-posted
//!   to the client (RFC 9700 §4.12).
//!
//! Pages carry the original authorization request in a hidden field and
//! check it again on every POST: nothing about the request is trusted from
//! the form that was not checked again.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_jwt::UnixTime;
use zeroize::Zeroizing;

use super::client_ip::ClientIp;
use super::{content_type_is, cookie, AppState};
use crate::oauth::authorize::{self, AuthorizationRequest, Refusal, CODE_TTL};
use crate::oauth::client_auth::hash_secret;
use crate::oauth::{first_party, scope, sign_in, OAuthError, Params};
use crate::store::{AuthorizationCode, CodeStore, ConsentStore, Session, SessionStore, UserStore};
use crate::ui;

/// The SSO session cookie.
pub(super) const SESSION_COOKIE: &str = "tessera_session";
/// The CSRF cookie the forms repeat.
const CSRF_COOKIE: &str = "tessera_csrf";
/// How long a sign-in lasts (Keycloak's default SSO maximum is 10 hours).
pub const SESSION_TTL: i64 = 10 * 3600;

/// `GET /authorize`: the request is the query string.
pub(super) async fn get(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    start(&state, &headers, query.as_deref().unwrap_or("")).await
}

/// `POST /authorize`: the request is a form body (OpenID Connect Core
/// §3.1.2.1: "MUST support the use of the HTTP GET and POST methods").
pub(super) async fn post(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match form_body(&headers, &body) {
        Ok(body) => start(&state, &headers, body).await,
        Err(message) => page(StatusCode::BAD_REQUEST, ui::error(message), None),
    }
}

/// `POST /authorize/login`: the login form.
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (form, request) = match flow_form(&state, &headers, &body).await {
        Ok(checked) => checked,
        Err(response) => return *response,
    };
    let raw = form.get("authorization").unwrap_or("");
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return login_page(
            &state,
            &headers,
            &request,
            raw,
            None,
            Some("Enter your username and password."),
        );
    };
    let keys = state.keys();
    let ctx = state.issue(&keys, peer);
    let password = Zeroizing::new(password.to_owned());
    let user = match sign_in::check_password(&state.store, &ctx, username, password, &request.client.id).await
    {
        Ok(user) => user,
        Err(e @ (OAuthError::BadCredentials | OAuthError::TooManyAttempts)) => {
            // One text for an unknown user, a wrong password and a locked
            // account, so the page reveals neither (see `sign_in`).
            let message = match e {
                OAuthError::TooManyAttempts => {
                    "Too many failed sign-ins from your network. Wait a few minutes and try again."
                }
                _ => "Wrong username or password. After repeated failures, sign-in pauses for a few minutes.",
            };
            let mut response = login_page(&state, &headers, &request, raw, Some(username), Some(message));
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            return response;
        }
        Err(OAuthError::Busy) => return busy(),
        Err(e) => return internal(&e),
    };
    // A new session on every login (no fixation of an earlier cookie).
    let (session, set) = match new_session(&state, &user.id, ctx.now, peer).await {
        Ok(made) => made,
        Err(e) => return internal(&e),
    };
    let mut response = proceed(&state, &headers, request, raw, Step::SignedIn(session)).await;
    append_cookie(&mut response, &set);
    response
}

/// `GET /authorize/register`: the sign-up page, when self-registration is
/// on (404 otherwise, like the JSON API's refusal).
pub(super) async fn register_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if !state.self_registration {
        return page(
            StatusCode::NOT_FOUND,
            ui::error("Sign-up is not enabled on this server."),
            None,
        );
    }
    let raw = form_urlencoded::parse(query.as_deref().unwrap_or("").as_bytes())
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let request = match check_request(&state, &raw).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    register_form(&state, &headers, &request, &raw, None, None, None)
}

/// `POST /authorize/register`: creates the user (the same rules as
/// `POST /api/v1/users`), signs them in, and goes on with the flow.
pub(super) async fn register(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !state.self_registration {
        return page(
            StatusCode::NOT_FOUND,
            ui::error("Sign-up is not enabled on this server."),
            None,
        );
    }
    let (form, request) = match flow_form(&state, &headers, &body).await {
        Ok(checked) => checked,
        Err(response) => return *response,
    };
    let raw = form.get("authorization").unwrap_or("");
    let username = form.get("username").unwrap_or("");
    let email = form.get("email");
    let now = UnixTime::now().as_secs();
    let created = first_party::register(
        &state.store,
        true,
        now,
        peer,
        first_party::RegisterRequest {
            username: username.to_owned(),
            password: form.get("password").unwrap_or("").to_owned(),
            email: email.map(str::to_owned),
            name: None,
        },
    )
    .await;
    let user = match created {
        Ok(user) => user,
        Err(
            e @ (OAuthError::Store(_)
            | OAuthError::Internal(_)
            | OAuthError::Signing(_)
            | OAuthError::Password(_)),
        ) => return internal(&e),
        Err(OAuthError::Busy) => return busy(),
        Err(e) => {
            // The rule that was broken, without the JSON API's framing.
            let message = match e {
                OAuthError::MalformedJson(rule) => rule.to_owned(),
                other => other.to_string(),
            };
            let mut response = register_form(
                &state,
                &headers,
                &request,
                raw,
                Some(username),
                email,
                Some(&message),
            );
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
    };
    match new_session(&state, &user.id, now, peer).await {
        Ok((session, set)) => {
            let mut response = proceed(&state, &headers, request, raw, Step::SignedIn(session)).await;
            append_cookie(&mut response, &set);
            response
        }
        Err(e) => internal(&e),
    }
}

#[allow(clippy::too_many_arguments)]
fn register_form(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthorizationRequest,
    raw: &str,
    username: Option<&str>,
    email: Option<&str>,
    error: Option<&str>,
) -> Response {
    let (csrf, set) = csrf_token(state, headers);
    let html = ui::register(&ui::Register {
        client_name: &request.client.name,
        authorization: raw,
        csrf: &csrf,
        username,
        email,
        error,
    });
    page(StatusCode::OK, html, set)
}

/// A new SSO session for `user_id`, and its cookie.
async fn new_session(
    state: &AppState,
    user_id: &str,
    now: i64,
    peer: Option<std::net::IpAddr>,
) -> Result<(Session, String), OAuthError> {
    let (Some(cookie), Some(sid)) = (crate::random::base64url(32), crate::random::base64url(16)) else {
        return Err(OAuthError::Internal("no randomness".into()));
    };
    let session = Session {
        id_hash: hash_secret(&cookie),
        sid,
        user_id: user_id.to_owned(),
        auth_time: now,
        expires_at: now + SESSION_TTL,
        client_ip: peer.map(|ip| ip.to_string()),
    };
    state.store.create_session(&session).await?;
    tracing::info!(target: "audit", user_id, client_ip = ?peer, "session started");
    Ok((session, session_cookie(state, &cookie, SESSION_TTL)))
}

/// `POST /authorize/consent`: the consent form.
pub(super) async fn consent(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let (form, request) = match flow_form(&state, &headers, &body).await {
        Ok(checked) => checked,
        Err(response) => return *response,
    };
    let raw = form.get("authorization").unwrap_or("");
    match form.get("decision") {
        Some("allow") => proceed(&state, &headers, request, raw, Step::Consented).await,
        _ => {
            tracing::info!(target: "audit", client_id = %request.client.id, "consent denied");
            see_other(&error_url(
                &state,
                &request,
                "access_denied",
                "the user denied access",
            ))
        }
    }
}

/// Where the flow is.
enum Step {
    /// A fresh request.
    Start,
    /// The login form just succeeded.
    SignedIn(Session),
    /// The consent form said yes.
    Consented,
}

async fn start(state: &AppState, headers: &HeaderMap, raw: &str) -> Response {
    match check_request(state, raw).await {
        Ok(request) => proceed(state, headers, request, raw, Step::Start).await,
        Err(response) => response,
    }
}

/// The authorization request, checked (again); the refusal's response.
async fn check_request(state: &AppState, raw: &str) -> Result<AuthorizationRequest, Response> {
    let now = UnixTime::now().as_secs();
    authorize::check(
        &state.store,
        &state.keys().verify,
        &state.issuer,
        raw.as_bytes(),
        now,
    )
    .await
    .map_err(|refusal| refused(state, refusal))
}

/// A flow form's fields (content type and CSRF checked) and its
/// authorization request, checked again.
async fn flow_form(
    state: &AppState,
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<(Params, AuthorizationRequest), Box<Response>> {
    let form = checked_form(headers, body)?;
    let request = check_request(state, form.get("authorization").unwrap_or(""))
        .await
        .map_err(Box::new)?;
    Ok((form, request))
}

/// Decides what comes next: the login page, the consent page, or the code.
/// OpenID Connect Core §3.1.2.3: `prompt=login` and an exceeded `max_age`
/// require a new login; `prompt=none` turns any page into
/// `login_required` or `consent_required` (§3.1.2.6).
async fn proceed(
    state: &AppState,
    headers: &HeaderMap,
    request: AuthorizationRequest,
    raw: &str,
    step: Step,
) -> Response {
    let now = UnixTime::now().as_secs();
    let (session, signed_in_now, consented) = match step {
        Step::SignedIn(session) => (Some(session), true, false),
        Step::Start | Step::Consented => {
            let found = match cookie(headers, SESSION_COOKIE) {
                Some(value) => match state.store.session(&hash_secret(value), now).await {
                    Ok(found) => found,
                    Err(e) => return internal(&OAuthError::from(e)),
                },
                None => None,
            };
            (found, false, matches!(step, Step::Consented))
        }
    };
    // A login or consent POST of this flow has passed these checks already.
    let checked = signed_in_now || consented;
    // `max_age=0` is `prompt=login` (OpenID Connect Core §3.1.2.1).
    let fresh = session
        .filter(|s| checked || request.max_age.is_none_or(|max| now - s.auth_time < max))
        .filter(|s| checked || request.hint_subject.as_ref().is_none_or(|sub| *sub == s.user_id));
    let must_log_in = fresh.is_none() || (request.prompt_login && !checked);
    let session = match fresh {
        Some(session) if !must_log_in => session,
        _ if request.prompt_none => {
            return see_other(&error_url(
                state,
                &request,
                "login_required",
                "the user is not signed in",
            ))
        }
        _ => return login_page(state, headers, &request, raw, request.login_hint.as_deref(), None),
    };
    let user = match state.store.user(&session.user_id).await {
        Ok(Some(user)) => user,
        Ok(None) => return login_page(state, headers, &request, raw, None, None),
        Err(e) => return internal(&OAuthError::from(e)),
    };
    // A consent given before covers the same or fewer scopes (OpenID
    // Connect Core §3.1.2.4); `prompt=consent` asks again.
    if consented {
        if let Err(e) = state
            .store
            .record_consent(&user.id, &request.client.id, &request.scope, now)
            .await
        {
            return internal(&OAuthError::from(e));
        }
    }
    let remembered = if consented || request.client.first_party || request.prompt_consent {
        false
    } else {
        match state.store.consented_scope(&user.id, &request.client.id).await {
            Ok(Some(given)) => request
                .scope
                .split(' ')
                .filter(|s| !s.is_empty())
                .all(|s| scope::has(&given, s)),
            Ok(None) => false,
            Err(e) => return internal(&OAuthError::from(e)),
        }
    };
    let must_consent = (!request.client.first_party || request.prompt_consent) && !consented && !remembered;
    if must_consent {
        if request.prompt_none {
            return see_other(&error_url(
                state,
                &request,
                "consent_required",
                "the user has not consented",
            ));
        }
        let (csrf, set) = csrf_token(state, headers);
        let html = ui::consent(&ui::Consent {
            client_name: &request.client.name,
            username: &user.username,
            scope: &request.scope,
            authorization: raw,
            csrf: &csrf,
        });
        return page(StatusCode::OK, html, set);
    }
    // RFC 6749 §4.1.2: the code, bound to everything the token request
    // must match.
    let Some(code) = crate::random::base64url(32) else {
        return internal(&OAuthError::Internal("no randomness".into()));
    };
    let stored = AuthorizationCode {
        code_hash: hash_secret(&code),
        client_id: request.client.id.clone(),
        user_id: user.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time: session.auth_time,
        sid: session.sid.clone(),
        expires_at: now + CODE_TTL,
    };
    if let Err(e) = state.store.insert_code(&stored).await {
        return internal(&OAuthError::from(e));
    }
    tracing::info!(target: "audit", user_id = %user.id, client_id = %request.client.id, "authorization code issued");
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        params.push(("state", s));
    }
    params.push(("iss", &state.issuer));
    see_other(&authorize::redirect_url(&request.redirect_uri, &params))
}

fn error_url(
    state: &AppState,
    request: &AuthorizationRequest,
    error: &'static str,
    description: &str,
) -> String {
    authorize::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        error,
        description: description.to_owned(),
        state: request.state.clone(),
    }
    .url(&state.issuer)
}

fn refused(state: &AppState, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(message) => page(StatusCode::BAD_REQUEST, ui::error(&message), None),
        Refusal::Redirect(redirect) => see_other(&redirect.url(&state.issuer)),
    }
}

fn login_page(
    state: &AppState,
    headers: &HeaderMap,
    request: &AuthorizationRequest,
    raw: &str,
    username: Option<&str>,
    error: Option<&str>,
) -> Response {
    let (csrf, set) = csrf_token(state, headers);
    let register_url = state.self_registration.then(|| {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("authorization", raw)
            .finish();
        format!("/authorize/register?{query}")
    });
    let html = ui::login(&ui::Login {
        client_name: &request.client.name,
        authorization: raw,
        csrf: &csrf,
        username,
        error,
        register_url: register_url.as_deref(),
    });
    page(StatusCode::OK, html, set)
}

/// The form of a POST, after its content type and CSRF token are checked.
pub(super) fn checked_form(
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<Params, Box<Response>> {
    let body =
        form_body(headers, body).map_err(|m| Box::new(page(StatusCode::BAD_REQUEST, ui::error(m), None)))?;
    let form = Params::parse(body.as_bytes())
        .map_err(|e| Box::new(page(StatusCode::BAD_REQUEST, ui::error(&e.to_string()), None)))?;
    let expected = cookie(headers, CSRF_COOKIE).unwrap_or("");
    let sent = form.get("csrf").unwrap_or("");
    let same = !expected.is_empty()
        && aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), sent.as_bytes()).is_ok();
    if !same {
        return Err(Box::new(page(
            StatusCode::FORBIDDEN,
            ui::error("This form has expired or did not come from this site. Go back to the application and start again."),
            None,
        )));
    }
    Ok(form)
}

pub(super) fn form_body<'a>(
    headers: &HeaderMap,
    body: &'a Result<Bytes, BytesRejection>,
) -> Result<&'a str, &'static str> {
    if !content_type_is(headers, "application/x-www-form-urlencoded") {
        return Err("the form must be sent as application/x-www-form-urlencoded");
    }
    let body = body.as_ref().map_err(|_| "the form is too large")?;
    std::str::from_utf8(body).map_err(|_| "the form is not valid UTF-8")
}

/// The CSRF token: the cookie's if it has one, else a new one to set.
pub(super) fn csrf_token(state: &AppState, headers: &HeaderMap) -> (String, Option<String>) {
    if let Some(existing) = cookie(headers, CSRF_COOKIE).filter(|v| v.len() == 43) {
        return (existing.to_owned(), None);
    }
    let token = crate::random::base64url(32).unwrap_or_default();
    let secure = secure(state);
    let set = format!("{CSRF_COOKIE}={token}; Path=/; HttpOnly; SameSite=Strict{secure}");
    (token, Some(set))
}

/// `; Secure` on an https issuer; nothing on a plain-http development
/// issuer, where browsers would drop the cookie.
fn secure(state: &AppState) -> &'static str {
    if state.issuer.starts_with("https://") {
        "; Secure"
    } else {
        ""
    }
}

pub(super) fn session_cookie(state: &AppState, value: &str, max_age: i64) -> String {
    let secure = secure(state);
    format!("{SESSION_COOKIE}={value}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax{secure}")
}

pub(super) fn append_cookie(response: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
}

pub(super) fn page(status: StatusCode, html: String, set_cookie: Option<String>) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    for (name, value) in ui::SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if let Some(cookie) = set_cookie {
        append_cookie(&mut response, &cookie);
    }
    response
}

/// RFC 9700 §4.12: 303, so the browser follows with a GET.
pub(super) fn see_other(url: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// Too many password checks are waiting: try again (503, `Retry-After`).
fn busy() -> Response {
    let mut response = page(
        StatusCode::SERVICE_UNAVAILABLE,
        ui::error("The server is busy. Wait a moment and try again."),
        None,
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

fn internal(error: &OAuthError) -> Response {
    tracing::error!("authorization failed: {error}");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        ui::error("The server could not complete the sign-in. Try again."),
        None,
    )
}
