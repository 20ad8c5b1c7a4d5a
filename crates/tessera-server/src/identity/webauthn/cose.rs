//! Credential public keys as COSE_Key ([RFC 9052 §7], [RFC 9053]) and the
//! three signature algorithms Tessera accepts ([WebAuthn §5.8.3],
//! [WebAuthn §6.5.1.1]):
//!
//! | alg | name  | COSE_Key                                  | aws-lc-rs                      |
//! |-----|-------|-------------------------------------------|--------------------------------|
//! | -7  | ES256 | kty 2 (EC2), crv 1 (P-256), x, y (32 B)   | `ECDSA_P256_SHA256_ASN1` (DER) |
//! | -8  | EdDSA | kty 1 (OKP), crv 6 (Ed25519), x (32 B)    | `ED25519`                      |
//! | -257| RS256 | kty 3 (RSA), n (≥ 2048 bits), e           | `RSA_PKCS1_2048_8192_SHA256`   |
//!
//! The key's `alg` must be present and allowed. The key is stored as the
//! COSE bytes the authenticator sent and parsed again on use.
//!
//! [RFC 9052 §7]: https://www.rfc-editor.org/rfc/rfc9052#section-7
//! [RFC 9053]: https://www.rfc-editor.org/rfc/rfc9053
//! [WebAuthn §5.8.3]: https://www.w3.org/TR/webauthn-3/#sctn-alg-identifier
//! [WebAuthn §6.5.1.1]: https://www.w3.org/TR/webauthn-3/#sctn-encoded-credPubKey-examples

use aws_lc_rs::signature::{self, ParsedPublicKey, RsaPublicKeyComponents};

use super::cbor::{self, Value};
use super::WebAuthnError;

/// A COSE signature algorithm Tessera accepts for credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA over P-256 with SHA-256 (COSE -7).
    Es256,
    /// EdDSA over Ed25519 (COSE -8).
    EdDsa,
    /// RSASSA-PKCS1-v1_5 with SHA-256 (COSE -257).
    Rs256,
}

impl Algorithm {
    /// Every accepted algorithm, in order of preference.
    pub const ALL: [Algorithm; 3] = [Algorithm::Es256, Algorithm::EdDsa, Algorithm::Rs256];

    /// The COSE algorithm identifier.
    pub fn cose_id(self) -> i64 {
        match self {
            Algorithm::Es256 => -7,
            Algorithm::EdDsa => -8,
            Algorithm::Rs256 => -257,
        }
    }

    /// The algorithm with this COSE identifier, if accepted.
    pub fn from_cose_id(id: i64) -> Option<Algorithm> {
        Algorithm::ALL.into_iter().find(|a| a.cose_id() == id)
    }
}

/// The smallest RSA modulus accepted, in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// A credential public key, checked and ready to verify signatures.
#[derive(Debug)]
pub struct PublicKey {
    alg: Algorithm,
    key: Key,
}

#[derive(Debug)]
enum Key {
    Parsed(ParsedPublicKey),
    Rsa { n: Vec<u8>, e: Vec<u8> },
}

// COSE_Key labels (RFC 9052 §7.1, RFC 9053 §7).
const KTY: i64 = 1;
const ALG: i64 = 3;
const CRV: i64 = -1;
const X: i64 = -2;
const Y: i64 = -3;
const RSA_N: i64 = -1;
const RSA_E: i64 = -2;
const PRIVATE: i64 = -4; // EC2/OKP `d`, RSA `p`

fn int(key: &Value<'_>, label: i64) -> Result<i64, WebAuthnError> {
    match key.get_int(label) {
        Some(Value::Int(n)) => Ok(*n),
        _ => Err(WebAuthnError::Malformed("COSE_Key lacks an integer parameter")),
    }
}

fn bytes<'a>(key: &Value<'a>, label: i64) -> Result<&'a [u8], WebAuthnError> {
    match key.get_int(label) {
        Some(Value::Bytes(b)) => Ok(b),
        _ => Err(WebAuthnError::Malformed("COSE_Key lacks a byte-string parameter")),
    }
}

impl PublicKey {
    /// Parses the COSE_Key `cose` (exactly one CBOR map), accepting only
    /// `allowed` algorithms.
    pub fn from_cose(cose: &[u8], allowed: &[Algorithm]) -> Result<PublicKey, WebAuthnError> {
        let key = cbor::decode(cose)?;
        if !matches!(key, Value::Map(_)) {
            return Err(WebAuthnError::Malformed("COSE_Key is not a map"));
        }
        // A private key has no business here.
        if key.get_int(PRIVATE).is_some() {
            return Err(WebAuthnError::Malformed("COSE_Key holds private key material"));
        }
        let alg = Algorithm::from_cose_id(int(&key, ALG).map_err(|_| WebAuthnError::Algorithm)?)
            .filter(|a| allowed.contains(a))
            .ok_or(WebAuthnError::Algorithm)?;
        let kty = int(&key, KTY)?;
        let parsed = match alg {
            Algorithm::Es256 => {
                if kty != 2 || int(&key, CRV)? != 1 {
                    return Err(WebAuthnError::Algorithm);
                }
                let (x, y) = (bytes(&key, X)?, bytes(&key, Y)?);
                if x.len() != 32 || y.len() != 32 {
                    return Err(WebAuthnError::Malformed("P-256 coordinates are not 32 bytes"));
                }
                let mut point = Vec::with_capacity(65);
                point.push(0x04);
                point.extend_from_slice(x);
                point.extend_from_slice(y);
                Key::Parsed(
                    ParsedPublicKey::new(&signature::ECDSA_P256_SHA256_ASN1, point)
                        .map_err(|_| WebAuthnError::Malformed("not a point on P-256"))?,
                )
            }
            Algorithm::EdDsa => {
                if kty != 1 || int(&key, CRV)? != 6 {
                    return Err(WebAuthnError::Algorithm);
                }
                let x = bytes(&key, X)?;
                if x.len() != 32 {
                    return Err(WebAuthnError::Malformed("Ed25519 key is not 32 bytes"));
                }
                Key::Parsed(
                    ParsedPublicKey::new(&signature::ED25519, x)
                        .map_err(|_| WebAuthnError::Malformed("not an Ed25519 key"))?,
                )
            }
            Algorithm::Rs256 => {
                if kty != 3 {
                    return Err(WebAuthnError::Algorithm);
                }
                let n = strip_zeros(bytes(&key, RSA_N)?);
                let e = strip_zeros(bytes(&key, RSA_E)?);
                let bits = n
                    .first()
                    .map_or(0, |top| (n.len() - 1) * 8 + (8 - top.leading_zeros() as usize));
                if !(MIN_RSA_BITS..=8192).contains(&bits) {
                    return Err(WebAuthnError::Algorithm);
                }
                if e.is_empty() || e.len() > 4 || e.last().is_none_or(|last| last & 1 == 0) {
                    return Err(WebAuthnError::Malformed("RSA exponent out of range"));
                }
                Key::Rsa {
                    n: n.to_vec(),
                    e: e.to_vec(),
                }
            }
        };
        Ok(PublicKey { alg, key: parsed })
    }

    /// The key's algorithm.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }

    /// Verifies `sig` over `message` ([WebAuthn §6.5.6]: ES256 signatures
    /// are ASN.1 DER, RS256 PKCS #1 v1.5, EdDSA raw).
    ///
    /// [WebAuthn §6.5.6]: https://www.w3.org/TR/webauthn-3/#sctn-signature-attestation-types
    pub fn verify(&self, message: &[u8], sig: &[u8]) -> Result<(), WebAuthnError> {
        let verified = match &self.key {
            Key::Parsed(key) => key.verify_sig(message, sig),
            Key::Rsa { n, e } => {
                RsaPublicKeyComponents { n, e }.verify(&signature::RSA_PKCS1_2048_8192_SHA256, message, sig)
            }
        };
        verified.map_err(|_| WebAuthnError::Signature)
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|&x| x != 0).unwrap_or(b.len());
    b.get(start..).unwrap_or_default()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::cbor::tests::enc::{bytes, encode, E};
    use super::*;
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{EcdsaKeyPair, Ed25519KeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    /// A test credential: its COSE_Key and a way to sign.
    pub(crate) enum TestKey {
        Es256(EcdsaKeyPair),
        Ed(Ed25519KeyPair),
    }

    impl TestKey {
        pub(crate) fn es256() -> TestKey {
            let pkcs8 =
                EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new()).unwrap();
            TestKey::Es256(EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap())
        }

        pub(crate) fn ed25519() -> TestKey {
            TestKey::Ed(Ed25519KeyPair::generate().unwrap())
        }

        pub(crate) fn cose_with_alg(&self, alg: i64) -> Vec<u8> {
            match self {
                TestKey::Es256(k) => {
                    let point = k.public_key().as_ref();
                    encode(&E::Map(vec![
                        (E::Int(1), E::Int(2)),
                        (E::Int(3), E::Int(alg)),
                        (E::Int(-1), E::Int(1)),
                        (E::Int(-2), bytes(&point[1..33])),
                        (E::Int(-3), bytes(&point[33..65])),
                    ]))
                }
                TestKey::Ed(k) => encode(&E::Map(vec![
                    (E::Int(1), E::Int(1)),
                    (E::Int(3), E::Int(alg)),
                    (E::Int(-1), E::Int(6)),
                    (E::Int(-2), bytes(k.public_key().as_ref())),
                ])),
            }
        }

        pub(crate) fn cose(&self) -> Vec<u8> {
            match self {
                TestKey::Es256(_) => self.cose_with_alg(-7),
                TestKey::Ed(_) => self.cose_with_alg(-8),
            }
        }

        pub(crate) fn sign(&self, message: &[u8]) -> Vec<u8> {
            match self {
                TestKey::Es256(k) => k.sign(&SystemRandom::new(), message).unwrap().as_ref().to_vec(),
                TestKey::Ed(k) => k.sign(message).as_ref().to_vec(),
            }
        }
    }

    #[test]
    fn es256_and_ed25519_keys_verify_their_signatures() {
        for key in [TestKey::es256(), TestKey::ed25519()] {
            let public = PublicKey::from_cose(&key.cose(), &Algorithm::ALL).unwrap();
            let sig = key.sign(b"message");
            public.verify(b"message", &sig).unwrap();
            assert_eq!(public.verify(b"massage", &sig), Err(WebAuthnError::Signature));
        }
    }

    #[test]
    fn the_algorithm_must_be_present_allowed_and_match_the_key_type() {
        let key = TestKey::es256();
        // Not allowed by the caller.
        assert_eq!(
            PublicKey::from_cose(&key.cose(), &[Algorithm::EdDsa]).unwrap_err(),
            WebAuthnError::Algorithm
        );
        // Unknown algorithm (ES384).
        assert_eq!(
            PublicKey::from_cose(&key.cose_with_alg(-35), &Algorithm::ALL).unwrap_err(),
            WebAuthnError::Algorithm
        );
        // An EC2 key claiming EdDSA.
        assert_eq!(
            PublicKey::from_cose(&key.cose_with_alg(-8), &Algorithm::ALL).unwrap_err(),
            WebAuthnError::Algorithm
        );
        // No alg at all.
        let no_alg = encode(&E::Map(vec![
            (E::Int(1), E::Int(1)),
            (E::Int(-1), E::Int(6)),
            (E::Int(-2), bytes(&[0; 32])),
        ]));
        assert_eq!(
            PublicKey::from_cose(&no_alg, &Algorithm::ALL).unwrap_err(),
            WebAuthnError::Algorithm
        );
        // A point not on the curve.
        let off_curve = encode(&E::Map(vec![
            (E::Int(1), E::Int(2)),
            (E::Int(3), E::Int(-7)),
            (E::Int(-1), E::Int(1)),
            (E::Int(-2), bytes(&[1; 32])),
            (E::Int(-3), bytes(&[2; 32])),
        ]));
        assert!(PublicKey::from_cose(&off_curve, &Algorithm::ALL).is_err());
        // Private key material.
        let mut with_d = key.cose();
        with_d[0] += 1; // a map of one more entry
        with_d.extend(encode(&E::Int(-4)));
        with_d.extend(encode(&bytes(&[3; 32])));
        assert!(matches!(
            PublicKey::from_cose(&with_d, &Algorithm::ALL),
            Err(WebAuthnError::Malformed(_))
        ));
    }

    #[test]
    fn rsa_keys_below_2048_bits_are_refused() {
        let rsa = |n: &[u8]| {
            encode(&E::Map(vec![
                (E::Int(1), E::Int(3)),
                (E::Int(3), E::Int(-257)),
                (E::Int(-1), bytes(n)),
                (E::Int(-2), bytes(&[1, 0, 1])),
            ]))
        };
        let mut n2047 = vec![0xff; 256];
        n2047[0] = 0x7f;
        assert_eq!(
            PublicKey::from_cose(&rsa(&n2047), &Algorithm::ALL).unwrap_err(),
            WebAuthnError::Algorithm
        );
        assert_eq!(
            PublicKey::from_cose(&rsa(&[0xff; 128]), &Algorithm::ALL).unwrap_err(),
            WebAuthnError::Algorithm
        );
        let key = PublicKey::from_cose(&rsa(&[0xff; 256]), &Algorithm::ALL).unwrap();
        assert_eq!(key.algorithm(), Algorithm::Rs256);
    }
}
