//! The whole detection path in one place: parse → scenarios → postoverflows → profiles.
//!
//! `hivewall replay` and the embedded `run` drive a [`Pipeline`] line by line; the distributed
//! processor splits the same steps across Kafka partitions. Everything here is synchronous and
//! clock-free: event time drives the buckets, and the injected clock is only consulted where
//! CrowdSec falls back to "now".

mod setup;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde::Serialize;

use crate::bucket::{
    Alert, Detector, LoadError as ScenarioLoadError, RuntimeAlert, ScenarioLoadOptions,
    ScenarioSet, SignalKind, overflow_event,
};
use crate::clock::Clock;
use crate::event::Event;
use crate::parser::{Collector, LoadError, LoadOptions, ParserSet};
use crate::profile::{Decision, ProfileError, Profiles};

pub use setup::{Setup, resolve_scenarios};

/// Building a pipeline failed.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Parsers or postoverflows.
    #[error("{0}")]
    Parsers(#[from] LoadError),
    /// Scenarios.
    #[error("{0}")]
    Scenarios(#[from] ScenarioLoadError),
    /// Profiles.
    #[error("{0}")]
    Profiles(#[from] ProfileError),
    /// Nothing to load where it was asked.
    #[error("{0}")]
    Empty(String),
}

/// One overflow as it leaves the pipeline.
#[derive(Debug, Clone, Serialize)]
pub struct AlertRecord {
    /// The alert in the LAPI model, with its decisions.
    #[serde(flatten)]
    pub alert: Alert,
    /// Decisions from the profiles (none when whitelisted or when no profile matched).
    pub decisions: Vec<Decision>,
    /// Whether a postoverflow whitelisted it.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub whitelisted: bool,
    /// The overflow event after postoverflows (CrowdSec's bucket dump entry).
    #[serde(skip)]
    pub event: Event,
}

/// Counters of what went through.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Stats {
    /// Lines given to the pipeline.
    pub lines: u64,
    /// Lines that made it through every parser stage.
    pub parsed: u64,
    /// Lines dropped by a parser whitelist.
    pub whitelisted: u64,
    /// Lines poured into at least one bucket.
    pub poured: u64,
    /// Overflows (alerts), whitelisted ones included.
    pub overflows: u64,
    /// Errors of scenario filters/groupbys.
    pub pour_errors: u64,
}

/// Parsers, scenarios, postoverflows and profiles, loaded once.
pub struct Pipeline {
    parsers: ParserSet,
    postoverflows: Option<ParserSet>,
    detector: Detector,
    profiles: Profiles,
    /// What went through.
    pub stats: Stats,
    /// Load warnings of every part.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("stats", &self.stats)
            .finish()
    }
}

impl Pipeline {
    /// Loads everything `setup` names.
    pub fn load(setup: &Setup, clock: Arc<dyn Clock>) -> Result<Pipeline, SetupError> {
        let opts = LoadOptions {
            patterns_dir: setup.patterns_dir.clone(),
            data_dir: setup.data_dir.clone(),
            clock,
        };
        let parsers = ParserSet::load(&setup.parsers, &opts)?;
        let postoverflows = if setup.postoverflows.is_empty() {
            None
        } else {
            Some(ParserSet::load(&setup.postoverflows, &opts)?)
        };
        let scenarios = ScenarioSet::load(
            &setup.scenarios,
            &ScenarioLoadOptions {
                data_dir: setup.data_dir.clone(),
                stash: Some(parsers.helpers().stash.clone()),
                simulated: Vec::new(),
                limiter: setup.limiter,
            },
        )?;
        let profiles = match &setup.profiles {
            Some(p) => Profiles::load(p, parsers.functions().clone())?,
            None => Profiles::default(),
        };
        let mut warnings = parsers.warnings.clone();
        warnings.extend(
            postoverflows
                .iter()
                .flat_map(|p| p.warnings.iter().cloned()),
        );
        warnings.extend(scenarios.warnings.iter().cloned());
        Ok(Pipeline {
            parsers,
            postoverflows,
            detector: Detector::new(Arc::new(scenarios)),
            profiles,
            stats: Stats::default(),
            warnings,
        })
    }

    /// The parsers.
    pub fn parsers(&self) -> &ParserSet {
        &self.parsers
    }

    /// The detector (buckets).
    pub fn detector(&self) -> &Detector {
        &self.detector
    }

    /// Parses `evt` (a fresh log event) and pours it; returns the alerts it caused.
    /// `collector` sees every parser node, postoverflow nodes included (CrowdSec's parser dump).
    pub fn process(
        &mut self,
        mut evt: Event,
        mut collector: Option<&mut dyn Collector>,
    ) -> Vec<AlertRecord> {
        self.stats.lines += 1;
        match self.parsers.parse(&mut evt, reborrow(&mut collector)) {
            Ok(true) => {}
            Ok(false) | Err(_) => return Vec::new(),
        }
        self.stats.parsed += 1;
        if evt.whitelisted {
            self.stats.whitelisted += 1;
            return Vec::new();
        }
        self.pour(&evt, collector)
    }

    /// Pours an already parsed event into the scenarios.
    pub fn pour(
        &mut self,
        evt: &Event,
        mut collector: Option<&mut dyn Collector>,
    ) -> Vec<AlertRecord> {
        let outcome = self.detector.process(evt);
        if outcome.poured {
            self.stats.poured += 1;
        }
        self.stats.pour_errors += outcome.errors.len() as u64;
        let mut out = Vec::new();
        for signal in outcome.signals {
            if let SignalKind::Overflow(alert) = signal.kind {
                self.stats.overflows += 1;
                out.push(self.finish_overflow(*alert, signal.at, reborrow(&mut collector)));
            }
        }
        out
    }

    fn finish_overflow(
        &self,
        alert: RuntimeAlert,
        at: crate::bucket::Stamp,
        collector: Option<&mut dyn Collector>,
    ) -> AlertRecord {
        let mut evt = overflow_event(alert, at);
        if let Some(po) = &self.postoverflows {
            let _ = po.parse(&mut evt, collector);
        }
        let whitelisted = evt.whitelisted;
        let api = evt
            .overflow
            .as_ref()
            .and_then(|o| o.alert.clone())
            .unwrap_or_default();
        let decisions = if whitelisted {
            Vec::new()
        } else {
            self.profiles.decide(&api)
        };
        AlertRecord {
            alert: api,
            decisions,
            whitelisted,
            event: evt,
        }
    }
}

/// Shortens the borrow of an optional collector so it can be lent several times.
fn reborrow<'s>(c: &'s mut Option<&mut dyn Collector>) -> Option<&'s mut dyn Collector> {
    match c {
        Some(c) => Some(&mut **c),
        None => None,
    }
}
