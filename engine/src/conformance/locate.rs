//! Finding the line a problem comes from in a YAML file, for `file:line` in messages.
//!
//! The YAML decoder keeps no positions once a document is decoded, so the line is found again
//! in the text: the first line at or after `from` that contains the needle.

/// The 1-based line of the first occurrence of `needle` in `text`, if any.
pub fn line_of(text: &str, needle: &str) -> Option<usize> {
    locate_after(text, needle, 1)
}

/// The 1-based line of the first line at or after line `from` (1-based) that contains `needle`.
/// A multi-line needle is looked for by its first non-blank line.
pub fn locate_after(text: &str, needle: &str, from: usize) -> Option<usize> {
    let needle = needle
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("");
    if needle.is_empty() {
        return None;
    }
    text.lines()
        .enumerate()
        .skip(from.saturating_sub(1))
        .find(|(_, l)| l.contains(needle))
        .map(|(i, _)| i + 1)
}

/// `path:line`, or `path` alone without a line.
pub fn at_line(path: &std::path::Path, line: Option<usize>) -> String {
    match line {
        Some(l) => format!("{}:{l}", path.display()),
        None => path.display().to_string(),
    }
}

/// `path:line` of a YAML decoder's error (which says `line N` in its first line), else `path`.
pub fn yaml_at(path: &std::path::Path, message: &str) -> String {
    let first = message.lines().next().unwrap_or(message);
    let line = first
        .split("line ")
        .nth(1)
        .and_then(|r| r.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok());
    at_line(path, line)
}
