//! `/admin/v1/audit`: the audit log, a page at a time, newest first,
//! filtered by user, client, kind and time ([`crate::audit::list()`], which
//! `tessera audit list` calls too).

use super::AdminError;
use crate::audit::{self, AuditQuery, EventPage, ListError};
use crate::store::Store;

/// The page `query` asks for.
pub async fn list(store: &Store, query: &AuditQuery) -> Result<EventPage, AdminError> {
    audit::list(store, query).await.map_err(|e| match e {
        ListError::InvalidRequest(why) => AdminError::InvalidRequest(why),
        ListError::Store(e) => e.into(),
    })
}
