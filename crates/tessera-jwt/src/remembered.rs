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
//! Entries are keyed by the SHA-256 of the token ([`TokenDigest`]), so no
//! bearer token is held that a memory dump could replay. Only verified
//! tokens go in (a caller cannot fill it with junk), and it is bounded:
//! when full, expired entries go first, then all.
//!
//! ```
//! use tessera_jwt::remembered::{Remembered, TokenDigest};
//!
//! let cache: Remembered<&str> = Remembered::new(2);
//! let digest = TokenDigest::of("header.claims.signature");
//! cache.insert(digest, "claims", 100, 50);
//! assert_eq!(cache.get(&digest, 99), Some("claims"));
//! assert_eq!(cache.get(&digest, 100), None); // valid_until is exclusive
//! ```

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::digest::{digest, SHA256};

/// The SHA-256 of a token's bytes: what [`Remembered`] keys by. Computed
/// once per request and passed to both [`Remembered::get`] and, on a miss,
/// [`Remembered::insert`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TokenDigest([u8; 32]);

impl TokenDigest {
    /// The digest of `token`.
    pub fn of(token: &str) -> TokenDigest {
        let mut bytes = [0u8; 32];
        bytes.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
        TokenDigest(bytes)
    }
}

/// Verified tokens by [`TokenDigest`]: a value for each (what the
/// verification produced) and the instant it stops counting.
#[derive(Debug)]
pub struct Remembered<V> {
    entries: Mutex<HashMap<TokenDigest, (V, i64)>>,
    capacity: usize,
}

impl<V: Clone> Remembered<V> {
    /// An empty cache holding at most `capacity` tokens.
    pub fn new(capacity: usize) -> Remembered<V> {
        Remembered {
            entries: Mutex::new(HashMap::new()),
            capacity,
        }
    }

    /// The value remembered for the token, if one was and `now` is before
    /// its `valid_until`.
    pub fn get(&self, digest: &TokenDigest, now: i64) -> Option<V> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(digest)
            .filter(|(_, valid_until)| now < *valid_until)
            .map(|(value, _)| value.clone())
    }

    /// Remembers a token verified at `now`, counting while
    /// `now < valid_until`; one no longer valid by then is not kept.
    pub fn insert(&self, digest: TokenDigest, value: V, valid_until: i64, now: i64) {
        if now >= valid_until {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= self.capacity {
            entries.retain(|_, (_, until)| now < *until);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(digest, (value, valid_until));
    }

    /// How many tokens are remembered (expired ones not yet dropped
    /// included).
    pub fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
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

    fn d(token: &str) -> TokenDigest {
        TokenDigest::of(token)
    }

    #[test]
    fn a_hit_only_before_valid_until_and_only_for_the_same_bytes() {
        let cache = Remembered::new(8);
        cache.insert(d("a.b.c"), 1, 100, 50);
        assert_eq!(cache.get(&d("a.b.c"), 99), Some(1));
        assert_eq!(cache.get(&d("a.b.c"), 100), None, "valid_until is exclusive");
        assert_eq!(cache.get(&d("a.b.d"), 50), None);
        cache.insert(d("x.y.z"), 2, 100, 100);
        assert_eq!(cache.get(&d("x.y.z"), 10), None, "an expired token is not kept");
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn bounded_expired_entries_dropped_first_then_all() {
        const CAPACITY: usize = 64;
        let cache = Remembered::new(CAPACITY);
        for i in 0..CAPACITY {
            // Half of them stop counting at 20.
            let until = if i % 2 == 0 { 20 } else { 1000 };
            cache.insert(d(&format!("t{i}")), i, until, 10);
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.insert(d("new"), 0, 1000, 30);
        assert_eq!(cache.len(), CAPACITY / 2 + 1);
        assert_eq!(cache.get(&d("t1"), 30), Some(1));
        assert_eq!(cache.get(&d("t0"), 30), None);
        assert_eq!(cache.get(&d("new"), 30), Some(0));
        for i in 0..CAPACITY {
            cache.insert(d(&format!("u{i}")), i, 1000, 30);
        }
        assert!(cache.len() <= CAPACITY);
        assert_eq!(
            cache.get(&d(&format!("u{}", CAPACITY - 1)), 30),
            Some(CAPACITY - 1)
        );
    }

    #[test]
    fn the_digest_is_the_tokens_sha256() {
        // FIPS 180-2 appendix B.1: SHA-256("abc").
        let abc = TokenDigest::of("abc");
        let expected = [
            0xba, 0x78, 0x16, 0xbf, 0x8f, 0x01, 0xcf, 0xea, 0x41, 0x41, 0x40, 0xde, 0x5d, 0xae, 0x22, 0x23,
            0xb0, 0x03, 0x61, 0xa3, 0x96, 0x17, 0x7a, 0x9c, 0xb4, 0x10, 0xff, 0x61, 0xf2, 0x00, 0x15, 0xad,
        ];
        assert_eq!(abc.0, expected);
    }
}
