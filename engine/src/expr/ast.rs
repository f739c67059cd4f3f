//! The syntax tree produced by the parser.

use std::fmt;

/// A node and the (0-based, in characters) column it starts at.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Node {
    pub kind: Kind,
    pub col: usize,
    /// Height of the tree under this node (1 for leaves); bounded by the parser.
    pub depth: u32,
}

/// What a node is.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Kind {
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// A variable (or `let` binding).
    Ident(String),
    /// `#` (None) or `#index` / `#acc` inside a closure.
    Pointer(Option<String>),
    Array(Vec<Node>),
    Map(Vec<(Node, Node)>),
    Member {
        obj: Box<Node>,
        name: String,
        optional: bool,
    },
    Index {
        obj: Box<Node>,
        index: Box<Node>,
        optional: bool,
    },
    Slice {
        obj: Box<Node>,
        from: Option<Box<Node>>,
        to: Option<Box<Node>>,
    },
    Call {
        name: String,
        args: Vec<Node>,
    },
    Method {
        obj: Box<Node>,
        name: String,
        args: Vec<Node>,
        optional: bool,
    },
    /// A predicate body (`{# > 1}`), only as an argument of a closure builtin.
    Closure(Box<Node>),
    Unary {
        op: &'static str,
        e: Box<Node>,
    },
    Binary {
        op: &'static str,
        l: Box<Node>,
        r: Box<Node>,
    },
    /// A flattened chain of `&&` or `||` (kept flat so long hub filters stay shallow).
    Logic {
        op: &'static str,
        items: Vec<Node>,
    },
    Cond {
        c: Box<Node>,
        a: Box<Node>,
        b: Box<Node>,
    },
    /// A member chain containing `?.`: a nil met by `?.` makes the whole chain nil.
    Chain(Box<Node>),
    Let {
        name: String,
        value: Box<Node>,
        body: Box<Node>,
    },
}

impl Node {
    /// Builds a node, computing its depth from its children.
    pub(crate) fn new(kind: Kind, col: usize) -> Self {
        let mut depth = 0;
        kind.children(|c| depth = depth.max(c.depth));
        Node {
            kind,
            col,
            depth: depth + 1,
        }
    }
}

impl Kind {
    /// Calls `f` on every direct child.
    pub(crate) fn children(&self, mut f: impl FnMut(&Node)) {
        match self {
            Kind::Nil | Kind::Bool(_) | Kind::Int(_) | Kind::Float(_) | Kind::Str(_) => {}
            Kind::Ident(_) | Kind::Pointer(_) => {}
            Kind::Array(v) | Kind::Call { args: v, .. } | Kind::Logic { items: v, .. } => {
                v.iter().for_each(f)
            }
            Kind::Map(kv) => kv.iter().for_each(|(k, v)| {
                f(k);
                f(v)
            }),
            Kind::Member { obj, .. } => f(obj),
            Kind::Index { obj, index, .. } => {
                f(obj);
                f(index)
            }
            Kind::Slice { obj, from, to } => {
                f(obj);
                from.iter().chain(to.iter()).for_each(|n| f(n))
            }
            Kind::Method { obj, args, .. } => {
                f(obj);
                args.iter().for_each(f)
            }
            Kind::Closure(e) | Kind::Unary { e, .. } | Kind::Chain(e) => f(e),
            Kind::Binary { l, r, .. } => {
                f(l);
                f(r)
            }
            Kind::Cond { c, a, b } => {
                f(c);
                f(a);
                f(b)
            }
            Kind::Let { value, body, .. } => {
                f(value);
                f(body)
            }
        }
    }
}

fn list(f: &mut fmt::Formatter<'_>, items: &[Node]) -> fmt::Result {
    for (i, n) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{n}")?;
    }
    Ok(())
}

/// Prints the node back as fully parenthesized source that parses to the same tree.
impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Nil => f.write_str("nil"),
            Kind::Bool(b) => write!(f, "{b}"),
            Kind::Int(i) if *i < 0 => write!(f, "({i})"),
            Kind::Int(i) => write!(f, "{i}"),
            Kind::Float(x) => write!(f, "({x:?})"),
            Kind::Str(s) => write!(f, "{s:?}"),
            Kind::Ident(n) => f.write_str(n),
            Kind::Pointer(None) => f.write_str("#"),
            Kind::Pointer(Some(n)) => write!(f, "#{n}"),
            Kind::Array(v) => {
                f.write_str("[")?;
                list(f, v)?;
                f.write_str("]")
            }
            Kind::Map(kv) => {
                f.write_str("{")?;
                for (i, (k, v)) in kv.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "({k}): {v}")?;
                }
                f.write_str("}")
            }
            Kind::Member {
                obj,
                name,
                optional,
            } => {
                let dot = if *optional { "?." } else { "." };
                // `1.x` would lex as the float `1.` followed by `x`.
                if matches!(obj.kind, Kind::Int(_)) {
                    write!(f, "({obj}){dot}{name}")
                } else {
                    write!(f, "{obj}{dot}{name}")
                }
            }
            Kind::Index {
                obj,
                index,
                optional,
            } => {
                write!(f, "{obj}{}[{index}]", if *optional { "?." } else { "" })
            }
            Kind::Slice { obj, from, to } => {
                write!(f, "{obj}[")?;
                if let Some(x) = from {
                    write!(f, "{x}")?;
                }
                f.write_str(":")?;
                if let Some(x) = to {
                    write!(f, "{x}")?;
                }
                f.write_str("]")
            }
            Kind::Call { name, args } => {
                write!(f, "{name}(")?;
                list(f, args)?;
                f.write_str(")")
            }
            Kind::Method {
                obj,
                name,
                args,
                optional,
            } => {
                write!(f, "{obj}{}{name}(", if *optional { "?." } else { "." })?;
                list(f, args)?;
                f.write_str(")")
            }
            Kind::Closure(e) => write!(f, "{{{e}}}"),
            Kind::Unary { op, e } => write!(f, "({op} {e})"),
            Kind::Binary { op, l, r } => write!(f, "({l} {op} {r})"),
            Kind::Logic { op, items } => {
                f.write_str("(")?;
                for (i, n) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, " {op} ")?;
                    }
                    write!(f, "({n})")?;
                }
                f.write_str(")")
            }
            Kind::Cond { c, a, b } => write!(f, "({c} ? {a} : {b})"),
            Kind::Chain(e) => write!(f, "{e}"),
            Kind::Let { name, value, body } => write!(f, "(let {name} = {value}; {body})"),
        }
    }
}
