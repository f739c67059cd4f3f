//! Predicates of the hub's most common filter shapes, evaluated without the evaluator.
//!
//! Most filters of parsers and scenarios compare resolved fields ([`Ir::Field`]) with string
//! constants and combine those comparisons: `evt.Meta.log_type == 'ssh_failed-auth'`,
//! `evt.Parsed.program in ['sshd', 'sshd-session']`, `evt.Line.Labels.type not in [...]`,
//! joined by `&&`, `||` and `not`. Evaluated as a tree, each costs an evaluation context, a
//! value per node and a dynamic call per field; a [`Pred`] reads each field as a string and
//! compares it directly, and nothing else.
//!
//! `contains`, `startsWith`, `endsWith` and `matches` with a constant are predicates too, and
//! a conjunction whose first items are predicates and the rest not (`evt.Meta.log_type in
//! [...] && any(File(...), ...)`) is guarded by them: most events fail the guard and never
//! reach the rest (and a disjunction likewise, when one of its first items holds).
//!
//! A predicate only answers when every field it reads is a string: a field the object does
//! not answer, or answers with another type, makes it give up (`None`) and the program is
//! evaluated as before. Its parts have no side effects and never fail, so giving up half way
//! and starting again gives the same result, and short-circuits are the evaluator's.

use super::compile::{BinOp, Ir};
use super::value::Value;

/// A boolean program of string comparisons on resolved fields.
#[derive(Debug)]
pub(crate) enum Pred {
    /// `field == 'lit'` (`eq`) or `field != 'lit'` (`!eq`).
    Cmp {
        field: FieldRef,
        lit: Box<str>,
        eq: bool,
    },
    /// `field in ['a', 'b', ...]` (every item a string).
    In {
        field: FieldRef,
        items: Box<[Box<str>]>,
    },
    /// `field contains 'lit'`, `startsWith`, `endsWith`.
    Text {
        field: FieldRef,
        op: BinOp,
        lit: Box<str>,
    },
    /// `field matches 'regex'` (compiled once, with the program).
    Matches { field: FieldRef, re: regex::Regex },
    /// The first conjuncts of `p && q && ... && rest` when `rest` is no predicate: false when
    /// one of them is, and otherwise no answer (the program decides).
    AllThen(Box<[Pred]>),
    /// The first disjuncts of `p || q || ... || rest`: true when one of them is, and
    /// otherwise no answer.
    AnyThen(Box<[Pred]>),
    /// `not p`.
    Not(Box<Pred>),
    /// `p && q && ...`.
    All(Box<[Pred]>),
    /// `p || q || ...`.
    Any(Box<[Pred]>),
}

/// A resolved field: variable, code and key of an [`Ir::Field`].
#[derive(Debug)]
pub(crate) struct FieldRef {
    var: usize,
    code: u32,
    key: Box<str>,
}

impl FieldRef {
    fn of(ir: &Ir) -> Option<FieldRef> {
        match ir {
            Ir::Field { var, code, key, .. } => Some(FieldRef {
                var: *var,
                code: *code,
                key: key.clone(),
            }),
            _ => None,
        }
    }

    /// `f` of the field's value, when the variable's object answers it with a string.
    fn test(&self, vars: &[Value<'_>], f: impl Fn(&str) -> bool) -> Option<bool> {
        let Some(Value::Obj(o)) = vars.get(self.var) else {
            return None;
        };
        let v = o.field(self.code, &self.key)?;
        let out = match &v {
            Value::Str(s) => Some(f(s)),
            _ => None,
        };
        v.discard();
        out
    }
}

/// The predicate computing `ir`, when `ir` has one of the shapes above throughout.
pub(crate) fn build(ir: &Ir) -> Option<Pred> {
    Some(match ir {
        Ir::Bin {
            op: op @ (BinOp::Eq | BinOp::Ne),
            l,
            r,
        } => match &**r {
            Ir::Const(Value::Str(lit)) => Pred::Cmp {
                field: FieldRef::of(l)?,
                lit: lit.as_ref().into(),
                eq: *op == BinOp::Eq,
            },
            _ => return None,
        },
        Ir::Bin {
            op: BinOp::In,
            l,
            r,
        } => match &**r {
            Ir::Const(Value::List(items)) => Pred::In {
                field: FieldRef::of(l)?,
                items: items
                    .iter()
                    .map(|v| match v {
                        Value::Str(s) => Some(s.as_ref().into()),
                        _ => None,
                    })
                    .collect::<Option<_>>()?,
            },
            _ => return None,
        },
        Ir::Bin {
            op: op @ (BinOp::Contains | BinOp::StartsWith | BinOp::EndsWith),
            l,
            r,
        } => match &**r {
            Ir::Const(Value::Str(lit)) => Pred::Text {
                field: FieldRef::of(l)?,
                op: *op,
                lit: lit.as_ref().into(),
            },
            _ => return None,
        },
        Ir::Matches(e, re) => Pred::Matches {
            field: FieldRef::of(e)?,
            re: re.clone(),
        },
        Ir::Not(e) => Pred::Not(Box::new(whole(e)?)),
        Ir::All(items) => match leading(items)? {
            (first, true) => Pred::All(first),
            (first, false) => Pred::AllThen(first),
        },
        Ir::Any(items) => match leading(items)? {
            (first, true) => Pred::Any(first),
            (first, false) => Pred::AnyThen(first),
        },
        _ => return None,
    })
}

/// [`build`], when the predicate always answers (no guard): what may nest in another.
fn whole(ir: &Ir) -> Option<Pred> {
    build(ir).filter(|p| !matches!(p, Pred::AllThen(_) | Pred::AnyThen(_)))
}

/// The predicates of the leading items of `items` that are whole predicates (none: `None`),
/// and whether that is all of them.
fn leading(items: &[Ir]) -> Option<(Box<[Pred]>, bool)> {
    let first: Vec<Pred> = items.iter().map_while(whole).collect();
    let all = first.len() == items.len();
    (!first.is_empty()).then(|| (first.into_boxed_slice(), all))
}

impl Pred {
    /// The program's value, or `None` when a field is not a string (evaluate the program).
    pub(crate) fn eval(&self, vars: &[Value<'_>]) -> Option<bool> {
        match self {
            Pred::Cmp { field, lit, eq } => field.test(vars, |s: &str| (s == &**lit) == *eq),
            Pred::In { field, items } => {
                field.test(vars, |s: &str| items.iter().any(|i| **i == *s))
            }
            Pred::Text { field, op, lit } => field.test(vars, |s: &str| match op {
                BinOp::Contains => s.contains(&**lit),
                BinOp::StartsWith => s.starts_with(&**lit),
                _ => s.ends_with(&**lit),
            }),
            Pred::Matches { field, re } => field.test(vars, |s: &str| re.is_match(s)),
            Pred::Not(p) => p.eval(vars).map(|b| !b),
            Pred::All(ps) => reaches(ps, vars, false).map(|hit| !hit),
            Pred::Any(ps) => reaches(ps, vars, true),
            Pred::AllThen(ps) => reaches(ps, vars, false)?.then_some(false),
            Pred::AnyThen(ps) => reaches(ps, vars, true)?.then_some(true),
        }
    }
}

/// Whether one of `ps`, in order, gives `value` (the evaluation stops there), or `None` when
/// one gives up first.
fn reaches(ps: &[Pred], vars: &[Value<'_>], value: bool) -> Option<bool> {
    for p in ps {
        if p.eval(vars)? == value {
            return Some(true);
        }
    }
    Some(false)
}
