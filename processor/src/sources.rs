//! The engine's per-source acquisition (labels, module) built once per source, not per line.

use std::collections::BTreeMap;

use engine::event::Acquisition;

/// Acquisitions by source name, rebuilt when a source's module or labels change.
#[derive(Default)]
pub(crate) struct Sources {
    map: foldhash::HashMap<String, (String, BTreeMap<String, String>, Acquisition)>,
}

impl Sources {
    /// The acquisition of the source `src`.
    pub(crate) fn get(
        &mut self,
        src: &str,
        module: &str,
        labels: &BTreeMap<String, String>,
    ) -> &Acquisition {
        let fresh = match self.map.get(src) {
            Some((m, l, _)) => m != module || l != labels,
            None => true,
        };
        if fresh {
            let log_type = labels.get("type").map(String::as_str).unwrap_or("");
            let acq = Acquisition::new(
                src,
                module,
                log_type,
                labels
                    .iter()
                    .filter(|(k, _)| k.as_str() != "type")
                    .map(|(k, v)| (k.as_str(), v.as_str())),
            );
            self.map
                .insert(src.to_string(), (module.to_string(), labels.clone(), acq));
        }
        // Inserted just above when missing.
        &self
            .map
            .get(src)
            .unwrap_or_else(|| unreachable!("source cached above"))
            .2
    }
}
