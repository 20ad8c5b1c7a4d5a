//! `log_format = "json"` on a `tessera serve` process: every line on stdout
//! and stderr is one JSON object (start-up, `--demo`'s instructions,
//! requests, shutdown, a failed start), each request's lines carry the id
//! its answer names in `x-request-id`, and no password, secret, code or
//! token is written. Also: `--demo`'s browser app walks through sign-in,
//! consent and the code exchange as printed, and the default text format
//! is as it was.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::browser::{field, text, Browser};
use support::{basic, client, request, token, user, KillOnDrop, Response};
use tessera_server::store::{ClientStore, Store, UserStore};
use tessera_testkit as support;

const SECRET: &str = "svc-secret-4f1b9c2e77";
const WRONG_SECRET: &str = "wrong-secret-9d03aa51";
const PASSWORD: &str = "ann-password-c3e8d7f615";
const WRONG_PASSWORD: &str = "wrong-password-07b2e4c9a1";

/// A `tessera serve` process and every line it wrote.
struct Serve {
    child: KillOnDrop,
    stdout: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
    /// The `address` of the JSON listening line.
    listening: std::sync::mpsc::Receiver<String>,
}

impl Serve {
    fn start(args: &[&str], json: bool) -> Serve {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"));
        command
            .arg("serve")
            .args(args)
            .env_remove("RUST_LOG")
            .env_remove("TESSERA_LOG_FORMAT")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        if json {
            command.env("TESSERA_LOG_FORMAT", "json");
        }
        let mut child = KillOnDrop(command.spawn().unwrap());
        let (tx, listening) = std::sync::mpsc::channel();
        let stdout = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let out = BufReader::new(child.0.stdout.take().unwrap());
        let lines = stdout.clone();
        let mut readers = vec![std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line);
            }
        })];
        let err = BufReader::new(child.0.stderr.take().unwrap());
        let lines = stderr.clone();
        readers.push(std::thread::spawn(move || {
            for line in err.lines().map_while(Result::ok) {
                if let Ok(v) = serde_json::from_str::<Value>(&line) {
                    if v["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("listening on"))
                    {
                        let _ = tx.send(v["address"].as_str().unwrap_or_default().to_owned());
                    }
                }
                lines.lock().unwrap().push(line);
            }
        }));
        Serve {
            child,
            stdout,
            stderr,
            readers,
            listening,
        }
    }

    /// The address of the listening line, once the server answers.
    async fn ready(&self) -> SocketAddr {
        let address = self
            .listening
            .recv_timeout(Duration::from_secs(20))
            .unwrap_or_else(|_| panic!("no JSON listening line: {:?}", self.stderr.lock().unwrap()));
        let addr: SocketAddr = address.strip_prefix("http://").unwrap().parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(10);
        while request(addr, "GET", "/readyz", &[], b"").await.status != 200 {
            assert!(Instant::now() < deadline, "not ready");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        addr
    }

    /// Stops the server with SIGTERM (a graceful shutdown, which logs) and
    /// returns its stdout and stderr lines.
    fn stop(mut self) -> (Vec<String>, Vec<String>) {
        let status = std::process::Command::new("kill")
            .args(["-TERM", &self.child.0.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(20);
        while self.child.0.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "no exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
        for reader in self.readers.drain(..) {
            reader.join().unwrap();
        }
        let out = self.stdout.lock().unwrap().clone();
        let err = self.stderr.lock().unwrap().clone();
        (out, err)
    }
}

/// Each line as a JSON object, or a failure naming the line.
fn objects(lines: &[String], stream: &str) -> Vec<Value> {
    lines
        .iter()
        .map(|line| match serde_json::from_str::<Value>(line) {
            Ok(o) if o.is_object() => o,
            _ => panic!("a {stream} line that is not one JSON object: {line:?}"),
        })
        .collect()
}

/// The answer's `x-request-id`, kept in `ids`.
fn request_id(r: &Response, ids: &mut Vec<String>) -> String {
    let id = r
        .header("x-request-id")
        .unwrap_or_else(|| panic!("no x-request-id: {:?}", r.headers))
        .to_owned();
    ids.push(id.clone());
    id
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_a_line_with_request_ids_and_no_secrets() {
    let db = support::sqlite_url();
    let serve = Serve::start(
        &[
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--database",
            &db,
        ],
        true,
    );
    let addr = serve.ready().await;
    let issuer = format!("http://{addr}");
    let demo: Value = {
        let out = serve.stdout.lock().unwrap();
        assert_eq!(out.len(), 1, "--demo prints one line: {out:?}");
        serde_json::from_str(&out[0]).unwrap()
    };
    let store = Store::open(&db).await.unwrap();
    store
        .create_client(&client("svc", Some(SECRET), &["client_credentials"], &[], &[]))
        .await
        .unwrap();
    store
        .create_user(&user("u-ann", "ann", PASSWORD, &["user"]))
        .await
        .unwrap();
    let mut ids = Vec::new();
    // Never written to the log: what a client or a person typed or was given.
    let mut secrets = vec![
        SECRET.to_owned(),
        WRONG_SECRET.to_owned(),
        PASSWORD.to_owned(),
        WRONG_PASSWORD.to_owned(),
    ];
    // Basic credentials as sent, base64 and all.
    for secret in [SECRET, WRONG_SECRET] {
        let header = basic("svc", secret);
        secrets.push(header.strip_prefix("Basic ").unwrap().to_owned());
    }

    // A failed login, then a good one (first-party JSON API).
    let login = |password: &str| {
        serde_json::json!({"client_id": "demo-app", "username": "ann", "password": password}).to_string()
    };
    let json = [("Content-Type", "application/json")];
    let r = request(
        addr,
        "POST",
        "/api/v1/login",
        &json,
        login(WRONG_PASSWORD).as_bytes(),
    )
    .await;
    assert_eq!(r.status, 400, "{}", text(&r));
    let failed_login = request_id(&r, &mut ids);
    let r = request(addr, "POST", "/api/v1/login", &json, login(PASSWORD).as_bytes()).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    let good_login = request_id(&r, &mut ids);
    for name in ["access_token", "refresh_token"] {
        secrets.push(r.json()[name].as_str().unwrap().to_owned());
    }
    // A client that fails to authenticate, then succeeds.
    let cc = "grant_type=client_credentials";
    let r = token(addr, cc, &[("Authorization", &basic("svc", WRONG_SECRET))]).await;
    assert_eq!(r.status, 401);
    let failed_client = request_id(&r, &mut ids);
    let r = token(addr, cc, &[("Authorization", &basic("svc", SECRET))]).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    request_id(&r, &mut ids);
    secrets.push(r.json()["access_token"].as_str().unwrap().to_owned());

    // The demo browser app, as the printed instructions say: open the URL,
    // sign in as demo, allow, read the code off the redirect, trade it.
    let app = &demo["browser_app"];
    let demo_password = demo["user"]["password"].as_str().unwrap();
    let redirect_uri = app["redirect_uri"].as_str().unwrap();
    assert!(demo["instructions"]
        .as_str()
        .unwrap()
        .contains(app["authorize_url"].as_str().unwrap()));
    // (The issuer is the listen address, port 0 here: the path is what counts.)
    let url = app["authorize_url"].as_str().unwrap();
    let path = url[url.find("/authorize?").unwrap()..].to_owned();
    let mut browser = Browser::default();
    let page = browser.get(&addr, &path).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    request_id(&page, &mut ids);
    let consent = browser.log_in(&addr, &text(&page), "demo", demo_password).await;
    assert_eq!(consent.status, 200, "{}", text(&consent));
    request_id(&consent, &mut ids);
    let html = text(&consent);
    assert!(html.contains("Demo browser app"), "{html}");
    let done = browser
        .post(
            &addr,
            "/authorize/consent",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("decision", "allow"),
            ],
        )
        .await;
    assert_eq!(done.status, 303, "{}", text(&done));
    request_id(&done, &mut ids);
    let location = done.header("location").unwrap();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, redirect_uri);
    let query: std::collections::HashMap<String, String> =
        form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let code = query["code"].clone();
    let form = form_urlencoded::Serializer::new(String::new())
        .append_pair("grant_type", "authorization_code")
        .append_pair("client_id", app["client_id"].as_str().unwrap())
        .append_pair("redirect_uri", redirect_uri)
        .append_pair("code_verifier", app["code_verifier"].as_str().unwrap())
        .append_pair("code", &code)
        .finish();
    let r = token(addr, &form, &[]).await;
    assert_eq!(r.status, 200, "{}", text(&r));
    request_id(&r, &mut ids);
    assert!(r.json()["id_token"].is_string());
    secrets.push(code);
    secrets.push(r.json()["access_token"].as_str().unwrap().to_owned());
    // And the account page the instructions name is served.
    let account = demo["account_url"].as_str().unwrap();
    assert!(account.ends_with("/account"), "{account}");
    let account = "/account";
    let r = request(addr, "GET", account, &[], b"").await;
    assert_ne!(r.status, 404);
    request_id(&r, &mut ids);

    let (out, err) = serve.stop();
    let lines = objects(&err, "stderr");
    objects(&out, "stdout");
    assert!(
        lines
            .iter()
            .all(|l| l["level"].is_string() && l["timestamp"].is_string()),
        "{err:?}"
    );
    // The listening line keeps its address; start-up and shutdown are JSON too.
    let listening = lines
        .iter()
        .find(|l| {
            l["message"]
                .as_str()
                .is_some_and(|m| m.starts_with("listening on http://"))
        })
        .unwrap();
    assert_eq!(listening["address"], issuer.as_str());
    assert!(lines.iter().any(|l| l["message"] == "shutting down"), "{err:?}");

    // Request ids: one per answer, each fresh, and every line written
    // during a request carries the id its answer named.
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len(), "{ids:?}");
    assert!(ids.iter().all(|id| id.len() == 16), "{ids:?}");
    let in_request: Vec<_> = lines.iter().filter(|l| l.get("span").is_some()).collect();
    assert!(!in_request.is_empty());
    for line in &in_request {
        let id = line["span"]["request_id"].as_str().unwrap().to_owned();
        assert!(unique.contains(&id), "{line:?} is not from an answered request");
    }
    let line_of = |id: &str, message: &str| {
        lines
            .iter()
            .find(|l| l["span"]["request_id"] == id && l["message"] == message)
            .unwrap_or_else(|| panic!("no {message:?} line with request id {id}: {err:?}"))
    };
    let l = line_of(&failed_login, "login failed");
    assert_eq!(l["client_id"], "demo-app");
    assert_eq!(l["target"], "audit");
    let l = line_of(&good_login, "login");
    assert_eq!(
        (&l["user_id"], &l["client_id"]),
        (&"u-ann".into(), &"demo-app".into())
    );
    assert_eq!(
        line_of(&failed_client, "client authentication failed")["client_id"],
        "svc"
    );

    // No secret anywhere; the demo's own secrets only in its instructions.
    let everything = format!("{}\n{}", out.join("\n"), err.join("\n"));
    for secret in &secrets {
        assert!(!everything.contains(secret.as_str()), "{secret} was written");
    }
    let logged = err.join("\n");
    for demo_secret in [
        demo_password,
        demo["service"]["client_secret"].as_str().unwrap(),
        app["code_verifier"].as_str().unwrap(),
    ] {
        assert!(!logged.contains(demo_secret), "{demo_secret} was logged");
    }
}

/// A server that cannot start says why in a JSON line as well: a bad
/// setting (JSON asked for in the environment), and a failure after the
/// configuration was read (JSON asked for in the file).
#[test]
fn json_start_up_errors_are_json_lines() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--listen", "not-an-address"])
        .env("TESSERA_LOG_FORMAT", "json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let lines = objects(&err.lines().map(str::to_owned).collect::<Vec<_>>(), "stderr");
    assert_eq!(lines.len(), 1, "{err}");
    assert_eq!(lines[0]["level"], "ERROR");
    assert!(lines[0]["message"].as_str().unwrap().contains("listen"), "{err}");

    let dir = std::env::temp_dir().join(format!("tessera-log-format-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("tessera.toml");
    std::fs::write(
        &config,
        format!(
            "log_format = \"json\"\nlisten = \"127.0.0.1:0\"\nmetrics_listen = \"off\"\n\
             database = \"sqlite://{}/t.db\"\ntls_cert = \"{}/missing.pem\"\ntls_key = \"{}/missing.key\"\n",
            dir.display(),
            dir.display(),
            dir.display()
        ),
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--config"])
        .arg(&config)
        .env_remove("TESSERA_LOG_FORMAT")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    let lines = objects(&err.lines().map(str::to_owned).collect::<Vec<_>>(), "stderr");
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "ERROR", "{err}");
    assert!(last["message"].as_str().unwrap().contains("missing.pem"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Text stays the default, with no request span in its lines; the
/// setting is documented where every other one is.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_is_the_default_and_the_setting_is_documented() {
    let help = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(
        help.contains("log_format") && help.contains("TESSERA_LOG_FORMAT"),
        "{help}"
    );

    let db = support::sqlite_url();
    let serve = Serve::start(
        &[
            "--listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
            "--database",
            &db,
        ],
        false,
    );
    let deadline = Instant::now() + Duration::from_secs(20);
    let addr: SocketAddr = loop {
        let found = serve.stderr.lock().unwrap().iter().find_map(|l| {
            let rest = &l[l.find("listening on http://")? + "listening on http://".len()..];
            rest.split(' ').next()?.parse().ok()
        });
        if let Some(addr) = found {
            break addr;
        }
        assert!(Instant::now() < deadline, "no listening line");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let store = Store::open(&db).await.unwrap();
    store
        .create_client(&client("svc", Some(SECRET), &["client_credentials"], &[], &[]))
        .await
        .unwrap();
    let r = token(
        addr,
        "grant_type=client_credentials",
        &[("Authorization", &basic("svc", WRONG_SECRET))],
    )
    .await;
    assert_eq!(r.status, 401);
    assert!(
        r.header("x-request-id").is_some(),
        "the header is there in text mode too"
    );
    let (_, err) = serve.stop();
    assert!(
        err.iter().any(|l| l.contains("client authentication failed")),
        "{err:?}"
    );
    for line in &err {
        assert!(!line.starts_with('{') && !line.contains("request_id"), "{line}");
    }
}
