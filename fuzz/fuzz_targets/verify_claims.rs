//! Signs arbitrary bytes as a payload, then verifies the token, so every
//! input reaches the one-pass claims parser (duplicate names, registered
//! claims, the caller's type) behind a valid signature. Any panic is a bug.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tessera_jwt::{Algorithm, KeySet, RegisteredClaims, Signer, SigningKey, UnixTime, Validation};

fn fixture() -> &'static (Signer, KeySet) {
    static FIXTURE: OnceLock<(Signer, KeySet)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = SigningKey::from_hmac_secret(Algorithm::HS256, &[7; 32]).unwrap_or_else(|e| panic!("{e}"));
        let keys = KeySet::new(vec![key.verifying_key().unwrap_or_else(|e| panic!("{e}"))])
            .unwrap_or_else(|e| panic!("{e}"));
        (Signer::new(key, Some("at+jwt")), keys)
    })
}

fuzz_target!(|data: &[u8]| {
    let (signer, keys) = fixture();
    let Ok(token) = signer.sign_payload(data) else { return };
    let now = UnixTime::from_secs(1_700_000_000);
    let rules = Validation::new().audience("api").require("sub").leeway(30);
    let _ = keys.verify::<serde_json::Value>(&token, &rules, now);
    let _ = keys.verify::<RegisteredClaims>(&token, &rules, now);
    let _ = keys.verify::<serde::de::IgnoredAny>(&token, &rules, now);
    let _ = signer.sign(&serde_json::from_slice::<serde_json::Value>(data).unwrap_or_default());
});
