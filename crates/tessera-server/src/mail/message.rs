//! The messages Tessera sends, a closed set ([`Letter`]), each built as
//! `multipart/alternative` ([RFC 2046 §5.1.4]): plain text first, then
//! a simple HTML version, both from templates under
//! `templates/email/` (the HTML one auto-escaped). Every message names
//! the issuer (its name and URL), and every link is built from the issuer
//! URL, never from a request's `Host`, so a forged header cannot point a
//! link elsewhere.
//!
//! [RFC 2046 §5.1.4]: https://www.rfc-editor.org/rfc/rfc2046#section-5.1.4

use askama::Template;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use zeroize::Zeroizing;

/// What one message says and to whom. The token is the secret half of a
/// single-use link (only its hash is stored); it is in no `Debug` output
/// and never logged.
pub enum Letter {
    /// "Confirm this address": the link to `/email/verify`.
    VerifyEmail {
        /// The address to verify (the message goes there).
        to: String,
        /// The account's username, to say whose address it is.
        username: String,
        /// The link's token.
        token: Zeroizing<String>,
    },
    /// "Reset your password": the link to `/password/reset`.
    ResetPassword {
        /// The account's verified address.
        to: String,
        /// The account's username.
        username: String,
        /// The link's token.
        token: Zeroizing<String>,
    },
}

impl std::fmt::Debug for Letter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Letter")
            .field("kind", &self.kind())
            .finish_non_exhaustive()
    }
}

impl Letter {
    /// What kind of message this is, for logs (no address, no token).
    pub fn kind(&self) -> &'static str {
        match self {
            Letter::VerifyEmail { .. } => "verify-email",
            Letter::ResetPassword { .. } => "reset-password",
        }
    }

    /// The recipient's address.
    pub fn to(&self) -> &str {
        match self {
            Letter::VerifyEmail { to, .. } | Letter::ResetPassword { to, .. } => to,
        }
    }
}

/// Who sends: the issuer's name and URL, and the `From` mailbox.
#[derive(Clone, Debug)]
pub struct Sender {
    /// The issuer identifier (an http(s) URL): links start with it.
    pub issuer: String,
    /// The name messages sign with: the `from` display name, else the
    /// issuer's host.
    pub name: String,
    /// The `From` header.
    pub from: Mailbox,
}

impl Sender {
    /// The sender for `issuer` mailing as `from`.
    pub fn new(issuer: &str, from: Mailbox) -> Sender {
        let host = issuer
            .split_once("://")
            .map_or(issuer, |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or(issuer);
        Sender {
            issuer: issuer.to_owned(),
            name: from
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| host.to_owned()),
            from,
        }
    }
}

/// Why a message could not be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The recipient is not an address lettre accepts.
    #[error("the recipient is not a valid address")]
    Recipient,
    /// A template failed to render.
    #[error("template: {0}")]
    Template(#[from] askama::Error),
    /// lettre refused the message.
    #[error("message: {0}")]
    Message(#[from] lettre::error::Error),
}

/// The verification message's text.
#[derive(Template)]
#[template(path = "email/verify_mail.txt")]
struct VerifyText<'a> {
    site: &'a str,
    issuer: &'a str,
    username: &'a str,
    address: &'a str,
    link: &'a str,
}

/// The verification message's HTML.
#[derive(Template)]
#[template(path = "email/verify_mail.html")]
struct VerifyHtml<'a> {
    site: &'a str,
    issuer: &'a str,
    username: &'a str,
    address: &'a str,
    link: &'a str,
}

/// The reset message's text.
#[derive(Template)]
#[template(path = "email/reset_mail.txt")]
struct ResetText<'a> {
    site: &'a str,
    issuer: &'a str,
    username: &'a str,
    link: &'a str,
}

/// The reset message's HTML.
#[derive(Template)]
#[template(path = "email/reset_mail.html")]
struct ResetHtml<'a> {
    site: &'a str,
    issuer: &'a str,
    username: &'a str,
    link: &'a str,
}

/// `issuer` + `path` + `?token=` + the token (base64url: nothing to
/// escape in a URL).
fn link(issuer: &str, path: &str, token: &str) -> Zeroizing<String> {
    Zeroizing::new(format!("{issuer}{path}?token={token}"))
}

/// The message for `letter`, from `sender`.
pub fn build(sender: &Sender, letter: &Letter) -> Result<Message, BuildError> {
    let to: Mailbox = letter.to().parse().map_err(|_| BuildError::Recipient)?;
    let (subject, text, html) = match letter {
        Letter::VerifyEmail { to, username, token } => {
            let link = link(&sender.issuer, "/email/verify", token);
            let (site, issuer) = (sender.name.as_str(), sender.issuer.as_str());
            (
                format!("Confirm your email address for {site}"),
                Zeroizing::new(
                    VerifyText {
                        site,
                        issuer,
                        username,
                        address: to,
                        link: &link,
                    }
                    .render()?,
                ),
                Zeroizing::new(
                    VerifyHtml {
                        site,
                        issuer,
                        username,
                        address: to,
                        link: &link,
                    }
                    .render()?,
                ),
            )
        }
        Letter::ResetPassword { username, token, .. } => {
            let link = link(&sender.issuer, "/password/reset", token);
            let (site, issuer) = (sender.name.as_str(), sender.issuer.as_str());
            (
                format!("Reset your password for {site}"),
                Zeroizing::new(
                    ResetText {
                        site,
                        issuer,
                        username,
                        link: &link,
                    }
                    .render()?,
                ),
                Zeroizing::new(
                    ResetHtml {
                        site,
                        issuer,
                        username,
                        link: &link,
                    }
                    .render()?,
                ),
            )
        }
    };
    // A Message-ID in the sender's domain (RFC 5322 §3.6.4): mail without
    // one is often held as spam.
    let message_id = format!(
        "<{}@{}>",
        crate::random::hex(16).unwrap_or_default(),
        sender.from.email.domain()
    );
    Ok(Message::builder()
        .message_id(Some(message_id))
        .from(sender.from.clone())
        .to(to)
        .subject(subject)
        .multipart(
            MultiPart::alternative()
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_PLAIN)
                        .body(text.to_string()),
                )
                .singlepart(
                    SinglePart::builder()
                        .header(ContentType::TEXT_HTML)
                        .body(html.to_string()),
                ),
        )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sender() -> Sender {
        Sender::new(
            "https://id.example",
            "Example ID <noreply@id.example>".parse().unwrap(),
        )
    }

    #[test]
    fn a_message_is_text_and_html_with_the_issuer_and_the_link() {
        let letter = Letter::VerifyEmail {
            to: "ann@example.com".into(),
            username: "<ann>".into(),
            token: Zeroizing::new("tok_EN-1".into()),
        };
        let message = build(&sender(), &letter).unwrap();
        // Quoted-printable soft breaks and `=3D` undone.
        let raw = String::from_utf8(message.formatted())
            .unwrap()
            .replace("=\r\n", "")
            .replace("=3D", "=");
        assert!(raw.contains("multipart/alternative"), "{raw}");
        assert!(
            raw.contains("Message-ID: <") && raw.contains("@id.example>"),
            "{raw}"
        );
        assert!(raw.contains("text/plain") && raw.contains("text/html"), "{raw}");
        assert!(
            raw.contains("From: \"Example ID\" <noreply@id.example>")
                || raw.contains("From: Example ID <noreply@id.example>"),
            "{raw}"
        );
        assert!(
            raw.contains("https://id.example/email/verify?token=tok_EN-1"),
            "{raw}"
        );
        assert!(
            raw.contains("<strong>&#60;ann&#62;</strong>"),
            "the HTML part escapes: {raw}"
        );
        assert!(!raw.contains("<strong><ann>"), "{raw}");
        assert!(!format!("{letter:?}").contains("tok_EN"), "no token in Debug");
    }

    #[test]
    fn the_name_is_the_from_name_or_the_issuer_host() {
        assert_eq!(sender().name, "Example ID");
        let bare = Sender::new("https://id.example:8443/t", "noreply@id.example".parse().unwrap());
        assert_eq!(bare.name, "id.example:8443");
    }
}
