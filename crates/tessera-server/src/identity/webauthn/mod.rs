//! A WebAuthn Level 3 relying party's verifier ([WebAuthn]): registering
//! a passkey ([`registration`], §7.1) and checking an assertion
//! ([`assertion`], §7.2), with the options the browser's
//! `navigator.credentials.create()` / `get()` need ([`options`]).
//!
//! Written over aws-lc-rs alone: a strict CBOR reader ([`cbor`]), the
//! authenticator data ([`authenticator_data`], §6.1), COSE keys
//! ([`cose`], ES256, EdDSA and RS256), and the client data
//! ([`client_data`], §5.8.1). Attestation is `none` only: Tessera does not
//! judge authenticator models, it binds a key to an account.
//!
//! No HTTP, no storage: the caller ([`crate::identity::passkeys`]) keeps
//! challenges single use and credential ids unique.
//!
//! # What each check stops
//!
//! | Attack | Stopped by | Error |
//! |--------|------------|-------|
//! | A phishing site relays the ceremony | `origin` is the issuer's origin exactly; `rpIdHash` is SHA-256 of the issuer's host | [`WebAuthnError::Origin`], [`WebAuthnError::RpIdHash`] |
//! | A framing page runs the ceremony | `crossOrigin` true or a `topOrigin` refused | [`WebAuthnError::CrossOrigin`] |
//! | A captured response is replayed | the challenge: issued by the server, single use, short-lived, bound to the browser | [`WebAuthnError::Challenge`] (and the store) |
//! | A registration response used to sign in, or the reverse | `type` is the ceremony's | [`WebAuthnError::Type`] |
//! | A cloned authenticator | the signature counter must increase (unless it is 0 on both sides) | [`WebAuthnError::Counter`] |
//! | A stolen unlocked device, no PIN or biometric | UV required for passwordless sign-in and registration | [`WebAuthnError::UserVerification`] |
//! | Silent use by malware without a touch | UP required | [`WebAuthnError::UserPresence`] |
//! | Algorithm confusion, weak keys | the key's `alg` must be present, allowed and match its `kty`/`crv`; RSA ≥ 2048 bits; P-256 points checked | [`WebAuthnError::Algorithm`] |
//! | Parser differentials, resource exhaustion | strict CBOR (no indefinite lengths, tags, floats, duplicate keys; bounded depth and lengths), no trailing bytes | [`WebAuthnError::Cbor`], [`WebAuthnError::Malformed`] |
//! | Someone registers another person's credential id | credential ids are unique in the store | `identity::passkeys` |
//!
//! [WebAuthn]: https://www.w3.org/TR/webauthn-3/

pub mod assertion;
pub mod authenticator_data;
pub mod cbor;
pub mod client_data;
pub mod cose;
pub mod options;
pub mod registration;
#[cfg(test)]
mod test_vectors;

pub use assertion::{verify_assertion, StoredCredential, VerifiedAssertion};
pub use cose::Algorithm;
pub use registration::{verify_registration, NewCredential};

/// What a ceremony expects, fixed by the relying party before it starts.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The challenge it issued (the raw bytes, not their base64url).
    pub challenge: &'a [u8],
    /// The origin the ceremony must come from, exactly (the issuer's
    /// origin, e.g. `https://id.example`).
    pub origin: &'a str,
    /// The RP ID ([WebAuthn §5.1.2 "rp"](https://www.w3.org/TR/webauthn-3/#rp-id)):
    /// the issuer's host.
    pub rp_id: &'a str,
    /// Whether the authenticator must have verified the user (UV flag).
    pub user_verification_required: bool,
    /// The credential algorithms accepted (registration only).
    pub algorithms: &'a [Algorithm],
}

/// Why a WebAuthn response is refused. Each variant names the check of
/// [WebAuthn §7.1](https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential)
/// or [§7.2](https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion)
/// that failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WebAuthnError {
    /// A structure is not what the specification says it is.
    #[error("malformed WebAuthn response: {0}")]
    Malformed(&'static str),
    /// CBOR that the strict decoder refuses.
    #[error(transparent)]
    Cbor(#[from] cbor::CborError),
    /// `clientDataJSON.type` is not the ceremony's (§7.1 step 7, §7.2 step 11).
    #[error("the client data is for another ceremony (wrong type)")]
    Type,
    /// `clientDataJSON.challenge` is not the challenge issued (§7.1 step 8,
    /// §7.2 step 12).
    #[error("the challenge is not the one issued")]
    Challenge,
    /// `clientDataJSON.origin` is not the relying party's origin (§7.1
    /// step 9, §7.2 step 13).
    #[error("the origin is not the relying party's")]
    Origin,
    /// The ceremony ran in a cross-origin iframe (`crossOrigin` true or a
    /// `topOrigin`; §7.1 step 10, §7.2 step 14): Tessera is never framed.
    #[error("cross-origin ceremonies are not accepted")]
    CrossOrigin,
    /// `rpIdHash` is not SHA-256 of the RP ID (§7.1 step 13, §7.2 step 15).
    #[error("the authenticator data is for another relying party (rpIdHash)")]
    RpIdHash,
    /// The UP flag is not set (§7.1 step 14, §7.2 step 16).
    #[error("the user was not present (UP flag not set)")]
    UserPresence,
    /// The UV flag is not set but user verification is required (§7.1
    /// step 15, §7.2 step 17).
    #[error("the user was not verified (UV flag not set)")]
    UserVerification,
    /// BS set without BE, or BE different from the registered one
    /// ([§6.1.3](https://www.w3.org/TR/webauthn-3/#sctn-credential-backup)).
    #[error("inconsistent backup flags (BE/BS)")]
    Backup,
    /// The credential's algorithm is not accepted, or its key is not one
    /// Tessera accepts (e.g. RSA below 2048 bits; §7.1 step 19).
    #[error("credential algorithm or key not accepted")]
    Algorithm,
    /// An attestation format other than `none`, or a `none` statement that
    /// is not empty (§7.1 steps 21-22, [§8.7](https://www.w3.org/TR/webauthn-3/#sctn-none-attestation)).
    #[error("attestation format not accepted (only \"none\")")]
    Attestation,
    /// The signature does not verify with the credential's public key
    /// (§7.2 step 21).
    #[error("the assertion signature does not verify")]
    Signature,
    /// The signature counter did not increase (§7.2 step 22): a possibly
    /// cloned authenticator.
    #[error("the signature counter did not increase (possible cloned authenticator)")]
    Counter,
}

/// SHA-256, as WebAuthn uses it for `rpIdHash` and the client data hash
/// (and Tessera for stored challenges).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}
