//! Token crafting for tests: build tokens with any header, payload and
//! signature, the way an attacker would.

#![allow(dead_code)]

use base64::Engine as _;
use tessera_jwt::SigningKey;

pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// A compact JWS with this exact header and payload JSON, signed by `key`.
pub fn forge(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    let sig = key.sign_bytes(input.as_bytes()).unwrap();
    format!("{input}.{}", b64(&sig))
}

/// A compact JWS with this header and payload and a chosen signature.
pub fn with_signature(header: &str, payload: &str, sig: &[u8]) -> String {
    format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(payload.as_bytes()),
        b64(sig)
    )
}

/// A HMAC-SHA256 tag made with any bytes as the secret.
pub fn hmac_sha256(secret: &[u8], message: &[u8]) -> Vec<u8> {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    aws_lc_rs::hmac::sign(&key, message).as_ref().to_vec()
}

pub const NOW: i64 = 1_700_000_000;

pub fn claims() -> String {
    format!(
        r#"{{"iss":"https://id.example","sub":"alice","aud":"api","exp":{},"iat":{NOW}}}"#,
        NOW + 300
    )
}
