//! Where operator commands act: the running API (admin routes, key from the state directory)
//! or, when nothing is running, the decision store opened directly. Both run the same
//! [`decision_api::Store`] methods, so answers are the same either way.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use decision_api::admin::{
    ADMIN_KEY_HEADER, ADMIN_PREFIX, AddBouncerRequest, AddBouncerResponse, AddDecisionRequest,
    AddDecisionsResponse, AddMachineRequest, DeleteResponse,
};
use decision_api::model::Alert;
use decision_api::store::{BouncerInfo, MachineInfo};
use decision_api::{AlertFilter, DecisionFilter, Store};
use serde::de::DeserializeOwned;

use crate::run::{ADMIN_KEY_FILE, API_ADDR_FILE};

/// Query parameters, as the LAPI takes them.
pub type Query = Vec<(String, String)>;

/// The running API or the store itself.
pub enum Backend {
    /// `hivewall run` (or `api`) is up: talk to it.
    Remote {
        /// `http://host:port` + admin prefix.
        base: String,
        /// The administration key.
        key: String,
        /// The HTTP agent.
        agent: ureq::Agent,
    },
    /// Nothing runs: the store, opened directly.
    Local(Store),
}

impl Backend {
    /// Connects to the API at `listen` if it answers with the key of `state_dir`, else opens
    /// the store under `state_dir`.
    pub fn connect(state_dir: &Path, listen: SocketAddr) -> anyhow::Result<Backend> {
        let key_file = state_dir.join(ADMIN_KEY_FILE);
        // The address the last `run` listened on wins over the configuration's.
        let listen = std::fs::read_to_string(state_dir.join(API_ADDR_FILE))
            .ok()
            .and_then(|a| a.trim().parse().ok())
            .unwrap_or(listen);
        let key = std::fs::read_to_string(&key_file).ok();
        if let Some(key) = key {
            let agent = ureq::AgentBuilder::new()
                .timeout_connect(Duration::from_secs(2))
                .timeout(Duration::from_secs(120))
                .build();
            let host = match listen {
                SocketAddr::V4(a) if a.ip().is_unspecified() => format!("127.0.0.1:{}", a.port()),
                SocketAddr::V6(a) if a.ip().is_unspecified() => format!("[::1]:{}", a.port()),
                a => a.to_string(),
            };
            let base = format!("http://{host}{ADMIN_PREFIX}");
            let probe = agent
                .get(&format!("{base}/bouncers"))
                .set(ADMIN_KEY_HEADER, key.trim())
                .call();
            match probe {
                Ok(_) => {
                    return Ok(Backend::Remote {
                        base,
                        key: key.trim().to_string(),
                        agent,
                    });
                }
                Err(ureq::Error::Status(401, _)) => bail!(
                    "the API at {host} refuses the key in {} (is it another instance's state directory?)",
                    key_file.display()
                ),
                Err(_) => {}
            }
        }
        let dir = state_dir.join("api");
        let store = Store::open(&dir).with_context(|| {
            format!("no running hivewall answered at {listen}, and its store could not be opened")
        })?;
        // A replica's store is rebuilt from the topics at every start: a change made in it
        // here would reach no bouncer and be gone at the next start.
        if let Some(source) = store.replica_of()? {
            bail!(
                "{} is the store of a `hivewall api` replica of {source} (distributed mode) and \
                 no api answered at {listen}: start `hivewall api` with this state directory \
                 (changes go through it to the topics)",
                dir.display()
            );
        }
        Ok(Backend::Local(store))
    }

    fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        path: &str,
        query: &Query,
        body: Option<serde_json::Value>,
    ) -> anyhow::Result<T> {
        let Backend::Remote { base, key, agent } = self else {
            bail!("not connected to a running API");
        };
        let mut req = agent
            .request(method, &format!("{base}{path}"))
            .set(ADMIN_KEY_HEADER, key);
        for (k, v) in query {
            req = req.query(k, v);
        }
        let resp = match body {
            Some(b) => req.send_json(b),
            None => req.call(),
        };
        match resp {
            Ok(r) => Ok(r.into_json()?),
            Err(ureq::Error::Status(code, r)) => {
                let text = r.into_string().unwrap_or_default();
                let msg = serde_json::from_str::<serde_json::Value>(&text)
                    .ok()
                    .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
                    .unwrap_or(text);
                bail!("API answered {code}: {msg}")
            }
            Err(e) => Err(e).context("calling the API"),
        }
    }

    /// Alerts matching `query` (`GET /v1/alerts` parameters).
    pub fn alerts(&self, query: &Query) -> anyhow::Result<Vec<Alert>> {
        match self {
            Backend::Local(s) => Ok(s.list_alerts(&AlertFilter::from_query(query)?)?),
            Backend::Remote { .. } => self.call("GET", "/alerts", query, None),
        }
    }

    /// One alert.
    pub fn alert(&self, id: i64) -> anyhow::Result<Alert> {
        match self {
            Backend::Local(s) => Ok(s.get_alert(id)?),
            Backend::Remote { .. } => self.call("GET", &format!("/alerts/{id}"), &Vec::new(), None),
        }
    }

    /// Deletes alerts (and their decisions) matching `query`, or alert `id`.
    pub fn delete_alerts(&self, query: &Query, id: Option<i64>) -> anyhow::Result<usize> {
        match (self, id) {
            (Backend::Local(s), Some(id)) => Ok(s.delete_alert(id)?),
            (Backend::Local(s), None) => Ok(s.delete_alerts(&AlertFilter::from_query(query)?)?),
            (Backend::Remote { .. }, Some(id)) => {
                let r: DeleteResponse =
                    self.call("DELETE", &format!("/alerts/{id}"), query, None)?;
                Ok(r.deleted)
            }
            (Backend::Remote { .. }, None) => {
                let r: DeleteResponse = self.call("DELETE", "/alerts", query, None)?;
                Ok(r.deleted)
            }
        }
    }

    /// Adds decisions (one: `decisions add`; many: `decisions import`).
    pub fn add_decisions(
        &self,
        reqs: Vec<AddDecisionRequest>,
    ) -> anyhow::Result<AddDecisionsResponse> {
        match self {
            Backend::Local(s) => Ok(s.import_decisions(&reqs)?),
            Backend::Remote { .. } => self.call(
                "POST",
                "/decisions/import",
                &Vec::new(),
                Some(serde_json::to_value(reqs)?),
            ),
        }
    }

    /// Deletes decisions matching `query`, or decision `id`.
    pub fn delete_decisions(&self, query: &Query, id: Option<i64>) -> anyhow::Result<usize> {
        match (self, id) {
            (Backend::Local(s), Some(id)) => Ok(s.delete_decision(id)?),
            (Backend::Local(s), None) => Ok(s
                .delete_decisions(&DecisionFilter::from_delete_query(query)?)?
                .len()),
            (Backend::Remote { .. }, Some(id)) => {
                let r: DeleteResponse =
                    self.call("DELETE", &format!("/decisions/{id}"), query, None)?;
                Ok(r.deleted)
            }
            (Backend::Remote { .. }, None) => {
                let r: DeleteResponse = self.call("DELETE", "/decisions", query, None)?;
                Ok(r.deleted)
            }
        }
    }

    /// Registers a bouncer; returns its key.
    pub fn add_bouncer(&self, name: &str, key: Option<String>) -> anyhow::Result<String> {
        match self {
            Backend::Local(s) => Ok(s.add_bouncer(name, key)?),
            Backend::Remote { .. } => {
                let body = AddBouncerRequest {
                    name: name.to_string(),
                    key,
                };
                let r: AddBouncerResponse = self.call(
                    "POST",
                    "/bouncers",
                    &Vec::new(),
                    Some(serde_json::to_value(body)?),
                )?;
                Ok(r.key)
            }
        }
    }

    /// Every bouncer.
    pub fn bouncers(&self) -> anyhow::Result<Vec<BouncerInfo>> {
        match self {
            Backend::Local(s) => Ok(s.list_bouncers()),
            Backend::Remote { .. } => self.call("GET", "/bouncers", &Vec::new(), None),
        }
    }

    /// Removes a bouncer.
    pub fn delete_bouncer(&self, name: &str) -> anyhow::Result<()> {
        match self {
            Backend::Local(s) => Ok(s.delete_bouncer(name)?),
            Backend::Remote { .. } => {
                let _: DeleteResponse =
                    self.call("DELETE", &format!("/bouncers/{name}"), &Vec::new(), None)?;
                Ok(())
            }
        }
    }

    /// Registers a machine (validated).
    pub fn add_machine(&self, id: &str, password: &str) -> anyhow::Result<()> {
        match self {
            Backend::Local(s) => Ok(s.add_machine(id, password, true)?),
            Backend::Remote { .. } => {
                let body = AddMachineRequest {
                    machine_id: id.to_string(),
                    password: password.to_string(),
                    validated: true,
                };
                let _: DeleteResponse = self.call(
                    "POST",
                    "/machines",
                    &Vec::new(),
                    Some(serde_json::to_value(body)?),
                )?;
                Ok(())
            }
        }
    }

    /// Every machine.
    pub fn machines(&self) -> anyhow::Result<Vec<MachineInfo>> {
        match self {
            Backend::Local(s) => Ok(s.list_machines()),
            Backend::Remote { .. } => self.call("GET", "/machines", &Vec::new(), None),
        }
    }

    /// Validates a machine registered through `POST /v1/watchers`.
    pub fn validate_machine(&self, id: &str) -> anyhow::Result<()> {
        match self {
            Backend::Local(s) => Ok(s.validate_machine(id)?),
            Backend::Remote { .. } => {
                let _: DeleteResponse = self.call(
                    "POST",
                    &format!("/machines/{id}/validate"),
                    &Vec::new(),
                    None,
                )?;
                Ok(())
            }
        }
    }

    /// Removes a machine.
    pub fn delete_machine(&self, id: &str) -> anyhow::Result<()> {
        match self {
            Backend::Local(s) => Ok(s.delete_machine(id)?),
            Backend::Remote { .. } => {
                let _: DeleteResponse =
                    self.call("DELETE", &format!("/machines/{id}"), &Vec::new(), None)?;
                Ok(())
            }
        }
    }

    /// The Prometheus text of the running process.
    pub fn metrics(&self) -> anyhow::Result<String> {
        let Backend::Remote { base, key, agent } = self else {
            bail!("hivewall is not running: metrics live in the running process");
        };
        Ok(agent
            .get(&format!("{base}/metrics"))
            .set(ADMIN_KEY_HEADER, key)
            .call()?
            .into_string()?)
    }
}
