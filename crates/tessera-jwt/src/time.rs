//! Time as a value.
//!
//! Every check that depends on the clock takes `now` as a parameter, so tests
//! can pin it and nothing hides a clock read. [`UnixTime::now`] is the one
//! place in Tessera that reads the system clock.

/// Seconds since the Unix epoch, as in a JWT NumericDate ([RFC 7519 §2]).
///
/// [RFC 7519 §2]: https://www.rfc-editor.org/rfc/rfc7519#section-2
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct UnixTime(i64);

impl UnixTime {
    /// A time given in seconds since the epoch.
    pub const fn from_secs(secs: i64) -> UnixTime {
        UnixTime(secs)
    }

    /// Seconds since the epoch.
    pub const fn as_secs(self) -> i64 {
        self.0
    }

    /// The current system time. A clock set before 1970 reads as 0.
    #[allow(clippy::disallowed_methods)] // the one sanctioned clock read
    pub fn now() -> UnixTime {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        UnixTime(i64::try_from(secs).unwrap_or(i64::MAX))
    }
}
