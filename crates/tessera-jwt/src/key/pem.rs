//! PEM armour for DER keys ([RFC 7468]).
//!
//! Only the textual wrapping: labels, base64 body, 64-column lines. The DER
//! inside is parsed by the crypto library.
//!
//! [RFC 7468]: https://www.rfc-editor.org/rfc/rfc7468

use base64_simd::STANDARD;
use zeroize::Zeroizing;

/// Wraps `der` as a PEM document with the given label.
pub(crate) fn encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(STANDARD.encode_to_string(der));
    let mut out = Zeroizing::new(String::with_capacity(body.len() + body.len() / 64 + 64));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

/// Finds the first PEM block and returns its label and DER bytes.
pub(crate) fn decode(text: &str) -> Option<(String, Zeroizing<Vec<u8>>)> {
    let start = text.find("-----BEGIN ")?;
    let rest = text.get(start + "-----BEGIN ".len()..)?;
    let label_end = rest.find("-----")?;
    let label = rest.get(..label_end)?.to_owned();
    let body_and_end = rest.get(label_end + 5..)?;
    let end_marker = format!("-----END {label}-----");
    let body_end = body_and_end.find(&end_marker)?;
    let body: Zeroizing<String> = Zeroizing::new(
        body_and_end
            .get(..body_end)?
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    let der = STANDARD.decode_to_vec(body.as_bytes()).ok()?;
    Some((label, Zeroizing::new(der)))
}

#[cfg(test)]
mod tests {
    #[test]
    fn round_trips() {
        let der: Vec<u8> = (0u8..=200).collect();
        let pem = super::encode("PRIVATE KEY", &der);
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert!(pem.lines().all(|l| l.len() <= 64 || l.starts_with("-----")));
        let (label, back) = super::decode(&pem).unwrap();
        assert_eq!(label, "PRIVATE KEY");
        assert_eq!(&back[..], &der[..]);
        assert!(super::decode("-----BEGIN X-----\n!!!\n-----END X-----").is_none());
        assert!(super::decode("-----BEGIN X-----\nAAAA\n-----END Y-----").is_none());
    }
}
