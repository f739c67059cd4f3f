//! Reading log files the way CrowdSec's file acquisition does, without losing or dying on bad
//! input.

use std::borrow::Cow;
use std::path::Path;

use anyhow::Context;

/// The longest line kept whole; longer lines are cut there (on a character boundary) and
/// counted, so one runaway line cannot exhaust memory downstream.
pub const MAX_LINE: usize = 1 << 20;

/// Lines read from a file, with what had to be repaired.
#[derive(Debug, Default)]
pub struct Lines {
    /// The lines, without their line ending.
    pub lines: Vec<String>,
    /// Lines that were not valid UTF-8 (kept, with U+FFFD for the bad bytes).
    pub invalid_utf8: usize,
    /// Lines longer than [`MAX_LINE`] bytes (kept, cut to that length).
    pub truncated: usize,
}

impl Lines {
    /// One line on stderr when anything was repaired.
    pub fn report(&self, path: &Path) {
        if self.invalid_utf8 + self.truncated > 0 {
            eprintln!(
                "note: {}: {} line(s) with invalid UTF-8 kept with replacement characters, \
                 {} line(s) over {} bytes cut",
                path.display(),
                self.invalid_utf8,
                self.truncated,
                MAX_LINE
            );
        }
    }
}

/// Reads a log into lines: split on `\n`, a trailing `\r` dropped, empty lines skipped (as
/// CrowdSec does), invalid UTF-8 replaced rather than dropping the line, overlong lines cut.
pub fn read_lines(path: &Path) -> anyhow::Result<Lines> {
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(split_lines(&bytes))
}

/// Splits a buffer into lines (see [`read_lines`]).
pub fn split_lines(bytes: &[u8]) -> Lines {
    let mut out = Lines::default();
    for l in bytes.split(|b| *b == b'\n') {
        if let Some(s) = repair(l, &mut out) {
            out.lines.push(s.into_owned());
        }
    }
    out
}

/// One raw line to text: `\r` dropped, empty skipped, invalid UTF-8 replaced, overlong cut;
/// repairs are counted in `stats`.
fn repair<'a>(l: &'a [u8], stats: &mut Lines) -> Option<Cow<'a, str>> {
    let l = l.strip_suffix(b"\r").unwrap_or(l);
    if l.is_empty() {
        return None;
    }
    let mut s = match std::str::from_utf8(l) {
        Ok(s) => Cow::Borrowed(s),
        Err(_) => {
            stats.invalid_utf8 += 1;
            String::from_utf8_lossy(l)
        }
    };
    if s.len() > MAX_LINE {
        stats.truncated += 1;
        let mut cut = MAX_LINE;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        match &mut s {
            Cow::Borrowed(b) => *b = &b[..cut],
            Cow::Owned(o) => o.truncate(cut),
        }
    }
    Some(s)
}

/// Streams a file's lines to `f` with the rules of [`read_lines`], holding one line at a time
/// (lent, not allocated per line).
/// `progress` is called with the bytes read so far every few thousand lines.
pub fn for_each_line(
    path: &Path,
    mut progress: impl FnMut(u64),
    mut f: impl FnMut(&str),
) -> anyhow::Result<Lines> {
    use std::io::BufRead;
    let file = std::fs::File::open(path).with_context(|| format!("reading {}", path.display()))?;
    let mut reader = std::io::BufReader::with_capacity(1 << 20, file);
    let mut buf = Vec::with_capacity(4096);
    let mut stats = Lines::default();
    let mut read: u64 = 0;
    let mut n: u64 = 0;
    loop {
        buf.clear();
        let got = reader
            .read_until(b'\n', &mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if got == 0 {
            break;
        }
        read += got as u64;
        let line = buf.strip_suffix(b"\n").unwrap_or(&buf);
        if let Some(line) = repair(line, &mut stats) {
            f(&line);
            n += 1;
            if n.is_multiple_of(4096) {
                progress(read);
            }
        }
    }
    progress(read);
    Ok(stats)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_split_like_crowdsec() {
        let l = split_lines(b"a\r\n\nb\nc");
        assert_eq!(l.lines, ["a", "b", "c"]);
        assert_eq!((l.invalid_utf8, l.truncated), (0, 0));
    }

    #[test]
    fn invalid_utf8_is_kept_lossily_and_counted() {
        let l = split_lines(b"ok\nbad \xff\xfe byte\n");
        assert_eq!(l.lines.len(), 2);
        assert_eq!(l.lines[1], "bad \u{fffd}\u{fffd} byte");
        assert_eq!(l.invalid_utf8, 1);
    }

    #[test]
    fn overlong_lines_are_cut_on_a_char_boundary_and_counted() {
        let mut big = "é".repeat(MAX_LINE).into_bytes();
        big.extend_from_slice(b"\nnext\n");
        let l = split_lines(&big);
        assert_eq!(l.truncated, 1);
        assert!(l.lines[0].len() <= MAX_LINE && l.lines[0].len() > MAX_LINE - 4);
        assert_eq!(l.lines[1], "next");
    }
}
