//! What all sources share: cutting bytes into lines (partial lines held, overlong lines cut,
//! invalid UTF-8 replaced) and sending them on the channel with their labels and metrics.

use std::collections::BTreeMap;
use std::sync::Arc;

use metrics::counter;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::SourceConfig;

/// Sends a source's lines: one per source, cloned into its tasks.
#[derive(Clone)]
pub(crate) struct Emitter {
    module: &'static str,
    labels: Arc<BTreeMap<String, String>>,
    tx: mpsc::Sender<wire::SourcedLine>,
}

impl Emitter {
    pub(crate) fn new(src: &SourceConfig, tx: mpsc::Sender<wire::SourcedLine>) -> Self {
        Emitter {
            module: src.module(),
            labels: Arc::new(src.labels.clone()),
            tx,
        }
    }

    /// Sends one line, waiting while the channel is full. `false` when the receiver is gone or
    /// `token` was cancelled: the source should stop.
    pub(crate) async fn send(
        &self,
        raw: String,
        src: &str,
        checkpoint: Option<wire::Checkpoint>,
        token: &CancellationToken,
    ) -> bool {
        let line = wire::RawLine {
            raw,
            src: src.to_string(),
            module: self.module.to_string(),
            labels: (*self.labels).clone(),
            time: Some(now_rfc3339()),
        };
        let ok = tokio::select! {
            biased;
            r = self.tx.send(wire::SourcedLine { line, checkpoint }) => r.is_ok(),
            () = token.cancelled() => false,
        };
        if ok {
            counter!("hivewall_lines_read_total", "source" => self.module, "type" => self.type_label())
                .increment(1);
        }
        ok
    }

    /// The `type` label, for metrics.
    pub(crate) fn type_label(&self) -> String {
        self.labels.get("type").cloned().unwrap_or_default()
    }

    /// Counts repairs made by a [`Splitter`] (or by a source itself).
    pub(crate) fn count_repairs(&self, truncated: u64, invalid_utf8: u64) {
        if truncated > 0 {
            counter!("hivewall_lines_truncated_total", "source" => self.module)
                .increment(truncated);
        }
        if invalid_utf8 > 0 {
            counter!("hivewall_lines_invalid_utf8_total", "source" => self.module)
                .increment(invalid_utf8);
        }
    }
}

/// The current time as RFC 3339 (UTC, microseconds).
pub(crate) fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// A complete line and the offset just after its newline.
#[derive(Debug, PartialEq)]
pub(crate) struct Line {
    pub text: String,
    pub end: u64,
}

/// Cuts a byte stream into lines. A line without its newline yet is held; a line longer than
/// the cap keeps its first `max` bytes (cut on a character boundary) and the rest is dropped
/// up to its newline. `\r` before the newline is removed and empty lines are skipped, as
/// CrowdSec skips them.
#[derive(Debug)]
pub(crate) struct Splitter {
    buf: Vec<u8>,
    max: usize,
    over: bool,
    /// Lines cut so far (not yet reported).
    pub truncated: u64,
    /// Lines with invalid UTF-8 so far (not yet reported).
    pub invalid_utf8: u64,
}

impl Splitter {
    pub(crate) fn new(max: usize) -> Self {
        Splitter {
            buf: Vec::new(),
            max: max.max(1),
            over: false,
            truncated: 0,
            invalid_utf8: 0,
        }
    }

    /// Feeds `chunk`, which starts at offset `start` of the stream; returns the lines it
    /// completed.
    pub(crate) fn feed(&mut self, chunk: &[u8], start: u64, out: &mut Vec<Line>) {
        let mut rest = chunk;
        let mut pos = start;
        while let Some(nl) = rest.iter().position(|b| *b == b'\n') {
            self.push(&rest[..nl]);
            pos += nl as u64 + 1;
            if let Some(text) = self.take() {
                out.push(Line { text, end: pos });
            }
            rest = &rest[nl + 1..];
        }
        self.push(rest);
    }

    /// Emits the held partial line, if any (end of a file that will not grow any more).
    pub(crate) fn finish(&mut self, end: u64) -> Option<Line> {
        self.take().map(|text| Line { text, end })
    }

    /// Drops the held partial line (the file was truncated under it).
    pub(crate) fn reset(&mut self) {
        self.buf.clear();
        self.over = false;
    }

    /// Whether a partial line is held.
    pub(crate) fn has_partial(&self) -> bool {
        !self.buf.is_empty() || self.over
    }

    fn push(&mut self, bytes: &[u8]) {
        let room = self.max.saturating_sub(self.buf.len());
        if bytes.len() > room {
            self.over = true;
        }
        self.buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    fn take(&mut self) -> Option<String> {
        let mut bytes = std::mem::take(&mut self.buf);
        let over = std::mem::replace(&mut self.over, false);
        if bytes.last() == Some(&b'\r') && !over {
            bytes.pop();
        }
        if bytes.is_empty() {
            return None;
        }
        if over {
            self.truncated += 1;
            // Do not count a character cut in half by the cap as invalid UTF-8.
            if let Err(e) = std::str::from_utf8(&bytes)
                && e.error_len().is_none()
            {
                bytes.truncate(e.valid_up_to());
            }
        }
        Some(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => {
                self.invalid_utf8 += 1;
                String::from_utf8_lossy(e.as_bytes()).into_owned()
            }
        })
    }
}

/// One line of a message-oriented source (syslog, http): `\r`/`\n` trimmed, cut at `max`,
/// invalid UTF-8 replaced; repairs counted on `out`.
pub(crate) fn repair(bytes: &[u8], max: usize, out: &Emitter) -> String {
    let mut s = Splitter::new(max);
    s.push(bytes.strip_suffix(b"\n").unwrap_or(bytes));
    let text = s.take().unwrap_or_default();
    out.count_repairs(s.truncated, s.invalid_utf8);
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(max: usize, chunks: &[&[u8]]) -> (Vec<Line>, Splitter) {
        let mut s = Splitter::new(max);
        let mut out = Vec::new();
        let mut off = 0;
        for c in chunks {
            s.feed(c, off, &mut out);
            off += c.len() as u64;
        }
        (out, s)
    }

    #[test]
    fn partial_lines_are_held_until_their_newline() {
        let (lines, s) = split(100, &[b"ab", b"c\nde", b"f\r\n\n", b"gh"]);
        assert_eq!(
            lines,
            vec![
                Line {
                    text: "abc".into(),
                    end: 4
                },
                Line {
                    text: "def".into(),
                    end: 9
                }
            ]
        );
        assert!(s.has_partial());
    }

    #[test]
    fn long_lines_are_cut_and_counted() {
        let (lines, s) = split(4, &[b"abcdefgh", b"ij\nxy\n"]);
        assert_eq!(
            lines[0],
            Line {
                text: "abcd".into(),
                end: 11
            }
        );
        assert_eq!(
            lines[1],
            Line {
                text: "xy".into(),
                end: 14
            }
        );
        assert_eq!(s.truncated, 1);
        // A multi-byte character cut by the cap is dropped whole, not counted as invalid.
        let (lines, s) = split(4, &["abcé!\n".as_bytes()]);
        assert_eq!(lines[0].text, "abc");
        assert_eq!((s.truncated, s.invalid_utf8), (1, 0));
    }

    #[test]
    fn invalid_utf8_is_replaced() {
        let (lines, s) = split(100, &[b"a\xffb\n"]);
        assert_eq!(lines[0].text, "a\u{fffd}b");
        assert_eq!(s.invalid_utf8, 1);
    }
}
