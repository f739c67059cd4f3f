//! Captures by backtracking over atoms instead of NFA states.
//!
//! A pattern that does not split (see [`super::split`]), `^%{SYSLOGLINE}` for one (its
//! timestamp, host and program may all hold a space), still has few groups, and between them
//! large parts without any (`%{IPORHOST}` expands to hundreds of NFA states). The bounded
//! backtracker walks all of those states byte by byte. Here the pattern becomes a small
//! program whose steps are literals, runs of one byte class, assertions, group saves,
//! choices, and *regex atoms*: each largest part without a group, matched by its own lazy
//! DFA, anchored where the path reaches it.
//!
//! The program is run by backtracking in the same priority order as the regex's own
//! leftmost-first backtracker, with one difference: a regex atom gives only its
//! highest-priority end (what an anchored leftmost-first search finds), which is the end the
//! backtracker's first path through that part takes. Literals, class runs and choices are
//! backtracked exactly. Should the search ever need to backtrack *into* a regex atom (its
//! continuation failed), it stops and the capture engine answers; otherwise the first path
//! that succeeds is the one the backtracker would have found, and it must end where the lazy
//! DFA's match ends (checked). A step budget linear in the match's length keeps the whole in
//! linear time.

use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::look::{Look, LookMatcher};
use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::{Anchored, Input, meta};
use regex_syntax::hir::{Class, Hir, HirKind};

use super::fast::config;
use super::lazy::exact_bytes;
use super::split::Bytes;

/// Longest program built.
const MAX_STEPS: usize = 512;
/// Largest repetition count expanded.
const MAX_REPEAT: u32 = 16;

#[derive(Debug)]
enum Step {
    Lit(Box<[u8]>),
    /// A repetition of one class (`min`/`max` in characters; a class with non-ASCII
    /// characters has `max` unbounded and `min` at most 1).
    Run {
        holds: Bytes,
        min: u32,
        max: Option<u32>,
        greedy: bool,
    },
    /// A regex atom, and the bytes its matches start with when it cannot match empty (a text
    /// starting with another byte fails it without a search).
    Re(meta::Regex, Option<Bytes>),
    Look(Look),
    Save(usize),
    /// Try the first, then the second.
    Split(usize, usize),
    Jmp(usize),
    Match,
}

/// A pattern as steps over atoms.
#[derive(Debug)]
pub(super) struct Atoms {
    steps: Vec<Step>,
    looks: LookMatcher,
    /// Whether every match starts at 0 (`^...`).
    pub(super) anchored: bool,
}

enum Frame {
    /// Go on at `pc`, from `at`.
    Alt { pc: usize, at: usize },
    /// Restore a slot.
    Undo {
        slot: usize,
        old: Option<NonMaxUsize>,
    },
    /// The run at `pc` may end elsewhere between `lo` and `hi`; it last ended at `at`.
    Run {
        pc: usize,
        lo: usize,
        hi: usize,
        at: usize,
    },
    /// A regex atom: backtracking into it is not done here.
    Stop,
}

/// The program for `hir` (the fast regex), when it has one.
pub(super) fn build(hir: &Hir) -> Option<Atoms> {
    let mut steps = Vec::new();
    emit(hir, &mut steps)?;
    steps.push(Step::Match);
    let anchored = anchored(hir);
    (steps.len() <= MAX_STEPS && steps.iter().any(|s| matches!(s, Step::Save(_)))).then(|| Atoms {
        steps,
        looks: LookMatcher::new(),
        anchored,
    })
}

/// Whether every match of `hir` starts at 0 (`^...`).
pub(super) fn anchored(hir: &Hir) -> bool {
    hir.properties()
        .look_set_prefix()
        .contains(regex_syntax::hir::Look::Start)
}

fn has_capture(h: &Hir) -> bool {
    h.properties().explicit_captures_len() > 0
}

fn emit(h: &Hir, out: &mut Vec<Step>) -> Option<()> {
    if out.len() > MAX_STEPS {
        return None;
    }
    if !has_capture(h) {
        return plain(std::slice::from_ref(h), out);
    }
    match h.kind() {
        HirKind::Capture(c) => {
            let g = c.index as usize;
            out.push(Step::Save(2 * g));
            emit(&c.sub, out)?;
            out.push(Step::Save(2 * g + 1));
        }
        HirKind::Concat(subs) => {
            let mut i = 0;
            while i < subs.len() {
                let j = (i..subs.len())
                    .find(|&j| has_capture(&subs[j]))
                    .unwrap_or(subs.len());
                if j == i {
                    emit(&subs[i], out)?;
                    i += 1;
                } else {
                    plain(&subs[i..j], out)?;
                    i = j;
                }
            }
        }
        HirKind::Alternation(subs) => {
            let mut jumps = Vec::new();
            for (k, s) in subs.iter().enumerate() {
                if k + 1 == subs.len() {
                    emit(s, out)?;
                    break;
                }
                let split = out.len();
                out.push(Step::Split(split + 1, 0));
                emit(s, out)?;
                jumps.push(out.len());
                out.push(Step::Jmp(0));
                let next = out.len();
                out[split] = Step::Split(split + 1, next);
            }
            let end = out.len();
            for j in jumps {
                out[j] = Step::Jmp(end);
            }
        }
        HirKind::Repetition(r) => {
            // A body that can match empty would need the backtracker's loop guard.
            if r.sub.properties().minimum_len().is_none_or(|m| m == 0)
                || r.min > MAX_REPEAT
                || r.max.is_some_and(|m| m > MAX_REPEAT)
            {
                return None;
            }
            for _ in 0..r.min {
                emit(&r.sub, out)?;
            }
            let choice = |here: usize, exit: usize| {
                if r.greedy {
                    Step::Split(here + 1, exit)
                } else {
                    Step::Split(exit, here + 1)
                }
            };
            match r.max {
                None => {
                    let l = out.len();
                    out.push(Step::Jmp(0));
                    emit(&r.sub, out)?;
                    out.push(Step::Jmp(l));
                    let exit = out.len();
                    out[l] = choice(l, exit);
                }
                Some(max) => {
                    let mut splits = Vec::new();
                    for _ in r.min..max {
                        splits.push(out.len());
                        out.push(Step::Jmp(0));
                        emit(&r.sub, out)?;
                    }
                    let exit = out.len();
                    for s in splits {
                        out[s] = choice(s, exit);
                    }
                }
            }
        }
        _ => return None,
    }
    Some(())
}

/// Items without groups: literals, class runs and assertions as steps, the rest as regex
/// atoms (consecutive ones as one).
fn plain(items: &[Hir], out: &mut Vec<Step>) -> Option<()> {
    let mut pending: Vec<Hir> = Vec::new();
    for h in items {
        // A sequence of steps alone (`\b[1-9][0-9]*\b`, `[^/].*?`) is opened: its runs can be
        // backtracked, and no regex is called.
        let steps: Option<Vec<Step>> = match h.kind() {
            HirKind::Concat(subs) => subs
                .iter()
                .map(cheap)
                .collect::<Option<Vec<_>>>()
                .map(|v| v.into_iter().flatten().collect()),
            _ => cheap(h).map(|s| s.into_iter().collect()),
        };
        match steps {
            Some(steps) => {
                flush(&mut pending, out)?;
                out.extend(steps);
            }
            None => pending.push(h.clone()),
        }
    }
    flush(&mut pending, out)
}

/// `h` as at most one step without a regex (`Some(None)` for nothing to do), if it can be.
fn cheap(h: &Hir) -> Option<Option<Step>> {
    Some(match h.kind() {
        HirKind::Empty => None,
        HirKind::Literal(l) => Some(Step::Lit(l.0.clone())),
        // Unicode word boundaries stay in regex atoms (their tables are the DFA's).
        HirKind::Look(look) => Some(
            Look::from_repr(look.as_repr())
                .filter(|l| !unicode_word(*l))
                .map(Step::Look)?,
        ),
        HirKind::Class(c) => Some(run(c, 1, Some(1), true)?),
        HirKind::Repetition(r) => match r.sub.kind() {
            HirKind::Class(c) => Some(run(c, r.min, r.max, r.greedy)?),
            _ => return None,
        },
        _ => return None,
    })
}

fn flush(pending: &mut Vec<Hir>, out: &mut Vec<Step>) -> Option<()> {
    if pending.is_empty() {
        return Some(());
    }
    let hir = Hir::concat(std::mem::take(pending));
    let (first, empty) = super::split::first(&hir);
    out.push(Step::Re(atom(&hir)?, (!empty).then_some(first)));
    Some(())
}

/// The regex of an atom: only an anchored forward search ever runs on it, so no capture
/// engine and no full DFA are built.
fn atom(hir: &Hir) -> Option<meta::Regex> {
    meta::Builder::new()
        .configure(
            config()
                .which_captures(WhichCaptures::Implicit)
                .onepass(false)
                .backtrack(false)
                .dfa(false),
        )
        .build_from_hir(hir)
        .ok()
}

fn run(c: &Class, min: u32, max: Option<u32>, greedy: bool) -> Option<Step> {
    let holds = exact_bytes(c)?;
    if !holds.is_ascii() && (min > 1 || max.is_some()) {
        return None;
    }
    Some(Step::Run {
        holds,
        min,
        max,
        greedy,
    })
}

fn unicode_word(l: Look) -> bool {
    matches!(
        l,
        Look::WordUnicode
            | Look::WordUnicodeNegate
            | Look::WordStartUnicode
            | Look::WordEndUnicode
            | Look::WordStartHalfUnicode
            | Look::WordEndHalfUnicode
    )
}

/// Whether `at` starts a character of `text` (or is its end).
fn boundary(text: &[u8], at: usize) -> bool {
    text.get(at).is_none_or(|b| (*b as i8) >= -0x40)
}

impl Atoms {
    /// Fills `slots` (two per group of the fast regex) for the match `start..end` of `text`;
    /// false when the capture engine must answer.
    pub(super) fn fill(
        &self,
        text: &str,
        start: usize,
        end: usize,
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        self.run(text, start, Some(end), slots)
    }

    /// [`Self::fill`] for a match starting at 0 whose end is not known: the first path that
    /// succeeds is the leftmost-first match (a pattern anchored at the start, where no lazy
    /// DFA pass needs to find the match first). False when there is none or the engine must
    /// answer.
    pub(super) fn fill_from_start(&self, text: &str, slots: &mut [Option<NonMaxUsize>]) -> bool {
        self.run(text, 0, None, slots)
    }

    fn run(
        &self,
        text: &str,
        start: usize,
        known_end: Option<usize>,
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        // The backtracking stack, kept by the thread between calls: a fresh one was an
        // allocation per capture (~230 instructions, more than many whole walks).
        thread_local! {
            static STACK: std::cell::Cell<Vec<Frame>> = const { std::cell::Cell::new(Vec::new()) };
        }
        let mut stack = STACK.take();
        stack.clear();
        let ok = self.walk(text, start, known_end, slots, &mut stack);
        STACK.set(stack);
        ok
    }

    fn walk(
        &self,
        text: &str,
        start: usize,
        known_end: Option<usize>,
        slots: &mut [Option<NonMaxUsize>],
        stack: &mut Vec<Frame>,
    ) -> bool {
        let end = known_end.unwrap_or(text.len());
        slots.iter_mut().for_each(|s| *s = None);
        if slots.len() < 2 {
            return false;
        }
        (slots[0], slots[1]) = (NonMaxUsize::new(start), NonMaxUsize::new(end));
        let bytes = text.as_bytes();
        let (mut pc, mut at) = (0, start);
        let mut budget = 16 * (end - start) + 256;
        loop {
            budget -= 1;
            if budget == 0 {
                return false;
            }
            let ok = match &self.steps[pc] {
                Step::Lit(l) => {
                    let ok = at + l.len() <= end && bytes[at..].starts_with(l);
                    at += if ok { l.len() } else { 0 };
                    ok
                }
                Step::Run {
                    holds,
                    min,
                    max,
                    greedy,
                } => match run_ends(bytes, at, end, holds, *min, *max) {
                    Some((lo, hi)) => {
                        let first = if *greedy { hi } else { lo };
                        if lo != hi {
                            stack.push(Frame::Run {
                                pc,
                                lo,
                                hi,
                                at: first,
                            });
                        }
                        at = first;
                        true
                    }
                    None => false,
                },
                Step::Re(_, Some(first)) if bytes.get(at).is_none_or(|b| !first.has(*b)) => false,
                Step::Re(re, _) => {
                    match re.search_half(&Input::new(text).range(at..).anchored(Anchored::Yes)) {
                        // Past the match's end, the continuation fails: this atom's other
                        // ends would be next.
                        Some(h) if h.offset() > end => return false,
                        Some(h) => {
                            stack.push(Frame::Stop);
                            at = h.offset();
                            true
                        }
                        None => false,
                    }
                }
                Step::Look(l) => self.looks.matches(*l, bytes, at),
                Step::Save(s) => {
                    if let Some(slot) = slots.get_mut(*s) {
                        stack.push(Frame::Undo {
                            slot: *s,
                            old: *slot,
                        });
                        *slot = NonMaxUsize::new(at);
                    }
                    true
                }
                Step::Split(a, b) => {
                    stack.push(Frame::Alt { pc: *b, at });
                    pc = *a;
                    continue;
                }
                Step::Jmp(t) => {
                    pc = *t;
                    continue;
                }
                Step::Match if known_end.is_none() => {
                    slots[1] = NonMaxUsize::new(at);
                    return true;
                }
                Step::Match => return at == end,
            };
            if ok {
                pc += 1;
                continue;
            }
            // Backtrack to the most recent choice.
            loop {
                match stack.pop() {
                    None | Some(Frame::Stop) => return false,
                    Some(Frame::Undo { slot, old }) => slots[slot] = old,
                    Some(Frame::Alt { pc: p, at: a }) => {
                        (pc, at) = (p, a);
                        break;
                    }
                    Some(Frame::Run {
                        pc: p,
                        lo,
                        hi,
                        at: last,
                    }) => {
                        let Step::Run { greedy, .. } = self.steps[p] else {
                            return false;
                        };
                        let next = if greedy {
                            (lo..last).rev().find(|&i| boundary(bytes, i))
                        } else {
                            (last + 1..=hi).find(|&i| boundary(bytes, i))
                        };
                        if let Some(n) = next {
                            stack.push(Frame::Run {
                                pc: p,
                                lo,
                                hi,
                                at: n,
                            });
                            (pc, at) = (p + 1, n);
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// The shortest and longest ends of a run of `holds` from `at`, within `end`: `min` to `max`
/// characters (a class with non-ASCII characters: bytes up to the first one not held, and
/// at least one character when `min` is 1).
fn run_ends(
    text: &[u8],
    at: usize,
    end: usize,
    holds: &Bytes,
    min: u32,
    max: Option<u32>,
) -> Option<(usize, usize)> {
    let limit = max.map_or(end, |m| end.min(at + m as usize));
    let hi = text[at..limit]
        .iter()
        .position(|b| !holds.has(*b))
        .map_or(limit, |i| at + i);
    let lo = if min == 0 {
        at
    } else if holds.is_ascii() {
        at + min as usize
    } else {
        // One character: its first byte and its continuation bytes.
        (at + 1..=hi).find(|&i| boundary(text, i))?
    };
    (lo <= hi && boundary(text, hi)).then_some((lo, hi))
}
