//! The changelog on a real broker: a new owner of a partition goes on from the state its
//! previous owner stored, and a flush cut short by a crash is repaired, not applied.

use std::time::Duration;

use rdkafka::producer::FutureRecord;
use server_common::kafka::FutureProducer;
use tokio_util::sync::CancellationToken;

use super::changelog::{self, MARKER};
use super::owner::{Owner, Written};
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
    let stats = tokio::task::block_in_place(|| changelog::restore_partition(&cfg, &db, 0)).unwrap();
    assert_eq!((stats.applied, stats.repaired), (2, 3), "{stats:?}");
    assert_eq!(state(&db), want);
    // From the topic again, into another database: the repair group puts things back.
    let db2 = StateDb::open(&dir.path().join("two")).unwrap();
    let stats =
        tokio::task::block_in_place(|| changelog::restore_partition(&cfg, &db2, 0)).unwrap();
    assert_eq!(stats.repaired, 0, "{stats:?}");
    assert_eq!(state(&db2), want);
    // Nothing new: the first database is at the end already.
    let stats = tokio::task::block_in_place(|| changelog::restore_partition(&cfg, &db, 0)).unwrap();
    assert_eq!((stats.applied, stats.repaired), (0, 0), "{stats:?}");
}

/// A processor that stalled, lost its partition and woke up (a zombie) adds nothing to the
/// changelog once the next owner claimed the partition: the flush it had open is aborted by
/// the claim, its next commit is refused as fenced, and no restore sees either.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_owner_adds_nothing() {
    let brokers = brokers();
    let names = topics(&brokers, "fence", &[("state", 1)]).await;
    let mut cfg = bus_config(&brokers, &vec![String::new(); 5], std::path::Path::new("/"));
    cfg.state_topic = names[0].clone();
    let bucket = |k: &str, v: &str| Op {
        family: Family::Buckets,
        key: k.as_bytes().to_vec(),
        value: Some(v.as_bytes().to_vec()),
    };
    let state = |db: &StateDb| {
        ["a", "b"].map(|k| {
            db.get(Family::Buckets, k.as_bytes())
                .unwrap()
                .map(|v| String::from_utf8(v).unwrap())
        })
    };
    let dir = tempfile::tempdir().unwrap();
    tokio::task::block_in_place(|| {
        let zombie = Owner::claim(&cfg, 0).unwrap();
        assert!(matches!(
            zombie.write(&[bucket("a", "1")], 10).unwrap(),
            Written::At(_)
        ));
        // The zombie's next flush is open when the heir claims the partition.
        let open = zombie
            .queue(&[bucket("a", "666"), bucket("b", "666")], 11)
            .unwrap();
        let heir = Owner::claim(&cfg, 0).unwrap();
        let db = StateDb::open(&dir.path().join("heir")).unwrap();
        changelog::restore(&cfg, &heir, &db, 0).unwrap();
        assert_eq!(state(&db), [Some("1".to_string()), None]);
        // The zombie wakes up: its commit is fenced, and so is any later flush.
        assert!(!zombie.commit().unwrap());
        let handle = tokio::runtime::Handle::current();
        assert!(matches!(
            handle.block_on(Owner::settled(open, false)).unwrap(),
            Written::Fenced
        ));
        assert!(matches!(
            zombie.write(&[bucket("b", "777")], 12).unwrap(),
            Written::Fenced
        ));
        // The heir goes on; a restore from the topic sees its writes and none of the zombie's.
        assert!(matches!(
            heir.write(&[bucket("b", "2")], 12).unwrap(),
            Written::At(_)
        ));
        let fresh = StateDb::open(&dir.path().join("fresh")).unwrap();
        let stats = changelog::restore_partition(&cfg, &fresh, 0).unwrap();
        assert_eq!(stats.repaired, 0, "{stats:?}");
        assert_eq!(
            state(&fresh),
            [Some("1".to_string()), Some("2".to_string())]
        );
    });
}
