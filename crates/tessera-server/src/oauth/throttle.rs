//! Slowing password guessing per client address ([RFC 6749 §4.3.2]: "the
//! authorization server MUST protect the endpoint against brute force
//! attacks (e.g., using rate-limitation or generating alerts)").
//!
//! Per user, repeated failures lock the account (see the password grant).
//! Per address, kept in memory on each node: after [`FREE_FAILURES`]
//! failures within [`WINDOW_SECS`], every further attempt from that
//! address waits longer (doubling up to [`MAX_DELAY`]), and after
//! [`BLOCK_AFTER`] it is refused until the window ends.
//!
//! [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::Duration;

/// Failures per address allowed before slowing down.
pub const FREE_FAILURES: u32 = 5;
/// Failures per address after which attempts are refused.
pub const BLOCK_AFTER: u32 = 50;
/// The counting window, in seconds.
pub const WINDOW_SECS: i64 = 600;
/// The longest added delay.
pub const MAX_DELAY: Duration = Duration::from_secs(4);
const MAX_TRACKED: usize = 100_000;

/// Failed logins by client address.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<IpAddr, (u32, i64)>>,
}

/// What to do before checking a password from an address.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead after this delay (zero when the address has few failures).
    Wait(Duration),
    /// Too many failures: refuse without checking.
    Refuse,
}

impl LoginThrottle {
    fn failures(&self, addr: IpAddr, now: i64) -> u32 {
        let Ok(map) = self.failures.lock() else { return 0 };
        match map.get(&addr) {
            Some((n, since)) if now - since < WINDOW_SECS => *n,
            _ => 0,
        }
    }

    /// The verdict for an attempt from `addr`.
    pub fn check(&self, addr: Option<IpAddr>, now: i64) -> Verdict {
        let Some(addr) = addr else {
            return Verdict::Wait(Duration::ZERO);
        };
        let n = self.failures(addr, now);
        if n >= BLOCK_AFTER {
            return Verdict::Refuse;
        }
        if n < FREE_FAILURES {
            return Verdict::Wait(Duration::ZERO);
        }
        let doublings = (n - FREE_FAILURES).min(5);
        Verdict::Wait((Duration::from_millis(250) * 2u32.pow(doublings)).min(MAX_DELAY))
    }

    /// Records a failed attempt from `addr`.
    pub fn failed(&self, addr: Option<IpAddr>, now: i64) {
        let Some(addr) = addr else { return };
        let Ok(mut map) = self.failures.lock() else { return };
        if map.len() >= MAX_TRACKED {
            map.retain(|_, (_, since)| now - *since < WINDOW_SECS);
        }
        let entry = map.entry(addr).or_insert((0, now));
        if now - entry.1 >= WINDOW_SECS {
            *entry = (0, now);
        }
        entry.0 = entry.0.saturating_add(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slows_then_refuses_then_forgives() {
        let t = LoginThrottle::default();
        let a = Some(IpAddr::from([10, 0, 0, 1]));
        let b = Some(IpAddr::from([10, 0, 0, 2]));
        for _ in 0..FREE_FAILURES {
            assert_eq!(t.check(a, 0), Verdict::Wait(Duration::ZERO));
            t.failed(a, 0);
        }
        assert!(matches!(t.check(a, 0), Verdict::Wait(d) if d > Duration::ZERO));
        for _ in FREE_FAILURES..BLOCK_AFTER {
            t.failed(a, 1);
        }
        assert_eq!(t.check(a, 2), Verdict::Refuse);
        assert_eq!(t.check(b, 2), Verdict::Wait(Duration::ZERO), "per address");
        assert_eq!(
            t.check(a, WINDOW_SECS + 1),
            Verdict::Wait(Duration::ZERO),
            "the window ends"
        );
        assert!(matches!(t.check(a, 2), Verdict::Refuse));
        assert_eq!(t.check(None, 2), Verdict::Wait(Duration::ZERO));
    }
}
