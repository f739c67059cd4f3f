//! A compiled parser node and how an event goes through it (CrowdSec's `Node.process`).

use std::cell::Cell;
use std::sync::Arc;

use crate::conformance::{Reading, Rule};
use crate::event::Event;
use crate::expr::{Compiler, FieldKey, Program, Value};
use crate::grok::{Grok, PatternLibrary};

use super::config::NodeConfig;
use super::enrich::EnrichCtx;
use super::error::NodeError;
use super::siblings::{Flags, Siblings};
use super::statics::{Static, value_to_static_string};
use super::whitelist::Whitelist;

thread_local! {
    /// The copy of an `apply_on` field a grok reads (see [`Node::run_grok`]).
    static GROK_INPUT: Cell<String> = const { Cell::new(String::new()) };
}

/// What a grok is matched against.
#[derive(Debug, Clone)]
pub enum GrokInput {
    /// `apply_on: Line.Raw`.
    LineRaw,
    /// `apply_on: <key of evt.Parsed>`.
    Parsed(FieldKey),
    /// `expression:`.
    Expr(Program),
}

/// A node's grok with its own statics.
#[derive(Debug, Clone)]
pub struct NodeGrok {
    /// The compiled pattern.
    pub grok: Grok,
    /// What it reads.
    pub input: GrokInput,
    /// Statics applied when it matches.
    pub statics: Vec<Static>,
    /// Pattern name or text, for display.
    pub label: String,
}

/// A compiled node.
#[derive(Debug, Clone)]
pub struct Node {
    /// `author/name` (children inherit `child-<parent>`).
    pub name: String,
    /// The stage it belongs to.
    pub stage: Arc<str>,
    /// `onsuccess: next_stage`.
    pub next_stage: bool,
    /// The filter.
    pub filter: Option<Program>,
    /// The grok.
    pub grok: Option<NodeGrok>,
    /// Node statics.
    pub statics: Vec<Static>,
    /// Stash entries: (cache name, key expression, value expression, ttl, size).
    pub stashes: Vec<StashEntry>,
    /// Whitelist.
    pub whitelist: Whitelist,
    /// Children.
    pub leaves: Vec<Node>,
    /// The children that are bare groks on one field, matched in one scan.
    pub siblings: Option<Siblings>,
}

/// A compiled `stash:` entry.
#[derive(Debug, Clone)]
pub struct StashEntry {
    /// Cache name.
    pub name: String,
    /// Key expression.
    pub key: Program,
    /// Value expression.
    pub value: Program,
}

/// Shared compile-time context.
pub struct CompileCtx<'a> {
    /// Expression compiler (variables: `evt`).
    pub compiler: &'a Compiler,
    /// The grok library, with every `pattern_syntax` seen so far.
    pub patterns: &'a mut PatternLibrary,
    /// Enrichers.
    pub enrich: &'a EnrichCtx,
    /// Methods used that hivewall does not implement, for the load report.
    pub unsupported: &'a mut Vec<String>,
    /// How to read what CrowdSec would refuse.
    pub reading: Reading,
    /// What CrowdSec warns about (and, in the lenient reading, what it would refuse).
    pub warnings: &'a mut Vec<String>,
}

impl CompileCtx<'_> {
    /// A CrowdSec refusal: an error in the strict reading, a warning in the lenient one.
    fn refuse(&mut self, e: NodeError) -> Result<(), NodeError> {
        if self.reading.is_strict() {
            return Err(e);
        }
        self.warnings
            .push(format!("CrowdSec would refuse this ({}): {e}", e.rule()));
        Ok(())
    }
}

impl Node {
    /// Compiles a node config (and its children) for `stage`.
    pub fn compile(
        cfg: &NodeConfig,
        stage: &Arc<str>,
        cx: &mut CompileCtx<'_>,
    ) -> Result<Node, NodeError> {
        if !matches!(cfg.onsuccess.as_str(), "" | "continue" | "next_stage") {
            return Err(NodeError::Invalid(format!(
                "onsuccess {:?} is neither continue nor next_stage",
                cfg.onsuccess
            )));
        }
        let filter = match cfg.filter.trim() {
            "" => None,
            f => Some(cx.compiler.compile(f).map_err(NodeError::expr)?),
        };
        // One library for all files, each entry checked as it is added (CrowdSec adds them one
        // at a time, in file order); the first definition of a name wins.
        for (name, pattern) in &cfg.pattern_syntax {
            let location = format!("pattern_syntax {name}");
            match cx.patterns.add_checked(name, pattern, &location) {
                Ok(true) => {}
                Ok(false) => cx.warnings.push(format!("grok '{name}' already registred")),
                Err(e) => {
                    cx.refuse(NodeError::Grok(e))?;
                    cx.patterns.add_if_absent(name, pattern);
                }
            }
        }
        let mut valid = false;
        let grok = match &cfg.grok {
            Some(g) if !(g.name.is_empty() && g.pattern.is_empty() && g.expression.is_empty()) => {
                valid = true;
                let (grok, label) = if !g.name.is_empty() {
                    let text = cx
                        .patterns
                        .get(&g.name)
                        .map(str::to_string)
                        .ok_or_else(|| {
                            NodeError::Invalid(format!(
                                "unable to find grok {:?}: pattern doesn't exist",
                                g.name
                            ))
                        })?;
                    (cx.patterns.compile(&text)?, g.name.clone())
                } else if !g.pattern.is_empty() {
                    (cx.patterns.compile(&g.pattern)?, g.pattern.clone())
                } else {
                    return Err(NodeError::Invalid("grok needs `pattern` or `name`".into()));
                };
                let input = if !g.apply_on.is_empty() {
                    if g.apply_on == "Line.Raw" {
                        GrokInput::LineRaw
                    } else {
                        GrokInput::Parsed(FieldKey::new(&g.apply_on))
                    }
                } else if !g.expression.is_empty() {
                    GrokInput::Expr(
                        cx.compiler
                            .compile(&g.expression)
                            .map_err(NodeError::expr)?,
                    )
                } else {
                    return Err(NodeError::Invalid(
                        "grok requires `expression` or `apply_on`".into(),
                    ));
                };
                let statics = compile_statics(&g.statics, cx)?;
                Some(NodeGrok {
                    grok,
                    input,
                    statics,
                    label,
                })
            }
            _ => None,
        };
        let stashes = cfg
            .stash
            .iter()
            .map(|s| {
                Ok(StashEntry {
                    name: s.name.clone(),
                    key: cx.compiler.compile(&s.key).map_err(NodeError::expr)?,
                    value: cx.compiler.compile(&s.value).map_err(NodeError::expr)?,
                })
            })
            .collect::<Result<Vec<_>, NodeError>>()?;
        let mut leaves = Vec::with_capacity(cfg.nodes.len());
        for child in &cfg.nodes {
            let mut child = child.clone();
            if child.name.is_empty() {
                child.name = format!("child-{}", cfg.name);
            }
            leaves.push(Node::compile(&child, stage, cx)?);
            valid = true;
        }
        let statics = compile_statics(&cfg.statics, cx)?;
        valid |= !statics.is_empty();
        let whitelist = match &cfg.whitelist {
            Some(w) => Whitelist::compile(w, cx.compiler)?,
            None => Whitelist::default(),
        };
        valid |= !whitelist.is_empty();
        if !valid {
            return Err(NodeError::Invalid("Node is empty".into()));
        }
        check_node(cfg, cx)?;
        let node = Node {
            name: cfg.name.clone(),
            stage: stage.clone(),
            next_stage: cfg.onsuccess == "next_stage",
            filter,
            grok,
            statics,
            stashes,
            whitelist,
            siblings: Siblings::build(&leaves),
            leaves,
        };
        for p in node.programs() {
            if let Some(m) = crate::conformance::unknown_event_member(p, 0) {
                cx.refuse(NodeError::Refused {
                    rule: Rule::EventField,
                    message: format!(
                        "compilation of {:?} failed: {}",
                        p.source(),
                        crate::conformance::no_field_message(&m)
                    ),
                    needle: p.source().to_string(),
                })?;
            }
        }
        Ok(node)
    }

    /// This node's own compiled expressions (not its children's).
    fn programs(&self) -> impl Iterator<Item = &Program> {
        let grok = self.grok.iter().flat_map(|g| {
            let input = match &g.input {
                GrokInput::Expr(p) => Some(p),
                _ => None,
            };
            input
                .into_iter()
                .chain(g.statics.iter().filter_map(static_program))
        });
        self.filter
            .iter()
            .chain(grok)
            .chain(self.statics.iter().filter_map(static_program))
            .chain(self.stashes.iter().flat_map(|s| [&s.key, &s.value]))
            .chain(self.whitelist.programs())
    }

    /// Runs the node on `evt`; true when the node succeeded. Mirrors CrowdSec: filter, whitelist,
    /// grok (+ its statics), stash, children, then node statics.
    pub fn process(&self, evt: &mut Event, rt: &Runtime<'_>) -> Result<bool, NodeError> {
        if let Some(f) = &self.filter {
            let verdict = f.eval_bool(&[Value::Obj(&*evt)]);
            evt.apply_writes();
            match verdict {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => {
                    tracing::debug!(node = %self.name, error = %e, "Filter failed.");
                    return Ok(false);
                }
            }
        }
        let has_wl = !self.whitelist.is_empty();
        let whitelisted = has_wl && self.whitelist.check(evt);
        evt.apply_writes();
        if whitelisted && !evt.whitelisted {
            evt.whitelisted = true;
            evt.whitelist_reason = self.whitelist.reason.clone();
        }
        let (mut state, grok_ok) = match &self.grok {
            None => (true, false),
            Some(g) => {
                if self.run_grok(g, evt)? {
                    for s in &g.statics {
                        s.apply(evt, rt.enrich)?;
                    }
                    (true, true)
                } else {
                    (false, false)
                }
            }
        };
        if grok_ok || self.grok.is_none() {
            for s in &self.stashes {
                rt.stash(s, evt);
            }
            evt.apply_writes();
        }
        let mut flags = Flags::new();
        for (i, child) in self.leaves.iter().enumerate() {
            let known = match &self.siblings {
                Some(s) => s.matches(i, evt, &mut flags),
                None => None,
            };
            let ok = if known == Some(false) {
                false
            } else {
                flags.forget();
                child.process(evt, rt)?
            };
            if ok {
                state = true;
                if self.next_stage {
                    break;
                }
            } else if !grok_ok {
                state = false;
            }
        }
        if !state {
            return Ok(false);
        }
        if !self.statics.is_empty() && (whitelisted || !has_wl) {
            for s in &self.statics {
                s.apply(evt, rt.enrich)?;
            }
        }
        if self.next_stage
            && let Some(next) = rt.next_stage(&evt.stage)
        {
            evt.stage = next.clone();
        }
        Ok(state)
    }

    fn run_grok(&self, g: &NodeGrok, evt: &mut Event) -> Result<bool, NodeError> {
        let input: String = match &g.input {
            GrokInput::LineRaw => std::mem::take(&mut evt.line.raw),
            // The captures are written into the map the value is read from (a field may
            // even overwrite it): they read a copy, in a buffer kept on the thread. No
            // `is_match` first: a capture that fails costs what `is_match` costs (one lazy DFA
            // pass), and one that succeeds would pay both.
            GrokInput::Parsed(k) => {
                let Some(v) = evt.parsed.get_key(k) else {
                    return Ok(false);
                };
                let mut buf = GROK_INPUT.take();
                buf.clear();
                buf.push_str(v);
                let parsed = &mut evt.parsed;
                let matched = g.grok.captures(&buf, |k, v| parsed.insert_key(k, v));
                GROK_INPUT.set(buf);
                return Ok(matched);
            }
            GrokInput::Expr(p) => {
                let s = match p.eval(&[Value::Obj(&*evt)]) {
                    Ok(v) => match value_to_static_string(&v) {
                        Ok(Some(s)) => Some(s.into_string()),
                        _ => Some(String::new()),
                    },
                    Err(_) => None,
                };
                evt.apply_writes();
                match s {
                    Some(s) => s,
                    None => return Ok(false),
                }
            }
        };
        let parsed = &mut evt.parsed;
        let matched = g.grok.captures(&input, |k, v| parsed.insert_key(k, v));
        if let GrokInput::LineRaw = g.input {
            evt.line.raw = input;
        }
        Ok(matched)
    }
}

fn static_program(s: &Static) -> Option<&Program> {
    match &s.source {
        super::statics::Source::Expr(p) => Some(p),
        _ => None,
    }
}

/// What CrowdSec refuses and hivewall's compilation accepts: node statics that only set
/// `enriched` (`Node.validate`), stashes without a valid `ttl` or without a `size` (CrowdSec
/// builds the stash's cache before defaulting its size, and panics).
fn check_node(cfg: &NodeConfig, cx: &mut CompileCtx<'_>) -> Result<(), NodeError> {
    for (i, st) in cfg.statics.iter().enumerate() {
        if st.method.is_empty()
            && st.meta.is_empty()
            && st.parsed.is_empty()
            && st.target.is_empty()
        {
            cx.refuse(NodeError::Refused {
                rule: Rule::Node,
                message: format!("static {i}: at least one of meta/event/target must be set"),
                needle: if st.enriched.is_empty() {
                    String::new()
                } else {
                    format!("enriched: {}", st.enriched)
                },
            })?;
        }
    }
    for s in &cfg.stash {
        if let Err(why) = crate::expr::ops::parse_duration(&s.ttl) {
            cx.refuse(NodeError::Refused {
                rule: Rule::Node,
                message: format!("stash {}: while parsing stash ttl: {why}", s.name),
                needle: format!("name: {}", s.name),
            })?;
        } else if s.size == 0 {
            // CrowdSec builds the cache before it defaults the size to 100: it panics.
            cx.refuse(NodeError::Refused {
                rule: Rule::Node,
                message: format!(
                    "stash {}: no size: CrowdSec panics at start-up (gcache: Cache size <= 0)",
                    s.name
                ),
                needle: format!("name: {}", s.name),
            })?;
        }
    }
    Ok(())
}

fn compile_statics(
    cfgs: &[super::config::StaticConfig],
    cx: &mut CompileCtx<'_>,
) -> Result<Vec<Static>, NodeError> {
    cfgs.iter()
        .map(|c| {
            let s = Static::compile(c, cx.compiler, cx.enrich)?;
            if let super::statics::Target::Method(super::enrich::Enricher::Unsupported(_)) =
                s.target
            {
                cx.unsupported.push(c.method.clone());
            }
            Ok(s)
        })
        .collect()
}

/// Whether two stage names are equal: the same `Arc` (an event's stage and the nodes' are
/// clones of the loaded set's, so this is the usual answer) or the same text.
#[inline]
pub(crate) fn same_stage(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b) || a == b
}

/// What nodes need while running: the stage order, enrichers and the helper registry (stash).
pub struct Runtime<'a> {
    /// Sorted stage names.
    pub stages: &'a [Arc<str>],
    /// Enrichers.
    pub enrich: &'a EnrichCtx,
    /// Helpers (for `SetInStash`).
    pub functions: &'a crate::expr::functions::Functions,
}

impl Runtime<'_> {
    fn next_stage(&self, cur: &Arc<str>) -> Option<&Arc<str>> {
        let i = self.stages.iter().position(|s| same_stage(s, cur))?;
        self.stages.get(i + 1)
    }

    fn stash(&self, s: &StashEntry, evt: &Event) {
        let env = [Value::Obj(evt)];
        let (Ok(k), Ok(v)) = (s.key.eval(&env), s.value.eval(&env)) else {
            return;
        };
        if let Some(f) = self.functions.get("SetInStash") {
            let args = [Value::str(&s.name), k, v];
            if let Err(e) = (f.call)(&args) {
                tracing::debug!(stash = %s.name, error = %e, "Stash write failed.");
            }
        }
    }
}
