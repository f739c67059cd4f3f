//! `hivewall decisions list|add|delete|import`, with cscli's flags.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use decision_api::admin::AddDecisionRequest;
use indicatif::{ProgressBar, ProgressStyle};

use super::backend::{Backend, Query};
use super::output::outln;
use super::output::{Output, print};

/// `decisions` verbs.
#[derive(Debug, Subcommand)]
pub enum DecisionsCommand {
    /// List active decisions (through their alerts, as cscli does).
    List(ListArgs),
    /// Add a decision by hand.
    Add(AddArgs),
    /// Delete decisions.
    Delete(DeleteArgs),
    /// Import decisions from a file (JSON, CSV or one value per line).
    Import(ImportArgs),
}

/// Filters shared by `list` and `delete`.
#[derive(Debug, Args)]
pub struct Filters {
    /// Source IP (shorthand for `--scope ip --value IP`).
    #[arg(short = 'i', long)]
    pub ip: Option<String>,
    /// Source range (shorthand for `--scope range --value RANGE`).
    #[arg(short = 'r', long)]
    pub range: Option<String>,
    /// Decision type (ban, captcha...).
    #[arg(short = 't', long = "type")]
    pub kind: Option<String>,
    /// Decision scope.
    #[arg(long)]
    pub scope: Option<String>,
    /// Decision value.
    #[arg(short = 'v', long)]
    pub value: Option<String>,
    /// Scenario (reason).
    #[arg(short = 's', long)]
    pub scenario: Option<String>,
    /// Origin (crowdsec, cscli, lists...).
    #[arg(long)]
    pub origin: Option<String>,
    /// With --ip/--range: decisions contained in it rather than containing it.
    #[arg(long)]
    pub contained: bool,
}

/// `decisions list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    #[command(flatten)]
    filters: Filters,
    /// Include decisions from the community blocklist and lists.
    #[arg(short = 'a', long)]
    all: bool,
    /// Alerts newer than this duration (e.g. 4h).
    #[arg(long)]
    since: Option<String>,
    /// Alerts older than this duration.
    #[arg(long)]
    until: Option<String>,
    /// Most alerts to show (0: no limit).
    #[arg(short = 'l', long, default_value_t = 100)]
    limit: usize,
}

/// `decisions add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// Source IP.
    #[arg(short = 'i', long)]
    ip: Option<String>,
    /// Source range.
    #[arg(short = 'r', long)]
    range: Option<String>,
    /// Value (with --scope).
    #[arg(short = 'v', long)]
    value: Option<String>,
    /// Scope of --value.
    #[arg(long, default_value = "Ip")]
    scope: String,
    /// Duration (Go syntax: 4h, 30m, 1h30m).
    #[arg(short = 'd', long, default_value = "4h")]
    duration: String,
    /// Type (ban, captcha, throttle...).
    #[arg(short = 't', long = "type", default_value = "ban")]
    kind: String,
    /// Reason (shown as the scenario).
    #[arg(short = 'R', long)]
    reason: Option<String>,
}

/// `decisions delete`.
#[derive(Debug, Args)]
pub struct DeleteArgs {
    #[command(flatten)]
    filters: Filters,
    /// Delete one decision by id.
    #[arg(long)]
    id: Option<i64>,
    /// Delete every decision.
    #[arg(long)]
    all: bool,
}

/// `decisions import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The file (`-` for standard input).
    #[arg(short = 'i', long = "input")]
    input: PathBuf,
    /// `json`, `csv` or `values` (default: from the extension; values otherwise).
    #[arg(long)]
    format: Option<String>,
    /// Duration of lines that give none.
    #[arg(short = 'd', long, default_value = "4h")]
    duration: String,
    /// Scope of lines that give none.
    #[arg(long, default_value = "Ip")]
    scope: String,
    /// Reason of lines that give none.
    #[arg(short = 'R', long, default_value = "manual")]
    reason: String,
    /// Type of lines that give none.
    #[arg(short = 't', long = "type", default_value = "ban")]
    kind: String,
    /// Decisions sent per request.
    #[arg(long, default_value_t = 10_000)]
    batch: usize,
}

fn push(q: &mut Query, k: &str, v: impl ToString) {
    q.push((k.to_string(), v.to_string()));
}

impl Filters {
    fn query(&self, q: &mut Query) {
        let pairs = [
            ("ip", &self.ip),
            ("range", &self.range),
            ("scope", &self.scope),
            ("value", &self.value),
            ("scenario", &self.scenario),
            ("origin", &self.origin),
        ];
        for (k, v) in pairs {
            if let Some(v) = v {
                push(q, k, v);
            }
        }
        if self.contained {
            push(q, "contains", "false");
        }
    }

    fn is_empty(&self) -> bool {
        self.ip.is_none()
            && self.range.is_none()
            && self.kind.is_none()
            && self.scope.is_none()
            && self.value.is_none()
            && self.scenario.is_none()
            && self.origin.is_none()
    }
}

/// Runs a `decisions` verb.
pub fn run(cmd: DecisionsCommand, b: &Backend, out: Output) -> anyhow::Result<()> {
    match cmd {
        DecisionsCommand::List(a) => list(&a, b, out),
        DecisionsCommand::Add(a) => add(a, b),
        DecisionsCommand::Delete(a) => delete(&a, b),
        DecisionsCommand::Import(a) => import(&a, b),
    }
}

fn list(a: &ListArgs, b: &Backend, out: Output) -> anyhow::Result<()> {
    let mut q = Query::new();
    push(&mut q, "has_active_decision", "true");
    a.filters.query(&mut q);
    if let Some(t) = &a.filters.kind {
        push(&mut q, "decision_type", t);
    }
    if !a.all {
        push(&mut q, "include_capi", "false");
    }
    if let Some(s) = &a.since {
        push(&mut q, "since", s);
    }
    if let Some(u) = &a.until {
        push(&mut q, "until", u);
    }
    push(&mut q, "limit", a.limit);
    let alerts = b.alerts(&q)?;
    let mut rows = Vec::new();
    for al in &alerts {
        for d in &al.decisions {
            rows.push(vec![
                d.id.to_string(),
                d.origin.clone(),
                format!("{}:{}", d.scope, d.value),
                d.scenario.clone(),
                d.kind.clone(),
                al.source.cn.clone(),
                format!("{} {}", al.source.as_number, al.source.as_name)
                    .trim()
                    .to_string(),
                al.events_count.to_string(),
                d.duration.clone(),
                al.id.to_string(),
            ]);
        }
    }
    let header = [
        "ID",
        "Source",
        "Scope:Value",
        "Reason",
        "Action",
        "Country",
        "AS",
        "Events",
        "expiration",
        "Alert ID",
    ];
    if alerts.is_empty() && out == Output::Json {
        outln!("null");
        return Ok(());
    }
    print(out, &alerts, &header, rows)
}

fn add(a: AddArgs, b: &Backend) -> anyhow::Result<()> {
    let (scope, value) = match (a.ip, a.range, a.value) {
        (Some(ip), None, None) => ("Ip".to_string(), ip),
        (None, Some(r), None) => ("Range".to_string(), r),
        (None, None, Some(v)) => (a.scope, v),
        (None, None, None) => {
            bail!("missing arguments, a value is required (--ip, --range or --value)")
        }
        _ => bail!("give one of --ip, --range or --value"),
    };
    let reason = a
        .reason
        .unwrap_or_else(|| format!("manual '{}' from 'hivewall'", a.kind));
    b.add_decisions(vec![AddDecisionRequest {
        value,
        scope,
        kind: a.kind,
        duration: a.duration,
        reason,
        origin: "cscli".into(),
    }])?;
    outln!("Decision successfully added");
    Ok(())
}

fn delete(a: &DeleteArgs, b: &Backend) -> anyhow::Result<()> {
    if a.id.is_none() && !a.all && a.filters.is_empty() {
        bail!("at least one filter or --all must be specified");
    }
    let mut q = Query::new();
    a.filters.query(&mut q);
    if let Some(t) = &a.filters.kind {
        push(&mut q, "type", t);
    }
    let n = b.delete_decisions(&q, a.id)?;
    outln!("{n} decision(s) deleted");
    Ok(())
}

/// One line of an import file (cscli's field names; `reason` is the scenario).
#[derive(Debug, Default, serde::Deserialize)]
struct ImportLine {
    #[serde(default)]
    duration: String,
    #[serde(default)]
    origin: String,
    #[serde(default, alias = "scenario")]
    reason: String,
    #[serde(default)]
    scope: String,
    #[serde(default, rename = "type")]
    kind: String,
    value: String,
}

fn read_input(path: &Path) -> anyhow::Result<String> {
    if path == Path::new("-") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)?;
        return Ok(s);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn parse_import(text: &str, format: &str, origin: &str) -> anyhow::Result<Vec<ImportLine>> {
    match format {
        "json" => serde_json::from_str(text)
            .with_context(|| format!("{origin}: not a JSON array of decisions")),
        "csv" => {
            let mut lines = text
                .lines()
                .enumerate()
                .filter(|(_, l)| !l.trim().is_empty());
            let Some((_, header)) = lines.next() else {
                return Ok(Vec::new());
            };
            let cols: Vec<String> = header.split(',').map(|c| c.trim().to_lowercase()).collect();
            if !cols.iter().any(|c| c == "value") {
                bail!("{origin}:1: the CSV header has no 'value' column");
            }
            let mut out = Vec::new();
            for (n, l) in lines {
                let mut item = serde_json::Map::new();
                for (c, v) in cols.iter().zip(l.split(',')) {
                    item.insert(c.clone(), serde_json::Value::String(v.trim().to_string()));
                }
                let line: ImportLine = serde_json::from_value(serde_json::Value::Object(item))
                    .with_context(|| format!("{origin}:{}: bad CSV line", n + 1))?;
                out.push(line);
            }
            Ok(out)
        }
        "values" => Ok(text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|v| ImportLine {
                value: v.to_string(),
                ..ImportLine::default()
            })
            .collect()),
        other => bail!("unknown format {other:?}: json, csv or values"),
    }
}

fn import(a: &ImportArgs, b: &Backend) -> anyhow::Result<()> {
    let text = read_input(&a.input)?;
    let format = a.format.clone().unwrap_or_else(|| {
        match a.input.extension().and_then(|e| e.to_str()) {
            Some("json") => "json",
            Some("csv") => "csv",
            _ => "values",
        }
        .to_string()
    });
    let origin = a.input.display().to_string();
    let lines = parse_import(&text, &format, &origin)?;
    if lines.is_empty() {
        bail!("{origin}: no decisions to import");
    }
    let or = |v: String, d: &str| if v.is_empty() { d.to_string() } else { v };
    let reqs: Vec<AddDecisionRequest> = lines
        .into_iter()
        .map(|l| AddDecisionRequest {
            // A range given where the default scope (Ip) applies is a Range.
            scope: match or(l.scope, &a.scope) {
                s if s.eq_ignore_ascii_case("ip") && l.value.contains('/') => "Range".into(),
                s => s,
            },
            value: l.value,
            kind: or(l.kind, &a.kind),
            duration: or(l.duration, &a.duration),
            reason: or(l.reason, &a.reason),
            origin: or(l.origin, "cscli-import"),
        })
        .collect();
    let bar = ProgressBar::new(reqs.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} decisions")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut added = 0;
    for chunk in reqs.chunks(a.batch.max(1)) {
        added += b.add_decisions(chunk.to_vec())?.added;
        bar.inc(chunk.len() as u64);
    }
    bar.finish_and_clear();
    outln!("Imported {added} decisions");
    Ok(())
}
