//! Pratt parser with expr-lang's operator precedences.

use super::ast::{Kind, Node};
use super::error::SyntaxError;
use super::lexer::{Tok, Token, lex};

/// Deepest nesting accepted (parentheses, operands); keeps recursion bounded on any input.
const MAX_DEPTH: u32 = 150;

/// Deepest recursion of the parser itself (each level costs several stack frames).
const MAX_RECURSION: u32 = 64;

/// Builtins whose arguments after the first are closures (`{# > 1}` or a bare predicate).
pub(crate) const CLOSURE_BUILTINS: &[&str] = &[
    "all",
    "none",
    "any",
    "one",
    "filter",
    "map",
    "count",
    "sum",
    "find",
    "findIndex",
    "findLast",
    "findLastIndex",
    "groupBy",
    "sortBy",
    "reduce",
];

fn binary_prec(op: &str) -> Option<(u32, bool)> {
    // (precedence, right associative)
    Some(match op {
        "|" => (0, false),
        "or" | "||" => (10, false),
        "and" | "&&" => (15, false),
        "==" | "!=" | "<" | ">" | ">=" | "<=" | "in" | "matches" | "contains" | "startsWith"
        | "endsWith" => (20, false),
        ".." => (25, false),
        "+" | "-" => (30, false),
        "*" | "/" | "%" => (60, false),
        "**" | "^" => (100, true),
        "??" => (500, false),
        _ => return None,
    })
}

fn unary_prec(op: &str) -> Option<u32> {
    match op {
        "not" | "!" => Some(50),
        "-" | "+" => Some(90),
        _ => None,
    }
}

fn negatable(tok: &Tok) -> bool {
    matches!(
        tok,
        Tok::Op("contains" | "matches" | "startsWith" | "endsWith" | "in")
    )
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Eof => "end of expression".to_string(),
        Tok::Int(i) => format!("token {i}"),
        Tok::Float(x) => format!("token {x}"),
        Tok::Str(s) => format!("token {s:?}"),
        Tok::Ident(s) => format!("token {s}"),
        Tok::Op(o) => format!("token {o:?}"),
    }
}

/// Parses a whole expression.
pub(crate) fn parse(src: &str) -> Result<Node, SyntaxError> {
    let toks = lex(src)?;
    let mut p = Parser {
        toks,
        pos: 0,
        depth: 0,
        closures: 0,
    };
    let node = p.expression(0)?;
    if p.cur().tok != Tok::Eof {
        return Err(p.unexpected());
    }
    Ok(node)
}

struct Parser {
    toks: Vec<Token>,
    pos: usize,
    depth: u32,
    closures: u32,
}

impl Parser {
    fn cur(&self) -> &Token {
        // The token list always ends with Eof and `pos` never moves past it.
        &self.toks[self.pos.min(self.toks.len() - 1)]
    }

    fn peek_tok(&self, n: usize) -> &Tok {
        &self.toks[(self.pos + n).min(self.toks.len() - 1)].tok
    }

    fn next(&mut self) {
        if self.pos + 1 < self.toks.len() {
            self.pos += 1;
        }
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.cur().tok, Tok::Op(o) if o == op)
    }

    fn unexpected(&self) -> SyntaxError {
        let t = self.cur();
        let msg = match t.tok {
            Tok::Eof => "unexpected end of expression".to_string(),
            ref other => format!("unexpected {}", describe(other)),
        };
        SyntaxError::new(t.col, msg)
    }

    fn expect(&mut self, op: &str) -> Result<(), SyntaxError> {
        if self.is_op(op) {
            self.next();
            Ok(())
        } else {
            let t = self.cur();
            Err(SyntaxError::new(
                t.col,
                format!("expected {op:?}, found {}", describe(&t.tok)),
            ))
        }
    }

    fn mk(&self, kind: Kind, col: usize) -> Result<Node, SyntaxError> {
        let n = Node::new(kind, col);
        if n.depth > MAX_DEPTH {
            return Err(SyntaxError::new(col, "expression is nested too deeply"));
        }
        Ok(n)
    }

    fn expression(&mut self, prec: u32) -> Result<Node, SyntaxError> {
        self.depth += 1;
        if self.depth > MAX_RECURSION {
            return Err(SyntaxError::new(
                self.cur().col,
                "expression is nested too deeply",
            ));
        }
        let r = self.expression_inner(prec);
        self.depth -= 1;
        r
    }

    fn expression_inner(&mut self, prec: u32) -> Result<Node, SyntaxError> {
        if prec == 0 && self.is_op("let") {
            return self.let_decl();
        }
        if prec == 0 && matches!(&self.cur().tok, Tok::Ident(i) if i == "if") {
            return self.if_else();
        }
        let mut left = self.primary()?;
        while let Tok::Op(mut op) = self.cur().tok {
            let mut op_col = self.cur().col;
            let mut negate = false;
            if op == "not" {
                if !negatable(self.peek_tok(1)) {
                    self.next();
                    return Err(self.unexpected());
                }
                if let Tok::Op(o) = *self.peek_tok(1) {
                    if binary_prec(o).is_some_and(|(p, _)| p < prec) {
                        break;
                    }
                    negate = true;
                    self.next();
                    op = o;
                    op_col = self.cur().col;
                }
            }
            let Some((p, right_assoc)) = binary_prec(op) else {
                break;
            };
            if p < prec {
                break;
            }
            self.next();
            if op == "|" {
                let col = self.cur().col;
                let Tok::Ident(name) = self.cur().tok.clone() else {
                    return Err(self.unexpected());
                };
                self.next();
                left = self.call(name, col, vec![left])?;
                continue;
            }
            if matches!(op, "<" | ">" | "<=" | ">=") {
                left = self.comparison(left, op, op_col, p)?;
                continue;
            }
            let right = self.expression(if right_assoc { p } else { p + 1 })?;
            let col = left.col;
            left = match op {
                "and" | "&&" | "or" | "||" => {
                    let op = if matches!(op, "and" | "&&") {
                        "&&"
                    } else {
                        "||"
                    };
                    match left.kind {
                        Kind::Logic { op: lop, mut items } if lop == op => {
                            items.push(right);
                            self.mk(Kind::Logic { op, items }, col)?
                        }
                        kind => {
                            let left = Node::new(kind, col);
                            self.mk(
                                Kind::Logic {
                                    op,
                                    items: vec![left, right],
                                },
                                col,
                            )?
                        }
                    }
                }
                _ => self.mk(
                    Kind::Binary {
                        op,
                        l: Box::new(left),
                        r: Box::new(right),
                    },
                    col,
                )?,
            };
            if negate {
                left = self.mk(
                    Kind::Unary {
                        op: "not",
                        e: Box::new(left),
                    },
                    op_col,
                )?;
            }
        }
        if prec == 0 && self.is_op("?") {
            self.next();
            let col = left.col;
            if self.is_op(":") {
                // Elvis `a ?: b`: a unless it is nil (or false).
                self.next();
                let b = self.expression(0)?;
                return self.mk(
                    Kind::Binary {
                        op: "?:",
                        l: Box::new(left),
                        r: Box::new(b),
                    },
                    col,
                );
            }
            let a = self.expression(0)?;
            self.expect(":")?;
            let b = self.expression(0)?;
            left = self.mk(
                Kind::Cond {
                    c: Box::new(left),
                    a: Box::new(a),
                    b: Box::new(b),
                },
                col,
            )?;
        }
        Ok(left)
    }

    /// `a < b < c` means `a < b && b < c`.
    fn comparison(
        &mut self,
        left: Node,
        op: &'static str,
        _col: usize,
        p: u32,
    ) -> Result<Node, SyntaxError> {
        let mut root: Option<Node> = None;
        let mut left = left;
        let mut op = op;
        loop {
            let right = self.expression(p + 1)?;
            let col = left.col;
            let cmp = self.mk(
                Kind::Binary {
                    op,
                    l: Box::new(left),
                    r: Box::new(right.clone()),
                },
                col,
            )?;
            root = Some(match root {
                None => cmp,
                Some(r) => {
                    let c = r.col;
                    self.mk(
                        Kind::Binary {
                            op: "&&",
                            l: Box::new(r),
                            r: Box::new(cmp),
                        },
                        c,
                    )?
                }
            });
            left = right;
            match self.cur().tok {
                Tok::Op(o @ ("<" | ">" | "<=" | ">=")) => {
                    op = o;
                    self.next();
                }
                _ => break,
            }
        }
        root.ok_or_else(|| self.unexpected())
    }

    /// `if cond { a } else { b }` (also `else if`).
    fn if_else(&mut self) -> Result<Node, SyntaxError> {
        let col = self.cur().col;
        self.next();
        let c = self.expression(0)?;
        self.expect("{")?;
        let a = self.expression(0)?;
        self.expect("}")?;
        if !matches!(&self.cur().tok, Tok::Ident(e) if e == "else") {
            return Err(self.unexpected());
        }
        self.next();
        let b = if matches!(&self.cur().tok, Tok::Ident(i) if i == "if") {
            self.if_else()?
        } else {
            self.expect("{")?;
            let b = self.expression(0)?;
            self.expect("}")?;
            b
        };
        self.mk(
            Kind::Cond {
                c: Box::new(c),
                a: Box::new(a),
                b: Box::new(b),
            },
            col,
        )
    }

    fn let_decl(&mut self) -> Result<Node, SyntaxError> {
        let col = self.cur().col;
        self.next();
        let Tok::Ident(name) = self.cur().tok.clone() else {
            return Err(self.unexpected());
        };
        self.next();
        self.expect("=")?;
        let value = self.expression(0)?;
        self.expect(";")?;
        let body = self.expression(0)?;
        self.mk(
            Kind::Let {
                name,
                value: Box::new(value),
                body: Box::new(body),
            },
            col,
        )
    }

    fn primary(&mut self) -> Result<Node, SyntaxError> {
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
                let mut items = Vec::new();
                while !self.is_op("]") {
                    items.push(self.expression(0)?);
                    if !self.is_op("]") {
                        self.expect(",")?;
                    }
                }
                self.next();
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
    fn call(&mut self, name: String, col: usize, mut args: Vec<Node>) -> Result<Node, SyntaxError> {
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
                        let mut args = Vec::new();
                        while !self.is_op(")") {
                            args.push(self.expression(0)?);
                            if !self.is_op(")") {
                                self.expect(",")?;
                            }
                        }
                        self.next();
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
            self.next();
            let to = if self.is_op("]") {
                None
            } else {
                Some(Box::new(self.expression(0)?))
            };
            self.expect("]")?;
            return self.mk(
                Kind::Slice {
                    obj: Box::new(node),
                    from: None,
                    to,
                },
                col,
            );
        }
        let first = self.expression(0)?;
        if self.is_op(":") {
            self.next();
            let to = if self.is_op("]") {
                None
            } else {
                Some(Box::new(self.expression(0)?))
            };
            self.expect("]")?;
            return self.mk(
                Kind::Slice {
                    obj: Box::new(node),
                    from: Some(Box::new(first)),
                    to,
                },
                col,
            );
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
}
