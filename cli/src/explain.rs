//! `hivewall explain`: what each parser did to a line, stage by stage.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use engine::event::{Acquisition, Event, ExpectMode, event_to_json};
use engine::parser::Collector;
use serde_json::Value as Json;

use crate::input::read_lines;
use crate::sources::ConfigArgs;

/// Arguments of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// The acquisition type label (`syslog`, `nginx`...).
    #[arg(long = "type", value_name = "TYPE")]
    pub log_type: String,
    /// One line to explain.
    #[arg(long, conflicts_with = "file", required_unless_present = "file")]
    pub line: Option<String>,
    /// A file whose lines are explained one after the other.
    #[arg(long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Also list the nodes that did not match.
    #[arg(long)]
    pub verbose: bool,
    #[command(flatten)]
    pub config: ConfigArgs,
}

struct Step {
    stage: String,
    node: String,
    success: bool,
    changes: Vec<Change>,
}

enum Change {
    Added(String, String),
    Changed(String, String, String),
    Removed(String),
}

/// Records every node's outcome with what it changed.
struct Tracer {
    last: BTreeMap<String, String>,
    steps: Vec<Step>,
}

/// The fields worth showing, flattened (`Parsed.program`, `Meta.source_ip`, `StrTime`...).
fn flatten(evt: &Event) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let j = event_to_json(evt);
    for section in ["Parsed", "Meta", "Enriched", "Unmarshaled"] {
        if let Some(Json::Object(m)) = j.get(section) {
            for (k, v) in m {
                let v = match v {
                    Json::String(s) => s.clone(),
                    other => other.to_string(),
                };
                out.insert(format!("{section}.{k}"), v);
            }
        }
    }
    for f in [
        "StrTime",
        "StrTimeFormat",
        "MarshaledTime",
        "WhitelistReason",
    ] {
        if let Some(Json::String(s)) = j.get(f)
            && !s.is_empty()
        {
            out.insert(f.to_string(), s.clone());
        }
    }
    if evt.whitelisted {
        out.insert("Whitelisted".into(), "true".into());
    }
    out
}

impl Collector for Tracer {
    fn node_done(&mut self, stage: &str, node: &str, evt: &Event, success: bool) {
        let now = flatten(evt);
        let mut changes = Vec::new();
        for (k, v) in &now {
            match self.last.get(k) {
                None => changes.push(Change::Added(k.clone(), v.clone())),
                Some(old) if old != v => {
                    changes.push(Change::Changed(k.clone(), old.clone(), v.clone()))
                }
                _ => {}
            }
        }
        for k in self.last.keys().filter(|k| !now.contains_key(*k)) {
            changes.push(Change::Removed(k.clone()));
        }
        self.last = now;
        self.steps.push(Step {
            stage: stage.into(),
            node: node.into(),
            success,
            changes,
        });
    }
}

struct Paint(bool);

impl Paint {
    fn c(&self, code: &str, s: &str) -> String {
        if self.0 {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
}

/// Runs `explain`.
pub fn run(args: &ExplainArgs) -> anyhow::Result<ExitCode> {
    let parsers = args.config.load_parsers()?;
    let lines = match (&args.line, &args.file) {
        (Some(l), _) => vec![l.clone()],
        (None, Some(f)) => {
            let l = read_lines(f)?;
            l.report(f);
            l.lines
        }
        (None, None) => anyhow::bail!("give --line or --file"),
    };
    let src = args
        .file
        .as_ref()
        .map_or("explain".into(), |f| f.display().to_string());
    let source = Acquisition::new(&src, "file", &args.log_type, []);
    let paint = Paint(std::io::stdout().is_terminal());
    let mut out = std::io::stdout().lock();
    for raw in lines {
        let mut evt = source.event(raw.clone(), ExpectMode::TimeMachine);
        let mut tracer = Tracer {
            last: BTreeMap::new(),
            steps: Vec::new(),
        };
        let result = parsers.parse(&mut evt, Some(&mut tracer));
        writeln!(out, "line: {raw}")?;
        let mut stage = String::new();
        for step in &tracer.steps {
            if !step.success && !args.verbose {
                continue;
            }
            if step.stage != stage {
                stage = step.stage.clone();
                writeln!(out, "\t├ {}", paint.c("1", &stage))?;
            }
            let mark = if step.success {
                paint.c("32", "🟢")
            } else {
                paint.c("31", "🔴")
            };
            writeln!(out, "\t│\t├ {mark} {}", step.node)?;
            for ch in step.changes.iter().filter(|_| step.success) {
                let text = match ch {
                    Change::Added(k, v) => paint.c("32", &format!("+ {k} = {v}")),
                    Change::Changed(k, o, v) => paint.c("33", &format!("~ {k} : {o} -> {v}")),
                    Change::Removed(k) => paint.c("31", &format!("- {k}")),
                };
                writeln!(out, "\t│\t│\t{text}")?;
            }
        }
        match result {
            Ok(true) => writeln!(
                out,
                "\t└ {}",
                paint.c("32", "🟢 parsed: the event goes to the scenarios")
            )?,
            Ok(false) => writeln!(
                out,
                "\t└ {}",
                paint.c(
                    "31",
                    "🔴 unparsed: no parser took the line through every stage"
                )
            )?,
            Err(e) => writeln!(out, "\t└ {}", paint.c("31", &format!("🔴 aborted: {e}")))?,
        }
        writeln!(out)?;
    }
    Ok(ExitCode::SUCCESS)
}
