//! `hivewall bouncers add|list|delete` and `hivewall machines add|list|validate|delete`.

use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::Subcommand;
use rand::distr::{Alphanumeric, SampleString};

use super::backend::Backend;
use super::output::outln;
use super::output::{Output, print};

/// `bouncers` verbs.
#[derive(Debug, Subcommand)]
pub enum BouncersCommand {
    /// Register a bouncer and print its API key.
    Add {
        /// The bouncer's name.
        name: String,
        /// Use this key instead of a generated one.
        #[arg(short = 'k', long)]
        key: Option<String>,
    },
    /// List bouncers.
    List,
    /// Remove bouncers.
    Delete {
        /// Names.
        #[arg(required = true)]
        names: Vec<String>,
    },
}

/// `machines` verbs.
#[derive(Debug, Subcommand)]
pub enum MachinesCommand {
    /// Register a watcher (validated) and optionally write its credentials file.
    Add {
        /// The machine id.
        id: String,
        /// Its password (generated with --auto).
        #[arg(short = 'p', long)]
        password: Option<String>,
        /// Generate the password.
        #[arg(short = 'a', long)]
        auto: bool,
        /// Write CrowdSec's `local_api_credentials.yaml` here (`-` for standard output).
        #[arg(short = 'f', long)]
        file: Option<PathBuf>,
        /// The API URL written into the credentials file.
        #[arg(short = 'u', long)]
        url: Option<String>,
    },
    /// List watchers.
    List,
    /// Validate a watcher that registered itself.
    Validate {
        /// The machine id.
        id: String,
    },
    /// Remove watchers.
    Delete {
        /// Machine ids.
        #[arg(required = true)]
        ids: Vec<String>,
    },
}

/// Runs a `bouncers` verb.
pub fn bouncers(cmd: BouncersCommand, b: &Backend, out: Output) -> anyhow::Result<()> {
    match cmd {
        BouncersCommand::Add { name, key } => {
            let key = b.add_bouncer(&name, key)?;
            match out {
                Output::Human => {
                    outln!("API key for '{name}':\n\n   {key}\n");
                    outln!("Please keep this key since you will not be able to retrieve it!");
                }
                Output::Raw => outln!("{key}"),
                Output::Json => outln!("{}", serde_json::to_string(&key)?),
            }
        }
        BouncersCommand::List => {
            let list = b.bouncers()?;
            let rows = list
                .iter()
                .map(|x| {
                    vec![
                        x.name.clone(),
                        x.ip_address.clone(),
                        "✔️".to_string(),
                        x.last_pull.clone(),
                        x.kind.clone(),
                        x.version.clone(),
                    ]
                })
                .collect();
            let header = [
                "Name",
                "IP Address",
                "Valid",
                "Last API pull",
                "Type",
                "Version",
            ];
            print(out, &list, &header, rows)?;
        }
        BouncersCommand::Delete { names } => {
            for n in names {
                b.delete_bouncer(&n)?;
                outln!("bouncer '{n}' deleted successfully");
            }
        }
    }
    Ok(())
}

/// Runs a `machines` verb.
pub fn machines(cmd: MachinesCommand, b: &Backend, out: Output) -> anyhow::Result<()> {
    match cmd {
        MachinesCommand::Add {
            id,
            password,
            auto,
            file,
            url,
        } => {
            let password = match (password, auto) {
                (Some(p), _) => p,
                (None, true) => Alphanumeric.sample_string(&mut rand::rng(), 32),
                (None, false) => bail!("please provide a password with --password or use --auto"),
            };
            b.add_machine(&id, &password)?;
            outln!("Machine '{id}' successfully added to the local API.");
            if let Some(f) = file {
                let url = url.unwrap_or_else(|| "http://127.0.0.1:8080/".to_string());
                let text = format!("url: {url}\nlogin: {id}\npassword: {password}\n");
                if f.as_os_str() == "-" {
                    super::output::write_out(format_args!("{text}"));
                } else {
                    std::fs::write(&f, text).with_context(|| format!("writing {}", f.display()))?;
                    outln!("API credentials written to '{}'.", f.display());
                }
            }
        }
        MachinesCommand::List => {
            let list = b.machines()?;
            let rows = list
                .iter()
                .map(|m| {
                    vec![
                        m.machine_id.clone(),
                        m.ip_address.clone(),
                        m.updated_at.clone(),
                        if m.is_validated { "✔️" } else { "🚫" }.to_string(),
                        m.version.clone(),
                        m.last_heartbeat.clone(),
                    ]
                })
                .collect();
            let header = [
                "Name",
                "IP Address",
                "Last Update",
                "Status",
                "Version",
                "Last Heartbeat",
            ];
            print(out, &list, &header, rows)?;
        }
        MachinesCommand::Validate { id } => {
            b.validate_machine(&id)?;
            outln!("machine '{id}' validated successfully");
        }
        MachinesCommand::Delete { ids } => {
            for id in ids {
                b.delete_machine(&id)?;
                outln!("machine '{id}' deleted successfully");
            }
        }
    }
    Ok(())
}
