//! Starting the server: configuration → master key → store (migrations) →
//! keys (created on first start) → HTTP (or https) on the listen address,
//! and `/metrics` on its own address when configured. Connections are
//! served by [`crate::listener`].

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tessera_jwt::UnixTime;
use tokio::net::TcpListener;

use crate::config::{Config, ConfigError, MetricsAt};
use crate::http::{self, AppState};
use crate::keys::{self, KeyRingError, MasterKey, SealError};
use crate::listener::{self, Timeouts};
use crate::store::{self, Backend, KeyStore, Store, StoreError, UpstreamStore};

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The database could not be opened or migrated.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The keys could not be loaded or created.
    #[error(transparent)]
    Keys(#[from] KeyRingError),
    /// The master key is missing or invalid.
    #[error("master key: {0}")]
    MasterKey(String),
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The TLS certificate or key could not be loaded.
    #[error("tls: {0}")]
    Tls(String),
    /// An upstream provider cannot be set up.
    #[error("upstream: {0}")]
    Upstream(String),
}

/// Where the default master key file lives: next to the SQLite file.
fn default_master_key_file(config: &Config) -> Option<PathBuf> {
    let path = store::sqlite_path(&config.database)?;
    Some(
        Path::new(path)
            .parent()
            .unwrap_or(Path::new("."))
            .join("master.key"),
    )
}

/// Loads the master key: `TESSERA_MASTER_KEY`, else the configured file,
/// else (SQLite only) `master.key` beside the database, created 0600.
pub fn master_key(config: &Config) -> Result<MasterKey, StartError> {
    let err = |e: SealError| StartError::MasterKey(e.to_string());
    if let Ok(text) = std::env::var("TESSERA_MASTER_KEY") {
        return MasterKey::from_base64url(&text).map_err(err);
    }
    let path = match (&config.master_key_file, default_master_key_file(config)) {
        (Some(file), _) => PathBuf::from(file),
        (None, Some(default)) => default,
        (None, None) => {
            return Err(StartError::MasterKey(
                "PostgreSQL needs a shared master key: set TESSERA_MASTER_KEY or master_key_file".into(),
            ))
        }
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => MasterKey::from_base64url(&text).map_err(err),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && config.master_key_file.is_none() => {
            use std::io::Write;
            use std::os::unix::fs::OpenOptionsExt;
            if let Some(dir) = path.parent() {
                use std::os::unix::fs::DirBuilderExt;
                std::fs::DirBuilder::new()
                    .recursive(true)
                    .mode(0o700)
                    .create(dir)
                    .map_err(|e| StartError::MasterKey(e.to_string()))?;
            }
            let (key, text) = MasterKey::generate().map_err(err)?;
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| StartError::MasterKey(format!("cannot create {}: {e}", path.display())))?;
            file.write_all(text.as_bytes())
                .map_err(|e| StartError::MasterKey(format!("cannot write {}: {e}", path.display())))?;
            tracing::info!(target: "audit", path = %path.display(), "master key created");
            Ok(key)
        }
        Err(e) => Err(StartError::MasterKey(format!(
            "cannot read {}: {e}",
            path.display()
        ))),
    }
}

/// Everything but the listener: state, and what reloading keys needs.
struct Prepared {
    state: Arc<AppState>,
    master: Arc<MasterKey>,
    token_alg: tessera_jwt::Algorithm,
    /// Seconds audit events are kept (`audit_retention`).
    audit_retention: i64,
}

/// Opens the store and loads (or creates) the keys.
async fn prepare(config: &Config) -> Result<Prepared, StartError> {
    let store = Store::open_with_timeout(
        &config.database,
        std::time::Duration::from_secs(config.database_timeout),
    )
    .await?;
    for warning in store::loose_permissions(&config.database) {
        tracing::warn!("{warning}");
    }
    if store.backend() == Backend::Sqlite {
        tracing::debug!("using SQLite at {}", config.database);
    }
    let master = master_key(config)?;
    let token_alg = config.algorithm()?;
    crate::password::set_queue_limit(config.password_queue);
    // Decompressed now, not during someone's registration.
    let common = crate::password::load_common_passwords();
    tracing::debug!("{common} common passwords loaded");
    let keys = keys::load_or_create(&store, &master, token_alg, UnixTime::now().as_secs()).await?;
    let master = Arc::new(master);
    let mail = config.mail()?;
    tracing::info!("{}", mail.describe());
    let outbox = crate::mail::Outbox::start(mail, &config.issuer())?;
    let upstreams = crate::oauth::upstream::Upstreams::new(
        &config.upstream,
        &config.issuer(),
        std::time::Duration::from_secs(config.upstream_timeout),
        config.self_registration,
    )
    .map_err(StartError::Upstream)?;
    // Identities were once keyed by the table's `id`: moved to the
    // provider's identity key, so renaming an `id` keeps every link.
    for upstream in &config.upstream {
        let key = upstream.identity_key();
        let moved = store.adopt_identities(&upstream.id, &key).await?;
        if moved > 0 {
            tracing::info!(provider = %upstream.id, key, moved, "linked identities now keyed by the provider's identity key");
        }
    }
    // The account page's and the admin console's own clients (first-party
    // clients of this issuer); without one its pages cannot sign anyone
    // in, which is no reason to refuse to serve tokens.
    for own in [crate::account::sign_in::ACCOUNT, crate::console::CONSOLE] {
        if let Err(e) = own
            .ensure_client(&store, &config.issuer(), UnixTime::now().as_secs())
            .await
        {
            tracing::warn!(
                client_id = own.client_id,
                "{} is unavailable: its client could not be registered: {e}",
                own.home
            );
        }
    }
    Ok(Prepared {
        audit_retention: config.audit_retention,
        state: Arc::new(
            AppState::new(
                config.issuer(),
                store,
                keys,
                crate::oauth::device::DeviceKey::new(master.device_cookie_key()),
                Arc::clone(&master),
            )
            .with_self_registration(config.self_registration)
            .with_require_par(config.require_pushed_authorization_requests)
            .with_dynamic_registration(config.dynamic_registration)
            .with_access_token_ttl(config.access_token_ttl)
            .with_cors_origins(config.cors_origins.clone())
            .with_trusted_proxies(config.proxies()?)
            .with_forwarded_header(config.forwarded_header()?)
            .with_metrics_elsewhere(config.metrics_at()? != MetricsAt::Listen)
            .with_family_lifetime(config.refresh_family_lifetime)
            .with_second_factor_max_age(config.second_factor_max_age)
            .with_hsts(config.tls_cert.is_some())
            .with_upstreams(upstreams)
            .with_outbox(outbox)
            .with_clients(crate::clients::directory::Directory::new(
                config.outbound()?,
                config.client_metadata_documents,
                config.access_token_ttl,
            )),
        ),
        master,
        token_alg,
    })
}

/// A bound, ready server.
pub struct Server {
    listener: TcpListener,
    /// The `/metrics` address, when it has its own.
    metrics: Option<TcpListener>,
    tls: Option<tokio_rustls::TlsAcceptor>,
    timeouts: Timeouts,
    /// Client connections open at once ([`listener::connection_cap`]).
    max_connections: usize,
    prepared: Prepared,
}

/// The TLS acceptor, when `tls_cert` and `tls_key` are set.
fn tls(config: &Config) -> Result<Option<tokio_rustls::TlsAcceptor>, StartError> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => listener::tls_acceptor(cert, key)
            .map(Some)
            .map_err(StartError::Tls),
        _ => Ok(None),
    }
}

/// Binds the metrics address, when it has its own. The error names the
/// setting: with the default, a second Tessera on the same host finds the
/// port taken.
async fn bind_metrics(config: &Config) -> Result<Option<TcpListener>, StartError> {
    let MetricsAt::Own(addr) = config.metrics_at()? else {
        return Ok(None);
    };
    TcpListener::bind(addr)
        .await
        .map(Some)
        .map_err(|source| StartError::Bind {
            addr: format!("{addr} (metrics_listen: give each process its own, or `listen` or `off`)"),
            source,
        })
}

impl Server {
    /// Prepares everything and binds the listen (and metrics) address.
    pub async fn bind(config: &Config) -> Result<Server, StartError> {
        let addr = config.listen_addr()?;
        let listener = std::net::TcpListener::bind(addr).map_err(|source| StartError::Bind {
            addr: addr.to_string(),
            source,
        })?;
        Server::with_listener(config, listener).await
    }

    /// Prepares everything and serves on an already-bound listener (tests
    /// bind port 0 first, so the issuer can name the real port). The
    /// metrics address, when configured, is bound here.
    pub async fn with_listener(
        config: &Config,
        listener: std::net::TcpListener,
    ) -> Result<Server, StartError> {
        let tls = tls(config)?;
        let prepared = prepare(config).await?;
        let addr = config.listen.clone();
        let bind_err = |source| StartError::Bind {
            addr: addr.clone(),
            source,
        };
        listener.set_nonblocking(true).map_err(bind_err)?;
        let listener = TcpListener::from_std(listener).map_err(bind_err)?;
        let metrics = bind_metrics(config).await?;
        Ok(Server {
            listener,
            metrics,
            tls,
            timeouts: Timeouts::from_config(config),
            max_connections: listener::connection_cap(config.max_connections),
            prepared,
        })
    }

    /// The bound address (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// The bound metrics address, when `/metrics` has its own.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics.as_ref().and_then(|l| l.local_addr().ok())
    }

    /// Serves until `shutdown` completes, then stops accepting and lets
    /// in-flight requests finish (at most [`listener::GRACE`]).
    /// Meanwhile the keys are checked every [`keys::CHECK_EVERY`] and
    /// reloaded when they changed (and every [`keys::RELOAD_EVERY`]), so a
    /// rotation or revocation made on any node reaches every node.
    pub async fn run(
        self,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let Prepared {
            state,
            master,
            token_alg,
            audit_retention,
        } = self.prepared;
        // Expired rows are deleted in bounded batches by every node (see
        // `store::prune`: deleting is idempotent, so nodes need no
        // coordination).
        let pruner = tokio::spawn(store::prune_forever(
            state.store().clone(),
            crate::oauth::throttle::LONGEST_WINDOW,
            audit_retention,
        ));
        // Keys: a rotation or revocation made anywhere, and a rotated key's
        // activation time passing, are seen within `CHECK_EVERY` (a small
        // poll of the keys' state); the ring is also rebuilt every
        // `RELOAD_EVERY`, whatever the poll says.
        let reloader = tokio::spawn({
            let state = Arc::clone(&state);
            async move {
                let mut tick = tokio::time::interval(keys::CHECK_EVERY);
                tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
                tick.tick().await;
                let mut seen = None;
                let mut loaded = tokio::time::Instant::now();
                let mut loaded_for = UnixTime::now().as_secs();
                loop {
                    tick.tick().await;
                    // A failed poll is quiet: the periodic reload reports.
                    let generation = state.store().key_generation().await.ok();
                    let now = UnixTime::now().as_secs();
                    let changed = generation.is_some() && generation != seen;
                    let activated = generation
                        .as_ref()
                        .is_some_and(|g| g.activates_between(loaded_for, now));
                    if !changed && !activated && loaded.elapsed() < keys::RELOAD_EVERY {
                        continue;
                    }
                    loaded = tokio::time::Instant::now();
                    match keys::load(state.store(), &master, token_alg, now, false).await {
                        Ok(ring) => {
                            state.set_keys(ring);
                            seen = generation;
                            loaded_for = now;
                        }
                        Err(e) => tracing::warn!("key reload failed, keeping the current keys: {e}"),
                    }
                }
            }
        });
        // OpenID providers' metadata, so the sign-in page's CSP names the
        // authorization endpoints they discovered.
        let discovery = tokio::spawn({
            let state = Arc::clone(&state);
            async move { state.upstreams().discover().await }
        });
        let (stop, stopped) = tokio::sync::watch::channel(());
        let metrics = async {
            if let Some(metrics) = self.metrics {
                let app = http::metrics_router(Arc::clone(&state));
                listener::serve(
                    metrics,
                    app,
                    None,
                    self.timeouts,
                    listener::METRICS_CONNECTIONS,
                    stopped.clone(),
                )
                .await;
            }
        };
        let main = listener::serve(
            self.listener,
            http::router(Arc::clone(&state)),
            self.tls,
            self.timeouts,
            self.max_connections,
            stopped.clone(),
        );
        let signal = async move {
            shutdown.await;
            let _ = stop.send(());
        };
        tokio::join!(main, metrics, signal);
        reloader.abort();
        pruner.abort();
        discovery.abort();
        Ok(())
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}
