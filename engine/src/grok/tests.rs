use std::collections::BTreeMap;
use std::path::Path;

use proptest::prelude::*;
use regex::Regex;

use super::translate::translate;
use super::*;

fn patterns() -> std::path::PathBuf {
    crate::testdata::shared("crowdsec/patterns")
}

fn rx(go: &str) -> Regex {
    Regex::new(&translate(go).unwrap().regex).unwrap()
}

pub(super) fn lib() -> PatternLibrary {
    let mut l = PatternLibrary::new();
    l.load_dir(&patterns()).unwrap();
    l
}

fn run(g: &Grok, text: &str) -> Option<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    g.captures(text, |k, v| {
        m.insert(k.to_string(), v.to_string());
    })
    .then_some(m)
}

#[test]
fn perl_classes_are_ascii() {
    assert!(!rx(r"^\d$").is_match("٣"));
    assert!(rx(r"^\D$").is_match("٣"));
    assert!(!rx(r"^\w$").is_match("é"));
    assert!(rx(r"^\W$").is_match("é"));
    assert!(!rx(r"^\s$").is_match("\u{a0}"));
    assert!(!rx(r"^\s$").is_match("\x0B"), "Go \\s excludes \\v");
    assert!(rx(r"^\S$").is_match("\u{a0}"));
    assert!(rx(r"^[\d]+$").is_match("123") && !rx(r"^[\d]+$").is_match("٣"));
    assert!(rx(r"^[^\d]$").is_match("٣"));
    assert!(rx(r"^[\W]$").is_match("é"));
    assert!(rx(r"^[a\S]$").is_match("é"));
    // Go's \b is an ASCII word boundary: 'é' is not a word character.
    assert!(rx(r"\bx").is_match("éx"));
    assert!(!rx(r"a\Bé").is_match("aé"));
}

#[test]
fn quoting_escapes_and_classes() {
    assert!(rx(r"^\Qa.b*c\E$").is_match("a.b*c"));
    assert!(!rx(r"^\Qa.b*c\E$").is_match("axbbc"));
    assert!(rx(r"^\Q(unterminated").is_match("(unterminated"));
    assert!(rx(r"^\/\-\@\#\ \<\>\:$").is_match("/-@# <>:"));
    assert!(rx(r"^\101$").is_match("A"));
    assert!(rx(r"^\x41\x{42}$").is_match("AB"));
    assert!(
        rx(r"^a{,2}$").is_match("a{,2}"),
        "invalid repetition is literal in Go"
    );
    assert!(rx(r"^%{INT:x:int}$").is_match("%{INT:x:int}"));
    assert!(rx(r"^a{2}$").is_match("aa"));
    assert!(
        rx(r"^[[a]+$").is_match("[a["),
        "`[` inside a class is literal"
    );
    assert!(rx(r"^[a&&b]+$").is_match("a&b"));
    assert!(rx(r"^[+--]+$").is_match("+,-"));
    assert!(rx(r"^[a-]+$").is_match("a-"));
    assert!(rx(r"^[]a]+$").is_match("]a"));
    assert!(rx(r"^[~~]$").is_match("~"));
    assert!(rx(r"^[[:alpha:]]+$").is_match("abc") && !rx(r"^[[:alpha:]]$").is_match("é"));
    assert!(
        rx(r"^[[:]+$").is_match("[:[") && !rx(r"^[[:]$").is_match("]"),
        "`[:]` holds no class name: `[` and `:` are literal"
    );
    assert!(rx(r"^\pN+$").is_match("1٣"));
    assert!(rx(r"(?i)^abc$").is_match("ABC"));
    assert!(rx(r"(?s)^a.b$").is_match("a\nb"));
    assert_eq!(rx(r"(?U)a+").find("aaa").unwrap().as_str(), "a");
    assert!(rx(r"^a\z").is_match("a"));
}

#[test]
fn named_groups_keep_numbering() {
    let t = translate(r"(?P<a>x)(?<a>y)(?:z)(w)").unwrap();
    assert_eq!(t.groups, 3);
    let c = Regex::new(&t.regex).unwrap().captures("xyzw").unwrap();
    assert_eq!(&c[3], "w");
    assert!(translate(r"(?P<a.b>x)").is_err());
    assert!(translate(r"\1").is_err());
    assert!(translate("[abc").is_err());
}

#[test]
fn syslogline_fields() {
    let l = lib();
    let g = l.compile("%{SYSLOGLINE}").unwrap();
    let m = run(
        &g,
        "Jan 24 15:32:31 server sshd[2651912]: Disconnected from 1.2.3.4 port 22",
    )
    .unwrap();
    assert_eq!(m["program"], "sshd");
    assert_eq!(m["pid"], "2651912");
    assert_eq!(m["logsource"], "server");
    assert_eq!(m["timestamp"], "Jan 24 15:32:31");
    assert_eq!(m["message"], "Disconnected from 1.2.3.4 port 22");
    // Optional facility not present: included with an empty value, as grokky does.
    assert_eq!(m["facility"], "");
    assert!(run(&g, "").is_none());
}

#[test]
fn duplicate_and_empty_fields() {
    let mut l = PatternLibrary::new();
    l.add("INNER", "%{WORD:a}-%{WORD:b}");
    // top-level `a` beats the nested `a`; last top-level wins among duplicates.
    let g = l.compile("%{INNER} %{WORD:a}").unwrap();
    let m = run(&g, "x-y z").unwrap();
    assert_eq!((m["a"].as_str(), m["b"].as_str()), ("z", "y"));
    let g = l.compile("%{WORD:a} %{WORD:a}").unwrap();
    assert_eq!(run(&g, "p q").unwrap()["a"], "q");
    let g = l.compile("^(?:%{INT:a}|%{WORD:a})$").unwrap();
    assert_eq!(run(&g, "ab").unwrap()["a"], "ab");
    assert_eq!(
        run(&g, "42").unwrap()["a"],
        "",
        "the last group wins even when unmatched"
    );
    // no field: CrowdSec considers the grok failed
    assert!(run(&l.compile("%{WORD}").unwrap(), "abc").is_none());
    // unnamed references are not fields, type suffixes are not references
    assert_eq!(l.compile("%{WORD} %{INT:n}").unwrap().field_names(), ["n"]);
    let g = l.compile("%{INT:n:int}").unwrap();
    assert!(g.field_names().is_empty());
}

#[test]
fn grokky_group_count_quirk() {
    let l = PatternLibrary::new();
    // grokky counts `s)` as a flag group, so the field after it is bound one group early.
    let g = l.compile("(?:ab|cds) (x) %{WORD:w}").unwrap();
    assert_eq!(run(&g, "cds x yy").unwrap()["w"], "x");
}

#[test]
fn errors() {
    let l = PatternLibrary::new();
    let e = l.compile("%{NOPE:x}").unwrap_err();
    assert!(e.to_string().contains("NOPE"), "{e}");
    let mut l = PatternLibrary::new();
    l.add("BAD", "a(b");
    let e = l.compile("%{BAD:x}").unwrap_err();
    assert!(matches!(&e, GrokError::Regex { .. }), "{e}");
    l.add("BAD2", r"\8");
    let e = l.compile("%{BAD2:x}").unwrap_err();
    assert!(e.to_string().contains("BAD2"), "{e}");
    l.add("LOOP1", "%{LOOP2}");
    l.add("LOOP2", "x%{LOOP1}");
    let e = l.compile("%{LOOP1:y}").unwrap_err();
    assert!(matches!(e, GrokError::Recursive { .. }), "{e}");
    l.add("SELF", "%{SELF}");
    assert!(l.compile_named("SELF").is_err());
    assert_eq!(l.compile("").unwrap_err(), GrokError::Empty);
}

#[test]
fn scratch_reuse() {
    let l = PatternLibrary::new();
    let a = l.compile("%{INT:n}").unwrap();
    let b = l.compile("%{WORD:w} %{WORD:v}").unwrap();
    let mut s = GrokScratch::new();
    let mut got = Vec::new();
    assert!(a.captures_with(&mut s, "x 12", |k, v| got.push((k.to_string(), v))));
    assert!(b.captures_with(&mut s, "ab cd", |k, v| got.push((k.to_string(), v))));
    assert!(a.captures_with(&mut s, "7", |k, v| got.push((k.to_string(), v))));
    assert_eq!(got.len(), 4);
    assert_eq!(got[3], ("n".to_string(), "7"));
}

/// Every grok of every hub parser, with the parser's `pattern_syntax`.
pub(super) type HubGrok = (String, Vec<(String, String)>, String, bool);

pub(super) fn hub_groks() -> Vec<HubGrok> {
    fn walk(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    }
    fn collect(
        v: &serde_json::Value,
        syn: &mut Vec<(String, String)>,
        groks: &mut Vec<(String, bool)>,
    ) {
        match v {
            serde_json::Value::Object(m) => {
                if let Some(serde_json::Value::Object(ps)) = m.get("pattern_syntax") {
                    for (k, p) in ps {
                        syn.push((k.clone(), p.as_str().unwrap_or_default().to_string()));
                    }
                }
                if let Some(serde_json::Value::Object(g)) = m.get("grok") {
                    if let Some(p) = g.get("pattern").and_then(|p| p.as_str()) {
                        groks.push((p.to_string(), false));
                    }
                    if let Some(n) = g.get("name").and_then(|p| p.as_str()) {
                        groks.push((n.to_string(), true));
                    }
                }
                m.values().for_each(|x| collect(x, syn, groks));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| collect(x, syn, groks)),
            _ => {}
        }
    }
    let mut files = Vec::new();
    walk(&crate::testdata::shared("crowdsec/hub/parsers"), &mut files);
    files.sort();
    let mut out = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        let docs: Vec<serde_json::Value> = serde_saphyr::from_multiple(&text).unwrap_or_default();
        let (mut syn, mut groks) = (Vec::new(), Vec::new());
        docs.iter().for_each(|d| collect(d, &mut syn, &mut groks));
        for (g, named) in groks {
            out.push((f.display().to_string(), syn.clone(), g, named));
        }
    }
    out
}

#[test]
fn whole_library_and_hub_compile() {
    let l = lib();
    let mut names: Vec<&str> = Vec::new();
    let raw = lib();
    let all: Vec<String> = {
        let mut v: Vec<String> = raw_names(&raw);
        v.sort();
        v
    };
    names.extend(all.iter().map(String::as_str));
    let mut failed = Vec::new();
    for n in &names {
        if let Err(e) = l.compile_named(n) {
            failed.push(format!("{n}: {e}"));
        }
    }
    assert!(failed.is_empty(), "{failed:#?}");
    let hub = hub_groks();
    let mut hub_failed = Vec::new();
    for (file, syn, g, named) in &hub {
        let mut l = l.clone();
        for (k, v) in syn {
            l.add_if_absent(k, v);
        }
        let r = if *named {
            l.compile_named(g)
        } else {
            l.compile(g)
        };
        if let Err(e) = r {
            hub_failed.push(format!("{file}: {e}"));
        }
    }
    eprintln!(
        "library patterns compiled: {}; hub groks compiled: {}/{}",
        names.len(),
        hub.len() - hub_failed.len(),
        hub.len()
    );
    assert!(hub_failed.is_empty(), "{hub_failed:#?}");
}

fn raw_names(l: &PatternLibrary) -> Vec<String> {
    l.names().map(str::to_string).collect()
}

proptest! {
    #[test]
    fn translate_never_panics(s in ".{0,40}") {
        if let Ok(t) = translate(&s) {
            let _ = Regex::new(&t.regex);
        }
    }

    #[test]
    fn translate_never_panics_meta(s in r"[\\()\[\]{}^$.*+?|:PQEdwsbDWSB0-9a-z<>&~-]{0,30}") {
        if let Ok(t) = translate(&s) {
            let _ = Regex::new(&t.regex);
        }
    }

    #[test]
    fn quoted_literals_match_exactly(s in ".{0,30}") {
        prop_assume!(!s.contains(r"\E"));
        let r = rx(&format!(r"^\Q{s}\E$"));
        prop_assert!(r.is_match(&s));
        let other = format!("{s}x");
        prop_assert!(!r.is_match(&other));
    }
}
