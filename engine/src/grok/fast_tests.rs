//! The capture fast path ([`super::fast`]) against the plain full regex
//! ([`Grok::captures_with`]): same verdict, same fields, same values, on every hub test log
//! line and on generated lines.

use std::collections::BTreeSet;
use std::sync::LazyLock;

use proptest::prelude::*;

use super::tests::{hub_groks, lib};
use super::*;

type Fields = Vec<(String, String)>;

pub(super) fn fast(g: &Grok, text: &str) -> (bool, Fields) {
    let mut got = Vec::new();
    let ok = g.captures(text, |k, v| got.push((k.to_string(), v.to_string())));
    (ok, got)
}

pub(super) fn plain(g: &Grok, text: &str) -> (bool, Fields) {
    let mut got = Vec::new();
    let ok = g.captures_with(&mut GrokScratch::new(), text, |k, v| {
        got.push((k.to_string(), v.to_string()))
    });
    (ok, got)
}

/// Every distinct grok of the hub's parsers (with their `pattern_syntax`), compiled.
static HUB: LazyLock<Vec<(String, Grok)>> = LazyLock::new(|| {
    let base = lib();
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (file, syntax, grok, named) in hub_groks() {
        let mut l = base.clone();
        for (k, v) in &syntax {
            l.add_if_absent(k, v);
        }
        let g = if named {
            l.compile_named(&grok)
        } else {
            l.compile(&grok)
        };
        let Ok(g) = g else { continue };
        if seen.insert(g.regex().as_str().to_string()) {
            out.push((format!("{file}: {grok}"), g));
        }
    }
    out
});

/// Runs both paths, and `is_match`, on `text`; panics with the difference.
pub(super) fn check(label: &str, g: &Grok, text: &str) -> bool {
    let a = fast(g, text);
    // The plain path's captures only where its regex matches (the debug build is slow).
    let b = if g.regex().is_match(text) {
        plain(g, text)
    } else {
        (false, Vec::new())
    };
    assert_eq!(a, b, "{label} on {text:?}");
    assert_eq!(g.is_match(text), a.0, "is_match: {label} on {text:?}");
    a.0
}

#[test]
fn fast_path_equals_the_full_regex_on_every_hub_test_log_line() {
    let mut lines = crate::testdata::hub_test_log_lines();
    // What the syslog parser hands its successors: the `message` of each syslog line.
    let syslog = lib().compile("^%{SYSLOGLINE}").unwrap();
    let messages: Vec<String> = lines
        .iter()
        .filter_map(|l| {
            let mut m = None;
            syslog.captures(l, |k, v| {
                if k == "message" {
                    m = Some(v.to_string());
                }
            });
            m
        })
        .collect();
    lines.extend(messages);
    // Texts with a newline take the plain path for tail patterns; still the same result.
    let joined: Vec<String> = lines
        .iter()
        .take(50)
        .zip(lines.iter().skip(50))
        .map(|(a, b)| format!("{a}\n{b}"))
        .collect();
    lines.extend(joined);
    let hub = &*HUB;
    let with_fast = hub.iter().filter(|(_, g)| g.inner.fast.is_some()).count();
    assert!(
        with_fast * 10 >= hub.len() * 9,
        "fast path for only {with_fast} of {}",
        hub.len()
    );
    // Two threads: the debug build is slow and the check is long.
    let half = hub.len() / 2;
    let matched: usize = std::thread::scope(|s| {
        let parts = [&hub[..half], &hub[half..]];
        let handles: Vec<_> = parts
            .into_iter()
            .map(|part| {
                let lines = &lines;
                s.spawn(move || {
                    let mut matched = 0;
                    for (label, g) in part {
                        for line in lines {
                            matched += usize::from(check(label, g, line));
                        }
                    }
                    matched
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert!(
        matched > 2000,
        "too few matches to mean anything: {matched} ({} groks, {} lines)",
        hub.len(),
        lines.len()
    );
}

#[test]
fn groups_that_are_not_fields_are_dropped_and_the_rest_renumbered() {
    let mut l = PatternLibrary::new();
    l.add("PAIR", "(%{WORD})=(%{INT:n})");
    let g = l.compile("^(x|y) %{PAIR}(?: (%{WORD:w}))?$").unwrap();
    let f = g.inner.fast.as_ref().unwrap();
    // Two fields: two groups (plus the whole match) instead of eight.
    assert_eq!(g.regex().captures_len(), 9);
    assert_eq!(f.groups(), 3);
    assert_eq!(
        fast(&g, "x ab=12 zz"),
        (
            true,
            vec![("n".into(), "12".into()), ("w".into(), "zz".into())]
        )
    );
    assert_eq!(fast(&g, "y ab=12"), plain(&g, "y ab=12"));
    assert_eq!(fast(&g, "y ab=12").1[1], ("w".into(), "".into()));
    assert_eq!(fast(&g, "z ab=12"), (false, vec![]));
}

#[test]
fn tail_fields_extend_to_the_end_of_the_text() {
    let l = lib();
    let g = l.compile("^%{SYSLOGLINE}").unwrap();
    assert!(g.inner.tail, "SYSLOGLINE ends with GREEDYDATA");
    let line = "Jan  2 15:04:05 host sshd[42]: Failed password for root from 192.0.2.7 port 22";
    let (ok, fields) = fast(&g, line);
    assert!(ok);
    assert_eq!(plain(&g, line), (ok, fields.clone()));
    let message = fields.iter().find(|(k, _)| k == "message").unwrap();
    assert_eq!(message.1, "Failed password for root from 192.0.2.7 port 22");
    // With a newline the tail rewrite does not hold: the plain regex answers.
    let two = format!("{line}\nsecond line");
    assert!(g.fast_for(&two).is_none() && g.fast_for(line).is_some());
    assert_eq!(fast(&g, &two), plain(&g, &two));
}

/// `g` splits, and gives the plain regex's fields on every text.
fn split_agrees(g: &Grok, texts: &[&str]) {
    assert!(g.inner.fast.as_ref().is_some_and(|f| f.is_split()));
    for text in texts {
        assert_eq!(fast(g, text), plain(g, text), "{text}");
    }
}

#[test]
fn splits_cut_at_delimiters_and_leave_gated_texts_to_the_engine() {
    let l = lib();
    let g = l
        .compile("Failed %{WORD:auth} for %{USERNAME:user} from %{IP:ip} port %{NUMBER:port} %{WORD:proto}")
        .unwrap();
    split_agrees(
        &g,
        &[
            "Failed password for root from 192.0.2.7 port 22 ssh2",
            "x Failed none for a.b-c from ::1 port 0 ssh2 trailing",
            // The IPv6 zone `%.+` can hold the delimiter: the engine answers.
            "Failed password for root from fe80::1%eth0 port 22 port 23 ssh2",
            "Failed password for root from 192.0.2.7 port 22 port 23 ssh2",
            "Failed  password for root from 192.0.2.7 port 22 ssh2",
        ],
    );
    let (_, f) = fast(
        &g,
        "Failed password for root from fe80::1%eth0 port 22 port 23 ssh2",
    );
    assert_eq!(f[2], ("ip".into(), "fe80::1%eth0 port 22".into()));
    // A segment with a regex of its own (an alternation of fields), beside a large one: its
    // highest-priority path may end before the cut (`a` in `ab`), then the engine answers.
    let mut l = lib();
    l.add("A", "a");
    l.add("AB", "ab");
    l.add("OPT", "(?:x%{INT:n})?");
    let g = l
        .compile("^%{IP:ip} (?:%{A:a}|%{AB:b}) %{OPT} end")
        .unwrap();
    split_agrees(
        &g,
        &[
            "192.0.2.7 ab  end",
            "192.0.2.7 a x12 end",
            "192.0.2.7 ab x end",
            "::1 a  end",
            "192.0.2.7 abx1 end",
        ],
    );
    assert_eq!(
        fast(&g, "192.0.2.7 ab x3 end").1[2],
        ("b".into(), "ab".into())
    );
    // Most sshd groks of the hub split (the property tests below run them).
    let split = |w: &str| {
        HUB.iter()
            .filter(|(label, g)| {
                label.contains(w) && g.inner.fast.as_ref().is_some_and(|f| f.is_split())
            })
            .count()
    };
    assert!(split("sshd-logs") >= 8, "{}", split("sshd-logs"));
    // nginx's access pattern splits behind its leading optional `(%{IPORHOST:target_fqdn} )?`.
    assert!(split("nginx-logs") >= 1, "{}", split("nginx-logs"));
}

#[test]
fn a_leading_optional_group_picks_the_variant_the_full_regex_takes() {
    let mut l = lib();
    l.add("NGUSER", "[a-zA-Z.@+_%-]+");
    let g = l
        .compile(
            "(%{IPORHOST:host} )?%{IPORHOST:addr} - (%{NGUSER:user})? \\[%{DATA:date}\\] \"%{WORD:verb} %{DATA:request} HTTP/%{NUMBER:v}\"",
        )
        .unwrap();
    split_agrees(
        &g,
        &[
            "192.0.2.7 - - [01/Mar/2024:00:00:00 +0000] \"GET / HTTP/1.1\"",
            "www.example.com 192.0.2.7 - bob [x] \"GET /a b HTTP/1.1\" HTTP/2\"",
            // The first address could be the host, but then nothing is left for `addr`.
            "www.example.com - - [x] \"GET / HTTP/1.1\"",
            "a b c - - [x] \"GET / HTTP/1.1\"",
            "::1 fe80::1%eth0 - - [x] \"GET / HTTP/1.1\"",
        ],
    );
    assert_eq!(
        fast(&g, "www.example.com 192.0.2.7 - - [x] \"GET / HTTP/1.1\"").1[0],
        ("host".into(), "www.example.com".into())
    );
    assert_eq!(
        fast(&g, "192.0.2.7 - - [x] \"GET / HTTP/1.1\"").1[0],
        ("host".into(), "".into())
    );
    // Lazy: the group is tried absent first.
    let g = l.compile("(%{WORD:a} )??%{WORD:b} %{WORD:c}").unwrap();
    split_agrees(&g, &["x y z", "x y", "x  y", "- x y z"]);
    assert_eq!(fast(&g, "x y z").1[0], ("a".into(), "".into()));
}

/// The fields the spans alone give (no capture engine), when they do.
pub(super) fn spans_only(g: &Grok, text: &str) -> Option<Fields> {
    let f = g.inner.fast.as_ref()?;
    let spans = f.spans_only(text)?;
    let mut got = Vec::new();
    let (_, end) = spans[0]?;
    for ((field, _), source) in g.inner.fields.iter().zip(&f.sources) {
        let (s, e) = match *source {
            fast::Source::Group(i) => spans[i].unwrap_or((0, 0)),
            fast::Source::ToEnd(i) => spans[i].map_or((0, 0), |(s, _)| (s, text.len())),
            fast::Source::Tail => (end, text.len()),
        };
        got.push((field.to_string(), text[s..e].to_string()));
    }
    Some(got)
}

#[test]
fn atoms_give_syslog_captures_and_leave_regex_atoms_to_the_engine() {
    let g = lib().compile("^%{SYSLOGLINE}").unwrap();
    for text in [
        "Jan  1 00:00:00 db-02 sshd[58474]: Failed password for root from 192.0.2.7 port 22 ssh2",
        // No pid: the program's run (which holds ':') gives back its last byte.
        "Mar 12 10:01:02 host kernel: [ 1.0] eth0: link up",
        "Mar 12 10:01:02 host CRON:: x",
        "Oct  3 01:02:03 <13.5> fe80::1 su[1]: x",
        "2024-03-01T10:00:00.123+01:00 host.example.com systemd[1]: Started x.",
        "Jan  1 00:00:00 host ",
    ] {
        let got = spans_only(&g, text);
        assert_eq!(got.as_ref(), Some(&plain(&g, text).1), "{text}");
    }
    // A regex atom (`(?:ab|a)`) whose first end leaves its continuation nothing: the engine
    // answers (the second alternative must not be taken instead).
    let mut l = lib();
    l.add("D", "[0-9]");
    l.add("Y", "b[0-9]+");
    l.add("Z", ".+");
    // (An address makes the pattern large enough for atoms.)
    let g = l
        .compile("^(?:%{IP:ip} %{D:x}(?:ab|a)%{Y:y}|%{Z:z})$")
        .unwrap();
    let text = "192.0.2.7 1ab5";
    assert_eq!(spans_only(&g, text), None);
    assert_eq!(fast(&g, text), plain(&g, text));
    assert_eq!(fast(&g, text).1[2], ("y".into(), "b5".into()));
    assert!(spans_only(&g, "192.0.2.7 1abb5").is_some());
}

/// Groks of the parsers that see the generated shapes below.
static SHAPED: LazyLock<Vec<(String, Grok)>> = LazyLock::new(|| {
    let wanted = [
        "syslog-logs",
        "sshd-logs",
        "nginx-logs",
        "apache2-logs",
        "pam-logs",
        "iptables-logs",
    ];
    HUB.iter()
        .filter(|(label, _)| wanted.iter().any(|w| label.contains(w)))
        .cloned()
        .collect()
});

pub(crate) fn ip() -> impl Strategy<Value = String> {
    prop_oneof![
        (any::<[u8; 4]>()).prop_map(|b| format!("{}.{}.{}.{}", b[0], b[1], b[2], b[3])),
        (any::<[u16; 3]>()).prop_map(|w| format!("2001:db8:{:x}::{:x}:{:x}", w[0], w[1], w[2])),
        Just("::1".to_string()),
        // A zone: bytes after `%` that the cuts of a split must not trust (see `split`).
        "fe80::[0-9a-f]{1,4}%[a-z0-9 ]{1,6}",
        "[a-z]{1,8}(\\.[a-z]{1,6}){0,2}",
    ]
}

/// Messages of the shapes sshd writes (also read by the parser's sibling tests).
pub(crate) fn sshd_message() -> impl Strategy<Value = String> {
    let user = "[a-z0-9_.-]{0,10}";
    (ip(), user, 0u32..70000, 0usize..8).prop_map(|(ip, user, port, shape)| match shape {
        0 => format!("Failed password for invalid user {user} from {ip} port {port} ssh2"),
        1 => format!("Failed password for {user} from {ip} port {port} ssh2"),
        2 => format!("Invalid user {user} from {ip} port {port}"),
        3 => format!(
            "Disconnected from authenticating user {user} {ip} port {port} [preauth]"
        ),
        4 => format!("Connection closed by {ip} port {port} [preauth]"),
        5 => format!("Accepted publickey for {user} from {ip} port {port} ssh2: ED25519 x"),
        6 => format!(
            "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost={ip}  user={user}"
        ),
        _ => format!("Received disconnect from {ip} port {port}:11: Bye Bye [preauth]"),
    })
}

fn syslog_line() -> impl Strategy<Value = String> {
    let month = prop_oneof![
        Just("Jan"),
        Just("Feb"),
        Just("Sep"),
        Just("Dec"),
        Just("Mai")
    ];
    let prog = prop_oneof![
        Just("sshd"),
        Just("CRON"),
        Just("nginx"),
        Just("kernel"),
        Just("su")
    ];
    (
        month,
        1u32..32,
        (0u32..25, 0u32..61, 0u32..61),
        ip(),
        prog,
        proptest::option::of(0u32..100_000),
        sshd_message(),
    )
        .prop_map(|(mo, d, (h, mi, s), host, prog, pid, msg)| {
            let pid = pid.map(|p| format!("[{p}]")).unwrap_or_default();
            format!("{mo} {d:>2} {h:02}:{mi:02}:{s:02} {host} {prog}{pid}: {msg}")
        })
}

fn access_line() -> impl Strategy<Value = String> {
    let verb = prop_oneof![Just("GET"), Just("POST"), Just("HEAD"), Just("CONNECT")];
    // Some with the virtual host in front (nginx's `target_fqdn`).
    let host = prop_oneof![
        Just(String::new()),
        Just("www.example.com ".into()),
        ip().prop_map(|i| format!("{i} "))
    ];
    (host, ip(), verb, "/[a-z0-9/._?=&%-]{0,30}", 100u32..600, 0u64..100_000, "[ -~]{0,30}").prop_map(
        |(host, ip, verb, path, status, bytes, agent)| {
            format!(
                "{host}{ip} - - [10/Oct/2025:13:55:36 +0000] \"{verb} {path} HTTP/1.1\" {status} {bytes} \"-\" \"{agent}\""
            )
        },
    )
}

/// A line of one of the shapes, then damaged in a few places (characters that matter to the
/// patterns: separators, digits, brackets, a non-ASCII letter, a newline).
fn line() -> impl Strategy<Value = String> {
    let base = prop_oneof![syslog_line(), sshd_message(), access_line()];
    let edit = (
        any::<prop::sample::Index>(),
        0usize..3,
        "[ :.\\[\\]()0-9a-fé\"\n-]",
    );
    (base, prop::collection::vec(edit, 0..4)).prop_map(|(mut s, edits)| {
        for (at, kind, c) in edits {
            let mut i = at.index(s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            match kind {
                0 => s.insert_str(i, &c),
                1 => {
                    if let Some(ch) = s[i..].chars().next() {
                        s.replace_range(i..i + ch.len_utf8(), "");
                    }
                }
                _ => s.truncate(i),
            }
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn fast_path_equals_the_full_regex_on_generated_lines(text in line()) {
        for (label, g) in SHAPED.iter() {
            check(label, g, &text);
        }
    }
}

/// hivewall's own patterns (`scenarios/patterns`), on generated lines of their shapes: the
/// fast path equals the full regex, and the access patterns get their captures without the
/// capture engine (atoms: anchored, a large address, cuts that a request line would gate).
mod own_patterns {
    use super::*;

    static OWN: LazyLock<Vec<(String, Grok)>> = LazyLock::new(|| {
        let mut l = lib();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/patterns");
        l.load_dir(&dir).unwrap();
        [
            "HW_SYSLOG_BSD",
            "HW_SSHD_FAILED_AUTH",
            "HW_SSHD_INVALID_USER",
            "HW_SSHD_ACCEPTED",
            "HW_NGINX_ACCESS",
            "HW_APACHE_ACCESS",
            "HW_URL_FILE_PARTS",
        ]
        .iter()
        .map(|n| (n.to_string(), l.compile(&format!("%{{{n}}}")).unwrap()))
        .collect()
    });

    #[test]
    fn access_lines_take_the_atoms() {
        let (_, g) = OWN.iter().find(|(n, _)| n == "HW_NGINX_ACCESS").unwrap();
        for text in [
            r#"81.25.59.222 - - [01/Mar/2024:00:00:00 +0000] "GET /img/hero.jpg HTTP/1.1" 200 81680 "https://www.example.com/" "Mozilla/5.0 (X11)""#,
            r#"www.example.com:443 2001:db8::7 - bob [01/Mar/2024:00:00:00 +0000] "\x16\x03" 400 0 "-" "-""#,
        ] {
            assert_eq!(
                spans_only(g, text).as_ref(),
                Some(&plain(g, text).1),
                "{text}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn own_patterns_equal_the_full_regex_on_generated_lines(text in line()) {
            for (label, g) in OWN.iter() {
                check(label, g, &text);
            }
        }
    }
}
