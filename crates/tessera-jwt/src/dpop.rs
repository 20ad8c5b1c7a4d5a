//! DPoP proofs ([RFC 9449]): a JWT a client signs with its own key for one
//! HTTP request, carrying that key's public half in the `jwk` header.
//!
//! This is the one place in the crate where a token's embedded `jwk` is
//! read, and it is a separate entry point ([`verify`]) from [`KeySet`] on
//! purpose: the [manual](crate::manual) explains why a key carried by the
//! token it verifies proves nothing about *who* signed it (CVE-2018-0114).
//! A DPoP proof never asks to be believed about who signed it. It proves
//! only that the sender holds the private half of the key in its header;
//! what makes that worth anything is that the server bound the access or
//! refresh token to that key's [RFC 7638] thumbprint (`cnf.jkt`) when it
//! issued it, so a proof made with any other key does not match the
//! token. [`Proof::jkt`] is therefore the only thing a caller may take
//! from the key, and it must compare it with a binding it made itself.
//!
//! The checks, in the order of [RFC 9449 §4.3]:
//!
//! 1. At most [`MAX_PROOF_LEN`] bytes; three segments of strict base64url.
//! 2. The header parses like any other (unique names, no `crit`, `alg:
//!    none` refused in any case), and `typ` is `dpop+jwt` (check 4).
//! 3. `alg` is one of [`ALGORITHMS`]: asymmetric only, so never `none`
//!    and never an HMAC a public key could be used as a secret for (check 5).
//! 4. `jwk` is present and public: a private member (`d`, `p`, `q`, `dp`,
//!    `dq`, `qi`, `k`) is refused (check 7), and the key must suit `alg`.
//! 5. The signature verifies with that key (check 6).
//! 6. The claims: `jti`, `htm`, `htu` strings and `iat` a number (check
//!    3); registered claims typed and member names unique, as in every
//!    JWT this crate reads.
//! 7. `htm` is the request's method (check 8) and `htu` its URL, without
//!    query and fragment (check 9).
//! 8. `iat` is within the window the caller allows ([`Expected::window`],
//!    60 s either side by default; check 11); a proof whose optional `exp`
//!    says it lives more than [`MAX_LIFETIME`] is refused.
//! 9. With an access token, `ath` is the base64url SHA-256 of it (check
//!    12). Checking `cnf.jkt` against [`Proof::jkt`] (check 12 too),
//!    the `jti` being used once (§11.1) and a server `nonce` (check 10)
//!    are the caller's: they need state this crate does not keep.
//!
//! [RFC 9449]: https://www.rfc-editor.org/rfc/rfc9449
//! [RFC 9449 §4.3]: https://www.rfc-editor.org/rfc/rfc9449#section-4.3
//! [RFC 7638]: https://www.rfc-editor.org/rfc/rfc7638
//! [`KeySet`]: crate::KeySet

use crate::compact;
use crate::error::{Part, Untrusted};
use crate::{claims, header, Algorithm, Error, Jwk, KeyError, UnixTime, VerifyingKey};

/// The `typ` of a DPoP proof ([RFC 9449 §4.2]).
///
/// [RFC 9449 §4.2]: https://www.rfc-editor.org/rfc/rfc9449#section-4.2
pub const TYP: &str = "dpop+jwt";

/// The algorithms a proof may be signed with: every asymmetric algorithm
/// this crate implements. Servers advertise this list as
/// `dpop_signing_alg_values_supported` ([RFC 9449 §5.1]).
///
/// [RFC 9449 §5.1]: https://www.rfc-editor.org/rfc/rfc9449#section-5.1
pub const ALGORITHMS: [Algorithm; 10] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::ES512,
    Algorithm::EdDSA,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
];

/// The longest proof read, in bytes (an RSA-4096 `jwk` fits many times).
pub const MAX_PROOF_LEN: usize = 8 * 1024;

/// The longest a proof may be accepted over, in seconds: the window
/// [`Expected::window`] allows is clamped to it, and a proof whose `exp`
/// is further than this after its `iat` is refused.
pub const MAX_LIFETIME: u64 = 300;

/// The default window around now that `iat` must fall in, each side.
pub const DEFAULT_WINDOW_SECS: u64 = 60;

/// Why a proof was refused. Servers answer every one of these with
/// `invalid_dpop_proof` ([RFC 9449 §5], §7.1); the variant is for the log.
///
/// [RFC 9449 §5]: https://www.rfc-editor.org/rfc/rfc9449#section-5
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// Not a well-formed JWS or JWT: size, segments, base64url, JSON,
    /// duplicate names, `crit`, `alg: none`, an unknown `alg`, or a
    /// registered claim of the wrong type.
    #[error("the DPoP proof is malformed: {0}")]
    Malformed(Error),
    /// `typ` is not `dpop+jwt` (check 4).
    #[error("the DPoP proof's typ is {0}, not \"dpop+jwt\"")]
    WrongType(Untrusted),
    /// `alg` is symmetric or otherwise not in [`ALGORITHMS`] (check 5).
    #[error("the DPoP proof's alg {0} is not allowed (asymmetric algorithms only)")]
    AlgorithmNotAllowed(Algorithm),
    /// No `jwk` header, or one that is not a JSON object (check 7).
    #[error("the DPoP proof has no jwk header")]
    MissingJwk,
    /// The `jwk` header holds a private or secret member (check 7).
    #[error("the DPoP proof's jwk holds a private key member")]
    PrivateKeyInJwk,
    /// The `jwk` is not a usable public key for `alg`.
    #[error("the DPoP proof's jwk is not a usable key: {0}")]
    BadJwk(KeyError),
    /// The signature does not verify with the `jwk` (check 6).
    #[error("the DPoP proof's signature is invalid")]
    BadSignature,
    /// A required claim is missing (check 3).
    #[error("the DPoP proof has no {0} claim")]
    MissingClaim(&'static str),
    /// `htm` is not the request's method (check 8).
    #[error("the DPoP proof's htm is not the request's method")]
    WrongMethod,
    /// `htu` is not the request's URL (check 9).
    #[error("the DPoP proof's htu is not the request's URL")]
    WrongUrl,
    /// `iat` is further in the past than the window allows (check 11).
    #[error("the DPoP proof was issued at {iat}, too long before now ({now})")]
    TooOld {
        /// The proof's `iat`.
        iat: i64,
        /// The verifier's time.
        now: i64,
    },
    /// `iat` is further in the future than the window allows (check 11).
    #[error("the DPoP proof was issued at {iat}, too far after now ({now})")]
    FromTheFuture {
        /// The proof's `iat`.
        iat: i64,
        /// The verifier's time.
        now: i64,
    },
    /// The proof's `exp` is more than [`MAX_LIFETIME`] after its `iat`.
    #[error("the DPoP proof lives more than {MAX_LIFETIME} seconds")]
    LivesTooLong,
    /// An access token was presented but the proof has no `ath` (check 12).
    #[error("the DPoP proof has no ath for the access token")]
    MissingAth,
    /// `ath` is not the hash of the access token presented (check 12).
    #[error("the DPoP proof's ath does not match the access token")]
    AthMismatch,
}

/// The claims of a proof ([RFC 9449 §4.2]).
///
/// [RFC 9449 §4.2]: https://www.rfc-editor.org/rfc/rfc9449#section-4.2
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProofClaims {
    /// Unique id of the proof; the caller keeps it to refuse a replay.
    pub jti: String,
    /// The HTTP method the proof is for.
    pub htm: String,
    /// The HTTP URL the proof is for, as sent.
    pub htu: String,
    /// When the proof was made.
    pub iat: i64,
    /// The hash of the access token the proof goes with, if any.
    pub ath: Option<String>,
    /// A nonce the server provided, if any.
    pub nonce: Option<String>,
}

/// A proof that passed every check of the module. Only [`verify`] makes
/// one.
#[derive(Clone, Debug)]
pub struct Proof {
    claims: ProofClaims,
    jkt: String,
    alg: Algorithm,
}

impl Proof {
    /// The verified claims.
    pub fn claims(&self) -> &ProofClaims {
        &self.claims
    }

    /// The [RFC 7638] SHA-256 thumbprint (base64url) of the key that signed
    /// the proof: what a token is bound to (`cnf.jkt`, [RFC 9449 §6.1]).
    ///
    /// [RFC 7638]: https://www.rfc-editor.org/rfc/rfc7638
    /// [RFC 9449 §6.1]: https://www.rfc-editor.org/rfc/rfc9449#section-6.1
    pub fn jkt(&self) -> &str {
        &self.jkt
    }

    /// The algorithm the proof was signed with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

/// What the request a proof came with looks like.
#[derive(Clone, Debug)]
pub struct Expected<'a> {
    method: &'a str,
    url: &'a str,
    access_token: Option<&'a str>,
    now: UnixTime,
    behind: u64,
    ahead: u64,
}

impl<'a> Expected<'a> {
    /// A request with this method and URL (the URL the server is
    /// configured to be reached at, never one built from the `Host`
    /// header), checked at `now`, with the default window.
    pub fn new(method: &'a str, url: &'a str, now: UnixTime) -> Expected<'a> {
        Expected {
            method,
            url,
            access_token: None,
            now,
            behind: DEFAULT_WINDOW_SECS,
            ahead: DEFAULT_WINDOW_SECS,
        }
    }

    /// The request presents this access token: `ath` is then required.
    #[must_use]
    pub fn access_token(mut self, token: &'a str) -> Expected<'a> {
        self.access_token = Some(token);
        self
    }

    /// How far before and after now `iat` may be, in seconds; together at
    /// most [`MAX_LIFETIME`] (a larger `behind` is cut first).
    #[must_use]
    pub fn window(mut self, behind: u64, ahead: u64) -> Expected<'a> {
        self.ahead = ahead.min(MAX_LIFETIME);
        self.behind = behind.min(MAX_LIFETIME - self.ahead);
        self
    }
}

/// The `ath` of an access token: base64url SHA-256 of its ASCII bytes
/// ([RFC 9449 §4.2]).
///
/// [RFC 9449 §4.2]: https://www.rfc-editor.org/rfc/rfc9449#section-4.2
pub fn access_token_hash(token: &str) -> String {
    crate::b64::encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes()).as_ref())
}

/// The header members only a DPoP proof has.
#[derive(serde::Deserialize)]
struct DpopHeader {
    /// Derived `Deserialize` refuses a member named twice inside it.
    #[serde(default)]
    jwk: Option<Jwk>,
}

/// The claims as sent (types checked again below).
#[derive(serde::Deserialize)]
struct RawClaims {
    #[serde(default)]
    jti: Option<String>,
    #[serde(default)]
    htm: Option<String>,
    #[serde(default)]
    htu: Option<String>,
    #[serde(default)]
    ath: Option<String>,
    #[serde(default)]
    nonce: Option<String>,
}

/// Verifies a DPoP proof for the request `expected` describes (checks 1-9
/// of the module).
pub fn verify(proof: &str, expected: &Expected<'_>) -> Result<Proof, ProofError> {
    // 1.
    let parts = compact::split(proof, MAX_PROOF_LEN).map_err(ProofError::Malformed)?;
    let header_json = compact::decode(parts.header, Part::Header).map_err(ProofError::Malformed)?;
    // 2.
    let header = header::parse(&header_json).map_err(ProofError::Malformed)?;
    if !header
        .typ
        .as_deref()
        .is_some_and(|t| crate::validation::same_media_type(t, TYP))
    {
        return Err(ProofError::WrongType(Untrusted::new(
            header.typ.as_deref().unwrap_or_default(),
        )));
    }
    // 3.
    if !ALGORITHMS.contains(&header.alg) {
        return Err(ProofError::AlgorithmNotAllowed(header.alg));
    }
    // 4.
    let extra: DpopHeader = serde_json::from_slice(&header_json)
        .map_err(|_| ProofError::BadJwk(KeyError::Malformed("JWK (a JSON object)")))?;
    let mut jwk = extra.jwk.ok_or(ProofError::MissingJwk)?;
    if jwk.is_private()
        || jwk.p.is_some()
        || jwk.q.is_some()
        || jwk.dp.is_some()
        || jwk.dq.is_some()
        || jwk.qi.is_some()
    {
        return Err(ProofError::PrivateKeyInJwk);
    }
    // The key is bound to the header's algorithm: a `jwk` naming another
    // is refused by `from_jwk`, one naming none takes the header's.
    if jwk.alg.is_none() {
        jwk.alg = Some(header.alg.name().to_owned());
    }
    let key = VerifyingKey::from_jwk(&jwk).map_err(ProofError::BadJwk)?;
    if key.algorithm() != header.alg {
        return Err(ProofError::BadJwk(KeyError::WrongKeyType {
            alg: header.alg,
            found: key.algorithm().name(),
        }));
    }
    // 5.
    let mut buf = [0u8; compact::MAX_SIGNATURE_LEN];
    let signature = compact::decode_signature(parts.signature, &mut buf).map_err(ProofError::Malformed)?;
    if !signature.is_some_and(|sig| key.verify_raw(parts.signing_input, sig)) {
        return Err(ProofError::BadSignature);
    }
    // 6.
    let payload = compact::decode(parts.payload, Part::Payload).map_err(ProofError::Malformed)?;
    let (raw, scanned) = claims::deserialize::<RawClaims>(&payload).map_err(ProofError::Malformed)?;
    let jti = raw
        .jti
        .filter(|j| !j.is_empty())
        .ok_or(ProofError::MissingClaim("jti"))?;
    let htm = raw.htm.ok_or(ProofError::MissingClaim("htm"))?;
    let htu = raw.htu.ok_or(ProofError::MissingClaim("htu"))?;
    let iat = scanned.iat.ok_or(ProofError::MissingClaim("iat"))?;
    // 7.
    if htm != expected.method {
        return Err(ProofError::WrongMethod);
    }
    if !same_url(&htu, expected.url) {
        return Err(ProofError::WrongUrl);
    }
    // 8.
    let now = expected.now.as_secs();
    let behind = i64::try_from(expected.behind).unwrap_or(0);
    let ahead = i64::try_from(expected.ahead).unwrap_or(0);
    if iat < now.saturating_sub(behind) {
        return Err(ProofError::TooOld { iat, now });
    }
    if iat > now.saturating_add(ahead) {
        return Err(ProofError::FromTheFuture { iat, now });
    }
    let max_lifetime = i64::try_from(MAX_LIFETIME).unwrap_or(i64::MAX);
    if scanned
        .exp
        .is_some_and(|exp| exp.saturating_sub(iat) > max_lifetime)
    {
        return Err(ProofError::LivesTooLong);
    }
    // 9.
    if let Some(token) = expected.access_token {
        let ath = raw.ath.as_deref().ok_or(ProofError::MissingAth)?;
        let want = access_token_hash(token);
        #[allow(deprecated)] // the constant-time comparison aws-lc-rs offers
        let same = aws_lc_rs::constant_time::verify_slices_are_equal(ath.as_bytes(), want.as_bytes()).is_ok();
        if !same {
            return Err(ProofError::AthMismatch);
        }
    }
    let jkt = jwk.thumbprint().map_err(ProofError::BadJwk)?;
    Ok(Proof {
        claims: ProofClaims {
            jti,
            htm,
            htu,
            iat,
            ath: raw.ath,
            nonce: raw.nonce,
        },
        jkt,
        alg: header.alg,
    })
}

/// Whether `htu` names `expected` ([RFC 9449 §4.3] check 9): the query and
/// fragment are left out, and scheme and host compare without case, with
/// the scheme's default port implied ([RFC 3986 §6.2.2, §6.2.3]); the
/// path compares exactly (an empty path is `/`).
///
/// [RFC 9449 §4.3]: https://www.rfc-editor.org/rfc/rfc9449#section-4.3
/// [RFC 3986 §6.2.2, §6.2.3]: https://www.rfc-editor.org/rfc/rfc3986#section-6.2.2
pub fn same_url(htu: &str, expected: &str) -> bool {
    match (normalize(htu), normalize(expected)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// `scheme://authority/path`, normalized; `None` if not an absolute http(s)
/// URL.
fn normalize(url: &str) -> Option<String> {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let url = url.get(..end)?;
    let (scheme, rest) = url.split_once("://")?;
    let scheme = scheme.to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => ":443",
        "http" => ":80",
        _ => return None,
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (rest.get(..i)?, rest.get(i..)?),
        None => (rest, "/"),
    };
    if authority.is_empty() || authority.contains('@') {
        return None;
    }
    let authority = authority.to_ascii_lowercase();
    let authority = authority.strip_suffix(default_port).unwrap_or(&authority);
    Some(format!("{scheme}://{authority}{path}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;
    use crate::{b64, SigningKey};

    /// The proof of [RFC 9449 §4.1] (Figure 4), made at 1562262616 for
    /// `POST https://server.example.com/token`.
    ///
    /// [RFC 9449 §4.1]: https://www.rfc-editor.org/rfc/rfc9449#section-4.1
    const RFC_9449_4_1: &str = "eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6IkVTMjU2IiwiandrIjp7Imt0eSI6IkVDIiwieCI6Imw4dEZyaHgtMzR0VjNoUklDUkRZOXpDa0RscEJoRjQyVVFVZldWQVdCRnMiLCJ5IjoiOVZFNGpmX09rX282NHpiVFRsY3VOSmFqSG10NnY5VERWclUwQ2R2R1JEQSIsImNydiI6IlAtMjU2In19.eyJqdGkiOiItQndDM0VTYzZhY2MybFRjIiwiaHRtIjoiUE9TVCIsImh0dSI6Imh0dHBzOi8vc2VydmVyLmV4YW1wbGUuY29tL3Rva2VuIiwiaWF0IjoxNTYyMjYyNjE2fQ.2-GxA6T8lP4vfrg8v-FdWP0A0zdrj8igiMLvqRMUvwnQg4PtFLbdLXiOSsX0x7NVY-FNyJK70nfbV37xRZT3Lg";
    const RFC_IAT: i64 = 1_562_262_616;
    /// The thumbprint of that proof's key ([RFC 9449 §6.1], the `jkt` of
    /// Figure 7).
    ///
    /// [RFC 9449 §6.1]: https://www.rfc-editor.org/rfc/rfc9449#section-6.1
    const RFC_JKT: &str = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I";

    const URL: &str = "https://id.example/token";
    const NOW: i64 = 1_700_000_000;

    fn expected(now: i64) -> Expected<'static> {
        Expected::new("POST", URL, UnixTime::from_secs(now))
    }

    /// Signs `header` and `claims` with `key` as a compact JWS.
    fn sign(key: &SigningKey, header: &serde_json::Value, claims: &serde_json::Value) -> String {
        let input = format!(
            "{}.{}",
            b64::encode(header.to_string().as_bytes()),
            b64::encode(claims.to_string().as_bytes())
        );
        let sig = key.sign_bytes(input.as_bytes()).unwrap();
        format!("{input}.{}", b64::encode(&sig))
    }

    fn header(key: &SigningKey) -> serde_json::Value {
        let mut jwk = serde_json::to_value(key.public_jwk().unwrap()).unwrap();
        jwk.as_object_mut().unwrap().remove("kid");
        jwk.as_object_mut().unwrap().remove("use");
        json!({"typ": "dpop+jwt", "alg": key.algorithm().name(), "jwk": jwk})
    }

    fn claims() -> serde_json::Value {
        json!({"jti": "j-1", "htm": "POST", "htu": URL, "iat": NOW})
    }

    fn with(mut v: serde_json::Value, over: serde_json::Value) -> serde_json::Value {
        for (k, val) in over.as_object().unwrap() {
            if val.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        v
    }

    #[test]
    fn rfc_9449_4_1_example_verifies() {
        let e = Expected::new(
            "POST",
            "https://server.example.com/token",
            UnixTime::from_secs(RFC_IAT + 5),
        );
        let proof = verify(RFC_9449_4_1, &e).unwrap();
        assert_eq!(proof.jkt(), RFC_JKT);
        assert_eq!(proof.algorithm(), Algorithm::ES256);
        assert_eq!(
            proof.claims(),
            &ProofClaims {
                jti: "-BwC3ESc6acc2lTc".into(),
                htm: "POST".into(),
                htu: "https://server.example.com/token".into(),
                iat: RFC_IAT,
                ath: None,
                nonce: None,
            }
        );
        // The same proof for another URL, or long after, is refused.
        let other = Expected::new("POST", URL, UnixTime::from_secs(RFC_IAT));
        assert_eq!(verify(RFC_9449_4_1, &other).unwrap_err(), ProofError::WrongUrl);
        let later = Expected::new(
            "POST",
            "https://server.example.com/token",
            UnixTime::from_secs(RFC_IAT + 3600),
        );
        assert!(matches!(
            verify(RFC_9449_4_1, &later),
            Err(ProofError::TooOld { .. })
        ));
    }

    /// Every algorithm of [`ALGORITHMS`] verifies, and the thumbprint is
    /// the key's.
    #[test]
    fn each_allowed_algorithm_verifies() {
        for alg in ALGORITHMS {
            let key = SigningKey::generate(alg).unwrap();
            let proof = sign(&key, &header(&key), &claims());
            let verified = verify(&proof, &expected(NOW)).unwrap_or_else(|e| panic!("{alg}: {e}"));
            assert_eq!(verified.jkt(), key.public_jwk().unwrap().thumbprint().unwrap());
            assert_eq!(verified.claims().jti, "j-1");
        }
    }

    /// RFC 9449 §4.3, one row per check.
    #[test]
    fn rfc_9449_4_3_checks() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let other = SigningKey::generate(Algorithm::ES256).unwrap();
        let good_header = header(&key);
        let private = serde_json::to_value(key.to_private_jwk().unwrap()).unwrap();
        let hmac = SigningKey::from_hmac_secret(Algorithm::HS256, &[7u8; 32]).unwrap();
        let hmac_jwk = serde_json::to_value(hmac.to_private_jwk().unwrap()).unwrap();
        type Check = fn(&ProofError) -> bool;
        let rows: Vec<(&str, String, Check)> = vec![
            (
                "4. typ is JWT",
                sign(&key, &with(good_header.clone(), json!({"typ": "JWT"})), &claims()),
                |e| matches!(e, ProofError::WrongType(_)),
            ),
            (
                "4. no typ",
                sign(&key, &with(good_header.clone(), json!({"typ": null})), &claims()),
                |e| matches!(e, ProofError::WrongType(_)),
            ),
            (
                "4. typ at+jwt",
                sign(
                    &key,
                    &with(good_header.clone(), json!({"typ": "at+jwt"})),
                    &claims(),
                ),
                |e| matches!(e, ProofError::WrongType(_)),
            ),
            (
                "5. alg none",
                {
                    let h = with(good_header.clone(), json!({"alg": "none"}));
                    format!(
                        "{}.{}.",
                        b64::encode(h.to_string().as_bytes()),
                        b64::encode(claims().to_string().as_bytes())
                    )
                },
                |e| *e == ProofError::Malformed(Error::AlgorithmNone),
            ),
            (
                "5. alg HS256 with a symmetric jwk",
                sign(
                    &hmac,
                    &json!({"typ": "dpop+jwt", "alg": "HS256", "jwk": hmac_jwk}),
                    &claims(),
                ),
                |e| *e == ProofError::AlgorithmNotAllowed(Algorithm::HS256),
            ),
            (
                "5. alg HS256 with the public EC key as the secret",
                sign(
                    &SigningKey::from_hmac_secret(Algorithm::HS256, good_header.to_string().as_bytes())
                        .unwrap(),
                    &with(good_header.clone(), json!({"alg": "HS256"})),
                    &claims(),
                ),
                |e| *e == ProofError::AlgorithmNotAllowed(Algorithm::HS256),
            ),
            (
                "5. alg RS256 over an EC jwk",
                sign(
                    &key,
                    &with(good_header.clone(), json!({"alg": "RS256"})),
                    &claims(),
                ),
                |e| matches!(e, ProofError::BadJwk(_)),
            ),
            (
                "7. no jwk",
                sign(&key, &with(good_header.clone(), json!({"jwk": null})), &claims()),
                |e| *e == ProofError::MissingJwk,
            ),
            (
                "7. jwk is a string",
                sign(&key, &with(good_header.clone(), json!({"jwk": "k"})), &claims()),
                |e| matches!(e, ProofError::BadJwk(_)),
            ),
            (
                "7. jwk with the private key d",
                sign(
                    &key,
                    &with(good_header.clone(), json!({"jwk": private})),
                    &claims(),
                ),
                |e| *e == ProofError::PrivateKeyInJwk,
            ),
            (
                "6. signed by another key",
                sign(&other, &good_header, &claims()),
                |e| *e == ProofError::BadSignature,
            ),
            (
                "3. no jti",
                sign(&key, &good_header, &with(claims(), json!({"jti": null}))),
                |e| *e == ProofError::MissingClaim("jti"),
            ),
            (
                "3. jti a number",
                sign(&key, &good_header, &with(claims(), json!({"jti": 7}))),
                |e| matches!(e, ProofError::Malformed(Error::InvalidClaim { .. })),
            ),
            (
                "3. no iat",
                sign(&key, &good_header, &with(claims(), json!({"iat": null}))),
                |e| *e == ProofError::MissingClaim("iat"),
            ),
            (
                "3. iat a string",
                sign(
                    &key,
                    &good_header,
                    &with(claims(), json!({"iat": NOW.to_string()})),
                ),
                |e| matches!(e, ProofError::Malformed(Error::InvalidClaim { .. })),
            ),
            (
                "8. htm GET",
                sign(&key, &good_header, &with(claims(), json!({"htm": "GET"}))),
                |e| *e == ProofError::WrongMethod,
            ),
            (
                "8. htm post (methods are case-sensitive)",
                sign(&key, &good_header, &with(claims(), json!({"htm": "post"}))),
                |e| *e == ProofError::WrongMethod,
            ),
            (
                "9. htu another endpoint",
                sign(
                    &key,
                    &good_header,
                    &with(claims(), json!({"htu": "https://id.example/userinfo"})),
                ),
                |e| *e == ProofError::WrongUrl,
            ),
            (
                "9. htu another host",
                sign(
                    &key,
                    &good_header,
                    &with(claims(), json!({"htu": "https://evil.example/token"})),
                ),
                |e| *e == ProofError::WrongUrl,
            ),
            (
                "11. iat too old",
                sign(&key, &good_header, &with(claims(), json!({"iat": NOW - 61}))),
                |e| matches!(e, ProofError::TooOld { .. }),
            ),
            (
                "11. iat too far ahead",
                sign(&key, &good_header, &with(claims(), json!({"iat": NOW + 61}))),
                |e| matches!(e, ProofError::FromTheFuture { .. }),
            ),
            (
                "a proof whose exp says it lives more than 5 minutes",
                sign(&key, &good_header, &with(claims(), json!({"exp": NOW + 301}))),
                |e| *e == ProofError::LivesTooLong,
            ),
        ];
        for (name, proof, check) in rows {
            match verify(&proof, &expected(NOW)) {
                Err(e) => assert!(check(&e), "{name}: {e:?}"),
                Ok(_) => panic!("{name}: accepted"),
            }
        }
        // What the rows change is all that is wrong with them.
        for (over, now) in [
            (json!({}), NOW),
            (json!({"iat": NOW - 60}), NOW),
            (json!({"iat": NOW + 60}), NOW),
            (json!({"htu": "HTTPS://ID.EXAMPLE:443/token?x=1#f"}), NOW),
            (json!({"exp": NOW + 300, "nonce": "n"}), NOW),
        ] {
            let proof = sign(&key, &good_header, &with(claims(), over.clone()));
            assert!(verify(&proof, &expected(now)).is_ok(), "{over}");
        }
    }

    /// Check 12: with an access token, `ath` must be its hash.
    #[test]
    fn ath_binds_the_access_token() {
        let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
        let token = "eyJhbGciOiJFUzI1NiJ9.e30.sig";
        let e = expected(NOW).access_token(token);
        let good = sign(
            &key,
            &header(&key),
            &with(claims(), json!({"ath": access_token_hash(token)})),
        );
        assert_eq!(
            verify(&good, &e).unwrap().claims().ath.as_deref(),
            Some(access_token_hash(token).as_str())
        );
        let none = sign(&key, &header(&key), &claims());
        assert_eq!(verify(&none, &e).unwrap_err(), ProofError::MissingAth);
        let wrong = sign(
            &key,
            &header(&key),
            &with(claims(), json!({"ath": access_token_hash("another")})),
        );
        assert_eq!(verify(&wrong, &e).unwrap_err(), ProofError::AthMismatch);
    }

    /// Duplicate members inside the jwk are refused like anywhere else.
    #[test]
    fn the_jwk_is_read_strictly() {
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let h = header(&key);
        let x = h["jwk"]["x"].as_str().unwrap();
        let raw = h
            .to_string()
            .replacen("\"x\":", &format!("\"x\":\"{x}\",\"x\":"), 1);
        let input = format!(
            "{}.{}",
            b64::encode(raw.as_bytes()),
            b64::encode(claims().to_string().as_bytes())
        );
        let sig = key.sign_bytes(input.as_bytes()).unwrap();
        let proof = format!("{input}.{}", b64::encode(&sig));
        assert!(matches!(
            verify(&proof, &expected(NOW)),
            Err(ProofError::BadJwk(_))
        ));
    }

    #[test]
    fn urls_compare_without_query_fragment_case_or_default_port() {
        assert!(same_url("https://a.example/token", "https://a.example/token"));
        assert!(same_url(
            "https://A.example:443/token?q#f",
            "https://a.example/token"
        ));
        assert!(same_url("http://a.example:80/x", "http://a.example/x"));
        assert!(same_url("https://a.example", "https://a.example/"));
        assert!(!same_url("https://a.example/Token", "https://a.example/token"));
        assert!(!same_url("http://a.example/token", "https://a.example/token"));
        assert!(!same_url(
            "https://a.example:8443/token",
            "https://a.example/token"
        ));
        assert!(!same_url(
            "https://user@a.example/token",
            "https://a.example/token"
        ));
        assert!(!same_url("/token", "/token"));
    }
}
