//! Interop with a second, independent JWT implementation: Python's PyJWT
//! (with `cryptography`), for every algorithm, in both directions:
//!
//! 1. `tessera keys generate` + `tessera token sign` → PyJWT verifies with
//!    the JWKS printed by `tessera keys public`;
//! 2. PyJWT signs with the key file `tessera keys generate` wrote →
//!    `tessera token verify` accepts it; one signed by a stranger's key is
//!    refused.
//!
//! Key ids are base64url and may start with `-`, so they are passed as
//! `--kid=VALUE` (regression: a kid like `-fJp3...` was read as a flag).
//!
//! Needs `python3` with `pyjwt[crypto]`; `.ci/run` installs it. Outside CI
//! a missing PyJWT skips the test with a message; in CI (`CI` set) it fails.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const TESSERA: &str = env!("CARGO_BIN_EXE_tessera");
const ALGS: [&str; 13] = [
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
    "ES512", "EdDSA",
];

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop/pyjwt_interop.py")
}

fn pyjwt_available() -> bool {
    Command::new("python3")
        .args(["-c", "import jwt, cryptography"])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap().trim().to_owned()
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn pyjwt_interop_both_directions_every_algorithm() {
    if !pyjwt_available() {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must run the PyJWT interop test: pip install 'pyjwt[crypto]'"
        );
        eprintln!("SKIPPED pyjwt interop: python3 with PyJWT not found (pip install 'pyjwt[crypto]')");
        return;
    }
    let dir = temp_dir("pyjwt");
    for alg in ALGS {
        let key = dir.join(format!("{alg}.key"));
        let stranger = dir.join(format!("{alg}-stranger.key"));
        for path in [&key, &stranger] {
            run(Command::new(TESSERA)
                .args(["keys", "generate", "--alg", alg, "--out"])
                .arg(path));
        }
        // The verification keys: the public JWKS, or for HMAC the secret JWK itself.
        let jwks = if alg.starts_with("HS") {
            key.clone()
        } else {
            let jwks = dir.join(format!("{alg}.jwks"));
            let out = run(Command::new(TESSERA)
                .args(["keys", "public", "--alg", alg, "--key"])
                .arg(&key));
            std::fs::write(&jwks, &out.stdout).unwrap();
            jwks
        };
        let kid = {
            let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&jwks).unwrap()).unwrap();
            let jwk = doc.get("keys").map(|k| k[0].clone()).unwrap_or(doc);
            jwk["kid"].as_str().unwrap().to_owned()
        };

        // 1. Tessera signs, PyJWT verifies.
        let claims = format!(r#"{{"iss":"https://id.example","aud":"api","sub":"alice-{alg}"}}"#);
        let token = stdout(&run(Command::new(TESSERA)
            .args([
                "token",
                "sign",
                "--alg",
                alg,
                "--typ",
                "at+jwt",
                "--expires-in",
                "5m",
                "--claims",
                &claims,
                "--key",
            ])
            .arg(&key)));
        let verified = stdout(&run(Command::new("python3")
            .arg(script())
            .args([
                "verify",
                "--alg",
                alg,
                "--issuer",
                "https://id.example",
                "--audience",
                "api",
                "--jwks",
            ])
            .arg(&jwks)
            .arg(&token)));
        let verified: serde_json::Value = serde_json::from_str(&verified).unwrap();
        assert_eq!(
            verified["sub"],
            format!("alice-{alg}"),
            "{alg}: PyJWT read other claims"
        );

        // 2. PyJWT signs with Tessera's key file, Tessera verifies.
        let exp = tessera_jwt::UnixTime::now().as_secs() + 300;
        let claims = format!(r#"{{"iss":"https://id.example","aud":"api","sub":"bob-{alg}","exp":{exp}}}"#);
        let minted = stdout(&run(Command::new("python3")
            .arg(script())
            .args([
                "sign",
                "--alg",
                alg,
                &format!("--kid={kid}"),
                "--claims",
                &claims,
                "--key",
            ])
            .arg(&key)));
        let accepted = run(Command::new(TESSERA)
            .args([
                "token",
                "verify",
                "--issuer",
                "https://id.example",
                "--audience",
                "api",
                "--typ",
                "at+jwt",
                "--jwks",
            ])
            .arg(&jwks)
            .arg(&minted));
        let accepted: serde_json::Value = serde_json::from_str(&stdout(&accepted)).unwrap();
        assert_eq!(
            accepted["sub"],
            format!("bob-{alg}"),
            "{alg}: Tessera read other claims"
        );

        // A PyJWT token signed by another key under the same kid is refused.
        let forged = stdout(&run(Command::new("python3")
            .arg(script())
            .args([
                "sign",
                "--alg",
                alg,
                &format!("--kid={kid}"),
                "--claims",
                &claims,
                "--key",
            ])
            .arg(&stranger)));
        let refused = Command::new(TESSERA)
            .args([
                "token",
                "verify",
                "--issuer",
                "https://id.example",
                "--audience",
                "api",
                "--jwks",
            ])
            .arg(&jwks)
            .arg(&forged)
            .output()
            .unwrap();
        assert_eq!(
            refused.status.code(),
            Some(1),
            "{alg}: a stranger's token was not refused"
        );
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("signature is invalid"),
            "{alg}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
