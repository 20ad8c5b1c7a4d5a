//! The interaction policy: what a browser sign-in needs next, decided by a
//! pure function from a [`Snapshot`] (the checked request, the SSO session,
//! what this interaction has done, the remembered consent, now) to a
//! [`Decision`]. Every step (a fresh `/authorize`, a login, a consent)
//! runs every check again, so no step can skip one.
//!
//! First, the sign-in in progress: what the person proved during this
//! interaction ([`Proofs`]) is weighed against what the account needs
//! ([`Requirement`]). Not enough yet is one more login check
//! (`more_proof_needed`), offering the methods still allowed. Enough, and
//! no SSO session made from it yet, is [`Decision::StartSession`]: the one
//! moment a session is made (so a session never exists for a half-done
//! sign-in), after which every check runs again.
//!
//! The checks, in the order [OpenID Connect Core §3.1.2] gives them, as
//! node-oidc-provider composes its `login` and `consent` prompts:
//!
//! login ([`LoginCheck`]):
//! 0. `more_proof_needed`: a sign-in here proved too little so far.
//! 1. `no_session`: nobody is signed in.
//! 2. `prompt_login`: `prompt=login` asks for a new sign-in, which only the
//!    session made from this interaction's proofs satisfies (§3.1.2.1).
//! 3. `max_age`: the last sign-in is older than `max_age` seconds
//!    (`max_age=0` is `prompt=login`), unless it happened in this
//!    interaction.
//! 4. `id_token_hint`: the signed-in user is not the one the hint names.
//!
//! then, with `prompt=none`, a needed login is the error `login_required`
//! (§3.1.2.6) instead of a page.
//!
//! 5. `step_up` (node-oidc-provider's `essential_acrs`): the level the
//!    request asks for ([`RequestedAcr`]: `acr_values`, an `acr` in
//!    `claims`, a client or user that requires a second factor) above the
//!    level the session reaches *now*: a second factor proven more than
//!    `second_factor_max_age` seconds ago no longer counts (unless the
//!    session was made in this interaction). Then, for a user with a
//!    second factor, the sign-in page offers only the one-time code (the
//!    session's first factor counts: no password again), and the code
//!    makes a new session with both proofs; with `prompt=none` that is
//!    `interaction_required`. A user without one who may enroll one is sent
//!    to enrollment ([`Decision::EnrollSecondFactor`]; the flow says
//!    `can_enroll` for every user). Otherwise an
//!    essential level fails ([`Decision::Unmet`]:
//!    `unmet_authentication_requirements`) and a voluntary one is issued
//!    at the level reached (the ID token's `acr` says which).
//!
//! consent ([`ConsentCheck`]), for the signed-in user:
//! 6. first-party clients skip consent, unless `prompt=consent`;
//! 7. `prompt_consent`: `prompt=consent` asks again, which only a consent
//!    given in this interaction satisfies;
//! 8. `scopes_not_consented`: a scope or a resource (RFC 8707) the user has
//!    not approved for this client (OpenID Connect Core §3.1.2.4: a
//!    remembered consent covers the same or fewer scopes and resources).
//!
//! then, with `prompt=none`, a needed consent is `consent_required`.
//! Otherwise a code is issued.
//!
//! An account with a confirmed second factor needs
//! [`Requirement::TwoFactors`]: after its password (or upstream sign-in)
//! `more_proof_needed` offers only the one-time code ([`Method::Otp`]), and
//! no session (so no consent and no code) exists before the code is
//! proven.
//!
//! Sign-in methods are a list ([`Method`]); the page shows exactly the
//! methods [`Decision::SignIn`] offers, and `amr` (RFC 8176) comes from
//! the proofs, through the session.
//!
//! [OpenID Connect Core §3.1.2]: https://openid.net/specs/openid-connect-core-1_0.html#AuthorizationEndpoint

use crate::domain::{Acr, Approval, RequestedAcr, Resources, Scope};

pub use crate::domain::Method;
use crate::domain::Proofs;

/// Why a sign-in is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginCheck {
    /// A sign-in in this interaction has not proved enough yet.
    MoreProofNeeded,
    /// Nobody is signed in.
    NoSession,
    /// `prompt=login`.
    PromptLogin,
    /// The sign-in is older than `max_age`.
    MaxAge,
    /// The signed-in user is not the `id_token_hint`'s.
    IdTokenHint,
    /// The session's level (its second factor, if any, younger than
    /// `second_factor_max_age`) is below the requested one.
    StepUp,
}

/// Why consent is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsentCheck {
    /// `prompt=consent`.
    PromptConsent,
    /// Scopes or resources the user has not approved for this client.
    ScopesNotConsented,
}

/// The `prompt=none` errors (OpenID Connect Core §3.1.2.6).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PromptError {
    /// A sign-in is needed.
    LoginRequired(LoginCheck),
    /// Consent is needed.
    ConsentRequired(ConsentCheck),
    /// A step-up (or a second factor's enrollment) is needed: the user
    /// must interact (`interaction_required`).
    InteractionRequired(LoginCheck),
}

impl PromptError {
    /// The registered error code.
    pub fn code(self) -> &'static str {
        match self {
            PromptError::LoginRequired(_) => "login_required",
            PromptError::ConsentRequired(_) => "consent_required",
            PromptError::InteractionRequired(_) => "interaction_required",
        }
    }

    /// The `error_description`: fixed words naming the check.
    pub fn description(self) -> &'static str {
        match self {
            PromptError::LoginRequired(LoginCheck::NoSession) => "the user is not signed in",
            PromptError::LoginRequired(LoginCheck::MoreProofNeeded) => "the sign-in is not complete",
            PromptError::LoginRequired(LoginCheck::PromptLogin) => "prompt=login needs a new sign-in",
            PromptError::LoginRequired(LoginCheck::MaxAge) => "the sign-in is older than max_age",
            PromptError::LoginRequired(LoginCheck::IdTokenHint) => {
                "the signed-in user is not the one id_token_hint names"
            }
            PromptError::LoginRequired(LoginCheck::StepUp) | PromptError::InteractionRequired(_) => {
                "the requested authentication level needs the user's second factor"
            }
            PromptError::ConsentRequired(_) => "the user has not consented",
        }
    }
}

/// What comes next.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Show the sign-in page, with these methods.
    SignIn {
        /// The check that asked for it.
        because: LoginCheck,
        /// The methods offered: the page shows these and no other.
        methods: Vec<Method>,
    },
    /// What was proven here is enough: make the SSO session from it, then
    /// decide again.
    StartSession,
    /// Ask the signed-in user to approve the requested scopes.
    AskConsent {
        /// The check that asked for it.
        because: ConsentCheck,
    },
    /// Issue the code.
    IssueCode,
    /// Answer the client with an error (`prompt=none`).
    Fail(PromptError),
    /// The essential requested level cannot be reached: answer the client
    /// with `unmet_authentication_requirements`.
    Unmet,
    /// The requested level needs a second factor the signed-in user does
    /// not have and may enroll now (only when the snapshot says
    /// `can_enroll`).
    EnrollSecondFactor,
}

/// How much a sign-in must prove before a session is made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Requirement {
    /// Any one of the offered methods: an account without a second
    /// factor.
    AnyMethod,
    /// A first factor (a password or an upstream provider), then a
    /// one-time code ([`Method::Otp`]): an account with a confirmed
    /// second factor.
    TwoFactors,
}

impl Requirement {
    /// Whether `proofs` meet it.
    pub fn met_by(self, proofs: &Proofs) -> bool {
        match self {
            Requirement::AnyMethod => !proofs.is_empty(),
            Requirement::TwoFactors => proofs.amr().two_factors(),
        }
    }
}

/// The SSO session, as the policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionView<'a> {
    /// Its `sid`.
    pub sid: &'a str,
    /// The signed-in user.
    pub user_id: &'a str,
    /// When they signed in.
    pub auth_time: i64,
    /// What they proved, and when.
    pub proofs: &'a Proofs,
    /// Whether the session's user has a second factor (read only when a
    /// level is requested: check 5 is its only reader).
    pub has_second_factor: bool,
    /// Whether the session's user has a passkey (the one way to a
    /// phishing-resistant level; read as `has_second_factor` is).
    pub has_passkey: bool,
    /// Whether the session's user may enroll a second factor during this
    /// sign-in (the flow says so for every user: any account can add an
    /// authenticator app).
    pub can_enroll: bool,
}

/// What a person proved during this interaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProvenHere<'a> {
    /// Whose proofs they are.
    pub user_id: &'a str,
    /// The methods proven, and when.
    pub proofs: &'a Proofs,
    /// The `sid` of the session made from them, once one was.
    pub session_sid: Option<&'a str>,
}

/// What the request asks of the interaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestView<'a> {
    /// `prompt=none`.
    pub prompt_none: bool,
    /// `prompt=login`.
    pub prompt_login: bool,
    /// `prompt=consent`.
    pub prompt_consent: bool,
    /// `max_age`.
    pub max_age: Option<i64>,
    /// The user the `id_token_hint` names.
    pub hint_subject: Option<&'a str>,
    /// The requested (granted) scope.
    pub scope: &'a Scope,
    /// The requested resources (RFC 8707).
    pub resources: &'a Resources,
    /// The client is first-party (skips consent).
    pub first_party: bool,
}

/// Everything the decision depends on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Snapshot<'a> {
    /// The request.
    pub request: RequestView<'a>,
    /// The SSO session, if the browser has one.
    pub session: Option<SessionView<'a>>,
    /// What was proven during this interaction, if anything was.
    pub proven_here: Option<ProvenHere<'a>>,
    /// What the sign-in must prove.
    pub required: Requirement,
    /// The level asked for: by the request, and by the client or the
    /// session's user when they require a second factor.
    pub requested: Option<RequestedAcr>,
    /// Seconds a second factor satisfies a requested two-factor level.
    pub second_factor_max_age: i64,
    /// The methods this server can offer (the password always; an
    /// upstream provider when one is configured).
    pub available: &'a [Method],
    /// Whether consent was given during this interaction.
    pub consented_here: bool,
    /// What the session's user approved for this client before.
    pub remembered_consent: Option<&'a Approval>,
    /// Now.
    pub now: i64,
}

/// The methods a sign-in page offers: every available one for a new
/// sign-in; while a sign-in here is in progress (proven, not yet enough),
/// the available ones it has not proven (a proven method is not asked for
/// again), and once a first factor is proven for an account that needs
/// two, only the one-time code.
pub fn offered(available: &[Method], proven_here: Option<&Proofs>, required: Requirement) -> Vec<Method> {
    let in_progress = proven_here.filter(|p| !required.met_by(p));
    let first_factor_proven =
        in_progress.is_some_and(|p| p.proofs().iter().any(|proof| proof.method.is_first_factor()));
    if required == Requirement::TwoFactors && first_factor_proven {
        return second_factors(available);
    }
    available
        .iter()
        .copied()
        .filter(|m| !in_progress.is_some_and(|p| p.has(*m)))
        .collect()
}

/// What a second-factor page offers: the one-time code (an authenticator
/// app's, or a recovery code), and a passkey where this server offers
/// passkeys (the page shows its button only to a user who has one).
fn second_factors(available: &[Method]) -> Vec<Method> {
    let mut methods = vec![Method::Otp];
    if available.contains(&Method::Passkey) {
        methods.push(Method::Passkey);
    }
    methods
}

/// Whether the browser's session is the one made from this interaction's
/// proofs.
fn session_from_here(s: &Snapshot<'_>, session: SessionView<'_>) -> bool {
    s.proven_here
        .is_some_and(|p| p.session_sid == Some(session.sid) && p.user_id == session.user_id)
}

/// The first login check that asks for a sign-in, if any.
fn login_check(s: &Snapshot<'_>) -> Option<LoginCheck> {
    // 0.
    if s.proven_here.is_some_and(|p| !s.required.met_by(p.proofs)) {
        return Some(LoginCheck::MoreProofNeeded);
    }
    // 1.
    let Some(session) = s.session else {
        return Some(LoginCheck::NoSession);
    };
    let fresh_here = session_from_here(s, session);
    // 2.
    if s.request.prompt_login && !fresh_here {
        return Some(LoginCheck::PromptLogin);
    }
    // 3.
    if let Some(max_age) = s.request.max_age {
        if !fresh_here && s.now - session.auth_time >= max_age {
            return Some(LoginCheck::MaxAge);
        }
    }
    // 4.
    if s.request.hint_subject.is_some_and(|sub| sub != session.user_id) {
        return Some(LoginCheck::IdTokenHint);
    }
    None
}

/// What check 5 needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum StepUp {
    /// Ask for the one-time code (or a passkey).
    Code,
    /// Ask for a passkey (a phishing-resistant level).
    Passkey,
    /// Enroll a second factor.
    Enroll,
    /// The essential level cannot be reached.
    Unmet,
}

/// The level `session` reaches now: two factors only while its second
/// factor is younger than `second_factor_max_age` (or it was made in
/// this interaction).
fn level_now(s: &Snapshot<'_>, session: SessionView<'_>) -> Acr {
    let fresh_here = session_from_here(s, session);
    let counts = |p: &crate::domain::Proof| {
        p.method.is_first_factor() || fresh_here || s.now - p.at < s.second_factor_max_age
    };
    crate::domain::Amr::of(
        session
            .proofs
            .proofs()
            .iter()
            .filter(|p| counts(p))
            .map(|p| p.method),
    )
    .acr()
}

/// Check 5: whether the signed-in session reaches the requested level,
/// and what to do when it does not.
fn step_up_check(s: &Snapshot<'_>) -> Option<StepUp> {
    let (Some(session), Some(requested)) = (s.session, s.requested) else {
        return None;
    };
    if level_now(s, session) >= requested.level {
        return None;
    }
    if requested.level == Acr::PhishingResistant {
        // Only a passkey reaches it.
        return if session.has_passkey {
            Some(StepUp::Passkey)
        } else if requested.essential {
            Some(StepUp::Unmet)
        } else {
            None
        };
    }
    if session.has_second_factor {
        Some(StepUp::Code)
    } else if session.can_enroll {
        Some(StepUp::Enroll)
    } else if requested.essential {
        Some(StepUp::Unmet)
    } else {
        // Voluntary: issued at the level reached.
        None
    }
}

/// The first consent check that asks for consent, if any.
fn consent_check(s: &Snapshot<'_>) -> Option<ConsentCheck> {
    if s.consented_here {
        return None;
    }
    // 6.
    if s.request.first_party && !s.request.prompt_consent {
        return None;
    }
    // 7.
    if s.request.prompt_consent {
        return Some(ConsentCheck::PromptConsent);
    }
    // 8.
    let covered = s
        .remembered_consent
        .is_some_and(|given| given.covers(s.request.scope, s.request.resources));
    (!covered).then_some(ConsentCheck::ScopesNotConsented)
}

/// What the interaction needs next.
pub fn decide(s: &Snapshot<'_>) -> Decision {
    // What was proven here is enough, and no session was made from it.
    if let Some(p) = s.proven_here {
        if s.required.met_by(p.proofs) && p.session_sid.is_none() {
            return Decision::StartSession;
        }
    }
    if let Some(because) = login_check(s) {
        return if s.request.prompt_none {
            Decision::Fail(PromptError::LoginRequired(because))
        } else {
            Decision::SignIn {
                because,
                methods: offered(s.available, s.proven_here.map(|p| p.proofs), s.required),
            }
        };
    }
    // 5.
    match step_up_check(s) {
        Some(StepUp::Code | StepUp::Passkey) if s.request.prompt_none => {
            return Decision::Fail(PromptError::InteractionRequired(LoginCheck::StepUp))
        }
        Some(StepUp::Code) => {
            // A code adds to the session's first factor; a session with
            // none (a passkey's, too old now) needs a passkey again.
            let passkey_alone = s.session.is_some_and(|session| {
                session.has_passkey && !session.proofs.proofs().iter().any(|p| p.method.is_first_factor())
            });
            return Decision::SignIn {
                because: LoginCheck::StepUp,
                methods: if passkey_alone {
                    vec![Method::Passkey]
                } else {
                    second_factors(s.available)
                },
            };
        }
        Some(StepUp::Passkey) => {
            return Decision::SignIn {
                because: LoginCheck::StepUp,
                methods: vec![Method::Passkey],
            }
        }
        Some(StepUp::Enroll) if s.request.prompt_none => {
            return Decision::Fail(PromptError::InteractionRequired(LoginCheck::StepUp))
        }
        Some(StepUp::Enroll) => return Decision::EnrollSecondFactor,
        Some(StepUp::Unmet) => return Decision::Unmet,
        None => {}
    }
    if let Some(because) = consent_check(s) {
        return if s.request.prompt_none {
            Decision::Fail(PromptError::ConsentRequired(because))
        } else {
            Decision::AskConsent { because }
        };
    }
    Decision::IssueCode
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 10_000;
    /// `second_factor_max_age` in the snapshots.
    const MAX_AGE: i64 = 300;

    /// A scope that lives as long as the test's snapshots.
    fn scope(text: &str) -> &'static Scope {
        Box::leak(Box::new(Scope::from_stored(text)))
    }

    /// Resources that live as long as the test's snapshots.
    fn resources(text: &str) -> &'static Resources {
        Box::leak(Box::new(Resources::from_stored(text)))
    }

    /// An approval of `scope` and `resources` that lives as long as the
    /// test's snapshots.
    fn approved(scope: &str, resources: &str) -> Option<&'static Approval> {
        Some(Box::leak(Box::new(Approval {
            scope: Scope::from_stored(scope),
            resources: Resources::from_stored(resources),
        })))
    }

    fn request() -> RequestView<'static> {
        RequestView {
            prompt_none: false,
            prompt_login: false,
            prompt_consent: false,
            max_age: None,
            hint_subject: None,
            scope: scope("openid profile"),
            resources: resources(""),
            first_party: false,
        }
    }

    /// Proofs that live as long as the test's snapshots.
    fn proofs(methods: &[(Method, i64)]) -> &'static Proofs {
        Box::leak(Box::new(
            methods.iter().fold(Proofs::none(), |p, (m, at)| p.with(*m, *at)),
        ))
    }

    fn signed_in(at: i64) -> Option<SessionView<'static>> {
        Some(SessionView {
            sid: "sid-ann",
            user_id: "ann",
            auth_time: at,
            proofs: proofs(&[(Method::Password, at)]),
            has_second_factor: false,
            has_passkey: false,
            can_enroll: false,
        })
    }

    /// `user` proved a password here at `NOW - 5`; `sid` is the session
    /// made from it, if one was.
    fn here(user: &'static str, sid: Option<&'static str>) -> Option<ProvenHere<'static>> {
        let proofs: &'static Proofs = Box::leak(Box::new(Proofs::none().with(Method::Password, NOW - 5)));
        Some(ProvenHere {
            user_id: user,
            proofs,
            session_sid: sid,
        })
    }

    fn snapshot() -> Snapshot<'static> {
        Snapshot {
            request: request(),
            session: signed_in(NOW - 60),
            proven_here: None,
            required: Requirement::AnyMethod,
            requested: None,
            second_factor_max_age: MAX_AGE,
            available: &[Method::Password, Method::Upstream],
            consented_here: false,
            remembered_consent: approved("openid profile email", "https://api.example"),
            now: NOW,
        }
    }

    fn sign_in(because: LoginCheck) -> Decision {
        Decision::SignIn {
            because,
            methods: vec![Method::Password, Method::Upstream],
        }
    }

    /// OpenID Connect Core §3.1.2.1 and §3.1.2.3, row by row: what each
    /// check asks for, and what satisfies it.
    #[test]
    fn login_checks() {
        let table: Vec<(&str, Snapshot<'static>, Decision)> = vec![
            ("signed in, consent remembered", snapshot(), Decision::IssueCode),
            (
                "no session",
                Snapshot {
                    session: None,
                    ..snapshot()
                },
                sign_in(LoginCheck::NoSession),
            ),
            (
                "prompt=login with an old session",
                Snapshot {
                    request: RequestView {
                        prompt_login: true,
                        ..request()
                    },
                    ..snapshot()
                },
                sign_in(LoginCheck::PromptLogin),
            ),
            (
                "prompt=login after signing in here",
                Snapshot {
                    request: RequestView {
                        prompt_login: true,
                        ..request()
                    },
                    proven_here: here("ann", Some("sid-ann")),
                    ..snapshot()
                },
                Decision::IssueCode,
            ),
            (
                "prompt=login, someone else signed in here",
                Snapshot {
                    request: RequestView {
                        prompt_login: true,
                        ..request()
                    },
                    proven_here: here("bob", Some("sid-bob")),
                    ..snapshot()
                },
                sign_in(LoginCheck::PromptLogin),
            ),
            (
                "max_age exceeded",
                Snapshot {
                    request: RequestView {
                        max_age: Some(30),
                        ..request()
                    },
                    ..snapshot()
                },
                sign_in(LoginCheck::MaxAge),
            ),
            (
                "max_age met",
                Snapshot {
                    request: RequestView {
                        max_age: Some(3600),
                        ..request()
                    },
                    ..snapshot()
                },
                Decision::IssueCode,
            ),
            (
                "max_age=0 is prompt=login",
                Snapshot {
                    request: RequestView {
                        max_age: Some(0),
                        ..request()
                    },
                    session: signed_in(NOW),
                    ..snapshot()
                },
                sign_in(LoginCheck::MaxAge),
            ),
            (
                "max_age=0 after signing in here",
                Snapshot {
                    request: RequestView {
                        max_age: Some(0),
                        ..request()
                    },
                    session: signed_in(NOW),
                    proven_here: here("ann", Some("sid-ann")),
                    ..snapshot()
                },
                Decision::IssueCode,
            ),
            (
                "id_token_hint names someone else",
                Snapshot {
                    request: RequestView {
                        hint_subject: Some("bob"),
                        ..request()
                    },
                    ..snapshot()
                },
                sign_in(LoginCheck::IdTokenHint),
            ),
            (
                "id_token_hint names the signed-in user",
                Snapshot {
                    request: RequestView {
                        hint_subject: Some("ann"),
                        ..request()
                    },
                    ..snapshot()
                },
                Decision::IssueCode,
            ),
        ];
        for (name, s, want) in table {
            assert_eq!(decide(&s), want, "{name}");
        }
    }

    /// §3.1.2.4 consent, and the first-party skip.
    #[test]
    fn consent_checks() {
        let table: Vec<(&str, Snapshot<'static>, Decision)> = vec![
            (
                "never consented",
                Snapshot {
                    remembered_consent: None,
                    ..snapshot()
                },
                Decision::AskConsent {
                    because: ConsentCheck::ScopesNotConsented,
                },
            ),
            (
                "more scopes than remembered",
                Snapshot {
                    remembered_consent: approved("openid", ""),
                    ..snapshot()
                },
                Decision::AskConsent {
                    because: ConsentCheck::ScopesNotConsented,
                },
            ),
            (
                "an API not approved before",
                Snapshot {
                    request: RequestView {
                        resources: resources("https://other.example"),
                        ..request()
                    },
                    ..snapshot()
                },
                Decision::AskConsent {
                    because: ConsentCheck::ScopesNotConsented,
                },
            ),
            (
                "an API approved before",
                Snapshot {
                    request: RequestView {
                        resources: resources("https://api.example"),
                        ..request()
                    },
                    ..snapshot()
                },
                Decision::IssueCode,
            ),
            (
                "consented here",
                Snapshot {
                    remembered_consent: None,
                    consented_here: true,
                    ..snapshot()
                },
                Decision::IssueCode,
            ),
            (
                "prompt=consent asks again",
                Snapshot {
                    request: RequestView {
                        prompt_consent: true,
                        ..request()
                    },
                    ..snapshot()
                },
                Decision::AskConsent {
                    because: ConsentCheck::PromptConsent,
                },
            ),
            (
                "first party skips",
                Snapshot {
                    request: RequestView {
                        first_party: true,
                        ..request()
                    },
                    remembered_consent: None,
                    ..snapshot()
                },
                Decision::IssueCode,
            ),
            (
                "first party with prompt=consent",
                Snapshot {
                    request: RequestView {
                        first_party: true,
                        prompt_consent: true,
                        ..request()
                    },
                    ..snapshot()
                },
                Decision::AskConsent {
                    because: ConsentCheck::PromptConsent,
                },
            ),
        ];
        for (name, s, want) in table {
            assert_eq!(decide(&s), want, "{name}");
        }
    }

    /// §3.1.2.6: with `prompt=none`, whatever would show a page is an
    /// error instead; login checks come before consent checks.
    #[test]
    fn prompt_none_turns_pages_into_errors() {
        let none = |s: Snapshot<'static>| Snapshot {
            request: RequestView {
                prompt_none: true,
                ..s.request
            },
            ..s
        };
        assert_eq!(
            decide(&none(Snapshot {
                session: None,
                remembered_consent: None,
                ..snapshot()
            })),
            Decision::Fail(PromptError::LoginRequired(LoginCheck::NoSession))
        );
        assert_eq!(
            decide(&none(Snapshot {
                remembered_consent: None,
                ..snapshot()
            })),
            Decision::Fail(PromptError::ConsentRequired(ConsentCheck::ScopesNotConsented))
        );
        assert_eq!(decide(&none(snapshot())), Decision::IssueCode);
        assert_eq!(
            PromptError::LoginRequired(LoginCheck::MaxAge).code(),
            "login_required"
        );
    }

    /// The consent-bypass regression: consenting in this interaction does
    /// not satisfy `prompt=login`, `max_age` or `id_token_hint`.
    #[test]
    fn consent_never_stands_in_for_a_sign_in() {
        for request in [
            RequestView {
                prompt_login: true,
                ..request()
            },
            RequestView {
                max_age: Some(1),
                ..request()
            },
            RequestView {
                hint_subject: Some("bob"),
                ..request()
            },
        ] {
            let s = Snapshot {
                request,
                consented_here: true,
                ..snapshot()
            };
            assert!(matches!(decide(&s), Decision::SignIn { .. }), "{request:?}");
        }
    }

    /// A sign-in in progress: a session is made only once the proofs are
    /// enough, once, and only from this interaction's proofs.
    #[test]
    fn sign_in_state() {
        let table: Vec<(&str, Snapshot<'static>, Decision)> = vec![
            (
                "proven here, no session made yet",
                Snapshot {
                    session: None,
                    proven_here: here("ann", None),
                    ..snapshot()
                },
                Decision::StartSession,
            ),
            (
                "proven here while another user's session is the browser's",
                Snapshot {
                    proven_here: here("bob", None),
                    ..snapshot()
                },
                Decision::StartSession,
            ),
            (
                "the session made here",
                Snapshot {
                    proven_here: here("ann", Some("sid-ann")),
                    request: RequestView {
                        prompt_login: true,
                        ..request()
                    },
                    ..snapshot()
                },
                Decision::IssueCode,
            ),
            (
                "the session made here has ended: no new one from old proofs",
                Snapshot {
                    session: None,
                    proven_here: here("ann", Some("sid-ann")),
                    ..snapshot()
                },
                sign_in(LoginCheck::NoSession),
            ),
            (
                "another session with the same user is not the one made here",
                Snapshot {
                    session: Some(SessionView {
                        sid: "sid-elsewhere",
                        ..signed_in(NOW - 60).unwrap()
                    }),
                    proven_here: here("ann", Some("sid-ann")),
                    request: RequestView {
                        prompt_login: true,
                        ..request()
                    },
                    ..snapshot()
                },
                sign_in(LoginCheck::PromptLogin),
            ),
        ];
        for (name, s, want) in table {
            assert_eq!(decide(&s), want, "{name}");
        }
    }

    /// `user` proved `methods` here at `NOW - 5`; no session made yet.
    fn proved(user: &'static str, methods: &[Method]) -> Option<ProvenHere<'static>> {
        let proofs = methods.iter().fold(Proofs::none(), |p, m| p.with(*m, NOW - 5));
        Some(ProvenHere {
            user_id: user,
            proofs: Box::leak(Box::new(proofs)),
            session_sid: None,
        })
    }

    /// Issue 19: an account with a second factor signs in with a first
    /// factor and then a one-time code; nothing else starts its session.
    #[test]
    fn second_factor_rows() {
        let two = |proven_here, session| Snapshot {
            session,
            proven_here,
            required: Requirement::TwoFactors,
            ..snapshot()
        };
        let otp_only = Decision::SignIn {
            because: LoginCheck::MoreProofNeeded,
            methods: vec![Method::Otp],
        };
        let table: Vec<(&str, Snapshot<'static>, Decision)> = vec![
            (
                "password alone: the code is asked",
                two(proved("ann", &[Method::Password]), None),
                otp_only.clone(),
            ),
            (
                "password alone, with an older session of the same user",
                two(proved("ann", &[Method::Password]), signed_in(NOW - 60)),
                otp_only.clone(),
            ),
            (
                "upstream alone: the code is asked",
                two(proved("ann", &[Method::Upstream]), None),
                otp_only.clone(),
            ),
            (
                "a code alone is not a sign-in",
                two(proved("ann", &[Method::Otp]), None),
                Decision::SignIn {
                    because: LoginCheck::MoreProofNeeded,
                    methods: vec![Method::Password, Method::Upstream],
                },
            ),
            (
                "password and code",
                two(proved("ann", &[Method::Password, Method::Otp]), None),
                Decision::StartSession,
            ),
            (
                "upstream and code",
                two(proved("ann", &[Method::Upstream, Method::Otp]), None),
                Decision::StartSession,
            ),
            (
                "one factor is enough without a second factor",
                Snapshot {
                    session: None,
                    proven_here: proved("ann", &[Method::Password]),
                    ..snapshot()
                },
                Decision::StartSession,
            ),
        ];
        for (name, s, want) in table {
            assert_eq!(decide(&s), want, "{name}");
        }
        // prompt=none cannot ask for the code.
        let mut s = two(proved("ann", &[Method::Password]), signed_in(NOW - 60));
        s.request.prompt_none = true;
        assert_eq!(
            decide(&s),
            Decision::Fail(PromptError::LoginRequired(LoginCheck::MoreProofNeeded))
        );
        let pwd = Proofs::none().with(Method::Password, 1);
        assert!(!Requirement::TwoFactors.met_by(&pwd));
        assert!(!Requirement::TwoFactors.met_by(&Proofs::none().with(Method::Otp, 1)));
        assert!(Requirement::TwoFactors.met_by(&pwd.with(Method::Otp, 2)));
    }

    /// Issue 19, item 4: a requested level against the session's, row by
    /// row (check 5 of the module): step-up to the code, its maximum age,
    /// essential and voluntary levels that cannot be met, `prompt=none`.
    #[test]
    fn step_up_rows() {
        let two = |essential| {
            Some(RequestedAcr {
                level: Acr::TwoFactors,
                essential,
            })
        };
        let one = |essential| {
            Some(RequestedAcr {
                level: Acr::OneFactor,
                essential,
            })
        };
        // ann's session: a password an hour ago, and maybe a code.
        let session = |otp_at: Option<i64>, has_second_factor: bool, can_enroll: bool| {
            let mut methods = vec![(Method::Password, NOW - 3600)];
            methods.extend(otp_at.map(|at| (Method::Otp, at)));
            Some(SessionView {
                sid: "sid-ann",
                user_id: "ann",
                auth_time: NOW - 3600,
                proofs: proofs(&methods),
                has_second_factor,
                has_passkey: false,
                can_enroll,
            })
        };
        let asked = |session, requested| Snapshot {
            session,
            requested,
            ..snapshot()
        };
        let code_only = Decision::SignIn {
            because: LoginCheck::StepUp,
            methods: vec![Method::Otp],
        };
        let table: Vec<(&str, Snapshot<'static>, Decision)> = vec![
            (
                "nothing requested: one factor is issued",
                asked(session(None, true, false), None),
                Decision::IssueCode,
            ),
            (
                "1fa requested, 1fa reached",
                asked(session(None, true, false), one(true)),
                Decision::IssueCode,
            ),
            (
                "2fa requested of a 1fa session, user with a factor: only the code",
                asked(session(None, true, false), two(false)),
                code_only.clone(),
            ),
            (
                "2fa essential of a 1fa session, user with a factor: only the code",
                asked(session(None, true, false), two(true)),
                code_only.clone(),
            ),
            (
                "2fa requested, code proven within the maximum age",
                asked(session(Some(NOW - MAX_AGE + 1), true, false), two(true)),
                Decision::IssueCode,
            ),
            (
                "2fa requested, code older than the maximum age: asked again",
                asked(session(Some(NOW - MAX_AGE), true, false), two(false)),
                code_only.clone(),
            ),
            (
                "an old code still satisfies a 1fa request",
                asked(session(Some(NOW - 5000), true, false), one(false)),
                Decision::IssueCode,
            ),
            (
                "2fa voluntary, user without a factor: issued at 1fa",
                asked(session(None, false, false), two(false)),
                Decision::IssueCode,
            ),
            (
                "2fa essential, user without a factor: unmet",
                asked(session(None, false, false), two(true)),
                Decision::Unmet,
            ),
            (
                "2fa essential, user without a factor who may enroll: enrollment",
                asked(session(None, false, true), two(true)),
                Decision::EnrollSecondFactor,
            ),
            (
                "2fa voluntary, user without a factor who may enroll: enrollment",
                asked(session(None, false, true), two(false)),
                Decision::EnrollSecondFactor,
            ),
            (
                "no session: signing in comes first",
                asked(None, two(true)),
                sign_in(LoginCheck::NoSession),
            ),
            (
                "a session made here with an old code is not asked again",
                Snapshot {
                    proven_here: Some(ProvenHere {
                        user_id: "ann",
                        proofs: proofs(&[(Method::Password, NOW - 4000), (Method::Otp, NOW - 4000)]),
                        session_sid: Some("sid-ann"),
                    }),
                    ..asked(session(Some(NOW - 4000), true, false), two(true))
                },
                Decision::IssueCode,
            ),
            (
                "the step-up comes before consent",
                Snapshot {
                    remembered_consent: None,
                    ..asked(session(None, true, false), two(false))
                },
                code_only.clone(),
            ),
            (
                "a code without a first factor is not two factors",
                Snapshot {
                    session: Some(SessionView {
                        proofs: proofs(&[(Method::Otp, NOW)]),
                        ..session(None, true, false).unwrap()
                    }),
                    requested: two(true),
                    ..snapshot()
                },
                code_only.clone(),
            ),
        ];
        for (name, s, want) in table {
            assert_eq!(decide(&s), want, "{name}");
        }
        // Passkeys: the one way to `phr`; two factors on their own.
        let phr = |essential| {
            Some(RequestedAcr {
                level: Acr::PhishingResistant,
                essential,
            })
        };
        let with_passkey = |methods: &[(Method, i64)], has_passkey: bool| {
            Some(SessionView {
                sid: "sid-ann",
                user_id: "ann",
                auth_time: NOW - 3600,
                proofs: proofs(methods),
                has_second_factor: true,
                has_passkey,
                can_enroll: false,
            })
        };
        let with_passkeys_offered = |session, requested| Snapshot {
            available: &[Method::Password, Method::Passkey],
            ..asked(session, requested)
        };
        let passkey_only = Decision::SignIn {
            because: LoginCheck::StepUp,
            methods: vec![Method::Passkey],
        };
        let table: Vec<(&str, Snapshot<'static>, Decision)> = vec![
            (
                "phr requested of a 2fa session, user with a passkey: only the passkey",
                asked(
                    with_passkey(&[(Method::Password, NOW - 60), (Method::Otp, NOW - 60)], true),
                    phr(true),
                ),
                passkey_only.clone(),
            ),
            (
                "phr essential, user without a passkey: unmet",
                asked(with_passkey(&[(Method::Password, NOW - 60)], false), phr(true)),
                Decision::Unmet,
            ),
            (
                "phr voluntary, user without a passkey: issued at the level reached",
                asked(with_passkey(&[(Method::Password, NOW - 60)], false), phr(false)),
                Decision::IssueCode,
            ),
            (
                "a fresh passkey reaches phr",
                asked(with_passkey(&[(Method::Passkey, NOW - 60)], true), phr(true)),
                Decision::IssueCode,
            ),
            (
                "a fresh passkey reaches 2fa",
                asked(with_passkey(&[(Method::Passkey, NOW - 60)], true), two(true)),
                Decision::IssueCode,
            ),
            (
                "a passkey older than the maximum age, no first factor: the passkey again",
                asked(with_passkey(&[(Method::Passkey, NOW - MAX_AGE)], true), two(true)),
                passkey_only.clone(),
            ),
            (
                "2fa of a 1fa session where passkeys are offered: the code or a passkey",
                with_passkeys_offered(with_passkey(&[(Method::Password, NOW - 60)], true), two(true)),
                Decision::SignIn {
                    because: LoginCheck::StepUp,
                    methods: vec![Method::Otp, Method::Passkey],
                },
            ),
        ];
        for (name, s, want) in table {
            assert_eq!(decide(&s), want, "{name}");
        }
        // prompt=none: a needed step-up or enrollment is
        // interaction_required; an unmeetable essential level is still
        // unmet.
        let none = |s: Snapshot<'static>| Snapshot {
            request: RequestView {
                prompt_none: true,
                ..s.request
            },
            ..s
        };
        let interaction = Decision::Fail(PromptError::InteractionRequired(LoginCheck::StepUp));
        assert_eq!(
            decide(&none(asked(session(None, true, false), two(false)))),
            interaction
        );
        assert_eq!(
            decide(&none(asked(session(None, false, true), two(true)))),
            interaction
        );
        assert_eq!(
            decide(&none(asked(session(None, false, false), two(true)))),
            Decision::Unmet
        );
        assert_eq!(
            PromptError::InteractionRequired(LoginCheck::StepUp).code(),
            "interaction_required"
        );
    }

    #[test]
    fn requirements_and_offered_methods() {
        assert!(!Requirement::AnyMethod.met_by(&Proofs::none()));
        assert!(Requirement::AnyMethod.met_by(&Proofs::none().with(Method::Upstream, 1)));
        // A new sign-in is offered every available method, even one a
        // person proved earlier in the interaction.
        let all = [Method::Upstream, Method::Password];
        let pwd = Proofs::none().with(Method::Password, 1);
        assert_eq!(offered(&all, None, Requirement::AnyMethod), all);
        assert_eq!(offered(&all, Some(&pwd), Requirement::AnyMethod), all);
        // While in progress (here: nothing proven yet counts as such only
        // with proofs), what is proven is not asked for again.
        assert_eq!(offered(&all, Some(&Proofs::none()), Requirement::AnyMethod), all);
        let password_only = Snapshot {
            session: None,
            available: &[Method::Password],
            ..snapshot()
        };
        assert_eq!(
            decide(&password_only),
            Decision::SignIn {
                because: LoginCheck::NoSession,
                methods: vec![Method::Password]
            }
        );
    }

    /// Issue 19, item 5: a trusted upstream provider's own second factor
    /// ([`Method::UpstreamMfa`], proven with the upstream sign-in) meets
    /// [`Requirement::TwoFactors`] and a requested 2fa level while younger
    /// than `second_factor_max_age`, like a one-time code; the upstream
    /// sign-in alone does neither.
    #[test]
    fn an_upstream_second_factor_counts_like_the_code() {
        let fed = |at| [(Method::Upstream, at)];
        let fed_mfa = |at| [(Method::Upstream, at), (Method::UpstreamMfa, at)];
        let here = |p: &'static Proofs| {
            Some(ProvenHere {
                user_id: "ann",
                proofs: p,
                session_sid: None,
            })
        };
        let two = |proven_here| Snapshot {
            session: None,
            proven_here,
            required: Requirement::TwoFactors,
            ..snapshot()
        };
        assert_eq!(decide(&two(here(proofs(&fed_mfa(NOW))))), Decision::StartSession);
        assert_eq!(
            decide(&two(here(proofs(&fed(NOW))))),
            Decision::SignIn {
                because: LoginCheck::MoreProofNeeded,
                methods: vec![Method::Otp],
            }
        );
        let session = |p: &'static Proofs| {
            Some(SessionView {
                proofs: p,
                has_second_factor: true,
                ..signed_in(NOW - MAX_AGE).unwrap()
            })
        };
        let step_up = |session| Snapshot {
            session,
            requested: Some(RequestedAcr::MFA_REQUIRED),
            ..snapshot()
        };
        let code_only = Decision::SignIn {
            because: LoginCheck::StepUp,
            methods: vec![Method::Otp],
        };
        assert_eq!(
            decide(&step_up(session(proofs(&fed_mfa(NOW - MAX_AGE + 1))))),
            Decision::IssueCode
        );
        assert_eq!(
            decide(&step_up(session(proofs(&fed_mfa(NOW - MAX_AGE))))),
            code_only
        );
        assert_eq!(decide(&step_up(session(proofs(&fed(NOW))))), code_only);
        // Beside a password only, it is no second factor.
        let pwd_mfa = [(Method::Password, NOW), (Method::UpstreamMfa, NOW)];
        assert_eq!(decide(&step_up(session(proofs(&pwd_mfa)))), code_only);
    }
}
