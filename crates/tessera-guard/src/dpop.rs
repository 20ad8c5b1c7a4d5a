//! DPoP-bound access tokens at the API ([RFC 9449 §7]), on when
//! [`GuardBuilder::dpop`](crate::GuardBuilder::dpop) names the API's base
//! URL.
//!
//! A token whose claims carry `cnf.jkt` is bound to a key: it is accepted
//! only as `Authorization: DPoP <token>` with one `DPoP` proof header made
//! with that key for this request: `htm` the method, `htu` the configured
//! base URL plus the request's path (never the `Host` header, which the
//! sender chooses), `iat` within 60 s, `ath` the token's hash, and a `jti`
//! not seen before. Sent as `Bearer`, a bound token is refused, whether
//! or not DPoP is configured: a stolen bound token is exactly what DPoP
//! makes useless.
//!
//! The `jti`s seen are kept **in memory**, per guard: behind a load
//! balancer with several instances a proof could be replayed once to each
//! instance within its minute of validity. The cache holds at most
//! [`MAX_REMEMBERED`] proofs; when it is full of live ones, new proofs are
//! refused rather than let a flood push out the ones it must remember.
//!
//! [RFC 9449 §7]: https://www.rfc-editor.org/rfc/rfc9449#section-7

use std::collections::HashMap;
use std::sync::Mutex;

use tessera_jwt::dpop::{self, Expected, DEFAULT_WINDOW_SECS};
use tessera_jwt::UnixTime;

use crate::Rejection;

/// The most proofs remembered at once.
pub const MAX_REMEMBERED: usize = 100_000;

/// The DPoP settings and replay cache of one guard.
pub(crate) struct Dpop {
    base: String,
    seen: Mutex<HashMap<[u8; 32], i64>>,
}

impl Dpop {
    pub(crate) fn new(base: &str) -> Dpop {
        Dpop {
            base: base.trim_end_matches('/').to_owned(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the proofs sent with `token`, bound to `jkt`, for a request
    /// with this method and path.
    pub(crate) fn check(
        &self,
        proofs: &[&[u8]],
        method: &str,
        path: &str,
        token: &str,
        jkt: &str,
        now: UnixTime,
    ) -> Result<(), Rejection> {
        let proof = match proofs {
            [] => return Err(Rejection::InvalidDpopProof("a DPoP proof is required".into())),
            [one] => std::str::from_utf8(one)
                .map_err(|_| Rejection::InvalidDpopProof("the DPoP proof is not ASCII".into()))?,
            _ => return Err(Rejection::InvalidDpopProof("send one DPoP header".into())),
        };
        let url = format!("{}{path}", self.base);
        let expected = Expected::new(method, &url, now).access_token(token);
        let verified =
            dpop::verify(proof, &expected).map_err(|e| Rejection::InvalidDpopProof(e.to_string()))?;
        #[allow(deprecated)] // the constant-time comparison aws-lc-rs offers
        let same =
            aws_lc_rs::constant_time::verify_slices_are_equal(verified.jkt().as_bytes(), jkt.as_bytes())
                .is_ok();
        if !same {
            return Err(Rejection::InvalidDpopProof(
                "the DPoP proof is not made with the key the token is bound to".into(),
            ));
        }
        let window = i64::try_from(DEFAULT_WINDOW_SECS).unwrap_or(i64::MAX);
        self.remember(
            verified.jkt(),
            &verified.claims().jti,
            verified.claims().iat + window,
            now.as_secs(),
        )
    }

    /// Records a proof's use; refuses a second one.
    fn remember(&self, jkt: &str, jti: &str, until: i64, now: i64) -> Result<(), Rejection> {
        let mut input = Vec::with_capacity(jkt.len() + jti.len() + 1);
        input.extend_from_slice(jkt.as_bytes());
        input.push(0);
        input.extend_from_slice(jti.as_bytes());
        let mut key = [0u8; 32];
        key.copy_from_slice(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input).as_ref());
        let mut seen = self
            .seen
            .lock()
            .map_err(|_| Rejection::Unavailable("the DPoP replay cache is unusable".into()))?;
        if seen.len() >= MAX_REMEMBERED {
            seen.retain(|_, expires| *expires >= now);
        }
        if seen.len() >= MAX_REMEMBERED {
            return Err(Rejection::InvalidDpopProof(
                "too many DPoP proofs at once; try again shortly".into(),
            ));
        }
        match seen.insert(key, until) {
            Some(earlier) if earlier >= now => Err(Rejection::InvalidDpopProof(
                "the DPoP proof was used already".into(),
            )),
            _ => Ok(()),
        }
    }
}
