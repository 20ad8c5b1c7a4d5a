//! Second-factor enrollment inside a sign-in (issue 19, item 4): "a user
//! who must use a second factor and has none is taken through enrollment
//! inside the sign-in (and gets recovery codes) before a code is issued".
//!
//! When the policy answers [`Decision::EnrollSecondFactor`] (a level of
//! two factors is asked for, by the request, the client or the user, and
//! the session's user has no second factor), `begin` starts an
//! authenticator enrollment for the session's user (replacing an
//! unconfirmed one) and shows its setup: the QR code, the `otpauth://`
//! URI and the key, and a form for one code.
//!
//! [`enroll`] (`POST /authorize/enroll`) is a form step like the others
//! (binding cookie, CSRF token, expiry: [`super::resume`]). It acts only
//! while the policy still asks for enrollment; a wrong code shows the same
//! setup again. A valid code confirms the authenticator, makes recovery
//! codes for a user who has none, records [`Method::Otp`] on the
//! interaction (the session's first factors and the code: what a step-up
//! records), ends the user's other sessions (like any change to how the
//! account signs in, see [`crate::account::factors`]), and shows the
//! recovery codes. No session is made and no code issued by that step:
//! the recovery codes are shown first.
//!
//! [`continue_sign_in`] (`POST /authorize/continue`) only resumes the
//! interaction: the policy decides again, which, after an enrollment,
//! makes the session of both proofs and issues the code (or asks for
//! consent); before one, it shows the enrollment again.

use super::flow::{
    self, Answer, Browser, Ctx, Flow, FlowError, FlowStore, Outcome, Screen, SignInError, StepForm,
};
use super::policy::{Decision, Method};
use super::ResumeError;
use crate::audit::{self, Actor, AuditKind, Event};
use crate::identity::factors::{self, FactorError};
use crate::identity::totp;
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::client_auth::hash_secret;
use crate::oauth::OAuthError;

/// Which authenticator secret the enrollment page shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Secret {
    /// A new one (replacing an unconfirmed one): the page is shown anew.
    New,
    /// The one waiting for its code (after a wrong code), or a new one if
    /// none is waiting.
    Pending,
}

/// A factor operation's failure as the step's (a storage or sealing
/// failure: nothing the person can fix).
fn internal(e: FactorError) -> FlowError {
    FlowError::from(OAuthError::from(e))
}

/// The enrollment page when the policy first asks for it: a new
/// authenticator secret for `user_id` (replacing an unconfirmed one).
pub(super) async fn begin<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    flow: Flow,
    request: &AuthorizationRequest,
    user_id: &str,
) -> Result<Answer, FlowError> {
    page(ctx, flow, request, user_id, None, Secret::New).await
}

/// The enrollment page for `user_id`, with the authenticator secret
/// `which` says, and why the last code was refused.
async fn page<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    flow: Flow,
    request: &AuthorizationRequest,
    user_id: &str,
    error: Option<SignInError>,
    which: Secret,
) -> Result<Answer, FlowError> {
    let Some(user) = ctx.store.user(user_id).await? else {
        return Err(ResumeError::Gone.into());
    };
    let pending = match which {
        Secret::Pending => factors::pending_totp(ctx.store, ctx.master, &user.id)
            .await
            .map_err(internal)?,
        Secret::New => None,
    };
    let enrollment = match pending {
        Some(enrollment) => enrollment,
        None => factors::enroll_totp(ctx.store, ctx.master, &user.id, ctx.now)
            .await
            .map_err(internal)?,
    };
    let screen = Screen::Enroll {
        keys: flow.keys(),
        client_name: request.client().name.clone(),
        uri: enrollment.uri(&totp::label_host(ctx.issuer), &user.username),
        secret: enrollment.secret.base32(),
        error,
    };
    Ok(flow.answer(Outcome::Show(screen)))
}

/// `POST /authorize/enroll`: the code of the authenticator being set up.
/// Sent at any moment the policy does not ask for enrollment, the form
/// changes nothing: the interaction's current page is shown.
pub async fn enroll<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
    form: StepForm<'_>,
    code: Option<&str>,
) -> Result<Answer, FlowError> {
    let (mut flow, request) = flow::resume(ctx, browser, form.into()).await?;
    let session = flow::current_session(ctx, browser).await?;
    let required = flow::requirement(ctx, &flow).await?;
    let decision = flow::decide(ctx, &flow, &request, session.as_ref(), required).await?;
    let session = match (decision, session) {
        (Decision::EnrollSecondFactor, Some(session)) => session,
        (_, session) => return flow::next(ctx, flow, &request, browser, session).await,
    };
    let user_id = session.user_id.clone();
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        let error = Some(SignInError::MissingCode);
        return page(ctx, flow, &request, &user_id, error, Secret::Pending).await;
    };
    match factors::confirm_totp(ctx.store, ctx.master, &user_id, code, ctx.now).await {
        Ok(true) => {}
        // A wrong code, or the enrollment went meanwhile (the page then
        // shows a new one).
        Ok(false) | Err(FactorError::NothingToConfirm) => {
            let error = Some(SignInError::BadCode);
            return page(ctx, flow, &request, &user_id, error, Secret::Pending).await;
        }
        Err(e) => return Err(internal(e)),
    }
    let left = factors::recovery_codes_left(ctx.store, &user_id)
        .await
        .map_err(internal)?;
    let recovery_codes = if left > 0 {
        None
    } else {
        Some(
            factors::new_recovery_codes(ctx.store, ctx.master, &user_id, ctx.now)
                .await
                .map_err(internal)?,
        )
    };
    // What a step-up records: the session's first factors, and the code.
    let proofs = session.proofs.first_factors().with(Method::Otp, ctx.now);
    ctx.store
        .interaction_proved(&hash_secret(&flow.id), &user_id, &proofs)
        .await?;
    flow.proven = Some((user_id.clone(), proofs));
    flow.session_sid = None;
    let ended = ctx.store.end_other_sessions(&user_id, &session.sid).await?;
    let event = Event::new(
        AuditKind::FactorAdded,
        ctx.now,
        Actor::User,
        "sign-in: authenticator app enrolled",
    )
    .user(user_id.as_str())
    .client(&request.client().id)
    .ip(browser.peer)
    .with("change", "authenticator added")
    .with("other_sessions_ended", ended)
    .with("recovery_codes_made", recovery_codes.is_some());
    audit::record(ctx.store, event).await;
    let screen = Screen::Enrolled {
        keys: flow.keys(),
        client_name: request.client().name.clone(),
        recovery_codes,
    };
    Ok(flow.answer(Outcome::Show(screen)))
}

/// `POST /authorize/continue`: resumes the interaction after the recovery
/// codes were shown. It proves nothing: the policy decides again.
pub async fn continue_sign_in<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    browser: Browser<'_>,
    form: StepForm<'_>,
) -> Result<Answer, FlowError> {
    let (flow, request) = flow::resume(ctx, browser, form.into()).await?;
    flow::next(ctx, flow, &request, browser, None).await
}
