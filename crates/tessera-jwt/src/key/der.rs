//! Just enough DER reading to export an RSA private key as a JWK.
//!
//! aws-lc-rs exports RSA keys only as PKCS#8; a private JWK ([RFC 7518
//! §6.3.2]) needs the integers inside. This reads the fixed structure of
//! PKCS#8 `PrivateKeyInfo` ([RFC 5208 §5]) holding an `RSAPrivateKey`
//! ([RFC 8017 Appendix A.1.2]). It never sees untrusted input: only DER that
//! aws-lc-rs itself produced. No cryptography happens here.
//!
//! [RFC 7518 §6.3.2]: https://www.rfc-editor.org/rfc/rfc7518#section-6.3.2
//! [RFC 5208 §5]: https://www.rfc-editor.org/rfc/rfc5208#section-5
//! [RFC 8017 Appendix A.1.2]: https://www.rfc-editor.org/rfc/rfc8017#appendix-A.1.2

const SEQUENCE: u8 = 0x30;
const INTEGER: u8 = 0x02;
const OCTET_STRING: u8 = 0x04;

/// Reads one TLV with the expected tag; returns (content, rest).
fn read(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&t, rest) = input.split_first()?;
    if t != tag {
        return None;
    }
    let (&first, mut rest) = rest.split_first()?;
    let len = if first < 0x80 {
        usize::from(first)
    } else {
        let n = usize::from(first & 0x7f);
        if n == 0 || n > 4 {
            return None;
        }
        let (bytes, r) = (rest.get(..n)?, rest.get(n..)?);
        rest = r;
        bytes.iter().fold(0usize, |acc, b| (acc << 8) | usize::from(*b))
    };
    Some((rest.get(..len)?, rest.get(len..)?))
}

/// An unsigned big-endian INTEGER without its sign-padding zero.
fn read_uint(input: &[u8]) -> Option<(&[u8], &[u8])> {
    let (mut v, rest) = read(input, INTEGER)?;
    while v.len() > 1 && v.first() == Some(&0) {
        v = v.get(1..)?;
    }
    Some((v, rest))
}

/// The eight RSA integers `n, e, d, p, q, dp, dq, qi` of a PKCS#8 RSA key.
pub(crate) fn rsa_private_components(pkcs8: &[u8]) -> Option<[Vec<u8>; 8]> {
    let (info, _) = read(pkcs8, SEQUENCE)?;
    let (_version, rest) = read(info, INTEGER)?;
    let (_algorithm, rest) = read(rest, SEQUENCE)?;
    let (private_key, _) = read(rest, OCTET_STRING)?;
    let (rsa, _) = read(private_key, SEQUENCE)?;
    let (_version, mut rest) = read(rsa, INTEGER)?;
    let mut out: [Vec<u8>; 8] = Default::default();
    for slot in out.iter_mut() {
        let (v, r) = read_uint(rest)?;
        *slot = v.to_vec();
        rest = r;
    }
    Some(out)
}
