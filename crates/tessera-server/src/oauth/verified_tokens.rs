//! Access tokens this node has already verified, so that checking the same
//! token again (introspection, userinfo, revocation, the admin API: a
//! resource server asks about one token on every call it receives) costs a
//! hash lookup instead of a signature verification.
//!
//! What a hit skips is only the work whose answer cannot change: the
//! signature, the header (`typ`, `alg`, `kid`) and the issuer were checked
//! against the key set this cache belongs to, and a token's bytes never
//! change. What can change is checked on every use, hit or miss:
//!
//! - time: a hit is taken only while `now < exp` (RFC 7519 §4.1.4, no
//!   leeway, as the verification itself), and `nbf`/`iat` only ever become
//!   more valid as time passes;
//! - revocation of the token or of its key: the caller reads both from the
//!   store after every lookup (`introspect::active_token`);
//! - the key set: the cache lives in the [`crate::keys::KeyRing`] whose keys
//!   verified its entries, so a key that leaves the set (a reload after
//!   rotation or revocation) takes its tokens' entries with it.
//!
//! Entries are keyed by the SHA-256 of the token, so the cache holds no
//! bearer token that a memory dump could replay. Only tokens that passed
//! verification are stored (a caller cannot fill it with junk), and it is
//! bounded: when full, expired entries go first, then everything.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::digest::{digest, SHA256};
use serde_json::{Map, Value};

/// How many verified tokens one node remembers: a few MiB of claims.
pub const CAPACITY: usize = 4096;

/// A token's verified claims, and what every later use still checks.
#[derive(Debug)]
pub struct Verified {
    /// The claims, as the verification returned them.
    pub claims: Map<String, Value>,
    /// `exp`: the entry is used while `now < exp`.
    pub exp: i64,
    /// The revocation id of the key that signed it
    /// ([`crate::store::key_revocation_jti`] of its `kid`).
    pub key_jti: String,
    /// The introspection answer for it while active (RFC 7662 §2.2), the
    /// same for every caller allowed to ask: rendered on first use.
    pub introspection: OnceLock<String>,
}

impl Verified {
    /// An entry for claims that expire at `exp`, signed by the key whose
    /// revocation id is `key_jti`.
    pub fn new(claims: Map<String, Value>, exp: i64, key_jti: String) -> Verified {
        Verified {
            claims,
            exp,
            key_jti,
            introspection: OnceLock::new(),
        }
    }
}

/// The cache: SHA-256 of a token's bytes to its [`Verified`] entry.
#[derive(Debug, Default)]
pub struct VerifiedTokens {
    entries: Mutex<HashMap<[u8; 32], Arc<Verified>>>,
}

/// The key under which `token` is remembered: computed once per request
/// and passed to [`VerifiedTokens::get`] and, on a miss,
/// [`VerifiedTokens::insert`].
pub fn key(token: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    key
}

impl VerifiedTokens {
    /// The entry for `token` if it was verified here and has not expired
    /// at `now`.
    pub fn get(&self, key: &[u8; 32], now: i64) -> Option<Arc<Verified>> {
        let entries = self.entries.lock().ok()?;
        entries.get(key).filter(|v| now < v.exp).cloned()
    }

    /// Remembers a token that was just verified at `now`; one that expires
    /// by then is not kept.
    pub fn insert(&self, key: [u8; 32], verified: Arc<Verified>, now: i64) {
        if now >= verified.exp {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CAPACITY {
            entries.retain(|_, v| now < v.exp);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, verified);
    }

    /// How many tokens are remembered.
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
    use super::*;

    fn entry(exp: i64) -> Arc<Verified> {
        Arc::new(Verified::new(Map::new(), exp, "key:k1".into()))
    }

    #[test]
    fn a_hit_only_before_exp_and_only_for_the_same_bytes() {
        let cache = VerifiedTokens::default();
        cache.insert(key("a.b.c"), entry(100), 50);
        assert!(cache.get(&key("a.b.c"), 99).is_some());
        assert!(
            cache.get(&key("a.b.c"), 100).is_none(),
            "exp is exclusive (RFC 7519 §4.1.4)"
        );
        assert!(cache.get(&key("a.b.d"), 50).is_none());
        cache.insert(key("x.y.z"), entry(100), 100);
        assert!(
            cache.get(&key("x.y.z"), 10).is_none(),
            "an expired token is not kept"
        );
    }

    #[test]
    fn it_stays_bounded_and_drops_expired_entries_first() {
        let cache = VerifiedTokens::default();
        for i in 0..CAPACITY {
            // Half of them expire at 20.
            let exp = if i % 2 == 0 { 20 } else { 1000 };
            cache.insert(key(&format!("t{i}")), entry(exp), 10);
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.insert(key("new"), entry(1000), 30);
        assert_eq!(cache.len(), CAPACITY / 2 + 1);
        assert!(cache.get(&key("t1"), 30).is_some());
        assert!(cache.get(&key("new"), 30).is_some());
        for i in 0..CAPACITY {
            cache.insert(key(&format!("u{i}")), entry(1000), 30);
        }
        assert!(cache.len() <= CAPACITY);
    }
}
