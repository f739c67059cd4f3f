//! The `GREEDYDATA` tail: most grok patterns end with `%{GREEDYDATA:message}`, i.e. `(.*)`,
//! often inside the groups of the references that end there (`^(... (.*))$`).
//!
//! Extracting captures is the expensive part of a grok match (the capture engines work over
//! the whole match), and the tail is the longest part of a line. When a regex is `P(.*)`
//! followed only by closing groups and `$`, and the text has no newline, the match of the
//! whole is P's own leftmost-first match followed by the rest of the text: `.*` always
//! succeeds there, so it cannot change which path of P wins. We then capture with P alone and
//! extend the tail group, and the groups that close right after it, to the end of the text.

/// The prefix of a regex and how to rebuild the full captures from its captures.
#[derive(Debug)]
pub(super) struct Tail {
    /// The regex without the tail `(.*)` (and without a final `$`); its groups are numbered
    /// as in the full regex.
    pub prefix: String,
    /// Group number of the tail `(.*)` in the full regex.
    pub group: usize,
    /// Capturing groups that close right after the tail (they end where the text ends).
    pub enclosing: Vec<usize>,
}

/// Builds the tail rewrite for `re` (the translated regex, with `captures_len` groups counting
/// the whole match), if it applies.
pub(super) fn tail_of(re: &str, captures_len: usize) -> Option<Tail> {
    let body = re.strip_suffix('$').unwrap_or(re);
    let closers = body.len() - body.trim_end_matches(')').len();
    // `(.*)` then closers-1 more `)`: the `)` of the tail itself is the first closer.
    let head = body
        .strip_suffix(&")".repeat(closers))?
        .strip_suffix("(.*")?;
    // The `(` must not be escaped.
    let backslashes = head.len() - head.trim_end_matches('\\').len();
    if backslashes % 2 == 1 {
        return None;
    }
    let (group, all_open) = scan(re)?;
    if group + 1 != captures_len {
        return None;
    }
    // The closers after the tail's own `)` close the innermost groups open around it,
    // capturing or not; the capturing ones among them end where the text ends.
    let outer_closers = closers - 1;
    if all_open.len() < outer_closers {
        return None;
    }
    let enclosing: Vec<usize> = all_open[all_open.len() - outer_closers..]
        .iter()
        .flatten()
        .copied()
        .collect();
    let prefix = format!("{head}{}", &")".repeat(outer_closers));
    // The prefix must parse with one group fewer (the tail's), numbered as before.
    let (prefix_last, _) = scan(&prefix).unwrap_or((0, Vec::new()));
    (prefix_last + 1 == group).then_some(Tail {
        prefix,
        group,
        enclosing,
    })
}

/// The number of the last capturing group and every group (capturing: `Some(n)`, or not)
/// open when it opens, outermost first. `None` when the text is unbalanced or a flag changes
/// what `.` matches or greediness (`s`, `U`), which would make the rewrite unsafe.
fn scan(re: &str) -> Option<(usize, Vec<Option<usize>>)> {
    let b = re.as_bytes();
    let mut stack: Vec<Option<usize>> = Vec::new();
    let mut count = 0usize;
    let mut last = None;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'[' => {
                i += 1;
                if b.get(i) == Some(&b'^') {
                    i += 1;
                }
                if b.get(i) == Some(&b']') {
                    i += 1;
                }
                loop {
                    match b.get(i)? {
                        b'\\' => i += 2,
                        b'[' if b.get(i + 1) == Some(&b':') => i += re[i..].find(":]")? + 2,
                        b']' => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
            }
            b'(' => {
                let capturing = b.get(i + 1) != Some(&b'?')
                    || re[i + 2..].starts_with("P<")
                    || re[i + 2..].starts_with('<');
                if capturing {
                    count += 1;
                    last = Some((count, stack.clone()));
                    stack.push(Some(count));
                } else {
                    let flags: String = re[i + 2..]
                        .chars()
                        .take_while(|c| c.is_ascii_alphabetic() || *c == '-')
                        .collect();
                    if flags.contains('s') || flags.contains('U') {
                        return None;
                    }
                    stack.push(None);
                }
                i += 1;
            }
            b')' => {
                stack.pop()?;
                i += 1;
            }
            _ => i += 1,
        }
    }
    if !stack.is_empty() {
        return None;
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;
    use regex::Regex;

    fn caps(re: &Regex, text: &str) -> Vec<Option<(usize, usize)>> {
        let mut l = re.capture_locations();
        re.captures_read(&mut l, text);
        (0..l.len()).map(|g| l.get(g)).collect()
    }

    /// The rewrite must give exactly the full regex's captures.
    fn check(src: &str, texts: &[&str]) {
        let full = Regex::new(src).unwrap();
        let t = tail_of(src, full.captures_len()).expect("tail applies");
        let prefix = Regex::new(&t.prefix).unwrap();
        for text in texts {
            let want = caps(&full, text);
            let mut got = caps(&prefix, text);
            if let Some(Some((_, end))) = got.first().cloned() {
                got[0] = Some((got[0].unwrap().0, text.len()));
                got.push(Some((end, text.len())));
                for g in &t.enclosing {
                    if let Some((s, _)) = got[*g] {
                        got[*g] = Some((s, text.len()));
                    }
                }
            } else {
                got.push(None);
            }
            assert_eq!(got, want, "{src} on {text:?}");
        }
    }

    #[test]
    fn tail_rewrite_matches_the_full_regex() {
        check(r"^(\w+) (.*)", &["a b c", "a ", "nope"]);
        check(
            r"^((\w+)(?:\[(\d+)\])?: (.*))$",
            &["sshd[12]: hello world", "cron: x", "bad"],
        );
        check(r"(a|ab)(c|bcd)?(.*)", &["abcd", "xxabcdz", "zzz"]);
    }

    #[test]
    fn tail_rewrite_is_refused_when_unsafe() {
        for re in [
            r"^(\w+)",
            r"(.*) x",
            r"\(.*)",
            r"(?s)^(a)(.*)",
            r"(?U)(a)(.*)",
            r"(.+)",
        ] {
            let n = Regex::new(re).map(|r| r.captures_len()).unwrap_or(0);
            assert!(tail_of(re, n).is_none(), "{re}");
        }
    }
}

#[cfg(test)]
mod hub_tests {

    use crate::grok::{GrokScratch, PatternLibrary};

    /// Every library pattern the rewrite applies to gives the same fields through the prefix
    /// as through the full regex, on real lines of the hub's test logs.
    #[test]
    fn tail_rewrite_is_invisible_on_hub_logs() {
        let shared = crate::testdata::shared("crowdsec");
        let mut lib = PatternLibrary::new();
        lib.load_dir(&shared.join("patterns")).unwrap();
        let mut lines = Vec::new();
        for t in std::fs::read_dir(shared.join("hub/.tests"))
            .unwrap()
            .flatten()
        {
            for f in std::fs::read_dir(t.path()).unwrap().flatten() {
                if f.path().extension().is_some_and(|e| e == "log") {
                    let text = std::fs::read_to_string(f.path()).unwrap_or_default();
                    lines.extend(text.lines().take(3).map(str::to_string));
                }
            }
        }
        let names: Vec<String> = lib.names().map(str::to_string).collect();
        let (mut with_tail, mut matched) = (0, 0);
        for name in names {
            let Ok(g) = lib.compile_named(&name) else {
                continue;
            };
            if !g.inner.tail {
                continue;
            }
            with_tail += 1;
            for line in &lines {
                let mut fast = Vec::new();
                let a = g.captures(line, |k, v| fast.push((k.to_string(), v.to_string())));
                let mut slow = Vec::new();
                let mut scratch = GrokScratch::new();
                let b = g.captures_with(&mut scratch, line, |k, v| {
                    slow.push((k.to_string(), v.to_string()))
                });
                assert_eq!((a, &fast), (b, &slow), "{name} on {line:?}");
                matched += usize::from(a);
            }
        }
        assert!(with_tail > 20, "only {with_tail} patterns end with a tail");
        assert!(matched > 100, "too few matches to mean anything: {matched}");
    }
}
