//! How operator commands print: tables on a terminal, JSON for scripts, raw (CSV) as cscli.

/// Writes a line to standard output; a closed pipe (`hivewall alerts list | head`) ends the
/// command quietly instead of panicking as `println!` does.
macro_rules! outln {
    ($($t:tt)*) => {
        $crate::ops::output::write_out(format_args!("{}\n", format_args!($($t)*)))
    };
}
pub(crate) use outln;

/// Writes to standard output, exiting quietly when the reader has gone.
pub fn write_out(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args).and_then(|()| out.flush())
        && e.kind() == std::io::ErrorKind::BrokenPipe
    {
        std::process::exit(0);
    }
}

use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
use serde::Serialize;

/// `-o`: the output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Output {
    /// Tables.
    #[default]
    Human,
    /// JSON, as cscli prints it.
    Json,
    /// CSV (cscli's `raw`).
    Raw,
}

/// Prints rows as a table or CSV, or `json` as JSON.
pub fn print<T: Serialize>(
    out: Output,
    json: &T,
    header: &[&str],
    rows: Vec<Vec<String>>,
) -> anyhow::Result<()> {
    match out {
        Output::Json => outln!("{}", serde_json::to_string_pretty(json)?),
        Output::Raw => {
            outln!("{}", header.join(","));
            for r in rows {
                let cells: Vec<String> = r.iter().map(|c| csv_cell(c)).collect();
                outln!("{}", cells.join(","));
            }
        }
        Output::Human => {
            if rows.is_empty() {
                outln!("nothing to show");
                return Ok(());
            }
            let mut t = Table::new();
            t.load_preset(UTF8_FULL_CONDENSED)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_header(header);
            for r in rows {
                t.add_row(r);
            }
            outln!("{t}");
        }
    }
    Ok(())
}

fn csv_cell(c: &str) -> String {
    if c.contains([',', '"', '\n']) {
        format!("\"{}\"", c.replace('"', "\"\""))
    } else {
        c.to_string()
    }
}

/// The hivewall series of a Prometheus text, as a table (or the text itself for `raw`).
pub fn metrics_table(text: &str, out: Output) -> String {
    if out == Output::Raw {
        return text.to_string();
    }
    let rows: Vec<(String, String)> = text
        .lines()
        .filter(|l| l.starts_with("hivewall_"))
        .filter_map(|l| {
            let (k, v) = l.rsplit_once(' ')?;
            Some((k.to_string(), v.to_string()))
        })
        .collect();
    if out == Output::Json {
        let map: serde_json::Map<String, serde_json::Value> = rows
            .into_iter()
            .map(|(k, v)| {
                let n = v.parse::<f64>().ok().and_then(serde_json::Number::from_f64);
                (
                    k,
                    n.map_or(serde_json::Value::String(v), serde_json::Value::Number),
                )
            })
            .collect();
        return format!("{}\n", serde_json::Value::Object(map));
    }
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED)
        .set_header(["metric", "value"]);
    for (k, v) in rows {
        t.add_row([k, v]);
    }
    format!("{t}\n")
}
