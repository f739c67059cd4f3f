//! Tests of the event setters seen from expressions (`evt.SetMeta`, `evt.SetParsed`).

use std::sync::Arc;

use super::{Event, WriteTarget};
use crate::expr::functions::{Functions, HelperContext};
use crate::expr::{Compiler, Value};

fn compiler() -> Compiler {
    Compiler::new(
        Arc::new(Functions::crowdsec(HelperContext::default())),
        &["evt"],
    )
}

/// Evaluates `src` on `evt`, then applies its writes as the parser does.
fn run(src: &str, evt: &mut Event) -> Result<String, String> {
    let p = compiler().compile(src).map_err(|e| e.to_string())?;
    let out = p
        .eval(&[Value::Obj(&*evt)])
        .map(|v| format!("{v:?}"))
        .map_err(|e| e.to_string());
    evt.apply_writes();
    out
}

#[test]
fn set_meta_and_set_parsed_return_true_and_write_after_evaluation() {
    let mut e = Event::default();
    assert_eq!(
        run("evt.SetMeta('cve', 'CVE-2021-3129')", &mut e),
        Ok("true".into())
    );
    assert_eq!(e.get_meta("cve"), "CVE-2021-3129");
    assert_eq!(
        run("evt.SetParsed('k', Upper('v'))", &mut e),
        Ok("true".into())
    );
    assert_eq!(e.parsed.get("k"), Some("V"));
    // Later writes of the same key win, in order.
    run("evt.SetMeta('a', '1') && evt.SetMeta('a', '2')", &mut e).unwrap();
    assert_eq!(e.get_meta("a"), "2");
    assert!(!e.writes.is_dirty());
}

#[test]
fn get_meta_sees_a_write_of_the_same_expression() {
    let mut e = Event::default();
    e.meta.insert("k", "old");
    let out = run(
        "evt.SetMeta('k', 'new') && evt.GetMeta('k') == 'new'",
        &mut e,
    );
    assert_eq!(out, Ok("true".into()));
    // Documented difference: the map itself shows the write once the expression is over.
    let out = run("evt.SetMeta('k', 'newer') && evt.Meta.k == 'new'", &mut e);
    assert_eq!(out, Ok("true".into()));
    assert_eq!(e.get_meta("k"), "newer");
}

#[test]
fn setters_in_conditions_and_closures() {
    let mut e = Event::default();
    e.meta.insert("http_path", "/_ignition/execute-solution");
    let src = r#"any(['{"uri":"/nope","cve":"A"}', '{"uri":"/_ignition","cve":"B"}'],
        { evt.Meta.http_path contains JsonExtract(#, "uri") ? evt.SetMeta("cve", JsonExtract(#, "cve")) : false })"#;
    assert_eq!(run(src, &mut e), Ok("true".into()));
    assert_eq!(e.get_meta("cve"), "B");
    let src = "if evt.Meta.http_path startsWith '/x' { evt.SetMeta('t', 'x') } else { let y = 'z'; evt.SetMeta('t', y) }";
    assert_eq!(run(src, &mut e), Ok("true".into()));
    assert_eq!(e.get_meta("t"), "z");
}

#[test]
fn setters_refuse_what_is_not_two_strings() {
    let mut e = Event::default();
    for src in [
        "evt.SetMeta('k', 1)",
        "evt.SetMeta('k')",
        "evt.SetParsed(nil, 'v')",
    ] {
        let err = run(src, &mut e).unwrap_err();
        assert!(err.contains("takes two strings"), "{src}: {err}");
    }
    assert!(e.meta.is_empty() && e.parsed.is_empty());
}

#[test]
fn pending_writes_survive_a_clone_and_apply_once() {
    let e = Event::default();
    e.writes.push(WriteTarget::Meta, "k", "v");
    let mut c = e.clone();
    assert!(c.writes.is_dirty());
    c.apply_writes();
    assert_eq!(c.get_meta("k"), "v");
    assert_eq!(e.writes.take().len(), 1);
    assert!(e.writes.take().is_empty());
}
