//! The steps of a browser sign-in, as protocol code: each takes what the
//! browser presented (its cookies, a form) and returns what to show or
//! where to send it ([`Answer`]); the HTTP layer only reads requests and
//! renders answers.
//!
//! 1. [`start`]: `/authorize` checks the request ([`super::super::authorize::check`])
//!    and stores it as an interaction bound to this browser.
//! 2. [`password`], [`register`]: a sign-in method succeeded. A new SSO
//!    session is made (a new random id every time; the browser's earlier
//!    session ends, so a planted session cookie is never promoted) and the
//!    interaction records who signed in, when and how (`amr`).
//! 3. [`consent`]: the user approved (remembered per user, client and
//!    scope) or denied.
//!
//! After each step `next` runs the whole [`super::policy`] again on a
//! fresh snapshot and turns its decision into a page, the code
//! ([`crate::oauth::code`]) or an error for the client.

use std::net::IpAddr;

use tessera_jwt::KeySet;
use zeroize::Zeroizing;

use super::policy::{self, Decision, Method, RequestView, SessionView, Snapshot};
use super::{csrf_token, ResumeError};
use crate::oauth::authorize::{self, AuthorizationRequest, AuthorizeError, Redirect, Refusal};
use crate::oauth::client_auth::hash_secret;
use crate::oauth::device::DeviceKey;
use crate::oauth::user_tokens::Issue;
use crate::oauth::{code, first_party, sign_in, OAuthError, Scope};
use crate::store::{
    AttemptStore, ClientStore, CodeStore, ConsentStore, InteractionStore, Session, SessionStore,
    UpstreamStore, UserStore,
};

/// How long an SSO session lasts (Keycloak's default SSO maximum is 10
/// hours).
pub const SESSION_TTL: i64 = 10 * 3600;

/// The stores a sign-in touches.
pub trait FlowStore:
    ClientStore
    + InteractionStore
    + SessionStore
    + ConsentStore
    + UserStore
    + CodeStore
    + AttemptStore
    + UpstreamStore
    + Sync
{
}

impl<S> FlowStore for S where
    S: ClientStore
        + InteractionStore
        + SessionStore
        + ConsentStore
        + UserStore
        + CodeStore
        + AttemptStore
        + UpstreamStore
        + Sync
{
}

/// What a step needs from the server.
pub struct Ctx<'a, S> {
    /// The store.
    pub store: &'a S,
    /// The issuer identifier (`iss` on every answer to the client).
    pub issuer: &'a str,
    /// The keys that verify an `id_token_hint`.
    pub keys: &'a KeySet,
    /// The key of device cookies (see [`crate::oauth::device`]).
    pub devices: &'a DeviceKey,
    /// Now.
    pub now: i64,
}

/// What the browser presented.
#[derive(Clone, Copy, Debug, Default)]
pub struct Browser<'a> {
    /// Its binding secret (cookie), if it has one.
    pub binding: Option<&'a str>,
    /// Its SSO session cookie, if any.
    pub session: Option<&'a str>,
    /// Its address, as resolved for trusted proxies.
    pub peer: Option<IpAddr>,
    /// Its device cookie, if any (see [`crate::oauth::device`]).
    pub device: Option<&'a str>,
}

/// What a form step sent to name its interaction.
#[derive(Clone, Copy, Debug)]
pub struct StepForm<'a> {
    /// The interaction id.
    pub interaction: &'a str,
    /// The CSRF token.
    pub csrf: &'a str,
}

/// The hidden fields of the next form: the interaction and its token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormKeys {
    /// The interaction id.
    pub interaction: String,
    /// The CSRF token for it in this browser.
    pub csrf: String,
    /// The client's redirect URI, where a form of the page may end after
    /// Tessera's 303 (the page's CSP `form-action` names its origin).
    pub redirect_uri: String,
}

/// A page to show.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Screen {
    /// The sign-in page.
    SignIn {
        /// The next form's keys.
        keys: FormKeys,
        /// The client's display name.
        client_name: String,
        /// Pre-filled username (`login_hint`, or the last attempt).
        username: Option<String>,
        /// Why the last attempt failed.
        error: Option<SignInError>,
    },
    /// The sign-up page.
    SignUp {
        /// The next form's keys.
        keys: FormKeys,
        /// The client's display name.
        client_name: String,
        /// What was entered before (not the password).
        username: Option<String>,
        /// The email entered before.
        email: Option<String>,
        /// Which rule the last attempt broke.
        error: Option<String>,
    },
    /// A first sign-in through an upstream provider: prove an existing
    /// account here to link it, or take a new account. Names the upstream
    /// account, so the person sees whose identity they would link.
    Link {
        /// The next form's keys.
        keys: FormKeys,
        /// The client's display name.
        client_name: String,
        /// The provider's label.
        provider: String,
        /// The upstream account's username, as the provider gave it.
        upstream_username: Option<String>,
        /// The upstream account's email, as the provider gave it.
        upstream_email: Option<String>,
        /// Whether a new account may be made instead.
        may_create: bool,
        /// Why the last attempt failed.
        error: Option<SignInError>,
    },
    /// The consent page.
    Consent {
        /// The next form's keys.
        keys: FormKeys,
        /// The client's display name.
        client_name: String,
        /// The signed-in user.
        username: String,
        /// The requested scopes.
        scope: Scope,
    },
}

/// Why a sign-in attempt failed, as the page says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SignInError {
    /// A field is empty.
    Missing,
    /// Unknown user, wrong password or locked account: one answer.
    BadCredentials,
    /// Too many failures from this address.
    TooManyAttempts,
    /// Too many new accounts from this address.
    TooManyRegistrations,
}

/// What to do with the browser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Show a page.
    Show(Screen),
    /// Send it back to the client (a code, or an error for the client).
    ToClient(String),
    /// Send it to an upstream provider to sign in there.
    ToUpstream(String),
}

/// A step's answer, and the cookies it changes.
#[derive(Debug)]
pub struct Answer {
    /// What to do.
    pub outcome: Outcome,
    /// A new binding secret to give the browser.
    pub new_binding: Option<String>,
    /// A new SSO session cookie value to give the browser.
    pub new_session: Option<String>,
    /// A new device cookie value, after a password sign-in.
    pub new_device: Option<String>,
}

/// Why a step cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum FlowError {
    /// The request cannot be trusted or is wrong (a page or a redirect,
    /// as [`Refusal`] says).
    #[error("authorization request refused")]
    Refused(Refusal),
    /// The interaction cannot be resumed.
    #[error(transparent)]
    Resume(#[from] ResumeError),
    /// Self-registration is off.
    #[error("self-registration is disabled")]
    RegistrationOff,
    /// Too many password checks are waiting.
    #[error("the server is busy")]
    Busy,
    /// A sign-in through an upstream provider failed.
    #[error(transparent)]
    Upstream(#[from] crate::oauth::upstream::UpstreamError),
    /// An internal failure.
    #[error(transparent)]
    Internal(OAuthError),
}

impl From<OAuthError> for FlowError {
    fn from(e: OAuthError) -> FlowError {
        match e {
            OAuthError::Busy => FlowError::Busy,
            other => FlowError::Internal(other),
        }
    }
}

impl From<crate::store::StoreError> for FlowError {
    fn from(e: crate::store::StoreError) -> FlowError {
        FlowError::Internal(e.into())
    }
}

/// One interaction in one browser, as a step sees it.
pub(super) struct Flow {
    pub(super) id: String,
    pub(super) binding: String,
    redirect_uri: String,
    signed_in_here: Option<String>,
    consented_here: bool,
    new_binding: Option<String>,
    new_session: Option<String>,
    new_device: Option<String>,
}

impl Flow {
    pub(super) fn keys(&self) -> FormKeys {
        FormKeys {
            interaction: self.id.clone(),
            csrf: csrf_token(&self.binding, &self.id),
            redirect_uri: self.redirect_uri.clone(),
        }
    }

    pub(super) fn answer(self, outcome: Outcome) -> Answer {
        Answer {
            outcome,
            new_binding: self.new_binding,
            new_session: self.new_session,
            new_device: self.new_device,
        }
    }
}

async fn check<S: FlowStore>(ctx: &Ctx<'_, S>, raw: &str) -> Result<AuthorizationRequest, FlowError> {
    authorize::check(ctx.store, ctx.keys, ctx.issuer, raw.as_bytes(), ctx.now)
        .await
        .map_err(FlowError::Refused)
}

/// Step 1: `/authorize` with the request's parameters `raw`.
pub async fn start<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    raw: &str,
    browser: Browser<'_>,
) -> Result<Answer, FlowError> {
    let request = check(ctx, raw).await?;
    let (binding, new_binding) = super::binding_for(browser.binding)?;
    let id = super::begin(ctx.store, raw, &request.client.id, &binding, ctx.now).await?;
    let flow = Flow {
        id,
        binding,
        redirect_uri: request.redirect_uri.clone(),
        signed_in_here: None,
        consented_here: false,
        new_binding,
        new_session: None,
        new_device: None,
    };
    next(ctx, flow, &request, browser, None).await
}

/// A form step's interaction, resumed (see [`super::resume`]), with its
/// request checked again against the client's registration as it is now.
pub(super) async fn resume<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
    form: StepForm<'_>,
) -> Result<(Flow, AuthorizationRequest), FlowError> {
    let record = super::resume(ctx.store, form.interaction, browser.binding, form.csrf, ctx.now).await?;
    let request = check(ctx, &record.request).await?;
    let flow = Flow {
        id: form.interaction.to_owned(),
        binding: browser.binding.unwrap_or_default().to_owned(),
        redirect_uri: request.redirect_uri.clone(),
        signed_in_here: record.user_id.clone(),
        consented_here: record.consented,
        new_binding: None,
        new_session: None,
        new_device: None,
    };
    Ok((flow, request))
}

async fn current_session<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
) -> Result<Option<Session>, FlowError> {
    match browser.session {
        Some(value) => Ok(ctx.store.session(&hash_secret(value), ctx.now).await?),
        None => Ok(None),
    }
}

/// Runs the policy on a snapshot of this step and carries out its
/// decision.
async fn next<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    flow: Flow,
    request: &AuthorizationRequest,
    browser: Browser<'_>,
    signed_in_now: Option<Session>,
) -> Result<Answer, FlowError> {
    let session = match signed_in_now {
        Some(session) => Some(session),
        None => current_session(ctx, browser).await?,
    };
    let remembered = match &session {
        Some(s) => ctx.store.consented_scope(&s.user_id, &request.client.id).await?,
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
        remembered_consent: remembered.as_ref(),
        now: ctx.now,
    };
    let decision = policy::decide(&snapshot);
    tracing::debug!(?decision, client_id = %request.client.id, "interaction step");
    let sign_in_page = |flow: Flow, username: Option<String>| {
        let screen = Screen::SignIn {
            keys: flow.keys(),
            client_name: request.client.name.clone(),
            username,
            error: None,
        };
        flow.answer(Outcome::Show(screen))
    };
    match (decision, session) {
        (Decision::Fail(e), _) => {
            ctx.store.finish_interaction(&hash_secret(&flow.id)).await?;
            let url = to_client(ctx, request, AuthorizeError::Prompt(e));
            Ok(flow.answer(Outcome::ToClient(url)))
        }
        // (The policy asks for a sign-in whenever there is no session.)
        (Decision::SignIn { .. }, _) | (_, None) => Ok(sign_in_page(flow, request.login_hint.clone())),
        (Decision::AskConsent { .. }, Some(session)) => {
            let Some(user) = ctx.store.user(&session.user_id).await? else {
                return Ok(sign_in_page(flow, None));
            };
            let screen = Screen::Consent {
                keys: flow.keys(),
                client_name: request.client.name.clone(),
                username: user.username,
                scope: request.scope.clone(),
            };
            Ok(flow.answer(Outcome::Show(screen)))
        }
        (Decision::IssueCode, Some(session)) => {
            // Single use: of two steps finishing at once, one issues.
            if !ctx.store.finish_interaction(&hash_secret(&flow.id)).await? {
                return Err(ResumeError::Gone.into());
            }
            let subject = code::Subject {
                user_id: &session.user_id,
                auth_time: session.auth_time,
                sid: &session.sid,
                amr: &session.amr,
            };
            let url = code::issue(ctx.store, ctx.issuer, request, subject, ctx.now).await?;
            Ok(flow.answer(Outcome::ToClient(url)))
        }
    }
}

/// An error for the client, on its redirect URI with `state` and `iss`.
fn to_client<S>(ctx: &Ctx<'_, S>, request: &AuthorizationRequest, error: AuthorizeError) -> String {
    Redirect {
        redirect_uri: request.redirect_uri.clone(),
        error,
        state: request.state.clone(),
    }
    .url(ctx.issuer)
}

/// Step 2, by password: the sign-in form.
pub async fn password<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    issue: &Issue<'_>,
    browser: Browser<'_>,
    form: StepForm<'_>,
    username: Option<&str>,
    password: Option<Zeroizing<String>>,
) -> Result<Answer, FlowError> {
    let (flow, request) = resume(ctx, browser, form).await?;
    let failed = |flow: Flow, username: Option<&str>, error: SignInError| {
        let screen = Screen::SignIn {
            keys: flow.keys(),
            client_name: request.client.name.clone(),
            username: username.map(str::to_owned),
            error: Some(error),
        };
        Ok(flow.answer(Outcome::Show(screen)))
    };
    let (Some(username), Some(password)) = (username, password) else {
        return failed(flow, username, SignInError::Missing);
    };
    let device = browser.device.map(|cookie| sign_in::Presented {
        key: ctx.devices,
        cookie,
    });
    let checked =
        sign_in::check_password_from(ctx.store, issue, username, password, &request.client.id, device);
    let user = match checked.await {
        Ok(user) => user,
        Err(OAuthError::BadCredentials) => return failed(flow, Some(username), SignInError::BadCredentials),
        Err(OAuthError::TooManyAttempts) => {
            return failed(flow, Some(username), SignInError::TooManyAttempts)
        }
        Err(e) => return Err(e.into()),
    };
    // This browser is now a known device of the account.
    let mut flow = flow;
    flow.new_device = ctx.devices.issue(&user.id, ctx.now);
    signed_in(ctx, flow, &request, browser, &user.id, &[Method::Password]).await
}

/// After any sign-in method: a new session, recorded on the interaction;
/// then the policy again. `methods` are what the user just proved (an
/// upstream sign-in that also proved a local password is both).
pub(super) async fn signed_in<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    mut flow: Flow,
    request: &AuthorizationRequest,
    browser: Browser<'_>,
    user_id: &str,
    methods: &[Method],
) -> Result<Answer, FlowError> {
    if let Some(old) = browser.session {
        ctx.store.delete_session(&hash_secret(old)).await?;
    }
    let amr: Vec<String> = methods.iter().map(|m| m.amr().to_owned()).collect();
    let (Some(cookie), Some(sid)) = (crate::random::base64url(32), crate::random::base64url(16)) else {
        return Err(FlowError::Internal(OAuthError::Internal("no randomness".into())));
    };
    let session = Session {
        id_hash: hash_secret(&cookie),
        sid,
        user_id: user_id.to_owned(),
        auth_time: ctx.now,
        expires_at: ctx.now + SESSION_TTL,
        client_ip: browser.peer.map(|ip| ip.to_string()),
        amr: amr.clone(),
    };
    ctx.store.create_session(&session).await?;
    tracing::info!(target: "audit", user_id, client_ip = ?browser.peer, "session started");
    ctx.store
        .interaction_authenticated(&hash_secret(&flow.id), user_id, ctx.now, &amr)
        .await?;
    if flow.signed_in_here.as_deref() != Some(user_id) {
        flow.consented_here = false;
    }
    flow.signed_in_here = Some(user_id.to_owned());
    flow.new_session = Some(cookie);
    // The browser's new session from here on, not the cookie it sent.
    let browser = Browser {
        session: None,
        ..browser
    };
    next(ctx, flow, request, browser, Some(session)).await
}

/// Step 3: the consent form. Approving records the consent and runs every
/// check again (a consent never stands in for a sign-in that
/// `prompt=login`, `max_age` or `id_token_hint` asks for).
pub async fn consent<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
    form: StepForm<'_>,
    allow: bool,
) -> Result<Answer, FlowError> {
    let (mut flow, request) = resume(ctx, browser, form).await?;
    if !allow {
        tracing::info!(target: "audit", client_id = %request.client.id, "consent denied");
        ctx.store.finish_interaction(&hash_secret(&flow.id)).await?;
        let url = to_client(ctx, &request, AuthorizeError::AccessDenied);
        return Ok(flow.answer(Outcome::ToClient(url)));
    }
    let Some(session) = current_session(ctx, browser).await? else {
        return next(ctx, flow, &request, browser, None).await;
    };
    ctx.store.interaction_consented(&hash_secret(&flow.id)).await?;
    ctx.store
        .record_consent(&session.user_id, &request.client.id, &request.scope, ctx.now)
        .await?;
    tracing::info!(target: "audit", user_id = %session.user_id, client_id = %request.client.id, "consent given");
    flow.consented_here = true;
    next(ctx, flow, &request, browser, Some(session)).await
}

/// The sign-up page of an interaction (a link, not a form: the binding
/// cookie alone proves the browser).
pub async fn register_page<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
    interaction: &str,
    enabled: bool,
) -> Result<Answer, FlowError> {
    if !enabled {
        return Err(FlowError::RegistrationOff);
    }
    let csrf = browser
        .binding
        .map(|b| csrf_token(b, interaction))
        .unwrap_or_default();
    let form = StepForm {
        interaction,
        csrf: &csrf,
    };
    let (flow, request) = resume(ctx, browser, form).await?;
    let screen = Screen::SignUp {
        keys: flow.keys(),
        client_name: request.client.name.clone(),
        username: None,
        email: None,
        error: None,
    };
    Ok(flow.answer(Outcome::Show(screen)))
}

/// What the sign-up page says when the email is another account's.
const EMAIL_TAKEN: &str = "that email cannot be used for a new account: sign in instead, or use another";

/// Step 2, by sign-up: creates the user (the rules of
/// `POST /api/v1/users`) and signs them in.
pub async fn register<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
    form: StepForm<'_>,
    enabled: bool,
    new_user: first_party::RegisterRequest,
) -> Result<Answer, FlowError> {
    if !enabled {
        return Err(FlowError::RegistrationOff);
    }
    let (flow, request) = resume(ctx, browser, form).await?;
    let (username, email) = (new_user.username.clone(), new_user.email.clone());
    let user = match first_party::register(ctx.store, true, ctx.now, browser.peer, new_user).await {
        Ok(first_party::Registered::Created(user)) => user,
        // Signing in would tell; so does this page, at the registration
        // rate, like a taken username (see SECURITY.md).
        Ok(first_party::Registered::EmailTaken { .. }) => {
            let screen = Screen::SignUp {
                keys: flow.keys(),
                client_name: request.client.name.clone(),
                username: Some(username),
                email,
                error: Some(EMAIL_TAKEN.to_owned()),
            };
            return Ok(flow.answer(Outcome::Show(screen)));
        }
        Err(
            e @ (OAuthError::Store(_)
            | OAuthError::Internal(_)
            | OAuthError::Signing(_)
            | OAuthError::Password(_)),
        ) => return Err(FlowError::Internal(e)),
        Err(OAuthError::Busy) => return Err(FlowError::Busy),
        Err(e) => {
            // The rule that was broken, without the JSON API's framing.
            let message = match e {
                OAuthError::MalformedJson(rule) => rule.to_owned(),
                other => other.to_string(),
            };
            let screen = Screen::SignUp {
                keys: flow.keys(),
                client_name: request.client.name.clone(),
                username: Some(username),
                email,
                error: Some(message),
            };
            return Ok(flow.answer(Outcome::Show(screen)));
        }
    };
    signed_in(ctx, flow, &request, browser, &user.id, &[Method::Password]).await
}
