//! What an orchestrator probes: liveness (`/healthz`: the process serves
//! HTTP) and readiness (`/readyz`: it can also reach its database, so a
//! load balancer may send it requests).

use crate::store::Store;

/// Whether this node can serve requests now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readiness {
    /// The database answers.
    Ready,
    /// The database does not answer (the fault is logged).
    DatabaseUnreachable,
}

/// Asks the database for `SELECT 1`.
pub async fn readiness(store: &Store) -> Readiness {
    match store.ping().await {
        Ok(()) => Readiness::Ready,
        Err(e) => {
            tracing::warn!("readiness check failed: {e}");
            Readiness::DatabaseUnreachable
        }
    }
}
