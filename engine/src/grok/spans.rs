//! How a fast regex's captures come from its match without a capture engine: which of the
//! four ways (a split at delimiters, a cut at the last delimiter, a leading group's variants,
//! atoms) a pattern takes.

use regex_automata::util::primitives::NonMaxUsize;
use regex_syntax::hir::Hir;

use super::atoms::{self, Atoms};
use super::last::{self, Last};
use super::lead::{self, Lead};
use super::split::{self, Split};

/// The [`split::size`] from which a pattern that does not split runs as atoms (`%{IP}` alone
/// is over 2,000; `%{WORD} %{INT}` about 20).
const ATOMS_MIN_SIZE: usize = 400;

/// How a fast regex's captures come from its match's span without a capture engine.
#[derive(Debug)]
pub(super) enum Spans {
    /// The pattern splits as it is (see [`super::split`]).
    Split(Split),
    /// Through a leading optional group's variants (see [`super::lead`]).
    Lead(Lead),
    /// By backtracking over atoms (see [`super::atoms`]).
    Atoms(Atoms),
    /// Up to the last delimiter, then the rest (see [`super::last`]).
    Last(Last),
}

impl Spans {
    /// The spans of `hir` (the fast regex), when it has some.
    pub(super) fn build(hir: &Hir) -> Option<Spans> {
        // The bounded backtracker is cheap on small patterns: atoms pay (in time, and in
        // memory for their automata) where a large part (an address) would be walked state by
        // state.
        let atoms = || {
            (split::size(hir) >= ATOMS_MIN_SIZE && !split::one_pass(hir))
                .then(|| atoms::build(hir))
                .flatten()
                .map(Spans::Atoms)
        };
        // Anchored at the start, atoms need no lazy DFA pass at all, where a lead needs two
        // (and its variants' cuts may be gated: hivewall's own nginx access pattern).
        let last = || last::build(hir).map(Spans::Last);
        split::build(hir)
            .map(Spans::Split)
            .or_else(last)
            .or_else(|| {
                if atoms::anchored(hir) {
                    atoms().or_else(|| lead::build(hir).map(Spans::Lead))
                } else {
                    lead::build(hir).map(Spans::Lead).or_else(atoms)
                }
            })
    }

    /// Whether [`Self::fill_from_start`] answers every text (it runs from the start, and a
    /// text that does not match fails it at its first difference).
    pub(super) fn runs_from_start(&self) -> bool {
        matches!(self, Spans::Atoms(a) if a.anchored) || matches!(self, Spans::Last(_))
    }

    /// Fills `slots` for a pattern anchored at the start without the lazy DFA's match first,
    /// when the spans can (see [`Atoms::fill_from_start`]); `None` when they cannot try.
    pub(super) fn fill_from_start(
        &self,
        text: &str,
        slots: &mut [Option<NonMaxUsize>],
    ) -> Option<bool> {
        match self {
            Spans::Atoms(a) if a.anchored => Some(a.fill_from_start(text, slots)),
            Spans::Last(l) => Some(l.fill_from_start(text, slots)),
            _ => None,
        }
    }

    /// Fills `slots` for the match `start..end` (see [`Split::fill`]); false when the capture
    /// engine must answer.
    pub(super) fn fill(
        &self,
        text: &str,
        start: usize,
        end: usize,
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        match self {
            Spans::Split(s) => s.fill(text, start, end, slots),
            Spans::Lead(l) => l.fill(text, start, end, slots),
            Spans::Atoms(a) => a.fill(text, start, end, slots),
            Spans::Last(l) => l.fill(text, start, end, slots),
        }
    }
}
