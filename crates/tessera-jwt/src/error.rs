//! Why a token or a key was refused.
//!
//! [`Error`] names the exact rule a token broke, so a log line says what to
//! fix. Callers that answer over the wire (the guard, the server) map these to
//! a few protocol codes in one place; the detail stays in the log.
//!
//! Strings that came from the token (a `kid`, an `alg`, an issuer) are kept
//! short and shown with `{:?}` so control characters cannot forge log lines.

use crate::Algorithm;

/// Which part of a compact JWS a fault was found in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header (first segment).
    Header,
    /// The payload (second segment), i.e. the claims set.
    Payload,
    /// The signature (third segment).
    Signature,
}

impl std::fmt::Display for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        })
    }
}

/// A string from the token, cut to a length that is safe to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Untrusted(String);

impl Untrusted {
    const MAX: usize = 64;

    pub(crate) fn new(s: &str) -> Untrusted {
        let mut end = s.len().min(Self::MAX);
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        Untrusted(s.get(..end).unwrap_or_default().to_owned())
    }

    /// The (possibly cut) value.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Untrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

/// Why a token was refused (or could not be signed).
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The token is longer than the configured bound; nothing was decoded.
    #[error("token is {len} bytes, more than the {max}-byte limit")]
    TooLarge {
        /// Length of the input.
        len: usize,
        /// Configured maximum.
        max: usize,
    },
    /// The token has five segments: a JWE, which is not accepted here.
    #[error("token is a JWE (5 segments); only signed JWTs (JWS compact, 3 segments) are accepted")]
    EncryptedTokenNotSupported,
    /// Not three dot-separated segments ([RFC 7515 §7.1]).
    ///
    /// [RFC 7515 §7.1]: https://www.rfc-editor.org/rfc/rfc7515#section-7.1
    #[error("token is not a compact JWS: expected 3 dot-separated segments, found {0}")]
    NotCompact(usize),
    /// A segment is not strict unpadded base64url ([RFC 7515 §2]).
    ///
    /// [RFC 7515 §2]: https://www.rfc-editor.org/rfc/rfc7515#section-2
    #[error(
        "{0} is not strict base64url (no padding, no '+' or '/', no whitespace, canonical trailing bits)"
    )]
    Base64(Part),
    /// A segment is not the JSON object it must be.
    #[error("{part} is not a valid JSON object: {reason}")]
    Json {
        /// Where.
        part: Part,
        /// What the parser said.
        reason: String,
    },
    /// A JSON member name appears twice ([RFC 7515 §5.2], [RFC 7519 §4]).
    ///
    /// [RFC 7515 §5.2]: https://www.rfc-editor.org/rfc/rfc7515#section-5.2
    /// [RFC 7519 §4]: https://www.rfc-editor.org/rfc/rfc7519#section-4
    #[error("{part} has the member {name} more than once")]
    DuplicateMember {
        /// Where.
        part: Part,
        /// The repeated name.
        name: Untrusted,
    },
    /// The header has no `alg` ([RFC 7515 §4.1.1]).
    ///
    /// [RFC 7515 §4.1.1]: https://www.rfc-editor.org/rfc/rfc7515#section-4.1.1
    #[error("header has no \"alg\"")]
    MissingAlgorithm,
    /// `alg: none`: unsecured JWTs are never accepted ([RFC 8725 §2.1]).
    ///
    /// [RFC 8725 §2.1]: https://www.rfc-editor.org/rfc/rfc8725#section-2.1
    #[error("\"alg\": \"none\" (unsecured JWT) is never accepted")]
    AlgorithmNone,
    /// An `alg` this library does not implement.
    #[error("unsupported \"alg\" {0}")]
    UnsupportedAlgorithm(Untrusted),
    /// The header's `alg` is not the algorithm the selected key is bound to
    /// (key confusion, [RFC 8725 §2.1, §3.1]).
    ///
    /// [RFC 8725 §2.1, §3.1]: https://www.rfc-editor.org/rfc/rfc8725#section-3.1
    #[error("header \"alg\" is {header} but key {kid} is bound to {key}")]
    AlgorithmMismatch {
        /// What the token claims.
        header: Algorithm,
        /// What the key is for.
        key: Algorithm,
        /// The key's id.
        kid: Untrusted,
    },
    /// The header lists `crit` extensions; none are understood here
    /// ([RFC 7515 §4.1.11]).
    ///
    /// [RFC 7515 §4.1.11]: https://www.rfc-editor.org/rfc/rfc7515#section-4.1.11
    #[error("header marks extensions as critical ({0}); none are supported")]
    UnsupportedCritical(Untrusted),
    /// A header parameter has the wrong JSON type.
    #[error("header parameter \"{0}\" has the wrong type")]
    InvalidHeaderParameter(&'static str),
    /// No key in the set has the token's `kid`.
    #[error("no key with kid {0}")]
    UnknownKid(Untrusted),
    /// The token has no `kid` and the set holds no key for its `alg`.
    #[error("token has no \"kid\" and no key is bound to {0}")]
    NoKeyForAlgorithm(Algorithm),
    /// The token has no `kid` and several keys could match: choosing by trial
    /// would multiply verification cost, so a `kid` is required.
    #[error("token has no \"kid\" and {0} keys are bound to its algorithm; a kid is required")]
    KidRequired(usize),
    /// The signature does not verify with the selected key. For ECDSA this
    /// includes signatures that are not 2×field-size bytes or have `r`/`s`
    /// out of range (e.g. CVE-2022-21449's `r = s = 0`).
    #[error("signature is invalid")]
    InvalidSignature,
    /// The payload is not a JSON object ([RFC 7519 §7.2] step 10).
    ///
    /// [RFC 7519 §7.2]: https://www.rfc-editor.org/rfc/rfc7519#section-7.2
    #[error("claims set is not a JSON object")]
    ClaimsNotObject,
    /// A registered claim has the wrong JSON type ([RFC 7519 §4.1]): `iss`,
    /// `sub` or `jti` not a string, `aud` not a string or an array of
    /// strings, `exp`, `nbf` or `iat` not a number ([RFC 7519 §2]
    /// NumericDate; `"1700000000"` is a string). Refused on verify whatever
    /// the [`Validation`](crate::Validation) checks, and refused by
    /// [`Signer::sign`](crate::Signer::sign).
    ///
    /// [RFC 7519 §4.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1
    /// [RFC 7519 §2]: https://www.rfc-editor.org/rfc/rfc7519#section-2
    #[error("claim \"{claim}\" is invalid: {reason}")]
    InvalidClaim {
        /// The claim's name.
        claim: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A claim the validation requires is absent.
    #[error("required claim \"{0}\" is missing")]
    MissingClaim(String),
    /// `exp` is at or before now, beyond the leeway ([RFC 7519 §4.1.4]).
    ///
    /// [RFC 7519 §4.1.4]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.4
    #[error("token expired at {exp} (now {now}, leeway {leeway}s)")]
    Expired {
        /// The `exp` claim.
        exp: i64,
        /// The verifier's time.
        now: i64,
        /// Allowed clock skew in seconds.
        leeway: u64,
    },
    /// `nbf` is after now, beyond the leeway ([RFC 7519 §4.1.5]).
    ///
    /// [RFC 7519 §4.1.5]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.5
    #[error("token is not valid before {nbf} (now {now}, leeway {leeway}s)")]
    NotYetValid {
        /// The `nbf` claim.
        nbf: i64,
        /// The verifier's time.
        now: i64,
        /// Allowed clock skew in seconds.
        leeway: u64,
    },
    /// `iat` is in the future, beyond the leeway.
    #[error("token was issued in the future at {iat} (now {now}, leeway {leeway}s)")]
    IssuedInFuture {
        /// The `iat` claim.
        iat: i64,
        /// The verifier's time.
        now: i64,
        /// Allowed clock skew in seconds.
        leeway: u64,
    },
    /// `iss` is not exactly the expected issuer ([RFC 7519 §4.1.1]).
    ///
    /// [RFC 7519 §4.1.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.1
    #[error("issuer {found} is not the expected {expected:?}")]
    InvalidIssuer {
        /// The configured issuer.
        expected: String,
        /// The token's `iss`.
        found: Untrusted,
    },
    /// None of the token's audiences is one the verifier accepts
    /// ([RFC 7519 §4.1.3]).
    ///
    /// [RFC 7519 §4.1.3]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3
    #[error("audience does not include any of {expected:?}")]
    InvalidAudience {
        /// The configured audiences.
        expected: Vec<String>,
    },
    /// The token has an `aud` claim but the verifier has no audience to
    /// match it: RFC 7519 §4.1.3 says such a token MUST be rejected.
    #[error("token has an \"aud\" claim but no expected audience is configured (RFC 7519 §4.1.3)")]
    UnexpectedAudience,
    /// The header `typ` is not the expected type ([RFC 8725 §3.11],
    /// [RFC 9068 §4]).
    ///
    /// [RFC 8725 §3.11]: https://www.rfc-editor.org/rfc/rfc8725#section-3.11
    /// [RFC 9068 §4]: https://www.rfc-editor.org/rfc/rfc9068#section-4
    #[error("header \"typ\" is {found} but {expected:?} is required")]
    InvalidType {
        /// The required type.
        expected: String,
        /// What the token says (empty when absent).
        found: Untrusted,
    },
    /// The claims are valid JWT claims but do not fit the caller's type.
    #[error("claims do not match the expected shape: {0}")]
    ClaimsShape(String),
    /// The claims could not be serialized as a JSON object when signing.
    #[error("claims cannot be serialized as a JSON object: {0}")]
    ClaimsSerialize(String),
    /// The crypto library failed to sign.
    #[error("signing failed in the crypto library")]
    SigningFailed,
}

/// Why a key could not be generated, loaded or used.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyError {
    /// Unknown algorithm name.
    #[error("unsupported algorithm {0:?}")]
    UnsupportedAlgorithm(String),
    /// RSA keys below 2048 bits are refused ([RFC 7518 §3.3]).
    ///
    /// [RFC 7518 §3.3]: https://www.rfc-editor.org/rfc/rfc7518#section-3.3
    #[error("RSA key of {0} bits is too small: at least 2048 bits are required (RFC 7518 §3.3)")]
    RsaKeyTooSmall(usize),
    /// Unsupported RSA size for generation.
    #[error("RSA key size {0} is not supported for generation (use 2048, 3072 or 4096)")]
    UnsupportedRsaSize(usize),
    /// HMAC key shorter than the hash output ([RFC 7518 §3.2]).
    ///
    /// [RFC 7518 §3.2]: https://www.rfc-editor.org/rfc/rfc7518#section-3.2
    #[error("{alg} key is {len} bytes; at least {min} are required (RFC 7518 §3.2)")]
    HmacKeyTooShort {
        /// The algorithm.
        alg: Algorithm,
        /// Given length.
        len: usize,
        /// Required length.
        min: usize,
    },
    /// The key material does not suit the requested algorithm.
    #[error("a {found} key cannot be used with {alg}")]
    WrongKeyType {
        /// The requested algorithm.
        alg: Algorithm,
        /// What the key is.
        found: &'static str,
    },
    /// The key is not in a recognised encoding.
    #[error("key is not a recognised {0}")]
    Malformed(&'static str),
    /// The key's parts do not fit together (e.g. `d` does not match `x`/`y`).
    #[error("key is rejected by the crypto library: {0}")]
    Rejected(&'static str),
    /// A JWK member is missing or invalid.
    #[error("JWK member \"{0}\" is missing or invalid")]
    JwkMember(&'static str),
    /// The JWK's `kty`/`crv` is not supported.
    #[error("unsupported JWK key type {0:?}")]
    UnsupportedKeyType(String),
    /// A JWK says it is not for signatures (`use`/`key_ops`).
    #[error("JWK is not for signatures (use/key_ops)")]
    NotForSignatures,
    /// Two keys in one set share a `kid`.
    #[error("two keys share kid {0:?}")]
    DuplicateKid(String),
    /// A symmetric key cannot be published.
    #[error("a symmetric key has no public form")]
    SymmetricHasNoPublicKey,
    /// The crypto library could not produce the key.
    #[error("key generation or encoding failed in the crypto library")]
    CryptoFailure,
    /// The JWKS document is not valid JSON of the right shape.
    #[error("JWKS is invalid: {0}")]
    Jwks(String),
}
