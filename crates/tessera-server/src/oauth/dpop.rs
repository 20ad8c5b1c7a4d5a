//! DPoP at this server ([RFC 9449]): a client proves possession of a key
//! with each request, and the tokens it gets are bound to that key's
//! thumbprint (`cnf.jkt`), so a stolen token is useless without the key.
//!
//! A proof is checked the same way wherever it arrives ([`check`]):
//!
//! 1. At most one `DPoP` header ([RFC 9449 §4.3] check 1); none means the
//!    request is not DPoP.
//! 2. The proof itself ([`tessera_jwt::dpop::verify`], checks 2-9 and 12):
//!    `typ`, an asymmetric `alg`, a public `jwk`, the signature, `htm` the
//!    request's method and `htu` its URL as *configured* (the issuer, never
//!    the `Host` header), `iat` within 60 s of now, and with an access
//!    token, `ath` its hash.
//! 3. The `jti` is used once across every node ([RFC 9449 §11.1],
//!    [`crate::store::DpopProofStore`]), remembered until the proof's `iat`
//!    window has passed.
//!
//! What a token request does with the key ([`crate::oauth::token`]): the
//! access token gets `cnf: {"jkt": ..}` and `token_type: DPoP`; a public
//! client's refresh family is bound to the key (§5); a code issued for a
//! `dpop_jkt` (§10) is redeemed only with a proof by that key; a client
//! registered `--dpop-bound` is refused without a proof.
//!
//! No server nonce (check 10, `DPoP-Nonce`) is asked for: `iat`'s window
//! and the single-use `jti` bound a proof's life instead.
//!
//! [RFC 9449]: https://www.rfc-editor.org/rfc/rfc9449
//! [RFC 9449 §4.3]: https://www.rfc-editor.org/rfc/rfc9449#section-4.3
//! [RFC 9449 §11.1]: https://www.rfc-editor.org/rfc/rfc9449#section-11.1

use tessera_jwt::dpop::{self, Expected, ProofError, DEFAULT_WINDOW_SECS};
use tessera_jwt::UnixTime;

use super::OAuthError;
use crate::store::DpopProofStore;

pub use tessera_jwt::dpop::ALGORITHMS;

/// Why a DPoP proof was refused: `invalid_dpop_proof` on the wire
/// ([RFC 9449 §5] at the token endpoint, §7.1 at a resource).
///
/// [RFC 9449 §5]: https://www.rfc-editor.org/rfc/rfc9449#section-5
#[derive(Debug, thiserror::Error)]
pub enum DpopError {
    /// More than one `DPoP` header.
    #[error("more than one DPoP header")]
    Repeated,
    /// The proof broke a rule of [`tessera_jwt::dpop`].
    #[error(transparent)]
    Proof(#[from] ProofError),
    /// The proof's `jti` was seen before.
    #[error("the DPoP proof was used before")]
    Replayed,
    /// A pushed request names a `dpop_jkt` and its proof is by another key
    /// ([RFC 9449 §10.1]).
    ///
    /// [RFC 9449 §10.1]: https://www.rfc-editor.org/rfc/rfc9449#section-10.1
    #[error("the DPoP proof's key is not the one dpop_jkt names")]
    NotTheNamedKey,
}

impl DpopError {
    /// Fixed words for the client: what to fix, never what it sent.
    pub fn description(&self) -> &'static str {
        match self {
            DpopError::Repeated => "send one DPoP header",
            DpopError::Replayed => "the DPoP proof was used already; make a new one for each request",
            DpopError::NotTheNamedKey => "the DPoP proof's key is not the one dpop_jkt names",
            DpopError::Proof(e) => match e {
                ProofError::WrongType(_) => "the DPoP proof's typ must be dpop+jwt",
                ProofError::AlgorithmNotAllowed(_) => {
                    "the DPoP proof must be signed with an algorithm of dpop_signing_alg_values_supported"
                }
                ProofError::MissingJwk | ProofError::BadJwk(_) => {
                    "the DPoP proof's jwk header must be the public key that signed it"
                }
                ProofError::PrivateKeyInJwk => "the DPoP proof's jwk must not hold a private key",
                ProofError::BadSignature => "the DPoP proof's signature is invalid",
                ProofError::MissingClaim(_) => "the DPoP proof must carry jti, htm, htu and iat",
                ProofError::WrongMethod => "the DPoP proof's htm is not this request's method",
                ProofError::WrongUrl => "the DPoP proof's htu is not this endpoint's URL",
                ProofError::TooOld { .. } | ProofError::FromTheFuture { .. } | ProofError::LivesTooLong => {
                    "the DPoP proof's iat is not within 60 seconds of now"
                }
                ProofError::MissingAth | ProofError::AthMismatch => {
                    "the DPoP proof's ath is not the hash of the access token"
                }
                _ => "the DPoP proof is malformed",
            },
        }
    }
}

/// The thumbprint of the key a token is (or is to be) bound to
/// ([RFC 7638], base64url SHA-256): `cnf.jkt`.
///
/// [RFC 7638]: https://www.rfc-editor.org/rfc/rfc7638
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Jkt(String);

impl Jkt {
    /// The thumbprint.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether `other`, a thumbprint stored or sent by a client, is this
    /// one (constant time: a binding is not a secret, but costs nothing to
    /// compare so).
    pub fn matches(&self, other: &str) -> bool {
        #[allow(deprecated)] // the constant-time comparison aws-lc-rs offers
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), other.as_bytes()).is_ok()
    }
}

/// The request a proof came with.
#[derive(Clone, Copy, Debug)]
pub struct Request<'a> {
    /// The HTTP method.
    pub method: &'a str,
    /// The URL the endpoint is configured at (issuer + path).
    pub url: &'a str,
    /// The access token presented with it, at a resource.
    pub access_token: Option<&'a str>,
    /// Now.
    pub now: i64,
}

/// Steps 1-3 of the module: the key a request proved, `None` when it sent
/// no proof.
pub async fn check<S: DpopProofStore>(
    store: &S,
    headers: &[String],
    request: Request<'_>,
) -> Result<Option<Jkt>, DpopError> {
    // 1.
    let proof = match headers {
        [] => return Ok(None),
        [one] => one,
        _ => return Err(DpopError::Repeated),
    };
    // 2.
    let mut expected = Expected::new(request.method, request.url, UnixTime::from_secs(request.now));
    if let Some(token) = request.access_token {
        expected = expected.access_token(token);
    }
    let proof = dpop::verify(proof, &expected)?;
    // 3.
    let window = i64::try_from(DEFAULT_WINDOW_SECS).unwrap_or(i64::MAX);
    let remember_until = proof.claims().iat.saturating_add(window).saturating_add(1);
    let first = store
        .use_dpop_proof(proof.jkt(), &proof.claims().jti, remember_until)
        .await
        .map_err(|e| {
            tracing::error!("dpop: recording a proof failed: {e}");
            DpopError::Replayed
        })?;
    if !first {
        return Err(DpopError::Replayed);
    }
    Ok(Some(Jkt(proof.jkt().to_owned())))
}

/// The URL of one of this server's endpoints (`path` starts with `/`),
/// for a proof's `htu`: from the configured issuer, never the `Host`
/// header.
pub fn endpoint(issuer: &str, path: &str) -> String {
    format!("{}{path}", issuer.trim_end_matches('/'))
}

/// The token endpoint's URL.
pub fn token_endpoint(issuer: &str) -> String {
    endpoint(issuer, "/token")
}

/// The key a token request proved (the `DPoP` headers sent with it), or
/// an [`OAuthError::InvalidDpopProof`].
pub async fn at_token_endpoint<S: DpopProofStore>(
    store: &S,
    headers: &[String],
    issuer: &str,
    now: i64,
) -> Result<Option<Jkt>, OAuthError> {
    at_post_endpoint(store, headers, &token_endpoint(issuer), now).await
}

/// The key a `POST` to the endpoint at `url` proved, or an
/// [`OAuthError::InvalidDpopProof`].
pub async fn at_post_endpoint<S: DpopProofStore>(
    store: &S,
    headers: &[String],
    url: &str,
    now: i64,
) -> Result<Option<Jkt>, OAuthError> {
    let request = Request {
        method: "POST",
        url,
        access_token: None,
        now,
    };
    check(store, headers, request)
        .await
        .map_err(OAuthError::InvalidDpopProof)
}

/// `dpop_jkt` at `/authorize` or `/par` ([RFC 9449 §10]): a thumbprint is
/// 43 base64url characters (SHA-256).
///
/// [RFC 9449 §10]: https://www.rfc-editor.org/rfc/rfc9449#section-10
pub fn is_thumbprint(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use serde_json::json;
    use tessera_jwt::{Algorithm, SigningKey};

    use super::*;
    use crate::fixtures;

    /// A proof for `POST {issuer}/token`, made by `key` at `iat`.
    pub(crate) fn proof(key: &SigningKey, htu: &str, iat: i64, jti: &str) -> String {
        use base64::Engine;
        let b64 = |b: &[u8]| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b);
        let jwk = key.public_jwk().unwrap();
        let header = json!({"typ": "dpop+jwt", "alg": key.algorithm().name(), "jwk": jwk});
        let claims = json!({"jti": jti, "htm": "POST", "htu": htu, "iat": iat});
        let input = format!(
            "{}.{}",
            b64(header.to_string().as_bytes()),
            b64(claims.to_string().as_bytes())
        );
        let sig = key.sign_bytes(input.as_bytes()).unwrap();
        format!("{input}.{}", b64(&sig))
    }

    /// Steps 1 and 3: one header; a `jti` once.
    #[tokio::test]
    async fn one_header_and_one_use() {
        let store = fixtures::store().await;
        let key = SigningKey::generate(Algorithm::ES256).unwrap();
        let url = token_endpoint(fixtures::ISSUER);
        let p = proof(&key, &url, fixtures::NOW, "j1");
        let jkt = at_token_endpoint(&store, std::slice::from_ref(&p), fixtures::ISSUER, fixtures::NOW)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(jkt.as_str(), key.public_jwk().unwrap().thumbprint().unwrap());
        let again =
            at_token_endpoint(&store, std::slice::from_ref(&p), fixtures::ISSUER, fixtures::NOW).await;
        assert!(
            matches!(again, Err(OAuthError::InvalidDpopProof(DpopError::Replayed))),
            "{again:?}"
        );
        let two = [
            proof(&key, &url, fixtures::NOW, "j2"),
            proof(&key, &url, fixtures::NOW, "j3"),
        ];
        let e = at_token_endpoint(&store, &two, fixtures::ISSUER, fixtures::NOW)
            .await
            .unwrap_err();
        assert!(
            matches!(e, OAuthError::InvalidDpopProof(DpopError::Repeated)),
            "{e:?}"
        );
        assert_eq!((e.code(), e.status()), ("invalid_dpop_proof", 400));
        assert_eq!(
            at_token_endpoint(&store, &[], fixtures::ISSUER, fixtures::NOW)
                .await
                .unwrap(),
            None
        );
    }

    #[test]
    fn thumbprints_are_43_base64url_characters() {
        assert!(is_thumbprint("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
        assert!(!is_thumbprint("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4"));
        assert!(!is_thumbprint("0ZcOCORZNYy+DWpqq30jZyJGHTN0d2HglBV3uiguA4I"));
    }
}
