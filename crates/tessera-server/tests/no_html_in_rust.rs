//! Pages are askama templates (issue 20, item 4): compiled in, every value
//! escaped by askama. This source scan keeps them so: no `.rs` file under
//! `src/ui` or `src/http` may hold a doctype, or build an HTML element
//! with `format!` (or `format_args!`, `write!`, `writeln!`, `concat!`,
//! `push_str`), the way pages were assembled before and the way an
//! unescaped value slips in.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};

/// Macros and methods that build strings from pieces.
const BUILDERS: [&str; 6] = [
    "format!(",
    "format_args!(",
    "write!(",
    "writeln!(",
    "concat!(",
    "push_str(",
];

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Whether `text` opens or closes an HTML element (`<p`, `</p`, `<!`).
fn has_tag(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.windows(2).enumerate().any(|(i, pair)| {
        pair[0] == b'<'
            && (pair[1].is_ascii_alphabetic()
                || pair[1] == b'!'
                || (pair[1] == b'/' && bytes.get(i + 2).is_some_and(u8::is_ascii_alphabetic)))
    })
}

/// The string literals in `code` from its start to the parenthesis that
/// closes the call (`code` starts just after the opening one).
fn literals_of_call(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut literals = Vec::new();
    let mut depth = 1;
    let mut i = 0;
    while i < chars.len() && depth > 0 {
        match chars[i] {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            // A raw string: r"…", r#"…"#.
            'r' if chars.get(i + 1).is_some_and(|c| *c == '"' || *c == '#') => {
                let hashes = chars[i + 1..].iter().take_while(|c| **c == '#').count();
                if chars.get(i + 1 + hashes) == Some(&'"') {
                    let start = i + 2 + hashes;
                    let close: String = std::iter::once('"')
                        .chain(std::iter::repeat_n('#', hashes))
                        .collect();
                    let rest: String = chars[start..].iter().collect();
                    let end = rest.find(&close).unwrap_or(rest.len());
                    literals.push(rest[..end].to_owned());
                    i = start + rest[..end].chars().count() + close.chars().count();
                    continue;
                }
            }
            '"' => {
                let mut literal = String::new();
                i += 1;
                while i < chars.len() && chars[i] != '"' {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    if let Some(c) = chars.get(i) {
                        literal.push(*c);
                    }
                    i += 1;
                }
                literals.push(literal);
            }
            // A char literal such as '"' or '(' must not count.
            '\'' if chars.get(i + 2) == Some(&'\'') => i += 2,
            '\'' if chars.get(i + 1) == Some(&'\\') && chars.get(i + 3) == Some(&'\'') => i += 3,
            _ => {}
        }
        i += 1;
    }
    literals
}

/// What in `source` builds HTML: (line, what).
fn violations(source: &str) -> Vec<(usize, String)> {
    let line_of = |at: usize| source[..at].matches('\n').count() + 1;
    let mut found = Vec::new();
    if let Some(at) = source.to_ascii_lowercase().find("<!doctype") {
        found.push((line_of(at), "a doctype".to_owned()));
    }
    for builder in BUILDERS {
        for (at, _) in source.match_indices(builder) {
            let args = &source[at + builder.len()..];
            for literal in literals_of_call(args) {
                if has_tag(&literal) {
                    found.push((line_of(at), format!("{builder}…) building {literal:?}")));
                }
            }
        }
    }
    found
}

#[test]
fn no_page_is_built_from_strings_in_ui_or_http() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&root.join("ui"), &mut files);
    rust_files(&root.join("http"), &mut files);
    assert!(files.len() > 10, "the scan finds the sources: {files:?}");
    let mut all = Vec::new();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        for (line, what) in violations(&source) {
            all.push(format!("{}:{line}: {what}", file.display()));
        }
    }
    assert!(
        all.is_empty(),
        "HTML built in Rust; put it in a template under templates/:\n{}",
        all.join("\n")
    );
}

/// The scan itself finds what it is for (else the test above would pass
/// on anything), and lets plain strings be.
#[test]
fn the_scan_finds_html_built_with_format() {
    for bad in [
        "let x = format!(\"<p class=\\\"error\\\">{}</p>\", escape(e));",
        "out.push_str(&format!(\"{a}{b}\", a = 1, b = \"</ul>\"));",
        "out.push_str(\"<li>\");",
        "write!(f, r#\"<form method=\"post\">\"#)?;",
        "const PAGE: &str = \"<!DOCTYPE html>\";",
        "let s = format!(\n    \"{x}\\\n     <input type=\\\"hidden\\\">\",\n    x = 1\n);",
    ] {
        assert!(!violations(bad).is_empty(), "not found in {bad}");
    }
    for fine in [
        "let csp = format!(\"script-src 'self'; {}\", policy);",
        "let n = format!(\"{}\", x.parse::<u64>()?);",
        "let m = format!(\"{} < {}\", a, b);",
        "let q = format!(\"/authorize/passkey?{}\", query);",
        "let c = format!(\"{}{}\", '(', '\"');",
    ] {
        assert!(
            violations(fine).is_empty(),
            "found in {fine}: {:?}",
            violations(fine)
        );
    }
}
