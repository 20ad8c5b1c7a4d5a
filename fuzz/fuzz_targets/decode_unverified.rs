//! Feeds arbitrary bytes to the unverified decoder behind `tessera token
//! decode`. Any panic is a bug.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(token) = std::str::from_utf8(data) {
        let _ = tessera_jwt::danger::decode_unverified(token, 16 * 1024);
    }
});
