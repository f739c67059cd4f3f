//! Reading log files the way CrowdSec's file acquisition does.

use std::path::Path;

use anyhow::Context;

/// The longest line kept whole; longer lines are cut there (and counted by the caller).
pub const MAX_LINE: usize = 1 << 20;

/// Reads a log into lines: split on `\n`, a trailing `\r` dropped, empty lines skipped, invalid
/// UTF-8 replaced (lossy) rather than dropping the line.
pub fn read_lines(path: &Path) -> anyhow::Result<Vec<String>> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(split_lines(&bytes)
        .map(|l| String::from_utf8_lossy(l).into_owned())
        .collect())
}

/// Splits a buffer into non-empty lines without their `\r\n` / `\n`.
pub fn split_lines(bytes: &[u8]) -> impl Iterator<Item = &[u8]> {
    bytes
        .split(|b| *b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .filter(|l| !l.is_empty())
}
