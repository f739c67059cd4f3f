//! The `hivewall` binary: the embedded pipeline, the services, and operator tools.
//!
//! A thin layer: argument parsing, files and terminals here; all behaviour lives in the library
//! crates. Errors are `anyhow` here and nowhere else.

mod api_cmd;
mod clock;
mod consensus_cmd;
mod explain;
mod hubtest;
mod hubtest_cmd;
mod ingest_cmd;
mod input;
mod lint;
mod ops;
mod processor_cmd;
mod replay;
mod run;
mod sources;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc, not glibc's malloc: in `run`, lines are allocated by the sources and freed by the
/// processor on another thread, which glibc serves with arena locks (futex waits were ~5% of
/// the tailing process in `perf`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// No transparent huge pages for this process unless `MIMALLOC_ALLOW_THP=1` asks for them.
///
/// mimalloc reserves its arenas in 1 GiB spans; on a kernel whose THP mode is `always` every
/// 2 MiB of them it touches becomes resident whole (a replay of 300k auth lines on the hub:
/// 42.8 → 36.6 MiB max RSS, same time; 55 → 39 MiB on mimalloc v3; BENCHMARKS.md).
fn limit_huge_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        // Best effort: a kernel without the prctl only keeps its default.
        let _ = rustix::thread::disable_transparent_huge_pages(true);
    }
}

/// hivewall: crowd-powered intrusion prevention, compatible with CrowdSec's hub.
#[derive(Debug, Parser)]
#[command(name = "hivewall", version, about)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes (cscli's persistent flags).
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// CrowdSec's `config.yaml` (e.g. `/etc/crowdsec/config.yaml`); without it, hivewall's
    /// own `scenarios/`, the usual auth and web logs, and the API on 127.0.0.1:8080.
    #[arg(short = 'c', long = "config", value_name = "FILE", global = true)]
    pub config: Option<std::path::PathBuf>,
    /// Where hivewall keeps its state (default: beside CrowdSec's database with -c, else the
    /// user's data directory).
    #[arg(long, value_name = "DIR", global = true)]
    pub state_dir: Option<std::path::PathBuf>,
    /// Output of operator commands: human (tables), json, raw (CSV).
    #[arg(short = 'o', long, value_enum, global = true)]
    pub output: Option<ops::Output>,
    /// Level of the messages on stderr: error, warn, info, debug, trace (default: `log_level`
    /// of the configuration for `run`, else warn). `HIVEWALL_LOG` or `RUST_LOG`, when set,
    /// take precedence with a full filter.
    #[arg(long, value_name = "LEVEL", global = true)]
    pub log_level: Option<String>,
    /// Shortcut for --log-level debug (cscli's `--debug`; `-v` is `--value` in cscli, so
    /// hivewall has no `-v` verbosity flag).
    #[arg(long, global = true, conflicts_with_all = ["log_level", "trace"])]
    pub debug: bool,
    /// Shortcut for --log-level trace (cscli's `--trace`).
    #[arg(long, global = true, conflicts_with = "log_level")]
    pub trace: bool,
}

impl Global {
    /// The log level these options ask for; `configured` is the configuration's, if any.
    pub fn log_level(&self, configured: Option<&str>) -> String {
        if let Some(l) = &self.log_level {
            l.clone()
        } else if self.trace {
            "trace".into()
        } else if self.debug {
            "debug".into()
        } else {
            configured.unwrap_or("warn").into()
        }
    }

    /// Installs the process's tracing subscriber (stderr) at [`Global::log_level`], so that
    /// warnings of the engine and the services are seen whatever the command.
    pub fn init_tracing(&self, configured: Option<&str>) -> anyhow::Result<()> {
        server_common::init_tracing(&self.log_level(configured), false)?;
        Ok(())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show, stage by stage, what the parsers do to a line (like `cscli explain`).
    Explain(explain::ExplainArgs),
    /// Replay log files through parsers, scenarios and profiles; print the alerts.
    Replay(replay::ReplayArgs),
    /// Watch logs, detect attacks and serve decisions to bouncers (CrowdSec's agent + LAPI).
    Run(run::RunArgs),
    /// Distributed mode: read logs and write them to Kafka (`hivewall.lines`).
    Ingest(ingest_cmd::IngestArgs),
    /// Distributed mode: serve decisions to bouncers from Kafka (one of several replicas).
    Api(api_cmd::ApiArgs),
    /// Community consensus: a CAPI-style endpoint where watchers push signals and pull the
    /// consensus blocklist.
    Consensus(consensus_cmd::ConsensusArgs),
    /// Distributed mode: parse and detect from Kafka (`hivewall.lines` → alerts, decisions).
    Processor(processor_cmd::ProcessorArgs),
    #[command(flatten)]
    Ops(ops::OpsCommand),
    /// Check a config dir or a hub checkout against CrowdSec's loading rules, running nothing.
    Lint(lint::LintArgs),
    /// Run CrowdSec hub tests with hivewall's engine.
    #[command(subcommand)]
    Hubtest(hubtest_cmd::HubtestCommand),
}

fn main() -> ExitCode {
    limit_huge_pages();
    let cli = Cli::parse();
    // `run` knows its level only once its configuration is read: it installs it then.
    if !matches!(
        cli.command,
        Command::Run(_)
            | Command::Ingest(_)
            | Command::Api(_)
            | Command::Processor(_)
            | Command::Consensus(_)
    ) && let Err(e) = cli.global.init_tracing(None)
    {
        eprintln!("error: {}", chain(&e));
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Explain(args) => explain::run(&args),
        Command::Hubtest(cmd) => hubtest_cmd::run(cmd),
        Command::Lint(args) => lint::run(&args),
        Command::Replay(args) => replay::run(&args),
        Command::Run(args) => run::run(&args, &cli.global),
        Command::Ingest(args) => ingest_cmd::run(&args, &cli.global),
        Command::Api(args) => api_cmd::run(&args, &cli.global),
        Command::Consensus(args) => consensus_cmd::run(&args, &cli.global),
        Command::Processor(args) => processor_cmd::run(&args, &cli.global),
        Command::Ops(cmd) => ops::run(cmd, &cli.global),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", chain(&e));
            ExitCode::from(2)
        }
    }
}

/// The error and its causes, `a: b: c`, leaving out a cause whose text the message before it
/// already contains (library errors often print their source themselves).
fn chain(e: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !out.contains(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// The multi-threaded runtime the long-running commands (`run`, `ingest`, `processor`, `api`,
/// `consensus`) run on.
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    use anyhow::Context;
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the runtime")
}
