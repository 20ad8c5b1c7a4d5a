//! A software WebAuthn authenticator for tests: one ES256 credential
//! (an aws-lc-rs key), attestation `none`, and just enough CBOR to build
//! an attestation object and a COSE key. It answers the options JSON the
//! server gives with the `PublicKeyCredential.toJSON()` a browser would
//! post, and can set the authenticator-data flags a test needs (user
//! presence 0x01, user verification 0x04).

use aws_lc_rs::digest::{digest, SHA256};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
use base64::Engine as _;
use tessera_server::identity::passkeys::RelyingParty;

/// User present and verified (UP | UV).
pub const PRESENT_AND_VERIFIED: u8 = 0x05;
/// User present only (UP).
pub const PRESENT_ONLY: u8 = 0x01;

pub fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

pub fn unb64(s: &str) -> Vec<u8> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

pub fn sha256(b: &[u8]) -> Vec<u8> {
    digest(&SHA256, b).as_ref().to_vec()
}

/// Just enough CBOR encoding for an attestation object and a COSE key.
fn head(major: u8, n: usize, out: &mut Vec<u8>) {
    let m = major << 5;
    match n {
        0..=23 => out.push(m | n as u8),
        24..=0xff => out.extend([m | 24, n as u8]),
        _ => {
            out.push(m | 25);
            out.extend((n as u16).to_be_bytes());
        }
    }
}

pub fn cbor_int(n: i64, out: &mut Vec<u8>) {
    if n >= 0 {
        head(0, n as usize, out)
    } else {
        head(1, (-1 - n) as usize, out)
    }
}

pub fn cbor_bytes(b: &[u8], out: &mut Vec<u8>) {
    head(2, b.len(), out);
    out.extend(b);
}

pub fn cbor_text(s: &str, out: &mut Vec<u8>) {
    head(3, s.len(), out);
    out.extend(s.as_bytes());
}

/// A software authenticator with one ES256 credential.
pub struct Authenticator {
    key: EcdsaKeyPair,
    credential_id: Vec<u8>,
}

impl Authenticator {
    pub fn new(credential_id: &[u8]) -> Authenticator {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &SystemRandom::new()).unwrap();
        Authenticator {
            key: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref()).unwrap(),
            credential_id: credential_id.to_vec(),
        }
    }

    pub fn cose(&self) -> Vec<u8> {
        let point = self.key.public_key().as_ref();
        let mut out = vec![0xa5];
        for (label, value) in [(1, 2), (3, -7), (-1, 1)] {
            cbor_int(label, &mut out);
            cbor_int(value, &mut out);
        }
        cbor_int(-2, &mut out);
        cbor_bytes(&point[1..33], &mut out);
        cbor_int(-3, &mut out);
        cbor_bytes(&point[33..65], &mut out);
        out
    }

    pub fn auth_data(&self, rp_id: &str, flags: u8, count: u32, attested: bool) -> Vec<u8> {
        let mut out = sha256(rp_id.as_bytes());
        out.push(flags);
        out.extend(count.to_be_bytes());
        if attested {
            out.extend([0u8; 16]);
            out.extend((self.credential_id.len() as u16).to_be_bytes());
            out.extend(&self.credential_id);
            out.extend(self.cose());
        }
        out
    }

    pub fn client_data(kind: &str, challenge: &str, origin: &str) -> Vec<u8> {
        format!(r#"{{"type":"{kind}","challenge":"{challenge}","origin":"{origin}","crossOrigin":false}}"#)
            .into_bytes()
    }

    /// `PublicKeyCredential.toJSON()` of a registration answering
    /// `options` (the creation options JSON).
    pub fn register(&self, rp: &RelyingParty, options: &serde_json::Value) -> String {
        let challenge = options["challenge"].as_str().unwrap();
        let client_data = Self::client_data("webauthn.create", challenge, &rp.origin);
        let mut object = vec![0xa3];
        cbor_text("fmt", &mut object);
        cbor_text("none", &mut object);
        cbor_text("attStmt", &mut object);
        object.push(0xa0);
        cbor_text("authData", &mut object);
        cbor_bytes(&self.auth_data(&rp.id, 0x45, 0, true), &mut object);
        serde_json::json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "attestationObject": b64(&object),
                "transports": ["internal"]
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform"
        })
        .to_string()
    }

    /// `PublicKeyCredential.toJSON()` of an assertion answering `options`
    /// (the request options JSON) with counter `count`.
    pub fn sign_in(
        &self,
        rp: &RelyingParty,
        options: &serde_json::Value,
        count: u32,
        handle: Option<&[u8]>,
    ) -> String {
        self.sign_in_with(rp, options, count, handle, PRESENT_AND_VERIFIED)
    }

    /// [`Authenticator::sign_in`] with these authenticator-data `flags`.
    pub fn sign_in_with(
        &self,
        rp: &RelyingParty,
        options: &serde_json::Value,
        count: u32,
        handle: Option<&[u8]>,
        flags: u8,
    ) -> String {
        let challenge = options["challenge"].as_str().unwrap();
        let client_data = Self::client_data("webauthn.get", challenge, &rp.origin);
        let data = self.auth_data(&rp.id, flags, count, false);
        let mut signed = data.clone();
        signed.extend(sha256(&client_data));
        let sig = self.key.sign(&SystemRandom::new(), &signed).unwrap();
        serde_json::json!({
            "id": b64(&self.credential_id),
            "rawId": b64(&self.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64(&client_data),
                "authenticatorData": b64(&data),
                "signature": b64(sig.as_ref()),
                "userHandle": handle.map(b64)
            },
            "clientExtensionResults": {}
        })
        .to_string()
    }
}
