//! The deployment files in `deploy/`: the systemd unit is one systemd
//! accepts (`systemd-analyze verify`, every line understood), runs the
//! README's command, and keeps its sandboxing (the options below, and
//! `systemd-analyze security` rating its exposure at most 2.0 of 10).
//! `systemd-analyze` comes with Debian's `systemd` package (`.ci/run`
//! installs it); without it, only the key checks run, with a message.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::PathBuf;
use std::process::Command;

/// The unit as shipped.
const UNIT: &str = include_str!("../../../deploy/tessera.service");

const SYSTEMD_ANALYZE: &str = "systemd-analyze";

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
