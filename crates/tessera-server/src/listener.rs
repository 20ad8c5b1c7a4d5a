//! Serving connections: our own accept loop around hyper's HTTP/1.1
//! connection, so the server can speak https itself, bound how long a
//! client may take, and drain gracefully.
//!
//! ## Timeouts
//!
//! Two limits protect the server from clients that hold connections open
//! (slowloris):
//!
//! - `header_read_timeout`: once a client starts a request, its whole head
//!   (request line and headers) must arrive within this time. A new
//!   connection counts as having started one: its first head (and, for
//!   https, the TLS handshake before it) must arrive within this time of
//!   the accept.
//! - `idle_timeout`: a keep-alive connection with no request in progress is
//!   closed this long after the last response bytes were written. The same
//!   bound, counted from the end of the head, limits reading a body.
//!
//! hyper's own `header_read_timeout` cannot express this: its timer starts
//! when hyper begins waiting for a head, so it also counts the idle time
//! between requests, and one setting cannot give a 60 s idle time with a
//! 10 s head time. It is disabled here (no hyper timer) and [`TimedIo`]
//! does the work instead: it wraps the connection's plaintext stream and
//! keeps a phase and a deadline,
//!
//! ```text
//! Idle --first byte read--> Head --end of head (blank line) read--> Busy --response written--> Idle
//!   deadline: last write      deadline: first byte                   deadline: end of head
//!             + idle_timeout            + header_read_timeout                  + idle_timeout
//! ```
//!
//! and when hyper polls a read that would wait past the deadline, the read
//! fails with [`io::ErrorKind::TimedOut`], which makes hyper close the
//! connection. The deadline's timer is only armed when a read has to wait.
//!
//! hyper is built with `half_close(true)`: otherwise, while a handler runs,
//! hyper keeps polling the socket to notice a client that went away, and
//! a handler slower than the body bound would have its connection (and
//! itself) cancelled. With it, hyper reads only heads and bodies, so the
//! Busy deadline bounds body reading alone; a client that disconnects
//! mid-request is noticed when the response is written.
//!
//! Known slack, on purpose: after `100 Continue` (a write) the body is read
//! under the head rules, and with pipelining the next head, read together
//! with the previous request, is bounded by `idle_timeout`, not
//! `header_read_timeout`.
//!
//! ## Connection cap
//!
//! At most `max_connections` connections are open at once: past the cap
//! the loop stops accepting until one closes, so new connections wait in
//! the kernel's listen backlog (and past it are refused there) instead of
//! taking file descriptors. Without it a flood of idle connections, each
//! held up to the head time, runs the process out of descriptors, and
//! then the database pool and key files fail too (OWASP's Denial of
//! Service cheat sheet: limit connections per process). The cap is lowered
//! at start to fit the open-file limit ([`connection_cap`]).
//!
//! ## Shutdown
//!
//! When asked to stop, the loop stops accepting, tells every connection to
//! finish its current request and close ([`http1::Connection::graceful_shutdown`]),
//! waits up to [`GRACE`] for them, then drops the rest.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinSet;
use tokio::time::{Instant, Sleep};
use tokio_rustls::TlsAcceptor;

use crate::config::Config;

/// How long in-flight requests may take to finish once shutdown starts.
pub const GRACE: Duration = Duration::from_secs(10);

/// Pause after an accept error such as EMFILE, so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// File descriptors kept for everything but client connections: the
/// database pool (16), SQLite's WAL and SHM, listeners, the blocking
/// pool, log and key files, with room to spare.
pub const RESERVED_FDS: u64 = 128;

/// Connections the `/metrics` address keeps open at once: scrapes are
/// few, and its own cap keeps a flood on the main address from blinding
/// monitoring.
pub const METRICS_CONNECTIONS: usize = 16;

/// The cap to apply: `configured`, lowered to the process's open-file
/// limit less [`RESERVED_FDS`] when that is smaller (with a warning, since
/// the operator asked for more). Linux's `/proc/self/limits` gives the
/// soft limit; elsewhere `configured` is kept.
pub fn connection_cap(configured: usize) -> usize {
    let Some(limit) = open_file_limit() else {
        return configured;
    };
    let fits = usize::try_from(limit.saturating_sub(RESERVED_FDS).max(1)).unwrap_or(usize::MAX);
    if fits < configured {
        tracing::warn!(
            "max_connections {configured} is more than the open-file limit ({limit}, ulimit -n) allows: \
             serving at most {fits} connections at once"
        );
        return fits;
    }
    configured
}

/// The soft limit on open files, from `/proc/self/limits` (`Max open
/// files  1024  524288  files`); `None` when unknown or unlimited.
fn open_file_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// How often the loop says it is at the cap, at most.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(60);

/// The connection time limits (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// For a request's head, from its first byte (or from the accept).
    pub header_read: Duration,
    /// For an idle keep-alive connection, and for reading a body.
    pub idle: Duration,
}

impl Timeouts {
    /// The configured limits.
    pub fn from_config(config: &Config) -> Timeouts {
        Timeouts {
            header_read: Duration::from_secs(config.header_read_timeout),
            idle: Duration::from_secs(config.idle_timeout),
        }
    }
}

/// Loads a PEM certificate chain and private key (PKCS#8, PKCS#1 or SEC1)
/// into a TLS acceptor: TLS 1.2 and 1.3 with rustls' safe defaults on
/// aws-lc-rs, ALPN `http/1.1`. The error says which file is wrong and why.
pub fn tls_acceptor(cert_file: &str, key_file: &str) -> Result<TlsAcceptor, String> {
    let certs = CertificateDer::pem_file_iter(cert_file)
        .and_then(|items| items.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("certificate file {cert_file}: {}", pem_error(&e, "CERTIFICATE")))?;
    if certs.is_empty() {
        return Err(format!(
            "certificate file {cert_file}: no CERTIFICATE block found"
        ));
    }
    let key = PrivateKeyDer::from_pem_file(key_file)
        .map_err(|e| format!("private key file {key_file}: {}", pem_error(&e, "PRIVATE KEY")))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => {
                format!("the private key in {key_file} does not belong to the certificate in {cert_file}")
            }
            e => format!("certificate {cert_file} with key {key_file}: {e}"),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

fn pem_error(e: &pem::Error, what: &str) -> String {
    match e {
        pem::Error::Io(e) => e.to_string(),
        pem::Error::NoItemsFound => format!("no {what} block found"),
        other => format!("not valid PEM: {other}"),
    }
}

/// Serves `app` on `listener` (over TLS when `tls` is set), at most
/// `max_connections` at once, until `stop` changes or its sender is
/// dropped; then drains as the module documentation describes. Each
/// request carries the TCP peer as [`ConnectInfo<SocketAddr>`].
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<TlsAcceptor>,
    timeouts: Timeouts,
    max_connections: usize,
    mut stop: watch::Receiver<()>,
) {
    let places = Arc::new(Semaphore::new(max_connections.max(1)));
    let mut warned: Option<Instant> = None;
    let mut connections = JoinSet::new();
    loop {
        if places.available_permits() == 0 && warned.is_none_or(|at| at.elapsed() >= FULL_WARNING_EVERY) {
            tracing::warn!("{max_connections} connections open (max_connections): new ones wait");
            warned = Some(Instant::now());
        }
        // A place first, then the accept: past the cap nothing is
        // accepted, so waiting connections hold no file descriptor.
        let next = async {
            let place = Arc::clone(&places).acquire_owned().await;
            (place, listener.accept().await)
        };
        tokio::select! {
            biased;
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            (place, accepted) = next => match (place, accepted) {
                (Ok(place), Ok((tcp, peer))) => {
                    let serve = connection(tcp, peer, app.clone(), tls.clone(), timeouts, stop.clone());
                    connections.spawn(async move {
                        serve.await;
                        drop(place);
                    });
                }
                // The semaphore is never closed.
                (Err(_), _) => break,
                (_, Err(e)) if is_per_connection(&e) => {
                    tracing::debug!("accept: {e}");
                }
                (_, Err(e)) => {
                    tracing::warn!("accept failed, pausing: {e}");
                    tokio::select! {
                        _ = stop.changed() => break,
                        () = tokio::time::sleep(ACCEPT_BACKOFF) => {}
                    }
                }
            },
        }
    }
    drop(listener);
    let drained =
        tokio::time::timeout(GRACE, async { while connections.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        tracing::warn!(
            connections = connections.len(),
            "closing connections still busy after {} s",
            GRACE.as_secs()
        );
        connections.shutdown().await;
    }
}

/// Accept errors about one connection (gone before it was accepted),
/// as opposed to the listener's (EMFILE, ENOBUFS, ...).
fn is_per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset | io::ErrorKind::Interrupted
    )
}

/// One connection: the TLS handshake (bounded by the head time), then HTTP.
async fn connection(
    tcp: TcpStream,
    peer: SocketAddr,
    app: Router,
    tls: Option<TlsAcceptor>,
    timeouts: Timeouts,
    mut stop: watch::Receiver<()>,
) {
    let accepted = Instant::now();
    // Responses are written whole; don't hold their last segment back.
    let _ = tcp.set_nodelay(true);
    let Some(acceptor) = tls else {
        return http(TimedIo::new(tcp, accepted, timeouts), peer, app, stop).await;
    };
    let handshake = tokio::time::timeout_at(accepted + timeouts.header_read, acceptor.accept(tcp));
    let stream = tokio::select! {
        _ = stop.changed() => return,
        done = handshake => match done {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => return tracing::debug!(%peer, "TLS handshake failed: {e}"),
            Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
        },
    };
    http(TimedIo::new(stream, accepted, timeouts), peer, app, stop).await;
}

/// Serves HTTP/1.1 on one connection until it closes or `stop` asks it to
/// finish.
async fn http<I>(io: TimedIo<I>, peer: SocketAddr, app: Router, mut stop: watch::Receiver<()>)
where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        // A `Router` clone is a reference count; it is always ready.
        tower_service::Service::call(&mut app.clone(), request)
    });
    let mut builder = http1::Builder::new();
    builder.half_close(true).header_read_timeout(None);
    let conn = builder.serve_connection(TokioIo::new(io), service);
    tokio::pin!(conn);
    let served = tokio::select! {
        served = conn.as_mut() => served,
        _ = stop.changed() => {
            conn.as_mut().graceful_shutdown();
            conn.await
        }
    };
    if let Err(e) = served {
        tracing::debug!(%peer, "connection closed: {e}");
    }
}

/// Which part of the request cycle a connection is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the next request (deadline: last write + idle).
    Idle,
    /// Reading a head (deadline: its first byte, or the accept, + head time).
    Head,
    /// Head read: body, handler, response (deadline for reading: end of
    /// head + idle).
    Busy,
}

/// Where the search for the end of a head (an empty line) stands, across
/// reads. Both `\r\n` and bare `\n` line ends are recognised.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scan {
    /// Nothing but line breaks yet (empty lines before a request line are
    /// skipped by HTTP/1.1 parsers, so they do not end anything).
    Start,
    /// Inside a line.
    Line,
    /// Just after a `\n`.
    Newline,
    /// Just after `\n\r`.
    NewlineCr,
}

impl Scan {
    /// Feeds `bytes`; true when they complete the head.
    fn feed(&mut self, bytes: &[u8]) -> bool {
        for &b in bytes {
            *self = match (*self, b) {
                (Scan::Start, b'\r' | b'\n') => Scan::Start,
                (Scan::Newline | Scan::NewlineCr, b'\n') => return true,
                (_, b'\n') => Scan::Newline,
                (Scan::Newline, b'\r') => Scan::NewlineCr,
                _ => Scan::Line,
            };
        }
        false
    }
}

/// A connection stream that enforces [`Timeouts`] (see the module
/// documentation): a read that would wait past the current phase's
/// deadline fails with [`io::ErrorKind::TimedOut`].
pub struct TimedIo<T> {
    inner: T,
    timeouts: Timeouts,
    phase: Phase,
    scan: Scan,
    deadline: Instant,
    /// Armed with `deadline` only when a read has to wait; allocated once.
    timer: Pin<Box<Sleep>>,
}

impl<T> TimedIo<T> {
    /// Wraps a connection accepted at `accepted`: its first head is due
    /// within the head time.
    pub fn new(inner: T, accepted: Instant, timeouts: Timeouts) -> TimedIo<T> {
        let deadline = accepted + timeouts.header_read;
        TimedIo {
            inner,
            timeouts,
            phase: Phase::Head,
            scan: Scan::Start,
            deadline,
            timer: Box::pin(tokio::time::sleep_until(deadline)),
        }
    }

    /// Bytes were read: advance the phase.
    fn on_read(&mut self, bytes: &[u8]) {
        match self.phase {
            Phase::Busy => return,
            Phase::Idle => {
                self.phase = Phase::Head;
                self.scan = Scan::Start;
                self.deadline = Instant::now() + self.timeouts.header_read;
            }
            Phase::Head => {}
        }
        if self.scan.feed(bytes) {
            self.phase = Phase::Busy;
            self.deadline = Instant::now() + self.timeouts.idle;
        }
    }

    /// Bytes were written (a response): the connection is idle again.
    fn on_write(&mut self) {
        self.phase = Phase::Idle;
        self.deadline = Instant::now() + self.timeouts.idle;
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for TimedIo<T> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if let Some(read) = buf.filled().get(before..).filter(|b| !b.is_empty()) {
                    this.on_read(read);
                }
                Poll::Ready(Ok(()))
            }
            Poll::Pending => {
                if this.timer.deadline() != this.deadline {
                    this.timer.as_mut().reset(this.deadline);
                }
                match this.timer.as_mut().poll(cx) {
                    Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        match this.phase {
                            Phase::Idle => "idle timeout",
                            Phase::Head => "header read timeout",
                            Phase::Busy => "body read timeout",
                        },
                    ))),
                    Poll::Pending => Poll::Pending,
                }
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for TimedIo<T> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.on_write();
        }
        written
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.on_write();
        }
        written
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ends(chunks: &[&[u8]]) -> Vec<bool> {
        let mut scan = Scan::Start;
        chunks.iter().map(|c| scan.feed(c)).collect()
    }

    #[test]
    fn the_cap_fits_the_open_file_limit() {
        assert_eq!(connection_cap(10), 10);
        if let Some(limit) = open_file_limit() {
            let cap = u64::try_from(connection_cap(usize::MAX)).unwrap();
            assert_eq!(cap, limit.saturating_sub(RESERVED_FDS).max(1));
        }
    }

    #[test]
    fn finds_the_end_of_a_head_across_reads() {
        assert_eq!(ends(&[b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"]), [true]);
        assert_eq!(ends(&[b"GET / HTTP/1.1\r\nHost: x\r\n"]), [false]);
        assert_eq!(
            ends(&[b"GET / HTTP/1.1\r\nHost: x\r", b"\n\r", b"\n"]),
            [false, false, true]
        );
        assert_eq!(ends(&[b"GET / HTTP/1.1\r\n", b"\r\n"]), [false, true]);
        assert_eq!(ends(&[b"GET / HTTP/1.1\nHost: x\n\n"]), [true]);
        assert_eq!(ends(&[b"\r\n\r\n", b"GET / HTTP/1.1\r\n"]), [false, false]);
        assert_eq!(ends(&[b"GET / HTTP/1.1\r\nA: \r\r\n"]), [false]);
    }

    #[tokio::test]
    async fn phases_and_deadlines() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let timeouts = Timeouts {
            header_read: Duration::from_millis(200),
            idle: Duration::from_millis(600),
        };
        let (mut client, server) = tokio::io::duplex(1024);
        let mut io = TimedIo::new(server, Instant::now(), timeouts);
        let mut buf = [0u8; 64];
        client.write_all(b"GET / HTTP/1.1\r\n").await.unwrap();
        io.read_exact(&mut buf[..16]).await.unwrap();
        assert_eq!(io.phase, Phase::Head);
        client.write_all(b"\r\n").await.unwrap();
        io.read_exact(&mut buf[..2]).await.unwrap();
        assert_eq!(io.phase, Phase::Busy);
        io.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        assert_eq!(io.phase, Phase::Idle);
        // Idle longer than the head time is fine; the next head then has
        // the head time.
        tokio::time::sleep(Duration::from_millis(400)).await;
        client.write_all(b"G").await.unwrap();
        io.read_exact(&mut buf[..1]).await.unwrap();
        assert_eq!(io.phase, Phase::Head);
        let started = Instant::now();
        let err = io.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(190) && waited < Duration::from_millis(500),
            "{waited:?}"
        );
    }
}
