//! Tokens this guard has verified with its current keys, so that the same
//! token on the next request (a client sends it with every call until it
//! expires) costs a hash lookup instead of a signature verification.
//!
//! A hit skips only what cannot change for the same bytes and the same
//! keys: the signature, the header (`typ`, `alg`, `kid`), `iss`, `aud` and
//! the required claims. Time is checked on every hit: an entry counts only
//! while `now < exp + leeway`, the rule the verification itself applies
//! (RFC 7519 §4.1.4); `nbf` and `iat` only become more valid as time passes.
//! The cache lives in the key snapshot ([`crate::jwks`]) whose keys verified
//! its entries, so new keys (a rotation, a removed key) start an empty
//! one. The route's scopes and roles, and a DPoP proof, are checked on
//! every request after it, as before.
//!
//! Entries are keyed by the SHA-256 of the token, so no bearer token is
//! kept; only verified tokens are stored; at most [`CAPACITY`], expired
//! ones dropped first, then all.

use std::collections::HashMap;
use std::sync::Mutex;

use aws_lc_rs::digest::{digest, SHA256};

use crate::Claims;

/// How many verified tokens one guard remembers.
pub const CAPACITY: usize = 4096;

/// SHA-256 of a token to its claims and the end of its validity.
#[derive(Debug, Default)]
pub(crate) struct Verified {
    entries: Mutex<HashMap<[u8; 32], (Claims, i64)>>,
}

/// The key under which `token` is remembered: computed once per request.
pub(crate) fn key(token: &str) -> [u8; 32] {
    let mut key = [0u8; 32];
    key.copy_from_slice(digest(&SHA256, token.as_bytes()).as_ref());
    key
}

impl Verified {
    /// The claims of `token` if it was verified here and `now` is before
    /// `exp + leeway`.
    pub(crate) fn get(&self, key: &[u8; 32], now: i64) -> Option<Claims> {
        let entries = self.entries.lock().ok()?;
        entries
            .get(key)
            .filter(|(_, valid_until)| now < *valid_until)
            .map(|(claims, _)| claims.clone())
    }

    /// Remembers a token just verified at `now`, valid until `valid_until`
    /// (`exp` plus the leeway).
    pub(crate) fn insert(&self, key: [u8; 32], claims: Claims, valid_until: i64, now: i64) {
        if now >= valid_until {
            return;
        }
        let Ok(mut entries) = self.entries.lock() else {
            return;
        };
        if entries.len() >= CAPACITY {
            entries.retain(|_, (_, until)| now < *until);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(key, (claims, valid_until));
    }

    /// How many tokens are remembered.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.entries.lock().map_or(0, |e| e.len())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn claims() -> Claims {
        let now = tessera_jwt::UnixTime::now().as_secs();
        serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "u", "aud": "a", "exp": now + 60, "iat": now, "jti": "j", "client_id": "c"
        }))
        .unwrap()
    }

    #[test]
    fn bounded_expired_first_and_exp_exclusive() {
        let cache = Verified::default();
        let c = claims();
        for i in 0..CAPACITY {
            let until = if i % 2 == 0 { 20 } else { 1000 };
            cache.insert(key(&format!("t{i}")), c.clone(), until, 10);
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.insert(key("new"), c.clone(), 1000, 30);
        assert_eq!(cache.len(), CAPACITY / 2 + 1);
        assert!(cache.get(&key("t1"), 30).is_some());
        assert!(cache.get(&key("t0"), 30).is_none());
        assert!(cache.get(&key("new"), 999).is_some());
        assert!(
            cache.get(&key("new"), 1000).is_none(),
            "valid only while now < exp + leeway"
        );
        cache.insert(key("late"), c, 50, 50);
        assert!(
            cache.get(&key("late"), 49).is_none(),
            "an expired token is not kept"
        );
    }
}
