//! Predicates of the hub's most common filter shapes, evaluated without the evaluator.
//!
//! Most filters of parsers and scenarios compare resolved fields ([`Ir::Field`]) with string
//! constants and combine those comparisons: `evt.Meta.log_type == 'ssh_failed-auth'`,
//! `evt.Parsed.program in ['sshd', 'sshd-session']`, `evt.Line.Labels.type not in [...]`,
//! joined by `&&`, `||` and `not`. Evaluated as a tree, each costs an evaluation context, a
//! value per node and a dynamic call per field; a [`Pred`] reads each field as a string and
//! compares it directly, and nothing else.
//!
//! `contains`, `startsWith`, `endsWith` and `matches` with a constant are predicates too, the
//! comparisons also of `Upper(field)` / `Lower(field)` (see [`Fold`]), and
//! a conjunction whose first items are predicates and the rest not (`evt.Meta.log_type in
//! [...] && any(File(...), ...)`) is guarded by them: most events fail the guard and never
//! reach the rest (and a disjunction likewise, when one of its first items holds).
//!
//! `any(File(...), {field contains #})` and its kin (`none`, `==`, `startsWith`, `endsWith`,
//! `Upper(field) contains Upper(#)`) over a constant list are predicates too once the first
//! evaluation has built the closure's table ([`TableTest`]).
//!
//! A program `cond ? 'a' : 'b'` whose condition is a predicate and whose branches are string
//! constants (statics such as `evt.Meta.http_status in [...] ? 'false' : 'true'`) is a
//! [`Choice`].
//!
//! A predicate only answers when every field it reads is a string: a field the object does
//! not answer, or answers with another type, makes it give up (`None`) and the program is
//! evaluated as before. Its parts have no side effects and never fail, so giving up half way
//! and starting again gives the same result, and short-circuits are the evaluator's.

use std::sync::{Arc, OnceLock};

use super::compile::{BinOp, ClosureKind, Ir};
use super::optimize::{ClosureIr, Table};
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
    /// `Cmp`, `In` or `Text` of `Upper(field)` / `Lower(field)` (see [`Fold`]).
    Folded(Fold, Box<Pred>),
    /// `not p`.
    Not(Box<Pred>),
    /// `p && q && ...`.
    All(Box<[Pred]>),
    /// `p || q || ...`.
    Any(Box<[Pred]>),
    /// `any(LIST, {field op #})` or `none(...)` over a constant list.
    Table(Box<TableTest>),
}

/// `any` / `none` of a constant list with a body `field == #` (or `# == field`), `field
/// contains #`, `startsWith`, `endsWith`, or `Upper(field) contains Upper(#)` and the like
/// ([`super::optimize::Fast`]): the answer of the closure's table, without an evaluation
/// context. The table is the closure's own, built by the program's first evaluation; until
/// then, and whenever the table or the field cannot answer, the predicate gives up.
#[derive(Debug)]
pub(crate) struct TableTest {
    /// `any` (else `none`).
    any: bool,
    op: BinOp,
    field: FieldRef,
    fold: Option<Fold>,
    table: Arc<OnceLock<Table>>,
}

impl TableTest {
    fn of(c: &ClosureIr) -> Option<TableTest> {
        let any = match c.kind {
            ClosureKind::Any => true,
            ClosureKind::None => false,
            _ => return None,
        };
        let f = c.fast.as_ref()?;
        c.konst.as_ref()?;
        let (field, fold) = match &f.folded {
            Some(folded) => (folded.field.clone(), Some(folded.fold)),
            None => (FieldRef::of(&f.inv)?, None),
        };
        let ok = match (f.op, fold) {
            (BinOp::Eq, None) => true,
            (BinOp::Contains | BinOp::StartsWith | BinOp::EndsWith, None) => !f.elem_left,
            (BinOp::Contains, Some(_)) => !f.elem_left,
            _ => false,
        };
        ok.then(|| TableTest {
            any,
            op: f.op,
            field,
            fold,
            table: f.table.clone(),
        })
    }

    /// What the closure's evaluation gives (see `Ctx::fast`), or `None`.
    pub(crate) fn eval(&self, vars: &[Value<'_>]) -> Option<bool> {
        let table = self.table.get()?;
        table.strs.as_ref()?;
        let hit = match self.fold {
            Some(fold) => self
                .field
                .test::<true, _>(vars, |s| table.contains_any_folded(s, fold))??,
            None => self
                .field
                .test::<false, _>(vars, |s| table.any_holds(self.op, s))??,
        };
        Some(hit == self.any)
    }
}

/// A resolved field: variable, code and key of an [`Ir::Field`].
#[derive(Debug, Clone)]
pub(crate) struct FieldRef {
    var: usize,
    code: u32,
    key: super::FieldKey,
}

/// `Upper(x)` or `Lower(x)` around a field. Of an ASCII string, Go's `ToUpper`/`ToLower` map
/// only ASCII letters, so comparing `Upper(x)` with a text is comparing `x` with it ASCII
/// case-insensitively, as long as the text has no lowercase (`Upper`) or uppercase (`Lower`)
/// ASCII letter (else no window of `Upper(x)` can equal it). Of any other string, the
/// predicate gives up and the program calls the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fold {
    Upper,
    Lower,
}

impl Fold {
    /// The fold of `Upper(..)`/`Lower(..)` (by the registry's names) and its argument.
    pub(crate) fn of(ir: &Ir) -> Option<(Fold, &Ir)> {
        match ir {
            Ir::Func { name, args, .. } if args.len() == 1 => match &**name {
                "Upper" => Some((Fold::Upper, &args[0])),
                "Lower" => Some((Fold::Lower, &args[0])),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether the fold of an ASCII string may hold `lit` at all.
    pub(crate) fn admits(self, lit: &str) -> bool {
        match self {
            Fold::Upper => !lit.bytes().any(|b| b.is_ascii_lowercase()),
            Fold::Lower => !lit.bytes().any(|b| b.is_ascii_uppercase()),
        }
    }

    /// Whether the fold of the ASCII string `s` equals `lit`.
    fn eq(self, s: &str, lit: &str) -> bool {
        // Lengths first: `Upper(evt.Parsed.file_ext) in [24 extensions]` on every HTTP line.
        s.len() == lit.len() && s.eq_ignore_ascii_case(lit) && self.admits(lit)
    }

    /// Whether the fold of the ASCII string `s` contains `lit` (`startsWith`, `endsWith`).
    fn text(self, s: &str, op: BinOp, lit: &str) -> bool {
        let (b, l) = (s.as_bytes(), lit.as_bytes());
        if !self.admits(lit) || l.len() > b.len() {
            return false;
        }
        match op {
            BinOp::Contains => {
                let Some(&first) = l.first() else {
                    return true;
                };
                // Only where the first byte matches in either case (found by `memchr`), not
                // at every offset (`Upper(evt.Parsed.http_args) contains 'AUTHOR='` on
                // every HTTP line).
                let starts = &b[..=b.len() - l.len()];
                let at = |i: usize| b[i..i + l.len()].eq_ignore_ascii_case(l);
                let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
                if lo == up {
                    memchr::memchr_iter(lo, starts).any(at)
                } else {
                    memchr::memchr2_iter(lo, up, starts).any(at)
                }
            }
            BinOp::StartsWith => b[..l.len()].eq_ignore_ascii_case(l),
            _ => b[b.len() - l.len()..].eq_ignore_ascii_case(l),
        }
    }
}

impl FieldRef {
    pub(crate) fn of(ir: &Ir) -> Option<FieldRef> {
        match ir {
            Ir::Field { var, code, key, .. } => Some(FieldRef {
                var: *var,
                code: *code,
                key: key.clone(),
            }),
            _ => None,
        }
    }

    /// `f` of the field's value, when the variable's object answers it with a string (an
    /// ASCII one if `ASCII`).
    #[inline]
    pub(crate) fn test<const ASCII: bool, T>(
        &self,
        vars: &[Value<'_>],
        f: impl Fn(&str) -> T,
    ) -> Option<T> {
        let Some(Value::Obj(o)) = vars.get(self.var) else {
            return None;
        };
        if let Some(s) = o.field_str(self.code, &self.key) {
            return (!ASCII || s.is_ascii()).then(|| f(s));
        }
        let v = o.field(self.code, &self.key)?;
        let out = match &v {
            Value::Str(s) if !ASCII || s.is_ascii() => Some(f(s)),
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
            Ir::Const(Value::Str(lit)) => folded(l, |field| Pred::Cmp {
                field,
                lit: lit.as_ref().into(),
                eq: *op == BinOp::Eq,
            })?,
            _ => return None,
        },
        Ir::Bin {
            op: BinOp::In,
            l,
            r,
        } => match &**r {
            Ir::Const(Value::List(items)) => {
                let items: Box<[Box<str>]> = items
                    .iter()
                    .map(|v| match v {
                        Value::Str(s) => Some(s.as_ref().into()),
                        _ => None,
                    })
                    .collect::<Option<_>>()?;
                folded(l, |field| Pred::In { field, items })?
            }
            _ => return None,
        },
        Ir::Bin {
            op: op @ (BinOp::Contains | BinOp::StartsWith | BinOp::EndsWith),
            l,
            r,
        } => match &**r {
            Ir::Const(Value::Str(lit)) => folded(l, |field| Pred::Text {
                field,
                op: *op,
                lit: lit.as_ref().into(),
            })?,
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
        Ir::Closure(c) => Pred::Table(Box::new(TableTest::of(c)?)),
        _ => return None,
    })
}

/// `cond ? 'a' : 'b'` (statics such as `evt.Meta.http_status in [...] ? 'false' : 'true'`):
/// the predicate of `cond` picks one of two string constants.
#[derive(Debug)]
pub(crate) struct Choice {
    cond: Pred,
    yes: Box<str>,
    no: Box<str>,
}

impl Choice {
    /// The choice computing `ir`, when it has that shape.
    pub(crate) fn build(ir: &Ir) -> Option<Choice> {
        let Ir::Cond(c, a, b) = ir else {
            return None;
        };
        let text = |ir: &Ir| match ir {
            Ir::Const(Value::Str(s)) => Some(Box::<str>::from(s.as_ref())),
            _ => None,
        };
        Some(Choice {
            cond: whole(c)?,
            yes: text(a)?,
            no: text(b)?,
        })
    }

    /// The constant picked, or `None` when the predicate gives up (evaluate the program).
    pub(crate) fn eval(&self, vars: &[Value<'_>]) -> Option<&str> {
        Some(if self.cond.eval(vars)? {
            &self.yes
        } else {
            &self.no
        })
    }
}

/// `make` of the field `l` reads, or of the field under `Upper`/`Lower` ([`Pred::Folded`]).
fn folded(l: &Ir, make: impl FnOnce(FieldRef) -> Pred) -> Option<Pred> {
    match Fold::of(l) {
        Some((fold, inner)) => Some(Pred::Folded(fold, Box::new(make(FieldRef::of(inner)?)))),
        None => Some(make(FieldRef::of(l)?)),
    }
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

/// What a program's predicate says before the program is evaluated ([`Pred::guard`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Guard {
    /// The program's value.
    Answer(bool),
    /// The first `n` items of the program's conjunction (or disjunction) are all true (false):
    /// its value is that of the items after them.
    Rest(usize),
    /// A field was not a string: evaluate the whole program.
    GiveUp,
}

impl Pred {
    /// [`Self::eval`], and for a guard ([`Pred::AllThen`], [`Pred::AnyThen`]) that does not
    /// decide, how many leading items it has checked: they have no side effects and cannot
    /// fail once answered, so the program's value is that of the items after them.
    pub(crate) fn guard(&self, vars: &[Value<'_>]) -> Guard {
        let decided = |ps: &[Pred], value: bool| match reaches(ps, vars, value) {
            Some(true) => Guard::Answer(value),
            Some(false) => Guard::Rest(ps.len()),
            None => Guard::GiveUp,
        };
        match self {
            Pred::AllThen(ps) => decided(ps, false),
            Pred::AnyThen(ps) => decided(ps, true),
            p => p.eval(vars).map_or(Guard::GiveUp, Guard::Answer),
        }
    }

    /// The program's value, or `None` when a field is not a string (evaluate the program).
    pub(crate) fn eval(&self, vars: &[Value<'_>]) -> Option<bool> {
        match self {
            Pred::Cmp { field, lit, eq } => {
                field.test::<false, _>(vars, |s| same_text(s, lit) == *eq)
            }
            Pred::In { field, items } => {
                field.test::<false, _>(vars, |s| items.iter().any(|i| same_text(s, i)))
            }
            Pred::Text { field, op, lit } => field.test::<false, _>(vars, |s| match op {
                BinOp::Contains => s.contains(&**lit),
                BinOp::StartsWith => s.starts_with(&**lit),
                _ => s.ends_with(&**lit),
            }),
            Pred::Matches { field, re } => field.test::<false, _>(vars, |s| re.is_match(s)),
            Pred::Folded(fold, p) => p.eval_folded(vars, *fold),
            Pred::Not(p) => p.eval(vars).map(|b| !b),
            Pred::All(ps) => reaches(ps, vars, false).map(|hit| !hit),
            Pred::Any(ps) => reaches(ps, vars, true),
            Pred::AllThen(ps) => reaches(ps, vars, false)?.then_some(false),
            Pred::AnyThen(ps) => reaches(ps, vars, true)?.then_some(true),
            Pred::Table(t) => t.eval(vars),
        }
    }
}

impl Pred {
    /// A comparison of `Upper(field)`/`Lower(field)` (by `fold`): of an ASCII value only.
    fn eval_folded(&self, vars: &[Value<'_>], fold: Fold) -> Option<bool> {
        match self {
            Pred::Cmp { field, lit, eq } => field.test::<true, _>(vars, |s| fold.eq(s, lit) == *eq),
            Pred::In { field, items } => {
                field.test::<true, _>(vars, |s| items.iter().any(|i| fold.eq(s, i)))
            }
            Pred::Text { field, op, lit } => {
                field.test::<true, _>(vars, |s| fold.text(s, *op, lit))
            }
            _ => None,
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

/// `a == b`, with texts of at most 16 bytes compared as two words each, in line: the hub's
/// filters compare short fields (`log_type`, `program`, `service`) with short literals
/// dozens of times a line, where `==` is a call to `memcmp` once the lengths agree.
#[inline(always)]
fn same_text(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.len();
    if n != b.len() {
        return false;
    }
    let word = |s: &[u8], at: usize| -> u64 {
        s.get(at..at + 8)
            .and_then(|w| w.try_into().ok())
            .map_or(0, u64::from_ne_bytes)
    };
    match n {
        // Two overlapping words cover the text.
        8..=16 => word(a, 0) == word(b, 0) && word(a, n - 8) == word(b, n - 8),
        0..=7 => a.iter().zip(b).all(|(x, y)| x == y),
        _ => a == b,
    }
}

#[cfg(test)]
mod same_text_tests {
    use super::same_text;
    use proptest::prelude::*;

    proptest! {
        /// `same_text` is `==`, on texts around the word sizes, equal or one byte apart.
        #[test]
        fn same_text_is_equality(a in "[ab]{0,20}|[a-zé]{0,40}", flip in any::<prop::sample::Index>()) {
            prop_assert!(same_text(&a, &a.clone()));
            if !a.is_empty() {
                let mut b = a.clone().into_bytes();
                let i = flip.index(b.len());
                if b[i].is_ascii() {
                    b[i] = if b[i] == b'a' { b'b' } else { b'a' };
                    let b = String::from_utf8(b).unwrap_or_default();
                    prop_assert_eq!(same_text(&a, &b), a == b);
                }
                let shorter = &a[..a.len() - a.chars().last().map_or(0, char::len_utf8)];
                prop_assert!(!same_text(&a, shorter));
            }
        }
    }
}
