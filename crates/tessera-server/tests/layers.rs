//! The layering rules of ARCHITECTURE.md ("Layers"), checked on the source:
//! `domain/` imports nothing of the server, and `store/` persists domain
//! types without knowing the protocol or the shells around it.

#![allow(clippy::expect_used, clippy::panic)]

use std::path::{Path, PathBuf};

fn sources(dir: &str) -> Vec<(PathBuf, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src").join(dir);
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).expect("source file");
                found.push((path, text));
            }
        }
    }
    assert!(!found.is_empty(), "no sources under src/{}", dir);
    found
}

/// The lines of `text` that name `crate::<layer>` for one of `layers`.
fn uses_of(text: &str, layers: &[&str]) -> Vec<String> {
    text.lines()
        .filter(|line| {
            layers.iter().any(|layer| {
                line.contains(&format!("crate::{layer}::")) || line.contains(&format!("crate::{layer};"))
            })
        })
        .map(|line| line.trim().to_owned())
        .collect()
}

const SHELLS_AND_PROTOCOL: &[&str] = &["oauth", "http", "ui", "cli", "server", "listener"];

#[test]
fn the_store_imports_nothing_of_the_protocol_or_the_shells() {
    let mut broken = Vec::new();
    for (path, text) in sources("store") {
        for line in uses_of(&text, SHELLS_AND_PROTOCOL) {
            broken.push(format!("{}: {line}", path.display()));
        }
    }
    assert!(
        broken.is_empty(),
        "store/ must not import these:\n{}",
        broken.join("\n")
    );
}

#[test]
fn the_domain_imports_nothing_of_the_server() {
    let mut broken = Vec::new();
    for (path, text) in sources("domain") {
        for line in text
            .lines()
            .filter(|l| l.contains("crate::") && !l.contains("crate::domain"))
        {
            broken.push(format!("{}: {}", path.display(), line.trim()));
        }
    }
    assert!(
        broken.is_empty(),
        "domain/ must not import the server:\n{}",
        broken.join("\n")
    );
}

/// The code of `text` before its tests (`#[cfg(test)]` modules go last).
fn without_tests(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

/// Whether `line` writes a `Client { .. }` literal: the word `Client`
/// followed by a brace, not a definition (`struct`, `impl`, `enum`), a
/// return type or a comment.
fn builds_client(line: &str) -> bool {
    let code = line.trim_start();
    if code.starts_with("//") {
        return false;
    }
    code.match_indices("Client {").any(|(at, _)| {
        let before = code.get(..at).unwrap_or_default();
        let whole_word = !before.ends_with(|c: char| c.is_alphanumeric() || c == '_');
        let definition = ["struct ", "impl ", "enum ", "-> ", "-> &", "for "]
            .iter()
            .any(|word| before.ends_with(word));
        whole_word && !definition
    })
}

/// Issue 18, item 4: a `Client` is built in one module (registration),
/// and read back from its row by the store; nowhere else. And "public" is
/// `ClientCredentials::None`, never read off a missing secret.
#[test]
fn clients_are_built_by_registration_and_public_is_never_inferred() {
    assert!(builds_client("    let client = Client {"));
    assert!(builds_client("    Ok(Client {"));
    assert!(!builds_client("pub struct Client {"));
    assert!(!builds_client("pub enum CallingClient {"));
    assert!(!builds_client("impl Client {"));
    assert!(!builds_client("fn registered(id: &str) -> Client {"));
    assert!(!builds_client("pub fn client(&self) -> &Client {"));
    let mut built = Vec::new();
    let mut inferred = Vec::new();
    for (path, text) in sources("") {
        let name = path.display().to_string();
        // `fixtures.rs` is the unit tests' (`#[cfg(test)] mod fixtures`).
        let allowed = ["clients/registration.rs", "store/clients.rs", "src/fixtures.rs"]
            .iter()
            .any(|file| name.ends_with(file));
        for line in without_tests(&text).lines() {
            if builds_client(line) && !allowed {
                built.push(format!("{name}: {}", line.trim()));
            }
            if line.contains("secret_hash.is_none()") || line.contains("secret_hash.is_some()") {
                inferred.push(format!("{name}: {}", line.trim()));
            }
        }
    }
    assert!(
        built.is_empty(),
        "a Client built outside registration:\n{}",
        built.join("\n")
    );
    assert!(
        inferred.is_empty(),
        "public inferred from a secret:\n{}",
        inferred.join("\n")
    );
}
