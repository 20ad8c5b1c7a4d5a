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
//! consent ([`ConsentCheck`]), for the signed-in user:
//! 5. first-party clients skip consent, unless `prompt=consent`;
//! 6. `prompt_consent`: `prompt=consent` asks again, which only a consent
//!    given in this interaction satisfies;
//! 7. `scopes_not_consented`: a scope or a resource (RFC 8707) the user has
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

use crate::domain::{Approval, Resources, Scope};

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
}

impl PromptError {
    /// The registered error code.
    pub fn code(self) -> &'static str {
        match self {
            PromptError::LoginRequired(_) => "login_required",
            PromptError::ConsentRequired(_) => "consent_required",
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
        return vec![Method::Otp];
    }
    available
        .iter()
        .copied()
        .filter(|m| !in_progress.is_some_and(|p| p.has(*m)))
        .collect()
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

/// The first consent check that asks for consent, if any.
fn consent_check(s: &Snapshot<'_>) -> Option<ConsentCheck> {
    if s.consented_here {
        return None;
    }
    // 5.
    if s.request.first_party && !s.request.prompt_consent {
        return None;
    }
    // 6.
    if s.request.prompt_consent {
        return Some(ConsentCheck::PromptConsent);
    }
    // 7.
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

    fn signed_in(at: i64) -> Option<SessionView<'static>> {
        Some(SessionView {
            sid: "sid-ann",
            user_id: "ann",
            auth_time: at,
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
                        user_id: "ann",
                        auth_time: NOW - 60,
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
}
