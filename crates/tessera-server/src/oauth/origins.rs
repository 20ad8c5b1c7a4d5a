//! Which browser origins may call the token, revocation and `/api/v1`
//! endpoints with CORS (the Fetch standard's CORS protocol): those the
//! operator configured (`cors_origins`) and those registered for a client
//! (`tessera client create --cors-origin`). Nothing is open by default,
//! and origins compare exactly (scheme, host and port, as the browser
//! serialises them).

use crate::store::ClientStore;

/// Whether `origin` may call. A store fault refuses (and is logged): a
/// missing CORS header fails closed in the browser.
pub async fn allowed<S: ClientStore>(store: &S, configured: &[String], origin: &str) -> bool {
    if configured.iter().any(|o| o == origin) {
        return true;
    }
    match store.origin_registered(origin).await {
        Ok(registered) => registered,
        Err(e) => {
            tracing::warn!("CORS origin lookup failed: {e}");
            false
        }
    }
}
