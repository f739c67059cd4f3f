//! A CAPI-style HTTP endpoint (CrowdSec's Central API, the paths CrowdSec 1.4.6's `apic`
//! client uses under `/v2`, and `/v3`): watchers register and log in, push signals, pull the
//! consensus feed as their community blocklist, and send metrics (accepted, ignored).
//!
//! | route | what |
//! | --- | --- |
//! | `POST /v2/watchers` | register `{machine_id, password}` (open; new reporters weigh nothing) |
//! | `DELETE /v2/watchers` | a watcher deletes itself |
//! | `POST /v2/watchers/login` | `{machine_id, password, scenarios}` → `{code, expire, token}` |
//! | `POST /v2/signals` | CrowdSec's signals (alerts): one report each |
//! | `GET /v2/decisions/stream` | `?startup=true`: the whole feed; then what changed since this watcher's last pull, as LAPI decisions with origin `CAPI` |
//! | `GET /v3/decisions/stream` | the same in CAPI v3's grouped shape |
//! | `POST /v2/metrics`, `/v2/metrics/` | accepted |
//! | `GET /hivewall/v1/stats` | counters (no reporter ids) |
//!
//! With a `BusConfig` (feature `kafka`) it also reads signals from `hivewall.signals` and
//! writes the feed to the compacted `hivewall.feed` (module `bus`).
//!
//! The rule runs under one mutex, never held across an `.await`; the clock is the system's.

#[cfg(feature = "kafka")]
pub mod bus;
#[cfg(all(test, feature = "kafka"))]
mod bus_tests;
mod persist;
mod routes;
mod stream;
#[cfg(test)]
mod tests;
mod watchers;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use foldhash::HashMap as FoldHashMap;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::allowlist::{Allowlist, AllowlistError};
use crate::config::{ConfigError, ConsensusConfig};
use crate::rule::{Consensus, SnapshotError};
#[cfg(feature = "kafka")]
pub use bus::BusConfig;
use persist::StateFile;
use watchers::{Tokens, Watchers};

/// What the server needs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Where to listen.
    pub listen: SocketAddr,
    /// Where `state.json`, `watchers.json` and `jwt.secret` live.
    pub state_dir: PathBuf,
    /// The rule.
    pub consensus: ConsensusConfig,
    /// How long a login token lasts.
    pub token_ttl: Duration,
    /// How often the state is written.
    pub snapshot_every: Duration,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Whether anybody may register (false: only watchers already in `watchers.json`).
    pub open_registration: bool,
    /// Signals from `hivewall.signals` and the feed to `hivewall.feed` (`None`: HTTP only).
    #[cfg(feature = "kafka")]
    pub bus: Option<BusConfig>,
}

impl ServerConfig {
    /// Defaults for `listen` and `state_dir`.
    pub fn new(listen: SocketAddr, state_dir: PathBuf) -> ServerConfig {
        ServerConfig {
            listen,
            state_dir,
            consensus: ConsensusConfig::default(),
            token_ttl: Duration::from_secs(24 * 3600),
            snapshot_every: Duration::from_secs(60),
            max_body_bytes: 8 << 20,
            open_registration: true,
            #[cfg(feature = "kafka")]
            bus: None,
        }
    }
}

/// Why the server could not start or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The rule's settings.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An allowlist file.
    #[error(transparent)]
    Allowlist(#[from] AllowlistError),
    /// A state file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A state file that does not parse.
    #[error("{path}: {message}")]
    State {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The stored snapshot cannot be restored.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The bus side could not start.
    #[cfg(feature = "kafka")]
    #[error(transparent)]
    Bus(#[from] bus::BusError),
    /// The address could not be bound.
    #[error("listening on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The error.
        source: std::io::Error,
    },
}

/// The rule and the feed cursors: one lock, so a snapshot is consistent.
pub(crate) struct Shared {
    pub consensus: Consensus,
    pub cursors: FoldHashMap<String, u64>,
    /// Per partition of `hivewall.signals`, the next offset whose signal is not observed yet
    /// (committed once a snapshot holding them is written).
    pub signal_offsets: std::collections::BTreeMap<i32, i64>,
}

/// What every handler sees.
pub(crate) struct App {
    pub shared: Mutex<Shared>,
    pub watchers: Mutex<Watchers>,
    /// Serializes `watchers.json` writes (the last writer writes the latest registry).
    pub watchers_file: Mutex<()>,
    pub tokens: Tokens,
    pub state_dir: PathBuf,
    pub open_registration: bool,
    /// The signals reader, when the bus side runs.
    #[cfg(feature = "kafka")]
    pub bus: std::sync::OnceLock<Arc<bus::SignalReader>>,
}

/// Unix seconds now.
pub(crate) fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Binds `config.listen` and [serves](serve) until `cancel`.
pub async fn run(config: ServerConfig, cancel: CancellationToken) -> Result<(), ServerError> {
    let listener = TcpListener::bind(config.listen)
        .await
        .map_err(|source| ServerError::Bind {
            addr: config.listen,
            source,
        })?;
    serve(listener, config, cancel).await
}

/// Loads the state, serves on `listener` until `cancel`, then writes the state.
pub async fn serve(
    listener: TcpListener,
    config: ServerConfig,
    cancel: CancellationToken,
) -> Result<(), ServerError> {
    let app = Arc::new(load(&config)?);
    #[cfg(feature = "kafka")]
    let bus_tasks = match &config.bus {
        Some(b) => bus::start(&app, b, &cancel)?,
        None => Vec::new(),
    };
    let router = routes::router(app.clone(), config.max_body_bytes);
    let saver = {
        let (app, cancel, every) = (app.clone(), cancel.clone(), config.snapshot_every);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    () = cancel.cancelled() => break,
                    () = tokio::time::sleep(every) => {}
                }
                if let Err(e) = save_state(app.clone()).await {
                    tracing::error!(error = %e, "writing the consensus state");
                }
            }
        })
    };
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(cancel.clone().cancelled_owned())
        .await;
    cancel.cancel();
    let _ = saver.await;
    #[cfg(feature = "kafka")]
    for t in bus_tasks {
        let _ = t.await;
    }
    save_state(app).await?;
    served.map_err(|source| ServerError::Io {
        path: PathBuf::from("(socket)"),
        source,
    })
}

fn load(config: &ServerConfig) -> Result<App, ServerError> {
    let rules = config.consensus.validate()?;
    let allow = Allowlist::load(&config.consensus.allowlists)?;
    for (path, why) in &allow.skipped {
        tracing::info!(file = %path.display(), reason = why, "allowlist file skipped");
    }
    let dir = &config.state_dir;
    std::fs::create_dir_all(dir).map_err(|source| ServerError::Io {
        path: dir.clone(),
        source,
    })?;
    let max = rules.limits.max_reporters;
    let (consensus, cursors) = match persist::read_json::<StateFile>(&dir.join("state.json"))? {
        Some(s) => (
            Consensus::restore(rules, allow, s.snapshot, now())?,
            s.cursors.into_iter().collect(),
        ),
        None => (Consensus::new(rules, allow, now()), FoldHashMap::default()),
    };
    let records = persist::read_json(&dir.join("watchers.json"))?.unwrap_or_default();
    let ttl = i64::try_from(config.token_ttl.as_secs())
        .unwrap_or(i64::MAX)
        .max(60);
    Ok(App {
        shared: Mutex::new(Shared {
            consensus,
            cursors,
            signal_offsets: std::collections::BTreeMap::new(),
        }),
        watchers: Mutex::new(Watchers::new(records, max)),
        watchers_file: Mutex::new(()),
        tokens: Tokens::new(&persist::jwt_secret(dir)?, ttl),
        state_dir: dir.clone(),
        open_registration: config.open_registration,
        #[cfg(feature = "kafka")]
        bus: std::sync::OnceLock::new(),
    })
}

/// Writes `state.json` (the snapshot is taken under the lock, written outside it).
pub(crate) async fn save_state(app: Arc<App>) -> Result<(), ServerError> {
    let task = tokio::task::spawn_blocking(move || {
        let (file, _offsets) = {
            let Ok(s) = app.shared.lock() else {
                return Ok(());
            };
            let file = StateFile {
                snapshot: s.consensus.snapshot(),
                cursors: s.cursors.iter().map(|(k, v)| (k.clone(), *v)).collect(),
            };
            (file, s.signal_offsets.clone())
        };
        let bytes = serde_json::to_vec(&file).map_err(|e| ServerError::State {
            path: app.state_dir.join("state.json"),
            message: e.to_string(),
        })?;
        persist::write_atomic(&app.state_dir.join("state.json"), &bytes)?;
        // The signals in this snapshot need not be read again.
        #[cfg(feature = "kafka")]
        if let Some(reader) = app.bus.get() {
            reader.commit(&_offsets);
        }
        Ok(())
    });
    task.await.unwrap_or(Ok(()))
}

/// Writes `watchers.json`.
pub(crate) fn save_watchers(app: &App) -> Result<(), ServerError> {
    let _file = app.watchers_file.lock();
    let records = match app.watchers.lock() {
        Ok(w) => w.records(),
        Err(_) => return Ok(()),
    };
    let bytes = serde_json::to_vec_pretty(&records).unwrap_or_default();
    persist::write_atomic(&app.state_dir.join("watchers.json"), &bytes)
}
