//! A chunk of lines after parsing: one [`Batch`], read by every shard through a shared
//! reference and freed by the lane that made it once they are all done with it.

use std::collections::VecDeque;
use std::sync::Arc;

use compact_str::CompactString;
use engine::bucket::prepared::{Payload, PreparedRoute};
use engine::bucket::shard::{routing_key, shard_of};
use engine::bucket::{ScenarioSet, Stamp};
use engine::event::{Acquisition, Event, ExpectMode};
use engine::pipeline::{Parsed, Pipeline};

use super::Chunk;

/// One shard's pours of a batch: for each item with routes it owns, in item order, the item's
/// index and the span of its routes in `routes`. One vector of routes for the whole batch, not
/// one per item.
#[derive(Default)]
pub(super) struct ShardPours {
    pub items: Vec<(usize, std::ops::Range<usize>)>,
    pub routes: Vec<PreparedRoute>,
}

/// A parsed line that reaches the buckets (poured or not: its time moves every shard), with
/// what its pours need of its event ([`Detector::prepare`]): the event itself stays with the
/// lane that parsed it, which refills it with its next line.
///
/// [`Detector::prepare`]: engine::bucket::Detector::prepare
pub(super) struct Item {
    pub seq: u64,
    pub time: Stamp,
    pub payload: Payload,
}

/// A chunk after parsing: its items in line order, and each shard's pours.
pub(super) struct Batch {
    pub items: Vec<Item>,
    /// Per shard, in item order: (index in `items`, the routes of that item it owns).
    pub pours: Vec<ShardPours>,
}

impl Batch {
    /// Parses and routes the lines of `chunk` (from `source`) for `shards` shards, each into
    /// `evt` (the lane's one event, refilled line after line as one thread's replay does).
    pub fn parse(
        pipeline: &mut Pipeline,
        scenarios: &ScenarioSet,
        shards: usize,
        source: &Acquisition,
        chunk: &Chunk,
        evt: &mut Option<Event>,
        recycled: Option<Batch>,
    ) -> Batch {
        let mut batch = recycled.unwrap_or_else(|| Batch {
            items: Vec::with_capacity(chunk.ends.len()),
            pours: (0..shards).map(|_| ShardPours::default()).collect(),
        });
        for (k, raw) in chunk.lines().enumerate() {
            let evt = match evt {
                Some(e) => {
                    source.refill(e, raw, ExpectMode::TimeMachine);
                    e
                }
                None => evt.insert(source.event(raw.to_string(), ExpectMode::TimeMachine)),
            };
            let Parsed::Timed { time, routes } = pipeline.parse_timed(evt) else {
                continue;
            };
            let (payload, routes) = if routes.to.is_empty() {
                (Payload::default(), Vec::new())
            } else {
                pipeline.detector().prepare(evt, routes.to)
            };
            batch.split(scenarios, routes);
            batch.items.push(Item {
                seq: chunk.seq + k as u64,
                time,
                payload,
            });
        }
        batch
    }

    /// Adds the routes of the next item (index `items.len()`) to the shards owning them.
    fn split(&mut self, scenarios: &ScenarioSet, routes: Vec<PreparedRoute>) {
        let item = self.items.len();
        let shards = self.pours.len();
        // An event's routes mostly share their key (its source address): hashed once.
        let mut last: Option<(CompactString, usize)> = None;
        for route in routes {
            let key = routing_key(scenarios, route.scenario, &route.group);
            let sh = match &last {
                Some((k, sh)) if k == key => *sh,
                _ => {
                    let sh = shard_of(key, shards);
                    last = Some((key.into(), sh));
                    sh
                }
            };
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

/// Emptied batches a lane keeps for its next chunks (their vectors keep their capacity).
const POOL: usize = super::WINDOW;

/// Frees the oldest batches that no shard holds any more, here, where they were allocated
/// (freeing on another thread is what a multi-threaded allocator does slowest), and keeps up
/// to [`POOL`] of them emptied in `pool`, so that the next chunks' vectors need not grow again.
pub(super) fn free_done(sent: &mut VecDeque<Arc<Batch>>, pool: &mut Vec<Batch>) {
    while sent.front().is_some_and(|b| Arc::strong_count(b) == 1) {
        let Some(mut batch) = sent.pop_front().and_then(Arc::into_inner) else {
            continue;
        };
        if pool.len() < POOL {
            batch.items.clear();
            for p in &mut batch.pours {
                p.items.clear();
                p.routes.clear();
            }
            pool.push(batch);
        }
    }
}
