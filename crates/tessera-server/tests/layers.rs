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

/// The text of a source file before its `#[cfg(test)]` module (tests may
/// build what they check).
fn without_tests(text: &str) -> &str {
    text.split("#[cfg(test)]").next().unwrap_or(text)
}

/// The store files a store file names through `super::<file>`, including
/// those in `use super::{a, b::C}` lists.
fn store_imports(text: &str, files: &[String]) -> Vec<String> {
    let mut named = Vec::new();
    for (at, _) in text.match_indices("super::") {
        let rest = &text[at + "super::".len()..];
        let words: Vec<&str> = match rest.strip_prefix('{') {
            Some(list) => list
                .split('}')
                .next()
                .unwrap_or("")
                .split(',')
                .map(|w| w.trim().split("::").next().unwrap_or("").trim())
                .collect(),
            None => vec![rest
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .next()
                .unwrap_or("")],
        };
        for word in words {
            if files.iter().any(|f| f == word) && !named.iter().any(|n| n == word) {
                named.push(word.to_owned());
            }
        }
    }
    named
}

/// No two store files import each other, directly or through others
/// (issue 18: `users.rs` and `refresh_tokens.rs` did): the store files'
/// imports form no cycle, so each can be read, and changed, below the
/// ones that use it.
#[test]
fn store_files_import_each_other_without_a_cycle() {
    let sources = sources("store");
    let stem = |p: &PathBuf| p.file_stem().and_then(|s| s.to_str()).unwrap_or("").to_owned();
    let files: Vec<String> = sources
        .iter()
        .map(|(p, _)| stem(p))
        .filter(|s| s != "mod")
        .collect();
    let graph: Vec<(String, Vec<String>)> = sources
        .iter()
        .filter(|(p, _)| stem(p) != "mod")
        .map(|(p, text)| (stem(p), store_imports(text, &files)))
        .collect();
    let edges = |file: &str| {
        graph
            .iter()
            .find(|(f, _)| f == file)
            .map(|(_, to)| to.clone())
            .unwrap_or_default()
    };
    // Depth-first from every file; a file met again on the current path is
    // a cycle.
    fn visit(file: &str, path: &mut Vec<String>, edges: &dyn Fn(&str) -> Vec<String>) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|f| f == file) {
            let mut cycle = path[at..].to_vec();
            cycle.push(file.to_owned());
            return Some(cycle);
        }
        path.push(file.to_owned());
        for next in edges(file) {
            if let Some(cycle) = visit(&next, path, edges) {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    for file in &files {
        if let Some(cycle) = visit(file, &mut Vec::new(), &edges) {
            panic!("store files import each other: {}", cycle.join(" -> "));
        }
    }
    // The checker sees imports at all (so a silent parser cannot pass).
    assert!(
        edges("refresh_tokens").contains(&"users".to_owned()),
        "refresh_tokens.rs reads users through users.rs: {graph:?}"
    );
}

/// A `User` is built in one module, the user lifecycle
/// (`identity/users.rs`), and read back in one row reader
/// (`store/users.rs`); tests aside.
#[test]
fn a_user_is_built_only_by_the_lifecycle_and_the_row_reader() {
    // (fixtures.rs is test support, compiled for unit tests only.)
    let allowed = ["identity/users.rs", "store/users.rs", "src/fixtures.rs"];
    let mut broken = Vec::new();
    for (path, text) in sources("") {
        let shown = path.display().to_string();
        if allowed.iter().any(|a| shown.ends_with(a)) {
            continue;
        }
        for line in without_tests(&text).lines() {
            let code = line.trim();
            let literal = code
                .match_indices("User {")
                .any(|(at, _)| !code[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_'))
                && !code.contains("struct User {")
                && !code.contains("impl User {")
                && !code.contains("for User {")
                && !code.starts_with("//");
            if literal {
                broken.push(format!("{shown}: {code}"));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "build users through identity::users:\n{}",
        broken.join("\n")
    );
}

/// The store writes that make or change a user (and those that end their
/// grants with a credential event) are called only by the user lifecycle.
#[test]
fn only_the_lifecycle_changes_users() {
    let writes = [
        ".create_user(",
        ".create_linked_user(",
        ".set_password(",
        ".set_name(",
        ".clear_password(",
        ".set_disabled(",
        ".set_email_verified(",
        ".set_roles(",
        ".delete_user(",
        ".link(",
        ".unlink(",
        ".confirm_email(",
        ".reset_password(",
    ];
    let mut broken = Vec::new();
    for (path, text) in sources("") {
        let shown = path.display().to_string();
        // (fixtures.rs is test support, compiled for unit tests only.)
        if shown.contains("/src/identity/")
            || shown.contains("/src/store/")
            || shown.ends_with("src/fixtures.rs")
        {
            continue;
        }
        for line in without_tests(&text).lines() {
            if writes.iter().any(|w| line.contains(w)) {
                broken.push(format!("{shown}: {}", line.trim()));
            }
        }
    }
    assert!(
        broken.is_empty(),
        "change users through identity::users:\n{}",
        broken.join("\n")
    );
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
