//! Resolves a parsed expression against variable names and the helper registry.

use std::fmt;
use std::sync::Arc;

use regex::Regex;

use super::ast::{Kind, Node};
use super::builtins::{self, BuiltinFn};
use super::error::{ExprError, SyntaxError};
use super::functions::{Function, Functions, SharedFunctions};
use super::optimize::{ClosureIr, ElemCache, optimize};
use super::parser::{CLOSURE_BUILTINS, parse};
use super::pred::{Choice, Pred};
use super::value::Value;

/// Binary operators evaluated eagerly on both operands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BinOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    In,
    Contains,
    StartsWith,
    EndsWith,
    Range,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
}

/// Builtins taking a predicate closure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ClosureKind {
    All,
    None,
    Any,
    One,
    Filter,
    Map,
    Count,
    Sum,
    Find,
    FindIndex,
    FindLast,
    FindLastIndex,
}

impl ClosureKind {
    /// The name used in error messages (`Any: expected bool, ...`).
    pub(crate) fn label(self) -> &'static str {
        match self {
            ClosureKind::All => "All",
            ClosureKind::None => "None",
            ClosureKind::Any => "Any",
            ClosureKind::One => "One",
            ClosureKind::Filter => "Filter",
            ClosureKind::Map => "Map",
            ClosureKind::Count => "Count",
            ClosureKind::Sum => "Sum",
            ClosureKind::Find => "Find",
            ClosureKind::FindIndex => "FindIndex",
            ClosureKind::FindLast => "FindLast",
            ClosureKind::FindLastIndex => "FindLastIndex",
        }
    }
}

/// A resolved expression node, ready to evaluate.
#[derive(Debug)]
pub(crate) enum Ir {
    Const(Value<'static>),
    Var(usize),
    Local(usize),
    Elem,
    ElemIndex,
    Array(Vec<Ir>),
    Map(Vec<(Ir, Ir)>),
    Member {
        obj: Box<Ir>,
        name: Box<str>,
        optional: bool,
    },
    /// `chain` (member reads from variable `var`, `evt.Meta.log_type`), resolved at compile
    /// time to `code` of the variable's objects ([`super::Object::field`]), with the last
    /// name as `key`; `chain` is evaluated instead when the object does not answer.
    Field {
        var: usize,
        code: u32,
        key: super::FieldKey,
        chain: Box<Ir>,
    },
    Index {
        obj: Box<Ir>,
        idx: Box<Ir>,
        optional: bool,
    },
    Slice {
        obj: Box<Ir>,
        from: Option<Box<Ir>>,
        to: Option<Box<Ir>>,
    },
    Func {
        name: Box<str>,
        f: Arc<Function>,
        args: Vec<Ir>,
    },
    /// `File("name")` of the registry's own `File`: the loaded lines, shared.
    Lines(Arc<[String]>),
    Builtin {
        name: &'static str,
        f: BuiltinFn,
        args: Vec<Ir>,
    },
    Closure(Box<ClosureIr>),
    /// A loop-invariant subexpression of a closure body, evaluated at most once per call of
    /// the closure (lazily, result or error kept in memo `slot`).
    Hoisted {
        slot: usize,
        expr: Box<Ir>,
    },
    /// A pure function of `#` in the body of a closure over a constant list: its value for
    /// every element, computed once.
    ElemCached(Box<ElemCache>),
    Method {
        obj: Box<Ir>,
        name: Box<str>,
        args: Vec<Ir>,
        optional: bool,
    },
    Not(Box<Ir>),
    Neg(Box<Ir>),
    Plus(Box<Ir>),
    Bin {
        op: BinOp,
        l: Box<Ir>,
        r: Box<Ir>,
    },
    All(Vec<Ir>),
    Any(Vec<Ir>),
    Coalesce(Box<Ir>, Box<Ir>),
    Elvis(Box<Ir>, Box<Ir>),
    Cond(Box<Ir>, Box<Ir>, Box<Ir>),
    Matches(Box<Ir>, Regex),
    MatchesDyn(Box<Ir>, Box<Ir>),
    Chain(Box<Ir>),
    Let {
        slot: usize,
        value: Box<Ir>,
        body: Box<Ir>,
    },
}

/// Resolves the member names read from a variable (`evt.Meta.log_type` gives
/// `["Meta", "log_type"]`) to a code that the variable's objects answer in
/// [`super::Object::field`], or `None` for chains they do not serve directly.
pub type FieldResolver = fn(&[&str]) -> Option<u32>;

/// Compiles expression text into [`Program`]s for a fixed set of variables and helpers.
pub struct Compiler {
    functions: SharedFunctions,
    vars: Vec<String>,
    optimize: bool,
    /// Variables (by index) whose member chains are resolved at compile time.
    fields: Vec<(usize, FieldResolver)>,
}

impl fmt::Debug for Compiler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Compiler")
            .field("vars", &self.vars)
            .finish_non_exhaustive()
    }
}

/// A compiled expression: cheap to clone, safe to share between threads.
#[derive(Clone)]
pub struct Program {
    pub(crate) inner: Arc<ProgramInner>,
}

pub(crate) struct ProgramInner {
    pub source: String,
    pub ir: Ir,
    pub locals: usize,
    /// The same program as a [`Pred`], when it has one of its shapes (optimized only).
    pub pred: Option<Pred>,
    /// The same program as a [`Choice`], when it has its shape (optimized only).
    pub choice: Option<Choice>,
}

impl fmt::Debug for Program {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Program")
            .field("source", &self.inner.source)
            .finish_non_exhaustive()
    }
}

impl Program {
    /// The expression text this program was compiled from.
    pub fn source(&self) -> &str {
        &self.inner.source
    }

    /// The code and key of the resolved field (see [`Compiler::with_fields`]) of variable
    /// `var` that is the whole program, if it is one.
    pub(crate) fn lone_field(&self, var: usize) -> Option<(u32, &super::FieldKey)> {
        match &self.inner.ir {
            Ir::Field {
                var: v, code, key, ..
            } if *v == var => Some((*code, key)),
            _ => None,
        }
    }
}

impl Compiler {
    /// A compiler for expressions that may use the variables `vars` (in this order at
    /// evaluation time) and call the helpers in `functions`.
    pub fn new(functions: Arc<Functions>, vars: &[&str]) -> Self {
        Self {
            functions,
            vars: vars.iter().map(|s| s.to_string()).collect(),
            optimize: true,
            fields: Vec::new(),
        }
    }

    /// Resolves member chains read from variable `var` with `resolver` at compile time (see
    /// [`FieldResolver`]); a chain is still read member by member from objects that do not
    /// answer its code, so the result is the same either way. Ignored for an unknown `var`.
    pub fn with_fields(mut self, var: &str, resolver: FieldResolver) -> Self {
        if let Some(i) = self.vars.iter().position(|v| v == var) {
            self.fields.push((i, resolver));
        }
        self
    }

    /// Turns the optimizations (shared `File()` lines, hoisting of loop-invariant parts of
    /// closure bodies, per-element caches over constant lists, native fast paths) on (the
    /// default) or off. The result is the same either way; off is for differential tests and
    /// benchmarks.
    pub fn with_optimizations(mut self, on: bool) -> Self {
        self.optimize = on;
        self
    }

    /// Parses and resolves `source`.
    pub fn compile(&self, source: &str) -> Result<Program, ExprError> {
        let ast = parse(source).map_err(|e| e.with_source(source))?;
        let mut cx = Resolver {
            c: self,
            lets: Vec::new(),
            max_locals: 0,
            closures: 0,
        };
        let mut ir = cx.node(&ast).map_err(|e| e.with_source(source))?;
        if self.optimize {
            optimize(&mut ir);
            super::fields::resolve(&mut ir, &self.fields);
        }
        let (pred, choice) = if self.optimize {
            (super::pred::build(&ir), Choice::build(&ir))
        } else {
            (None, None)
        };
        Ok(Program {
            inner: Arc::new(ProgramInner {
                source: source.to_string(),
                ir,
                locals: cx.max_locals,
                pred,
                choice,
            }),
        })
    }
}

struct Resolver<'c> {
    c: &'c Compiler,
    lets: Vec<String>,
    max_locals: usize,
    closures: u32,
}

fn bx(ir: Ir) -> Box<Ir> {
    Box::new(ir)
}

impl Resolver<'_> {
    fn nodes(&mut self, ns: &[Node]) -> Result<Vec<Ir>, SyntaxError> {
        ns.iter().map(|n| self.node(n)).collect()
    }

    fn node(&mut self, n: &Node) -> Result<Ir, SyntaxError> {
        Ok(match &n.kind {
            Kind::Nil => Ir::Const(Value::Nil),
            Kind::Bool(b) => Ir::Const(Value::Bool(*b)),
            Kind::Int(i) => Ir::Const(Value::Int(*i)),
            Kind::Float(x) => Ir::Const(Value::Float(*x)),
            Kind::Str(s) => Ir::Const(Value::string(s.clone())),
            Kind::Ident(name) => {
                if let Some(slot) = self.lets.iter().rposition(|l| l == name) {
                    Ir::Local(slot)
                } else if let Some(i) = self.c.vars.iter().position(|v| v == name) {
                    Ir::Var(i)
                } else {
                    return Err(SyntaxError::new(n.col, format!("unknown name {name}")));
                }
            }
            Kind::Pointer(None) => Ir::Elem,
            Kind::Pointer(Some(p)) if p == "index" => Ir::ElemIndex,
            Kind::Pointer(Some(p)) => {
                return Err(SyntaxError::new(n.col, format!("unknown pointer #{p}")));
            }
            Kind::Array(items) => {
                let items = self.nodes(items)?;
                if items.iter().all(|i| matches!(i, Ir::Const(_))) {
                    Ir::Const(Value::List(
                        items
                            .into_iter()
                            .filter_map(|i| if let Ir::Const(v) = i { Some(v) } else { None })
                            .collect(),
                    ))
                } else {
                    Ir::Array(items)
                }
            }
            Kind::Map(kv) => {
                let mut out = Vec::new();
                for (k, v) in kv {
                    out.push((self.node(k)?, self.node(v)?));
                }
                Ir::Map(out)
            }
            Kind::Member {
                obj,
                name,
                optional,
            } => Ir::Member {
                obj: bx(self.node(obj)?),
                name: name.as_str().into(),
                optional: *optional,
            },
            Kind::Index {
                obj,
                index,
                optional,
            } => Ir::Index {
                obj: bx(self.node(obj)?),
                idx: bx(self.node(index)?),
                optional: *optional,
            },
            Kind::Slice { obj, from, to } => Ir::Slice {
                obj: bx(self.node(obj)?),
                from: from.as_ref().map(|x| self.node(x)).transpose()?.map(bx),
                to: to.as_ref().map(|x| self.node(x)).transpose()?.map(bx),
            },
            Kind::Call { name, args } => self.call(n, name, args)?,
            Kind::Method {
                obj,
                name,
                args,
                optional,
            } => Ir::Method {
                obj: bx(self.node(obj)?),
                name: name.as_str().into(),
                args: self.nodes(args)?,
                optional: *optional,
            },
            Kind::Closure(body) => {
                self.closures += 1;
                let r = self.node(body);
                self.closures -= 1;
                r?
            }
            Kind::Unary { op, e } => {
                let e = bx(self.node(e)?);
                match *op {
                    "not" | "!" => Ir::Not(e),
                    "-" => match *e {
                        Ir::Const(Value::Int(i)) => Ir::Const(Value::Int(i.wrapping_neg())),
                        Ir::Const(Value::Float(x)) => Ir::Const(Value::Float(-x)),
                        e => Ir::Neg(bx(e)),
                    },
                    _ => Ir::Plus(e),
                }
            }
            Kind::Binary { op, l, r } => self.binary(n, op, l, r)?,
            Kind::Logic { op, items } => {
                let items = self.nodes(items)?;
                if *op == "&&" {
                    Ir::All(items)
                } else {
                    Ir::Any(items)
                }
            }
            Kind::Cond { c, a, b } => {
                Ir::Cond(bx(self.node(c)?), bx(self.node(a)?), bx(self.node(b)?))
            }
            Kind::Chain(e) => Ir::Chain(bx(self.node(e)?)),
            Kind::Let { name, value, body } => {
                let value = bx(self.node(value)?);
                let slot = self.lets.len();
                self.lets.push(name.clone());
                self.max_locals = self.max_locals.max(self.lets.len());
                let body = self.node(body);
                self.lets.pop();
                Ir::Let {
                    slot,
                    value,
                    body: bx(body?),
                }
            }
        })
    }

    fn binary(&mut self, n: &Node, op: &str, l: &Node, r: &Node) -> Result<Ir, SyntaxError> {
        let li = bx(self.node(l)?);
        if let ("matches", Kind::Str(pat)) = (op, &r.kind) {
            {
                let re = super::go_regex::compile(pat).map_err(|e| {
                    SyntaxError::new(r.col, format!("invalid regular expression {pat:?}: {e}"))
                })?;
                return Ok(Ir::Matches(li, re));
            }
        }
        let ri = bx(self.node(r)?);
        let bop = match op {
            "or" | "||" => return Ok(Ir::Any(vec![*li, *ri])),
            "and" | "&&" => return Ok(Ir::All(vec![*li, *ri])),
            "??" => return Ok(Ir::Coalesce(li, ri)),
            "?:" => return Ok(Ir::Elvis(li, ri)),
            "matches" => return Ok(Ir::MatchesDyn(li, ri)),
            "==" => BinOp::Eq,
            "!=" => BinOp::Ne,
            "<" => BinOp::Lt,
            "<=" => BinOp::Le,
            ">" => BinOp::Gt,
            ">=" => BinOp::Ge,
            "in" => BinOp::In,
            "contains" => BinOp::Contains,
            "startsWith" => BinOp::StartsWith,
            "endsWith" => BinOp::EndsWith,
            ".." => BinOp::Range,
            "+" => BinOp::Add,
            "-" => BinOp::Sub,
            "*" => BinOp::Mul,
            "/" => BinOp::Div,
            "%" => BinOp::Mod,
            "**" | "^" => BinOp::Pow,
            other => return Err(SyntaxError::new(n.col, format!("unknown operator {other}"))),
        };
        Ok(Ir::Bin {
            op: bop,
            l: li,
            r: ri,
        })
    }

    fn call(&mut self, n: &Node, name: &str, args: &[Node]) -> Result<Ir, SyntaxError> {
        if CLOSURE_BUILTINS.contains(&name) {
            return self.closure_call(n, name, args);
        }
        if let Some(f) = self.c.functions.get_shared(name) {
            if !f.arity.accepts(args.len()) {
                return Err(SyntaxError::new(
                    n.col,
                    format!(
                        "wrong number of arguments for {name}: {} ({:?} expected)",
                        args.len(),
                        f.arity
                    ),
                ));
            }
            if let (
                true,
                "File",
                [
                    Node {
                        kind: Kind::Str(file),
                        ..
                    },
                ],
            ) = (self.c.optimize, name, args)
                && let Some(lines) = self.c.functions.file_lines(file)
            {
                return Ok(Ir::Lines(lines));
            }
            return Ok(Ir::Func {
                name: name.into(),
                f,
                args: self.nodes(args)?,
            });
        }
        if let Some((bname, arity, f)) = builtins::lookup(name) {
            if !arity.accepts(args.len()) {
                return Err(SyntaxError::new(
                    n.col,
                    format!(
                        "wrong number of arguments for {name}: {} ({arity:?} expected)",
                        args.len()
                    ),
                ));
            }
            return Ok(Ir::Builtin {
                name: bname,
                f,
                args: self.nodes(args)?,
            });
        }
        Err(SyntaxError::new(n.col, format!("unknown function {name}")))
    }

    fn closure_call(&mut self, n: &Node, name: &str, args: &[Node]) -> Result<Ir, SyntaxError> {
        let kind = match name {
            "all" => ClosureKind::All,
            "none" => ClosureKind::None,
            "any" => ClosureKind::Any,
            "one" => ClosureKind::One,
            "filter" => ClosureKind::Filter,
            "map" => ClosureKind::Map,
            "count" => ClosureKind::Count,
            "sum" => ClosureKind::Sum,
            "find" => ClosureKind::Find,
            "findIndex" => ClosureKind::FindIndex,
            "findLast" => ClosureKind::FindLast,
            "findLastIndex" => ClosureKind::FindLastIndex,
            _ => {
                return Err(SyntaxError::new(
                    n.col,
                    format!("builtin {name} is not supported"),
                ));
            }
        };
        let optional_body = matches!(kind, ClosureKind::Count | ClosureKind::Sum);
        if args.len() != 2 && !(optional_body && args.len() == 1) {
            return Err(SyntaxError::new(
                n.col,
                format!(
                    "wrong number of arguments for {name}: {} (2 expected)",
                    args.len()
                ),
            ));
        }
        let list = self.node(&args[0])?;
        let body = args.get(1).map(|b| self.node(b)).transpose()?;
        Ok(Ir::Closure(Box::new(ClosureIr::new(
            kind,
            list,
            body,
            self.lets.len(),
        ))))
    }
}
