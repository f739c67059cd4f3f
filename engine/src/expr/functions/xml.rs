//! `XMLGetNodeValue` and `XMLGetAttributeValue`: the subset of etree's XPath that CrowdSec
//! rules use, over `roxmltree`.
//!
//! Supported: absolute or relative paths of `/`-separated steps, `//` (descendants), `.`,
//! `..`, `*`, element names (a `prefix:` is ignored, names match local names), and predicates
//! `[N]` (1-based, negative counts from the end), `[@attr]`, `[@attr='v']`, `[tag]`,
//! `[tag='v']`, `[text()]`, `[text()='v']`. The first matching element is used.

use roxmltree::{Document, Node};

use super::convert::arg_str;
use super::{Arity, Functions, native};
use crate::expr::value::Value;

/// Registers the XML helpers.
pub(crate) fn register(f: &mut Functions) {
    f.register(
        "XMLGetNodeValue",
        Arity::Exact(2),
        native(|a| {
            let (xml, path) = (
                arg_str("XMLGetNodeValue", a, 0)?,
                arg_str("XMLGetNodeValue", a, 1)?,
            );
            Ok(Value::string(xml_node_value(xml, path).unwrap_or_default()))
        }),
    );
    f.register(
        "XMLGetAttributeValue",
        Arity::Exact(3),
        native(|a| {
            let xml = arg_str("XMLGetAttributeValue", a, 0)?;
            let path = arg_str("XMLGetAttributeValue", a, 1)?;
            let attr = arg_str("XMLGetAttributeValue", a, 2)?;
            Ok(Value::string(
                xml_attribute_value(xml, path, attr).unwrap_or_default(),
            ))
        }),
    );
}

/// The text directly inside the first element matching `path` (before its first child).
pub fn xml_node_value(xml: &str, path: &str) -> Option<String> {
    let steps = compile(path)?;
    let doc = Document::parse(xml).ok()?;
    let node = find(&doc, &steps)?;
    let mut text = String::new();
    for c in node.children() {
        if !c.is_text() {
            break;
        }
        text.push_str(c.text().unwrap_or(""));
    }
    Some(text)
}

/// The value of attribute `attr` of the first element matching `path`.
pub fn xml_attribute_value(xml: &str, path: &str, attr: &str) -> Option<String> {
    let steps = compile(path)?;
    let doc = Document::parse(xml).ok()?;
    let node = find(&doc, &steps)?;
    let local = attr.rsplit(':').next().unwrap_or(attr);
    node.attributes()
        .find(|a| a.name() == local)
        .map(|a| a.value().to_owned())
}

#[derive(Debug, Clone, PartialEq)]
enum Pred {
    Pos(i64),
    Attr(String, Option<String>),
    Child(String, Option<String>),
    Text(Option<String>),
}

#[derive(Debug, Clone, PartialEq)]
enum Step {
    Root,
    Descendants,
    SelfNode,
    Parent,
    Elem(String, Vec<Pred>),
}

fn local(name: &str) -> String {
    name.rsplit(':').next().unwrap_or(name).to_owned()
}

fn unquote(s: &str) -> Option<String> {
    let s = s.trim();
    let q = s.chars().next()?;
    if (q == '\'' || q == '"') && s.len() >= 2 && s.ends_with(q) {
        Some(s[1..s.len() - 1].to_owned())
    } else {
        None
    }
}

fn parse_pred(p: &str) -> Option<Pred> {
    let p = p.trim();
    if let Ok(n) = p.parse::<i64>() {
        return (n != 0).then_some(Pred::Pos(n));
    }
    let (lhs, rhs) = match p.split_once('=') {
        Some((l, r)) => (l.trim(), Some(unquote(r)?)),
        None => (p, None),
    };
    if let Some(a) = lhs.strip_prefix('@') {
        Some(Pred::Attr(local(a), rhs))
    } else if lhs == "text()" {
        Some(Pred::Text(rhs))
    } else if !lhs.is_empty() && !lhs.contains(['[', ']', '(', ')', '/']) {
        Some(Pred::Child(local(lhs), rhs))
    } else {
        None
    }
}

/// Splits an element step like `Data[@Name='x'][1]` into its name and predicates, honouring
/// quotes inside brackets.
fn parse_step(s: &str) -> Option<Step> {
    match s {
        "." => return Some(Step::SelfNode),
        ".." => return Some(Step::Parent),
        _ => {}
    }
    let name_end = s.find('[').unwrap_or(s.len());
    let name = &s[..name_end];
    if name.is_empty() {
        return None;
    }
    let mut preds = Vec::new();
    let mut rest = &s[name_end..];
    while !rest.is_empty() {
        rest = rest.strip_prefix('[')?;
        let mut quote = None;
        let mut end = None;
        for (i, c) in rest.char_indices() {
            match (quote, c) {
                (None, '\'' | '"') => quote = Some(c),
                (Some(q), c) if c == q => quote = None,
                (None, ']') => {
                    end = Some(i);
                    break;
                }
                _ => {}
            }
        }
        let end = end?;
        preds.push(parse_pred(&rest[..end])?);
        rest = &rest[end + 1..];
    }
    Some(Step::Elem(local(name), preds))
}

/// Splits on `/` outside brackets and quotes.
fn split_steps(path: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0usize, None, 0usize);
    for (i, c) in path.char_indices() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '[') => depth += 1,
            (None, ']') => depth = depth.saturating_sub(1),
            (None, '/') if depth == 0 => {
                out.push(&path[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&path[start..]);
    out
}

fn compile(path: &str) -> Option<Vec<Step>> {
    let mut steps = Vec::new();
    let parts = split_steps(path.trim());
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            if i == 0 {
                steps.push(Step::Root);
            } else if i + 1 < parts.len() {
                steps.push(Step::Descendants);
            }
            continue;
        }
        steps.push(parse_step(part)?);
    }
    Some(steps)
}

fn name_ok(n: &Node<'_, '_>, name: &str) -> bool {
    n.is_element() && (name == "*" || n.tag_name().name() == name)
}

fn text_of(n: &Node<'_, '_>) -> String {
    n.children()
        .take_while(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect()
}

fn pred_ok(n: &Node<'_, '_>, p: &Pred) -> bool {
    match p {
        Pred::Pos(_) => true,
        Pred::Attr(a, v) => n
            .attributes()
            .any(|at| at.name() == a && v.as_ref().is_none_or(|v| at.value() == v)),
        Pred::Child(c, v) => n
            .children()
            .any(|ch| name_ok(&ch, c) && v.as_ref().is_none_or(|v| text_of(&ch) == *v)),
        Pred::Text(v) => v.as_ref().is_none_or(|v| text_of(n) == *v),
    }
}

fn find<'a, 'i>(doc: &'a Document<'i>, steps: &[Step]) -> Option<Node<'a, 'i>> {
    let mut current: Vec<Node<'a, 'i>> = vec![doc.root()];
    let mut descend = false;
    for step in steps {
        let mut next: Vec<Node<'a, 'i>> = Vec::new();
        match step {
            Step::Root => {
                current = vec![doc.root()];
                continue;
            }
            Step::Descendants => {
                descend = true;
                continue;
            }
            Step::SelfNode => next.clone_from(&current),
            Step::Parent => next.extend(current.iter().filter_map(Node::parent)),
            Step::Elem(name, preds) => {
                for ctx in &current {
                    let mut cands: Vec<Node<'a, 'i>> = if descend {
                        ctx.descendants()
                            .filter(|d| d != ctx && name_ok(d, name))
                            .collect()
                    } else {
                        ctx.children().filter(|c| name_ok(c, name)).collect()
                    };
                    for p in preds {
                        cands = match p {
                            Pred::Pos(k) => {
                                let len = cands.len() as i64;
                                let idx = if *k > 0 { *k - 1 } else { len + *k };
                                usize::try_from(idx)
                                    .ok()
                                    .and_then(|i| cands.get(i).copied())
                                    .into_iter()
                                    .collect()
                            }
                            _ => cands.into_iter().filter(|c| pred_ok(c, p)).collect(),
                        };
                    }
                    for c in cands {
                        if !next.contains(&c) {
                            next.push(c);
                        }
                    }
                }
            }
        }
        descend = false;
        current = next;
        if current.is_empty() {
            return None;
        }
    }
    current.into_iter().find(|n| n.is_element())
}
