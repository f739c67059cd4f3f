use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::keys::expand_env;
use super::*;

/// Modelled on the Debian package's `/etc/crowdsec/config.yaml` of CrowdSec 1.4.6.
const DEBIAN_1_4_6: &str = "\
common:
  daemonize: true
  log_media: file
  log_level: info
  log_dir: /var/log/
  log_max_size: 20
  compress_logs: true
  log_max_files: 10
  working_dir: .
config_paths:
  config_dir: /etc/crowdsec/
  data_dir: /var/lib/crowdsec/data/
  simulation_path: /etc/crowdsec/simulation.yaml
  hub_dir: /etc/crowdsec/hub/
  index_path: /etc/crowdsec/hub/.index.json
  notification_dir: /etc/crowdsec/notifications/
  plugin_dir: /usr/lib/crowdsec/plugins/
crowdsec_service:
  acquisition_path: /etc/crowdsec/acquis.yaml
  acquisition_dir: /etc/crowdsec/acquis.d
  parser_routines: 1
cscli:
  output: human
  color: auto
db_config:
  log_level: info
  type: sqlite
  db_path: /var/lib/crowdsec/data/crowdsec.db
  use_wal: false
  #max_open_conns: 100
  flush:
    max_items: 5000
    max_age: 7d
plugin_config:
  user: nobody # plugin process would be ran on behalf of this user
  group: nogroup # plugin process would be ran on behalf of this group
api:
  client:
    insecure_skip_verify: false
    credentials_path: /etc/crowdsec/local_api_credentials.yaml
  server:
    log_level: info
    listen_uri: 127.0.0.1:8080
    profiles_path: /etc/crowdsec/profiles.yaml
    console_path: /etc/crowdsec/console.yaml
    online_client: # Central API credentials (to push signals and receive bad IPs)
      credentials_path: /etc/crowdsec/online_api_credentials.yaml
    trusted_ips: # IP ranges, or IPs which can have admin API access
      - 127.0.0.1
      - ::1
#    tls:
#      cert_file: /etc/crowdsec/ssl/cert.pem
#      key_file: /etc/crowdsec/ssl/key.pem
prometheus:
  enabled: true
  level: full
  listen_addr: 127.0.0.1
  listen_port: 6060
";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn p(s: &str) -> PathBuf {
    PathBuf::from(s)
}

#[test]
fn debian_1_4_6_config_resolves() {
    let dir = tempfile::tempdir().unwrap();
    let settings = load_with_env(&write(dir.path(), "config.yaml", DEBIAN_1_4_6), no_env).unwrap();
    let expected = Settings {
        config_dir: p("/etc/crowdsec"),
        data_dir: p("/var/lib/crowdsec/data"),
        hub_dir: Some(p("/etc/crowdsec/hub")),
        acquisition_path: Some(p("/etc/crowdsec/acquis.yaml")),
        acquisition_dir: Some(p("/etc/crowdsec/acquis.d")),
        profiles_path: Some(p("/etc/crowdsec/profiles.yaml")),
        simulation_path: Some(p("/etc/crowdsec/simulation.yaml")),
        listen: "127.0.0.1:8080".parse().unwrap(),
        api_enabled: true,
        state_dir: p("/var/lib/crowdsec/data/hivewall"),
        prometheus: Some("127.0.0.1:6060".parse().unwrap()),
        log_level: "info".into(),
        log_dir: Some(p("/var/log")),
        log_media: "file".into(),
        credentials_path: Some(p("/etc/crowdsec/local_api_credentials.yaml")),
        online_credentials_path: Some(p("/etc/crowdsec/online_api_credentials.yaml")),
        hivewall: HivewallSection::default(),
        ignored: [
            "common.daemonize",
            "common.log_max_size",
            "common.compress_logs",
            "common.log_max_files",
            "common.working_dir",
            "config_paths.index_path",
            "config_paths.notification_dir",
            "config_paths.plugin_dir",
            "crowdsec_service.parser_routines",
            "cscli",
            "db_config.log_level",
            "db_config.type",
            "db_config.use_wal",
            "db_config.flush",
            "plugin_config",
            "api.client.insecure_skip_verify",
            "api.server.log_level",
            "api.server.console_path",
            "api.server.trusted_ips",
            "prometheus.level",
        ]
        .map(String::from)
        .to_vec(),
    };
    assert_eq!(settings, expected);
}

#[test]
fn absent_keys_take_crowdsec_defaults_and_relative_paths_resolve_beside_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "config.yaml",
        "config_paths:\n  data_dir: ./data/\ncrowdsec_service:\n  acquisition_dir: acquis.d\n",
    );
    let s = load_with_env(&path, no_env).unwrap();
    let base = dir.path().to_path_buf();
    assert_eq!(s.config_dir, base);
    assert_eq!(s.data_dir, base.join("data"));
    assert_eq!(s.hub_dir, Some(base.join("hub")));
    assert_eq!(s.acquisition_dir, Some(base.join("acquis.d")));
    assert_eq!(
        s.acquisition_path, None,
        "acquisition_dir alone replaces the default file"
    );
    assert_eq!(s.profiles_path, Some(base.join("profiles.yaml")));
    assert_eq!(s.state_dir, base.join("data/hivewall"));
    assert_eq!(s.listen, "127.0.0.1:8080".parse::<SocketAddr>().unwrap());
    assert!(
        !s.api_enabled,
        "CrowdSec serves no API without an api.server section"
    );
    assert_eq!(s.prometheus, None);
    assert_eq!(
        (s.log_level.as_str(), s.log_media.as_str()),
        ("info", "stdout")
    );

    // An empty file is valid and sets nothing.
    let empty = load_with_env(&write(dir.path(), "empty.yaml", "# nothing\n"), no_env).unwrap();
    assert_eq!(empty.data_dir, p("/var/lib/crowdsec/data"));
    assert_eq!(empty.acquisition_path, Some(base.join("acquis.yaml")));
    assert!(empty.ignored.is_empty());
}

#[test]
fn environment_variables_expand_like_crowdsec() {
    let env = |name: &str| match name {
        "DATA" => Some("/srv/cs".to_owned()),
        "PORT" => Some("9090".to_owned()),
        "EMPTY" => Some(String::new()),
        _ => None,
    };
    assert_eq!(
        expand_env("${DATA}/x $PORT-$PORT", &env),
        "/srv/cs/x 9090-9090"
    );
    assert_eq!(expand_env("a$EMPTY.b", &env), "a.b");
    // Unset variables, a lone `$` and an unclosed `${` stay as written.
    assert_eq!(
        expand_env("$NOPE ${NOPE} $ ${DATA", &env),
        "$NOPE ${NOPE} $ ${DATA"
    );
    assert_eq!(expand_env("cost: 5$", &env), "cost: 5$");

    let dir = tempfile::tempdir().unwrap();
    let text =
        "config_paths:\n  data_dir: ${DATA}/data\napi:\n  server:\n    listen_uri: 0.0.0.0:$PORT\n";
    let s = load_with_env(&write(dir.path(), "config.yaml", text), env).unwrap();
    assert_eq!(s.data_dir, p("/srv/cs/data"));
    assert_eq!(s.listen, "0.0.0.0:9090".parse::<SocketAddr>().unwrap());
}

#[test]
fn local_file_is_merged_over_the_main_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "config.yaml", DEBIAN_1_4_6);
    write(
        dir.path(),
        "config.yaml.local",
        "api:\n  server:\n    listen_uri: :8081\n    use_forwarded_for_headers: true\n\
         hivewall:\n  state_dir: /srv/hivewall\n  channel_capacity: 64\n",
    );
    let s = load_with_env(&path, no_env).unwrap();
    assert_eq!(s.listen, "0.0.0.0:8081".parse::<SocketAddr>().unwrap());
    assert_eq!(s.state_dir, p("/srv/hivewall"));
    assert_eq!(s.hivewall.state_dir, Some(p("/srv/hivewall")));
    assert_eq!(s.hivewall.channel_capacity, 64);
    // Untouched keys keep the main file's values.
    assert_eq!(s.profiles_path, Some(p("/etc/crowdsec/profiles.yaml")));
    assert_eq!(s.log_media, "file");
    assert_eq!(
        s.ignored.last().map(String::as_str),
        Some("api.server.use_forwarded_for_headers")
    );
    assert_eq!(s.ignored.iter().filter(|k| *k == "cscli").count(), 1);
}

#[test]
fn typo_in_hivewall_section_is_an_error_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = "common:\n  log_level: info\nhivewall:\n  channel_capacity: 8\n  stat_dir: /x\n";
    let path = write(dir.path(), "config.yaml", text);
    let err = load_with_env(&path, no_env).unwrap_err();
    let SettingsError::Yaml {
        line, ref message, ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(line, 5, "{err}");
    assert!(message.starts_with("unknown field `stat_dir`"), "{err}");
    assert!(!message.contains("line 5"), "position printed once: {err}");
    assert!(
        err.to_string()
            .starts_with(&format!("{}:5:", path.display())),
        "{err}"
    );
}

#[test]
fn bad_values_are_errors_with_file_line_and_key() {
    let dir = tempfile::tempdir().unwrap();
    let text = "api:\n  server:\n    listen_uri: lapi.example.com:8080\n";
    let path = write(dir.path(), "config.yaml", text);
    let err = load_with_env(&path, no_env).unwrap_err();
    let SettingsError::Invalid { line, ref key, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!((line, key.as_str()), (3, "api.server.listen_uri"), "{err}");

    let local = write(
        dir.path(),
        "config.yaml.local",
        "common:\n  log_level: verbose\n",
    );
    write(dir.path(), "config.yaml", "common:\n  log_level: debug\n");
    let err = load_with_env(&path, no_env).unwrap_err();
    let SettingsError::Invalid {
        path: ref at,
        line,
        ref key,
        ..
    } = err
    else {
        panic!("{err:?}")
    };
    assert_eq!(
        (at, line, key.as_str()),
        (&local, 2, "common.log_level"),
        "{err}"
    );

    write(
        dir.path(),
        "config.yaml",
        "prometheus:\n  listen_port: many\n",
    );
    std::fs::remove_file(&local).unwrap();
    let err = load_with_env(&path, no_env).unwrap_err();
    assert!(matches!(err, SettingsError::Yaml { line: 2, .. }), "{err}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.yaml");
    let err = load(&path).unwrap_err();
    assert!(matches!(err, SettingsError::NotFound { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        format!("{}: configuration file not found", path.display())
    );
}

#[test]
fn defaults_use_the_scenarios_layout() {
    let dir = tempfile::tempdir().unwrap();
    let s = defaults(dir.path());
    assert_eq!(s.config_dir, dir.path());
    assert_eq!(s.data_dir, dir.path().join("data"));
    assert_eq!(
        (s.acquisition_path.as_ref(), s.hub_dir.as_ref()),
        (None, None)
    );
    assert!(s.api_enabled);
    assert!(s.state_dir.ends_with("hivewall") && s.state_dir.is_absolute());

    // Given the repository root, the config lives in its scenarios/.
    std::fs::create_dir(dir.path().join("scenarios")).unwrap();
    write(&dir.path().join("scenarios"), "profiles.yaml", "");
    assert_eq!(
        defaults(dir.path()).config_dir,
        dir.path().join("scenarios")
    );
}

#[test]
fn feed_settings_and_online_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let creds = write(
        dir.path(),
        "online_api_credentials.yaml",
        "url: http://127.0.0.1:8090/\nlogin: w1\npassword: $NOT_EXPANDED\nextra: 1\n",
    );
    let text = "api:\n  server:\n    online_client:\n      credentials_path: ./online_api_credentials.yaml\n      sharing: true\n\
                hivewall:\n  feed_pull_interval: 1m30s\n  share_signals: true\n";
    let s = load_with_env(&write(dir.path(), "config.yaml", text), no_env).unwrap();
    assert_eq!(s.online_credentials_path.as_deref(), Some(creds.as_path()));
    assert_eq!(
        s.hivewall.feed_pull_interval,
        std::time::Duration::from_secs(90)
    );
    assert!(s.hivewall.share_signals);
    assert_eq!(s.ignored, ["api.server.online_client.sharing"]);
    let c = load_online_credentials(&creds).unwrap();
    assert_eq!(
        (c.url.as_str(), c.login.as_str(), c.password.as_str()),
        ("http://127.0.0.1:8090/", "w1", "$NOT_EXPANDED")
    );
    assert!(
        !c.to_string().contains("NOT_EXPANDED"),
        "the password is never shown"
    );

    // Defaults: 2 h, no sharing; the file a package ships is empty.
    let d = load_with_env(&write(dir.path(), "config.yaml", "common: {}\n"), no_env).unwrap();
    assert_eq!(d.online_credentials_path, None);
    assert_eq!(
        d.hivewall.feed_pull_interval,
        std::time::Duration::from_secs(7200)
    );
    assert!(!d.hivewall.share_signals);
    let empty = load_online_credentials(&write(dir.path(), "empty.yaml", "")).unwrap();
    assert_eq!(empty, OnlineCredentials::default());
    assert!(matches!(
        load_online_credentials(&dir.path().join("nope.yaml")),
        Err(SettingsError::NotFound { .. })
    ));

    for (bad, line) in [("2 hours", 3), ("0s", 3)] {
        let text = format!("common: {{}}\nhivewall:\n  feed_pull_interval: {bad}\n");
        let err = load_with_env(&write(dir.path(), "config.yaml", &text), no_env).unwrap_err();
        let SettingsError::Invalid {
            line: at, ref key, ..
        } = err
        else {
            panic!("{err:?}")
        };
        assert_eq!(
            (at, key.as_str()),
            (line, "hivewall.feed_pull_interval"),
            "{err}"
        );
    }
}
