//! Where a command takes its configuration from: a hub checkout or an installed CrowdSec config.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::bail;
use clap::Args;
use engine::parser::{LoadOptions, ParserSet};
use engine::pipeline::Setup;

/// Options naming the configuration (parsers, scenarios, postoverflows, profiles).
#[derive(Debug, Clone, Args)]
pub struct ConfigArgs {
    /// A hub checkout (`parsers/<stage>/<author>/*.yaml`, `scenarios/<author>/*.yaml`).
    #[arg(long, value_name = "DIR", conflicts_with = "config_dir")]
    pub hub: Option<PathBuf>,
    /// An installed CrowdSec configuration (`/etc/crowdsec`: `parsers/<stage>/*.yaml`,
    /// `scenarios/`, `postoverflows/`, `profiles.yaml`, `patterns/`).
    #[arg(long, value_name = "DIR")]
    pub config_dir: Option<PathBuf>,
    /// The grok pattern library (default: `patterns/` of the config dir, or beside the hub).
    #[arg(long, value_name = "DIR")]
    pub patterns: Option<PathBuf>,
    /// Where data files (`data:` of parsers and scenarios) are read from (default: `data/`
    /// beside the hub, `<config-dir>/data` if it exists, else `/var/lib/crowdsec/data`).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// With --hub: only these parsers (hub names or paths, comma separated) (default: all).
    #[arg(long, value_delimiter = ',', requires = "hub")]
    pub parsers: Option<Vec<String>>,
    /// With --hub: only these scenarios (hub names or paths, comma separated) (default: all).
    #[arg(long, value_delimiter = ',', requires = "hub")]
    pub scenarios: Option<Vec<String>>,
    /// With --hub: these postoverflows (hub names or paths, comma separated) (default: none).
    #[arg(long, value_delimiter = ',', requires = "hub")]
    pub postoverflows: Option<Vec<String>>,
    /// A profiles file (default: `profiles.yaml` of the config dir).
    #[arg(long, value_name = "FILE")]
    pub profiles: Option<PathBuf>,
    /// Follow an older CrowdSec's token-bucket rounding (`1.4`) for differential runs against
    /// it; the default follows current CrowdSec.
    #[arg(long, value_name = "VERSION", value_parser = ["1.4"])]
    pub crowdsec_compat: Option<String>,
    /// Load content CrowdSec would refuse at start-up (patterns used before they are defined,
    /// duplicate names...) when hivewall can run it, with a warning for each; by default it is
    /// refused as CrowdSec refuses it (`hivewall lint` lists the rules).
    #[arg(long)]
    pub lenient: bool,
}

impl ConfigArgs {
    /// The files these arguments name.
    pub fn setup(&self) -> anyhow::Result<Setup> {
        let mut setup = match (&self.hub, &self.config_dir) {
            (Some(hub), _) => {
                let parent = hub.parent().map(PathBuf::from).unwrap_or_default();
                Setup::hub(
                    hub,
                    self.patterns
                        .clone()
                        .unwrap_or_else(|| parent.join("patterns")),
                    self.data_dir.clone().unwrap_or_else(|| parent.join("data")),
                    self.parsers.as_deref(),
                    self.scenarios.as_deref(),
                    self.postoverflows.as_deref(),
                    &[],
                )?
            }
            (None, Some(dir)) => {
                let data = self.data_dir.clone().unwrap_or_else(|| {
                    let local = dir.join("data");
                    if local.is_dir() {
                        local
                    } else {
                        PathBuf::from("/var/lib/crowdsec/data")
                    }
                });
                let mut s = Setup::installed(dir, data)?;
                if let Some(p) = &self.patterns {
                    s.patterns_dir = p.clone();
                }
                s
            }
            (None, None) => bail!("say where the configuration is: --hub DIR or --config-dir DIR"),
        };
        if let Some(p) = &self.profiles {
            setup.profiles = Some(p.clone());
        }
        if self.crowdsec_compat.as_deref() == Some("1.4") {
            setup.limiter = engine::bucket::limiter::Flavor::V1_4;
        }
        if self.lenient {
            setup.reading = engine::conformance::Reading::Lenient;
        }
        if setup.parsers.is_empty() {
            bail!("no parser files found there");
        }
        Ok(setup)
    }

    /// Loads the parsers only, printing load warnings on stderr.
    pub fn load_parsers(&self) -> anyhow::Result<ParserSet> {
        let setup = self.setup()?;
        let opts = LoadOptions {
            patterns_dir: setup.patterns_dir.clone(),
            data_dir: setup.data_dir.clone(),
            clock: Arc::new(crate::clock::SystemClock),
        };
        let set = ParserSet::load(&setup.parsers, &opts)?;
        for w in &set.warnings {
            eprintln!("warning: {w}");
        }
        Ok(set)
    }
}
