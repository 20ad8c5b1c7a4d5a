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
}

impl Method {
    /// Every method, in the order `amr` lists them.
    pub const ALL: [Method; 4] = [Method::Upstream, Method::Password, Method::Otp, Method::Passkey];

    /// The `amr` value.
    pub fn amr(self) -> &'static str {
        match self {
            Method::Password => "pwd",
            Method::Upstream => "fed",
            Method::Otp => "otp",
            Method::Passkey => "hwk",
        }
    }

    /// Whether it is a first factor (identifies the person, and a second
    /// factor adds to it): a one-time code only adds to one; a passkey is
    /// both factors at once, so neither.
    pub fn is_first_factor(self) -> bool {
        match self {
            Method::Upstream | Method::Password => true,
            Method::Otp | Method::Passkey => false,
        }
    }

    /// The method an `amr` value names, if it is one of ours.
    pub fn from_amr(value: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.amr() == value)
    }
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
    }
}
