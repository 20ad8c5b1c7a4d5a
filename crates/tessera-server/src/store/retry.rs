//! Bounded retries of writes that failed for a passing reason.
//!
//! With several nodes on one PostgreSQL, a write can fail without being
//! wrong: two transactions deadlock, or a serializable one loses a race, or
//! the connection is cut by a failover, a proxy, or an administrator. What
//! may be done next depends on what the database did with the write:
//!
//! - **Rolled back** (`40001` serialization failure, `40P01` deadlock): the
//!   database says the transaction left no trace, so running it again from
//!   its first statement is safe for *every* write.
//! - **Unknown** (the connection was lost, or the server shut it: SQLSTATE
//!   class `08`, `57P01`–`57P03`, an I/O or TLS error): the write may or may
//!   not have committed. Running it again is safe only for a write whose
//!   second run changes nothing and answers the same ([`Repeat::Safe`]):
//!   recording a revocation, a consent, a deletion; and the two writes that
//!   spend a token, which recognise their own commit: a refresh rotation
//!   finds the successor it drew already stored, a code redemption finds
//!   the `jti` it drew already recorded, and each answers the same success
//!   instead of taking itself for a replay. A write that spends or counts
//!   something without such a mark ([`Repeat::Once`]: counting a login
//!   attempt, taking a single-use state, creating a row) is never run
//!   again; its caller answers 503 and the client decides.
//! - Anything else is the answer.
//!
//! A write outside a transaction that returns rows (`... RETURNING`) reads
//! them with `store::returning`, never `fetch_optional`: the database
//! sends the rows before the statement's commit, and a failed commit
//! reported after the first row would otherwise go unseen.
//!
//! A write is tried at most [`MOST_ATTEMPTS`] times, with a short, jittered
//! pause between tries so that deadlocked peers do not meet again. Waiting
//! for a connection is not retried: the pool's `database_timeout` already
//! bounds it.

use std::time::Duration;

use super::StoreError;

/// The most times one write is tried.
pub const MOST_ATTEMPTS: u32 = 3;

/// Whether a write may run again when its outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repeat {
    /// Running it twice leaves the same rows as running it once (a
    /// deletion run again may report that nothing was left to delete).
    Safe,
    /// It spends or counts something and could not tell its own earlier
    /// commit from someone else's: it runs again only when the database
    /// says the first run was rolled back.
    Once,
}

/// What a failed try means for trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// The database rolled the transaction back: nothing happened.
    RolledBack,
    /// The connection was lost: it may or may not have committed.
    Unknown,
    /// Not a passing fault: the error is the answer.
    Final,
}

impl StoreError {
    /// What this error says about the write that met it.
    pub fn failure(&self) -> Failure {
        let StoreError::Database(e) = self else {
            return Failure::Final;
        };
        match e {
            sqlx::Error::Database(db) => match db.code().as_deref() {
                Some("40001" | "40P01") => Failure::RolledBack,
                // SQLite's SQLITE_LOCKED_SHAREDCACHE (262, and plain
                // SQLITE_LOCKED, 6): another connection of the same
                // shared-cache memory database (the unit tests' stores)
                // holds the table; the statement did nothing and
                // busy_timeout does not wait for it.
                Some("262" | "6") => Failure::RolledBack,
                Some(code) if code.starts_with("08") => Failure::Unknown,
                Some("57P01" | "57P02" | "57P03") => Failure::Unknown,
                _ => Failure::Final,
            },
            sqlx::Error::Io(_) | sqlx::Error::Tls(_) | sqlx::Error::Protocol(_) => Failure::Unknown,
            _ => Failure::Final,
        }
    }

    /// Whether a write that met this error may be tried again.
    fn may_repeat(&self, repeat: Repeat) -> bool {
        match self.failure() {
            Failure::RolledBack => true,
            Failure::Unknown => repeat == Repeat::Safe,
            Failure::Final => false,
        }
    }
}

/// The tries of one write: `again` says whether to try once more after a
/// failure (and pauses first). [`retried!`] is the loop around it.
pub(crate) struct Tries {
    what: &'static str,
    repeat: Repeat,
    made: u32,
}

impl Tries {
    /// The first try of the write `what` (its name in the log).
    pub(crate) fn new(what: &'static str, repeat: Repeat) -> Tries {
        Tries {
            what,
            repeat,
            made: 1,
        }
    }

    /// After try number `made` failed with `e`: whether to try again,
    /// after a pause.
    pub(crate) async fn again(&mut self, e: &StoreError) -> bool {
        let (what, made, repeat) = (self.what, self.made, self.repeat);
        if made < MOST_ATTEMPTS && e.may_repeat(repeat) {
            tracing::warn!(write = what, try_number = made, error = %e, "write failed for a passing reason; trying again");
            tokio::time::sleep(pause(made)).await;
            self.made += 1;
            return true;
        }
        if e.failure() != Failure::Final {
            tracing::warn!(write = what, tries = made, ?repeat, error = %e, "write not tried again");
        }
        false
    }
}

/// Evaluates `$attempt` (a future: one transaction, or one statement) until
/// it succeeds, fails for good, or has been tried [`MOST_ATTEMPTS`] times;
/// `$what` names the write in the log, `$repeat` is its [`Repeat`].
macro_rules! retried {
    ($what:expr, $repeat:expr, $attempt:expr) => {{
        let mut tries = $crate::store::retry::Tries::new($what, $repeat);
        loop {
            match $attempt.await {
                Err(e) if tries.again(&e).await => {}
                done => break done,
            }
        }
    }};
}
pub(crate) use retried;

/// The pause before try `tries + 1`: 20 ms, then 80 ms, each plus up to as
/// much again at random.
fn pause(tries: u32) -> Duration {
    let base = 20u64.saturating_mul(4u64.saturating_pow(tries.saturating_sub(1)));
    let jitter = crate::random::below(base.saturating_add(1));
    Duration::from_millis(base.saturating_add(jitter))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn db_error(code: &'static str) -> StoreError {
        #[derive(Debug)]
        struct Coded(&'static str);
        impl std::fmt::Display for Coded {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                write!(f, "SQLSTATE {}", self.0)
            }
        }
        impl std::error::Error for Coded {}
        impl sqlx::error::DatabaseError for Coded {
            fn message(&self) -> &str {
                "injected"
            }
            fn code(&self) -> Option<std::borrow::Cow<'_, str>> {
                Some(self.0.into())
            }
            fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
                self
            }
            fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
                self
            }
            fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
                self
            }
            fn kind(&self) -> sqlx::error::ErrorKind {
                sqlx::error::ErrorKind::Other
            }
        }
        StoreError::Database(sqlx::Error::Database(Box::new(Coded(code))))
    }

    fn lost() -> StoreError {
        StoreError::Database(sqlx::Error::Io(std::io::Error::from(
            std::io::ErrorKind::ConnectionReset,
        )))
    }

    #[test]
    fn failures_are_classified_by_what_the_database_did() {
        assert_eq!(db_error("40001").failure(), Failure::RolledBack);
        assert_eq!(db_error("40P01").failure(), Failure::RolledBack);
        assert_eq!(db_error("08006").failure(), Failure::Unknown);
        assert_eq!(db_error("57P01").failure(), Failure::Unknown);
        assert_eq!(lost().failure(), Failure::Unknown);
        assert_eq!(db_error("23505").failure(), Failure::Final);
        assert_eq!(
            StoreError::Database(sqlx::Error::PoolTimedOut).failure(),
            Failure::Final,
            "the wait for a connection is bounded by the pool, not repeated"
        );
        assert_eq!(StoreError::Conflict("x".into()).failure(), Failure::Final);
    }

    /// Runs `retried!` with an attempt that fails with `error` `failing` times
    /// and then succeeds; how many tries it made and what it answered.
    async fn run(repeat: Repeat, failing: u32, error: fn() -> StoreError) -> (u32, bool) {
        let tries = AtomicU32::new(0);
        let answer: Result<(), StoreError> = retried!("test", repeat, async {
            if tries.fetch_add(1, Ordering::SeqCst) < failing {
                Err(error())
            } else {
                Ok(())
            }
        });
        (tries.load(Ordering::SeqCst), answer.is_ok())
    }

    #[tokio::test]
    async fn a_rolled_back_write_is_tried_again_whatever_it_is() {
        assert_eq!(run(Repeat::Once, 2, || db_error("40001")).await, (3, true));
        assert_eq!(run(Repeat::Safe, 1, || db_error("40P01")).await, (2, true));
    }

    #[tokio::test]
    async fn tries_are_bounded() {
        assert_eq!(
            run(Repeat::Once, 10, || db_error("40001")).await,
            (MOST_ATTEMPTS, false)
        );
        assert_eq!(run(Repeat::Safe, 10, lost).await, (MOST_ATTEMPTS, false));
    }

    #[tokio::test]
    async fn a_lost_connection_repeats_only_a_safe_write() {
        assert_eq!(run(Repeat::Safe, 1, lost).await, (2, true));
        assert_eq!(run(Repeat::Once, 1, lost).await, (1, false));
        assert_eq!(run(Repeat::Once, 1, || db_error("57P01")).await, (1, false));
    }

    #[tokio::test]
    async fn a_final_error_is_not_repeated() {
        assert_eq!(run(Repeat::Safe, 1, || db_error("23505")).await, (1, false));
    }
}
