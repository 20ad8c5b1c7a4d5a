//! The deployment files in `deploy/`.
//!
//! - The systemd unit is one systemd accepts (`systemd-analyze verify`,
//!   every line understood), runs the README's command, and keeps its
//!   sandboxing (the options below, and `systemd-analyze security` rating
//!   its exposure at most 2.0 of 10).
//! - The Prometheus alert rules and the Grafana dashboard name only metrics
//!   `/metrics` really exports; the rules pass `promtool check rules` and
//!   their unit tests (`promtool test rules`), the dashboard's queries pass
//!   `promtool check rules` too, and `/metrics` itself passes
//!   `promtool check metrics`.
//!
//! `systemd-analyze` and `promtool` come with Debian's `systemd` and
//! `prometheus` packages (`.ci/run` installs them); without them, only the
//! checks in Rust run, with a message.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use tessera_testkit as support;

/// The unit as shipped.
const UNIT: &str = include_str!("../../../deploy/tessera.service");

const SYSTEMD_ANALYZE: &str = "systemd-analyze";
const PROMTOOL: &str = "promtool";

/// The repository's `deploy/` directory.
fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy")
}

/// The `[Service]` section's settings, in order (a key may repeat).
fn service_settings() -> Vec<(String, String)> {
    let mut section = "";
    let mut settings = Vec::new();
    for line in UNIT.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            section = line;
            continue;
        }
        if section == "[Service]" {
            let (key, value) = line.split_once('=').expect("key=value");
            settings.push((key.trim().to_owned(), value.trim().to_owned()));
        }
    }
    settings
}

/// Whether `systemd-analyze` runs here (CI must have it).
fn have_systemd_analyze() -> bool {
    if Command::new(SYSTEMD_ANALYZE).arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must check the systemd unit: apt-get install systemd"
    );
    eprintln!("SKIPPED systemd-analyze checks: {SYSTEMD_ANALYZE} not found");
    false
}

/// The unit with its `ExecStart` pointing at the binary just built (verify
/// refuses a unit whose program is not there), in a directory of its own.
fn unit_with_built_binary() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-unit-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let unit = UNIT.replace("/usr/local/bin/tessera", env!("CARGO_BIN_EXE_tessera"));
    assert_ne!(unit, UNIT, "the unit runs /usr/local/bin/tessera");
    let path = dir.join("tessera.service");
    std::fs::write(&path, unit).unwrap();
    path
}

#[test]
fn systemd_unit_runs_the_server_sandboxed() {
    let settings = service_settings();
    let value = |key: &str| {
        settings
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        value("ExecStart"),
        ["/usr/local/bin/tessera serve --config /etc/tessera/tessera.toml"]
    );
    for (key, expected) in [
        ("User", "tessera"),
        ("Group", "tessera"),
        ("StateDirectory", "tessera"),
        ("StateDirectoryMode", "0700"),
        ("WorkingDirectory", "/var/lib/tessera"),
        ("UMask", "0077"),
        ("CapabilityBoundingSet", ""),
        ("AmbientCapabilities", ""),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("ProtectKernelTunables", "yes"),
        ("ProtectKernelModules", "yes"),
        ("ProtectControlGroups", "yes"),
        ("RestrictAddressFamilies", "AF_INET AF_INET6 AF_UNIX"),
        ("RestrictNamespaces", "yes"),
        ("LockPersonality", "yes"),
        ("MemoryDenyWriteExecute", "yes"),
        ("SystemCallArchitectures", "native"),
    ] {
        assert_eq!(value(key), [expected], "{key}");
    }
    assert_eq!(value("SystemCallFilter").first(), Some(&"@system-service"));
    // Nothing writable beyond the state directory.
    for key in ["ReadWritePaths", "BindPaths", "PrivateNetwork"] {
        assert!(value(key).is_empty(), "{key}");
    }
}

#[test]
fn systemd_accepts_the_unit() {
    if !have_systemd_analyze() {
        return;
    }
    let unit = unit_with_built_binary();
    let out = Command::new(SYSTEMD_ANALYZE)
        .arg("verify")
        .arg(&unit)
        .output()
        .unwrap();
    // verify only warns about an unknown key or a bad value (and exits 0):
    // any output is a failure.
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success() && said.trim().is_empty(), "{said}");
    // The exposure score, 0 (locked down) to 10; the threshold is in tenths.
    let out = Command::new(SYSTEMD_ANALYZE)
        .args(["security", "--offline=true", "--threshold=20"])
        .arg(&unit)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exposure above 2.0: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let _ = std::fs::remove_dir_all(unit.parent().unwrap());
}

/// Whether `promtool` runs here (CI must have it).
fn have_promtool() -> bool {
    if Command::new(PROMTOOL).arg("--version").output().is_ok() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI must check the Prometheus rules: apt-get install prometheus"
    );
    eprintln!("SKIPPED promtool checks: {PROMTOOL} not found");
    false
}

/// Runs `promtool` with `args` in `dir` (and `stdin`), failing on failure.
fn promtool(dir: &Path, args: &[&str], stdin: Option<&str>) {
    use std::io::Write;
    let mut child = Command::new(PROMTOOL)
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default().as_bytes()).unwrap();
    drop(input);
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The names of the series in a Prometheus text exposition.
fn exported_names(exposition: &str) -> BTreeSet<String> {
    exposition
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap().to_owned())
        .collect()
}

/// Every metric a query text names: each `tessera_*` word, and each word
/// written right before a `{` (a selector: every selector here has one,
/// for `job`).
fn named_metrics(text: &str) -> BTreeSet<String> {
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut names = BTreeSet::new();
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if is_name(chars[i]) && (i == 0 || !is_name(chars[i - 1])) {
            let start = i;
            while i < chars.len() && is_name(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let starts_a_name = word.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
            let selector = starts_a_name && chars.get(i) == Some(&'{');
            if word.starts_with("tessera_") || selector {
                names.insert(word);
            }
        } else {
            i += 1;
        }
    }
    names
}

/// Each `expr` of the dashboard's panels.
fn dashboard_queries(dashboard: &serde_json::Value) -> Vec<String> {
    let mut queries = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            queries.push(target["expr"].as_str().unwrap().to_owned());
        }
    }
    queries
}

/// Series Prometheus makes itself, not the server.
const PROMETHEUS_SERIES: [&str; 1] = ["up"];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rules_and_dashboard_name_only_exported_metrics() {
    // A server that has answered a few requests (so each kind of series
    // exists), and its /metrics.
    let db = support::sqlite_url();
    let server = support::start(&db, "ES256").await;
    for _ in 0..3 {
        support::token(server.addr, "grant_type=client_credentials", &[]).await;
    }
    support::request(server.addr, "GET", "/jwks", &[], b"").await;
    let metrics = server.metrics.unwrap();
    let exposition = support::request(metrics, "GET", "/metrics", &[], b"").await;
    assert_eq!(exposition.status, 200);
    let exposition = String::from_utf8(exposition.body).unwrap();
    server.stop().await;
    let exported = exported_names(&exposition);
    for name in [
        "tessera_http_requests_total",
        "tessera_http_request_duration_seconds_bucket",
        "tessera_tokens_issued_total",
    ] {
        assert!(exported.contains(name), "{name} not in {exposition}");
    }
    let known = |name: &String| exported.contains(name) || PROMETHEUS_SERIES.contains(&name.as_str());

    let rules = std::fs::read_to_string(deploy().join("prometheus/tessera.rules.yml")).unwrap();
    let exprs: String = rules
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .skip_while(|l| !l.contains("groups:"))
        .collect::<Vec<_>>()
        .join("\n");
    let in_rules = named_metrics(&exprs);
    assert!(in_rules.contains("tessera_tokens_issued_total"), "{in_rules:?}");
    let unknown: Vec<_> = in_rules.iter().filter(|n| !known(n)).collect();
    assert!(
        unknown.is_empty(),
        "the rules name metrics /metrics does not export: {unknown:?}"
    );

    let dashboard: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(deploy().join("grafana/tessera-dashboard.json")).unwrap(),
    )
    .unwrap();
    let queries = dashboard_queries(&dashboard);
    assert!(queries.len() >= 8, "{queries:?}");
    let variables = dashboard["templating"]["list"].to_string();
    let in_dashboard = named_metrics(&format!("{}\n{variables}", queries.join("\n")));
    let unknown: Vec<_> = in_dashboard.iter().filter(|n| !known(n)).collect();
    assert!(
        unknown.is_empty(),
        "the dashboard names metrics /metrics does not export: {unknown:?}"
    );
    // Every exported metric is on the dashboard.
    for name in exported.iter().filter(|n| n.starts_with("tessera_")) {
        assert!(
            in_dashboard.contains(name)
                || name.ends_with("_bucket")
                    && in_dashboard
                        .iter()
                        .any(|d| d.starts_with(name.trim_end_matches("_bucket"))),
            "{name} is on no panel"
        );
    }

    if !have_promtool() {
        return;
    }
    let prometheus = deploy().join("prometheus");
    promtool(&prometheus, &["check", "rules", "tessera.rules.yml"], None);
    promtool(&prometheus, &["test", "rules", "tessera.rules.test.yml"], None);
    promtool(&prometheus, &["check", "metrics"], Some(&exposition));
    // The dashboard's queries, with Grafana's variables given values, as
    // recording rules: promtool parses each.
    let dir = std::env::temp_dir().join(format!("tessera-dashboard-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut recording = String::from("groups:\n  - name: dashboard\n    rules:\n");
    for (i, query) in queries.iter().enumerate() {
        let query = query
            .replace("$__rate_interval", "5m")
            .replace("$job", "tessera")
            .replace("$instance", ".*");
        recording.push_str(&format!(
            "      - record: dashboard:query{i}\n        expr: {}\n",
            serde_json::to_string(&query).unwrap()
        ));
    }
    std::fs::write(dir.join("dashboard.rules.yml"), recording).unwrap();
    promtool(&dir, &["check", "rules", "dashboard.rules.yml"], None);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn metric_names_are_read_from_queries() {
    let names = named_metrics(
        r#"sum by (le) (rate(tessera_http_request_duration_seconds_bucket{job="tessera"}[5m])) / up{job="x"} {{route}}"#,
    );
    let names: Vec<_> = names.iter().map(String::as_str).collect();
    assert_eq!(names, ["tessera_http_request_duration_seconds_bucket", "up"]);
}
