//! The issuer's signing keys, fetched from its `jwks_uri` and cached.
//!
//! - **Freshness.** A fetched JWK Set is fresh for the answer's
//!   `Cache-Control: max-age` ([RFC 9111 §5.2.2.1]), clamped to
//!   [`KeyPolicy::min_ttl`]..[`KeyPolicy::max_ttl`]; without one, for
//!   [`KeyPolicy::default_ttl`]. When it goes stale, the first request to
//!   notice starts one background refetch and every request goes on with
//!   the cached keys meanwhile.
//! - **Rotation.** A token naming a `kid` the cache does not have triggers a
//!   refetch ([OpenID Connect Core §10.1.1]: "the RP ... SHOULD retrieve the
//!   new keys when it sees a `kid` it does not know"). One fetch at a time:
//!   requests that arrive while it runs wait for its result instead of
//!   fetching again (single flight), and such fetches are at least
//!   [`KeyPolicy::refetch_interval`] apart, so a flood of random `kid`s
//!   costs the issuer at most one request per interval.
//! - **Outages.** A failed fetch keeps the cached keys; they stay usable for
//!   [`KeyPolicy::max_stale`] after the last successful fetch, so a brief
//!   outage of the issuer is invisible to the API. A malformed JWK Set is a
//!   failed fetch, never an empty key set.
//! - **No symmetric keys.** A fetched JWK Set holds public keys; a
//!   `kty: oct` entry in it is a secret published to everyone, and an
//!   attacker who could add one (or who knows it) could sign `HS256`
//!   tokens the guard would take ([RFC 8725 §3.1]: the algorithm comes
//!   from the key, so the key must be one the verifier chose). Such
//!   entries are dropped before the set is read, with a warning; the other
//!   keys stay in use. Keys the application configures itself
//!   ([`GuardBuilder::jwks_json`](crate::GuardBuilder::jwks_json)) may be
//!   symmetric.
//!
//! [RFC 8725 §3.1]: https://www.rfc-editor.org/rfc/rfc8725#section-3.1
//! [RFC 9111 §5.2.2.1]: https://www.rfc-editor.org/rfc/rfc9111#section-5.2.2.1
//! [OpenID Connect Core §10.1.1]: https://openid.net/specs/openid-connect-core-1_0.html#RotateSigKeys

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tessera_jwt::{Jwks, KeySet};
use tokio::time::Instant;

use crate::fetch::{FetchError, Fetcher};

/// How long keys are trusted and how often the issuer may be asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyPolicy {
    /// Freshness when the JWKS answer has no `max-age` (default 5 min).
    pub default_ttl: Duration,
    /// The floor for `max-age`, also used for `no-cache`/`no-store`
    /// (default 30 s): an issuer cannot make every request a fetch.
    pub min_ttl: Duration,
    /// The ceiling for `max-age` (default 24 h): a rotation is seen
    /// within a day even if the issuer asks for longer.
    pub max_ttl: Duration,
    /// The least time between two fetches that unknown `kid`s or failed
    /// refreshes trigger (default 10 s).
    pub refetch_interval: Duration,
    /// How long after the last successful fetch cached keys still verify
    /// tokens while the issuer cannot be reached (default 24 h). After
    /// that, requests get 503 rather than trust keys that may have been
    /// withdrawn.
    pub max_stale: Duration,
}

impl Default for KeyPolicy {
    fn default() -> KeyPolicy {
        KeyPolicy {
            default_ttl: Duration::from_secs(300),
            min_ttl: Duration::from_secs(30),
            max_ttl: Duration::from_secs(86_400),
            refetch_interval: Duration::from_secs(10),
            max_stale: Duration::from_secs(86_400),
        }
    }
}

/// The keys as of one fetch.
pub(crate) struct Snapshot {
    pub(crate) keys: KeySet,
    /// Until then no refetch is needed; `None` for keys that were
    /// configured, not fetched.
    pub(crate) fresh_until: Option<Instant>,
    /// After then the keys are not used (see [`KeyPolicy::max_stale`]);
    /// `None` for keys that were configured, not fetched.
    pub(crate) usable_until: Option<Instant>,
    /// Counts successful fetches, so a waiter can tell that the fetch it
    /// waited for has happened.
    pub(crate) generation: u64,
    /// Tokens verified with these keys ([`crate::verified`]).
    pub(crate) verified: crate::verified::Verified,
}

/// Where the keys come from.
pub(crate) struct KeyCache {
    /// Where to fetch from; `None` for configured keys.
    source: Option<(String, Fetcher)>,
    policy: KeyPolicy,
    current: RwLock<Arc<Snapshot>>,
    /// Held while fetching (single flight); holds the last attempt's time.
    last_attempt: tokio::sync::Mutex<Option<Instant>>,
    refreshing: AtomicBool,
    /// No background refresh before this many ms after `created` (so a
    /// failing issuer is retried once per interval, not per request).
    next_background_ms: AtomicU64,
    created: Instant,
    fetches: AtomicU64,
}

impl KeyCache {
    /// Fixed keys, never refetched.
    pub(crate) fn fixed(keys: KeySet) -> KeyCache {
        KeyCache {
            source: None,
            created: Instant::now(),
            next_background_ms: AtomicU64::new(0),
            policy: KeyPolicy::default(),
            current: RwLock::new(Arc::new(Snapshot {
                keys,
                fresh_until: None,
                usable_until: None,
                generation: 0,
                verified: crate::verified::empty(),
            })),
            last_attempt: tokio::sync::Mutex::new(None),
            refreshing: AtomicBool::new(false),
            fetches: AtomicU64::new(0),
        }
    }

    /// Fetches the keys from `jwks_uri` once; fails if that fails.
    pub(crate) async fn fetched(
        jwks_uri: String,
        fetcher: Fetcher,
        policy: KeyPolicy,
    ) -> Result<KeyCache, KeysError> {
        let now = Instant::now();
        let (keys, ttl) = fetch(&fetcher, &jwks_uri, &policy).await?;
        Ok(KeyCache {
            current: RwLock::new(Arc::new(Snapshot {
                keys,
                fresh_until: Some(now + ttl),
                usable_until: Some(now + ttl.max(policy.max_stale)),
                generation: 1,
                verified: crate::verified::empty(),
            })),
            created: now,
            next_background_ms: AtomicU64::new(0),
            source: Some((jwks_uri, fetcher)),
            policy,
            last_attempt: tokio::sync::Mutex::new(Some(now)),
            refreshing: AtomicBool::new(false),
            fetches: AtomicU64::new(1),
        })
    }

    /// The keys now, and now; starts a background refresh if they are
    /// stale.
    pub(crate) fn snapshot(self: &Arc<Self>) -> (Arc<Snapshot>, Instant) {
        let snapshot = self.current();
        let now = Instant::now();
        if snapshot.fresh_until.is_some_and(|t| t <= now)
            && self.millis(now) >= self.next_background_ms.load(Ordering::Relaxed)
            && !self.refreshing.swap(true, Ordering::AcqRel)
        {
            let cache = Arc::clone(self);
            let generation = snapshot.generation;
            tokio::spawn(async move {
                cache.refetch(generation, "the cached keys are stale").await;
                let next = cache.millis(Instant::now() + cache.policy.refetch_interval);
                cache.next_background_ms.store(next, Ordering::Relaxed);
                cache.refreshing.store(false, Ordering::Release);
            });
        }
        (snapshot, now)
    }

    /// Refetches because a token names a key that `seen` lacks. Returns
    /// the newer keys, or `None` when no newer keys can be had now.
    pub(crate) async fn refetch_for_unknown_key(&self, seen: &Snapshot) -> Option<Arc<Snapshot>> {
        let fresh = self
            .refetch(seen.generation, "a token names an unknown key")
            .await;
        fresh.filter(|s| s.generation != seen.generation)
    }

    /// One fetch at a time; none if another fetch since `seen_generation`
    /// already happened or the last attempt was too recent.
    async fn refetch(&self, seen_generation: u64, why: &str) -> Option<Arc<Snapshot>> {
        let (uri, fetcher) = self.source.as_ref()?;
        let uri = uri.as_str();
        let mut last_attempt = self.last_attempt.lock().await;
        let current = self.current();
        if current.generation != seen_generation {
            return Some(current);
        }
        let now = Instant::now();
        if last_attempt.is_some_and(|t| now.duration_since(t) < self.policy.refetch_interval) {
            return None;
        }
        *last_attempt = Some(now);
        self.fetches.fetch_add(1, Ordering::Relaxed);
        match fetch(fetcher, uri, &self.policy).await {
            Ok((keys, ttl)) => {
                tracing::debug!(
                    jwks_uri = uri,
                    keys = keys.keys().len(),
                    reason = why,
                    "signing keys fetched"
                );
                let snapshot = Arc::new(Snapshot {
                    keys,
                    fresh_until: Some(now + ttl),
                    usable_until: Some(now + ttl.max(self.policy.max_stale)),
                    generation: current.generation + 1,
                    verified: crate::verified::empty(),
                });
                match self.current.write() {
                    Ok(mut guard) => *guard = Arc::clone(&snapshot),
                    Err(poisoned) => *poisoned.into_inner() = Arc::clone(&snapshot),
                }
                Some(snapshot)
            }
            Err(e) => {
                tracing::warn!(jwks_uri = uri, error = %e, "signing keys could not be refreshed; the cached ones stay in use");
                None
            }
        }
    }

    fn current(&self) -> Arc<Snapshot> {
        match self.current.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    fn millis(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.created).as_millis()).unwrap_or(u64::MAX)
    }

    /// How many times the JWKS was requested.
    pub(crate) fn fetches(&self) -> u64 {
        self.fetches.load(Ordering::Relaxed)
    }
}

/// Why the keys could not be had.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The JWKS could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The document is not a usable JWK Set.
    #[error("{uri}: not a usable JWK Set: {reason}")]
    Invalid {
        /// Where it came from.
        uri: String,
        /// What is wrong.
        reason: String,
    },
}

/// GET and parse the JWK Set; the time it stays fresh.
async fn fetch(fetcher: &Fetcher, uri: &str, policy: &KeyPolicy) -> Result<(KeySet, Duration), KeysError> {
    let answer = fetcher.get(uri).await?;
    let keys = fetched_keys(uri, &answer.body)?;
    let ttl = match (answer.no_cache, answer.max_age) {
        (true, _) => policy.min_ttl,
        (false, Some(age)) => age.clamp(policy.min_ttl, policy.max_ttl.max(policy.min_ttl)),
        (false, None) => policy.default_ttl,
    };
    Ok((keys, ttl))
}

/// The signature keys of a fetched JWK Set, without its symmetric ones.
///
/// `oct` entries go before the keys are read, so that one malformed
/// symmetric entry cannot spoil the set either; then, whatever the `kty`,
/// any key of a symmetric algorithm that got through is dropped.
fn fetched_keys(uri: &str, body: &[u8]) -> Result<KeySet, KeysError> {
    let invalid = |reason: String| KeysError::Invalid {
        uri: uri.to_owned(),
        reason,
    };
    let mut jwks: Jwks =
        serde_json::from_slice(body).map_err(|e| invalid(format!("JWKS is invalid: {e}")))?;
    let listed = jwks.keys.len();
    jwks.keys.retain(|jwk| jwk.kty != "oct");
    let keys = KeySet::from_jwks(&jwks).map_err(|e| invalid(e.to_string()))?;
    let keys = match keys.keys().iter().any(|k| k.algorithm().is_symmetric()) {
        false => keys,
        true => KeySet::new(
            keys.keys()
                .iter()
                .filter(|k| !k.algorithm().is_symmetric())
                .cloned()
                .collect(),
        )
        .map_err(|e| invalid(e.to_string()))?,
    };
    let symmetric = listed.saturating_sub(jwks.keys.len());
    if symmetric > 0 {
        tracing::warn!(
            jwks_uri = uri,
            skipped = symmetric,
            "symmetric (kty \"oct\") keys in the issuer's JWK Set are ignored: a fetched key set must be public keys"
        );
    }
    if keys.keys().is_empty() {
        return Err(invalid(match symmetric {
            0 => "no signature keys".into(),
            _ => "no signature keys (symmetric keys are never taken from a fetched JWK Set)".into(),
        }));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_jwt::{Algorithm, SigningKey};

    fn oct(kid: &str, alg: Option<&str>, k: &str) -> serde_json::Value {
        let mut jwk = serde_json::json!({"kty": "oct", "kid": kid, "k": k});
        if let Some(alg) = alg {
            jwk["alg"] = alg.into();
        }
        jwk
    }

    #[test]
    fn symmetric_keys_are_not_taken_from_a_fetched_set() {
        let ec = SigningKey::generate(Algorithm::ES256).unwrap().with_kid("ec");
        let public = serde_json::to_value(ec.public_jwk().unwrap()).unwrap();
        let secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA";
        let set =
            |keys: Vec<serde_json::Value>| serde_json::to_vec(&serde_json::json!({ "keys": keys })).unwrap();

        // A usable HS256 key, one with no `alg`, one too short, one that
        // shares the EC key's kid: all dropped, the EC key stays.
        let body = set(vec![
            oct("hs", Some("HS256"), secret),
            public.clone(),
            oct("no-alg", None, secret),
            oct("short", Some("HS256"), "c2hvcnQ"),
            oct("ec", Some("HS256"), secret),
        ]);
        let keys = fetched_keys("https://id.example/keys", &body).unwrap();
        let kids: Vec<&str> = keys.keys().iter().map(|k| k.kid()).collect();
        assert_eq!(kids, ["ec"]);

        // Only symmetric keys: no usable key set, said so.
        let body = set(vec![oct("hs", Some("HS256"), secret)]);
        match fetched_keys("https://id.example/keys", &body) {
            Err(KeysError::Invalid { reason, .. }) => assert!(reason.contains("symmetric"), "{reason}"),
            other => panic!("{:?}", other.map(|k| k.keys().len())),
        }

        // Not a JWK Set at all: still an error.
        assert!(matches!(
            fetched_keys("https://id.example/keys", b"{\"keys\": \"no\"}"),
            Err(KeysError::Invalid { .. })
        ));
    }
}
