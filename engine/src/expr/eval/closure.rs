//! Closures over lists (`all`, `filter`, `map`, ...): iteration, fast paths and element caches.

use super::access::elements;
use super::binary::{binary, compare, compare_str};
use super::{Ctx, Fail, R, constant, fail, want_bool};
use crate::expr::compile::{BinOp, ClosureKind, Ir};
use crate::expr::optimize::{ClosureIr, ConstList, ElemCache, Fast, Table};
use crate::expr::value::Value;

/// The elements a closure iterates over.
enum Items<'a> {
    Owned(Vec<Value<'a>>),
    Const(&'a ConstList),
}

impl<'a> Items<'a> {
    fn len(&self) -> usize {
        match self {
            Items::Owned(v) => v.len(),
            Items::Const(k) => k.len(),
        }
    }

    /// Element `i`, moved out (each is taken once).
    fn take(&mut self, i: usize) -> Value<'a> {
        match self {
            Items::Owned(v) => v
                .get_mut(i)
                .map_or(Value::Nil, |x| std::mem::replace(x, Value::Nil)),
            Items::Const(k) => k.get(i),
        }
    }
}

/// Folds the boolean results of a boolean closure, with its short-circuits.
struct Verdict {
    kind: ClosureKind,
    n: i64,
}

impl Verdict {
    /// Adds one result; `Some` when the answer is known without the other elements.
    fn step(&mut self, b: bool) -> Option<Value<'static>> {
        match self.kind {
            ClosureKind::All if !b => Some(Value::Bool(false)),
            ClosureKind::Any if b => Some(Value::Bool(true)),
            ClosureKind::None if b => Some(Value::Bool(false)),
            _ => {
                self.n += i64::from(b);
                None
            }
        }
    }

    fn finish(self) -> Value<'static> {
        match self.kind {
            ClosureKind::All | ClosureKind::None => Value::Bool(true),
            ClosureKind::Any => Value::Bool(false),
            ClosureKind::One => Value::Bool(self.n == 1),
            _ => Value::Int(self.n),
        }
    }

    /// The answer when `hits` of `len` elements give true (no element can fail).
    fn from_count(kind: ClosureKind, hits: i64, len: usize) -> Value<'static> {
        match kind {
            ClosureKind::All => Value::Bool(hits == len as i64),
            ClosureKind::Any => Value::Bool(hits > 0),
            ClosureKind::None => Value::Bool(hits == 0),
            ClosureKind::One => Value::Bool(hits == 1),
            _ => Value::Int(hits),
        }
    }
}

impl<'a, 'v> Ctx<'a, 'v> {
    /// The value of a per-element cache for the current element.
    pub(super) fn elem_cached(&mut self, c: &'a ElemCache) -> R<'a> {
        let vals = c.vals.get_or_init(|| self.for_each_const(&c.list, &c.expr));
        let i = self.elems.last().map_or(0, |e| e.1);
        match usize::try_from(i).ok().and_then(|i| vals.get(i)) {
            Some(Ok(v)) => Ok(constant(v)),
            Some(Err(e)) => Err(e.clone()),
            None => fail("element cache out of range".to_string()),
        }
    }

    /// `expr` (a pure function of `#`, `#index` and constants) for every element of `k`.
    fn for_each_const(&self, k: &'a ConstList, expr: &'a Ir) -> Vec<Result<Value<'static>, Fail>> {
        (0..k.len())
            .map(|i| {
                let v = k.get(i);
                if let Ir::Elem = expr {
                    return Ok(v.into_owned());
                }
                let mut cx = Ctx::new(self.p, &[]);
                cx.elems.push((v, i as i64));
                cx.eval(expr).map(Value::into_owned)
            })
            .collect()
    }

    fn with_elem(&mut self, body: &'a Ir, v: Value<'a>, i: usize) -> R<'a> {
        self.elems.push((v, i as i64));
        let r = self.eval(body);
        self.elems.pop();
        r
    }

    pub(super) fn closure(&mut self, c: &'a ClosureIr) -> R<'a> {
        if !c.memo.is_empty() {
            if self.memo.len() < c.memo.end {
                self.memo.resize(c.memo.end, None);
            }
            for m in &mut self.memo[c.memo.clone()] {
                *m = None;
            }
        }
        let kind = c.kind;
        let mut items = match &c.konst {
            Some(k) => Items::Const(k),
            None => Items::Owned(elements(self.eval(&c.list)?, "closure")?),
        };
        if let Some(f) = &c.fast {
            return self.fast(kind, f, items);
        }
        let n = items.len();
        let Some(body) = &c.body else {
            return match kind {
                ClosureKind::Count => {
                    let mut hits = 0;
                    for i in 0..n {
                        hits += i64::from(want_bool(&items.take(i), "count")?);
                    }
                    Ok(Value::Int(hits))
                }
                _ => (0..n).try_fold(Value::Int(0), |acc, i| {
                    binary(BinOp::Add, acc, items.take(i))
                }),
            };
        };
        let name = kind.label();
        match kind {
            ClosureKind::All
            | ClosureKind::Any
            | ClosureKind::None
            | ClosureKind::One
            | ClosureKind::Count => {
                let mut verdict = Verdict { kind, n: 0 };
                for i in 0..n {
                    let b = want_bool(&self.with_elem(body, items.take(i), i)?, name)?;
                    if let Some(v) = verdict.step(b) {
                        return Ok(v);
                    }
                }
                Ok(verdict.finish())
            }
            ClosureKind::Filter => {
                let mut out = Vec::new();
                for i in 0..n {
                    let v = items.take(i);
                    if want_bool(&self.with_elem(body, v.clone(), i)?, name)? {
                        out.push(v);
                    }
                }
                Ok(Value::List(out))
            }
            ClosureKind::Map => {
                let mut out = Vec::with_capacity(n);
                for i in 0..n {
                    let v = items.take(i);
                    out.push(self.with_elem(body, v, i)?);
                }
                Ok(Value::List(out))
            }
            ClosureKind::Sum => {
                let mut acc = Value::Int(0);
                for i in 0..n {
                    let v = items.take(i);
                    acc = binary(BinOp::Add, acc, self.with_elem(body, v, i)?)?;
                }
                Ok(acc)
            }
            ClosureKind::Find
            | ClosureKind::FindIndex
            | ClosureKind::FindLast
            | ClosureKind::FindLastIndex => {
                let last = matches!(kind, ClosureKind::FindLast | ClosureKind::FindLastIndex);
                let want_index =
                    matches!(kind, ClosureKind::FindIndex | ClosureKind::FindLastIndex);
                let order: Box<dyn Iterator<Item = usize>> = if last {
                    Box::new((0..n).rev())
                } else {
                    Box::new(0..n)
                };
                for i in order {
                    let v = items.take(i);
                    if want_bool(&self.with_elem(body, v.clone(), i)?, name)? {
                        return Ok(if want_index { Value::Int(i as i64) } else { v });
                    }
                }
                Ok(if want_index {
                    Value::Int(-1)
                } else {
                    Value::Nil
                })
            }
        }
    }

    /// A boolean closure whose body is `INV op E` or `E op INV` (see [`Fast`]).
    fn fast(&mut self, kind: ClosureKind, f: &'a Fast, items: Items<'a>) -> R<'a> {
        let name = kind.label();
        let mut verdict = Verdict { kind, n: 0 };
        // The invariant side, evaluated when first needed, as the body would have been.
        let mut inv: Option<Value<'a>> = None;
        match items {
            Items::Const(k) => {
                let table: &'a Table = f
                    .table
                    .get_or_init(|| Table::new(self.for_each_const(k, &f.elem)));
                let n = table.vals.len();
                if n == 0 {
                    return Ok(verdict.finish());
                }
                if let (Some(folded), BinOp::Contains, false, ClosureKind::Any | ClosureKind::None) =
                    (&f.folded, f.op, f.elem_left, kind)
                    && let Some(hit) = folded
                        .field
                        .test::<true, _>(self.vars, |s| table.contains_any_folded(s, folded.fold))
                        .flatten()
                {
                    return Ok(Value::Bool(hit == (kind == ClosureKind::Any)));
                }
                if let (Some(strs), false) = (&table.strs, f.op == BinOp::In) {
                    // No element can fail, so evaluating the invariant side first is the same.
                    let v = self.eval(&f.inv)?;
                    if let Value::Str(s) = &v {
                        let s: &str = s;
                        match (f.op, f.elem_left, kind) {
                            (BinOp::Eq, _, _) => {
                                return Ok(Verdict::from_count(kind, table.count_eq(s), n));
                            }
                            (
                                op @ (BinOp::Contains | BinOp::StartsWith | BinOp::EndsWith),
                                false,
                                ClosureKind::Any | ClosureKind::None,
                            ) => {
                                if let Some(hit) = table.any_holds(op, s) {
                                    return Ok(Value::Bool(hit == (kind == ClosureKind::Any)));
                                }
                            }
                            _ => {}
                        }
                        for e in strs {
                            let b = if f.elem_left {
                                compare_str(f.op, e, s)
                            } else {
                                compare_str(f.op, s, e)
                            };
                            if let Some(v) = verdict.step(b.unwrap_or(false)) {
                                return Ok(v);
                            }
                        }
                        return Ok(verdict.finish());
                    }
                    inv = Some(v);
                }
                for e in &table.vals {
                    let e = e.as_ref().map(constant).map_err(Fail::clone);
                    let b = self.fast_step(f, e, &mut inv, name)?;
                    if let Some(v) = verdict.step(b) {
                        return Ok(v);
                    }
                }
            }
            Items::Owned(list) => {
                for (i, v) in list.into_iter().enumerate() {
                    let e = match f.elem {
                        Ir::Elem => Ok(v),
                        _ => self.with_elem(&f.elem, v, i),
                    };
                    let b = self.fast_step(f, e, &mut inv, name)?;
                    if let Some(v) = verdict.step(b) {
                        return Ok(v);
                    }
                }
            }
        }
        Ok(verdict.finish())
    }

    /// One element of a fast closure: `e op INV` or `INV op e`, in the body's order.
    fn fast_step(
        &mut self,
        f: &'a Fast,
        e: R<'a>,
        inv: &mut Option<Value<'a>>,
        name: &str,
    ) -> Result<bool, Fail> {
        if f.elem_left {
            let e = e?;
            let v = self.invariant(f, inv)?;
            compare(f.op, &e, v, name)
        } else {
            self.invariant(f, inv)?;
            let e = e?;
            let v = inv.as_ref().unwrap_or(&Value::Nil);
            compare(f.op, v, &e, name)
        }
    }

    fn invariant<'s>(
        &mut self,
        f: &'a Fast,
        inv: &'s mut Option<Value<'a>>,
    ) -> Result<&'s Value<'a>, Fail> {
        if inv.is_none() {
            *inv = Some(self.eval(&f.inv)?);
        }
        Ok(inv.get_or_insert(Value::Nil))
    }
}
