//! Rewrites of resolved closures that make the hub's data-file filters cheap.
//!
//! CrowdSec's HTTP scenarios test every event against every line of a data file:
//! `any(File("sensitive_data.txt"), {evt.Parsed.request endsWith #})`,
//! `any(File("sqli_probe_patterns.txt"), {Upper(evt.Parsed.http_args) contains Upper(#)})`.
//! Evaluated naively, each event copies the file, re-reads `evt.Parsed.request` and re-computes
//! `Upper(...)` of both sides once per line. Three rewrites remove that work without changing
//! any result or error:
//!
//! - **Hoisting.** A subexpression of a closure body that does not depend on `#`, `#index` or
//!   a `let` of the body is *invariant*: it is replaced by [`Ir::Hoisted`], evaluated the first
//!   time it is reached in a call of the closure and then reused. Because it is evaluated
//!   lazily (never when the list is empty or a short-circuit skips it) and its error is kept
//!   too, this is invisible as long as nothing it reads changes during the call: bodies
//!   containing a method call or an impure helper (writers, the stash, `LogInfo`) are left
//!   alone.
//! - **Per-element caches.** When the list is known at compile time (a literal array, or
//!   `File("name")`, whose lines never change once loaded), a pure subexpression of the body
//!   that depends only on `#`/`#index` and constants (`Upper(#)`, `JsonExtract(#, "uri")`) is
//!   computed once for every element, on first use, and kept in the program
//!   ([`Ir::ElemCached`]).
//! - **Fast paths.** A boolean closure (`all`, `any`, `none`, `one`, `count`) whose body is
//!   `INV op E` or `E op INV`, with `op` one of `==`, `contains`, `startsWith`, `endsWith`,
//!   `in`, `INV` invariant and `E` a pure function of `#`, evaluates `INV` once and compares
//!   natively ([`Fast`]). Over a constant list, `==` uses a hash table of the elements,
//!   `contains` an Aho-Corasick automaton of them (ASCII case-insensitive for `Upper(field)
//!   contains E` of an ASCII field, with no copy of it folded), and `startsWith` / `endsWith`
//!   anchored automata of them (reversed for `endsWith`).

use std::ops::Range;
use std::sync::{Arc, OnceLock};

use aho_corasick::AhoCorasick;
use foldhash::HashMap;

use super::compile::{BinOp, ClosureKind, Ir};
use super::eval::Fail;
use super::pred::{FieldRef, Fold};
use super::value::Value;

/// Elements of a list known at compile time.
#[derive(Debug, Clone)]
pub(crate) enum ConstList {
    /// A literal array.
    Values(Arc<[Value<'static>]>),
    /// The lines of a data file (`File("name")`).
    Lines(Arc<[String]>),
}

impl ConstList {
    /// The constant list `ir` evaluates to, if it is one.
    fn of(ir: &Ir) -> Option<Self> {
        match ir {
            Ir::Const(Value::List(items)) => Some(ConstList::Values(items.clone().into())),
            Ir::Lines(lines) => Some(ConstList::Lines(Arc::clone(lines))),
            _ => None,
        }
    }

    pub(crate) fn len(&self) -> usize {
        match self {
            ConstList::Values(v) => v.len(),
            ConstList::Lines(l) => l.len(),
        }
    }

    /// Element `i` (in range), borrowing its strings.
    pub(crate) fn get(&self, i: usize) -> Value<'_> {
        match self {
            ConstList::Values(v) => v.get(i).map_or(Value::Nil, borrow_const),
            ConstList::Lines(l) => l.get(i).map_or(Value::Nil, |s| Value::str(s)),
        }
    }
}

/// A compile-time constant as a value borrowing its strings (lists and maps are rebuilt, but
/// no string is copied).
pub(crate) fn borrow_const<'a>(v: &'a Value<'static>) -> Value<'a> {
    match v {
        Value::Str(s) => Value::str(s),
        Value::List(l) => Value::List(l.iter().map(borrow_const).collect()),
        Value::Map(m) => Value::Map(
            m.iter()
                .map(|(k, v)| (k.clone(), borrow_const(v)))
                .collect(),
        ),
        other => other.clone(),
    }
}

/// A closure builtin call, resolved.
#[derive(Debug)]
pub(crate) struct ClosureIr {
    pub kind: ClosureKind,
    pub list: Ir,
    pub body: Option<Ir>,
    /// How many `let` slots are bound outside the closure; `Local(s)` with `s < base` is
    /// invariant in the body.
    base: usize,
    /// The list, when known at compile time (then `list` is not evaluated).
    pub konst: Option<ConstList>,
    /// Memo slots of the hoisted subexpressions of `body`, reset on every call.
    pub memo: Range<usize>,
    /// The fast path, replacing `body`'s generic evaluation.
    pub fast: Option<Fast>,
}

impl ClosureIr {
    pub(crate) fn new(kind: ClosureKind, list: Ir, body: Option<Ir>, base: usize) -> Self {
        ClosureIr {
            kind,
            list,
            body,
            base,
            konst: None,
            memo: 0..0,
            fast: None,
        }
    }
}

/// A pure function of `#` over a constant list, with its value for every element.
#[derive(Debug)]
pub(crate) struct ElemCache {
    pub expr: Ir,
    pub list: ConstList,
    pub vals: OnceLock<Vec<Result<Value<'static>, Fail>>>,
}

/// `INV op E` / `E op INV` in a boolean closure, compared natively.
#[derive(Debug)]
pub(crate) struct Fast {
    pub op: BinOp,
    /// Whether `E` (the element side) is the left operand.
    pub elem_left: bool,
    /// The invariant side, evaluated at most once per call.
    pub inv: Ir,
    /// The element side: `#` itself or a pure function of it.
    pub elem: Ir,
    /// Over a constant list: `E` for every element, and indexes of it (built on first use;
    /// shared with the program's predicate, see [`super::pred::TableTest`]).
    pub table: Arc<OnceLock<Table>>,
    /// `INV` when it is `Upper(field)` or `Lower(field)` of a resolved field (set once fields
    /// are resolved): `contains` then searches an ASCII field case-insensitively instead of
    /// folding a copy of it (see [`Fold`]).
    pub folded: Option<Folded>,
}

/// A resolved field under `Upper`/`Lower`.
#[derive(Debug)]
pub(crate) struct Folded {
    pub fold: Fold,
    pub field: FieldRef,
}

impl Folded {
    pub(crate) fn of(inv: &Ir) -> Option<Folded> {
        let (fold, arg) = Fold::of(inv)?;
        Some(Folded {
            fold,
            field: FieldRef::of(arg)?,
        })
    }
}

/// The element side of a [`Fast`] closure over a constant list, for every element.
#[derive(Debug)]
pub(crate) struct Table {
    pub vals: Vec<Result<Value<'static>, Fail>>,
    /// The same values when every one is a string (then no element can fail).
    pub strs: Option<Vec<Box<str>>>,
    counts: OnceLock<HashMap<Box<str>, i64>>,
    /// The elements' automaton, and whether one is empty.
    matcher: OnceLock<Option<(bool, AhoCorasick)>>,
    /// The elements a folded string may hold, ASCII case-insensitively, and whether one is
    /// empty (one fold per table).
    folded: OnceLock<Option<(bool, AhoCorasick)>>,
    /// Anchored automata of the elements (`starts`) and of the elements reversed (`ends`).
    starts: OnceLock<Option<AhoCorasick>>,
    ends: OnceLock<Option<(AhoCorasick, usize)>>,
}

impl Table {
    pub(crate) fn new(vals: Vec<Result<Value<'static>, Fail>>) -> Self {
        let strs = vals
            .iter()
            .map(|v| match v {
                Ok(Value::Str(s)) => Some(Box::<str>::from(s.as_ref())),
                _ => None,
            })
            .collect();
        Table {
            vals,
            strs,
            counts: OnceLock::new(),
            matcher: OnceLock::new(),
            folded: OnceLock::new(),
            starts: OnceLock::new(),
            ends: OnceLock::new(),
        }
    }

    /// How many elements equal `s` (requires `strs`).
    pub(crate) fn count_eq(&self, s: &str) -> i64 {
        let counts = self.counts.get_or_init(|| {
            let mut m = HashMap::default();
            for e in self.strs.iter().flatten() {
                *m.entry(e.clone()).or_insert(0) += 1;
            }
            m
        });
        counts.get(s).copied().unwrap_or(0)
    }

    /// Whether `s op e` holds for some element `e` (`==`, `contains`, `startsWith`,
    /// `endsWith`; requires `strs`), or `None` when the table cannot tell (another operator,
    /// no automaton).
    pub(crate) fn any_holds(&self, op: BinOp, s: &str) -> Option<bool> {
        match op {
            BinOp::Eq => Some(self.count_eq(s) > 0),
            BinOp::Contains => self.contains_any(s),
            BinOp::StartsWith => self.starts_any(s),
            BinOp::EndsWith => self.ends_any(s),
            _ => None,
        }
    }

    /// Whether `hay` contains any element (requires `strs`); `None` if no automaton could be
    /// built (the caller then tests each element).
    pub(crate) fn contains_any(&self, hay: &str) -> Option<bool> {
        let strs = self.strs.as_ref()?;
        // Whether an element is empty is settled with the automaton, not by a scan of the
        // list on every call.
        let (empty, m) = self
            .matcher
            .get_or_init(|| {
                let m = AhoCorasick::new(strs.iter().map(|s| s.as_bytes())).ok()?;
                Some((strs.iter().any(|s| s.is_empty()), m))
            })
            .as_ref()?;
        Some(*empty || m.is_match(hay))
    }

    /// Whether `Upper(hay)` (or `Lower(hay)`, by `fold`) contains any element, for an ASCII
    /// `hay` (requires `strs`); `None` as for [`Self::contains_any`].
    pub(crate) fn contains_any_folded(&self, hay: &str, fold: Fold) -> Option<bool> {
        let strs = self.strs.as_ref()?;
        let (empty, m) = self
            .folded
            .get_or_init(|| {
                let admitted: Vec<&str> = strs
                    .iter()
                    .map(|s| &**s)
                    .filter(|s| fold.admits(s))
                    .collect();
                let m = AhoCorasick::builder()
                    .ascii_case_insensitive(true)
                    .build(&admitted)
                    .ok()?;
                Some((admitted.contains(&""), m))
            })
            .as_ref()?;
        Some(*empty || m.is_match(hay))
    }

    /// Whether `hay` starts with any element (requires `strs`); `None` as for
    /// [`Self::contains_any`].
    pub(crate) fn starts_any(&self, hay: &str) -> Option<bool> {
        let strs = self.strs.as_ref()?;
        let m = self
            .starts
            .get_or_init(|| anchored(strs.iter().map(|s| s.as_bytes().to_vec())));
        let input = aho_corasick::Input::new(hay).anchored(aho_corasick::Anchored::Yes);
        m.as_ref().map(|m| m.is_match(input))
    }

    /// Whether `hay` ends with any element (requires `strs`): the reversed elements matched
    /// at the start of the reversed end of `hay` (as long as the longest element). `None` as
    /// for [`Self::contains_any`].
    pub(crate) fn ends_any(&self, hay: &str) -> Option<bool> {
        let strs = self.strs.as_ref()?;
        let (m, longest) = self
            .ends
            .get_or_init(|| {
                let longest = strs.iter().map(|s| s.len()).max().unwrap_or(0);
                let reversed = strs.iter().map(|s| s.bytes().rev().collect::<Vec<u8>>());
                anchored(reversed).map(|m| (m, longest))
            })
            .as_ref()?;
        // Reversed into a stack buffer when it fits (most elements are short paths).
        let n = (*longest).min(hay.len());
        let (mut small, mut big) = ([0u8; 64], Vec::new());
        let tail: &mut [u8] = if n <= small.len() {
            &mut small[..n]
        } else {
            big.resize(n, 0);
            &mut big
        };
        for (d, b) in tail.iter_mut().zip(hay.bytes().rev()) {
            *d = b;
        }
        let input = aho_corasick::Input::new(&*tail).anchored(aho_corasick::Anchored::Yes);
        Some(m.is_match(input))
    }
}

/// An automaton of `patterns` for anchored searches only.
fn anchored(patterns: impl Iterator<Item = Vec<u8>>) -> Option<AhoCorasick> {
    AhoCorasick::builder()
        .start_kind(aho_corasick::StartKind::Anchored)
        .build(patterns)
        .ok()
}

/// Applies the rewrites to every closure of `ir`, innermost first.
pub(crate) fn optimize(ir: &mut Ir) {
    let mut next_slot = 0;
    walk(ir, &mut next_slot);
}

fn walk(ir: &mut Ir, next_slot: &mut usize) {
    children_mut(ir, &mut |c| walk(c, next_slot));
    if let Ir::Closure(c) = ir {
        closure(c, next_slot);
    }
}

fn closure(c: &mut ClosureIr, next_slot: &mut usize) {
    c.konst = ConstList::of(&c.list);
    let Some(body) = c.body.as_mut() else {
        return;
    };
    let boolean = matches!(
        c.kind,
        ClosureKind::All
            | ClosureKind::Any
            | ClosureKind::None
            | ClosureKind::One
            | ClosureKind::Count
    );
    if boolean && let Some(fast) = fast_shape(body, c.base) {
        c.fast = Some(fast);
        c.body = None;
        return;
    }
    if let Some(k) = &c.konst {
        cache_elems(body, k);
    }
    if pure(body) {
        let start = *next_slot;
        hoist(body, c.base, next_slot);
        c.memo = start..*next_slot;
    }
}

/// Recognizes `INV op E` / `E op INV`, taking the operands out of `body` if so.
fn fast_shape(body: &mut Ir, base: usize) -> Option<Fast> {
    let Ir::Bin { op, l, r } = body else {
        return None;
    };
    if !matches!(
        op,
        BinOp::Eq | BinOp::Contains | BinOp::StartsWith | BinOp::EndsWith | BinOp::In
    ) {
        return None;
    }
    let elem_left = if elem_only(l) && invariant(r, base) {
        true
    } else if invariant(l, base) && elem_only(r) {
        false
    } else {
        return None;
    };
    let op = *op;
    let (l, r) = (take(l), take(r));
    let (elem, inv) = if elem_left { (l, r) } else { (r, l) };
    Some(Fast {
        op,
        elem_left,
        folded: None,
        inv,
        elem,
        table: Arc::default(),
    })
}

fn take(b: &mut Ir) -> Ir {
    std::mem::replace(b, Ir::Const(Value::Nil))
}

/// Replaces the maximal pure functions of `#` (that do not reduce to `#` itself) by caches.
fn cache_elems(ir: &mut Ir, k: &ConstList) {
    if !matches!(ir, Ir::Elem | Ir::ElemIndex) && uses_elem(ir) && elem_only(ir) {
        let expr = take(ir);
        *ir = Ir::ElemCached(Box::new(ElemCache {
            expr,
            list: k.clone(),
            vals: OnceLock::new(),
        }));
        return;
    }
    match ir {
        // `#` in a nested closure's body is that closure's element; its list is ours.
        Ir::Closure(c) => cache_elems(&mut c.list, k),
        _ => children_mut(ir, &mut |c| cache_elems(c, k)),
    }
}

/// Replaces the maximal non-trivial invariant subexpressions by memoized ones.
fn hoist(ir: &mut Ir, base: usize, next_slot: &mut usize) {
    if !matches!(
        ir,
        Ir::Const(_) | Ir::Var(_) | Ir::Local(_) | Ir::Lines(_) | Ir::Hoisted { .. }
    ) && invariant(ir, base)
    {
        let expr = Box::new(take(ir));
        *ir = Ir::Hoisted {
            slot: *next_slot,
            expr,
        };
        *next_slot += 1;
        return;
    }
    match ir {
        Ir::Closure(c) => hoist(&mut c.list, base, next_slot),
        Ir::ElemCached(_) => {}
        _ => children_mut(ir, &mut |c| hoist(c, base, next_slot)),
    }
}

/// Whether `ir` reads `#` or `#index` of the closure it is in.
fn uses_elem(ir: &Ir) -> bool {
    match ir {
        Ir::Elem | Ir::ElemIndex | Ir::ElemCached(_) => true,
        Ir::Closure(c) => uses_elem(&c.list),
        _ => {
            let mut any = false;
            children(ir, &mut |c| any = any || uses_elem(c));
            any
        }
    }
}

/// Whether `ir` is pure and depends on nothing but `#`, `#index` and constants.
fn elem_only(ir: &Ir) -> bool {
    match ir {
        Ir::Var(_) | Ir::Local(_) | Ir::Let { .. } | Ir::Method { .. } | Ir::Closure(_) => false,
        Ir::Hoisted { .. } | Ir::ElemCached(_) => false,
        Ir::Func { f, .. } if !f.pure => false,
        _ => {
            let mut ok = true;
            children(ir, &mut |c| ok = ok && elem_only(c));
            ok
        }
    }
}

/// Whether `ir` is pure and depends neither on `#`/`#index` nor on a `let` of the body.
fn invariant(ir: &Ir, base: usize) -> bool {
    match ir {
        Ir::Elem | Ir::ElemIndex | Ir::ElemCached(_) => false,
        Ir::Local(s) => *s < base,
        Ir::Let { .. } | Ir::Method { .. } | Ir::Closure(_) => false,
        Ir::Func { f, .. } if !f.pure => false,
        _ => {
            let mut ok = true;
            children(ir, &mut |c| ok = ok && invariant(c, base));
            ok
        }
    }
}

/// Whether evaluating `ir` (nested closures included) cannot change anything it reads.
fn pure(ir: &Ir) -> bool {
    match ir {
        Ir::Method { .. } => false,
        Ir::Func { f, .. } if !f.pure => false,
        Ir::Closure(c) => {
            pure(&c.list)
                && c.body.as_ref().is_none_or(pure)
                && c.fast
                    .as_ref()
                    .is_none_or(|f| pure(&f.inv) && pure(&f.elem))
        }
        _ => {
            let mut ok = true;
            children(ir, &mut |c| ok = ok && pure(c));
            ok
        }
    }
}

/// Calls `f` on every direct child evaluated in the same scope (for a closure: its list).
pub(crate) fn children(ir: &Ir, f: &mut dyn FnMut(&Ir)) {
    match ir {
        Ir::Const(_) | Ir::Var(_) | Ir::Local(_) | Ir::Elem | Ir::ElemIndex | Ir::Lines(_) => {}
        Ir::Array(v) | Ir::All(v) | Ir::Any(v) => v.iter().for_each(f),
        Ir::Func { args, .. } | Ir::Builtin { args, .. } => args.iter().for_each(f),
        Ir::Map(kv) => kv.iter().for_each(|(k, v)| {
            f(k);
            f(v)
        }),
        Ir::Member { obj, .. } => f(obj),
        Ir::Field { chain, .. } => f(chain),
        Ir::Index { obj, idx, .. } => {
            f(obj);
            f(idx)
        }
        Ir::Slice { obj, from, to } => {
            f(obj);
            from.iter().chain(to.iter()).for_each(|x| f(x))
        }
        Ir::Method { obj, args, .. } => {
            f(obj);
            args.iter().for_each(f)
        }
        Ir::Closure(c) => f(&c.list),
        Ir::Hoisted { expr, .. } => f(expr),
        Ir::ElemCached(c) => f(&c.expr),
        Ir::Not(e) | Ir::Neg(e) | Ir::Plus(e) | Ir::Chain(e) | Ir::Matches(e, _) => f(e),
        Ir::Bin { l, r, .. } | Ir::Coalesce(l, r) | Ir::Elvis(l, r) | Ir::MatchesDyn(l, r) => {
            f(l);
            f(r)
        }
        Ir::Cond(c, a, b) => {
            f(c);
            f(a);
            f(b)
        }
        Ir::Let { value, body, .. } => {
            f(value);
            f(body)
        }
    }
}

/// Like [`children`], mutably; for a closure, its list and its body (which the walk optimizes
/// before the closure itself).
pub(crate) fn children_mut(ir: &mut Ir, f: &mut dyn FnMut(&mut Ir)) {
    match ir {
        Ir::Const(_) | Ir::Var(_) | Ir::Local(_) | Ir::Elem | Ir::ElemIndex | Ir::Lines(_) => {}
        Ir::Array(v) | Ir::All(v) | Ir::Any(v) => v.iter_mut().for_each(f),
        Ir::Func { args, .. } | Ir::Builtin { args, .. } => args.iter_mut().for_each(f),
        Ir::Map(kv) => kv.iter_mut().for_each(|(k, v)| {
            f(k);
            f(v)
        }),
        Ir::Member { obj, .. } => f(obj),
        Ir::Field { chain, .. } => f(chain),
        Ir::Index { obj, idx, .. } => {
            f(obj);
            f(idx)
        }
        Ir::Slice { obj, from, to } => {
            f(obj);
            from.iter_mut().chain(to.iter_mut()).for_each(|x| f(x))
        }
        Ir::Method { obj, args, .. } => {
            f(obj);
            args.iter_mut().for_each(f)
        }
        Ir::Closure(c) => {
            f(&mut c.list);
            if let Some(b) = c.body.as_mut() {
                f(b)
            }
        }
        Ir::Hoisted { expr, .. } => f(expr),
        Ir::ElemCached(c) => f(&mut c.expr),
        Ir::Not(e) | Ir::Neg(e) | Ir::Plus(e) | Ir::Chain(e) | Ir::Matches(e, _) => f(e),
        Ir::Bin { l, r, .. } | Ir::Coalesce(l, r) | Ir::Elvis(l, r) | Ir::MatchesDyn(l, r) => {
            f(l);
            f(r)
        }
        Ir::Cond(c, a, b) => {
            f(c);
            f(a);
            f(b)
        }
        Ir::Let { value, body, .. } => {
            f(value);
            f(body)
        }
    }
}
