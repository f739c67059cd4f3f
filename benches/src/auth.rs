//! sshd/syslog auth logs: background noise (`auth_log`) and brute-force sessions (`auth_bf_log`).

use std::fmt::Write;

use crate::Rng;

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

/// An sshd/syslog auth log like [`auth_log`] (same line shapes, about one line per 0.5 s),
/// where one brute-force session at a time (an address of a pool of 300 trying 5 to 40
/// passwords, fast or slow) is mixed with background noise from 5000 addresses, so that the
/// hub's ssh-bf / ssh-slow-bf scenarios (and their user-enum variants) fire.
pub fn auth_bf_log(lines: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(lines * 110);
    let mut t: u64 = 0;
    // (attacker, attempts left, percent of lines)
    let mut session: Option<(String, u64, u64)> = None;
    for _ in 0..lines {
        t += rng.below(2);
        let day = 1 + (t / 86_400) % 28;
        let month = MONTHS[((t / (86_400 * 28)) % 12) as usize];
        let (h, m, s) = ((t / 3600) % 24, (t / 60) % 60, t % 60);
        let host = rng.pick(&HOSTS);
        let pid = 1000 + rng.below(60_000);
        let port = 1024 + rng.below(64_000);
        let user = rng.pick(&USERS);
        let _ = write!(out, "{month} {day:>2} {h:02}:{m:02}:{s:02} {host} ");
        let (attacker, left, rate) = session.get_or_insert_with(|| {
            let n = rng.below(300);
            let src = format!(
                "{}.{}.{}.{}",
                185 + n % 10,
                100 + n % 50,
                (n * 13) & 255,
                1 + n % 254
            );
            let rate = if rng.below(3) == 0 { 6 } else { 35 };
            (src, 5 + rng.below(36), rate)
        });
        if rng.below(100) < *rate {
            let _ = if rng.below(2) == 0 {
                writeln!(
                    out,
                    "sshd[{pid}]: Failed password for invalid user {user} from {attacker} port {port} ssh2"
                )
            } else {
                writeln!(
                    out,
                    "sshd[{pid}]: Failed password for {user} from {attacker} port {port} ssh2"
                )
            };
            *left -= 1;
            if *left == 0 {
                session = None;
            }
            continue;
        }
        let src = ip(&mut rng, 5_000);
        let _ = match rng.below(100) {
            0..=29 => writeln!(
                out,
                "sshd[{pid}]: Failed password for invalid user {user} from {src} port {port} ssh2"
            ),
            30..=44 => writeln!(
                out,
                "sshd[{pid}]: Invalid user {user} from {src} port {port}"
            ),
            45..=59 => writeln!(
                out,
                "sshd[{pid}]: Accepted publickey for {user} from {src} port {port} ssh2: ED25519 SHA256:Xq9vR2mB7c"
            ),
            60..=79 => writeln!(
                out,
                "sshd[{pid}]: Connection closed by {src} port {port} [preauth]"
            ),
            _ => writeln!(
                out,
                "CRON[{pid}]: pam_unix(cron:session): session closed for user root"
            ),
        };
    }
    out
}
