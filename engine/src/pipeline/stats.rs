//! What became of every line: each line given to the pipeline gets exactly one
//! [`LineOutcome`], so the outcomes add up to the line count.

use std::sync::Arc;

use serde::Serialize;

/// Where a line given to the pipeline ended; every line gets exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LineOutcome {
    /// Poured into at least one bucket (the only outcome that can lead to an alert).
    Poured,
    /// No parser of some stage matched (see [`Pipeline::unparsed_by_stage`](super::Pipeline::unparsed_by_stage)).
    Unparsed,
    /// A parser node aborted the line (a static produced a value that cannot be stored).
    ParseError,
    /// A parser whitelist dropped it.
    Whitelisted,
    /// Parsed, but no scenario's filter matched it (or it had no usable time).
    Unpoured,
    /// Parsed and poured nowhere, and at least one scenario's filter or groupby failed on it.
    PourError,
}

impl LineOutcome {
    /// Every outcome, in the order summaries print them.
    pub const ALL: [LineOutcome; 6] = [
        LineOutcome::Poured,
        LineOutcome::Unparsed,
        LineOutcome::ParseError,
        LineOutcome::Whitelisted,
        LineOutcome::Unpoured,
        LineOutcome::PourError,
    ];

    /// The outcome's name in metrics labels and JSON (`poured`, `unparsed`, `parse_error`,
    /// `whitelisted`, `unpoured`, `pour_error`).
    pub fn as_str(self) -> &'static str {
        match self {
            LineOutcome::Poured => "poured",
            LineOutcome::Unparsed => "unparsed",
            LineOutcome::ParseError => "parse_error",
            LineOutcome::Whitelisted => "whitelisted",
            LineOutcome::Unpoured => "unpoured",
            LineOutcome::PourError => "pour_error",
        }
    }
}

/// A repair made where a line was read, before it entered the pipeline. A repaired line is
/// still processed (an attacker must not hide a line by adding one bad byte) and gets its own
/// [`LineOutcome`]; repairs are counted on the side.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Repair {
    /// Longer than the reader's limit: cut there.
    TooLarge,
    /// Not valid UTF-8: the bad bytes became U+FFFD.
    InvalidUtf8,
}

/// Counters of what went through.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Stats {
    /// Lines given to the pipeline; equals [`Stats::accounted`].
    pub lines: u64,
    /// Lines that made it through every parser stage (whitelisted, poured, unpoured and
    /// pour-error lines).
    pub parsed: u64,
    /// Outcome: lines poured into at least one bucket.
    pub poured: u64,
    /// Outcome: lines no parser of some stage matched.
    pub unparsed: u64,
    /// Outcome: lines a parser node aborted.
    pub parse_errors: u64,
    /// Outcome: lines dropped by a parser whitelist.
    pub whitelisted: u64,
    /// Outcome: parsed lines no scenario filter matched.
    pub unpoured: u64,
    /// Outcome: parsed lines poured nowhere because a scenario filter or groupby failed.
    pub pour_failed: u64,
    /// Overflows (alerts), whitelisted ones included.
    pub overflows: u64,
    /// Errors of scenario filters/groupbys (a line can cause several, and still be poured).
    pub pour_errors: u64,
    /// Repair: lines cut because they were too large (also counted by outcome).
    pub too_large: u64,
    /// Repair: lines that were not valid UTF-8 (also counted by outcome).
    pub invalid_utf8: u64,
}

impl Stats {
    /// How many lines had `outcome`.
    pub fn count(&self, outcome: LineOutcome) -> u64 {
        match outcome {
            LineOutcome::Poured => self.poured,
            LineOutcome::Unparsed => self.unparsed,
            LineOutcome::ParseError => self.parse_errors,
            LineOutcome::Whitelisted => self.whitelisted,
            LineOutcome::Unpoured => self.unpoured,
            LineOutcome::PourError => self.pour_failed,
        }
    }

    /// The sum of every outcome: always [`Stats::lines`].
    pub fn accounted(&self) -> u64 {
        LineOutcome::ALL.iter().map(|o| self.count(*o)).sum()
    }

    /// Lines that entered and were poured nowhere, whatever the reason.
    pub fn dropped(&self) -> u64 {
        self.accounted() - self.poured
    }

    /// Adds the counts of `other` (the parse workers of a parallel replay).
    pub fn add(&mut self, other: &Stats) {
        self.lines += other.lines;
        self.parsed += other.parsed;
        self.poured += other.poured;
        self.unparsed += other.unparsed;
        self.parse_errors += other.parse_errors;
        self.whitelisted += other.whitelisted;
        self.unpoured += other.unpoured;
        self.pour_failed += other.pour_failed;
        self.overflows += other.overflows;
        self.pour_errors += other.pour_errors;
        self.too_large += other.too_large;
        self.invalid_utf8 += other.invalid_utf8;
    }

    /// Counts one line with `outcome`.
    pub(super) fn record(&mut self, outcome: LineOutcome) {
        let n = match outcome {
            LineOutcome::Poured => &mut self.poured,
            LineOutcome::Unparsed => &mut self.unparsed,
            LineOutcome::ParseError => &mut self.parse_errors,
            LineOutcome::Whitelisted => &mut self.whitelisted,
            LineOutcome::Unpoured => &mut self.unpoured,
            LineOutcome::PourError => &mut self.pour_failed,
        };
        *n += 1;
    }

    /// Counts `n` lines repaired with `repair`.
    pub(super) fn repaired(&mut self, repair: Repair, n: u64) {
        match repair {
            Repair::TooLarge => self.too_large += n,
            Repair::InvalidUtf8 => self.invalid_utf8 += n,
        }
    }
}

/// Unparsed lines per stage where they fell out, in stage order (a stage a node jumped to that
/// is not loaded comes last).
#[derive(Debug, Clone, Default)]
pub(super) struct StageDrops(Vec<(Arc<str>, u64)>);

impl StageDrops {
    pub(super) fn new(stages: &[Arc<str>]) -> Self {
        StageDrops(stages.iter().map(|s| (s.clone(), 0)).collect())
    }

    pub(super) fn count(&mut self, stage: &Arc<str>) {
        match self.0.iter_mut().find(|(s, _)| s == stage) {
            Some((_, n)) => *n += 1,
            None => self.0.push((stage.clone(), 1)),
        }
    }

    pub(super) fn add(&mut self, other: &StageDrops) {
        for (stage, n) in &other.0 {
            match self.0.iter_mut().find(|(s, _)| s == stage) {
                Some((_, m)) => *m += n,
                None => self.0.push((stage.clone(), *n)),
            }
        }
    }

    pub(super) fn get(&self) -> &[(Arc<str>, u64)] {
        &self.0
    }
}
