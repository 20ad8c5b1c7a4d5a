//! `mcp-server`: serve the demo MCP server behind Tessera.
//!
//! ```sh
//! tessera resource create --identifier http://127.0.0.1:3001/mcp --scope notes:read --name "Notes (MCP)"
//! cargo run -p mcp-server -- --issuer http://127.0.0.1:8080 [--listen 127.0.0.1:3001]
//! ```
//!
//! Start-up fails, with the reason, when the issuer's metadata or keys
//! cannot be fetched: a server that cannot verify tokens must not serve.

use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use mcp_server::{app, MCP_PATH, SCOPE};
use tessera_guard::Guard;

/// Serve the demo MCP server, protected by tessera-guard.
#[derive(Debug, Parser)]
#[command(name = "mcp-server", version)]
struct Args {
    /// The issuer whose tokens are accepted, exactly as in their `iss`.
    /// Env MCP_ISSUER.
    #[arg(long)]
    issuer: Option<String>,
    /// Address to listen on (default 127.0.0.1:3001). Env MCP_LISTEN.
    #[arg(long)]
    listen: Option<String>,
    /// This server's resource identifier, its MCP endpoint's URL as clients
    /// reach it (default http://LISTEN/mcp): the `aud` tokens must name.
    /// Env MCP_RESOURCE.
    #[arg(long)]
    resource: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .try_init();
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mcp-server: {e:#}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> anyhow::Result<()> {
    let pick = |flag: Option<String>, env: &str| flag.or_else(|| std::env::var(env).ok());
    let issuer = pick(args.issuer, "MCP_ISSUER").context("no issuer: pass --issuer URL or set MCP_ISSUER")?;
    let listen = pick(args.listen, "MCP_LISTEN").unwrap_or_else(|| "127.0.0.1:3001".into());
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("listen on {listen}"))?;
    let local = listener.local_addr()?;
    let resource = pick(args.resource, "MCP_RESOURCE").unwrap_or_else(|| format!("http://{local}{MCP_PATH}"));
    let guard = Guard::builder(&issuer, &resource)
        .resource(&resource, &[SCOPE])
        .build()
        .await
        .with_context(|| format!("tokens of {issuer} cannot be verified"))?;
    let app = app(&guard)?;
    // The line a test (or a person) waits for.
    println!("mcp-server: {resource} (tokens from {issuer})");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
