//! Sealing private keys at rest with a master key (AES-256-GCM from
//! aws-lc-rs).
//!
//! A sealed blob is `1 || nonce (12) || ciphertext || tag (16)`; the key id
//! is the associated data, so a sealed key cannot be moved to another row.
//! Nonces are random: 96 bits are safe for far more keys than a server
//! will ever seal.

use aws_lc_rs::aead::{Aad, LessSafeKey, Nonce, UnboundKey, AES_256_GCM, NONCE_LEN};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::{hkdf, hmac};
use zeroize::Zeroizing;

const VERSION: u8 = 1;

/// Why a master key could not be loaded or a blob not opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    /// The master key is not 32 bytes of base64url.
    #[error("master key must be 32 bytes, base64url-encoded")]
    BadMasterKey,
    /// Decryption failed: wrong master key, or the row was altered.
    #[error("a sealed key could not be opened: wrong master key, or the data was altered")]
    Open,
    /// The crypto library failed.
    #[error("crypto failure while sealing")]
    Crypto,
}

/// The 256-bit key that seals private keys (and TOTP secrets) at rest,
/// and the keys derived from it that sign device cookies
/// ([`MasterKey::device_cookie_key`]) and hash recovery codes
/// ([`MasterKey::recovery_code_key`]).
pub struct MasterKey(LessSafeKey, hmac::Key, hmac::Key);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey([redacted])")
    }
}

impl MasterKey {
    /// A new random master key and its base64url form (to store).
    pub fn generate() -> Result<(MasterKey, Zeroizing<String>), SealError> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(bytes.as_mut())
            .map_err(|_| SealError::Crypto)?;
        let text = Zeroizing::new(base64::Engine::encode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            bytes.as_ref(),
        ));
        Ok((MasterKey::from_bytes(bytes.as_ref())?, text))
    }

    /// Parses the base64url form.
    pub fn from_base64url(text: &str) -> Result<MasterKey, SealError> {
        let bytes = Zeroizing::new(
            base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, text.trim())
                .map_err(|_| SealError::BadMasterKey)?,
        );
        MasterKey::from_bytes(&bytes)
    }

    fn from_bytes(bytes: &[u8]) -> Result<MasterKey, SealError> {
        if bytes.len() != 32 {
            return Err(SealError::BadMasterKey);
        }
        let key = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| SealError::BadMasterKey)?;
        // Never the sealing key itself for a second purpose: HKDF (RFC
        // 5869) derives an independent HMAC key, bound to what it is for.
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, b"tessera master key").extract(bytes);
        let devices = prk
            .expand(&[b"device cookies"], hmac::HMAC_SHA256)
            .map(hmac::Key::from)
            .map_err(|_| SealError::Crypto)?;
        let recovery = prk
            .expand(&[b"recovery codes"], hmac::HMAC_SHA256)
            .map(hmac::Key::from)
            .map_err(|_| SealError::Crypto)?;
        Ok(MasterKey(LessSafeKey::new(key), devices, recovery))
    }

    /// The HMAC-SHA256 key of device cookies (see
    /// [`crate::oauth::device`]), derived from the master key, so every
    /// node sharing the master key recognises the same devices.
    pub fn device_cookie_key(&self) -> hmac::Key {
        self.1.clone()
    }

    /// The HMAC-SHA256 key recovery codes are stored under (see
    /// [`crate::identity::recovery`]), derived from the master key like
    /// the device cookie key, so every node checks the same codes.
    pub fn recovery_code_key(&self) -> hmac::Key {
        self.2.clone()
    }

    /// Seals `plaintext`, bound to `context` (the key id).
    pub fn seal(&self, context: &str, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| SealError::Crypto)?;
        let mut body = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context.as_bytes()),
                &mut body,
            )
            .map_err(|_| SealError::Crypto)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + body.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&body);
        Ok(out)
    }

    /// Opens a blob sealed for `context`.
    pub fn open(&self, context: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        let (&version, rest) = sealed.split_first().ok_or(SealError::Open)?;
        if version != VERSION || rest.len() < NONCE_LEN {
            return Err(SealError::Open);
        }
        let (nonce, body) = rest.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| SealError::Open)?;
        let mut body = Zeroizing::new(body.to_vec());
        let len = self
            .0
            .open_in_place(nonce, Aad::from(context.as_bytes()), &mut body)
            .map_err(|_| SealError::Open)?
            .len();
        body.truncate(len);
        Ok(body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_refuses_tampering_wrong_context_and_wrong_key() {
        let (key, text) = MasterKey::generate().unwrap();
        let sealed = key.seal("kid-1", b"private").unwrap();
        assert!(!sealed.windows(7).any(|w| w == b"private"));
        assert_eq!(&key.open("kid-1", &sealed).unwrap()[..], b"private");
        assert!(key.open("kid-2", &sealed).is_err(), "bound to its kid");
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(key.open("kid-1", &altered).is_err());
        let (other, _) = MasterKey::generate().unwrap();
        assert!(other.open("kid-1", &sealed).is_err());
        let again = MasterKey::from_base64url(&text).unwrap();
        assert_eq!(&again.open("kid-1", &sealed).unwrap()[..], b"private");
        assert!(MasterKey::from_base64url("c2hvcnQ").is_err());
    }
}
