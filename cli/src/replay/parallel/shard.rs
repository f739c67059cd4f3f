//! A detect shard: every batch, in chunk order; pours of its own routes, and the time of every
//! other event.

use std::sync::Arc;

use engine::bucket::shard::{SignalOrder, shard_of};
use engine::bucket::{Detector, ScenarioSet, Signal, SignalKind};

use super::Found;
use super::batch::Batch;

/// One shard of the buckets.
pub(super) struct Shard {
    /// Its number, among as many shards as the batches have route lists.
    me: usize,
    detector: Detector,
    /// The time it was last told when nothing was poured since (`advance` twice to the same
    /// time is once).
    ticked: Option<i64>,
    /// Test only: told no time but its own events'.
    skip_ticks: bool,
}

impl Shard {
    pub fn new(scenarios: &Arc<ScenarioSet>, me: usize, skip_ticks: bool) -> Self {
        Shard {
            me,
            detector: Detector::new(Arc::clone(scenarios)),
            ticked: None,
            skip_ticks,
        }
    }

    /// Takes the batch of chunk `chunk`: adds its overflows to `found`, returns the pours of
    /// reprocessed overflows skipped because another shard owns the bucket.
    pub fn take(&mut self, chunk: usize, batch: &Batch, found: &mut Found) -> u64 {
        let shards = batch.pours.len();
        let me = self.me;
        let owns = |key: &str| shard_of(key, shards) == me;
        let mut foreign = 0;
        let mine = &batch.pours[self.me];
        let mut pours = mine.items.iter().peekable();
        for (i, item) in batch.items.iter().enumerate() {
            let signals = match pours.next_if(|(p, _)| *p == i) {
                Some((_, span)) => {
                    let routes = &mine.routes[span.clone()];
                    self.ticked = None;
                    let out =
                        self.detector
                            .process_prepared(&item.payload, item.time, routes, &owns);
                    foreign += out.foreign;
                    out.signals
                }
                None if self.skip_ticks || self.ticked == Some(item.time.nanos) => continue,
                None => {
                    self.ticked = Some(item.time.nanos);
                    self.detector.advance_shard(item.time)
                }
            };
            keep(chunk, item.seq, found, signals);
        }
        foreign
    }

    /// The bytes and count of its live buckets.
    pub fn memory(&self) -> (usize, usize) {
        engine::bucket::memory_usage(self.detector.store())
    }
}

/// Keeps the overflows (the rest only mattered to the buckets).
fn keep(chunk: usize, seq: u64, found: &mut Found, signals: Vec<(SignalOrder, Signal)>) {
    for (o, s) in signals {
        if matches!(s.kind, SignalKind::Overflow(_)) {
            found.push((chunk, seq, o, s));
        }
    }
}
