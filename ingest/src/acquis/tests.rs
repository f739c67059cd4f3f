use super::*;

fn one(text: &str) -> SourceConfig {
    let mut v = parse_acquis(text, "acquis.yaml").unwrap();
    assert_eq!(v.len(), 1, "{v:?}");
    v.remove(0)
}

fn err(text: &str) -> (usize, usize, Option<String>, String) {
    match parse_acquis(text, "acquis.yaml") {
        Err(AcquisError::Invalid {
            doc,
            line,
            key,
            message,
            ..
        }) => (doc, line, key, message),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn multi_document_file_with_crowdsec_defaults() {
    let text = "\
filenames:
  - /var/log/auth.log
  - /var/log/nginx/*.log
labels:
  type: syslog
---
# a comment-only document is skipped
---
source: syslog
listen_port: 4242
labels:
  type: syslog
---
source: journalctl
journalctl_filter:
  - _SYSTEMD_UNIT=ssh.service
labels:
  type: syslog
---
source: http
listen_addr: 127.0.0.1:8081
auth_type: headers
headers:
  key: secret
labels:
  type: nginx
";
    let v = parse_acquis(text, "acquis.yaml").unwrap();
    assert_eq!(v.len(), 4);
    let SourceKind::File(f) = &v[0].kind else {
        panic!()
    };
    assert_eq!(f.patterns, ["/var/log/auth.log", "/var/log/nginx/*.log"]);
    assert_eq!(f.mode, Mode::Tail);
    assert_eq!(f.max_line_bytes, 64 * 1024);
    assert_eq!(
        v[0].describe(),
        "file /var/log/auth.log, /var/log/nginx/*.log (type syslog)"
    );
    let SourceKind::Syslog(s) = &v[1].kind else {
        panic!()
    };
    assert_eq!(
        (s.addr.to_string(), s.port, s.max_message_len),
        ("127.0.0.1".into(), 4242, 2048)
    );
    assert_eq!(v[1].origin, "acquis.yaml:9");
    let SourceKind::Journalctl(j) = &v[2].kind else {
        panic!()
    };
    assert_eq!(j.filters, ["_SYSTEMD_UNIT=ssh.service"]);
    let SourceKind::Http(h) = &v[3].kind else {
        panic!()
    };
    assert_eq!(h.path, "/");
    assert!(matches!(&h.auth, HttpAuth::Headers(m) if m["key"] == "secret"));
    assert_eq!(v[3].describe(), "http 127.0.0.1:8081/ (type nginx)");
}

#[test]
fn filename_alone_and_cat_mode() {
    let s = one("filename: /tmp/x.log\nmode: cat\nmax_line_bytes: 100\nlabels: {type: nginx}\n");
    let SourceKind::File(f) = &s.kind else {
        panic!()
    };
    assert_eq!((f.mode, f.max_line_bytes), (Mode::Cat, 100));
    assert_eq!(s.describe(), "file /tmp/x.log [cat] (type nginx)");
}

#[test]
fn keys_crowdsec_accepts_but_hivewall_ignores_are_warnings() {
    let s = one(
        "source: file\nfilename: /tmp/x\nforce_inotify: true\nlog_level: debug\nlabels:\n  type: syslog\n",
    );
    assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
    assert!(s.warnings[0].contains("log_level"));
    assert!(s.warnings[1].contains("force_inotify"));
}

#[test]
fn unknown_key_is_an_error_with_its_line_and_document() {
    let text = "filename: /a\nlabels:\n  type: syslog\n---\nsource: syslog\nlabels:\n  type: syslog\nbogus: 1\n";
    let (doc, line, key, message) = err(text);
    assert_eq!(
        (doc, line, key.as_deref()),
        (2, 8, Some("bogus")),
        "{message}"
    );
}

#[test]
fn key_of_another_datasource_is_an_error() {
    let (doc, line, key, message) =
        err("source: syslog\nlabels:\n  type: syslog\njournalctl_filter_x: 1\n");
    assert_eq!(
        (doc, line, key.as_deref()),
        (1, 4, Some("journalctl_filter_x")),
        "{message}"
    );
    let (_, line, key, message) =
        err("source: syslog\nlabels:\n  type: syslog\nfilenames_: []\npath: /x\n");
    assert_eq!(key.as_deref(), Some("filenames_"), "{message} {line}");
    let (_, line, key, message) = err("source: syslog\nlabels:\n  type: syslog\npath: /x\n");
    assert_eq!((line, key.as_deref()), (4, Some("path")));
    assert!(message.contains("syslog"), "{message}");
}

#[test]
fn crowdsec_validation_errors() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "labels:\n  type: syslog\n",
            "source",
            "missing 'source' field",
        ),
        ("source: file\nfilename: /a\n", "labels", "missing labels"),
        (
            "source: file\nlabels:\n  type: x\n",
            "filenames",
            "no filename",
        ),
        (
            "source: syslog\nlisten_port: 70000\nlabels:\n  type: x\n",
            "listen_port",
            "invalid port",
        ),
        (
            "source: syslog\nlisten_addr: nope\nlabels:\n  type: x\n",
            "listen_addr",
            "invalid listen IP",
        ),
        (
            "source: journalctl\nlabels:\n  type: x\n",
            "journalctl_filter",
            "required",
        ),
        (
            "source: http\nlisten_addr: 1.2.3.4:1\nauth_type: foo\nlabels:\n  type: x\n",
            "auth_type",
            "invalid auth_type",
        ),
        (
            "source: http\nlisten_addr: 1.2.3.4:1\nauth_type: headers\nlabels:\n  type: x\n",
            "headers",
            "headers is selected",
        ),
        (
            "source: http\nlisten_addr: 1.2.3.4:1\npath: x\nauth_type: headers\nheaders: {a: b}\nlabels:\n  type: x\n",
            "path",
            "must start with /",
        ),
        (
            "source: http\nlisten_addr: 1.2.3.4:1\nauth_type: basic_auth\nbasic_auth:\n  username: u\nlabels:\n  type: x\n",
            "basic_auth",
            "password",
        ),
        (
            "source: http\nlisten_addr: 1.2.3.4:1\nauth_type: headers\nheaders: {a: b}\nmax_body_size: 0\nlabels:\n  type: x\n",
            "max_body_size",
            "positive",
        ),
        (
            "source: file\nfilename: /a\nexclude_regexps: ['[']\nlabels:\n  type: x\n",
            "exclude_regexps",
            "regexp",
        ),
        (
            "source: file\nfilename: /a\nmode: sometimes\nlabels:\n  type: x\n",
            "mode",
            "unsupported mode",
        ),
        (
            "source: docker\ncontainer_name: [a]\nlabels:\n  type: x\n",
            "source",
            "not supported",
        ),
        (
            "source: nope\nlabels:\n  type: x\n",
            "source",
            "unknown datasource",
        ),
    ];
    for (text, want_key, want_msg) in cases {
        let (_, _, key, message) = err(text);
        assert_eq!(key.as_deref(), Some(*want_key), "{text}: {message}");
        assert!(message.contains(want_msg), "{text}: {message}");
    }
}

#[test]
fn bad_yaml_points_at_its_line() {
    let (doc, line, _, message) = err(
        "filename: /a\nlabels:\n  type: syslog\n---\nsource: file\nfilenames: /x\nlabels: {type: syslog}\n",
    );
    assert_eq!(doc, 2);
    assert_eq!(line, 6, "{message}");
    let e = parse_acquis("source: [\n", "a.yaml")
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("a.yaml:"), "{e}");
}

#[test]
fn error_display_names_file_line_document_and_key() {
    let e = parse_acquis(
        "source: syslog\nlabels:\n  type: syslog\nlisten_port: -1\n",
        "/etc/a.yaml",
    )
    .unwrap_err()
    .to_string();
    assert_eq!(
        e,
        "/etc/a.yaml:4 (document 1): `listen_port`: invalid port -1"
    );
}

#[test]
fn source_is_detected_from_keys_and_a_mismatch_warns() {
    let s = one("source: syslog\nfilename: /a\nlabels:\n  type: syslog\n");
    assert!(matches!(s.kind, SourceKind::File(_)));
    assert!(s.warnings[0].contains("mismatch"), "{:?}", s.warnings);
}

#[test]
fn load_reads_path_then_dir_and_expands_env() {
    let dir = tempfile::tempdir().unwrap();
    let main = dir.path().join("acquis.yaml");
    std::fs::write(&main, "filename: /var/log/a.log\nlabels:\n  type: syslog\n").unwrap();
    let d = dir.path().join("acquis.d");
    std::fs::create_dir(&d).unwrap();
    std::fs::write(
        d.join("b.yaml"),
        "filename: ${HIVEWALL_TEST_UNSET_VAR}/b\nlabels:\n  type: x\n",
    )
    .unwrap();
    std::fs::write(d.join("c.yml"), "source: stdin\nlabels:\n  type: x\n").unwrap();
    std::fs::write(d.join("ignored.txt"), "garbage").unwrap();
    let v = load_acquis(Some(&main), Some(&d)).unwrap();
    assert_eq!(v.len(), 3);
    let SourceKind::File(f) = &v[1].kind else {
        panic!()
    };
    assert_eq!(f.patterns, ["${HIVEWALL_TEST_UNSET_VAR}/b"]);
    assert!(v[1].origin.ends_with("b.yaml:1"));
    // A missing acquisition_path is skipped, as CrowdSec does.
    assert_eq!(
        load_acquis(Some(&dir.path().join("none.yaml")), Some(&d))
            .unwrap()
            .len(),
        2
    );
    assert!(matches!(
        load_acquis(None, None),
        Err(AcquisError::NoAcquisition)
    ));
}

#[test]
fn env_expansion_is_strict() {
    let look = |k: &str| (k == "A").then(|| "x".to_string());
    assert_eq!(
        server_common::expand_env("$A ${A} $B ${B} $ ${", &look),
        "x x $B ${B} $ ${"
    );
}

#[test]
fn stdin_constructor() {
    let s = SourceConfig::stdin("nginx");
    assert_eq!(s.describe(), "stdin (type nginx)");
    assert_eq!(s.labels["type"], "nginx");
}

#[test]
fn yaml_error_messages_are_short() {
    for text in [
        "source: syslog\nlabels:\n  type: syslog\nbogus: 1\n",
        "filename: /a\nlabels: [1, 2]\n",
        "source: [\n",
        "source: syslog\nlisten_port: abc\nlabels:\n  type: x\n",
    ] {
        let e = parse_acquis(text, "a.yaml").unwrap_err().to_string();
        eprintln!("{e}");
        assert!(!e.contains('\n') && e.len() < 200, "{e}");
    }
}
