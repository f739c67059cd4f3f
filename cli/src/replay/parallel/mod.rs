//! `hivewall replay --threads N` (N > 1): the processor's partitioning in miniature, on
//! threads, with the alerts of one thread.
//!
//! ```text
//! reader + merger ─chunks─▶ N lanes (parse worker + detect shard each) ─overflows─▶ reader + merger
//!                            └──── every batch to every lane ────┘
//! ```
//!
//! The calling thread reads and merges: it cuts the input into numbered chunks of lines and
//! queues them for the lanes; whichever lane has the time takes the next one, so a lane that
//! shares its core with the reader parses fewer. A lane parses and routes its chunks with its
//! own [`Pipeline`] ([`Pipeline::parse_timed`]) into [`batch::Batch`]es: the lines that reach
//! the buckets with their times and prepared pours, and each shard's routes ([`shard_of`] of the routing key). Every lane's shard
//! reads every batch, in chunk order, through a shared reference (nothing is copied per
//! shard): it pours its own routes and advances to the time of every other event, so its
//! buckets (a [`Detector`] owning its keys) leak, expire and blackhole exactly as in one
//! detector. The lane that made a batch frees it once every shard is done with it (memory is
//! freed by the thread that allocated it). The merger (the calling thread) orders the
//! overflows of all shards by line and [`SignalOrder`] (the order one detector emits them in)
//! once every shard is past them, and runs postoverflows and profiles on one pipeline in that
//! order, so decision history (`GetDecisionsCount`) sees the same sequence. It reads on only
//! while fewer than [`WINDOW`] chunks are read and not merged, and merges when the window is
//! full.
//!
//! A batch carries what its lines' pours need, prepared by the lane that parsed them
//! ([`engine::bucket::Detector::prepare`]: the compact form a bucket queues, `distinct` and
//! `cancel_on` results, a whole copy only for scenarios that read the event), never the events
//! themselves: a lane parses every line into one event it refills, warm in its own caches, and
//! a shard on another core reads a few packed bytes per pour.
//!
//! [`shard_of`]: engine::bucket::shard::shard_of
//! [`Detector`]: engine::bucket::Detector

mod batch;
mod lane;
mod shard;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::Context;
use engine::bucket::Signal;
use engine::bucket::shard::SignalOrder;
use engine::event::Acquisition;
use engine::pipeline::{AlertRecord, Pipeline, Repair, Setup};

use crate::input::{Lines, for_each_line};
use lane::{Done, Lane, Msg};

/// Lines per chunk: large enough that hand-overs (and the threads they wake) are rare. What is
/// in flight is small (each line's prepared pours, not its event: [`batch::Item`]), so a
/// window of large chunks stays cheap; with whole events in the batches, 64-line chunks were
/// needed to keep them in the caches.
pub const CHUNK: usize = 1024;
/// Chunks read and not yet merged, at most.
const WINDOW: usize = 16;

/// How to run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Lanes: parse workers and detect shards (each).
    pub threads: usize,
    /// Lines per chunk ([`CHUNK`]; the tests also use small ones, for many hand-overs).
    pub chunk: usize,
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

/// Chunks read and not yet taken by a parsing lane, with their numbers; and chunks parsed and
/// emptied, which the reader fills again (their texts keep their grown size: no allocation,
/// no fresh pages and no cross-thread free per chunk).
#[derive(Default)]
struct Chunks {
    read: VecDeque<(usize, Chunk)>,
    spent: Vec<Chunk>,
}

type ChunkQueue = Mutex<Chunks>;

/// Overflows with their chunk, line and place in one detector's order.
type Found = Vec<(usize, u64, SignalOrder, Signal)>;

/// An overflow of [`Found`] at the merger, with the lane whose shard made it.
struct Pending {
    chunk: usize,
    seq: u64,
    order: SignalOrder,
    lane: usize,
    signal: Signal,
}

/// Replays `files` through `central` (whose postoverflows, profiles and counts are used: the
/// first lane's [`Pipeline::finisher`] in `hivewall replay`) and lanes that parse with
/// `pipelines` ([`load`], one a lane; only the first is used when parsing keeps state); calls
/// `sink` with every alert in one detector's order.
pub fn replay(
    central: &mut Pipeline,
    mut pipelines: Vec<Pipeline>,
    sources: &[(PathBuf, Acquisition)],
    opts: &Options,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(&AlertRecord) -> anyhow::Result<()>,
) -> anyhow::Result<Report> {
    let n = opts.threads.max(1);
    let serial_parse = central.parse_is_stateful();
    let workers = if serial_parse { 1 } else { n };
    anyhow::ensure!(
        pipelines.len() >= workers,
        "{} parse pipelines loaded for {workers} lanes",
        pipelines.len()
    );
    pipelines.truncate(workers);
    let scenarios = Arc::clone(central.detector().scenarios());
    #[cfg(test)]
    let skip_ticks = opts.skip_ticks;
    #[cfg(not(test))]
    let skip_ticks = false;
    thread::scope(|s| -> anyhow::Result<Report> {
        let (inboxes, inbox_rx): (Vec<Sender<Msg>>, Vec<Receiver<Msg>>) =
            (0..n).map(|_| channel()).unzip();
        let (done_tx, done_rx) = channel::<Done>();
        let mut lanes = Vec::new();
        let chunks: Arc<ChunkQueue> = Arc::default();
        let mut pipelines = pipelines.into_iter();
        for (me, inbox) in inbox_rx.into_iter().enumerate() {
            let pipeline = pipelines.next();
            // The shard counts references to its own lane's scenarios (loaded alike, so the
            // same indices), not to one set shared by every core.
            let own = pipeline
                .as_ref()
                .map_or(&scenarios, |p| p.detector().scenarios());
            let shard = shard::Shard::new(own, me, skip_ticks);
            let lane = Lane {
                me,
                pipeline,
                scenarios: Arc::clone(&scenarios),
                sources: sources.iter().map(|(_, a)| a.detached()).collect(),
                event: None,
                pool: Vec::new(),
                chunks: (me < workers).then(|| Arc::clone(&chunks)),
                shard,
                peers: (0..n)
                    .map(|i| (i != me).then(|| inboxes[i].clone()))
                    .collect(),
                merger: done_tx.clone(),
            };
            lanes.push(s.spawn(move || lane.run(&inbox)));
        }
        drop(done_tx);
        let mut report = Report {
            serial_parse,
            ..Report::default()
        };
        let deal = Deal {
            lanes: &inboxes,
            queue: &chunks,
            workers,
            chunk: opts.chunk.max(1),
        };
        let read = read_and_merge(
            sources,
            &deal,
            &done_rx,
            Merger::new(central, &inboxes),
            &mut report,
            progress,
            sink,
        );
        drop(inboxes);
        let mut joined = Vec::new();
        for h in lanes {
            joined.push(h.join().map_err(|_| anyhow::anyhow!("a lane panicked"))?);
        }
        for (path, lines) in &read? {
            lines.report(path);
            central.count_repaired(Repair::TooLarge, lines.truncated as u64);
            central.count_repaired(Repair::InvalidUtf8, lines.invalid_utf8 as u64);
        }
        for (p, (bytes, live)) in joined {
            if let Some(p) = p {
                central.absorb_counts(&p);
            }
            report.bytes += bytes;
            report.live += live;
        }
        Ok(report)
    })
}

/// The parse pipelines of `workers` lanes, loaded side by side.
pub fn load(setup: &Setup, workers: usize) -> anyhow::Result<Vec<Pipeline>> {
    thread::scope(|s| {
        let loading: Vec<_> = (0..workers)
            .map(|_| s.spawn(|| Pipeline::load(setup, Arc::new(crate::clock::SystemClock))))
            .collect();
        loading
            .into_iter()
            .map(|h| {
                h.join()
                    .map_err(|_| anyhow::anyhow!("loading a lane's pipeline panicked"))?
                    .context("loading a lane's pipeline")
            })
            .collect()
    })
}

/// Orders the lanes' overflows as one detector emits them and runs postoverflows and profiles
/// on them once every lane is past them. Each alert, once written, goes back to the lane whose
/// shard built it (its events, the bulk of it, were allocated there): freeing them here was
/// the merger's largest cost besides writing, and made the lanes' allocator collect them.
struct Merger<'a> {
    central: &'a mut Pipeline,
    lanes: &'a [Sender<Msg>],
    /// Per lane, the chunks it is done with.
    through: Vec<usize>,
    /// Chunks every lane is done with.
    merged: usize,
    pending: Vec<Pending>,
}

impl<'a> Merger<'a> {
    fn new(central: &'a mut Pipeline, lanes: &'a [Sender<Msg>]) -> Self {
        Merger {
            central,
            lanes,
            through: vec![0; lanes.len()],
            merged: 0,
            pending: Vec::new(),
        }
    }

    /// Takes a lane's report; returns how many more chunks every lane is now done with.
    fn take(
        &mut self,
        done: Done,
        report: &mut Report,
        sink: &mut dyn FnMut(&AlertRecord) -> anyhow::Result<()>,
    ) -> anyhow::Result<usize> {
        self.through[done.lane] = done.through;
        let lane = done.lane;
        self.pending.extend(
            done.found
                .into_iter()
                .map(|(chunk, seq, order, signal)| Pending {
                    chunk,
                    seq,
                    order,
                    lane,
                    signal,
                }),
        );
        report.foreign += done.foreign;
        let upto = self.through.iter().copied().min().unwrap_or(0);
        if upto == self.merged {
            return Ok(0);
        }
        let (mut ready, rest): (Vec<Pending>, Vec<Pending>) = std::mem::take(&mut self.pending)
            .into_iter()
            .partition(|f| f.chunk < upto);
        self.pending = rest;
        ready.sort_by(|a, b| (a.seq, &a.order).cmp(&(b.seq, &b.order)));
        let lanes: Vec<usize> = ready.iter().map(|f| f.lane).collect();
        let signals = ready.into_iter().map(|f| f.signal).collect();
        // Every signal is an overflow (shards keep nothing else): one alert each, in order.
        let mut written: Vec<Vec<AlertRecord>> = self.lanes.iter().map(|_| Vec::new()).collect();
        for (a, lane) in self
            .central
            .finish_signals(signals, None)
            .into_iter()
            .zip(lanes)
        {
            sink(&a)?;
            written[lane].push(a);
        }
        for (tx, alerts) in self.lanes.iter().zip(written) {
            if !alerts.is_empty() {
                // A lane that is gone returns them, dropped here.
                let _ = tx.send(Msg::Free(alerts));
            }
        }
        let more = upto - self.merged;
        self.merged = upto;
        Ok(more)
    }
}

/// Lines of one file, numbered from `seq`: one text, line `k` ending at `ends[k]` (a lane
/// copies each line out, so that the events it allocates are its own).
struct Chunk {
    seq: u64,
    source: usize,
    text: String,
    ends: Vec<usize>,
}

impl Chunk {
    fn new(seq: u64, source: usize, lines: usize) -> Self {
        Chunk {
            seq,
            source,
            text: String::with_capacity(lines * 128),
            ends: Vec::with_capacity(lines),
        }
    }

    fn lines(&self) -> impl Iterator<Item = &str> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(a, b)| &self.text[a..*b])
    }
}

/// How chunks are dealt: chunks of `chunk` lines into `queue`, each with a nudge to one of the
/// first `workers` of `lanes` (those that parse) in turn, so that a sleeping one wakes up.
struct Deal<'a> {
    lanes: &'a [Sender<Msg>],
    queue: &'a ChunkQueue,
    workers: usize,
    chunk: usize,
}

/// Reads `sources` into chunks, dealt to the lanes as `deal` says, at most [`WINDOW`] not yet
/// merged: when the window is full it merges the lanes' reports until a chunk is done (one
/// thread reads and merges, so neither waits for the other to wake up). Then tells every lane
/// how many chunks there were (also when it stops early) and merges the rest.
fn read_and_merge(
    sources: &[(PathBuf, Acquisition)],
    deal: &Deal<'_>,
    done_rx: &Receiver<Done>,
    mut merger: Merger<'_>,
    report: &mut Report,
    progress: &(dyn Fn(u64) + Sync),
    sink: &mut dyn FnMut(&AlertRecord) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<(PathBuf, Lines)>> {
    let (mut chunk_no, mut left) = (0usize, WINDOW);
    let result = read_into(
        sources,
        deal.chunk,
        &mut |seq, source| {
            let spent = deal.queue.lock().ok().and_then(|mut q| q.spent.pop());
            match spent {
                Some(mut c) => {
                    (c.seq, c.source) = (seq, source);
                    c
                }
                None => Chunk::new(seq, source, deal.chunk),
            }
        },
        &mut |chunk: Chunk| -> anyhow::Result<()> {
            while left == 0 {
                let done = done_rx.recv().context("the lanes stopped")?;
                left += merger.take(done, report, sink)?;
            }
            left -= 1;
            // A lane that is gone has died: its error comes out of its join.
            if let Ok(mut q) = deal.queue.lock() {
                q.read.push_back((chunk_no, chunk));
            }
            let _ = deal.lanes[chunk_no % deal.workers].send(Msg::Wake);
            chunk_no += 1;
            Ok(())
        },
        progress,
    );
    for tx in deal.lanes {
        let _ = tx.send(Msg::End(chunk_no));
    }
    let repaired = result?;
    for done in done_rx {
        merger.take(done, report, sink)?;
    }
    Ok(repaired)
}

/// Reads `sources` into chunks of `lines` lines (each empty one from `fresh(first line's
/// number, source)`), each given to `send` once full.
fn read_into(
    sources: &[(PathBuf, Acquisition)],
    lines: usize,
    fresh: &mut dyn FnMut(u64, usize) -> Chunk,
    send: &mut dyn FnMut(Chunk) -> anyhow::Result<()>,
    progress: &(dyn Fn(u64) + Sync),
) -> anyhow::Result<Vec<(PathBuf, Lines)>> {
    let mut repaired = Vec::new();
    let (mut seq, mut done_before) = (0u64, 0u64);
    for (i, (path, _)) in sources.iter().enumerate() {
        let mut chunk = fresh(seq, i);
        let mut failed = None;
        let stats = for_each_line(
            path,
            |read| progress(done_before + read),
            |line| {
                if failed.is_some() {
                    return;
                }
                chunk.text.push_str(line);
                chunk.ends.push(chunk.text.len());
                seq += 1;
                if chunk.ends.len() == lines
                    && let Err(e) = send(std::mem::replace(&mut chunk, fresh(seq, i)))
                {
                    failed = Some(e);
                }
            },
        )?;
        if let Some(e) = failed {
            return Err(e);
        }
        if !chunk.ends.is_empty() {
            send(chunk)?;
        }
        done_before += std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
        repaired.push((path.clone(), stats));
    }
    Ok(repaired)
}
