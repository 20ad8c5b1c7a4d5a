//! The steps of a browser sign-in, as protocol code: each takes what the
//! browser presented (its cookies, a form) and returns what to show or
//! where to send it ([`Answer`]); the HTTP layer only reads requests and
//! renders answers.
//!
//! 1. [`start`]: `/authorize` checks the request ([`super::super::authorize::check`])
//!    and stores it as an interaction bound to this browser.
//! 2. [`password`], [`register`] (and the upstream steps): a sign-in
//!    method was proven. The interaction records it ([`Proofs`]: who, which
//!    method, when); nothing else changes yet. For an account with a
//!    second factor ([`Requirement::TwoFactors`]) that is not enough: the
//!    page asks for a one-time code, and [`otp`] proves it.
//! 3. When the policy finds the proofs enough
//!    ([`Decision::StartSession`]), `start_session` makes the SSO session:
//!    the one place a session is made (a new random id every time; the
//!    browser's earlier session ends, so a planted session cookie is never
//!    promoted), its `auth_time` and `amr` derived from the proofs.
//! 4. [`consent`]: the user approved (remembered per user, client and
//!    scope) or denied.
//!
//! A step-up ([`LoginCheck::StepUp`]: the request, the client or the user
//! asks for two factors and the session's second factor is missing or
//! older than [`Ctx::second_factor_max_age`]) makes the session's first
//! factors this interaction's proofs, so the page asks only for the
//! one-time code of the session's user, and [`otp`] completes them into a
//! new session. A user without a second factor enrolls an authenticator
//! app inside the sign-in instead ([`super::enroll`]): the policy is told
//! `can_enroll: true`, and the recovery codes are shown before any code
//! is issued.
//!
//! After each step `next` runs the whole [`super::policy`] again on a
//! fresh snapshot and turns its decision into a page, the code
//! ([`crate::oauth::code`]) or an error for the client.

use std::net::IpAddr;

use crate::audit::{self, Actor, AuditKind, Event};

use tessera_jwt::KeySet;
use zeroize::Zeroizing;

use super::policy::{
    self, Decision, LoginCheck, Method, ProvenHere, RequestView, Requirement, SessionView, Snapshot,
};
use super::{csrf_token, Origin, ResumeError, StepProof};
use crate::domain::{Approval, Proofs, Provenance, RequestedAcr};
use crate::identity::{factors, passkeys};
use crate::keys::MasterKey;
use crate::oauth::authorize::{self, AuthorizationRequest, AuthorizeError, Redirect, Refusal, Unkept};
use crate::oauth::client_auth::hash_secret;
use crate::oauth::device::DeviceKey;
use crate::oauth::user_tokens::Issue;
use crate::oauth::{code, first_party, sign_in, OAuthError, Scope};
use crate::store::{
    AttemptStore, ClientStore, CodeStore, ConsentStore, EmailTokenStore, FactorStore, InteractionStore,
    PushedRequestStore, ResourceStore, Session, SessionStore, UpstreamStore, UserStore,
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
    + PushedRequestStore
    + ResourceStore
    + FactorStore
    + EmailTokenStore
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
        + PushedRequestStore
        + ResourceStore
        + FactorStore
        + EmailTokenStore
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
    /// The master key: opens TOTP secrets and keys recovery-code hashes.
    pub master: &'a MasterKey,
    /// The sign-in methods this server offers (the password; an upstream
    /// provider when one is configured).
    pub available: &'a [Method],
    /// Whether `/authorize` takes only pushed requests (RFC 9126 §5).
    pub require_par: bool,
    /// Seconds a second factor satisfies a requested two-factor level
    /// (the `second_factor_max_age` setting).
    pub second_factor_max_age: i64,
    /// Now.
    pub now: i64,
    /// Where clients are found.
    pub clients: &'a crate::clients::directory::Directory,
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

impl<'a> From<StepForm<'a>> for StepProof<'a> {
    fn from(form: StepForm<'a>) -> StepProof<'a> {
        StepProof::Form {
            interaction: form.interaction,
            csrf: form.csrf,
        }
    }
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
        /// The methods offered: the page shows these and no other.
        methods: Vec<Method>,
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
    /// Enrollment of an authenticator app inside the sign-in
    /// ([`super::enroll`]).
    Enroll {
        /// The next form's keys.
        keys: FormKeys,
        /// The client's display name.
        client_name: String,
        /// The `otpauth://` URI (for the QR code, and as text).
        uri: Zeroizing<String>,
        /// The secret in base32, for typing in by hand.
        secret: Zeroizing<String>,
        /// Why the last code was refused ([`SignInError::MissingCode`],
        /// [`SignInError::BadCode`]).
        error: Option<SignInError>,
    },
    /// The authenticator app is on: the new recovery codes (shown once),
    /// then a form that continues the sign-in ([`super::enroll`]).
    Enrolled {
        /// The next form's keys.
        keys: FormKeys,
        /// The client's display name.
        client_name: String,
        /// The new recovery codes; `None` when the user had some already.
        recovery_codes: Option<Vec<Zeroizing<String>>>,
    },
    /// The consent page.
    Consent {
        /// The next form's keys.
        keys: FormKeys,
        /// The client's display name.
        client_name: String,
        /// Who vouches for the client: the page marks one nobody here
        /// vetted.
        provenance: Provenance,
        /// The host a client known by its metadata document is at (its
        /// `client_id` URL's): the one thing about it that is proven.
        client_host: Option<String>,
        /// The signed-in user.
        username: String,
        /// The requested scopes.
        scope: Scope,
        /// The APIs (RFC 8707 resources) the tokens are for: name and
        /// identifier.
        apis: Vec<(String, String)>,
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
    /// The one-time code field is empty.
    MissingCode,
    /// A wrong, used or replayed one-time or recovery code (or a locked
    /// account): one answer.
    BadCode,
    /// A passkey that was not accepted (unknown, another user's, not
    /// verified, a spent challenge, a disabled or locked account).
    BadPasskey,
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
    /// What started the interaction: picks its last step.
    origin: Origin,
    pub(super) binding: String,
    redirect_uri: String,
    /// Who proved what during this interaction.
    pub(super) proven: Option<(String, Proofs)>,
    /// The session made from those proofs, once one was.
    pub(super) session_sid: Option<String>,
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

/// Step 1: `/authorize` with the request's parameters `raw`.
pub async fn start<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    raw: &str,
    browser: Browser<'_>,
) -> Result<Answer, FlowError> {
    // A pushed request's request_uri (RFC 9126 §4), or the parameters.
    let (params, repeated) = crate::oauth::Params::parse_browser(raw.as_bytes());
    // (Another kind of request_uri, an OpenID request object by
    // reference, goes to the rules, which refuse it.)
    let pushed = params
        .get("request_uri")
        .is_some_and(|uri| uri.starts_with(crate::oauth::par::REQUEST_URI_PREFIX));
    let (request, origin) = if pushed {
        let (request, request_uri_hash) =
            crate::oauth::par::pulled(ctx.store, ctx.clients, &params, repeated, ctx.now)
                .await
                .map_err(FlowError::Refused)?;
        (request, Origin::Pushed { request_uri_hash })
    } else {
        let request = authorize::check_params(
            ctx.store,
            ctx.clients,
            ctx.keys,
            ctx.issuer,
            &params,
            repeated,
            ctx.now,
        )
        .await
        .map_err(FlowError::Refused)?;
        // RFC 9126 §5: with PAR required, the parameters themselves are
        // refused (the client and its redirect URI are known by now, so
        // the client hears it).
        if ctx.require_par || request.client().require_par {
            return Err(FlowError::Refused(Refusal::Redirect(Redirect {
                redirect_uri: request.redirect_uri().to_owned(),
                error: AuthorizeError::ParRequired,
                state: request.state().map(str::to_owned),
            })));
        }
        (request, Origin::Authorize)
    };
    let (binding, new_binding) = super::binding_for(browser.binding)?;
    let id = super::begin(ctx.store, origin.clone(), &request, &binding, ctx.now).await?;
    let flow = Flow {
        id,
        origin,
        binding,
        redirect_uri: request.redirect_uri().to_owned(),
        proven: None,
        session_sid: None,
        consented_here: false,
        new_binding,
        new_session: None,
        new_device: None,
    };
    next(ctx, flow, &request, browser, None).await
}

/// A step's interaction, resumed (see [`super::resume`]), with its kept
/// request checked again against the client's registration as it is now.
pub(super) async fn resume<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
    proof: StepProof<'_>,
) -> Result<(Flow, AuthorizationRequest), FlowError> {
    let (record, origin, kept) = super::resume(ctx.store, proof, browser.binding, ctx.now).await?;
    let request = match AuthorizationRequest::from_kept(ctx.store, ctx.clients, &kept, ctx.now).await {
        Ok(request) => request,
        Err(Unkept::Refused(refusal)) => return Err(FlowError::Refused(refusal)),
        Err(e @ Unkept::Unreadable(_)) => {
            tracing::info!("{e}");
            return Err(ResumeError::Gone.into());
        }
    };
    let flow = Flow {
        id: proof.interaction().to_owned(),
        origin,
        binding: browser.binding.unwrap_or_default().to_owned(),
        redirect_uri: request.redirect_uri().to_owned(),
        proven: record.user_id.clone().map(|user| (user, record.proofs.clone())),
        session_sid: record.session_sid.clone(),
        consented_here: record.consented,
        new_binding: None,
        new_session: None,
        new_device: None,
    };
    Ok((flow, request))
}

pub(super) async fn current_session<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
) -> Result<Option<Session>, FlowError> {
    match browser.session {
        Some(value) => Ok(ctx.store.session(&hash_secret(value), ctx.now).await?),
        None => Ok(None),
    }
}

/// Runs the policy on a snapshot of this step and carries out its
/// decision. `session` is the browser's session when the step already
/// read it.
pub(super) async fn next<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    mut flow: Flow,
    request: &AuthorizationRequest,
    browser: Browser<'_>,
    session: Option<Session>,
) -> Result<Answer, FlowError> {
    let mut session = match session {
        Some(session) => Some(session),
        None => current_session(ctx, browser).await?,
    };
    let required = requirement(ctx, &flow).await?;
    let mut decision = decide(ctx, &flow, request, session.as_ref(), required).await?;
    if decision == Decision::StartSession {
        session = Some(start_session(ctx, &mut flow, browser).await?);
        decision = decide(ctx, &flow, request, session.as_ref(), required).await?;
        if decision == Decision::StartSession {
            // The session just made is the proofs' own: the policy cannot
            // ask for another.
            return Err(FlowError::Internal(OAuthError::Internal(
                "the policy asked for a second session".into(),
            )));
        }
    }
    tracing::debug!(?decision, client_id = %request.client().id, "interaction step");
    match (decision, session) {
        (Decision::Fail(e), _) => {
            ctx.store.finish_interaction(&hash_secret(&flow.id)).await?;
            let url = to_client(ctx, request, AuthorizeError::Prompt(e));
            Ok(flow.answer(Outcome::ToClient(url)))
        }
        (Decision::Unmet, _) => {
            ctx.store.finish_interaction(&hash_secret(&flow.id)).await?;
            tracing::info!(target: "audit", client_id = %request.client().id, "sign-in refused: the essential authentication level cannot be met");
            let url = to_client(ctx, request, AuthorizeError::UnmetAuthenticationRequirements);
            Ok(flow.answer(Outcome::ToClient(url)))
        }
        (Decision::EnrollSecondFactor, Some(session)) => {
            super::enroll::begin(ctx, flow, request, &session.user_id).await
        }
        (
            Decision::SignIn {
                because: LoginCheck::StepUp,
                methods,
            },
            Some(session),
        ) => {
            // A step-up: the session's first factors count (no password
            // again); its second factor, too old or missing, is asked.
            let kept = session.proofs.first_factors();
            ctx.store
                .interaction_proved(&hash_secret(&flow.id), &session.user_id, &kept)
                .await?;
            tracing::info!(target: "audit", user_id = %session.user_id, client_id = %request.client().id, "step-up: second factor asked");
            flow.proven = Some((session.user_id.clone(), kept));
            flow.session_sid = None;
            Ok(sign_in_page(flow, request, methods))
        }
        (Decision::SignIn { methods, .. }, _) => Ok(sign_in_page(flow, request, methods)),
        // (The policy asks for a sign-in whenever there is no session.)
        (Decision::StartSession, _) | (_, None) => {
            let methods = still_offered(ctx, &flow, required);
            Ok(sign_in_page(flow, request, methods))
        }
        (Decision::AskConsent { .. }, Some(session)) => {
            let Some(user) = ctx.store.user(&session.user_id).await? else {
                let methods = still_offered(ctx, &flow, required);
                return Ok(sign_in_page(flow, request, methods));
            };
            let apis = if request.resources().is_empty() {
                Vec::new()
            } else {
                let registry = ctx.store.resources().await?;
                request
                    .resources()
                    .identifiers()
                    .iter()
                    .map(|id| {
                        let name = registry.find(id).map_or_else(|| id.clone(), |r| r.name.clone());
                        (name, id.clone())
                    })
                    .collect()
            };
            let screen = Screen::Consent {
                keys: flow.keys(),
                client_name: request.client().name.clone(),
                provenance: request.client().provenance,
                client_host: match request.client().provenance {
                    Provenance::MetadataDocument => url::Url::parse(&request.client().id)
                        .ok()
                        .and_then(|u| u.host_str().map(str::to_owned)),
                    Provenance::Operator | Provenance::Dynamic => None,
                },
                username: user.username,
                scope: request.scope().clone(),
                apis,
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
                amr: &session.amr(),
            };
            let url = match &flow.origin {
                Origin::Authorize => code::issue(ctx.store, ctx.issuer, request, subject, ctx.now).await?,
                Origin::Pushed { request_uri_hash } => {
                    // Single use (RFC 9126 §4): of two sign-ins started
                    // from one request_uri, one completes.
                    if !crate::oauth::par::use_up(ctx.store, request_uri_hash).await? {
                        return Err(ResumeError::Gone.into());
                    }
                    code::issue(ctx.store, ctx.issuer, request, subject, ctx.now).await?
                }
            };
            Ok(flow.answer(Outcome::ToClient(url)))
        }
    }
}

/// The policy's decision on this step's snapshot.
pub(super) async fn decide<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    flow: &Flow,
    request: &AuthorizationRequest,
    session: Option<&Session>,
    required: Requirement,
) -> Result<Decision, FlowError> {
    let remembered = match session {
        Some(s) => ctx.store.consented(&s.user_id, &request.client().id).await?,
        None => None,
    };
    // The level asked for: the request's, and two factors (essential)
    // when the client or the session's user requires them.
    let user_requires = match session {
        Some(s) => ctx.store.user(&s.user_id).await?.is_some_and(|u| u.require_mfa),
        None => false,
    };
    let mut requested = request.acr();
    if request.client().require_mfa || user_requires {
        requested = RequestedAcr::stricter(requested, Some(RequestedAcr::MFA_REQUIRED));
    }
    // Whether the session's user has a second factor (read only when a
    // level is asked for: nothing else in the snapshot depends on it).
    let second = match (session, requested) {
        (Some(s), Some(_)) => factors::second_factors(ctx.store, &s.user_id)
            .await
            .map_err(OAuthError::from)?,
        _ => factors::SecondFactors::default(),
    };
    let snapshot = Snapshot {
        request: RequestView {
            prompt_none: request.prompt_none(),
            prompt_login: request.prompt_login(),
            prompt_consent: request.prompt_consent(),
            max_age: request.max_age(),
            hint_subject: request.hint_subject(),
            scope: request.scope(),
            resources: request.resources(),
            first_party: request.client().first_party,
        },
        session: session.map(|s| SessionView {
            sid: &s.sid,
            user_id: &s.user_id,
            auth_time: s.auth_time,
            proofs: &s.proofs,
            has_second_factor: second.any(),
            has_passkey: second.passkey,
            // Every user may enroll an authenticator app
            // ([`super::enroll`]).
            can_enroll: true,
        }),
        proven_here: flow.proven.as_ref().map(|(user_id, proofs)| ProvenHere {
            user_id,
            proofs,
            session_sid: flow.session_sid.as_deref(),
        }),
        required,
        requested,
        second_factor_max_age: ctx.second_factor_max_age,
        available: ctx.available,
        consented_here: flow.consented_here,
        remembered_consent: remembered.as_ref(),
        now: ctx.now,
    };
    Ok(policy::decide(&snapshot))
}

/// What this flow's sign-in must prove, once its user is known (by a
/// first proof): a first factor and a one-time code for an account with a
/// confirmed second factor, any one method otherwise.
pub(super) async fn requirement<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    flow: &Flow,
) -> Result<Requirement, FlowError> {
    let Some((user_id, _)) = flow.proven.as_ref() else {
        return Ok(Requirement::AnyMethod);
    };
    Ok(if sign_in::has_second_factor(ctx.store, user_id).await? {
        Requirement::TwoFactors
    } else {
        Requirement::AnyMethod
    })
}

/// The sign-in page, offering `methods`.
fn sign_in_page(flow: Flow, request: &AuthorizationRequest, methods: Vec<Method>) -> Answer {
    let screen = Screen::SignIn {
        keys: flow.keys(),
        client_name: request.client().name.clone(),
        username: request.login_hint().map(str::to_owned),
        methods,
        error: None,
    };
    flow.answer(Outcome::Show(screen))
}

/// The methods a sign-in page of this flow offers again after a failed
/// attempt (as [`policy::offered`] says).
fn still_offered<S>(ctx: &Ctx<'_, S>, flow: &Flow, required: Requirement) -> Vec<Method> {
    let proofs = flow.proven.as_ref().map(|(_, p)| p);
    policy::offered(ctx.available, proofs, required)
}

/// The one place an SSO session is made: when the policy found this
/// interaction's proofs enough ([`Decision::StartSession`]). A new random
/// id every time, and the browser's earlier session ends, so a planted
/// session cookie is never promoted; `auth_time` is when the proofs were
/// complete and `amr` their methods. The interaction records the new
/// session's `sid`, so later steps know it was made here.
async fn start_session<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    flow: &mut Flow,
    browser: Browser<'_>,
) -> Result<Session, FlowError> {
    let Some((user_id, proofs)) = flow.proven.as_ref() else {
        return Err(FlowError::Internal(OAuthError::Internal(
            "a session without proofs".into(),
        )));
    };
    if let Some(old) = browser.session {
        ctx.store.delete_session(&hash_secret(old)).await?;
    }
    let (Some(cookie), Some(sid)) = (crate::random::base64url(32), crate::random::base64url(16)) else {
        return Err(FlowError::Internal(OAuthError::Internal("no randomness".into())));
    };
    let session = Session {
        id_hash: hash_secret(&cookie),
        sid,
        user_id: user_id.clone(),
        auth_time: proofs.completed_at().unwrap_or(ctx.now),
        expires_at: ctx.now + SESSION_TTL,
        client_ip: browser.peer.map(|ip| ip.to_string()),
        proofs: proofs.clone(),
    };
    ctx.store.create_session(&session).await?;
    ctx.store
        .interaction_session_started(&hash_secret(&flow.id), &session.sid)
        .await?;
    let event = Event::new(AuditKind::SessionStarted, ctx.now, Actor::User, "session started")
        .user(&session.user_id)
        .ip(browser.peer)
        .with("sid", session.sid.as_str())
        .with("amr", session.amr().to_stored());
    audit::record(ctx.store, event).await;
    flow.session_sid = Some(session.sid.clone());
    flow.new_session = Some(cookie);
    Ok(session)
}

/// An error for the client, on its redirect URI with `state` and `iss`.
fn to_client<S>(ctx: &Ctx<'_, S>, request: &AuthorizationRequest, error: AuthorizeError) -> String {
    Redirect {
        redirect_uri: request.redirect_uri().to_owned(),
        error,
        state: request.state().map(str::to_owned),
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
    let (flow, request) = resume(ctx, browser, form.into()).await?;
    let required = requirement(ctx, &flow).await?;
    let failed = |flow: Flow, username: Option<&str>, error: SignInError| {
        let screen = Screen::SignIn {
            keys: flow.keys(),
            client_name: request.client().name.clone(),
            username: username.map(str::to_owned),
            methods: still_offered(ctx, &flow, required),
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
        sign_in::check_password_from(ctx.store, issue, username, password, &request.client().id, device);
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
    proved(ctx, flow, &request, browser, &user.id, &[Method::Password]).await
}

/// Step 2, second factor: the one-time code form, for a sign-in that has
/// proven its first factor for an account with a second factor. The code
/// (a TOTP code, verified and its step recorded so it cannot be used
/// again, or a recovery code, spent) goes through the login guard like a
/// password; a wrong one shows the form again. Sent at any other moment,
/// the form changes nothing: the interaction's current page is shown.
pub async fn otp<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    issue: &Issue<'_>,
    browser: Browser<'_>,
    form: StepForm<'_>,
    code: Option<&str>,
) -> Result<Answer, FlowError> {
    let (flow, request) = resume(ctx, browser, form.into()).await?;
    let required = requirement(ctx, &flow).await?;
    let awaiting_code = flow
        .proven
        .as_ref()
        .filter(|(_, proofs)| {
            required == Requirement::TwoFactors
                && !required.met_by(proofs)
                && proofs.proofs().iter().any(|p| p.method.is_first_factor())
        })
        .map(|(user_id, _)| user_id.clone());
    let Some(user_id) = awaiting_code else {
        return next(ctx, flow, &request, browser, None).await;
    };
    let failed = |flow: Flow, error: SignInError| {
        let screen = Screen::SignIn {
            keys: flow.keys(),
            client_name: request.client().name.clone(),
            username: None,
            methods: still_offered(ctx, &flow, required),
            error: Some(error),
        };
        Ok(flow.answer(Outcome::Show(screen)))
    };
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        return failed(flow, SignInError::MissingCode);
    };
    let Some(user) = ctx.store.user(&user_id).await? else {
        return Err(ResumeError::Gone.into());
    };
    let checked = sign_in::check_code(ctx.store, ctx.master, issue, &user, code, &request.client().id);
    match checked.await {
        Ok(()) => {}
        Err(OAuthError::BadCredentials) => return failed(flow, SignInError::BadCode),
        Err(OAuthError::TooManyAttempts) => return failed(flow, SignInError::TooManyAttempts),
        Err(e) => return Err(e.into()),
    }
    proved(ctx, flow, &request, browser, &user_id, &[Method::Otp]).await
}

/// The WebAuthn challenge binding of this interaction in this browser:
/// a challenge issued for one sign-in serves no other.
fn passkey_binding(flow: &Flow) -> String {
    format!("signin\0{}\0{}", flow.binding, flow.id)
}

/// The user a second-factor step is for: the one who proved a first
/// factor here (or whose session is being stepped up), if any.
fn awaiting_user(flow: &Flow) -> Option<&str> {
    flow.proven.as_ref().map(|(user_id, _)| user_id.as_str())
}

/// `GET /authorize/passkey`: the options for `navigator.credentials.get()`
/// (as JSON) for this interaction's sign-in page, with a new single-use
/// challenge bound to the interaction and the browser: for a user who
/// proved a first factor here, their passkeys; otherwise any discoverable
/// passkey (passwordless and conditional UI). `None` when this server
/// cannot offer passkeys (an IP-address issuer). The page's link is the
/// only proof needed: the options are useless without the browser that
/// holds the binding.
pub async fn passkey_options<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
    interaction: &str,
) -> Result<Option<String>, FlowError> {
    let (flow, _request) = resume(ctx, browser, StepProof::Link { interaction }).await?;
    let Ok(rp) = passkeys::RelyingParty::from_issuer(ctx.issuer, "Tessera") else {
        return Ok(None);
    };
    let options = passkeys::begin_authentication(
        ctx.store,
        &rp,
        &passkey_binding(&flow),
        awaiting_user(&flow),
        ctx.now,
    )
    .await
    .map_err(|e| FlowError::Internal(OAuthError::Internal(e.to_string())))?;
    serde_json::to_string(&options)
        .map(Some)
        .map_err(|e| FlowError::Internal(OAuthError::Internal(e.to_string())))
}

/// Step 2, by passkey (WebAuthn §7.2, [`passkeys::finish_authentication`]):
/// passwordless, or the second factor after a first one. The assertion
/// must answer this interaction's challenge, carry user verification, and
/// belong to the user who proved a first factor here, if one did; the
/// account must be enabled and not locked. A refusal shows the page again.
pub async fn passkey<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
    form: StepForm<'_>,
    credential: Option<&str>,
) -> Result<Answer, FlowError> {
    let (flow, request) = resume(ctx, browser, form.into()).await?;
    let required = requirement(ctx, &flow).await?;
    let failed = |flow: Flow, why: &str| {
        tracing::info!(target: "audit", client_id = %request.client().id, why, "passkey sign-in refused");
        let screen = Screen::SignIn {
            keys: flow.keys(),
            client_name: request.client().name.clone(),
            username: None,
            methods: still_offered(ctx, &flow, required),
            error: Some(SignInError::BadPasskey),
        };
        Ok(flow.answer(Outcome::Show(screen)))
    };
    let Ok(rp) = passkeys::RelyingParty::from_issuer(ctx.issuer, "Tessera") else {
        return next(ctx, flow, &request, browser, None).await;
    };
    let Some(credential) = credential.filter(|c| !c.is_empty()) else {
        return failed(flow, "no credential");
    };
    let signed =
        match passkeys::finish_authentication(ctx.store, &rp, &passkey_binding(&flow), credential, ctx.now)
            .await
        {
            Ok(signed) => signed,
            Err(passkeys::PasskeyError::Store(e)) => return Err(e.into()),
            Err(e) => return failed(flow, &e.to_string()),
        };
    if !signed.user_verified {
        return failed(flow, "no user verification");
    }
    if awaiting_user(&flow).is_some_and(|user| user != signed.user_id) {
        return failed(flow, "another user's passkey");
    }
    let usable = ctx
        .store
        .user(&signed.user_id)
        .await?
        .is_some_and(|u| !u.is_disabled() && u.locked_until.is_none_or(|until| until <= ctx.now));
    if !usable {
        return failed(flow, "account disabled or locked");
    }
    proved(ctx, flow, &request, browser, &signed.user_id, &[Method::Passkey]).await
}

/// After any sign-in method: what `user_id` just proved (`methods`: an
/// upstream sign-in that also proved a local password is both) is
/// recorded on the interaction; then the policy again, which makes the
/// session once the proofs are enough. Another user's proof replaces the
/// earlier user's proofs and consent.
pub(super) async fn proved<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    mut flow: Flow,
    request: &AuthorizationRequest,
    browser: Browser<'_>,
    user_id: &str,
    methods: &[Method],
) -> Result<Answer, FlowError> {
    let earlier = match flow.proven.take() {
        Some((user, proofs)) if user == user_id => proofs,
        _ => {
            flow.consented_here = false;
            Proofs::none()
        }
    };
    let proofs = methods.iter().fold(earlier, |proofs, m| proofs.with(*m, ctx.now));
    ctx.store
        .interaction_proved(&hash_secret(&flow.id), user_id, &proofs)
        .await?;
    tracing::info!(target: "audit", user_id, amr = %proofs.amr().to_stored(), "sign-in method proven");
    flow.proven = Some((user_id.to_owned(), proofs));
    flow.session_sid = None;
    next(ctx, flow, request, browser, None).await
}

/// Step 4: the consent form. Approving records the consent and runs every
/// check again (a consent never stands in for a sign-in that
/// `prompt=login`, `max_age` or `id_token_hint` asks for).
pub async fn consent<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
    form: StepForm<'_>,
    allow: bool,
) -> Result<Answer, FlowError> {
    let (mut flow, request) = resume(ctx, browser, form.into()).await?;
    if !allow {
        let event = Event::new(AuditKind::ConsentDenied, ctx.now, Actor::User, "consent denied")
            .client(&request.client().id)
            .ip(browser.peer);
        audit::record(ctx.store, event).await;
        ctx.store.finish_interaction(&hash_secret(&flow.id)).await?;
        let url = to_client(ctx, &request, AuthorizeError::AccessDenied);
        return Ok(flow.answer(Outcome::ToClient(url)));
    }
    let Some(session) = current_session(ctx, browser).await? else {
        return next(ctx, flow, &request, browser, None).await;
    };
    ctx.store.interaction_consented(&hash_secret(&flow.id)).await?;
    ctx.store
        .record_consent(
            &session.user_id,
            &request.client().id,
            &Approval {
                scope: request.scope().clone(),
                resources: request.resources().clone(),
            },
            ctx.now,
        )
        .await?;
    let event = Event::new(AuditKind::ConsentGiven, ctx.now, Actor::User, "consent given")
        .user(&session.user_id)
        .client(&request.client().id)
        .ip(browser.peer)
        .with("scope", request.scope().as_str());
    audit::record(ctx.store, event).await;
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
    let proof = StepProof::Link { interaction };
    let (flow, request) = resume(ctx, browser, proof).await?;
    let screen = Screen::SignUp {
        keys: flow.keys(),
        client_name: request.client().name.clone(),
        username: None,
        email: None,
        error: None,
    };
    Ok(flow.answer(Outcome::Show(screen)))
}

/// What the sign-up page says when the email is another account's.
const EMAIL_TAKEN: &str = "that email cannot be used for a new account: sign in instead, or use another";

/// Step 2, by sign-up: creates the user (the rules of
/// `POST /api/v1/users`, which mail a verification link to the address
/// given) and signs them in.
pub async fn register<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    outbox: &crate::mail::Outbox,
    browser: Browser<'_>,
    form: StepForm<'_>,
    enabled: bool,
    new_user: first_party::RegisterRequest,
) -> Result<Answer, FlowError> {
    if !enabled {
        return Err(FlowError::RegistrationOff);
    }
    let (flow, request) = resume(ctx, browser, form.into()).await?;
    let (username, email) = (new_user.username.clone(), new_user.email.clone());
    let user = match first_party::register(ctx.store, outbox, true, ctx.now, browser.peer, new_user).await {
        Ok(first_party::Registered::Created(user)) => user,
        // Signing in would tell; so does this page, at the registration
        // rate, like a taken username (see SECURITY.md).
        Ok(first_party::Registered::EmailTaken { .. }) => {
            let screen = Screen::SignUp {
                keys: flow.keys(),
                client_name: request.client().name.clone(),
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
                client_name: request.client().name.clone(),
                username: Some(username),
                email,
                error: Some(message),
            };
            return Ok(flow.answer(Outcome::Show(screen)));
        }
    };
    proved(ctx, flow, &request, browser, &user.id, &[Method::Password]).await
}
