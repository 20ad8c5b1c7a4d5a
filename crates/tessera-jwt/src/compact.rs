//! Splitting a compact JWS ([RFC 7515 §7.1]) before anything is decoded.
//!
//! [RFC 7515 §7.1]: https://www.rfc-editor.org/rfc/rfc7515#section-7.1

use crate::error::Part;
use crate::{b64, Error};

/// The three segments of a compact JWS, still encoded.
pub(crate) struct Compact<'t> {
    pub(crate) header: &'t [u8],
    pub(crate) payload: &'t [u8],
    /// `header.payload`: the bytes the signature covers.
    pub(crate) signing_input: &'t [u8],
    pub(crate) signature: &'t [u8],
}

/// Bounds the size, then splits on exactly two dots.
pub(crate) fn split(token: &str, max_len: usize) -> Result<Compact<'_>, Error> {
    let bytes = token.as_bytes();
    if bytes.len() > max_len {
        return Err(Error::TooLarge {
            len: bytes.len(),
            max: max_len,
        });
    }
    let mut dots = [0usize; 2];
    let mut count = 0usize;
    for i in memchr::memchr_iter(b'.', bytes) {
        if let Some(slot) = dots.get_mut(count) {
            *slot = i;
        }
        count += 1;
    }
    match count {
        2 => {}
        4 => return Err(Error::EncryptedTokenNotSupported),
        n => return Err(Error::NotCompact(n + 1)),
    }
    let [first, second] = dots;
    let segment = |range: std::ops::Range<usize>| bytes.get(range).ok_or(Error::NotCompact(3));
    Ok(Compact {
        header: segment(0..first)?,
        payload: segment(first + 1..second)?,
        signing_input: segment(0..second)?,
        signature: segment(second + 1..bytes.len())?,
    })
}

/// Room for the largest signature of any supported algorithm (RSA with an
/// 8192-bit modulus: 1024 bytes), plus the slack the base64 decoder's
/// conservative output estimate asks for.
pub(crate) const MAX_SIGNATURE_LEN: usize = 1024 + 4;

/// Strictly decodes a signature into a stack buffer, so verification
/// allocates nothing for it. Longer signatures cannot be valid.
pub(crate) fn decode_signature<'b>(
    segment: &[u8],
    buf: &'b mut [u8; MAX_SIGNATURE_LEN],
) -> Result<Option<&'b [u8]>, Error> {
    if segment.len() > 1366 {
        return Ok(None);
    }
    match b64::decode_slice(segment, buf) {
        Some(len) => Ok(buf.get(..len)),
        None => Err(Error::Base64(Part::Signature)),
    }
}

/// Strictly decodes one segment.
pub(crate) fn decode(segment: &[u8], part: Part) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(segment.len() * 3 / 4 + 1);
    if b64::decode_into(segment, &mut out) {
        Ok(out)
    } else {
        Err(Error::Base64(part))
    }
}
