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
//! at most the configured time and never past the token's `exp`; the cache
//! holds at most the configured number of entries. A time of zero turns
//! the cache off.
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

/// An answer, until when it may be reused.
type Cached = (Instant, Result<Claims, Rejection>);

/// Introspection settings.
pub(crate) struct Introspector {
    endpoint: String,
    /// `Basic` credentials (RFC 6749 §2.3.1), kept ready to send.
    authorization: zeroize::Zeroizing<String>,
    issuer: String,
    audience: String,
    fetcher: Fetcher,
    cache_ttl: Duration,
    capacity: usize,
    cache: Mutex<HashMap<[u8; 32], Cached>>,
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
            capacity,
            cache: Mutex::new(HashMap::new()),
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
            .post_form(&self.endpoint, &self.authorization, form)
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
        cache
            .get(key)
            .filter(|(until, _)| *until > now)
            .map(|(_, r)| r.clone())
    }

    /// Bounded: when full, expired entries go; if that is not enough, all.
    fn remember(&self, key: [u8; 32], until: Instant, result: Result<Claims, Rejection>) {
        let Ok(mut cache) = self.cache.lock() else { return };
        if cache.len() >= self.capacity {
            let now = Instant::now();
            cache.retain(|_, (t, _)| *t > now);
            if cache.len() >= self.capacity {
                cache.clear();
            }
        }
        if self.capacity > 0 {
            cache.insert(key, (until, result));
        }
    }
}

fn fingerprint(token: &str) -> [u8; 32] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}
