//! `hivewall run`: the whole system in one process — acquisition, detection with persistent
//! buckets, and the Local API for bouncers and watchers — connected by bounded channels.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context;
use clap::Args;
use decision_api::feed::{Feed, FeedConfig, SignalQueue};
use decision_api::{AlertProfiler, ApiConfig, ApiMode, Store};
use engine::expr::functions::{Functions, HelperContext};
use engine::pipeline::{History, Setup};
use engine::profile::{Profiles, register_history};
use processor::{AlertSink, Processor, ProcessorConfig, SinkError, StateDb};
use server_common::{Settings, Shutdown};

use crate::Global;

/// Arguments of `run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The API's address (overrides `api.server.listen_uri`).
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Also follow these files (tail), labelled with `--type`.
    #[arg(value_name = "FILE", requires = "log_type")]
    pub files: Vec<PathBuf>,
    /// The type label of FILE arguments (`syslog`, `nginx`...).
    #[arg(long = "type", value_name = "TYPE")]
    pub log_type: Option<String>,
}

/// Logs `run` follows when no configuration names any: (path, type).
const USUAL_LOGS: &[(&str, &str)] = &[
    ("/var/log/auth.log", "syslog"),
    ("/var/log/secure", "syslog"),
    ("/var/log/nginx/access.log", "nginx"),
    ("/var/log/apache2/access.log", "apache2"),
    ("/var/log/httpd/access_log", "apache2"),
];

/// hivewall's own content when no `-c` is given: `$HIVEWALL_CONFIG_DIR`, `./scenarios`, or
/// `scenarios/` installed beside the binary.
fn default_config_dir() -> anyhow::Result<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(d) = std::env::var_os("HIVEWALL_CONFIG_DIR") {
        candidates.push(PathBuf::from(d));
    }
    candidates.push(PathBuf::from("scenarios"));
    if let Ok(exe) = std::env::current_exe()
        && let Some(dir) = exe.parent()
    {
        candidates.push(dir.join("../share/hivewall/scenarios"));
        candidates.push(dir.join("../../scenarios"));
    }
    candidates.push(PathBuf::from("/etc/hivewall"));
    candidates
        .into_iter()
        .find(|d| d.join("parsers").is_dir())
        .map(|d| std::path::absolute(&d).unwrap_or(d))
        .context("hivewall's scenarios/ not found: run from the repository, set HIVEWALL_CONFIG_DIR, or pass -c /etc/crowdsec/config.yaml")
}

/// The settings the global options and `run`'s overrides name.
pub fn settings(
    global: &Global,
    listen: Option<SocketAddr>,
    log_level: Option<&str>,
) -> anyhow::Result<Settings> {
    let mut s = match &global.config {
        Some(path) => server_common::load(path)?,
        None => server_common::defaults(&default_config_dir()?),
    };
    if let Some(dir) = &global.state_dir {
        s.state_dir = dir.clone();
    }
    if let Some(l) = listen {
        s.listen = l;
    }
    if let Some(l) = log_level {
        s.log_level = l.to_string();
    }
    Ok(s)
}

/// The sources of `run` and `ingest`: `acquis.yaml` with `-c`, else the usual logs (when no
/// FILE is given); plus FILEs tailed with type `log_type`.
pub fn sources(
    files: &[PathBuf],
    log_type: Option<&str>,
    global: &Global,
    s: &Settings,
) -> anyhow::Result<Vec<ingest::SourceConfig>> {
    let mut out = if global.config.is_some() {
        ingest::load_acquis(s.acquisition_path.as_deref(), s.acquisition_dir.as_deref())?
    } else if files.is_empty() {
        let mut found: Vec<ingest::SourceConfig> = USUAL_LOGS
            .iter()
            .filter(|(p, _)| Path::new(p).is_file())
            .map(|(p, t)| file_source(Path::new(p), t, false))
            .collect::<anyhow::Result<_>>()?;
        // Systems without rsyslog (Debian 12's default) keep sshd's log in the journal only.
        let no_auth_file = USUAL_LOGS[..2].iter().all(|(p, _)| !Path::new(p).is_file());
        if no_auth_file && on_path("journalctl") {
            found.push(ssh_journal()?);
        }
        found
    } else {
        Vec::new()
    };
    if let Some(t) = log_type {
        for f in files {
            out.push(file_source(f, t, false)?);
        }
    }
    Ok(out)
}

/// Whether `program` is an executable file in a `$PATH` directory.
fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// sshd's entries in the journal, as syslog lines.
fn ssh_journal() -> anyhow::Result<ingest::SourceConfig> {
    let doc = "source: journalctl\njournalctl_filter:\n  - _SYSTEMD_UNIT=ssh.service\n  - _SYSTEMD_UNIT=sshd.service\nlabels:\n  type: syslog\n";
    let mut v = ingest::parse_acquis(doc, "default sources")?;
    v.pop().context("no journal source built")
}

/// A `source: file` in tail mode (or `cat`: read once), as acquis.yaml would write it.
pub fn file_source(path: &Path, log_type: &str, cat: bool) -> anyhow::Result<ingest::SourceConfig> {
    let path = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let doc = format!(
        "source: file\nfilename: {}\nmode: {}\nlabels:\n  type: {}\n",
        serde_json::to_string(&path.display().to_string())?,
        if cat { "cat" } else { "tail" },
        serde_json::to_string(log_type)?
    );
    let mut v = ingest::parse_acquis(&doc, "command line")?;
    v.pop().context("no source built from the command line")
}

pub(crate) fn pipeline_setup(s: &Settings) -> anyhow::Result<Setup> {
    let mut setup = Setup::installed(&s.config_dir, s.data_dir.clone())?;
    if let Some(p) = &s.profiles_path {
        setup.profiles = p.is_file().then(|| p.clone());
    }
    if let Some(p) = s.simulation_path.as_ref().filter(|p| p.is_file()) {
        setup.simulation = engine::pipeline::Simulation::load(p)?;
    }
    Ok(setup)
}

/// Delivers the processor's alerts into the decision store (durable before it returns), and
/// offers them to the community feed's signal queue when signals are shared (never waits).
struct StoreSink(Store, Option<SignalQueue>);

impl AlertSink for StoreSink {
    async fn deliver(&mut self, alerts: Vec<wire::Alert>) -> Result<(), SinkError> {
        if let Some(q) = &self.1 {
            q.offer(&alerts);
        }
        let store = self.0.clone();
        tokio::task::spawn_blocking(move || store.push_alerts(LOCAL_MACHINE, alerts))
            .await
            .map_err(SinkError::new)?
            .map(|_| ())
            .map_err(SinkError::new)
    }
}

/// The file under the state directory holding the administration key.
pub const ADMIN_KEY_FILE: &str = "admin.key";

/// The file under the state directory holding the address the API listens on.
pub const API_ADDR_FILE: &str = "api.addr";

/// The machine id alerts of the embedded detector are stored under.
const LOCAL_MACHINE: &str = "hivewall-local";

/// The decision store as the history profiles read (`GetDecisionsCount`).
pub(crate) struct StoreHistory(pub(crate) Store);

impl engine::profile::DecisionHistory for StoreHistory {
    fn count(&self, value: &str) -> u64 {
        self.0.decisions_count(value)
    }

    fn count_since(&self, value: &str, since_ns: i64) -> u64 {
        let since = std::time::Duration::from_nanos(u64::try_from(since_ns).unwrap_or(0));
        self.0.decisions_count_since(value, since)
    }

    fn active_count(&self, value: &str) -> u64 {
        self.0.active_on(value).0
    }

    fn active_time_left(&self, value: &str) -> i64 {
        self.0.active_on(value).1.saturating_mul(1_000_000)
    }
}

/// The community feed `api.server.online_client` names (CrowdSec's Central API credentials),
/// pulled every `hivewall.feed_pull_interval`; signals shared when `share_signals`. `None`
/// when there is none, or (with a warning saying why) when it cannot be used: the rest runs
/// without it.
pub(crate) fn community_feed(s: &Settings, share_signals: bool) -> Option<Feed> {
    let path = s.online_credentials_path.as_ref()?;
    let creds = match server_common::load_online_credentials(path) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("community feed not pulled: {e}");
            return None;
        }
    };
    let mut cfg = FeedConfig::new(&creds.url, &creds.login, &creds.password);
    cfg.pull_interval = s.hivewall.feed_pull_interval;
    cfg.share_signals = share_signals;
    match Feed::new(cfg) {
        Ok(feed) => {
            eprintln!(
                "  community feed: {creds}, pulled every {}{}",
                wire::format_go_duration(
                    i128::try_from(s.hivewall.feed_pull_interval.as_nanos()).unwrap_or(i128::MAX)
                ),
                if share_signals {
                    ", signals shared"
                } else {
                    ""
                }
            );
            Some(feed)
        }
        Err(e) => {
            tracing::warn!("community feed not pulled ({}): {e}", path.display());
            None
        }
    }
}

/// Profiles applied to watcher alerts that come without decisions.
pub(crate) struct EngineProfiles(pub(crate) Profiles);

impl AlertProfiler for EngineProfiles {
    fn decide(&self, alert: &wire::Alert) -> Vec<wire::Decision> {
        self.0.decide(alert)
    }
}

/// Runs `run`.
pub fn run(args: &RunArgs, global: &Global) -> anyhow::Result<ExitCode> {
    let s = settings(global, args.listen, global.log_level.as_deref())?;
    global.init_tracing(Some(&s.log_level))?;
    if !s.ignored.is_empty() {
        tracing::info!(
            "config keys that do not apply to hivewall, ignored: {}",
            s.ignored.join(", ")
        );
    }
    let srcs = sources(&args.files, args.log_type.as_deref(), global, &s)?;
    let setup = pipeline_setup(&s)?;
    std::fs::create_dir_all(&s.state_dir)
        .with_context(|| format!("creating the state directory {}", s.state_dir.display()))?;
    let prometheus = server_common::install_prometheus()?;
    server_common::describe_metrics();

    let store = Store::open(&s.state_dir.join("api"))?;
    // Operator commands (`hivewall decisions ...`) read this key to reach the running API.
    store.admin_key(&s.state_dir.join(ADMIN_KEY_FILE))?;
    std::fs::write(s.state_dir.join(API_ADDR_FILE), s.listen.to_string())
        .context("writing the API address into the state directory")?;
    let mut setup = setup;
    setup.decision_history = Some(History(Arc::new(StoreHistory(store.clone()))));
    // CrowdSec's local API pulls the community blocklist and pushes signals; so does ours.
    let feed = s
        .api_enabled
        .then(|| community_feed(&s, s.hivewall.share_signals))
        .flatten();
    let signals = feed.as_ref().and_then(Feed::signals);
    let db = StateDb::open(&s.state_dir.join("processor"))?;
    let cfg = ProcessorConfig {
        persist_every: std::time::Duration::from_millis(s.hivewall.flush_interval_ms.max(1)),
        ..ProcessorConfig::default()
    };
    let (proc, dropped) = Processor::new(
        &setup,
        Arc::new(crate::clock::SystemClock),
        db,
        StoreSink(store.clone(), signals),
        cfg,
    )?;
    for w in &proc.pipeline().warnings {
        tracing::warn!("{w}");
    }
    if dropped > 0 {
        tracing::warn!("{dropped} stored bucket(s) dropped: their scenario is no longer loaded");
    }
    let profiler: Option<Arc<dyn AlertProfiler>> = match &setup.profiles {
        Some(p) => {
            let mut functions = Functions::crowdsec(HelperContext::default());
            register_history(&mut functions, Arc::new(StoreHistory(store.clone())));
            Some(Arc::new(EngineProfiles(Profiles::load(
                p,
                Arc::new(functions),
            )?)))
        }
        None => None,
    };
    let checkpoints = proc.checkpoints()?;
    banner(
        &s,
        &srcs,
        &setup,
        proc.pipeline().detector().scenarios().len(),
    );

    let rt = crate::runtime()?;
    rt.block_on(async move {
        let shutdown = Shutdown::new();
        let (tx, rx) = tokio::sync::mpsc::channel(s.hivewall.channel_capacity.max(1));
        let ingest_task = tokio::spawn(ingest::run(srcs, checkpoints, tx, shutdown.child()));
        let proc_thread = proc.spawn_thread("processor", rx, shutdown.child())?;
        let api_cfg = ApiConfig {
            listen: s.listen,
            max_body_bytes: s.hivewall.max_body_bytes,
            ..ApiConfig::default()
        };
        let render: decision_api::MetricsRender = Arc::new(move || prometheus.render());
        // CrowdSec's `prometheus.listen_addr:listen_port`, where existing scrapers look.
        let prom_task = s
            .prometheus
            .map(|addr| tokio::spawn(serve_metrics(addr, Arc::clone(&render), shutdown.child())));
        let api_task = s.api_enabled.then(|| {
            tokio::spawn(decision_api::run(
                api_cfg,
                store.clone(),
                profiler,
                Some(render),
                shutdown.child(),
            ))
        });
        let feed_task = feed.map(|f| f.spawn(store.clone(), &ApiMode::Embedded, shutdown.child()));
        tokio::spawn(shutdown.wait_for_signal());
        // The processor ends when its input closes or on shutdown; either way, stop the rest.
        let proc_result = proc_thread.join().await;
        shutdown.token().cancel();
        let ingest_result = ingest_task.await;
        if let Some(t) = api_task {
            t.await.context("API task")??;
        }
        if let Some(t) = prom_task {
            t.await.context("metrics task")??;
        }
        if let Some(t) = feed_task {
            t.await.context("community feed task")?;
        }
        let stats = proc_result?;
        if let Ok(Err(e)) = ingest_result {
            tracing::warn!("acquisition: {e}");
        }
        let p = stats.pipeline;
        eprintln!(
            "stopped: {} lines, {} parsed, {} alerts delivered",
            p.lines, p.parsed, stats.delivered
        );
        anyhow::Ok(())
    })?;
    Ok(ExitCode::SUCCESS)
}

/// Serves `/metrics` on `addr` until `shutdown`.
async fn serve_metrics(
    addr: SocketAddr,
    render: decision_api::MetricsRender,
    shutdown: tokio_util::sync::CancellationToken,
) -> anyhow::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let render = Arc::clone(&render);
            async move { render() }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding the metrics listener on {addr}"))?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .context("serving metrics")
}

fn banner(s: &Settings, srcs: &[ingest::SourceConfig], setup: &Setup, scenarios: usize) {
    eprintln!(
        "hivewall run: {} parser file(s), {scenarios} scenario(s) from {}",
        setup.parsers.len(),
        s.config_dir.display()
    );
    if srcs.is_empty() {
        eprintln!("  watching nothing: add sources in acquis.yaml (-c) or pass --type T FILE");
    }
    for src in srcs {
        eprintln!("  watching {}", src.describe());
    }
    eprintln!("  state in {}", s.state_dir.display());
    if let Some(p) = s.prometheus {
        eprintln!("  metrics on http://{p}/metrics");
    }
    if s.api_enabled {
        eprintln!("  Local API on http://{}", s.listen);
        eprintln!(
            "  add a bouncer: hivewall bouncers add my-bouncer{}",
            s_flag(s)
        );
    }
}

fn s_flag(s: &Settings) -> String {
    format!(" --state-dir {}", s.state_dir.display())
}
