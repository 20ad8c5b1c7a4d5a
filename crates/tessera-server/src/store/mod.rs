//! Storage: one SQL implementation for SQLite (the embedded default) and
//! PostgreSQL (for several nodes), split by concern into small traits
//! ([`ClientStore`], [`KeyStore`]) so each protocol module depends only on
//! what it uses.
//!
//! Queries are plain runtime SQL through sqlx's `Any` driver, portable
//! between the two databases (`$1` placeholders work in both), so nothing
//! needs a live database to compile. Migrations are versioned files under
//! `migrations/{sqlite,postgres}/`, embedded in the binary and applied at
//! start.

mod assertions;
mod attempts;
mod audit;
mod clients;
mod codes;
mod consents;
mod dpop_proofs;
mod email_tokens;
mod factors;
mod grants;
mod interactions;
mod introspection;
mod keys;
mod mfa_tokens;
mod passkeys;
mod prune;
mod pushed;
mod refresh_tokens;
mod registrations;
mod resources;
pub mod retry;
mod revocations;
mod sessions;
mod upstream;
mod users;
mod versions;

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::AnyPool;

pub use crate::domain::{Client, User};
pub use assertions::AssertionStore;
pub use attempts::{AttemptStore, Counts};
pub use audit::{AuditStore, EventFilter, StoredEvent};
pub use clients::{ClientStore, CACHE_TTL as CLIENT_CACHE_TTL};
pub use codes::{AuthorizationCode, CodeStore, Redeemed};
pub use consents::{Consent, ConsentStore};
pub use dpop_proofs::DpopProofStore;
pub use email_tokens::{Confirmed, EmailToken, EmailTokenStore, Purpose};
pub use factors::{FactorStore, StoredTotp};
pub use interactions::{Interaction, InteractionStore};
pub use introspection::{key_revocation_jti, IntrospectionStore, RefreshTokenStatus};
pub use keys::{KeyGeneration, KeyStore, StoredKey};
pub use mfa_tokens::{MfaToken, MfaTokenStore, MFA_TOKEN_FAILURES};
pub use passkeys::{Added, ChallengePurpose, Passkey, PasskeyStore, StoredChallenge};
pub use prune::{
    drain as prune_drain, drain_audit as prune_audit, prune_forever, PruneStore, Pruned, CODE_KEPT_FOR,
    PRUNE_BATCH, PRUNE_EVERY,
};
pub use pushed::{PushedRequest, PushedRequestStore};
pub use refresh_tokens::{Consumed, Family, IssuedGrant, Presented, RefreshToken, RefreshTokenStore};
pub use registrations::RegistrationStore;
pub use resources::ResourceStore;
pub use retry::{Failure, Repeat, MOST_ATTEMPTS};
pub use revocations::RevocationStore;
pub use sessions::{Session, SessionStore};
pub use upstream::{Created, Identity, Trip, UpstreamStore};
pub use users::UserStore;
pub use versions::{Conditional, UserChanges, VersionStore};

/// A storage failure. Callers answer `server_error`; the detail is logged.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database said no, or could not be reached.
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    /// A query shared by several requests failed (its error, as text).
    #[error("database error: {0}")]
    Shared(String),
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A row the code wrote cannot be read back.
    #[error("corrupt row: {0}")]
    Corrupt(String),
    /// A row with this key exists already.
    #[error("already exists: {0}")]
    Conflict(String),
    /// The database URL is not sqlite:// or postgres://.
    #[error("unsupported database URL {0:?}: use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
}

/// How long a query waits for a database connection by default.
pub const DEFAULT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

impl StoreError {
    /// Whether the database could not be reached or kept failing for a
    /// passing reason (no connection within the timeout, connection lost,
    /// a deadlock or serialization failure left after the retries of
    /// [`retry`]): a 503 and a retry later, not a fault in the request.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            StoreError::Database(sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed)
        ) || self.failure() != Failure::Final
    }
}

/// Which database a store talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite file.
    Sqlite,
    /// PostgreSQL server.
    Postgres,
}

/// The store: a connection pool, its backend, and an in-memory cache of
/// clients (see [`ClientStore`] for its staleness bound).
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    clients: clients::Cache,
    resources: resources::Cache,
    revocation_checks: std::sync::Arc<revocations::Batch>,
}

/// Versioned migrations, embedded; each backend has its own SQL dialect.
macro_rules! migrations {
    ($dir:literal) => {
        &[
            (
                1,
                "init",
                include_str!(concat!("../../migrations/", $dir, "/0001_init.sql")),
            ),
            (
                2,
                "revocations",
                include_str!(concat!("../../migrations/", $dir, "/0002_revocations.sql")),
            ),
            (
                3,
                "users",
                include_str!(concat!("../../migrations/", $dir, "/0003_users.sql")),
            ),
            (
                4,
                "key_activation",
                include_str!(concat!("../../migrations/", $dir, "/0004_key_activation.sql")),
            ),
            (
                5,
                "refresh_cookie",
                include_str!(concat!("../../migrations/", $dir, "/0005_refresh_cookie.sql")),
            ),
            (
                6,
                "auth_method",
                include_str!(concat!("../../migrations/", $dir, "/0006_auth_method.sql")),
            ),
            (
                7,
                "client_origins",
                include_str!(concat!("../../migrations/", $dir, "/0007_client_origins.sql")),
            ),
            (
                8,
                "authorization_codes",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0008_authorization_codes.sql"
                )),
            ),
            (
                9,
                "login_attempts",
                include_str!(concat!("../../migrations/", $dir, "/0009_login_attempts.sql")),
            ),
            (
                10,
                "introspection",
                include_str!(concat!("../../migrations/", $dir, "/0010_introspection.sql")),
            ),
            (
                11,
                "key_revocation",
                include_str!(concat!("../../migrations/", $dir, "/0011_key_revocation.sql")),
            ),
            (
                12,
                "grant_families",
                include_str!(concat!("../../migrations/", $dir, "/0012_grant_families.sql")),
            ),
            (
                13,
                "user_state",
                include_str!(concat!("../../migrations/", $dir, "/0013_user_state.sql")),
            ),
            (
                14,
                "username_key",
                include_str!(concat!("../../migrations/", $dir, "/0014_username_key.sql")),
            ),
            (
                15,
                "session_address",
                include_str!(concat!("../../migrations/", $dir, "/0015_session_address.sql")),
            ),
            (
                16,
                "interactions",
                include_str!(concat!("../../migrations/", $dir, "/0016_interactions.sql")),
            ),
            (
                17,
                "upstream",
                include_str!(concat!("../../migrations/", $dir, "/0017_upstream.sql")),
            ),
            (
                18,
                "email_lookup",
                include_str!(concat!("../../migrations/", $dir, "/0018_email_lookup.sql")),
            ),
            (
                19,
                "client_keys",
                include_str!(concat!("../../migrations/", $dir, "/0019_client_keys.sql")),
            ),
            (
                20,
                "credentials",
                include_str!(concat!("../../migrations/", $dir, "/0020_credentials.sql")),
            ),
            (
                21,
                "sign_in_proofs",
                include_str!(concat!("../../migrations/", $dir, "/0021_sign_in_proofs.sql")),
            ),
            (
                22,
                "client_assertions",
                include_str!(concat!("../../migrations/", $dir, "/0022_client_assertions.sql")),
            ),
            (
                23,
                "pushed_requests",
                include_str!(concat!("../../migrations/", $dir, "/0023_pushed_requests.sql")),
            ),
            (
                24,
                "client_require_par",
                include_str!(concat!("../../migrations/", $dir, "/0024_client_require_par.sql")),
            ),
            (
                25,
                "client_provenance",
                include_str!(concat!("../../migrations/", $dir, "/0025_client_provenance.sql")),
            ),
            (
                26,
                "resources",
                include_str!(concat!("../../migrations/", $dir, "/0026_resources.sql")),
            ),
            (
                27,
                "dpop_proofs",
                include_str!(concat!("../../migrations/", $dir, "/0027_dpop_proofs.sql")),
            ),
            (
                28,
                "dynamic_registration",
                include_str!(concat!(
                    "../../migrations/",
                    $dir,
                    "/0028_dynamic_registration.sql"
                )),
            ),
            (
                29,
                "factors",
                include_str!(concat!("../../migrations/", $dir, "/0029_factors.sql")),
            ),
            (
                30,
                "mfa_tokens",
                include_str!(concat!("../../migrations/", $dir, "/0030_mfa_tokens.sql")),
            ),
            (
                31,
                "passkeys",
                include_str!(concat!("../../migrations/", $dir, "/0031_passkeys.sql")),
            ),
            (
                32,
                "step_up",
                include_str!(concat!("../../migrations/", $dir, "/0032_step_up.sql")),
            ),
            (
                33,
                "admin_clients",
                include_str!(concat!("../../migrations/", $dir, "/0033_admin_clients.sql")),
            ),
            (
                34,
                "email_tokens",
                include_str!(concat!("../../migrations/", $dir, "/0034_email_tokens.sql")),
            ),
            (
                35,
                "audit_events",
                include_str!(concat!("../../migrations/", $dir, "/0035_audit_events.sql")),
            ),
            (
                36,
                "row_versions",
                include_str!(concat!("../../migrations/", $dir, "/0036_row_versions.sql")),
            ),
            (
                37,
                "expiry_indexes",
                include_str!(concat!("../../migrations/", $dir, "/0037_expiry_indexes.sql")),
            ),
        ]
    };
}

const SQLITE_MIGRATIONS: &[(i64, &str, &str)] = migrations!("sqlite");
const POSTGRES_MIGRATIONS: &[(i64, &str, &str)] = migrations!("postgres");

/// The migrator for these (version, description, SQL) files.
fn migrator(files: &[(i64, &'static str, &'static str)]) -> Migrator {
    let migrations = files
        .iter()
        .map(|(version, description, sql)| {
            Migration::new(
                *version,
                Cow::Borrowed(*description),
                MigrationType::Simple,
                sqlx::SqlStr::from_static(sql),
                false,
            )
        })
        .collect::<Vec<_>>();
    Migrator {
        migrations: Cow::Owned(migrations),
        ..Migrator::DEFAULT
    }
}

impl Store {
    /// Connects (creating a SQLite file and its folder on first start) and
    /// applies pending migrations; a query waits at most
    /// [`DEFAULT_TIMEOUT`] for a connection.
    pub async fn open(url: &str) -> Result<Store, StoreError> {
        Store::open_with_timeout(url, DEFAULT_TIMEOUT).await
    }

    /// [`Store::open`], with `timeout` as the longest a query waits for a
    /// connection: when the database is down, requests fail after it
    /// (503) instead of hanging.
    pub async fn open_with_timeout(url: &str, timeout: std::time::Duration) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        };
        let memory = backend == Backend::Sqlite && is_sqlite_memory(url);
        let url = if memory {
            memory_database_url()
        } else if backend == Backend::Sqlite {
            if let Some(path) = sqlite_path(url) {
                create_private(Path::new(path)).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
            }
            // WAL lets the CLI write while the server reads; a busy timeout
            // makes concurrent writers wait instead of failing.
            let sep = if url.contains('?') { '&' } else { '?' };
            format!("{url}{sep}mode=rwc")
        } else {
            url.to_owned()
        };
        let options = AnyConnectOptions::from_str(&url)?;
        let pool = AnyPoolOptions::new().max_connections(if backend == Backend::Sqlite { 4 } else { 16 });
        // A memory database lives as long as one connection to it is open:
        // keep one, and never close it for idleness or age.
        let pool = if memory {
            pool.min_connections(1).idle_timeout(None).max_lifetime(None)
        } else {
            pool
        };
        let pool = pool
            .acquire_timeout(timeout)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        sqlx::query("PRAGMA journal_mode = WAL")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA busy_timeout = 5000")
                            .execute(&mut *conn)
                            .await?;
                        sqlx::query("PRAGMA foreign_keys = ON")
                            .execute(&mut *conn)
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await?;
        let store = Store {
            pool,
            backend,
            clients: clients::Cache::default(),
            resources: resources::Cache::default(),
            revocation_checks: std::sync::Arc::default(),
        };
        store.migrate().await?;
        users::fill_username_keys(&store).await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let files = match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS,
            Backend::Postgres => POSTGRES_MIGRATIONS,
        };
        migrator(files).run(&self.pool).await?;
        Ok(())
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Whether the database answers (for `/readyz`).
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }
}

/// The URL of an in-memory SQLite database, for tests: each [`Store`]
/// opened with it has a database of its own, empty and migrated, that all
/// of that store's pooled connections share, and that is gone when the
/// store (all its clones) is dropped. `sqlite://:memory:` is the same.
///
/// (sqlx's `Any` driver parses the URL again for every connection it
/// opens, and SQLite gives each connection to a plain `:memory:` its own
/// database, so [`Store::open`] turns this URL into a named shared-cache
/// memory database of its own, [SQLite's in-memory databases and shared
/// cache].)
///
/// [SQLite's in-memory databases and shared cache]: https://www.sqlite.org/inmemorydb.html#sharedmemdb
pub const SQLITE_MEMORY: &str = "sqlite::memory:";

/// Whether `url` names an in-memory SQLite database ([`SQLITE_MEMORY`]).
fn is_sqlite_memory(url: &str) -> bool {
    let Some(rest) = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
    else {
        return false;
    };
    rest.split('?').next() == Some(":memory:")
}

/// A URL for a new named shared-cache memory database, unique in this
/// process (see [`SQLITE_MEMORY`]).
fn memory_database_url() -> String {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    format!(
        "sqlite:file:tessera-memory-{}-{n}?mode=memory&cache=shared",
        std::process::id()
    )
}

/// The file path of a `sqlite://PATH` or `sqlite:PATH` URL.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let rest = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next()?;
    (!path.is_empty() && path != ":memory:").then_some(path)
}

/// Creates the SQLite file's folder (0700) and the file itself (0600)
/// before SQLite opens it: the file holds password hashes, sealed keys and
/// personal data, and SQLite gives its `-wal` and `-shm` files the
/// database file's permissions. Existing files are left as they are
/// ([`loose_permissions`] reports them).
fn create_private(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)?;
    }
    match std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
    {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

/// The SQLite folder and files (database, `-wal`, `-shm`, `master.key`)
/// that other users may read or enter, each with a sentence saying so;
/// `tessera serve` logs them as warnings at start.
pub fn loose_permissions(url: &str) -> Vec<String> {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = sqlite_path(url).map(Path::new) else {
        return Vec::new();
    };
    let mut found = Vec::new();
    let mut check = |p: &Path, strict: u32| {
        if let Ok(meta) = std::fs::metadata(p) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & !strict != 0 {
                found.push(format!(
                    "{} has mode {mode:o}; other users may read it (use chmod {strict:o})",
                    p.display()
                ));
            }
        }
    };
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        check(dir, 0o700);
        check(&dir.join("master.key"), 0o600);
    }
    check(path, 0o600);
    for suffix in ["-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        check(Path::new(&name), 0o600);
    }
    found
}

/// A list column's value: words separated by spaces (grant types, scopes,
/// roles, `amr` values; none contains a space).
pub(crate) fn join(list: &[String]) -> String {
    list.join(" ")
}

/// A list column read back (see [`join`]).
pub(crate) fn split(s: &str) -> Vec<String> {
    s.split_ascii_whitespace().map(str::to_owned).collect()
}

/// The first row a write outside a transaction returns (`... RETURNING`),
/// read only once the database has answered the whole statement: the rows
/// come before the statement's commit, so `fetch_optional`, which stops at
/// the first row, would take a commit that then failed (a lost connection,
/// a deferred check) for a success. See [`retry`].
pub(crate) async fn returning<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    pool: &AnyPool,
) -> Result<Option<sqlx::any::AnyRow>, sqlx::Error> {
    Ok(query.fetch_all(pool).await?.into_iter().next())
}

/// Maps a unique-constraint violation to [`StoreError::Conflict`].
pub(crate) fn conflict(e: sqlx::Error, what: &str) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => StoreError::Conflict(what.to_owned()),
        _ => StoreError::Database(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 18, item 8: `sqlite::memory:` is one database per store,
    /// shared by all its pooled connections (sqlx's `Any` driver opens each
    /// connection from the URL again, and a plain `:memory:` connection
    /// has a database of its own), and two stores do not share one.
    #[tokio::test]
    async fn a_memory_store_is_one_database_for_all_its_connections() {
        assert!(is_sqlite_memory(SQLITE_MEMORY));
        assert!(is_sqlite_memory("sqlite://:memory:"));
        assert!(!is_sqlite_memory("sqlite://./tessera.db"));
        assert_eq!(sqlite_path(SQLITE_MEMORY), None);

        let store = Store::open(SQLITE_MEMORY).await.unwrap();
        let other = Store::open(SQLITE_MEMORY).await.unwrap();
        sqlx::query("CREATE TABLE probe (n INTEGER)")
            .execute(store.pool())
            .await
            .unwrap();
        // Hold every connection of the pool at once: each sees the table.
        let mut held = Vec::new();
        for _ in 0..4 {
            let mut conn = store.pool().acquire().await.unwrap();
            sqlx::query("INSERT INTO probe (n) VALUES (1)")
                .execute(&mut *conn)
                .await
                .unwrap();
            held.push(conn);
        }
        drop(held);
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM probe")
            .fetch_one(store.pool())
            .await
            .unwrap();
        assert_eq!(count, 4);
        assert!(sqlx::query("SELECT n FROM probe")
            .execute(other.pool())
            .await
            .is_err());
    }
}
