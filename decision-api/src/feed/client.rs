//! The HTTP side of a feed: CrowdSec 1.4.6's `apic` calls under `/v2` — login (JWT, kept and
//! renewed when the feed answers 401), the decisions stream and signal pushes.

use std::sync::{Mutex, PoisonError};

use reqwest::{Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use wire::feed::{CapiSignal, FeedStream, LoginRequest, LoginResponse};

use super::config::{FeedConfig, FeedConfigError, base_url};

/// A failed exchange with the feed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The request could not be sent or its answer not read (connection, timeout).
    #[error("{url}: {source}")]
    Http {
        /// The URL called.
        url: String,
        /// The cause.
        source: reqwest::Error,
    },
    /// The feed answered with an error status.
    #[error("{url}: HTTP {status}: {body}")]
    Status {
        /// The URL called.
        url: String,
        /// The status code.
        status: u16,
        /// The start of the answer's body.
        body: String,
    },
    /// The answer is not the JSON expected.
    #[error("{url}: unexpected answer: {source}")]
    Json {
        /// The URL called.
        url: String,
        /// The cause.
        source: serde_json::Error,
    },
    /// The answer is larger than `max_response_bytes`.
    #[error("{url}: answer larger than {limit} bytes")]
    TooLarge {
        /// The URL called.
        url: String,
        /// The limit.
        limit: usize,
    },
}

impl ClientError {
    /// The feed refused the request itself (400, 413, 422): sending it again cannot succeed.
    pub fn is_refusal(&self) -> bool {
        matches!(
            self,
            ClientError::Status {
                status: 400 | 413 | 422,
                ..
            }
        )
    }
}

/// Part of an error body worth logging.
fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    text.trim().to_string()
}

/// One watcher's client of the feed (shared by the puller and the signal pusher).
pub(crate) struct CapiClient {
    http: reqwest::Client,
    base: Url,
    login: LoginRequest,
    max_response_bytes: usize,
    /// The bearer token of the last login.
    token: Mutex<Option<String>>,
}

impl CapiClient {
    pub(crate) fn new(cfg: &FeedConfig) -> Result<CapiClient, FeedConfigError> {
        let base = base_url(&cfg.url)?;
        let http = reqwest::Client::builder()
            .timeout(cfg.request_timeout)
            .connect_timeout(cfg.request_timeout.min(std::time::Duration::from_secs(10)))
            .user_agent(concat!("hivewall/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| FeedConfigError::Url {
                url: cfg.url.clone(),
                why: format!("HTTP client: {e}"),
            })?;
        Ok(CapiClient {
            http,
            base,
            login: LoginRequest {
                machine_id: cfg.login.clone(),
                password: cfg.password.clone(),
                scenarios: cfg.scenarios.clone(),
            },
            max_response_bytes: cfg.max_response_bytes,
            token: Mutex::new(None),
        })
    }

    fn url(&self, path: &str) -> Url {
        // `path` is one of ours (`v2/...`), relative: joining cannot fail.
        self.base.join(path).unwrap_or_else(|_| self.base.clone())
    }

    /// Sends one request; the status and the body (read up to the limit).
    async fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
        token: Option<&str>,
    ) -> Result<(StatusCode, Vec<u8>), ClientError> {
        let url = self.url(path);
        let http_err = |source| ClientError::Http {
            url: url.to_string(),
            source,
        };
        let mut req = self.http.request(method, url.clone());
        if let Some(b) = body {
            req = req
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(b.to_vec());
        }
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let mut resp = req.send().await.map_err(http_err)?;
        let status = resp.status();
        let mut out = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(http_err)? {
            if out.len() + chunk.len() > self.max_response_bytes {
                return Err(ClientError::TooLarge {
                    url: url.to_string(),
                    limit: self.max_response_bytes,
                });
            }
            out.extend_from_slice(&chunk);
        }
        Ok((status, out))
    }

    fn parse<T: DeserializeOwned>(&self, path: &str, body: &[u8]) -> Result<T, ClientError> {
        serde_json::from_slice(body).map_err(|source| ClientError::Json {
            url: self.url(path).to_string(),
            source,
        })
    }

    fn status_err(&self, path: &str, status: StatusCode, body: &[u8]) -> ClientError {
        ClientError::Status {
            url: self.url(path).to_string(),
            status: status.as_u16(),
            body: excerpt(body),
        }
    }

    /// Logs in (`POST /v2/watchers/login`) and keeps the token.
    pub(crate) async fn login(&self) -> Result<String, ClientError> {
        const PATH: &str = "v2/watchers/login";
        // Strings only: serializing cannot fail.
        let body = serde_json::to_vec(&self.login).unwrap_or_default();
        let (status, answer) = self.send(Method::POST, PATH, Some(&body), None).await?;
        if !status.is_success() {
            return Err(self.status_err(PATH, status, &answer));
        }
        let r: LoginResponse = self.parse(PATH, &answer)?;
        if r.token.is_empty() {
            return Err(self.status_err(PATH, status, b"login answer without a token"));
        }
        *self.token.lock().unwrap_or_else(PoisonError::into_inner) = Some(r.token.clone());
        metrics::counter!("hivewall_feed_logins_total").increment(1);
        Ok(r.token)
    }

    /// A request with the watcher's token; logs in first when there is none, and once more
    /// when the feed answers 401 (the token expired, or the feed restarted with a new key).
    async fn authed(
        &self,
        method: Method,
        path: &str,
        body: Option<&[u8]>,
    ) -> Result<Vec<u8>, ClientError> {
        let kept = self
            .token
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        let token = match kept {
            Some(t) => t,
            None => self.login().await?,
        };
        let (mut status, mut answer) = self.send(method.clone(), path, body, Some(&token)).await?;
        if status == StatusCode::UNAUTHORIZED {
            let token = self.login().await?;
            (status, answer) = self.send(method, path, body, Some(&token)).await?;
        }
        if !status.is_success() {
            return Err(self.status_err(path, status, &answer));
        }
        Ok(answer)
    }

    /// `GET /v2/decisions/stream`: the whole feed with `startup`, else what changed since this
    /// watcher's previous pull.
    pub(crate) async fn pull(&self, startup: bool) -> Result<FeedStream, ClientError> {
        let path = if startup {
            "v2/decisions/stream?startup=true"
        } else {
            "v2/decisions/stream?startup=false"
        };
        let body = self.authed(Method::GET, path, None).await?;
        self.parse(path, &body)
    }

    /// `POST /v2/signals`.
    pub(crate) async fn push(&self, signals: &[CapiSignal]) -> Result<(), ClientError> {
        // Strings only: serializing cannot fail.
        let body = serde_json::to_vec(signals).unwrap_or_default();
        self.authed(Method::POST, "v2/signals", Some(&body))
            .await
            .map(|_| ())
    }
}
