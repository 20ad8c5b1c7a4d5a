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
use zeroize::Zeroizing;

use crate::{b64, KeyError};

/// A private or secret JWK member: wiped from memory when dropped, never
/// shown by `Debug`, compared in constant time.
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    /// Wraps a base64url secret value.
    pub fn new(value: String) -> Secret {
        Secret(Zeroizing::new(value))
    }

    /// The base64url value. Handle with care.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl PartialEq for Secret {
    fn eq(&self, other: &Secret) -> bool {
        #[allow(deprecated)] // the constant-time comparison aws-lc-rs offers
        aws_lc_rs::constant_time::verify_slices_are_equal(self.0.as_bytes(), other.0.as_bytes()).is_ok()
    }
}

impl Eq for Secret {}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

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
    pub d: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dp: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dq: Option<Secret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub qi: Option<Secret>,
    /// Private: the symmetric key of an `oct` JWK.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<Secret>,
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
        fn member<'a>(v: Option<&'a str>, name: &'static str) -> Result<&'a str, KeyError> {
            let v = v.ok_or(KeyError::JwkMember(name))?;
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
                member(self.e.as_deref(), "e")?,
                member(self.n.as_deref(), "n")?
            ),
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                member(self.crv.as_deref(), "crv")?,
                member(self.x.as_deref(), "x")?,
                member(self.y.as_deref(), "y")?
            ),
            "OKP" => format!(
                r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
                member(self.crv.as_deref(), "crv")?,
                member(self.x.as_deref(), "x")?
            ),
            "oct" => {
                let k = Zeroizing::new(format!(
                    r#"{{"k":"{}","kty":"oct"}}"#,
                    member(self.k.as_ref().map(Secret::expose), "k")?
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
pub(crate) fn secret_bytes(v: &Option<Secret>, name: &'static str) -> Result<Zeroizing<Vec<u8>>, KeyError> {
    let v = v.as_ref().ok_or(KeyError::JwkMember(name))?;
    b64::decode(v.expose().as_bytes())
        .map(Zeroizing::new)
        .ok_or(KeyError::JwkMember(name))
}
