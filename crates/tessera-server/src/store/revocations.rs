//! Revoked access tokens, so a revocation holds on every node at once.
//!
//! Every introspection asks the database (a cache would let a revoked
//! token live on at another node). Asks that arrive together share one
//! query: the first starts a task that takes every waiting `jti`, asks
//! `WHERE jti IN (...)` once, answers each, and repeats while more arrived
//! meanwhile. Each answer is still read after its request arrived, so a
//! revocation committed before that moment is always seen.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::retry::{retried, Repeat};
use super::{Store, StoreError};

/// The most `jti`s one query asks about.
const MOST_PER_QUERY: usize = 128;

type Waiter = (String, oneshot::Sender<Result<bool, String>>);

/// Revocation checks waiting for the shared query.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    waiting: Mutex<Vec<Waiter>>,
    running: AtomicBool,
    /// Queries run, for the test that batching happens.
    #[cfg(test)]
    queries: std::sync::atomic::AtomicU64,
}

/// Revoked tokens by `jti`.
///
/// A supertrait of [`AuditStore`](super::AuditStore): its changes are audited
/// ([`crate::audit::record`]).
pub trait RevocationStore: super::AuditStore {
    /// Records a revocation (repeating it is harmless).
    fn revoke(
        &self,
        jti: &str,
        expires_at: i64,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Whether `jti` was revoked.
    fn is_revoked(&self, jti: &str) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Forgets revocations of tokens that have expired anyway; how many.
    fn prune_revocations(
        &self,
        now: i64,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send;
}

impl RevocationStore for Store {
    async fn revoke(&self, jti: &str, expires_at: i64) -> Result<(), StoreError> {
        retried!("token revocation", Repeat::Safe, async {
            sqlx::query(
                "INSERT INTO revoked_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING",
            )
            .bind(jti)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn is_revoked(&self, jti: &str) -> Result<bool, StoreError> {
        let (tx, rx) = oneshot::channel();
        match self.revocation_checks.waiting.lock() {
            Ok(mut waiting) => waiting.push((jti.to_owned(), tx)),
            Err(poisoned) => poisoned.into_inner().push((jti.to_owned(), tx)),
        }
        start_draining(self);
        match rx.await {
            Ok(answer) => answer.map_err(StoreError::Shared),
            Err(_) => Err(StoreError::Shared("the revocation check was dropped".into())),
        }
    }

    async fn prune_revocations(&self, now: i64) -> Result<u64, StoreError> {
        retried!("revocation pruning", Repeat::Safe, async {
            let done = sqlx::query("DELETE FROM revoked_tokens WHERE expires_at < $1")
                .bind(now)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected())
        })
    }
}

/// Starts the task that answers the waiting checks, unless one runs. The
/// task, not a request, runs the queries: a request that goes away cannot
/// leave the others waiting.
fn start_draining(store: &Store) {
    let batch = &store.revocation_checks;
    if batch.running.swap(true, Ordering::AcqRel) {
        return;
    }
    let store = store.clone();
    tokio::spawn(async move {
        let batch = Arc::clone(&store.revocation_checks);
        loop {
            // Let the requests that are ready queue their checks first. A
            // task spawned from a request runs right after it (tokio's
            // LIFO slot), so without this the batch held one request's
            // checks: one query, and two switches to the SQLite worker
            // thread, per request under load. Yielding only reorders work
            // that is ready; it waits for nothing.
            tokio::task::yield_now().await;
            let taken = take(&batch);
            if taken.is_empty() {
                batch.running.store(false, Ordering::Release);
                // A check queued after `take` but before the flag fell saw
                // a running task: pick it up, unless another task did.
                if is_empty(&batch) || batch.running.swap(true, Ordering::AcqRel) {
                    return;
                }
                continue;
            }
            answer(&store, taken).await;
        }
    });
}

fn take(batch: &Batch) -> Vec<Waiter> {
    let mut waiting = match batch.waiting.lock() {
        Ok(w) => w,
        Err(poisoned) => poisoned.into_inner(),
    };
    // Oldest first.
    let n = waiting.len().min(MOST_PER_QUERY);
    waiting.drain(..n).collect()
}

fn is_empty(batch: &Batch) -> bool {
    match batch.waiting.lock() {
        Ok(w) => w.is_empty(),
        Err(poisoned) => poisoned.into_inner().is_empty(),
    }
}

/// One query for a batch of checks; each waiter gets its answer.
async fn answer(store: &Store, taken: Vec<Waiter>) {
    #[cfg(test)]
    store.revocation_checks.queries.fetch_add(1, Ordering::Relaxed);
    let mut sql = String::from("SELECT jti FROM revoked_tokens WHERE jti IN (");
    for i in 1..=taken.len() {
        if i > 1 {
            sql.push_str(", ");
        }
        sql.push('$');
        sql.push_str(&i.to_string());
    }
    sql.push(')');
    let mut query = sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql));
    for (jti, _) in &taken {
        query = query.bind(jti.clone());
    }
    let result = query.fetch_all(store.pool()).await;
    for (jti, tx) in taken {
        let reply = match &result {
            Ok(revoked) => Ok(revoked.contains(&jti)),
            Err(e) => Err(e.to_string()),
        };
        let _ = tx.send(reply);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// On one worker thread, as a server on one core runs, checks from
    /// tasks that are ready together share queries instead of one query
    /// each, and each still gets its own answer. The checks are spawned
    /// from a task on the worker, as requests are, so the task that runs
    /// the queries lands in tokio's LIFO slot: without the yield it takes
    /// the first check alone, and every trial needs two queries. With it, a
    /// trial needs one, or two when the worker's periodic maintenance (every
    /// 61 tasks) happens to run the drain early.
    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn checks_ready_together_share_one_query() {
        const TRIALS: u64 = 100;
        const CHECKS: usize = 8;
        let store = crate::fixtures::store().await;
        store.revoke("revoked", i64::MAX).await.unwrap();
        let before = store.revocation_checks.queries.load(Ordering::Relaxed);
        let on_worker = store.clone();
        tokio::spawn(async move {
            let store = on_worker;
            for trial in 0..TRIALS {
                let checks: Vec<_> = (0..CHECKS)
                    .map(|i| {
                        let store = store.clone();
                        tokio::spawn(async move {
                            let jti = if i % 2 == 0 {
                                "revoked".to_owned()
                            } else {
                                format!("live-{trial}-{i}")
                            };
                            (i, store.is_revoked(&jti).await.unwrap())
                        })
                    })
                    .collect();
                for check in checks {
                    let (i, revoked) = check.await.unwrap();
                    assert_eq!(revoked, i % 2 == 0, "trial {trial}, check {i}");
                }
                // The next trial starts its own drain task.
                while store.revocation_checks.running.load(Ordering::Acquire) {
                    tokio::task::yield_now().await;
                }
            }
        })
        .await
        .unwrap();
        let queries = store.revocation_checks.queries.load(Ordering::Relaxed) - before;
        assert!(
            queries * 2 < TRIALS * 3,
            "{TRIALS} trials of {CHECKS} checks ready together took {queries} queries"
        );
    }
}
