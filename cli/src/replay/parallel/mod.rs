//! `hivewall replay --threads N` (N > 1): the processor's partitioning in miniature, on
//! threads, with the alerts of one thread.
//!
//! ```text
//! reader ─chunks─▶ N parse workers ─(every batch, in chunk order)─▶ N detect shards ─▶ merger
//! ```
//!
//! The reader cuts the input into numbered chunks of lines and deals them to the parse workers
//! in turn; each worker has its own [`Pipeline`] for parsing and routing
//! ([`Pipeline::parse_timed`]) and makes of each chunk one [`batch::Batch`]: the events that
//! reach the buckets with their times, and each shard's routes ([`shard_of`] of the routing
//! key). Every shard reads every batch, in chunk order, through a shared reference (nothing is
//! copied per shard): it pours its own routes and advances to the time of every other event,
//! so its buckets (a [`Detector`] owning its keys) leak, expire and blackhole exactly as in one
//! detector. The worker frees the batch once every shard is done with it (memory is freed by
//! the thread that allocated it). The merger (the calling thread) orders each chunk's
//! overflows of all shards by line and [`SignalOrder`] (the order one detector emits them in)
//! and runs postoverflows and profiles on one pipeline in that order, so decision history
//! (`GetDecisionsCount`) sees the same sequence. Channels are bounded; each thread owns its
//! state, nothing is locked.
//!
//! [`shard_of`]: engine::bucket::shard::shard_of
//! [`Detector`]: engine::bucket::Detector

mod batch;
mod shard;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread;

use engine::bucket::Signal;
use engine::bucket::shard::SignalOrder;
use engine::event::Acquisition;
use engine::pipeline::{AlertRecord, Pipeline, Repair, Setup};

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
    #[cfg(test)]
    let skip_ticks = opts.skip_ticks;
    #[cfg(not(test))]
    let skip_ticks = false;
    thread::scope(|s| -> anyhow::Result<Report> {
        // Reader → workers (chunk c to worker c % workers).
        let (to_workers, from_reader): (Vec<_>, Vec<_>) =
            (0..workers).map(|_| sync_channel::<Chunk>(DEPTH)).unzip();
        let reader = s.spawn(move || read(sources, &to_workers, progress));
        // Workers → every shard: one channel per (worker, shard).
        let mut batch_rx: Vec<Vec<_>> = (0..n).map(|_| Vec::new()).collect();
        let mut worker_handles = Vec::new();
        for rx in from_reader {
            let mut to_shards = Vec::new();
            for shard_rx in &mut batch_rx {
                let (tx, brx) = sync_channel(DEPTH);
                to_shards.push(tx);
                shard_rx.push(brx);
            }
            let scenarios = Arc::clone(&scenarios);
            worker_handles.push(
                s.spawn(move || batch::parse_worker(setup, &scenarios, &rx, &to_shards, sources)),
            );
        }
        // Shards → merger.
        let mut found_rx = Vec::new();
        let mut shard_handles = Vec::new();
        for (i, from_workers) in batch_rx.into_iter().enumerate() {
            let (tx, frx) = sync_channel::<(Found, u64)>(DEPTH);
            found_rx.push(frx);
            let me = shard::Shard {
                scenarios: Arc::clone(&scenarios),
                me: i,
                skip_ticks,
            };
            shard_handles.push(s.spawn(move || me.run(&from_workers, &tx)));
        }
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

/// Lines of one file, numbered from `seq`: one text, line `k` ending at `ends[k]` (a worker
/// copies each line out, so that the events it allocates are its own).
struct Chunk {
    seq: u64,
    source: usize,
    text: String,
    ends: Vec<usize>,
}

impl Chunk {
    fn new(seq: u64, source: usize) -> Self {
        Chunk {
            seq,
            source,
            text: String::with_capacity(CHUNK * 128),
            ends: Vec::with_capacity(CHUNK),
        }
    }

    fn lines(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, b)| &self.text[a..*b])
    }
}

fn read(
    sources: &[(PathBuf, Acquisition)],
    to_workers: &[SyncSender<Chunk>],
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Vec<(PathBuf, Lines)>> {
    let mut repaired = Vec::new();
    let (mut seq, mut chunk_no, mut done_before) = (0u64, 0usize, 0u64);
    for (i, (path, _)) in sources.iter().enumerate() {
        let mut chunk = Chunk::new(seq, i);
        let mut send = |chunk: Chunk| {
            // A closed channel means a worker died: its error comes out of its join.
            let _ = to_workers[chunk_no % to_workers.len()].send(chunk);
            chunk_no += 1;
        };
        let stats = for_each_line(
            path,
            |read| progress(done_before + read),
            |line| {
                chunk.text.push_str(&line);
                chunk.ends.push(chunk.text.len());
                seq += 1;
                if chunk.ends.len() == CHUNK {
                    send(std::mem::replace(&mut chunk, Chunk::new(seq, i)));
                }
            },
        )?;
        if !chunk.ends.is_empty() {
            send(chunk);
        }
        done_before += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        repaired.push((path.clone(), stats));
    }
    Ok(repaired)
}
