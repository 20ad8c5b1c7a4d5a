//! Registered clients ([RFC 6749 §2]).
//!
//! [RFC 6749 §2]: https://www.rfc-editor.org/rfc/rfc6749#section-2

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{conflict, join, split, Store, StoreError};
use crate::domain::Scope;

/// How long a node may serve a cached client after another node changed or
/// deleted it. Changes made through this node apply at once.
pub const CACHE_TTL: Duration = Duration::from_secs(5);
const CACHE_MAX: usize = 10_000;

/// Clients read recently, so the token endpoint does not query the
/// database for its client on every request.
#[derive(Clone, Debug, Default)]
pub(crate) struct Cache(Arc<RwLock<HashMap<String, (Client, Instant)>>>);

impl Cache {
    fn get(&self, id: &str) -> Option<Client> {
        let map = self.0.read().ok()?;
        let (client, at) = map.get(id)?;
        (at.elapsed() < CACHE_TTL).then(|| client.clone())
    }

    fn put(&self, client: &Client) {
        if let Ok(mut map) = self.0.write() {
            if map.len() >= CACHE_MAX {
                map.clear();
            }
            map.insert(client.id.clone(), (client.clone(), Instant::now()));
        }
    }

    fn forget(&self, id: &str) {
        if let Ok(mut map) = self.0.write() {
            map.remove(id);
        }
    }
}

/// A registered client as stored. Secrets are never stored, only their
/// SHA-256 hash: client secrets are 256-bit random values, for which a fast
/// hash is right (a slow password hash would cap the token endpoint).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// Display name (shown on consent pages).
    pub name: String,
    /// SHA-256 of the secret; `None` for a public client.
    pub secret_hash: Option<Vec<u8>>,
    /// Grant types it may use (`client_credentials`, `password`, ...).
    pub grant_types: Vec<String>,
    /// Scopes it may request.
    pub scopes: Scope,
    /// Audiences its access tokens may name.
    pub audiences: Vec<String>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Access token lifetime in seconds.
    pub access_token_ttl: i64,
    /// Creation time (seconds since the epoch).
    pub created_at: i64,
    /// Whether `/api/v1` puts its refresh token in an HttpOnly cookie.
    pub refresh_cookie: bool,
    /// The one token endpoint authentication method it may use
    /// (`client_secret_basic` or `client_secret_post`); empty for either.
    pub auth_method: String,
    /// A first-party client (the operator's own app): its users are not
    /// asked for consent.
    pub first_party: bool,
    /// Where RP-initiated logout may send the user back to.
    pub post_logout_redirect_uris: Vec<String>,
    /// The audiences (APIs) this client is the resource server for: it may
    /// introspect tokens issued for them ([RFC 7662 §4]: introspection is
    /// need-to-know). Any client may introspect its own tokens.
    ///
    /// [RFC 7662 §4]: https://www.rfc-editor.org/rfc/rfc7662#section-4
    pub resource_server_for: Vec<String>,
}

/// What `ClientStore::create_client` needs.
pub type NewClient = Client;

/// Clients, by id. Reads may be served from a per-node cache for up to
/// `CACHE_TTL` after another node (or the CLI) changed a client.
pub trait ClientStore {
    /// Stores a new client; [`StoreError::Conflict`] if the id exists.
    fn create_client(
        &self,
        client: &NewClient,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The client with this id.
    fn client(
        &self,
        id: &str,
    ) -> impl std::future::Future<Output = Result<Option<Client>, StoreError>> + Send;
    /// All clients, by id.
    fn clients(&self) -> impl std::future::Future<Output = Result<Vec<Client>, StoreError>> + Send;
    /// Deletes a client (and its origins); whether it existed.
    fn delete_client(&self, id: &str) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Stores a new client and its browser origins (CORS) in one
    /// transaction: both or neither.
    fn create_client_with_origins(
        &self,
        client: &NewClient,
        origins: &[String],
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Whether any client registered this origin.
    fn origin_registered(
        &self,
        origin: &str,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

fn from_row(row: &sqlx::any::AnyRow) -> Result<Client, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("clients: {e}"));
    Ok(Client {
        id: row.try_get("id").map_err(get)?,
        name: row.try_get("name").map_err(get)?,
        secret_hash: row.try_get("secret_hash").map_err(get)?,
        grant_types: split(&row.try_get::<String, _>("grant_types").map_err(get)?),
        scopes: Scope::from_stored(&row.try_get::<String, _>("scopes").map_err(get)?),
        audiences: split(&row.try_get::<String, _>("audiences").map_err(get)?),
        redirect_uris: split(&row.try_get::<String, _>("redirect_uris").map_err(get)?),
        access_token_ttl: row.try_get("access_token_ttl").map_err(get)?,
        created_at: row.try_get("created_at").map_err(get)?,
        refresh_cookie: row.try_get::<i64, _>("refresh_cookie").map_err(get)? != 0,
        auth_method: row.try_get("auth_method").map_err(get)?,
        first_party: row.try_get::<i64, _>("first_party").map_err(get)? != 0,
        post_logout_redirect_uris: split(
            &row.try_get::<String, _>("post_logout_redirect_uris")
                .map_err(get)?,
        ),
        resource_server_for: split(&row.try_get::<String, _>("resource_server_for").map_err(get)?),
    })
}

/// The columns, as a literal so every query stays a static string.
macro_rules! columns {
    () => {
        "id, name, secret_hash, grant_types, scopes, audiences, redirect_uris, access_token_ttl, created_at, refresh_cookie, auth_method, first_party, post_logout_redirect_uris, resource_server_for"
    };
}

impl ClientStore for Store {
    async fn create_client(&self, c: &NewClient) -> Result<(), StoreError> {
        self.create_client_with_origins(c, &[]).await
    }

    async fn create_client_with_origins(&self, c: &NewClient, origins: &[String]) -> Result<(), StoreError> {
        retried!("client registration", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            sqlx::query(concat!(
                "INSERT INTO clients (",
                columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
            ))
            .bind(&c.id)
            .bind(&c.name)
            .bind(c.secret_hash.clone())
            .bind(join(&c.grant_types))
            .bind(c.scopes.as_str())
            .bind(join(&c.audiences))
            .bind(join(&c.redirect_uris))
            .bind(c.access_token_ttl)
            .bind(c.created_at)
            .bind(i64::from(c.refresh_cookie))
            .bind(&c.auth_method)
            .bind(i64::from(c.first_party))
            .bind(join(&c.post_logout_redirect_uris))
            .bind(join(&c.resource_server_for))
            .execute(&mut *tx)
            .await
            .map_err(|e| conflict(e, &format!("client {}", c.id)))?;
            for origin in origins {
                sqlx::query(
                    "INSERT INTO client_origins (client_id, origin) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                )
                .bind(&c.id)
                .bind(origin)
                .execute(&mut *tx)
                .await?;
            }
            tx.commit().await?;
            Ok(())
        })
    }

    async fn client(&self, id: &str) -> Result<Option<Client>, StoreError> {
        if let Some(client) = self.clients.get(id) {
            return Ok(Some(client));
        }
        let row = sqlx::query(concat!("SELECT ", columns!(), " FROM clients WHERE id = $1"))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        let client = row.as_ref().map(from_row).transpose()?;
        if let Some(c) = &client {
            self.clients.put(c);
        }
        Ok(client)
    }

    async fn clients(&self) -> Result<Vec<Client>, StoreError> {
        let rows = sqlx::query(concat!("SELECT ", columns!(), " FROM clients ORDER BY id"))
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(from_row).collect()
    }

    async fn origin_registered(&self, origin: &str) -> Result<bool, StoreError> {
        let row = sqlx::query("SELECT 1 FROM client_origins WHERE origin = $1 LIMIT 1")
            .bind(origin)
            .fetch_optional(self.pool())
            .await?;
        Ok(row.is_some())
    }

    async fn delete_client(&self, id: &str) -> Result<bool, StoreError> {
        retried!("client deletion", Repeat::Safe, async {
            self.clients.forget(id);
            sqlx::query("DELETE FROM client_origins WHERE client_id = $1")
                .bind(id)
                .execute(self.pool())
                .await?;
            let done = sqlx::query("DELETE FROM clients WHERE id = $1")
                .bind(id)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }
}
