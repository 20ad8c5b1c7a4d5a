//! `tessera serve`: run the authorization server.

use clap::Args;

use super::Failure;
use crate::config::{Config, Overrides};
use crate::oauth::Scope;
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
        self.load_with(Overrides {
            listen,
            issuer,
            ..Overrides::default()
        })
    }

    /// Loads the configuration with `overrides` (and `--database`).
    pub(crate) fn load_with(&self, overrides: Overrides) -> anyhow::Result<Config> {
        let overrides = Overrides {
            database: self.database.clone(),
            ..overrides
        };
        Ok(Config::load(self.config.as_deref(), &overrides)?)
    }
}

/// Every setting, for `tessera serve --help` (a subcommand's own about
/// text is replaced by the one in `cli::Command`, so the table is an
/// after-help text).
const SETTINGS: &str = "\
Settings: the key in the --config file, the environment variable and the
flag (flags win over the environment, which wins over the file), with the
default below each.

  FILE KEY                 ENVIRONMENT                      FLAG
  listen                   TESSERA_LISTEN                   --listen
      127.0.0.1:8080
  issuer                   TESSERA_ISSUER                   --issuer
      http://LISTEN (the `iss` of every token, base of every endpoint URL)
  database                 TESSERA_DATABASE                 --database
      sqlite://./tessera-data/tessera.db (or postgres://USER@HOST/DB)
  token_alg                TESSERA_TOKEN_ALG
      RS256 (or PS256, ES256, ES384, EdDSA)
  access_token_ttl         (file only)
      900 seconds (for new clients)
  master_key_file          TESSERA_MASTER_KEY_FILE
      master.key beside the SQLite file, created with mode 0600;
      TESSERA_MASTER_KEY=<base64url 32 bytes> gives the key itself and
      wins; PostgreSQL needs one of the two
  self_registration        TESSERA_SELF_REGISTRATION
      false (true: anyone may POST /api/v1/users)
  require_pushed_authorization_requests
                           TESSERA_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS
      false (true: /authorize takes only a request_uri from /par, RFC 9126)
  dynamic_registration     TESSERA_DYNAMIC_REGISTRATION
      off: no /register (RFC 7591); open: anyone may register a client,
      10 per client address an hour; token: with an initial access token
      from `tessera client registration-token` (one client each)
  cors_origins             TESSERA_CORS_ORIGINS
      none (exact origins; comma-separated in the environment)
  trusted_proxies          TESSERA_TRUSTED_PROXIES
      none (CIDRs or addresses; comma-separated in the environment)
  forwarded_header         TESSERA_FORWARDED_HEADER
      x-forwarded-for (or forwarded, x-real-ip): the one header the
      trusted proxies write; no other is read
  tls_cert                 TESSERA_TLS_CERT                 --tls-cert
      none: plain http (PEM certificate chain; https with tls_key)
  tls_key                  TESSERA_TLS_KEY                  --tls-key
      none (PEM private key: PKCS#8, PKCS#1 or SEC1)
  password_queue           TESSERA_PASSWORD_QUEUE
      64 (logins waiting for a hashing slot before 503)
  header_read_timeout      TESSERA_HEADER_READ_TIMEOUT
      10 seconds (to send a request's headers, TLS handshake included)
  idle_timeout             TESSERA_IDLE_TIMEOUT
      60 seconds (before an idle keep-alive connection is closed)
  max_connections          TESSERA_MAX_CONNECTIONS
      10000 connections open at once; past it new ones wait (lowered to
      the open-file limit, ulimit -n, less 128 when that is smaller)
  metrics_listen           TESSERA_METRICS_LISTEN           --metrics-listen
      127.0.0.1:9464: /metrics on its own loopback address, and 404 on
      the listen address; `listen` serves it on the listen address (as
      before), `off` nowhere; 127.0.0.1:0 picks a free port
  refresh_family_lifetime  TESSERA_REFRESH_FAMILY_LIFETIME
      2592000 seconds = 30 days (from sign-in, however often rotated)
  second_factor_max_age    TESSERA_SECOND_FACTOR_MAX_AGE
      3600 seconds a one-time code satisfies a request for two factors
      (acr_values urn:tessera:acr:2fa); older, the code is asked again
  database_timeout         TESSERA_DATABASE_TIMEOUT
      10 seconds (waiting for a database connection, then 503)
  upstream_timeout         TESSERA_UPSTREAM_TIMEOUT
      10 seconds (each call to an upstream identity provider)
  client_metadata_documents
                           TESSERA_CLIENT_METADATA_DOCUMENTS
      false (true: a client_id that is an https URL names a client by its
      client ID metadata document, fetched from it: 5 KB, 5 s, no
      redirects, public addresses only; discovery says so)
  client_metadata_allow_hosts
                           TESSERA_CLIENT_METADATA_ALLOW_HOSTS
      none (hosts whose client-supplied URLs, metadata documents and
      jwks_uri, may resolve to loopback or private addresses; plain http
      only to loopback hosts listed here; comma-separated in the
      environment)
  outbound_ca_file         TESSERA_OUTBOUND_CA_FILE
      none (PEM CAs trusted, besides Mozilla's roots, when fetching
      client-supplied URLs)
  [[upstream]]             (file only)
      none; one table per \"Continue with\" provider (README.md):
      id, name, kind = \"oidc\" | \"github\" | \"oauth2\", client_id,
      client_secret | client_secret_file | client_secret_env, scopes,
      issuer (oidc), authorization_endpoint, token_endpoint, api_base
      (github), userinfo_endpoint and fields (oauth2), create_users
      (as self_registration), trust_email (false), roles_claim, role_map,
      ca_file (PEM CAs to trust for it); URLs must be https (http only
      to a loopback host)";

/// Run the server.
// Every setting is listed in `SETTINGS`, shown by `--help`.
#[derive(Debug, Args)]
#[command(
    after_help = "Every setting (file key, environment variable, flag, default): tessera serve --help",
    after_long_help = SETTINGS
)]
pub(crate) struct ServeArgs {
    /// Address to listen on. Env TESSERA_LISTEN.
    #[arg(long)]
    listen: Option<String>,
    /// Issuer URL (the `iss` of every token). Env TESSERA_ISSUER.
    #[arg(long)]
    issuer: Option<String>,
    /// Serve https with this PEM certificate chain (needs --tls-key).
    /// Env TESSERA_TLS_CERT.
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<String>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for --tls-cert.
    /// Env TESSERA_TLS_KEY.
    #[arg(long, value_name = "FILE")]
    tls_key: Option<String>,
    /// Where /metrics is served (plain http): an address of its own
    /// (default 127.0.0.1:9464), `listen` (the main address) or `off`.
    /// Env TESSERA_METRICS_LISTEN.
    #[arg(long, value_name = "ADDR")]
    metrics_listen: Option<String>,
    /// Seed a demo service client, a demo app and a demo user (replacing
    /// earlier demo ones), and print curl commands to try them.
    #[arg(long)]
    demo: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Seeds the demo clients and user; returns the commands to print.
async fn seed_demo(config: &Config) -> anyhow::Result<String> {
    use crate::clients::registration::{self, ClientType, NewClient};
    use crate::domain::GrantType;
    use crate::identity::users::{self, NewUser};
    use crate::store::{ClientStore, Store, UserStore};

    let random = || crate::random::base64url(24).ok_or_else(|| anyhow::anyhow!("no randomness"));
    let store = Store::open(&config.database).await?;
    let now = tessera_jwt::UnixTime::now().as_secs();
    let password = random()?;
    let service = NewClient {
        scopes: Scope::from_tokens(["tasks:read", "tasks:write"]),
        audiences: vec!["tasks-api".into()],
        ..NewClient::new("Demo service", config.access_token_ttl)
    };
    let app = NewClient {
        client_type: ClientType::Public,
        grant_types: vec![GrantType::Password, GrantType::RefreshToken],
        scopes: Scope::from_tokens(["openid", "profile", "email", "tasks:read", "tasks:write"]),
        audiences: vec!["tasks-api".into()],
        ..NewClient::new("Demo app", config.access_token_ttl)
    };
    // The demo clients are checked before the first write; a failed write
    // leaves whole rows, and a second `--demo` replaces them.
    registration::validate(&service)?;
    registration::validate(&app)?;
    for id in ["demo-service", "demo-app"] {
        store.delete_client(id).await?;
    }
    if let Some(old) = store.user_by_username("demo").await? {
        users::delete(&store, &old.id, now).await?;
    }
    let service = registration::register_with_id(&store, "demo-service", service, now).await?;
    let secret = service
        .secret
        .ok_or_else(|| anyhow::anyhow!("the demo service was registered without a secret"))?;
    let secret = secret.as_str();
    registration::register_with_id(&store, "demo-app", app, now).await?;
    let demo = NewUser {
        username: "demo".into(),
        email: Some("demo@example.com".into()),
        email_verified: true,
        name: Some("Demo User".into()),
        roles: vec!["user".into()],
        password: Some(zeroize::Zeroizing::new(password.clone())),
    };
    users::create(&store, demo, now).await?;
    let issuer = config.issuer();
    Ok(format!(
        "Demo seeded. Try:\n\n\
         # a service token (client_credentials)\n\
         curl -s -u demo-service:{secret} -d grant_type=client_credentials {issuer}/token\n\n\
         # a user login (first-party JSON API), then the profile\n\
         curl -s -H 'Content-Type: application/json' \\\n  \
         -d '{{\"client_id\":\"demo-app\",\"username\":\"demo\",\"password\":\"{password}\"}}' {issuer}/api/v1/login\n\
         curl -s -H \"Authorization: Bearer $ACCESS_TOKEN\" {issuer}/api/v1/me\n\n\
         # the keys that verify every token\n\
         curl -s {issuer}/jwks\n"
    ))
}

pub(crate) fn run(args: ServeArgs) -> Result<(), Failure> {
    let config = args.config.load_with(Overrides {
        listen: args.listen,
        issuer: args.issuer,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        metrics_listen: args.metrics_listen,
        database: None,
    })?;
    // A log line that cannot be written (stderr closed) is dropped; with
    // internal error logging on, tracing-subscriber would `eprintln!` about
    // it, which panics on a closed stderr and kills the request.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .log_internal_errors(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    // Password hashing is the only blocking work, two at a time
    // (`password::IN_FLIGHT`); two long-lived blocking threads keep its
    // 19 MiB working memory from spreading over many malloc arenas.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()
        .map_err(anyhow::Error::from)?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let server = Server::bind(&config).await.map_err(anyhow::Error::from)?;
        let addr = server.local_addr().map_err(anyhow::Error::from)?;
        let scheme = if config.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        if args.demo {
            // A closed stdout must not stop the server (println! would panic).
            use std::io::Write;
            let _ = writeln!(std::io::stdout(), "{}", seed_demo(&config).await?);
        }
        if let Some(metrics) = server.metrics_addr() {
            tracing::info!("metrics on http://{metrics}/metrics");
        }
        tracing::info!(
            issuer = %config.issuer(),
            database = %config.database,
            "listening on {scheme}://{addr} (ready in {} ms)",
            started.elapsed().as_millis()
        );
        server
            .run(server::shutdown_signal())
            .await
            .map_err(anyhow::Error::from)?;
        Ok(())
    })
}
