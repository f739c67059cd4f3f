//! The whole detection path in one place: parse → scenarios → postoverflows → profiles.
//!
//! `hivewall replay` and the embedded `run` drive a [`Pipeline`] line by line; the distributed
//! processor splits the same steps across Kafka partitions. Everything here is synchronous and
//! clock-free: event time drives the buckets, and the injected clock is only consulted where
//! CrowdSec falls back to "now".

#[cfg(test)]
mod accounting_tests;
#[cfg(test)]
mod context_tests;
mod setup;
mod sharded;
mod stats;
#[cfg(test)]
mod tests;

use std::sync::Arc;

use serde::Serialize;

use crate::bucket::{
    Alert, BucketStore, Detector, LoadError as ScenarioLoadError, MemoryStore, RuntimeAlert,
    ScenarioLoadOptions, ScenarioSet, Signal, SignalKind, Stamp, overflow_event,
};
use crate::clock::Clock;
use crate::event::Event;
use crate::expr::functions::{Functions, register_clock};
use crate::parser::{Collector, LoadError, LoadOptions, ParserSet};
use crate::profile::{
    Decision, MemoryHistory, ProfileError, Profiles, parse_duration_with_days, register_history,
};

pub use setup::{History, Setup, Simulation, resolve_scenarios};
pub use sharded::Parsed;
pub use stats::{LineOutcome, Repair, Stats};

use stats::StageDrops;

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
    /// The overflow event after postoverflows, without its first API alert: that is
    /// `alert`, moved out of it. [`AlertRecord::into_dump_event`] puts it back (CrowdSec's
    /// bucket dump entry).
    #[serde(skip)]
    pub event: Event,
}

impl AlertRecord {
    /// The overflow event as CrowdSec dumps it: [`Self::event`] with `alert` back in its
    /// place.
    pub fn into_dump_event(self) -> Event {
        let mut evt = self.event;
        if let Some(first) = evt.overflow.as_mut().and_then(|o| o.api_alerts.first_mut()) {
            *first = self.alert;
        }
        evt
    }
}

/// Parsers, scenarios, postoverflows and profiles, loaded once; buckets live in `S` (in memory
/// for replays, a persistent store in the live processor).
pub struct Pipeline<S: BucketStore = MemoryStore> {
    parsers: ParserSet,
    postoverflows: Option<ParserSet>,
    detector: Detector<S>,
    profiles: Profiles,
    /// Without a decision store, the decisions this pipeline took (for `GetDecisionsCount`).
    history: Option<Arc<MemoryHistory>>,
    /// What went through.
    pub stats: Stats,
    /// Unparsed lines per stage where they fell out.
    unparsed_stages: StageDrops,
    /// Load warnings of every part.
    pub warnings: Vec<String>,
}

impl<S: BucketStore> std::fmt::Debug for Pipeline<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline")
            .field("stats", &self.stats)
            .finish()
    }
}

impl Pipeline<MemoryStore> {
    /// Loads everything `setup` names, with buckets in memory.
    pub fn load(setup: &Setup, clock: Arc<dyn Clock>) -> Result<Pipeline, SetupError> {
        Pipeline::load_with(setup, clock, |_| MemoryStore::new())
    }
}

impl<S: BucketStore> Pipeline<S> {
    /// Loads everything `setup` names; `store` builds the bucket store once the scenarios are
    /// known (a persistent store maps its stored buckets to scenarios by name).
    pub fn load_with(
        setup: &Setup,
        clock: Arc<dyn Clock>,
        store: impl FnOnce(&ScenarioSet) -> S,
    ) -> Result<Pipeline<S>, SetupError> {
        let opts = LoadOptions {
            patterns_dir: setup.patterns_dir.clone(),
            data_dir: setup.data_dir.clone(),
            clock: Arc::clone(&clock),
        };
        let parsers = ParserSet::load_with(&setup.parsers, &opts, setup.reading)?;
        let postoverflows = load_postoverflows(setup, &opts)?;
        let mut context_warnings = Vec::new();
        let context = setup.context(&mut context_warnings)?;
        let scenarios = ScenarioSet::load(
            &setup.scenarios,
            &ScenarioLoadOptions {
                data_dir: setup.data_dir.clone(),
                stash: Some(parsers.helpers().stash.clone()),
                simulate_all: setup.simulation.simulation,
                simulated: setup.simulation.exclusions.clone(),
                limiter: setup.limiter,
                context,
                clock: Some(Arc::clone(&clock)),
                reading: setup.reading,
            },
        )?;
        let (profiles, history) = load_profiles(setup, &opts, &parsers)?;
        let mut warnings = setup.warnings.clone();
        warnings.extend(parsers.warnings.iter().cloned());
        warnings.extend(
            postoverflows
                .iter()
                .flat_map(|p| p.warnings.iter().cloned()),
        );
        warnings.extend(context_warnings);
        warnings.extend(scenarios.warnings.iter().cloned());
        let store = store(&scenarios);
        let unparsed_stages = StageDrops::new(parsers.stages());
        Ok(Pipeline {
            parsers,
            postoverflows,
            detector: Detector::with_store(Arc::new(scenarios), store),
            profiles,
            history,
            stats: Stats::default(),
            unparsed_stages,
            warnings,
        })
    }

    /// A pipeline that finishes the overflows of this one's parse workers (`hivewall replay
    /// --threads`): the postoverflows and profiles of `setup` (which must be the one this
    /// pipeline was loaded from), this pipeline's scenarios, and no parsers, but their helpers
    /// (data files, stash) for the profiles, as a whole load gives them. Parsing, nearly all
    /// the cost of a load, is left to the workers.
    pub fn finisher(&self, setup: &Setup, clock: Arc<dyn Clock>) -> Result<Pipeline, SetupError> {
        let parsers = self.parsers.without_nodes();
        let opts = LoadOptions {
            patterns_dir: setup.patterns_dir.clone(),
            data_dir: setup.data_dir.clone(),
            clock,
        };
        let postoverflows = load_postoverflows(setup, &opts)?;
        let (profiles, history) = load_profiles(setup, &opts, &parsers)?;
        let mut warnings = Vec::new();
        warnings.extend(
            postoverflows
                .iter()
                .flat_map(|p| p.warnings.iter().cloned()),
        );
        let unparsed_stages = StageDrops::new(parsers.stages());
        Ok(Pipeline {
            parsers,
            postoverflows,
            detector: Detector::new(Arc::clone(self.detector.scenarios())),
            profiles,
            history,
            stats: Stats::default(),
            unparsed_stages,
            warnings,
        })
    }

    /// The parsers.
    pub fn parsers(&self) -> &ParserSet {
        &self.parsers
    }

    /// The detector (buckets).
    pub fn detector(&self) -> &Detector<S> {
        &self.detector
    }

    /// Takes back the detector's stored state (time, blackholes), with its buckets restored in
    /// the store it was loaded with.
    pub fn restore_detector(&mut self, state: crate::bucket::DetectorState) {
        self.detector.restore_state(state);
    }

    /// The decisions this pipeline took itself, when it keeps its own history (no
    /// `Setup::decision_history` was given): see [`MemoryHistory::snapshot`].
    pub fn history_snapshot(&self) -> Option<Vec<crate::profile::HistoryEntry>> {
        self.history.as_ref().map(|h| h.snapshot())
    }

    /// Takes back a [`Pipeline::history_snapshot`].
    pub fn restore_history(&self, entries: Vec<crate::profile::HistoryEntry>) {
        if let Some(h) = &self.history {
            h.restore(entries);
        }
    }

    /// The bucket store, to persist what changed.
    pub fn store_mut(&mut self) -> &mut S {
        self.detector.store_mut()
    }

    /// Moves bucket time to `now` without an event (a live processor's clock tick): counters
    /// whose duration ended overflow, idle buckets leak out. Returns the alerts it caused.
    pub fn advance(&mut self, now: Stamp) -> Vec<AlertRecord> {
        let signals = self.detector.advance(now);
        self.finish_signals(signals, None)
    }

    /// Parses `evt` (a fresh log event) and pours it; returns the alerts it caused.
    /// `collector` sees every parser node, postoverflow nodes included (CrowdSec's parser dump).
    pub fn process(
        &mut self,
        evt: Event,
        collector: Option<&mut dyn Collector>,
    ) -> Vec<AlertRecord> {
        self.process_line(evt, collector).1
    }

    /// [`Pipeline::process`], also telling where the line ended (counted in [`Pipeline::stats`]).
    pub fn process_line(
        &mut self,
        mut evt: Event,
        collector: Option<&mut dyn Collector>,
    ) -> (LineOutcome, Vec<AlertRecord>) {
        self.process_line_in(&mut evt, collector)
    }

    /// [`Pipeline::process_line`] of an event left to the caller afterwards, whose maps'
    /// memory the next line's event is refilled in ([`crate::event::Acquisition::refill`]).
    pub fn process_in(&mut self, evt: &mut Event) -> (LineOutcome, Vec<AlertRecord>) {
        self.process_line_in(evt, None)
    }

    fn process_line_in(
        &mut self,
        evt: &mut Event,
        mut collector: Option<&mut dyn Collector>,
    ) -> (LineOutcome, Vec<AlertRecord>) {
        self.stats.lines += 1;
        let outcome = match self.parsers.parse(evt, reborrow(&mut collector)) {
            Ok(true) => None,
            Ok(false) => {
                self.unparsed_stages.count(&evt.stage);
                Some(LineOutcome::Unparsed)
            }
            Err(e) => {
                tracing::debug!(error = %e, "A parser aborted the line.");
                Some(LineOutcome::ParseError)
            }
        };
        if let Some(o) = outcome {
            self.stats.record(o);
            return (o, Vec::new());
        }
        self.stats.parsed += 1;
        if evt.whitelisted {
            self.stats.record(LineOutcome::Whitelisted);
            return (LineOutcome::Whitelisted, Vec::new());
        }
        let (outcome, alerts) = self.pour_event(evt, collector);
        self.stats.record(outcome);
        (outcome, alerts)
    }

    /// Pours an already parsed event into the scenarios. Counts pour errors and overflows, not
    /// a line: the caller gave none.
    pub fn pour(&mut self, evt: &Event, collector: Option<&mut dyn Collector>) -> Vec<AlertRecord> {
        self.pour_event(evt, collector).1
    }

    /// Counts a line and parses it: `Err` (counted) when it did not become an event to pour
    /// (unparsed, a parser error, whitelisted).
    pub(crate) fn parse_counted(&mut self, evt: &mut Event) -> Result<(), LineOutcome> {
        self.stats.lines += 1;
        let outcome = match self.parsers.parse(evt, None) {
            Ok(true) => None,
            Ok(false) => {
                self.unparsed_stages.count(&evt.stage);
                Some(LineOutcome::Unparsed)
            }
            Err(e) => {
                tracing::debug!(error = %e, "A parser aborted the line.");
                Some(LineOutcome::ParseError)
            }
        };
        if let Some(o) = outcome {
            self.stats.record(o);
            return Err(o);
        }
        self.stats.parsed += 1;
        if evt.whitelisted {
            self.stats.record(LineOutcome::Whitelisted);
            return Err(LineOutcome::Whitelisted);
        }
        Ok(())
    }

    /// The parse stage alone (the distributed processor's first half): parses `evt` and, when
    /// it became an event that is not whitelisted, returns the buckets it goes to
    /// (`Detector::route`; the event is left parsed in `evt`). Other outcomes are counted in [`Pipeline::stats`] as
    /// [`Pipeline::process_line`] counts them and returned as `Err`.
    pub fn parse_and_route(
        &mut self,
        evt: &mut Event,
    ) -> Result<crate::bucket::Routes, LineOutcome> {
        self.parse_counted(evt)?;
        let routes = self.detector.route(evt);
        if let Some(e) = &routes.error {
            tracing::debug!(scenario = %e.scenario, error = %e.message, "pour error");
            self.stats.pour_errors += 1;
        }
        let o = if !routes.to.is_empty() {
            LineOutcome::Poured
        } else if routes.error.is_none() {
            LineOutcome::Unpoured
        } else {
            LineOutcome::PourError
        };
        self.stats.record(o);
        if routes.to.is_empty() {
            return Err(o);
        }
        Ok(routes)
    }

    /// The detect stage alone: pours `evt` into the buckets `routes` names (see
    /// [`Pipeline::parse_and_route`]); returns the alerts it caused, through postoverflows and
    /// profiles as [`Pipeline::pour`] does.
    pub fn pour_routed(
        &mut self,
        evt: &Event,
        routes: &[(usize, compact_str::CompactString)],
    ) -> Vec<AlertRecord> {
        let outcome = self.detector.process_routed(evt, routes);
        self.finish_signals(outcome.signals, None)
    }

    fn pour_event(
        &mut self,
        evt: &Event,
        collector: Option<&mut dyn Collector>,
    ) -> (LineOutcome, Vec<AlertRecord>) {
        let outcome = self.detector.process(evt);
        self.stats.pour_errors += outcome.errors.len() as u64;
        let o = if outcome.poured {
            LineOutcome::Poured
        } else if outcome.errors.is_empty() {
            LineOutcome::Unpoured
        } else {
            LineOutcome::PourError
        };
        (o, self.finish_signals(outcome.signals, collector))
    }

    /// Counts `n` lines that were repaired where they were read (cut or made valid UTF-8) and
    /// then given to [`Pipeline::process`]: they have their outcome too, this only notes it.
    pub fn count_repaired(&mut self, repair: Repair, n: u64) {
        self.stats.repaired(repair, n);
    }

    /// Unparsed lines per parser stage where they fell out, in stage order.
    pub fn unparsed_by_stage(&self) -> impl Iterator<Item = (&str, u64)> {
        self.unparsed_stages.get().iter().map(|(s, n)| (&**s, *n))
    }

    /// Signals of the detector (or of its shards, in one detector's order) to alerts: each
    /// overflow through postoverflows and profiles, counted in [`Stats::overflows`].
    pub fn finish_signals(
        &mut self,
        signals: Vec<Signal>,
        mut collector: Option<&mut dyn Collector>,
    ) -> Vec<AlertRecord> {
        let mut out = Vec::new();
        for signal in signals {
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
        // Moved out, not copied (its events and their meta): `into_dump_event` puts it back.
        let api = evt
            .overflow
            .as_mut()
            .and_then(|o| o.api_alerts.first_mut())
            .map(std::mem::take)
            .unwrap_or_default();
        if let Some(h) = &self.history {
            h.set_now(at.nanos);
        }
        let decisions = if whitelisted {
            Vec::new()
        } else {
            self.profiles.decide(&api)
        };
        if let Some(h) = &self.history {
            for d in &decisions {
                let duration = parse_duration_with_days(&d.duration).unwrap_or(0);
                h.record_decision(&d.value, at.nanos, duration);
            }
        }
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

/// The postoverflows of `setup`, if it has any.
fn load_postoverflows(setup: &Setup, opts: &LoadOptions) -> Result<Option<ParserSet>, SetupError> {
    if setup.postoverflows.is_empty() {
        return Ok(None);
    }
    Ok(Some(ParserSet::load_with(
        &setup.postoverflows,
        opts,
        setup.reading,
    )?))
}

/// The profiles of `setup` (they call the helpers of `parsers`), and the decision history they
/// read when `setup` gives none.
fn load_profiles(
    setup: &Setup,
    opts: &LoadOptions,
    parsers: &ParserSet,
) -> Result<(Profiles, Option<Arc<MemoryHistory>>), SetupError> {
    let mut history = None;
    let profiles = match &setup.profiles {
        Some(p) => {
            let mut f = Functions::crowdsec(parsers.helpers().clone());
            register_clock(&mut f, Arc::clone(&opts.clock));
            match &setup.decision_history {
                Some(h) => register_history(&mut f, Arc::clone(&h.0)),
                None => {
                    let h = Arc::new(MemoryHistory::default());
                    register_history(&mut f, h.clone());
                    history = Some(h);
                }
            }
            Profiles::load(p, Arc::new(f))?
        }
        None => Profiles::default(),
    };
    Ok((profiles, history))
}
