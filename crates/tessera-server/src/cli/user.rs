//! `tessera user create | list | delete | set-password | disable | enable |
//! verify-email | links | unlink | factors | reset-factors | require-mfa`: manage users in the
//! same database the server uses (works while it runs). Passwords come from
//! standard input only (`--password-stdin`), never from a flag that would
//! end up in shell history and `ps`.

use crate::audit::{self, Actor, AuditKind, Event};
use std::io::Read;

use clap::Subcommand;
use serde_json::json;
use tessera_jwt::UnixTime;
use zeroize::Zeroizing;

use super::serve::ConfigArgs;
use super::Failure;
use crate::domain::FactorKind;
use crate::identity::factors;
use crate::identity::users::{self, NewUser, UserError};
use crate::password;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub(crate) enum UserCommand {
    /// Create a user; prints {"user_id", "username"}.
    Create(CreateArgs),
    /// List users as JSON (no password hashes).
    List(ListArgs),
    /// Delete a user and their refresh tokens.
    Delete(NameArgs),
    /// Replace a user's password (read from standard input) and unlock
    /// them; their refresh tokens and sign-in sessions end. Linked upstream
    /// identities stay unless `--unlink-all`.
    SetPassword(PasswordArgs),
    /// Disable a user: they cannot sign in, and their refresh tokens and
    /// sign-in sessions end.
    Disable(NameArgs),
    /// Enable a disabled user.
    Enable(NameArgs),
    /// Record that the user's email address is verified (`email_verified`
    /// in their ID tokens, UserInfo and access tokens); `--unverified`
    /// takes it back.
    VerifyEmail(VerifyArgs),
    /// List the user's linked upstream identities (provider, subject, when
    /// linked, last sign-in) as JSON.
    Links(NameArgs),
    /// Remove the user's link to an upstream provider: signing in there no
    /// longer signs in as this user.
    Unlink(UnlinkArgs),
    /// List the user's second factors as JSON (id, kind, created_at; for
    /// an authenticator whether it is confirmed, for recovery codes how
    /// many are left). No secrets.
    Factors(NameArgs),
    /// Remove every second factor of the user (authenticator app and
    /// recovery codes), for a person who lost them all; their refresh
    /// tokens and sign-in sessions end. Audited.
    ResetFactors(NameArgs),
    /// Require the user to sign in with a second factor (`--off` lifts
    /// it): every sign-in asks for two factors as an essential level, and
    /// until they have a factor, sign-ins end in
    /// unmet_authentication_requirements and the password grant and
    /// /api/v1/login refuse them. Audited.
    RequireMfa(RequireMfaArgs),
}

#[derive(Debug, clap::Args)]
pub(crate) struct RequireMfaArgs {
    /// The username.
    username: String,
    /// Lift the requirement instead.
    #[arg(long)]
    off: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct UnlinkArgs {
    /// The username.
    username: String,
    /// The provider: its `[[upstream]]` table's `id`, or the identity key
    /// `tessera user links` shows (its issuer, API base or user-info URL).
    provider: String,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct VerifyArgs {
    /// The username.
    username: String,
    /// Mark the address unverified instead.
    #[arg(long)]
    unverified: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct CreateArgs {
    /// Login name.
    #[arg(long)]
    username: String,
    /// Email address.
    #[arg(long)]
    email: Option<String>,
    /// Display name.
    #[arg(long)]
    name: Option<String>,
    /// Role carried in the user's tokens; repeat for several.
    #[arg(long = "role")]
    roles: Vec<String>,
    /// The email address is known to be the user's (`email_verified`).
    #[arg(long)]
    email_verified: bool,
    /// Read the password from standard input (required).
    #[arg(long, required = true)]
    password_stdin: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct ListArgs {
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct NameArgs {
    /// The username.
    username: String,
    #[command(flatten)]
    config: ConfigArgs,
}

#[derive(Debug, clap::Args)]
pub(crate) struct PasswordArgs {
    /// The username.
    username: String,
    /// Read the new password from standard input (required).
    #[arg(long, required = true)]
    password_stdin: bool,
    /// Also remove every upstream identity linked to the user: after an
    /// account takeover, a link the intruder added would otherwise still
    /// sign them in without the password.
    #[arg(long)]
    unlink_all: bool,
    #[command(flatten)]
    config: ConfigArgs,
}

/// Reads a password from stdin (one line) and checks its length.
fn read_password() -> anyhow::Result<Zeroizing<String>> {
    let mut text = Zeroizing::new(String::new());
    std::io::stdin()
        .take(password::MAX_LEN as u64 + 2)
        .read_to_string(&mut text)?;
    let line = Zeroizing::new(text.trim_end_matches(['\r', '\n']).to_owned());
    let chars = line.chars().count();
    if chars < password::MIN_LEN {
        anyhow::bail!("the password must have at least {} characters", password::MIN_LEN);
    }
    if line.len() > password::MAX_LEN {
        anyhow::bail!("the password must be at most {} bytes", password::MAX_LEN);
    }
    Ok(line)
}

/// The user named on the command line.
async fn named(store: &Store, username: &str) -> anyhow::Result<crate::domain::User> {
    match users::find(store, username).await {
        Err(UserError::NotFound) => anyhow::bail!("no user {username:?}"),
        other => Ok(other?),
    }
}

/// `user disable` / `user enable`: a disabled user cannot sign in, and
/// disabling ends their grants and sessions.
async fn set_disabled(args: NameArgs, disable: bool) -> anyhow::Result<()> {
    let store = Store::open(&args.config.load(None, None)?.database).await?;
    let user = named(&store, &args.username).await?;
    users::set_disabled(&store, &user.id, disable, UnixTime::now().as_secs()).await?;
    let what = if disable { "disabled" } else { "enabled" };
    let event = Event::new(
        AuditKind::UserChanged,
        UnixTime::now().as_secs(),
        Actor::Cli,
        "user disabled or enabled",
    )
    .user(&user.id)
    .with("disabled", disable);
    audit::record(&store, event).await;
    eprintln!("{what} user {}", args.username);
    Ok(())
}

pub(crate) fn run(cmd: UserCommand) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)?;
    runtime
        .block_on(async move {
            match cmd {
                UserCommand::Create(args) => {
                    // The username is checked before the password is read
                    // (a typo costs no typing), and again with the rest.
                    let username = crate::username::new_username(&args.username)
                        .map_err(|e| anyhow::anyhow!("--username: {e}"))?;
                    let password = read_password()?;
                    password::strength(&password, &username)
                        .map_err(|why| anyhow::anyhow!("the password is too weak: {why}"))?;
                    let config = args.config.load(None, None)?;
                    let store = Store::open(&config.database).await?;
                    let new = NewUser {
                        username,
                        email: args.email,
                        email_verified: args.email_verified,
                        name: args.name,
                        roles: args.roles,
                        password: Some(password),
                    };
                    let user = match users::create(&store, new, UnixTime::now().as_secs()).await {
                        Err(UserError::UsernameTaken | UserError::EmailTaken { .. }) => {
                            anyhow::bail!("that username or email is taken")
                        }
                        Err(UserError::Email) => anyhow::bail!("--email: not an address"),
                        other => other?,
                    };
                    let event = Event::new(AuditKind::UserCreated, UnixTime::now().as_secs(), Actor::Cli, "user created")
                        .user(&user.id)
                        .with("roles", user.roles.clone());
                    audit::record(&store, event).await;
                    println!("{}", json!({"user_id": user.id, "username": user.username}));
                    Ok(())
                }
                UserCommand::List(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    let users: Vec<_> = users::list(&store)
                        .await?
                        .into_iter()
                        .map(|u| {
                            json!({"user_id": u.id, "username": u.username, "email": u.email, "name": u.name,
                                   "roles": u.roles, "locked_until": u.locked_until, "require_mfa": u.require_mfa})
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&users)?);
                    Ok(())
                }
                UserCommand::Delete(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    let user = named(&store, &args.username).await?;
                    users::delete(&store, &user.id, UnixTime::now().as_secs()).await?;
                    let event = Event::new(AuditKind::UserDeleted, UnixTime::now().as_secs(), Actor::Cli, "user deleted")
                        .user(&user.id);
                    audit::record(&store, event).await;
                    eprintln!("deleted user {}", args.username);
                    Ok(())
                }
                UserCommand::SetPassword(args) => {
                    let password = read_password()?;
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    let user = named(&store, &args.username).await?;
                    users::set_password(&store, &user.id, password, UnixTime::now().as_secs()).await?;
                    let event = Event::new(AuditKind::PasswordChanged, UnixTime::now().as_secs(), Actor::Cli, "password changed; grants and sessions ended")
                        .user(&user.id);
                    audit::record(&store, event).await;
                    eprintln!("password changed for {}", args.username);
                    // A linked identity signs in without the password: say
                    // so, or remove them when asked.
                    let links = users::links(&store, &user.id).await?;
                    if args.unlink_all {
                        for link in &links {
                            users::unlink(&store, &user.id, &link.provider).await?;
                            let event = Event::new(AuditKind::UpstreamUnlinked, UnixTime::now().as_secs(), Actor::Cli, "upstream identity unlinked with the password change")
                                .user(&user.id)
                                .with("provider", link.provider.as_str());
                            audit::record(&store, event).await;
                        }
                        if !links.is_empty() {
                            eprintln!("unlinked {} upstream identities", links.len());
                        }
                    } else if !links.is_empty() {
                        eprintln!(
                            "{} still has {} linked upstream identities, which sign in without the password \
                             (tessera user links {}); --unlink-all removes them",
                            args.username,
                            links.len(),
                            args.username
                        );
                    }
                    Ok(())
                }
                UserCommand::Disable(args) => set_disabled(args, true).await,
                UserCommand::Enable(args) => set_disabled(args, false).await,
                UserCommand::Links(args) => {
                    let config = args.config.load(None, None)?;
                    let store = Store::open(&config.database).await?;
                    let user = named(&store, &args.username).await?;
                    let links: Vec<_> = users::links(&store, &user.id)
                        .await?
                        .into_iter()
                        .map(|i| {
                            // The table(s) configured for this key, if any.
                            let ids: Vec<&str> = config
                                .upstream
                                .iter()
                                .filter(|u| u.identity_key() == i.provider)
                                .map(|u| u.id.as_str())
                                .collect();
                            json!({"provider": i.provider, "upstream_ids": ids, "subject": i.subject,
                                   "linked_at": i.linked_at, "last_sign_in": i.last_sign_in})
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&links)?);
                    Ok(())
                }
                UserCommand::Unlink(args) => {
                    let config = args.config.load(None, None)?;
                    let store = Store::open(&config.database).await?;
                    let key = config
                        .upstream
                        .iter()
                        .find(|u| u.id == args.provider)
                        .map_or_else(|| args.provider.clone(), |u| u.identity_key());
                    let user = named(&store, &args.username).await?;
                    let removed = users::unlink(&store, &user.id, &key).await?;
                    if removed == 0 {
                        anyhow::bail!("{} has no link to {:?}", args.username, args.provider);
                    }
                    let event = Event::new(AuditKind::UpstreamUnlinked, UnixTime::now().as_secs(), Actor::Cli, "upstream identity unlinked")
                        .user(&user.id)
                        .with("provider", args.provider.as_str());
                    audit::record(&store, event).await;
                    eprintln!("unlinked {} from {}", args.username, args.provider);
                    Ok(())
                }
                UserCommand::Factors(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    let user = named(&store, &args.username).await?;
                    let list: Vec<_> = factors::list(&store, &user.id)
                        .await?
                        .into_iter()
                        .map(|f| match f.kind {
                            FactorKind::Totp { confirmed } => json!({"id": f.id, "kind": f.kind.as_str(),
                                "confirmed": confirmed, "created_at": f.created_at}),
                            FactorKind::RecoveryCodes { left } => json!({"id": f.id, "kind": f.kind.as_str(),
                                "left": left, "created_at": f.created_at}),
                            FactorKind::Passkey { ref name, last_used_at } => json!({"id": f.id, "kind": f.kind.as_str(),
                                "name": name, "created_at": f.created_at, "last_used_at": last_used_at}),
                        })
                        .collect();
                    println!("{}", serde_json::to_string_pretty(&list)?);
                    Ok(())
                }
                UserCommand::ResetFactors(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    let user = named(&store, &args.username).await?;
                    let removed = factors::reset(&store, &user.id, UnixTime::now().as_secs()).await?;
                    let event = Event::new(AuditKind::FactorsReset, UnixTime::now().as_secs(), Actor::Cli, "second factors reset; grants and sessions ended")
                        .user(&user.id)
                        .with("removed", removed);
                    audit::record(&store, event).await;
                    eprintln!("removed the second factors of {} ({removed} rows)", args.username);
                    Ok(())
                }
                UserCommand::RequireMfa(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    let user = named(&store, &args.username).await?;
                    users::set_require_mfa(&store, &user.id, !args.off).await?;
                    let event = Event::new(AuditKind::UserChanged, UnixTime::now().as_secs(), Actor::Cli, "second factor requirement set")
                        .user(&user.id)
                        .with("require_mfa", !args.off);
                    audit::record(&store, event).await;
                    let what = if args.off { "no longer requires" } else { "requires" };
                    eprintln!("{} {what} a second factor", args.username);
                    Ok(())
                }
                UserCommand::VerifyEmail(args) => {
                    let store = Store::open(&args.config.load(None, None)?.database).await?;
                    let user = named(&store, &args.username).await?;
                    users::set_email_verified(&store, &user.id, !args.unverified).await?;
                    let event = Event::new(AuditKind::UserChanged, UnixTime::now().as_secs(), Actor::Cli, "email verification set")
                        .user(&user.id)
                        .with("email_verified", !args.unverified);
                    audit::record(&store, event).await;
                    Ok(())
                }
            }
        })
        .map_err(Failure::Usage)
}
