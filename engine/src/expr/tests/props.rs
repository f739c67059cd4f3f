//! Property tests: the parser never panics; printed ASTs re-parse to the same tree; random
//! integer arithmetic evaluates like a reference computation.

use std::sync::Arc;

use proptest::prelude::*;

use crate::expr::ast::{Kind, Node};
use crate::expr::functions::Functions;
use crate::expr::parser::parse;
use crate::expr::{Compiler, Value};

/// Strips columns/depths so trees can be compared structurally via their printed form.
fn reprint(n: &Node) -> String {
    n.to_string()
}

#[derive(Debug, Clone)]
enum A {
    N(i64),
    Add(Box<A>, Box<A>),
    Sub(Box<A>, Box<A>),
    Mul(Box<A>, Box<A>),
}

impl A {
    fn src(&self) -> String {
        match self {
            A::N(n) if *n < 0 => format!("({n})"),
            A::N(n) => n.to_string(),
            A::Add(a, b) => format!("({} + {})", a.src(), b.src()),
            A::Sub(a, b) => format!("{} - ({})", a.src(), b.src()),
            A::Mul(a, b) => format!("{} * {}", a.paren(), b.paren()),
        }
    }
    fn paren(&self) -> String {
        format!("({})", self.src())
    }
    fn val(&self) -> i64 {
        match self {
            A::N(n) => *n,
            A::Add(a, b) => a.val().wrapping_add(b.val()),
            A::Sub(a, b) => a.val().wrapping_sub(b.val()),
            A::Mul(a, b) => a.val().wrapping_mul(b.val()),
        }
    }
}

fn arb() -> impl Strategy<Value = A> {
    let leaf = (-1000i64..1000).prop_map(A::N);
    leaf.prop_recursive(6, 64, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| A::Add(Box::new(a), Box::new(b))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| A::Sub(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| A::Mul(Box::new(a), Box::new(b))),
        ]
    })
}

const TOKENS: &[&str] = &[
    "a", "b.c", "1", "2.5", "'s'", "\"t\"", "+", "-", "*", "/", "%", "**", "==", "<", "and", "or",
    "not", "in", "matches", "??", "?", ":", "(", ")", "[", "]", "{", "}", ",", ".", "?.", "#",
    "len(", "any(", "..", "|", "let", "=", ";", "nil", "true",
];

proptest! {
    #[test]
    fn parser_never_panics(s in "\\PC{0,200}") {
        let _ = parse(&s);
    }

    #[test]
    fn parser_never_panics_on_token_soup(toks in prop::collection::vec(prop::sample::select(TOKENS), 0..60)) {
        let src = toks.join(" ");
        if let Ok(n) = parse(&src) {
            let printed = reprint(&n);
            let again = parse(&printed).map_err(|e| TestCaseError::fail(format!("{printed}: {}", e.msg)))?;
            prop_assert_eq!(reprint(&again), printed);
        }
        let c = Compiler::new(Arc::new(Functions::empty()), &["a", "b"]);
        if let Ok(p) = c.compile(&src) {
            let _ = p.eval(&[Value::Int(1), Value::Nil]);
        }
    }

    #[test]
    fn arithmetic_matches_reference(a in arb()) {
        let c = Compiler::new(Arc::new(Functions::empty()), &[]);
        let p = c.compile(&a.src()).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let v = p.eval(&[]).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert!(matches!(v, Value::Int(x) if x == a.val()), "{} = {:?}, want {}", a.src(), v, a.val());
    }
}

#[test]
fn deep_and_long_inputs_do_not_crash() {
    let deep = "(".repeat(100_000);
    assert!(parse(&deep).is_err());
    let long = vec!["1"; 50_000].join(" + ");
    assert!(parse(&long).is_err());
    let ok = vec!["1"; 100].join(" + ");
    assert!(parse(&ok).is_ok());
    let _ = Kind::Nil;
}
