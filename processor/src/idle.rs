//! Bucket time that goes on while no line comes. Buckets run on event time; a quiet source
//! (or a quiet partition) would otherwise hold its buckets forever and never fire a counter.
//! Each tick moves bucket time on by the wall-clock time elapsed since the newest event time
//! was reached, less a grace, as CrowdSec's live mode lets buckets leak on the clock; but
//! only once no event came for the grace: while events come, their own time drives the
//! buckets, so events older than the clock (a backlog, a file read from its start) fill their
//! buckets as a replay would. Shared by `run` (one pipeline) and the detect stage (one
//! pipeline per partition).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use engine::bucket::{BucketStore, Stamp};
use engine::pipeline::{AlertRecord, Pipeline};

use crate::state::{StateDb, StateError, Watermark};

/// The grace of `run`: bucket time is held this far behind the watermark on clock ticks, so a
/// line stamped a little before the tick (logs have second resolution) still finds its bucket
/// alive, and ticks start only after this long without an event. The detect stage uses a
/// longer one ([`crate::bus::BusConfig::idle_grace`]): there a partition also goes quiet
/// while the parse stage that feeds it is rebalanced.
pub(crate) const TICK_GRACE: Duration = Duration::from_secs(2);

/// The newest bucket time and the wall clock when it was reached, and when the last event
/// came.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Clockwork {
    mark: Option<(Stamp, SystemTime)>,
    last_event: Option<SystemTime>,
    /// How long without an event before ticks move time on, and how far behind they hold it.
    grace: Duration,
}

fn wall_nanos(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn from_wall_nanos(n: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_nanos(u64::try_from(n).unwrap_or(0))
}

impl Clockwork {
    /// The watermark stored in `db`, if any, with ticks after `grace` without an event.
    pub(crate) fn load(db: &StateDb, grace: Duration) -> Result<Clockwork, StateError> {
        let mark = db.watermark()?.map(|w| {
            (
                Stamp {
                    nanos: w.event_nanos,
                    offset: 0,
                },
                from_wall_nanos(w.wall_nanos),
            )
        });
        Ok(Clockwork {
            mark,
            last_event: None,
            grace,
        })
    }

    /// The same bucket time, reached now: the time the state spent stored (a partition
    /// moving to another processor, a restart) does not move buckets on.
    pub(crate) fn resumed_now(self) -> Clockwork {
        let now = SystemTime::now();
        Clockwork {
            mark: self.mark.map(|(t, _)| (t, now)),
            last_event: Some(now),
            grace: self.grace,
        }
    }

    /// As stored.
    pub(crate) fn stored(&self) -> Option<Watermark> {
        self.mark.map(|(t, at)| Watermark {
            event_nanos: t.nanos,
            wall_nanos: wall_nanos(at),
        })
    }

    /// Notes the pipeline's bucket time after events, `now` on the wall clock.
    pub(crate) fn note<S: BucketStore>(&mut self, pipeline: &Pipeline<S>, now: SystemTime) {
        self.last_event = Some(now);
        if let Some(t) = pipeline.detector().time()
            && self.mark.is_none_or(|(w, _)| w.nanos < t.nanos)
        {
            self.mark = Some((t, now));
        }
    }

    /// Moves bucket time on by the wall-clock time elapsed since it last moved (less the
    /// grace), once no event came for the grace, so counters fire and idle buckets leak out. Returns the alerts that gives and
    /// whether time moved.
    pub(crate) fn tick<S: BucketStore>(
        &mut self,
        pipeline: &mut Pipeline<S>,
        now: SystemTime,
    ) -> Option<Vec<AlertRecord>> {
        let (t, at) = self.mark?;
        if let Some(last) = self.last_event {
            now.duration_since(last).ok()?.checked_sub(self.grace)?;
        }
        let elapsed = now.duration_since(at).ok()?.checked_sub(self.grace)?;
        let target = t.plus(i64::try_from(elapsed.as_nanos()).unwrap_or(i64::MAX));
        let out = pipeline.advance(target);
        self.mark = Some((target, now - self.grace));
        Some(out)
    }
}
