//! What a verifier requires of a token beyond its signature: the claim
//! checks of [RFC 7519 §4.1], explicit typing ([RFC 8725 §3.11]) and the
//! access-token profile ([RFC 9068 §4]).
//!
//! [RFC 7519 §4.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1
//! [RFC 8725 §3.11]: https://www.rfc-editor.org/rfc/rfc8725#section-3.11
//! [RFC 9068 §4]: https://www.rfc-editor.org/rfc/rfc9068#section-4

use crate::claims::Scanned;
use crate::error::Untrusted;
use crate::{Error, Header, UnixTime};

/// The default bound on a token's length, checked before decoding.
pub const DEFAULT_MAX_TOKEN_LEN: usize = 16 * 1024;

/// The default clock-skew allowance for `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Rules a token's header and claims must meet.
///
/// The defaults are the safe ones: `exp` required, 60 s leeway, tokens of at
/// most 16 KiB, and a token carrying `aud` is refused unless an expected
/// audience is set (RFC 7519 §4.1.3).
#[derive(Clone, Debug)]
pub struct Validation {
    pub(crate) leeway: u64,
    pub(crate) require_exp: bool,
    pub(crate) issuer: Option<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) check_audience: bool,
    pub(crate) typ: Option<String>,
    pub(crate) required: Vec<String>,
    pub(crate) max_token_len: usize,
}

impl Default for Validation {
    fn default() -> Self {
        Validation {
            leeway: DEFAULT_LEEWAY_SECS,
            require_exp: true,
            issuer: None,
            audiences: Vec::new(),
            check_audience: true,
            typ: None,
            required: Vec::new(),
            max_token_len: DEFAULT_MAX_TOKEN_LEN,
        }
    }
}

impl Validation {
    /// The defaults (see the type's documentation).
    pub fn new() -> Validation {
        Validation::default()
    }

    /// The checks RFC 9068 §4 requires of a JWT access token: `typ` must be
    /// `at+jwt`, `iss` must be `issuer`, `aud` must include `audience`, and
    /// `exp`, `iat`, `sub`, `client_id` and `jti` must be present.
    pub fn access_token(issuer: &str, audience: &str) -> Validation {
        Validation::new()
            .typ("at+jwt")
            .issuer(issuer)
            .audience(audience)
            .require("iat")
            .require("sub")
            .require("client_id")
            .require("jti")
    }

    /// Requires `iss` to equal `issuer` exactly (no normalisation).
    #[must_use]
    pub fn issuer(mut self, issuer: &str) -> Validation {
        self.issuer = Some(issuer.to_owned());
        self
    }

    /// Accepts tokens whose `aud` includes `audience` (may be called again
    /// to accept several).
    #[must_use]
    pub fn audience(mut self, audience: &str) -> Validation {
        self.audiences.push(audience.to_owned());
        self
    }

    /// Skips the `aud` check entirely. Only for an authorization server
    /// reading its own tokens, e.g. to answer introspection ([RFC 7662
    /// §2.2]), where `aud` is reported to the caller rather than checked;
    /// a resource server must use [`Validation::audience`].
    ///
    /// [RFC 7662 §2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
    #[must_use]
    pub fn ignore_audience(mut self) -> Validation {
        self.check_audience = false;
        self
    }

    /// Requires the header `typ` to be this media type. Compared as
    /// [RFC 7515 §4.1.9] says: case-insensitively, with an omitted
    /// `application/` prefix, so `at+jwt` also accepts `application/at+jwt`.
    ///
    /// [RFC 7515 §4.1.9]: https://www.rfc-editor.org/rfc/rfc7515#section-4.1.9
    #[must_use]
    pub fn typ(mut self, typ: &str) -> Validation {
        self.typ = Some(typ.to_owned());
        self
    }

    /// Allowed clock skew in seconds.
    #[must_use]
    pub fn leeway(mut self, secs: u64) -> Validation {
        self.leeway = secs;
        self
    }

    /// Requires a claim to be present (any value).
    #[must_use]
    pub fn require(mut self, claim: &str) -> Validation {
        self.required.push(claim.to_owned());
        self
    }

    /// Accepts tokens without `exp`. A token without an expiry is valid
    /// forever; use only for tokens whose lifetime is checked elsewhere.
    #[must_use]
    pub fn allow_missing_exp(mut self) -> Validation {
        self.require_exp = false;
        self
    }

    /// Changes the bound on a token's length in bytes.
    #[must_use]
    pub fn max_token_len(mut self, bytes: usize) -> Validation {
        self.max_token_len = bytes;
        self
    }

    /// Checks the header's `typ` (before the claims are read).
    pub(crate) fn check_header(&self, header: &Header) -> Result<(), Error> {
        if let Some(expected) = &self.typ {
            let ok = header
                .typ
                .as_deref()
                .is_some_and(|t| same_media_type(t, expected));
            if !ok {
                return Err(Error::InvalidType {
                    expected: expected.clone(),
                    found: Untrusted::new(header.typ.as_deref().unwrap_or_default()),
                });
            }
        }
        Ok(())
    }

    /// Checks the claims, in the order of RFC 7519 §4.1: `iss`, `aud`,
    /// `exp`, `nbf`, `iat`; then required claims.
    pub(crate) fn check_claims(&self, claims: &Scanned<'_>, now: UnixTime) -> Result<(), Error> {
        let now = now.as_secs();
        let leeway = i64::try_from(self.leeway).unwrap_or(i64::MAX);

        // §4.1.1: iss is case-sensitive; compared exactly.
        if let Some(expected) = &self.issuer {
            match claims.iss.as_deref() {
                Some(found) if found == expected => {}
                Some(found) => {
                    return Err(Error::InvalidIssuer {
                        expected: expected.clone(),
                        found: Untrusted::new(found),
                    })
                }
                None => return Err(Error::MissingClaim("iss".into())),
            }
        }

        // §4.1.3: "If the principal processing the claim does not identify
        // itself with a value in the aud claim when this claim is present,
        // then the JWT MUST be rejected."
        match (&claims.aud, self.audiences.is_empty()) {
            _ if !self.check_audience => {}
            (Some(_), true) => return Err(Error::UnexpectedAudience),
            (Some(aud), false) => {
                if !aud.iter().any(|a| self.audiences.iter().any(|e| e == a)) {
                    return Err(Error::InvalidAudience {
                        expected: self.audiences.clone(),
                    });
                }
            }
            (None, false) => return Err(Error::MissingClaim("aud".into())),
            (None, true) => {}
        }

        // §4.1.4: the current time MUST be before exp.
        match claims.exp {
            Some(exp) if now >= exp.saturating_add(leeway) => {
                return Err(Error::Expired {
                    exp,
                    now,
                    leeway: self.leeway,
                })
            }
            None if self.require_exp => return Err(Error::MissingClaim("exp".into())),
            _ => {}
        }

        // §4.1.5: the current time MUST be after or equal to nbf.
        if let Some(nbf) = claims.nbf {
            if now.saturating_add(leeway) < nbf {
                return Err(Error::NotYetValid {
                    nbf,
                    now,
                    leeway: self.leeway,
                });
            }
        }

        // §4.1.6 leaves iat's use to the application; a token issued in the
        // future is a clock fault or a forgery, so it is refused.
        if let Some(iat) = claims.iat {
            if iat > now.saturating_add(leeway) {
                return Err(Error::IssuedInFuture {
                    iat,
                    now,
                    leeway: self.leeway,
                });
            }
        }

        for name in &self.required {
            if !claims.names.contains(name) {
                return Err(Error::MissingClaim(name.clone()));
            }
        }
        Ok(())
    }
}

/// RFC 7515 §4.1.9: media types compare case-insensitively, and
/// `application/` may be omitted.
pub(crate) fn same_media_type(a: &str, b: &str) -> bool {
    fn strip(s: &str) -> &str {
        match s.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => s.get(12..).unwrap_or(s),
            _ => s,
        }
    }
    strip(a).eq_ignore_ascii_case(strip(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types_compare_per_rfc_7515() {
        assert!(same_media_type("at+jwt", "at+jwt"));
        assert!(same_media_type("application/at+jwt", "at+jwt"));
        assert!(same_media_type("AT+JWT", "Application/at+jwt"));
        assert!(!same_media_type("jwt", "at+jwt"));
        assert!(!same_media_type("application/jwt", "at+jwt"));
    }
}
