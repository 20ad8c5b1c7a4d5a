//! Reading the audit log: a page of events, newest first, narrowed by
//! user, client, kind and time. The admin API (`GET /admin/v1/audit`) and
//! `tessera audit list` both call [`list`].

use base64::Engine as _;

use super::AuditKind;
use crate::store::{AuditStore, EventFilter, StoreError};

/// The most events a page holds.
pub const MAX_LIMIT: usize = 200;
/// How many a page holds when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;

/// What to list: `?user_id=&client_id=&kind=&since=&until=&limit=&cursor=`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Only the events of this user.
    pub user_id: Option<String>,
    /// Only the events of this client.
    pub client_id: Option<String>,
    /// Only events of this kind (`sign_in`, `sign_in_failed`, ...).
    pub kind: Option<String>,
    /// Only events at or after this time (seconds since the epoch).
    pub since: Option<i64>,
    /// Only events before this time (seconds since the epoch).
    pub until: Option<i64>,
    /// At most this many events: 1 to 200, 50 when absent.
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// One event as the admin API and the CLI show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, utoipa::ToSchema)]
pub struct EventView {
    /// The event's id: larger is newer.
    pub id: i64,
    /// When (seconds since the epoch).
    pub at: i64,
    /// What happened.
    pub kind: AuditKind,
    /// The user it concerns.
    pub user_id: Option<String>,
    /// The client it concerns.
    pub client_id: Option<String>,
    /// Who did it: `user`, `admin:<sub>`, `cli`, `client`, `anonymous` or
    /// `server`.
    pub actor: String,
    /// The address of the request, when known.
    pub ip: Option<String>,
    /// Names, counts and reasons; never a secret.
    #[schema(value_type = Object)]
    pub detail: serde_json::Value,
}

/// A page of events, newest first.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct EventPage {
    /// The events.
    pub items: Vec<EventView>,
    /// Where the next (older) page starts; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// Why a list was refused.
#[derive(Debug, thiserror::Error)]
pub enum ListError {
    /// A filter or paging parameter is malformed: what to fix.
    #[error("{0}")]
    InvalidRequest(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The page `query` asks for. Keyset paging on the event id (newest
/// first): an event recorded meanwhile never shifts a page; the cursor is
/// the base64url of the last id shown.
pub async fn list<S: AuditStore + ?Sized>(store: &S, query: &AuditQuery) -> Result<EventPage, ListError> {
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(ListError::InvalidRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    let kind = match query.kind.as_deref() {
        None => None,
        Some(name) => Some(AuditKind::parse(name).ok_or_else(|| {
            ListError::InvalidRequest(format!(
                "kind: {name:?} is not one of {}",
                AuditKind::ALL.map(AuditKind::as_str).join(", ")
            ))
        })?),
    };
    if let (Some(since), Some(until)) = (query.since, query.until) {
        if since >= until {
            return Err(ListError::InvalidRequest("since must be before until".into()));
        }
    }
    let before_id = match &query.cursor {
        None => None,
        Some(cursor) => Some(
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(cursor)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.parse::<i64>().ok())
                .ok_or_else(|| ListError::InvalidRequest("cursor is not one this API gave".into()))?,
        ),
    };
    let filter = EventFilter {
        user_id: query.user_id.clone(),
        client_id: query.client_id.clone(),
        kind: kind.map(|k| k.as_str().to_owned()),
        since: query.since,
        until: query.until,
        before_id,
    };
    // One more than the page, to know whether another follows.
    let want = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let mut rows = store.events(&filter, want).await?;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => {
            Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(last.id.to_string()))
        }
        _ => None,
    };
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        let kind = AuditKind::parse(&row.kind).ok_or_else(|| {
            StoreError::Corrupt(format!("audit_events: {}: unknown kind {:?}", row.id, row.kind))
        })?;
        let detail = serde_json::from_str(&row.detail)
            .map_err(|e| StoreError::Corrupt(format!("audit_events: {}: detail: {e}", row.id)))?;
        items.push(EventView {
            id: row.id,
            at: row.at,
            kind,
            user_id: row.user_id,
            client_id: row.client_id,
            actor: row.actor,
            ip: row.ip,
            detail,
        });
    }
    Ok(EventPage { items, next_cursor })
}
