//! The client data ([WebAuthn §5.8.1]): what the browser says about the
//! ceremony, hashed into what the authenticator signs.
//!
//! Checked here ([WebAuthn §7.1] steps 7-10, [WebAuthn §7.2] steps 11-14):
//! `type` is the ceremony's; `challenge` (base64url without padding) is
//! the one issued, compared in constant time; `origin` is the relying
//! party's origin exactly; `crossOrigin` is not true and there is no
//! `topOrigin` (Tessera's pages are never framed, so a ceremony from an
//! iframe is not one of ours). Other members are ignored, as §5.8.1 asks.
//!
//! [WebAuthn §5.8.1]: https://www.w3.org/TR/webauthn-3/#dictdef-collectedclientdata
//! [WebAuthn §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
//! [WebAuthn §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion

use base64::Engine as _;
use serde::Deserialize;

use super::WebAuthnError;

/// Which ceremony the client data must be for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// Registration: `webauthn.create`.
    Create,
    /// Authentication: `webauthn.get`.
    Get,
}

impl Ceremony {
    fn type_name(self) -> &'static str {
        match self {
            Ceremony::Create => "webauthn.create",
            Ceremony::Get => "webauthn.get",
        }
    }
}

/// The members of `CollectedClientData` that are checked (unknown ones
/// are ignored; a repeated member is refused by serde).
#[derive(Debug, Deserialize)]
struct Collected {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin")]
    cross_origin: Option<bool>,
    #[serde(rename = "topOrigin")]
    top_origin: Option<serde::de::IgnoredAny>,
}

/// The challenge the client data carries, decoded, without checking
/// anything else (to find the stored challenge it claims to answer; the
/// full check is [`verify`]).
pub fn challenge(client_data_json: &[u8]) -> Result<Vec<u8>, WebAuthnError> {
    let collected: Collected = serde_json::from_slice(client_data_json)
        .map_err(|_| WebAuthnError::Malformed("clientDataJSON is not the expected JSON"))?;
    decode_challenge(&collected.challenge)
}

fn decode_challenge(text: &str) -> Result<Vec<u8>, WebAuthnError> {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(text)
        .map_err(|_| WebAuthnError::Challenge)
}

/// Checks `client_data_json` (the bytes the browser sent, UTF-8 JSON)
/// against the ceremony, the issued challenge and the origin.
pub fn verify(
    client_data_json: &[u8],
    ceremony: Ceremony,
    expected_challenge: &[u8],
    expected_origin: &str,
) -> Result<(), WebAuthnError> {
    // Steps 5-6 (§7.1) / 9-10 (§7.2): UTF-8 decode and JSON parse.
    let collected: Collected = serde_json::from_slice(client_data_json)
        .map_err(|_| WebAuthnError::Malformed("clientDataJSON is not the expected JSON"))?;
    // Step 7 / 11: the type.
    if collected.kind != ceremony.type_name() {
        return Err(WebAuthnError::Type);
    }
    // Step 8 / 12: the challenge, in constant time.
    let sent = decode_challenge(&collected.challenge)?;
    if aws_lc_rs::constant_time::verify_slices_are_equal(&sent, expected_challenge).is_err() {
        return Err(WebAuthnError::Challenge);
    }
    // Step 9 / 13: the origin, exactly.
    if collected.origin != expected_origin {
        return Err(WebAuthnError::Origin);
    }
    // Step 10 / 14: no cross-origin ceremony, no top origin.
    if collected.cross_origin == Some(true) || collected.top_origin.is_some() {
        return Err(WebAuthnError::CrossOrigin);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "https://localhost:8443";

    fn json(kind: &str, challenge: &[u8], origin: &str, extra: &str) -> Vec<u8> {
        let c = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(challenge);
        format!(r#"{{"type":"{kind}","challenge":"{c}","origin":"{origin}"{extra}}}"#).into_bytes()
    }

    #[test]
    fn accepts_the_expected_client_data() {
        let data = json(
            "webauthn.get",
            b"challenge-bytes",
            ORIGIN,
            r#","crossOrigin":false,"other":1"#,
        );
        verify(&data, Ceremony::Get, b"challenge-bytes", ORIGIN).unwrap();
        assert_eq!(challenge(&data).unwrap(), b"challenge-bytes");
    }

    #[test]
    fn refuses_each_mismatch() {
        let c = b"challenge-bytes";
        let check = |data: Vec<u8>, ceremony| verify(&data, ceremony, c, ORIGIN);
        assert_eq!(
            check(json("webauthn.get", c, ORIGIN, ""), Ceremony::Create),
            Err(WebAuthnError::Type)
        );
        assert_eq!(
            check(json("webauthn.create", c, ORIGIN, ""), Ceremony::Get),
            Err(WebAuthnError::Type)
        );
        assert_eq!(
            check(json("webauthn.get", b"other", ORIGIN, ""), Ceremony::Get),
            Err(WebAuthnError::Challenge)
        );
        assert_eq!(
            check(json("webauthn.get", b"challenge-byte", ORIGIN, ""), Ceremony::Get),
            Err(WebAuthnError::Challenge)
        );
        for origin in [
            "https://localhost",
            "https://evil.example:8443",
            "http://localhost:8443",
            "https://localhost:8443/",
        ] {
            assert_eq!(
                check(json("webauthn.get", c, origin, ""), Ceremony::Get),
                Err(WebAuthnError::Origin),
                "{origin}"
            );
        }
        assert_eq!(
            check(
                json("webauthn.get", c, ORIGIN, r#","crossOrigin":true"#),
                Ceremony::Get
            ),
            Err(WebAuthnError::CrossOrigin)
        );
        assert_eq!(
            check(
                json(
                    "webauthn.get",
                    c,
                    ORIGIN,
                    r#","topOrigin":"https://framer.example""#
                ),
                Ceremony::Get
            ),
            Err(WebAuthnError::CrossOrigin)
        );
        // Padded or standard-alphabet challenges, duplicate members, not JSON.
        let padded = format!(r#"{{"type":"webauthn.get","challenge":"YQ==","origin":"{ORIGIN}"}}"#);
        assert_eq!(
            verify(padded.as_bytes(), Ceremony::Get, b"a", ORIGIN),
            Err(WebAuthnError::Challenge)
        );
        let twice = format!(
            r#"{{"type":"webauthn.get","type":"webauthn.get","challenge":"YQ","origin":"{ORIGIN}"}}"#
        );
        assert!(matches!(
            verify(twice.as_bytes(), Ceremony::Get, b"a", ORIGIN),
            Err(WebAuthnError::Malformed(_))
        ));
        assert!(matches!(
            verify(b"\xff{}", Ceremony::Get, b"a", ORIGIN),
            Err(WebAuthnError::Malformed(_))
        ));
    }
}
