//! Tree-walking evaluation of resolved programs.

mod access;
mod binary;
mod closure;
mod walk;

use super::compile::{Ir, Program, ProgramInner};
use super::error::EvalError;
use super::optimize::borrow_const;
use super::pred::Guard;
use super::value::Value;

pub(crate) use access::{elements, member};

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
