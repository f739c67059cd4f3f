//! Parse workers: a chunk of lines in, one [`Batch`] out, shared by every shard and freed by
//! the worker once they are all done with it.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender};

use anyhow::Context;
use engine::bucket::shard::{routing_key, shard_of};
use engine::bucket::{ScenarioSet, Stamp};
use engine::event::{Acquisition, Event, ExpectMode};
use engine::pipeline::{Parsed, Pipeline, Setup};

use super::Chunk;

/// One event's pours into one shard: (index among the event's routes, scenario, group).
pub(super) type ShardRoutes = Vec<(u32, usize, String)>;

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
    pub pours: Vec<Vec<(usize, ShardRoutes)>>,
}

pub(super) fn parse_worker(
    setup: &Setup,
    scenarios: &ScenarioSet,
    rx: &Receiver<Chunk>,
    to_shards: &[SyncSender<Arc<Batch>>],
    sources: &[(PathBuf, Acquisition)],
) -> anyhow::Result<Pipeline> {
    let mut pipeline = Pipeline::load(setup, Arc::new(crate::clock::SystemClock))
        .context("loading a parse worker's pipeline")?;
    let shards = to_shards.len();
    // Batches sent and not yet freed, oldest first.
    let mut sent: VecDeque<Arc<Batch>> = VecDeque::new();
    'chunks: for chunk in rx {
        free_done(&mut sent);
        let source = &sources[chunk.source].1;
        let mut batch = Batch {
            items: Vec::with_capacity(chunk.ends.len()),
            pours: (0..shards).map(|_| Vec::new()).collect(),
        };
        for (k, raw) in chunk.lines().enumerate() {
            let evt = source.event(raw.to_string(), ExpectMode::TimeMachine);
            let Parsed::Timed {
                time,
                event,
                routes,
            } = pipeline.parse_timed(evt)
            else {
                continue;
            };
            split(scenarios, &mut batch, routes.to);
            batch.items.push(Item {
                seq: chunk.seq + k as u64,
                time,
                event,
            });
        }
        let batch = Arc::new(batch);
        for tx in to_shards {
            if tx.send(Arc::clone(&batch)).is_err() {
                break 'chunks;
            }
        }
        sent.push_back(batch);
    }
    Ok(pipeline)
}

/// Frees the oldest batches that no shard holds any more (here, where they were allocated:
/// freeing on another thread is what a multi-threaded allocator does slowest).
fn free_done(sent: &mut VecDeque<Arc<Batch>>) {
    while sent.front().is_some_and(|b| Arc::strong_count(b) == 1) {
        sent.pop_front();
    }
}

/// Adds the routes of the next item (index `batch.items.len()`) to the shards owning them.
fn split(scenarios: &ScenarioSet, batch: &mut Batch, routes: Vec<(usize, String)>) {
    let item = batch.items.len();
    let shards = batch.pours.len();
    for (r, (idx, group)) in routes.into_iter().enumerate() {
        let sh = shard_of(routing_key(scenarios, idx, &group), shards);
        let route = (u32::try_from(r).unwrap_or(u32::MAX), idx, group);
        let pours = &mut batch.pours[sh];
        match pours.last_mut() {
            Some((i, v)) if *i == item => v.push(route),
            _ => pours.push((item, vec![route])),
        }
    }
}
