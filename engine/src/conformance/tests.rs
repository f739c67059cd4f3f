use std::path::Path;

use super::v14::check_expression;
use super::*;
use crate::grok::{GrokError, PatternLibrary};

#[test]
fn formats_as_current_and_1_4_crowdsec_read_them() {
    use FormatCheck::*;
    use ItemKind::*;
    let cur = CrowdsecVersion::Current;
    let old = CrowdsecVersion::V1_4;
    for f in ["", "1.0", "2.0", "3.0", "v2", "1"] {
        assert_eq!(check_format(f, Parser, cur), Supported, "{f}");
        assert_eq!(check_format(f, Scenario, cur), Supported, "{f}");
    }
    assert!(matches!(check_format("3.1", Scenario, cur), Skipped(_)));
    assert!(matches!(check_format("0.9", Parser, cur), Skipped(_)));
    // A pre-release satisfies no plain constraint (go-version).
    assert!(matches!(check_format("2.0-rc1", Parser, cur), Skipped(_)));
    assert!(matches!(check_format("abc", Parser, cur), Invalid(_)));
    // 1.4: parsers up to 2.0 inclusive, scenarios below 3.0.
    assert_eq!(check_format("2.0", Parser, old), Supported);
    assert!(matches!(check_format("3.0", Parser, old), Skipped(_)));
    assert_eq!(check_format("2.9", Scenario, old), Supported);
    let Skipped(why) = check_format("3.0", Scenario, old) else {
        panic!()
    };
    assert_eq!(
        why,
        "3.0 doesn't satisfy scenario format >= 1.0, < 3.0, skip"
    );
}

fn rules(src: &str, evt: bool) -> Vec<Rule> {
    check_expression(src, evt)
        .into_iter()
        .map(|(r, _)| r)
        .collect()
}

#[test]
fn expressions_as_expr_1_9_with_crowdsec_1_4_helpers_reads_them() {
    assert_eq!(
        rules("ReplaceAll(evt.Parsed.x, 'a', 'b')", true),
        [Rule::V14Helper]
    );
    assert_eq!(
        rules("evt.Unmarshaled.x == 'y'", true),
        [Rule::V14EventField]
    );
    assert_eq!(rules("evt.SetMeta('a', 'b')", true), [Rule::V14EventField]);
    assert_eq!(rules("evt.Meta.x ?? 'none'", true), [Rule::V14Syntax]);
    assert_eq!(
        rules("evt.Meta.x | upper()", true),
        [Rule::V14Syntax, Rule::V14Helper]
    );
    assert_eq!(rules("let x = 1; x", true), [Rule::V14Syntax]);
    assert_eq!(rules("`raw`", true), [Rule::V14Syntax]);
    // What 1.4 has: its helpers, expr 1.9 builtins and operators, members of other objects,
    // function names inside strings.
    for ok in [
        "Upper(evt.Meta.x) in ['A', 'B'] || evt.Parsed.y matches 'ReplaceAll(.*)'",
        "all(File('x.txt'), {# startsWith evt.Meta.http_path}) && not (evt.Meta.a == '')",
        "evt.Meta.Unmarshaled == '' and evt.GetMeta('x') != '' or evt.Overflow.Alert != nil",
        "Alert.GetScenario() == 'x' ? '4h' : Sprintf('%dh', GetDecisionsCount(Alert.GetValue()))",
        "evt?.Meta?.x == 'a'",
    ] {
        assert!(
            check_expression(ok, true).is_empty(),
            "{ok}: {:?}",
            check_expression(ok, true)
        );
    }
    // Without an event (profiles), `evt.X` is not checked.
    assert!(rules("evt.Unmarshaled.x == ''", false).is_empty());
}

#[test]
fn lines_are_found_after_a_start() {
    let text = "name: a\nfilter: x\n---\nname: b\nfilter: x\n";
    assert_eq!(line_of(text, "filter: x"), Some(2));
    assert_eq!(locate_after(text, "filter: x", 4), Some(5));
    assert_eq!(locate_after(text, "  \n  filter: x\n more", 1), Some(2));
    assert_eq!(line_of(text, ""), None);
    assert_eq!(
        yaml_at(Path::new("f.yaml"), "line 4 column 1: duplicate"),
        "f.yaml:4"
    );
    assert_eq!(yaml_at(Path::new("f.yaml"), "no position"), "f.yaml");
}

#[test]
fn pattern_files_load_one_pattern_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a-first"),
        "A_USES %{B_LATER}\r\nA_OWN [a-z]+\r\n# comment\nA_OWN [0-9]+\nA_BAD (x\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("b-later"), "B_LATER %{A_OWN}-%{WORD}\n").unwrap();
    // Names with a dot and directories are not pattern files.
    std::fs::write(dir.path().join("c.txt"), "C_SKIPPED %{NOPE}\n").unwrap();
    let mut lib = PatternLibrary::new();
    let problems = lib.load_dir_checked(dir.path()).unwrap();
    let a = dir.path().join("a-first").display().to_string();
    assert_eq!(
        problems,
        [
            GrokError::NotYetDefined {
                location: format!("{a}:1"),
                name: "B_LATER".into()
            },
            GrokError::Duplicate {
                location: format!("{a}:4"),
                name: "A_OWN".into()
            },
            GrokError::InvalidPattern {
                location: format!("{a}:5"),
                name: "A_BAD".into(),
                message: "unclosed group: `(x`".into()
            },
        ]
    );
    // The first definition is kept, a trailing \r is not part of the pattern, and everything
    // was added so that the next problem is found too.
    assert_eq!(lib.get("A_OWN"), Some("[a-z]+"));
    assert_eq!(lib.get("B_LATER"), Some("%{A_OWN}-%{WORD}"));
    assert!(lib.get("C_SKIPPED").is_none());
    // The lenient reading resolves references wherever they are.
    assert!(lib.compile("%{A_USES:x}").is_ok());
}

#[test]
fn pattern_syntax_entries_are_checked_as_they_are_added() {
    let mut lib = PatternLibrary::new();
    let e = lib
        .add_checked("P_LINE", "%{P_WORD} more", "here")
        .unwrap_err();
    assert_eq!(e.to_string(), "here: the 'P_WORD' pattern doesn't exist");
    assert!(lib.get("P_LINE").is_none());
    assert_eq!(lib.add_checked("P_WORD", "[a-z]+", "here"), Ok(true));
    assert_eq!(
        lib.add_checked("P_LINE", "%{P_WORD} more", "here"),
        Ok(true)
    );
    // Defined already (here a base pattern): kept, nothing added.
    assert_eq!(lib.add_checked("WORD", "x", "here"), Ok(false));
    assert!(matches!(
        lib.add_checked("P_BAD", "a)", "here"),
        Err(GrokError::InvalidPattern { .. })
    ));
}

#[test]
fn the_hub_pattern_library_loads_strictly() {
    let dir = crate::testdata::shared("crowdsec/patterns");
    let mut lib = PatternLibrary::new();
    assert_eq!(lib.load_dir_checked(&dir).unwrap(), []);
    assert!(lib.len() > 300, "{}", lib.len());
}
