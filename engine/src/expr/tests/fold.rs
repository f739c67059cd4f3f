//! `Upper(field)` / `Lower(field)` compared without folding a copy ([`crate::expr::pred::Fold`]):
//! predicates and `any`/`none` closures over constant lists, against the plain evaluator, on
//! ASCII and non-ASCII values (where Go's case mappings are not ASCII's and the fast paths must
//! give up).

use std::sync::Arc;

use proptest::prelude::*;

use crate::event::{Event, resolve_field};
use crate::expr::compile::Ir;
use crate::expr::functions::{Functions, HelperContext};
use crate::expr::{Compiler, Value};

/// Letters whose case mappings differ between ASCII and Unicode: `ß`, dotless `ı` (upper `I`),
/// long `ſ` (upper `S`), the Kelvin sign (lower `k`), `é`/`É`.
fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec![
            "a", "b", "A", "B", "i", "I", "s", "S", "k", "K", "=", " ", "é", "É", "ß", "ı", "ſ",
            "\u{212a}",
        ]),
        0..7,
    )
    .prop_map(|v| v.concat())
}

fn quoted(s: &str) -> String {
    format!("{s:?}")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn folded_comparisons_match_the_evaluator(
        a in text(),
        b in text(),
        mut lits in prop::collection::vec(text(), 1..4),
        pick in 0..5usize,
        cut in 0..8usize,
    ) {
        // Texts near the values, so that comparisons also hold: a value itself, its ASCII
        // upper or lower case, or a piece of it.
        let other = lits[0].clone();
        let near = |v: &str| match pick {
            0 => v.to_owned(),
            1 => v.to_ascii_uppercase(),
            2 => v.to_ascii_lowercase(),
            3 => v.chars().skip(cut % 3).take(cut).collect(),
            _ => other.clone(),
        };
        lits[0] = near(&a);
        let last = lits.len() - 1;
        lits[last] = near(&b);
        let functions = Arc::new(Functions::crowdsec(HelperContext::default()));
        let plain = Compiler::new(functions.clone(), &["evt"]).with_optimizations(false);
        let fast = Compiler::new(functions, &["evt"]).with_fields("evt", resolve_field);
        let mut evt = Event::default();
        evt.parsed.insert("a", &a);
        evt.meta.insert("b", &b);
        let l = quoted(&lits[0]);
        let list = format!("[{}]", lits.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", "));
        let preds = [
            format!("Upper(evt.Parsed.a) contains {l}"),
            format!("Upper(evt.Parsed.a) startsWith {l}"),
            format!("Lower(evt.Meta.b) endsWith {l}"),
            format!("Upper(evt.Parsed.a) == {l}"),
            format!("Lower(evt.Meta.b) != {l}"),
            format!("Upper(evt.Parsed.a) in {list}"),
            format!("Lower(evt.Meta.b) contains {l} || Upper(evt.Parsed.a) endsWith {l}"),
        ];
        let closures = [
            format!("any({list}, {{Upper(evt.Parsed.a) contains Upper(#)}})"),
            format!("none({list}, {{Upper(evt.Parsed.a) contains #}})"),
            format!("any({list}, {{Lower(evt.Meta.b) contains #}})"),
        ];
        for src in preds.iter().chain(&closures) {
            let (p, f) = (plain.compile(src).unwrap(), fast.compile(src).unwrap());
            let want = format!("{:?}", p.eval(&[Value::Obj(&evt)]).map_err(|e| e.message));
            let got = format!("{:?}", f.eval(&[Value::Obj(&evt)]).map_err(|e| e.message));
            prop_assert_eq!(got, want, "{} with a = {:?}, b = {:?}", src, a, b);
        }
        // The fast paths are there to be taken.
        for src in &preds {
            prop_assert!(fast.compile(src).unwrap().inner.pred.is_some(), "{}", src);
        }
        for src in &closures {
            let p = fast.compile(src).unwrap();
            let folded = matches!(&p.inner.ir, Ir::Closure(c) if c.fast.as_ref().is_some_and(|f| f.folded.is_some()));
            prop_assert!(folded, "{} {:?}", src, p.inner.ir);
        }
    }
}
