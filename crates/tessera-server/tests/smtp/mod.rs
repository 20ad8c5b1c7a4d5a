//! A real SMTP server for the email tests: `sink.py` (aiosmtpd), started
//! as a process on a free port, writing each message it accepts to a
//! folder; and readers for those messages and their links.

#![allow(dead_code)]

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tessera_testkit as support;

/// How a sink speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Plain SMTP.
    Plain,
    /// STARTTLS, required, with the certificate in the given folder.
    Starttls,
    /// TLS from the first byte.
    Tls,
}

/// A running sink; killed when dropped.
pub struct Sink {
    pub port: u16,
    pub dir: PathBuf,
    /// The throwaway certificate (`cert.pem`, `key.pem`) for TLS modes.
    pub tls: Option<PathBuf>,
    _process: support::KillOnDrop,
}

/// Whether aiosmtpd is installed (`.ci/run` installs it); the tests say
/// they were skipped otherwise.
pub fn available() -> bool {
    let ok = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("SKIPPED SMTP test: `python3 -m pip install 'aiosmtpd>=1.4,<2'`");
    }
    ok
}

impl Sink {
    /// Starts a sink in `mode` (with `auth` as `user:password`, if given).
    pub fn start(name: &str, mode: Mode, auth: Option<&str>) -> Sink {
        let dir = std::env::temp_dir().join(format!("tessera-mail-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let tls = (mode != Mode::Plain).then(|| support::self_signed_certificate(&format!("smtp-{name}")));
        let port = support::free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp/sink.py");
        let mut command = std::process::Command::new("python3");
        command
            .arg(script)
            .args(["--dir", dir.to_str().unwrap(), "--port", &port.to_string()])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null());
        if let Some(cert) = &tls {
            let flag = if mode == Mode::Tls { "--tls" } else { "--starttls" };
            command.args([
                flag,
                cert.join("cert.pem").to_str().unwrap(),
                cert.join("key.pem").to_str().unwrap(),
            ]);
        }
        if let Some(auth) = auth {
            command.args(["--auth", auth]);
        }
        let mut child = command.spawn().expect("python3");
        let stdout = child.stdout.take().unwrap();
        let mut line = String::new();
        std::io::BufReader::new(stdout).read_line(&mut line).unwrap();
        assert!(line.starts_with("ready "), "the sink did not start: {line:?}");
        Sink {
            port,
            dir,
            tls,
            _process: support::KillOnDrop(child),
        }
    }

    /// The `[smtp]` settings that send here (`from` given), trusting the
    /// sink's certificate through `ca_file`.
    pub fn settings(
        &self,
        security: tessera_server::config::SmtpSecurity,
    ) -> tessera_server::config::SmtpConfig {
        tessera_server::config::SmtpConfig {
            host: "127.0.0.1".into(),
            port: Some(self.port),
            security,
            from: "Example ID <id@example.com>".into(),
            ca_file: self
                .tls
                .as_ref()
                .map(|d| d.join("cert.pem").display().to_string()),
            ..Default::default()
        }
    }
}

/// The messages in `dir`, oldest first.
pub fn messages(dir: &Path) -> Vec<String> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                .map(|p| {
                    let n = p
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .and_then(|s| s.split('-').next())
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0);
                    (n, p)
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .map(|(_, p)| decode(&std::fs::read_to_string(p).unwrap()))
        .collect()
}

/// Waits (up to 15 s) until `dir` holds `n` messages; all of them.
pub async fn wait_for(dir: &Path, n: usize) -> Vec<String> {
    for _ in 0..150 {
        let found = messages(dir);
        if found.len() >= n {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!(
        "expected {n} messages in {}, found {}",
        dir.display(),
        messages(dir).len()
    );
}

/// Waits long enough for a message that should not come (the outbox
/// sends within milliseconds), and returns how many there are.
pub async fn settled(dir: &Path) -> usize {
    tokio::time::sleep(Duration::from_millis(1500)).await;
    messages(dir).len()
}

/// A message's text with quoted-printable soft breaks and `=3D` undone
/// (lettre picks 7bit for these short lines; this keeps the tests
/// independent of that choice).
fn decode(raw: &str) -> String {
    raw.replace("=\r\n", "").replace("=\n", "").replace("=3D", "=")
}

/// The token of the first link to `path` (`/email/verify`) in `message`.
pub fn token(message: &str, path: &str) -> String {
    let marker = format!("{path}?token=");
    let at = message
        .find(&marker)
        .unwrap_or_else(|| panic!("no {path} link in {message}"))
        + marker.len();
    message[at..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .collect()
}

/// The message's `To` header value.
pub fn to(message: &str) -> String {
    message
        .lines()
        .find_map(|l| l.strip_prefix("To: "))
        .unwrap_or_default()
        .trim()
        .to_owned()
}
