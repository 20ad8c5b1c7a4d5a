//! Authenticator data ([WebAuthn §6.1]): what the authenticator signs.
//!
//! ```text
//! rpIdHash (32) | flags (1) | signCount (4, big-endian)
//!   [ attestedCredentialData: aaguid (16) | credentialIdLength (2) |
//!     credentialId | credentialPublicKey (COSE_Key, CBOR) ]   if AT
//!   [ extensions (CBOR map) ]                                  if ED
//! ```
//!
//! Parsed strictly: no trailing bytes, AT and ED agree with what follows,
//! a credential id at most 1023 bytes ([WebAuthn §6.1.2]), BS only with
//! BE ([WebAuthn §6.1.3]).
//!
//! [WebAuthn §6.1]: https://www.w3.org/TR/webauthn-3/#sctn-authenticator-data
//! [WebAuthn §6.1.2]: https://www.w3.org/TR/webauthn-3/#sctn-attested-credential-data
//! [WebAuthn §6.1.3]: https://www.w3.org/TR/webauthn-3/#sctn-credential-backup

use super::cbor::{self, Value};
use super::WebAuthnError;

/// The longest credential id accepted ([WebAuthn §6.1.2]:
/// `credentialIdLength` "MUST NOT be larger than 1023").
///
/// [WebAuthn §6.1.2]: https://www.w3.org/TR/webauthn-3/#sctn-attested-credential-data
pub const MAX_CREDENTIAL_ID: usize = 1023;

/// The flags byte ([WebAuthn §6.1], table "flags").
///
/// [WebAuthn §6.1]: https://www.w3.org/TR/webauthn-3/#authdata-flags
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flags(pub u8);

impl Flags {
    /// User Present (bit 0).
    pub const UP: u8 = 0x01;
    /// User Verified (bit 2).
    pub const UV: u8 = 0x04;
    /// Backup Eligibility (bit 3).
    pub const BE: u8 = 0x08;
    /// Backup State (bit 4).
    pub const BS: u8 = 0x10;
    /// Attested credential data included (bit 6).
    pub const AT: u8 = 0x40;
    /// Extension data included (bit 7).
    pub const ED: u8 = 0x80;

    fn has(self, bit: u8) -> bool {
        self.0 & bit != 0
    }

    /// The user was present.
    pub fn user_present(self) -> bool {
        self.has(Self::UP)
    }

    /// The user was verified.
    pub fn user_verified(self) -> bool {
        self.has(Self::UV)
    }

    /// The credential may be backed up (fixed for its lifetime).
    pub fn backup_eligible(self) -> bool {
        self.has(Self::BE)
    }

    /// The credential is backed up now.
    pub fn backup_state(self) -> bool {
        self.has(Self::BS)
    }

    /// Attested credential data follows.
    pub fn attested(self) -> bool {
        self.has(Self::AT)
    }

    /// Extensions follow.
    pub fn extensions(self) -> bool {
        self.has(Self::ED)
    }
}

/// Attested credential data ([WebAuthn §6.1.2]).
///
/// [WebAuthn §6.1.2]: https://www.w3.org/TR/webauthn-3/#sctn-attested-credential-data
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttestedCredential<'a> {
    /// The authenticator model's AAGUID (all zero under `none`, usually).
    pub aaguid: [u8; 16],
    /// The credential id.
    pub credential_id: &'a [u8],
    /// The credential public key, a COSE_Key, exactly as encoded.
    pub public_key: &'a [u8],
}

/// Parsed authenticator data, borrowing from the bytes it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthenticatorData<'a> {
    /// SHA-256 of the RP ID the credential is scoped to.
    pub rp_id_hash: [u8; 32],
    /// The flags.
    pub flags: Flags,
    /// The signature counter.
    pub sign_count: u32,
    /// Present exactly when AT is set.
    pub attested: Option<AttestedCredential<'a>>,
    /// The extension outputs (a CBOR map, as encoded), exactly when ED is set.
    pub extensions: Option<&'a [u8]>,
}

fn split(bytes: &[u8], n: usize) -> Result<(&[u8], &[u8]), WebAuthnError> {
    if bytes.len() < n {
        return Err(WebAuthnError::Malformed("authenticator data too short"));
    }
    Ok(bytes.split_at(n))
}

/// Parses authenticator data ([WebAuthn §6.1]), refusing anything not
/// exactly as specified.
///
/// [WebAuthn §6.1]: https://www.w3.org/TR/webauthn-3/#sctn-authenticator-data
pub fn parse(bytes: &[u8]) -> Result<AuthenticatorData<'_>, WebAuthnError> {
    let (rp_id_hash, rest) = split(bytes, 32)?;
    let (flags, rest) = split(rest, 1)?;
    let (count, mut rest) = split(rest, 4)?;
    let mut hash = [0u8; 32];
    hash.copy_from_slice(rp_id_hash);
    let flags = Flags(flags.first().copied().unwrap_or_default());
    let mut counter = [0u8; 4];
    counter.copy_from_slice(count);

    // §6.1.3: "If BE is 0, BS MUST be 0."
    if flags.backup_state() && !flags.backup_eligible() {
        return Err(WebAuthnError::Backup);
    }

    let attested = if flags.attested() {
        let (aaguid, after) = split(rest, 16)?;
        let (length, after) = split(after, 2)?;
        let length = usize::from(u16::from_be_bytes([
            length.first().copied().unwrap_or_default(),
            length.get(1).copied().unwrap_or_default(),
        ]));
        if length == 0 || length > MAX_CREDENTIAL_ID {
            return Err(WebAuthnError::Malformed("credential id length out of range"));
        }
        let (credential_id, after) = split(after, length)?;
        let (key, used) = cbor::decode_prefix(after)?;
        if !matches!(key, Value::Map(_)) {
            return Err(WebAuthnError::Malformed(
                "credential public key is not a COSE_Key map",
            ));
        }
        let (public_key, after) = split(after, used)?;
        rest = after;
        let mut id = [0u8; 16];
        id.copy_from_slice(aaguid);
        Some(AttestedCredential {
            aaguid: id,
            credential_id,
            public_key,
        })
    } else {
        None
    };

    let extensions = if flags.extensions() {
        let (map, used) = cbor::decode_prefix(rest)?;
        if !matches!(map, Value::Map(_)) {
            return Err(WebAuthnError::Malformed("extensions are not a CBOR map"));
        }
        let (encoded, after) = split(rest, used)?;
        rest = after;
        Some(encoded)
    } else {
        None
    };

    if !rest.is_empty() {
        return Err(WebAuthnError::Malformed(
            "trailing bytes in authenticator data (AT or ED flag does not match the content)",
        ));
    }
    Ok(AuthenticatorData {
        rp_id_hash: hash,
        flags,
        sign_count: u32::from_be_bytes(counter),
        attested,
        extensions,
    })
}

#[cfg(test)]
mod tests {
    use super::super::cbor::tests::enc::{bytes, encode, E};
    use super::*;

    fn cose_key() -> Vec<u8> {
        encode(&E::Map(vec![
            (E::Int(1), E::Int(2)),
            (E::Int(3), E::Int(-7)),
            (E::Int(-1), E::Int(1)),
            (E::Int(-2), bytes(&[1; 32])),
            (E::Int(-3), bytes(&[2; 32])),
        ]))
    }

    fn build(flags: u8, count: u32, cred: Option<&[u8]>, ext: Option<&[u8]>) -> Vec<u8> {
        let mut out = vec![7u8; 32];
        out.push(flags);
        out.extend(count.to_be_bytes());
        if let Some(id) = cred {
            out.extend([9u8; 16]);
            out.extend((id.len() as u16).to_be_bytes());
            out.extend(id);
            out.extend(cose_key());
        }
        if let Some(ext) = ext {
            out.extend(ext);
        }
        out
    }

    #[test]
    fn parses_each_part() {
        let ext = encode(&E::Map(vec![(E::Text("credProtect".into()), E::Int(2))]));
        let data = build(
            0x01 | 0x04 | 0x08 | 0x10 | 0x40 | 0x80,
            7,
            Some(b"cred"),
            Some(&ext),
        );
        let parsed = parse(&data).unwrap();
        assert_eq!(parsed.rp_id_hash, [7; 32]);
        assert_eq!(parsed.sign_count, 7);
        assert!(parsed.flags.user_present() && parsed.flags.user_verified());
        assert!(parsed.flags.backup_eligible() && parsed.flags.backup_state());
        let attested = parsed.attested.unwrap();
        assert_eq!(attested.aaguid, [9; 16]);
        assert_eq!(attested.credential_id, b"cred");
        assert_eq!(attested.public_key, cose_key().as_slice());
        assert_eq!(parsed.extensions, Some(ext.as_slice()));

        let bytes = build(0x01, 0x0102_0304, None, None);
        let short = parse(&bytes).unwrap();
        assert_eq!(short.sign_count, 0x0102_0304);
        assert!(short.attested.is_none() && short.extensions.is_none());
    }

    #[test]
    fn refuses_what_the_flags_do_not_announce() {
        // Trailing bytes with neither AT nor ED.
        let mut data = build(0x01, 0, None, None);
        data.push(0);
        assert!(matches!(parse(&data), Err(WebAuthnError::Malformed(_))));
        // Attested data without AT.
        assert!(parse(&build(0x01, 0, Some(b"id"), None)).is_err());
        // AT without attested data.
        assert!(parse(&build(0x41, 0, None, None)).is_err());
        // ED without extensions, extensions without ED.
        assert!(parse(&build(0x81, 0, None, None)).is_err());
        let ext = encode(&E::Map(vec![]));
        assert!(parse(&build(0x01, 0, None, Some(&ext))).is_err());
        // Extensions that are not a map.
        assert!(parse(&build(0x81, 0, None, Some(&encode(&E::Int(1))))).is_err());
        // Trailing bytes after the COSE key.
        let mut data = build(0x41, 0, Some(b"id"), None);
        data.push(0xf6);
        assert!(parse(&data).is_err());
        // Too short.
        assert!(parse(&[0u8; 36]).is_err());
    }

    #[test]
    fn refuses_bs_without_be_and_bad_credential_ids() {
        assert_eq!(parse(&build(0x11, 0, None, None)), Err(WebAuthnError::Backup));
        assert!(parse(&build(0x19, 0, None, None)).is_ok());
        assert!(parse(&build(0x41, 0, Some(&[1; 1023]), None)).is_ok());
        assert!(matches!(
            parse(&build(0x41, 0, Some(&[1; 1024]), None)),
            Err(WebAuthnError::Malformed(_))
        ));
        assert!(parse(&build(0x41, 0, Some(&[]), None)).is_err());
        // A credential id longer than what is left.
        let mut data = build(0x01, 0, None, None);
        data[32] = 0x41;
        data.extend([0u8; 16]);
        data.extend([0x00, 0x10, 1, 2]);
        assert!(parse(&data).is_err());
    }
}
