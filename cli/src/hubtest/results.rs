//! Parser results: what every top-level node did to every line (CrowdSec's parser dump).

use std::collections::BTreeMap;

use engine::event::{Event, event_to_json};
use engine::expr::Value;
use engine::parser::Collector;
use serde_json::{Value as Json, json};

/// One node's outcome on one line.
#[derive(Debug, Clone)]
pub struct NodeResult {
    /// Position of the parser in its stage, 1-based, in first-seen order (CrowdSec's `Idx`).
    pub idx: usize,
    /// Whether the node succeeded.
    pub success: bool,
    /// The event as it left the node.
    pub evt: Event,
}

/// stage → parser name → results in line order. Includes CrowdSec's `success` pseudo-stage
/// (always with one empty entry under the name `""`).
#[derive(Debug, Clone)]
pub struct ParserResults {
    /// The results.
    pub stages: BTreeMap<String, BTreeMap<String, Vec<NodeResult>>>,
}

impl Default for ParserResults {
    fn default() -> Self {
        let mut stages = BTreeMap::new();
        stages.insert(
            "success".to_string(),
            BTreeMap::from([(String::new(), Vec::new())]),
        );
        ParserResults { stages }
    }
}

impl Collector for ParserResults {
    fn node_done(&mut self, stage: &str, node: &str, evt: &Event, success: bool) {
        let stage_map = self.stages.entry(stage.to_string()).or_default();
        let idx = match stage_map.get(node).and_then(|v| v.first()) {
            Some(first) => first.idx,
            None => stage_map.len() + 1,
        };
        stage_map
            .entry(node.to_string())
            .or_default()
            .push(NodeResult {
                idx,
                success,
                evt: evt.clone(),
            });
    }
}

impl ParserResults {
    /// The dump as JSON (`parser-dump.json`), keys named as CrowdSec's Go fields.
    pub fn to_json(&self) -> Json {
        self.stages
            .iter()
            .map(|(stage, parsers)| {
                let p: serde_json::Map<String, Json> = parsers
                    .iter()
                    .map(|(name, results)| {
                        let list = results
                            .iter()
                            .map(|r| json!({"Idx": r.idx, "Success": r.success, "Evt": event_to_json(&r.evt)}))
                            .collect();
                        (name.clone(), Json::Array(list))
                    })
                    .collect();
                (stage.clone(), Json::Object(p))
            })
            .collect()
    }

    /// The results as an expression value (`results` in `parser.assert`), borrowing the events
    /// so that Go's zero-value semantics of event fields hold.
    pub fn as_value(&self) -> Value<'_> {
        Value::Map(
            self.stages
                .iter()
                .map(|(stage, parsers)| {
                    let p = parsers
                        .iter()
                        .map(|(name, results)| {
                            let list = results
                                .iter()
                                .map(|r| {
                                    Value::Map(BTreeMap::from([
                                        ("Idx".to_string(), Value::Int(r.idx as i64)),
                                        ("Success".to_string(), Value::Bool(r.success)),
                                        ("Evt".to_string(), Value::Obj(&r.evt)),
                                    ]))
                                })
                                .collect();
                            (name.clone(), Value::List(list))
                        })
                        .collect();
                    (stage.clone(), Value::Map(p))
                })
                .collect(),
        )
    }
}
