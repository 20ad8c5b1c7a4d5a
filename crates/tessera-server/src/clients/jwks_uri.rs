//! Keys a client publishes at its `jwks_uri` ([RFC 7591 §2]), for
//! `private_key_jwt`: fetched through [`super::outbound`] (64 KB, 5 s, no
//! redirects, public addresses only), kept per client for as long as the
//! answer's `Cache-Control: max-age` says within [`MIN_TTL`] and
//! [`MAX_TTL`] ([`DEFAULT_TTL`] without one), and fetched again early when
//! an assertion names a key the set does not hold (the client rotated its
//! keys), at most once per [`REFETCH_INTERVAL`] per client: a stream of
//! assertions with made-up `kid`s cannot make the server hammer the URL.
//! Early fetches take turns: requests that arrive during one wait for it
//! and use what it brought, so a rotation seen by many requests at once
//! costs one fetch and refuses none of them.
//!
//! [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::outbound::{Fetched, Limit, Outbound, OutboundError};

/// The shortest time a fetched set is kept, whatever its answer said.
pub const MIN_TTL: Duration = Duration::from_secs(5 * 60);
/// The longest.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// Without `max-age`.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
/// The least time between two early fetches for one client.
pub const REFETCH_INTERVAL: Duration = Duration::from_secs(30);
const MAX_ENTRIES: usize = 10_000;

/// How long to keep what `fetched` brought, within `min` and `max`:
/// `max-age` if given, `min` for `no-cache`/`no-store`, else `default`.
pub fn lifetime(fetched: &Fetched, min: Duration, max: Duration, default: Duration) -> Duration {
    let wanted = match (fetched.no_cache, fetched.max_age) {
        (true, _) => min,
        (false, Some(age)) => age,
        (false, None) => default,
    };
    wanted.clamp(min, max)
}

/// Why a client's keys cannot be had.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// The fetch failed.
    #[error("jwks_uri {uri}: {error}")]
    Fetch {
        /// The URL.
        uri: String,
        /// Why.
        error: OutboundError,
    },
    /// The answer is not a JWK Set.
    #[error("jwks_uri {0}: not a JWK Set (RFC 7517 §5)")]
    NotJwks(String),
    /// No outbound fetcher configured (a server built without one).
    #[error("fetching keys is not configured")]
    Unconfigured,
}

#[derive(Debug)]
struct Entry {
    uri: String,
    jwks: Arc<str>,
    expires: Instant,
}

/// The key sets of clients registered with a `jwks_uri`, by client id.
#[derive(Debug, Default)]
pub struct RemoteKeys {
    entries: Mutex<HashMap<String, Entry>>,
    /// When each client's set was last fetched early.
    refetched: Mutex<HashMap<String, Instant>>,
    /// Held during an early fetch.
    turn: tokio::sync::Mutex<()>,
    /// Fetches made, for tests.
    fetches: std::sync::atomic::AtomicU64,
}

impl RemoteKeys {
    /// The client's key set (JWKS JSON): the kept one while it is fresh,
    /// else fetched now.
    pub async fn current(
        &self,
        outbound: Option<&Outbound>,
        client_id: &str,
        uri: &str,
    ) -> Result<Arc<str>, KeysError> {
        if let Some(jwks) = self.kept(client_id, uri) {
            return Ok(jwks);
        }
        self.fetch(outbound, client_id, uri).await
    }

    /// The client's key set fetched again because an assertion named a
    /// key `stale` (the set it was checked against) does not hold: the set
    /// another request fetched meanwhile, or a new fetch; `None` if one was
    /// made less than [`REFETCH_INTERVAL`] ago.
    pub async fn refreshed(
        &self,
        outbound: Option<&Outbound>,
        client_id: &str,
        uri: &str,
        stale: &Arc<str>,
    ) -> Result<Option<Arc<str>>, KeysError> {
        let _turn = self.turn.lock().await;
        if let Some(kept) = self.kept(client_id, uri).filter(|k| !Arc::ptr_eq(k, stale)) {
            return Ok(Some(kept));
        }
        {
            let Ok(mut refetched) = self.refetched.lock() else {
                return Ok(None);
            };
            let now = Instant::now();
            if refetched
                .get(client_id)
                .is_some_and(|at| now.duration_since(*at) < REFETCH_INTERVAL)
            {
                tracing::info!(target: "audit", client_id, "unknown key: jwks_uri fetched less than {}s ago, not again", REFETCH_INTERVAL.as_secs());
                return Ok(None);
            }
            if refetched.len() >= MAX_ENTRIES {
                refetched.retain(|_, at| now.duration_since(*at) < REFETCH_INTERVAL);
            }
            // Claimed before the fetch: concurrent requests do not fetch too.
            refetched.insert(client_id.to_owned(), now);
        }
        self.fetch(outbound, client_id, uri).await.map(Some)
    }

    /// How many fetches were made (for tests).
    pub fn fetches(&self) -> u64 {
        self.fetches.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn kept(&self, client_id: &str, uri: &str) -> Option<Arc<str>> {
        let entries = self.entries.lock().ok()?;
        let entry = entries.get(client_id)?;
        (entry.uri == uri && entry.expires > Instant::now()).then(|| Arc::clone(&entry.jwks))
    }

    async fn fetch(
        &self,
        outbound: Option<&Outbound>,
        client_id: &str,
        uri: &str,
    ) -> Result<Arc<str>, KeysError> {
        let outbound = outbound.ok_or(KeysError::Unconfigured)?;
        self.fetches.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let fetched = outbound
            .get(uri, Limit::Jwks)
            .await
            .map_err(|error| KeysError::Fetch {
                uri: uri.to_owned(),
                error,
            })?;
        let text = std::str::from_utf8(&fetched.body).map_err(|_| KeysError::NotJwks(uri.to_owned()))?;
        tessera_jwt::KeySet::from_jwks_json(text.as_bytes())
            .map_err(|_| KeysError::NotJwks(uri.to_owned()))?;
        let jwks: Arc<str> = Arc::from(text);
        let ttl = lifetime(&fetched, MIN_TTL, MAX_TTL, DEFAULT_TTL);
        if let Ok(mut entries) = self.entries.lock() {
            if entries.len() >= MAX_ENTRIES {
                entries.clear();
            }
            entries.insert(
                client_id.to_owned(),
                Entry {
                    uri: uri.to_owned(),
                    jwks: Arc::clone(&jwks),
                    expires: Instant::now() + ttl,
                },
            );
        }
        tracing::debug!(client_id, uri, ttl = ttl.as_secs(), "client keys fetched");
        Ok(jwks)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lifetimes_stay_within_bounds() {
        let f = |max_age: Option<u64>, no_cache: bool| Fetched {
            body: Default::default(),
            max_age: max_age.map(Duration::from_secs),
            no_cache,
        };
        let l = |x: &Fetched| lifetime(x, MIN_TTL, MAX_TTL, DEFAULT_TTL).as_secs();
        assert_eq!(l(&f(None, false)), 3600);
        assert_eq!(l(&f(Some(600), false)), 600);
        assert_eq!(l(&f(Some(1), false)), 300, "at least MIN_TTL");
        assert_eq!(l(&f(Some(10 * 86_400), false)), 86_400, "at most MAX_TTL");
        assert_eq!(l(&f(Some(600), true)), 300, "no-cache: the least");
    }
}
