//! `tessera audit list`: the audit log, newest first, with the filters of
//! `GET /admin/v1/audit` (the same domain function, [`crate::audit::list()`]),
//! printed as the API's JSON page (works while the server runs).

use clap::Subcommand;

use super::serve::ConfigArgs;
use super::Failure;
use crate::audit::{self, AuditQuery, ListError};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// List audit events, newest first, as JSON: `{"items": [...],
    /// "next_cursor": ...}` (pass it to --cursor for the next page).
    List(ListArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    /// Only this user's events (their user id).
    #[arg(long)]
    user_id: Option<String>,
    /// Only this client's events.
    #[arg(long)]
    client_id: Option<String>,
    /// Only events of this kind (sign_in, sign_in_failed, session_ended,
    /// consent_given, password_changed, client_created, key_rotated, ...).
    #[arg(long)]
    kind: Option<String>,
    /// Only events at or after this time (seconds since the epoch).
    #[arg(long)]
    since: Option<i64>,
    /// Only events before this time (seconds since the epoch).
    #[arg(long)]
    until: Option<i64>,
    /// At most this many events (1 to 200; default 50).
    #[arg(long)]
    limit: Option<usize>,
    /// The next_cursor of the page before.
    #[arg(long)]
    cursor: Option<String>,
    #[command(flatten)]
    config: ConfigArgs,
}

pub(crate) fn run(cmd: AuditCommand) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    runtime
        .block_on(async move {
            match cmd {
                AuditCommand::List(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    let query = AuditQuery {
                        user_id: args.user_id,
                        client_id: args.client_id,
                        kind: args.kind,
                        since: args.since,
                        until: args.until,
                        limit: args.limit,
                        cursor: args.cursor,
                    };
                    let page = match audit::list(&store, &query).await {
                        Ok(page) => page,
                        Err(ListError::InvalidRequest(why)) => anyhow::bail!("{why}"),
                        Err(ListError::Store(e)) => return Err(e.into()),
                    };
                    println!("{}", serde_json::to_string_pretty(&page)?);
                    anyhow::Ok(())
                }
            }
        })
        .map_err(Failure::Usage)
}
