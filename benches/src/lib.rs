//! Benchmark helpers: deterministic generators of realistic logs. Not shipped in any service.

use std::fmt::Write;

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

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const USERS: [&str; 10] = [
    "root", "admin", "test", "oracle", "ubuntu", "git", "postgres", "user", "deploy", "pi",
];
const HOSTS: [&str; 4] = ["bastion", "web-01", "db-02", "edge"];

fn ip(rng: &mut Rng, attackers: u64) -> String {
    let n = rng.below(attackers);
    format!(
        "{}.{}.{}.{}",
        11 + (n >> 16) % 200,
        (n >> 8) & 255,
        n & 255,
        1 + n % 250
    )
}

/// An sshd/syslog auth log of `lines` lines, one second apart on average, with brute force from
/// a pool of attacking addresses mixed with legitimate logins, disconnects and cron noise.
pub fn auth_log(lines: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(lines * 110);
    let mut t: u64 = 0;
    for _ in 0..lines {
        t += rng.below(3);
        let day = 1 + (t / 86_400) % 28;
        let month = MONTHS[((t / (86_400 * 28)) % 12) as usize];
        let (h, m, s) = ((t / 3600) % 24, (t / 60) % 60, t % 60);
        let host = rng.pick(&HOSTS);
        let pid = 1000 + rng.below(60_000);
        let port = 1024 + rng.below(64_000);
        let user = rng.pick(&USERS);
        let _ = write!(out, "{month} {day:>2} {h:02}:{m:02}:{s:02} {host} ");
        let _ = match rng.below(100) {
            0..=34 => {
                let src = ip(&mut rng, 5_000);
                writeln!(
                    out,
                    "sshd[{pid}]: Failed password for invalid user {user} from {src} port {port} ssh2"
                )
            }
            35..=54 => {
                let src = ip(&mut rng, 5_000);
                writeln!(
                    out,
                    "sshd[{pid}]: Failed password for {user} from {src} port {port} ssh2"
                )
            }
            55..=64 => {
                let src = ip(&mut rng, 5_000);
                writeln!(
                    out,
                    "sshd[{pid}]: Invalid user {user} from {src} port {port}"
                )
            }
            65..=72 => {
                let src = ip(&mut rng, 5_000);
                writeln!(
                    out,
                    "sshd[{pid}]: Disconnected from authenticating user {user} {src} port {port} [preauth]"
                )
            }
            73..=79 => {
                let src = ip(&mut rng, 50);
                writeln!(
                    out,
                    "sshd[{pid}]: Accepted publickey for {user} from {src} port {port} ssh2: ED25519 SHA256:Xq9vR2mB7c"
                )
            }
            80..=86 => {
                let src = ip(&mut rng, 5_000);
                writeln!(
                    out,
                    "sshd[{pid}]: Connection closed by {src} port {port} [preauth]"
                )
            }
            87..=92 => writeln!(
                out,
                "sshd[{pid}]: pam_unix(sshd:session): session opened for user {user}(uid=1000) by (uid=0)"
            ),
            _ => writeln!(
                out,
                "CRON[{pid}]: pam_unix(cron:session): session closed for user root"
            ),
        };
    }
    out
}

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
}
