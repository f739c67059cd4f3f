//! Captures without a capture engine where a pattern's fields are cut by delimiters.
//!
//! Most grok patterns are fields separated by literal text: `Failed %{WORD:auth} for
//! %{USERNAME:user} from %{IP:ip} port %{NUMBER:port}`. The fast regex's top-level items are
//! split into segments at *forced* boundaries: a boundary after some items is forced when the
//! segment they close cannot contain any byte that can start the rest. On any matching path
//! the segment then ends exactly at the first such byte (or where the match ends), so every
//! path, the leftmost-first one included, cuts there: once the lazy DFA has found the match,
//! each boundary is a byte scan ([`Segment::cut`] gives the proof). A segment that is one
//! field between text of fixed length (optional when it cannot be empty) gets the field's
//! span from the cuts; any other segment with fields runs a regex of its own items on its own
//! span, and the whole regex's capture engine answers when that regex does not end exactly at
//! the cut. A pattern is split only when such segments are a small part of it.
//!
//! Bytes that can only occur after a "gate" byte (an IPv6 zone `%.+`) do not prevent a cut:
//! a gate met before the cut sends the text to the capture engine instead.

use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::{Anchored, Input, meta};
use regex_syntax::hir::{Class, Hir, HirKind};

use super::fast::{config, strip};
use super::lazy::{self, Lazy};

/// A set of bytes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Bytes([u64; 4]);

impl Bytes {
    pub(super) fn add(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    pub(super) fn add_range(&mut self, lo: u8, hi: u8) {
        for b in lo..=hi {
            self.add(b);
        }
    }

    pub(super) fn has(&self, b: u8) -> bool {
        self.0[usize::from(b >> 6)] & (1 << (b & 63)) != 0
    }

    fn or(self, o: Bytes) -> Bytes {
        Bytes(std::array::from_fn(|i| self.0[i] | o.0[i]))
    }

    fn meets(&self, o: &Bytes) -> bool {
        self.0.iter().zip(&o.0).any(|(a, b)| a & b != 0)
    }

    fn len(&self) -> u32 {
        self.0.iter().map(|w| w.count_ones()).sum()
    }

    /// Whether every byte of the set is ASCII.
    pub(super) fn is_ascii(&self) -> bool {
        self.0[2] == 0 && self.0[3] == 0
    }

    /// The byte, when the set has exactly one.
    fn single(&self) -> Option<u8> {
        (self.len() == 1).then(|| (0..=255u8).find(|b| self.has(*b)))?
    }
}

/// Every byte a match of `h` can contain (a superset: a non-ASCII character counts as every
/// byte from 0x80).
fn all_bytes(h: &Hir) -> Bytes {
    let mut out = Bytes::default();
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => {}
        HirKind::Literal(l) => l.0.iter().for_each(|b| out.add(*b)),
        HirKind::Class(c) => out = class_bytes(c),
        HirKind::Repetition(r) if r.max == Some(0) => {}
        HirKind::Repetition(r) => out = all_bytes(&r.sub),
        HirKind::Capture(c) => out = all_bytes(&c.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            for s in subs {
                out = out.or(all_bytes(s));
            }
        }
    }
    out
}

fn class_bytes(c: &Class) -> Bytes {
    let mut out = Bytes::default();
    match c {
        Class::Unicode(u) => {
            for r in u.ranges() {
                let (lo, hi) = (u32::from(r.start()), u32::from(r.end()));
                if lo <= 0x7F {
                    out.add_range(lo as u8, hi.min(0x7F) as u8);
                }
                if hi >= 0x80 {
                    out.add_range(0x80, 0xFF);
                }
            }
        }
        Class::Bytes(b) => b
            .ranges()
            .iter()
            .for_each(|r| out.add_range(r.start(), r.end())),
    }
    out
}

/// The bytes a non-empty match of `h` can start with (a superset), and whether `h` can match
/// the empty string.
pub(super) fn first(h: &Hir) -> (Bytes, bool) {
    match h.kind() {
        HirKind::Empty | HirKind::Look(_) => (Bytes::default(), true),
        HirKind::Literal(l) => {
            let mut b = Bytes::default();
            l.0.first().iter().for_each(|x| b.add(**x));
            (b, l.0.is_empty())
        }
        HirKind::Class(c) => (class_bytes(c), false),
        HirKind::Repetition(r) if r.max == Some(0) => (Bytes::default(), true),
        HirKind::Repetition(r) => {
            let (b, n) = first(&r.sub);
            (b, n || r.min == 0)
        }
        HirKind::Capture(c) => first(&c.sub),
        HirKind::Concat(subs) => first_of(subs),
        HirKind::Alternation(subs) => subs.iter().fold((Bytes::default(), false), |acc, s| {
            let (b, n) = first(s);
            (acc.0.or(b), acc.1 || n)
        }),
    }
}

fn first_of(items: &[Hir]) -> (Bytes, bool) {
    let mut out = Bytes::default();
    for s in items {
        let (b, n) = first(s);
        out = out.or(b);
        if !n {
            return (out, false);
        }
    }
    (out, true)
}

/// `(before, gates)`: in any match of `h`, the bytes before the first byte of `gates` are all
/// in `before`. A literal followed by a part that can hold almost any byte (`%.+`) becomes a
/// gate; everything else counts in `before`.
fn gated(h: &Hir) -> (Bytes, Bytes) {
    match h.kind() {
        HirKind::Repetition(r) if r.max != Some(0) => gated(&r.sub),
        HirKind::Capture(c) => gated(&c.sub),
        HirKind::Concat(subs) => gated_of(subs),
        HirKind::Alternation(subs) => subs
            .iter()
            .map(gated)
            .fold(Default::default(), |a: (Bytes, Bytes), b| {
                (a.0.or(b.0), a.1.or(b.1))
            }),
        _ => (all_bytes(h), Bytes::default()),
    }
}

/// Bytes a part must be able to hold for the literal before it to be a gate.
const WIDE: u32 = 200;

fn gated_of(items: &[Hir]) -> (Bytes, Bytes) {
    let (mut before, mut gates) = (Bytes::default(), Bytes::default());
    for (i, s) in items.iter().enumerate() {
        if let HirKind::Literal(l) = s.kind()
            && let Some(&c) = l.0.first()
            && items[i + 1..]
                .iter()
                .fold(Bytes::default(), |a, x| a.or(all_bytes(x)))
                .len()
                >= WIDE
        {
            gates.add(c);
            return (before, gates);
        }
        let (b, g) = gated(s);
        before = before.or(b);
        gates = gates.or(g);
    }
    (before, gates)
}

fn has_capture(h: &Hir) -> bool {
    h.properties().explicit_captures_len() > 0
}

/// The length of every match of `h`, when it has one.
fn fixed_len(h: &Hir) -> Option<usize> {
    let p = h.properties();
    p.minimum_len().filter(|m| Some(*m) == p.maximum_len())
}

/// How a segment's fields get their spans.
#[derive(Debug)]
enum Fields {
    /// No field.
    None,
    /// One field, the whole segment but `front` and `back` bytes of fixed-length text; when
    /// `optional` (`(x)?` with `x` never empty), absent when that leaves nothing.
    Whole {
        group: usize,
        front: usize,
        back: usize,
        optional: bool,
    },
    /// A regex of the segment's items (its groups numbered 1.. in order), whose groups are
    /// `groups` of the fast regex.
    Engine { re: meta::Regex, groups: Vec<usize> },
}

/// Top-level items of the fast regex between two boundaries.
#[derive(Debug)]
struct Segment {
    /// Fixed-length items it starts with: the scan for its end starts after them.
    skip: usize,
    /// Where it ends.
    end: End,
    fields: Fields,
    /// [`size`] of its items when it needs its own regex, else 0.
    engine_size: usize,
}

/// Where a segment ends.
#[derive(Debug)]
enum End {
    /// Where the match ends.
    Match,
    /// At a byte that can start the rest.
    Cut(Cut),
    /// Where the rest first matches, after a lazy field.
    Lazy(Lazy),
}

/// A forced boundary: the first byte of `ends` at or after the segment's skipped start,
/// unless a byte of `gates` comes first (then the text takes the capture engine).
#[derive(Debug)]
struct Cut {
    ends: Bytes,
    gates: Bytes,
    /// `ends` and `gates`: what the scan looks for.
    any: Bytes,
    /// The byte, when `any` has one (a `memchr`).
    single: Option<u8>,
}

/// A fast regex cut into segments.
#[derive(Debug)]
pub(super) struct Split {
    segments: Vec<Segment>,
}

/// Builds the split of `hir` (the fast regex, kept groups numbered 1..), when it has at least
/// one forced boundary.
pub(super) fn build(hir: &Hir) -> Option<Split> {
    if one_pass(hir) {
        return None;
    }
    let items: Vec<Hir> = match hir.kind() {
        HirKind::Concat(subs) => subs.clone(),
        _ => vec![hir.clone()],
    };
    let n = items.len();
    let mut segments = Vec::new();
    let mut lo = 0;
    for i in 0..n {
        let (rest_first, _) = first_of(&items[i + 1..]);
        let last = i + 1 == n;
        let skip = items[lo..=i]
            .iter()
            .take_while(|h| !has_capture(h) && fixed_len(h).is_some())
            .count();
        let (before, gates) = gated_of(&items[lo + skip..=i]);
        let end = if last {
            End::Match
        } else if !before.meets(&rest_first) && !gates.meets(&rest_first) {
            let any = rest_first.or(gates);
            End::Cut(Cut {
                ends: rest_first,
                gates,
                any,
                single: any.single(),
            })
        } else if lo + skip == i
            && let Some(lazy) = lazy::build(&items[i], &items[i + 1..], rest_first)
        {
            End::Lazy(lazy)
        } else {
            continue;
        };
        let fields = fields(&items[lo..=i])?;
        let skip = items[lo..lo + skip].iter().filter_map(fixed_len).sum();
        let engine_size = match fields {
            Fields::Engine { .. } => items[lo..=i].iter().map(size).sum(),
            _ => 0,
        };
        segments.push(Segment {
            skip,
            end,
            fields,
            engine_size,
        });
        lo = i + 1;
    }
    // Worth it when the segments that need their own regex are a small part of the pattern:
    // such a regex runs after the lazy DFA has found the match (measured: slower on nginx
    // access lines, whose address, user and date share one segment; faster on sshd lines
    // whose only such segment is an optional `port N`).
    let whole = segments
        .iter()
        .any(|s| matches!(s.fields, Fields::Whole { .. }));
    let engines: usize = segments.iter().map(|s| s.engine_size).sum();
    (whole && engines * 4 <= size(hir)).then_some(Split { segments })
}

/// A measure of the automaton `h` compiles to: its nodes, a class counting its ranges.
pub(super) fn size(h: &Hir) -> usize {
    1 + match h.kind() {
        HirKind::Empty | HirKind::Look(_) | HirKind::Literal(_) => 0,
        HirKind::Class(Class::Unicode(u)) => u.ranges().len(),
        HirKind::Class(Class::Bytes(b)) => b.ranges().len(),
        HirKind::Repetition(r) => size(&r.sub) * r.max.map_or(1, |m| m.clamp(1, 4) as usize),
        HirKind::Capture(c) => size(&c.sub),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => subs.iter().map(size).sum(),
    }
}

/// How the fields of `seg` get their spans.
fn fields(seg: &[Hir]) -> Option<Fields> {
    let with: Vec<usize> = (0..seg.len()).filter(|&i| has_capture(&seg[i])).collect();
    let [one] = with.as_slice() else {
        return if with.is_empty() {
            Some(Fields::None)
        } else {
            engine(seg)
        };
    };
    let fixed = |r: &[Hir]| r.iter().map(fixed_len).sum::<Option<usize>>();
    // `(x)` or `(x)?` / `(x)??` with `x` never empty: the length of the rest says whether
    // the group took part.
    let (capture, optional) = match seg[*one].kind() {
        HirKind::Capture(c) => (c, false),
        HirKind::Repetition(r) if r.min == 0 && r.max == Some(1) => match r.sub.kind() {
            HirKind::Capture(c) if c.sub.properties().minimum_len().is_some_and(|m| m > 0) => {
                (c, true)
            }
            _ => return engine(seg),
        },
        _ => return engine(seg),
    };
    match (fixed(&seg[..*one]), fixed(&seg[one + 1..])) {
        (Some(front), Some(back)) if !has_capture(&capture.sub) => Some(Fields::Whole {
            group: capture.index as usize,
            front,
            back,
            optional,
        }),
        _ => engine(seg),
    }
}

fn engine(seg: &[Hir]) -> Option<Fields> {
    let (re, groups) = own_regex(seg)?;
    Some(Fields::Engine { re, groups })
}

/// A regex of `items` alone, its groups numbered 1.. in order, and those groups' indexes in
/// the fast regex.
pub(super) fn own_regex(items: &[Hir]) -> Option<(meta::Regex, Vec<usize>)> {
    let mut groups = Vec::new();
    items.iter().for_each(|h| captures_in(h, &mut groups));
    let renumber = |g: u32| {
        groups
            .iter()
            .position(|x| *x == g)
            .and_then(|i| u32::try_from(i + 1).ok())
    };
    let hir = Hir::concat(items.iter().map(|h| strip(h, &renumber)).collect());
    let re = meta::Builder::new()
        .configure(config())
        .build_from_hir(&hir)
        .ok()?;
    (re.group_info().slot_len() == 2 * (groups.len() + 1))
        .then(|| (re, groups.into_iter().map(|g| g as usize).collect()))
}

/// Capture indexes in `h`, in order.
fn captures_in(h: &Hir, out: &mut Vec<u32>) {
    match h.kind() {
        HirKind::Capture(c) => {
            out.push(c.index);
            captures_in(&c.sub, out);
        }
        HirKind::Repetition(r) => captures_in(&r.sub, out),
        HirKind::Concat(subs) | HirKind::Alternation(subs) => {
            subs.iter().for_each(|s| captures_in(s, out))
        }
        _ => {}
    }
}

/// Whether the regex's own captures are cheap already: anchored at the start and one-pass,
/// the meta regex extracts them with its one-pass DFA in a single scan, no lazy DFA first.
pub(super) fn one_pass(hir: &Hir) -> bool {
    use regex_automata::dfa::onepass;
    use regex_automata::nfa::thompson;
    if !hir
        .properties()
        .look_set_prefix()
        .contains(regex_syntax::hir::Look::Start)
    {
        return false;
    }
    thompson::Compiler::new()
        .configure(thompson::Config::new().nfa_size_limit(Some(super::SIZE_LIMIT)))
        .build_from_hir(hir)
        .is_ok_and(|nfa| onepass::Builder::new().build_from_nfa(nfa).is_ok())
}

/// The first position in `text[from..to]` holding a byte the cut looks for.
fn scan(text: &[u8], from: usize, to: usize, cut: &Cut) -> Option<usize> {
    let hay = text.get(from..to)?;
    match cut.single {
        Some(b) => memchr::memchr(b, hay),
        None => hay.iter().position(|b| cut.any.has(*b)),
    }
    .map(|i| from + i)
}

impl Split {
    /// Fills `slots` (two per group of the fast regex) for the match `start..end` of `text`;
    /// false when a segment cannot tell (the capture engine must run).
    pub(super) fn fill(
        &self,
        text: &str,
        start: usize,
        end: usize,
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        slots.iter_mut().for_each(|s| *s = None);
        let mut set = |g: usize, s: usize, e: usize| {
            if 2 * g + 1 < slots.len() {
                slots[2 * g] = NonMaxUsize::new(s);
                slots[2 * g + 1] = NonMaxUsize::new(e);
            }
        };
        set(0, start, end);
        let mut a = start;
        for seg in &self.segments {
            let Some(b) = seg.cut(text, a, end) else {
                return false;
            };
            match &seg.fields {
                Fields::None => {}
                Fields::Whole {
                    group,
                    front,
                    back,
                    optional,
                } => {
                    let (s, e) = (a + front, b.saturating_sub(*back));
                    if s > e {
                        return false;
                    }
                    if s < e || !optional {
                        set(*group, s, e);
                    }
                }
                // The segment's highest-priority path, if it ends at the cut, is the one the
                // whole regex takes (every combination of segment paths is a match); if it
                // ends before, the capture engine answers.
                Fields::Engine { re, groups } => {
                    let mut local = [None; 2 * 16];
                    let n = 2 * (groups.len() + 1);
                    if n > local.len() {
                        return false;
                    }
                    let input = Input::new(text).span(a..b).anchored(Anchored::Yes);
                    if re.search_slots(&input, &mut local[..n]).is_none()
                        || local[1].map(NonMaxUsize::get) != Some(b)
                    {
                        return false;
                    }
                    for (i, g) in groups.iter().enumerate() {
                        if let (Some(s), Some(e)) = (local[2 * i + 2], local[2 * i + 3]) {
                            set(*g, s.get(), e.get());
                        }
                    }
                }
            }
            a = b;
        }
        true
    }
}

impl Segment {
    /// Where the segment starting at `a` ends, in a match ending at `end`.
    ///
    /// Every match of the segment's items after its fixed-length start, up to its first gate
    /// byte, holds no byte that can start the rest. So when the first byte of `ends` or
    /// `gates` after that start is a byte of `ends` at `q` (not a gate), the segment cannot
    /// reach past `q`, and the rest, which starts where the segment ends, either starts with a
    /// byte of `ends` (so at `q` or later) or is empty (at `end`): the segment ends at
    /// `min(q, end)`, on every matching path. With no such byte before `end`, it ends at
    /// `end`. A gate first: `None`.
    fn cut(&self, text: &str, a: usize, end: usize) -> Option<usize> {
        let from = a + self.skip;
        if from > end {
            return None;
        }
        let cut = match &self.end {
            End::Match => return Some(end),
            End::Lazy(lazy) => return lazy.cut(text, from, end),
            End::Cut(cut) => cut,
        };
        let text = text.as_bytes();
        match scan(text, from, end, cut) {
            Some(q) if cut.gates.has(text[q]) => None,
            Some(q) => {
                debug_assert!(cut.ends.has(text[q]));
                Some(q)
            }
            None => Some(end),
        }
    }
}
