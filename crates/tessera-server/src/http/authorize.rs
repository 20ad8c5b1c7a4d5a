//! The browser side of the authorization code flow: `/authorize` (GET and
//! POST, OpenID Connect Core §3.1.2.1), the sign-in, sign-up and consent
//! forms. The rules live in `oauth/`: the request's checks in
//! [`crate::oauth::authorize`], the interaction record and its binding to
//! the browser in [`crate::oauth::interaction`], what comes next in
//! [`crate::oauth::interaction::policy`], and the code in
//! [`crate::oauth::code`]. Each handler here reads the form, resumes the
//! interaction, does its one step, and renders what the policy decides.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use tessera_jwt::UnixTime;
use zeroize::Zeroizing;

use super::browser::{self, busy, internal, page, see_other};
use super::client_ip::ClientIp;
use super::AppState;
use crate::oauth::authorize::{self, AuthorizationRequest, Refusal};
use crate::oauth::client_auth::hash_secret;
use crate::oauth::interaction::policy::{self, Decision, Method, RequestView, SessionView, Snapshot};
use crate::oauth::interaction::{self, ResumeError};
use crate::oauth::{code, first_party, sign_in, OAuthError, Params};
use crate::store::{ConsentStore, Interaction, InteractionStore, Session, SessionStore, UserStore};
use crate::ui;

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
    match browser::form_body(&headers, &body) {
        Ok(body) => start(&state, &headers, body).await,
        Err(message) => page(StatusCode::BAD_REQUEST, ui::error(message), &[]),
    }
}

/// One interaction in one browser, as a step sees it.
struct Flow {
    /// The interaction's id (the forms carry it).
    id: String,
    /// The browser's binding secret (the forms' CSRF tokens derive from it).
    binding: String,
    /// Who signed in during this interaction.
    signed_in_here: Option<String>,
    /// Whether consent was given during this interaction.
    consented_here: bool,
    /// Cookies to set on whatever the step answers.
    set_cookies: Vec<String>,
}

impl Flow {
    fn csrf(&self) -> String {
        interaction::csrf_token(&self.binding, &self.id)
    }
}

/// A new interaction: the request is checked once, stored, and bound to
/// this browser; then the policy decides the first page.
async fn start(state: &AppState, headers: &HeaderMap, raw: &str) -> Response {
    let now = UnixTime::now().as_secs();
    let request = match check_request(state, raw, now).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let (binding, set) = match browser::binding(state, headers) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    let id = match interaction::begin(&state.store, raw, &request.client.id, &binding, now).await {
        Ok(id) => id,
        Err(e) => return internal(&e),
    };
    let flow = Flow {
        id,
        binding,
        signed_in_here: None,
        consented_here: false,
        set_cookies: set.into_iter().collect(),
    };
    step(state, headers, flow, &request, None).await
}

/// The request stored with an interaction, or given to `/authorize`,
/// checked against the client's registration as it is now.
async fn check_request(state: &AppState, raw: &str, now: i64) -> Result<AuthorizationRequest, Response> {
    authorize::check(
        &state.store,
        &state.keys().verify,
        &state.issuer,
        raw.as_bytes(),
        now,
    )
    .await
    .map_err(|refusal| match refusal {
        Refusal::Page(message) => page(StatusCode::BAD_REQUEST, ui::error(&message), &[]),
        Refusal::Redirect(redirect) => see_other(&redirect.url(&state.issuer)),
    })
}

/// A form step's interaction: alive, started by this browser, and the
/// form's CSRF token its own. With its request checked again.
async fn resume(
    state: &AppState,
    headers: &HeaderMap,
    form: &Params,
    now: i64,
) -> Result<(Flow, Interaction, AuthorizationRequest), Response> {
    let id = form.get("interaction").unwrap_or("");
    let binding = browser::existing_binding(state, headers).map_err(|r| *r)?;
    let record = interaction::resume(&state.store, id, binding, form.get("csrf").unwrap_or(""), now)
        .await
        .map_err(|e| resume_refused(&e))?;
    let request = check_request(state, &record.request, now).await?;
    let flow = Flow {
        id: id.to_owned(),
        binding: binding.unwrap_or_default().to_owned(),
        signed_in_here: record.user_id.clone(),
        consented_here: record.consented,
        set_cookies: Vec::new(),
    };
    Ok((flow, record, request))
}

fn resume_refused(e: &ResumeError) -> Response {
    match e {
        ResumeError::Gone => page(
            StatusCode::BAD_REQUEST,
            ui::error("This sign-in has expired or was already completed. Go back to the application and start again."),
            &[],
        ),
        ResumeError::NotThisBrowser => {
            tracing::warn!(target: "audit", "sign-in step refused: not this browser's interaction or a bad CSRF token");
            page(
                StatusCode::FORBIDDEN,
                ui::error("This form did not come from this browser's sign-in. Go back to the application and start again."),
                &[],
            )
        }
        ResumeError::Store(e) => internal(&OAuthError::Internal(e.to_string())),
    }
}

/// The SSO session the browser's cookie names, if any.
async fn current_session(
    state: &AppState,
    headers: &HeaderMap,
    now: i64,
) -> Result<Option<Session>, Response> {
    let Some(value) = browser::session_value(state, headers).map_err(|r| *r)? else {
        return Ok(None);
    };
    state
        .store
        .session(&hash_secret(value), now)
        .await
        .map_err(|e| internal(&OAuthError::from(e)))
}

/// Runs the policy on a snapshot of this step and renders its decision.
async fn step(
    state: &AppState,
    headers: &HeaderMap,
    flow: Flow,
    request: &AuthorizationRequest,
    signed_in_now: Option<Session>,
) -> Response {
    let now = UnixTime::now().as_secs();
    let session = match signed_in_now {
        Some(session) => Some(session),
        None => match current_session(state, headers, now).await {
            Ok(session) => session,
            Err(response) => return response,
        },
    };
    let remembered = match &session {
        Some(s) => match state.store.consented_scope(&s.user_id, &request.client.id).await {
            Ok(given) => given,
            Err(e) => return internal(&OAuthError::from(e)),
        },
        None => None,
    };
    let snapshot = Snapshot {
        request: RequestView {
            prompt_none: request.prompt_none,
            prompt_login: request.prompt_login,
            prompt_consent: request.prompt_consent,
            max_age: request.max_age,
            hint_subject: request.hint_subject.as_deref(),
            scope: &request.scope,
            first_party: request.client.first_party,
        },
        session: session.as_ref().map(|s| SessionView {
            user_id: &s.user_id,
            auth_time: s.auth_time,
        }),
        signed_in_here: flow.signed_in_here.as_deref(),
        consented_here: flow.consented_here,
        remembered_consent: remembered.as_deref(),
        now,
    };
    let decision = policy::decide(&snapshot);
    tracing::debug!(?decision, client_id = %request.client.id, "interaction step");
    match decision {
        Decision::SignIn { methods, .. } => {
            debug_assert!(methods.contains(&Method::Password));
            login_page(state, &flow, request, request.login_hint.as_deref(), None)
        }
        Decision::AskConsent { .. } => {
            let Some(session) = session else {
                return login_page(state, &flow, request, None, None);
            };
            let user = match state.store.user(&session.user_id).await {
                Ok(Some(user)) => user,
                Ok(None) => return login_page(state, &flow, request, None, None),
                Err(e) => return internal(&OAuthError::from(e)),
            };
            let html = ui::consent(&ui::Consent {
                client_name: &request.client.name,
                username: &user.username,
                scope: &request.scope,
                interaction: &flow.id,
                csrf: &flow.csrf(),
            });
            page(StatusCode::OK, html, &flow.set_cookies)
        }
        Decision::IssueCode => {
            let Some(session) = session else {
                return login_page(state, &flow, request, None, None);
            };
            // Single use: of two steps finishing at once, one issues.
            match state.store.finish_interaction(&hash_secret(&flow.id)).await {
                Ok(true) => {}
                Ok(false) => return resume_refused(&ResumeError::Gone),
                Err(e) => return internal(&OAuthError::from(e)),
            }
            let subject = code::Subject {
                user_id: &session.user_id,
                auth_time: session.auth_time,
                sid: &session.sid,
                amr: &session.amr,
            };
            match code::issue(&state.store, &state.issuer, request, subject, now).await {
                Ok(url) => with_cookies(see_other(&url), &flow.set_cookies),
                Err(e) => internal(&e),
            }
        }
        Decision::Fail(e) => {
            if let Err(e) = state.store.finish_interaction(&hash_secret(&flow.id)).await {
                return internal(&OAuthError::from(e));
            }
            let url = error_url(state, request, e.code(), e.description());
            with_cookies(see_other(&url), &flow.set_cookies)
        }
    }
}

fn with_cookies(mut response: Response, cookies: &[String]) -> Response {
    for cookie in cookies {
        browser::append_cookie(&mut response, cookie);
    }
    response
}

/// `POST /authorize/login`: the password form.
pub(super) async fn login(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = UnixTime::now().as_secs();
    let form = match browser::form(&headers, &body) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let (flow, _, request) = match resume(&state, &headers, &form, now).await {
        Ok(resumed) => resumed,
        Err(response) => return response,
    };
    let (Some(username), Some(password)) = (form.get("username"), form.get("password")) else {
        return login_page(
            &state,
            &flow,
            &request,
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
            let mut response = login_page(&state, &flow, &request, Some(username), Some(message));
            *response.status_mut() = StatusCode::UNAUTHORIZED;
            return response;
        }
        Err(OAuthError::Busy) => return busy(),
        Err(e) => return internal(&e),
    };
    signed_in(&state, &headers, flow, &request, &user.id, Method::Password, peer).await
}

/// After a sign-in: a new SSO session (a new random id every time, and the
/// browser's earlier one ended, so a planted session cookie is never
/// promoted: no fixation), recorded on the interaction with how it was
/// made; then the policy again.
async fn signed_in(
    state: &AppState,
    headers: &HeaderMap,
    mut flow: Flow,
    request: &AuthorizationRequest,
    user_id: &str,
    method: Method,
    peer: Option<std::net::IpAddr>,
) -> Response {
    let now = UnixTime::now().as_secs();
    if let Ok(Some(old)) = browser::session_value(state, headers) {
        if let Err(e) = state.store.delete_session(&hash_secret(old)).await {
            return internal(&OAuthError::from(e));
        }
    }
    let amr = [method.amr().to_owned()];
    let (session, set) = match new_session(state, user_id, now, peer, &amr).await {
        Ok(made) => made,
        Err(e) => return internal(&e),
    };
    if let Err(e) = state
        .store
        .interaction_authenticated(&hash_secret(&flow.id), user_id, now, &amr)
        .await
    {
        return internal(&OAuthError::from(e));
    }
    if flow.signed_in_here.as_deref() != Some(user_id) {
        flow.consented_here = false;
    }
    flow.signed_in_here = Some(user_id.to_owned());
    flow.set_cookies.push(set);
    step(state, headers, flow, request, Some(session)).await
}

/// A new SSO session for `user_id`, and its cookie.
async fn new_session(
    state: &AppState,
    user_id: &str,
    now: i64,
    peer: Option<std::net::IpAddr>,
    amr: &[String],
) -> Result<(Session, String), OAuthError> {
    let (Some(cookie), Some(sid)) = (crate::random::base64url(32), crate::random::base64url(16)) else {
        return Err(OAuthError::Internal("no randomness".into()));
    };
    let session = Session {
        id_hash: hash_secret(&cookie),
        sid,
        user_id: user_id.to_owned(),
        auth_time: now,
        expires_at: now + browser::SESSION_TTL,
        client_ip: peer.map(|ip| ip.to_string()),
        amr: amr.to_vec(),
    };
    state.store.create_session(&session).await?;
    tracing::info!(target: "audit", user_id, client_ip = ?peer, "session started");
    Ok((
        session,
        browser::session_cookie(state, &cookie, browser::SESSION_TTL),
    ))
}

/// `POST /authorize/consent`: the consent form. Approving records the
/// consent and runs every check again (a consent never stands in for a
/// sign-in that `prompt=login`, `max_age` or `id_token_hint` asks for).
pub(super) async fn consent(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let now = UnixTime::now().as_secs();
    let form = match browser::form(&headers, &body) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let (mut flow, _, request) = match resume(&state, &headers, &form, now).await {
        Ok(resumed) => resumed,
        Err(response) => return response,
    };
    if form.get("decision") != Some("allow") {
        tracing::info!(target: "audit", client_id = %request.client.id, "consent denied");
        if let Err(e) = state.store.finish_interaction(&hash_secret(&flow.id)).await {
            return internal(&OAuthError::from(e));
        }
        return see_other(&error_url(
            &state,
            &request,
            "access_denied",
            "the user denied access",
        ));
    }
    let session = match current_session(&state, &headers, now).await {
        Ok(Some(session)) => session,
        Ok(None) => return login_page(&state, &flow, &request, None, None),
        Err(response) => return response,
    };
    let recorded = async {
        state.store.interaction_consented(&hash_secret(&flow.id)).await?;
        state
            .store
            .record_consent(&session.user_id, &request.client.id, &request.scope, now)
            .await
    };
    if let Err(e) = recorded.await {
        return internal(&OAuthError::from(e));
    }
    tracing::info!(target: "audit", user_id = %session.user_id, client_id = %request.client.id, "consent given");
    flow.consented_here = true;
    step(&state, &headers, flow, &request, Some(session)).await
}

/// `GET /authorize/register?interaction=ID`: the sign-up page, when
/// self-registration is on (404 otherwise, like the JSON API's refusal).
pub(super) async fn register_page(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    if !state.self_registration {
        return registration_off();
    }
    let now = UnixTime::now().as_secs();
    let query = match Params::parse(query.as_deref().unwrap_or("").as_bytes()) {
        Ok(query) => query,
        Err(e) => return page(StatusCode::BAD_REQUEST, ui::error(&e.to_string()), &[]),
    };
    // A link, not a form: the binding cookie alone proves the browser, so
    // the token the form would carry is derived here.
    let id = query.get("interaction").unwrap_or("");
    let csrf = match browser::existing_binding(&state, &headers) {
        Ok(binding) => binding
            .map(|b| interaction::csrf_token(b, id))
            .unwrap_or_default(),
        Err(response) => return *response,
    };
    let params = Params::from_pairs([("interaction", Some(id)), ("csrf", Some(csrf.as_str()))]);
    match resume(&state, &headers, &params, now).await {
        Ok((flow, _, request)) => register_form(&flow, &request, None, None, None),
        Err(response) => response,
    }
}

/// `POST /authorize/register`: creates the user (the same rules as
/// `POST /api/v1/users`), signs them in, and goes on with the interaction.
pub(super) async fn register(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    if !state.self_registration {
        return registration_off();
    }
    let now = UnixTime::now().as_secs();
    let form = match browser::form(&headers, &body) {
        Ok(form) => form,
        Err(response) => return *response,
    };
    let (flow, _, request) = match resume(&state, &headers, &form, now).await {
        Ok(resumed) => resumed,
        Err(response) => return response,
    };
    let username = form.get("username").unwrap_or("");
    let email = form.get("email");
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
            let mut response = register_form(&flow, &request, Some(username), email, Some(&message));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
    };
    signed_in(&state, &headers, flow, &request, &user.id, Method::Password, peer).await
}

fn registration_off() -> Response {
    page(
        StatusCode::NOT_FOUND,
        ui::error("Sign-up is not enabled on this server."),
        &[],
    )
}

fn register_form(
    flow: &Flow,
    request: &AuthorizationRequest,
    username: Option<&str>,
    email: Option<&str>,
    error: Option<&str>,
) -> Response {
    let html = ui::register(&ui::Register {
        client_name: &request.client.name,
        interaction: &flow.id,
        csrf: &flow.csrf(),
        username,
        email,
        error,
    });
    page(StatusCode::OK, html, &flow.set_cookies)
}

fn login_page(
    state: &AppState,
    flow: &Flow,
    request: &AuthorizationRequest,
    username: Option<&str>,
    error: Option<&str>,
) -> Response {
    let register_url = state.self_registration.then(|| {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("interaction", &flow.id)
            .finish();
        format!("/authorize/register?{query}")
    });
    let html = ui::login(&ui::Login {
        client_name: &request.client.name,
        interaction: &flow.id,
        csrf: &flow.csrf(),
        username,
        error,
        register_url: register_url.as_deref(),
    });
    page(StatusCode::OK, html, &flow.set_cookies)
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
