//! Registered clients ([RFC 6749 §2]).
//!
//! [RFC 6749 §2]: https://www.rfc-editor.org/rfc/rfc6749#section-2

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{conflict, join, split, Store, StoreError};
use crate::domain::{
    AuthMethod, Client, ClientCredentials, ClientKeys, GrantType, Provenance, Scope, SecretMethod,
};

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

/// Clients, by id. Reads may be served from a per-node cache for up to
/// `CACHE_TTL` after another node (or the CLI) changed a client.
///
/// A supertrait of [`AuditStore`](super::AuditStore): its changes are audited
/// ([`crate::audit::record`]).
pub trait ClientStore: super::AuditStore {
    /// Stores a new client; [`StoreError::Conflict`] if the id exists.
    /// Registration (`clients::registration`) checks it first.
    fn create_client(
        &self,
        client: &Client,
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
        client: &Client,
        origins: &[String],
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Whether any client registered this origin.
    fn origin_registered(
        &self,
        origin: &str,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

/// The stored `auth_method` of a public client or of a secret client that
/// may use either secret method (migration 0006).
const EITHER: &str = "";

/// The columns a client's credentials are stored in: `secret_hash`,
/// `auth_method`, `jwks`, `jwks_uri` (migrations 0001, 0006, 0019).
struct StoredCredentials {
    secret_hash: Option<Vec<u8>>,
    auth_method: &'static str,
    jwks: Option<String>,
    jwks_uri: Option<String>,
}

impl StoredCredentials {
    fn of(credentials: &ClientCredentials) -> StoredCredentials {
        let (secret_hash, auth_method, jwks, jwks_uri) = match credentials {
            ClientCredentials::Secret { hash, method } => (
                Some(hash.clone()),
                method.registered().map_or(EITHER, |m| m.as_str()),
                None,
                None,
            ),
            ClientCredentials::Keys { keys } => {
                let (jwks, uri) = match keys {
                    ClientKeys::Jwks(jwks) => (Some(jwks.clone()), None),
                    ClientKeys::JwksUri(uri) => (None, Some(uri.clone())),
                };
                (None, AuthMethod::PrivateKeyJwt.as_str(), jwks, uri)
            }
            ClientCredentials::None => (None, EITHER, None, None),
        };
        StoredCredentials {
            secret_hash,
            auth_method,
            jwks,
            jwks_uri,
        }
    }
}

/// Reads a client's credentials back from their columns. A combination no
/// registration writes (a secret and keys, keys without `private_key_jwt`,
/// an unknown method) is [`StoreError::Corrupt`], never a guess: a guess
/// could take a confidential client for a public one.
fn credentials(
    id: &str,
    secret_hash: Option<Vec<u8>>,
    auth_method: &str,
    jwks: Option<String>,
    jwks_uri: Option<String>,
) -> Result<ClientCredentials, StoreError> {
    let corrupt = |what: &str| StoreError::Corrupt(format!("client {id}: {what}"));
    let method = match auth_method {
        EITHER => None,
        name => Some(AuthMethod::parse(name).ok_or_else(|| corrupt("unknown auth_method"))?),
    };
    match (secret_hash, jwks, jwks_uri) {
        (Some(hash), None, None) => {
            let method = match method {
                None => SecretMethod::Either,
                Some(m) => SecretMethod::from_auth_method(m)
                    .ok_or_else(|| corrupt("a secret with a method that is not a secret method"))?,
            };
            Ok(ClientCredentials::Secret { hash, method })
        }
        (None, jwks, uri) if jwks.is_some() || uri.is_some() => {
            if method != Some(AuthMethod::PrivateKeyJwt) {
                return Err(corrupt("keys without private_key_jwt"));
            }
            let keys = match (jwks, uri) {
                (Some(jwks), None) => ClientKeys::Jwks(jwks),
                (None, Some(uri)) => ClientKeys::JwksUri(uri),
                (_, _) => return Err(corrupt("both jwks and jwks_uri")),
            };
            Ok(ClientCredentials::Keys { keys })
        }
        (None, _, _) => match method {
            None | Some(AuthMethod::None) => Ok(ClientCredentials::None),
            Some(_) => Err(corrupt("an auth_method but no secret or keys")),
        },
        (Some(_), _, _) => Err(corrupt("both a secret and keys")),
    }
}

/// Reads stored grant type names; an unknown one is corrupt (it would
/// otherwise be dropped, changing what the client may do).
fn grant_types(id: &str, stored: &str) -> Result<Vec<GrantType>, StoreError> {
    split(stored)
        .iter()
        .map(|g| {
            GrantType::parse(g)
                .ok_or_else(|| StoreError::Corrupt(format!("client {id}: unknown grant type {g:?}")))
        })
        .collect()
}

fn provenance(id: &str, stored: &str) -> Result<Provenance, StoreError> {
    Provenance::parse(stored)
        .ok_or_else(|| StoreError::Corrupt(format!("client {id}: unknown provenance {stored:?}")))
}

pub(super) fn from_row(row: &sqlx::any::AnyRow) -> Result<Client, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("clients: {e}"));
    let id: String = row.try_get("id").map_err(get)?;
    let credentials = credentials(
        &id,
        row.try_get("secret_hash").map_err(get)?,
        &row.try_get::<String, _>("auth_method").map_err(get)?,
        row.try_get("jwks").map_err(get)?,
        row.try_get("jwks_uri").map_err(get)?,
    )?;
    let grant_types = grant_types(&id, &row.try_get::<String, _>("grant_types").map_err(get)?)?;
    Ok(Client {
        name: row.try_get("name").map_err(get)?,
        credentials,
        grant_types,
        scopes: Scope::from_stored(&row.try_get::<String, _>("scopes").map_err(get)?),
        audiences: split(&row.try_get::<String, _>("audiences").map_err(get)?),
        redirect_uris: split(&row.try_get::<String, _>("redirect_uris").map_err(get)?),
        access_token_ttl: row.try_get("access_token_ttl").map_err(get)?,
        created_at: row.try_get("created_at").map_err(get)?,
        refresh_cookie: row.try_get::<i64, _>("refresh_cookie").map_err(get)? != 0,
        first_party: row.try_get::<i64, _>("first_party").map_err(get)? != 0,
        require_par: row.try_get::<i64, _>("require_par").map_err(get)? != 0,
        dpop_bound: row.try_get::<i64, _>("dpop_bound").map_err(get)? != 0,
        require_mfa: row.try_get::<i64, _>("require_mfa").map_err(get)? != 0,
        admin: row.try_get::<i64, _>("admin").map_err(get)? != 0,
        provenance: provenance(&id, &row.try_get::<String, _>("provenance").map_err(get)?)?,
        post_logout_redirect_uris: split(
            &row.try_get::<String, _>("post_logout_redirect_uris")
                .map_err(get)?,
        ),
        resource_server_for: split(&row.try_get::<String, _>("resource_server_for").map_err(get)?),
        id,
    })
}

/// The columns, as a literal so every query stays a static string.
macro_rules! columns {
    () => {
        "id, name, secret_hash, grant_types, scopes, audiences, redirect_uris, access_token_ttl, created_at, refresh_cookie, auth_method, first_party, post_logout_redirect_uris, resource_server_for, jwks, jwks_uri, require_par, provenance, dpop_bound, require_mfa, admin"
    };
}
pub(super) use columns;

/// Inserts a client and its browser origins inside `tx`
/// ([`StoreError::Conflict`] if the id exists).
pub(super) async fn insert(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    c: &Client,
    origins: &[String],
) -> Result<(), StoreError> {
    let stored = StoredCredentials::of(&c.credentials);
    let names: Vec<String> = c.grant_types.iter().map(|g| g.as_str().to_owned()).collect();
    sqlx::query(concat!(
        "INSERT INTO clients (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
    ))
    .bind(&c.id)
    .bind(&c.name)
    .bind(stored.secret_hash)
    .bind(join(&names))
    .bind(c.scopes.as_str())
    .bind(join(&c.audiences))
    .bind(join(&c.redirect_uris))
    .bind(c.access_token_ttl)
    .bind(c.created_at)
    .bind(i64::from(c.refresh_cookie))
    .bind(stored.auth_method)
    .bind(i64::from(c.first_party))
    .bind(join(&c.post_logout_redirect_uris))
    .bind(join(&c.resource_server_for))
    .bind(stored.jwks)
    .bind(stored.jwks_uri)
    .bind(i64::from(c.require_par))
    .bind(c.provenance.as_str())
    .bind(i64::from(c.dpop_bound))
    .bind(i64::from(c.require_mfa))
    .bind(i64::from(c.admin))
    .execute(&mut **tx)
    .await
    .map_err(|e| conflict(e, &format!("client {}", c.id)))?;
    for origin in origins {
        sqlx::query("INSERT INTO client_origins (client_id, origin) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(&c.id)
            .bind(origin)
            .execute(&mut **tx)
            .await?;
    }
    Ok(())
}

/// Replaces every column of the client `c.id` of provenance `provenance`
/// but its id, creation time and provenance, inside `tx`; whether it was
/// there. The caller forgets it in the node's cache.
pub(super) async fn replace(
    tx: &mut sqlx::Transaction<'static, sqlx::Any>,
    c: &Client,
    provenance: Provenance,
) -> Result<bool, StoreError> {
    let stored = StoredCredentials::of(&c.credentials);
    let names: Vec<String> = c.grant_types.iter().map(|g| g.as_str().to_owned()).collect();
    let done = sqlx::query(
        "UPDATE clients SET name = $2, secret_hash = $3, grant_types = $4, scopes = $5, audiences = $6, \
         redirect_uris = $7, access_token_ttl = $8, refresh_cookie = $9, auth_method = $10, \
         first_party = $11, post_logout_redirect_uris = $12, resource_server_for = $13, jwks = $14, \
         jwks_uri = $15, require_par = $16, dpop_bound = $18, require_mfa = $19, version = version + 1 \
         WHERE id = $1 AND provenance = $17",
    )
    .bind(&c.id)
    .bind(&c.name)
    .bind(stored.secret_hash)
    .bind(join(&names))
    .bind(c.scopes.as_str())
    .bind(join(&c.audiences))
    .bind(join(&c.redirect_uris))
    .bind(c.access_token_ttl)
    .bind(i64::from(c.refresh_cookie))
    .bind(stored.auth_method)
    .bind(i64::from(c.first_party))
    .bind(join(&c.post_logout_redirect_uris))
    .bind(join(&c.resource_server_for))
    .bind(stored.jwks)
    .bind(stored.jwks_uri)
    .bind(i64::from(c.require_par))
    .bind(provenance.as_str())
    .bind(i64::from(c.dpop_bound))
    .bind(i64::from(c.require_mfa))
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

impl Store {
    /// Forgets a client in this node's cache (after a change made here).
    pub(super) fn forget_client(&self, id: &str) {
        self.clients.forget(id);
    }
}

impl ClientStore for Store {
    async fn create_client(&self, c: &Client) -> Result<(), StoreError> {
        self.create_client_with_origins(c, &[]).await
    }

    async fn create_client_with_origins(&self, c: &Client, origins: &[String]) -> Result<(), StoreError> {
        retried!("client registration", Repeat::Once, async {
            let mut tx = self.pool().begin().await?;
            insert(&mut tx, c, origins).await?;
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
            // A registration access token (RFC 7592) dies with its client.
            sqlx::query("DELETE FROM client_registrations WHERE client_id = $1")
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Every combination of the credential columns: what registration
    /// writes reads back; anything else is corrupt, never a public client.
    #[test]
    fn credential_columns_read_back_or_are_corrupt() {
        let hash = || Some(vec![7u8; 32]);
        let jwks = || Some(r#"{"keys":[{"kty":"EC"}]}"#.to_owned());
        let uri = || Some("https://svc.example/jwks".to_owned());
        let secret = |method| {
            Ok(ClientCredentials::Secret {
                hash: vec![7u8; 32],
                method,
            })
        };
        type Row = (Option<Vec<u8>>, &'static str, Option<String>, Option<String>);
        let table: Vec<(Row, Result<ClientCredentials, ()>)> = vec![
            ((hash(), "", None, None), secret(SecretMethod::Either)),
            (
                (hash(), "client_secret_basic", None, None),
                secret(SecretMethod::Basic),
            ),
            (
                (hash(), "client_secret_post", None, None),
                secret(SecretMethod::Post),
            ),
            ((None, "", None, None), Ok(ClientCredentials::None)),
            ((None, "none", None, None), Ok(ClientCredentials::None)),
            (
                (None, "private_key_jwt", jwks(), None),
                Ok(ClientCredentials::Keys {
                    keys: ClientKeys::Jwks(r#"{"keys":[{"kty":"EC"}]}"#.into()),
                }),
            ),
            (
                (None, "private_key_jwt", None, uri()),
                Ok(ClientCredentials::Keys {
                    keys: ClientKeys::JwksUri("https://svc.example/jwks".into()),
                }),
            ),
            ((hash(), "none", None, None), Err(())),
            ((hash(), "private_key_jwt", None, None), Err(())),
            ((hash(), "client_secret_jwt", None, None), Err(())),
            ((hash(), "", jwks(), None), Err(())),
            ((None, "", jwks(), None), Err(())),
            ((None, "client_secret_basic", None, uri()), Err(())),
            ((None, "private_key_jwt", jwks(), uri()), Err(())),
            ((None, "private_key_jwt", None, None), Err(())),
            ((None, "client_secret_post", None, None), Err(())),
            ((None, "bogus", None, None), Err(())),
        ];
        for ((secret_hash, method, jwks, uri), expected) in table {
            let row = format!("{secret_hash:?} {method:?} {jwks:?} {uri:?}");
            let got = credentials("c", secret_hash, method, jwks, uri);
            match (got, expected) {
                (Ok(got), Ok(expected)) => assert_eq!(got, expected, "{row}"),
                (Err(StoreError::Corrupt(_)), Err(())) => {}
                (got, expected) => panic!("{row}: got {got:?}, expected {expected:?}"),
            }
        }
    }

    /// What registration writes is what the columns say, and reads back.
    #[test]
    fn stored_credentials_round_trip() {
        let all = [
            ClientCredentials::Secret {
                hash: vec![1; 32],
                method: SecretMethod::Either,
            },
            ClientCredentials::Secret {
                hash: vec![1; 32],
                method: SecretMethod::Post,
            },
            ClientCredentials::Keys {
                keys: ClientKeys::JwksUri("https://a.example/jwks".into()),
            },
            ClientCredentials::Keys {
                keys: ClientKeys::Jwks("{}".into()),
            },
            ClientCredentials::None,
        ];
        for c in all {
            let s = StoredCredentials::of(&c);
            let back = credentials("c", s.secret_hash, s.auth_method, s.jwks, s.jwks_uri).unwrap();
            assert_eq!(back, c);
        }
    }

    /// Rows written before migration 0019 (and by the old string columns)
    /// read back as they were; an unknown grant type or method in a row is
    /// `Corrupt`, not dropped or defaulted.
    #[tokio::test]
    async fn existing_rows_read_back_and_unknown_values_are_corrupt() {
        let store = Store::open(crate::store::SQLITE_MEMORY).await.unwrap();
        let insert = |id: &'static str,
                      secret: Option<Vec<u8>>,
                      grants: &'static str,
                      method: &'static str| {
            sqlx::query(
                "INSERT INTO clients (id, name, secret_hash, grant_types, scopes, audiences, redirect_uris, access_token_ttl, created_at, refresh_cookie, auth_method, first_party, post_logout_redirect_uris, resource_server_for) \
                 VALUES ($1, $1, $2, $3, 'openid', 'api', '', 600, 1, 0, $4, 0, '', '')",
            )
            .bind(id)
            .bind(secret)
            .bind(grants)
            .bind(method)
            .execute(store.pool())
        };
        insert("conf", Some(vec![9; 32]), "client_credentials refresh_token", "")
            .await
            .unwrap();
        insert("basic", Some(vec![9; 32]), "password", "client_secret_basic")
            .await
            .unwrap();
        insert("spa", None, "password refresh_token", "").await.unwrap();
        insert("grant", Some(vec![9; 32]), "client_credentials implicit", "")
            .await
            .unwrap();
        insert(
            "method",
            Some(vec![9; 32]),
            "client_credentials",
            "tls_client_auth",
        )
        .await
        .unwrap();

        let conf = store.client("conf").await.unwrap().unwrap();
        assert_eq!(
            conf.credentials,
            ClientCredentials::Secret {
                hash: vec![9; 32],
                method: SecretMethod::Either
            }
        );
        assert_eq!(
            conf.grant_types,
            [GrantType::ClientCredentials, GrantType::RefreshToken]
        );
        assert_eq!(conf.audiences, ["api"]);
        let basic = store.client("basic").await.unwrap().unwrap();
        assert!(matches!(
            basic.credentials,
            ClientCredentials::Secret {
                method: SecretMethod::Basic,
                ..
            }
        ));
        let spa = store.client("spa").await.unwrap().unwrap();
        assert!(spa.is_public());
        assert_eq!(spa.grant_types, [GrantType::Password, GrantType::RefreshToken]);
        for id in ["grant", "method"] {
            assert!(
                matches!(store.client(id).await, Err(StoreError::Corrupt(_))),
                "{id}"
            );
        }
        assert!(matches!(store.clients().await, Err(StoreError::Corrupt(_))));
    }
}
