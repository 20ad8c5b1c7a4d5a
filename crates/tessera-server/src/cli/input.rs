//! Reading arguments that may come from a file or standard input.

use std::io::Read;

use anyhow::Context;

/// Largest input read from stdin or a file: far above any key or token.
const MAX_INPUT: u64 = 1024 * 1024;

/// Reads a file, bounded.
pub(crate) fn read_file(path: &str) -> anyhow::Result<Vec<u8>> {
    let file = std::fs::File::open(path).with_context(|| format!("cannot open {path}"))?;
    let mut out = Vec::new();
    file.take(MAX_INPUT + 1)
        .read_to_end(&mut out)
        .with_context(|| format!("cannot read {path}"))?;
    if out.len() as u64 > MAX_INPUT {
        anyhow::bail!("{path} is larger than {MAX_INPUT} bytes");
    }
    Ok(out)
}

/// The argument itself, or standard input when it is `-`, trimmed.
pub(crate) fn arg_or_stdin(arg: &str) -> anyhow::Result<String> {
    if arg != "-" {
        return Ok(arg.trim().to_owned());
    }
    let mut out = String::new();
    std::io::stdin()
        .take(MAX_INPUT + 1)
        .read_to_string(&mut out)
        .context("cannot read standard input as UTF-8")?;
    if out.len() as u64 > MAX_INPUT {
        anyhow::bail!("standard input is larger than {MAX_INPUT} bytes");
    }
    Ok(out.trim().to_owned())
}

/// Inline text, or a file's contents when the argument starts with `@`.
pub(crate) fn inline_or_file(arg: &str) -> anyhow::Result<String> {
    match arg.strip_prefix('@') {
        Some(path) => String::from_utf8(read_file(path)?).with_context(|| format!("{path} is not UTF-8")),
        None => arg_or_stdin(arg),
    }
}
