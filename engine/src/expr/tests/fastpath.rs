//! Differential tests of the compiler's optimizations (shared `File()` lines, hoisting,
//! per-element caches, native fast paths): every expression must give exactly the same value
//! or error with optimizations on as with them off.

use std::sync::Arc;

use proptest::prelude::*;

use crate::expr::Compiler;
use crate::expr::functions::{DataFiles, DataKind, Functions, HelperContext};
use crate::expr::value::Value;

/// The registry with `f.txt` (lines `lines`) and `cves.json` loaded.
pub(super) fn functions(lines: &[String]) -> Arc<Functions> {
    let mut d = DataFiles::new();
    d.load_str("f.txt", &lines.join("\n"), DataKind::String)
        .unwrap();
    d.load_str(
        "cves.json",
        "{\"uri\": \"/a\", \"cve\": \"CVE-1\"}\n{\"uri\": \"/b.\", \"cve\": \"\"}\n{\"cve\": \"x\"}\nnot json\n",
        DataKind::String,
    )
    .unwrap();
    Arc::new(Functions::crowdsec(HelperContext {
        data: Arc::new(d),
        stash: Arc::default(),
    }))
}

fn show(r: Result<Value<'_>, crate::expr::EvalError>) -> String {
    match r {
        Ok(v) => format!("{v:?}"),
        Err(e) => format!("error: {}", e.message),
    }
}

/// Evaluates `src` optimized and generic over `vars` (`x`, `y`, `l`); both must agree.
fn same(f: &Arc<Functions>, src: &str, vars: &[Value<'_>]) -> Result<String, TestCaseError> {
    let names = ["x", "y", "l"];
    let fast = Compiler::new(f.clone(), &names);
    let slow = Compiler::new(f.clone(), &names).with_optimizations(false);
    let (pf, ps) = match (fast.compile(src), slow.compile(src)) {
        (Ok(a), Ok(b)) => (a, b),
        (a, b) => {
            prop_assert_eq!(a.is_ok(), b.is_ok(), "{}", src);
            return Ok("compile error".into());
        }
    };
    let (a, b) = (show(pf.eval(vars)), show(ps.eval(vars)));
    prop_assert_eq!(&a, &b, "{}", src);
    // A second evaluation uses the caches built by the first.
    prop_assert_eq!(show(pf.eval(vars)), b, "{} (second evaluation)", src);
    Ok(a)
}

const BODIES: &[&str] = &[
    "x contains #",
    "# contains x",
    "x startsWith #",
    "# startsWith x",
    "x endsWith #",
    "# endsWith x",
    "x == #",
    "# == x",
    "# in l",
    "x in #",
    "Upper(x) contains Upper(#)",
    "Upper(#) contains Upper(x)",
    "Lower(x) == Lower(#)",
    "x endsWith Trim(#, \"a\")",
    "# == x && len(x) > 1",
    "x + y contains # || # == y",
    "let z = #; z contains x",
    "x contains # ? y contains # : false",
    "#index > 1 && x contains #",
    "any(l, {# == x}) && x startsWith #",
    "len(# + x) > 2",
    "Upper(#) == Upper(#)",
];

const KINDS: &[&str] = &[
    "any",
    "all",
    "none",
    "one",
    "count",
    "filter",
    "map",
    "find",
    "findIndex",
    "findLast",
    "findLastIndex",
];

fn word() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abAé.]{0,4}").unwrap()
}

fn line() -> impl Strategy<Value = String> {
    proptest::string::string_regex("[abAé.][abAé.]{0,3}").unwrap()
}

/// An element of a literal array: mostly strings, sometimes an int, nil or a list.
fn elem_src() -> impl Strategy<Value = String> {
    prop_oneof![
        8 => word().prop_map(|w| format!("{w:?}")),
        1 => (-2i64..3).prop_map(|i| i.to_string()),
        1 => Just("nil".to_string()),
        1 => Just("[\"a\"]".to_string()),
    ]
}

/// A variable's value: mostly a string, sometimes nil or an int.
fn var() -> impl Strategy<Value = Value<'static>> {
    prop_oneof![
        8 => word().prop_map(Value::string),
        1 => Just(Value::Nil),
        1 => (0i64..3).prop_map(Value::Int),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn optimized_closures_match_generic(
        kind in prop::sample::select(KINDS),
        body in prop::sample::select(BODIES),
        lines in prop::collection::vec(line(), 0..8),
        elems in prop::collection::vec(elem_src(), 0..8),
        all_strings in any::<bool>(),
        x in var(),
        y in var(),
        l in prop::collection::vec(word(), 0..4),
    ) {
        let f = functions(&lines);
        let l = Value::List(l.into_iter().map(Value::string).collect());
        let vars = [x, y, l];
        let elems: Vec<String> = if all_strings {
            elems.into_iter().filter(|e| e.starts_with('"')).collect()
        } else {
            elems
        };
        let array = format!("[{}]", elems.join(", "));
        for list in ["File(\"f.txt\")", array.as_str(), "l", "File(\"missing.txt\")"] {
            same(&f, &format!("{kind}({list}, {{{body}}})"), &vars)?;
        }
    }

    #[test]
    fn contains_any_matches_go(
        hay in "[abAé.]{0,12}",
        needles in prop::collection::vec("[abAé.]{0,3}", 0..12),
    ) {
        let f = functions(&[]);
        let array = format!("[{}]", needles.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "));
        let vars = [Value::string(hay.clone()), Value::Nil, Value::Nil];
        for src in [format!("any({array}, {{x contains #}})"), format!("none({array}, {{x contains #}})")] {
            let got = same(&f, &src, &vars)?;
            let want = needles.iter().any(|n| hay.contains(n.as_str())) == src.starts_with("any");
            prop_assert_eq!(got, want.to_string(), "{}", src);
        }
    }

    /// `any`/`none` of `x startsWith #` and `x endsWith #` over constant lists (anchored
    /// automata, the suffixes reversed) against Go's `strings.HasPrefix`/`HasSuffix`, also
    /// through a data file.
    #[test]
    fn starts_and_ends_any_match_go(
        hay in "[abAé.]{0,12}",
        needles in prop::collection::vec("[abAé.]{0,4}", 0..12),
    ) {
        let f = functions(&needles);
        let array = format!("[{}]", needles.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "));
        let vars = [Value::string(hay.clone()), Value::Nil, Value::Nil];
        for list in [array.as_str(), "File(\"f.txt\")"] {
            for (kind, op) in [("any", "startsWith"), ("none", "startsWith"), ("any", "endsWith"), ("none", "endsWith")] {
                let src = format!("{kind}({list}, {{x {op} #}})");
                let got = same(&f, &src, &vars)?;
                // A data file skips empty lines.
                let hit = needles.iter().filter(|n| list.starts_with('[') || !n.is_empty()).any(|n| {
                    if op == "startsWith" { hay.starts_with(n.as_str()) } else { hay.ends_with(n.as_str()) }
                });
                prop_assert_eq!(got, (hit == (kind == "any")).to_string(), "{}", src);
            }
        }
    }
}

/// `endsWith` elements longer than the stack buffer `ends_any` reverses into.
#[test]
fn long_suffixes_match_generic() {
    let long = format!("/{}", "ab".repeat(40));
    let f = functions(&[long.clone(), "b".into()]);
    for (hay, want) in [
        (format!("x{long}"), "true"),
        (long[1..].to_string(), "false"),
        ("a".repeat(100), "false"),
    ] {
        let ends_b = hay.ends_with('b');
        let vars = [Value::string(hay), Value::Nil, Value::Nil];
        let got = same(&f, &format!("any([{long:?}], {{x endsWith #}})"), &vars).unwrap();
        assert_eq!(got, want);
        let file = same(&f, "any(File(\"f.txt\"), {x endsWith #})", &vars).unwrap();
        assert_eq!(file, (ends_b || want == "true").to_string());
    }
}

#[test]
fn hub_shapes_match_generic() {
    let lines: Vec<String> = [
        "/etc/passwd",
        "..%2f",
        "select",
        "UNION",
        "wp-config.php",
        "é",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let f = functions(&lines);
    let bodies = [
        "{ x endsWith #}",
        "{ x == #}",
        "{x contains #}",
        "{ Lower(x) contains #}",
        "{Upper(x) contains Upper(#)}",
        "{Upper(QueryUnescape(x)) contains Upper(#)}",
    ];
    let inputs = [
        "",
        "/index.php",
        "/x/wp-config.php",
        "?id=1 union select",
        "%2e%2e%2fetc%2fpasswd",
        "..%2F..%2f",
        "É",
        "%zz",
    ];
    for b in bodies {
        for x in inputs {
            let vars = [Value::str(x), Value::Nil, Value::Nil];
            same(&f, &format!("any(File(\"f.txt\"), {b})"), &vars).unwrap();
            same(&f, &format!("count(File(\"f.txt\"), {b})"), &vars).unwrap();
        }
    }
    let cve = "any(File(\"cves.json\"), { x contains JsonExtract(#, \"uri\") ? JsonExtract(#, \"cve\") != \"\" : false })";
    for x in ["/a", "/b.x", "/c", ""] {
        same(&f, cve, &[Value::str(x), Value::Nil, Value::Nil]).unwrap();
    }
    // `in` against a constant list, and errors of the body (wrong types) in element order.
    for (src, x) in [
        ("x in [\"a\", \"b\"]", Value::str("b")),
        ("x in [\"a\", 1, nil]", Value::Nil),
        ("any([\"a\", 1], {x contains #})", Value::str("zzz")),
        ("any([\"a\", 1], {x contains #})", Value::str("a")),
        ("any([1, \"a\"], {x contains #})", Value::str("a")),
        ("all([], {x contains #})", Value::Int(1)),
        ("any([\"a\"], {x contains #})", Value::Int(1)),
        (
            "any(File(\"f.txt\"), {Upper(x) contains Upper(#)})",
            Value::Int(1),
        ),
        ("any([\"a\", 1], {Upper(#) == x})", Value::str("A")),
        ("any([1, \"a\"], {Upper(#) == x})", Value::str("A")),
    ] {
        same(&f, src, &[x, Value::Nil, Value::Nil]).unwrap();
    }
}

#[test]
fn file_is_shared_and_replaced_file_is_called() {
    let lines = vec!["a".to_string(), "b".to_string()];
    let f = functions(&lines);
    let c = Compiler::new(f, &["x"]);
    let p = c.compile("File(\"f.txt\")").unwrap();
    assert_eq!(show(p.eval(&[Value::Nil])), "[\"a\", \"b\"]");
    let p = c.compile("len(File(\"nope.txt\"))").unwrap();
    assert_eq!(show(p.eval(&[Value::Nil])), "0");

    // A `File` registered by the host is called, not bypassed.
    let mut f = Functions::crowdsec(HelperContext::default());
    f.register(
        "File",
        crate::expr::functions::Arity::Exact(1),
        Box::new(|_| Ok(Value::List(vec![Value::str("z")]))),
    );
    let c = Compiler::new(Arc::new(f), &["x"]);
    let p = c.compile("any(File(\"f.txt\"), {# == x})").unwrap();
    assert_eq!(show(p.eval(&[Value::str("z")])), "true");
}
