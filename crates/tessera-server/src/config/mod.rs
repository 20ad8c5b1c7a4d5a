//! Configuration, declared once: defaults, then a TOML file (`--config`),
//! then environment variables, then flags. Unknown keys in the file are
//! refused, so a typo cannot silently leave a default in place.

mod upstream;

use std::net::SocketAddr;

use serde::Deserialize;
use tessera_jwt::Algorithm;

pub use upstream::{secure_transport, UpstreamConfig, UpstreamFields, UpstreamKind, GITHUB_API};

/// Why the configuration is unusable.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The path.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML for this schema.
    #[error("config file {path}: {message}")]
    Parse {
        /// The path.
        path: String,
        /// What the parser said.
        message: String,
    },
    /// A value is out of range or malformed.
    #[error("{setting}: {message}")]
    Invalid {
        /// Which setting.
        setting: &'static str,
        /// Why.
        message: String,
    },
}

/// Whether `s` is a web origin: scheme, host and optional port, with no
/// path (`https://app.example`, `http://localhost:3000`).
pub fn is_origin(s: &str) -> bool {
    (s.starts_with("https://") || s.starts_with("http://"))
        && !s.ends_with('/')
        && s.matches('/').count() == 2
}

/// The longest access-token lifetime a client may have (a day): retired
/// signing keys stay published at least this long.
pub const MAX_ACCESS_TOKEN_TTL: i64 = 86_400;

/// Client connections open at once, by default: far more than a node
/// serves busy, few enough for a process's descriptors on a server
/// (`ulimit -n` is often 65,536 there; [`crate::listener::connection_cap`]
/// lowers it to fit a smaller limit).
pub const DEFAULT_MAX_CONNECTIONS: usize = 10_000;

/// Where `/metrics` is served by default: loopback, so only the host (a
/// Prometheus agent or a port forward) can scrape it. 9464 is the port
/// OpenTelemetry's Prometheus exporters give an application's own metrics
/// (Prometheus' allocation list, 9100-9999, has no free port left), and it
/// is away from the 8080 of `listen`. Two Tessera processes on one host
/// each need their own (`127.0.0.1:0` picks a free port and logs it).
pub const DEFAULT_METRICS_LISTEN: &str = "127.0.0.1:9464";

/// Where `/metrics` is served (`metrics_listen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetricsAt {
    /// On an address of its own, which serves nothing else.
    Own(SocketAddr),
    /// On the main address, beside every other endpoint.
    Listen,
    /// Nowhere.
    Off,
}

/// Who may register a client at `/register` (dynamic client registration,
/// [RFC 7591 §3]).
///
/// [RFC 7591 §3]: https://www.rfc-editor.org/rfc/rfc7591#section-3
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DynamicRegistration {
    /// Nobody: `/register` is not served, and discovery does not name it.
    #[default]
    Off,
    /// Anyone, at most [`crate::identity::guard::CLIENT_REGISTRATIONS_PER_WINDOW`]
    /// registrations per client address an hour.
    Open,
    /// Whoever presents an initial access token (`Authorization: Bearer`)
    /// made by `tessera client registration-token`; each token registers
    /// one client.
    Token,
}

impl DynamicRegistration {
    /// The setting's value named `name`.
    pub fn parse(name: &str) -> Option<DynamicRegistration> {
        match name {
            "off" => Some(DynamicRegistration::Off),
            "open" => Some(DynamicRegistration::Open),
            "token" => Some(DynamicRegistration::Token),
            _ => None,
        }
    }
}

/// How log lines are written (`log_format`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One human-readable line per event (the default).
    #[default]
    Text,
    /// One JSON object per line, on stdout and stderr alike, for a log
    /// collector: `timestamp`, `level`, `target`, `message`, the event's
    /// fields (`client_id`, `user_id`, ... where known) and, during a
    /// request, `span.request_id` (the `x-request-id` of the answer).
    Json,
}

impl LogFormat {
    /// The setting's value named `name`.
    pub fn parse(name: &str) -> Option<LogFormat> {
        match name {
            "text" => Some(LogFormat::Text),
            "json" => Some(LogFormat::Json),
            _ => None,
        }
    }
}

/// How the connection to the SMTP server is protected (`[smtp] security`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain SMTP, no TLS (a relay on the same host or a test sink only:
    /// the password and every link would cross the network in clear).
    None,
    /// Plain SMTP upgraded with `STARTTLS` ([RFC 3207]), which is
    /// required: a server that does not offer it is refused. Port 587 by
    /// default ([RFC 6409]).
    ///
    /// [RFC 3207]: https://www.rfc-editor.org/rfc/rfc3207
    /// [RFC 6409]: https://www.rfc-editor.org/rfc/rfc6409
    #[default]
    Starttls,
    /// TLS from the first byte ("implicit TLS", [RFC 8314 §3.3]), port 465
    /// by default.
    ///
    /// [RFC 8314 §3.3]: https://www.rfc-editor.org/rfc/rfc8314#section-3.3
    Tls,
}

impl SmtpSecurity {
    /// The setting's value named `name`.
    pub fn parse(name: &str) -> Option<SmtpSecurity> {
        match name {
            "none" => Some(SmtpSecurity::None),
            "starttls" => Some(SmtpSecurity::Starttls),
            "tls" => Some(SmtpSecurity::Tls),
            _ => None,
        }
    }

    /// The port used when `port` is not set.
    pub fn default_port(self) -> u16 {
        match self {
            SmtpSecurity::None => 25,
            SmtpSecurity::Starttls => 587,
            SmtpSecurity::Tls => 465,
        }
    }
}

/// The SMTP server that sends Tessera's mail (`[smtp]`): email
/// verification links and password resets. The password is read at start
/// from `TESSERA_SMTP_PASSWORD`, else from `password_file`; it is never
/// part of this struct (which is logged in debug output).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmtpConfig {
    /// The server's host name (checked against its TLS certificate).
    /// Required. Env `TESSERA_SMTP_HOST`.
    pub host: String,
    /// Its port; by default 25, 587 or 465 for `security` `none`,
    /// `starttls` or `tls`. Env `TESSERA_SMTP_PORT`.
    pub port: Option<u16>,
    /// `none`, `starttls` (default) or `tls` ([`SmtpSecurity`]).
    /// Env `TESSERA_SMTP_SECURITY`.
    pub security: SmtpSecurity,
    /// The user to authenticate as (SMTP AUTH, [RFC 4954]), if any; a
    /// password must then be given. Env `TESSERA_SMTP_USERNAME`.
    ///
    /// [RFC 4954]: https://www.rfc-editor.org/rfc/rfc4954
    pub username: Option<String>,
    /// File holding the SMTP password (trailing newline ignored).
    /// `TESSERA_SMTP_PASSWORD` (the password itself) wins over it.
    /// Env `TESSERA_SMTP_PASSWORD_FILE`.
    pub password_file: Option<String>,
    /// The sender: `Name <addr@example.com>` or a bare address. Required.
    /// Env `TESSERA_SMTP_FROM`.
    pub from: String,
    /// PEM CA certificates trusted, besides the Mozilla roots, for the
    /// SMTP server's certificate (a private CA; the tests' throwaway one).
    /// Env `TESSERA_SMTP_CA_FILE`.
    pub ca_file: Option<String>,
}

impl SmtpConfig {
    /// The port to connect to.
    pub fn port(&self) -> u16 {
        self.port.unwrap_or_else(|| self.security.default_port())
    }
}

/// Every setting, with its default.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on. Default `127.0.0.1:8080`. Env `TESSERA_LISTEN`.
    pub listen: String,
    /// Issuer identifier: the `iss` of every token and the base of every
    /// endpoint URL ([RFC 8414 §2]). Default `http://` + `listen`.
    /// Env `TESSERA_ISSUER`.
    ///
    /// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
    pub issuer: Option<String>,
    /// Database URL: `sqlite://PATH` (created on first start) or
    /// `postgres://...`. Default `sqlite://./tessera-data/tessera.db`.
    /// Env `TESSERA_DATABASE`.
    pub database: String,
    /// Access-token signing algorithm: RS256 (default), PS256, ES256, ES384
    /// or EdDSA. An RS256 key is always published as well.
    /// Env `TESSERA_TOKEN_ALG`.
    pub token_alg: String,
    /// Default access-token lifetime for new clients, in seconds (900).
    pub access_token_ttl: i64,
    /// File holding the master key that seals private keys at rest
    /// (base64url, 32 bytes). Default: `master.key` next to the SQLite
    /// file, created with mode 0600 on first start. PostgreSQL deployments
    /// must set this or `TESSERA_MASTER_KEY` (the key itself), the same on
    /// every node. Env `TESSERA_MASTER_KEY_FILE`.
    pub master_key_file: Option<String>,
    /// Whether `POST /api/v1/users` lets anyone create an account (off by
    /// default). Env `TESSERA_SELF_REGISTRATION=true`.
    pub self_registration: bool,
    /// Whether `/authorize` accepts only pushed requests (RFC 9126 §5:
    /// `request_uri` from `/par`); off by default. Env
    /// `TESSERA_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS=true`.
    pub require_pushed_authorization_requests: bool,
    /// Dynamic client registration ([RFC 7591], [RFC 7592]) at `/register`:
    /// `off` (default), `open` (anyone, throttled per client address) or
    /// `token` (an initial access token from `tessera client
    /// registration-token`). Env `TESSERA_DYNAMIC_REGISTRATION`.
    ///
    /// [RFC 7591]: https://www.rfc-editor.org/rfc/rfc7591
    /// [RFC 7592]: https://www.rfc-editor.org/rfc/rfc7592
    pub dynamic_registration: DynamicRegistration,
    /// Browser origins (e.g. `https://app.example`) allowed to call the
    /// token, revocation and `/api/v1` endpoints; none by default.
    /// Env `TESSERA_CORS_ORIGINS` (comma-separated).
    pub cors_origins: Vec<String>,
    /// Reverse proxies (CIDRs like `10.0.0.0/8` or single addresses) whose
    /// `forwarded_header` names the client. Only when the TCP peer is one
    /// of them is the header read, from the right, skipping trusted hops;
    /// otherwise it is ignored. Throttling, the audit log and sessions use
    /// that address. None by default. Env `TESSERA_TRUSTED_PROXIES`
    /// (comma-separated).
    pub trusted_proxies: Vec<String>,
    /// The one header the trusted proxies name the client in:
    /// `x-forwarded-for` (default, what the README's nginx block sets),
    /// `forwarded` ([RFC 7239]) or `x-real-ip` (one address, replaced by
    /// the proxy). No other header is read: the proxy passes those through
    /// as the client sent them. Env `TESSERA_FORWARDED_HEADER`.
    ///
    /// [RFC 7239]: https://www.rfc-editor.org/rfc/rfc7239
    pub forwarded_header: String,
    /// PEM certificate chain to serve https directly (with `tls_key`).
    /// Env `TESSERA_TLS_CERT`.
    pub tls_cert: Option<String>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1) for `tls_cert`.
    /// Env `TESSERA_TLS_KEY`.
    pub tls_key: Option<String>,
    /// Logins that may wait for a password-hashing slot before the server
    /// answers 503 with `Retry-After` (registrations: a quarter of it).
    /// Default 64. Env `TESSERA_PASSWORD_QUEUE`.
    pub password_queue: usize,
    /// Seconds a client has to send a request's headers once it started.
    /// Default 10. Env `TESSERA_HEADER_READ_TIMEOUT`.
    pub header_read_timeout: u64,
    /// Seconds an idle keep-alive connection stays open. Default 60.
    /// Env `TESSERA_IDLE_TIMEOUT`.
    pub idle_timeout: u64,
    /// Client connections open at once on the listen address; past it new
    /// ones wait in the kernel's backlog until one closes, instead of
    /// running the process out of file descriptors. Default 10,000,
    /// lowered at start to the open-file limit (`ulimit -n`) less 128 when
    /// that is smaller. Env `TESSERA_MAX_CONNECTIONS`.
    pub max_connections: usize,
    /// Where `/metrics` is served ([`MetricsAt`]): an address of its own,
    /// serving nothing else (default [`DEFAULT_METRICS_LISTEN`], loopback);
    /// `listen` to serve it on the main address beside everything else
    /// (the behaviour before it had its own); or `off`. The main address
    /// answers 404 for `/metrics` unless this is `listen`: request counts
    /// by route and status, tokens issued by grant and the password queue
    /// tell an outsider how the server is used, and OWASP's API Security
    /// Top 10 (API8:2023, security misconfiguration) puts such endpoints
    /// off the public interface. Env `TESSERA_METRICS_LISTEN`.
    pub metrics_listen: String,
    /// Seconds a refresh-token family lives from the sign-in that started
    /// it, however often it is rotated. Default 30 days.
    /// Env `TESSERA_REFRESH_FAMILY_LIFETIME`.
    pub refresh_family_lifetime: i64,
    /// Seconds a second factor satisfies a requested two-factor level
    /// (`acr_values` or an essential `acr` asking for
    /// `urn:tessera:acr:2fa`, or a client or user that requires a second
    /// factor): a sign-in whose one-time code is older is asked for the
    /// code again (a step-up). The ID token's `acr` still says what the
    /// sign-in reached. Default 3600. Env `TESSERA_SECOND_FACTOR_MAX_AGE`.
    pub second_factor_max_age: i64,
    /// Seconds audit events are kept (`/admin/v1/audit`, `tessera audit
    /// list`) before the prune job deletes them. Default 90 days
    /// (7,776,000). Env `TESSERA_AUDIT_RETENTION`.
    pub audit_retention: i64,
    /// Seconds a request waits for a database connection before it fails
    /// with 503 `temporarily_unavailable` (the database is down or every
    /// connection is busy). Default 10. Env `TESSERA_DATABASE_TIMEOUT`.
    pub database_timeout: u64,
    /// Seconds any call to an upstream identity provider may take
    /// (discovery, keys, token, user info) before the sign-in fails with a
    /// page saying so. Default 10. Env `TESSERA_UPSTREAM_TIMEOUT`.
    pub upstream_timeout: u64,
    /// Upstream identity providers ("Continue with GitHub"), one
    /// `[[upstream]]` table each, file only (see README.md).
    pub upstream: Vec<UpstreamConfig>,
    /// Whether a `client_id` that is an https URL names a client by its
    /// client ID metadata document, fetched from that URL
    /// (draft-ietf-oauth-client-id-metadata-document); off by default.
    /// Env `TESSERA_CLIENT_METADATA_DOCUMENTS=true`.
    pub client_metadata_documents: bool,
    /// Hosts whose client-supplied URLs (metadata documents, `jwks_uri`)
    /// may be fetched although they resolve to loopback or private
    /// addresses (tests, an intranet); plain http is accepted only for
    /// loopback hosts listed here. None by default. Env
    /// `TESSERA_CLIENT_METADATA_ALLOW_HOSTS` (comma-separated).
    pub client_metadata_allow_hosts: Vec<String>,
    /// PEM CA certificates trusted, besides Mozilla's roots, for fetching
    /// client-supplied URLs. Env `TESSERA_OUTBOUND_CA_FILE`.
    pub outbound_ca_file: Option<String>,
    /// How log lines are written: `text` (default) or `json`, one object
    /// per line on stdout and stderr, start-up lines included
    /// ([`LogFormat`]). Env `TESSERA_LOG_FORMAT`.
    pub log_format: LogFormat,
    /// The SMTP server that sends email verification and password-reset
    /// links (`[smtp]`, [`SmtpConfig`]). Without it and without
    /// `mail_dir`, no mail is sent (a warning at start): the pages answer
    /// the same, and nobody receives a link. Setting `TESSERA_SMTP_HOST`
    /// turns it on.
    pub smtp: Option<SmtpConfig>,
    /// Development: write each message as a `.eml` file in this folder
    /// (created if missing) instead of sending it; excludes `[smtp]`.
    /// Env `TESSERA_MAIL_DIR`.
    pub mail_dir: Option<String>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            issuer: None,
            database: "sqlite://./tessera-data/tessera.db".into(),
            token_alg: "RS256".into(),
            access_token_ttl: 900,
            master_key_file: None,
            self_registration: false,
            require_pushed_authorization_requests: false,
            dynamic_registration: DynamicRegistration::Off,
            cors_origins: Vec::new(),
            trusted_proxies: Vec::new(),
            forwarded_header: crate::client_addr::ForwardedHeader::default().name().into(),
            tls_cert: None,
            tls_key: None,
            password_queue: crate::password::DEFAULT_QUEUE_LIMIT,
            header_read_timeout: 10,
            idle_timeout: 60,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            metrics_listen: DEFAULT_METRICS_LISTEN.into(),
            refresh_family_lifetime: 30 * 24 * 3600,
            second_factor_max_age: 3600,
            audit_retention: crate::audit::DEFAULT_RETENTION,
            upstream_timeout: 10,
            database_timeout: 10,
            upstream: Vec::new(),
            client_metadata_documents: false,
            client_metadata_allow_hosts: Vec::new(),
            outbound_ca_file: None,
            log_format: LogFormat::Text,
            smtp: None,
            mail_dir: None,
        }
    }
}

/// Values given on the command line, which win over everything else.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    /// `--listen`.
    pub listen: Option<String>,
    /// `--issuer`.
    pub issuer: Option<String>,
    /// `--database`.
    pub database: Option<String>,
    /// `--tls-cert`.
    pub tls_cert: Option<String>,
    /// `--tls-key`.
    pub tls_key: Option<String>,
    /// `--metrics-listen`.
    pub metrics_listen: Option<String>,
}

impl Config {
    /// Loads the configuration: defaults < file < environment < flags.
    pub fn load(file: Option<&str>, overrides: &Overrides) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.to_owned(),
                    source,
                })?;
                toml::from_str(&text).map_err(|e| ConfigError::Parse {
                    path: path.to_owned(),
                    message: e.to_string(),
                })?
            }
            None => Config::default(),
        };
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        if let Some(v) = env("TESSERA_LISTEN") {
            config.listen = v;
        }
        if let Some(v) = env("TESSERA_ISSUER") {
            config.issuer = Some(v);
        }
        if let Some(v) = env("TESSERA_DATABASE") {
            config.database = v;
        }
        if let Some(v) = env("TESSERA_TOKEN_ALG") {
            config.token_alg = v;
        }
        if let Some(v) = env("TESSERA_SELF_REGISTRATION") {
            config.self_registration = matches!(v.as_str(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = env("TESSERA_REQUIRE_PUSHED_AUTHORIZATION_REQUESTS") {
            config.require_pushed_authorization_requests = matches!(v.as_str(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = env("TESSERA_DYNAMIC_REGISTRATION") {
            config.dynamic_registration =
                DynamicRegistration::parse(&v).ok_or_else(|| ConfigError::Invalid {
                    setting: "dynamic_registration",
                    message: format!("{v:?}: use off, open or token"),
                })?;
        }
        if let Some(v) = env("TESSERA_LOG_FORMAT") {
            config.log_format = LogFormat::parse(&v).ok_or_else(|| ConfigError::Invalid {
                setting: "log_format",
                message: format!("{v:?}: use text or json"),
            })?;
        }
        let list = |v: String| {
            v.split(',')
                .map(|o| o.trim().to_owned())
                .filter(|o| !o.is_empty())
                .collect::<Vec<_>>()
        };
        if let Some(v) = env("TESSERA_CLIENT_METADATA_DOCUMENTS") {
            config.client_metadata_documents = matches!(v.as_str(), "1" | "true" | "yes" | "on");
        }
        if let Some(v) = env("TESSERA_CLIENT_METADATA_ALLOW_HOSTS") {
            config.client_metadata_allow_hosts = list(v);
        }
        if let Some(v) = env("TESSERA_OUTBOUND_CA_FILE") {
            config.outbound_ca_file = Some(v);
        }
        if let Some(v) = env("TESSERA_CORS_ORIGINS") {
            config.cors_origins = list(v);
        }
        if let Some(v) = env("TESSERA_TRUSTED_PROXIES") {
            config.trusted_proxies = list(v);
        }
        if let Some(v) = env("TESSERA_FORWARDED_HEADER") {
            config.forwarded_header = v;
        }
        if let Some(v) = env("TESSERA_TLS_CERT") {
            config.tls_cert = Some(v);
        }
        if let Some(v) = env("TESSERA_TLS_KEY") {
            config.tls_key = Some(v);
        }
        if let Some(v) = env("TESSERA_METRICS_LISTEN") {
            config.metrics_listen = v;
        }
        let number = |name: &'static str, v: String| {
            v.parse::<i64>().map_err(|_| ConfigError::Invalid {
                setting: name,
                message: format!("{v:?} is not a whole number"),
            })
        };
        if let Some(v) = env("TESSERA_PASSWORD_QUEUE") {
            config.password_queue = usize::try_from(number("password_queue", v)?).unwrap_or(0);
        }
        if let Some(v) = env("TESSERA_HEADER_READ_TIMEOUT") {
            config.header_read_timeout = u64::try_from(number("header_read_timeout", v)?).unwrap_or(0);
        }
        if let Some(v) = env("TESSERA_IDLE_TIMEOUT") {
            config.idle_timeout = u64::try_from(number("idle_timeout", v)?).unwrap_or(0);
        }
        if let Some(v) = env("TESSERA_MAX_CONNECTIONS") {
            config.max_connections = usize::try_from(number("max_connections", v)?).unwrap_or(0);
        }
        if let Some(v) = env("TESSERA_REFRESH_FAMILY_LIFETIME") {
            config.refresh_family_lifetime = number("refresh_family_lifetime", v)?;
        }
        if let Some(v) = env("TESSERA_SECOND_FACTOR_MAX_AGE") {
            config.second_factor_max_age = number("second_factor_max_age", v)?;
        }
        if let Some(v) = env("TESSERA_AUDIT_RETENTION") {
            config.audit_retention = number("audit_retention", v)?;
        }
        if let Some(v) = env("TESSERA_DATABASE_TIMEOUT") {
            config.database_timeout = u64::try_from(number("database_timeout", v)?).unwrap_or(0);
        }
        if let Some(v) = env("TESSERA_UPSTREAM_TIMEOUT") {
            config.upstream_timeout = u64::try_from(number("upstream_timeout", v)?).unwrap_or(0);
        }
        if let Some(v) = env("TESSERA_MASTER_KEY_FILE") {
            config.master_key_file = Some(v);
        }
        if let Some(v) = env("TESSERA_MAIL_DIR") {
            config.mail_dir = Some(v);
        }
        if let Some(v) = env("TESSERA_SMTP_HOST") {
            config.smtp.get_or_insert_with(SmtpConfig::default).host = v;
        }
        if let Some(smtp) = config.smtp.as_mut() {
            if let Some(v) = env("TESSERA_SMTP_PORT") {
                smtp.port = Some(v.parse().map_err(|_| ConfigError::Invalid {
                    setting: "smtp.port",
                    message: format!("{v:?} is not a port number"),
                })?);
            }
            if let Some(v) = env("TESSERA_SMTP_SECURITY") {
                smtp.security = SmtpSecurity::parse(&v).ok_or_else(|| ConfigError::Invalid {
                    setting: "smtp.security",
                    message: format!("{v:?}: use none, starttls or tls"),
                })?;
            }
            if let Some(v) = env("TESSERA_SMTP_USERNAME") {
                smtp.username = Some(v);
            }
            if let Some(v) = env("TESSERA_SMTP_PASSWORD_FILE") {
                smtp.password_file = Some(v);
            }
            if let Some(v) = env("TESSERA_SMTP_FROM") {
                smtp.from = v;
            }
            if let Some(v) = env("TESSERA_SMTP_CA_FILE") {
                smtp.ca_file = Some(v);
            }
        }
        if let Some(v) = &overrides.listen {
            config.listen.clone_from(v);
        }
        if let Some(v) = &overrides.issuer {
            config.issuer = Some(v.clone());
        }
        if let Some(v) = &overrides.database {
            config.database.clone_from(v);
        }
        if let Some(v) = &overrides.tls_cert {
            config.tls_cert = Some(v.clone());
        }
        if let Some(v) = &overrides.tls_key {
            config.tls_key = Some(v.clone());
        }
        if let Some(v) = &overrides.metrics_listen {
            config.metrics_listen.clone_from(v);
        }
        config.validate()?;
        Ok(config)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.listen_addr()?;
        self.algorithm()?;
        let issuer = self.issuer();
        if !(issuer.starts_with("https://") || issuer.starts_with("http://")) || issuer.ends_with('/') {
            return Err(ConfigError::Invalid {
                setting: "issuer",
                message: format!("{issuer:?} must be an http(s) URL without a trailing slash (RFC 8414 §2)"),
            });
        }
        for origin in &self.cors_origins {
            if !is_origin(origin) {
                return Err(ConfigError::Invalid {
                    setting: "cors_origins",
                    message: format!("{origin:?} is not an origin like https://app.example"),
                });
            }
        }
        self.proxies()?;
        self.forwarded_header()?;
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid {
                setting: "tls_cert",
                message: "tls_cert and tls_key go together".into(),
            });
        }
        self.metrics_at()?;
        for (setting, value) in [
            ("password_queue", self.password_queue as u64),
            ("header_read_timeout", self.header_read_timeout),
            ("idle_timeout", self.idle_timeout),
            ("max_connections", self.max_connections as u64),
            ("upstream_timeout", self.upstream_timeout),
            ("database_timeout", self.database_timeout),
        ] {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    setting,
                    message: "must be at least 1".into(),
                });
            }
        }
        upstream::validate(&self.upstream)?;
        self.mail()?;
        self.outbound()?;
        if self.refresh_family_lifetime <= 0 {
            return Err(ConfigError::Invalid {
                setting: "refresh_family_lifetime",
                message: "must be a positive number of seconds".into(),
            });
        }
        if self.second_factor_max_age <= 0 {
            return Err(ConfigError::Invalid {
                setting: "second_factor_max_age",
                message: "must be a positive number of seconds".into(),
            });
        }
        if self.audit_retention <= 0 {
            return Err(ConfigError::Invalid {
                setting: "audit_retention",
                message: "must be a positive number of seconds".into(),
            });
        }
        if self.access_token_ttl <= 0 || self.access_token_ttl > MAX_ACCESS_TOKEN_TTL {
            return Err(ConfigError::Invalid {
                setting: "access_token_ttl",
                message: format!("must be between 1 and {MAX_ACCESS_TOKEN_TTL} seconds"),
            });
        }
        Ok(())
    }

    /// Where mail goes ([`crate::mail::Setup`]), checked: `[smtp]` and
    /// `mail_dir` exclude each other; a host and a sender are required,
    /// the sender is an address, a username needs a password.
    pub fn mail(&self) -> Result<crate::mail::Setup, ConfigError> {
        crate::mail::Setup::from_config(self)
    }

    /// The fetcher of client-supplied URLs: `client_metadata_allow_hosts`
    /// and the CAs of `outbound_ca_file`.
    pub fn outbound(&self) -> Result<crate::clients::outbound::Outbound, ConfigError> {
        let roots = match &self.outbound_ca_file {
            Some(path) => std::fs::read(path).map_err(|e| ConfigError::Invalid {
                setting: "outbound_ca_file",
                message: format!("{path}: {e}"),
            })?,
            None => Vec::new(),
        };
        crate::clients::outbound::Outbound::new(&self.client_metadata_allow_hosts, &roots).map_err(|e| {
            ConfigError::Invalid {
                setting: "outbound_ca_file",
                message: e.to_string(),
            }
        })
    }

    /// The listen address.
    pub fn listen_addr(&self) -> Result<SocketAddr, ConfigError> {
        self.listen.parse().map_err(|_| ConfigError::Invalid {
            setting: "listen",
            message: format!("{:?} is not an address like 127.0.0.1:8080", self.listen),
        })
    }

    /// Where `/metrics` is served.
    pub fn metrics_at(&self) -> Result<MetricsAt, ConfigError> {
        match self.metrics_listen.trim() {
            "listen" => Ok(MetricsAt::Listen),
            "off" => Ok(MetricsAt::Off),
            addr => addr
                .parse()
                .map(MetricsAt::Own)
                .map_err(|_| ConfigError::Invalid {
                    setting: "metrics_listen",
                    message: format!(
                        "{:?} is not an address like {DEFAULT_METRICS_LISTEN}, `listen` or `off`",
                        self.metrics_listen
                    ),
                }),
        }
    }

    /// The trusted proxies, parsed.
    pub fn proxies(&self) -> Result<Vec<crate::client_addr::Cidr>, ConfigError> {
        self.trusted_proxies
            .iter()
            .map(|p| {
                p.parse().map_err(|_| ConfigError::Invalid {
                    setting: "trusted_proxies",
                    message: format!("{p:?} is not an address or CIDR like 10.0.0.0/8"),
                })
            })
            .collect()
    }

    /// The forwarding header the trusted proxies write.
    pub fn forwarded_header(&self) -> Result<crate::client_addr::ForwardedHeader, ConfigError> {
        self.forwarded_header
            .parse()
            .map_err(|e: crate::client_addr::BadForwardedHeader| ConfigError::Invalid {
                setting: "forwarded_header",
                message: e.to_string(),
            })
    }

    /// The issuer identifier.
    pub fn issuer(&self) -> String {
        self.issuer
            .clone()
            .unwrap_or_else(|| format!("http://{}", self.listen))
    }

    /// The access-token algorithm.
    pub fn algorithm(&self) -> Result<Algorithm, ConfigError> {
        match Algorithm::from_name(&self.token_alg) {
            Some(
                alg @ (Algorithm::RS256
                | Algorithm::PS256
                | Algorithm::ES256
                | Algorithm::ES384
                | Algorithm::EdDSA),
            ) => Ok(alg),
            _ => Err(ConfigError::Invalid {
                setting: "token_alg",
                message: format!("{:?}: use RS256, PS256, ES256, ES384 or EdDSA", self.token_alg),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layers_and_validation() {
        let c = Config::load(None, &Overrides::default()).unwrap();
        assert_eq!(c.issuer(), "http://127.0.0.1:8080");
        let o = Overrides {
            listen: Some("127.0.0.1:9999".into()),
            ..Overrides::default()
        };
        assert_eq!(Config::load(None, &o).unwrap().issuer(), "http://127.0.0.1:9999");
        assert!(
            toml::from_str::<Config>("lisen = \"x\"").is_err(),
            "unknown keys are refused"
        );
        let bad = Config {
            token_alg: "HS256".into(),
            ..Config::default()
        };
        assert!(bad.validate().is_err());
        let slash = Config {
            issuer: Some("https://id.example/".into()),
            ..Config::default()
        };
        assert!(slash.validate().is_err());
        assert_eq!(
            c.forwarded_header().unwrap(),
            crate::client_addr::ForwardedHeader::XForwardedFor,
            "the README's nginx block sets X-Forwarded-For"
        );
        let guess = Config {
            forwarded_header: "x-forwarded-for, forwarded".into(),
            ..Config::default()
        };
        assert!(guess.validate().is_err(), "one header, no guessing");
        assert_eq!(
            c.metrics_at().unwrap(),
            MetricsAt::Own(DEFAULT_METRICS_LISTEN.parse().unwrap()),
            "not on the main address by default"
        );
        for (value, at) in [("listen", MetricsAt::Listen), ("off", MetricsAt::Off)] {
            let c = Config {
                metrics_listen: value.into(),
                ..Config::default()
            };
            assert_eq!(c.metrics_at().unwrap(), at);
        }
        let bad = Config {
            metrics_listen: "9464".into(),
            ..Config::default()
        };
        assert!(bad.validate().is_err());
        assert_eq!(c.log_format, LogFormat::Text, "text unless asked");
        let json: Config = toml::from_str("log_format = \"json\"").unwrap();
        assert_eq!(json.log_format, LogFormat::Json);
        assert!(toml::from_str::<Config>("log_format = \"xml\"").is_err());
        assert_eq!(LogFormat::parse("xml"), None);
    }

    #[test]
    fn smtp_settings_are_checked() {
        let c: Config = toml::from_str(
            "[smtp]\nhost = \"mail.example\"\nfrom = \"Example ID <id@example.com>\"\nsecurity = \"tls\"",
        )
        .unwrap();
        assert_eq!(c.smtp.as_ref().unwrap().port(), 465, "tls: 465 unless set");
        assert!(c.validate().is_ok());
        assert!(c.mail().unwrap().describe().contains("mail.example:465"));
        assert_eq!(SmtpSecurity::default().default_port(), 587);
        assert!(
            toml::from_str::<Config>("[smtp]\nhots = \"x\"").is_err(),
            "unknown keys"
        );
        assert!(toml::from_str::<Config>("[smtp]\nsecurity = \"ssl\"").is_err());
        let smtp = |from: &str, username: Option<&str>| Config {
            smtp: Some(SmtpConfig {
                host: "mail.example".into(),
                from: from.into(),
                username: username.map(str::to_owned),
                ..SmtpConfig::default()
            }),
            ..Config::default()
        };
        assert!(smtp("id@example.com", None).validate().is_ok(), "a bare address");
        assert!(smtp("not an address", None).validate().is_err());
        assert!(smtp("", None).validate().is_err(), "from is required");
        assert!(
            smtp("id@example.com", Some("u")).validate().is_err(),
            "a user needs a password"
        );
        let no_host = Config {
            smtp: Some(SmtpConfig {
                from: "id@example.com".into(),
                ..SmtpConfig::default()
            }),
            ..Config::default()
        };
        assert!(no_host.validate().is_err());
        let both = Config {
            mail_dir: Some("/tmp/mail".into()),
            ..smtp("id@example.com", None)
        };
        assert!(both.validate().is_err(), "mail_dir is instead of [smtp]");
    }
}
