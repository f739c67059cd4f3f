//! Binary operators with Go/expr-lang semantics, and the fast-path string comparisons.

use std::cmp::Ordering;

use super::{Fail, R, fail, want_bool};
use crate::expr::compile::BinOp;
use crate::expr::value::Value;

/// Largest list `a..b` may build: expr-lang's default memory budget (1e6 items), past which
/// CrowdSec's evaluation fails with "memory budget exceeded". (10 million, as before, let a
/// scenario file stall the loader for seconds: found by the `expr` fuzz target.)
const MAX_RANGE: i64 = 1_000_000;

/// Evaluates an eager binary operator with Go/expr-lang semantics.
pub(super) fn binary<'a>(op: BinOp, l: Value<'a>, r: Value<'a>) -> R<'a> {
    use Value::*;
    let mismatch = |sym: &str, l: &Value<'_>, r: &Value<'_>| {
        fail(format!(
            "invalid operation: {} {sym} {} (mismatched types)",
            l.type_name(),
            r.type_name()
        ))
    };
    match op {
        BinOp::Eq | BinOp::Ne => {
            let eq = l.go_eq(&r);
            l.discard();
            r.discard();
            Ok(Bool(eq == (op == BinOp::Eq)))
        }
        BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
            let sym = match op {
                BinOp::Lt => "<",
                BinOp::Le => "<=",
                BinOp::Gt => ">",
                _ => ">=",
            };
            let nan = matches!(l, Float(f) if f.is_nan()) || matches!(r, Float(f) if f.is_nan());
            match l.go_cmp(&r) {
                Some(_) if nan => Ok(Bool(false)),
                Some(o) => Ok(Bool(match op {
                    BinOp::Lt => o == Ordering::Less,
                    BinOp::Le => o != Ordering::Greater,
                    BinOp::Gt => o == Ordering::Greater,
                    _ => o != Ordering::Less,
                })),
                None => mismatch(sym, &l, &r),
            }
        }
        BinOp::In => in_op(&l, r).map(Bool),
        BinOp::Contains | BinOp::StartsWith | BinOp::EndsWith => match (&l, &r) {
            (Str(a), Str(b)) => Ok(Bool(match op {
                BinOp::Contains => a.contains(b.as_ref()),
                BinOp::StartsWith => a.starts_with(b.as_ref()),
                _ => a.ends_with(b.as_ref()),
            })),
            _ => mismatch(&format!("{op:?}"), &l, &r),
        },
        BinOp::Range => match (&l, &r) {
            (Int(a), Int(b)) => {
                if b.saturating_sub(*a) >= MAX_RANGE {
                    return fail(format!("memory budget exceeded: range {a}..{b}"));
                }
                Ok(List((*a..=*b).map(Int).collect()))
            }
            _ => mismatch("..", &l, &r),
        },
        BinOp::Add => match (l, r) {
            (Int(a), Int(b)) => Ok(Int(a.wrapping_add(b))),
            (Str(a), Str(b)) => {
                let mut s = a.into_owned();
                s.push_str(&b);
                Ok(Value::string(s))
            }
            (Time(t), Duration(d)) | (Duration(d), Time(t)) => {
                Ok(Time(t + chrono::Duration::nanoseconds(d)))
            }
            (Duration(a), Duration(b)) => Ok(Duration(a.wrapping_add(b))),
            (List(mut a), List(b)) => {
                a.extend(b);
                Ok(List(a))
            }
            (l, r) => match (l.as_f64(), r.as_f64()) {
                (Some(a), Some(b)) => Ok(Float(a + b)),
                _ => mismatch("+", &l, &r),
            },
        },
        BinOp::Sub => match (l, r) {
            (Int(a), Int(b)) => Ok(Int(a.wrapping_sub(b))),
            (Time(a), Time(b)) => Ok(Duration((a - b).num_nanoseconds().unwrap_or(i64::MAX))),
            (Time(t), Duration(d)) => Ok(Time(t - chrono::Duration::nanoseconds(d))),
            (Duration(a), Duration(b)) => Ok(Duration(a.wrapping_sub(b))),
            (l, r) => match (l.as_f64(), r.as_f64()) {
                (Some(a), Some(b)) => Ok(Float(a - b)),
                _ => mismatch("-", &l, &r),
            },
        },
        BinOp::Mul => match (l, r) {
            (Int(a), Int(b)) => Ok(Int(a.wrapping_mul(b))),
            (Duration(a), Int(b)) | (Int(b), Duration(a)) => Ok(Duration(a.wrapping_mul(b))),
            (l, r) => match (l.as_f64(), r.as_f64()) {
                (Some(a), Some(b)) => Ok(Float(a * b)),
                _ => mismatch("*", &l, &r),
            },
        },
        BinOp::Div => match (l.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) => Ok(Float(a / b)),
            _ => mismatch("/", &l, &r),
        },
        BinOp::Mod => match (&l, &r) {
            (Int(_), Int(0)) => fail("integer divide by zero".to_string()),
            (Int(a), Int(b)) => Ok(Int(a.wrapping_rem(*b))),
            _ => mismatch("%", &l, &r),
        },
        BinOp::Pow => match (l.as_f64(), r.as_f64()) {
            (Some(a), Some(b)) => Ok(Float(a.powf(b))),
            _ => mismatch("**", &l, &r),
        },
    }
}

fn in_op(needle: &Value<'_>, hay: Value<'_>) -> Result<bool, Fail> {
    match hay {
        Value::Nil => Ok(false),
        Value::List(l) => Ok(l.iter().any(|v| v.go_eq(needle))),
        Value::Map(m) => match needle {
            Value::Str(k) => Ok(m.contains_key(k.as_ref())),
            Value::Nil => Ok(false),
            other => fail(format!("cannot use {} as map key", other.type_name())),
        },
        Value::Obj(o) if o.type_name().starts_with('[') => {
            let n = o.len().unwrap_or(0);
            Ok((0..n as i64).any(|i| o.index(i).is_some_and(|v| v.go_eq(needle))))
        }
        Value::Obj(o) => match needle {
            Value::Str(k) => Ok(o.keys().iter().any(|x| x == k)),
            Value::Nil => Ok(false),
            other => fail(format!("cannot use {} as map key", other.type_name())),
        },
        other => fail(format!(
            "operator \"in\" not defined on {}",
            other.type_name()
        )),
    }
}

/// `l op r` for the fast-path operators: natively on two strings, else as [`binary`] does.
pub(super) fn compare<'a>(
    op: BinOp,
    l: &Value<'a>,
    r: &Value<'a>,
    what: &str,
) -> Result<bool, Fail> {
    if let (Value::Str(a), Value::Str(b)) = (l, r) {
        match op {
            BinOp::Contains => return Ok(a.contains(b.as_ref())),
            BinOp::StartsWith => return Ok(a.starts_with(b.as_ref())),
            BinOp::EndsWith => return Ok(a.ends_with(b.as_ref())),
            BinOp::Eq => return Ok(a == b),
            _ => {}
        }
    }
    want_bool(&binary(op, l.clone(), r.clone())?, what)
}

/// `a op b` on two strings, for the fast-path operators other than `in`.
pub(super) fn compare_str(op: BinOp, a: &str, b: &str) -> Option<bool> {
    Some(match op {
        BinOp::Contains => a.contains(b),
        BinOp::StartsWith => a.starts_with(b),
        BinOp::EndsWith => a.ends_with(b),
        BinOp::Eq => a == b,
        _ => return None,
    })
}
