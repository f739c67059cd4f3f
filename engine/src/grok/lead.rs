//! Splits behind a leading optional group.
//!
//! A pattern that starts with an optional group holding a delimiter (nginx's access pattern:
//! `(%{IPORHOST:target_fqdn} )?%{IPORHOST:remote_addr} - ...`) has no forced boundary before
//! its first delimiter: the space may end the group or the address. Each *variant* of the
//! pattern, the group present and the group absent, may split (see [`super::split`]), and
//! which variant the leftmost-first path takes is the first choice that path makes: the
//! group's first alternative (present for a greedy `?`, absent for a lazy `??`) when that
//! variant matches anchored at the match's start, else the other. So one anchored lazy DFA
//! pass picks the variant, whose split then gives the captures.

use regex_automata::util::primitives::NonMaxUsize;
use regex_automata::{Anchored, Input, meta};
use regex_syntax::hir::{Hir, HirKind, Look};

use super::atoms::{self, Atoms};
use super::fast::{config, strip};
use super::split::{self, Split};

/// The [`split::size`] from which a pattern that does not split runs as atoms (`%{IP}` alone
/// is over 2,000; `%{WORD} %{INT}` about 20).
const ATOMS_MIN_SIZE: usize = 400;

/// How a fast regex's captures come from its match's span without a capture engine.
#[derive(Debug)]
pub(super) enum Spans {
    /// The pattern splits as it is.
    Split(Split),
    /// Through a leading optional group's variants.
    Lead(Lead),
    /// By backtracking over atoms.
    Atoms(Atoms),
}

/// A pattern whose first item is an optional group, as its two variants.
#[derive(Debug)]
pub(super) struct Lead {
    /// The variant the leftmost-first path tries first, without groups.
    first: meta::Regex,
    /// The splits of the variants, the first one first.
    splits: [Option<Split>; 2],
}

impl Spans {
    /// The spans of `hir` (the fast regex), when it or its leading group's variants split.
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
        let anchored = hir.properties().look_set_prefix().contains(Look::Start);
        split::build(hir).map(Spans::Split).or_else(|| {
            if anchored {
                atoms().or_else(|| lead(hir).map(Spans::Lead))
            } else {
                lead(hir).map(Spans::Lead).or_else(atoms)
            }
        })
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
            _ => None,
        }
    }

    /// Fills `slots` (see [`Split::fill`]); false when the capture engine must answer.
    pub(super) fn fill(
        &self,
        text: &str,
        start: usize,
        end: usize,
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        match self {
            Spans::Split(s) => s.fill(text, start, end, slots),
            Spans::Atoms(a) => a.fill(text, start, end, slots),
            Spans::Lead(l) => {
                let input = Input::new(text).range(start..).anchored(Anchored::Yes);
                let i = usize::from(!l.first.is_match(input));
                l.splits[i]
                    .as_ref()
                    .is_some_and(|s| s.fill(text, start, end, slots))
            }
        }
    }
}

fn lead(hir: &Hir) -> Option<Lead> {
    let HirKind::Concat(items) = hir.kind() else {
        return None;
    };
    // Assertions (`^`) may come first: they stay in both variants.
    let k = items
        .iter()
        .take_while(|h| matches!(h.kind(), HirKind::Look(_)))
        .count();
    let (HirKind::Repetition(r), rest) = (items.get(k)?.kind(), &items[k + 1..]) else {
        return None;
    };
    if r.min != 0 || r.max != Some(1) || rest.is_empty() || split::one_pass(hir) {
        return None;
    }
    let variant = |with: bool| {
        let group = with.then(|| (*r.sub).clone());
        Hir::concat(
            items[..k]
                .iter()
                .cloned()
                .chain(group)
                .chain(rest.iter().cloned())
                .collect(),
        )
    };
    let [a, b] = [variant(r.greedy), variant(!r.greedy)];
    let first = meta::Builder::new()
        .configure(config())
        .build_from_hir(&strip(&a, &|_| None))
        .ok()?;
    let splits = [split::build(&a), split::build(&b)];
    splits
        .iter()
        .any(Option::is_some)
        .then_some(Lead { first, splits })
}
