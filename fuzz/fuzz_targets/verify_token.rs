//! Feeds arbitrary bytes to the full verification path (size bound, split,
//! strict base64url, header parse, key selection, signature, claims scan).
//! Any panic is a bug. The key set holds one key of each family, so inputs
//! that name their kids reach the signature and claims code.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tessera_jwt::{Algorithm, KeySet, SigningKey, UnixTime, Validation};

fn keys() -> &'static KeySet {
    static KEYS: OnceLock<KeySet> = OnceLock::new();
    KEYS.get_or_init(|| {
        let keys = [Algorithm::HS256, Algorithm::ES256, Algorithm::EdDSA]
            .into_iter()
            .map(|alg| {
                SigningKey::generate(alg)
                    .and_then(|k| k.with_kid(alg.name()).verifying_key())
                    .unwrap_or_else(|e| panic!("fuzz setup: {e}"))
            })
            .collect();
        KeySet::new(keys).unwrap_or_else(|e| panic!("fuzz setup: {e}"))
    })
}

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let rules = Validation::new().issuer("https://id.example").audience("api");
        let _ = keys().verify::<serde_json::Value>(token, &rules, UnixTime::from_secs(1_700_000_000));
        let _ = keys().verify_signature(token, 16 * 1024);
    }
});
