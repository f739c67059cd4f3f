//! Bouncers (API keys, stored as SHA-256) and machines (watchers: salted SHA-256 passwords,
//! validation by an operator).

use rocksdb::WriteBatch;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::record::{BouncerRecord, MachineRecord};
use super::{CF_BOUNCERS, CF_MACHINES, Store, StoreError, constant_eq, hex, random_token};
use crate::godur;

/// Hex SHA-256 of an API key.
pub(crate) fn hash_key(key: &str) -> String {
    hex(&Sha256::digest(key.as_bytes()))
}

fn hash_password(salt: &str, password: &str) -> String {
    let mut h = Sha256::new();
    h.update(salt.as_bytes());
    h.update(b":");
    h.update(password.as_bytes());
    hex(&h.finalize())
}

/// In-memory bouncer table: by name, and key hash → name.
#[derive(Default)]
pub(crate) struct Bouncers {
    by_name: foldhash::HashMap<String, BouncerRecord>,
    by_hash: foldhash::HashMap<String, String>,
}

impl Bouncers {
    pub(crate) fn insert(&mut self, b: BouncerRecord) {
        self.by_hash.insert(b.key_hash.clone(), b.name.clone());
        self.by_name.insert(b.name.clone(), b);
    }

    /// Removes bouncer `name` (and its key); the removed record.
    pub(crate) fn remove(&mut self, name: &str) -> Option<BouncerRecord> {
        let b = self.by_name.remove(name)?;
        if self.by_hash.get(&b.key_hash).is_some_and(|n| n == name) {
            self.by_hash.remove(&b.key_hash);
        }
        Some(b)
    }

    /// Inserts or replaces bouncer `b.name` (a changed key replaces the old one).
    pub(crate) fn replace(&mut self, b: BouncerRecord) {
        self.remove(&b.name);
        self.insert(b);
    }

    /// Bouncer `name`.
    pub(crate) fn get(&self, name: &str) -> Option<&BouncerRecord> {
        self.by_name.get(name)
    }

    /// Forgets every bouncer.
    pub(crate) fn clear(&mut self) {
        self.by_name.clear();
        self.by_hash.clear();
    }
}

/// A bouncer as listed (no key).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BouncerInfo {
    /// Name.
    pub name: String,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last seen IP.
    pub ip_address: String,
    /// Type from the User-Agent.
    #[serde(rename = "type")]
    pub kind: String,
    /// Version from the User-Agent.
    pub version: String,
    /// Last pull (RFC 3339), empty when never.
    pub last_pull: String,
}

/// A machine as listed (no password).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MachineInfo {
    /// Machine id.
    pub machine_id: String,
    /// Creation time (RFC 3339).
    pub created_at: String,
    /// Last update (RFC 3339).
    pub updated_at: String,
    /// Validated by an operator.
    pub is_validated: bool,
    /// Last known IP.
    pub ip_address: String,
    /// Version.
    pub version: String,
    /// Last heartbeat (RFC 3339), empty when never.
    pub last_heartbeat: String,
    /// Last push (RFC 3339), empty when never.
    pub last_push: String,
}

/// Why a watcher login failed (CrowdSec answers 401 for all, with these messages).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LoginError {
    /// Unknown machine or wrong password.
    #[error("incorrect Username or Password")]
    BadCredentials,
    /// Registered but not validated yet.
    #[error("machine {0} not validated")]
    NotValidated(String),
}

fn opt_time(ms: Option<i64>) -> String {
    ms.map(godur::rfc3339_ms).unwrap_or_default()
}

impl Store {
    fn put_bouncer(&self, b: &BouncerRecord) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let v = serde_json::to_vec(b).map_err(|e| StoreError::Invalid(e.to_string()))?;
        batch.put_cf(self.cf(CF_BOUNCERS)?, b.name.as_bytes(), v);
        self.commit(batch, None)
    }

    fn put_machine(&self, m: &MachineRecord) -> Result<(), StoreError> {
        let mut batch = WriteBatch::default();
        let v = serde_json::to_vec(m).map_err(|e| StoreError::Invalid(e.to_string()))?;
        batch.put_cf(self.cf(CF_MACHINES)?, m.machine_id.as_bytes(), v);
        self.commit(batch, None)
    }

    /// Registers a bouncer; generates a key when `key` is `None`. Returns the key.
    pub fn add_bouncer(&self, name: &str, key: Option<String>) -> Result<String, StoreError> {
        if name.is_empty() {
            return Err(StoreError::Invalid("bouncer name is empty".to_string()));
        }
        let key = key.unwrap_or_else(|| random_token(16));
        if key.len() < 8 {
            return Err(StoreError::Invalid(
                "API key must be at least 8 characters".to_string(),
            ));
        }
        let mut table = self
            .inner
            .bouncers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if table.by_name.contains_key(name) {
            return Err(StoreError::Exists(format!("bouncer {name} already exists")));
        }
        let key_hash = hash_key(&key);
        if table.by_hash.contains_key(&key_hash) {
            return Err(StoreError::Exists(
                "this API key is already in use".to_string(),
            ));
        }
        let rec = BouncerRecord {
            name: name.to_string(),
            key_hash,
            created_ms: godur::now_ms(),
            ip: String::new(),
            kind: String::new(),
            version: String::new(),
            last_pull_ms: None,
            cursor: 0,
        };
        self.put_bouncer(&rec)?;
        table.insert(rec);
        Ok(key)
    }

    /// Registered bouncers, by name.
    pub fn list_bouncers(&self) -> Vec<BouncerInfo> {
        let table = self
            .inner
            .bouncers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Vec<BouncerInfo> = table
            .by_name
            .values()
            .map(|b| BouncerInfo {
                name: b.name.clone(),
                created_at: godur::rfc3339_ms(b.created_ms),
                ip_address: b.ip.clone(),
                kind: b.kind.clone(),
                version: b.version.clone(),
                last_pull: opt_time(b.last_pull_ms),
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Deletes a bouncer.
    pub fn delete_bouncer(&self, name: &str) -> Result<(), StoreError> {
        let mut table = self
            .inner
            .bouncers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(b) = table.by_name.remove(name) else {
            return Err(StoreError::NotFound(format!(
                "unable to find bouncer '{name}'"
            )));
        };
        table.by_hash.remove(&b.key_hash);
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(CF_BOUNCERS)?, name.as_bytes());
        self.commit(batch, None)
    }

    /// The bouncer owning `key`, if any.
    pub fn authenticate_bouncer(&self, key: &str) -> Option<BouncerRecord> {
        if key.is_empty() {
            return None;
        }
        let h = hash_key(key);
        let table = self
            .inner
            .bouncers
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let name = table.by_hash.get(&h)?;
        table
            .by_name
            .get(name)
            .filter(|b| constant_eq(b.key_hash.as_bytes(), h.as_bytes()))
            .cloned()
    }

    /// Records a bouncer's pull: IP, User-Agent (`name/version`), last pull time, and the
    /// stream cursor when given. Persists when anything but the time changed, or once a minute.
    pub fn touch_bouncer(
        &self,
        name: &str,
        ip: &str,
        user_agent: &str,
        cursor: Option<u64>,
    ) -> Result<(), StoreError> {
        let now = godur::now_ms();
        let mut table = self
            .inner
            .bouncers
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(b) = table.by_name.get_mut(name) else {
            return Ok(());
        };
        let (kind, version) = user_agent.split_once('/').unwrap_or((user_agent, ""));
        let changed = b.ip != ip
            || b.kind != kind
            || b.version != version
            || cursor.is_some_and(|c| c != b.cursor);
        let stale = b.last_pull_ms.is_none_or(|t| now - t >= 60_000);
        b.ip = ip.to_string();
        b.kind = kind.to_string();
        b.version = version.to_string();
        if let Some(c) = cursor {
            b.cursor = c;
        }
        if changed || stale {
            b.last_pull_ms = Some(now);
            let rec = b.clone();
            drop(table);
            self.put_bouncer(&rec)?;
        }
        Ok(())
    }

    /// Registers a machine (`validated`: as `cscli machines add` does; watchers register
    /// unvalidated).
    pub fn add_machine(
        &self,
        machine_id: &str,
        password: &str,
        validated: bool,
    ) -> Result<(), StoreError> {
        if machine_id.is_empty() || password.is_empty() {
            return Err(StoreError::Invalid(
                "machine_id and password are required".to_string(),
            ));
        }
        let mut machines = self
            .inner
            .machines
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if machines.contains_key(machine_id) {
            return Err(StoreError::Exists(format!(
                "user '{machine_id}': user already exist"
            )));
        }
        let salt = random_token(16);
        let now = godur::now_ms();
        let rec = MachineRecord {
            machine_id: machine_id.to_string(),
            password_hash: hash_password(&salt, password),
            salt,
            created_ms: now,
            updated_ms: now,
            validated,
            ip: String::new(),
            version: String::new(),
            scenarios: String::new(),
            last_heartbeat_ms: None,
            last_push_ms: None,
        };
        self.put_machine(&rec)?;
        machines.insert(rec.machine_id.clone(), rec);
        Ok(())
    }

    /// Marks a machine validated.
    pub fn validate_machine(&self, machine_id: &str) -> Result<(), StoreError> {
        self.update_machine(machine_id, |m| m.validated = true)
    }

    /// Deletes a machine.
    pub fn delete_machine(&self, machine_id: &str) -> Result<(), StoreError> {
        let mut machines = self
            .inner
            .machines
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if machines.remove(machine_id).is_none() {
            return Err(StoreError::NotFound(format!(
                "unable to find machine '{machine_id}'"
            )));
        }
        let mut batch = WriteBatch::default();
        batch.delete_cf(self.cf(CF_MACHINES)?, machine_id.as_bytes());
        self.commit(batch, None)
    }

    /// Registered machines, by id.
    pub fn list_machines(&self) -> Vec<MachineInfo> {
        let machines = self
            .inner
            .machines
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut out: Vec<MachineInfo> = machines
            .values()
            .map(|m| MachineInfo {
                machine_id: m.machine_id.clone(),
                created_at: godur::rfc3339_ms(m.created_ms),
                updated_at: godur::rfc3339_ms(m.updated_ms),
                is_validated: m.validated,
                ip_address: m.ip.clone(),
                version: m.version.clone(),
                last_heartbeat: opt_time(m.last_heartbeat_ms),
                last_push: opt_time(m.last_push_ms),
            })
            .collect();
        out.sort_by(|a, b| a.machine_id.cmp(&b.machine_id));
        out
    }

    /// Whether a machine exists (JWTs of deleted machines are refused).
    pub fn machine_exists(&self, machine_id: &str) -> bool {
        self.inner
            .machines
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(machine_id)
    }

    /// Checks a watcher's credentials and records its IP, version and scenarios.
    pub fn login_machine(
        &self,
        machine_id: &str,
        password: &str,
        ip: &str,
        user_agent: &str,
        scenarios: &[String],
    ) -> Result<(), LoginError> {
        {
            let machines = self
                .inner
                .machines
                .read()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let m = machines.get(machine_id).ok_or(LoginError::BadCredentials)?;
            if !m.validated {
                return Err(LoginError::NotValidated(machine_id.to_string()));
            }
            let h = hash_password(&m.salt, password);
            if !constant_eq(h.as_bytes(), m.password_hash.as_bytes()) {
                return Err(LoginError::BadCredentials);
            }
        }
        let version = user_agent
            .split_once('/')
            .map(|(_, v)| v.to_string())
            .unwrap_or_default();
        let scenarios = scenarios.join(",");
        let _ = self.update_machine(machine_id, |m| {
            m.ip = ip.to_string();
            m.version.clone_from(&version);
            if !scenarios.is_empty() {
                m.scenarios.clone_from(&scenarios);
            }
        });
        Ok(())
    }

    /// Records a heartbeat.
    pub fn heartbeat_machine(&self, machine_id: &str) -> Result<(), StoreError> {
        let now = godur::now_ms();
        self.update_machine(machine_id, |m| m.last_heartbeat_ms = Some(now))
    }

    fn update_machine(
        &self,
        machine_id: &str,
        f: impl FnOnce(&mut MachineRecord),
    ) -> Result<(), StoreError> {
        let mut machines = self
            .inner
            .machines
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let m = machines.get_mut(machine_id).ok_or_else(|| {
            StoreError::NotFound(format!("unable to find machine '{machine_id}'"))
        })?;
        f(m);
        m.updated_ms = godur::now_ms();
        let rec = m.clone();
        drop(machines);
        self.put_machine(&rec)
    }

    /// Updates the machine's last push in memory; returns the record to persist with the push.
    pub(crate) fn touch_machine_push(&self, machine_id: &str, now: i64) -> Option<MachineRecord> {
        let mut machines = self
            .inner
            .machines
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let m = machines.get_mut(machine_id)?;
        m.last_push_ms = Some(now);
        Some(m.clone())
    }
}
