//! Signing in through an upstream provider: three more steps of the
//! interaction, beside [`super::flow`]'s password and consent.
//!
//! 1. [`leave`]: the sign-in page's "Continue with …" form. The interaction
//!    is resumed (binding and CSRF checked), a random `state` is stored
//!    with it, and the browser goes to the provider
//!    ([`crate::oauth::upstream`]).
//! 2. [`arrive`]: `/upstream/{id}/callback`. The `state` must belong to
//!    this provider and to this browser's binding, checked *before* it is
//!    taken (single use), so a callback from another browser cannot cancel
//!    the sign-in; the code is exchanged and the identity checked; then the
//!    linking rules ([`crate::oauth::upstream::link`]) say who signs in.
//!    The new session's `amr` is `fed`; with `fed mfa` (two factors) when
//!    the table says `trust_mfa` and the ID token's `amr` shows the
//!    provider checked several factors ([`Provider::proves_mfa`]).
//!    Otherwise a user with a second factor here is asked for its code.
//! 3. [`link()`]: a first sign-in whose email is not one to link on the
//!    provider's word: the page names the upstream account, and the person
//!    signs in to an existing account with its password to link it
//!    (`amr` `fed pwd`), or takes a new account.
//!
//! Every link, creation and refusal is in the audit log.

use crate::audit::{self, Actor, AuditKind, Event};
use zeroize::Zeroizing;

use super::flow::{
    proved, resume, Answer, Browser, Ctx, Flow, FlowError, FlowStore, Outcome, Screen, SignInError, StepForm,
};
use super::policy::Method;
use super::{ResumeError, StepProof};
use crate::identity::users::{self, Linked, NewUser};
use crate::oauth::authorize::AuthorizationRequest;
use crate::oauth::client_auth::hash_secret;
use crate::oauth::upstream::link::{self, Linking, Rules};
use crate::oauth::upstream::{Profile, Provider, UpstreamError, Upstreams, TRIP_TTL};
use crate::oauth::user_tokens::Issue;
use crate::oauth::{sign_in, throttle, OAuthError, Params};
use crate::store::{StoreError, Trip};

/// An identity waiting on the link page, kept on the interaction.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Pending {
    provider: String,
    profile: Profile,
    may_create: bool,
}

/// Step 1: go to `provider_id` to sign in there.
pub async fn leave<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    upstreams: &Upstreams,
    browser: Browser<'_>,
    form: StepForm<'_>,
    provider_id: &str,
) -> Result<Answer, FlowError> {
    let (flow, _request) = resume(ctx, browser, form.into()).await?;
    let provider = upstreams.provider(provider_id)?;
    let state = crate::random::base64url(32).ok_or_else(|| OAuthError::Internal("no randomness".into()))?;
    let departure = upstreams
        .authorization_url(provider, &flow.binding, &state)
        .await?;
    let trip = Trip {
        provider: provider.config.id.clone(),
        interaction_id: flow.id.clone(),
        binding_hash: hash_secret(&flow.binding),
    };
    ctx.store
        .begin_trip(&hash_secret(&state), &trip, ctx.now + TRIP_TTL)
        .await?;
    tracing::info!(target: "audit", provider = %provider.config.id, "sign-in sent upstream");
    Ok(flow.answer(Outcome::ToUpstream(departure.url)))
}

/// Step 2: back from `provider_id` with the authorization response `query`
/// (RFC 6749 §4.1.2, RFC 9207 §2).
pub async fn arrive<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    upstreams: &Upstreams,
    browser: Browser<'_>,
    provider_id: &str,
    query: &Params,
) -> Result<Answer, FlowError> {
    let provider = upstreams.provider(provider_id)?;
    let state = query.get("state").ok_or(UpstreamError::BadState)?;
    let state_hash = hash_secret(state);
    // The trip is checked first and taken after: a callback from another
    // browser (someone who learned the `state`) is refused and leaves it.
    let Some(trip) = ctx.store.trip(&state_hash, ctx.now).await? else {
        tracing::warn!(target: "audit", provider = %provider_id, "upstream callback with an unknown, used or expired state");
        return Err(UpstreamError::BadState.into());
    };
    let binding = browser.binding.unwrap_or_default();
    let same_browser =
        aws_lc_rs::constant_time::verify_slices_are_equal(&hash_secret(binding), &trip.binding_hash).is_ok();
    if trip.provider != provider.config.id || !same_browser {
        tracing::warn!(target: "audit", provider = %provider_id, "upstream callback from another browser or provider");
        return Err(UpstreamError::BadState.into());
    }
    if ctx.store.take_trip(&state_hash, ctx.now).await?.is_none() {
        // Taken by a concurrent callback of the same browser.
        return Err(UpstreamError::BadState.into());
    }
    let bound = super::BoundTrip::taken(trip.interaction_id.clone());
    let (flow, request) = resume(ctx, browser, StepProof::Trip(&bound)).await?;
    // RFC 6749 §4.1.2.1: the person declined, or the provider refused.
    if let Some(error) = query.get("error") {
        tracing::info!(target: "audit", provider = %provider_id, error, "upstream sign-in declined");
        return Err(UpstreamError::Declined(provider.config.name.clone()).into());
    }
    let code = query
        .get("code")
        .ok_or_else(|| UpstreamError::Nonsense(provider.config.name.clone()))?;
    let profile = upstreams
        .arrive(provider, binding, state, code, query.get("iss"), ctx.now)
        .await?;
    // The email's user before the link: a concurrent first sign-in makes
    // its user and link in one transaction, so a user seen here has its
    // link seen next, and this sign-in does not take it for someone else's.
    let same_email = match &profile.email {
        Some(email) => ctx.store.user_by_email(email).await?,
        None => None,
    };
    let linked = ctx
        .store
        .linked_user(&provider.key, &profile.subject, ctx.now)
        .await?;
    let rules = Rules {
        create_users: provider.create_users,
        trust_email: provider.config.trust_email,
    };
    let c = &provider.config;
    let user_id = match link::decide(linked.as_deref(), same_email.as_ref(), &profile, rules) {
        Linking::Linked(user_id) => user_id,
        Linking::LinkByEmail(user_id) => {
            let user_id = link_identity(ctx, &provider.key, &profile.subject, &user_id).await?;
            let event = Event::new(
                AuditKind::UpstreamLinked,
                ctx.now,
                Actor::User,
                "upstream identity linked by trusted verified email",
            )
            .user(user_id.as_str())
            .with("provider", c.id.as_str())
            .with("by", "trusted verified email");
            audit::record(ctx.store, event).await;
            user_id
        }
        Linking::Create => create_linked(ctx, &provider.key, &profile, rules).await?,
        Linking::Choose { may_create } => {
            tracing::info!(target: "audit", provider = %c.id, "upstream identity not linked: the person chooses an account");
            let pending = Pending {
                provider: c.id.clone(),
                profile,
                may_create,
            };
            let text = serde_json::to_string(&pending).map_err(|e| OAuthError::Internal(e.to_string()))?;
            ctx.store
                .set_pending_link(&hash_secret(&flow.id), Some(&text))
                .await?;
            return Ok(link_page(flow, &request, provider, &pending, None));
        }
        Linking::NoAccount => {
            tracing::info!(target: "audit", provider = %c.id, "upstream sign-in refused: no account, and none may be made");
            return Err(UpstreamError::NoAccount(c.name.clone()).into());
        }
    };
    let methods = upstream_methods(provider, &profile, &[Method::Upstream]);
    finish(
        ctx, provider, flow, &request, browser, &user_id, &profile, &methods,
    )
    .await
}

/// What the link page's form chose.
pub enum LinkChoice<'a> {
    /// Prove the local account.
    Prove {
        /// Its username.
        username: Option<&'a str>,
        /// Its password.
        password: Option<Zeroizing<String>>,
    },
    /// Take a new account.
    New,
}

/// Step 3: the link page's form.
pub async fn link<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    upstreams: &Upstreams,
    issue: &Issue<'_>,
    browser: Browser<'_>,
    form: StepForm<'_>,
    choice: LinkChoice<'_>,
) -> Result<Answer, FlowError> {
    let (flow, request) = resume(ctx, browser, form.into()).await?;
    let id_hash = hash_secret(&flow.id);
    let pending: Pending = match ctx.store.pending_link(&id_hash).await? {
        Some(text) => {
            serde_json::from_str(&text).map_err(|e| StoreError::Corrupt(format!("pending_link: {e}")))?
        }
        None => return Err(ResumeError::Gone.into()),
    };
    let provider = upstreams.provider(&pending.provider)?;
    let c = &provider.config;
    let rules = Rules {
        create_users: provider.create_users,
        trust_email: c.trust_email,
    };
    let refused = |flow, error| Ok(link_page(flow, &request, provider, &pending, Some(error)));
    let (user_id, methods) = match choice {
        LinkChoice::New if pending.may_create => {
            // Counted as a registration from this address: what a new
            // account's email says (kept, or left out as taken) is the
            // last trace of which addresses have accounts here.
            if !throttle::reserve_registration(ctx.store, browser.peer, ctx.now).await? {
                tracing::warn!(target: "audit", provider = %c.id, peer = ?browser.peer, "new account from upstream refused: too many registrations from this address");
                return refused(flow, SignInError::TooManyRegistrations);
            }
            let user_id = create_linked(ctx, &provider.key, &pending.profile, rules).await?;
            (
                user_id,
                upstream_methods(provider, &pending.profile, &[Method::Upstream]),
            )
        }
        LinkChoice::New => return refused(flow, SignInError::Missing),
        LinkChoice::Prove { username, password } => {
            let (Some(username), Some(password)) = (username, password) else {
                return refused(flow, SignInError::Missing);
            };
            // Any account the person proves: the page named the upstream
            // account, and the password is the proof that this one is
            // theirs. The login guard (per account, per address) applies.
            let user = match sign_in::check_password(
                ctx.store,
                issue,
                username,
                password,
                &request.client().id,
            )
            .await
            {
                Ok(user) => user,
                Err(OAuthError::BadCredentials) => {
                    tracing::warn!(target: "audit", provider = %c.id, "upstream link refused: the account was not proven");
                    return refused(flow, SignInError::BadCredentials);
                }
                Err(OAuthError::TooManyAttempts) => return refused(flow, SignInError::TooManyAttempts),
                Err(e) => return Err(e.into()),
            };
            let user_id = link_identity(ctx, &provider.key, &pending.profile.subject, &user.id).await?;
            let event = Event::new(
                AuditKind::UpstreamLinked,
                ctx.now,
                Actor::User,
                "upstream identity linked after the account was proven",
            )
            .user(user_id.as_str())
            .with("provider", c.id.as_str())
            .with("by", "the account proven");
            audit::record(ctx.store, event).await;
            let methods = [Method::Upstream, Method::Password];
            (user_id, upstream_methods(provider, &pending.profile, &methods))
        }
    };
    ctx.store.set_pending_link(&id_hash, None).await?;
    finish(
        ctx,
        provider,
        flow,
        &request,
        browser,
        &user_id,
        &pending.profile,
        &methods,
    )
    .await
}

/// `methods`, and the provider's own second factor
/// ([`Method::UpstreamMfa`]) when [`Provider::proves_mfa`] says this
/// sign-in proved one (`trust_mfa`, and an `amr` showing several factors).
fn upstream_methods(provider: &Provider, profile: &Profile, methods: &[Method]) -> Vec<Method> {
    let mut methods = methods.to_vec();
    if provider.proves_mfa(profile) {
        tracing::info!(target: "audit", provider = %provider.config.id, amr = ?profile.amr, "upstream second factor trusted (trust_mfa)");
        methods.push(Method::UpstreamMfa);
    }
    methods
}

fn link_page(
    flow: Flow,
    request: &AuthorizationRequest,
    provider: &Provider,
    pending: &Pending,
    error: Option<SignInError>,
) -> Answer {
    let profile = &pending.profile;
    let screen = Screen::Link {
        keys: flow.keys(),
        client_name: request.client().name.clone(),
        provider: provider.config.name.clone(),
        upstream_username: profile.username.clone(),
        upstream_email: profile.email.clone(),
        may_create: pending.may_create,
        error,
    };
    flow.answer(Outcome::Show(screen))
}

/// Signs in the linked user: refused if disabled; the provider's mapped
/// roles applied, only when (provider, subject) is linked to this very
/// user (a rule of [`link`]: never to an account the identity was merely
/// matched to); then the interaction goes on.
#[allow(clippy::too_many_arguments)]
async fn finish<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    provider: &Provider,
    flow: Flow,
    request: &AuthorizationRequest,
    browser: Browser<'_>,
    user_id: &str,
    profile: &Profile,
    methods: &[Method],
) -> Result<Answer, FlowError> {
    let Some(user) = ctx.store.user(user_id).await?.filter(|u| u.disabled_at.is_none()) else {
        let event = Event::new(
            AuditKind::SignInFailed,
            ctx.now,
            Actor::User,
            "upstream sign-in refused: account disabled or gone",
        )
        .user(user_id)
        .with("provider", provider.config.id.as_str())
        .with("why", "account disabled or gone");
        audit::record(ctx.store, event).await;
        return Err(UpstreamError::NoAccount(provider.config.name.clone()).into());
    };
    let map = &provider.config.role_map;
    let linked_here = || async {
        let linked = ctx
            .store
            .linked_user(&provider.key, &profile.subject, ctx.now)
            .await?;
        Ok::<_, FlowError>(linked.as_deref() == Some(user.id.as_str()))
    };
    if !map.is_empty() && linked_here().await? {
        let roles = link::roles_after(&user.roles, map, &profile.groups);
        if roles != user.roles {
            users::set_roles(ctx.store, &user.id, &roles)
                .await
                .map_err(OAuthError::from)?;
            let event = Event::new(
                AuditKind::UserChanged,
                ctx.now,
                Actor::Server,
                "roles set from upstream groups",
            )
            .user(&user.id)
            .with("provider", provider.config.id.as_str())
            .with("roles", roles.clone());
            audit::record(ctx.store, event).await;
        }
    }
    proved(ctx, flow, request, browser, &user.id, methods).await
}

/// Links (provider, subject) to `user_id`; if a concurrent sign-in linked
/// it first, the user it was linked to.
async fn link_identity<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    provider: &str,
    subject: &str,
    user_id: &str,
) -> Result<String, FlowError> {
    Ok(users::link(ctx.store, user_id, provider, subject, ctx.now)
        .await
        .map_err(OAuthError::from)?)
}

/// A new user from `profile`, linked to (provider, subject) in the same
/// transaction: the first free username of [`link::usernames`], or one
/// with a random suffix; no password; the email as
/// [`link::email_of_new_user`] says (left out if another account has it).
/// If a concurrent first sign-in made the user first, that user.
async fn create_linked<S: FlowStore>(
    ctx: &Ctx<'_, S>,
    provider: &str,
    profile: &Profile,
    rules: Rules,
) -> Result<String, FlowError> {
    let taken = match &profile.email {
        Some(email) => ctx.store.user_by_email(email).await?.is_some(),
        None => false,
    };
    let (email, email_verified) = link::email_of_new_user(profile, rules, taken);
    let mut candidates = link::usernames(profile);
    let random = crate::random::base64url(6)
        .map(|r| r.to_ascii_lowercase().replace('_', "-"))
        .ok_or_else(|| OAuthError::Internal("no randomness".into()))?;
    candidates.push(format!("user-{random}"));
    // With the email, then (had another account taken it meanwhile: it is
    // unique) without it.
    let tries = [(email.clone(), email_verified), (None, false)];
    for (email, email_verified) in tries.into_iter().take(if email.is_some() { 2 } else { 1 }) {
        for username in &candidates {
            let new = NewUser {
                username: username.clone(),
                email: email.clone(),
                email_verified,
                name: profile.name.clone(),
                roles: vec![],
                // No password: this account signs in through the provider.
                password: None,
            };
            match users::create_linked(ctx.store, new, provider, &profile.subject, ctx.now).await {
                Ok(Linked::Created(user)) => {
                    let event = Event::new(
                        AuditKind::UserCreated,
                        ctx.now,
                        Actor::User,
                        "user created from an upstream identity",
                    )
                    .user(&user.id)
                    .with("provider", provider)
                    .with("username", user.username.as_str())
                    .with("email_verified", email_verified);
                    audit::record(ctx.store, event).await;
                    return Ok(user.id);
                }
                Ok(Linked::AlreadyLinked(user_id)) => return Ok(user_id),
                Ok(Linked::Taken) => continue,
                Err(e) => return Err(OAuthError::from(e).into()),
            }
        }
    }
    Err(OAuthError::Internal("no free username".into()).into())
}
