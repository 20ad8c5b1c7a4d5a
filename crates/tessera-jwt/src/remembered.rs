//! Tokens already verified, remembered so that the same token on a later
//! request costs a hash lookup instead of a signature verification.
//!
//! A client sends the same access token with every call until it expires,
//! so a resource server (and an authorization server answering
//! introspection) sees each token many times. [`Remembered`] is the bounded
//! map both keep, one per key set: whoever owns it stores it beside the keys
//! that verified its entries, so a new key set starts an empty one and a key
//! that leaves takes its tokens with it.
//!
//! What a hit may skip is only what cannot change for the same bytes and the
//! same keys: the signature, the header and the claims' fixed checks. Time
//! can change, so every entry carries the instant it stops counting
//! (`valid_until`, exclusive: `exp` plus whatever leeway the verification
//! itself allowed, RFC 7519 §4.1.4), checked on every hit. `nbf` and `iat`
//! only become more valid as time passes. Anything else that can change
//! (revocation, a route's scopes, a DPoP proof) is the caller's to check on
//! every request, hit or miss.
//!
//! No bearer token is held that a memory dump could replay: an entry
//! keeps the token's SHA-256 and its last 16 bytes (part of the
//! signature), never the token. A lookup finds the entry by those 16 bytes
//! and takes it only if the presented token's SHA-256 is the one kept, so a
//! token that differs anywhere is a miss.
//!
//! Only verified tokens go in (a caller cannot fill it with junk), and only
//! on their second verification: the first one just notes the token's last
//! bytes. This is the "doorkeeper" of TinyLFU (Einziger, Friedman and Manes,
//! *TinyLFU: A Highly Efficient Cache Admission Policy*, 2017): a token used
//! once (a client that makes one call, a flood of fresh tokens) costs no
//! hashing and no entry, and cannot push out the tokens clients keep
//! sending. A token sent again is verified once more, then remembered. Both
//! maps are bounded: when full, expired entries go first, then all.
//!
//! ```
//! use tessera_jwt::remembered::Remembered;
//!
//! let cache: Remembered<&str> = Remembered::new(2);
//! let token = "header.claims.signature-of-some-length";
//! cache.insert(token, "claims", 100, 50); // first verification: noted
//! assert_eq!(cache.get(token, 60), None);
//! cache.insert(token, "claims", 100, 60); // second: remembered
//! assert_eq!(cache.get(token, 99), Some("claims"));
//! assert_eq!(cache.get(token, 100), None); // valid_until is exclusive
//! ```

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, MutexGuard};

use aws_lc_rs::constant_time::verify_slices_are_equal;
use aws_lc_rs::digest::{digest, SHA256};

/// The last bytes of a token, by which its entry is found.
type Tail = [u8; 16];

fn tail(token: &str) -> Tail {
    let bytes = token.as_bytes();
    let n = bytes.len().min(16);
    let mut tail = [0u8; 16];
    if let (Some(to), Some(from)) = (tail.get_mut(..n), bytes.get(bytes.len() - n..)) {
        to.copy_from_slice(from);
    }
    tail
}

fn sha256(token: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    out
}

#[derive(Debug)]
struct Entry<V> {
    /// SHA-256 of the whole token.
    digest: [u8; 32],
    value: V,
    /// Exclusive: the entry counts while `now < valid_until`.
    valid_until: i64,
}

#[derive(Debug)]
struct State<V> {
    entries: HashMap<Tail, Entry<V>>,
    /// Tokens verified once and not remembered yet.
    seen_once: HashSet<Tail>,
}

/// Verified tokens, remembered from their second verification: a value for
/// each (what the verification produced) and the instant it stops counting.
#[derive(Debug)]
pub struct Remembered<V> {
    state: Mutex<State<V>>,
    capacity: usize,
}

impl<V: Clone> Remembered<V> {
    /// An empty cache remembering at most `capacity` tokens (and noting at
    /// most four times as many seen once).
    pub fn new(capacity: usize) -> Remembered<V> {
        Remembered {
            state: Mutex::new(State {
                entries: HashMap::new(),
                seen_once: HashSet::new(),
            }),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State<V>> {
        // A panic elsewhere while holding the lock leaves both maps
        // consistent (each change is one insert or removal).
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The value remembered for exactly this token, if there is one and
    /// `now` is before its `valid_until`.
    pub fn get(&self, token: &str, now: i64) -> Option<V> {
        let (kept, value) = {
            let state = self.lock();
            let entry = state.entries.get(&tail(token))?;
            if now >= entry.valid_until {
                return None;
            }
            (entry.digest, entry.value.clone())
        };
        // Hashed outside the lock; the same last bytes are not enough.
        verify_slices_are_equal(&sha256(token), &kept).ok()?;
        Some(value)
    }

    /// Records that `token` was verified at `now`, producing `value`, valid
    /// while `now < valid_until`: noted the first time, remembered the
    /// second. A token no longer valid by then is not kept.
    pub fn insert(&self, token: &str, value: V, valid_until: i64, now: i64) {
        if now >= valid_until {
            return;
        }
        let tail = tail(token);
        {
            let mut state = self.lock();
            // `remove` is false the first time: note it and stop there.
            if !state.entries.contains_key(&tail) && !state.seen_once.remove(&tail) {
                if state.seen_once.len() >= self.capacity.saturating_mul(4) {
                    state.seen_once.clear();
                }
                state.seen_once.insert(tail);
                return;
            }
        }
        let digest = sha256(token);
        let mut state = self.lock();
        if state.entries.len() >= self.capacity && !state.entries.contains_key(&tail) {
            state.entries.retain(|_, e| now < e.valid_until);
            if state.entries.len() >= self.capacity {
                state.entries.clear();
            }
        }
        state.entries.insert(
            tail,
            Entry {
                digest,
                value,
                valid_until,
            },
        );
    }

    /// How many tokens are remembered (expired ones not yet dropped
    /// included; not those seen once).
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// Whether no token is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// Verified twice, so remembered.
    fn remember<V: Clone>(cache: &Remembered<V>, token: &str, value: V, until: i64, now: i64) {
        cache.insert(token, value.clone(), until, now);
        cache.insert(token, value, until, now);
    }

    #[test]
    fn remembered_from_the_second_verification_on() {
        let cache = Remembered::new(8);
        cache.insert("h.c.signature-0001", 1, 100, 50);
        assert_eq!(cache.get("h.c.signature-0001", 50), None, "seen once: only noted");
        assert!(cache.is_empty());
        cache.insert("h.c.signature-0001", 1, 100, 51);
        assert_eq!(cache.get("h.c.signature-0001", 51), Some(1));
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_hit_only_before_valid_until_and_only_for_the_same_bytes() {
        let cache = Remembered::new(8);
        remember(&cache, "a.b.the-signature-part", 1, 100, 50);
        assert_eq!(cache.get("a.b.the-signature-part", 99), Some(1));
        assert_eq!(
            cache.get("a.b.the-signature-part", 100),
            None,
            "valid_until is exclusive"
        );
        // The same last 16 bytes, another token: found, and refused.
        assert_eq!(cache.get("X.b.the-signature-part", 50), None);
        assert_eq!(cache.get("b.the-signature-part", 50), None);
        assert_eq!(cache.get("a.b.the-signature-parT", 50), None);
        remember(&cache, "x.y.z", 2, 100, 100);
        assert_eq!(cache.get("x.y.z", 10), None, "an expired token is not kept");
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn bounded_expired_entries_dropped_first_then_all() {
        const CAPACITY: usize = 64;
        let cache = Remembered::new(CAPACITY);
        for i in 0..CAPACITY {
            // Half of them stop counting at 20.
            let until = if i % 2 == 0 { 20 } else { 1000 };
            remember(&cache, &format!("token-number-{i:04}"), i, until, 10);
        }
        assert_eq!(cache.len(), CAPACITY);
        remember(&cache, "token-number-new!", 0, 1000, 30);
        assert_eq!(cache.len(), CAPACITY / 2 + 1);
        assert_eq!(cache.get("token-number-0001", 30), Some(1));
        assert_eq!(cache.get("token-number-0000", 30), None);
        assert_eq!(cache.get("token-number-new!", 30), Some(0));
        for i in 0..CAPACITY {
            remember(&cache, &format!("another-token-{i:04}"), i, 1000, 30);
        }
        assert!(cache.len() <= CAPACITY);
        assert_eq!(
            cache.get(&format!("another-token-{:04}", CAPACITY - 1), 30),
            Some(CAPACITY - 1)
        );
    }

    /// Threads sharing one small cache, their tokens differing only in the
    /// first bytes (so every tail collides): each thread only ever gets its
    /// own token's value back, or nothing, never another thread's.
    #[test]
    fn under_concurrency_a_hit_is_always_the_presented_tokens_own() {
        const THREADS: usize = 8;
        let cache = std::sync::Arc::new(Remembered::new(4));
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let cache = std::sync::Arc::clone(&cache);
                std::thread::spawn(move || {
                    let mut hits = 0;
                    for round in 0..2_000 {
                        let token = format!("{t}.{round}.shared-signature-tail");
                        let own = t * 1_000_000 + round;
                        cache.insert(&token, own, 1000, 10);
                        cache.insert(&token, own, 1000, 10);
                        if let Some(v) = cache.get(&token, 11) {
                            assert_eq!(v, own, "thread {t} got another token's value");
                            hits += 1;
                        }
                        // Someone else's token, never inserted by this thread.
                        let other = format!("{}.{round}.shared-signature-tail", (t + 1) % THREADS);
                        if let Some(v) = cache.get(&other, 11) {
                            assert_eq!(v, ((t + 1) % THREADS) * 1_000_000 + round);
                        }
                    }
                    hits
                })
            })
            .collect();
        let hits: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        assert!(hits > 0, "some lookups must have been hits");
        assert!(cache.len() <= 4);
    }

    #[test]
    fn tokens_seen_once_are_bounded_too() {
        let cache = Remembered::new(4);
        for i in 0..100 {
            cache.insert(&format!("once-{i:04}"), i, 1000, 10);
        }
        assert!(cache.lock().seen_once.len() <= 16);
        assert!(cache.is_empty());
    }

    #[test]
    fn the_digest_is_the_tokens_sha256() {
        // FIPS 180-2 appendix B.1: SHA-256("abc").
        let expected = [
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
            0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
        ];
        assert_eq!(sha256("abc"), expected);
        assert_eq!(&tail("abc")[..3], b"abc");
        assert_eq!(&tail("0123456789abcdefXYZ"), b"3456789abcdefXYZ");
    }
}
