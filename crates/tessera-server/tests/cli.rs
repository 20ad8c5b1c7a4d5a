//! The `tessera keys` and `tessera token` commands, driven as a user (or an
//! attacker) would: every attack class from `tessera_jwt::manual` is sent
//! to `tessera token verify`, which must exit 1 and say why; malformed input
//! to `tessera token decode` gets an error, never a crash.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;
use tessera_jwt::{SigningKey, UnixTime};

const TESSERA: &str = env!("CARGO_BIN_EXE_tessera");

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn tessera(args: &[&str]) -> Output {
    Command::new(TESSERA).args(args).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

struct Workspace {
    dir: PathBuf,
}

impl Workspace {
    fn new(name: &str) -> Workspace {
        let dir = std::env::temp_dir().join(format!("tessera-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        Workspace { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.join(name).to_str().unwrap().to_owned()
    }

    /// Generates a key with the CLI; returns (key file, JWKS file, loaded key).
    fn key(&self, alg: &str, name: &str) -> (String, String, SigningKey) {
        let key = self.path(&format!("{name}.key"));
        let out = tessera(&["keys", "generate", "--alg", alg, "--out", &key]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let jwks = if alg.starts_with("HS") {
            key.clone()
        } else {
            let jwks = self.path(&format!("{name}.jwks"));
            let out = tessera(&["keys", "public", "--key", &key]);
            assert!(out.status.success(), "{}", text(&out.stderr));
            std::fs::write(&jwks, &out.stdout).unwrap();
            jwks
        };
        let loaded = SigningKey::decode(&std::fs::read(&key).unwrap(), None).unwrap();
        (key, jwks, loaded)
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn claims() -> String {
    let now = UnixTime::now().as_secs();
    format!(
        r#"{{"iss":"https://id.example","sub":"alice","exp":{},"iat":{now}}}"#,
        now + 300
    )
}

fn forge(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = format!("{}.{}", b64(header.as_bytes()), b64(payload.as_bytes()));
    format!("{input}.{}", b64(&key.sign_bytes(input.as_bytes()).unwrap()))
}

/// Runs `token verify` and returns (exit code, stdout, stderr).
fn verify(jwks: &str, token: &str, extra: &[&str]) -> (i32, String, String) {
    let mut args = vec![
        "token",
        "verify",
        "--jwks",
        jwks,
        "--issuer",
        "https://id.example",
    ];
    args.extend_from_slice(extra);
    args.push(token);
    let out = tessera(&args);
    (out.status.code().unwrap(), text(&out.stdout), text(&out.stderr))
}

fn assert_refused(jwks: &str, token: &str, reason: &str) {
    let (code, stdout, stderr) = verify(jwks, token, &[]);
    assert_eq!(code, 1, "accepted: {stdout}");
    assert!(stdout.is_empty());
    assert!(stderr.contains(reason), "expected {reason:?} in {stderr:?}");
    assert!(!stderr.contains("panicked"));
}

#[test]
fn valid_tokens_verify_from_argument_and_stdin() {
    let ws = Workspace::new("valid");
    let (key, jwks, _) = ws.key("ES256", "k");
    let out = tessera(&[
        "token",
        "sign",
        "--key",
        &key,
        "--claims",
        &claims(),
        "--typ",
        "at+jwt",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    let (code, stdout, _) = verify(&jwks, &token, &["--typ", "at+jwt"]);
    assert_eq!(code, 0);
    let claims: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(claims["sub"], "alice");

    let mut child = Command::new(TESSERA)
        .args(["token", "verify", "--jwks", &jwks, "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{token}").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());

    // --expires-in sets exp and iat; a token past exp + leeway is refused.
    let out = tessera(&[
        "token",
        "sign",
        "--key",
        &key,
        "--claims",
        r#"{"iss":"https://id.example"}"#,
        "--expires-in",
        "0s",
    ]);
    let expired = text(&out.stdout).trim().to_owned();
    assert_eq!(verify(&jwks, &expired, &["--leeway", "0"]).0, 1);
    assert!(verify(&jwks, &expired, &["--leeway", "0"]).2.contains("expired"));
    assert_eq!(verify(&jwks, &expired, &["--leeway", "60"]).0, 0);
}

#[test]
fn alg_none_is_refused() {
    let ws = Workspace::new("none");
    let (_, jwks, _) = ws.key("ES256", "k");
    let token = format!("{}.{}.", b64(br#"{"alg":"none"}"#), b64(claims().as_bytes()));
    assert_refused(&jwks, &token, "\"none\"");
}

#[test]
fn rsa_public_key_as_hmac_secret_is_refused() {
    let ws = Workspace::new("confusion");
    let (_, jwks, rsa) = ws.key("RS256", "rsa");
    let public = std::fs::read(&jwks).unwrap();
    let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, rsa.kid());
    let input = format!("{}.{}", b64(header.as_bytes()), b64(claims().as_bytes()));
    let hmac = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &public);
    let token = format!(
        "{input}.{}",
        b64(aws_lc_rs::hmac::sign(&hmac, input.as_bytes()).as_ref())
    );
    assert_refused(&jwks, &token, "bound to RS256");
}

#[test]
fn psychic_ecdsa_signature_is_refused() {
    let ws = Workspace::new("psychic");
    let (_, jwks, key) = ws.key("ES256", "k");
    let header = format!(r#"{{"alg":"ES256","kid":"{}"}}"#, key.kid());
    let token = format!(
        "{}.{}.{}",
        b64(header.as_bytes()),
        b64(claims().as_bytes()),
        b64(&[0u8; 64])
    );
    assert_refused(&jwks, &token, "signature is invalid");
}

#[test]
fn embedded_jwk_jku_and_x5u_are_ignored() {
    let ws = Workspace::new("embedded");
    let (_, jwks, victim) = ws.key("ES256", "victim");
    let (_, _, attacker) = ws.key("ES256", "attacker");
    let attacker_jwk = serde_json::to_string(&attacker.public_jwk().unwrap()).unwrap();
    for extra in [
        format!(r#""jwk":{attacker_jwk}"#),
        r#""jku":"http://127.0.0.1:9/jwks.json""#.to_owned(),
        r#""x5u":"http://127.0.0.1:9/cert.pem""#.to_owned(),
    ] {
        let header = format!(r#"{{"alg":"ES256","kid":"{}",{extra}}}"#, victim.kid());
        assert_refused(
            &jwks,
            &forge(&attacker, &header, &claims()),
            "signature is invalid",
        );
        let header = format!(r#"{{"alg":"ES256","kid":"{}",{extra}}}"#, attacker.kid());
        assert_refused(&jwks, &forge(&attacker, &header, &claims()), "no key with kid");
    }
}

#[test]
fn kid_injection_finds_no_key() {
    let ws = Workspace::new("kid");
    let (_, jwks, key) = ws.key("HS256", "k");
    for kid in ["../../../../dev/null", "' OR 1=1 --", "x\nforged log line"] {
        let header = serde_json::json!({"alg": "HS256", "kid": kid}).to_string();
        let (code, _, stderr) = verify(&jwks, &forge(&key, &header, &claims()), &[]);
        assert_eq!(code, 1);
        assert!(stderr.contains("no key with kid"), "{stderr}");
        assert_eq!(
            stderr.trim_end().lines().count(),
            1,
            "kid must not add log lines: {stderr}"
        );
    }
}

#[test]
fn non_canonical_base64_is_refused() {
    let ws = Workspace::new("b64");
    let (_, jwks, key) = ws.key("HS256", "k");
    let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, key.kid());
    let token = forge(&key, &header, &claims());
    let (head, rest) = token.split_once('.').unwrap();
    assert_refused(&jwks, &format!("{head}=.{rest}"), "base64url");
    assert_refused(&jwks, &format!("{}.{rest}", head.replace('J', "+")), "base64url");
}

#[test]
fn duplicate_claims_are_refused() {
    let ws = Workspace::new("dup");
    let (_, jwks, key) = ws.key("EdDSA", "k");
    let header = format!(r#"{{"alg":"EdDSA","kid":"{}"}}"#, key.kid());
    let payload = claims().replace(r#""sub":"alice""#, r#""sub":"alice","sub":"admin""#);
    assert_refused(&jwks, &forge(&key, &header, &payload), "more than once");
}

#[test]
fn crit_is_refused() {
    let ws = Workspace::new("crit");
    let (_, jwks, key) = ws.key("ES256", "k");
    let header = format!(
        r#"{{"alg":"ES256","kid":"{}","crit":["exp"],"exp":1}}"#,
        key.kid()
    );
    assert_refused(&jwks, &forge(&key, &header, &claims()), "critical");
}

#[test]
fn wrong_typ_issuer_and_audience_are_refused() {
    let ws = Workspace::new("typ");
    let (_, jwks, key) = ws.key("ES256", "k");
    let header = format!(r#"{{"alg":"ES256","kid":"{}","typ":"JWT"}}"#, key.kid());
    let token = forge(&key, &header, &claims());
    let (code, _, stderr) = verify(&jwks, &token, &["--typ", "at+jwt"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("typ"), "{stderr}");
    let other_iss = forge(
        &key,
        &header,
        &claims().replace("https://id.example", "https://evil.example"),
    );
    assert_refused(&jwks, &other_iss, "issuer");
    let with_aud = forge(
        &key,
        &header,
        &claims().replace(r#""sub""#, r#""aud":"billing","sub""#),
    );
    assert_refused(&jwks, &with_aud, "aud");
    let (code, _, stderr) = verify(&jwks, &with_aud, &["--audience", "tasks"]);
    assert_eq!(code, 1);
    assert!(stderr.contains("audience"), "{stderr}");
    assert_eq!(
        verify(
            &jwks,
            &with_aud,
            &["--audience", "tasks", "--audience", "billing"]
        )
        .0,
        0
    );
}

#[test]
fn decode_marks_output_unverified_and_never_crashes() {
    let ws = Workspace::new("decode");
    let (key, _, _) = ws.key("ES256", "k");
    let out = tessera(&["token", "sign", "--key", &key, "--claims", &claims()]);
    let token = text(&out.stdout).trim().to_owned();
    let out = tessera(&["token", "decode", &token]);
    assert!(out.status.success());
    let decoded: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(decoded["warning"].as_str().unwrap().starts_with("UNVERIFIED"));
    assert_eq!(decoded["claims"]["sub"], "alice");
    assert_eq!(decoded["header"]["alg"], "ES256");

    let long = "a.".repeat(20_000);
    for garbage in [
        "",
        "....",
        "a.b.c",
        "eyJ.eyJ.x",
        "%%%.%%%.%%%",
        "e30.e30",
        "e30.W10.",
        "bnVsbA.bnVsbA.",
        long.as_str(),
    ] {
        let out = tessera(&["token", "decode", garbage]);
        assert_eq!(out.status.code(), Some(1), "{garbage:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("token refused:"), "{stderr}");
        assert!(!stderr.contains("panicked"));
    }
}

#[test]
fn key_files_are_private_and_not_overwritten() {
    use std::os::unix::fs::PermissionsExt;
    let ws = Workspace::new("files");
    let (key, _, _) = ws.key("EdDSA", "k");
    let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let before = std::fs::read(&key).unwrap();
    let out = tessera(&["keys", "generate", "--alg", "EdDSA", "--out", &key]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        std::fs::read(&key).unwrap(),
        before,
        "an existing key was overwritten"
    );
    assert!(
        tessera(&["keys", "generate", "--alg", "EdDSA", "--out", &key, "--force"])
            .status
            .success()
    );
    assert_ne!(std::fs::read(&key).unwrap(), before);
    // HMAC secrets have no PEM form; PEM output is refused rather than lossy.
    let out = tessera(&["keys", "generate", "--alg", "HS256", "--format", "pem"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(Path::new(&key).exists());
}
