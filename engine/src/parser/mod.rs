//! CrowdSec parsers: stages of nodes that turn a line into an event.
//!
//! Loading reads every file, collects the data files they declare, builds the helper registry
//! once, then compiles each node (filters, groks, statics, whitelists). Parsing walks the stages
//! in order exactly as CrowdSec's `parser.Parse` does, so the same files give the same events.

mod config;
mod enrich;
mod error;
mod layout;
mod load;
mod node;
mod siblings;
mod statics;
mod whitelist;
mod writers;

#[cfg(test)]
mod siblings_tests;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::event::Event;
use crate::expr::functions::{Functions, HelperContext};
use node::same_stage;

pub use config::{DataConfig, NodeConfig};
pub use enrich::{EnrichCtx, Enricher};
pub use error::{LoadError, NodeError, grok_rule};
pub use layout::{
    ParserFile, hub_stage_files, installed_stage_files, resolve_hub_items, sort_files,
};
pub use load::LoadOptions;
pub use node::{GrokInput, Node, NodeGrok, Runtime};
pub use siblings::Siblings;

/// Sees every top-level node an event goes through (CrowdSec's parser dump collector).
pub trait Collector {
    /// Called after `node` ran in `stage`, with the event as it left the node.
    fn node_done(&mut self, stage: &str, node: &str, evt: &Event, success: bool);
}

/// A loaded, compiled set of parsers.
pub struct ParserSet {
    nodes: Vec<Node>,
    stages: Vec<Arc<str>>,
    enrich: EnrichCtx,
    functions: Arc<Functions>,
    helpers: HelperContext,
    /// Things the operator should know about (unsupported methods...), one line each.
    pub warnings: Vec<String>,
    /// The files loaded, in load order.
    pub files: Vec<ParserFile>,
}

impl std::fmt::Debug for ParserSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParserSet")
            .field("stages", &self.stages)
            .field("nodes", &self.nodes.len())
            .finish()
    }
}

impl ParserSet {
    /// The stages, sorted.
    pub fn stages(&self) -> &[Arc<str>] {
        &self.stages
    }

    /// A set with no nodes that shares this one's stages, helpers (data files, stash),
    /// functions and enrichment: what a pipeline that only finishes overflows needs of its
    /// parsers ([`crate::pipeline::Pipeline::finisher`]).
    pub fn without_nodes(&self) -> ParserSet {
        ParserSet {
            nodes: Vec::new(),
            stages: self.stages.clone(),
            enrich: self.enrich.clone(),
            functions: Arc::clone(&self.functions),
            helpers: self.helpers.clone(),
            warnings: Vec::new(),
            files: Vec::new(),
        }
    }

    /// The top-level nodes in load order.
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// The helper state (data files, stash) the nodes share.
    pub fn helpers(&self) -> &HelperContext {
        &self.helpers
    }

    /// The helper registry the nodes were compiled with (shared with scenarios).
    pub fn functions(&self) -> &Arc<Functions> {
        &self.functions
    }

    /// Runs `evt` through the stages. Returns whether it passed them all (`evt.process`); an
    /// error means a node aborted the line (a static produced an unstorable value).
    pub fn parse(
        &self,
        evt: &mut Event,
        mut collector: Option<&mut dyn Collector>,
    ) -> Result<bool, NodeError> {
        if evt.stage.is_empty()
            && let Some(first) = self.stages.first()
        {
            evt.stage = first.clone();
        }
        evt.process = false;
        if evt.time.is_none() {
            evt.time = Some(self.enrich.now().fixed_offset());
        }
        if let Some(t) = evt.time.and_then(|t| t.timestamp_nanos_opt()) {
            self.helpers.stash.set_now(t);
        }
        let rt = Runtime {
            stages: &self.stages,
            enrich: &self.enrich,
            functions: &self.functions,
        };
        for (si, stage) in self.stages.iter().enumerate() {
            let cur = self.stages.iter().position(|s| same_stage(s, &evt.stage));
            if cur.is_some_and(|c| c > si) {
                continue;
            }
            if !same_stage(&evt.stage, stage) {
                return Ok(false);
            }
            let mut stage_ok = false;
            for node in self.nodes.iter().filter(|n| same_stage(&n.stage, stage)) {
                let ok = node.process(evt, &rt)?;
                if let Some(c) = collector.as_deref_mut() {
                    c.node_done(stage, &node.name, evt, ok);
                }
                stage_ok |= ok;
                if ok && node.next_stage {
                    break;
                }
                if !same_stage(&evt.stage, stage) {
                    break;
                }
            }
            if !stage_ok {
                return Ok(false);
            }
        }
        evt.process = true;
        Ok(true)
    }
}
