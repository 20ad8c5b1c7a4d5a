//! Keys: generation, import, export, and the one algorithm each is bound to.
//!
//! A [`SigningKey`] holds a private (or secret) key already parsed by the
//! crypto library; a [`VerifyingKey`] holds the public half, also parsed
//! once. Neither re-parses per token. Each carries its [`Algorithm`] and
//! `kid`, which defaults to the RFC 7638 thumbprint of its public JWK.

pub(crate) mod der;
pub mod jwk;
pub(crate) mod pem;
mod weak_rsa;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::signature::{self as sig, KeyPair as _, ParsedPublicKey};
use aws_lc_rs::{hmac, rsa};
use zeroize::Zeroizing;

use crate::alg::Family;
use crate::b64;
use crate::{Algorithm, KeyError};
pub use jwk::{Jwk, Jwks, Secret};

/// The private half of a key, parsed.
enum Private {
    Hmac {
        key: Box<hmac::Key>,
        secret: Zeroizing<Vec<u8>>,
    },
    Rsa(rsa::KeyPair),
    Ec(sig::EcdsaKeyPair),
    Ed(sig::Ed25519KeyPair),
}

/// A key that signs tokens with exactly one algorithm ([RFC 8725 §3.1]).
///
/// [RFC 8725 §3.1]: https://www.rfc-editor.org/rfc/rfc8725#section-3.1
pub struct SigningKey {
    alg: Algorithm,
    kid: String,
    private: Private,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

// The per-algorithm tables below list every [`Algorithm`] by name, with no
// `_ =>` arm: a new algorithm does not compile until each table says what
// it is, instead of silently taking SHA-256 or RS256. A table answers
// `None` for an algorithm of another key family; its caller turns that
// into an error.

/// The HMAC hash of an `HS*` algorithm ([RFC 7518 §3.2]).
///
/// [RFC 7518 §3.2]: https://www.rfc-editor.org/rfc/rfc7518#section-3.2
fn hmac_algorithm(alg: Algorithm) -> Option<hmac::Algorithm> {
    match alg {
        Algorithm::HS256 => Some(hmac::HMAC_SHA256),
        Algorithm::HS384 => Some(hmac::HMAC_SHA384),
        Algorithm::HS512 => Some(hmac::HMAC_SHA512),
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

/// The ECDSA signing algorithm of an `ES*` algorithm, in the fixed
/// `r || s` form ([RFC 7518 §3.4]).
///
/// [RFC 7518 §3.4]: https://www.rfc-editor.org/rfc/rfc7518#section-3.4
fn ecdsa_signing(alg: Algorithm) -> Option<&'static sig::EcdsaSigningAlgorithm> {
    match alg {
        Algorithm::ES256 => Some(&sig::ECDSA_P256_SHA256_FIXED_SIGNING),
        Algorithm::ES384 => Some(&sig::ECDSA_P384_SHA384_FIXED_SIGNING),
        Algorithm::ES512 => Some(&sig::ECDSA_P521_SHA512_FIXED_SIGNING),
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512
        | Algorithm::EdDSA => None,
    }
}

/// The RSA signature encoding of an `RS*` (PKCS #1 v1.5, [RFC 7518 §3.3])
/// or `PS*` (PSS, [RFC 7518 §3.5]) algorithm.
///
/// [RFC 7518 §3.3]: https://www.rfc-editor.org/rfc/rfc7518#section-3.3
/// [RFC 7518 §3.5]: https://www.rfc-editor.org/rfc/rfc7518#section-3.5
fn rsa_padding(alg: Algorithm) -> Option<&'static dyn sig::RsaEncoding> {
    match alg {
        Algorithm::RS256 => Some(&sig::RSA_PKCS1_SHA256),
        Algorithm::RS384 => Some(&sig::RSA_PKCS1_SHA384),
        Algorithm::RS512 => Some(&sig::RSA_PKCS1_SHA512),
        Algorithm::PS256 => Some(&sig::RSA_PSS_SHA256),
        Algorithm::PS384 => Some(&sig::RSA_PSS_SHA384),
        Algorithm::PS512 => Some(&sig::RSA_PSS_SHA512),
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::ES256
        | Algorithm::ES384
        | Algorithm::ES512
        | Algorithm::EdDSA => None,
    }
}

/// The verification algorithm for an asymmetric JWS algorithm. RSA accepts
/// 2048..=8192-bit moduli; ECDSA takes the fixed `r || s` form
/// ([RFC 7518 §3.4]) and range-checks `r` and `s` inside aws-lc.
///
/// [RFC 7518 §3.4]: https://www.rfc-editor.org/rfc/rfc7518#section-3.4
fn verification_algorithm(alg: Algorithm) -> Option<&'static dyn sig::VerificationAlgorithm> {
    match alg {
        Algorithm::RS256 => Some(&sig::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => Some(&sig::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => Some(&sig::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => Some(&sig::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => Some(&sig::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => Some(&sig::RSA_PSS_2048_8192_SHA512),
        Algorithm::ES256 => Some(&sig::ECDSA_P256_SHA256_FIXED),
        Algorithm::ES384 => Some(&sig::ECDSA_P384_SHA384_FIXED),
        Algorithm::ES512 => Some(&sig::ECDSA_P521_SHA512_FIXED),
        Algorithm::EdDSA => Some(&sig::ED25519),
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => None,
    }
}

/// The RSA verification parameters of an `RS*`/`PS*` algorithm
/// (2048..=8192-bit moduli).
fn rsa_params(alg: Algorithm) -> Option<&'static sig::RsaParameters> {
    match alg {
        Algorithm::RS256 => Some(&sig::RSA_PKCS1_2048_8192_SHA256),
        Algorithm::RS384 => Some(&sig::RSA_PKCS1_2048_8192_SHA384),
        Algorithm::RS512 => Some(&sig::RSA_PKCS1_2048_8192_SHA512),
        Algorithm::PS256 => Some(&sig::RSA_PSS_2048_8192_SHA256),
        Algorithm::PS384 => Some(&sig::RSA_PSS_2048_8192_SHA384),
        Algorithm::PS512 => Some(&sig::RSA_PSS_2048_8192_SHA512),
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::ES256
        | Algorithm::ES384
        | Algorithm::ES512
        | Algorithm::EdDSA => None,
    }
}

/// The byte length of one EC coordinate ([RFC 7518 §6.2.1.2]) of an `ES*`
/// algorithm.
///
/// [RFC 7518 §6.2.1.2]: https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1.2
fn coordinate_len(alg: Algorithm) -> Option<usize> {
    match alg {
        Algorithm::ES256 => Some(32),
        Algorithm::ES384 => Some(48),
        Algorithm::ES512 => Some(66),
        Algorithm::HS256
        | Algorithm::HS384
        | Algorithm::HS512
        | Algorithm::RS256
        | Algorithm::RS384
        | Algorithm::RS512
        | Algorithm::PS256
        | Algorithm::PS384
        | Algorithm::PS512
        | Algorithm::EdDSA => None,
    }
}

fn wrong(alg: Algorithm, found: &'static str) -> KeyError {
    KeyError::WrongKeyType { alg, found }
}

impl SigningKey {
    /// Generates a fresh key for `alg` (RSA: 2048 bits; HMAC: a random
    /// secret as long as the hash output).
    pub fn generate(alg: Algorithm) -> Result<SigningKey, KeyError> {
        let private = match alg.family() {
            Family::Hmac => {
                let len = alg.min_hmac_key_len().ok_or_else(|| wrong(alg, "symmetric"))?;
                let mut secret = Zeroizing::new(vec![0u8; len]);
                SystemRandom::new()
                    .fill(&mut secret)
                    .map_err(|_| KeyError::CryptoFailure)?;
                return SigningKey::from_hmac_secret(alg, &secret);
            }
            Family::Rsa => return SigningKey::generate_rsa(alg, 2048),
            Family::Ec => {
                let signing = ecdsa_signing(alg).ok_or(KeyError::CryptoFailure)?;
                Private::Ec(sig::EcdsaKeyPair::generate(signing).map_err(|_| KeyError::CryptoFailure)?)
            }
            Family::Ed25519 => {
                Private::Ed(sig::Ed25519KeyPair::generate().map_err(|_| KeyError::CryptoFailure)?)
            }
        };
        SigningKey::with_thumbprint(alg, private)
    }

    /// Generates an RSA key of 2048, 3072 or 4096 bits for an `RS*`/`PS*`
    /// algorithm.
    pub fn generate_rsa(alg: Algorithm, bits: usize) -> Result<SigningKey, KeyError> {
        if alg.family() != Family::Rsa {
            return Err(wrong(alg, "RSA"));
        }
        let size = match bits {
            2048 => rsa::KeySize::Rsa2048,
            3072 => rsa::KeySize::Rsa3072,
            4096 => rsa::KeySize::Rsa4096,
            other => return Err(KeyError::UnsupportedRsaSize(other)),
        };
        let pair = rsa::KeyPair::generate(size).map_err(|_| KeyError::CryptoFailure)?;
        SigningKey::with_thumbprint(alg, Private::Rsa(pair))
    }

    /// An HMAC key from a secret, which must be at least as long as the hash
    /// output ([RFC 7518 §3.2]).
    ///
    /// [RFC 7518 §3.2]: https://www.rfc-editor.org/rfc/rfc7518#section-3.2
    pub fn from_hmac_secret(alg: Algorithm, secret: &[u8]) -> Result<SigningKey, KeyError> {
        if alg.family() != Family::Hmac {
            return Err(wrong(alg, "symmetric"));
        }
        let min = alg.min_hmac_key_len().ok_or_else(|| wrong(alg, "symmetric"))?;
        if secret.len() < min {
            return Err(KeyError::HmacKeyTooShort {
                alg,
                len: secret.len(),
                min,
            });
        }
        let private = Private::Hmac {
            key: Box::new(hmac::Key::new(
                hmac_algorithm(alg).ok_or_else(|| wrong(alg, "symmetric"))?,
                secret,
            )),
            secret: Zeroizing::new(secret.to_vec()),
        };
        SigningKey::with_thumbprint(alg, private)
    }

    /// Loads a PKCS#8 DER private key. The curve fixes the algorithm of an EC
    /// or Ed25519 key; an RSA key is `RS256` unless `alg` says otherwise.
    pub fn from_pkcs8_der(der: &[u8], alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
        if let Ok(pair) = rsa::KeyPair::from_pkcs8(der) {
            return SigningKey::from_rsa_pair(pair, alg);
        }
        for candidate in [Algorithm::ES256, Algorithm::ES384, Algorithm::ES512] {
            let Some(signing) = ecdsa_signing(candidate) else {
                continue;
            };
            if let Ok(pair) = sig::EcdsaKeyPair::from_pkcs8(signing, der) {
                check_hint(alg, candidate, "EC")?;
                return SigningKey::with_thumbprint(candidate, Private::Ec(pair));
            }
        }
        if let Ok(pair) = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(der) {
            check_hint(alg, Algorithm::EdDSA, "Ed25519")?;
            return SigningKey::with_thumbprint(Algorithm::EdDSA, Private::Ed(pair));
        }
        Err(KeyError::Malformed(
            "PKCS#8 private key (RSA, EC P-256/P-384/P-521 or Ed25519)",
        ))
    }

    /// Loads a PEM private key: PKCS#8 (`PRIVATE KEY`), PKCS#1
    /// (`RSA PRIVATE KEY`) or SEC 1 (`EC PRIVATE KEY`).
    pub fn from_pem(pem: &str, alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
        let (label, der) = pem::decode(pem).ok_or(KeyError::Malformed("PEM document"))?;
        match label.as_str() {
            "PRIVATE KEY" => SigningKey::from_pkcs8_der(&der, alg),
            "RSA PRIVATE KEY" => {
                let pair = rsa::KeyPair::from_der(&der).map_err(|_| KeyError::Malformed("PKCS#1 RSA key"))?;
                SigningKey::from_rsa_pair(pair, alg)
            }
            "EC PRIVATE KEY" => {
                for candidate in [Algorithm::ES256, Algorithm::ES384, Algorithm::ES512] {
                    let Some(signing) = ecdsa_signing(candidate) else {
                        continue;
                    };
                    if let Ok(pair) = sig::EcdsaKeyPair::from_private_key_der(signing, &der) {
                        check_hint(alg, candidate, "EC")?;
                        return SigningKey::with_thumbprint(candidate, Private::Ec(pair));
                    }
                }
                Err(KeyError::Malformed("SEC 1 EC private key"))
            }
            _ => Err(KeyError::Malformed("PEM private key label")),
        }
    }

    /// Loads a key from a file's bytes, whatever its form: PEM, a private
    /// JWK (JSON), or PKCS#8 DER.
    pub fn decode(bytes: &[u8], alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
        let text = std::str::from_utf8(bytes).ok();
        match text.map(str::trim_start) {
            Some(t) if t.starts_with("-----BEGIN") => SigningKey::from_pem(t, alg),
            Some(t) if t.starts_with('{') => {
                let jwk: Jwk = serde_json::from_str(t).map_err(|_| KeyError::Malformed("JWK (JSON)"))?;
                let key = SigningKey::from_jwk(&jwk)?;
                check_hint(alg, key.alg, "JWK")?;
                Ok(key)
            }
            _ => SigningKey::from_pkcs8_der(bytes, alg),
        }
    }

    /// Loads a private JWK. Its `alg`, when present, binds the key; an RSA
    /// JWK without `alg` is `RS256`, an `oct` JWK must name its algorithm.
    /// Its `kid`, when present, is kept.
    pub fn from_jwk(jwk: &Jwk) -> Result<SigningKey, KeyError> {
        let alg = jwk_algorithm(jwk)?;
        let mut key = match alg.family() {
            Family::Hmac => SigningKey::from_hmac_secret(alg, &jwk::secret_bytes(&jwk.k, "k")?)?,
            Family::Rsa => {
                let n = jwk::member_bytes(&jwk.n, "n")?;
                let e = jwk::member_bytes(&jwk.e, "e")?;
                let components = rsa::KeyPairComponents {
                    public_key: sig::RsaPublicKeyComponents {
                        n: strip_zeros(&n),
                        e: strip_zeros(&e),
                    },
                    d: jwk::secret_bytes(&jwk.d, "d")?,
                    p: jwk::secret_bytes(&jwk.p, "p")?,
                    q: jwk::secret_bytes(&jwk.q, "q")?,
                    dP: jwk::secret_bytes(&jwk.dp, "dp")?,
                    dQ: jwk::secret_bytes(&jwk.dq, "dq")?,
                    qInv: jwk::secret_bytes(&jwk.qi, "qi")?,
                };
                let pair = rsa::KeyPair::from_components(&components)
                    .map_err(|_| KeyError::Rejected("inconsistent RSA components"))?;
                SigningKey::from_rsa_pair(pair, Some(alg))?
            }
            Family::Ec => {
                let point = ec_point(jwk, alg)?;
                let d = jwk::secret_bytes(&jwk.d, "d")?;
                if Some(d.len()) != coordinate_len(alg) {
                    return Err(KeyError::JwkMember("d"));
                }
                let signing = ecdsa_signing(alg).ok_or(KeyError::CryptoFailure)?;
                let pair = sig::EcdsaKeyPair::from_private_key_and_public_key(signing, &d, &point)
                    .map_err(|_| KeyError::Rejected("EC private key does not match x/y"))?;
                SigningKey::with_thumbprint(alg, Private::Ec(pair))?
            }
            Family::Ed25519 => {
                let x = jwk::member_bytes(&jwk.x, "x")?;
                let d = jwk::secret_bytes(&jwk.d, "d")?;
                let pair = sig::Ed25519KeyPair::from_seed_and_public_key(&d, &x)
                    .map_err(|_| KeyError::Rejected("Ed25519 seed does not match x"))?;
                SigningKey::with_thumbprint(alg, Private::Ed(pair))?
            }
        };
        if let Some(kid) = &jwk.kid {
            key.kid.clone_from(kid);
        }
        Ok(key)
    }

    fn from_rsa_pair(pair: rsa::KeyPair, alg: Option<Algorithm>) -> Result<SigningKey, KeyError> {
        let alg = alg.unwrap_or(Algorithm::RS256);
        if alg.family() != Family::Rsa {
            return Err(wrong(alg, "RSA"));
        }
        let bits = pair.public_modulus_len() * 8;
        if bits < 2048 {
            return Err(KeyError::RsaKeyTooSmall(bits));
        }
        SigningKey::with_thumbprint(alg, Private::Rsa(pair))
    }

    fn with_thumbprint(alg: Algorithm, private: Private) -> Result<SigningKey, KeyError> {
        let mut key = SigningKey {
            alg,
            kid: String::new(),
            private,
        };
        key.kid = key.jwk_members(false)?.thumbprint()?;
        Ok(key)
    }

    /// Replaces the key id.
    #[must_use]
    pub fn with_kid(mut self, kid: impl Into<String>) -> SigningKey {
        self.kid = kid.into();
        self
    }

    /// The algorithm this key signs with.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id put in the `kid` header of every token it signs.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The raw signature (JWS Signature octets, [RFC 7515 §5.1] step 5) over
    /// `message`, normally the signing input `header.payload`. Most callers
    /// want [`crate::Signer`], which builds that input.
    ///
    /// [RFC 7515 §5.1]: https://www.rfc-editor.org/rfc/rfc7515#section-5.1
    pub fn sign_bytes(&self, message: &[u8]) -> Result<Vec<u8>, crate::Error> {
        let mut out = Vec::with_capacity(512);
        self.sign_raw(message, &mut out)?;
        Ok(out)
    }

    /// Appends the signature over `message` to `out`.
    pub(crate) fn sign_raw(&self, message: &[u8], out: &mut Vec<u8>) -> Result<(), crate::Error> {
        let rng = SystemRandom::new();
        match &self.private {
            Private::Hmac { key, .. } => out.extend_from_slice(hmac::sign(key, message).as_ref()),
            Private::Rsa(pair) => {
                let start = out.len();
                out.resize(start + pair.public_modulus_len(), 0);
                let buf = out.get_mut(start..).ok_or(crate::Error::SigningFailed)?;
                let padding = rsa_padding(self.alg).ok_or(crate::Error::SigningFailed)?;
                pair.sign(padding, &rng, message, buf)
                    .map_err(|_| crate::Error::SigningFailed)?;
            }
            Private::Ec(pair) => out.extend_from_slice(
                pair.sign(&rng, message)
                    .map_err(|_| crate::Error::SigningFailed)?
                    .as_ref(),
            ),
            Private::Ed(pair) => out.extend_from_slice(pair.sign(message).as_ref()),
        }
        Ok(())
    }

    /// The JWK members, public only or with the private ones.
    fn jwk_members(&self, private: bool) -> Result<Jwk, KeyError> {
        let mut jwk = Jwk {
            kid: (!self.kid.is_empty()).then(|| self.kid.clone()),
            alg: Some(self.alg.name().to_owned()),
            ..Jwk::default()
        };
        match &self.private {
            Private::Hmac { secret, .. } => {
                jwk.kty = "oct".into();
                jwk.k = Some(Secret::new(b64::encode(secret)));
            }
            Private::Rsa(pair) => {
                jwk.kty = "RSA".into();
                let public = pair.public_key();
                jwk.n = Some(b64::encode(public.modulus().big_endian_without_leading_zero()));
                jwk.e = Some(b64::encode(public.exponent().big_endian_without_leading_zero()));
                if private {
                    let der = Zeroizing::new(
                        AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(pair)
                            .map_err(|_| KeyError::CryptoFailure)?
                            .as_ref()
                            .to_vec(),
                    );
                    let [_, _, d, p, q, dp, dq, qi] =
                        der::rsa_private_components(&der).ok_or(KeyError::CryptoFailure)?;
                    for (slot, v) in [
                        (&mut jwk.d, d),
                        (&mut jwk.p, p),
                        (&mut jwk.q, q),
                        (&mut jwk.dp, dp),
                        (&mut jwk.dq, dq),
                        (&mut jwk.qi, qi),
                    ] {
                        let v = Zeroizing::new(v);
                        *slot = Some(Secret::new(b64::encode(&v)));
                    }
                }
            }
            Private::Ec(pair) => {
                jwk.kty = "EC".into();
                jwk.crv = self.alg.curve().map(str::to_owned);
                let point = pair.public_key().as_ref();
                let len = coordinate_len(self.alg).ok_or(KeyError::CryptoFailure)?;
                let (x, y) = (
                    point.get(1..1 + len).ok_or(KeyError::CryptoFailure)?,
                    point.get(1 + len..).ok_or(KeyError::CryptoFailure)?,
                );
                jwk.x = Some(b64::encode(x));
                jwk.y = Some(b64::encode(y));
                if private {
                    use aws_lc_rs::encoding::{AsBigEndian, EcPrivateKeyBin};
                    let d: EcPrivateKeyBin = pair
                        .private_key()
                        .as_be_bytes()
                        .map_err(|_| KeyError::CryptoFailure)?;
                    jwk.d = Some(Secret::new(b64::encode(d.as_ref())));
                }
            }
            Private::Ed(pair) => {
                jwk.kty = "OKP".into();
                jwk.crv = Some("Ed25519".into());
                jwk.x = Some(b64::encode(pair.public_key().as_ref()));
                if private {
                    use aws_lc_rs::encoding::{AsBigEndian, Curve25519SeedBin};
                    let seed = pair.seed().map_err(|_| KeyError::CryptoFailure)?;
                    let seed: Curve25519SeedBin = seed.as_be_bytes().map_err(|_| KeyError::CryptoFailure)?;
                    jwk.d = Some(Secret::new(b64::encode(seed.as_ref())));
                }
            }
        }
        Ok(jwk)
    }

    /// The public JWK (`use: sig`), for a JWKS. Symmetric keys have none.
    pub fn public_jwk(&self) -> Result<Jwk, KeyError> {
        if self.alg.is_symmetric() {
            return Err(KeyError::SymmetricHasNoPublicKey);
        }
        let mut jwk = self.jwk_members(false)?;
        jwk.use_ = Some("sig".into());
        Ok(jwk)
    }

    /// The private JWK, with `alg` and `kid`.
    pub fn to_private_jwk(&self) -> Result<Jwk, KeyError> {
        self.jwk_members(true)
    }

    /// The private key as PKCS#8 v1 DER. Symmetric keys have no PKCS#8 form.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        let der = match &self.private {
            Private::Hmac { .. } => {
                return Err(KeyError::Malformed(
                    "asymmetric key (HMAC keys are stored as JWK)",
                ))
            }
            Private::Rsa(pair) => AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(pair)
                .map_err(|_| KeyError::CryptoFailure)?
                .as_ref()
                .to_vec(),
            Private::Ec(pair) => pair
                .to_pkcs8v1()
                .map_err(|_| KeyError::CryptoFailure)?
                .as_ref()
                .to_vec(),
            Private::Ed(pair) => pair
                .to_pkcs8v1()
                .map_err(|_| KeyError::CryptoFailure)?
                .as_ref()
                .to_vec(),
        };
        Ok(Zeroizing::new(der))
    }

    /// The private key as a PKCS#8 PEM document (`PRIVATE KEY`).
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        Ok(pem::encode("PRIVATE KEY", &self.to_pkcs8_der()?))
    }

    /// The matching verification key (same `alg` and `kid`).
    pub fn verifying_key(&self) -> Result<VerifyingKey, KeyError> {
        if let Private::Hmac { key, .. } = &self.private {
            return Ok(VerifyingKey {
                alg: self.alg,
                kid: self.kid.clone(),
                public: Public::Hmac(Box::new((**key).clone())),
                jwk: None,
            });
        }
        let mut jwk = self.public_jwk()?;
        jwk.kid = Some(self.kid.clone());
        VerifyingKey::from_jwk(&jwk)
    }
}

fn check_hint(hint: Option<Algorithm>, actual: Algorithm, found: &'static str) -> Result<(), KeyError> {
    match hint {
        Some(h) if h != actual => Err(wrong(h, found)),
        _ => Ok(()),
    }
}

fn strip_zeros(bytes: &[u8]) -> &[u8] {
    let first = bytes.iter().position(|b| *b != 0).unwrap_or(bytes.len());
    bytes.get(first..).unwrap_or_default()
}

/// The algorithm a JWK is bound to: its `alg`, checked against `kty`/`crv`,
/// or the one its curve implies; `RS256` for an RSA key without `alg`.
fn jwk_algorithm(jwk: &Jwk) -> Result<Algorithm, KeyError> {
    let named = match jwk.alg.as_deref() {
        Some(name) => {
            Some(Algorithm::from_name(name).ok_or_else(|| KeyError::UnsupportedAlgorithm(name.to_owned()))?)
        }
        None => None,
    };
    let implied = match (jwk.kty.as_str(), jwk.crv.as_deref()) {
        ("RSA", _) => {
            let alg = named.unwrap_or(Algorithm::RS256);
            if alg.family() != Family::Rsa {
                return Err(wrong(alg, "RSA"));
            }
            return Ok(alg);
        }
        ("oct", _) => {
            let alg = named.ok_or(KeyError::JwkMember("alg"))?;
            if alg.family() != Family::Hmac {
                return Err(wrong(alg, "symmetric"));
            }
            return Ok(alg);
        }
        ("EC", Some("P-256")) => Algorithm::ES256,
        ("EC", Some("P-384")) => Algorithm::ES384,
        ("EC", Some("P-521")) => Algorithm::ES512,
        ("OKP", Some("Ed25519")) => Algorithm::EdDSA,
        (kty, crv) => {
            return Err(KeyError::UnsupportedKeyType(match crv {
                Some(c) => format!("{kty}/{c}"),
                None => kty.to_owned(),
            }))
        }
    };
    match named {
        Some(alg) if alg != implied => Err(wrong(alg, implied.curve().unwrap_or("EC"))),
        _ => Ok(implied),
    }
}

/// The uncompressed SEC 1 point `04 || x || y`, with exact coordinate
/// lengths ([RFC 7518 §6.2.1.2]); the curve check happens in aws-lc.
///
/// [RFC 7518 §6.2.1.2]: https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1.2
fn ec_point(jwk: &Jwk, alg: Algorithm) -> Result<Vec<u8>, KeyError> {
    let x = jwk::member_bytes(&jwk.x, "x")?;
    let y = jwk::member_bytes(&jwk.y, "y")?;
    let len = coordinate_len(alg).ok_or_else(|| wrong(alg, "EC"))?;
    if x.len() != len {
        return Err(KeyError::JwkMember("x"));
    }
    if y.len() != len {
        return Err(KeyError::JwkMember("y"));
    }
    let mut point = Vec::with_capacity(1 + 2 * len);
    point.push(0x04);
    point.extend_from_slice(&x);
    point.extend_from_slice(&y);
    Ok(point)
}

/// The public half of a key, parsed once.
#[derive(Clone)]
enum Public {
    Hmac(Box<hmac::Key>),
    Asymmetric(ParsedPublicKey),
}

/// A key that verifies tokens of exactly one algorithm.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    kid: String,
    public: Public,
    /// The public JWK, for publishing (absent for HMAC keys).
    jwk: Option<Jwk>,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("alg", &self.alg)
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Loads a JWK for verification.
    ///
    /// Refused with [`KeyError::NotForSignatures`] when its `use` is not
    /// `sig` or its `key_ops` lack `verify` ([RFC 7517 §4.2, §4.3]). The
    /// algorithm is the JWK's `alg` (checked against `kty`/`crv`), or the
    /// one its curve implies, or `RS256` for RSA; `oct` keys must name it.
    /// An `oct` JWK's `k` is the HMAC secret. `kid` defaults to the
    /// thumbprint.
    ///
    /// [RFC 7517 §4.2, §4.3]: https://www.rfc-editor.org/rfc/rfc7517#section-4.2
    pub fn from_jwk(jwk: &Jwk) -> Result<VerifyingKey, KeyError> {
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(KeyError::NotForSignatures);
        }
        if let Some(ops) = &jwk.key_ops {
            if !ops.iter().any(|op| op == "verify") {
                return Err(KeyError::NotForSignatures);
            }
        }
        let alg = jwk_algorithm(jwk)?;
        let public = match alg.family() {
            Family::Hmac => {
                let k = jwk::secret_bytes(&jwk.k, "k")?;
                let min = alg.min_hmac_key_len().ok_or_else(|| wrong(alg, "symmetric"))?;
                if k.len() < min {
                    return Err(KeyError::HmacKeyTooShort {
                        alg,
                        len: k.len(),
                        min,
                    });
                }
                let hash = hmac_algorithm(alg).ok_or_else(|| wrong(alg, "symmetric"))?;
                Public::Hmac(Box::new(hmac::Key::new(hash, &k)))
            }
            Family::Rsa => {
                let n = jwk::member_bytes(&jwk.n, "n")?;
                let e = jwk::member_bytes(&jwk.e, "e")?;
                let n = strip_zeros(&n);
                let bits = n.len() * 8;
                if bits < 2048 {
                    return Err(KeyError::RsaKeyTooSmall(bits));
                }
                if !weak_rsa::exponent_is_sound(&e) {
                    return Err(KeyError::Rejected(
                        "RSA public exponent must be odd and at least 3",
                    ));
                }
                if weak_rsa::has_roca_fingerprint(n) {
                    return Err(KeyError::Rejected(
                        "RSA modulus has the ROCA fingerprint (CVE-2017-15361): it can be factored",
                    ));
                }
                let components = sig::RsaPublicKeyComponents {
                    n,
                    e: strip_zeros(&e),
                };
                Public::Asymmetric(
                    components
                        .to_parsed_public_key(rsa_params(alg).ok_or_else(|| wrong(alg, "RSA"))?)
                        .map_err(|_| KeyError::Rejected("invalid RSA public key"))?,
                )
            }
            Family::Ec => {
                let point = ec_point(jwk, alg)?;
                Public::Asymmetric(
                    ParsedPublicKey::new(
                        verification_algorithm(alg).ok_or_else(|| wrong(alg, "EC"))?,
                        point,
                    )
                    .map_err(|_| KeyError::Rejected("EC point is not on the curve"))?,
                )
            }
            Family::Ed25519 => {
                let x = jwk::member_bytes(&jwk.x, "x")?;
                if x.len() != 32 {
                    return Err(KeyError::JwkMember("x"));
                }
                Public::Asymmetric(
                    ParsedPublicKey::new(&sig::ED25519, x)
                        .map_err(|_| KeyError::Rejected("invalid Ed25519 public key"))?,
                )
            }
        };
        let kid = match &jwk.kid {
            Some(kid) => kid.clone(),
            None => jwk.thumbprint()?,
        };
        let published = if alg.is_symmetric() {
            None
        } else {
            let mut p = jwk.to_public();
            p.kid = Some(kid.clone());
            p.alg = Some(alg.name().to_owned());
            p.use_ = Some("sig".to_owned());
            p.key_ops = None;
            Some(p)
        };
        Ok(VerifyingKey {
            alg,
            kid,
            public,
            jwk: published,
        })
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// The key id.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public JWK (`None` for a symmetric key, which is never published).
    pub fn public_jwk(&self) -> Option<&Jwk> {
        self.jwk.as_ref()
    }

    /// Checks `signature` over `message` with the raw primitive. HMAC tags
    /// are compared in constant time by aws-lc-rs.
    pub(crate) fn verify_raw(&self, message: &[u8], signature: &[u8]) -> bool {
        match &self.public {
            Public::Hmac(key) => hmac::verify(key, message, signature).is_ok(),
            Public::Asymmetric(key) => key.verify_sig(message, signature).is_ok(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Each per-algorithm table answers for exactly its own key family, and
    /// the right primitive: an algorithm of another family gets `None` (an
    /// error for the caller), never SHA-256 or RS256 by default.
    #[test]
    fn every_table_answers_only_for_its_family() {
        for alg in Algorithm::ALL {
            let family = alg.family();
            assert_eq!(hmac_algorithm(alg).is_some(), family == Family::Hmac, "{alg}");
            assert_eq!(alg.min_hmac_key_len().is_some(), family == Family::Hmac, "{alg}");
            assert_eq!(rsa_padding(alg).is_some(), family == Family::Rsa, "{alg}");
            assert_eq!(rsa_params(alg).is_some(), family == Family::Rsa, "{alg}");
            assert_eq!(ecdsa_signing(alg).is_some(), family == Family::Ec, "{alg}");
            assert_eq!(coordinate_len(alg).is_some(), family == Family::Ec, "{alg}");
            assert_eq!(
                verification_algorithm(alg).is_some(),
                family != Family::Hmac,
                "{alg}"
            );
            assert_eq!(
                alg.curve().is_some(),
                matches!(family, Family::Ec | Family::Ed25519),
                "{alg}"
            );
        }
    }

    /// The values themselves ([RFC 7518 §3.2], [RFC 7518 §6.2.1.2]).
    ///
    /// [RFC 7518 §3.2]: https://www.rfc-editor.org/rfc/rfc7518#section-3.2
    /// [RFC 7518 §6.2.1.2]: https://www.rfc-editor.org/rfc/rfc7518#section-6.2.1.2
    #[test]
    fn tables_hold_the_rfc_values() {
        for (alg, digest, min) in [
            (Algorithm::HS256, &aws_lc_rs::digest::SHA256, 32),
            (Algorithm::HS384, &aws_lc_rs::digest::SHA384, 48),
            (Algorithm::HS512, &aws_lc_rs::digest::SHA512, 64),
        ] {
            assert_eq!(hmac_algorithm(alg).unwrap().digest_algorithm(), digest, "{alg}");
            assert_eq!(alg.min_hmac_key_len(), Some(min), "{alg}");
        }
        for (alg, len) in [
            (Algorithm::ES256, 32),
            (Algorithm::ES384, 48),
            (Algorithm::ES512, 66),
        ] {
            assert_eq!(coordinate_len(alg), Some(len), "{alg}");
        }
    }

    /// A key of one family refuses an algorithm of another with a typed
    /// error (the tables' `None`), not a key bound to a default.
    #[test]
    fn a_wrong_family_is_an_error() {
        assert!(matches!(
            SigningKey::from_hmac_secret(Algorithm::RS256, &[7; 64]),
            Err(KeyError::WrongKeyType { .. })
        ));
        let es = SigningKey::generate(Algorithm::ES256).unwrap();
        let mut jwk = es.public_jwk().unwrap();
        jwk.alg = Some("RS256".into());
        assert!(matches!(
            VerifyingKey::from_jwk(&jwk),
            Err(KeyError::WrongKeyType { .. })
        ));
    }
}
