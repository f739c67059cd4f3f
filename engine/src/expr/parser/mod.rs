//! Pratt parser with expr-lang's operator precedences.

mod operand;

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
}
