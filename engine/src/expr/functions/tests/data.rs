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
