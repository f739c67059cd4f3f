//! `hivewall replay`: files through parsers, scenarios, postoverflows and profiles, at full
//! speed, with event time driving the buckets. With `--threads N` (N > 1, the default on a
//! machine with several cores) lines are parsed by N workers and buckets sharded over N
//! detectors by routing key ([`parallel`]), with the alerts of one thread.

mod parallel;
#[cfg(test)]
mod tests;

use std::cell::Cell;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::Args;
use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use engine::event::{Acquisition, ExpectMode};
use engine::pipeline::{AlertRecord, LineOutcome, Pipeline, Repair, Stats};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::input::for_each_line;
use crate::sources::ConfigArgs;

/// Arguments of `replay`.
#[derive(Debug, Args)]
pub struct ReplayArgs {
    /// The acquisition type label of the files (`syslog`, `nginx`...).
    #[arg(long = "type", value_name = "TYPE")]
    pub log_type: String,
    /// Log files to replay, in order.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// One alert per line as JSON (LAPI alert model with its decisions) instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Parse workers and bucket shards (default: every core). `1` runs everything on one
    /// thread. Alerts are the same with any number, in the same order: the order of one
    /// thread (by line, then as one detector emits them). Known limits: a `reprocess: true`
    /// overflow is poured again only into the buckets its own shard owns (the ones keyed like
    /// it, which is how hub scenarios consume them; others are counted and warned about), and
    /// parsers that keep a stash are run on one worker (in order).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Extra acquisition labels, `key=value` (repeatable).
    #[arg(long = "label", value_name = "KEY=VALUE")]
    pub labels: Vec<String>,
    #[command(flatten)]
    pub config: ConfigArgs,
}

/// Runs `replay`.
pub fn run(args: &ReplayArgs) -> anyhow::Result<ExitCode> {
    let setup = args.config.setup()?;
    let threads = args.threads.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    // With lanes, they load side by side, and the pipeline that finishes their overflows
    // shares the first one's scenarios and helpers instead of loading parsers of its own.
    let (mut pipeline, lanes) = if threads > 1 {
        let lanes = parallel::load(&setup, threads)?;
        let first = lanes.first().context("no lane loaded")?;
        for w in &first.warnings {
            eprintln!("warning: {w}");
        }
        let finisher = first.finisher(&setup, Arc::new(crate::clock::SystemClock))?;
        (finisher, lanes)
    } else {
        let pipeline = Pipeline::load(&setup, Arc::new(crate::clock::SystemClock))?;
        for w in &pipeline.warnings {
            eprintln!("warning: {w}");
        }
        (pipeline, Vec::new())
    };
    let mut labels = Vec::new();
    for kv in &args.labels {
        labels.push(
            kv.split_once('=')
                .with_context(|| format!("label {kv:?} is not key=value"))?,
        );
    }
    let total: u64 = args
        .files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {binary_bytes}/{binary_total_bytes} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let started = Instant::now();
    if threads > 1 {
        return run_parallel(args, &mut pipeline, lanes, &labels, threads, &bar, started);
    }
    let mut alerts: Vec<AlertRecord> = Vec::new();
    let mut done_before: u64 = 0;
    let stdout = std::io::stdout();
    let (n_lines, n_alerts) = (Cell::new(0u64), Cell::new(0usize));
    for file in &args.files {
        let source = Acquisition::new(
            &file.display().to_string(),
            "file",
            &args.log_type,
            labels.iter().copied(),
        );
        let mut out = alert_out(&stdout);
        let mut write_err = None;
        // One event, refilled for every line in the memory of the last.
        let mut evt = engine::event::Event::default();
        let repaired = for_each_line(
            file,
            |read| {
                let secs = started.elapsed().as_secs_f64().max(1e-6);
                bar.set_position(done_before + read);
                bar.set_message(format!(
                    "{:.0} lines/s, {} alerts",
                    n_lines.get() as f64 / secs,
                    n_alerts.get()
                ));
            },
            |raw| {
                n_lines.set(n_lines.get() + 1);
                source.refill(&mut evt, raw, ExpectMode::TimeMachine);
                let (_, found) = pipeline.process_in(&mut evt);
                for a in found {
                    if args.json {
                        let written = serde_json::to_writer(&mut out, &a)
                            .map_err(anyhow::Error::from)
                            .and_then(|()| Ok(out.write_all(b"\n")?));
                        if let Err(e) = written {
                            write_err.get_or_insert(e);
                        }
                    }
                    n_alerts.set(n_alerts.get() + 1);
                    // JSON Lines stream out; only the table needs them all at the end.
                    if !args.json {
                        alerts.push(a);
                    }
                }
            },
        )?;
        if let Err(e) = out.flush() {
            write_err.get_or_insert(e.into());
        }
        if let Some(e) = write_err {
            return Err(e.context("writing alerts"));
        }
        repaired.report(file);
        pipeline.count_repaired(Repair::TooLarge, repaired.truncated as u64);
        pipeline.count_repaired(Repair::InvalidUtf8, repaired.invalid_utf8 as u64);
        done_before += std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let s = pipeline.stats;
    eprintln!(
        "{} lines in {:.2}s ({:.0} lines/s): {}",
        s.lines,
        secs,
        s.lines as f64 / secs.max(1e-9),
        summary(&s, pipeline.unparsed_by_stage())
    );
    let (bytes, live) = engine::bucket::memory_usage(pipeline.detector().store());
    eprintln!(
        "{live} live buckets, {} bytes each on average, {:.1} MiB in all",
        bytes.checked_div(live).unwrap_or(0),
        bytes as f64 / (1024.0 * 1024.0)
    );
    if !args.json {
        print_table(&alerts)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Where `--json` writes alerts: stdout, in blocks when it is not a terminal (a line-buffered
/// stdout looks for a newline in every piece serde writes, and writes each alert on its own).
fn alert_out(stdout: &std::io::Stdout) -> std::io::BufWriter<std::io::StdoutLock<'_>> {
    let capacity = if stdout.is_terminal() { 0 } else { 64 << 10 };
    std::io::BufWriter::with_capacity(capacity, stdout.lock())
}

/// `run` with `threads` > 1: see [`parallel`].
fn run_parallel(
    args: &ReplayArgs,
    pipeline: &mut Pipeline,
    lanes: Vec<Pipeline>,
    labels: &[(&str, &str)],
    threads: usize,
    bar: &ProgressBar,
    started: Instant,
) -> anyhow::Result<ExitCode> {
    let sources = sources(args, labels);
    let mut alerts = Vec::new();
    let stdout = std::io::stdout();
    let mut out = alert_out(&stdout);
    let n_alerts = std::sync::atomic::AtomicUsize::new(0);
    let progress = |read: u64| {
        bar.set_position(read);
        bar.set_message(format!(
            "{} alerts",
            n_alerts.load(std::sync::atomic::Ordering::Relaxed)
        ));
    };
    let opts = parallel::Options {
        threads,
        chunk: parallel::CHUNK,
        #[cfg(test)]
        skip_ticks: false,
    };
    let report = parallel::replay(pipeline, lanes, &sources, &opts, &progress, &mut |a| {
        n_alerts.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if args.json {
            serde_json::to_writer(&mut out, &a).context("writing alerts")?;
            out.write_all(b"\n").context("writing alerts")?;
        } else {
            alerts.push(a.clone());
        }
        Ok(())
    })?;
    out.flush().context("writing alerts")?;
    drop(out);
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let s = pipeline.stats;
    eprintln!(
        "{} lines in {:.2}s ({:.0} lines/s, {threads} threads{}): {}",
        s.lines,
        secs,
        s.lines as f64 / secs.max(1e-9),
        if report.serial_parse {
            ", parsed on one: a parser keeps a stash"
        } else {
            ""
        },
        summary(&s, pipeline.unparsed_by_stage())
    );
    eprintln!(
        "{} live buckets, {} bytes each on average, {:.1} MiB in all",
        report.live,
        report.bytes.checked_div(report.live).unwrap_or(0),
        report.bytes as f64 / (1024.0 * 1024.0)
    );
    if report.foreign > 0 {
        eprintln!(
            "warning: {} pour(s) of reprocessed overflows into buckets of another shard were \
             skipped; run with --threads 1 for them",
            report.foreign
        );
    }
    if !args.json {
        print_table(&alerts)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Each file with the acquisition its lines come from.
fn sources(args: &ReplayArgs, labels: &[(&str, &str)]) -> Vec<(PathBuf, Acquisition)> {
    args.files
        .iter()
        .map(|f| {
            let acq = Acquisition::new(
                &f.display().to_string(),
                "file",
                &args.log_type,
                labels.iter().copied(),
            );
            (f.clone(), acq)
        })
        .collect()
}

/// Where every line went, in one line whose counts add up to the line count:
/// `P poured, D dropped (U unparsed [stage N, ...], E parse errors, W whitelisted, S unpoured,
/// F pour errors); T too large, I invalid UTF-8 repaired; A alerts`.
fn summary<'a>(s: &Stats, stages: impl Iterator<Item = (&'a str, u64)>) -> String {
    let stages: Vec<String> = stages
        .filter(|(_, n)| *n > 0)
        .map(|(stage, n)| format!("{stage} {n}"))
        .collect();
    let mut dropped = Vec::new();
    for o in LineOutcome::ALL
        .into_iter()
        .filter(|o| *o != LineOutcome::Poured)
    {
        let n = s.count(o);
        dropped.push(match o {
            LineOutcome::Unparsed if !stages.is_empty() => {
                format!("{n} unparsed [{}]", stages.join(", "))
            }
            LineOutcome::ParseError => format!("{n} parse errors"),
            LineOutcome::PourError => format!("{n} pour errors"),
            o => format!("{n} {}", o.as_str()),
        });
    }
    format!(
        "{} poured, {} dropped ({}); {} too large, {} invalid UTF-8 repaired; {} alerts",
        s.poured,
        s.dropped(),
        dropped.join(", "),
        s.too_large,
        s.invalid_utf8,
        s.overflows
    )
}

fn print_table(alerts: &[AlertRecord]) -> anyhow::Result<()> {
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_content_arrangement(ContentArrangement::Dynamic);
    t.set_header(["scenario", "source", "events", "start", "stop", "decisions"]);
    for a in alerts {
        let src = format!("{}:{}", a.alert.source.scope, a.alert.source.value);
        let decisions = if a.whitelisted {
            "whitelisted".to_string()
        } else {
            a.decisions
                .iter()
                .map(|d| format!("{} {}", d.kind, d.duration))
                .collect::<Vec<_>>()
                .join(", ")
        };
        t.add_row([
            a.alert.scenario.clone(),
            src,
            a.alert.events_count.to_string(),
            a.alert.start_at.clone(),
            a.alert.stop_at.clone(),
            decisions,
        ]);
    }
    let mut out = std::io::stdout().lock();
    if std::io::stdout().is_terminal() || !alerts.is_empty() {
        writeln!(out, "{t}")?;
    }
    writeln!(out, "{} alert(s)", alerts.len())?;
    Ok(())
}
