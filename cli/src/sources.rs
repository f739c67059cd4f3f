//! Where a command takes its parsers from: a hub checkout or an installed CrowdSec config.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use clap::Args;
use engine::parser::{LoadOptions, ParserFile, ParserSet, hub_stage_files, installed_stage_files};

/// Options naming the parser configuration.
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A hub checkout (`parsers/<stage>/<author>/*.yaml`): every parser in it is loaded.
    #[arg(long, value_name = "DIR", conflicts_with = "config_dir")]
    pub hub: Option<PathBuf>,
    /// An installed CrowdSec configuration (`/etc/crowdsec`: `parsers/<stage>/*.yaml`, `patterns/`).
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// The grok pattern library [default: `patterns/` of the config dir, or beside the hub].
    #[arg(long, value_name = "DIR")]
    pub patterns: Option<PathBuf>,
    /// Where data files (`data:` of parsers) are read from [default: `data/` beside the hub, or
    /// `/var/lib/crowdsec/data` with `--config-dir`].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
}

impl ConfigArgs {
    /// The parser files and load options these arguments name.
    pub fn resolve(&self) -> anyhow::Result<(Vec<ParserFile>, LoadOptions)> {
        let (files, patterns, data) = match (&self.hub, &self.config_dir) {
            (Some(hub), _) => {
                let parent = hub.parent().map(PathBuf::from).unwrap_or_default();
                (
                    hub_stage_files(hub, "parsers")?,
                    parent.join("patterns"),
                    parent.join("data"),
                )
            }
            (None, Some(dir)) => (
                installed_stage_files(&dir.join("parsers"))?,
                dir.join("patterns"),
                PathBuf::from("/var/lib/crowdsec/data"),
            ),
            (None, None) => bail!("say where the parsers are: --hub DIR or --config-dir DIR"),
        };
        if files.is_empty() {
            bail!("no parser files found there");
        }
        let opts = LoadOptions {
            patterns_dir: self.patterns.clone().unwrap_or(patterns),
            data_dir: self.data_dir.clone().unwrap_or(data),
            clock: Arc::new(crate::clock::SystemClock),
        };
        Ok((files, opts))
    }

    /// Loads the parsers, printing load warnings on stderr.
    pub fn load(&self) -> anyhow::Result<ParserSet> {
        let (files, opts) = self.resolve()?;
        let set = ParserSet::load(&files, &opts)?;
        for w in &set.warnings {
            eprintln!("warning: {w}");
        }
        Ok(set)
    }
}
