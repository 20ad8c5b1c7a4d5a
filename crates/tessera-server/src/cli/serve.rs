//! `tessera serve`: run the authorization server.

use clap::Args;

use super::Failure;
use crate::config::{Config, Overrides};
use crate::server::{self, Server};

/// Configuration flags shared by `serve`, `client` and `user`.
#[derive(Debug, Clone, Args)]
pub(crate) struct ConfigArgs {
    /// TOML configuration file (every setting; see `tessera serve --help`).
    #[arg(long, global = true)]
    config: Option<String>,
    /// Database URL: sqlite://PATH (default sqlite://./tessera-data/tessera.db)
    /// or postgres://USER@HOST/DB. Env TESSERA_DATABASE.
    #[arg(long, global = true)]
    database: Option<String>,
}

impl ConfigArgs {
    pub(crate) fn load(&self, listen: Option<String>, issuer: Option<String>) -> anyhow::Result<Config> {
        let overrides = Overrides {
            listen,
            issuer,
            database: self.database.clone(),
        };
        Ok(Config::load(self.config.as_deref(), &overrides)?)
    }
}

/// Run the server.
///
/// Settings (file key / environment / flag; flags win):
///   listen           TESSERA_LISTEN      --listen     default 127.0.0.1:8080
///   issuer           TESSERA_ISSUER      --issuer     default http://LISTEN
///   database         TESSERA_DATABASE    --database   default sqlite://./tessera-data/tessera.db
///   token_alg        TESSERA_TOKEN_ALG                default RS256 (PS256, ES256, ES384, EdDSA)
///   access_token_ttl                                  default 900 seconds (for new clients)
///   master_key_file  TESSERA_MASTER_KEY_FILE          default master.key beside the SQLite file
///   (or TESSERA_MASTER_KEY=<base64url 32 bytes>; required for PostgreSQL)
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub(crate) struct ServeArgs {
    /// Address to listen on. Env TESSERA_LISTEN.
    #[arg(long)]
    listen: Option<String>,
    /// Issuer URL (the `iss` of every token). Env TESSERA_ISSUER.
    #[arg(long)]
    issuer: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

pub(crate) fn run(args: ServeArgs) -> Result<(), Failure> {
    let config = args.config.load(args.listen, args.issuer)?;
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let server = Server::bind(&config).await.map_err(anyhow::Error::from)?;
        let addr = server.local_addr().map_err(anyhow::Error::from)?;
        tracing::info!(
            issuer = %config.issuer(),
            database = %config.database,
            "listening on http://{addr} (ready in {} ms)",
            started.elapsed().as_millis()
        );
        server
            .run(server::shutdown_signal())
            .await
            .map_err(anyhow::Error::from)?;
        Ok(())
    })
}
