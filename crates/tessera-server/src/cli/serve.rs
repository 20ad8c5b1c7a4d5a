//! `tessera serve`: run the authorization server.

use clap::Args;

use super::Failure;
use crate::config::{Config, LogFormat, Overrides};
use crate::http::request_id;
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
  audit_retention          TESSERA_AUDIT_RETENTION
      7776000 seconds = 90 days audit events are kept (/admin/v1/audit,
      tessera audit list), then pruned
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
  log_format               TESSERA_LOG_FORMAT
      text (or json: one JSON object per line on stdout and stderr,
      start-up lines and --demo's instructions included; a request's
      lines carry its request id, the x-request-id of its answer)
  mail_dir                 TESSERA_MAIL_DIR
      none (development: each message, a verification or reset link, is
      written to this folder as a .eml file instead of sent; excludes
      [smtp])
  [smtp]                   (a table; TESSERA_SMTP_HOST turns it on)
      none: no mail is sent (a warning at start); email verification
      and \"Forgot password?\" pages answer the same, and nobody gets a link
    host                   TESSERA_SMTP_HOST
      required (the SMTP server; checked against its TLS certificate)
    port                   TESSERA_SMTP_PORT
      25, 587 or 465 for security none, starttls or tls
    security               TESSERA_SMTP_SECURITY
      starttls (required STARTTLS, RFC 3207), tls (implicit TLS, RFC
      8314) or none (plain: a local relay or a test sink only)
    username               TESSERA_SMTP_USERNAME
      none (SMTP AUTH user; needs a password)
    password_file          TESSERA_SMTP_PASSWORD_FILE
      none (file with the SMTP password; TESSERA_SMTP_PASSWORD=<the
      password> wins over it)
    from                   TESSERA_SMTP_FROM
      required: \"Name <addr@example.com>\" or a bare address; the name
      (else the issuer's host) signs every message
    ca_file                TESSERA_SMTP_CA_FILE
      none (PEM CAs trusted, besides Mozilla's roots, for the SMTP
      server's certificate)
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
    /// Seed a demo service client, a demo app, a demo browser app and a
    /// demo user (replacing earlier demo ones), and print the commands and
    /// the sign-in URL to try them (one JSON object with log_format json).
    #[arg(long)]
    demo: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

/// What `--demo` seeded, to print: the instructions as text, or as one
/// JSON object with `log_format = "json"`.
struct Demo {
    issuer: String,
    service_secret: String,
    password: String,
    browser_redirect_uri: String,
    authorize_url: String,
    code_verifier: String,
}

/// The demo browser app's id (a public client: code flow with PKCE).
const DEMO_BROWSER_APP: &str = "demo-browser";

impl Demo {
    /// The instructions, commands that work as printed.
    fn text(&self) -> String {
        let Demo {
            issuer,
            service_secret: secret,
            password,
            browser_redirect_uri: redirect,
            authorize_url,
            code_verifier,
        } = self;
        format!(
            "Demo seeded. Try:\n\n\
             # a service token (client_credentials)\n\
             curl -s -u demo-service:{secret} -d grant_type=client_credentials {issuer}/token\n\n\
             # a user login (first-party JSON API), then the profile\n\
             curl -s -H 'Content-Type: application/json' \\\n  \
             -d '{{\"client_id\":\"demo-app\",\"username\":\"demo\",\"password\":\"{password}\"}}' {issuer}/api/v1/login\n\
             curl -s -H \"Authorization: Bearer $ACCESS_TOKEN\" {issuer}/api/v1/me\n\n\
             # a browser app (authorization code + PKCE): open this URL, sign in\n\
             # as demo with the password above and allow the app; the browser\n\
             # then lands on {redirect} (a page that does not\n\
             # exist: the demo app has none) with ?code=... in the address bar\n\
             {authorize_url}\n\n\
             # then, within a minute, trade the code for tokens (the verifier\n\
             # proves the app that asked is the one redeeming it)\n\
             curl -s -d grant_type=authorization_code -d client_id={DEMO_BROWSER_APP} \\\n  \
             -d redirect_uri={redirect} -d code_verifier={code_verifier} -d code=CODE {issuer}/token\n\n\
             # the demo user's own account page (sign in as above)\n\
             {issuer}/account\n\n\
             # the keys that verify every token\n\
             curl -s {issuer}/jwks\n"
        )
    }

    /// The instructions as one JSON object (one line), with what they
    /// name as fields of their own.
    fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "level": "INFO",
            "target": "tessera::demo",
            "message": "demo seeded",
            "issuer": self.issuer,
            "service": {"client_id": "demo-service", "client_secret": self.service_secret},
            "app": {"client_id": "demo-app"},
            "browser_app": {
                "client_id": DEMO_BROWSER_APP,
                "redirect_uri": self.browser_redirect_uri,
                "authorize_url": self.authorize_url,
                "code_verifier": self.code_verifier,
            },
            "user": {"username": "demo", "password": self.password},
            "account_url": format!("{}/account", self.issuer),
            "instructions": self.text(),
        })
    }
}

/// The demo browser app's redirect URI: a path on the issuer (a 404 there
/// still shows the code in the address bar), or on loopback when the
/// issuer is a plain-http address a redirect URI may not be.
fn demo_redirect_uri(issuer: &str) -> String {
    let on_issuer = format!("{issuer}/demo/callback");
    match crate::clients::registration::redirect_uri_allowed(&on_issuer) {
        Ok(()) => on_issuer,
        Err(_) => "http://127.0.0.1/demo/callback".into(),
    }
}

/// Seeds the demo clients and user; returns what to print.
async fn seed_demo(config: &Config) -> anyhow::Result<Demo> {
    use crate::clients::registration::{self, ClientType, NewClient};
    use crate::domain::GrantType;
    use crate::identity::users::{self, NewUser};
    use crate::store::{ClientStore, Store, UserStore};

    let random = || crate::random::base64url(24).ok_or_else(|| anyhow::anyhow!("no randomness"));
    let store = Store::open(&config.database).await?;
    let now = tessera_jwt::UnixTime::now().as_secs();
    let password = random()?;
    let issuer = config.issuer();
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
    let redirect_uri = demo_redirect_uri(&issuer);
    let browser_app = NewClient {
        client_type: ClientType::Public,
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        scopes: Scope::from_tokens(["openid", "profile", "email", "tasks:read"]),
        audiences: vec!["tasks-api".into()],
        redirect_uris: vec![redirect_uri.clone()],
        ..NewClient::new("Demo browser app", config.access_token_ttl)
    };
    // The demo clients are checked before the first write; a failed write
    // leaves whole rows, and a second `--demo` replaces them.
    registration::validate(&service)?;
    registration::validate(&app)?;
    registration::validate(&browser_app)?;
    for id in ["demo-service", "demo-app", DEMO_BROWSER_APP] {
        store.delete_client(id).await?;
    }
    if let Some(old) = store.user_by_username("demo").await? {
        users::delete(&store, &old.id, now).await?;
    }
    let service = registration::register_with_id(&store, "demo-service", service, now).await?;
    let secret = service
        .secret
        .ok_or_else(|| anyhow::anyhow!("the demo service was registered without a secret"))?;
    registration::register_with_id(&store, "demo-app", app, now).await?;
    registration::register_with_id(&store, DEMO_BROWSER_APP, browser_app, now).await?;
    let demo = NewUser {
        username: "demo".into(),
        email: Some("demo@example.com".into()),
        email_verified: true,
        name: Some("Demo User".into()),
        roles: vec!["user".into()],
        password: Some(zeroize::Zeroizing::new(password.clone())),
    };
    users::create(&store, demo, now).await?;
    // PKCE (RFC 7636 §4.1, §4.2): a 43-character verifier, and its S256
    // challenge in the printed URL.
    let code_verifier = crate::random::base64url(32).ok_or_else(|| anyhow::anyhow!("no randomness"))?;
    let challenge = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, code_verifier.as_bytes()),
    );
    let state = crate::random::base64url(12).ok_or_else(|| anyhow::anyhow!("no randomness"))?;
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("response_type", "code")
        .append_pair("client_id", DEMO_BROWSER_APP)
        .append_pair("redirect_uri", &redirect_uri)
        .append_pair("scope", "openid profile email")
        .append_pair("state", &state)
        .append_pair("code_challenge", &challenge)
        .append_pair("code_challenge_method", "S256")
        .finish();
    Ok(Demo {
        authorize_url: format!("{issuer}/authorize?{query}"),
        issuer,
        service_secret: secret.as_str().to_owned(),
        password,
        browser_redirect_uri: redirect_uri,
        code_verifier,
    })
}

/// Starts logging to stderr in `format`, filtered by `RUST_LOG` (default
/// `info`). The `request` span (its request id) is shown in JSON lines
/// only: text lines stay as they were.
fn init_logging(format: LogFormat) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let request_span = match format {
        LogFormat::Text => "off",
        LogFormat::Json => "info",
    };
    let filter = match format!("{}={request_span}", request_id::SPAN_TARGET).parse() {
        Ok(directive) => filter.add_directive(directive),
        Err(_) => filter,
    };
    // A log line that cannot be written (stderr closed) is dropped; with
    // internal error logging on, tracing-subscriber would `eprintln!` about
    // it, which panics on a closed stderr and kills the request.
    let _ = match format {
        LogFormat::Text => tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .log_internal_errors(false)
            .with_env_filter(filter)
            .try_init(),
        LogFormat::Json => tracing_subscriber::fmt()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_writer(std::io::stderr)
            .with_ansi(false)
            .log_internal_errors(false)
            .with_env_filter(filter)
            .try_init(),
    };
}

/// Whether `TESSERA_LOG_FORMAT` asks for JSON: for an error in the
/// configuration itself, before its `log_format` is known.
fn json_from_env() -> bool {
    std::env::var("TESSERA_LOG_FORMAT").is_ok_and(|v| LogFormat::parse(&v) == Some(LogFormat::Json))
}

pub(crate) fn run(args: ServeArgs) -> Result<(), Failure> {
    let config = args.config.load_with(Overrides {
        listen: args.listen,
        issuer: args.issuer,
        tls_cert: args.tls_cert,
        tls_key: args.tls_key,
        metrics_listen: args.metrics_listen,
        database: None,
    });
    let config = match config {
        Ok(config) => config,
        Err(e) if json_from_env() => {
            init_logging(LogFormat::Json);
            tracing::error!("{e:#}");
            return Err(Failure::Logged);
        }
        Err(e) => return Err(e.into()),
    };
    init_logging(config.log_format);
    match serve(&config, args.demo) {
        // With JSON logs the error is a JSON line too.
        Err(e) if config.log_format == LogFormat::Json => {
            tracing::error!("{e:#}");
            Err(Failure::Logged)
        }
        result => result.map_err(Failure::Usage),
    }
}

/// Runs the server with `config` until a shutdown signal; seeds the demo
/// and prints its instructions first when `demo`.
fn serve(config: &Config, demo: bool) -> anyhow::Result<()> {
    // Password hashing is the only blocking work, two at a time
    // (`password::IN_FLIGHT`); two long-lived blocking threads keep its
    // 19 MiB working memory from spreading over many malloc arenas.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(2)
        .build()?;
    runtime.block_on(async {
        let started = std::time::Instant::now();
        let server = Server::bind(config).await?;
        let addr = server.local_addr()?;
        let scheme = if config.tls_cert.is_some() {
            "https"
        } else {
            "http"
        };
        if demo {
            let demo = seed_demo(config).await?;
            let printed = match config.log_format {
                LogFormat::Text => demo.text(),
                LogFormat::Json => demo.json().to_string(),
            };
            // A closed stdout must not stop the server (println! would panic).
            use std::io::Write;
            let _ = writeln!(std::io::stdout(), "{printed}");
        }
        if let Some(metrics) = server.metrics_addr() {
            tracing::info!(address = %format!("http://{metrics}"), "metrics on http://{metrics}/metrics");
        }
        tracing::info!(
            address = %format!("{scheme}://{addr}"),
            issuer = %config.issuer(),
            database = %config.database,
            "listening on {scheme}://{addr} (ready in {} ms)",
            started.elapsed().as_millis()
        );
        server.run(server::shutdown_signal()).await?;
        Ok(())
    })
}
