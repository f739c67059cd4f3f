//! Member chains read from a variable, resolved at compile time ([`Ir::Field`]).
//!
//! `evt.Meta.log_type` is two member reads, each a call through [`super::Object`] matching a
//! name, with a value built and dropped in between; the hub's filters and statics read tens of
//! such chains per line. A [`FieldResolver`] given to the compiler names the chains the
//! variable's objects can answer in one call ([`super::Object::field`]); the chain is kept
//! beside the code and read as before whenever the object does not answer, so the result
//! never depends on the rewrite.

use super::compile::{FieldResolver, Ir};
use super::optimize::{Folded, children_mut};

/// Rewrites every resolvable member chain of `ir` (closure bodies and fast paths included).
pub(crate) fn resolve(ir: &mut Ir, resolvers: &[(usize, FieldResolver)]) {
    if resolvers.is_empty() {
        return;
    }
    walk(ir, resolvers);
}

fn walk(ir: &mut Ir, resolvers: &[(usize, FieldResolver)]) {
    if let Some((var, code, key)) = resolvable(ir, resolvers) {
        let chain = Box::new(std::mem::replace(ir, Ir::Elem));
        *ir = Ir::Field {
            var,
            code,
            key,
            chain,
        };
        return;
    }
    match ir {
        Ir::Closure(c) => {
            walk(&mut c.list, resolvers);
            if let Some(b) = c.body.as_mut() {
                walk(b, resolvers);
            }
            if let Some(f) = c.fast.as_mut() {
                walk(&mut f.inv, resolvers);
                walk(&mut f.elem, resolvers);
                f.folded = Folded::of(&f.inv);
            }
        }
        _ => children_mut(ir, &mut |c| walk(c, resolvers)),
    }
}

/// The variable, code and key of `ir` when it is a plain (not `?.`) member chain from a
/// variable that a resolver answers.
fn resolvable(
    ir: &Ir,
    resolvers: &[(usize, FieldResolver)],
) -> Option<(usize, u32, super::FieldKey)> {
    let Ir::Member {
        name,
        optional: false,
        ..
    } = ir
    else {
        return None;
    };
    let mut names = Vec::new();
    let mut at = ir;
    let var = loop {
        match at {
            Ir::Member {
                obj,
                name,
                optional: false,
            } => {
                names.push(&**name);
                at = obj;
            }
            Ir::Var(v) => break *v,
            _ => return None,
        }
    };
    names.reverse();
    let (_, resolver) = resolvers.iter().find(|(v, _)| *v == var)?;
    let code = resolver(&names)?;
    Some((var, code, super::FieldKey::new(name)))
}
