//! `hivewall api`: the decision API of the distributed mode. A replica of the compacted
//! topics `hivewall.decisions` and `hivewall.bouncers`, read from offset 0 into a store under
//! the state directory; several replicas can serve the same bouncers (see ARCHITECTURE.md,
//! "Distributed mode"). Operator commands (`hivewall decisions ...`) reach it as they reach
//! `run`: through `api.addr` and `admin.key` in the state directory.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use decision_api::bus::{BOUNCERS_TOPIC, BusConfig, Replica};
use decision_api::{AlertProfiler, ApiConfig, ApiMode, Store};
use engine::expr::functions::{Functions, HelperContext};
use engine::profile::{Profiles, register_history};
use server_common::Shutdown;

use crate::Global;
use crate::run::{
    ADMIN_KEY_FILE, API_ADDR_FILE, EngineProfiles, StoreHistory, community_feed, settings,
};

/// Arguments of `api`.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// Kafka bootstrap brokers, `HOST:PORT[,HOST:PORT...]`.
    #[arg(long, value_name = "HOST:PORT", env = "HIVEWALL_BROKERS")]
    pub brokers: String,
    /// The API's address (overrides `api.server.listen_uri`).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// The compacted topic of decisions.
    #[arg(long, value_name = "TOPIC", default_value = wire::bus::DECISIONS_TOPIC)]
    pub decisions_topic: String,
    /// The compacted topic of bouncer registrations and cursors.
    #[arg(long, value_name = "TOPIC", default_value = BOUNCERS_TOPIC)]
    pub bouncers_topic: String,
    /// A librdkafka property for every Kafka client of the service, e.g.
    /// `-X security.protocol=SASL_SSL -X sasl.mechanisms=SCRAM-SHA-512`; repeat for several.
    /// Properties hivewall's delivery guarantees rest on (acks, idempotence, offsets) are
    /// refused.
    #[arg(short = 'X', long = "kafka-option", value_name = "KEY=VALUE",
          value_parser = wire::kafka_options::parse_option)]
    pub kafka_options: Vec<(String, String)>,
}

/// The replica's store, under the state directory (the same place as `run`'s: a state
/// directory serves one mode; the replica refuses a store holding `run`'s decisions).
const STORE_DIR: &str = "api";

fn profiler(path: Option<&Path>, store: &Store) -> anyhow::Result<Option<Arc<dyn AlertProfiler>>> {
    let Some(p) = path.filter(|p| p.is_file()) else {
        return Ok(None);
    };
    let mut functions = Functions::crowdsec(HelperContext::default());
    register_history(&mut functions, Arc::new(StoreHistory(store.clone())));
    let profiles = Profiles::load(p, Arc::new(functions))
        .with_context(|| format!("loading profiles {}", p.display()))?;
    Ok(Some(Arc::new(EngineProfiles(profiles))))
}

/// Runs `api`.
pub fn run(args: &ApiArgs, global: &Global) -> anyhow::Result<ExitCode> {
    let s = settings(global, args.listen, global.log_level.as_deref())?;
    global.init_tracing(Some(&s.log_level))?;
    let mut cfg = BusConfig::new(&args.brokers);
    cfg.decisions_topic.clone_from(&args.decisions_topic);
    cfg.bouncers_topic.clone_from(&args.bouncers_topic);
    cfg.extra.clone_from(&args.kafka_options);
    cfg.validate()?;
    std::fs::create_dir_all(&s.state_dir)
        .with_context(|| format!("creating the state directory {}", s.state_dir.display()))?;
    let prometheus = server_common::install_prometheus()?;
    server_common::describe_metrics();
    let store = Store::open(&s.state_dir.join(STORE_DIR))?;
    store.admin_key(&s.state_dir.join(ADMIN_KEY_FILE))?;
    let profiler = profiler(s.profiles_path.as_deref(), &store)?;
    // Every replica pulls the feed into the decisions topic (writes of the same records);
    // watchers' alerts are not shared from here.
    let feed = community_feed(&s, false);

    let rt = crate::runtime()?;
    rt.block_on(async move {
        let shutdown = Shutdown::new();
        tokio::spawn(shutdown.wait_for_signal());
        eprintln!(
            "hivewall api: reading {} and {} from {}",
            cfg.decisions_topic, cfg.bouncers_topic, cfg.brokers
        );
        let Some(replica) = Replica::start(cfg, store.clone(), shutdown.child()).await? else {
            return anyhow::Ok(());
        };
        while !replica.wait_ready(Duration::from_secs(10)).await {
            if shutdown.is_cancelled() {
                return anyhow::Ok(());
            }
            eprintln!("  still loading the decision topic...");
        }
        eprintln!(
            "  {} active decision(s) loaded; Local API on http://{}",
            store.active_count(),
            s.listen
        );
        // Operator commands find the running API here.
        std::fs::write(s.state_dir.join(API_ADDR_FILE), s.listen.to_string())
            .context("writing the API address into the state directory")?;
        let api = ApiConfig {
            listen: s.listen,
            max_body_bytes: s.hivewall.max_body_bytes,
            mode: ApiMode::Replica(replica.clone()),
            ..ApiConfig::default()
        };
        let feed_task = feed.map(|f| f.spawn(store.clone(), &api.mode, shutdown.child()));
        let render: decision_api::MetricsRender = Arc::new(move || prometheus.render());
        let out = decision_api::run(api, store, profiler, Some(render), shutdown.child()).await;
        shutdown.cancel();
        if let Some(t) = feed_task {
            t.await.context("community feed task")?;
        }
        if !replica.wait_stopped(Duration::from_secs(10)).await {
            tracing::warn!("the decision topic's reader did not stop within 10 s");
        }
        out?;
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}
