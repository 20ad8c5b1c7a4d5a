//! `tessera client create | list | show | delete`: manage registered
//! clients in the same database the server uses (works while it runs).

use crate::audit::{self, Actor, AuditKind, Event};
use clap::Subcommand;
use serde_json::json;
use tessera_jwt::UnixTime;

use super::serve::ConfigArgs;
use super::Failure;
use crate::clients::registration::{self, ClientType, NewClient, RegistrationError};
use crate::domain::{AuthMethod, Client, ClientKeys, GrantType, Scope};
use crate::store::{ClientStore, ResourceStore, Store};

#[derive(Debug, Subcommand)]
pub(crate) enum ClientCommand {
    /// Register a client; prints {"client_id", "client_secret"} (no secret for --public).
    Create(Box<CreateArgs>),
    /// List clients as JSON.
    List(CommonArgs),
    /// Show one client as JSON.
    Show(IdArgs),
    /// Delete a client.
    Delete(IdArgs),
    /// Make an initial access token for dynamic client registration
    /// (dynamic_registration = "token"); prints {"initial_access_token",
    /// "expires_at"}. Each token registers one client.
    RegistrationToken(RegistrationTokenArgs),
}

/// The default lifetime of an initial access token: a day.
pub(crate) const REGISTRATION_TOKEN_TTL: i64 = 86_400;

#[derive(Debug, clap::Args)]
pub(crate) struct RegistrationTokenArgs {
    /// Seconds the token works for (default 86400, a day).
    #[arg(long, default_value_t = REGISTRATION_TOKEN_TTL, value_parser = clap::value_parser!(i64).range(1..=31_536_000))]
    ttl: i64,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CommonArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct IdArgs {
    /// The client_id.
    client_id: String,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// Display name.
    #[arg(long)]
    name: String,
    /// Allowed grant type; repeat for several (default: client_credentials).
    #[arg(long = "grant-type")]
    grant_types: Vec<String>,
    /// Registered redirect URI; repeat for several: https, http to a
    /// loopback host only (127.0.0.1, [::1], localhost), or a native app's
    /// private-use scheme like com.example.app:/cb.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Allowed scopes, separated by single spaces (RFC 6749 §3.3).
    #[arg(long, default_value = "", value_parser = |s: &str| Scope::parse(s))]
    scope: Scope,
    /// Allowed audience (resource server); repeat for several.
    #[arg(long = "audience")]
    audiences: Vec<String>,
    /// A registered resource server (`tessera resource create`) the client
    /// may ask tokens for with `resource` (RFC 8707); repeat for several.
    /// Also an allowed audience.
    #[arg(long = "resource", value_name = "URI")]
    resources: Vec<String>,
    /// This client is the API AUDIENCE and may introspect tokens issued for
    /// it (RFC 7662 §4); repeat for several. Without it a client may
    /// introspect only its own tokens: for others' it gets {"active": false}.
    #[arg(long = "resource-server", value_name = "AUDIENCE")]
    resource_server_for: Vec<String>,
    /// Browser origin allowed to call the API for this client (CORS), like
    /// https://app.example; repeat for several.
    #[arg(long = "cors-origin")]
    cors_origins: Vec<String>,
    /// A public client (no secret), e.g. a browser or mobile app.
    #[arg(long)]
    public: bool,
    /// Token endpoint authentication method: client_secret_basic or
    /// client_secret_post (default: either); private_key_jwt with --jwks.
    #[arg(long)]
    auth_method: Option<String>,
    /// A JWK Set file ({"keys": [...]}) of the client's public keys: the
    /// client authenticates with private_key_jwt (RFC 7523), signing with an
    /// asymmetric key, and gets no secret.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["jwks_uri", "public"])]
    jwks: Option<std::path::PathBuf>,
    /// Where the client publishes its JWK Set (https): private_key_jwt.
    /// Fetched when the client authenticates, kept as its Cache-Control
    /// says (5 minutes to a day), fetched again for a key it does not
    /// hold. Plain http only to a loopback host in
    /// client_metadata_allow_hosts.
    #[arg(long, value_name = "URL", conflicts_with = "public")]
    jwks_uri: Option<String>,
    /// Deliver the refresh token of /api/v1/login in an HttpOnly, Secure,
    /// SameSite=Strict cookie instead of the JSON body
    /// (__Host-tessera_refresh on https issuers, else tessera_refresh
    /// scoped to /api/v1).
    #[arg(long)]
    refresh_cookie: bool,
    /// Where RP-initiated logout may send the user back (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// The operator's own app: its users are not asked for consent at
    /// sign-in (authorization code flow).
    #[arg(long)]
    first_party: bool,
    /// Its authorization requests must be pushed to /par first (RFC 9126):
    /// /authorize refuses its plain parameters.
    #[arg(long)]
    require_par: bool,
    /// Its tokens must be DPoP-bound (RFC 9449): token requests without a
    /// DPoP proof are refused.
    #[arg(long)]
    dpop_bound: bool,
    /// Its users must sign in with a second factor: every authorization
    /// request of it asks for two factors as an essential level
    /// (unmet_authentication_requirements for a user without one), and
    /// the password grant refuses a user without one.
    #[arg(long)]
    require_mfa: bool,
    /// An administrator's client: its client-credentials tokens carry the
    /// tessera-admin audience and roles: ["admin"], for the admin API
    /// (/admin/v1).
    #[arg(long)]
    admin: bool,
    /// Access-token lifetime in seconds (default: the server's access_token_ttl).
    #[arg(long)]
    ttl: Option<i64>,
    #[command(flatten)]
    config: ConfigArgs,
}

fn describe(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.id,
        "name": c.name,
        "public": c.is_public(),
        "grant_types": c.grant_types.iter().map(|g| g.as_str()).collect::<Vec<_>>(),
        "scope": c.scopes,
        "audiences": c.audiences,
        "redirect_uris": c.redirect_uris,
        "access_token_ttl": c.access_token_ttl,
        "created_at": c.created_at,
        "refresh_cookie": c.refresh_cookie,
        "first_party": c.first_party,
        "require_par": c.require_par,
        "dpop_bound": c.dpop_bound,
        "require_mfa": c.require_mfa,
        "admin": c.admin,
        "provenance": c.provenance.as_str(),
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "resource_server_for": c.resource_server_for,
        "auth_method": c.credentials.auth_methods().iter().map(|m| m.as_str()).collect::<Vec<_>>().join(" "),
    })
}

pub(crate) fn run(cmd: ClientCommand) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    runtime
        .block_on(async move {
            match cmd {
                ClientCommand::Create(args) => create(*args).await,
                ClientCommand::RegistrationToken(args) => registration_token(args).await,
                ClientCommand::List(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    let clients: Vec<_> = store.clients().await?.iter().map(describe).collect();
                    println!("{}", serde_json::to_string_pretty(&clients)?);
                    Ok(())
                }
                ClientCommand::Show(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    match store.client(&args.client_id).await? {
                        Some(c) => {
                            println!("{}", serde_json::to_string_pretty(&describe(&c))?);
                            Ok(())
                        }
                        None => Err(anyhow::anyhow!("no client {:?}", args.client_id)),
                    }
                }
                ClientCommand::Delete(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    if !store.delete_client(&args.client_id).await? {
                        anyhow::bail!("no client {:?}", args.client_id);
                    }
                    let event = Event::new(
                        AuditKind::ClientDeleted,
                        UnixTime::now().as_secs(),
                        Actor::Cli,
                        "client deleted",
                    )
                    .client(args.client_id.as_str());
                    audit::record(&store, event).await;
                    eprintln!("deleted client {}", args.client_id);
                    Ok(())
                }
            }
        })
        .map_err(Failure::Usage)
}

/// What `client create` says when registration refuses: the flag at
/// fault, as before registration moved to `clients::registration`.
fn refusal(e: RegistrationError, auth_method: Option<&str>) -> anyhow::Error {
    use RegistrationError::*;
    match e {
        RedirectUri { uri, reason } => anyhow::anyhow!("--redirect-uri {uri:?}: {reason}"),
        PostLogoutRedirectUri { uri, reason } => {
            anyhow::anyhow!("--post-logout-redirect-uri {uri:?}: {reason}")
        }
        PublicResourceServer => anyhow::anyhow!(
            "--resource-server needs a confidential client: introspection authenticates its caller (RFC 7662 §2.1)"
        ),
        ResourceServerAudience(aud) => {
            anyhow::anyhow!("--resource-server {aud:?}: an audience is one non-empty word")
        }
        Audience(aud) => anyhow::anyhow!("--audience {aud:?}: an audience is one non-empty word"),
        CodeWithoutRedirectUri => {
            anyhow::anyhow!("the authorization_code grant needs at least one --redirect-uri")
        }
        AuthMethodMismatch { .. } | PrivateKeyJwtWithoutKeys => anyhow::anyhow!(
            "--auth-method {:?}: use client_secret_basic or client_secret_post (or none with --public)",
            auth_method.unwrap_or_default()
        ),
        AccessTokenTtl(_) => anyhow::anyhow!(
            "--ttl must be between 1 and {} seconds",
            crate::config::MAX_ACCESS_TOKEN_TTL
        ),
        RefreshWithoutUserGrant => anyhow::anyhow!(
            "--grant-type refresh_token needs --grant-type authorization_code or password (RFC 6749 §1.5)"
        ),
        FirstPartyWithoutUserGrant => {
            anyhow::anyhow!("--first-party needs --grant-type authorization_code or password")
        }
        RefreshCookieWithoutPassword => anyhow::anyhow!("--refresh-cookie needs --grant-type password"),
        Origin(origin) => {
            anyhow::anyhow!("--cors-origin {origin:?} is not an origin like https://app.example")
        }
        IdTaken(_) => anyhow::anyhow!("client id collision; try again"),
        AdminWithoutClientCredentials => {
            anyhow::anyhow!("--admin needs --grant-type client_credentials")
        }
        Store(e) => anyhow::Error::from(e),
        MalformedJwks => anyhow::anyhow!(
            "--jwks: not a JWK Set with an asymmetric signature key (RSA, EC or OKP), like {{\"keys\": [...]}}"
        ),
        JwksUri(uri) => anyhow::anyhow!("--jwks-uri {uri:?}: must be https (or http to a loopback host)"),
        other @ (NoGrantTypes
        | PublicClientCredentials
        | KeysForPublicClient
        | Unvetted(_)
        | Gone
        | SecretForDescribedClient
        | Id(_)
        | NoRandomness) => anyhow::Error::from(other),
    }
}

/// `client registration-token`: a 256-bit random token, stored as its
/// SHA-256 (like client secrets), shown once.
async fn registration_token(args: RegistrationTokenArgs) -> anyhow::Result<()> {
    use crate::store::RegistrationStore;
    let config = args.config.load(None, None)?;
    let store = Store::open(&config.database).await?;
    let token = zeroize::Zeroizing::new(
        crate::random::base64url(32).ok_or_else(|| anyhow::anyhow!("no randomness available"))?,
    );
    let now = UnixTime::now().as_secs();
    let expires_at = now.saturating_add(args.ttl);
    store
        .create_initial_access_token(
            &crate::clients::authentication::hash_secret(&token),
            now,
            expires_at,
        )
        .await?;
    tracing::info!(target: "audit", expires_at, "initial access token made");
    if config.dynamic_registration != crate::config::DynamicRegistration::Token {
        eprintln!("note: the server takes initial access tokens only with dynamic_registration = \"token\"");
    }
    println!(
        "{}",
        json!({"initial_access_token": token.as_str(), "expires_at": expires_at})
    );
    Ok(())
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let config = args.config.load(None, None)?;
    let mut grant_types = Vec::new();
    for g in &args.grant_types {
        let Some(grant) = GrantType::parse(g) else {
            let known: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
            anyhow::bail!("unknown grant type {g:?} (known: {})", known.join(", "));
        };
        grant_types.push(grant);
    }
    if grant_types.is_empty() {
        grant_types.push(GrantType::ClientCredentials);
    }
    let auth_method = match args.auth_method.as_deref() {
        None => None,
        Some(name) => Some(AuthMethod::parse(name).ok_or_else(|| {
            anyhow::anyhow!(
                "--auth-method {name:?}: use client_secret_basic or client_secret_post (or none with --public)"
            )
        })?),
    };
    let keys = match (&args.jwks, args.jwks_uri) {
        (Some(path), _) => Some(ClientKeys::Jwks(
            std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("--jwks {}: {e}", path.display()))?,
        )),
        (None, Some(uri)) => Some(ClientKeys::JwksUri(uri)),
        (None, None) => None,
    };
    let mut audiences = args.audiences;
    if !args.resources.is_empty() {
        let store = Store::open(&config.database).await?;
        let registry = store.resources().await?;
        for uri in args.resources {
            if registry.find(&uri).is_none() {
                anyhow::bail!(
                    "--resource {uri:?}: no such resource; register it with `tessera resource create`"
                );
            }
            if !audiences.contains(&uri) {
                audiences.push(uri);
            }
        }
    }
    let new = NewClient {
        name: args.name,
        client_type: if args.public {
            ClientType::Public
        } else {
            ClientType::Confidential
        },
        auth_method,
        keys,
        grant_types,
        scopes: args.scope,
        audiences,
        redirect_uris: args.redirect_uris,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        resource_server_for: args.resource_server_for,
        origins: args.cors_origins,
        access_token_ttl: args.ttl.unwrap_or(config.access_token_ttl),
        refresh_cookie: args.refresh_cookie,
        first_party: args.first_party,
        require_par: args.require_par,
        dpop_bound: args.dpop_bound,
        require_mfa: args.require_mfa,
        admin: args.admin,
        provenance: crate::domain::Provenance::Operator,
    };
    let method = args.auth_method.as_deref();
    // Bad input touches no database.
    registration::validate(&new).map_err(|e| refusal(e, method))?;
    if let Some(ClientKeys::JwksUri(uri)) = &new.keys {
        config
            .outbound()?
            .check_url(uri)
            .map_err(|e| anyhow::anyhow!("--jwks-uri {uri:?}: {e}"))?;
    }
    let store = Store::open(&config.database).await?;
    let registered = registration::register(&store, new, UnixTime::now().as_secs())
        .await
        .map_err(|e| refusal(e, method))?;
    let id = &registered.client.id;
    let event = Event::new(
        AuditKind::ClientCreated,
        UnixTime::now().as_secs(),
        Actor::Cli,
        "client created",
    )
    .client(id.as_str());
    audit::record(&store, event).await;
    let out = match &registered.secret {
        Some(s) => json!({"client_id": id, "client_secret": s.as_str()}),
        None => json!({"client_id": id}),
    };
    println!("{out}");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::refusal;
    use crate::clients::registration::{ClientType, RedirectUriError, RegistrationError};
    use crate::domain::AuthMethod;

    /// `client create` names the flag at fault, in the words it used
    /// before the rules moved to `clients::registration` (tests/cli.rs and
    /// tests/introspection.rs read some of them).
    #[test]
    fn refusals_name_the_flag() {
        use RegistrationError::*;
        let table: Vec<(RegistrationError, &str)> = vec![
            (
                RedirectUri {
                    uri: "http://a.example/cb".into(),
                    reason: RedirectUriError::PlainHttp,
                },
                "--redirect-uri \"http://a.example/cb\": plain http",
            ),
            (
                PostLogoutRedirectUri {
                    uri: "x".into(),
                    reason: RedirectUriError::NotAbsolute,
                },
                "--post-logout-redirect-uri \"x\": must be an absolute URI",
            ),
            (PublicResourceServer, "--resource-server needs a confidential client"),
            (ResourceServerAudience("a b".into()), "--resource-server \"a b\": an audience"),
            (Audience("a b".into()), "--audience \"a b\": an audience"),
            (CodeWithoutRedirectUri, "the authorization_code grant needs at least one --redirect-uri"),
            (
                AuthMethodMismatch {
                    method: AuthMethod::None,
                    client_type: ClientType::Confidential,
                },
                "--auth-method \"none\": use client_secret_basic or client_secret_post (or none with --public)",
            ),
            (PrivateKeyJwtWithoutKeys, "--auth-method \"none\": use client_secret_basic"),
            (AccessTokenTtl(0), "--ttl must be between 1 and 86400 seconds"),
            (RefreshWithoutUserGrant, "--grant-type refresh_token needs"),
            (FirstPartyWithoutUserGrant, "--first-party needs"),
            (RefreshCookieWithoutPassword, "--refresh-cookie needs --grant-type password"),
            (Origin("https://a.example/".into()), "--cors-origin \"https://a.example/\" is not an origin"),
            (IdTaken("x".into()), "client id collision; try again"),
            (PublicClientCredentials, "a public client cannot use client_credentials (RFC 6749 §4.4)"),
        ];
        for (error, expected) in table {
            let said = refusal(error, Some("none")).to_string();
            assert!(
                said.starts_with(expected),
                "{said:?} should start with {expected:?}"
            );
        }
    }
}
