//! `hivewall hubtest dump|run`.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};

use crate::hubtest::{HubPaths, HubTest, replay_test, run_test};

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
    /// Grok patterns [default: `patterns/` beside the hub].
    #[arg(long, value_name = "DIR")]
    pub patterns: Option<PathBuf>,
    /// Data files [default: `data/` beside the hub].
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
    let (results, warnings) = replay_test(&a.hub.paths(), &test)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let pd = a.out.join("parser-dump.json");
    std::fs::write(&pd, serde_json::to_vec_pretty(&results.to_json())?)
        .with_context(|| format!("writing {}", pd.display()))?;
    let bd = a.out.join("bucket-dump.json");
    std::fs::write(&bd, b"[]\n").with_context(|| format!("writing {}", bd.display()))?;
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
    for name in &names {
        let test = HubTest::load(&tests_dir.join(name));
        let scenarios_note = match &test {
            Ok(t) if t.has_scenarios() => "; scenario.assert not evaluated (no bucket engine yet)",
            _ => "",
        };
        let outcome = test.and_then(|t| run_test(&paths, &t));
        if let Ok(run) = &outcome {
            for w in run.warnings.iter().filter(|_| a.verbose) {
                writeln!(out, "    warning: {w}")?;
            }
        }
        match outcome {
            Err(e) => {
                failed += 1;
                writeln!(out, "{ko} {name}: error: {e:#}")?;
            }
            Ok(run) => match &run.parser_assert {
                None => {
                    skipped += 1;
                    writeln!(
                        out,
                        "- {name}: no parser asserts to evaluate{scenarios_note}"
                    )?;
                }
                Some(pa) if pa.passed() => {
                    passed += 1;
                    writeln!(
                        out,
                        "{ok} {name} ({} parser asserts){scenarios_note}",
                        pa.total
                    )?;
                }
                Some(pa) => {
                    failed += 1;
                    writeln!(
                        out,
                        "{ko} {name}: {} of {} parser asserts failed",
                        pa.failures.len(),
                        pa.total
                    )?;
                    let shown = if a.all_failures { usize::MAX } else { 3 };
                    for f in pa.failures.iter().take(shown) {
                        writeln!(
                            out,
                            "    parser.assert:{}: {}\n        found: {}",
                            f.line, f.expr, f.found
                        )?;
                    }
                }
            },
        }
    }
    writeln!(out, "{skipped} skipped (nothing to assert)")?;
    writeln!(out, "{passed} passed, {failed} failed")?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
