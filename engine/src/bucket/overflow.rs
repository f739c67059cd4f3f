//! What an overflow produces: CrowdSec's `RuntimeAlert` and the LAPI alert model.
//!
//! The structs serialize to the Local API's JSON (`Alert`, `Source`, `Event`, `Meta` in
//! `localapi_swagger.yaml`) so that the service can post them as they are. Sources are kept in
//! a `BTreeMap` (Go uses a map with random order) so that output is reproducible.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::expr::{Object, Value};

pub use wire::{Alert, AlertEvent, MetaItem, Source};

/// An overflow with everything CrowdSec attaches to it (Go `pipeline.RuntimeAlert`).
///
/// Go's `Alert` is a pointer to the first of `APIAlerts`: here it is [`RuntimeAlert::alert`],
/// serialized under `Alert` as Go writes it (and ignored when read back).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct RuntimeAlert {
    /// The bucket's key (scenario and partition).
    #[serde(rename = "MapKey")]
    pub mapkey: String,
    /// Whether the overflow is to be poured into scenarios again.
    #[serde(rename = "Reprocess")]
    pub reprocess: bool,
    /// Every source found in the queue, by scope value.
    #[serde(rename = "Sources")]
    pub sources: BTreeMap<String, Source>,
    /// One alert per source.
    #[serde(rename = "APIAlerts")]
    pub api_alerts: Vec<Alert>,
    /// The scenario's labels.
    #[serde(rename = "Labels", default)]
    pub labels: BTreeMap<String, serde_json::Value>,
}

impl RuntimeAlert {
    /// The first of `api_alerts` (Go's `Alert`, a pointer to it), if any.
    pub fn alert(&self) -> Option<&Alert> {
        self.api_alerts.first()
    }
}

impl Serialize for RuntimeAlert {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        /// The fields in Go's order, `Alert` included.
        #[derive(Serialize)]
        struct Go<'a> {
            #[serde(rename = "MapKey")]
            mapkey: &'a str,
            #[serde(rename = "Reprocess")]
            reprocess: bool,
            #[serde(rename = "Sources")]
            sources: &'a BTreeMap<String, Source>,
            #[serde(rename = "Alert")]
            alert: Option<&'a Alert>,
            #[serde(rename = "APIAlerts")]
            api_alerts: &'a [Alert],
            #[serde(rename = "Labels")]
            labels: &'a BTreeMap<String, serde_json::Value>,
        }
        Go {
            mapkey: &self.mapkey,
            reprocess: self.reprocess,
            sources: &self.sources,
            alert: self.alert(),
            api_alerts: &self.api_alerts,
            labels: &self.labels,
        }
        .serialize(serializer)
    }
}

impl Object for RuntimeAlert {
    fn type_name(&self) -> &'static str {
        "types.RuntimeAlert"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Mapkey" => Value::str(&self.mapkey),
            "BucketId" => Value::str(""),
            "Whitelisted" => Value::Bool(false),
            "Reprocess" => Value::Bool(self.reprocess),
            "Sources" => Value::Map(
                self.sources
                    .iter()
                    .map(|(k, s)| (k.clone(), Value::Obj(s as &dyn Object)))
                    .collect(),
            ),
            "Alert" => match self.alert() {
                Some(a) => Value::Obj(a),
                None => Value::Nil,
            },
            "APIAlerts" => Value::List(
                self.api_alerts
                    .iter()
                    .map(|a| Value::Obj(a as &dyn Object))
                    .collect(),
            ),
            _ => return None,
        })
    }

    fn call_method(&self, name: &str, args: &[Value<'_>]) -> Option<Result<Value<'_>, String>> {
        match (name, args) {
            // Go returns the map's keys in random order; sorted here.
            ("GetSources", []) => Some(Ok(Value::List(
                self.sources.keys().map(|k| Value::str(k)).collect(),
            ))),
            ("GetSources", _) => Some(Err("GetSources takes no argument".into())),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        [
            "Mapkey",
            "BucketId",
            "Whitelisted",
            "Reprocess",
            "Sources",
            "Alert",
            "APIAlerts",
        ]
        .into_iter()
        .map(Cow::Borrowed)
        .collect()
    }

    fn to_value(&self) -> Value<'_> {
        map_of(self)
    }
}

fn map_of<'a>(o: &'a dyn Object) -> Value<'a> {
    Value::Map(
        o.keys()
            .into_iter()
            .filter_map(|k| o.member(&k).map(|v| (k.into_owned(), v)))
            .collect(),
    )
}

fn meta_value(m: &[MetaItem]) -> Value<'_> {
    Value::List(
        m.iter()
            .map(|i| {
                Value::Map(BTreeMap::from([
                    ("Key".to_string(), Value::str(&i.key)),
                    ("Value".to_string(), Value::str(&i.value)),
                ]))
            })
            .collect(),
    )
}

const ALERT_FIELDS: &[&str] = &[
    "Scenario",
    "ScenarioHash",
    "ScenarioVersion",
    "Message",
    "EventsCount",
    "StartAt",
    "StopAt",
    "Capacity",
    "Leakspeed",
    "Simulated",
    "Events",
    "Remediation",
    "Source",
    "Meta",
    "Kind",
];

impl Object for Alert {
    fn type_name(&self) -> &'static str {
        "*models.Alert"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Scenario" => Value::str(&self.scenario),
            "ScenarioHash" => Value::str(&self.scenario_hash),
            "ScenarioVersion" => Value::str(&self.scenario_version),
            "Message" => Value::str(&self.message),
            "EventsCount" => Value::Int(i64::from(self.events_count)),
            "StartAt" => Value::str(&self.start_at),
            "StopAt" => Value::str(&self.stop_at),
            "Capacity" => Value::Int(i64::from(self.capacity)),
            "Leakspeed" => Value::str(&self.leakspeed),
            "Simulated" => Value::Bool(self.simulated),
            "Remediation" => Value::Bool(self.remediation),
            "Source" => Value::Obj(&self.source),
            "Kind" => Value::str(&self.kind),
            "Meta" => meta_value(&self.meta),
            "Events" => Value::List(
                self.events
                    .iter()
                    .map(|e| Value::Obj(e as &dyn Object))
                    .collect(),
            ),
            "Labels" | "Decisions" => Value::List(Vec::new()),
            "ID" => Value::Int(0),
            "UUID" | "MachineID" | "CreatedAt" => Value::str(""),
            _ => return None,
        })
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        ALERT_FIELDS.iter().map(|f| Cow::Borrowed(*f)).collect()
    }

    fn call_method(&self, name: &str, args: &[Value<'_>]) -> Option<Result<Value<'_>, String>> {
        let meta = |items: &[MetaItem], k: &str| {
            items
                .iter()
                .find(|m| m.key == k)
                .map_or(String::new(), |m| m.value.clone())
        };
        Some(match (name, args) {
            ("GetScope", []) => Ok(Value::str(&self.source.scope)),
            ("GetValue", []) => Ok(Value::str(&self.source.value)),
            ("GetScenario", []) => Ok(Value::str(&self.scenario)),
            ("GetEventsCount", []) => Ok(Value::Int(i64::from(self.events_count))),
            ("GetMeta", [Value::Str(k)]) => Ok(Value::string(meta(&self.meta, k))),
            ("GetScope" | "GetValue" | "GetScenario" | "GetEventsCount" | "GetMeta", _) => {
                Err(format!("{name}: wrong arguments"))
            }
            _ => return None,
        })
    }

    fn to_value(&self) -> Value<'_> {
        map_of(self)
    }
}

impl Object for Source {
    fn type_name(&self) -> &'static str {
        "models.Source"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        Some(match name {
            "Scope" => Value::str(&self.scope),
            "Value" => Value::str(&self.value),
            "IP" => Value::str(&self.ip),
            "Range" => Value::str(&self.range),
            "AsNumber" => Value::str(&self.as_number),
            "AsName" => Value::str(&self.as_name),
            "Cn" => Value::str(&self.cn),
            "Latitude" => Value::Float(f64::from(self.latitude)),
            "Longitude" => Value::Float(f64::from(self.longitude)),
            _ => return None,
        })
    }

    fn call_method(&self, name: &str, args: &[Value<'_>]) -> Option<Result<Value<'_>, String>> {
        match (name, args) {
            ("GetValue", []) => Some(Ok(Value::str(&self.value))),
            ("GetScope", []) => Some(Ok(Value::str(&self.scope))),
            ("GetValue" | "GetScope", _) => Some(Err(format!("{name} takes no argument"))),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        [
            "Scope",
            "Value",
            "IP",
            "Range",
            "AsNumber",
            "AsName",
            "Cn",
            "Latitude",
            "Longitude",
        ]
        .into_iter()
        .map(Cow::Borrowed)
        .collect()
    }

    fn to_value(&self) -> Value<'_> {
        map_of(self)
    }
}

impl Object for AlertEvent {
    fn type_name(&self) -> &'static str {
        "*models.Event"
    }

    fn member(&self, name: &str) -> Option<Value<'_>> {
        match name {
            "Timestamp" => Some(Value::str(&self.timestamp)),
            "Meta" => Some(meta_value(&self.meta)),
            _ => None,
        }
    }

    fn keys(&self) -> Vec<Cow<'_, str>> {
        vec![Cow::Borrowed("Timestamp"), Cow::Borrowed("Meta")]
    }

    fn call_method(&self, name: &str, args: &[Value<'_>]) -> Option<Result<Value<'_>, String>> {
        match (name, args) {
            ("GetMeta", [Value::Str(k)]) => Some(Ok(Value::str(
                self.meta
                    .iter()
                    .find(|m| m.key == **k)
                    .map_or("", |m| m.value.as_str()),
            ))),
            ("GetMeta", _) => Some(Err("GetMeta takes one string".into())),
            _ => None,
        }
    }

    fn to_value(&self) -> Value<'_> {
        map_of(self)
    }
}
