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
