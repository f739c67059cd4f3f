//! The capture fast path's cuts against the plain full regex, on generated patterns and
//! texts: splits at delimiters, the cut at a last delimiter, and the literal looked for before
//! the regex runs (the hub's lines and hivewall's own patterns: `fast_tests`).

use proptest::prelude::*;

use super::fast_tests::{check, fast, plain, spans_only};
use super::*;

/// Small patterns of fields and delimiters (some fields hold a delimiter, some are
/// alternations with fields of their own, one is gated) on texts of their bytes: the split
/// gives the full regex's captures, whichever way each pattern splits.
mod split_props {
    use super::*;

    const FIELDS: &[&str] = &[
        "[a-z]+",
        "[a-z ]*",
        "[0-9]+",
        "(?:%{NUMBER:n}|[a-z]+)",
        "[a-z]+(?:%.+)?",
        "[^:]*?",
        "\\b[a-z0-9]+\\b",
        ".*?",
    ];
    const DELIMS: &[&str] = &[" ", ":", " - ", "\\[", "x"];
    /// What the delimiters are in a text.
    const DELIM_TEXT: &[&str] = &[" ", ":", " - ", "[", "x"];
    /// Field values: plain, holding a delimiter, gated, empty.
    const VALUES: &[&str] = &[
        "ab", "a b", "12", "ab%x y", "", "a:b", "1 - 2", "b[1", "ax1",
    ];

    /// A pattern of 1 to 4 (delimiter, field) parts, and texts built from the same parts
    /// with values of every kind (so that most of them match), then some random bytes.
    fn case() -> impl Strategy<Value = (String, Vec<String>)> {
        let part = (0..FIELDS.len(), 0..DELIMS.len(), any::<bool>());
        // Sometimes a leading optional group, greedy or lazy: `(%{F:lead}D)?`.
        let lead = proptest::option::of((0..FIELDS.len(), 0..DELIMS.len(), any::<bool>()));
        (prop::collection::vec(part, 1..5), lead).prop_flat_map(|(parts, lead)| {
            // Some fields optional: `%{F:f}?`.
            let body: String = parts
                .iter()
                .enumerate()
                .map(|(i, (f, d, opt))| {
                    let q = if *opt { "?" } else { "" };
                    format!("(?:{})%{{F{f}:f{i}}}{q}", DELIMS[*d])
                })
                .collect();
            let head = lead.map_or(String::new(), |(f, d, lazy)| {
                let q = if lazy { "??" } else { "?" };
                format!("(%{{F{f}:lead}}{}){q}", DELIMS[d])
            });
            let pattern = format!("{head}{body}");
            let text = (
                prop::collection::vec(0..VALUES.len(), parts.len() + 1),
                "[ab1 :x%\\[-]{0,3}",
                "[ab1 :x%\\[-]{0,3}",
            )
                .prop_map(move |(values, pre, post)| {
                    let body: String = parts
                        .iter()
                        .zip(&values)
                        .map(|((_, d, _), v)| format!("{}{}", DELIM_TEXT[*d], VALUES[*v]))
                        .collect();
                    // The lead's value and delimiter in front, in most texts of a lead.
                    let head = match lead {
                        Some((_, d, _)) if values[parts.len()] % 4 != 0 => {
                            format!("{}{}", VALUES[values[parts.len()]], DELIM_TEXT[d])
                        }
                        _ => String::new(),
                    };
                    format!("{pre}{head}{body}{post}")
                });
            (Just(pattern), prop::collection::vec(text, 1..8))
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn split_captures_equal_the_full_regex((pattern, texts) in case()) {
            let mut l = PatternLibrary::new();
            l.add("NUMBER", "[0-9]+");
            for (i, f) in FIELDS.iter().enumerate() {
                l.add(&format!("F{i}"), f);
            }
            let g = l.compile(&pattern).unwrap();
            for text in &texts {
                check(&pattern, &g, text);
            }
        }
    }
}

/// `^.*X` and a rest that always matches (CrowdSec's `http-logs` path split): the cut at the
/// last `X` (see [`super::last`]) gives what the full regex gives, spans alone included, on
/// texts with several delimiters, dots, newlines and multibyte characters.
mod last_props {
    use super::*;

    /// (pattern, whether the last-delimiter cut must take it, whether its rest must be a
    /// name and an extension found without a regex: see `super::super::ext`)
    fn groks() -> Vec<(Grok, bool, bool)> {
        let mut l = PatternLibrary::new();
        l.add("DIR", "^.*/");
        l.add("FILE", "[^/].*?");
        l.add("EXT", "\\.[^.]*$|$");
        l.add("WORD", "\\b\\w+\\b");
        [
            (
                "%{DIR:file_dir}(%{FILE:file_frag}%{EXT:file_ext})?",
                true,
                true,
            ),
            // Only one of the two parts a field; another class and delimiter.
            ("%{DIR:file_dir}(%{FILE}%{EXT:file_ext})?", true, true),
            ("%{DIR}(%{FILE:file_frag}%{EXT})?", true, true),
            ("^.*=(?:(?<n>[^=é].*?)(?<e>_[^_]*$|$))?", true, true),
            // Near misses: a greedy name, an extension not to the end, two delimiters.
            ("^.*/(?:(?<n>[^/].*)(?<e>\\.[^.]*$|$))?", true, false),
            ("^.*/(?:(?<n>[^/].*?)(?<e>\\.[^.]*|$))?", true, false),
            ("^.*/(?:(?<n>[^/].*?)(?<e>\\.[^./]*$|$))?", true, false),
            ("^.*=(%{WORD:w})?(.*)", true, false),
            ("^(?:.*\\.)(?<tail>[a-z]*)?", true, false),
            // The rest can fail (a word must follow): the cut is not taken.
            ("^.*/%{WORD:w}", false, false),
        ]
        .into_iter()
        .map(|(p, last, ext)| (l.compile(p).unwrap(), last, ext))
        .collect()
    }

    #[test]
    fn the_shapes_are_recognized() {
        for (g, last, ext) in groks() {
            let f = g.inner.fast.as_ref().unwrap();
            let cut = match &f.spans {
                Some(super::super::spans::Spans::Last(c)) => Some(c),
                _ => None,
            };
            assert_eq!(cut.is_some(), last, "{}", g.pattern());
            assert_eq!(cut.is_some_and(|c| c.has_ext()), ext, "{}", g.pattern());
        }
    }

    proptest! {
        #[test]
        fn last_cut_equals_the_full_regex(text in "[a/.=_\\né]{0,14}") {
            for (g, last, _) in groks() {
                prop_assert_eq!(fast(&g, &text), plain(&g, &text), "{}", g.pattern());
                if last && plain(&g, &text).0 {
                    // The spans alone answer every match.
                    prop_assert_eq!(spans_only(&g, &text), Some(plain(&g, &text).1), "{}", g.pattern());
                }
            }
        }
    }
}

/// A literal every match holds is looked for before the regex runs, and a pattern anchored at
/// the start is not searched a second time unanchored: neither changes an answer.
mod needle_props {
    use super::*;

    fn groks() -> Vec<Grok> {
        let mut l = PatternLibrary::new();
        l.add("GREEDYDATA", ".*");
        l.add("WORD", "\\b\\w+\\b");
        [
            "^%{GREEDYDATA:request}\\?%{GREEDYDATA:http_args}$",
            "%{WORD:a}-?>%{WORD:b}",
            "^a(?<x>b?)a?",
            "(?i)a?b%{WORD:w}",
            "(?:a|b)=%{WORD:w}|c",
        ]
        .into_iter()
        .map(|p| l.compile(p).unwrap())
        .collect()
    }

    #[test]
    fn the_byte_is_the_rarest_one_every_match_holds() {
        let byte =
            |src: &str| super::super::fast::required_byte(&regex_syntax::parse(src).unwrap());
        assert_eq!(byte(r"^(.*)\?(.*)$"), Some(b'?'));
        assert_eq!(byte(r"x(?<a>y=z)w+"), Some(b'='));
        assert_eq!(byte(r"sshd A"), Some(b'A'));
        assert_eq!(byte(r"(?i)abc"), None);
        assert_eq!(byte(r"ab|cd"), None);
        assert_eq!(byte(r"(?:ab)?c*"), None);
    }

    proptest! {
        #[test]
        fn a_missing_literal_or_anchor_answers_as_the_full_regex(text in "[ab?=>\\-cA B]{0,12}") {
            for g in groks() {
                prop_assert_eq!(fast(&g, &text), plain(&g, &text), "{}", g.pattern());
            }
        }
    }
}
