//! The `tessera` binary as a process: the CLI against a running server, `serve --demo`,
//! and a server whose log pipe is closed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use tessera_testkit as support;

use serde_json::Value;
use support::{basic, client, request, start, token, verify};
use tessera_server::store::{ClientStore, Store};

/// `tessera user create --password-stdin` against the server's database,
/// then a password login with that user.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_user_create_then_login() {
    use std::io::Write;
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "user",
            "create",
            "--username",
            "bob",
            "--role",
            "editor",
            "--password-stdin",
            "--database",
            &db,
        ])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "a long passphrase").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let created: Value = serde_json::from_slice(&out.stdout).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "client",
            "create",
            "--name",
            "web",
            "--grant-type",
            "password",
            "--database",
            &db,
        ])
        .output()
        .unwrap();
    let cred: Value = serde_json::from_slice(&out.stdout).unwrap();
    let auth = basic(
        cred["client_id"].as_str().unwrap(),
        cred["client_secret"].as_str().unwrap(),
    );
    let r = token(
        server.addr,
        "grant_type=password&username=bob&password=a+long+passphrase",
        &[("Authorization", &auth)],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let claims = verify(
        &server,
        r.json()["access_token"].as_str().unwrap(),
        &server.issuer,
    )
    .await;
    assert_eq!(claims["sub"], created["user_id"]);
    assert_eq!(claims["roles"], serde_json::json!(["editor"]));
    // Short passwords are refused.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args([
            "user",
            "create",
            "--username",
            "eve",
            "--password-stdin",
            "--database",
            &db,
        ])
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "short").unwrap();
    assert_eq!(child.wait_with_output().unwrap().status.code(), Some(2));
    server.stop().await;
}

/// `tessera serve --demo` prints commands that work as printed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_demo_prints_working_commands() {
    use std::io::{BufRead, BufReader};
    let db = support::sqlite_url();
    // Port 0: the server picks a free port and logs it (no race with
    // other tests for a port chosen here).
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--demo", "--listen", "127.0.0.1:0", "--database", &db])
        // Not the default metrics port, which tests running at once share.
        .args(["--metrics-listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = support::KillOnDrop(child);
    // Read the demo commands, and keep draining stdout afterwards.
    let stdout = BufReader::new(child.0.stdout.take().unwrap());
    let (out_tx, out_rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut secret = None;
        let mut password = None;
        for line in stdout.lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("curl -s -u demo-service:") {
                secret = rest.split(' ').next().map(str::to_owned);
            }
            if let Some(i) = line.find("\"password\":\"") {
                password = line[i + 12..].split('"').next().map(str::to_owned);
            }
            if line.starts_with("curl -s http") {
                let _ = out_tx.send((secret.take(), password.take()));
            }
        }
    });
    let (secret, password) = out_rx.recv_timeout(std::time::Duration::from_secs(20)).unwrap();
    // Read the address from the log, and keep draining the log so the
    // server never writes to a closed pipe.
    let stderr = BufReader::new(child.0.stderr.take().unwrap());
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on http://") {
                let rest = &line[i + "listening on http://".len()..];
                let _ = tx.send(
                    rest.split(' ')
                        .next()
                        .and_then(|a| a.parse::<std::net::SocketAddr>().ok()),
                );
            }
        }
    });
    let addr = rx
        .recv_timeout(std::time::Duration::from_secs(20))
        .ok()
        .flatten()
        .expect("the server logs its address");
    // Ready when /readyz answers 200 over a whole HTTP exchange.
    async fn readyz(addr: std::net::SocketAddr) -> Option<()> {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut s = tokio::net::TcpStream::connect(addr).await.ok()?;
        s.write_all(b"GET /readyz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .await
            .ok()?;
        let mut out = Vec::new();
        s.read_to_end(&mut out).await.ok()?;
        out.starts_with(b"HTTP/1.1 200").then_some(())
    }
    let mut ready = false;
    for _ in 0..200 {
        if readyz(addr).await.is_some() {
            ready = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(ready, "server did not start");
    let r = token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic("demo-service", &secret.unwrap()))],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body =
        serde_json::json!({"client_id": "demo-app", "username": "demo", "password": password.unwrap()});
    let r = request(
        addr,
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    drop(child);
}

/// Regression: with its stderr closed (a log pipe gone), the server kept
/// running but dropped every request that logged, because tracing's
/// internal-error report panicked on the closed stream.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_keeps_serving_when_its_log_pipe_closes() {
    use std::io::{BufRead, BufReader};
    let db = support::sqlite_url();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .args(["--metrics-listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut child = support::KillOnDrop(child);
    let mut addr = None;
    {
        let stderr = BufReader::new(child.0.stderr.take().unwrap());
        for line in stderr.lines().map_while(Result::ok) {
            if let Some(i) = line.find("listening on http://") {
                addr = line[i + 20..]
                    .split(' ')
                    .next()
                    .and_then(|a| a.parse::<std::net::SocketAddr>().ok());
                break;
            }
        }
        // The reader is dropped here: the server's stderr is now a closed pipe.
    }
    let addr = addr.unwrap();
    let store = Store::open(&db).await.unwrap();
    store
        .create_client(&client("svc", Some("pw"), &["client_credentials"], &[], &[]))
        .await
        .unwrap();
    // A failed authentication writes an audit log line.
    for _ in 0..3 {
        let r = token(
            addr,
            "grant_type=client_credentials",
            &[("Authorization", &basic("svc", "bad"))],
        )
        .await;
        assert_eq!(r.status, 401);
    }
    let r = token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic("svc", "pw"))],
    )
    .await;
    assert_eq!(r.status, 200);
}
