//! User passwords: argon2id with OWASP's parameters (m = 19 MiB, t = 2,
//! p = 1, the `argon2` crate's defaults), computed on the blocking pool and
//! at most two at a time, so logins never stall the async executor and a
//! login flood cannot exhaust memory (19 MiB per hash in flight).

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::Argon2;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Hashes in flight at once.
static IN_FLIGHT: Semaphore = Semaphore::const_new(2);

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The hashing library failed (or the stored hash is malformed).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task failed.
    #[error("password task failed")]
    Task,
}

/// Shortest and longest accepted passwords (NIST SP 800-63B §3.1.1.2
/// asks for at least 8 and allowing at least 64).
pub const MIN_LEN: usize = 8;
/// Longest accepted password, in bytes.
pub const MAX_LEN: usize = 1024;

/// Hashes a password (blocking; use [`hash`] on the executor).
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| PasswordError::Hash("no randomness".into()))?;
    Argon2::default()
        .hash_password_with_salt(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Hashes a password on the blocking pool.
pub async fn hash(password: Zeroizing<String>) -> Result<String, PasswordError> {
    let _permit = IN_FLIGHT.acquire().await.map_err(|_| PasswordError::Task)?;
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|_| PasswordError::Task)?
}

/// A hash of a random password, checked when the user does not exist so
/// that the answer takes as long as for a real user (no username probing
/// by timing).
fn dummy() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut random = [0u8; 24];
        let _ = SystemRandom::new().fill(&mut random);
        let password: String = random.iter().map(|b| char::from(b'a' + b % 26)).collect();
        hash_blocking(&password).unwrap_or_default()
    })
}

/// Checks a password against a stored PHC hash (or the dummy when
/// `stored` is `None`) on the blocking pool.
pub async fn verify(password: Zeroizing<String>, stored: Option<String>) -> Result<bool, PasswordError> {
    let _permit = IN_FLIGHT.acquire().await.map_err(|_| PasswordError::Task)?;
    tokio::task::spawn_blocking(move || {
        let real = stored.is_some();
        let phc = stored.unwrap_or_else(|| dummy().to_owned());
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok();
        ok && real
    })
    .await
    .map_err(|_| PasswordError::Task)
}

#[cfg(test)]
mod tests {
    #[tokio::test]
    async fn hashes_verify_and_differ() {
        let a = super::hash(zeroize::Zeroizing::new("correct horse".into()))
            .await
            .unwrap();
        let b = super::hash(zeroize::Zeroizing::new("correct horse".into()))
            .await
            .unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(
            super::verify(zeroize::Zeroizing::new("correct horse".into()), Some(a.clone()))
                .await
                .unwrap()
        );
        assert!(
            !super::verify(zeroize::Zeroizing::new("wrong horse".into()), Some(a))
                .await
                .unwrap()
        );
        assert!(!super::verify(zeroize::Zeroizing::new("anything".into()), None)
            .await
            .unwrap());
    }
}
