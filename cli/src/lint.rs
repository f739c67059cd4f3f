//! `hivewall lint`: checks a CrowdSec configuration directory or a hub checkout against the
//! rules by which CrowdSec refuses content at start-up, without running anything.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use engine::conformance::{CrowdsecVersion, LintTarget, Severity, lint};

/// Which CrowdSec to check against.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum VersionArg {
    /// Current CrowdSec (1.7).
    #[value(name = "current")]
    Current,
    /// CrowdSec 1.4 (Debian 12's 1.4.6): also what it lacks (helpers, list labels, newer keys).
    #[value(name = "1.4")]
    V14,
}

/// Arguments of `lint`.
#[derive(Debug, Args)]
pub struct LintArgs {
    /// A configuration directory (`/etc/crowdsec`, hivewall's `scenarios/`) or a hub checkout
    /// (told apart by `parsers/<stage>/<author>/`).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,
    /// The CrowdSec release to check against.
    #[arg(long, value_enum, default_value = "current")]
    pub crowdsec_version: VersionArg,
    /// The grok pattern library of a hub checkout (default: `patterns/` beside it).
    #[arg(long, value_name = "DIR")]
    pub patterns: Option<PathBuf>,
    /// Where data files are (default: `data/` in the config dir, or beside the hub).
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// One JSON object per finding instead of lines.
    #[arg(long)]
    pub json: bool,
    /// Exit non-zero on warnings too.
    #[arg(long)]
    pub deny_warnings: bool,
}

/// Runs `lint`: prints the findings; exits 1 when CrowdSec would refuse something (or, with
/// `--deny-warnings`, warns about something).
pub fn run(args: &LintArgs) -> anyhow::Result<ExitCode> {
    if !args.dir.is_dir() {
        anyhow::bail!("{}: not a directory", args.dir.display());
    }
    let target = LintTarget::detect(&args.dir, args.patterns.clone(), args.data_dir.clone());
    let version = match args.crowdsec_version {
        VersionArg::Current => CrowdsecVersion::Current,
        VersionArg::V14 => CrowdsecVersion::V1_4,
    };
    let report = lint(&target, version)?;
    for f in &report.findings {
        if args.json {
            println!("{}", serde_json::to_string(f)?);
        } else {
            println!("{f}");
        }
    }
    let against = match version {
        CrowdsecVersion::Current => "current CrowdSec",
        CrowdsecVersion::V1_4 => "CrowdSec 1.4",
    };
    let kind = match target {
        LintTarget::ConfigDir { .. } => "config dir",
        LintTarget::Hub { .. } => "hub",
    };
    eprintln!(
        "{} ({kind}, {} files) against {against}: {} errors, {} warnings",
        args.dir.display(),
        report.files,
        report.errors(),
        report.warnings()
    );
    let failed = report.findings.iter().any(|f| {
        f.severity == Severity::Error || (args.deny_warnings && f.severity == Severity::Warning)
    });
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
