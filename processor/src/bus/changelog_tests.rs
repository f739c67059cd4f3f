//! The changelog on a real broker: a new owner of a partition goes on from the state its
//! previous owner stored, and a flush cut short by a crash is repaired, not applied.

use std::time::Duration;

use rdkafka::producer::{FutureProducer, FutureRecord};
use tokio_util::sync::CancellationToken;

use super::changelog::{self, MARKER};
use super::tests::{
    Decisions, auth_log, brokers, bus_config, bus_topics, clock, expected, produce_lines,
    read_decisions, setup, topics,
};
use super::{run_detect, run_parse};
use crate::StateDb;
use crate::state::{Family, Op};

/// The first half of a log is detected by one process (state dir A), the second half by
/// another one with an empty state dir (a new machine): together they decide what one
/// pipeline decides for the whole log, because the second restores every partition from the
/// changelog before it goes on. Buckets filled across the two halves are what would be lost
/// otherwise.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_owner_goes_on_from_the_changelog() {
    let brokers = brokers();
    let names = bus_topics(&brokers, "handover", 4).await;
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let cfg_a = bus_config(&brokers, &names, dir_a.path());
    let cfg_b = bus_config(&brokers, &names, dir_b.path());
    let lines = auth_log(4000);
    let want = expected(&lines);
    let idle = Some(Duration::from_secs(4));

    let mut decisions = 0;
    let mut restored = 0;
    for (half, cfg) in [(&lines[..2000], &cfg_a), (&lines[2000..], &cfg_b)] {
        produce_lines(cfg, half).await;
        run_parse(&setup(), clock(), cfg, idle, CancellationToken::new())
            .await
            .unwrap();
        let d = run_detect(&setup(), clock(), cfg, idle, CancellationToken::new())
            .await
            .unwrap();
        eprintln!("detect {d:?}");
        decisions += d.decisions;
        restored = d.restored;
    }
    let got: Decisions = read_decisions(&brokers, &cfg_a.decisions_topic, decisions as usize).await;
    assert_eq!(got, want);
    assert!(restored > 0, "the second process restored nothing");
}

/// Records written after the last marker (a flush cut short) are not applied: the restorer
/// writes their keys back to their stored values (or deletes them) and a marker, so a later
/// restore from the topic gives the same state.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cut_short_flush_is_repaired() {
    let brokers = brokers();
    let names = topics(&brokers, "repair", &[("state", 1)]).await;
    let mut cfg = bus_config(&brokers, &vec![String::new(); 5], std::path::Path::new("/"));
    cfg.state_topic = names[0].clone();
    let producer: FutureProducer = cfg.producer().create().unwrap();
    let bucket = |k: &str, v: Option<&str>| Op {
        family: Family::Buckets,
        key: k.as_bytes().to_vec(),
        value: v.map(|v| v.as_bytes().to_vec()),
    };
    // One complete flush: a=1, b=2.
    let mut pending = Vec::new();
    let marker = changelog::publish(
        &producer,
        &cfg.state_topic,
        0,
        &[bucket("a", Some("1")), bucket("b", Some("2"))],
        10,
        &mut pending,
    )
    .unwrap();
    super::acked(&mut pending).await.unwrap();
    changelog::marker_offset(marker).await.unwrap();
    // A flush cut short: a=9, b deleted, c=3, and no marker.
    for op in [
        bucket("a", Some("9")),
        bucket("b", None),
        bucket("c", Some("3")),
    ] {
        let key = op.record_key();
        let mut rec = FutureRecord::<[u8], [u8]>::to(&cfg.state_topic)
            .partition(0)
            .key(&key);
        if let Some(v) = &op.value {
            rec = rec.payload(v);
        }
        pending.push(producer.send_result(rec).map_err(|(e, _)| e).unwrap());
    }
    super::acked(&mut pending).await.unwrap();
    assert_ne!(MARKER, b"a");

    let state = |db: &StateDb| {
        ["a", "b", "c"].map(|k| {
            db.get(Family::Buckets, k.as_bytes())
                .unwrap()
                .map(|v| String::from_utf8(v).unwrap())
        })
    };
    let want = [Some("1".to_string()), Some("2".to_string()), None];
    let dir = tempfile::tempdir().unwrap();
    let db = StateDb::open(&dir.path().join("one")).unwrap();
    let stats =
        tokio::task::block_in_place(|| changelog::restore(&cfg, &producer, &db, 0)).unwrap();
    assert_eq!((stats.applied, stats.repaired), (2, 3), "{stats:?}");
    assert_eq!(state(&db), want);
    // From the topic again, into another database: the repair group puts things back.
    let db2 = StateDb::open(&dir.path().join("two")).unwrap();
    let stats =
        tokio::task::block_in_place(|| changelog::restore(&cfg, &producer, &db2, 0)).unwrap();
    assert_eq!(stats.repaired, 0, "{stats:?}");
    assert_eq!(state(&db2), want);
    // Nothing new: the first database is at the end already.
    let stats =
        tokio::task::block_in_place(|| changelog::restore(&cfg, &producer, &db, 0)).unwrap();
    assert_eq!((stats.applied, stats.repaired), (0, 0), "{stats:?}");
}
