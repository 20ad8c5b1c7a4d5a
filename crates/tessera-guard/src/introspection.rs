//! Introspection mode ([RFC 7662]): the issuer is asked about every token
//! (or every token not seen in the last few seconds), so a revocation is
//! seen at once. For deployments that need that more than they need to
//! work while the issuer is down; the default is local JWT verification.
//!
//! The checks of §4 ("the protected resource MUST ... validate the
//! response"): `active` must be `true`; `exp` (if present) in the future;
//! `iss` equal to the configured issuer (if present); `aud` must include
//! the configured audience; `token_type`, if present, `Bearer`.
//!
//! Answers are cached by the token's SHA-256 (never the token itself) for
//! at most the configured time and never past the token's `exp`. A time of
//! zero turns the cache off. Anyone can send tokens, so the cache is built
//! so that junk cannot push out the answers that matter:
//!
//! - Active answers and refusals are kept apart. At most `capacity` active
//!   answers, and only tokens the issuer vouched for get one, so no number
//!   of invalid tokens can take their room.
//! - A full cache of active answers makes room only by dropping expired
//!   ones; if none has expired, the new answer is not cached (that token
//!   is introspected again next time) rather than evict a live one.
//! - Refusals (`active: false`, wrong audience ..) go to a smaller cache of
//!   their own (a quarter of `capacity`), which saves the issuer repeated
//!   questions about the same bad token. When it is full of live entries
//!   it is emptied: only refusals are lost.
//!
//! Both are bounded, so memory is too. Answers the issuer could not give
//! (unreachable, not JSON) are never cached.
//!
//! [RFC 7662]: https://www.rfc-editor.org/rfc/rfc7662

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use base64::Engine;
use serde_json::{Map, Value};
use tessera_jwt::UnixTime;
use tokio::time::Instant;

use crate::fetch::Fetcher;
use crate::{Claims, Rejection};

/// How many active answers the cache may hold per refusal it holds.
const REFUSALS_SHARE: usize = 4;

/// Answers by token fingerprint, each with the instant it stops being
/// reusable; at most `capacity` of them.
struct Answers<T> {
    entries: HashMap<[u8; 32], (Instant, T)>,
    capacity: usize,
    /// No entry expires before this, so a full map is swept only when the
    /// sweep can free something (not once per request of a flood).
    earliest: Option<Instant>,
}

impl<T: Clone> Answers<T> {
    fn new(capacity: usize) -> Answers<T> {
        Answers {
            entries: HashMap::new(),
            capacity,
            earliest: None,
        }
    }

    fn get(&self, key: &[u8; 32], now: Instant) -> Option<T> {
        self.entries
            .get(key)
            .filter(|(until, _)| *until > now)
            .map(|(_, answer)| answer.clone())
    }

    /// Keeps the answer unless the map is full of unexpired ones; whether
    /// it was kept.
    fn insert(&mut self, key: [u8; 32], until: Instant, answer: T, now: Instant) -> bool {
        if self.capacity == 0 {
            return false;
        }
        if self.entries.len() >= self.capacity && !self.entries.contains_key(&key) {
            self.sweep(now);
            if self.entries.len() >= self.capacity {
                return false;
            }
        }
        self.earliest = Some(self.earliest.map_or(until, |earliest| earliest.min(until)));
        self.entries.insert(key, (until, answer));
        true
    }

    /// Drops the expired entries.
    fn sweep(&mut self, now: Instant) {
        if self.earliest.is_some_and(|earliest| earliest > now) {
            return;
        }
        self.entries.retain(|_, (until, _)| *until > now);
        self.earliest = self.entries.values().map(|(until, _)| *until).min();
    }

    fn remove(&mut self, key: &[u8; 32]) {
        self.entries.remove(key);
    }

    fn clear(&mut self) {
        self.entries.clear();
        self.earliest = None;
    }
}

/// Active answers, and refusals, apart.
struct Cache {
    active: Answers<Claims>,
    refused: Answers<Rejection>,
}

/// Introspection settings.
pub(crate) struct Introspector {
    endpoint: String,
    /// `Basic` credentials (RFC 6749 §2.3.1), kept ready to send.
    authorization: zeroize::Zeroizing<String>,
    issuer: String,
    audience: String,
    fetcher: Fetcher,
    cache_ttl: Duration,
    cache: Mutex<Cache>,
}

impl Introspector {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        endpoint: String,
        client_id: &str,
        client_secret: &str,
        issuer: String,
        audience: String,
        fetcher: Fetcher,
        cache_ttl: Duration,
        capacity: usize,
    ) -> Introspector {
        // RFC 6749 §2.3.1: both parts are form-encoded before base64.
        let encode = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let pair = zeroize::Zeroizing::new(format!("{}:{}", encode(client_id), encode(client_secret)));
        let authorization = zeroize::Zeroizing::new(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(pair.as_bytes())
        ));
        Introspector {
            endpoint,
            authorization,
            issuer,
            audience,
            fetcher,
            cache_ttl,
            cache: Mutex::new(Cache {
                active: Answers::new(capacity),
                refused: Answers::new(capacity.div_ceil(REFUSALS_SHARE)),
            }),
        }
    }

    /// The token's claims if the issuer says it is active.
    pub(crate) async fn check(&self, token: &str) -> Result<Claims, Rejection> {
        let key = fingerprint(token);
        let now = Instant::now();
        if let Some(hit) = self.cached(&key, now) {
            return hit;
        }
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("token", token)
            .append_pair("token_type_hint", "access_token")
            .finish();
        let answer = self
            .fetcher
            .post_form(&self.endpoint, Some(&self.authorization), form)
            .await
            .map_err(|e| Rejection::Unavailable(format!("introspection failed: {e}")))?;
        let response: Map<String, Value> = serde_json::from_slice(&answer.body).map_err(|e| {
            Rejection::Unavailable(format!("introspection answered with no JSON object: {e}"))
        })?;
        let unix_now = UnixTime::now().as_secs();
        let exp = response.get("exp").and_then(Value::as_i64);
        let result = self.judge(response, unix_now);
        if !self.cache_ttl.is_zero() {
            let mut ttl = self.cache_ttl;
            if let Some(left) = exp.and_then(|exp| u64::try_from(exp.saturating_sub(unix_now)).ok()) {
                ttl = ttl.min(Duration::from_secs(left));
            }
            self.remember(key, now + ttl, result.clone());
        }
        result
    }

    /// RFC 7662 §2.2 and §4: what the answer means for this API.
    fn judge(&self, mut response: Map<String, Value>, now: i64) -> Result<Claims, Rejection> {
        if response.get("active") != Some(&Value::Bool(true)) {
            return Err(Rejection::InvalidToken("the token is not active".into()));
        }
        if response
            .get("exp")
            .and_then(Value::as_i64)
            .is_some_and(|exp| exp <= now)
        {
            return Err(Rejection::InvalidToken("the token has expired".into()));
        }
        if let Some(iss) = response.get("iss") {
            if iss.as_str() != Some(self.issuer.as_str()) {
                return Err(Rejection::InvalidToken("the token is from another issuer".into()));
            }
        } else {
            response.insert("iss".into(), Value::from(self.issuer.as_str()));
        }
        let audience_ok = match response.get("aud") {
            Some(Value::String(aud)) => *aud == self.audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(self.audience.as_str())),
            _ => false,
        };
        if !audience_ok {
            return Err(Rejection::InvalidToken(
                "the token is not meant for this API (aud)".into(),
            ));
        }
        if let Some(kind) = response.get("token_type").and_then(Value::as_str) {
            if !kind.eq_ignore_ascii_case("bearer") {
                return Err(Rejection::InvalidToken("the token is not an access token".into()));
            }
        }
        for member in ["active", "token_type", "username"] {
            response.remove(member);
        }
        Claims::from_map(response).map_err(|e| {
            Rejection::InvalidToken(format!(
                "the introspection answer lacks a claim this API needs: {e}"
            ))
        })
    }

    fn cached(&self, key: &[u8; 32], now: Instant) -> Option<Result<Claims, Rejection>> {
        let cache = self.cache.lock().ok()?;
        match cache.active.get(key, now) {
            Some(claims) => Some(Ok(claims)),
            None => cache.refused.get(key, now).map(Err),
        }
    }

    /// Active answers are kept while there is room (see the module's
    /// documentation); refusals in their own, smaller cache.
    fn remember(&self, key: [u8; 32], until: Instant, result: Result<Claims, Rejection>) {
        let Ok(mut cache) = self.cache.lock() else { return };
        let now = Instant::now();
        match result {
            Ok(claims) => {
                cache.refused.remove(&key);
                if !cache.active.insert(key, until, claims, now) {
                    tracing::debug!(
                        "the introspection cache is full of unexpired answers; this one is not kept"
                    );
                }
            }
            Err(rejection) => {
                cache.active.remove(&key);
                if !cache.refused.insert(key, until, rejection.clone(), now) {
                    cache.refused.clear();
                    cache.refused.insert(key, until, rejection, now);
                }
            }
        }
    }
}

fn fingerprint(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_map_keeps_its_live_entries() {
        let now = Instant::now();
        let later = now + Duration::from_secs(60);
        let mut answers = Answers::new(2);
        assert!(answers.insert([1; 32], later, 1, now));
        assert!(answers.insert([2; 32], now + Duration::from_secs(1), 2, now));
        // Full of live entries: a newcomer is not kept, nothing is lost.
        assert!(!answers.insert([3; 32], later, 3, now));
        assert_eq!(answers.get(&[1; 32], now), Some(1));
        assert_eq!(answers.get(&[2; 32], now), Some(2));
        // A known key is replaced even when full.
        assert!(answers.insert([2; 32], now + Duration::from_secs(1), 22, now));
        assert_eq!(answers.get(&[2; 32], now), Some(22));
        // Once one has expired, it makes room.
        let after = now + Duration::from_secs(2);
        assert_eq!(answers.get(&[2; 32], after), None);
        assert!(answers.insert([3; 32], later, 3, after));
        assert_eq!(answers.get(&[1; 32], after), Some(1));
        assert_eq!(answers.get(&[3; 32], after), Some(3));
        assert_eq!(answers.entries.len(), 2);
        // Capacity zero: nothing is kept.
        let mut none = Answers::new(0);
        assert!(!none.insert([1; 32], later, 1, now));
        assert_eq!(none.get(&[1; 32], now), None);
    }
}
