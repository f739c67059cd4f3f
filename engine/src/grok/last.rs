//! Spans of `^.*X` followed by a rest that can always match empty: up to the last `X`.
//!
//! CrowdSec's `http-logs` splits every request path with
//! `%{DIR:file_dir}(%{FILE:file_frag}%{EXT:file_ext})?`, where `DIR` is `^.*/`. No boundary
//! of it is forced (`.` takes `/` too), so it went to the capture engine on every HTTP line.
//! But its shape decides the cut: the greedy `.*` tries the longest prefix first, and the rest
//! (an optional group) matches at any position, so the first path the regex tries is the one
//! it takes: `^.*X` ends at the last `X` before the first newline (`.` stops there). The rest
//! is then matched by a small regex of its own, anchored at that cut.

use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::{Anchored, Input, meta};
use regex_syntax::hir::{Class, Hir, HirKind, Look};

use super::ext::{self, Ext};
use super::split::own_regex;

/// The spans of `^(.*X)REST` (the first group optional) where `REST` always matches.
#[derive(Debug)]
pub(super) struct Last {
    /// The byte `X`.
    byte: u8,
    /// The group holding `^.*X`, if it is one.
    group: Option<usize>,
    /// `REST`, its groups numbered 1.. in order; `rest_groups` are theirs in the fast regex.
    rest: meta::Regex,
    rest_groups: Vec<usize>,
    /// `REST` without its regex, when it is a name and an extension (see [`super::ext`]).
    ext: Option<Ext>,
}

/// The shape above in `hir` (the fast regex), if it has it.
pub(super) fn build(hir: &Hir) -> Option<Last> {
    let HirKind::Concat(items) = hir.kind() else {
        return None;
    };
    let (group, byte, rest) = match items.first().map(Hir::kind) {
        Some(HirKind::Capture(c)) => {
            let HirKind::Concat(head) = c.sub.kind() else {
                return None;
            };
            (Some(c.index as usize), head_byte(head)?, &items[1..])
        }
        _ if items.len() >= 3 => (None, head_byte(&items[..3])?, &items[3..]),
        _ => return None,
    };
    if !rest.iter().all(always_matches) {
        return None;
    }
    let ext = ext::build(rest);
    let (rest, rest_groups) = own_regex(rest)?;
    Some(Last {
        byte,
        group,
        rest,
        ext: ext.filter(|e| e.groups() == rest_groups.len()),
        rest_groups,
    })
}

/// `X` when `head` is exactly `^`, a greedy `.*` (any character but a newline) and the
/// single ASCII byte `X` (not a newline).
fn head_byte(head: &[Hir]) -> Option<u8> {
    let [start, any, lit] = head else {
        return None;
    };
    if *start.kind() != HirKind::Look(Look::Start) {
        return None;
    }
    let HirKind::Repetition(r) = any.kind() else {
        return None;
    };
    if !(r.min == 0 && r.max.is_none() && r.greedy && is_dot(&r.sub)) {
        return None;
    }
    match lit.kind() {
        HirKind::Literal(l) if l.0.len() == 1 && l.0[0].is_ascii() && l.0[0] != b'\n' => {
            Some(l.0[0])
        }
        _ => None,
    }
}

/// Whether `h` is `.`: every character (or byte) but `\n`.
fn is_dot(h: &Hir) -> bool {
    match h.kind() {
        HirKind::Class(Class::Unicode(c)) => {
            let r: Vec<(char, char)> = c.ranges().iter().map(|r| (r.start(), r.end())).collect();
            r == [('\0', '\t'), ('\u{b}', char::MAX)]
        }
        HirKind::Class(Class::Bytes(c)) => {
            let r: Vec<(u8, u8)> = c.ranges().iter().map(|r| (r.start(), r.end())).collect();
            r == [(0, b'\t'), (0x0b, 0xff)]
        }
        _ => false,
    }
}

/// Whether `h` matches (the empty string, at least) at every position of every text.
fn always_matches(h: &Hir) -> bool {
    match h.kind() {
        HirKind::Empty => true,
        HirKind::Repetition(r) => r.min == 0 || always_matches(&r.sub),
        HirKind::Capture(c) => always_matches(&c.sub),
        HirKind::Concat(subs) => subs.iter().all(always_matches),
        HirKind::Alternation(subs) => subs.iter().any(always_matches),
        HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => false,
    }
}

impl Last {
    /// Fills `slots` (two per group of the fast regex) for `text`; false when there is no
    /// match (no `X` before the first newline) or, defensively, when the rest does not match
    /// where it must: the capture engine answers then.
    pub(super) fn fill_from_start(&self, text: &str, slots: &mut [Option<NonMaxUsize>]) -> bool {
        let b = text.as_bytes();
        let line = memchr::memchr(b'\n', b).unwrap_or(b.len());
        let Some(x) = memchr::memrchr(self.byte, &b[..line]) else {
            return false;
        };
        let cut = x + 1;
        let mut rest = [None; 2 * REST_SLOTS];
        let n = 2 * (self.rest_groups.len() + 1);
        if n > rest.len() {
            return false;
        }
        match &self.ext {
            Some(e) => e.fill(text, cut, &mut rest[..n]),
            None => {
                let input = Input::new(text).range(cut..).anchored(Anchored::Yes);
                if self.rest.search_slots(&input, &mut rest[..n]).is_none() {
                    return false;
                }
            }
        }
        slots.iter_mut().for_each(|s| *s = None);
        let set = |slots: &mut [Option<NonMaxUsize>], g: usize, s: Option<NonMaxUsize>, e| {
            if let Some(pair) = slots.get_mut(2 * g..2 * g + 2) {
                pair[0] = s;
                pair[1] = e;
            }
        };
        set(slots, 0, NonMaxUsize::new(0), rest[1]);
        if let Some(g) = self.group {
            set(slots, g, NonMaxUsize::new(0), NonMaxUsize::new(cut));
        }
        for (i, g) in self.rest_groups.iter().enumerate() {
            set(slots, *g, rest[2 * (i + 1)], rest[2 * (i + 1) + 1]);
        }
        true
    }

    /// [`Self::fill_from_start`] for the match `start..end` the lazy DFA found.
    pub(super) fn fill(
        &self,
        text: &str,
        start: usize,
        end: usize,
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        start == 0
            && self.fill_from_start(text, slots)
            && slots[1].map(NonMaxUsize::get) == Some(end)
    }
}

impl Last {
    /// Whether the rest is found without its regex (see [`super::ext`]).
    #[cfg(test)]
    pub(super) fn has_ext(&self) -> bool {
        self.ext.is_some()
    }
}

/// Groups the rest may hold (its slots live on the stack).
const REST_SLOTS: usize = 16;
