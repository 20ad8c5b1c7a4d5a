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

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum RedirectUriError {
    /// Not an absolute URI (RFC 6749 §3.1.2).
    #[error("must be an absolute URI (RFC 6749 §3.1.2)")]
    NotAbsolute,
    /// It has a fragment (RFC 6749 §3.1.2).
    #[error("must not have a fragment (RFC 6749 §3.1.2)")]
    Fragment,
    /// Plain http to a host other than loopback: the code would cross the
    /// network unencrypted (RFC 9700 §2.1, §4.1).
    #[error(
        "plain http is allowed only to a loopback host (127.0.0.1, [::1] or localhost, RFC 8252 §7.3); use https (RFC 9700 §2.1)"
    )]
    PlainHttp,
    /// Neither https, loopback http, nor a private-use scheme named after
    /// a domain (`javascript:`, `data:`, `file:`, `myapp:` ...).
    #[error(
        "use https, http to a loopback host, or a native app's private-use scheme named after a domain it controls, like com.example.app:/cb (RFC 8252 §7.1)"
    )]
    Scheme,
}

/// Whether `uri` may be registered as a redirect URI (also used for
/// post-logout redirect URIs).
///
/// - An absolute URI without a fragment (RFC 6749 §3.1.2).
/// - `https`, always.
/// - `http` only to a loopback host, `127.0.0.1` (any of 127/8), `[::1]`
///   or `localhost`: a native app's loopback redirect (RFC 8252 §7.3);
///   anywhere else the code and the browser's request would cross the
///   network in clear (RFC 9700 §2.1 and §4.1, which ask for TLS on every
///   redirect URI but the loopback one).
/// - A native app's private-use scheme (RFC 8252 §7.1), which must be a
///   reverse domain name the app controls, so it has a dot:
///   `com.example.app:/cb`. That also refuses `javascript:`, `data:`,
///   `file:` and other schemes a browser would not hand to an app.
pub(crate) fn redirect_uri_allowed(uri: &str) -> Result<(), RedirectUriError> {
    let parsed = url::Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    match parsed.scheme() {
        "https" | "http" if crate::config::secure_transport(uri) => Ok(()),
        "http" => Err(RedirectUriError::PlainHttp),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(RedirectUriError::Scheme),
    }
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
    // RFC 9700 §2.1: the code flow needs registered redirect URIs, compared
    // exactly; each must be one a browser may be sent to with a code.
    for (flag, uri) in args.redirect_uris.iter().map(|u| ("--redirect-uri", u)).chain(
        args.post_logout_redirect_uris
            .iter()
            .map(|u| ("--post-logout-redirect-uri", u)),
    ) {
        redirect_uri_allowed(uri).map_err(|e| anyhow::anyhow!("{flag} {uri:?}: {e}"))?;
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

#[cfg(test)]
mod tests {
    use super::{redirect_uri_allowed, RedirectUriError};

    /// Issue 17, item 10: plain http only to loopback (RFC 8252 §7.3, RFC
    /// 9700 §2.1), private-use schemes for native apps (RFC 8252 §7.1).
    #[test]
    fn redirect_uris_need_tls_unless_loopback_or_a_native_app() {
        use RedirectUriError::*;
        let table: &[(&str, Result<(), RedirectUriError>)] = &[
            ("https://photos.example/callback", Ok(())),
            ("https://photos.example:8443/cb?x=1", Ok(())),
            ("http://127.0.0.1:8080/cb", Ok(())),
            ("http://127.0.0.1/cb", Ok(())),
            ("http://[::1]:51004/cb", Ok(())),
            ("http://localhost:3000/cb", Ok(())),
            ("http://LOCALHOST/cb", Ok(())),
            ("com.example.app:/oauth2redirect", Ok(())),
            ("com.example.app://cb", Ok(())),
            ("http://photos.example/callback", Err(PlainHttp)),
            ("http://app.example/cb", Err(PlainHttp)),
            ("http://10.0.0.5/cb", Err(PlainHttp)),
            ("http://localhost.evil.example/cb", Err(PlainHttp)),
            ("http://127.0.0.1.evil.example/cb", Err(PlainHttp)),
            ("http://localhost@evil.example/cb", Err(PlainHttp)),
            ("http://[::ffff:10.0.0.1]/cb", Err(PlainHttp)),
            ("javascript:alert(1)", Err(Scheme)),
            ("data:text/html,hi", Err(Scheme)),
            ("file:///etc/passwd", Err(Scheme)),
            ("myapp://cb", Err(Scheme)),
            ("https://photos.example/cb#fragment", Err(Fragment)),
            ("/relative/cb", Err(NotAbsolute)),
            ("not a uri", Err(NotAbsolute)),
            ("", Err(NotAbsolute)),
        ];
        let wrong: Vec<_> = table
            .iter()
            .map(|(uri, expected)| (uri, redirect_uri_allowed(uri), expected))
            .filter(|(_, got, expected)| got != *expected)
            .collect();
        assert!(wrong.is_empty(), "(uri, got, expected): {wrong:#?}");
    }
}
