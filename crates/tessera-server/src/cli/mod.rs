//! The command line: `tessera serve`, `tessera client ...`,
//! `tessera resource ...`, `tessera user ...`, `tessera audit list`, and the offline
//! `tessera keys ...` and `tessera token ...`.
//!
//! Flags are parsed by clap into plain structs (each flag's help is its doc
//! comment), then each command runs against `tessera-jwt`. `anyhow` is used
//! here and nowhere in the libraries.
//!
//! Exit codes: 0 success; 1 a token was refused (the reason on stderr);
//! 2 bad usage or an unreadable file.

mod audit;
mod client;
mod input;
mod keys;
mod resource;
mod serve;
mod token;
mod user;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Tessera: an OAuth 2.0 / OpenID Connect authorization server issuing JWTs.
#[derive(Debug, Parser)]
#[command(name = "tessera", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the authorization server.
    Serve(serve::ServeArgs),
    /// Manage registered clients (works while the server runs).
    #[command(subcommand)]
    Client(client::ClientCommand),
    /// Manage resource servers: the APIs clients ask tokens for with
    /// `resource` (RFC 8707; works while the server runs).
    #[command(subcommand)]
    Resource(resource::ResourceCommand),
    /// Manage users (works while the server runs).
    #[command(subcommand)]
    User(user::UserCommand),
    /// Generate signing keys and print their public JWKS.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Sign, decode and verify JWTs offline.
    #[command(subcommand)]
    Token(token::TokenCommand),
    /// Read the audit log (works while the server runs).
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

/// How a command ended, beyond plain success.
#[derive(Debug)]
pub(crate) enum Failure {
    /// A token was checked and refused: exit 1.
    Refused(tessera_jwt::Error),
    /// Anything else (bad input file, bad flag value): exit 2.
    Usage(anyhow::Error),
    /// As `Usage`, already written to the log (`tessera serve` with
    /// `log_format = "json"`, whose every stderr line is JSON): exit 2.
    Logged,
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::Usage(e)
    }
}

/// Parses the process arguments and runs the command.
pub fn main() -> ExitCode {
    run(Cli::parse())
}

/// Runs a parsed command line, printing errors to stderr.
pub fn run(cli: Cli) -> ExitCode {
    // Administrative commands write an audit line per change to stderr
    // (the server logs its own to the same target, `audit`).
    if matches!(
        cli.command,
        Command::Client(_) | Command::Resource(_) | Command::User(_) | Command::Keys(_)
    ) {
        let _ = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .log_internal_errors(false)
            .with_env_filter(tracing_subscriber::EnvFilter::new("audit=info"))
            .try_init();
    }
    let result = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Client(cmd) => client::run(cmd),
        Command::Resource(cmd) => resource::run(cmd),
        Command::User(cmd) => user::run(cmd),
        Command::Keys(cmd) => keys::run(cmd),
        Command::Token(cmd) => token::run(cmd),
        Command::Audit(cmd) => audit::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Refused(e)) => {
            eprintln!("token refused: {e}");
            ExitCode::from(1)
        }
        Err(Failure::Usage(e)) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
        Err(Failure::Logged) => ExitCode::from(2),
    }
}
