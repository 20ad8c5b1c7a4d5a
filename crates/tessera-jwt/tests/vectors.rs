//! Known-answer tests from the RFCs' own examples (files in `vectors/`,
//! sources in `vectors/README.md`):
//!
//! - [RFC 7515 Appendix A.2] (RS256) and [A.3] (ES256) verify;
//! - [RFC 8037 Appendix A.4] (Ed25519) signs to the exact printed signature
//!   and [A.5] verifies it;
//! - [RFC 7638 §3.1] and [RFC 8037 A.3] thumbprints.
//!
//! [RFC 7515 Appendix A.2]: https://www.rfc-editor.org/rfc/rfc7515#appendix-A.2
//! [A.3]: https://www.rfc-editor.org/rfc/rfc7515#appendix-A.3
//! [RFC 8037 Appendix A.4]: https://www.rfc-editor.org/rfc/rfc8037#appendix-A.4
//! [A.5]: https://www.rfc-editor.org/rfc/rfc8037#appendix-A.5
//! [RFC 7638 §3.1]: https://www.rfc-editor.org/rfc/rfc7638#section-3.1
//! [RFC 8037 A.3]: https://www.rfc-editor.org/rfc/rfc8037#appendix-A.3

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use serde_json::Value;
use tessera_jwt::{Algorithm, Error, Jwk, KeySet, SigningKey, UnixTime, Validation, VerifyingKey};

fn load(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

fn jwk(v: &Value) -> Jwk {
    serde_json::from_value(v.clone()).unwrap()
}

/// The RFC 7515 payload's `exp` is 1300819380 (2011-03-22).
const BEFORE_EXP: UnixTime = UnixTime::from_secs(1_300_819_000);
const AFTER_EXP: UnixTime = UnixTime::from_secs(1_300_819_380 + 61);

fn check_rfc7515(v: &Value, alg: Algorithm) {
    let private = SigningKey::from_jwk(&jwk(&v["jwk"])).unwrap();
    assert_eq!(private.algorithm(), alg);
    let public = jwk(&v["jwk"]).to_public();
    let keys = KeySet::new(vec![VerifyingKey::from_jwk(&public).unwrap()]).unwrap();
    let jws = v["jws"].as_str().unwrap();

    // Signature level: the token verifies and yields the RFC's payload.
    let verified = keys.verify_signature(jws, 16 * 1024).unwrap();
    assert_eq!(verified.header().alg, alg);
    assert!(verified.payload().starts_with(b"{\"iss\":\"joe\",\r\n"));

    // JWT level with the clock pinned before and after `exp`.
    let claims: Value = keys
        .verify(jws, &Validation::new(), BEFORE_EXP)
        .unwrap()
        .into_claims();
    assert_eq!(claims["iss"], "joe");
    assert_eq!(claims["http://example.com/is_root"], true);
    assert!(matches!(
        keys.verify::<Value>(jws, &Validation::new(), AFTER_EXP),
        Err(Error::Expired {
            exp: 1_300_819_380,
            ..
        })
    ));

    // One flipped bit in the signature and it no longer verifies.
    let mut bad = jws.to_owned();
    let last = bad.pop().unwrap();
    bad.push(if last == 'A' { 'Q' } else { 'A' });
    assert!(keys.verify_signature(&bad, 16 * 1024).is_err());

    // The private key loaded from the JWK verifies against the same set.
    let round = private.verifying_key().unwrap();
    assert_eq!(round.algorithm(), alg);
}

#[test]
fn rfc7515_a2_rs256_verifies_and_signs_deterministically() {
    let v = load(include_str!("vectors/rfc7515-a.2.json"));
    check_rfc7515(&v, Algorithm::RS256);
    // RSASSA-PKCS1-v1_5 is deterministic: the RFC's signature is reproduced.
    let key = SigningKey::from_jwk(&jwk(&v["jwk"])).unwrap();
    let input = format!(
        "{}.{}",
        v["protected_header_b64"].as_str().unwrap(),
        v["payload_b64"].as_str().unwrap()
    );
    let sig = key.sign_bytes(input.as_bytes()).unwrap();
    assert_eq!(b64(&sig), v["signature_b64"].as_str().unwrap());
}

#[test]
fn rfc7515_a3_es256_verifies() {
    check_rfc7515(&load(include_str!("vectors/rfc7515-a.3.json")), Algorithm::ES256);
}

#[test]
fn rfc8037_a4_a5_ed25519_signs_exactly_and_verifies() {
    let v = load(include_str!("vectors/rfc8037-a.json"));
    let key = SigningKey::from_jwk(&jwk(&v["private_jwk"])).unwrap();
    assert_eq!(key.algorithm(), Algorithm::EdDSA);
    // A.3: the kid defaults to the thumbprint.
    assert_eq!(key.kid(), v["thumbprint"].as_str().unwrap());
    assert_eq!(
        jwk(&v["public_jwk"]).thumbprint().unwrap(),
        v["thumbprint"].as_str().unwrap()
    );
    // A.4: Ed25519 is deterministic, so the signature must match exactly.
    let input = format!(
        "{}.{}",
        v["protected_header_b64"].as_str().unwrap(),
        v["payload_b64"].as_str().unwrap()
    );
    let sig = key.sign_bytes(input.as_bytes()).unwrap();
    let jws = v["jws"].as_str().unwrap();
    assert_eq!(format!("{input}.{}", b64(&sig)), jws);
    // A.5: verification with the public key.
    let keys = KeySet::new(vec![VerifyingKey::from_jwk(&jwk(&v["public_jwk"])).unwrap()]).unwrap();
    let verified = keys.verify_signature(jws, 16 * 1024).unwrap();
    assert_eq!(verified.payload(), b"Example of Ed25519 signing");
    // The payload is not a JSON object, so it is not a JWT.
    assert_eq!(
        keys.verify::<Value>(jws, &Validation::new(), UnixTime::from_secs(0))
            .unwrap_err(),
        Error::ClaimsNotObject
    );
    // Private JWK export reproduces the RFC's members.
    let exported = key.to_private_jwk().unwrap();
    assert_eq!(
        exported.d.as_ref().map(|d| d.expose()),
        v["private_jwk"]["d"].as_str()
    );
    assert_eq!(exported.x.as_deref(), v["private_jwk"]["x"].as_str());
}

#[test]
fn rfc7638_3_1_thumbprint() {
    let v = load(include_str!("vectors/rfc7638-3.1.json"));
    let key = jwk(&v["jwk"]);
    assert_eq!(
        key.thumbprint().unwrap(),
        v["thumbprint_b64url"].as_str().unwrap()
    );
    // Members outside the required set do not change it (RFC 7638 §3.3).
    let mut extra = key.clone();
    extra.kid = Some("other".into());
    extra.use_ = Some("sig".into());
    assert_eq!(extra.thumbprint().unwrap(), key.thumbprint().unwrap());
    // A required member does.
    let mut other = key.clone();
    other.e = Some("AQAC".into());
    assert_ne!(other.thumbprint().unwrap(), key.thumbprint().unwrap());
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}
