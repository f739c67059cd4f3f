//! `hivewall consensus`: the community consensus endpoint. Watchers (hivewall instances, or
//! CrowdSec agents with `online_client` credentials pointing here) register, push signals
//! and pull the consensus feed as their community blocklist, with CrowdSec's Central API
//! paths (`/v2/watchers`, `/v2/watchers/login`, `/v2/signals`, `/v2/decisions/stream`).
//! With `--brokers`, also signals from `hivewall.signals` and the feed to `hivewall.feed`.
//! The rule and what it resists: `docs/consensus.md`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use consensus::ConsensusConfig;
use consensus::server::{BusConfig, ServerConfig, run as serve};
use server_common::Shutdown;

use crate::Global;

/// Arguments of `consensus`.
#[derive(Debug, Args)]
pub struct ConsensusArgs {
    /// The address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8090")]
    pub listen: SocketAddr,
    /// The rule's settings (YAML: K, threshold, window, seeds, allowlists...; defaults
    /// otherwise).
    #[arg(long, value_name = "FILE")]
    pub rules: Option<PathBuf>,
    /// Only watchers already registered may log in (no new registrations).
    #[arg(long)]
    pub closed_registration: bool,
    /// How often the state is written to the state directory, in seconds.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub snapshot_every: u64,
    /// Also read signals from `hivewall.signals` and write the feed to the compacted
    /// `hivewall.feed` on these Kafka brokers (`HOST:PORT[,HOST:PORT...]`).
    #[arg(long, value_name = "HOST:PORT", env = "HIVEWALL_BROKERS")]
    pub brokers: Option<String>,
    /// A librdkafka property for every Kafka client of the service, e.g.
    /// `-X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512`; repeat for several.
    /// Properties hivewall's delivery guarantees rest on (acks, idempotence, offsets) are
    /// refused.
    #[arg(short = 'X', long = "kafka-option", value_name = "KEY=VALUE",
          value_parser = wire::kafka_options::parse_option)]
    pub kafka_options: Vec<(String, String)>,
}

/// Runs `consensus` until SIGINT/SIGTERM.
pub fn run(args: &ConsensusArgs, global: &Global) -> anyhow::Result<ExitCode> {
    global.init_tracing(Some("info"))?;
    let state_dir = global
        .state_dir
        .clone()
        .context("--state-dir DIR is required: where the consensus keeps its state")?;
    let rules = match &args.rules {
        Some(p) => ConsensusConfig::from_file(p)?,
        None => ConsensusConfig::default(),
    };
    // Refuse a bad rule before binding anything.
    rules.validate()?;
    let mut cfg = ServerConfig::new(args.listen, state_dir);
    cfg.consensus = rules;
    cfg.open_registration = !args.closed_registration;
    cfg.snapshot_every = Duration::from_secs(args.snapshot_every.max(1));
    cfg.bus = args.brokers.as_deref().map(|b| {
        let mut bus = BusConfig::new(b);
        bus.extra.clone_from(&args.kafka_options);
        bus
    });
    if cfg.bus.is_none() && !args.kafka_options.is_empty() {
        anyhow::bail!("-X/--kafka-option needs --brokers");
    }
    let rt = crate::runtime()?;
    rt.block_on(async move {
        let shutdown = Shutdown::new();
        tokio::spawn(shutdown.wait_for_signal());
        eprintln!(
            "hivewall consensus: CAPI-style endpoint on http://{}/ (state in {}){}",
            cfg.listen,
            cfg.state_dir.display(),
            cfg.bus.as_ref().map_or(String::new(), |b| format!(
                "; signals from {} and the feed to {} on {}",
                b.signals_topic, b.feed_topic, b.brokers
            ))
        );
        serve(cfg, shutdown.child()).await
    })?;
    Ok(ExitCode::SUCCESS)
}
