//! `tessera client create | list | show | delete`: manage registered
//! clients in the same database the server uses (works while it runs).

use clap::Subcommand;
use serde_json::json;
use tessera_jwt::UnixTime;

use super::serve::ConfigArgs;
use super::Failure;
use crate::oauth::client_auth::{hash_secret, AuthMethod};
use crate::oauth::grant::GrantType;
use crate::oauth::Scope;
use crate::store::{Client, ClientStore, Store, StoreError};

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
    /// Registered redirect URI; repeat for several.
    #[arg(long = "redirect-uri")]
    redirect_uris: Vec<String>,
    /// Allowed scopes, separated by single spaces (RFC 6749 §3.3).
    #[arg(long, default_value = "", value_parser = |s: &str| Scope::parse(s))]
    scope: Scope,
    /// Allowed audience (resource server); repeat for several.
    #[arg(long = "audience")]
    audiences: Vec<String>,
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
    /// client_secret_post (default: either).
    #[arg(long)]
    auth_method: Option<String>,
    /// Deliver the refresh token of /api/v1/login in an HttpOnly, Secure,
    /// SameSite=Strict cookie scoped to /api/v1 instead of the JSON body.
    #[arg(long)]
    refresh_cookie: bool,
    /// Where RP-initiated logout may send the user back (repeatable).
    #[arg(long = "post-logout-redirect-uri")]
    post_logout_redirect_uris: Vec<String>,
    /// The operator's own app: its users are not asked for consent at
    /// sign-in (authorization code flow).
    #[arg(long)]
    first_party: bool,
    /// Access-token lifetime in seconds (default: the server's access_token_ttl).
    #[arg(long)]
    ttl: Option<i64>,
    #[command(flatten)]
    config: ConfigArgs,
}

fn random(bytes: usize) -> anyhow::Result<String> {
    crate::random::base64url(bytes).ok_or_else(|| anyhow::anyhow!("no randomness available"))
}

fn describe(c: &Client) -> serde_json::Value {
    json!({
        "client_id": c.id,
        "name": c.name,
        "public": c.secret_hash.is_none(),
        "grant_types": c.grant_types,
        "scope": c.scopes,
        "audiences": c.audiences,
        "redirect_uris": c.redirect_uris,
        "access_token_ttl": c.access_token_ttl,
        "created_at": c.created_at,
        "refresh_cookie": c.refresh_cookie,
        "first_party": c.first_party,
        "post_logout_redirect_uris": c.post_logout_redirect_uris,
        "resource_server_for": c.resource_server_for,
        "auth_method": if c.secret_hash.is_none() { "none" } else if c.auth_method.is_empty() { "client_secret_basic client_secret_post" } else { c.auth_method.as_str() },
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
                    tracing::info!(target: "audit", client_id = %args.client_id, "client deleted");
                    eprintln!("deleted client {}", args.client_id);
                    Ok(())
                }
            }
        })
        .map_err(Failure::Usage)
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    let config = args.config.load(None, None)?;
    let grant_types = if args.grant_types.is_empty() {
        vec!["client_credentials".to_owned()]
    } else {
        args.grant_types
    };
    for g in &grant_types {
        if GrantType::parse(g).is_none() {
            let known: Vec<&str> = GrantType::ALL.iter().map(|g| g.as_str()).collect();
            anyhow::bail!("unknown grant type {g:?} (known: {})", known.join(", "));
        }
    }
    if args.public && grant_types.iter().any(|g| g == "client_credentials") {
        anyhow::bail!("a public client cannot use client_credentials (RFC 6749 §4.4)");
    }
    // RFC 6749 §3.1.2: absolute URIs without a fragment; RFC 9700 §2.1:
    // the code flow needs registered redirect URIs, compared exactly.
    for uri in args.redirect_uris.iter().chain(&args.post_logout_redirect_uris) {
        let absolute = uri.split_once("://").is_some_and(|(scheme, rest)| {
            !scheme.is_empty()
                && scheme
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
                && !rest.is_empty()
        });
        if !absolute || uri.contains('#') {
            anyhow::bail!(
                "--redirect-uri {uri:?}: must be an absolute URI without a fragment (RFC 6749 §3.1.2)"
            );
        }
    }
    // Introspection needs an authenticated caller (RFC 7662 §2.1), and an
    // audience is one word, as in `aud` (space-separated in the store).
    if !args.resource_server_for.is_empty() && args.public {
        anyhow::bail!("--resource-server needs a confidential client: introspection authenticates its caller (RFC 7662 §2.1)");
    }
    for aud in &args.resource_server_for {
        if aud.is_empty() || aud.chars().any(char::is_whitespace) {
            anyhow::bail!("--resource-server {aud:?}: an audience is one non-empty word");
        }
    }
    if grant_types.iter().any(|g| g == "authorization_code") && args.redirect_uris.is_empty() {
        anyhow::bail!("the authorization_code grant needs at least one --redirect-uri");
    }
    let auth_method = match args.auth_method.as_deref().map(|m| (m, AuthMethod::parse(m))) {
        None => String::new(),
        Some((_, Some(m @ (AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost))))
            if !args.public =>
        {
            m.as_str().to_owned()
        }
        Some((_, Some(AuthMethod::None))) if args.public => String::new(),
        Some((other, _)) => anyhow::bail!(
            "--auth-method {other:?}: use client_secret_basic or client_secret_post (or none with --public)"
        ),
    };
    let ttl = args.ttl.unwrap_or(config.access_token_ttl);
    if ttl <= 0 || ttl > crate::config::MAX_ACCESS_TOKEN_TTL {
        anyhow::bail!(
            "--ttl must be between 1 and {} seconds",
            crate::config::MAX_ACCESS_TOKEN_TTL
        );
    }
    // An id that starts with '-' would read as a flag in shell commands.
    let mut id = random(16)?;
    while !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        id = random(16)?;
    }
    // 256 bits: high entropy, so a fast hash (SHA-256) is the right store.
    let secret = if args.public {
        None
    } else {
        Some(zeroize::Zeroizing::new(random(32)?))
    };
    let client = Client {
        id: id.clone(),
        name: args.name,
        secret_hash: secret.as_deref().map(|s| hash_secret(s)),
        grant_types,
        scopes: args.scope,
        audiences: args.audiences,
        redirect_uris: args.redirect_uris,
        access_token_ttl: ttl,
        created_at: UnixTime::now().as_secs(),
        refresh_cookie: args.refresh_cookie,
        first_party: args.first_party,
        post_logout_redirect_uris: args.post_logout_redirect_uris,
        resource_server_for: args.resource_server_for,
        auth_method,
    };
    for origin in &args.cors_origins {
        if !crate::config::is_origin(origin) {
            anyhow::bail!("--cors-origin {origin:?} is not an origin like https://app.example");
        }
    }
    let store = Store::open(&config.database).await?;
    match store
        .create_client_with_origins(&client, &args.cors_origins)
        .await
    {
        Err(StoreError::Conflict(_)) => anyhow::bail!("client id collision; try again"),
        other => other?,
    }
    tracing::info!(target: "audit", client_id = %id, "client created");
    let out = match &secret {
        Some(s) => json!({"client_id": id, "client_secret": s.as_str()}),
        None => json!({"client_id": id}),
    };
    println!("{out}");
    Ok(())
}
