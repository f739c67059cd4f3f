//! `hivewall ingest`: the acquisition service of the distributed mode. The sources of `run`
//! (acquis.yaml with `-c`, the usual logs, or FILE arguments) go to the `hivewall.lines` topic
//! instead of an in-process processor. With `--once`, FILEs are read to their end and the
//! command exits once every line is acknowledged by the brokers.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use ingest::kafka::{CheckpointFile, KafkaConfig};
use server_common::Shutdown;

use crate::Global;
use crate::run::{file_source, settings, sources};

/// Arguments of `ingest`.
#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Kafka bootstrap brokers, `HOST:PORT[,HOST:PORT...]`.
    #[arg(long, value_name = "HOST:PORT", env = "HIVEWALL_BROKERS")]
    pub brokers: String,
    /// The topic lines are written to.
    #[arg(long, value_name = "TOPIC", default_value = wire::bus::LINES_TOPIC)]
    pub topic: String,
    /// Read FILEs once, from their start, and exit when every line is acknowledged (no
    /// checkpoints are kept).
    #[arg(long, requires = "files")]
    pub once: bool,
    /// Files to read (tail; with `--once`, read once), labelled with `--type`.
    #[arg(value_name = "FILE", requires = "log_type")]
    pub files: Vec<PathBuf>,
    /// The type label of FILE arguments (`syslog`, `nginx`...).
    #[arg(long = "type", value_name = "TYPE")]
    pub log_type: Option<String>,
    /// A librdkafka property for every Kafka client of the service, e.g.
    /// `-X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512`; repeat for several.
    /// Properties hivewall's delivery guarantees rest on (acks, idempotence, offsets) are
    /// refused.
    #[arg(short = 'X', long = "kafka-option", value_name = "KEY=VALUE",
          value_parser = wire::kafka_options::parse_option)]
    pub kafka_options: Vec<(String, String)>,
}

/// The checkpoint file of the ingest service, under the state directory.
const CHECKPOINTS: &str = "ingest/checkpoints.json";

/// Runs `ingest`.
pub fn run(args: &IngestArgs, global: &Global) -> anyhow::Result<ExitCode> {
    let s = settings(global, None, global.log_level.as_deref())?;
    global.init_tracing(Some(&s.log_level))?;
    let mut cfg = KafkaConfig::new(&args.brokers);
    cfg.topic = args.topic.clone();
    cfg.extra.clone_from(&args.kafka_options);
    cfg.validate()?;
    let (srcs, file) = if args.once {
        let t = args.log_type.as_deref().context("--once needs --type")?;
        let srcs = args
            .files
            .iter()
            .map(|f| {
                if !f.is_file() {
                    bail!("{}: not a readable file", f.display());
                }
                file_source(f, t, true)
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        (srcs, None)
    } else {
        let srcs = sources(&args.files, args.log_type.as_deref(), global, &s)?;
        (
            srcs,
            Some(CheckpointFile::new(s.state_dir.join(CHECKPOINTS))),
        )
    };
    if srcs.is_empty() {
        bail!("nothing to read: give FILE arguments with --type, or -c with an acquisition");
    }
    let start = match &file {
        Some(f) => f.load()?,
        None => Default::default(),
    };
    for src in &srcs {
        eprintln!("reading {}", src.describe());
    }
    let rt = crate::runtime()?;
    let stats = rt.block_on(async move {
        let shutdown = Shutdown::new();
        let (tx, rx) = tokio::sync::mpsc::channel(s.hivewall.channel_capacity.max(1));
        let sources = tokio::spawn(ingest::run(srcs, start, tx, shutdown.child()));
        tokio::spawn(shutdown.wait_for_signal());
        let out = ingest::kafka::forward(rx, &cfg, file.as_ref(), shutdown.child()).await;
        shutdown.token().cancel();
        match sources.await {
            Ok(Err(e)) => tracing::warn!("acquisition: {e}"),
            Err(e) => tracing::warn!("acquisition task: {e}"),
            Ok(Ok(())) => {}
        }
        out
    })?;
    eprintln!(
        "{} line(s) written to {} and acknowledged",
        stats.acked, args.topic
    );
    Ok(ExitCode::SUCCESS)
}
