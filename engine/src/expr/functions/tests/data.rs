use std::path::PathBuf;

use super::*;
use crate::expr::functions::{DataError, DataFiles, DataKind};

fn temp_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("hivewall-fn-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn string_and_regexp_files() {
    let dir = temp_dir("files");
    std::fs::write(
        dir.join("words.txt"),
        "# comment\nfoo\n\nbar\r\n #not a comment\n",
    )
    .unwrap();
    std::fs::write(dir.join("re.txt"), "^/admin\n# c\n\\.php$\n").unwrap();
    let mut d = DataFiles::new();
    d.load(&dir, "words.txt", DataKind::String).unwrap();
    d.load(&dir, "re.txt", DataKind::Regexp).unwrap();
    d.load(&dir, "re.txt", DataKind::Regexp).unwrap();
    assert_eq!(
        d.lines("words.txt").unwrap(),
        ["foo", "bar", " #not a comment"]
    );
    let f = Functions::crowdsec(ctx_with(d));
    assert_eq!(
        strs(&call_s(&f, "File", &["words.txt"])),
        ["foo", "bar", " #not a comment"]
    );
    assert_eq!(
        strs(&call_s(&f, "File", &["missing.txt"])),
        Vec::<String>::new()
    );
    let m =
        |x: &str, file: &str| matches!(call_s(&f, "RegexpInFile", &[x, file]), Value::Bool(true));
    assert!(m("/admin/x", "re.txt"));
    assert!(m("/x/index.php", "re.txt"));
    assert!(!m("/x/index.html", "re.txt"));
    assert!(!m("/admin", "missing.txt"));
    std::fs::remove_dir_all(&dir).unwrap();
}

/// `RegexpInFile` answers from its per-thread memo what the regexes answer: values repeated,
/// more distinct values than the memo has slots (so they collide and evict), the same value
/// in two files, and a file loaded again with other patterns under the same name.
#[test]
fn regexp_answers_survive_the_memo() {
    let a = ["^/admin", "\\.php$", "(?i)sqlmap"];
    let b = ["admin", "^curl/"];
    let reference = |pats: &[&str], s: &str| {
        pats.iter()
            .any(|p| crate::expr::go_regex::compile(p).unwrap().is_match(s))
    };
    let mut d = DataFiles::new();
    d.load_str("a.txt", &a.join("\n"), DataKind::Regexp)
        .unwrap();
    d.load_str("b.txt", &b.join("\n"), DataKind::Regexp)
        .unwrap();
    let values: Vec<String> = (0..3000)
        .map(|i| match i % 7 {
            0 => format!("/admin/{}", i % 50),
            1 => format!("/x/{i}.php"),
            2 => format!("curl/{}", i % 3),
            3 => "SQLMap/1.0".to_string(),
            4 => format!("/static/{i}.css"),
            5 => "x".repeat(1100 + i % 5),
            _ => format!("admin{}", i % 1000),
        })
        .collect();
    for round in 0..2 {
        for v in &values {
            assert_eq!(d.regexp_match("a.txt", v), Some(reference(&a, v)), "{v}");
            assert_eq!(d.regexp_match("b.txt", v), Some(reference(&b, v)), "{v}");
        }
        // Loaded again under the same name: the memo's answers for the old file must not
        // be given for the new one.
        let swapped: &[&str] = if round == 0 { &b } else { &a };
        d.load_str("a.txt", &swapped.join("\n"), DataKind::Regexp)
            .unwrap();
        for v in values.iter().take(200) {
            assert_eq!(
                d.regexp_match("a.txt", v),
                Some(reference(swapped, v)),
                "{v}"
            );
        }
        d.load_str("a.txt", &a.join("\n"), DataKind::Regexp)
            .unwrap();
    }
    assert_eq!(d.regexp_match("missing.txt", "x"), None);
}

/// The memo answers what it is asked to compute, whatever collides: one slot (every value
/// evicts the last), three slots, values shared by two files.
#[test]
fn memo_answers_by_file_and_value() {
    use crate::expr::functions::files::Memo;
    let truth = |id: u64, s: &str| (s.len() as u64 + id).is_multiple_of(3);
    for slots in [1, 3, 512] {
        let mut memo = Memo::new(slots);
        let mut computed = 0;
        for i in 0..2000u64 {
            // Each value asked of file 1, then of file 2 (whose answer differs).
            let (id, s) = (
                1 + i % 2,
                format!("v{}", (i / 2) % 5).repeat(1 + (i / 2 % 3) as usize),
            );
            let got = memo.answer(id, &s, || {
                computed += 1;
                truth(id, &s)
            });
            assert_eq!(got, truth(id, &s), "{slots} slots, file {id}, {s}");
        }
        // Thirty (file, value) pairs: with room for them, most are computed once.
        if slots == 512 {
            assert!(computed <= 60, "{computed}");
        }
    }
}

/// A file too large for one set is matched regex by regex, with the same answers, and a
/// line that does not parse is reported with its number whichever way the file is built.
#[test]
fn regexp_files_too_large_for_a_set() {
    // Each fits alone; twelve of them exceed the set's size limit.
    let big: Vec<String> = (0..12).map(|i| format!("^\\pL{{150}}{i}$")).collect();
    let mut d = DataFiles::new();
    d.load_str("big.txt", &big.join("\n"), DataKind::Regexp)
        .unwrap();
    d.load_str("small.txt", "^a\nb$", DataKind::Regexp).unwrap();
    assert_eq!(d.regexp_is_set("big.txt"), Some(false));
    assert_eq!(d.regexp_is_set("small.txt"), Some(true));
    let hit = format!("{}2", "é".repeat(150));
    assert_eq!(d.regexp_match("big.txt", &hit), Some(true));
    assert_eq!(
        d.regexp_match("big.txt", &format!("{}x", "é".repeat(150))),
        Some(false)
    );
    assert_eq!(
        d.regexp_match("big.txt", &format!("{}2", "é".repeat(149))),
        Some(false)
    );
    for (text, line) in [
        (format!("{}\n[z-a]", big.join("\n")), 13),
        ("x\n\ny(\n".to_string(), 3),
    ] {
        match d.load_str("bad.txt", &text, DataKind::Regexp) {
            Err(DataError::Regex { file, line: l, .. }) => {
                assert_eq!((file.as_str(), l), ("bad.txt", line))
            }
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn load_errors() {
    let dir = temp_dir("errors");
    std::fs::write(dir.join("bad.txt"), "ok\n(unclosed\n").unwrap();
    let mut d = DataFiles::new();
    match d.load(&dir, "bad.txt", DataKind::Regexp) {
        Err(DataError::Regex { file, line, .. }) => {
            assert_eq!((file.as_str(), line), ("bad.txt", 2))
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        d.load(&dir, "none.txt", DataKind::String),
        Err(DataError::Io { .. })
    ));
    assert!(matches!(
        d.load(&dir, "../x", DataKind::String),
        Err(DataError::BadName(_))
    ));
    assert_eq!(DataKind::from_type("regex"), Some(DataKind::Regexp));
    assert_eq!(DataKind::from_type("bots"), None);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn map_files() {
    let mut d = DataFiles::new();
    let text = r#"{"pattern": "/wp-login.php", "tag": "wordpress", "type": "equals"}
{"pattern": "phpmyadmin", "tag": "pma", "type": "contains"}
{"pattern": "admin", "tag": "generic-admin", "type": "contains"}
{"pattern": "^/jenkins/", "tag": "jenkins", "type": "regex"}
"#;
    d.load_str("tech.json", text, DataKind::Map).unwrap();
    let bad = r#"{"pattern": "x", "type": "equals"}"#;
    assert!(matches!(
        d.load_str("bad.json", bad, DataKind::Map),
        Err(DataError::Map { line: 1, .. })
    ));
    let f = Functions::crowdsec(ctx_with(d));
    let l = |x: &str| as_string(&call_s(&f, "LookupFile", &[x, "tech.json"]));
    assert_eq!(l("/wp-login.php"), "wordpress");
    assert_eq!(l("/admin/phpmyadmin/"), "generic-admin");
    assert_eq!(l("/x/phpmyadmin"), "pma");
    assert_eq!(l("/jenkins/login"), "jenkins");
    assert_eq!(l("/nothing"), "");
    let rows = call_s(&f, "FileMap", &["tech.json"]);
    assert!(matches!(rows, Value::List(ref r) if r.len() == 4));
}

#[test]
fn real_hub_data_files() {
    let data = crate::testdata::shared("crowdsec/data");
    let dir = data.as_path();
    let mut d = DataFiles::new();
    for (name, kind) in [
        ("web/bad_user_agents.txt", DataKind::String),
        ("web/sensitive_data.txt", DataKind::String),
        ("web/bad_user_agents.regex.txt", DataKind::Regexp),
        ("web/backdoors.txt", DataKind::String),
    ] {
        d.load(dir, name, kind).unwrap_or_else(|e| panic!("{e}"));
    }
    let lines = d.lines("web/bad_user_agents.txt").expect("loaded above");
    assert!(lines.len() > 10);
    assert!(lines.iter().all(|l| !l.is_empty() && !l.starts_with('#')));
    {
        let pats = d
            .regexp_patterns("web/bad_user_agents.regex.txt")
            .expect("loaded above");
        assert!(!pats.is_empty());
        assert!(
            !d.regexp_match("web/bad_user_agents.regex.txt", "")
                .unwrap_or(true)
                || pats.iter().any(|p| p.is_empty())
        );
    }
}
