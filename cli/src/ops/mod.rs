//! Operator commands with cscli's verbs and flags: `decisions`, `alerts`, `bouncers`,
//! `machines`, `metrics`. They act on the running process through its API, or on the store
//! directly when nothing runs ([`backend`]).

mod alerts;
pub mod backend;
mod decisions;
mod members;
mod output;

use std::process::ExitCode;

use clap::Subcommand;

pub use alerts::AlertsCommand;
pub use decisions::DecisionsCommand;
pub use members::{BouncersCommand, MachinesCommand};
pub use output::Output;

use crate::Global;
use backend::Backend;

/// One operator command.
#[derive(Debug, Subcommand)]
pub enum OpsCommand {
    /// Manage decisions (list, add, delete, import).
    #[command(subcommand)]
    Decisions(DecisionsCommand),
    /// Manage alerts (list, inspect, delete).
    #[command(subcommand)]
    Alerts(AlertsCommand),
    /// Manage bouncers (add, list, delete).
    #[command(subcommand)]
    Bouncers(BouncersCommand),
    /// Manage watchers (add, list, validate, delete).
    #[command(subcommand)]
    Machines(MachinesCommand),
    /// Show the running process's metrics.
    Metrics,
}

/// Runs an operator command.
pub fn run(cmd: OpsCommand, global: &Global) -> anyhow::Result<ExitCode> {
    let s = crate::run::settings(global, None, None)?;
    let backend = Backend::connect(&s.state_dir, s.listen)?;
    let out = global.output.unwrap_or_default();
    match cmd {
        OpsCommand::Decisions(c) => decisions::run(c, &backend, out),
        OpsCommand::Alerts(c) => alerts::run(c, &backend, out),
        OpsCommand::Bouncers(c) => members::bouncers(c, &backend, out),
        OpsCommand::Machines(c) => members::machines(c, &backend, out),
        OpsCommand::Metrics => {
            output::write_out(format_args!(
                "{}",
                output::metrics_table(&backend.metrics()?, out)
            ));
            Ok(())
        }
    }?;
    Ok(ExitCode::SUCCESS)
}
