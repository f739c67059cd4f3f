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

/// Normal browsers for the nginx log.
const BROWSERS: [&str; 6] = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.6099.144 Mobile Safari/537.36",
    "curl/8.5.0",
];
/// Scanner user agents (entries of the hub's `bad_user_agents.regex.txt`; the lowercase sqlmap
/// one is the real sqlmap agent, which the case-sensitive `\bSqlmap\b` entry does not match).
const BAD_AGENTS: [&str; 7] = [
    "Mozilla/5.00 (Nikto/2.1.6) (Evasions:None) (Test:Port Check)",
    "masscan/1.3 (https://github.com/robertdavidgraham/masscan)",
    "Mozilla/5.0 zgrab/0.x",
    "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)",
    "Sqlmap/1.7.2#stable (https://sqlmap.org)",
    "sqlmap/1.7.2#stable (https://sqlmap.org)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Masscan/1.0",
];
const PAGES: [&str; 10] = [
    "/",
    "/index.html",
    "/about",
    "/contact",
    "/blog/",
    "/shop/cart",
    "/login",
    "/search?q=shoes",
    "/api/v1/items?page=2",
    "/docs/getting-started",
];
const STATICS: [&str; 10] = [
    "/static/css/main.css",
    "/static/js/app.js",
    "/static/js/vendor.js",
    "/favicon.ico",
    "/img/logo.png",
    "/img/hero.jpg",
    "/fonts/inter.woff2",
    "/img/icons.svg",
    "/static/js/app.js.map",
    "/img/banner.webp",
];
const REFERERS: [&str; 4] = [
    "-",
    "https://www.example.com/",
    "https://www.google.com/",
    "https://www.example.com/blog/",
];
/// Entries of the hub's `sensitive_data.txt` that requests end with.
const SENSITIVE: [&str; 16] = [
    "/.env",
    "/.git/config",
    "/.git/HEAD",
    "/wp-config.php.bak",
    "/backup.sql",
    "/db.sql.gz",
    "/.aws/credentials",
    "/.htpasswd",
    "/.bash_history",
    "/.svn/entries",
    "/.docker/config.json",
    "/config/secrets.yml",
    "/.vscode/sftp.json",
    "/.env.local",
    "/.ssh",
    "/debug.log",
];
/// Paths with entries of the hub's `path_traversal.txt`.
const TRAVERSAL: [&str; 10] = [
    "/../../../../etc/passwd",
    "/static/..%2f..%2f..%2fetc%2fpasswd",
    "/index.php?page=../../../etc/hosts",
    "/download?file=%2e%2e%2f%2e%2e%2fetc%2fshadow",
    "/view?f=..%252f..%252fwindows/win.ini",
    "/img/%2E%2E%2F%2E%2E%2Fetc/groups",
    "/load.php?src=php://filter/resource=index.php",
    "/read?path=/proc/self/environ",
    "/logs?f=/var/log/auth.log",
    "/a/..\\..\\boot.ini",
];
/// Entries of the hub's `backdoors.txt`.
const BACKDOORS: [&str; 8] = [
    "c99.php",
    "r57.php",
    "shell.php",
    "wso.php",
    "c99shell.php",
    "b374k.php",
    "filesman.php",
    "alfa.php",
];
const SQLI: [&str; 8] = [
    "1%20union%20select%20",
    "1'%20or%20sleep%28",
    "id%2cnull%2cnull",
    "benchmark%28",
    "load_file%28",
    "information_schema.tables",
    "%40%40version",
    "pg_sleep%28",
];
const XSS: [&str; 6] = [
    "%3Cscript%3Ealert%28",
    "<script>alert(",
    "%3Cimg%20src=x%20onerror=",
    "javascript:alert(",
    "%3Csvg/onload=",
    "%3Cbody%20onload=",
];
const WP_CONFIG: [&str; 8] = [
    "/wp-config.php.bak",
    "/wp-config.php~",
    "/wp-config.php.save",
    "/wp-config.php.old",
    "/wp-config.php.orig",
    "/wp-config.php.swp",
    "/wp-config.php.txt",
    "/wp-config.php.dist",
];

/// The kinds of attack sessions of [`nginx_log`].
#[derive(Debug, Clone, Copy)]
enum Attack {
    Probe,
    Sensitive,
    BadAgent,
    Traversal,
    Crawl,
    WpLogin,
    XmlRpc,
    Sqli,
    Xss,
    Backdoor,
    W00t,
    OpenProxy,
    AuthFail,
    ReqLimit,
    WpUserEnum,
    WpConfig,
}

impl Attack {
    /// (kind, weight, min length, max length, max burst)
    const TABLE: [(Attack, u64, u64, u64, u64); 16] = [
        (Attack::Probe, 20, 12, 40, 4),
        (Attack::Sensitive, 10, 5, 12, 5),
        (Attack::BadAgent, 10, 1, 4, 2),
        (Attack::Traversal, 8, 4, 9, 3),
        (Attack::Crawl, 10, 50, 200, 25),
        (Attack::WpLogin, 8, 6, 25, 7),
        (Attack::XmlRpc, 5, 6, 12, 3),
        (Attack::Sqli, 5, 11, 20, 20),
        (Attack::Xss, 5, 6, 12, 12),
        (Attack::Backdoor, 5, 2, 5, 3),
        (Attack::W00t, 3, 1, 1, 1),
        (Attack::OpenProxy, 3, 1, 2, 1),
        (Attack::AuthFail, 5, 6, 15, 6),
        (Attack::ReqLimit, 3, 6, 12, 5),
        (Attack::WpUserEnum, 3, 6, 10, 10),
        (Attack::WpConfig, 3, 6, 8, 4),
    ];
}

struct Session {
    ip: String,
    kind: Attack,
    max_burst: u64,
    left: u64,
    step: u64,
    agent: &'static str,
}

fn nginx_time(t: i64, error_log: bool) -> String {
    let dt = chrono::DateTime::from_timestamp(t, 0).unwrap_or_default();
    if error_log {
        dt.format("%Y/%m/%d %H:%M:%S").to_string()
    } else {
        dt.format("%d/%b/%Y:%H:%M:%S +0000").to_string()
    }
}

fn client_ip(rng: &mut Rng) -> String {
    let n = rng.below(3_000);
    format!("81.{}.{}.{}", 20 + n % 7, (n >> 3) & 255, 1 + n % 253)
}

fn attacker_ip(rng: &mut Rng) -> String {
    let n = rng.below(400);
    format!("45.{}.{}.{}", 130 + n % 9, (n * 7) & 255, 2 + n % 251)
}

/// One access-log line in nginx's `combined` format.
#[allow(clippy::too_many_arguments)]
fn access_line(
    out: &mut String,
    ip: &str,
    time: &str,
    verb: &str,
    path: &str,
    status: u32,
    bytes: u64,
    referer: &str,
    agent: &str,
) {
    let _ = writeln!(
        out,
        "{ip} - - [{time}] \"{verb} {path} HTTP/1.1\" {status} {bytes} \"{referer}\" \"{agent}\""
    );
}

/// One attack line of a session.
fn attack_line(out: &mut String, rng: &mut Rng, s: &Session, t: i64) {
    let ip = s.ip.as_str();
    let time = nginx_time(t, false);
    let step = s.step;
    let agent = s.agent;
    let bytes = 150 + rng.below(400);
    match s.kind {
        Attack::Probe => {
            let exts = ["php", "asp", "", "cgi", "jsp", "html"];
            let ext = rng.pick(&exts);
            let dot = if ext.is_empty() { "" } else { "." };
            let path = format!(
                "/{}{}{}{}",
                ["admin", "old", "test", "bak", "cms", "panel"][(step % 6) as usize],
                step,
                dot,
                ext
            );
            access_line(out, ip, &time, "GET", &path, 404, bytes, "-", agent);
        }
        Attack::Sensitive => {
            let path = SENSITIVE[((step * 5 + rng.below(2)) % SENSITIVE.len() as u64) as usize];
            access_line(out, ip, &time, "GET", path, 404, bytes, "-", agent);
        }
        Attack::BadAgent => {
            let path = rng.pick(&PAGES);
            access_line(out, ip, &time, "GET", path, 200, 2_000 + bytes, "-", agent);
        }
        Attack::Traversal => {
            let path = TRAVERSAL[((step * 3 + rng.below(2)) % TRAVERSAL.len() as u64) as usize];
            access_line(out, ip, &time, "GET", path, 400, bytes, "-", agent);
        }
        Attack::Crawl => {
            let sections = ["product", "blog", "category", "tag", "user"];
            let path = format!(
                "/{}/{}",
                sections[(step % 5) as usize],
                1_000 + step * 7 + rng.below(7)
            );
            let verb = if rng.below(10) == 0 { "HEAD" } else { "GET" };
            access_line(out, ip, &time, verb, &path, 200, 5_000 + bytes, "-", agent);
        }
        Attack::WpLogin => {
            access_line(
                out,
                ip,
                &time,
                "POST",
                "/wp-login.php",
                200,
                4_000 + bytes,
                "-",
                agent,
            );
        }
        Attack::XmlRpc => {
            access_line(
                out,
                ip,
                &time,
                "POST",
                "/xmlrpc.php",
                200,
                400 + bytes,
                "-",
                agent,
            );
        }
        Attack::Sqli => {
            let path = format!(
                "/products.php?id={}{}",
                SQLI[(step % SQLI.len() as u64) as usize],
                step
            );
            access_line(out, ip, &time, "GET", &path, 200, 3_000 + bytes, "-", agent);
        }
        Attack::Xss => {
            let path = format!(
                "/search?q={}{}",
                XSS[(step % XSS.len() as u64) as usize],
                step
            );
            access_line(out, ip, &time, "GET", &path, 200, 3_000 + bytes, "-", agent);
        }
        Attack::Backdoor => {
            let dirs = ["/", "/wp-content/uploads/", "/images/", "/tmp/"];
            let path = format!(
                "{}{}",
                rng.pick(&dirs),
                BACKDOORS[(step % BACKDOORS.len() as u64) as usize]
            );
            access_line(out, ip, &time, "GET", &path, 404, bytes, "-", agent);
        }
        Attack::W00t => {
            access_line(
                out,
                ip,
                &time,
                "GET",
                "/w00tw00t.at.ISC.SANS.DFind:)",
                400,
                166,
                "-",
                "-",
            );
        }
        Attack::OpenProxy => {
            if rng.below(2) == 0 {
                access_line(
                    out,
                    ip,
                    &time,
                    "CONNECT",
                    "www.google.com:443",
                    400,
                    166,
                    "-",
                    "-",
                );
            } else {
                access_line(
                    out,
                    ip,
                    &time,
                    "GET",
                    "http://www.baidu.com/",
                    400,
                    166,
                    "-",
                    agent,
                );
            }
        }
        Attack::AuthFail => {
            if rng.below(2) == 0 {
                access_line(out, ip, &time, "POST", "/api/login", 401, 90, "-", agent);
            } else {
                let users = ["admin", "root", "test", "user"];
                let user = rng.pick(&users);
                let etime = nginx_time(t, true);
                let pid = 1_000 + rng.below(50);
                let cid = 10 + step;
                let msg = if rng.below(2) == 0 {
                    format!("user \"{user}\": password mismatch")
                } else {
                    format!("user \"{user}\" was not found in \"/etc/nginx/.htpasswd\"")
                };
                let _ = writeln!(
                    out,
                    "{etime} [error] {pid}#{pid}: *{cid} {msg}, client: {ip}, server: www.example.com, request: \"GET /admin/ HTTP/1.1\", host: \"www.example.com\""
                );
            }
        }
        Attack::ReqLimit => {
            let etime = nginx_time(t, true);
            let pid = 1_000 + rng.below(50);
            let excess = rng.below(20);
            let _ = writeln!(
                out,
                "{etime} [error] {pid}#{pid}: *{} limiting requests, excess: {excess}.{} by zone \"one\", client: {ip}, server: www.example.com, request: \"GET /api/v1/items HTTP/1.1\", host: \"www.example.com\"",
                100 + step,
                rng.below(1000)
            );
        }
        Attack::WpUserEnum => {
            let path = format!("/?author={}", 1 + step);
            access_line(out, ip, &time, "GET", &path, 301, 0, "-", agent);
        }
        Attack::WpConfig => {
            let path = WP_CONFIG[(step % WP_CONFIG.len() as u64) as usize];
            access_line(out, ip, &time, "GET", path, 404, bytes, "-", agent);
        }
    }
}

/// An nginx access log (`combined` format, plus a few error-log lines for auth failures and
/// request limiting) of `lines` lines, about six lines per second with increasing timestamps
/// starting at 2024-03-01T00:00:00Z. Normal traffic from 3000 clients (pages, static files,
/// a few 404s on statics) is mixed with bursts of attacks from a pool of 400 attackers
/// (probing, sensitive files, scanner user agents, path traversal, crawling, WordPress brute
/// force and enumeration, SQLi/XSS probes, backdoors, open proxy, basic-auth brute force,
/// request limiting) shaped to trigger the hub's http scenarios.
pub fn nginx_log(lines: usize, seed: u64) -> String {
    let mut rng = Rng::new(seed);
    let mut out = String::with_capacity(lines * 190);
    let mut t: i64 = 1_709_251_200; // 2024-03-01T00:00:00Z
    let total_weight: u64 = Attack::TABLE.iter().map(|e| e.1).sum();
    let mut sessions: Vec<Session> = Vec::new();
    let mut emitted = 0;
    while emitted < lines {
        if rng.below(100) < 10 {
            if sessions.len() < 2 {
                let mut w = rng.below(total_weight);
                let mut entry = Attack::TABLE[0];
                for e in Attack::TABLE {
                    if w < e.1 {
                        entry = e;
                        break;
                    }
                    w -= e.1;
                }
                let (kind, _, min, max, max_burst) = entry;
                let agent = match kind {
                    Attack::BadAgent => *rng.pick(&BAD_AGENTS),
                    _ => *rng.pick(&BROWSERS),
                };
                sessions.push(Session {
                    ip: attacker_ip(&mut rng),
                    kind,
                    max_burst,
                    left: min + rng.below(max - min + 1),
                    step: 0,
                    agent,
                });
            }
            let i = rng.below(sessions.len() as u64) as usize;
            let burst = (1 + rng.below(sessions[i].max_burst)).min(sessions[i].left);
            for _ in 0..burst {
                if emitted == lines {
                    break;
                }
                if rng.below(6) == 0 {
                    t += 1;
                }
                attack_line(&mut out, &mut rng, &sessions[i], t);
                sessions[i].step += 1;
                sessions[i].left -= 1;
                emitted += 1;
            }
            if sessions[i].left == 0 {
                sessions.swap_remove(i);
            }
            continue;
        }
        if rng.below(6) == 0 {
            t += 1;
        }
        let ip = client_ip(&mut rng);
        let time = nginx_time(t, false);
        let agent = rng.pick(&BROWSERS);
        let referer = rng.pick(&REFERERS);
        match rng.below(100) {
            0..=44 => {
                let path = rng.pick(&STATICS);
                let status = if rng.below(5) == 0 { 304 } else { 200 };
                let bytes = if status == 304 {
                    0
                } else {
                    1_000 + rng.below(90_000)
                };
                access_line(
                    &mut out, &ip, &time, "GET", path, status, bytes, referer, agent,
                );
            }
            45..=84 => {
                let path = rng.pick(&PAGES);
                access_line(
                    &mut out,
                    &ip,
                    &time,
                    "GET",
                    path,
                    200,
                    3_000 + rng.below(30_000),
                    referer,
                    agent,
                );
            }
            85..=92 => {
                let path = format!("/blog/post-{}", rng.below(60));
                access_line(
                    &mut out,
                    &ip,
                    &time,
                    "GET",
                    &path,
                    200,
                    8_000 + rng.below(20_000),
                    referer,
                    agent,
                );
            }
            93..=95 => {
                access_line(
                    &mut out,
                    &ip,
                    &time,
                    "POST",
                    "/api/v1/cart",
                    201,
                    120,
                    referer,
                    agent,
                );
            }
            _ => {
                let path = format!("/img/product-{}.jpg", rng.below(500));
                access_line(&mut out, &ip, &time, "GET", &path, 404, 153, referer, agent);
            }
        }
        emitted += 1;
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
        assert!(BAD_AGENTS.iter().any(|ua| a.contains(ua)));
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
