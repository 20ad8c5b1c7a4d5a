//! Audit events as stored (`audit_events`, migration 35): appended by
//! [`crate::audit::record`], read newest first a page at a time (keyset on
//! the row id, every filter on an index of its own), pruned after the
//! retention.

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{Store, StoreError};

/// One stored event: what [`crate::audit::Event`] holds, with its row id
/// (the keyset of the list).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredEvent {
    /// Row id: larger is newer.
    pub id: i64,
    /// When (seconds since the epoch).
    pub at: i64,
    /// The kind, as stored (`sign_in`, ...).
    pub kind: String,
    /// The user it concerns.
    pub user_id: Option<String>,
    /// The client it concerns.
    pub client_id: Option<String>,
    /// Who did it (`user`, `admin:<sub>`, `cli`, ...).
    pub actor: String,
    /// The address of the request, when known.
    pub ip: Option<String>,
    /// A small JSON object (text), never a secret.
    pub detail: String,
}

/// What a list of events is narrowed to; `None` is "any".
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    /// Only this user's events.
    pub user_id: Option<String>,
    /// Only this client's events.
    pub client_id: Option<String>,
    /// Only events of this kind (as stored).
    pub kind: Option<String>,
    /// Only events at or after this time.
    pub since: Option<i64>,
    /// Only events before this time.
    pub until: Option<i64>,
    /// Only events older than this row id (the cursor).
    pub before_id: Option<i64>,
}

/// Audit events. A supertrait of the stores whose changes are audited, so
/// every module that makes such a change can record it without a bound of
/// its own.
pub trait AuditStore {
    /// Appends an event (its `id` is ignored: the database numbers it).
    fn insert_event(
        &self,
        event: &StoredEvent,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// At most `limit` events that pass `filter`, newest first.
    fn events(
        &self,
        filter: &EventFilter,
        limit: i64,
    ) -> impl std::future::Future<Output = Result<Vec<StoredEvent>, StoreError>> + Send;
    /// Deletes at most `batch` events older than `before`; how many.
    fn prune_events(
        &self,
        before: i64,
        batch: i64,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send;
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<StoredEvent, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("audit_events: {e}"));
    Ok(StoredEvent {
        id: row.try_get("id").map_err(get)?,
        at: row.try_get("at").map_err(get)?,
        kind: row.try_get("kind").map_err(get)?,
        user_id: row.try_get("user_id").map_err(get)?,
        client_id: row.try_get("client_id").map_err(get)?,
        actor: row.try_get("actor").map_err(get)?,
        ip: row.try_get("ip").map_err(get)?,
        detail: row.try_get("detail").map_err(get)?,
    })
}

impl AuditStore for Store {
    async fn insert_event(&self, e: &StoredEvent) -> Result<(), StoreError> {
        // Not repeated after an unknown outcome: a lost commit would store
        // the event twice.
        retried!("audit event", Repeat::Once, async {
            sqlx::query(
                "INSERT INTO audit_events (at, kind, user_id, client_id, actor, ip, detail) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(e.at)
            .bind(&e.kind)
            .bind(e.user_id.clone())
            .bind(e.client_id.clone())
            .bind(&e.actor)
            .bind(e.ip.clone())
            .bind(&e.detail)
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn events(&self, f: &EventFilter, limit: i64) -> Result<Vec<StoredEvent>, StoreError> {
        // Only the conditions of the filters present, each an equality or
        // range on an indexed column whose index ends in `id`, so the
        // planner reads a range of one index newest first (a condition
        // like `$1 IS NULL OR user_id = $1` would hide the index). The
        // text is built from fixed fragments; every value is bound.
        let mut sql = String::from(
            "SELECT id, at, kind, user_id, client_id, actor, ip, detail FROM audit_events WHERE 1 = 1",
        );
        let mut n = 0;
        let mut condition = |sql: &mut String, fragment: &str| {
            n += 1;
            sql.push_str(&format!(" AND {fragment} ${n}"));
        };
        if f.user_id.is_some() {
            condition(&mut sql, "user_id =");
        }
        if f.client_id.is_some() {
            condition(&mut sql, "client_id =");
        }
        if f.kind.is_some() {
            condition(&mut sql, "kind =");
        }
        if f.since.is_some() {
            condition(&mut sql, "at >=");
        }
        if f.until.is_some() {
            condition(&mut sql, "at <");
        }
        if f.before_id.is_some() {
            condition(&mut sql, "id <");
        }
        sql.push_str(&format!(" ORDER BY id DESC LIMIT ${}", n + 1));
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for text in [&f.user_id, &f.client_id, &f.kind].into_iter().flatten() {
            query = query.bind(text.clone());
        }
        for number in [f.since, f.until, f.before_id].into_iter().flatten() {
            query = query.bind(number);
        }
        let rows = query.bind(limit).fetch_all(self.pool()).await?;
        rows.iter().map(from_row).collect()
    }

    async fn prune_events(&self, before: i64, batch: i64) -> Result<u64, StoreError> {
        retried!("audit pruning", Repeat::Safe, async {
            let done = sqlx::query(
                "DELETE FROM audit_events WHERE id IN \
                 (SELECT id FROM audit_events WHERE at < $1 ORDER BY at LIMIT $2)",
            )
            .bind(before)
            .bind(batch)
            .execute(self.pool())
            .await?;
            Ok(done.rows_affected())
        })
    }
}
