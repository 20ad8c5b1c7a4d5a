//! Property tests: random and mutated tokens never panic and never verify
//! unless they are the signed token itself; sign-then-verify round-trips
//! arbitrary claims for every algorithm family.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

mod support;

use std::sync::OnceLock;

use proptest::prelude::*;
use serde_json::{json, Map, Value};
use support::NOW;
use tessera_jwt::{danger, Algorithm, KeySet, Signer, SigningKey, UnixTime, Validation};

struct Fixture {
    signers: Vec<Signer>,
    keys: KeySet,
    tokens: Vec<String>,
}

/// One key per family (RSA generation is slow, so keys are made once).
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let algs = [
            Algorithm::HS256,
            Algorithm::RS256,
            Algorithm::PS256,
            Algorithm::ES256,
            Algorithm::ES384,
            Algorithm::EdDSA,
        ];
        let keys: Vec<SigningKey> = algs.iter().map(|a| SigningKey::generate(*a).unwrap()).collect();
        let set = KeySet::new(keys.iter().map(|k| k.verifying_key().unwrap()).collect()).unwrap();
        let signers: Vec<Signer> = keys.into_iter().map(|k| Signer::new(k, Some("at+jwt"))).collect();
        let claims =
            json!({"iss": "https://id.example", "sub": "alice", "exp": NOW + 60, "scope": "read write"});
        let tokens = signers.iter().map(|s| s.sign(&claims).unwrap()).collect();
        Fixture {
            signers,
            keys: set,
            tokens,
        }
    })
}

fn rules() -> Validation {
    Validation::new().issuer("https://id.example")
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "\\PC{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Arbitrary text: never a panic, never accepted.
    #[test]
    fn random_strings_are_refused_without_panicking(s in "\\PC{0,300}") {
        let f = fixture();
        prop_assert!(f.keys.verify::<Value>(&s, &rules(), UnixTime::from_secs(NOW)).is_err());
        let _ = danger::decode_unverified(&s, 16 * 1024);
    }

    /// Three base64url-looking segments: never a panic, never accepted.
    #[test]
    fn random_compact_shapes_are_refused(a in "[A-Za-z0-9_-]{0,60}", b in "[A-Za-z0-9_-]{0,200}", c in "[A-Za-z0-9_-]{0,400}") {
        let f = fixture();
        let token = format!("{a}.{b}.{c}");
        prop_assert!(f.keys.verify::<Value>(&token, &rules(), UnixTime::from_secs(NOW)).is_err());
    }

    /// Any single-byte change, deletion or insertion of a signed token is
    /// refused (or, rarely, decodes to the identical bytes and verifies the
    /// same claims), and nothing panics.
    #[test]
    fn mutated_tokens_are_refused(which in 0usize..6, pos in any::<prop::sample::Index>(), byte in any::<u8>(), op in 0u8..3) {
        let f = fixture();
        let original = &f.tokens[which];
        let mut bytes = original.as_bytes().to_vec();
        let i = pos.index(bytes.len());
        match op {
            0 => bytes[i] = byte,
            1 => { bytes.remove(i); }
            _ => bytes.insert(i, byte),
        }
        let Ok(mutated) = String::from_utf8(bytes) else { return Ok(()) };
        let result = f.keys.verify::<Value>(&mutated, &rules(), UnixTime::from_secs(NOW));
        if mutated != *original {
            prop_assert!(result.is_err(), "mutation accepted: {mutated}");
        }
        let _ = danger::decode_unverified(&mutated, 16 * 1024);
    }

    /// Sign-then-verify returns exactly the claims that were signed.
    #[test]
    fn sign_then_verify_round_trips(which in 0usize..6, extra in prop::collection::btree_map("[a-z_]{1,10}", json_value(), 0..6)) {
        let f = fixture();
        let mut claims: Map<String, Value> = extra.into_iter().filter(|(k, _)| !matches!(k.as_str(), "iss" | "exp" | "nbf" | "iat" | "aud")).collect();
        claims.insert("iss".into(), json!("https://id.example"));
        claims.insert("exp".into(), json!(NOW + 60));
        let token = f.signers[which].sign(&claims).unwrap();
        let verified = f.keys.verify::<Map<String, Value>>(&token, &rules(), UnixTime::from_secs(NOW)).unwrap();
        prop_assert_eq!(verified.claims(), &claims);
        prop_assert_eq!(verified.header().alg, f.signers[which].key().algorithm());
    }
}
