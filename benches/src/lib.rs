//! Benchmark helpers: deterministic generators of realistic logs. Not shipped in any service.

/// A small deterministic PRNG (xorshift64*), so generated logs are identical run to run.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded generator (a zero seed is replaced).
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

mod auth;
mod nginx;

/// The value after `--name` on the command line, if given (the bench binaries' options).
pub fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

/// Loads the hub parsers `names` (`crowdsecurity/sshd-logs`...) from `hub` with the patterns
/// and data beside it, on a fixed clock (2026-01-01), as the parse benchmarks run them.
pub fn hub_parsers(
    hub: &std::path::Path,
    names: &[String],
) -> Result<engine::parser::ParserSet, Box<dyn std::error::Error>> {
    let shared = hub
        .parent()
        .map(std::path::PathBuf::from)
        .unwrap_or_default();
    let files = engine::parser::resolve_hub_items(hub, "parsers", names, &[])?;
    let opts = engine::parser::LoadOptions {
        patterns_dir: shared.join("patterns"),
        data_dir: shared.join("data"),
        clock: std::sync::Arc::new(engine::clock::FixedClock(
            chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap_or_default(),
        )),
    };
    Ok(engine::parser::ParserSet::load(&files, &opts)?)
}

pub use auth::{auth_bf_log, auth_log};
pub use nginx::nginx_log;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_log_is_deterministic_and_sized() {
        let a = auth_log(1000, 42);
        assert_eq!(a, auth_log(1000, 42));
        assert_eq!(a.lines().count(), 1000);
        assert!(a.lines().all(|l| l.len() > 30 && l.contains("]: ")));
        assert_ne!(a, auth_log(1000, 43));
    }

    #[test]
    fn auth_bf_log_is_deterministic_and_bursty() {
        let a = auth_bf_log(5000, 3);
        assert_eq!(a, auth_bf_log(5000, 3));
        assert_ne!(a, auth_bf_log(5000, 4));
        assert_eq!(a.lines().count(), 5000);
        assert!(a.lines().all(|l| l.len() > 30 && l.contains("]: ")));
        // Some address fails at least 6 times within 10 seconds of log time.
        let mut by_ip: std::collections::HashMap<&str, Vec<u32>> = Default::default();
        for l in a.lines().filter(|l| l.contains("Failed password")) {
            let ip = l.split(" from ").nth(1).unwrap().split(' ').next().unwrap();
            let clock: Vec<u32> = l[7..15].split(':').map(|x| x.parse().unwrap()).collect();
            let day: u32 = l[4..6].trim().parse().unwrap();
            by_ip
                .entry(ip)
                .or_default()
                .push(((day * 24 + clock[0]) * 60 + clock[1]) * 60 + clock[2]);
        }
        assert!(
            by_ip
                .values()
                .any(|ts| ts.windows(6).any(|w| w[5] - w[0] <= 10))
        );
    }

    /// Shape of a combined-format access line, or of an nginx error-log line.
    fn nginx_line_ok(l: &str) -> bool {
        let access = || -> Option<()> {
            let (ip, rest) = l.split_once(" - - [")?;
            ip.parse::<std::net::Ipv4Addr>().ok()?;
            let (time, rest) = rest.split_once("] \"")?;
            chrono::DateTime::parse_from_str(time, "%d/%b/%Y:%H:%M:%S %z").ok()?;
            let (request, rest) = rest.split_once("\" ")?;
            let mut req = request.split(' ');
            let (verb, path, proto) = (req.next()?, req.next()?, req.next()?);
            (req.next().is_none()
                && ["GET", "POST", "HEAD", "CONNECT"].contains(&verb)
                && !path.is_empty()
                && proto == "HTTP/1.1")
                .then_some(())?;
            let mut f = rest.splitn(3, ' ');
            let status: u16 = f.next()?.parse().ok()?;
            let _bytes: u64 = f.next()?.parse().ok()?;
            let tail = f.next()?;
            ((100..600).contains(&status)
                && tail.starts_with('"')
                && tail.ends_with('"')
                && tail.matches('"').count() == 4)
                .then_some(())
        };
        let error = || -> Option<()> {
            chrono::NaiveDateTime::parse_from_str(l.get(..19)?, "%Y/%m/%d %H:%M:%S").ok()?;
            (l[19..].starts_with(" [error] ")
                && l.contains(", client: 45.")
                && l.ends_with("host: \"www.example.com\""))
            .then_some(())
        };
        access().is_some() || error().is_some()
    }

    #[test]
    fn nginx_log_is_deterministic_parseable_and_varied() {
        let a = nginx_log(20_000, 7);
        assert_eq!(a, nginx_log(20_000, 7));
        assert_ne!(a, nginx_log(20_000, 8));
        assert_eq!(a.lines().count(), 20_000);
        for l in a.lines() {
            assert!(nginx_line_ok(l), "bad line: {l}");
        }
        // Timestamps never go back.
        let mut last = 0;
        for l in a.lines() {
            let ts = if let Some((_, rest)) = l.split_once(" - - [") {
                chrono::DateTime::parse_from_str(&rest[..26], "%d/%b/%Y:%H:%M:%S %z")
                    .unwrap()
                    .timestamp()
            } else {
                chrono::NaiveDateTime::parse_from_str(&l[..19], "%Y/%m/%d %H:%M:%S")
                    .unwrap()
                    .and_utc()
                    .timestamp()
            };
            assert!(ts >= last, "time went back at {l}");
            last = ts;
        }
        // Every attack family is present.
        for needle in [
            "/.env",
            "/wp-login.php",
            "/xmlrpc.php",
            "etc",
            "union%20select",
            "%3Cscript",
            "w00tw00t",
            "CONNECT ",
            "password mismatch",
            "limiting requests",
            "?author=",
            "wp-config.php.",
            "/product/",
            "\" 404 ",
        ] {
            assert!(a.contains(needle), "no {needle}");
        }
        assert!(crate::nginx::BAD_AGENTS.iter().any(|ua| a.contains(ua)));
        // Mostly normal traffic.
        let attacks = a
            .lines()
            .filter(|l| l.starts_with("45.") || l.contains("client: 45."))
            .count();
        assert!((3_000..9_000).contains(&attacks), "{attacks} attack lines");
        assert_eq!(nginx_log(0, 1), "");
        assert_eq!(nginx_log(1, 1).lines().count(), 1);
    }
}
