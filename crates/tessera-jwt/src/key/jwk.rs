//! JSON Web Keys and key sets ([RFC 7517]) and their thumbprints ([RFC 7638]).
//!
//! A [`Jwk`] is the wire form only: plain base64url strings. Turning it into a
//! usable key ([`crate::SigningKey::from_jwk`], [`crate::VerifyingKey::from_jwk`])
//! is where every member is checked. Private members are wiped from memory
//! when a `Jwk` is dropped and never shown by `Debug`.
//!
//! [RFC 7517]: https://www.rfc-editor.org/rfc/rfc7517
//! [RFC 7638]: https://www.rfc-editor.org/rfc/rfc7638

use serde::{Deserialize, Serialize};
use zeroize::Zeroize;

use crate::{b64, KeyError};

/// A JSON Web Key ([RFC 7517 §4], parameters from [RFC 7518 §6] and
/// [RFC 8037 §2]). Unknown members (`x5c`, ...) are ignored on input and
/// never used.
///
/// [RFC 7517 §4]: https://www.rfc-editor.org/rfc/rfc7517#section-4
/// [RFC 7518 §6]: https://www.rfc-editor.org/rfc/rfc7518#section-6
/// [RFC 8037 §2]: https://www.rfc-editor.org/rfc/rfc8037#section-2
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[allow(missing_docs)] // the members are the RFC's, named as on the wire
pub struct Jwk {
    pub kty: String,
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crv: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub x: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub y: Option<String>,
    /// Private: RSA private exponent, EC private scalar, or OKP seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub d: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<String>,
    /// Private: the symmetric key of an `oct` JWK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<String>,
}

impl Jwk {
    /// Whether the JWK holds private or secret material.
    pub fn is_private(&self) -> bool {
        self.d.is_some() || self.k.is_some()
    }

    /// The same key without its private members.
    pub fn to_public(&self) -> Jwk {
        Jwk {
            kty: self.kty.clone(),
            use_: self.use_.clone(),
            key_ops: self.key_ops.clone(),
            alg: self.alg.clone(),
            kid: self.kid.clone(),
            crv: self.crv.clone(),
            n: self.n.clone(),
            e: self.e.clone(),
            x: self.x.clone(),
            y: self.y.clone(),
            d: None,
            p: None,
            q: None,
            dp: None,
            dq: None,
            qi: None,
            k: None,
        }
    }

    /// The JWK Thumbprint: base64url SHA-256 of the required members in
    /// lexicographic order with no whitespace ([RFC 7638 §3], members per
    /// [RFC 7638 §3.2] and [RFC 8037 §2]).
    ///
    /// [RFC 7638 §3]: https://www.rfc-editor.org/rfc/rfc7638#section-3
    /// [RFC 7638 §3.2]: https://www.rfc-editor.org/rfc/rfc7638#section-3.2
    /// [RFC 8037 §2]: https://www.rfc-editor.org/rfc/rfc8037#section-2
    pub fn thumbprint(&self) -> Result<String, KeyError> {
        fn member<'a>(v: &'a Option<String>, name: &'static str) -> Result<&'a str, KeyError> {
            let v = v.as_deref().ok_or(KeyError::JwkMember(name))?;
            // The canonical form is built by concatenation, which is only
            // correct for strings that need no JSON escaping: base64url
            // values and registered names.
            if v.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            {
                Ok(v)
            } else {
                Err(KeyError::JwkMember(name))
            }
        }
        let canonical = match self.kty.as_str() {
            "RSA" => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                member(&self.e, "e")?,
                member(&self.n, "n")?
            ),
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                member(&self.crv, "crv")?,
                member(&self.x, "x")?,
                member(&self.y, "y")?
            ),
            "OKP" => format!(
                r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
                member(&self.crv, "crv")?,
                member(&self.x, "x")?
            ),
            "oct" => {
                let k = zeroize::Zeroizing::new(format!(
                    r#"{{"k":"{}","kty":"oct"}}"#,
                    member(&self.k, "k")?
                ));
                return Ok(b64::encode(
                    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, k.as_bytes()).as_ref(),
                ));
            }
            other => return Err(KeyError::UnsupportedKeyType(other.to_owned())),
        };
        Ok(b64::encode(
            aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref(),
        ))
    }
}

impl std::fmt::Debug for Jwk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .field("crv", &self.crv)
            .field("private", &self.is_private())
            .finish_non_exhaustive()
    }
}

impl Drop for Jwk {
    fn drop(&mut self) {
        for secret in [
            &mut self.d,
            &mut self.p,
            &mut self.q,
            &mut self.dp,
            &mut self.dq,
            &mut self.qi,
            &mut self.k,
        ] {
            secret.zeroize();
        }
    }
}

/// A JWK Set ([RFC 7517 §5]): `{"keys": [...]}`.
///
/// [RFC 7517 §5]: https://www.rfc-editor.org/rfc/rfc7517#section-5
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The keys.
    pub keys: Vec<Jwk>,
}

/// Decodes a base64url JWK member into bytes.
pub(crate) fn member_bytes(v: &Option<String>, name: &'static str) -> Result<Vec<u8>, KeyError> {
    let v = v.as_deref().ok_or(KeyError::JwkMember(name))?;
    b64::decode(v.as_bytes()).ok_or(KeyError::JwkMember(name))
}

/// Decodes a secret base64url JWK member into wiped-on-drop bytes.
pub(crate) fn secret_bytes(
    v: &Option<String>,
    name: &'static str,
) -> Result<zeroize::Zeroizing<Vec<u8>>, KeyError> {
    member_bytes(v, name).map(zeroize::Zeroizing::new)
}
