//! Detect shards: every batch of every worker, in chunk order; pours of their own routes, and
//! the time of every other event.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use engine::bucket::shard::{SignalOrder, shard_of};
use engine::bucket::{Detector, ScenarioSet, Signal, SignalKind};

use super::Found;
use super::batch::Batch;

/// One shard of the buckets.
pub(super) struct Shard {
    pub scenarios: Arc<ScenarioSet>,
    /// Its number, among as many shards as the batches have route lists.
    pub me: usize,
    /// Test only: told no time but its own events'.
    pub skip_ticks: bool,
}

impl Shard {
    /// Runs until a worker's channel closes; returns the bytes and count of its live buckets.
    pub fn run(
        self,
        from_workers: &[Receiver<Arc<Batch>>],
        tx: &SyncSender<(Found, u64)>,
    ) -> (usize, usize) {
        let mut detector = Detector::new(Arc::clone(&self.scenarios));
        // The time it was last told when nothing was poured since (`advance` twice to the
        // same time is once).
        let mut ticked: Option<i64> = None;
        for c in 0.. {
            let Ok(batch) = from_workers[c % from_workers.len()].recv() else {
                break;
            };
            let shards = batch.pours.len();
            let owns = |key: &str| shard_of(key, shards) == self.me;
            let mut found = Vec::new();
            let mut foreign = 0;
            let mut pours = batch.pours[self.me].iter().peekable();
            for (i, item) in batch.items.iter().enumerate() {
                let signals = match pours.next_if(|(p, _)| *p == i) {
                    Some((_, routes)) => {
                        ticked = None;
                        let out = detector.process_shard(&item.event, item.time, routes, &owns);
                        foreign += out.foreign;
                        out.signals
                    }
                    None if self.skip_ticks || ticked == Some(item.time.nanos) => continue,
                    None => {
                        ticked = Some(item.time.nanos);
                        detector.advance_shard(item.time)
                    }
                };
                keep(item.seq, &mut found, signals);
            }
            // Dropped here, before waiting for the next: its worker frees it.
            drop(batch);
            if tx.send((found, foreign)).is_err() {
                break;
            }
        }
        engine::bucket::memory_usage(detector.store())
    }
}

/// Keeps the overflows (the rest only mattered to the buckets).
fn keep(seq: u64, found: &mut Found, signals: Vec<(SignalOrder, Signal)>) {
    for (o, s) in signals {
        if matches!(s.kind, SignalKind::Overflow(_)) {
            found.push((seq, o, s));
        }
    }
}
