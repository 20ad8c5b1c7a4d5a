//! `tessera resource create | list`: register the APIs (resource servers,
//! [RFC 8707]) that clients may ask tokens for with `resource`, in the same
//! database the server uses (works while it runs).
//!
//! [RFC 8707]: https://www.rfc-editor.org/rfc/rfc8707

use clap::Subcommand;
use serde_json::json;
use tessera_jwt::UnixTime;

use super::serve::ConfigArgs;
use super::Failure;
use crate::domain::resource::check_identifier;
use crate::domain::{Resource, Scope};
use crate::store::{ResourceStore, Store, StoreError};

#[derive(Debug, Subcommand)]
pub(crate) enum ResourceCommand {
    /// Register a resource server; prints it as JSON, with its identifier.
    Create(CreateArgs),
    /// List resource servers as JSON.
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// Its resource indicator: an absolute URI without a fragment, like
    /// https://api.example.com (RFC 8707 §2). Tokens for it carry it as
    /// `aud`.
    #[arg(long)]
    identifier: String,
    /// The scopes it accepts, separated by single spaces: a token for it
    /// carries no other.
    #[arg(long, default_value = "", value_parser = |s: &str| Scope::parse(s))]
    scope: Scope,
    /// The name users see on the consent page (default: the identifier).
    #[arg(long)]
    name: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

fn describe(r: &Resource) -> serde_json::Value {
    json!({
        "identifier": r.identifier,
        "name": r.name,
        "scope": r.scopes.as_str(),
        "created_at": r.created_at,
    })
}

pub(crate) fn run(cmd: ResourceCommand) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    runtime
        .block_on(async move {
            match cmd {
                ResourceCommand::Create(args) => create(args).await,
                ResourceCommand::List(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    let list: Vec<_> = store.resources().await?.all().iter().map(describe).collect();
                    println!("{}", serde_json::to_string_pretty(&list)?);
                    Ok(())
                }
            }
        })
        .map_err(Failure::Usage)
}

async fn create(args: CreateArgs) -> anyhow::Result<()> {
    // Bad input touches no database.
    check_identifier(&args.identifier)
        .map_err(|e| anyhow::anyhow!("--identifier {:?}: {e}", args.identifier))?;
    let config = args.config.load(None, None)?;
    let resource = Resource {
        name: args.name.unwrap_or_else(|| args.identifier.clone()),
        identifier: args.identifier,
        scopes: args.scope,
        created_at: UnixTime::now().as_secs(),
    };
    let store = Store::open(&config.database).await?;
    match store.create_resource(&resource).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => {
            anyhow::bail!("a resource {:?} is registered already", resource.identifier)
        }
        Err(e) => return Err(e.into()),
    }
    tracing::info!(target: "audit", resource = %resource.identifier, "resource created");
    println!("{}", serde_json::to_string_pretty(&describe(&resource))?);
    Ok(())
}
