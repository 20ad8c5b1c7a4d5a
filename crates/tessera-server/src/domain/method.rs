//! The ways a person proves who they are, and the `amr` values
//! ([OpenID Connect Core §2], [RFC 8176 §2]) that name them in ID tokens.
//!
//! `amr` is never written by hand: a sign-in records the [`Method`]s it
//! proved, and the claim is made from them.
//!
//! [OpenID Connect Core §2]: https://openid.net/specs/openid-connect-core-1_0.html#IDToken
//! [RFC 8176 §2]: https://www.rfc-editor.org/rfc/rfc8176#section-2

/// A way to sign in, in the order `amr` lists them: a provider that
/// identifies the person first, then what proves the local account.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Method {
    /// An upstream identity provider (`amr` value `fed`: RFC 8176 has no
    /// registered value for federation; `fed` is the one in common use).
    Upstream,
    /// Username and password (`amr` value `pwd`, RFC 8176 §2).
    Password,
    /// A one-time code: a TOTP code or a recovery code, the second factor
    /// (`amr` value `otp`, RFC 8176 §2).
    Otp,
    /// A passkey: a WebAuthn assertion with user verification (`amr`
    /// value `hwk`, RFC 8176 §2: proof of possession of a key the
    /// authenticator holds, unlocked by the person's screen lock or
    /// biometric). Complete on its own, and phishing-resistant: the
    /// browser binds it to this origin.
    Passkey,
    /// The upstream provider's own second factor: an upstream sign-in
    /// whose `[[upstream]]` table says `trust_mfa` and whose ID token's
    /// `amr` shows several factors ([`upstream_amr_shows_mfa`]). It counts
    /// as a second factor only beside [`Method::Upstream`]. Stored as
    /// `fed-mfa` (no RFC 8176 value, so it cannot be read as one); the
    /// `amr` claim says it with `mfa` alone.
    UpstreamMfa,
}

impl Method {
    /// Every method, in the order `amr` lists them.
    pub const ALL: [Method; 5] = [
        Method::Upstream,
        Method::Password,
        Method::Otp,
        Method::Passkey,
        Method::UpstreamMfa,
    ];

    /// The `amr` value (and the stored name; [`Method::UpstreamMfa`]'s is
    /// a stored name only, never put in the claim).
    pub fn amr(self) -> &'static str {
        match self {
            Method::Password => "pwd",
            Method::Upstream => "fed",
            Method::Otp => "otp",
            Method::Passkey => "hwk",
            Method::UpstreamMfa => "fed-mfa",
        }
    }

    /// Whether it is a first factor (identifies the person, and a second
    /// factor adds to it): a one-time code only adds to one; a passkey is
    /// both factors at once, so neither.
    pub fn is_first_factor(self) -> bool {
        match self {
            Method::Upstream | Method::Password => true,
            Method::Otp | Method::Passkey | Method::UpstreamMfa => false,
        }
    }

    /// The method an `amr` value names, if it is one of ours.
    pub fn from_amr(value: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.amr() == value)
    }
}

/// First factors among RFC 8176 §2's `amr` values: something known
/// (`pwd`, `pin`, `kba`) or something the person is (`fpt`, `face`,
/// `iris`, `retina`, `vbm`).
const UPSTREAM_FIRST_FACTORS: [&str; 8] = ["pwd", "pin", "kba", "fpt", "face", "iris", "retina", "vbm"];

/// Possession and one-time factors among RFC 8176 §2's `amr` values: a
/// one-time password (`otp`), a hardware or software key (`hwk`, `swk`),
/// a code by text message or call (`sms`, `tel`), a smart card (`sc`).
const UPSTREAM_SECOND_FACTORS: [&str; 6] = ["otp", "hwk", "swk", "sms", "tel", "sc"];

/// Whether an upstream ID token's `amr` ([OpenID Connect Core §2], values
/// of [RFC 8176 §2]) shows that the provider itself checked several
/// factors: it says `mfa`, or it names a first factor (something known
/// or something the person is) *and* a possession or one-time factor.
/// One factor, or values this rule does not know (`user`, `geo`, a
/// provider's own names), is not enough; so is a missing `amr`.
///
/// [OpenID Connect Core §2]: https://openid.net/specs/openid-connect-core-1_0.html#IDToken
/// [RFC 8176 §2]: https://www.rfc-editor.org/rfc/rfc8176#section-2
pub fn upstream_amr_shows_mfa<'a>(amr: impl IntoIterator<Item = &'a str>) -> bool {
    let (mut first, mut second) = (false, false);
    for value in amr {
        if value == super::proof::MFA {
            return true;
        }
        first |= UPSTREAM_FIRST_FACTORS.contains(&value);
        second |= UPSTREAM_SECOND_FACTORS.contains(&value);
    }
    first && second
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_values_are_rfc_8176_names_and_read_back() {
        assert_eq!(Method::Password.amr(), "pwd");
        assert_eq!(Method::Upstream.amr(), "fed");
        assert_eq!(Method::Otp.amr(), "otp");
        assert_eq!(Method::Passkey.amr(), "hwk");
        for m in Method::ALL {
            assert_eq!(Method::from_amr(m.amr()), Some(m));
        }
        assert_eq!(Method::from_amr("swk"), None);
        assert_eq!(Method::from_amr("mfa"), None);
        assert_eq!(Method::from_amr(""), None);
        assert_eq!(Method::from_amr("fed-mfa"), Some(Method::UpstreamMfa));
        assert!(!Method::UpstreamMfa.is_first_factor());
    }

    #[test]
    fn upstream_amr_shows_mfa_with_mfa_or_two_kinds_of_factor() {
        let shows = |amr: &[&str]| upstream_amr_shows_mfa(amr.iter().copied());
        for (amr, want) in [
            (&["pwd", "mfa"][..], true),
            (&["mfa"], true),
            (&["pwd", "otp"], true),
            (&["otp", "pwd"], true),
            (&["pin", "hwk"], true),
            (&["kba", "sms"], true),
            (&["pwd", "swk"], true),
            (&["fpt", "tel"], true),
            (&["face", "sc"], true),
            (&["pwd"], false),
            (&["otp"], false),
            (&["hwk", "swk"], false),
            (&["pwd", "pin"], false),
            (&["pwd", "user"], false),
            (&["pwd", "geo"], false),
            (&["fed"], false),
            (&["pwd", "MFA"], false),
            (&["pwd", "OTP"], false),
            (&["pwd", "otp "], false),
            (&[], false),
        ] {
            assert_eq!(shows(amr), want, "{amr:?}");
        }
    }
}
