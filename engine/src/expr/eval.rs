//! Tree-walking evaluation of resolved programs.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::compile::{BinOp, ClosureKind, Ir, Program, ProgramInner};
use super::error::EvalError;
use super::optimize::{ClosureIr, ConstList, ElemCache, Fast, Table, borrow_const};
use super::pred::Guard;
use super::value::Value;

/// Why evaluation stopped early.
#[derive(Debug, Clone)]
pub(crate) enum Fail {
    /// A runtime error.
    Msg(String),
    /// `?.` met nil: the enclosing chain evaluates to nil.
    Nil,
}

impl From<String> for Fail {
    fn from(s: String) -> Self {
        Fail::Msg(s)
    }
}

type R<'a> = Result<Value<'a>, Fail>;

fn fail<T>(msg: String) -> Result<T, Fail> {
    Err(Fail::Msg(msg))
}

/// Largest list `a..b` may build: expr-lang's default memory budget (1e6 items), past which
/// CrowdSec's evaluation fails with "memory budget exceeded". (10 million, as before, let a
/// scenario file stall the loader for seconds: found by the `expr` fuzz target.)
const MAX_RANGE: i64 = 1_000_000;

impl Program {
    /// Evaluates the program; `vars` are in the order given to the [`super::Compiler`].
    pub fn eval<'a>(&'a self, vars: &[Value<'a>]) -> Result<Value<'a>, EvalError> {
        let p: &'a ProgramInner = &self.inner;
        // A program that only reads a resolved field (most statics): no context needed.
        if let Ir::Field { var, code, key, .. } = &p.ir
            && let Some(v) = read_field(vars, *var, *code, key)
        {
            return Ok(v);
        }
        // A filter of string comparisons (most filters): no context either; a filter whose
        // leading comparisons hold goes on from the items after them.
        let mut from = 0;
        match p.pred.as_ref().map(|pred| pred.guard(vars)) {
            Some(Guard::Answer(b)) => return Ok(Value::Bool(b)),
            Some(Guard::Rest(n)) => from = n,
            Some(Guard::GiveUp) | None => {}
        }
        if let Some(s) = p.choice.as_ref().and_then(|c| c.eval(vars)) {
            return Ok(Value::str(s));
        }
        let mut cx = Ctx::new(p, vars);
        if p.locals > 0 {
            cx.locals = vec![Value::Nil; p.locals];
        }
        let out = match &p.ir {
            Ir::All(items) if from > 0 => cx.all(&items[from..]),
            Ir::Any(items) if from > 0 => cx.any(&items[from..]),
            ir => cx.eval(ir),
        };
        match out {
            Ok(v) => Ok(v),
            Err(Fail::Nil) => Ok(Value::Nil),
            Err(Fail::Msg(message)) => Err(EvalError {
                source: p.source.clone(),
                message,
            }),
        }
    }

    /// Like [`Program::eval`] but the result must be a bool (filters, conditions).
    pub fn eval_bool<'a>(&'a self, vars: &[Value<'a>]) -> Result<bool, EvalError> {
        let v = self.eval(vars)?;
        if let Value::Bool(b) = v {
            v.discard();
            return Ok(b);
        }
        Err(EvalError {
            source: self.inner.source.clone(),
            message: format!("expected bool, but got {}", v.type_name()),
        })
    }
}

/// A resolved field ([`Ir::Field`]) of variable `var`, when its object answers `code`.
fn read_field<'a>(
    vars: &[Value<'a>],
    var: usize,
    code: u32,
    key: &super::FieldKey,
) -> Option<Value<'a>> {
    match vars.get(var) {
        Some(Value::Obj(o)) => o.field(code, key),
        _ => None,
    }
}

struct Ctx<'a, 'v> {
    p: &'a ProgramInner,
    vars: &'v [Value<'a>],
    locals: Vec<Value<'a>>,
    elems: Vec<(Value<'a>, i64)>,
    /// Results of hoisted subexpressions ([`Ir::Hoisted`]) in the current closure calls.
    memo: Vec<Option<R<'a>>>,
}

/// A compile-time constant as a value borrowing from the program.
fn constant<'a>(v: &'a Value<'static>) -> Value<'a> {
    borrow_const(v)
}

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

/// `l op r` for the fast-path operators: natively on two strings, else as [`binary`] does.
fn compare<'a>(op: BinOp, l: &Value<'a>, r: &Value<'a>, what: &str) -> Result<bool, Fail> {
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
fn compare_str(op: BinOp, a: &str, b: &str) -> Option<bool> {
    Some(match op {
        BinOp::Contains => a.contains(b),
        BinOp::StartsWith => a.starts_with(b),
        BinOp::EndsWith => a.ends_with(b),
        BinOp::Eq => a == b,
        _ => return None,
    })
}

fn want_bool(v: &Value<'_>, what: &str) -> Result<bool, Fail> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => fail(format!(
            "{what}: expected bool, but got {}",
            other.type_name()
        )),
    }
}

/// `obj.name` / `obj["name"]` with Go semantics.
pub(crate) fn member<'a>(obj: Value<'a>, name: &str) -> R<'a> {
    if let Value::Obj(o) = obj {
        obj.discard();
        return match o.member(name) {
            Some(v) => Ok(v),
            None if o.type_name().starts_with("map[") => Ok(Value::Nil),
            None => fail(format!("cannot fetch {name} from {}", o.type_name())),
        };
    }
    match obj {
        Value::Map(mut m) => Ok(m.remove(name).unwrap_or(Value::Nil)),
        other => fail(format!("cannot fetch {name} from {}", other.type_name())),
    }
}

fn norm_index(i: i64, len: usize) -> Option<usize> {
    let i = if i < 0 { i.checked_add(len as i64)? } else { i };
    usize::try_from(i).ok().filter(|&i| i < len)
}

fn index<'a>(obj: Value<'a>, idx: Value<'a>) -> R<'a> {
    let i = match &idx {
        Value::Str(s) => return member(obj, s),
        Value::Int(i) => *i,
        Value::Float(f) => *f as i64,
        other => {
            if let Value::Map(_) = obj {
                return Ok(Value::Nil);
            }
            return fail(format!(
                "cannot use {} as index to {}",
                other.type_name(),
                obj.type_name()
            ));
        }
    };
    let out_of_range =
        |len: usize| fail(format!("index out of range: {i} (array length is {len})"));
    match obj {
        Value::List(mut l) => match norm_index(i, l.len()) {
            Some(k) => Ok(l.swap_remove(k)),
            None => out_of_range(l.len()),
        },
        Value::Str(s) => match norm_index(i, s.len()) {
            Some(k) => Ok(Value::Int(i64::from(s.as_bytes()[k]))),
            None => out_of_range(s.len()),
        },
        Value::Obj(o) => match o.index(i) {
            Some(v) => Ok(v),
            None if o.type_name().starts_with("map[") => Ok(Value::Nil),
            None => out_of_range(o.len().unwrap_or(0)),
        },
        Value::Map(_) => Ok(Value::Nil),
        other => fail(format!("cannot fetch {i} from {}", other.type_name())),
    }
}

/// The elements of something iterable (lists and list-like host objects).
pub(crate) fn elements<'a>(v: Value<'a>, what: &str) -> Result<Vec<Value<'a>>, Fail> {
    match v {
        Value::List(l) => Ok(l),
        Value::Obj(o) if o.type_name().starts_with('[') => {
            let n = o.len().unwrap_or(0);
            Ok((0..n as i64)
                .map(|i| o.index(i).unwrap_or(Value::Nil))
                .collect())
        }
        Value::Obj(o) => match o.to_value() {
            Value::List(l) => Ok(l),
            other => fail(format!("{what}: cannot iterate over {}", other.type_name())),
        },
        other => fail(format!("{what}: cannot iterate over {}", other.type_name())),
    }
}

fn slice<'a>(obj: Value<'a>, from: Option<i64>, to: Option<i64>) -> R<'a> {
    let bounds = |len: usize| {
        let clamp = |x: i64| -> usize {
            let x = if x < 0 { x + len as i64 } else { x };
            x.clamp(0, len as i64) as usize
        };
        let a = from.map_or(0, clamp);
        let b = to.map_or(len, clamp);
        (a, b.max(a))
    };
    match obj {
        Value::Str(s) => {
            let (a, b) = bounds(s.len());
            Ok(match s {
                Cow::Borrowed(s) => match s.get(a..b) {
                    Some(sub) => Value::str(sub),
                    None => {
                        Value::string(String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned())
                    }
                },
                Cow::Owned(s) => {
                    Value::string(String::from_utf8_lossy(&s.as_bytes()[a..b]).into_owned())
                }
            })
        }
        Value::Nil => fail("cannot slice <nil>".to_string()),
        other => {
            let mut l = elements(other, "slice")?;
            let (a, b) = bounds(l.len());
            l.truncate(b);
            Ok(Value::List(l.split_off(a)))
        }
    }
}

impl<'a, 'v> Ctx<'a, 'v> {
    fn new(p: &'a ProgramInner, vars: &'v [Value<'a>]) -> Self {
        Ctx {
            p,
            vars,
            locals: Vec::new(),
            elems: Vec::new(),
            memo: Vec::new(),
        }
    }

    fn eval(&mut self, ir: &'a Ir) -> R<'a> {
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
                        let re = super::go_regex::compile(&p)
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

    /// The value of a per-element cache for the current element.
    fn elem_cached(&mut self, c: &'a ElemCache) -> R<'a> {
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

    fn with_elem(&mut self, body: &'a Ir, v: Value<'a>, i: usize) -> R<'a> {
        self.elems.push((v, i as i64));
        let r = self.eval(body);
        self.elems.pop();
        r
    }

    /// `items[0] && items[1] && ...`.
    fn all(&mut self, items: &'a [Ir]) -> R<'a> {
        for i in items {
            if !want_bool(&self.eval(i)?, "and")? {
                return Ok(Value::Bool(false));
            }
        }
        Ok(Value::Bool(true))
    }

    /// `items[0] || items[1] || ...`.
    fn any(&mut self, items: &'a [Ir]) -> R<'a> {
        for i in items {
            if want_bool(&self.eval(i)?, "or")? {
                return Ok(Value::Bool(true));
            }
        }
        Ok(Value::Bool(false))
    }

    fn closure(&mut self, c: &'a ClosureIr) -> R<'a> {
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

/// Evaluates an eager binary operator with Go/expr-lang semantics.
pub(crate) fn binary<'a>(op: BinOp, l: Value<'a>, r: Value<'a>) -> R<'a> {
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
