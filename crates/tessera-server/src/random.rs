//! Random identifiers and secrets, all from aws-lc-rs's system RNG.

use aws_lc_rs::rand::{SecureRandom, SystemRandom};

fn bytes(n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    SystemRandom::new().fill(&mut buf).ok()?;
    Some(buf)
}

/// `n` random bytes as unpadded base64url: token ids, refresh tokens,
/// client ids and secrets. `None` only if the system RNG fails.
pub fn base64url(n: usize) -> Option<String> {
    bytes(n).map(|b| base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, b))
}

/// `n` random bytes as lowercase hex: user ids.
pub fn hex(n: usize) -> Option<String> {
    bytes(n).map(|b| b.iter().map(|x| format!("{x:02x}")).collect())
}

/// A random number in `0..n` (0 when `n` is 0 or the RNG fails), for
/// jittering retry pauses; slightly biased, which a pause does not mind.
pub fn below(n: u64) -> u64 {
    let Some(b) = bytes(8) else { return 0 };
    let mut word = [0u8; 8];
    word.copy_from_slice(&b);
    u64::from_le_bytes(word).checked_rem(n).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    #[test]
    fn lengths_and_uniqueness() {
        let a = super::base64url(32).unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, super::base64url(32).unwrap());
        assert_eq!(super::hex(16).unwrap().len(), 32);
        assert!((0..100).all(|_| super::below(7) < 7));
        assert_eq!(super::below(0), 0);
    }
}
