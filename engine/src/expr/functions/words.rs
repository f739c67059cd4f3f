//! Regexp data files of words between ASCII word boundaries.
//!
//! CrowdSec's bad user agents (`bad_user_agents.regex.txt`) are ~600 lines like
//! `\bAcunetix\b` and `\bBlack\ Hole\b`. As one regex set, every `\b` multiplies the lazy
//! DFA's states, and a user agent costs thousands of instructions. The lines that are a literal
//! with optional `\b` around it (in Go's syntax, so ASCII boundaries) are matched instead by
//! one Aho-Corasick automaton over the literals, every occurrence (overlapping ones too)
//! checked for its boundaries; the other lines stay a regex set.

use aho_corasick::{AhoCorasick, MatchKind};
use regex_syntax::hir::{HirKind, Look};

/// Literals, each with whether a word boundary must precede and follow it.
#[derive(Debug)]
pub(crate) struct Words {
    ac: AhoCorasick,
    bounds: Vec<(bool, bool)>,
}

impl Words {
    /// The words among `patterns` (Go syntax), and the indexes of the other patterns; no
    /// `Words` when there is none (or no automaton could be built: then every pattern is
    /// left over).
    pub(crate) fn split<S: AsRef<str>>(patterns: &[S]) -> (Option<Words>, Vec<usize>) {
        let (mut lits, mut bounds, mut rest) = (Vec::new(), Vec::new(), Vec::new());
        for (i, p) in patterns.iter().enumerate() {
            match word(p.as_ref()) {
                Some((lit, lead, trail)) => {
                    lits.push(lit);
                    bounds.push((lead, trail));
                }
                None => rest.push(i),
            }
        }
        if lits.is_empty() {
            return (None, rest);
        }
        match AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .kind(Some(aho_corasick::AhoCorasickKind::DFA))
            .build(&lits)
        {
            Ok(ac) => (Some(Words { ac, bounds }), rest),
            Err(_) => (None, (0..patterns.len()).collect()),
        }
    }

    /// Whether one of the words occurs in `hay` with its boundaries.
    pub(crate) fn is_match(&self, hay: &str) -> bool {
        // Most haystacks hold no word at all: one plain scan says so.
        if !self.ac.is_match(hay) {
            return false;
        }
        let b = hay.as_bytes();
        self.ac.find_overlapping_iter(hay).any(|m| {
            let (lead, trail) = self.bounds[m.pattern().as_usize()];
            (!lead || boundary(b, m.start())) && (!trail || boundary(b, m.end()))
        })
    }
}

/// Go's ASCII `\b` at `at`: a word character on one side only.
fn boundary(b: &[u8], at: usize) -> bool {
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let before = at > 0 && word(b[at - 1]);
    let after = b.get(at).is_some_and(|c| word(*c));
    before != after
}

/// A pattern that is a non-empty literal with `\b`s only before and after it: the literal's
/// bytes, and whether a boundary precedes and follows it.
fn word(pattern: &str) -> Option<(Vec<u8>, bool, bool)> {
    let rust = crate::grok::translate::translate(pattern).ok()?.regex;
    let hir = regex_syntax::Parser::new().parse(&rust).ok()?;
    let items = match hir.kind() {
        HirKind::Concat(items) => items.as_slice(),
        _ => std::slice::from_ref(&hir),
    };
    let (mut lead, mut trail, mut lit) = (false, false, None);
    for item in items {
        match item.kind() {
            HirKind::Look(Look::WordAscii) if lit.is_none() => lead = true,
            HirKind::Look(Look::WordAscii) => trail = true,
            HirKind::Literal(l) if lit.is_none() && !l.0.is_empty() => lit = Some(l.0.to_vec()),
            _ => return None,
        }
    }
    lit.map(|l| (l, lead, trail))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn words_and_the_rest() {
        let pats = [
            r"\bAcunetix\b",
            r"\bBlack\ Hole\b",
            r"\b\bGo!Zilla\b\b",
            "(?i)nikto",
            r"^curl",
            "plain",
        ];
        let (w, rest) = Words::split(&pats);
        assert_eq!(rest, vec![3, 4]);
        let w = w.unwrap();
        assert!(w.is_match("Mozilla Acunetix/1"));
        assert!(!w.is_match("xAcunetix"));
        assert!(w.is_match("a Black Hole"));
        assert!(w.is_match("Go!Zilla"));
        assert!(w.is_match("explainer"));
        // `é` is no ASCII word character: a boundary, as in Go.
        assert!(w.is_match("éAcunetixé"));
    }

    fn piece() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop::sample::select(vec![
                "a", "b", "B", "_", "1", " ", "!", "-", "é", "\\b", "\\ ",
            ]),
            1..5,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        /// The words with their boundaries find what the regex set finds.
        #[test]
        fn words_match_like_the_regex_set(
            pats in prop::collection::vec(piece(), 1..6),
            hay in prop::collection::vec(prop::sample::select(vec!["a", "b", "B", "_", "1", " ", "!", "-", "é", "x"]), 0..14),
        ) {
            let hay = hay.concat();
            let Ok(set) = crate::expr::go_regex::compile_set(&pats) else {
                return Ok(());
            };
            let (words, rest) = Words::split(&pats);
            let rest_hit = rest.iter().any(|&i| crate::expr::go_regex::compile(&pats[i]).unwrap().is_match(&hay));
            let got = words.is_some_and(|w| w.is_match(&hay)) || rest_hit;
            prop_assert_eq!(got, set.is_match(&hay), "{:?} on {:?} (left over: {:?})", pats, hay, rest);
        }
    }
}
