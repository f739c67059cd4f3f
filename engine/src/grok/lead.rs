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
use regex_syntax::hir::{Hir, HirKind};

use super::fast::{config, strip};
use super::split::{self, Split};

/// A pattern whose first item is an optional group, as its two variants.
#[derive(Debug)]
pub(super) struct Lead {
    /// The variant the leftmost-first path tries first, without groups.
    first: meta::Regex,
    /// The splits of the variants, the first one first.
    splits: [Option<Split>; 2],
}

impl Lead {
    /// Fills `slots` through the variant the match `start..end` takes (see [`Split::fill`]).
    pub(super) fn fill(
        &self,
        text: &str,
        start: usize,
        end: usize,
        slots: &mut [Option<NonMaxUsize>],
    ) -> bool {
        let input = Input::new(text).range(start..).anchored(Anchored::Yes);
        let i = usize::from(!self.first.is_match(input));
        self.splits[i]
            .as_ref()
            .is_some_and(|s| s.fill(text, start, end, slots))
    }
}

/// The variants of `hir` when its first item (after assertions) is an optional group and at
/// least one variant splits.
pub(super) fn build(hir: &Hir) -> Option<Lead> {
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
