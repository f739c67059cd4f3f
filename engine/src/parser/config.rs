//! The YAML of a CrowdSec parser node, as written in hub files (`parsers/<stage>/...yaml`).
//!
//! Field names are CrowdSec's. Unknown fields are an error, as in CrowdSec's strict decoding.

use serde::{Deserialize, Deserializer};

/// One node: a top-level parser document or one of its `nodes:` children.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeConfig {
    /// Format version of the file (`1.0`, `2.0`...).
    #[serde(default, deserialize_with = "crate::yaml::scalar")]
    pub format: String,
    /// Per-node debug logging (accepted, unused: `explain` shows the same).
    #[serde(default)]
    pub debug: bool,
    /// Accepted for compatibility.
    #[serde(default)]
    pub profiling: bool,
    /// `author/name`.
    #[serde(default)]
    pub name: String,
    /// Author, for hub bookkeeping.
    #[serde(default)]
    pub author: String,
    /// Human description.
    #[serde(default)]
    pub description: String,
    /// Links.
    #[serde(default)]
    pub references: Vec<String>,
    /// Stage; set from the file's location, not from the YAML, in CrowdSec.
    #[serde(default)]
    pub stage: String,
    /// `next_stage` or `continue` (the default).
    #[serde(default)]
    pub onsuccess: String,
    /// Expression that must hold for the node to run.
    #[serde(default)]
    pub filter: String,
    /// Child nodes.
    #[serde(default)]
    pub nodes: Vec<NodeConfig>,
    /// Extra grok patterns this file defines, in file order (CrowdSec adds them in that order,
    /// each one checked against the patterns defined before it).
    #[serde(default, deserialize_with = "ordered_map")]
    pub pattern_syntax: Vec<(String, String)>,
    /// The grok to run.
    #[serde(default)]
    pub grok: Option<GrokConfig>,
    /// Assignments applied on success.
    #[serde(default)]
    pub statics: Vec<StaticConfig>,
    /// Values to remember across events.
    #[serde(default)]
    pub stash: Vec<StashConfig>,
    /// Whitelist.
    #[serde(default)]
    pub whitelist: Option<WhitelistConfig>,
    /// Data files the node's expressions read.
    #[serde(default)]
    pub data: Vec<DataConfig>,
}

/// `grok:` of a node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GrokConfig {
    /// The field to match: `Line.Raw` or a key of `evt.Parsed`.
    #[serde(default)]
    pub apply_on: String,
    /// A pattern of the library, by name.
    #[serde(default)]
    pub name: String,
    /// An inline grok pattern.
    #[serde(default)]
    pub pattern: String,
    /// An expression whose result is matched (instead of `apply_on`).
    #[serde(default)]
    pub expression: String,
    /// Statics applied when this grok matches.
    #[serde(default)]
    pub statics: Vec<StaticConfig>,
}

/// One static assignment.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StaticConfig {
    /// Target by name (`evt.StrTime`, `evt.Meta.x`...).
    #[serde(default)]
    pub target: String,
    /// Target key in `evt.Parsed`.
    #[serde(default)]
    pub parsed: String,
    /// Target key in `evt.Meta`.
    #[serde(default)]
    pub meta: String,
    /// Target key in `evt.Enriched`.
    #[serde(default)]
    pub enriched: String,
    /// A constant value.
    #[serde(default, deserialize_with = "crate::yaml::scalar")]
    pub value: String,
    /// An expression giving the value.
    #[serde(default)]
    pub expression: String,
    /// An enrichment method fed with the value (`ParseDate`, `GeoIpCity`...).
    #[serde(default)]
    pub method: String,
}

/// One `stash:` entry.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StashConfig {
    /// The cache's name.
    pub name: String,
    /// Expression giving the key.
    pub key: String,
    /// Expression giving the value.
    pub value: String,
    /// Time to live (`30s`, `1h`).
    #[serde(default)]
    pub ttl: String,
    /// Maximum number of entries.
    #[serde(default)]
    pub size: usize,
    /// Eviction strategy (`LRU`, `LFU`, `ARC`).
    #[serde(default)]
    pub strategy: String,
}

/// `whitelist:` of a node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhitelistConfig {
    /// Why these are whitelisted.
    #[serde(default)]
    pub reason: String,
    /// Single addresses.
    #[serde(default)]
    pub ip: Vec<String>,
    /// Ranges.
    #[serde(default)]
    pub cidr: Vec<String>,
    /// Expressions.
    #[serde(default)]
    pub expression: Vec<String>,
}

/// One `data:` entry: a list file read from the data directory (never downloaded).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConfig {
    /// Where CrowdSec would download it from (informative only).
    #[serde(default)]
    pub source_url: String,
    /// File name inside the data directory.
    pub dest_file: String,
    /// `string`, `regexp` or `map`; empty for binary files (GeoIP databases).
    #[serde(default, rename = "type")]
    pub kind: String,
}

/// A YAML mapping of strings, in document order (Go's `yaml.MapSlice`).
fn ordered_map<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<(String, String)>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Vec<(String, String)>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a mapping of pattern names to patterns")
        }

        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, String>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    d.deserialize_any(Visitor)
}
