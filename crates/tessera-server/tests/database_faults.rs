//! Faults of the database under a running node (issue 12), on a
//! PostgreSQL this test starts itself (`initdb` and `pg_ctl` from Debian's
//! `postgresql` package, its own folder and port), so stopping it touches
//! nothing else. Skipped with a message where those are missing; required
//! under `CI`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use tessera_server::config::Config;
use tessera_server::store::{ClientStore, Store};
use tessera_testkit as support;

/// A PostgreSQL server of this test's own.
struct OwnPostgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl OwnPostgres {
    /// `initdb` in a fresh folder, or `None` when PostgreSQL's programs
    /// are not installed.
    fn init() -> Option<OwnPostgres> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").exists())?;
        let dir = std::env::temp_dir().join(format!("tessera-own-pg-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = OwnPostgres { bin, dir, port };
        // PostgreSQL refuses to run as root: the `postgres` user owns it.
        if OwnPostgres::as_root() {
            assert!(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&pg.dir)
                .status()
                .unwrap()
                .success());
        }
        let data = pg.dir.join("data");
        pg.run(
            "initdb",
            &[
                "-D",
                data.to_str().unwrap(),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
            ],
        );
        Some(pg)
    }

    fn as_root() -> bool {
        Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
    }

    fn run(&self, program: &str, args: &[&str]) {
        let path = self.bin.join(program);
        let mut command = if Self::as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out = command.args(args).output().unwrap();
        assert!(
            out.status.success(),
            "{program}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start(&self) {
        let data = self.dir.join("data");
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.display()
        );
        let log = self.dir.join("log");
        self.run(
            "pg_ctl",
            &[
                "-D",
                data.to_str().unwrap(),
                "-o",
                &options,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
            ],
        );
    }

    /// `-m fast`: every client connection is cut, as when the database
    /// goes away.
    fn stop(&self) {
        let data = self.dir.join("data");
        self.run(
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "fast", "-w", "stop"],
        );
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let path = self.bin.join("pg_ctl");
        let mut c = if Self::as_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let _ = c
            .args(["-D", data.to_str().unwrap_or(""), "-m", "immediate", "stop"])
            .output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn own_postgres() -> Option<OwnPostgres> {
    let pg = OwnPostgres::init();
    if pg.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the fault tests: apt-get install postgresql"
        );
        eprintln!("SKIPPED database faults: initdb not found under /usr/lib/postgresql");
    }
    pg
}

async fn password_grant(server: &support::Running) -> support::Response {
    support::token(
        server.addr,
        "grant_type=password&username=ann&password=correct+horse+battery",
        &[("Authorization", &support::basic("svc", "svc-secret"))],
    )
    .await
}

/// The database stopped under load: every request fails fast (503
/// `temporarily_unavailable`, within `database_timeout` and a margin, no
/// hang), `/readyz` says not ready, and the node serves again by itself
/// once the database is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_database_down_gives_fast_503s_and_the_node_recovers() {
    let Some(pg) = own_postgres() else { return };
    pg.start();
    let url = pg.url();
    let server =
        support::start_configured(&url, "ES256", None, |c: &mut Config| c.database_timeout = 2).await;
    let store = Store::open(&url).await.unwrap();
    support::browser::seed(&store).await;
    let svc = support::client("svc", Some("svc-secret"), &["password"], &["openid"], &["api"]);
    store.create_client(&svc).await.unwrap();
    assert_eq!(password_grant(&server).await.status, 200);

    pg.stop();
    // Sixteen requests at once, three times over.
    for round in 0..3 {
        let started = Instant::now();
        let requests: Vec<_> = (0..16)
            .map(|_| {
                let addr = server.addr;
                tokio::spawn(async move {
                    support::token(
                        addr,
                        "grant_type=password&username=ann&password=correct+horse+battery",
                        &[("Authorization", &support::basic("svc", "svc-secret"))],
                    )
                    .await
                })
            })
            .collect();
        for r in requests {
            let r = r.await.unwrap();
            assert_eq!(r.status, 503, "round {round}: {:?}", r.json());
            assert_eq!(r.json()["error"], "temporarily_unavailable");
            assert_eq!(r.header("retry-after"), Some("1"));
        }
        // Bounded by database_timeout (2 s), with room for a slow machine.
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "round {round}: {:?}",
            started.elapsed()
        );
    }
    let ready = support::request(server.addr, "GET", "/readyz", &[], b"").await;
    assert_eq!(ready.status, 503);

    pg.start();
    let back = Instant::now();
    loop {
        let r = password_grant(&server).await;
        if r.status == 200 {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "never recovered: {:?}",
            r.json()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = support::request(server.addr, "GET", "/readyz", &[], b"").await;
    assert_eq!(ready.status, 200);
    server.stop().await;
    drop(pg);
}
