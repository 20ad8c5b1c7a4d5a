//! Slowing password guessing and mass registration per client address
//! ([RFC 6749 §4.3.2]: "the authorization server MUST protect the endpoint
//! against brute force attacks (e.g., using rate-limitation or generating
//! alerts)"; [RFC 9700 §4.15]).
//!
//! Per user, repeated failures lock the account (see [`super::sign_in`]).
//! Per address, counted in the database ([`AttemptStore`]) so every node
//! shares the count, and *reserved before the hash runs* so a burst sent at
//! once is counted as it arrives: once failures and attempts in flight
//! together pass [`BLOCK_AFTER`] within [`WINDOW_SECS`], further attempts
//! are refused until the window ends. Slowing follows failures alone:
//! after [`FREE_FAILURES`] of them every further attempt waits longer
//! (doubling up to [`MAX_DELAY`]), so many good logins at once from one
//! address (a company's NAT) are not slowed. A successful login hands its
//! attempt back.
//! Registrations count every attempt, at most [`REGISTRATIONS_PER_WINDOW`].
//!
//! IPv6 clients are counted per /64, the block one subscriber usually
//! holds, so rotating addresses within it does not reset the count.
//!
//! [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
//! [RFC 9700 §4.15]: https://www.rfc-editor.org/rfc/rfc9700#section-4.15

use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::store::{AttemptStore, Counts, StoreError};

/// Failures per address allowed before slowing down.
pub const FREE_FAILURES: i64 = 5;
/// Failures per address after which attempts are refused.
pub const BLOCK_AFTER: i64 = 50;
/// The counting window, in seconds.
pub const WINDOW_SECS: i64 = 600;
/// The longest added delay.
pub const MAX_DELAY: Duration = Duration::from_secs(4);
/// Registrations per address per window.
pub const REGISTRATIONS_PER_WINDOW: i64 = 10;

/// What to do before checking a password from an address.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead after this delay (zero when the address has few failures).
    Wait(Duration),
    /// Too many failures: refuse without checking.
    Refuse,
}

/// The bucket an address counts in: IPv4 (and IPv4-mapped IPv6) by
/// address, IPv6 by /64.
pub fn bucket(kind: &str, addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => format!("{kind}:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("{kind}:{v4}"),
            None => {
                let s = v6.segments();
                let [a, b, c, d, ..] = s;
                format!("{kind}:{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    }
}

/// The verdict for an attempt, from its bucket's counts.
pub fn verdict(counts: Counts) -> Verdict {
    if counts.attempts.saturating_sub(1) >= BLOCK_AFTER {
        return Verdict::Refuse;
    }
    if counts.failures < FREE_FAILURES {
        return Verdict::Wait(Duration::ZERO);
    }
    let doublings = u32::try_from((counts.failures - FREE_FAILURES).min(5)).unwrap_or(5);
    Verdict::Wait((Duration::from_millis(250) * 2u32.pow(doublings)).min(MAX_DELAY))
}

/// Logins serving their address's delay right now.
static DELAYED: AtomicUsize = AtomicUsize::new(0);

/// How many logins are serving their address's delay right now (they hold
/// no place in the hashing queue meanwhile).
pub fn logins_delayed() -> usize {
    DELAYED.load(Ordering::Relaxed)
}

/// Counted while a login waits (also when the request is cancelled).
struct Delayed;

impl Drop for Delayed {
    fn drop(&mut self) {
        DELAYED.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves a [`Verdict::Wait`] delay. Call it before taking a place in the
/// hashing queue, never while holding one: a place held by a sleeping
/// guess is a place taken from everyone else's logins.
pub async fn wait(delay: Duration) {
    if delay.is_zero() {
        return;
    }
    DELAYED.fetch_add(1, Ordering::AcqRel);
    let _counted = Delayed;
    tokio::time::sleep(delay).await;
}

/// Reserves a login attempt from `peer` (no address, no limit).
pub async fn reserve_login<S: AttemptStore>(
    store: &S,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<Verdict, StoreError> {
    let Some(addr) = peer else {
        return Ok(Verdict::Wait(Duration::ZERO));
    };
    let counts = store
        .reserve_attempt(&bucket("login", addr), now, WINDOW_SECS)
        .await?;
    Ok(verdict(counts))
}

/// Counts the failure of a login from `peer`.
pub async fn failed_login<S: AttemptStore>(
    store: &S,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<(), StoreError> {
    let Some(addr) = peer else { return Ok(()) };
    store
        .record_failure(&bucket("login", addr), now, WINDOW_SECS)
        .await
}

/// Hands back the attempt of a login that succeeded.
pub async fn refund_login<S: AttemptStore>(
    store: &S,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<(), StoreError> {
    let Some(addr) = peer else { return Ok(()) };
    store
        .refund_attempt(&bucket("login", addr), now, WINDOW_SECS)
        .await
}

/// Whether `peer` may register another account now (counted).
pub async fn reserve_registration<S: AttemptStore>(
    store: &S,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(addr) = peer else { return Ok(true) };
    let counts = store
        .reserve_attempt(&bucket("register", addr), now, WINDOW_SECS)
        .await?;
    Ok(counts.attempts <= REGISTRATIONS_PER_WINDOW)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(attempts: i64, failures: i64) -> Counts {
        Counts { attempts, failures }
    }

    #[test]
    fn slows_after_failures_and_refuses_past_the_limit() {
        for n in 0..FREE_FAILURES {
            assert_eq!(verdict(counts(n + 1, n)), Verdict::Wait(Duration::ZERO), "{n}");
        }
        assert!(matches!(verdict(counts(6, FREE_FAILURES)), Verdict::Wait(d) if d > Duration::ZERO));
        assert!(matches!(verdict(counts(BLOCK_AFTER, BLOCK_AFTER - 1)), Verdict::Wait(d) if d == MAX_DELAY));
        assert_eq!(
            verdict(counts(BLOCK_AFTER + 1, 0)),
            Verdict::Refuse,
            "in flight counts too"
        );
        assert_eq!(
            verdict(counts(40, 0)),
            Verdict::Wait(Duration::ZERO),
            "many good logins at once are not slowed"
        );
    }

    #[test]
    fn buckets_group_ipv6_by_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket("login", a), bucket("login", b));
        assert_ne!(bucket("login", a), bucket("login", c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(bucket("login", mapped), "login:10.0.0.1");
        assert_ne!(bucket("login", mapped), bucket("register", mapped));
    }
}
