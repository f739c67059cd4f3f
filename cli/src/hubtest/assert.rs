//! Evaluating `parser.assert` / `scenario.assert` files, line by line, as CrowdSec's hubtest does.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use engine::expr::functions::{Arity, Functions};
use engine::expr::{Compiler, Value};

/// One assert line that did not hold.
#[derive(Debug, Clone)]
pub struct AssertFailure {
    /// 1-based line number in the assert file.
    pub line: usize,
    /// The expression.
    pub expr: String,
    /// What the left-hand side actually evaluated to (or why it could not be evaluated).
    pub found: String,
}

/// The outcome of one assert file.
#[derive(Debug, Clone, Default)]
pub struct AssertOutcome {
    /// Assert lines evaluated.
    pub total: usize,
    /// Those that failed.
    pub failures: Vec<AssertFailure>,
}

impl AssertOutcome {
    /// True when at least one assert ran and none failed.
    pub fn passed(&self) -> bool {
        self.failures.is_empty()
    }
}

/// The registry asserts are compiled with: CrowdSec's helpers plus hubtest's `basename`.
pub fn assert_functions(mut base: Functions) -> Arc<Functions> {
    base.register(
        "basename",
        Arity::Exact(1),
        Box::new(|args| match args {
            [Value::Str(s)] => {
                let trimmed = s.trim_end_matches('/');
                let base = trimmed.rsplit('/').next().unwrap_or("");
                Ok(Value::string(if trimmed.is_empty() {
                    ".".into()
                } else {
                    base.to_string()
                }))
            }
            [other] => Err(format!(
                "basename takes a string, got {}",
                other.type_name()
            )),
            _ => Err("basename takes one argument".into()),
        }),
    );
    Arc::new(base)
}

/// CrowdSec's backward-compatibility rewrite: an assert on `datasource_path` compares basenames.
fn basename_shim(expr: &str) -> String {
    if expr.contains("datasource_path") && !expr.contains("basename(") {
        let mut parts = expr.split("==");
        if let (Some(l), Some(r)) = (parts.next(), parts.next()) {
            return format!("basename({l}) == {r}");
        }
    }
    expr.to_string()
}

/// The left-hand side of `X == ...`, to show what was found.
fn variable_of(expr: &str) -> Option<&str> {
    let (lhs, _) = expr.split_once(" == ")?;
    let lhs = lhs.rsplit(' ').next()?;
    (!lhs.is_empty() && !lhs.contains('=')).then_some(lhs)
}

/// Evaluates every non-empty line of `path` against `results`.
pub fn run_assert_file(
    path: &Path,
    compiler: &Compiler,
    results: &Value<'_>,
) -> anyhow::Result<AssertOutcome> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = AssertOutcome::default();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.total += 1;
        let expr = basename_shim(line);
        let ok = match compiler.compile(&expr) {
            Ok(p) => match p.eval(std::slice::from_ref(results)) {
                Ok(Value::Bool(b)) => Ok(b),
                Ok(other) => Err(format!(
                    "assert returned {} instead of bool",
                    other.type_name()
                )),
                Err(e) => Err(e.to_string()),
            },
            Err(e) => Err(e.to_string()),
        };
        let found = match ok {
            Ok(true) => continue,
            Ok(false) => match variable_of(line).map(|v| (v, compiler.compile(v))) {
                Some((_, Ok(p))) => match p.eval(std::slice::from_ref(results)) {
                    Ok(v) => format!("{v:?}"),
                    Err(e) => format!("error: {e}"),
                },
                Some((_, Err(e))) => format!("error: {e}"),
                None => "false".to_string(),
            },
            Err(e) => format!("error: {e}"),
        };
        out.failures.push(AssertFailure {
            line: i + 1,
            expr: line.to_string(),
            found,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shim_wraps_datasource_path_asserts() {
        assert_eq!(
            basename_shim(r#"results["a"].Evt.Meta["datasource_path"] == "x.log""#),
            r#"basename(results["a"].Evt.Meta["datasource_path"] ) ==  "x.log""#
        );
        assert_eq!(basename_shim("a == b"), "a == b");
    }

    #[test]
    fn variable_is_the_left_side() {
        assert_eq!(
            variable_of(r#"results["x"][0].Success == true"#),
            Some(r#"results["x"][0].Success"#)
        );
        assert_eq!(variable_of("len(results) == 4"), Some("len(results)"));
        assert_eq!(variable_of("true"), None);
    }
}
