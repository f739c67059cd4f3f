//! A lane: one thread that is both a parse worker and a detect shard. It takes the batches
//! of all lanes in chunk order into its shard first, and parses one of its own chunks when the
//! next batch is not there yet; it blocks only when it has neither. Everything it receives
//! comes through one inbox, so a lane never waits on one source while another has work.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender};

use engine::bucket::ScenarioSet;
use engine::event::{Acquisition, Event};
use engine::pipeline::{AlertRecord, Pipeline};

use super::batch::{Batch, ShardPours, free_done};
use super::shard::Shard;
use super::{Chunk, ChunkQueue, Found};

/// Chunks a lane's shard takes before it reports them to the merger (it reports sooner
/// when it has nothing else to do). Half the window: the reader reads on as the lanes
/// report, so that the lanes never run dry waiting for each other's reports, and the
/// reading and merging thread is woken once per 8 chunks a lane, not per chunk.
const REPORT_EVERY: usize = 8;

/// What a lane receives.
pub(super) enum Msg {
    /// A chunk was queued for the parsing lanes (the first of them to look takes it).
    Wake,
    /// The batch of a chunk, parsed by another lane.
    Batch(usize, Arc<Batch>),
    /// There are this many chunks in all.
    End(usize),
    /// Another lane died: stop.
    Abort,
    /// Alerts made from this lane's overflows, written: to be freed here, where their events
    /// were allocated (see [`super::Merger`]).
    Free(Vec<AlertRecord>),
}

/// What a lane tells the merger: it has taken every chunk before `through`, with these
/// overflows.
pub(super) struct Done {
    pub lane: usize,
    pub through: usize,
    pub found: Found,
    pub foreign: u64,
}

/// What a lane has received and not yet done.
#[derive(Default)]
struct Queues {
    /// Batches by chunk number, for its shard.
    batches: BTreeMap<usize, Arc<Batch>>,
    /// The next chunk its shard takes.
    next: usize,
    /// How many chunks there are, once known.
    end: Option<usize>,
}

impl Queues {
    fn file(&mut self, m: Msg) {
        match m {
            Msg::Wake => {}
            Msg::Batch(c, b) => {
                self.batches.insert(c, b);
            }
            Msg::End(n) => self.end = Some(n),
            Msg::Abort => self.end = Some(0),
            Msg::Free(alerts) => drop(alerts),
        }
    }
}

/// What the shard took since its last [`Done`].
#[derive(Default)]
struct Report {
    through: usize,
    reported: usize,
    found: Found,
    foreign: u64,
}

pub(super) struct Lane {
    pub me: usize,
    /// Its parse pipeline, if it parses (only lane 0 does when parsing keeps state).
    pub pipeline: Option<Pipeline>,
    pub scenarios: Arc<ScenarioSet>,
    /// The sources, each [`Acquisition::detached`] from the other lanes' copies.
    pub sources: Vec<Acquisition>,
    /// The event its lines are parsed into, one after the other.
    pub event: Option<Event>,
    /// Emptied batches for its next chunks.
    pub pool: Vec<Batch>,
    /// The chunks read and not yet parsed, shared by the lanes that parse (`None` for the
    /// others): a lane that has the time takes the next one, so a lane slowed by the reader's
    /// thread on its core parses less instead of holding the others up.
    pub chunks: Option<Arc<ChunkQueue>>,
    pub shard: Shard,
    /// Every other lane's inbox (`None` for its own).
    pub peers: Vec<Option<Sender<Msg>>>,
    pub merger: Sender<Done>,
}

impl Lane {
    /// Runs until every chunk has gone through its shard; returns its pipeline (for the line
    /// counts) and the shard's live buckets (bytes, count).
    pub fn run(mut self, inbox: &Receiver<Msg>) -> (Option<Pipeline>, (usize, usize)) {
        let _abort = AbortOnPanic(self.peers.clone());
        let mut q = Queues::default();
        // Batches it made and sent, not yet freed.
        let mut sent: VecDeque<Arc<Batch>> = VecDeque::new();
        let mut report = Report::default();
        loop {
            while let Ok(m) = inbox.try_recv() {
                q.file(m);
            }
            if q.end.is_some_and(|n| q.next >= n) {
                break;
            }
            if let Some(batch) = q.batches.remove(&q.next) {
                report.foreign += self.shard.take(q.next, &batch, &mut report.found);
                drop(batch);
                q.next += 1;
                report.through = q.next;
                if q.next.is_multiple_of(REPORT_EVERY) {
                    self.report(&mut report);
                }
                continue;
            }
            if let Some((c, chunk)) = self.next_chunk() {
                free_done(&mut sent, &mut self.pool);
                let batch = Arc::new(self.parse(&chunk));
                self.give_back(chunk);
                for tx in self.peers.iter().flatten() {
                    // A lane that is gone has taken every chunk.
                    let _ = tx.send(Msg::Batch(c, Arc::clone(&batch)));
                }
                q.batches.insert(c, Arc::clone(&batch));
                sent.push_back(batch);
                continue;
            }
            self.report(&mut report);
            free_done(&mut sent, &mut self.pool);
            match inbox.recv() {
                Ok(m) => q.file(m),
                Err(_) => break,
            }
        }
        self.report(&mut report);
        (self.pipeline, self.shard.memory())
    }

    /// The oldest chunk no lane has taken yet, if it parses.
    fn next_chunk(&self) -> Option<(usize, Chunk)> {
        let queue = self.chunks.as_ref()?;
        // A poisoned queue means the reader panicked; its error comes out of its join.
        queue.lock().ok()?.read.pop_front()
    }

    /// Returns a parsed chunk, emptied, for the reader to fill again.
    fn give_back(&self, mut chunk: Chunk) {
        chunk.text.clear();
        chunk.ends.clear();
        if let Some(mut q) = self.chunks.as_ref().and_then(|q| q.lock().ok())
            && q.spent.len() < super::WINDOW
        {
            q.spent.push(chunk);
        }
    }

    fn parse(&mut self, chunk: &Chunk) -> Batch {
        let shards = self.peers.len();
        let source = &self.sources[chunk.source];
        match &mut self.pipeline {
            Some(p) => {
                let recycled = self.pool.pop();
                Batch::parse(
                    p,
                    &self.scenarios,
                    shards,
                    source,
                    chunk,
                    &mut self.event,
                    recycled,
                )
            }
            // Chunks go only to lanes that parse.
            None => Batch {
                items: Vec::new(),
                pours: (0..shards).map(|_| ShardPours::default()).collect(),
            },
        }
    }

    /// Sends what the shard took since the last report, if anything.
    fn report(&self, report: &mut Report) {
        if report.through == report.reported && report.found.is_empty() {
            return;
        }
        report.reported = report.through;
        let done = Done {
            lane: self.me,
            through: report.through,
            found: std::mem::take(&mut report.found),
            foreign: std::mem::take(&mut report.foreign),
        };
        let _ = self.merger.send(done);
    }
}

/// Tells the other lanes to stop when its lane panics (they would wait for its batches).
struct AbortOnPanic(Vec<Option<Sender<Msg>>>);

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        if std::thread::panicking() {
            for tx in self.0.iter().flatten() {
                let _ = tx.send(Msg::Abort);
            }
        }
    }
}
