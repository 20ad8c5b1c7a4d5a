//! Verifying an authentication assertion ([WebAuthn §7.2]).
//!
//! The steps of §7.2 that concern the response, in order; the caller has
//! found the credential (steps 5-8: by its id, and for a discoverable
//! credential checked that the user handle is its owner's), spent the
//! challenge, and stores what this returns (step 22's new counter, the
//! new backup state, step 25).
//!
//! [WebAuthn §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion

use super::authenticator_data;
use super::client_data::{self, Ceremony};
use super::cose::{Algorithm, PublicKey};
use super::{sha256, Expected, WebAuthnError};

/// What the relying party stored about the credential.
#[derive(Debug, Clone, Copy)]
pub struct StoredCredential<'a> {
    /// The COSE_Key bytes stored at registration.
    pub public_key_cose: &'a [u8],
    /// The signature counter last stored.
    pub sign_count: u32,
    /// BE as registered.
    pub backup_eligible: bool,
}

/// What a verified assertion tells the relying party to store or use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedAssertion {
    /// The new signature counter, to store.
    pub sign_count: u32,
    /// Whether the authenticator verified the user (UV).
    pub user_verified: bool,
    /// BS now, to store.
    pub backup_state: bool,
}

/// Verifies an assertion: `client_data_json`, `authenticator_data` and
/// `signature` as the browser sent them, for the stored credential.
pub fn verify_assertion(
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
    stored: &StoredCredential<'_>,
    expected: &Expected<'_>,
) -> Result<VerifiedAssertion, WebAuthnError> {
    // Steps 9-14: the client data.
    client_data::verify(
        client_data_json,
        Ceremony::Get,
        expected.challenge,
        expected.origin,
    )?;
    let data = authenticator_data::parse(authenticator_data)?;
    // An assertion carries no attested credential data (§6.1).
    if data.attested.is_some() {
        return Err(WebAuthnError::Malformed(
            "attested credential data in an assertion",
        ));
    }
    // Step 15: rpIdHash.
    if aws_lc_rs::constant_time::verify_slices_are_equal(&data.rp_id_hash, &sha256(expected.rp_id.as_bytes()))
        .is_err()
    {
        return Err(WebAuthnError::RpIdHash);
    }
    // Step 16: UP.
    if !data.flags.user_present() {
        return Err(WebAuthnError::UserPresence);
    }
    // Step 17: UV, if required.
    if expected.user_verification_required && !data.flags.user_verified() {
        return Err(WebAuthnError::UserVerification);
    }
    // Step 18: BE cannot change (§6.1.3); BS without BE was refused by
    // the parser.
    if data.flags.backup_eligible() != stored.backup_eligible {
        return Err(WebAuthnError::Backup);
    }
    // Steps 20-21: the signature over authenticatorData || SHA-256(cData),
    // with the stored key (any algorithm Tessera accepts: it was checked
    // when registered).
    let key = PublicKey::from_cose(stored.public_key_cose, &Algorithm::ALL)?;
    let mut signed = Vec::with_capacity(authenticator_data.len() + 32);
    signed.extend_from_slice(authenticator_data);
    signed.extend_from_slice(&sha256(client_data_json));
    key.verify(&signed, signature)?;
    // Step 22: the signature counter. If either is non-zero, the new one
    // must be greater; otherwise the authenticator may be cloned, and
    // Tessera refuses the ceremony.
    if (data.sign_count != 0 || stored.sign_count != 0) && data.sign_count <= stored.sign_count {
        return Err(WebAuthnError::Counter);
    }
    Ok(VerifiedAssertion {
        sign_count: data.sign_count,
        user_verified: data.flags.user_verified(),
        backup_state: data.flags.backup_state(),
    })
}

#[cfg(test)]
mod tests {
    use super::super::cose::tests::TestKey;
    use super::super::registration::tests::{auth_data, client_data, expected, CHALLENGE, ORIGIN, RP_ID};
    use super::super::test_vectors::{self as v, hex};
    use super::super::{authenticator_data, cbor, registration};
    use super::*;

    const UP_UV: u8 = 0x01 | 0x04;

    struct Signed {
        client_data: Vec<u8>,
        data: Vec<u8>,
        sig: Vec<u8>,
    }

    fn sign(key: &TestKey, client_data: Vec<u8>, data: Vec<u8>) -> Signed {
        let mut msg = data.clone();
        msg.extend(sha256(&client_data));
        let sig = key.sign(&msg);
        Signed {
            client_data,
            data,
            sig,
        }
    }

    fn good(key: &TestKey, flags: u8, count: u32) -> Signed {
        sign(
            key,
            client_data("webauthn.get", CHALLENGE, ORIGIN),
            auth_data(RP_ID, flags, count, None),
        )
    }

    fn stored(cose: &[u8], count: u32, be: bool) -> StoredCredential<'_> {
        StoredCredential {
            public_key_cose: cose,
            sign_count: count,
            backup_eligible: be,
        }
    }

    fn run(s: &Signed, stored: &StoredCredential<'_>, uv: bool) -> Result<VerifiedAssertion, WebAuthnError> {
        verify_assertion(&s.client_data, &s.data, &s.sig, stored, &expected(uv))
    }

    #[test]
    fn a_good_assertion_verifies() {
        for key in [TestKey::es256(), TestKey::ed25519()] {
            let cose = key.cose();
            let s = good(&key, UP_UV | 0x08 | 0x10, 5);
            let out = run(&s, &stored(&cose, 4, true), true).unwrap();
            assert_eq!(
                out,
                VerifiedAssertion {
                    sign_count: 5,
                    user_verified: true,
                    backup_state: true
                }
            );
        }
    }

    #[test]
    fn each_check_refuses() {
        let key = TestKey::es256();
        let cose = key.cose();
        let st = stored(&cose, 0, false);
        let signed = |cd: Vec<u8>, data: Vec<u8>| sign(&key, cd, data);
        let data = || auth_data(RP_ID, UP_UV, 0, None);
        // Type, challenge, origin (each properly signed).
        let s = signed(client_data("webauthn.create", CHALLENGE, ORIGIN), data());
        assert_eq!(run(&s, &st, true), Err(WebAuthnError::Type));
        let s = signed(client_data("webauthn.get", b"stale challenge", ORIGIN), data());
        assert_eq!(run(&s, &st, true), Err(WebAuthnError::Challenge));
        let s = signed(
            client_data("webauthn.get", CHALLENGE, "https://evil.example"),
            data(),
        );
        assert_eq!(run(&s, &st, true), Err(WebAuthnError::Origin));
        // rpIdHash.
        let s = signed(
            client_data("webauthn.get", CHALLENGE, ORIGIN),
            auth_data("evil.example", UP_UV, 0, None),
        );
        assert_eq!(run(&s, &st, true), Err(WebAuthnError::RpIdHash));
        // UP, UV.
        assert_eq!(
            run(&good(&key, 0x04, 0), &st, false),
            Err(WebAuthnError::UserPresence)
        );
        assert_eq!(
            run(&good(&key, 0x01, 0), &st, true),
            Err(WebAuthnError::UserVerification)
        );
        assert!(!run(&good(&key, 0x01, 0), &st, false).unwrap().user_verified);
        // BE changed either way; BS without BE.
        assert_eq!(
            run(&good(&key, UP_UV | 0x08, 0), &st, true),
            Err(WebAuthnError::Backup)
        );
        assert_eq!(
            run(&good(&key, UP_UV, 0), &stored(&cose, 0, true), true),
            Err(WebAuthnError::Backup)
        );
        assert_eq!(
            run(&good(&key, UP_UV | 0x10, 0), &st, true),
            Err(WebAuthnError::Backup)
        );
        // Bad signature: another key, a flipped bit, a changed flag.
        let other = TestKey::es256();
        assert_eq!(
            run(&good(&other, UP_UV, 0), &st, true),
            Err(WebAuthnError::Signature)
        );
        let mut s = good(&key, UP_UV, 0);
        let last = s.sig.len() - 1;
        s.sig[last] ^= 1;
        assert_eq!(run(&s, &st, true), Err(WebAuthnError::Signature));
        let mut s = good(&key, UP_UV, 0);
        s.data[32] |= 0x08;
        assert_eq!(
            run(&s, &stored(&cose, 0, true), true),
            Err(WebAuthnError::Signature)
        );
        // Trailing bytes after the authenticator data.
        let mut s = good(&key, UP_UV, 0);
        s.data.push(0);
        assert!(matches!(run(&s, &st, true), Err(WebAuthnError::Malformed(_))));
        // Attested credential data in an assertion.
        let s = signed(
            client_data("webauthn.get", CHALLENGE, ORIGIN),
            auth_data(RP_ID, UP_UV | 0x40, 0, Some((b"id", &cose))),
        );
        assert!(matches!(run(&s, &st, true), Err(WebAuthnError::Malformed(_))));
    }

    #[test]
    fn the_counter_must_increase_unless_both_are_zero() {
        let key = TestKey::ed25519();
        let cose = key.cose();
        // 0 and 0: an authenticator without a counter.
        assert_eq!(
            run(&good(&key, UP_UV, 0), &stored(&cose, 0, false), true)
                .unwrap()
                .sign_count,
            0
        );
        // Increasing.
        assert_eq!(
            run(&good(&key, UP_UV, 8), &stored(&cose, 7, false), true)
                .unwrap()
                .sign_count,
            8
        );
        assert_eq!(
            run(&good(&key, UP_UV, 1), &stored(&cose, 0, false), true)
                .unwrap()
                .sign_count,
            1
        );
        // Equal, lower, or back to zero: refused.
        for (new, old) in [(7, 7), (6, 7), (0, 7)] {
            assert_eq!(
                run(&good(&key, UP_UV, new), &stored(&cose, old, false), true),
                Err(WebAuthnError::Counter),
                "{new} after {old}"
            );
        }
    }

    fn vector_expected(challenge: &[u8]) -> Expected<'_> {
        Expected {
            challenge,
            origin: v::ORIGIN,
            rp_id: v::RP_ID,
            user_verification_required: false,
            algorithms: &Algorithm::ALL,
        }
    }

    /// The credential public key of a vector's registration (read from its
    /// attestation object, whatever its format) and its BE flag.
    fn vector_key(vector: &v::Vector) -> (Vec<u8>, bool) {
        let object = hex(vector.attestation_object);
        let value = cbor::decode(&object).unwrap();
        let Some(cbor::Value::Bytes(auth)) = value.get_text("authData") else {
            panic!("authData")
        };
        let parsed = authenticator_data::parse(auth).unwrap();
        (
            parsed.attested.unwrap().public_key.to_vec(),
            parsed.flags.backup_eligible(),
        )
    }

    /// [WebAuthn §16](https://www.w3.org/TR/webauthn-3/#sctn-test-vectors):
    /// the authentication of "ES256 Credential with No Attestation", "...
    /// with very long credential ID", "Packed Attestation with RS256
    /// Credential" and "... with Ed25519 Credential" verify with the key
    /// of their registration (counters 0 and 0), and not with another
    /// challenge or a changed byte.
    #[test]
    fn spec_vectors_authenticate() {
        let vectors = [
            (&v::NONE_ES256, Algorithm::Es256),
            (&v::NONE_ES256_LONG_CREDENTIAL_ID, Algorithm::Es256),
            (&v::PACKED_RS256, Algorithm::Rs256),
            (&v::PACKED_EDDSA, Algorithm::EdDsa),
        ];
        for (vector, alg) in vectors {
            let (cose, be) = vector_key(vector);
            assert_eq!(
                PublicKey::from_cose(&cose, &Algorithm::ALL).unwrap().algorithm(),
                alg
            );
            let challenge = hex(vector.authentication_challenge);
            let (cd, data, sig) = (
                hex(vector.authentication_client_data_json),
                hex(vector.authenticator_data),
                hex(vector.signature),
            );
            let st = stored(&cose, 0, be);
            let out = verify_assertion(&cd, &data, &sig, &st, &vector_expected(&challenge)).unwrap();
            assert_eq!(out.sign_count, 0);
            let mut other = challenge.clone();
            other[31] ^= 1;
            assert_eq!(
                verify_assertion(&cd, &data, &sig, &st, &vector_expected(&other)),
                Err(WebAuthnError::Challenge)
            );
            let mut bad = sig.clone();
            bad[sig.len() / 2] ^= 1;
            assert_eq!(
                verify_assertion(&cd, &data, &bad, &st, &vector_expected(&challenge)),
                Err(WebAuthnError::Signature)
            );
            // A stored counter of 1 makes the vector's 0 a possible clone.
            assert_eq!(
                verify_assertion(
                    &cd,
                    &data,
                    &sig,
                    &stored(&cose, 1, be),
                    &vector_expected(&challenge)
                ),
                Err(WebAuthnError::Counter)
            );
        }
        // The vectors' registration and authentication chain through
        // `verify_registration` for the `none` one.
        let vector = &v::NONE_ES256;
        let reg_challenge = hex(vector.registration_challenge);
        let cred = registration::verify_registration(
            &hex(vector.registration_client_data_json),
            &hex(vector.attestation_object),
            &vector_expected(&reg_challenge),
        )
        .unwrap();
        let challenge = hex(vector.authentication_challenge);
        verify_assertion(
            &hex(vector.authentication_client_data_json),
            &hex(vector.authenticator_data),
            &hex(vector.signature),
            &stored(&cred.public_key_cose, cred.sign_count, cred.backup_eligible),
            &vector_expected(&challenge),
        )
        .unwrap();
    }

    /// §16 "crossOrigin" and "topOrigin" authentications are refused.
    #[test]
    fn spec_vectors_cross_origin_authentications_are_refused() {
        for vector in [&v::NONE_ES256_CROSS_ORIGIN, &v::NONE_ES256_TOP_ORIGIN] {
            let (cose, be) = vector_key(vector);
            let challenge = hex(vector.authentication_challenge);
            assert_eq!(
                verify_assertion(
                    &hex(vector.authentication_client_data_json),
                    &hex(vector.authenticator_data),
                    &hex(vector.signature),
                    &stored(&cose, 0, be),
                    &vector_expected(&challenge)
                ),
                Err(WebAuthnError::CrossOrigin)
            );
        }
    }
}
