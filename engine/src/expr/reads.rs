//! What a compiled program reads of a variable: which of its members, when that can be told.
//!
//! Buckets keep a compact form of queued events unless an expression evaluated on them needs
//! more (`Meta` only, for most alert contexts); this answers the question from the resolved
//! program rather than from its text, so that a string literal naming a field or a variable
//! that is never read costs nothing.

use std::collections::BTreeSet;

use super::compile::{Ir, Program};
use super::optimize::children;
use super::value::Value;

impl Program {
    /// The members of variable `var` (its position in the compiler's variables) that the
    /// program may read: `evt.Meta.x`, `evt["Meta"]` and `evt.GetMeta(..)` count as `Meta`,
    /// `evt.GetType()` as `Type`. `None` when the variable is used in any other way (passed
    /// whole to a function, bound by `let`, another method called on it), so that anything may
    /// be read.
    pub fn members_read(&self, var: usize) -> Option<BTreeSet<String>> {
        let mut out = BTreeSet::new();
        walk(&self.inner.ir, var, &mut out).then_some(out)
    }
}

/// The member a method of an event reads, for the read-only methods.
fn method_member(name: &str) -> Option<&'static str> {
    match name {
        "GetMeta" | "ParseIPSources" => Some("Meta"),
        "GetType" => Some("Type"),
        _ => None,
    }
}

/// Adds what `ir` reads of `var` to `out`; false when that cannot be told.
fn walk(ir: &Ir, var: usize, out: &mut BTreeSet<String>) -> bool {
    match ir {
        Ir::Var(i) => return *i != var,
        Ir::Member { obj, name, .. } if matches!(**obj, Ir::Var(i) if i == var) => {
            out.insert(name.to_string());
            return true;
        }
        Ir::Index { obj, idx, .. } if matches!(**obj, Ir::Var(i) if i == var) => {
            if let Ir::Const(Value::Str(name)) = &**idx {
                out.insert(name.to_string());
                return true;
            }
            return false;
        }
        Ir::Method {
            obj, name, args, ..
        } if matches!(**obj, Ir::Var(i) if i == var) => {
            let Some(m) = method_member(name) else {
                return false;
            };
            out.insert(m.to_string());
            return args.iter().all(|a| walk(a, var, out));
        }
        Ir::Closure(c) => {
            let mut ok = walk(&c.list, var, out);
            if let Some(b) = &c.body {
                ok = ok && walk(b, var, out);
            }
            if let Some(f) = &c.fast {
                ok = ok && walk(&f.inv, var, out) && walk(&f.elem, var, out);
            }
            return ok;
        }
        _ => {}
    }
    let mut ok = true;
    children(ir, &mut |c| ok = ok && walk(c, var, out));
    ok
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::expr::Compiler;
    use crate::expr::functions::{Functions, HelperContext};

    fn reads(src: &str) -> Option<Vec<String>> {
        let f = Arc::new(Functions::crowdsec(HelperContext::default()));
        let p = Compiler::new(f, &["evt", "match", "req"])
            .compile(src)
            .unwrap();
        p.members_read(0).map(|s| s.into_iter().collect())
    }

    #[test]
    fn members_of_the_variable_are_listed() {
        assert_eq!(reads("evt.Meta.http_path"), Some(vec!["Meta".into()]));
        assert_eq!(
            reads(
                "evt.Meta.service in ['tcp', 'udp'] ? evt.Meta.service + ':' + evt.Parsed.dst_port : ''"
            ),
            Some(vec!["Meta".into(), "Parsed".into()])
        );
        assert_eq!(
            reads("evt.GetMeta('x') + evt['Meta'].y"),
            Some(vec!["Meta".into()])
        );
        assert_eq!(
            reads("any(['a', 'b'], {evt.Unmarshaled.k == #})"),
            Some(vec!["Unmarshaled".into()])
        );
        // Other variables and strings naming fields read nothing of `evt`.
        assert_eq!(
            reads("(match.uri != nil && match.internal != true) ? match.uri : 'evt.Parsed'"),
            Some(vec![])
        );
        assert_eq!(
            reads("req.Method != '' ? req.UserAgent() : ''"),
            Some(vec![])
        );
    }

    #[test]
    fn other_uses_cannot_be_told() {
        assert_eq!(reads("ToJsonString(evt)"), None);
        assert_eq!(reads("let e = evt; e.Meta.x"), None);
        assert_eq!(reads("evt.SetMeta('a', 'b')"), None);
        assert_eq!(reads("evt[evt.Meta.k]"), None);
    }
}
