//! Reading a token **without verifying it**.
//!
//! Nothing here checks a signature: what it returns is whatever the sender
//! chose to write. Use it to show a token to a person (the `tessera token
//! decode` command), never to decide anything. The module's name is the
//! warning, as in rustls.

use crate::compact;
use crate::error::Part;
use crate::json::unique_object;
use crate::Error;

/// A token's header and claims, **unverified**.
#[derive(Clone, Debug)]
pub struct Unverified {
    /// The header as JSON.
    pub header: serde_json::Value,
    /// The claims as JSON.
    pub claims: serde_json::Value,
}

/// Decodes a compact JWT without checking anything but its form: size,
/// three segments, strict base64url, JSON objects with unique member names.
pub fn decode_unverified(token: &str, max_len: usize) -> Result<Unverified, Error> {
    let parts = compact::split(token, max_len)?;
    let header = compact::decode(parts.header, Part::Header)?;
    let payload = compact::decode(parts.payload, Part::Payload)?;
    compact::decode(parts.signature, Part::Signature)?;
    Ok(Unverified {
        header: parse(&header, Part::Header)?,
        claims: parse(&payload, Part::Payload)?,
    })
}

fn parse(json: &[u8], part: Part) -> Result<serde_json::Value, Error> {
    unique_object(json, part)?;
    serde_json::from_slice(json).map_err(|e| Error::Json {
        part,
        reason: e.to_string(),
    })
}
