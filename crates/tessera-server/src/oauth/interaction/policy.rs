//! The interaction policy: what a browser sign-in needs next, decided by a
//! pure function from a [`Snapshot`] (the checked request, the SSO session,
//! what this interaction has done, the remembered consent, now) to a
//! [`Decision`]. Every step (a fresh `/authorize`, a login, a consent)
//! runs every check again, so no step can skip one.
//!
//! The checks, in the order [OpenID Connect Core §3.1.2] gives them, as
//! node-oidc-provider composes its `login` and `consent` prompts:
//!
//! login ([`LoginCheck`]):
//! 1. `no_session`: nobody is signed in.
//! 2. `prompt_login`: `prompt=login` asks for a new sign-in, which only a
//!    sign-in during this interaction satisfies (§3.1.2.1).
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
//! 7. `scopes_not_consented`: a scope the user has not approved for this
//!    client (OpenID Connect Core §3.1.2.4: a remembered consent covers the
//!    same or fewer scopes).
//!
//! then, with `prompt=none`, a needed consent is `consent_required`.
//! Otherwise a code is issued.
//!
//! Sign-in methods are a list ([`Method`]): today the password; an upstream
//! provider or a second factor is one more variant, and `amr` (RFC 8176)
//! comes from what the interaction recorded.
//!
//! [OpenID Connect Core §3.1.2]: https://openid.net/specs/openid-connect-core-1_0.html#AuthorizationEndpoint

use crate::domain::Scope;

pub use crate::domain::Method;

/// Why a sign-in is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoginCheck {
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
    /// Scopes the user has not approved for this client.
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
        /// The methods offered.
        methods: Vec<Method>,
    },
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

/// The SSO session, as the policy sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SessionView<'a> {
    /// The signed-in user.
    pub user_id: &'a str,
    /// When they signed in.
    pub auth_time: i64,
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
    /// The user who signed in during this interaction, if one did.
    pub signed_in_here: Option<&'a str>,
    /// Whether consent was given during this interaction.
    pub consented_here: bool,
    /// The scope the session's user approved for this client before.
    pub remembered_consent: Option<&'a Scope>,
    /// Now.
    pub now: i64,
}

/// The methods a sign-in offers.
fn methods() -> Vec<Method> {
    vec![Method::Password, Method::Upstream]
}

/// The first login check that asks for a sign-in, if any.
fn login_check(s: &Snapshot<'_>) -> Option<LoginCheck> {
    // 1.
    let Some(session) = s.session else {
        return Some(LoginCheck::NoSession);
    };
    let fresh_here = s.signed_in_here == Some(session.user_id);
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
        .is_some_and(|given| given.covers(s.request.scope));
    (!covered).then_some(ConsentCheck::ScopesNotConsented)
}

/// What the interaction needs next.
pub fn decide(s: &Snapshot<'_>) -> Decision {
    if let Some(because) = login_check(s) {
        return if s.request.prompt_none {
            Decision::Fail(PromptError::LoginRequired(because))
        } else {
            Decision::SignIn {
                because,
                methods: methods(),
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

    fn request() -> RequestView<'static> {
        RequestView {
            prompt_none: false,
            prompt_login: false,
            prompt_consent: false,
            max_age: None,
            hint_subject: None,
            scope: scope("openid profile"),
            first_party: false,
        }
    }

    fn signed_in(at: i64) -> Option<SessionView<'static>> {
        Some(SessionView {
            user_id: "ann",
            auth_time: at,
        })
    }

    fn snapshot() -> Snapshot<'static> {
        Snapshot {
            request: request(),
            session: signed_in(NOW - 60),
            signed_in_here: None,
            consented_here: false,
            remembered_consent: Some(scope("openid profile email")),
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
                    signed_in_here: Some("ann"),
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
                    signed_in_here: Some("bob"),
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
                    signed_in_here: Some("ann"),
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
                    remembered_consent: Some(scope("openid")),
                    ..snapshot()
                },
                Decision::AskConsent {
                    because: ConsentCheck::ScopesNotConsented,
                },
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
}
