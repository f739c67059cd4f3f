//! `any` / `none` closures over constant lists answered by their tables as predicates
//! ([`crate::expr::pred::TableTest`]), alone and inside filters, against the plain evaluator:
//! first evaluation (the table is built), later ones (the predicate answers), ASCII and
//! non-ASCII values, absent fields, lists from `File()` and literals.

use proptest::prelude::*;

use super::fastpath::functions;
use crate::event::{Event, resolve_field};
use crate::expr::pred::Pred;
use crate::expr::{Compiler, Value};

/// Bodies a table answers (`any`/`none`), and whether the value must be ASCII for it to.
const BODIES: &[(&str, bool)] = &[
    ("evt.Parsed.p contains #", false),
    ("evt.Parsed.p == #", false),
    ("# == evt.Parsed.p", false),
    ("evt.Parsed.p startsWith #", false),
    ("evt.Meta.t endsWith #", false),
    ("Upper(evt.Parsed.p) contains Upper(#)", true),
    ("Lower(evt.Parsed.p) contains #", true),
];

/// Bodies and kinds no table answers as a predicate.
const OTHERS: &[&str] = &[
    "any(LIST, {# contains evt.Parsed.p})",
    "all(LIST, {evt.Parsed.p contains #})",
    "one(LIST, {evt.Parsed.p == #})",
    "any(LIST, {Upper(evt.Parsed.p) == Upper(#)})",
    "any(LIST, {evt.Parsed.p in [#]})",
];

fn word() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abAé./]{0,3}").unwrap()
}

fn show(r: Result<Value<'_>, crate::expr::EvalError>) -> String {
    format!("{:?}", r.map_err(|e| e.message))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(384))]

    #[test]
    fn table_predicates_match_the_evaluator(
        body in prop::sample::select(BODIES.to_vec()),
        other in prop::sample::select(OTHERS.to_vec()),
        none in any::<bool>(),
        lines in prop::collection::vec(word(), 0..6),
        literal in prop::collection::vec(word(), 0..4),
        p in prop::option::of(word()),
        t in prop::sample::select(vec!["x", "y", "a.b", ""]),
    ) {
        let f = functions(&lines);
        let plain = Compiler::new(f.clone(), &["evt"]).with_optimizations(false);
        let fast = Compiler::new(f, &["evt"]).with_fields("evt", resolve_field);
        let mut evt = Event::default();
        evt.meta.insert("t", t);
        if let Some(p) = &p {
            evt.parsed.insert("p", p);
        }
        let vars = [Value::Obj(&evt)];
        let kind = if none { "none" } else { "any" };
        let array = format!("[{}]", literal.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", "));
        for list in ["File(\"f.txt\")", array.as_str()] {
            let closure = format!("{kind}({list}, {{{}}})", body.0);
            let sources = [
                closure.clone(),
                format!("evt.Meta.t in ['x', 'a.b'] && {closure}"),
                format!("not {closure} || evt.Meta.t == 'y'"),
                other.replace("LIST", list),
            ];
            for src in &sources {
                let (slow, quick) = (plain.compile(src).unwrap(), fast.compile(src).unwrap());
                let want = show(slow.eval(&vars));
                for round in 0..3 {
                    prop_assert_eq!(show(quick.eval(&vars)), want.clone(), "{} (evaluation {})", src, round);
                }
            }
            // The closure alone is a table predicate, and answers once its table is built
            // (for a folded body, of an ASCII value only).
            let quick = fast.compile(&closure).unwrap();
            let Some(Pred::Table(t)) = &quick.inner.pred else {
                return Err(TestCaseError::fail(format!("{closure}: no table predicate")));
            };
            let _ = quick.eval(&vars);
            let answers = !body.1 || p.as_deref().is_none_or(str::is_ascii);
            prop_assert_eq!(t.eval(&vars).is_some(), answers, "{}", closure);
            let other = fast.compile(&other.replace("LIST", list)).unwrap();
            prop_assert!(!matches!(other.inner.pred, Some(Pred::Table(_))), "{}", other.inner.source);
        }
    }
}
