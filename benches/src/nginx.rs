//! nginx combined access logs with normal traffic and attack sessions (`nginx_log`).

use std::fmt::Write;

use crate::Rng;

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
pub(crate) const BAD_AGENTS: [&str; 7] = [
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
