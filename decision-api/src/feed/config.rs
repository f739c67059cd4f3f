//! The feed's settings: where the feed is, the watcher's credentials, how often to pull and
//! whether to share signals. Checked without I/O by [`FeedConfig::validate`].

use std::time::Duration;

/// A subscription to a CAPI-style feed (and, when `share_signals`, the signals pushed to it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedConfig {
    /// The feed's base URL (`url` of `online_api_credentials.yaml`): `/v2/...` paths are
    /// resolved against it, with or without its trailing slash.
    pub url: String,
    /// The watcher's login (`login`).
    pub login: String,
    /// Its password (`password`).
    pub password: String,
    /// Scenario names sent at login (CrowdSec sends the ones it runs).
    pub scenarios: Vec<String>,
    /// How often to pull the changes (CrowdSec: 2 h).
    pub pull_interval: Duration,
    /// First wait after a failed pull or push; doubled after each failure in a row.
    pub retry_min: Duration,
    /// Longest wait between retries.
    pub retry_max: Duration,
    /// Longest time one HTTP exchange may take, body included.
    pub request_timeout: Duration,
    /// Largest answer read (a larger one is an error).
    pub max_response_bytes: usize,
    /// Push a signal per local alert to `POST /v2/signals`.
    pub share_signals: bool,
    /// Signals kept while the feed is unreachable; the oldest are dropped beyond.
    pub signal_queue: usize,
    /// Most signals per request (CrowdSec sends up to 50).
    pub signal_batch: usize,
    /// How long to wait for more signals before sending a batch that is not full.
    pub push_linger: Duration,
}

impl FeedConfig {
    /// Defaults: pull every 2 hours, no sharing, a queue of 10,000 signals sent 50 at a time
    /// after at most 5 s.
    pub fn new(url: &str, login: &str, password: &str) -> FeedConfig {
        FeedConfig {
            url: url.to_string(),
            login: login.to_string(),
            password: password.to_string(),
            scenarios: Vec::new(),
            pull_interval: Duration::from_secs(2 * 3600),
            retry_min: Duration::from_secs(1),
            retry_max: Duration::from_secs(300),
            request_timeout: Duration::from_secs(120),
            max_response_bytes: 512 << 20,
            share_signals: false,
            signal_queue: 10_000,
            signal_batch: 50,
            push_linger: Duration::from_secs(5),
        }
    }

    /// Checks the settings (no I/O). [`FeedConfigError::NotRegistered`] when the login or the
    /// password is empty: hivewall does not register a watcher by itself.
    pub fn validate(&self) -> Result<(), FeedConfigError> {
        if self.login.is_empty() || self.password.is_empty() {
            return Err(FeedConfigError::NotRegistered);
        }
        base_url(&self.url)?;
        for (key, d) in [
            ("pull_interval", self.pull_interval),
            ("retry_min", self.retry_min),
            ("retry_max", self.retry_max),
            ("request_timeout", self.request_timeout),
        ] {
            if d.is_zero() {
                return Err(FeedConfigError::Zero(key));
            }
        }
        for (key, n) in [
            ("max_response_bytes", self.max_response_bytes),
            ("signal_queue", self.signal_queue),
            ("signal_batch", self.signal_batch),
        ] {
            if n == 0 {
                return Err(FeedConfigError::Zero(key));
            }
        }
        Ok(())
    }
}

/// The feed's URL with a trailing slash, so `v2/...` joins under it.
pub(crate) fn base_url(url: &str) -> Result<reqwest::Url, FeedConfigError> {
    let bad = |why: &str| FeedConfigError::Url {
        url: url.to_string(),
        why: why.to_string(),
    };
    if url.is_empty() {
        return Err(bad("empty"));
    }
    let mut u = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
    match u.scheme() {
        "http" => {}
        "https" => {
            return Err(bad(
                "https is not supported by this build (no TLS in its HTTP client): reach the \
                 feed over http on a trusted network or through a local TLS proxy",
            ));
        }
        other => return Err(bad(&format!("scheme `{other}` is not http"))),
    }
    if u.cannot_be_a_base() || u.host_str().is_none() {
        return Err(bad("no host"));
    }
    if !u.path().ends_with('/') {
        let path = format!("{}/", u.path());
        u.set_path(&path);
    }
    u.set_query(None);
    u.set_fragment(None);
    Ok(u)
}

/// Why a feed cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedConfigError {
    /// No login or password: the watcher was never registered with the feed.
    #[error(
        "the online credentials have no login/password: register this watcher with the feed \
         (POST /v2/watchers with a machine_id and password, or `cscli capi register`) and \
         write url, login and password into them"
    )]
    NotRegistered,
    /// The URL cannot be used.
    #[error("feed url `{url}`: {why}")]
    Url {
        /// The URL given.
        url: String,
        /// What is wrong.
        why: String,
    },
    /// A duration or count that must be positive is zero.
    #[error("feed setting `{0}` must be greater than 0")]
    Zero(&'static str),
}
