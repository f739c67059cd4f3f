//! `hivewall replay --threads N` (N > 1): the processor's partitioning in miniature, on
//! threads, with the alerts of one thread.
//!
//! ```text
//! reader ─chunks─▶ N parse workers ─(in chunk order)─▶ dispatcher ─▶ N detect shards ─▶ merger
//! ```
//!
//! The reader cuts the input into numbered chunks of lines and deals them to the parse workers
//! in turn; each worker has its own [`Pipeline`] for parsing and routing
//! ([`Pipeline::parse_timed`]) and splits each event's routes by shard ([`shard_of`] of the
//! routing key). The dispatcher takes the chunks back in input order and gives every shard,
//! for every event that reaches the buckets, either its routes or just its time: each shard
//! (a [`Detector`] owning its keys' buckets) moves time exactly as one detector would, so
//! buckets leak, expire and blackhole the same. The merger (the calling thread) orders each
//! chunk's overflows of all shards by line and [`SignalOrder`] (the order one detector
//! emits them in) and runs postoverflows and profiles on one pipeline in that order, so
//! decision history (`GetDecisionsCount`) sees the same sequence. Channels are bounded; each
//! thread owns its state, nothing is locked.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread;

use anyhow::Context;
use engine::bucket::shard::{SignalOrder, routing_key, shard_of};
use engine::bucket::{Detector, ScenarioSet, Signal, SignalKind, Stamp};
use engine::event::{Acquisition, Event, ExpectMode};
use engine::pipeline::{AlertRecord, Parsed, Pipeline, Repair, Setup};

use crate::input::{Lines, for_each_line};

/// Lines per chunk: large enough to amortize a channel send, small enough to keep every
/// thread busy on short inputs.
const CHUNK: usize = 1024;
/// Chunks in flight per channel.
const DEPTH: usize = 4;

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Parse workers and detect shards (each).
    pub threads: usize,
    /// Test only: shards are told no time but their own events' (a deliberately broken shard
    /// time, which the equality tests must catch).
    #[cfg(test)]
    pub skip_ticks: bool,
}

/// What the threads did besides the alerts.
#[derive(Debug, Default)]
pub struct Report {
    /// Live buckets at the end and their bytes (all shards).
    pub live: usize,
    /// Bytes of those buckets.
    pub bytes: usize,
    /// Reprocessed overflows' pours skipped because another shard owns the bucket.
    pub foreign: u64,
    /// Whether lines were parsed by one worker because parsing keeps state (a stash).
    pub serial_parse: bool,
}

/// One event's pours into one shard: (index among the event's routes, scenario, group).
type ShardRoutes = Vec<(u32, usize, String)>;

/// A parsed line that reaches the buckets.
struct Item {
    seq: u64,
    time: Stamp,
    /// (shard, event, routes) — the event cloned per shard when it goes to several.
    pours: Vec<(usize, Event, ShardRoutes)>,
}

/// A shard's work for one chunk: `steps` in line order, each pour taking the next of `pours`
/// (kept apart so that the many ticks stay small).
#[derive(Default)]
struct Work {
    steps: Vec<Step>,
    pours: Vec<(Event, ShardRoutes)>,
}

enum Step {
    /// Only the line's time (line number, time).
    Tick(u64, Stamp),
    /// The line's pours into this shard.
    Pour(u64, Stamp),
}

/// One shard's overflows for one chunk, with their place in one detector's order.
type Found = Vec<(u64, SignalOrder, Signal)>;

/// Replays `files` through `central` (whose postoverflows, profiles and counts are used) and
/// shards built from `setup`; calls `sink` with every alert in one detector's order.
pub fn replay(
    setup: &Setup,
    central: &mut Pipeline,
    sources: &[(PathBuf, Acquisition)],
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(AlertRecord) -> anyhow::Result<()>,
) -> anyhow::Result<Report> {
    let n = opts.threads.max(1);
    let serial_parse = central.parse_is_stateful();
    let workers = if serial_parse { 1 } else { n };
    let scenarios = Arc::clone(central.detector().scenarios());
    thread::scope(|s| -> anyhow::Result<Report> {
        // Reader → workers (chunk c to worker c % workers).
        let (to_workers, from_reader): (Vec<_>, Vec<_>) =
            (0..workers).map(|_| sync_channel::<Chunk>(DEPTH)).unzip();
        let reader = s.spawn(move || read(sources, &to_workers, progress));
        // Workers → dispatcher.
        let mut parsed_rx = Vec::new();
        let mut worker_handles = Vec::new();
        for rx in from_reader {
            let (tx, prx) = sync_channel::<Vec<Item>>(DEPTH);
            parsed_rx.push(prx);
            let scenarios = Arc::clone(&scenarios);
            worker_handles
                .push(s.spawn(move || parse_worker(setup, &scenarios, n, &rx, &tx, sources)));
        }
        // Dispatcher → shards → merger.
        let (to_shards, shard_rx): (Vec<_>, Vec<_>) =
            (0..n).map(|_| sync_channel::<Work>(DEPTH)).unzip();
        let mut found_rx = Vec::new();
        let mut shard_handles = Vec::new();
        for (i, rx) in shard_rx.into_iter().enumerate() {
            let (tx, frx) = sync_channel::<(Found, u64)>(DEPTH);
            found_rx.push(frx);
            let scenarios = Arc::clone(&scenarios);
            shard_handles.push(s.spawn(move || shard(&scenarios, i, n, &rx, &tx)));
        }
        #[cfg(test)]
        let skip_ticks = opts.skip_ticks;
        #[cfg(not(test))]
        let skip_ticks = false;
        s.spawn(move || dispatch(&parsed_rx, &to_shards, skip_ticks));
        // Merger: one chunk at a time, from every shard.
        let mut report = Report {
            serial_parse,
            ..Report::default()
        };
        'chunks: loop {
            let mut all: Found = Vec::new();
            for rx in &found_rx {
                let Ok((found, foreign)) = rx.recv() else {
                    break 'chunks;
                };
                all.extend(found);
                report.foreign += foreign;
            }
            all.sort_by(|a, b| (a.0, &a.1).cmp(&(b.0, &b.1)));
            let signals = all.into_iter().map(|(_, _, s)| s).collect();
            for a in central.finish_signals(signals, None) {
                sink(a)?;
            }
        }
        let repaired = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the reader panicked"))??;
        for (path, lines) in &repaired {
            lines.report(path);
            central.count_repaired(Repair::TooLarge, lines.truncated as u64);
            central.count_repaired(Repair::InvalidUtf8, lines.invalid_utf8 as u64);
        }
        for h in worker_handles {
            let p = h
                .join()
                .map_err(|_| anyhow::anyhow!("a parse worker panicked"))??;
            central.absorb_counts(&p);
        }
        for h in shard_handles {
            let (bytes, live) = h.join().map_err(|_| anyhow::anyhow!("a shard panicked"))?;
            report.bytes += bytes;
            report.live += live;
        }
        Ok(report)
    })
}

/// Lines of one file, numbered from `seq`.
struct Chunk {
    seq: u64,
    source: usize,
    lines: Vec<String>,
}

fn read(
    sources: &[(PathBuf, Acquisition)],
    to_workers: &[SyncSender<Chunk>],
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Vec<(PathBuf, Lines)>> {
    let mut repaired = Vec::new();
    let (mut seq, mut chunk_no, mut done_before) = (0u64, 0usize, 0u64);
    for (i, (path, _)) in sources.iter().enumerate() {
        let mut lines = Vec::with_capacity(CHUNK);
        let mut send = |lines: Vec<String>, seq: &mut u64| {
            let n = lines.len() as u64;
            let chunk = Chunk {
                seq: *seq,
                source: i,
                lines,
            };
            *seq += n;
            // A closed channel means a worker died: its error comes out of its join.
            let _ = to_workers[chunk_no % to_workers.len()].send(chunk);
            chunk_no += 1;
        };
        let stats = for_each_line(
            path,
            |read| progress(done_before + read),
            |line| {
                lines.push(line);
                if lines.len() == CHUNK {
                    send(
                        std::mem::replace(&mut lines, Vec::with_capacity(CHUNK)),
                        &mut seq,
                    );
                }
            },
        )?;
        if !lines.is_empty() {
            send(lines, &mut seq);
        }
        done_before += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        repaired.push((path.clone(), stats));
    }
    Ok(repaired)
}

fn parse_worker(
    setup: &Setup,
    scenarios: &ScenarioSet,
    shards: usize,
    rx: &Receiver<Chunk>,
    tx: &SyncSender<Vec<Item>>,
    sources: &[(PathBuf, Acquisition)],
) -> anyhow::Result<Pipeline> {
    let mut pipeline = Pipeline::load(setup, Arc::new(crate::clock::SystemClock))
        .context("loading a parse worker's pipeline")?;
    for chunk in rx {
        let source = &sources[chunk.source].1;
        let mut items = Vec::new();
        for (k, raw) in chunk.lines.into_iter().enumerate() {
            let evt = source.event(raw, ExpectMode::TimeMachine);
            let Parsed::Timed {
                time,
                event,
                routes,
            } = pipeline.parse_timed(evt)
            else {
                continue;
            };
            items.push(Item {
                seq: chunk.seq + k as u64,
                time,
                pours: split(scenarios, shards, event, routes.to),
            });
        }
        if tx.send(items).is_err() {
            break;
        }
    }
    Ok(pipeline)
}

/// An event's routes by shard, in shard order (the event cloned for all but the last).
fn split(
    scenarios: &ScenarioSet,
    shards: usize,
    event: Event,
    routes: Vec<(usize, String)>,
) -> Vec<(usize, Event, ShardRoutes)> {
    let mut by_shard: Vec<(usize, ShardRoutes)> = Vec::new();
    for (r, (idx, group)) in routes.into_iter().enumerate() {
        let sh = shard_of(routing_key(scenarios, idx, &group), shards);
        let route = (u32::try_from(r).unwrap_or(u32::MAX), idx, group);
        match by_shard.iter_mut().find(|(s, _)| *s == sh) {
            Some((_, v)) => v.push(route),
            None => by_shard.push((sh, vec![route])),
        }
    }
    let mut out = Vec::with_capacity(by_shard.len());
    let last = by_shard.pop();
    for (sh, r) in by_shard {
        out.push((sh, event.clone(), r));
    }
    if let Some((sh, r)) = last {
        out.push((sh, event, r));
    }
    out
}

fn dispatch(
    from_workers: &[Receiver<Vec<Item>>],
    to_shards: &[SyncSender<Work>],
    skip_ticks: bool,
) {
    let n = to_shards.len();
    // Per shard, the time of the tick it was last given when nothing was poured since
    // (`advance` twice to the same time is once).
    let mut ticked: Vec<Option<i64>> = vec![None; n];
    // Per shard, the last line poured into it.
    let mut poured: Vec<u64> = vec![u64::MAX; n];
    for c in 0.. {
        let Ok(items) = from_workers[c % from_workers.len()].recv() else {
            return;
        };
        let mut work: Vec<Work> = (0..n).map(|_| Work::default()).collect();
        for item in items {
            for (sh, evt, routes) in item.pours {
                poured[sh] = item.seq;
                ticked[sh] = None;
                work[sh].steps.push(Step::Pour(item.seq, item.time));
                work[sh].pours.push((evt, routes));
            }
            if skip_ticks {
                continue;
            }
            for sh in 0..n {
                if poured[sh] == item.seq || ticked[sh] == Some(item.time.nanos) {
                    continue;
                }
                ticked[sh] = Some(item.time.nanos);
                work[sh].steps.push(Step::Tick(item.seq, item.time));
            }
        }
        for (tx, w) in to_shards.iter().zip(work) {
            if tx.send(w).is_err() {
                return;
            }
        }
    }
}

fn shard(
    scenarios: &Arc<ScenarioSet>,
    me: usize,
    shards: usize,
    rx: &Receiver<Work>,
    tx: &SyncSender<(Found, u64)>,
) -> (usize, usize) {
    let mut detector = Detector::new(Arc::clone(scenarios));
    let owns = |key: &str| shard_of(key, shards) == me;
    let keep = |seq: u64, found: &mut Found, signals: Vec<(SignalOrder, Signal)>| {
        for (o, s) in signals {
            if matches!(s.kind, SignalKind::Overflow(_)) {
                found.push((seq, o, s));
            }
        }
    };
    for work in rx {
        let mut found = Vec::new();
        let mut foreign = 0;
        let mut pours = work.pours.into_iter();
        for step in work.steps {
            match step {
                Step::Tick(seq, t) => keep(seq, &mut found, detector.advance_shard(t)),
                Step::Pour(seq, t) => {
                    let Some((evt, routes)) = pours.next() else {
                        break;
                    };
                    let out = detector.process_shard(&evt, t, &routes, &owns);
                    foreign += out.foreign;
                    keep(seq, &mut found, out.signals);
                }
            }
        }
        if tx.send((found, foreign)).is_err() {
            break;
        }
    }
    engine::bucket::memory_usage(detector.store())
}
