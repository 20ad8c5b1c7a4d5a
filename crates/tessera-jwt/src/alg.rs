//! JWS algorithms ([RFC 7518 §3.1], [RFC 8037 §3.1]).
//!
//! A key is bound to exactly one [`Algorithm`] ([RFC 8725 §3.1]): the verifier
//! uses the key's algorithm and only checks that the token's `alg` header
//! names the same one. `none` is not an algorithm here at all.
//!
//! [RFC 7518 §3.1]: https://www.rfc-editor.org/rfc/rfc7518#section-3.1
//! [RFC 8037 §3.1]: https://www.rfc-editor.org/rfc/rfc8037#section-3.1
//! [RFC 8725 §3.1]: https://www.rfc-editor.org/rfc/rfc8725#section-3.1

use std::fmt;

/// A JWS signature algorithm supported by Tessera.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[allow(clippy::upper_case_acronyms)]
pub enum Algorithm {
    /// HMAC with SHA-256 (symmetric).
    HS256,
    /// HMAC with SHA-384 (symmetric).
    HS384,
    /// HMAC with SHA-512 (symmetric).
    HS512,
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    RS256,
    /// RSASSA-PKCS1-v1_5 with SHA-384.
    RS384,
    /// RSASSA-PKCS1-v1_5 with SHA-512.
    RS512,
    /// RSASSA-PSS with SHA-256 and MGF1 with SHA-256.
    PS256,
    /// RSASSA-PSS with SHA-384 and MGF1 with SHA-384.
    PS384,
    /// RSASSA-PSS with SHA-512 and MGF1 with SHA-512.
    PS512,
    /// ECDSA on P-256 with SHA-256.
    ES256,
    /// ECDSA on P-384 with SHA-384.
    ES384,
    /// ECDSA on P-521 with SHA-512.
    ES512,
    /// EdDSA with Ed25519 ([RFC 8037](https://www.rfc-editor.org/rfc/rfc8037)).
    EdDSA,
}

/// The family of keys an algorithm needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Family {
    Hmac,
    Rsa,
    Ec,
    Ed25519,
}

impl Algorithm {
    /// Every supported algorithm, in the order of RFC 7518's table.
    pub const ALL: [Algorithm; 13] = [
        Algorithm::HS256,
        Algorithm::HS384,
        Algorithm::HS512,
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
        Algorithm::ES256,
        Algorithm::ES384,
        Algorithm::ES512,
        Algorithm::EdDSA,
    ];

    /// The registered `alg` name.
    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::HS256 => "HS256",
            Algorithm::HS384 => "HS384",
            Algorithm::HS512 => "HS512",
            Algorithm::RS256 => "RS256",
            Algorithm::RS384 => "RS384",
            Algorithm::RS512 => "RS512",
            Algorithm::PS256 => "PS256",
            Algorithm::PS384 => "PS384",
            Algorithm::PS512 => "PS512",
            Algorithm::ES256 => "ES256",
            Algorithm::ES384 => "ES384",
            Algorithm::ES512 => "ES512",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    /// Parses a registered `alg` name (case-sensitive, [RFC 7515 §4.1.1]).
    /// `none` and every unknown name give `None`.
    ///
    /// [RFC 7515 §4.1.1]: https://www.rfc-editor.org/rfc/rfc7515#section-4.1.1
    pub fn from_name(name: &str) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Whether this is a symmetric (HMAC) algorithm, whose key must never be
    /// published.
    pub const fn is_symmetric(self) -> bool {
        matches!(self, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
    }

    pub(crate) const fn family(self) -> Family {
        match self {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => Family::Hmac,
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => Family::Rsa,
            Algorithm::ES256 | Algorithm::ES384 | Algorithm::ES512 => Family::Ec,
            Algorithm::EdDSA => Family::Ed25519,
        }
    }

    /// The JWK `crv` of an elliptic-curve algorithm ([RFC 7518 §6.2.1.1]).
    ///
    /// [RFC 7518 §6.2.1.1]: https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1.1
    pub(crate) const fn curve(self) -> Option<&'static str> {
        match self {
            Algorithm::ES256 => Some("P-256"),
            Algorithm::ES384 => Some("P-384"),
            Algorithm::ES512 => Some("P-521"),
            Algorithm::EdDSA => Some("Ed25519"),
            Algorithm::HS256
            | Algorithm::HS384
            | Algorithm::HS512
            | Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512 => None,
        }
    }

    /// The minimum HMAC key length in bytes: the hash output size
    /// ([RFC 7518 §3.2]: "A key of the same size as the hash output ... or
    /// larger MUST be used").
    ///
    /// `None` for an algorithm that is not HMAC.
    ///
    /// [RFC 7518 §3.2]: https://www.rfc-editor.org/rfc/rfc7518#section-3.2
    pub(crate) const fn min_hmac_key_len(self) -> Option<usize> {
        match self {
            Algorithm::HS256 => Some(32),
            Algorithm::HS384 => Some(48),
            Algorithm::HS512 => Some(64),
            Algorithm::RS256
            | Algorithm::RS384
            | Algorithm::RS512
            | Algorithm::PS256
            | Algorithm::PS384
            | Algorithm::PS512
            | Algorithm::ES256
            | Algorithm::ES384
            | Algorithm::ES512
            | Algorithm::EdDSA => None,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Algorithm {
    type Err = crate::KeyError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Algorithm::from_name(s).ok_or_else(|| crate::KeyError::UnsupportedAlgorithm(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_none_is_not_an_algorithm() {
        for alg in Algorithm::ALL {
            assert_eq!(Algorithm::from_name(alg.name()), Some(alg));
        }
        assert_eq!(Algorithm::from_name("none"), None);
        assert_eq!(Algorithm::from_name("None"), None);
        assert_eq!(Algorithm::from_name("hs256"), None);
    }
}
