//! A chunk of lines after parsing: one [`Batch`], read by every shard through a shared
//! reference and freed by the lane that made it once they are all done with it.

use std::collections::VecDeque;
use std::sync::Arc;

use engine::bucket::shard::{routing_key, shard_of};
use engine::bucket::{ScenarioSet, Stamp};
use engine::event::{Acquisition, Event, ExpectMode};
use engine::pipeline::{Parsed, Pipeline};

use super::Chunk;

/// One shard's pours of a batch: for each item with routes it owns, in item order, the item's
/// index and the span of its routes in `routes` (index among the event's routes, scenario,
/// group). One vector of routes for the whole batch, not one per item.
#[derive(Default)]
pub(super) struct ShardPours {
    pub items: Vec<(usize, std::ops::Range<usize>)>,
    pub routes: Vec<(u32, usize, String)>,
}

/// A parsed line that reaches the buckets (poured or not: its time moves every shard).
pub(super) struct Item {
    pub seq: u64,
    pub time: Stamp,
    pub event: Event,
}

/// A chunk after parsing: its items in line order, and each shard's pours.
pub(super) struct Batch {
    pub items: Vec<Item>,
    /// Per shard, in item order: (index in `items`, the routes of that item it owns).
    pub pours: Vec<ShardPours>,
}

impl Batch {
    /// Parses and routes the lines of `chunk` (from `source`) for `shards` shards. Each line's
    /// event is a spare one refilled (`spares`: the events of dropped lines and of
    /// freed batches), as one thread's replay reuses the last line's.
    pub fn parse(
        pipeline: &mut Pipeline,
        scenarios: &ScenarioSet,
        shards: usize,
        source: &Acquisition,
        chunk: &Chunk,
        spares: &mut Vec<Event>,
    ) -> Batch {
        let mut batch = Batch {
            items: Vec::with_capacity(chunk.ends.len()),
            pours: (0..shards).map(|_| ShardPours::default()).collect(),
        };
        for (k, raw) in chunk.lines().enumerate() {
            // Copied here (into a spare's memory when there is one), so that the event is
            // all allocated by the thread that frees it.
            let mut evt = match spares.pop() {
                Some(mut spare) => {
                    source.refill(&mut spare, raw, ExpectMode::TimeMachine);
                    spare
                }
                None => source.event(raw.to_string(), ExpectMode::TimeMachine),
            };
            // Parsed where it lies, then moved once: into the batch, or back among the
            // spares when it reaches no bucket.
            match pipeline.parse_timed(&mut evt) {
                Parsed::Timed { time, routes } => {
                    batch.split(scenarios, routes.to);
                    batch.items.push(Item {
                        seq: chunk.seq + k as u64,
                        time,
                        event: evt,
                    });
                }
                Parsed::Dropped(_) => spares.push(evt),
            }
        }
        batch
    }

    /// Adds the routes of the next item (index `items.len()`) to the shards owning them.
    fn split(&mut self, scenarios: &ScenarioSet, routes: Vec<(usize, String)>) {
        let item = self.items.len();
        let shards = self.pours.len();
        for (r, (idx, group)) in routes.into_iter().enumerate() {
            let sh = shard_of(routing_key(scenarios, idx, &group), shards);
            let route = (u32::try_from(r).unwrap_or(u32::MAX), idx, group);
            let pours = &mut self.pours[sh];
            pours.routes.push(route);
            let end = pours.routes.len();
            match pours.items.last_mut() {
                Some((i, span)) if *i == item => span.end = end,
                _ => pours.items.push((item, end - 1..end)),
            }
        }
    }
}

/// Spare events a lane keeps for the lines it parses next: as many as can be in flight, so
/// that the events of batches freed while few chunks are in flight serve when many are (with
/// a chunk's worth, a third of the events of a 2-lane auth replay were new ones, whose maps
/// grow entry by entry).
const SPARES: usize = super::WINDOW * super::CHUNK;

/// Frees the oldest batches that no shard holds any more (here, where they were allocated:
/// freeing on another thread is what a multi-threaded allocator does slowest), keeping up to
/// [`SPARES`] of their events in `spares`.
pub(super) fn free_done(sent: &mut VecDeque<Arc<Batch>>, spares: &mut Vec<Event>) {
    while sent.front().is_some_and(|b| Arc::strong_count(b) == 1) {
        let Some(batch) = sent.pop_front().and_then(Arc::into_inner) else {
            continue;
        };
        let room = SPARES.saturating_sub(spares.len());
        spares.extend(batch.items.into_iter().take(room).map(|i| i.event));
    }
}
