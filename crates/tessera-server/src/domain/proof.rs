//! What a sign-in proved: the [`Method`]s a person proved during one
//! interaction, each with the time it was proven ([`Proofs`]), and the set
//! of methods an SSO session or a code carries on to the ID token's `amr`
//! ([`Amr`]).
//!
//! A sign-in is a small state machine over these values (as Kanidm's
//! `CredState`): each step adds a proof; the interaction policy
//! (`oauth::interaction::policy`) says whether what is proven is enough,
//! and only then is an SSO session made. `amr` ([OpenID Connect Core §2],
//! [RFC 8176 §2]) and `auth_time` are derived from the proofs, never
//! written by hand.
//!
//! [OpenID Connect Core §2]: https://openid.net/specs/openid-connect-core-1_0.html#IDToken
//! [RFC 8176 §2]: https://www.rfc-editor.org/rfc/rfc8176#section-2

use super::Method;

/// A stored value that does not name known methods.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a list of sign-in methods: {0:?}")]
pub struct UnknownMethod(pub String);

/// The authentication context class a sign-in reached (the ID token's
/// `acr`, OpenID Connect Core §2), from its methods.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Acr {
    /// One factor (a password, or an upstream provider).
    OneFactor,
    /// Two factors of different kinds: a first factor and a one-time code
    /// or a passkey.
    TwoFactors,
    /// Phishing-resistant: a passkey (a user-verified WebAuthn assertion,
    /// bound by the browser to this origin). `phr` is the OpenID
    /// Extended Authentication Profile's value.
    PhishingResistant,
}

impl Acr {
    /// Every level, lowest first, as discovery's `acr_values_supported`
    /// lists them.
    pub const ALL: [Acr; 3] = [Acr::OneFactor, Acr::TwoFactors, Acr::PhishingResistant];

    /// The `acr` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Acr::OneFactor => "urn:tessera:acr:1fa",
            Acr::TwoFactors => "urn:tessera:acr:2fa",
            Acr::PhishingResistant => "phr",
        }
    }

    /// The level an `acr` value names, if it is one of ours (an unknown
    /// value in a request is ignored, OpenID Connect Core §3.1.2.1).
    pub fn from_value(value: &str) -> Option<Acr> {
        Acr::ALL.into_iter().find(|a| a.as_str() == value)
    }
}

/// The level a sign-in must reach for one authorization request, and
/// whether it is essential.
///
/// A request names levels with `acr_values` (voluntary, [OpenID Connect
/// Core §3.1.2.1]) or with an `acr` member of the `claims` parameter
/// ([§5.5.1.1]: essential when `"essential": true`); a client or a user
/// that requires a second factor makes two factors essential. Of several
/// levels named, the lowest recognised one is asked for: a sign-in that
/// reached a higher level satisfies a lower request.
///
/// [OpenID Connect Core §3.1.2.1]: https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
/// [§5.5.1.1]: https://openid.net/specs/openid-connect-core-1_0.html#acrSemantics
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RequestedAcr {
    /// The lowest level that satisfies the request.
    pub level: Acr,
    /// Whether a sign-in that cannot reach it fails
    /// (`unmet_authentication_requirements`) rather than being issued at
    /// the level it reached.
    pub essential: bool,
}

impl RequestedAcr {
    /// Two factors, essential: what a client or a user that requires a
    /// second factor asks of every sign-in.
    pub const MFA_REQUIRED: RequestedAcr = RequestedAcr {
        level: Acr::TwoFactors,
        essential: true,
    };

    /// The lowest level of `values` that is one of ours, if any is.
    pub fn lowest_of<'v>(values: impl IntoIterator<Item = &'v str>, essential: bool) -> Option<RequestedAcr> {
        values
            .into_iter()
            .filter_map(Acr::from_value)
            .min()
            .map(|level| RequestedAcr { level, essential })
    }

    /// The stricter of two requests: the higher level; at one level,
    /// essential if either is. (With two levels, of which every sign-in
    /// reaches the lower, an essential lower level that a voluntary higher
    /// one replaces is always met; a third level will need both kept.)
    pub fn stricter(a: Option<RequestedAcr>, b: Option<RequestedAcr>) -> Option<RequestedAcr> {
        match (a, b) {
            (Some(a), Some(b)) if a.level == b.level => Some(RequestedAcr {
                level: a.level,
                essential: a.essential || b.essential,
            }),
            (Some(a), Some(b)) => Some(if a.level > b.level { a } else { b }),
            (a, None) => a,
            (None, b) => b,
        }
    }
}

/// The `amr` value (RFC 8176 §2) of a sign-in with more than one factor.
pub const MFA: &str = "mfa";

/// A set of sign-in methods, each at most once, in [`Method::ALL`]'s
/// order: how a session's user signed in, as its `amr` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Amr(Vec<Method>);

impl Amr {
    /// The set of `methods` (duplicates dropped).
    pub fn of(methods: impl IntoIterator<Item = Method>) -> Amr {
        let mut list: Vec<Method> = methods.into_iter().collect();
        list.sort();
        list.dedup();
        Amr(list)
    }

    /// The methods.
    pub fn methods(&self) -> &[Method] {
        &self.0
    }

    /// Whether no method is in the set.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The methods' `amr` values.
    pub fn values(&self) -> Vec<&'static str> {
        self.0.iter().map(|m| m.amr()).collect()
    }

    /// Whether the methods are two factors of different kinds: a first
    /// factor and a one-time code; a passkey (possession of the key and
    /// the person's verification by the authenticator); or an upstream
    /// sign-in and that provider's own second factor
    /// ([`Method::UpstreamMfa`], never on its own nor beside another first
    /// factor alone).
    pub fn two_factors(&self) -> bool {
        let has = |m| self.0.contains(&m);
        let local = has(Method::Otp) && self.0.iter().any(|m| m.is_first_factor());
        has(Method::Passkey) || local || (has(Method::UpstreamMfa) && has(Method::Upstream))
    }

    /// The level reached (the ID token's `acr`).
    pub fn acr(&self) -> Acr {
        if self.0.contains(&Method::Passkey) {
            Acr::PhishingResistant
        } else if self.two_factors() {
            Acr::TwoFactors
        } else {
            Acr::OneFactor
        }
    }

    /// The `amr` claim's values: the methods', and `mfa` (RFC 8176 §2,
    /// "multiple-factor authentication") after two factors, each once. An
    /// upstream provider's own second factor ([`Method::UpstreamMfa`]) is
    /// said by `mfa` alone: its stored name is no claim value.
    pub fn claim_values(&self) -> Vec<&'static str> {
        let mut values: Vec<&'static str> = self
            .0
            .iter()
            .filter(|m| **m != Method::UpstreamMfa)
            .map(|m| m.amr())
            .collect();
        if self.two_factors() && !values.contains(&MFA) {
            values.push(MFA);
        }
        values
    }

    /// The stored form: the methods' `amr` values separated by spaces.
    pub fn to_stored(&self) -> String {
        self.values().join(" ")
    }

    /// Reads [`Amr::to_stored`]'s form back; a value that is not one of
    /// ours is an error, never dropped.
    pub fn from_stored(text: &str) -> Result<Amr, UnknownMethod> {
        text.split_ascii_whitespace()
            .map(|v| Method::from_amr(v).ok_or_else(|| UnknownMethod(v.to_owned())))
            .collect::<Result<Vec<_>, _>>()
            .map(Amr::of)
    }
}

impl serde::Serialize for Amr {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.claim_values())
    }
}

/// One method proven, and when (seconds since the epoch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Proof {
    /// The method.
    pub method: Method,
    /// When it was proven.
    pub at: i64,
}

/// The methods proven during one sign-in, each with the time it was last
/// proven, in [`Method::ALL`]'s order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Proofs(Vec<Proof>);

impl Proofs {
    /// Nothing proven yet.
    pub fn none() -> Proofs {
        Proofs::default()
    }

    /// These proofs and `method` proven `at` (a method proven again keeps
    /// the later time).
    pub fn with(mut self, method: Method, at: i64) -> Proofs {
        match self.0.iter_mut().find(|p| p.method == method) {
            Some(p) => p.at = p.at.max(at),
            None => {
                self.0.push(Proof { method, at });
                self.0.sort_by_key(|p| p.method);
            }
        }
        self
    }

    /// The proofs.
    pub fn proofs(&self) -> &[Proof] {
        &self.0
    }

    /// Whether nothing is proven.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `method` is proven.
    pub fn has(&self, method: Method) -> bool {
        self.0.iter().any(|p| p.method == method)
    }

    /// When the sign-in was complete: the latest proof's time (the ID
    /// token's `auth_time`, OpenID Connect Core §2: "time when the
    /// End-User authentication occurred").
    pub fn completed_at(&self) -> Option<i64> {
        self.0.iter().map(|p| p.at).max()
    }

    /// When `method` was proven, if it was.
    pub fn proven_at(&self, method: Method) -> Option<i64> {
        self.0.iter().find(|p| p.method == method).map(|p| p.at)
    }

    /// When the second factor was proven, if one was: the one-time code,
    /// or the upstream provider's own second factor (proven with, and so
    /// at the time of, the upstream sign-in) when the upstream sign-in is
    /// proven too; the later of them.
    pub fn second_factor_at(&self) -> Option<i64> {
        let upstream_mfa = self
            .proven_at(Method::UpstreamMfa)
            .filter(|_| self.has(Method::Upstream));
        self.proven_at(Method::Otp).max(upstream_mfa)
    }

    /// Only the first factors of these proofs (what a step-up keeps of a
    /// session: its second factor is asked again).
    pub fn first_factors(&self) -> Proofs {
        Proofs(
            self.0
                .iter()
                .copied()
                .filter(|p| p.method.is_first_factor())
                .collect(),
        )
    }

    /// Proofs of the methods of `amr`, each at `at`: how a session stored
    /// before proofs were (only its `amr` and `auth_time`) is read.
    pub fn of_amr(amr: &Amr, at: i64) -> Proofs {
        amr.methods()
            .iter()
            .fold(Proofs::none(), |proofs, m| proofs.with(*m, at))
    }

    /// The methods, as `amr`.
    pub fn amr(&self) -> Amr {
        Amr::of(self.0.iter().map(|p| p.method))
    }

    /// The stored form: `amr=time` pairs separated by spaces.
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|p| format!("{}={}", p.method.amr(), p.at))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Reads [`Proofs::to_stored`]'s form back.
    pub fn from_stored(text: &str) -> Result<Proofs, UnknownMethod> {
        text.split_ascii_whitespace()
            .try_fold(Proofs::none(), |proofs, pair| {
                let bad = || UnknownMethod(pair.to_owned());
                let (name, at) = pair.split_once('=').ok_or_else(bad)?;
                let method = Method::from_amr(name).ok_or_else(bad)?;
                let at = at.parse::<i64>().map_err(|_| bad())?;
                Ok(proofs.with(method, at))
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_is_a_set_in_a_fixed_order() {
        let amr = Amr::of([Method::Upstream, Method::Password, Method::Upstream]);
        assert_eq!(amr.values(), ["fed", "pwd"]);
        assert_eq!(amr.to_stored(), "fed pwd");
        assert_eq!(Amr::from_stored("pwd fed"), Ok(amr.clone()));
        assert_eq!(
            serde_json::to_string(&amr).ok().as_deref(),
            Some(r#"["fed","pwd"]"#)
        );
        assert_eq!(Amr::from_stored(""), Ok(Amr::default()));
    }

    #[test]
    fn an_unknown_stored_method_is_an_error_not_dropped() {
        assert_eq!(Amr::from_stored("pwd swk"), Err(UnknownMethod("swk".into())));
        // `mfa` is said of a claim, never stored.
        assert_eq!(Amr::from_stored("pwd mfa"), Err(UnknownMethod("mfa".into())));
        for bad in ["pwd", "pwd=", "pwd=x", "swk=5", "mfa=5", "=5"] {
            assert!(Proofs::from_stored(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_passkey_is_two_factors_and_phishing_resistant() {
        let passkey = Amr::of([Method::Passkey]);
        assert!(passkey.two_factors());
        assert_eq!(passkey.acr(), Acr::PhishingResistant);
        assert_eq!(passkey.claim_values(), ["hwk", "mfa"]);
        let after_password = Amr::of([Method::Passkey, Method::Password]);
        assert_eq!(after_password.acr(), Acr::PhishingResistant);
        assert_eq!(after_password.claim_values(), ["pwd", "hwk", "mfa"]);
        assert_eq!(Amr::from_stored(&after_password.to_stored()), Ok(after_password));
        assert!(Acr::PhishingResistant > Acr::TwoFactors);
        assert_eq!(
            Acr::ALL.map(Acr::as_str),
            ["urn:tessera:acr:1fa", "urn:tessera:acr:2fa", "phr"]
        );
    }

    #[test]
    fn two_factors_are_a_first_factor_and_a_code() {
        let one = Amr::of([Method::Upstream, Method::Password]);
        assert_eq!(one.acr(), Acr::OneFactor);
        assert_eq!(one.claim_values(), ["fed", "pwd"]);
        assert_eq!(Amr::of([Method::Otp]).acr(), Acr::OneFactor);
        let two = Amr::of([Method::Otp, Method::Password]);
        assert_eq!(two.acr(), Acr::TwoFactors);
        assert_eq!(two.claim_values(), ["pwd", "otp", "mfa"]);
        assert_eq!(two.to_stored(), "pwd otp");
        assert_eq!(Amr::from_stored(&two.to_stored()), Ok(two.clone()));
        assert_eq!(
            serde_json::to_string(&two).ok().as_deref(),
            Some(r#"["pwd","otp","mfa"]"#)
        );
        assert_eq!(Amr::of([Method::Upstream, Method::Otp]).acr(), Acr::TwoFactors);
        assert_eq!(Acr::TwoFactors.as_str(), "urn:tessera:acr:2fa");
        assert_eq!(Acr::OneFactor.as_str(), "urn:tessera:acr:1fa");
    }

    /// Issue 19, item 5: an upstream provider's own second factor counts
    /// only beside the upstream sign-in, reaches 2fa (never more), and its
    /// claim says `fed` and `mfa`, each once.
    #[test]
    fn an_upstream_second_factor_counts_beside_the_upstream_sign_in() {
        let fed_mfa = Amr::of([Method::Upstream, Method::UpstreamMfa]);
        assert!(fed_mfa.two_factors());
        assert_eq!(fed_mfa.acr(), Acr::TwoFactors);
        assert_eq!(fed_mfa.claim_values(), ["fed", "mfa"]);
        assert_eq!(
            serde_json::to_string(&fed_mfa).ok().as_deref(),
            Some(r#"["fed","mfa"]"#)
        );
        assert_eq!(fed_mfa.to_stored(), "fed fed-mfa");
        assert_eq!(Amr::from_stored("fed fed-mfa"), Ok(fed_mfa.clone()));
        // With a code as well: still `mfa` once.
        let both = Amr::of([Method::Upstream, Method::UpstreamMfa, Method::Otp]);
        assert_eq!(both.claim_values(), ["fed", "otp", "mfa"]);
        // Alone, or beside a local password only: not two factors.
        for one in [
            Amr::of([Method::UpstreamMfa]),
            Amr::of([Method::Password, Method::UpstreamMfa]),
        ] {
            assert!(!one.two_factors(), "{one:?}");
            assert_eq!(one.acr(), Acr::OneFactor);
            assert!(!one.claim_values().contains(&MFA), "{one:?}");
            assert!(!one.claim_values().contains(&"fed-mfa"), "{one:?}");
        }
        // Its time is the second factor's time, only with the upstream
        // sign-in; a step-up keeps the upstream sign-in, not its factor.
        let p = Proofs::none()
            .with(Method::Upstream, 10)
            .with(Method::UpstreamMfa, 10);
        assert_eq!(p.second_factor_at(), Some(10));
        assert_eq!(p.with(Method::Otp, 30).second_factor_at(), Some(30));
        assert_eq!(
            Proofs::none().with(Method::UpstreamMfa, 10).second_factor_at(),
            None
        );
        assert_eq!(Proofs::none().with(Method::Otp, 5).second_factor_at(), Some(5));
        assert_eq!(
            Proofs::none()
                .with(Method::Upstream, 10)
                .with(Method::UpstreamMfa, 10)
                .first_factors(),
            Proofs::none().with(Method::Upstream, 10)
        );
        assert_eq!(
            Proofs::from_stored("fed=10 fed-mfa=10"),
            Ok(Proofs::none()
                .with(Method::Upstream, 10)
                .with(Method::UpstreamMfa, 10))
        );
    }

    #[test]
    fn requested_levels() {
        assert_eq!(Acr::from_value("urn:tessera:acr:2fa"), Some(Acr::TwoFactors));
        assert_eq!(Acr::from_value("phr"), Some(Acr::PhishingResistant));
        assert_eq!(Acr::from_value("urn:other:gold"), None);
        let two = |essential| RequestedAcr {
            level: Acr::TwoFactors,
            essential,
        };
        let one = |essential| RequestedAcr {
            level: Acr::OneFactor,
            essential,
        };
        // The lowest recognised value; unknown ones are ignored.
        assert_eq!(
            RequestedAcr::lowest_of(["x", "urn:tessera:acr:2fa", "urn:tessera:acr:1fa"], false),
            Some(one(false))
        );
        assert_eq!(
            RequestedAcr::lowest_of(["x", "urn:tessera:acr:2fa"], true),
            Some(two(true))
        );
        assert_eq!(RequestedAcr::lowest_of(["x", "0"], true), None);
        assert_eq!(
            RequestedAcr::stricter(Some(one(true)), Some(two(false))),
            Some(two(false))
        );
        assert_eq!(
            RequestedAcr::stricter(Some(two(false)), Some(two(true))),
            Some(two(true))
        );
        assert_eq!(RequestedAcr::stricter(None, Some(one(false))), Some(one(false)));
        assert_eq!(RequestedAcr::stricter(None, None), None);
    }

    #[test]
    fn step_up_keeps_first_factors_and_old_rows_read_from_amr() {
        let p = Proofs::none().with(Method::Password, 10).with(Method::Otp, 20);
        assert_eq!(p.proven_at(Method::Otp), Some(20));
        assert_eq!(p.first_factors(), Proofs::none().with(Method::Password, 10));
        let amr = Amr::of([Method::Password, Method::Otp]);
        assert_eq!(
            Proofs::of_amr(&amr, 7),
            Proofs::none().with(Method::Password, 7).with(Method::Otp, 7)
        );
    }

    #[test]
    fn proofs_keep_each_method_once_with_its_latest_time() {
        let p = Proofs::none()
            .with(Method::Upstream, 100)
            .with(Method::Password, 120)
            .with(Method::Upstream, 90);
        assert_eq!(
            p.proofs(),
            [
                Proof {
                    method: Method::Upstream,
                    at: 100
                },
                Proof {
                    method: Method::Password,
                    at: 120
                }
            ]
        );
        assert!(p.has(Method::Password));
        assert_eq!(p.completed_at(), Some(120));
        assert_eq!(p.amr().values(), ["fed", "pwd"]);
        assert_eq!(p.to_stored(), "fed=100 pwd=120");
        assert_eq!(Proofs::from_stored(&p.to_stored()), Ok(p));
        assert_eq!(Proofs::none().completed_at(), None);
    }
}
