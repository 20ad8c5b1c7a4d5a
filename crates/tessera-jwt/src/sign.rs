//! Signing: claims in, compact JWS out ([RFC 7515 §5.1]).
//!
//! The header depends only on the key and the `typ`, so a [`Signer`]
//! encodes it once; each token costs one claims serialization, two base64
//! encodings and the signature.
//!
//! [RFC 7515 §5.1]: https://www.rfc-editor.org/rfc/rfc7515#section-5.1

use serde::Serialize;

use crate::{b64, claims, Error, SigningKey};

/// A signing key with its encoded header.
#[derive(Debug)]
pub struct Signer {
    key: SigningKey,
    header: String,
}

#[derive(Serialize)]
struct HeaderOut<'a> {
    alg: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    typ: Option<&'a str>,
    kid: &'a str,
}

impl Signer {
    /// A signer whose tokens carry `alg`, `kid` and, when given, `typ`
    /// (e.g. `at+jwt` for access tokens, [RFC 9068 §2.1]; `JWT` is the
    /// conventional value for other JWTs, [RFC 7519 §5.1]).
    ///
    /// [RFC 9068 §2.1]: https://www.rfc-editor.org/rfc/rfc9068#section-2.1
    /// [RFC 7519 §5.1]: https://www.rfc-editor.org/rfc/rfc7519#section-5.1
    pub fn new(key: SigningKey, typ: Option<&str>) -> Signer {
        let header = HeaderOut {
            alg: key.algorithm().name(),
            typ,
            kid: key.kid(),
        };
        // Serializing a struct of strings cannot fail.
        let json = serde_json::to_vec(&header).unwrap_or_default();
        Signer {
            header: b64::encode(&json),
            key,
        }
    }

    /// The key.
    pub fn key(&self) -> &SigningKey {
        &self.key
    }

    /// Signs `claims`, which must serialize to a JSON object with unique
    /// member names and well-typed registered claims (what Tessera would
    /// not accept, it does not sign).
    ///
    /// The serialized JSON is scanned once, top level only, before signing.
    /// A registered claim of the wrong type ([RFC 7519 §4.1], e.g. a numeric
    /// `sub` or a string `exp`) is [`Error::InvalidClaim`], as on verify;
    /// any other fault is [`Error::ClaimsSerialize`].
    ///
    /// [RFC 7519 §4.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1
    pub fn sign<C: Serialize + ?Sized>(&self, claims: &C) -> Result<String, Error> {
        let payload = serde_json::to_vec(claims).map_err(|e| Error::ClaimsSerialize(e.to_string()))?;
        claims::scan(&payload).map_err(|e| match e {
            Error::InvalidClaim { .. } => e,
            e => Error::ClaimsSerialize(e.to_string()),
        })?;
        self.sign_payload(&payload)
    }

    /// Signs raw payload bytes (for non-JWT JWS use and tests).
    pub fn sign_payload(&self, payload: &[u8]) -> Result<String, Error> {
        let mut token = String::with_capacity(self.header.len() + payload.len() * 4 / 3 + 700);
        token.push_str(&self.header);
        token.push('.');
        b64::encode_into(payload, &mut token);
        let mut signature = Vec::with_capacity(512);
        self.key.sign_raw(token.as_bytes(), &mut signature)?;
        token.push('.');
        b64::encode_into(&signature, &mut token);
        Ok(token)
    }
}
