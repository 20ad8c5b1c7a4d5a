//! Verification: a set of trusted keys checks a token, in this order
//! ([RFC 7515 §5.2], [RFC 7519 §7.2], [RFC 8725 §3]):
//!
//! 1. Bound the length before decoding anything.
//! 2. Split into exactly three segments; decode the header strictly.
//! 3. Parse the header: `none`, unknown `alg` and any `crit` are refused.
//! 4. Find the key by `kid` (an opaque map key: never a path, a URL or a
//!    query), or, without a `kid`, the only key bound to the header's `alg`.
//! 5. The header's `alg` must equal the key's own algorithm.
//! 6. Verify the signature over `header.payload` with the key's algorithm.
//! 7. Only now decode the payload, and deserialize the caller's claims type
//!    in the same pass that refuses repeated names and reads the registered
//!    claims (`claims::checked`).
//! 8. Validate the registered claims.
//!
//! [RFC 7515 §5.2]: https://www.rfc-editor.org/rfc/rfc7515#section-5.2
//! [RFC 7519 §7.2]: https://www.rfc-editor.org/rfc/rfc7519#section-7.2
//! [RFC 8725 §3]: https://www.rfc-editor.org/rfc/rfc8725#section-3

use serde::de::DeserializeOwned;

use crate::compact::{self, Compact};
use crate::error::{Part, Untrusted};
use crate::{claims, header, Error, Header, Jwks, KeyError, UnixTime, Validation, VerifyingKey};

/// A set of trusted verification keys, e.g. an issuer's JWKS.
#[derive(Clone, Debug, Default)]
pub struct KeySet {
    keys: Vec<VerifyingKey>,
}

/// A token whose signature has been verified. Only [`KeySet`] makes one.
#[derive(Clone, Debug)]
pub struct VerifiedJws {
    header: std::sync::Arc<Header>,
    payload: Vec<u8>,
}

impl VerifiedJws {
    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The verified payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }
}

/// A token whose signature and claims have been verified. Only
/// [`KeySet::verify`] makes one.
#[derive(Clone, Debug)]
pub struct Verified<C> {
    header: std::sync::Arc<Header>,
    claims: C,
}

impl<C> Verified<C> {
    /// The verified header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The verified claims.
    pub fn claims(&self) -> &C {
        &self.claims
    }

    /// The verified claims, by value.
    pub fn into_claims(self) -> C {
        self.claims
    }
}

impl KeySet {
    /// A key set; two keys may not share a `kid`.
    pub fn new(keys: Vec<VerifyingKey>) -> Result<KeySet, KeyError> {
        for (i, key) in keys.iter().enumerate() {
            if keys.iter().skip(i + 1).any(|k| k.kid() == key.kid()) {
                return Err(KeyError::DuplicateKid(key.kid().to_owned()));
            }
        }
        Ok(KeySet { keys })
    }

    /// Loads a JWK Set. Keys that are not for signatures (`use`/`key_ops`),
    /// or whose `kty`/`crv`/`alg` is not supported here, are skipped, as an
    /// issuer's JWKS may also list encryption keys; a signature key that is
    /// malformed is an error.
    pub fn from_jwks(jwks: &Jwks) -> Result<KeySet, KeyError> {
        let mut keys = Vec::with_capacity(jwks.keys.len());
        for jwk in &jwks.keys {
            match VerifyingKey::from_jwk(jwk) {
                Ok(key) => keys.push(key),
                Err(
                    KeyError::NotForSignatures
                    | KeyError::UnsupportedKeyType(_)
                    | KeyError::UnsupportedAlgorithm(_),
                ) => {}
                Err(e) => return Err(e),
            }
        }
        KeySet::new(keys)
    }

    /// Parses and loads a JWK Set document.
    pub fn from_jwks_json(json: &[u8]) -> Result<KeySet, KeyError> {
        let jwks: Jwks = serde_json::from_slice(json).map_err(|e| KeyError::Jwks(e.to_string()))?;
        KeySet::from_jwks(&jwks)
    }

    /// The keys.
    pub fn keys(&self) -> &[VerifyingKey] {
        &self.keys
    }

    /// The public JWKS of the asymmetric keys (symmetric keys are never
    /// published).
    pub fn to_public_jwks(&self) -> Jwks {
        Jwks {
            keys: self.keys.iter().filter_map(|k| k.public_jwk().cloned()).collect(),
        }
    }

    /// Steps 4-5: the key named by `kid`, bound to the header's `alg`.
    fn select(&self, header: &Header) -> Result<&VerifyingKey, Error> {
        let key = match &header.kid {
            Some(kid) => self
                .keys
                .iter()
                .find(|k| k.kid() == kid)
                .ok_or_else(|| Error::UnknownKid(Untrusted::new(kid)))?,
            None => {
                let mut candidates = self.keys.iter().filter(|k| k.algorithm() == header.alg);
                match (candidates.next(), candidates.count()) {
                    (Some(key), 0) => key,
                    (None, _) => return Err(Error::NoKeyForAlgorithm(header.alg)),
                    (Some(_), more) => return Err(Error::KidRequired(more + 1)),
                }
            }
        };
        if key.algorithm() != header.alg {
            return Err(Error::AlgorithmMismatch {
                header: header.alg,
                key: key.algorithm(),
                kid: Untrusted::new(key.kid()),
            });
        }
        Ok(key)
    }

    /// Steps 1-6: checks the signature. The payload may be anything.
    fn verify_parts<'t>(
        &self,
        token: &'t str,
        max_len: usize,
    ) -> Result<(std::sync::Arc<Header>, Compact<'t>), Error> {
        let parts = compact::split(token, max_len)?;
        let header = header::decode_and_parse(parts.header)?;
        let key = self.select(&header)?;
        let mut buf = [0u8; compact::MAX_SIGNATURE_LEN];
        let signature = compact::decode_signature(parts.signature, &mut buf)?;
        if !signature.is_some_and(|sig| key.verify_raw(parts.signing_input, sig)) {
            return Err(Error::InvalidSignature);
        }
        Ok((header, parts))
    }

    /// Verifies a compact JWS's signature and returns its header and
    /// payload, whatever the payload is. For JWTs use [`KeySet::verify`].
    pub fn verify_signature(&self, token: &str, max_len: usize) -> Result<VerifiedJws, Error> {
        let (header, parts) = self.verify_parts(token, max_len)?;
        let payload = compact::decode(parts.payload, Part::Payload)?;
        Ok(VerifiedJws { header, payload })
    }

    /// Verifies a JWT: signature, then header type and claims against
    /// `validation` at time `now`, then deserializes the claims as `C`.
    pub fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        validation: &Validation,
        now: UnixTime,
    ) -> Result<Verified<C>, Error> {
        let (header, parts) = self.verify_parts(token, validation.max_token_len)?;
        validation.check_header(&header)?;
        // Typical payloads decode on the stack; larger ones on the heap.
        let mut stack = [0u8; 1024];
        let heap: Vec<u8>;
        let payload: &[u8] = match crate::b64::decode_slice(parts.payload, &mut stack) {
            Some(len) => stack.get(..len).unwrap_or_default(),
            None => {
                heap = compact::decode(parts.payload, Part::Payload)?;
                &heap
            }
        };
        match claims::deserialize::<C>(payload) {
            Ok((claims, scanned)) => {
                validation.check_claims(&scanned, now)?;
                Ok(Verified { header, claims })
            }
            // The caller's type did not fit: report a broken rule first, if
            // there is one, so an expired token is called expired.
            Err(Error::ClaimsShape(shape)) => {
                validation.check_claims(&claims::scan(payload)?, now)?;
                Err(Error::ClaimsShape(shape))
            }
            Err(e) => Err(e),
        }
    }
}
