//! Sibling groks matched in one pass.
//!
//! A parser's children are tried in turn, and most of them are a bare grok on the same field
//! (sshd-logs tries up to sixteen on `message`): each would run its own regex to find out, most of the
//! time, that it does not match (~450 instructions a try on an sshd message, most of it the
//! regex's own set-up). [`Siblings`] puts those children's regexes in one multi-pattern lazy
//! DFA (as `regex::RegexSet` builds its own: every pattern's matches, no captures), each
//! pattern carried to the end of the text so that the scan reports it once. One scan tells
//! which children match: the others are skipped as having failed, which is exactly what they
//! would have done (a child that runs goes straight to its captures).
//!
//! Measured (callgrind, hub parsers on an auth log): parsing 13% fewer instructions a line.
//! Its cost is the DFA's states, which grow with the combinations of patterns a text makes:
//! on hivewall's own sshd parser, whose nine patterns each rule a text out at once with their
//! literal prefix, the pass costs about what it saves. Tried and dropped: a pass over the
//! children's prefix literals only (as a DFA or with Aho-Corasick: every occurrence has to be
//! found, and both cost more than the regexes they spare).
//!
//! A child is skipped only when failing its grok is all it would do: no filter, no whitelist
//! (both run before the grok and can change the event), no children of its own (they run
//! even when the grok failed), a grok on a field of `evt.Parsed` whose regex decides
//! [`crate::grok::Grok::is_match`]. The field is read as it is when the first such child
//! comes up, and read again after any child ran (a child that ran may have changed it).

use regex_automata::nfa::thompson::WhichCaptures;
use regex_automata::util::syntax;
use regex_automata::{Input, MatchKind, PatternSet, meta};

use crate::event::Event;
use crate::expr::FieldKey;

use super::node::{GrokInput, Node};

/// Below this many eligible children the separate scans are as cheap as the set.
const MIN_CHILDREN: usize = 3;
/// Children of one set at most (a bit each in [`Flags`]).
pub(super) const MAX_CHILDREN: usize = 64;

/// The bare grok children of one node on one field, matched together.
#[derive(Debug, Clone)]
pub struct Siblings {
    /// The field they all read.
    key: FieldKey,
    /// One pattern per child of the set: its grok's regex, then anything to the end of the
    /// text.
    set: meta::Regex,
    /// For each child of the node, its pattern in `set`, if it is one of the set.
    slot: Vec<Option<u8>>,
}

/// Which children of the set match the field as it is now (read on first use).
pub(super) struct Flags {
    read: bool,
    /// Bit `p` set: pattern `p` of the set matches.
    matched: u64,
}

impl Flags {
    pub(super) fn new() -> Self {
        Flags {
            read: false,
            matched: 0,
        }
    }

    /// Forgets what was read: a child ran and may have changed the event.
    pub(super) fn forget(&mut self) {
        self.read = false;
    }
}

impl Siblings {
    /// The set for `leaves`, when enough of them are bare groks on one field; `None`
    /// otherwise or when the set would not compile (each child then runs alone).
    pub(super) fn build(leaves: &[Node]) -> Option<Siblings> {
        // The field most eligible children read.
        let mut keys: Vec<(&FieldKey, usize)> = Vec::new();
        for key in leaves.iter().filter_map(eligible_key) {
            match keys.iter_mut().find(|(k, _)| *k == key) {
                Some((_, n)) => *n += 1,
                None => keys.push((key, 1)),
            }
        }
        let (key, _) = keys
            .into_iter()
            .filter(|(_, n)| *n >= MIN_CHILDREN)
            .max_by_key(|(_, n)| *n)?;
        let mut slot = Vec::with_capacity(leaves.len());
        let mut patterns = Vec::new();
        for leaf in leaves {
            let index = match (eligible_key(leaf), &leaf.grok) {
                (Some(k), Some(g)) if k == key && patterns.len() < MAX_CHILDREN => {
                    // Carried to the end of the text: a pattern matches there exactly when
                    // it matches somewhere, and the scan reports each pattern once, at the
                    // end, instead of at every place a match of it ends.
                    patterns.push(format!("(?:{})(?s:.*)\\z", g.grok.regex().as_str()));
                    u8::try_from(patterns.len() - 1).ok()
                }
                _ => None,
            };
            slot.push(index);
        }
        if patterns.len() < MIN_CHILDREN {
            return None;
        }
        // `regex::RegexSetBuilder`'s configuration with the groks' limits, so that each
        // pattern matches exactly where its own `regex::Regex` does.
        let config = meta::Config::new()
            .nfa_size_limit(Some(crate::grok::SIZE_LIMIT))
            .hybrid_cache_capacity(crate::grok::DFA_SIZE_LIMIT)
            .match_kind(MatchKind::All)
            .utf8_empty(true)
            .which_captures(WhichCaptures::None);
        let set = meta::Builder::new()
            .configure(config)
            .syntax(syntax::Config::default().utf8(true))
            .build_many(&patterns)
            .inspect_err(|e| tracing::debug!(error = %e, "No sibling grok set."))
            .ok()?;
        Some(Siblings {
            key: key.clone(),
            set,
            slot,
        })
    }

    /// What the set says of child `index` on `evt`: `Some(false)` if its grok cannot match
    /// the field (the child would fail), `Some(true)` if it matches, `None` if the child is
    /// not one of the set.
    #[inline]
    pub(super) fn matches(&self, index: usize, evt: &Event, flags: &mut Flags) -> Option<bool> {
        let slot = (*self.slot.get(index)?)?;
        if !flags.read {
            flags.read = true;
            flags.matched = 0;
            // A missing field fails every grok on it.
            if let Some(text) = evt.parsed.get_key(&self.key) {
                let n = self.set.pattern_len();
                flags.matched = SCRATCH.with_borrow_mut(|sets| {
                    if sets.len() <= n {
                        sets.resize_with(n + 1, || PatternSet::new(0));
                    }
                    let found = &mut sets[n];
                    if found.capacity() != n {
                        *found = PatternSet::new(n);
                    }
                    found.clear();
                    self.set.which_overlapping_matches(&Input::new(text), found);
                    found.iter().fold(0, |m, p| m | 1 << p.as_usize())
                });
            }
        }
        Some(flags.matched & (1 << slot) != 0)
    }

    /// Whether child `index` is sure to fail on `evt` ([`Self::matches`] says no).
    #[cfg(test)]
    pub(super) fn fails(&self, index: usize, evt: &Event, flags: &mut Flags) -> bool {
        self.matches(index, evt, flags) == Some(false)
    }

    /// The field the children of the set read.
    pub fn key(&self) -> &FieldKey {
        &self.key
    }

    /// How many children the set stands for.
    pub fn len(&self) -> usize {
        self.set.pattern_len()
    }

    /// Whether the set stands for no child (never: it is built for three or more).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

thread_local! {
    /// The patterns a scan found, before they become a node's [`Flags`]: one set per pattern
    /// count (reading a set walks its whole capacity), none allocated a scan, not held while
    /// a child runs (nested passes share them).
    static SCRATCH: std::cell::RefCell<Vec<PatternSet>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// The field `node` greps, when failing that grok is all `node` would do.
fn eligible_key(node: &Node) -> Option<&FieldKey> {
    if node.filter.is_some() || !node.whitelist.is_empty() || !node.leaves.is_empty() {
        return None;
    }
    let g = node.grok.as_ref()?;
    if g.grok.field_names().is_empty() {
        return None;
    }
    match &g.input {
        GrokInput::Parsed(k) => Some(k),
        _ => None,
    }
}
