//! Regular expressions written in Go's syntax, compiled with Go's meaning.
//!
//! expr's `matches`, `RegexpInFile` data files and map files' `regex` rows are Go (RE2)
//! regular expressions: `\d`, `\w`, `\s` and `\b` are ASCII there and Unicode in the `regex`
//! crate, so `'٣' matches '^\d$'` would hold here and not in CrowdSec. They go through the
//! grok translation ([`crate::grok::translate`]) first. ASCII word boundaries also keep the
//! lazy DFA on non-ASCII input, where a Unicode `\b` makes it give up.

use regex::{Regex, RegexSet};

/// `pattern` in the `regex` crate's syntax; the pattern itself when it does not translate (the
/// `regex` crate then reports what is wrong with it).
fn rust_syntax(pattern: &str) -> String {
    crate::grok::translate::translate(pattern).map_or_else(|_| pattern.to_owned(), |t| t.regex)
}

/// Compiles one Go regular expression.
pub fn compile(pattern: &str) -> Result<Regex, regex::Error> {
    Regex::new(&rust_syntax(pattern))
}

/// Checks that a Go regular expression parses, as [`compile`] would parse it, without
/// compiling it; the error is the parser's message.
pub fn check(pattern: &str) -> Result<(), String> {
    regex_syntax::ParserBuilder::new()
        .build()
        .parse(&rust_syntax(pattern))
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Compiles Go regular expressions into one set.
pub fn compile_set<S: AsRef<str>>(
    patterns: impl IntoIterator<Item = S>,
) -> Result<RegexSet, regex::Error> {
    RegexSet::new(patterns.into_iter().map(|p| rust_syntax(p.as_ref())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perl_classes_and_boundaries_are_ascii_as_in_go() {
        // Arabic-Indic three, a Unicode digit; é, a Unicode letter.
        assert!(!compile(r"^\d$").unwrap().is_match("٣"));
        assert!(compile(r"^\d$").unwrap().is_match("3"));
        assert!(!compile(r"^\w+$").unwrap().is_match("café"));
        // Go: `f` then `é` (no ASCII word character) is a boundary.
        assert!(compile(r"caf\b").unwrap().is_match("café"));
        assert!(!compile(r"\s").unwrap().is_match("a\u{a0}b"));
        let set = compile_set([r"^\d+$", r"\bbot\b"]).unwrap();
        assert!(!set.is_match("٣٣"));
        assert!(set.is_match("ébot"));
        assert!(set.is_match("42"));
    }

    #[test]
    fn go_only_syntax_compiles() {
        // `\Q...\E` quoting and named groups in Go's spelling.
        assert!(compile(r"\Qa.b\E").unwrap().is_match("xa.by"));
        assert!(!compile(r"^\Qa.b\E$").unwrap().is_match("axb"));
        assert!(compile(r"(?P<n>x)(?<m>y)").unwrap().is_match("xy"));
    }

    #[test]
    fn invalid_patterns_still_fail() {
        assert!(compile("(").is_err());
        assert!(compile_set(["ok", "[z-a]"]).is_err());
    }
}
