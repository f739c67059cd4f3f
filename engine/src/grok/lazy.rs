//! Cutting after a lazy field: where the rest of the pattern first matches.
//!
//! `%{DATA:request} HTTP/%{NUMBER:http_version}"...`: `DATA` (`.*?`) can hold the space that
//! starts the rest, so no boundary after it is forced (see [`super::split`]). But a lazy
//! repetition takes the shortest length after which the rest of the pattern matches: on the
//! leftmost-first path, a segment of fixed-length text and then such a field ends at the
//! first position `q` (the field's bytes all in its class up to there) where the rest matches
//! anchored at `q`. The rest's first bytes pick the candidates; an anchored lazy DFA pass
//! (captures stripped) tests each one.

use regex_automata::{Anchored, Input, meta};
use regex_syntax::hir::{Class, Hir, HirKind};

use super::fast::{config, strip};
use super::split::Bytes;

/// A lazy field's end: the first candidate where `rest` matches.
#[derive(Debug)]
pub(super) struct Lazy {
    /// Bytes the field can hold (exact: its class's non-ASCII part is empty or whole).
    holds: Bytes,
    /// Bytes the rest can start with (ASCII only, so each candidate is a char boundary).
    starts: Bytes,
    /// The rest of the pattern, groups stripped.
    rest: meta::Regex,
}

/// The lazy field `h` (`(x*?)` or `x*?`, `x` a class) followed by `rest`, when the cut
/// after it can be found this way: `rest` cannot be empty and starts with ASCII bytes.
pub(super) fn build(h: &Hir, rest: &[Hir], rest_first: Bytes) -> Option<Lazy> {
    let inner = match h.kind() {
        HirKind::Capture(c) => &c.sub,
        _ => h,
    };
    let HirKind::Repetition(r) = inner.kind() else {
        return None;
    };
    let HirKind::Class(class) = r.sub.kind() else {
        return None;
    };
    if r.greedy || r.min != 0 || r.max.is_some() {
        return None;
    }
    let rest = Hir::concat(rest.to_vec());
    if rest.properties().minimum_len().is_none_or(|m| m == 0) || !rest_first.is_ascii() {
        return None;
    }
    let re = meta::Builder::new()
        .configure(config())
        .build_from_hir(&strip(&rest, &|_| None))
        .ok()?;
    Some(Lazy {
        holds: exact_bytes(class)?,
        starts: rest_first,
        rest: re,
    })
}

/// The bytes of `class`'s matches, when that is exact: no non-ASCII character, or all of
/// them (then every byte from 0x80, which only ever occur inside such characters).
pub(super) fn exact_bytes(class: &Class) -> Option<Bytes> {
    let mut out = Bytes::default();
    match class {
        Class::Unicode(u) => {
            let mut above = 0u32;
            for r in u.ranges() {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                if lo <= 0x7F {
                    out.add_range(lo as u8, hi.min(0x7F) as u8);
                }
                if hi >= 0x80 {
                    // Code points from `lo` up, less the surrogates (no `char` is one).
                    let lo = lo.max(0x80);
                    let surrogates = hi.min(0xDFFF).saturating_sub(lo.max(0xD800)) + 1;
                    let surrogates = if hi < 0xD800 || lo > 0xDFFF {
                        0
                    } else {
                        surrogates
                    };
                    above += hi - lo + 1 - surrogates;
                }
            }
            // Every scalar value above ASCII: 0x80..=0x10FFFF less the surrogates.
            match above {
                0 => {}
                n if n == 0x10FFFF - 0x7F - 0x800 => out.add_range(0x80, 0xFF),
                _ => return None,
            }
        }
        Class::Bytes(b) => b
            .ranges()
            .iter()
            .for_each(|r| out.add_range(r.start(), r.end())),
    }
    Some(out)
}

impl Lazy {
    /// Where a field starting at `from` ends on the leftmost-first path: the first `q` with
    /// `text[from..q]` in the field's class where the rest matches anchored (to any end); or
    /// `None` when there is none before `end` (the engine answers).
    pub(super) fn cut(&self, text: &str, from: usize, end: usize) -> Option<usize> {
        let field = text.as_bytes().get(from..end)?;
        for (q, &b) in (from..).zip(field) {
            if self.starts.has(b)
                && self
                    .rest
                    .is_match(Input::new(text).range(q..).anchored(Anchored::Yes))
            {
                return Some(q);
            }
            if !self.holds.has(b) {
                return None;
            }
        }
        None
    }
}
