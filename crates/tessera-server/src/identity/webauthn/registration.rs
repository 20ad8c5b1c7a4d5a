//! Registering a new credential ([WebAuthn §7.1]).
//!
//! The steps of §7.1 that concern the response itself, in order; the
//! caller does the rest (the challenge was issued and is spent, step 26:
//! the credential id is not registered yet, step 27: store it).
//!
//! [WebAuthn §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential

use super::authenticator_data;
use super::cbor::{self, Value};
use super::client_data::{self, Ceremony};
use super::cose::{Algorithm, PublicKey};
use super::{sha256, Expected, WebAuthnError};

/// A credential that passed registration, to be stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewCredential {
    /// The credential id.
    pub credential_id: Vec<u8>,
    /// The credential public key, the COSE_Key bytes as sent.
    pub public_key_cose: Vec<u8>,
    /// Its algorithm.
    pub alg: Algorithm,
    /// The signature counter at registration.
    pub sign_count: u32,
    /// Whether the authenticator verified the user.
    pub user_verified: bool,
    /// BE: whether the credential may be backed up (fixed for its life).
    pub backup_eligible: bool,
    /// BS: whether it is backed up now.
    pub backup_state: bool,
    /// The authenticator model's AAGUID.
    pub aaguid: [u8; 16],
}

/// Verifies a registration response: `client_data_json` and
/// `attestation_object` as the browser sent them.
pub fn verify_registration(
    client_data_json: &[u8],
    attestation_object: &[u8],
    expected: &Expected<'_>,
) -> Result<NewCredential, WebAuthnError> {
    // Steps 5-10: the client data.
    client_data::verify(
        client_data_json,
        Ceremony::Create,
        expected.challenge,
        expected.origin,
    )?;
    // Step 11 (the client data hash) is only used by attestation
    // statements, and `none` has none to verify.

    // Step 12: decode the attestation object (§6.5.4): a map of exactly
    // fmt, attStmt and authData.
    let object = cbor::decode(attestation_object)?;
    let Value::Map(entries) = &object else {
        return Err(WebAuthnError::Malformed("the attestation object is not a map"));
    };
    if entries.len() != 3 {
        return Err(WebAuthnError::Malformed(
            "the attestation object has other members",
        ));
    }
    let (Some(Value::Text(fmt)), Some(statement), Some(Value::Bytes(auth_data))) = (
        object.get_text("fmt"),
        object.get_text("attStmt"),
        object.get_text("authData"),
    ) else {
        return Err(WebAuthnError::Malformed(
            "the attestation object lacks fmt, attStmt or authData",
        ));
    };
    let data = authenticator_data::parse(auth_data)?;

    // Step 13: rpIdHash.
    if aws_lc_rs::constant_time::verify_slices_are_equal(&data.rp_id_hash, &sha256(expected.rp_id.as_bytes()))
        .is_err()
    {
        return Err(WebAuthnError::RpIdHash);
    }
    // Step 14: UP.
    if !data.flags.user_present() {
        return Err(WebAuthnError::UserPresence);
    }
    // Step 15: UV, if required.
    if expected.user_verification_required && !data.flags.user_verified() {
        return Err(WebAuthnError::UserVerification);
    }
    // Steps 16-17 (BE/BS consistency) are checked by the parser; the
    // values are recorded below.

    // AT must be set: a registration carries the new credential.
    let Some(attested) = data.attested else {
        return Err(WebAuthnError::Malformed(
            "no attested credential data in a registration",
        ));
    };
    // Step 19: the credential public key's algorithm is one allowed.
    let key = PublicKey::from_cose(attested.public_key, expected.algorithms)?;

    // Steps 21-22: the attestation statement format; `none` only, with
    // an empty statement (§8.7).
    if *fmt != "none" || !matches!(statement, Value::Map(m) if m.is_empty()) {
        return Err(WebAuthnError::Attestation);
    }

    Ok(NewCredential {
        credential_id: attested.credential_id.to_vec(),
        public_key_cose: attested.public_key.to_vec(),
        alg: key.algorithm(),
        sign_count: data.sign_count,
        user_verified: data.flags.user_verified(),
        backup_eligible: data.flags.backup_eligible(),
        backup_state: data.flags.backup_state(),
        aaguid: attested.aaguid,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::cbor::tests::enc::{bytes, encode, text, E};
    use super::super::cose::tests::TestKey;
    use super::super::test_vectors::{self as v, hex};
    use super::*;
    use base64::Engine as _;

    pub(crate) const RP_ID: &str = "localhost";
    pub(crate) const ORIGIN: &str = "https://localhost:8443";
    pub(crate) const CHALLENGE: &[u8] = b"0123456789abcdef0123456789abcdef";

    pub(crate) fn expected(uv: bool) -> Expected<'static> {
        Expected {
            challenge: CHALLENGE,
            origin: ORIGIN,
            rp_id: RP_ID,
            user_verification_required: uv,
            algorithms: &Algorithm::ALL,
        }
    }

    pub(crate) fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        let c = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(challenge);
        format!(r#"{{"type":"{kind}","challenge":"{c}","origin":"{origin}","crossOrigin":false}}"#)
            .into_bytes()
    }

    pub(crate) fn auth_data(rp_id: &str, flags: u8, count: u32, attested: Option<(&[u8], &[u8])>) -> Vec<u8> {
        let mut out = sha256(rp_id.as_bytes()).to_vec();
        out.push(flags);
        out.extend(count.to_be_bytes());
        if let Some((id, cose)) = attested {
            out.extend([0xaa; 16]);
            out.extend((id.len() as u16).to_be_bytes());
            out.extend(id);
            out.extend(cose);
        }
        out
    }

    fn attestation(fmt: &str, statement: E, auth_data: &[u8]) -> Vec<u8> {
        encode(&E::Map(vec![
            (text("fmt"), text(fmt)),
            (text("attStmt"), statement),
            (text("authData"), bytes(auth_data)),
        ]))
    }

    /// A well-formed registration of `key` with these flags, checked with
    /// `expected(uv)`; each refusal test changes one thing.
    struct Case {
        client_data: Vec<u8>,
        object: Vec<u8>,
    }

    fn case(key: &TestKey, flags: u8) -> Case {
        Case {
            client_data: client_data("webauthn.create", CHALLENGE, ORIGIN),
            object: attestation(
                "none",
                E::Map(vec![]),
                &auth_data(RP_ID, flags, 0, Some((b"credential-1", &key.cose()))),
            ),
        }
    }

    const UP_UV_AT: u8 = 0x01 | 0x04 | 0x40;

    #[test]
    fn a_good_registration_gives_the_credential() {
        for key in [TestKey::es256(), TestKey::ed25519()] {
            let c = case(&key, UP_UV_AT | 0x08);
            let cred = verify_registration(&c.client_data, &c.object, &expected(true)).unwrap();
            assert_eq!(cred.credential_id, b"credential-1");
            assert_eq!(cred.public_key_cose, key.cose());
            assert!(cred.user_verified && cred.backup_eligible && !cred.backup_state);
            assert_eq!(cred.aaguid, [0xaa; 16]);
        }
    }

    #[test]
    fn each_check_refuses() {
        let key = TestKey::es256();
        let good = case(&key, UP_UV_AT);
        let run = |cd: &[u8], obj: &[u8], uv| verify_registration(cd, obj, &expected(uv));
        // Wrong type, challenge, origin; crossOrigin.
        let cd = client_data("webauthn.get", CHALLENGE, ORIGIN);
        assert_eq!(run(&cd, &good.object, true), Err(WebAuthnError::Type));
        let cd = client_data("webauthn.create", b"another challenge", ORIGIN);
        assert_eq!(run(&cd, &good.object, true), Err(WebAuthnError::Challenge));
        let cd = client_data("webauthn.create", CHALLENGE, "https://evil.example");
        assert_eq!(run(&cd, &good.object, true), Err(WebAuthnError::Origin));
        let mut cd = good.client_data.clone();
        cd.truncate(cd.len() - "false}".len());
        cd.extend(b"true}");
        assert_eq!(run(&cd, &good.object, true), Err(WebAuthnError::CrossOrigin));
        // Wrong rpIdHash.
        let obj = attestation(
            "none",
            E::Map(vec![]),
            &auth_data("evil.example", UP_UV_AT, 0, Some((b"c", &key.cose()))),
        );
        assert_eq!(run(&good.client_data, &obj, true), Err(WebAuthnError::RpIdHash));
        // No UP; no UV when required (and fine when not).
        let no_up = case(&key, UP_UV_AT & !0x01);
        assert_eq!(
            run(&no_up.client_data, &no_up.object, false),
            Err(WebAuthnError::UserPresence)
        );
        let no_uv = case(&key, UP_UV_AT & !0x04);
        assert_eq!(
            run(&no_uv.client_data, &no_uv.object, true),
            Err(WebAuthnError::UserVerification)
        );
        assert!(
            !run(&no_uv.client_data, &no_uv.object, false)
                .unwrap()
                .user_verified
        );
        // BS without BE.
        let bs = case(&key, UP_UV_AT | 0x10);
        assert_eq!(run(&bs.client_data, &bs.object, true), Err(WebAuthnError::Backup));
        // fmt other than none; a non-empty statement.
        let data = auth_data(RP_ID, UP_UV_AT, 0, Some((b"c", &key.cose())));
        let packed = attestation("packed", E::Map(vec![]), &data);
        assert_eq!(
            run(&good.client_data, &packed, true),
            Err(WebAuthnError::Attestation)
        );
        let stmt = attestation("none", E::Map(vec![(text("alg"), E::Int(-7))]), &data);
        assert_eq!(
            run(&good.client_data, &stmt, true),
            Err(WebAuthnError::Attestation)
        );
        // Trailing bytes, in the attestation object and in authData.
        let mut trailing = good.object.clone();
        trailing.push(0);
        assert!(matches!(
            run(&good.client_data, &trailing, true),
            Err(WebAuthnError::Cbor(_))
        ));
        let mut data_trailing = data.clone();
        data_trailing.push(0);
        let obj = attestation("none", E::Map(vec![]), &data_trailing);
        assert!(matches!(
            run(&good.client_data, &obj, true),
            Err(WebAuthnError::Malformed(_))
        ));
        // No AT.
        let obj = attestation("none", E::Map(vec![]), &auth_data(RP_ID, 0x05, 0, None));
        assert!(matches!(
            run(&good.client_data, &obj, true),
            Err(WebAuthnError::Malformed(_))
        ));
        // Unknown algorithm (ES384), and an algorithm not allowed.
        let obj = attestation(
            "none",
            E::Map(vec![]),
            &auth_data(RP_ID, UP_UV_AT, 0, Some((b"c", &key.cose_with_alg(-35)))),
        );
        assert_eq!(run(&good.client_data, &obj, true), Err(WebAuthnError::Algorithm));
        let only_ed = Expected {
            algorithms: &[Algorithm::EdDsa],
            ..expected(true)
        };
        assert_eq!(
            verify_registration(&good.client_data, &good.object, &only_ed),
            Err(WebAuthnError::Algorithm)
        );
        // An extra member in the attestation object.
        let obj = encode(&E::Map(vec![
            (text("fmt"), text("none")),
            (text("attStmt"), E::Map(vec![])),
            (text("authData"), bytes(&data)),
            (text("epAtt"), E::Bool(true)),
        ]));
        assert!(matches!(
            run(&good.client_data, &obj, true),
            Err(WebAuthnError::Malformed(_))
        ));
        // And the good one passes.
        run(&good.client_data, &good.object, true).unwrap();
    }

    fn vector_expected<'a>(challenge: &'a [u8], uv: bool) -> Expected<'a> {
        Expected {
            challenge,
            origin: v::ORIGIN,
            rp_id: v::RP_ID,
            user_verification_required: uv,
            algorithms: &Algorithm::ALL,
        }
    }

    /// [WebAuthn §16 "ES256 Credential with No Attestation"](https://www.w3.org/TR/webauthn-3/#sctn-test-vectors-none-es256)
    /// and "... with very long credential ID": registration verifies
    /// (flags UP, BE, BS, AT; no UV, so it fails when UV is required).
    #[test]
    fn spec_vectors_none_es256_register() {
        for vector in [&v::NONE_ES256, &v::NONE_ES256_LONG_CREDENTIAL_ID] {
            let challenge = hex(vector.registration_challenge);
            let (cd, obj) = (
                hex(vector.registration_client_data_json),
                hex(vector.attestation_object),
            );
            let cred = verify_registration(&cd, &obj, &vector_expected(&challenge, false)).unwrap();
            assert_eq!(cred.credential_id, hex(vector.credential_id));
            assert_eq!(cred.aaguid.to_vec(), hex(vector.aaguid));
            assert_eq!(cred.alg, Algorithm::Es256);
            assert_eq!(cred.sign_count, 0);
            assert!(cred.backup_eligible);
            // Wrong expectations refuse the same bytes.
            let mut other = challenge.clone();
            other[0] ^= 1;
            assert_eq!(
                verify_registration(&cd, &obj, &vector_expected(&other, false)),
                Err(WebAuthnError::Challenge)
            );
            let wrong_rp = Expected {
                rp_id: "example.com",
                ..vector_expected(&challenge, false)
            };
            assert_eq!(
                verify_registration(&cd, &obj, &wrong_rp),
                Err(WebAuthnError::RpIdHash)
            );
            let wrong_origin = Expected {
                origin: "https://example.org:443",
                ..vector_expected(&challenge, false)
            };
            assert_eq!(
                verify_registration(&cd, &obj, &wrong_origin),
                Err(WebAuthnError::Origin)
            );
        }
        let v = &v::NONE_ES256;
        let challenge = hex(v.registration_challenge);
        assert_eq!(
            verify_registration(
                &hex(v.registration_client_data_json),
                &hex(v.attestation_object),
                &vector_expected(&challenge, true)
            ),
            Err(WebAuthnError::UserVerification)
        );
    }

    /// §16 "crossOrigin": true and "topOrigin" vectors are refused; the
    /// packed vectors are refused for their format.
    #[test]
    fn spec_vectors_cross_origin_and_packed_are_refused() {
        for vector in [&v::NONE_ES256_CROSS_ORIGIN, &v::NONE_ES256_TOP_ORIGIN] {
            let challenge = hex(vector.registration_challenge);
            assert_eq!(
                verify_registration(
                    &hex(vector.registration_client_data_json),
                    &hex(vector.attestation_object),
                    &vector_expected(&challenge, false)
                ),
                Err(WebAuthnError::CrossOrigin)
            );
        }
        for vector in [&v::PACKED_RS256, &v::PACKED_EDDSA] {
            let challenge = hex(vector.registration_challenge);
            assert_eq!(
                verify_registration(
                    &hex(vector.registration_client_data_json),
                    &hex(vector.attestation_object),
                    &vector_expected(&challenge, false)
                ),
                Err(WebAuthnError::Attestation)
            );
        }
    }

    /// Every truncation and every single-bit flip of a real attestation
    /// object (the §16 ES256 vector) is refused or accepted without a
    /// panic; a cheap stand-in for the fuzz target in `fuzz/`.
    #[test]
    fn mutated_attestation_objects_never_panic() {
        let vector = &v::NONE_ES256;
        let challenge = hex(vector.registration_challenge);
        let cd = hex(vector.registration_client_data_json);
        let object = hex(vector.attestation_object);
        let expected = vector_expected(&challenge, false);
        let mut accepted = 0;
        for len in 0..object.len() {
            assert!(verify_registration(&cd, &object[..len], &expected).is_err());
        }
        for at in 0..object.len() {
            for bit in 0..8 {
                let mut mutated = object.clone();
                mutated[at] ^= 1 << bit;
                if verify_registration(&cd, &mutated, &expected).is_ok() {
                    accepted += 1;
                }
            }
        }
        // Only flips inside the opaque parts (aaguid, credential id, the
        // counter, ignored flag bits, key bytes that stay on the curve... )
        // can pass; most do not.
        assert!(accepted < object.len() * 8 / 2, "{accepted}");
    }
}
