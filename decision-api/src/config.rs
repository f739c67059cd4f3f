//! Server settings and errors.

use std::net::SocketAddr;
use std::time::Duration;

/// Local API server settings.
#[derive(Debug, Clone)]
pub struct ApiConfig {
    /// Address to listen on (CrowdSec's default is `127.0.0.1:8080`).
    pub listen: SocketAddr,
    /// Largest request body accepted (413 beyond); default 8 MiB.
    pub max_body_bytes: usize,
    /// Time allowed to receive a request and produce the response head (408 beyond).
    pub request_timeout: Duration,
    /// Time allowed to receive a request's headers, counted from the connection's start or the
    /// end of the previous response; the connection is closed beyond (slow-loris clients).
    pub header_read_timeout: Duration,
    /// Longest wait for open connections to finish at shutdown before they are dropped.
    pub shutdown_grace: Duration,
    /// Lifetime of watcher JWTs (CrowdSec: 1 hour).
    pub jwt_ttl: Duration,
    /// How often expired decisions are swept.
    pub sweep_interval: Duration,
    /// Most concurrent requests served (others wait).
    pub max_concurrency: usize,
    /// Where writes go and how bouncer streams are served.
    pub mode: ApiMode,
}

/// Where the API's writes go.
#[derive(Debug, Clone, Default)]
pub enum ApiMode {
    /// One process (`hivewall run`): writes go to the store, stream cursors are the store's
    /// change sequence numbers.
    #[default]
    Embedded,
    /// A replica of the distributed mode: decision and bouncer writes go to the Kafka topics,
    /// the store is materialized from them, and streams are served from the replica's view
    /// ([`crate::bus`]).
    Replica(crate::bus::Replica),
}

impl Default for ApiConfig {
    fn default() -> Self {
        ApiConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            max_body_bytes: 8 * 1024 * 1024,
            request_timeout: Duration::from_secs(30),
            header_read_timeout: Duration::from_secs(10),
            shutdown_grace: Duration::from_secs(10),
            jwt_ttl: Duration::from_secs(3600),
            sweep_interval: Duration::from_secs(1),
            max_concurrency: 1024,
            mode: ApiMode::Embedded,
        }
    }
}

/// A server failure.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// Binding the listen address failed.
    #[error("listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
    /// Serving failed.
    #[error("serve on {addr}: {source}")]
    Serve {
        /// The address.
        addr: SocketAddr,
        /// The cause.
        source: std::io::Error,
    },
}
