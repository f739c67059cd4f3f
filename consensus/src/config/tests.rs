//! Settings: parsing, defaults, and what validation refuses.

use std::path::Path;

use crate::config::{ConfigError, ConsensusConfig};

/// The validated cluster settings of `yaml`.
fn cluster_of(yaml: &str) -> crate::config::Cluster {
    ConsensusConfig::from_yaml(yaml, Path::new("c.yaml"))
        .unwrap()
        .validate()
        .unwrap()
        .cluster
}

fn invalid_key(yaml: &str) -> String {
    let cfg = ConsensusConfig::from_yaml(yaml, Path::new("c.yaml")).unwrap();
    match cfg.validate() {
        Err(ConfigError::Invalid { key, .. }) => key,
        other => panic!("{yaml}: {other:?}"),
    }
}

#[test]
fn defaults_validate() {
    let r = ConsensusConfig::from_yaml("", Path::new("c.yaml"))
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(
        (r.min_reporters, r.window, r.entry_ttl, r.hold),
        (3, 43_200, 86_400, 28_800)
    );
    // New reporters start below the bar: prior 1/(1+4) = 0.2 < min_trust.
    assert!(r.trust(0.0, 0.0) < r.min_trust);
}

#[test]
fn a_file_sets_weights_and_seeds() {
    let yaml = "min_reporters: 4\nthreshold: 2.5\nwindow: 6h\nscenario_weights:\n  crowdsecurity/ssh-bf: 1.5\nseeds:\n  - reporter: sensor-1\n    confirmed: 50\ntrust:\n  half_life: 14d\n";
    let r = ConsensusConfig::from_yaml(yaml, Path::new("c.yaml"))
        .unwrap()
        .validate()
        .unwrap();
    assert_eq!(
        (r.min_reporters, r.window, r.half_life),
        (4, 21_600, 14 * 86_400)
    );
    // Held for two thirds of the window unless told.
    assert_eq!(r.hold, 14_400);
    assert_eq!(r.scenario_weights.get("crowdsecurity/ssh-bf"), Some(&1.5));
    assert_eq!(r.seeds, vec![("sensor-1".to_string(), 50.0)]);
}

#[test]
fn validation_names_the_key() {
    assert_eq!(invalid_key("min_reporters: 1"), "min_reporters");
    assert_eq!(invalid_key("threshold: 0"), "threshold");
    assert_eq!(invalid_key("window: 12"), "window");
    assert_eq!(invalid_key("hold: soon"), "hold");
    assert_eq!(invalid_key("hold: 12h"), "hold");
    assert_eq!(
        invalid_key("trust:\n  min_confirmed: 0"),
        "trust.min_confirmed"
    );
    assert_eq!(invalid_key("trust:\n  min_trust: 1.5"), "trust.min_trust");
    assert_eq!(
        invalid_key("trust:\n  unconfirmed_cost: -1"),
        "trust.unconfirmed_cost"
    );
    assert_eq!(
        invalid_key("scenario_weights:\n  a/b: -1"),
        "scenario_weights.a/b"
    );
    assert_eq!(
        invalid_key("seeds:\n  - {reporter: a, confirmed: 1}\n  - {reporter: a, confirmed: 2}"),
        "seeds[1].reporter"
    );
    assert_eq!(
        invalid_key("limits:\n  max_reports_per_target: 2"),
        "limits.max_reports_per_target"
    );
    assert_eq!(invalid_key("min_range_prefix_v4: 4"), "min_range_prefix_v4");
}

#[test]
fn unknown_keys_and_bad_yaml_name_the_file() {
    let e = ConsensusConfig::from_yaml("min_reporter: 3", Path::new("c.yaml")).unwrap_err();
    assert!(matches!(&e, ConfigError::Yaml { .. }), "{e:?}");
    assert!(e.to_string().starts_with("c.yaml: "), "{e}");
    let e = ConsensusConfig::from_file(Path::new("/nonexistent/c.yaml")).unwrap_err();
    assert!(e.to_string().starts_with("/nonexistent/c.yaml: "), "{e}");
}

#[test]
fn cluster_settings_default_parse_and_validate() {
    let r = ConsensusConfig::default().validate().unwrap();
    let c = &r.cluster;
    assert!(c.enabled);
    assert_eq!((c.generation, c.max_support, c.partners), (43_200, 8, 4));
    assert_eq!((c.sketch_bits, c.min_pair), (16_384, 3.0));
    assert_eq!(r.limits.max_sketches, 100_000);
    let yaml = "cluster:\n  enabled: false\n  generation: 48h\n  sketch_bits: 4096\n  min_ratio: 3\nlimits:\n  max_sketches: 10\n";
    let r = ConsensusConfig::from_yaml(yaml, Path::new("c.yaml"))
        .unwrap()
        .validate()
        .unwrap();
    assert!(!r.cluster.enabled);
    assert_eq!(
        (r.cluster.generation, r.cluster.sketch_bits),
        (172_800, 4096)
    );
    assert_eq!((r.cluster.min_ratio, r.limits.max_sketches), (3.0, 10));
    assert_eq!(
        invalid_key("cluster:\n  max_support: 2"),
        "cluster.max_support"
    );
    assert_eq!(invalid_key("cluster:\n  partners: 1"), "cluster.partners");
    assert_eq!(
        invalid_key("cluster:\n  sketch_bits: 5000"),
        "cluster.sketch_bits"
    );
    assert_eq!(invalid_key("cluster:\n  min_pair: 1"), "cluster.min_pair");
    assert_eq!(
        invalid_key("cluster:\n  min_common: 0"),
        "cluster.min_common"
    );
    assert_eq!(
        invalid_key("cluster:\n  min_ratio: 0.5"),
        "cluster.min_ratio"
    );
    assert_eq!(
        invalid_key("cluster:\n  generation: 0s"),
        "cluster.generation"
    );
    // Chance from exposure: crowds are full tallies by default.
    assert_eq!(
        (
            c.min_z,
            c.rare_z,
            c.set_z,
            c.busy_z,
            c.popularity_cap,
            c.crowd_support
        ),
        (3.0, 5.0, 3.0, 3.0, 1.25, 16)
    );
    let crowd = |yaml: &str| cluster_of(yaml).crowd_support;
    assert_eq!(crowd("limits:\n  max_reports_per_target: 32\n"), 32);
    assert_eq!(crowd("cluster:\n  crowd_support: 12\n"), 12);
    // A tally that cannot hold a crowd: none (more than it can hold).
    assert_eq!(crowd("limits:\n  max_reports_per_target: 6\n"), 9);
    assert_eq!(invalid_key("cluster:\n  min_z: -1"), "cluster.min_z");
    assert_eq!(invalid_key("cluster:\n  rare_z: -0.5"), "cluster.rare_z");
    assert_eq!(cluster_of("cluster:\n  rare_z: 0\n").rare_z, 0.0);
    assert_eq!(cluster_of("cluster:\n  set_z: 4.5\n").set_z, 4.5);
    assert_eq!(cluster_of("cluster:\n  set_z: 0\n").set_z, 0.0);
    assert_eq!(cluster_of("cluster:\n  busy_z: 0\n").busy_z, 0.0);
    assert_eq!(cluster_of("cluster:\n  busy_z: 4\n").busy_z, 4.0);
    assert!(c.transitive && !cluster_of("cluster:\n  transitive: false\n").transitive);
    // Tallies are recorded an hour after their last report; `0s`: when they end only.
    assert_eq!(c.settle, 3600);
    assert_eq!(cluster_of("cluster:\n  settle: 0s\n").settle, 0);
    assert_eq!(invalid_key("cluster:\n  settle: 12h"), "cluster.settle");
    assert_eq!(invalid_key("cluster:\n  settle: soon"), "cluster.settle");
    // The oldest generation is dropped at rotation unless `keep` says how much of it stays.
    assert_eq!(c.keep, 0.0);
    assert_eq!(cluster_of("cluster:\n  keep: 0.5\n").keep, 0.5);
    assert_eq!(invalid_key("cluster:\n  keep: 1"), "cluster.keep");
    // Four generations unless told: partners remembered for three to four of them.
    assert_eq!(c.generations, 4);
    assert_eq!(cluster_of("cluster:\n  generations: 2\n").generations, 2);
    assert_eq!(
        invalid_key("cluster:\n  generations: 1"),
        "cluster.generations"
    );
    assert_eq!(
        invalid_key("cluster:\n  generations: 9"),
        "cluster.generations"
    );
    assert_eq!(invalid_key("cluster:\n  set_z: -1"), "cluster.set_z");
    assert_eq!(invalid_key("cluster:\n  busy_z: -1"), "cluster.busy_z");
    assert_eq!(
        invalid_key("cluster:\n  busy_set_z: -1"),
        "cluster.busy_set_z"
    );
    assert_eq!(c.busy_set_z, 3.0);
    assert_eq!(cluster_of("cluster:\n  busy_set_z: 0\n").busy_set_z, 0.0);
    assert_eq!(
        invalid_key("cluster:\n  popularity_cap: 0.9"),
        "cluster.popularity_cap"
    );
    assert_eq!(
        invalid_key("cluster:\n  crowd_support: 8"),
        "cluster.crowd_support"
    );
    // The tight tier: K + 1 by default (within max_support), 0 turns it off.
    assert_eq!((c.tight_support, c.tight_min_common), (4, 8.0));
    let tight = |yaml: &str| cluster_of(yaml).tight_support;
    assert_eq!(tight("min_reporters: 5\n"), 6);
    assert_eq!(tight("cluster:\n  max_support: 3\n"), 3);
    assert_eq!(tight("cluster:\n  tight_support: 0\n"), 0);
    assert_eq!(tight("cluster:\n  tight_support: 8\n"), 8);
    for bad in [
        "cluster:\n  tight_support: 2",
        "cluster:\n  tight_support: 9",
    ] {
        assert_eq!(invalid_key(bad), "cluster.tight_support");
    }
    assert_eq!(
        invalid_key("cluster:\n  tight_min_common: 0"),
        "cluster.tight_min_common"
    );
    // The broad tier: up to one short of a crowd by default, 0 turns it off.
    let broad = |yaml: &str| cluster_of(yaml).broad_support;
    assert_eq!((c.broad_support, c.broad_min_common), (15, 12.0));
    assert_eq!(broad("cluster:\n  crowd_support: 12\n"), 11);
    assert_eq!(broad("cluster:\n  broad_support: 0\n"), 0);
    assert_eq!(broad("cluster:\n  broad_support: 9\n"), 9);
    // A tally that cannot hold more than max_support: none (9 - 1 = max_support).
    assert_eq!(broad("limits:\n  max_reports_per_target: 6\n"), 8);
    assert_eq!(
        invalid_key("cluster:\n  broad_min_common: 0"),
        "cluster.broad_min_common"
    );
    for bad in [
        "cluster:\n  broad_support: 8",
        "cluster:\n  broad_support: 16",
    ] {
        assert_eq!(invalid_key(bad), "cluster.broad_support");
    }
    // Crowds have a tier of their own, linked at more shared bits; exposure is counted from
    // attacks a seed saw too.
    assert!(
        c.crowd_tier && !c.crowd_exposure_vouched,
        "no seed vouches by default"
    );
    let seeded = "seeds:\n  - reporter: s1\n    confirmed: 20\n";
    assert!(cluster_of(seeded).crowd_exposure_vouched);
    let silent = format!("{seeded}trust:\n  seeds_vouch: false\n");
    assert!(!cluster_of(&silent).crowd_exposure_vouched);
    assert_eq!(c.crowd_min_common, 24.0);
    let off = cluster_of("cluster:\n  crowd_tier: false\n  crowd_exposure_vouched: false\n");
    assert!(!off.crowd_tier && !off.crowd_exposure_vouched);
    assert_eq!(
        invalid_key("cluster:\n  crowd_min_common: 0"),
        "cluster.crowd_min_common"
    );
    let e = ConsensusConfig::from_yaml("cluster:\n  min_pairs: 3", Path::new("c.yaml"));
    assert!(matches!(e, Err(ConfigError::Yaml { .. })), "unknown key");
}
