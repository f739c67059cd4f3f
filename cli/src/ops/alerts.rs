//! `hivewall alerts list|inspect|delete`, with cscli's flags.

use anyhow::bail;
use clap::{Args, Subcommand};

use super::backend::{Backend, Query};
use super::output::outln;
use super::output::{Output, print};

/// `alerts` verbs.
#[derive(Debug, Subcommand)]
pub enum AlertsCommand {
    /// List alerts.
    List(ListArgs),
    /// Show one alert with its events and decisions.
    Inspect {
        /// Alert ids.
        #[arg(required = true)]
        ids: Vec<i64>,
        /// Also list the events.
        #[arg(short = 'd', long)]
        details: bool,
    },
    /// Delete alerts (and their decisions).
    Delete(DeleteArgs),
}

/// Alert filters.
#[derive(Debug, Args)]
pub struct Filters {
    /// Source IP.
    #[arg(short = 'i', long)]
    ip: Option<String>,
    /// Source range.
    #[arg(short = 'r', long)]
    range: Option<String>,
    /// Scenario.
    #[arg(short = 's', long)]
    scenario: Option<String>,
    /// Source scope.
    #[arg(long)]
    scope: Option<String>,
    /// Source value.
    #[arg(short = 'v', long)]
    value: Option<String>,
}

/// `alerts list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    filters: Filters,
    /// Alerts newer than this duration (e.g. 4h).
    #[arg(long)]
    since: Option<String>,
    /// Alerts older than this duration.
    #[arg(long)]
    until: Option<String>,
    /// Only alerts with an active decision.
    #[arg(long)]
    active: bool,
    /// Include alerts of the community blocklist.
    #[arg(short = 'a', long)]
    all: bool,
    /// Most alerts to show (0: no limit).
    #[arg(short = 'l', long, default_value_t = 50)]
    limit: usize,
}

/// `alerts delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    filters: Filters,
    /// One alert by id.
    #[arg(long)]
    id: Option<i64>,
    /// Every alert.
    #[arg(long)]
    all: bool,
}

impl Filters {
    fn query(&self) -> Query {
        [
            ("ip", &self.ip),
            ("range", &self.range),
            ("scenario", &self.scenario),
            ("scope", &self.scope),
            ("value", &self.value),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| (k.to_string(), v.clone())))
        .collect()
    }
}

/// Runs an `alerts` verb.
pub fn run(cmd: AlertsCommand, b: &Backend, out: Output) -> anyhow::Result<()> {
    match cmd {
        AlertsCommand::List(a) => {
            let mut q = a.filters.query();
            for (k, v) in [("since", &a.since), ("until", &a.until)] {
                if let Some(v) = v {
                    q.push((k.into(), v.clone()));
                }
            }
            if a.active {
                q.push(("has_active_decision".into(), "true".into()));
            }
            if !a.all {
                q.push(("include_capi".into(), "false".into()));
            }
            q.push(("limit".into(), a.limit.to_string()));
            let alerts = b.alerts(&q)?;
            let rows = alerts
                .iter()
                .map(|al| {
                    let decisions: Vec<String> = al
                        .decisions
                        .iter()
                        .map(|d| format!("{}:{}", d.kind, d.duration))
                        .collect();
                    vec![
                        al.id.to_string(),
                        format!("{}:{}", al.source.scope, al.source.value),
                        al.scenario.clone(),
                        al.source.cn.clone(),
                        format!("{} {}", al.source.as_number, al.source.as_name)
                            .trim()
                            .to_string(),
                        decisions.join(" "),
                        al.created_at.clone(),
                    ]
                })
                .collect();
            let header = [
                "ID",
                "value",
                "reason",
                "country",
                "as",
                "decisions",
                "created_at",
            ];
            print(out, &alerts, &header, rows)
        }
        AlertsCommand::Inspect { ids, details } => {
            for id in ids {
                let al = b.alert(id)?;
                if out == Output::Json {
                    outln!("{}", serde_json::to_string_pretty(&al)?);
                    continue;
                }
                outln!("################################################################");
                outln!(" - ID           : {}", al.id);
                outln!(" - Date         : {}", al.created_at);
                outln!(" - Machine      : {}", al.machine_id);
                outln!(" - Simulation   : {}", al.simulated);
                outln!(" - Reason       : {}", al.scenario);
                outln!(" - Events Count : {}", al.events_count);
                outln!(" - Scope:Value  : {}:{}", al.source.scope, al.source.value);
                outln!(" - Country      : {}", al.source.cn);
                outln!(" - AS           : {}", al.source.as_name);
                outln!(" - Begin        : {}", al.start_at);
                outln!(" - End          : {}", al.stop_at);
                outln!(" - Decisions    :");
                for d in &al.decisions {
                    outln!(
                        "   {} {} {}:{} {} ({})",
                        d.id,
                        d.kind,
                        d.scope,
                        d.value,
                        d.duration,
                        d.origin
                    );
                }
                if details {
                    outln!(" - Events       :");
                    for e in &al.events {
                        let meta: Vec<String> = e
                            .meta
                            .iter()
                            .map(|m| format!("{}={}", m.key, m.value))
                            .collect();
                        outln!("   {} {}", e.timestamp, meta.join(" "));
                    }
                }
            }
            Ok(())
        }
        AlertsCommand::Delete(a) => {
            let q = a.filters.query();
            if a.id.is_none() && !a.all && q.is_empty() {
                bail!("at least one filter or --all must be specified");
            }
            let n = b.delete_alerts(&q, a.id)?;
            outln!("{n} alert(s) deleted");
            Ok(())
        }
    }
}
