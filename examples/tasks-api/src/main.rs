//! `tasks-api`: serve the tasks demo API.
//!
//! ```sh
//! cargo run -p tasks-api -- --issuer http://127.0.0.1:8080 [--listen 127.0.0.1:3000]
//! ```
//!
//! Start-up fails, with the reason, when the issuer's metadata or keys
//! cannot be fetched: an API that cannot verify tokens must not serve.

use std::io::Write;
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use tasks_api::{app, Db};
use tessera_guard::Guard;

/// Serve the tasks demo API, protected by tessera-guard.
///
/// Each setting is a flag or an environment variable (flags win).
#[derive(Debug, Parser)]
#[command(name = "tasks-api", version)]
struct Args {
    /// The issuer whose tokens are accepted, exactly as in their `iss`
    /// (e.g. http://127.0.0.1:8080); its metadata and keys are fetched at
    /// start. Required. Env TASKS_ISSUER.
    #[arg(long)]
    issuer: Option<String>,
    /// Address to listen on (default 127.0.0.1:3000). Env TASKS_LISTEN.
    #[arg(long)]
    listen: Option<String>,
    /// The audience tokens must name in `aud` (default tasks-api).
    /// Env TASKS_AUDIENCE.
    #[arg(long)]
    audience: Option<String>,
    /// Database URL (default sqlite://./tasks-data/tasks.db; folder and file
    /// are created on first start). Env TASKS_DATABASE.
    #[arg(long)]
    database: Option<String>,
}

/// The settings, each resolved from flag, environment, then default.
struct Settings {
    issuer: String,
    listen: String,
    audience: String,
    database: String,
}

impl Settings {
    fn resolve(args: Args) -> anyhow::Result<Settings> {
        let pick = |flag: Option<String>, env: &str| flag.or_else(|| std::env::var(env).ok());
        let issuer = pick(args.issuer, "TASKS_ISSUER")
            .context("no issuer: pass --issuer URL (e.g. http://127.0.0.1:8080) or set TASKS_ISSUER")?;
        Ok(Settings {
            issuer,
            listen: pick(args.listen, "TASKS_LISTEN").unwrap_or_else(|| "127.0.0.1:3000".into()),
            audience: pick(args.audience, "TASKS_AUDIENCE").unwrap_or_else(|| "tasks-api".into()),
            database: pick(args.database, "TASKS_DATABASE")
                .unwrap_or_else(|| "sqlite://./tasks-data/tasks.db".into()),
        })
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    // A log line that cannot be written (stderr closed) is dropped rather
    // than reported, which would panic.
    let _ = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .log_internal_errors(false)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .try_init();
    let settings = match Settings::resolve(args) {
        Ok(settings) => settings,
        Err(e) => return fail(&e, ExitCode::from(2)),
    };
    let outcome = tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|runtime| runtime.block_on(serve(settings)));
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e, ExitCode::FAILURE),
    }
}

/// Says why on stderr (without panicking if stderr is closed).
fn fail(error: &anyhow::Error, code: ExitCode) -> ExitCode {
    let _ = writeln!(std::io::stderr(), "tasks-api: error: {error:#}");
    code
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let Settings {
        issuer,
        listen,
        audience,
        database,
    } = settings;
    let guard = Guard::discover(&issuer, &audience)
        .await
        .with_context(|| format!("cannot fetch the metadata and keys of the issuer {issuer}"))?;
    let db = Db::open(&database)
        .await
        .with_context(|| format!("cannot open the database {database}"))?;
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .with_context(|| format!("cannot listen on {listen}"))?;
    let addr = listener.local_addr()?;
    tracing::info!(%issuer, %audience, %database, "listening on http://{addr}");
    axum::serve(listener, app(guard, db))
        .with_graceful_shutdown(shutdown_signal())
        .await
        .context("serving failed")?;
    Ok(())
}

/// Resolves on Ctrl-C or, on Unix, SIGTERM; in-flight requests then finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}
