//! The pipeline's parse stage for a detector split in shards (`hivewall replay --threads`):
//! [`Pipeline::parse_timed`] says where a line goes and at what time, counting it as
//! [`Pipeline::process_line`] would; [`Pipeline::absorb_counts`] adds up the parse workers'
//! counts. The shards themselves are [`crate::bucket::shard`].

use crate::bucket::{BucketStore, Detector, Routes, Stamp};
use crate::event::Event;

use super::{LineOutcome, Pipeline};

/// A line after the parse stage.
#[derive(Debug)]
pub enum Parsed {
    /// It never reaches the buckets (unparsed, parse error, whitelisted).
    Dropped(LineOutcome),
    /// It reaches the detector at `time`, which moves bucket time even when `routes` is empty
    /// (one detector advances on every such event).
    Timed {
        /// The event's bucket time.
        time: Stamp,
        /// Its buckets.
        routes: Routes,
    },
}

impl<S: BucketStore> Pipeline<S> {
    /// Parses and routes `evt` in place (it is left parsed, with the writes of scenario
    /// filters), counting the line in [`Pipeline::stats`] exactly as
    /// [`Pipeline::process_line`] does (an event without a time pours nowhere: unpoured).
    pub fn parse_timed(&mut self, evt: &mut Event) -> Parsed {
        if let Err(o) = self.parse_counted(evt) {
            return Parsed::Dropped(o);
        }
        let Some(time) = Detector::<S>::event_time(evt) else {
            self.stats.record(LineOutcome::Unpoured);
            return Parsed::Dropped(LineOutcome::Unpoured);
        };
        let routes = self.detector.route(evt);
        if routes.error.is_some() {
            self.stats.pour_errors += 1;
        }
        self.stats.record(if !routes.to.is_empty() {
            LineOutcome::Poured
        } else if routes.error.is_none() {
            LineOutcome::Unpoured
        } else {
            LineOutcome::PourError
        });
        Parsed::Timed { time, routes }
    }

    /// Adds the line counts of `other` (a parse worker) to this pipeline's.
    pub fn absorb_counts(&mut self, other: &Pipeline<S>) {
        self.stats.add(&other.stats);
        self.unparsed_stages.add(&other.unparsed_stages);
    }

    /// Whether parsing or routing keeps state from one line to the next (a declared stash
    /// cache), so that lines must be parsed in order.
    pub fn parse_is_stateful(&self) -> bool {
        self.parsers.helpers().stash.has_caches()
    }
}
