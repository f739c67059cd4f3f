//! Filters whose leading comparisons are predicates and the rest not
//! (`evt.Meta.log_type in [...] && any(File(...), ...)`): when the leading ones hold, only the
//! items after them are evaluated ([`crate::expr::pred::Guard::Rest`]). Against the plain
//! evaluator, with rests that are false, true, not booleans, nil or errors.

use std::sync::Arc;

use proptest::prelude::*;

use crate::event::{Event, resolve_field};
use crate::expr::functions::{Functions, HelperContext};
use crate::expr::pred::Pred;
use crate::expr::{Compiler, Value};

const GUARDS: &[&str] = &[
    "evt.Meta.t == 'x'",
    "evt.Meta.t in ['x', 'y']",
    "evt.Parsed.p contains 'a'",
    "evt.Meta.t != 'z'",
];

const RESTS: &[&str] = &[
    "len(evt.Parsed.p) > 1",
    "evt.Parsed.p + 'z' == 'az'",
    "one(['a', 'b'], {evt.Parsed.p contains #})",
    "all(['a', 'b'], {evt.Parsed.p endsWith #})",
    "evt.Parsed.p matches evt.Parsed.p",
    "1",
    "evt.Parsed.p",
    "nil",
    "evt.Parsed.p.nope",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn guarded_filters_match_the_evaluator(
        t in prop::sample::select(vec!["x", "y", "z", ""]),
        p in prop::option::of(prop::sample::select(vec!["a", "ab", "b", "[", "", "ba"])),
        guards in prop::collection::vec(prop::sample::select(GUARDS.to_vec()), 1..3),
        rests in prop::collection::vec(prop::sample::select(RESTS.to_vec()), 1..3),
        or in any::<bool>(),
        tail_guard in prop::option::of(prop::sample::select(GUARDS.to_vec())),
    ) {
        let op = if or { " || " } else { " && " };
        let mut items: Vec<&str> = guards.clone();
        items.extend(&rests);
        items.extend(tail_guard);
        let src = items.join(op);
        let functions = Arc::new(Functions::crowdsec(HelperContext::default()));
        let plain = Compiler::new(functions.clone(), &["evt"]).with_optimizations(false);
        let fast = Compiler::new(functions, &["evt"]).with_fields("evt", resolve_field);
        let mut evt = Event::default();
        evt.meta.insert("t", t);
        if let Some(p) = p {
            evt.parsed.insert("p", p);
        }
        let (slow, quick) = (plain.compile(&src).unwrap(), fast.compile(&src).unwrap());
        let want = format!("{:?}", slow.eval(&[Value::Obj(&evt)]).map_err(|e| e.message));
        let got = format!("{:?}", quick.eval(&[Value::Obj(&evt)]).map_err(|e| e.message));
        prop_assert_eq!(&got, &want, "{} with t = {:?}, p = {:?}", src, t, p);
        // Twice: closures keep tables built on first use.
        let again = format!("{:?}", quick.eval(&[Value::Obj(&evt)]).map_err(|e| e.message));
        prop_assert_eq!(again, want, "{} (second evaluation)", src);
        // The guard is there to be taken.
        let guarded = matches!(quick.inner.pred, Some(Pred::AllThen(_) | Pred::AnyThen(_)));
        prop_assert!(guarded, "{}", src);
    }
}
