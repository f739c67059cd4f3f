//! Operands: literals, identifiers, calls, closures, unary operators and postfix chains.

use super::{CLOSURE_BUILTINS, Parser};
use crate::expr::ast::{Kind, Node};
use crate::expr::error::SyntaxError;
use crate::expr::lexer::Tok;

fn unary_prec(op: &str) -> Option<u32> {
    match op {
        "not" | "!" => Some(50),
        "-" | "+" => Some(90),
        _ => None,
    }
}

impl Parser {
    pub(super) fn primary(&mut self) -> Result<Node, SyntaxError> {
        let t = self.cur().clone();
        if let Tok::Op(op) = t.tok {
            if let Some(p) = unary_prec(op) {
                self.next();
                let e = self.expression(p)?;
                let n = self.mk(Kind::Unary { op, e: Box::new(e) }, t.col)?;
                return self.postfix(n);
            }
            if op == "(" {
                self.next();
                let e = self.expression(0)?;
                self.expect(")")?;
                return self.postfix(e);
            }
            if self.closures > 0 && op == "#" {
                self.next();
                let name = match &self.cur().tok {
                    Tok::Ident(n) if self.cur().col == t.col + 1 => {
                        let n = n.clone();
                        self.next();
                        Some(n)
                    }
                    _ => None,
                };
                let n = self.mk(Kind::Pointer(name), t.col)?;
                return self.postfix(n);
            }
            if self.closures > 0 && op == "." {
                // `.field` / `.Method()` inside a closure applies to `#`.
                let ptr = self.mk(Kind::Pointer(None), t.col)?;
                return self.postfix(ptr);
            }
        }
        let n = self.secondary()?;
        self.postfix(n)
    }

    fn secondary(&mut self) -> Result<Node, SyntaxError> {
        let t = self.cur().clone();
        let kind = match t.tok {
            Tok::Int(i) => Kind::Int(i),
            Tok::Float(x) => Kind::Float(x),
            Tok::Str(s) => Kind::Str(s),
            Tok::Ident(name) => {
                self.next();
                return match name.as_str() {
                    "true" => self.mk(Kind::Bool(true), t.col),
                    "false" => self.mk(Kind::Bool(false), t.col),
                    "nil" => self.mk(Kind::Nil, t.col),
                    _ if self.is_op("(") => self.call(name, t.col, Vec::new()),
                    _ => self.mk(Kind::Ident(name), t.col),
                };
            }
            Tok::Op("[") => {
                self.next();
                let items = self.items("]")?;
                return self.mk(Kind::Array(items), t.col);
            }
            Tok::Op("{") => return self.map_literal(t.col),
            _ => return Err(self.unexpected()),
        };
        self.next();
        self.mk(kind, t.col)
    }

    fn map_literal(&mut self, col: usize) -> Result<Node, SyntaxError> {
        self.next();
        let mut kv = Vec::new();
        while !self.is_op("}") {
            let kt = self.cur().clone();
            let key = match kt.tok {
                Tok::Ident(s) | Tok::Str(s) => {
                    self.next();
                    self.mk(Kind::Str(s), kt.col)?
                }
                Tok::Int(i) => {
                    self.next();
                    self.mk(Kind::Int(i), kt.col)?
                }
                Tok::Op("(") => {
                    self.next();
                    let e = self.expression(0)?;
                    self.expect(")")?;
                    e
                }
                Tok::Op(o) if o.chars().all(|c| c.is_ascii_alphabetic()) => {
                    self.next();
                    self.mk(Kind::Str(o.to_string()), kt.col)?
                }
                _ => return Err(self.unexpected()),
            };
            self.expect(":")?;
            let v = self.expression(0)?;
            kv.push((key, v));
            if !self.is_op("}") {
                self.expect(",")?;
            }
        }
        self.next();
        self.mk(Kind::Map(kv), col)
    }

    /// Parses `(args)` after a function name; `pre` are piped-in leading arguments.
    pub(super) fn call(
        &mut self,
        name: String,
        col: usize,
        mut args: Vec<Node>,
    ) -> Result<Node, SyntaxError> {
        self.expect("(")?;
        let closure = CLOSURE_BUILTINS.contains(&name.as_str());
        while !self.is_op(")") {
            if closure && !args.is_empty() {
                args.push(self.closure()?);
            } else {
                args.push(self.expression(0)?);
            }
            if !self.is_op(")") {
                self.expect(",")?;
            }
        }
        self.next();
        self.mk(Kind::Call { name, args }, col)
    }

    /// Comma-separated expressions up to `close` (a trailing comma allowed), which is
    /// consumed.
    fn items(&mut self, close: &str) -> Result<Vec<Node>, SyntaxError> {
        let mut items = Vec::new();
        while !self.is_op(close) {
            items.push(self.expression(0)?);
            if !self.is_op(close) {
                self.expect(",")?;
            }
        }
        self.next();
        Ok(items)
    }

    fn closure(&mut self) -> Result<Node, SyntaxError> {
        let col = self.cur().col;
        let braced = self.is_op("{");
        if braced {
            self.next();
        }
        self.closures += 1;
        let body = self.expression(0);
        self.closures -= 1;
        let body = body?;
        if braced {
            self.expect("}")?;
        }
        self.mk(Kind::Closure(Box::new(body)), col)
    }

    fn postfix(&mut self, mut node: Node) -> Result<Node, SyntaxError> {
        let mut chained = false;
        loop {
            let t = self.cur().clone();
            match t.tok {
                Tok::Op(op @ ("." | "?.")) => {
                    let optional = op == "?.";
                    chained |= optional;
                    self.next();
                    if optional && self.is_op("[") {
                        node = self.index(node, true)?;
                        continue;
                    }
                    let name = match &self.cur().tok {
                        Tok::Ident(n) => n.clone(),
                        Tok::Op(o) if o.chars().all(|c| c.is_ascii_alphabetic()) => o.to_string(),
                        _ => return Err(self.unexpected()),
                    };
                    self.next();
                    let col = node.col;
                    if self.is_op("(") {
                        self.next();
                        let args = self.items(")")?;
                        node = self.mk(
                            Kind::Method {
                                obj: Box::new(node),
                                name,
                                args,
                                optional,
                            },
                            col,
                        )?;
                    } else {
                        node = self.mk(
                            Kind::Member {
                                obj: Box::new(node),
                                name,
                                optional,
                            },
                            col,
                        )?;
                    }
                }
                Tok::Op("[") => node = self.index(node, false)?,
                _ => break,
            }
        }
        if chained {
            let col = node.col;
            node = self.mk(Kind::Chain(Box::new(node)), col)?;
        }
        Ok(node)
    }

    fn index(&mut self, node: Node, optional: bool) -> Result<Node, SyntaxError> {
        let col = node.col;
        self.next(); // `[`
        if self.is_op(":") {
            return self.slice(node, None, col);
        }
        let first = self.expression(0)?;
        if self.is_op(":") {
            return self.slice(node, Some(first), col);
        }
        self.expect("]")?;
        self.mk(
            Kind::Index {
                obj: Box::new(node),
                index: Box::new(first),
                optional,
            },
            col,
        )
    }

    /// `node[from:to]`, at the `:`.
    fn slice(&mut self, node: Node, from: Option<Node>, col: usize) -> Result<Node, SyntaxError> {
        self.next(); // `:`
        let to = if self.is_op("]") {
            None
        } else {
            Some(Box::new(self.expression(0)?))
        };
        self.expect("]")?;
        self.mk(
            Kind::Slice {
                obj: Box::new(node),
                from: from.map(Box::new),
                to,
            },
            col,
        )
    }
}
