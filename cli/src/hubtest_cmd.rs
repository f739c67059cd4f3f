//! `hivewall hubtest dump|run`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::hubtest::{AssertOutcome, HubPaths, HubTest, bucket_dump, replay_test, run_test};

/// `hubtest` subcommands.
#[derive(Debug, Subcommand)]
pub enum HubtestCommand {
    /// Replay one test and write `parser-dump.json` and `bucket-dump.json`.
    Dump(DumpArgs),
    /// Run tests and evaluate their assert files.
    Run(RunArgs),
}

/// Where the hub is.
#[derive(Debug, Args)]
pub struct HubArgs {
    /// The hub checkout (with `.tests/`).
    #[arg(long, value_name = "DIR")]
    pub hub: PathBuf,
    /// Grok patterns (default: `patterns/` beside the hub).
    #[arg(long, value_name = "DIR")]
    pub patterns: Option<PathBuf>,
    /// Data files (default: `data/` beside the hub).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl HubArgs {
    fn paths(&self) -> HubPaths {
        HubPaths::beside(&self.hub, self.patterns.clone(), self.data_dir.clone())
    }
}

/// Arguments of `hubtest dump`.
#[derive(Debug, Args)]
pub struct DumpArgs {
    #[command(flatten)]
    hub: HubArgs,
    /// The test directory (with `config.yaml`).
    #[arg(long, value_name = "DIR")]
    test: PathBuf,
    /// Where to write the dumps.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

/// Arguments of `hubtest run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    #[command(flatten)]
    hub: HubArgs,
    /// Tests to run (directory names under `.tests/`); all of them when none is given.
    names: Vec<String>,
    /// Print every failing assert (default: the first three per test).
    #[arg(long)]
    all_failures: bool,
    /// Also print load warnings (unsupported enrichers, missing data files).
    #[arg(long, short)]
    verbose: bool,
}

/// Runs a `hubtest` subcommand.
pub fn run(cmd: HubtestCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        HubtestCommand::Dump(a) => dump(&a),
        HubtestCommand::Run(a) => run_tests(&a),
    }
}

fn dump(a: &DumpArgs) -> anyhow::Result<ExitCode> {
    let test = HubTest::load(&a.test)?;
    let replayed = replay_test(&a.hub.paths(), &test)?;
    for w in &replayed.warnings {
        eprintln!("warning: {w}");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let pd = a.out.join("parser-dump.json");
    std::fs::write(
        &pd,
        serde_json::to_vec_pretty(&replayed.parser_results.to_json())?,
    )
    .with_context(|| format!("writing {}", pd.display()))?;
    let bd = a.out.join("bucket-dump.json");
    std::fs::write(
        &bd,
        serde_json::to_vec_pretty(&bucket_dump(&replayed.overflows))?,
    )
    .with_context(|| format!("writing {}", bd.display()))?;
    eprintln!("wrote {} and {}", pd.display(), bd.display());
    Ok(ExitCode::SUCCESS)
}

fn run_tests(a: &RunArgs) -> anyhow::Result<ExitCode> {
    let paths = a.hub.paths();
    let tests_dir = paths.hub.join(".tests");
    let names: Vec<String> = if a.names.is_empty() {
        let mut v: Vec<String> = std::fs::read_dir(&tests_dir)
            .with_context(|| format!("reading {}", tests_dir.display()))?
            .flatten()
            .filter(|e| e.path().join("config.yaml").is_file())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    } else {
        a.names.clone()
    };
    let color = std::io::stdout().is_terminal();
    let (ok, ko) = if color {
        ("\x1b[32m✔\x1b[0m", "\x1b[31m✘\x1b[0m")
    } else {
        ("✔", "✘")
    };
    let mut out = std::io::stdout().lock();
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    let (mut p_ok, mut p_all, mut s_ok, mut s_all) = (0usize, 0usize, 0usize, 0usize);
    let shown = if a.all_failures { usize::MAX } else { 3 };
    for name in &names {
        let outcome = HubTest::load(&tests_dir.join(name)).and_then(|t| run_test(&paths, &t));
        let run = match outcome {
            Ok(run) => run,
            Err(e) => {
                failed += 1;
                writeln!(out, "{ko} {name}: error: {}", crate::chain(&e))?;
                continue;
            }
        };
        for w in run.warnings.iter().filter(|_| a.verbose) {
            writeln!(out, "    warning: {w}")?;
        }
        let parts = [
            ("parser", &run.parser_assert),
            ("scenario", &run.scenario_assert),
        ];
        if parts.iter().all(|(_, o)| o.is_none()) {
            skipped += 1;
            writeln!(out, "- {name}: nothing to assert")?;
            continue;
        }
        if let Some(pa) = &run.parser_assert {
            p_all += 1;
            p_ok += usize::from(pa.passed());
        }
        if let Some(sa) = &run.scenario_assert {
            s_all += 1;
            s_ok += usize::from(sa.passed());
        }
        let good = parts
            .iter()
            .all(|(_, o)| o.as_ref().is_none_or(AssertOutcome::passed));
        let counts: Vec<String> = parts
            .iter()
            .filter_map(|(k, o)| {
                o.as_ref()
                    .map(|o| format!("{k} {}/{}", o.total - o.failures.len(), o.total))
            })
            .collect();
        if good {
            passed += 1;
            writeln!(out, "{ok} {name} ({})", counts.join(", "))?;
        } else {
            failed += 1;
            writeln!(out, "{ko} {name} ({})", counts.join(", "))?;
            for (kind, o) in parts {
                for f in o.iter().flat_map(|o| o.failures.iter()).take(shown) {
                    writeln!(
                        out,
                        "    {kind}.assert:{}: {}\n        found: {}",
                        f.line, f.expr, f.found
                    )?;
                }
            }
        }
    }
    writeln!(out, "{skipped} skipped (nothing to assert)")?;
    writeln!(out, "parser asserts: {p_ok} of {p_all} tests pass")?;
    writeln!(out, "scenario asserts: {s_ok} of {s_all} tests pass")?;
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
