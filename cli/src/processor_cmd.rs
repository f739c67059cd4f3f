//! `hivewall processor`: the detection service of the distributed mode. Its parse stage reads
//! `hivewall.lines` and writes routed events to `hivewall.events`; its detect stage keeps the
//! buckets of the partitions it is assigned (RocksDB under the state directory) and writes
//! alerts and decisions. Run several: the consumer groups share the partitions out.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use processor::bus::{BusConfig, SignalsOut, run_detect, run_parse};
use server_common::Shutdown;

use crate::Global;
use crate::run::{pipeline_setup, settings};

/// Which stages this process runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Stage {
    /// Both (the default).
    Both,
    /// Lines → routed events.
    Parse,
    /// Routed events → buckets → alerts and decisions.
    Detect,
}

/// Arguments of `processor`.
#[derive(Debug, Args)]
pub struct ProcessorArgs {
    /// Kafka bootstrap brokers, `HOST:PORT[,HOST:PORT...]`.
    #[arg(long, value_name = "HOST:PORT", env = "HIVEWALL_BROKERS")]
    pub brokers: String,
    /// The stages to run.
    #[arg(long, value_enum, default_value_t = Stage::Both)]
    pub stage: Stage,
    /// Exit once no record came for this many seconds (batch runs, benchmarks); by default
    /// run until stopped.
    #[arg(long, value_name = "SECS")]
    pub idle_exit: Option<u64>,
    /// A librdkafka property for every Kafka client of the service, e.g.
    /// `-X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512`; repeat for several.
    /// Properties hivewall's delivery guarantees rest on (acks, idempotence, offsets) are
    /// refused.
    #[arg(short = 'X', long = "kafka-option", value_name = "KEY=VALUE",
          value_parser = wire::kafka_options::parse_option)]
    pub kafka_options: Vec<(String, String)>,
}

/// Runs `processor`.
pub fn run(args: &ProcessorArgs, global: &Global) -> anyhow::Result<ExitCode> {
    let s = settings(global, None, global.log_level.as_deref())?;
    global.init_tracing(Some(&s.log_level))?;
    let setup = pipeline_setup(&s)?;
    let mut cfg = BusConfig::new(&args.brokers, s.state_dir.join("processor-partitions"));
    cfg.signals = signals_out(&s);
    cfg.extra.clone_from(&args.kafka_options);
    cfg.validate()?;
    std::fs::create_dir_all(&cfg.state_dir)
        .with_context(|| format!("creating {}", cfg.state_dir.display()))?;
    let stage = args.stage;
    let idle = args.idle_exit.map(std::time::Duration::from_secs);
    let rt = crate::runtime()?;
    rt.block_on(async move {
        let shutdown = Shutdown::new();
        tokio::spawn(shutdown.wait_for_signal());
        let clock: Arc<dyn engine::clock::Clock> = Arc::new(crate::clock::SystemClock);
        // Either stage failing stops the other: a process that runs half a processor
        // silently is worse than one that exits with the reason.
        let mut stages = tokio::task::JoinSet::new();
        if stage != Stage::Detect {
            let (setup, cfg, clock, token) = (
                setup.clone(),
                cfg.clone(),
                Arc::clone(&clock),
                shutdown.child(),
            );
            stages.spawn(async move {
                run_parse(&setup, clock, &cfg, idle, token).await.map(|st| {
                    format!(
                        "parse stage stopped: {} lines, {} events{}",
                        st.lines,
                        st.events,
                        span(st.first, st.last)
                    )
                })
            });
        }
        if stage != Stage::Parse {
            let (setup, cfg, clock, token) = (
                setup.clone(),
                cfg.clone(),
                Arc::clone(&clock),
                shutdown.child(),
            );
            stages.spawn(async move {
                run_detect(&setup, clock, &cfg, idle, token)
                    .await
                    .map(|st| {
                        format!(
                            "detect stage stopped: {} events, {} alerts, {} decisions{}{}",
                            st.events,
                            st.alerts,
                            st.decisions,
                            if cfg.signals.is_some() {
                                format!(", {} signals", st.signals)
                            } else {
                                String::new()
                            },
                            span(st.first, st.last)
                        )
                    })
            });
        }
        eprintln!(
            "processor: {} from {} (state in {}){}",
            match stage {
                Stage::Both => "parse and detect stages",
                Stage::Parse => "parse stage",
                Stage::Detect => "detect stage",
            },
            cfg.brokers,
            cfg.state_dir.display(),
            match (&cfg.signals, stage) {
                (Some(out), Stage::Both | Stage::Detect) =>
                    format!("; signals shared on {} as {}", out.topic, out.reporter),
                _ => String::new(),
            }
        );
        let mut first_err: Option<anyhow::Error> = None;
        while let Some(joined) = stages.join_next().await {
            match joined.context("processor stage")? {
                Ok(summary) => eprintln!("{summary}"),
                Err(e) => {
                    shutdown.token().cancel();
                    // The first failure is the command's error (printed once, by `main`);
                    // a later one is the other stage's own and only logged.
                    if first_err.is_none() {
                        tracing::info!("a stage stopped on an error; stopping the other");
                        first_err = Some(anyhow::Error::from(e));
                    } else {
                        tracing::error!("the other stage also stopped: {e}");
                    }
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    })?;
    Ok(ExitCode::SUCCESS)
}

/// With `hivewall.share_signals`, a signal per alert goes to `hivewall.signals` as the reporter
/// the feed credentials name (`api.server.online_client.credentials_path`, as `run` logs in to
/// the feed): every processor of a deployment is one member. Without credentials nothing is
/// shared, with a warning.
fn signals_out(s: &server_common::Settings) -> Option<SignalsOut> {
    if !s.hivewall.share_signals {
        return None;
    }
    let Some(path) = s.online_credentials_path.as_ref() else {
        tracing::warn!(
            "hivewall.share_signals is set but no feed credentials \
             (api.server.online_client.credentials_path) name the reporter: signals not shared"
        );
        return None;
    };
    match server_common::load_online_credentials(path) {
        Ok(c) => Some(SignalsOut {
            topic: wire::bus::SIGNALS_TOPIC.to_string(),
            reporter: c.login,
        }),
        Err(e) => {
            tracing::warn!("signals not shared: {e}");
            None
        }
    }
}

/// `, first record at UNIX, last at UNIX` (seconds, for benchmarks), when records came.
fn span(first: Option<std::time::SystemTime>, last: Option<std::time::SystemTime>) -> String {
    let unix = |t: std::time::SystemTime| {
        t.duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    match (first, last) {
        (Some(f), Some(l)) => format!(", first record at {:.3}, last at {:.3}", unix(f), unix(l)),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Signals are shared only when asked for, as the login of the feed credentials.
    #[test]
    fn signals_are_shared_as_the_feed_login_when_asked() {
        let dir = tempfile::tempdir().unwrap();
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut s = server_common::defaults(&repo);
        assert_eq!(signals_out(&s), None, "off by default");
        s.hivewall.share_signals = true;
        assert_eq!(signals_out(&s), None, "no credentials: nothing shared");
        let creds = dir.path().join("online_api_credentials.yaml");
        std::fs::write(
            &creds,
            "url: http://127.0.0.1:8090/\nlogin: member-7\npassword: secret\n",
        )
        .unwrap();
        s.online_credentials_path = Some(creds.clone());
        assert_eq!(
            signals_out(&s),
            Some(SignalsOut {
                topic: "hivewall.signals".into(),
                reporter: "member-7".into(),
            })
        );
        s.online_credentials_path = Some(dir.path().join("missing.yaml"));
        assert_eq!(
            signals_out(&s),
            None,
            "unreadable credentials: nothing shared"
        );
    }
}
