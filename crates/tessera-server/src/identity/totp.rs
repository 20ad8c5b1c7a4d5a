//! Time-based one-time passwords ([RFC 6238]) over HMAC-SHA-1 from
//! aws-lc-rs, and the `otpauth://` URI an authenticator app scans.
//!
//! - The secret is 20 random bytes (RFC 6238 §5.1 and [RFC 4226 §4]
//!   R6: "the length of the shared secret MUST be at least 128 bits"; 160
//!   is the recommended length), sealed at rest with the master key
//!   ([`crate::keys::MasterKey::seal`]) by [`super::factors`].
//! - A code is HOTP ([RFC 4226 §5.3]: HMAC-SHA-1, dynamic truncation, six
//!   decimal digits) of the time step `T = floor(unix time / 30)` (RFC
//!   6238 §4.2, `X = 30`, `T0 = 0`).
//! - [`verify`] accepts the current step and one on either side (RFC 6238
//!   §5.2: "at most one time step is allowed as the network delay" and
//!   clock drift), says **which** step matched, and refuses a step at or
//!   before the last accepted one: RFC 6238 §5.2, "the verifier MUST NOT
//!   accept the second attempt of the OTP after the successful validation
//!   has been issued for the first OTP". The store advances that step
//!   atomically, so two racing uses of one code cannot both pass.
//! - Codes are compared in constant time.
//!
//! The secret is shown to the person in base32 ([RFC 4648 §6], no
//! padding, as authenticator apps expect) inside
//! `otpauth://totp/{issuer host}:{username}?secret=...&issuer=...`.
//!
//! [RFC 6238]: https://www.rfc-editor.org/rfc/rfc6238
//! [RFC 4226 §4]: https://www.rfc-editor.org/rfc/rfc4226#section-4
//! [RFC 4226 §5.3]: https://www.rfc-editor.org/rfc/rfc4226#section-5.3
//! [RFC 4648 §6]: https://www.rfc-editor.org/rfc/rfc4648#section-6

use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use zeroize::Zeroizing;

/// The secret's length in bytes (160 bits, RFC 4226 §4 R6).
pub const SECRET_LEN: usize = 20;

/// The time step in seconds (RFC 6238 §4.1 `X`, its default).
pub const STEP_SECS: i64 = 30;

/// The digits of a code.
pub const DIGITS: u32 = 6;

/// Steps accepted on either side of the current one (RFC 6238 §5.2).
pub const WINDOW: i64 = 1;

/// A TOTP shared secret. Its `Debug` leaves the bytes out; they are
/// zeroed when dropped.
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<[u8; SECRET_LEN]>);

impl std::fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TotpSecret([redacted])")
    }
}

impl TotpSecret {
    /// A new random secret (`None` only if the system RNG fails).
    pub fn generate() -> Option<TotpSecret> {
        let mut bytes = Zeroizing::new([0u8; SECRET_LEN]);
        SystemRandom::new().fill(bytes.as_mut()).ok()?;
        Some(TotpSecret(bytes))
    }

    /// A secret read back (opened from its sealed form): exactly
    /// [`SECRET_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<TotpSecret> {
        let array: [u8; SECRET_LEN] = bytes.try_into().ok()?;
        Some(TotpSecret(Zeroizing::new(array)))
    }

    /// The raw bytes (to seal).
    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_ref()
    }

    /// The secret in base32 without padding, for manual entry.
    pub fn base32(&self) -> Zeroizing<String> {
        Zeroizing::new(base32(self.as_bytes()))
    }
}

/// RFC 4648 §6 base32 (alphabet `A-Z2-7`), without the `=` padding.
pub fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let symbol = |value: u16| char::from(ALPHABET.get(usize::from(value)).copied().unwrap_or(b'='));
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer: u16 = 0;
    let mut bits = 0u32;
    for &byte in bytes {
        buffer = (buffer << 8) | u16::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(symbol((buffer >> bits) & 31));
        }
        buffer &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(symbol((buffer << (5 - bits)) & 31));
    }
    out
}

/// HOTP ([RFC 4226 §5.3]) of `counter` under `key`, with `digits`
/// decimal digits: HMAC-SHA-1 over the counter as 8 big-endian bytes,
/// dynamic truncation to 31 bits, modulo `10^digits`.
///
/// [RFC 4226 §5.3]: https://www.rfc-editor.org/rfc/rfc4226#section-5.3
pub fn hotp(key: &[u8], counter: u64, digits: u32) -> u32 {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, key);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let mac = tag.as_ref();
    // §5.4: the offset is the low four bits of the last byte; a SHA-1
    // tag has 20 bytes, so offset + 3 <= 18 is always inside it.
    let offset = usize::from(mac.last().copied().unwrap_or(0) & 0x0f);
    let word = mac
        .get(offset..offset + 4)
        .and_then(|b| <[u8; 4]>::try_from(b).ok())
        .map_or(0, |b| u32::from_be_bytes(b) & 0x7fff_ffff);
    word % 10u32.pow(digits)
}

/// The time step of `unix_time` (RFC 6238 §4.2, `T0 = 0`).
pub fn step_of(unix_time: i64) -> i64 {
    unix_time.div_euclid(STEP_SECS)
}

/// The six-digit code of `secret` at time step `step`, zero-padded.
pub fn code_at(secret: &TotpSecret, step: i64) -> Zeroizing<String> {
    let counter = u64::try_from(step).unwrap_or(0);
    Zeroizing::new(format!(
        "{:0width$}",
        hotp(secret.as_bytes(), counter, DIGITS),
        width = DIGITS as usize
    ))
}

/// Which time step `code` is valid for at `now`: the current step or one
/// on either side, and only a step after `last_step` (the last one
/// accepted; a code for it or an earlier step is a replay). `None` for a
/// wrong, malformed or replayed code. Every candidate step is computed and
/// compared in constant time; the latest matching step is returned.
pub fn verify(secret: &TotpSecret, code: &str, now: i64, last_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = step_of(now);
    let mut matched = None;
    for step in current - WINDOW..=current + WINDOW {
        let expected = code_at(secret, step);
        let equal =
            aws_lc_rs::constant_time::verify_slices_are_equal(expected.as_bytes(), code.as_bytes()).is_ok();
        let fresh = last_step.is_none_or(|last| step > last);
        if equal && fresh && step >= 0 {
            matched = Some(step);
        }
    }
    matched
}

/// The `otpauth://totp/` URI of Google Authenticator's Key Uri Format:
/// label `{issuer host}:{username}`, `secret=` in unpadded base32, and
/// `issuer=` the same host. Label and parameters are percent-encoded.
pub fn otpauth_uri(issuer_host: &str, username: &str, secret: &TotpSecret) -> Zeroizing<String> {
    let label = |s: &str| {
        form_urlencoded::byte_serialize(s.as_bytes())
            .collect::<String>()
            .replace('+', "%20")
    };
    Zeroizing::new(format!(
        "otpauth://totp/{}:{}?secret={}&issuer={}",
        label(issuer_host),
        label(username),
        secret.base32().as_str(),
        label(issuer_host)
    ))
}

/// The host of an issuer URL, for the label and `issuer=`.
pub fn issuer_host(issuer: &str) -> Option<String> {
    url::Url::parse(issuer).ok()?.host_str().map(str::to_owned)
}

/// The name the label and `issuer=` use for `issuer`: its host, or the
/// issuer itself when it has none.
pub fn label_host(issuer: &str) -> String {
    issuer_host(issuer).unwrap_or_else(|| issuer.to_owned())
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::indexing_slicing)]
mod tests {
    use super::*;

    #[test]
    fn the_label_names_the_issuer_host() {
        assert_eq!(label_host("https://id.example/tenant"), "id.example");
        assert_eq!(label_host("http://localhost:8080"), "localhost");
    }

    /// RFC 6238 Appendix B, the SHA-1 rows: the seed is the ASCII
    /// "12345678901234567890" (20 bytes), `X = 30`, `T0 = 0`, 8 digits.
    const RFC6238_SHA1: [(i64, u64, &str); 6] = [
        (59, 0x1, "94287082"),
        (1_111_111_109, 0x23523EC, "07081804"),
        (1_111_111_111, 0x23523ED, "14050471"),
        (1_234_567_890, 0x273EF07, "89005924"),
        (2_000_000_000, 0x3F940AA, "69279037"),
        (20_000_000_000, 0x27BC86AA, "65353130"),
    ];
    const SEED: &[u8; 20] = b"12345678901234567890";

    #[test]
    fn rfc6238_appendix_b_sha1_vectors_through_the_hotp_core() {
        for (time, t, totp) in RFC6238_SHA1 {
            assert_eq!(step_of(time), t as i64, "T at {time}");
            assert_eq!(format!("{:08}", hotp(SEED, t, 8)), totp, "at {time}");
        }
    }

    #[test]
    fn rfc6238_vectors_on_the_six_digit_production_path() {
        let secret = TotpSecret::from_bytes(SEED).unwrap();
        for (time, t, totp) in RFC6238_SHA1 {
            // The same truncated value modulo 10^6: the last six digits.
            let six = &totp[2..];
            assert_eq!(code_at(&secret, t as i64).as_str(), six, "at {time}");
            assert_eq!(verify(&secret, six, time, None), Some(t as i64), "at {time}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_values() {
        // RFC 4226 Appendix D, the same seed, counters 0..9, 6 digits.
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, code) in expected.into_iter().enumerate() {
            assert_eq!(hotp(SEED, counter as u64, 6), code, "counter {counter}");
        }
    }

    #[test]
    fn one_step_either_side_and_no_further() {
        let secret = TotpSecret::generate().unwrap();
        let now = 1_700_000_015;
        let t = step_of(now);
        for (step, accepted) in [
            (t - 2, false),
            (t - 1, true),
            (t, true),
            (t + 1, true),
            (t + 2, false),
        ] {
            let code = code_at(&secret, step);
            assert_eq!(
                verify(&secret, &code, now, None),
                accepted.then_some(step),
                "step {}",
                step - t
            );
        }
    }

    #[test]
    fn the_last_accepted_step_and_earlier_ones_are_refused() {
        let secret = TotpSecret::generate().unwrap();
        let now = 1_700_000_015;
        let t = step_of(now);
        let code = code_at(&secret, t);
        assert_eq!(verify(&secret, &code, now, Some(t - 1)), Some(t));
        assert_eq!(
            verify(&secret, &code, now, Some(t)),
            None,
            "replay of the accepted step"
        );
        assert_eq!(
            verify(&secret, &code, now + 30, Some(t)),
            None,
            "replay a step later"
        );
        let earlier = code_at(&secret, t - 1);
        assert_eq!(verify(&secret, &earlier, now, Some(t)), None, "an earlier step");
        let next = code_at(&secret, t + 1);
        assert_eq!(
            verify(&secret, &next, now, Some(t)),
            Some(t + 1),
            "a later step still passes"
        );
    }

    #[test]
    fn malformed_and_wrong_codes_are_refused() {
        let secret = TotpSecret::generate().unwrap();
        let now = 1_700_000_015;
        let code = code_at(&secret, step_of(now));
        let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
        let other = TotpSecret::generate().unwrap();
        for bad in [
            "",
            "12345",
            "1234567",
            "12a456",
            "+12345",
            wrong.as_str(),
            &format!("{}0", code.as_str()),
            &code[..5],
        ] {
            assert_eq!(verify(&secret, bad, now, None), None, "{bad:?}");
        }
        assert_eq!(verify(&other, &code, now, None), None, "another secret");
        assert_eq!(
            verify(&secret, &format!(" {} ", code.as_str()), now, None),
            Some(step_of(now))
        );
    }

    #[test]
    fn base32_is_rfc4648_without_padding() {
        // RFC 4648 §10 test vectors, padding removed.
        for (input, output) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(input.as_bytes()), output, "{input:?}");
        }
        assert_eq!(TotpSecret::from_bytes(SEED).unwrap().base32().len(), 32);
    }

    #[test]
    fn the_otpauth_uri_names_host_user_secret_and_issuer() {
        let secret = TotpSecret::from_bytes(SEED).unwrap();
        let host = issuer_host("https://id.example.com:8443/tenant").unwrap();
        assert_eq!(
            otpauth_uri(&host, "ann", &secret).as_str(),
            "otpauth://totp/id.example.com:ann?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=id.example.com"
        );
        assert_eq!(
            otpauth_uri("localhost", "a b:c&d", &secret).as_str(),
            "otpauth://totp/localhost:a%20b%3Ac%26d?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=localhost"
        );
        assert!(!format!("{secret:?}").contains("GEZ"));
        assert_eq!(TotpSecret::from_bytes(&SEED[..19]).map(|_| ()), None);
    }
}
