//! The tree walk: `Ctx::eval` over each IR node, with its argument and `&&`/`||` helpers.

use std::collections::BTreeMap;

use super::access::{index, member, slice};
use super::binary::binary;
use super::{Ctx, Fail, R, constant, fail, read_field, want_bool};
use crate::expr::compile::{BinOp, Ir};
use crate::expr::value::Value;

impl<'a, 'v> Ctx<'a, 'v> {
    pub(super) fn eval(&mut self, ir: &'a Ir) -> R<'a> {
        match ir {
            Ir::Const(v) => Ok(constant(v)),
            Ir::Var(i) => Ok(self.vars.get(*i).cloned().unwrap_or(Value::Nil)),
            Ir::Local(i) => Ok(self.locals.get(*i).cloned().unwrap_or(Value::Nil)),
            Ir::Elem => Ok(self.elems.last().map(|e| e.0.clone()).unwrap_or(Value::Nil)),
            Ir::ElemIndex => Ok(Value::Int(self.elems.last().map_or(0, |e| e.1))),
            Ir::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(self.eval(i)?);
                }
                Ok(Value::List(out))
            }
            Ir::Map(kv) => {
                let mut out = BTreeMap::new();
                for (k, v) in kv {
                    let k = self.eval(k)?.go_string().into_owned();
                    let v = self.eval(v)?;
                    out.insert(k, v);
                }
                Ok(Value::Map(out))
            }
            Ir::Field {
                var,
                code,
                key,
                chain,
            } => match read_field(self.vars, *var, *code, key) {
                Some(v) => Ok(v),
                None => self.eval(chain),
            },
            Ir::Member {
                obj,
                name,
                optional,
            } => {
                let o = self.eval(obj)?;
                if *optional && matches!(o, Value::Nil) {
                    return Err(Fail::Nil);
                }
                member(o, name)
            }
            Ir::Index { obj, idx, optional } => {
                let o = self.eval(obj)?;
                if *optional && matches!(o, Value::Nil) {
                    return Err(Fail::Nil);
                }
                let i = self.eval(idx)?;
                index(o, i)
            }
            Ir::Slice { obj, from, to } => {
                let o = self.eval(obj)?;
                let from = self.opt_int(from.as_deref())?;
                let to = self.opt_int(to.as_deref())?;
                slice(o, from, to)
            }
            Ir::Func { name, f, args } => self
                .call_with(args, |a| (f.call)(a))?
                .map_err(|e| Fail::Msg(format!("{name}: {e}"))),
            Ir::Builtin { name, f, args } => self
                .call_with(args, |a| f(a))?
                .map_err(|e| Fail::Msg(format!("{name}: {e}"))),
            Ir::Lines(lines) => Ok(Value::List(lines.iter().map(|l| Value::str(l)).collect())),
            Ir::Hoisted { slot, expr } => {
                if let Some(Some(r)) = self.memo.get(*slot) {
                    return r.clone();
                }
                let r = self.eval(expr);
                if let Some(m) = self.memo.get_mut(*slot) {
                    *m = Some(r.clone());
                }
                r
            }
            Ir::ElemCached(c) => self.elem_cached(c),
            Ir::Method {
                obj,
                name,
                args,
                optional,
            } => {
                let o = self.eval(obj)?;
                let args = self.args(args)?;
                match o {
                    Value::Obj(h) => match h.call_method(name, &args) {
                        Some(r) => r.map_err(|e| Fail::Msg(format!("{name}: {e}"))),
                        None => fail(format!("type {} has no method {name}", h.type_name())),
                    },
                    Value::Nil if *optional => Err(Fail::Nil),
                    other => fail(format!("type {} has no method {name}", other.type_name())),
                }
            }
            Ir::Closure(c) => self.closure(c),
            Ir::Not(e) => Ok(Value::Bool(!want_bool(&self.eval(e)?, "not")?)),
            Ir::Neg(e) => match self.eval(e)? {
                Value::Int(i) => Ok(Value::Int(i.wrapping_neg())),
                Value::Float(f) => Ok(Value::Float(-f)),
                Value::Duration(d) => Ok(Value::Duration(d.wrapping_neg())),
                other => fail(format!("invalid operation: - {}", other.type_name())),
            },
            Ir::Plus(e) => match self.eval(e)? {
                v @ (Value::Int(_) | Value::Float(_) | Value::Duration(_)) => Ok(v),
                other => fail(format!("invalid operation: + {}", other.type_name())),
            },
            Ir::All(items) => self.all(items),
            Ir::Any(items) => self.any(items),
            Ir::Coalesce(l, r) => match self.eval(l) {
                Ok(Value::Nil) | Err(Fail::Nil) => self.eval(r),
                other => other,
            },
            Ir::Elvis(l, r) => match self.eval(l)? {
                Value::Nil | Value::Bool(false) => self.eval(r),
                v => Ok(v),
            },
            Ir::Cond(c, a, b) => {
                if want_bool(&self.eval(c)?, "ternary condition")? {
                    self.eval(a)
                } else {
                    self.eval(b)
                }
            }
            Ir::Matches(e, re) => match self.eval(e)? {
                Value::Str(s) => Ok(Value::Bool(re.is_match(&s))),
                other => fail(format!(
                    "invalid operation: matches on {}",
                    other.type_name()
                )),
            },
            Ir::MatchesDyn(l, r) => {
                let l = self.eval(l)?;
                let r = self.eval(r)?;
                match (l, r) {
                    (Value::Str(s), Value::Str(p)) => {
                        let re = crate::expr::go_regex::compile(&p)
                            .map_err(|e| Fail::Msg(format!("invalid regular expression: {e}")))?;
                        Ok(Value::Bool(re.is_match(&s)))
                    }
                    (l, r) => fail(format!(
                        "invalid operation: {} matches {}",
                        l.type_name(),
                        r.type_name()
                    )),
                }
            }
            Ir::Chain(e) => match self.eval(e) {
                Err(Fail::Nil) => Ok(Value::Nil),
                other => other,
            },
            Ir::Let { slot, value, body } => {
                let v = self.eval(value)?;
                if let Some(s) = self.locals.get_mut(*slot) {
                    *s = v;
                }
                self.eval(body)
            }
            Ir::Bin {
                op: BinOp::In,
                l,
                r,
            } if matches!(**r, Ir::Const(Value::List(_))) => {
                let l = self.eval(l)?;
                match &**r {
                    Ir::Const(Value::List(items)) => {
                        Ok(Value::Bool(items.iter().any(|v| v.go_eq(&l))))
                    }
                    _ => fail("in: constant list expected".to_string()),
                }
            }
            // `x == 'lit'`, `x != 'lit'`: what `binary` does, without evaluating the constant.
            Ir::Bin {
                op: op @ (BinOp::Eq | BinOp::Ne),
                l,
                r,
            } if matches!(**r, Ir::Const(Value::Str(_))) => {
                let l = self.eval(l)?;
                let eq = match (&l, &**r) {
                    (Value::Str(a), Ir::Const(Value::Str(b))) => a == b,
                    (_, Ir::Const(c)) => l.go_eq(c),
                    _ => return fail("==: constant string expected".to_string()),
                };
                l.discard();
                Ok(Value::Bool(eq == (*op == BinOp::Eq)))
            }
            Ir::Bin { op, l, r } => {
                let l = self.eval(l)?;
                let r = self.eval(r)?;
                binary(*op, l, r)
            }
        }
    }

    /// Evaluates `args` and calls `f` on them, without allocating for up to three.
    fn call_with<T>(
        &mut self,
        args: &'a [Ir],
        f: impl FnOnce(&[Value<'a>]) -> T,
    ) -> Result<T, Fail> {
        Ok(match args {
            [] => f(&[]),
            [a] => {
                let a = self.eval(a)?;
                f(&[a])
            }
            [a, b] => {
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                f(&[a, b])
            }
            [a, b, c] => {
                let a = self.eval(a)?;
                let b = self.eval(b)?;
                let c = self.eval(c)?;
                f(&[a, b, c])
            }
            _ => {
                let v = self.args(args)?;
                f(&v)
            }
        })
    }

    fn args(&mut self, args: &'a [Ir]) -> Result<Vec<Value<'a>>, Fail> {
        let mut out = Vec::with_capacity(args.len());
        for a in args {
            out.push(self.eval(a)?);
        }
        Ok(out)
    }

    fn opt_int(&mut self, e: Option<&'a Ir>) -> Result<Option<i64>, Fail> {
        match e {
            None => Ok(None),
            Some(e) => match self.eval(e)? {
                Value::Int(i) => Ok(Some(i)),
                other => fail(format!(
                    "slice index must be int, got {}",
                    other.type_name()
                )),
            },
        }
    }

    /// `items[0] && items[1] && ...`.
    pub(super) fn all(&mut self, items: &'a [Ir]) -> R<'a> {
        for i in items {
            if !want_bool(&self.eval(i)?, "and")? {
                return Ok(Value::Bool(false));
            }
        }
        Ok(Value::Bool(true))
    }

    /// `items[0] || items[1] || ...`.
    pub(super) fn any(&mut self, items: &'a [Ir]) -> R<'a> {
        for i in items {
            if want_bool(&self.eval(i)?, "or")? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    }
}
