//! Strict base64url ([RFC 7515 §2], [RFC 4648 §5]).
//!
//! JWS compact serialization uses base64url *without padding*. Lenient
//! decoders that also take `=`, `+`, `/`, whitespace or non-zero trailing bits
//! let one token have many spellings, which breaks signature caches, replay
//! detection by token string, and "the same token" reasoning in general. This
//! engine rejects all of those.
//!
//! [RFC 7515 §2]: https://www.rfc-editor.org/rfc/rfc7515#section-2
//! [RFC 4648 §5]: https://www.rfc-editor.org/rfc/rfc4648#section-5

use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;

const ENGINE: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new()
        .with_encode_padding(false)
        .with_decode_padding_mode(DecodePaddingMode::RequireNone)
        .with_decode_allow_trailing_bits(false),
);

/// Decodes strict unpadded base64url.
pub(crate) fn decode(input: &[u8]) -> Option<Vec<u8>> {
    ENGINE.decode(input).ok()
}

/// Decodes strict unpadded base64url into `out`, appending.
pub(crate) fn decode_into(input: &[u8], out: &mut Vec<u8>) -> bool {
    ENGINE.decode_vec(input, out).is_ok()
}

/// Decodes strict unpadded base64url into `out`; the decoded length, or
/// `None` when the input is invalid or does not fit.
pub(crate) fn decode_slice(input: &[u8], out: &mut [u8]) -> Option<usize> {
    ENGINE.decode_slice(input, out).ok()
}

/// Encodes as unpadded base64url.
pub(crate) fn encode(input: &[u8]) -> String {
    ENGINE.encode(input)
}

/// Encodes as unpadded base64url, appending to `out`.
pub(crate) fn encode_into(input: &[u8], out: &mut String) {
    ENGINE.encode_string(input, out);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_padding_standard_alphabet_whitespace_and_trailing_bits() {
        assert_eq!(decode(b"Zm9v").as_deref(), Some(&b"foo"[..]));
        assert_eq!(decode(b"Zm8").as_deref(), Some(&b"fo"[..]));
        assert!(decode(b"Zm8=").is_none(), "padding");
        assert!(decode(b"-_8").is_some());
        assert!(decode(b"+/8").is_none(), "standard alphabet");
        assert!(decode(b"Zm9 v").is_none(), "whitespace");
        // "Zm9" is canonical for "fo"; "Zm9" -> 'o' = 0x6f; "Zm8" ends with
        // bits 11 1100 and "Zm9" would carry a non-zero trailing bit.
        assert!(decode(b"Zm9").is_none(), "non-canonical trailing bits");
        assert!(decode(b"Z").is_none(), "impossible length");
    }
}
