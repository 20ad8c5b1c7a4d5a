//! Outgoing mail (issue 20, item 2): email verification and password-reset
//! links.
//!
//! - **Where it goes** ([`Setup`]): an SMTP server (`[smtp]`: `none`,
//!   `starttls` or `tls`, through lettre on rustls with the Mozilla roots
//!   plus an optional `ca_file`), a folder of `.eml` files (`mail_dir`, for
//!   development), or nowhere (a warning at start).
//! - **What is sent** ([`Letter`], built by [`message`]): plain text plus
//!   simple HTML, naming the issuer, with links built from the issuer URL.
//! - **How** ([`Outbox`]): handlers put a letter on a bounded queue and
//!   answer at once; one background task sends. A page therefore answers
//!   the same, in the same time, whether a message was sent, refused by the
//!   server, or never made (an unknown account): the answer cannot tell
//!   who has an account (OWASP Forgot Password Cheat Sheet, "Forgot
//!   Password Request"). A failure is logged with the message's kind only,
//!   never its address, link or token; a full queue drops the letter with
//!   a warning rather than holding a request.

pub mod message;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::mpsc;
use zeroize::Zeroizing;

use crate::config::{Config, ConfigError, SmtpConfig, SmtpSecurity};
pub use message::{Letter, Sender};

/// Letters waiting to be sent; past it new ones are dropped (logged).
pub const QUEUE: usize = 256;

/// How long one SMTP conversation may take.
pub const SMTP_TIMEOUT: Duration = Duration::from_secs(30);

/// The sender used with `mail_dir` when `[smtp] from` is not set.
pub const DEV_FROM: &str = "Tessera <noreply@localhost>";

/// Where mail goes, checked from the configuration.
pub enum Setup {
    /// Nowhere: no `[smtp]`, no `mail_dir`.
    Off,
    /// One `.eml` file per message in this folder.
    Dir {
        /// The folder.
        dir: PathBuf,
        /// The `From` mailbox.
        from: Mailbox,
    },
    /// An SMTP server.
    Smtp(Box<Smtp>),
}

impl std::fmt::Debug for Setup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A checked `[smtp]`, with its password.
pub struct Smtp {
    host: String,
    port: u16,
    security: SmtpSecurity,
    credentials: Option<(String, Zeroizing<String>)>,
    from: Mailbox,
    /// PEM CA certificates trusted besides the Mozilla roots.
    ca: Option<Vec<u8>>,
}

fn invalid(setting: &'static str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        setting,
        message: message.into(),
    }
}

impl Setup {
    /// The setup `config` asks for. The SMTP password is read here:
    /// `TESSERA_SMTP_PASSWORD`, else `password_file`.
    pub fn from_config(config: &Config) -> Result<Setup, ConfigError> {
        match (&config.smtp, &config.mail_dir) {
            (Some(_), Some(_)) => Err(invalid(
                "mail_dir",
                "mail_dir writes mail to files instead of [smtp]: set one of them",
            )),
            (None, None) => Ok(Setup::Off),
            (None, Some(dir)) => Ok(Setup::Dir {
                dir: PathBuf::from(dir),
                from: DEV_FROM
                    .parse()
                    .map_err(|e| invalid("mail_dir", format!("{e}")))?,
            }),
            (Some(smtp), None) => Ok(Setup::Smtp(Box::new(Smtp::from_config(smtp)?))),
        }
    }

    /// One line for the start-up log (no password).
    pub fn describe(&self) -> String {
        match self {
            Setup::Off => "no mail is sent".into(),
            Setup::Dir { dir, .. } => format!("mail is written to {} (mail_dir)", dir.display()),
            Setup::Smtp(smtp) => format!(
                "mail is sent through {}:{} ({:?}{})",
                smtp.host,
                smtp.port,
                smtp.security,
                if smtp.credentials.is_some() {
                    ", authenticated"
                } else {
                    ""
                }
            ),
        }
    }
}

impl Smtp {
    fn from_config(c: &SmtpConfig) -> Result<Smtp, ConfigError> {
        if c.host.trim().is_empty() {
            return Err(invalid("smtp.host", "the SMTP server's host name is required"));
        }
        let from: Mailbox = c.from.parse().map_err(|e| {
            invalid(
                "smtp.from",
                format!("{:?} is not `Name <addr@example.com>` or an address: {e}", c.from),
            )
        })?;
        let password = match (
            std::env::var("TESSERA_SMTP_PASSWORD")
                .ok()
                .filter(|p| !p.is_empty()),
            &c.password_file,
        ) {
            (Some(p), _) => Some(Zeroizing::new(p)),
            (None, Some(file)) => {
                let text = std::fs::read_to_string(file)
                    .map_err(|e| invalid("smtp.password_file", format!("{file}: {e}")))?;
                Some(Zeroizing::new(text.trim_end_matches(['\r', '\n']).to_owned()))
            }
            (None, None) => None,
        };
        let credentials = match (&c.username, password) {
            (Some(user), Some(password)) => Some((user.clone(), password)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid(
                    "smtp.username",
                    "a username needs a password (password_file or TESSERA_SMTP_PASSWORD)",
                ))
            }
            (None, Some(_)) => return Err(invalid("smtp.password_file", "a password needs a username")),
        };
        let ca = match &c.ca_file {
            Some(file) => {
                let pem = std::fs::read(file).map_err(|e| invalid("smtp.ca_file", format!("{file}: {e}")))?;
                Certificate::from_pem(&pem).map_err(|e| invalid("smtp.ca_file", format!("{file}: {e}")))?;
                Some(pem)
            }
            None => None,
        };
        Ok(Smtp {
            host: c.host.trim().to_owned(),
            port: c.port(),
            security: c.security,
            credentials,
            from,
            ca,
        })
    }

    /// The lettre transport.
    fn transport(&self) -> Result<AsyncSmtpTransport<Tokio1Executor>, lettre::transport::smtp::Error> {
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(self.host.clone())
            .port(self.port)
            .timeout(Some(SMTP_TIMEOUT));
        if self.security != SmtpSecurity::None {
            let mut tls = TlsParameters::builder(self.host.clone());
            if let Some(pem) = &self.ca {
                tls = tls.add_root_certificate(Certificate::from_pem(pem)?);
            }
            let tls = tls.build_rustls()?;
            builder = builder.tls(match self.security {
                SmtpSecurity::Tls => Tls::Wrapper(tls),
                _ => Tls::Required(tls),
            });
        }
        if let Some((user, password)) = &self.credentials {
            builder = builder.credentials(Credentials::new(user.clone(), password.to_string()));
        }
        Ok(builder.build())
    }
}

/// Where the background task puts messages.
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    Dir(PathBuf),
}

impl Transport {
    async fn send(&self, message: lettre::Message) -> Result<(), String> {
        match self {
            Transport::Smtp(smtp) => smtp.send(message).await.map(|_| ()).map_err(|e| e.to_string()),
            Transport::Dir(dir) => {
                let dir = dir.clone();
                let raw = Zeroizing::new(message.formatted());
                tokio::task::spawn_blocking(move || write_eml(&dir, &raw))
                    .await
                    .map_err(|e| e.to_string())?
                    .map_err(|e| e.to_string())
            }
        }
    }
}

/// Writes one message as `<time>-<random>.eml`, through a temporary name
/// so a reader never sees half a file.
fn write_eml(dir: &std::path::Path, raw: &[u8]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let stamp = std::time::SystemTime::UNIX_EPOCH
        .elapsed()
        .map(|d| d.as_micros())
        .unwrap_or_default();
    let name = format!("{stamp}-{}", crate::random::hex(6).unwrap_or_default());
    let part = dir.join(format!(".{name}.part"));
    std::fs::write(&part, raw)?;
    std::fs::rename(&part, dir.join(format!("{name}.eml")))
}

/// The handle every handler shares: puts letters on the queue. Cheap to
/// clone.
#[derive(Clone)]
pub struct Outbox {
    queue: Option<mpsc::Sender<Letter>>,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Outbox")
            .field("on", &self.queue.is_some())
            .finish()
    }
}

impl Outbox {
    /// An outbox that sends nothing (no mail configured).
    pub fn off() -> Outbox {
        Outbox { queue: None }
    }

    /// Starts the sending task for `setup` (in the current tokio runtime);
    /// messages name `issuer`. With [`Setup::Off`], warns once and sends
    /// nothing.
    pub fn start(setup: Setup, issuer: &str) -> Result<Outbox, ConfigError> {
        let (transport, from) = match setup {
            Setup::Off => {
                tracing::warn!(
                    "no mail is configured ([smtp] or mail_dir): email verification and password-reset \
                     links are not sent, though the pages answer as if they were"
                );
                return Ok(Outbox::off());
            }
            Setup::Dir { dir, from } => (Transport::Dir(dir), from),
            Setup::Smtp(smtp) => {
                let transport = smtp
                    .transport()
                    .map_err(|e| invalid("smtp", format!("cannot set up the SMTP client: {e}")))?;
                (Transport::Smtp(transport), smtp.from.clone())
            }
        };
        let sender = Arc::new(Sender::new(issuer, from));
        let (queue, mut letters) = mpsc::channel::<Letter>(QUEUE);
        tokio::spawn(async move {
            while let Some(letter) = letters.recv().await {
                let kind = letter.kind();
                let message = match message::build(&sender, &letter) {
                    Ok(m) => m,
                    Err(e) => {
                        tracing::warn!(kind, "mail not sent: {e}");
                        continue;
                    }
                };
                drop(letter);
                match transport.send(message).await {
                    Ok(()) => tracing::debug!(kind, "mail sent"),
                    Err(e) => tracing::warn!(kind, "mail not sent: {e}"),
                }
            }
        });
        Ok(Outbox { queue: Some(queue) })
    }

    /// Queues `letter` without waiting. Nothing configured: dropped. The
    /// queue full: dropped, with a warning. Never an error to the caller,
    /// whose answer must not depend on mail.
    pub fn send(&self, letter: Letter) {
        let Some(queue) = &self.queue else {
            tracing::debug!(kind = letter.kind(), "no mail configured: not sent");
            return;
        };
        if let Err(e) = queue.try_send(letter) {
            let kind = match &e {
                mpsc::error::TrySendError::Full(l) | mpsc::error::TrySendError::Closed(l) => l.kind(),
            };
            tracing::warn!(kind, "mail not sent: the outbox is full or stopped");
        }
    }
}
