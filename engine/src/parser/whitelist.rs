//! Parser whitelists: by address, by range, by expression.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::event::{Event, EventType};
use crate::expr::{Compiler, Program, Value};

use super::config::WhitelistConfig;
use super::error::NodeError;

/// A compiled whitelist.
#[derive(Debug, Clone, Default)]
pub struct Whitelist {
    /// Why.
    pub reason: String,
    ips: Vec<IpAddr>,
    cidrs: Vec<IpNet>,
    exprs: Vec<Program>,
}

impl Whitelist {
    /// Compiles the config; bad addresses and ranges are errors, as in CrowdSec.
    pub fn compile(cfg: &WhitelistConfig, compiler: &Compiler) -> Result<Self, NodeError> {
        let ips = cfg
            .ip
            .iter()
            .map(|s| {
                s.parse::<IpAddr>().map_err(|e| {
                    NodeError::Invalid(format!("parsing whitelist: ParseAddr({s:?}): {e}"))
                })
            })
            .collect::<Result<_, _>>()?;
        let cidrs = cfg
            .cidr
            .iter()
            .map(|s| {
                s.parse::<IpNet>().map_err(|e| {
                    NodeError::Invalid(format!("parsing whitelist: ParsePrefix({s:?}): {e}"))
                })
            })
            .collect::<Result<_, _>>()?;
        let exprs = cfg
            .expression
            .iter()
            .map(|s| compiler.compile(s).map_err(NodeError::expr))
            .collect::<Result<_, _>>()?;
        Ok(Whitelist {
            reason: cfg.reason.clone(),
            ips,
            cidrs,
            exprs,
        })
    }

    /// The compiled expressions, for load-time checks.
    pub(crate) fn programs(&self) -> impl Iterator<Item = &Program> {
        self.exprs.iter()
    }

    /// Whether the node holds any check at all.
    pub fn is_empty(&self) -> bool {
        self.ips.is_empty() && self.cidrs.is_empty() && self.exprs.is_empty()
    }

    /// CrowdSec's check: addresses and ranges against the event's sources first, then the
    /// expressions. An expression that fails to evaluate ends the check as "not whitelisted".
    pub fn check(&self, evt: &Event) -> bool {
        if !self.ips.is_empty() || !self.cidrs.is_empty() {
            for src in sources(evt) {
                if self.ips.contains(&src) || self.cidrs.iter().any(|n| n.contains(&src)) {
                    return true;
                }
            }
        }
        for p in &self.exprs {
            match p.eval(&[Value::Obj(evt)]) {
                Ok(Value::Bool(true)) => return true,
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(expr = p.source(), error = %e, "Whitelist expression failed.");
                    return false;
                }
            }
        }
        false
    }
}

/// The source addresses of an event: `Meta.source_ip` for a log line.
fn sources(evt: &Event) -> Vec<IpAddr> {
    match evt.kind {
        EventType::Log => evt
            .meta
            .get("source_ip")
            .and_then(|s| s.parse().ok())
            .into_iter()
            .collect(),
        EventType::Overflow => evt
            .overflow
            .as_ref()
            .map(|o| o.sources.keys().filter_map(|k| k.parse().ok()).collect())
            .unwrap_or_default(),
    }
}
