//! `genlog auth|auth-bf|nginx LINES SEED`: write a deterministic generated log to stdout.

use std::io::{self, Write};
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: genlog auth|auth-bf|nginx LINES SEED > file";
    let [kind, lines, seed] = args.as_slice() else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let (Ok(lines), Ok(seed)) = (lines.parse::<usize>(), seed.parse::<u64>()) else {
        eprintln!("genlog: LINES and SEED must be non-negative integers\n{usage}");
        return ExitCode::from(2);
    };
    let text = match kind.as_str() {
        "auth" => benches::auth_log(lines, seed),
        "auth-bf" => benches::auth_bf_log(lines, seed),
        "nginx" => benches::nginx_log(lines, seed),
        other => {
            eprintln!("genlog: unknown log kind '{other}'\n{usage}");
            return ExitCode::from(2);
        }
    };
    let mut out = io::BufWriter::with_capacity(1 << 16, io::stdout().lock());
    if let Err(e) = out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        if e.kind() == io::ErrorKind::BrokenPipe {
            return ExitCode::SUCCESS;
        }
        eprintln!("genlog: write error: {e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
