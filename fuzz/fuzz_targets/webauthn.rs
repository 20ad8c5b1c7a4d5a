//! Feeds arbitrary bytes to the WebAuthn parsers of
//! `tessera_server::identity::webauthn`: the strict CBOR decoder, the
//! authenticator data parser (rpIdHash, flags, counter, attested
//! credential data with its COSE key, extensions), the COSE key parser,
//! and registration (the attestation object) and assertion verification
//! behind a client data that passes, so the bytes reach the parsers. Any
//! panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_server::identity::webauthn::{
    authenticator_data, cbor, cose, verify_assertion, verify_registration, Algorithm, Expected, StoredCredential,
};

const CHALLENGE: &[u8] = b"fuzz-challenge";
// base64url("fuzz-challenge") = "ZnV6ei1jaGFsbGVuZ2U"
const CREATE: &[u8] =
    br#"{"type":"webauthn.create","challenge":"ZnV6ei1jaGFsbGVuZ2U","origin":"https://localhost"}"#;
const GET: &[u8] = br#"{"type":"webauthn.get","challenge":"ZnV6ei1jaGFsbGVuZ2U","origin":"https://localhost"}"#;

fuzz_target!(|data: &[u8]| {
    let _ = cbor::decode(data);
    let _ = cbor::decode_prefix(data);
    let _ = authenticator_data::parse(data);
    let _ = cose::PublicKey::from_cose(data, &Algorithm::ALL);
    let expected = Expected {
        challenge: CHALLENGE,
        origin: "https://localhost",
        rp_id: "localhost",
        user_verification_required: false,
        algorithms: &Algorithm::ALL,
    };
    let _ = verify_registration(CREATE, data, &expected);
    // Split the input into authenticator data and a signature; the COSE
    // key is a fixed Ed25519 one.
    let cut = data.first().map_or(0, |&b| usize::from(b)).min(data.len());
    let (auth, sig) = data.split_at(cut);
    let mut key = vec![0xa4, 0x01, 0x01, 0x03, 0x27, 0x20, 0x06, 0x21, 0x58, 0x20];
    key.extend([0x42; 32]);
    let stored = StoredCredential {
        public_key_cose: &key,
        sign_count: 0,
        backup_eligible: false,
    };
    let _ = verify_assertion(GET, auth, sig, &stored, &expected);
});
