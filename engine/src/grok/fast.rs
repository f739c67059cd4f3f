//! The capture fast path: a regex that keeps only the groups grok reads.
//!
//! Every `%{NAME}` reference expands into a capturing group, so an expanded pattern has far
//! more groups than fields (`^%{SYSLOGLINE}` has dozens, 8 of them fields). Each group is two
//! more NFA states and two more slots that the capture engines (one-pass DFA, bounded
//! backtracker, PikeVM) save and restore at every step. Groups do not change which match a
//! leftmost-first engine finds, only what it reports, so the pattern is rebuilt with every
//! other group made non-capturing and the kept ones renumbered, and the result gives exactly
//! the captures of the full regex for the groups it keeps. Fewer groups also let more patterns
//! use the one-pass DFA, which only handles a few.
//!
//! The regex is a [`regex_automata::meta::Regex`] (the engine inside [`regex::Regex`], with the
//! same syntax and size settings): it finds the match with a lazy DFA first and runs a capture
//! engine on the match's span only, and every engine it picks runs in linear time.

use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::util::syntax;
use regex_automata::{Anchored, Input, MatchKind, meta};
use regex_syntax::hir::{Capture, Hir, HirKind, Look, Repetition};

use crate::expr::FieldKey;

/// Slots kept on the stack per match (two per group, the whole match included): 31 fields.
const STACK_SLOTS: usize = 64;

/// Where a field's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Source {
    /// A group of the fast regex (`""` when it did not take part).
    Group(usize),
    /// From the start of a group of the fast regex to the end of the text (a group that
    /// encloses a dropped `(.*)` tail; `""` when it did not take part).
    ToEnd(usize),
    /// From the end of the match to the end of the text (the dropped `(.*)` tail itself).
    Tail,
}

/// A regex with only the groups the fields read, and where each field's value comes from.
#[derive(Debug)]
pub(super) struct Fast {
    re: meta::Regex,
    /// One per field of the grok, in the grok's field order.
    pub(super) sources: Vec<Source>,
    /// Slots a match needs: two per group of `re`, the whole match included.
    slots: usize,
    /// The same captures without a capture engine, where the pattern allows (see
    /// [`super::spans`]).
    pub(super) spans: Option<super::spans::Spans>,
    /// Every match starts at the start of the text (`^...`): a failed anchored search is
    /// the answer, with no unanchored pass after it.
    starts: bool,
    /// A byte every match contains (see [`required_byte`]): a text without it does not
    /// match, found without running the regex (`^%{GREEDYDATA}\?%{GREEDYDATA}$` on paths
    /// without a query).
    needle: Option<u8>,
}

/// Builds the fast regex for `src` (translated, Rust syntax). `fields` are the grok's fields'
/// groups in `src`, in field order; `tail` is `Some((group, enclosing))` when `src` is the
/// prefix of a `(.*)` tail rewrite (see [`super::tail`]): `group` is the tail's group and
/// `enclosing` the groups that close right after it, numbered as in the full regex.
pub(super) fn build(
    src: &str,
    fields: &[usize],
    tail: Option<(usize, &[usize])>,
) -> Result<Fast, String> {
    let hir = syntax::parse_with(src, &syntax::Config::new()).map_err(|e| e.to_string())?;
    // Old group → new group, in group order (new numbers must follow the order groups open).
    let mut kept: Vec<usize> = fields
        .iter()
        .copied()
        .filter(|g| tail.is_none_or(|(t, _)| *g != t))
        .collect();
    kept.sort_unstable();
    kept.dedup();
    let renumber = |old: u32| {
        kept.binary_search(&(old as usize))
            .ok()
            .and_then(|i| u32::try_from(i + 1).ok())
    };
    let hir = strip(&hir, &renumber);
    let re = meta::Builder::new()
        .configure(config())
        .build_from_hir(&hir)
        .map_err(|e| e.to_string())?;
    let spans = super::spans::Spans::build(&hir);
    let group = |g: usize| {
        kept.binary_search(&g)
            .map(|i| i + 1)
            .map_err(|_| format!("group {g} not kept"))
    };
    let sources = fields
        .iter()
        .map(|&g| {
            Ok(match tail {
                Some((t, _)) if g == t => Source::Tail,
                Some((_, enclosing)) if enclosing.contains(&g) => Source::ToEnd(group(g)?),
                _ => Source::Group(group(g)?),
            })
        })
        .collect::<Result<_, String>>()?;
    let slots = 2 * (kept.len() + 1);
    if re.group_info().slot_len() != slots {
        return Err(format!(
            "{} slots instead of {slots}",
            re.group_info().slot_len()
        ));
    }
    // Runs from the start meet a difference sooner than a scan of the whole text would.
    let needle =
        required_byte(&hir).filter(|_| !spans.as_ref().is_some_and(|s| s.runs_from_start()));
    Ok(Fast {
        re,
        sources,
        slots,
        spans,
        starts: hir.properties().look_set_prefix().contains(Look::Start),
        needle,
    })
}

/// A byte that every match of `hir` holds: the rarest (by a rough rank of how often bytes
/// occur in logs) of the literals its top-level concatenation (through capturing groups) has
/// among its items. Case-insensitive parts are classes, not literals, so they never give one.
/// One byte and not the whole literal: `memchr` costs a few instructions on a short text,
/// where a substring search costs hundreds, and the rare bytes are what texts lack.
pub(super) fn required_byte(hir: &Hir) -> Option<u8> {
    fn walk(h: &Hir, best: &mut Option<u8>) {
        match h.kind() {
            HirKind::Literal(l) => {
                for &b in l.0.iter() {
                    if best.is_none_or(|x| rank(b) < rank(x)) {
                        *best = Some(b);
                    }
                }
            }
            HirKind::Capture(c) => walk(&c.sub, best),
            HirKind::Concat(items) => items.iter().for_each(|i| walk(i, best)),
            _ => {}
        }
    }
    let mut best = None;
    walk(hir, &mut best);
    best
}

/// How common a byte is in log lines, roughly (lower is rarer).
fn rank(b: u8) -> u8 {
    match b {
        b' ' => 255,
        b'a'..=b'z' => 200,
        b'0'..=b'9' => 150,
        b'.' | b':' | b'-' | b'/' | b'_' => 130,
        b'A'..=b'Z' => 120,
        0x80.. => 10,
        _ => 50,
    }
}

/// The meta regex settings of a grok's fast regexes: the `regex` crate's, with grok's size
/// limits.
pub(super) fn config() -> meta::Config {
    meta::Config::new()
        .match_kind(MatchKind::LeftmostFirst)
        .utf8_empty(true)
        .nfa_size_limit(Some(super::SIZE_LIMIT))
        .hybrid_cache_capacity(super::DFA_SIZE_LIMIT)
}

/// `hir` with each capturing group renumbered by `renumber`, or made non-capturing where it
/// gives `None`.
pub(super) fn strip(hir: &Hir, renumber: &impl Fn(u32) -> Option<u32>) -> Hir {
    match hir.kind() {
        HirKind::Capture(c) => {
            let sub = strip(&c.sub, renumber);
            match renumber(c.index) {
                Some(index) => Hir::capture(Capture {
                    index,
                    name: None,
                    sub: Box::new(sub),
                }),
                None => sub,
            }
        }
        HirKind::Concat(subs) => Hir::concat(subs.iter().map(|h| strip(h, renumber)).collect()),
        HirKind::Alternation(subs) => {
            Hir::alternation(subs.iter().map(|h| strip(h, renumber)).collect())
        }
        HirKind::Repetition(r) => Hir::repetition(Repetition {
            min: r.min,
            max: r.max,
            greedy: r.greedy,
            sub: Box::new(strip(&r.sub, renumber)),
        }),
        HirKind::Empty | HirKind::Literal(_) | HirKind::Class(_) | HirKind::Look(_) => hir.clone(),
    }
}

impl Fast {
    /// Groups of the fast regex, the whole match included.
    #[cfg(test)]
    pub(super) fn groups(&self) -> usize {
        self.slots / 2
    }

    /// Whether captures come from a split (see [`super::split`]) when the text allows.
    #[cfg(test)]
    pub(super) fn is_split(&self) -> bool {
        self.spans.is_some()
    }

    /// The spans' captures alone (no capture engine): the whole match's and each group's
    /// span, or `None` when there is no match or the spans leave it to the engine.
    #[cfg(test)]
    pub(super) fn spans_only(&self, text: &str) -> Option<Vec<Option<(usize, usize)>>> {
        let mut slots = vec![None; self.slots];
        let m = self.find(text)?;
        self.spans
            .as_ref()?
            .fill(text, m.start(), m.end(), &mut slots)
            .then(|| {
                slots
                    .chunks(2)
                    .map(|c| Some((c[0]?.get(), c[1]?.get())))
                    .collect()
            })
    }

    /// Whether the regex matches `text` (stops at the first match state it sees).
    pub(super) fn is_match(&self, text: &str) -> bool {
        !self.lacks_needle(text) && self.re.is_match(Input::new(text))
    }

    /// Whether `text` lacks a literal every match holds (so cannot match).
    #[inline]
    fn lacks_needle(&self, text: &str) -> bool {
        self.needle
            .is_some_and(|n| memchr::memchr(n, text.as_bytes()).is_none())
    }

    /// The leftmost-first match. A match starting at 0, when there is one, is the leftmost:
    /// an anchored forward pass finds it, without the backward pass that finds where an
    /// unanchored match starts (not even tried when every match starts at 0).
    fn find(&self, text: &str) -> Option<regex_automata::Match> {
        self.re
            .search(&Input::new(text).anchored(Anchored::Yes))
            .or_else(|| {
                (!self.starts)
                    .then(|| self.re.search(&Input::new(text)))
                    .flatten()
            })
    }

    /// Runs on `text`; on a match calls `sink` with each field's value, zipped with `fields`.
    pub(super) fn captures<'t>(
        &self,
        text: &'t str,
        fields: &[(FieldKey, usize)],
        mut sink: impl FnMut(&FieldKey, &'t str),
    ) -> bool {
        if self.lacks_needle(text) {
            return false;
        }
        let mut stack = [None; STACK_SLOTS];
        let mut heap = Vec::new();
        let slots: &mut [Option<NonMaxUsize>] = if self.slots <= STACK_SLOTS {
            &mut stack[..self.slots]
        } else {
            heap.resize(self.slots, None);
            &mut heap[..]
        };
        let input = Input::new(text);
        // Spans that cannot tell (a gate, a segment regex ending early, an atom to backtrack
        // into) cost one more lazy DFA pass in the capture engine below. Atoms that ran from
        // the start and could not tell would not tell with the match's end either.
        let filled = match &self.spans {
            Some(spans) => match spans.fill_from_start(text, slots) {
                Some(done) => done,
                None => match self.find(text) {
                    Some(m) => spans.fill(text, m.start(), m.end(), slots),
                    None => return false,
                },
            },
            None => false,
        };
        if !filled && self.re.search_slots(&input, slots).is_none() {
            return false;
        }
        let at = |i: usize| slots.get(i).copied().flatten().map(NonMaxUsize::get);
        let span = |g: usize| at(2 * g).zip(at(2 * g + 1));
        let (end, len) = (at(1).unwrap_or(0), text.len());
        for ((field, _), source) in fields.iter().zip(&self.sources) {
            let (s, e) = match *source {
                Source::Group(g) => span(g).unwrap_or((0, 0)),
                Source::ToEnd(g) => span(g).map_or((0, 0), |(s, _)| (s, len)),
                Source::Tail => (end, len),
            };
            sink(field, text.get(s..e).unwrap_or(""));
        }
        true
    }
}
