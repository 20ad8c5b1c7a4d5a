//! Registered resource servers ([RFC 8707]).
//!
//! There are few (an operator registers each API), and the token endpoint
//! needs them whenever a grant names one, so each node reads them all at
//! once and keeps them for [`CACHE_TTL`]: a [`Registry`].
//!
//! [RFC 8707]: https://www.rfc-editor.org/rfc/rfc8707

use std::sync::{Arc, RwLock};

use std::time::{Duration, Instant};

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{conflict, Store, StoreError};
use crate::domain::{Registry, Resource, Scope};

/// How long a node may serve a resource list after another node (or the
/// CLI) changed it. Changes made through this node apply at once.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// The registry read last, and when.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cache(Arc<RwLock<Option<(Registry, Instant)>>>);

impl Cache {
    fn get(&self) -> Option<Registry> {
        let read = self.0.read().ok()?;
        let (registry, at) = read.as_ref()?;
        (at.elapsed() < CACHE_TTL).then(|| registry.clone())
    }

    fn put(&self, registry: &Registry) {
        if let Ok(mut slot) = self.0.write() {
            *slot = Some((registry.clone(), Instant::now()));
        }
    }

    fn forget(&self) {
        if let Ok(mut slot) = self.0.write() {
            *slot = None;
        }
    }
}

/// Resource servers.
pub trait ResourceStore {
    /// Registers a resource; [`StoreError::Conflict`] if the identifier is
    /// taken.
    fn create_resource(
        &self,
        resource: &Resource,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Every registered resource (from the node's cache for up to
    /// `CACHE_TTL`).
    fn resources(&self) -> impl std::future::Future<Output = Result<Registry, StoreError>> + Send;
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Resource, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("resources: {e}"));
    Ok(Resource {
        identifier: row.try_get("identifier").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        scopes: Scope::from_stored(&row.try_get::<String, _>("scopes").map_err(get)?),
        created_at: row.try_get("created_at").map_err(get)?,
    })
}

impl ResourceStore for Store {
    async fn create_resource(&self, r: &Resource) -> Result<(), StoreError> {
        retried!("resource registration", Repeat::Once, async {
            sqlx::query(
                "INSERT INTO resources (identifier, name, scopes, created_at) VALUES ($1, $2, $3, $4)",
            )
            .bind(&r.identifier)
            .bind(&r.name)
            .bind(r.scopes.as_str())
            .bind(r.created_at)
            .execute(self.pool())
            .await
            .map_err(|e| conflict(e, &format!("resource {}", r.identifier)))?;
            self.resources.forget();
            Ok(())
        })
    }

    async fn resources(&self) -> Result<Registry, StoreError> {
        if let Some(registry) = self.resources.get() {
            return Ok(registry);
        }
        let rows =
            sqlx::query("SELECT identifier, name, scopes, created_at FROM resources ORDER BY identifier")
                .fetch_all(self.pool())
                .await?;
        let registry = Registry::of(rows.iter().map(from_row).collect::<Result<_, _>>()?);
        self.resources.put(&registry);
        Ok(registry)
    }
}
