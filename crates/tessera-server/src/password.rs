//! User passwords: argon2id with OWASP's parameters (m = 19 MiB, t = 2,
//! p = 1, the `argon2` crate's defaults), computed on the blocking pool and
//! at most two at a time, so logins never stall the async executor and a
//! login flood cannot exhaust memory (19 MiB per hash in flight).
//!
//! The queue in front of the two slots is bounded and has two classes:
//!
//! - **logins** (checking a password) may wait up to [`queue_limit`]
//!   deep;
//! - **new passwords** (registration, password changes) take at most one
//!   of the two slots and may wait a quarter as deep, so a registration
//!   flood cannot push logins back: a login waits behind at most one of
//!   them.
//!
//! Past the bound a request is refused at once with
//! [`PasswordError::Busy`] (503 with `Retry-After`), rather than queueing
//! for seconds; a real user retries, a flood is shed.

use argon2::password_hash::PasswordVerifier;
use argon2::Argon2;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;
use zeroize::Zeroizing;

/// Hashes in flight at once.
static IN_FLIGHT: Semaphore = Semaphore::const_new(2);
/// Of those, new passwords (registrations) hold at most one.
static NEW_PASSWORDS: Semaphore = Semaphore::const_new(1);
/// Logins waiting for a slot, and new passwords waiting.
static WAITING_LOGINS: AtomicUsize = AtomicUsize::new(0);
static WAITING_NEW: AtomicUsize = AtomicUsize::new(0);
/// How many logins may wait; see [`set_queue_limit`].
static QUEUE_LIMIT: AtomicUsize = AtomicUsize::new(DEFAULT_QUEUE_LIMIT);

/// The default bound of the login queue (`password_queue`): 64 logins
/// waiting is about 2 s of hashing on two cores.
pub const DEFAULT_QUEUE_LIMIT: usize = 64;

/// Sets how many logins may wait for a hashing slot (at least 1); new
/// passwords may wait a quarter as many (at least 1).
pub fn set_queue_limit(limit: usize) {
    QUEUE_LIMIT.store(limit.max(1), Ordering::Relaxed);
}

/// How many logins may wait for a hashing slot.
pub fn queue_limit() -> usize {
    QUEUE_LIMIT.load(Ordering::Relaxed)
}

/// A place in a bounded queue, given back when dropped (also when the
/// request is cancelled while waiting).
struct Place(&'static AtomicUsize);

impl Place {
    fn take(counter: &'static AtomicUsize, limit: usize) -> Result<Place, PasswordError> {
        if counter.fetch_add(1, Ordering::AcqRel) >= limit {
            counter.fetch_sub(1, Ordering::AcqRel);
            return Err(PasswordError::Busy);
        }
        Ok(Place(counter))
    }
}

impl Drop for Place {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The hashing library failed (or the stored hash is malformed).
    #[error("password hashing failed: {0}")]
    Hash(String),
    /// The blocking task failed.
    #[error("password task failed")]
    Task,
    /// The hashing queue is full: try again shortly (503).
    #[error("too many password checks are waiting")]
    Busy,
}

/// Shortest and longest accepted passwords (NIST SP 800-63B §3.1.1.2
/// asks for at least 8 and allowing at least 64).
pub const MIN_LEN: usize = 8;
/// Longest accepted password, in bytes.
pub const MAX_LEN: usize = 1024;

/// The PHC prefix of hashes made here: argon2id v19 with OWASP's costs.
const PREFIX: &str = "$argon2id$v=19$m=19456,t=2,p=1$";

thread_local! {
    /// Argon2's 19 MiB working memory, kept per hashing thread: allocating
    /// it per hash makes the allocator keep a copy per thread and per
    /// size class, and RSS grows by hundreds of MiB under a login flood.
    static MEMORY: std::cell::RefCell<Vec<argon2::Block>> = const { std::cell::RefCell::new(Vec::new()) };
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD_NO_PAD
}

/// Our fixed-cost argon2id of `password` with `salt` into 32 bytes,
/// reusing this thread's working memory.
fn derive(password: &[u8], salt: &[u8]) -> Result<Zeroizing<[u8; 32]>, PasswordError> {
    let argon2 = Argon2::default();
    let blocks = argon2::Params::DEFAULT_M_COST as usize;
    let mut out = Zeroizing::new([0u8; 32]);
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.len() != blocks {
            *memory = vec![argon2::Block::default(); blocks];
        }
        argon2
            .hash_password_into_with_memory(password, salt, out.as_mut(), memory.as_mut_slice())
            .map_err(|e| PasswordError::Hash(e.to_string()))
    })?;
    Ok(out)
}

/// Hashes a password (blocking; use [`hash`] on the executor) into a PHC
/// string, `$argon2id$v=19$m=19456,t=2,p=1$SALT$HASH`.
pub fn hash_blocking(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; 16];
    SystemRandom::new()
        .fill(&mut salt)
        .map_err(|_| PasswordError::Hash("no randomness".into()))?;
    let out = derive(password.as_bytes(), &salt)?;
    let engine = b64();
    Ok(format!(
        "{PREFIX}{}${}",
        base64::Engine::encode(&engine, salt),
        base64::Engine::encode(&engine, out.as_ref())
    ))
}

/// Checks a password against a PHC string (blocking). Hashes made here are
/// recomputed with the thread's memory and compared in constant time;
/// others (different costs, imported users) go through the library.
fn verify_blocking(password: &[u8], phc: &str) -> bool {
    let ours = phc
        .strip_prefix(PREFIX)
        .and_then(|rest| rest.split_once('$'))
        .and_then(|(salt, hash)| {
            let engine = b64();
            Some((
                base64::Engine::decode(&engine, salt).ok()?,
                base64::Engine::decode(&engine, hash).ok()?,
            ))
        });
    match ours {
        Some((salt, expected)) => match derive(password, &salt) {
            #[allow(deprecated)] // aws-lc-rs's constant-time comparison
            Ok(actual) => {
                aws_lc_rs::constant_time::verify_slices_are_equal(actual.as_ref(), &expected).is_ok()
            }
            Err(_) => false,
        },
        None => Argon2::default().verify_password(password, phc).is_ok(),
    }
}

/// The most common passwords of breaches, compressed (zlib): the UK
/// NCSC's top 100,000 of Have I Been Pwned, lowercased, the entries of at
/// least [`MIN_LEN`] ASCII characters, sorted (shorter ones are refused by
/// length already). `data/SOURCE.md` gives the origin, licence and the
/// command that regenerates it.
const COMMON_ZLIB: &[u8] = include_bytes!("../data/common-passwords.zlib");

/// [`COMMON_ZLIB`] decompressed, once, on first use: sorted lowercased
/// entries. Empty (and logged) if it cannot be read, which
/// `tests::the_common_list_loads` rules out for the list built in.
static COMMON: std::sync::LazyLock<Vec<Box<str>>> = std::sync::LazyLock::new(|| {
    let text = miniz_oxide::inflate::decompress_to_vec_zlib(COMMON_ZLIB)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok());
    let Some(text) = text else {
        tracing::error!(
            "the built-in common-password list cannot be read; only the other password rules apply"
        );
        return Vec::new();
    };
    let mut words: Vec<Box<str>> = text.lines().map(Box::from).collect();
    words.sort_unstable();
    words
});

/// Decompresses the common-password list now (at start), so no
/// registration pays for it (tens of milliseconds, measured in
/// `data/SOURCE.md`); how many entries it has.
pub fn load_common_passwords() -> usize {
    COMMON.len()
}

/// Whether `password`, lowercased, is on the common list (NIST SP 800-63B
/// §5.1.1.2: "passwords obtained from previous breach corpuses").
fn is_common(password: &str) -> bool {
    let lower = password.to_lowercase();
    COMMON.binary_search_by(|w| (**w).cmp(lower.as_str())).is_ok()
}

/// Checks a new password (NIST SP 800-63B §3.1.1.2 and §5.1.1.2): at
/// least 8 characters, at most 1024 bytes, not the username, not one
/// character repeated, not one of the most common breached passwords
/// (`data/common-passwords.zlib`, whatever its case). The reason, when
/// refused.
pub fn strength(password: &str, username: &str) -> Result<(), &'static str> {
    if password.chars().count() < MIN_LEN {
        return Err("use at least 8 characters");
    }
    if password.len() > MAX_LEN {
        return Err("use at most 1024 bytes");
    }
    if password.eq_ignore_ascii_case(username) {
        return Err("it must not be the username");
    }
    let mut chars = password.chars();
    if let Some(first) = chars.next() {
        if chars.all(|c| c == first) {
            return Err("it must not repeat one character");
        }
    }
    if is_common(password) {
        return Err("it is one of the most common passwords");
    }
    Ok(())
}

/// Hashes a new password on the blocking pool, in the new-password class
/// of the queue (see the module docs).
pub async fn hash(password: Zeroizing<String>) -> Result<String, PasswordError> {
    let place = Place::take(&WAITING_NEW, (queue_limit() / 4).max(1))?;
    let _class = NEW_PASSWORDS.acquire().await.map_err(|_| PasswordError::Task)?;
    let _permit = IN_FLIGHT.acquire().await.map_err(|_| PasswordError::Task)?;
    drop(place);
    tokio::task::spawn_blocking(move || hash_blocking(&password))
        .await
        .map_err(|_| PasswordError::Task)?
}

/// A hash of a random password, checked when the user does not exist so
/// that the answer takes as long as for a real user (no username probing
/// by timing). Made once; when it cannot be made (no randomness, the
/// hashing library failing) the check is an error, never an empty hash
/// that would answer "wrong password" at once and tell an unknown user
/// from a known one by timing.
fn dummy() -> Result<&'static str, PasswordError> {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    if let Some(made) = DUMMY.get() {
        return Ok(made);
    }
    let mut random = [0u8; 24];
    SystemRandom::new()
        .fill(&mut random)
        .map_err(|_| PasswordError::Hash("no randomness for the dummy password".into()))?;
    let password: String = random.iter().map(|b| char::from(b'a' + b % 26)).collect();
    let made = hash_blocking(&password)?;
    Ok(DUMMY.get_or_init(|| made))
}

/// Checks a password against a stored PHC hash (or the dummy when
/// `stored` is `None`) on the blocking pool.
pub async fn verify(password: Zeroizing<String>, stored: Option<String>) -> Result<bool, PasswordError> {
    login_ticket()?.verify(password, stored).await
}

/// A place in the login queue, taken before anything is counted against
/// the user: a login shed as [`PasswordError::Busy`] was never evaluated,
/// so it must not count as a failed attempt.
pub struct LoginTicket {
    _place: Place,
}

/// Takes a place in the login queue, or [`PasswordError::Busy`] at once.
pub fn login_ticket() -> Result<LoginTicket, PasswordError> {
    Place::take(&WAITING_LOGINS, queue_limit()).map(|place| LoginTicket { _place: place })
}

impl LoginTicket {
    /// [`verify`], in this place of the queue.
    pub async fn verify(
        self,
        password: Zeroizing<String>,
        stored: Option<String>,
    ) -> Result<bool, PasswordError> {
        let _permit = IN_FLIGHT.acquire().await.map_err(|_| PasswordError::Task)?;
        drop(self);
        verify_now(password, stored).await
    }
}

async fn verify_now(password: Zeroizing<String>, stored: Option<String>) -> Result<bool, PasswordError> {
    tokio::task::spawn_blocking(move || match stored {
        Some(phc) => Ok(verify_blocking(password.as_bytes(), &phc)),
        None => {
            verify_blocking(password.as_bytes(), dummy()?);
            Ok(false)
        }
    })
    .await
    .map_err(|_| PasswordError::Task)?
}

#[cfg(test)]
mod tests {
    /// Issue 18, item 9: the dummy checked for an unknown user is a real
    /// hash of this server's costs (so an unknown user costs one full
    /// argon2id, as a known one does), never an empty string that fails
    /// at once; it is made once.
    #[test]
    fn the_dummy_is_a_full_cost_hash() {
        let dummy = super::dummy().unwrap();
        assert!(dummy.starts_with(super::PREFIX), "{dummy}");
        assert!(dummy.len() > super::PREFIX.len() + 40, "{dummy}");
        assert!(std::ptr::eq(dummy, super::dummy().unwrap()), "made once");
        assert!(!super::verify_blocking(b"anything", dummy));
    }

    /// The built-in list decompresses, is sorted, and holds what was built
    /// into it (46,450 entries of the NCSC's 100,000).
    #[test]
    fn the_common_list_loads() {
        let started = std::time::Instant::now();
        let n = super::load_common_passwords();
        eprintln!(
            "common-password list: {n} entries, first use {:?}",
            started.elapsed()
        );
        assert_eq!(n, 46_450);
        assert!(super::COMMON.windows(2).all(|w| w[0] < w[1]));
    }

    /// Issue 17, item 10: well-known breached passwords are refused, in any
    /// case (NIST SP 800-63B §5.1.1.2); strong phrases pass.
    #[test]
    fn breached_passwords_are_refused() {
        for common in [
            "password1",
            "qwerty123",
            "iloveyou",
            "sunshine",
            "football",
            "baseball1",
            "trustno1",
            "Princess1",
            "QWERTY123",
            "dragon",
        ] {
            assert!(super::strength(common, "ann").is_err(), "{common} is accepted");
        }
        assert_eq!(
            super::strength("qwerty123", "ann"),
            Err("it is one of the most common passwords")
        );
        for strong in [
            "correct horse battery",
            "tessera ist 1 gutes Passwort",
            "Ünïcödé pässwörd",
        ] {
            assert_eq!(super::strength(strong, "ann"), Ok(()), "{strong}");
        }
    }

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

    /// Our PHC strings are the library's: it verifies ours, and we verify
    /// one it made (with other costs, through the fallback path).
    #[test]
    fn interoperates_with_the_argon2_crate() {
        use argon2::password_hash::{PasswordHasher, PasswordVerifier};
        let ours = super::hash_blocking("pass phrase").unwrap();
        assert!(argon2::Argon2::default()
            .verify_password(b"pass phrase", ours.as_str())
            .is_ok());
        assert!(argon2::Argon2::default()
            .verify_password(b"other", ours.as_str())
            .is_err());
        let params = argon2::Params::new(8 * 1024, 1, 1, None).unwrap();
        let theirs = argon2::Argon2::from(params)
            .hash_password_with_salt(b"pass phrase", b"0123456789abcdef")
            .unwrap()
            .to_string();
        assert!(super::verify_blocking(b"pass phrase", &theirs));
        assert!(!super::verify_blocking(b"pass phrase!", &theirs));
        assert_ne!(ours, super::hash_blocking("pass phrase").unwrap(), "salted");
        assert!(super::verify_blocking(b"pass phrase", &ours));
        assert!(!super::verify_blocking(b"pass phrase", "garbage"));
    }
}
