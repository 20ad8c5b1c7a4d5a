//! Feeds arbitrary bytes to the DPoP proof parser and verifier
//! (`tessera_jwt::dpop::verify`: size bound, split, strict base64url, header
//! and embedded `jwk` parse, key import, signature, claims, `htu`
//! comparison), with and without an access token to bind. Any panic is a
//! bug.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tessera_jwt::dpop::{self, Expected};
use tessera_jwt::UnixTime;

fuzz_target!(|data: &[u8]| {
    if let Ok(proof) = std::str::from_utf8(data) {
        let now = UnixTime::from_secs(1_700_000_000);
        let expected = Expected::new("POST", "https://id.example/token", now);
        let _ = dpop::verify(proof, &expected);
        let _ = dpop::verify(proof, &expected.clone().access_token("e30.e30.e30"));
        let _ = dpop::same_url(proof, "https://id.example/token");
    }
});
