//! Restore time of the detect stage's state: BUCKETS real buckets (our scenarios, filled by
//! failed SSH logins from distinct addresses) are written to partition 0 of a changelog topic
//! as a flush writes them; then a new owner with an empty state dir restores the partition
//! (changelog → RocksDB) and loads it (RocksDB → memory), timed apart. Prints
//! `buckets records changelog_MiB write_s restore_s load_s`.
//!
//!   restore_bench BROKERS TOPIC BUCKETS CONFIG_DIR     (TOPIC: empty, 1 partition)

use std::sync::Arc;
use std::time::Instant;

use chrono::{TimeZone, Utc};
use engine::bucket::BucketStore;
use engine::clock::FixedClock;
use engine::event::{Acquisition, ExpectMode};
use engine::pipeline::{Pipeline, Setup};
use processor::bus::{BusConfig, publish_ops, restore_partition};
use processor::{PersistentStore, StateDb, prepare};
use server_common::kafka::FutureProducer;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, brokers, topic, buckets, config] = args.as_slice() else {
        return Err("usage: restore_bench BROKERS TOPIC BUCKETS CONFIG_DIR".into());
    };
    let want: usize = buckets.parse()?;
    let config = std::path::Path::new(config);
    let setup = Setup::installed(config, config.join("data"))?;
    let t = Utc
        .with_ymd_and_hms(2026, 6, 1, 10, 0, 0)
        .single()
        .ok_or("time")?;
    let clock = Arc::new(FixedClock(t));
    let mut p = Pipeline::load_with(&setup, clock, |_| PersistentStore::default())?;
    let acq = Acquisition::new("/var/log/auth.log", "file", "syslog", std::iter::empty());
    let mut i = 0u64;
    // One timestamp for every line: no bucket leaks out while the state is built.
    while p.detector().store().len() < want {
        if i > 4 * want as u64 {
            return Err("the lines do not make buckets (whitelisted addresses?)".into());
        }
        // Addresses in 100.64.0.0/10 (not whitelisted by our parsers).
        let line = format!(
            "{} web1 sshd[{i}]: Failed password for invalid user u{} from 100.{}.{}.{} port {} ssh2",
            t.format("%b %e %H:%M:%S"),
            i % 97,
            64 + ((i >> 16) & 63),
            (i >> 8) & 255,
            i & 255,
            40000 + i % 20000
        );
        p.process(acq.event(line, ExpectMode::Live), None);
        i += 1;
    }
    let scenarios = Arc::clone(p.detector().scenarios());
    let n = p.detector().store().len();
    let ops = prepare(p.store_mut(), &scenarios, &[], None, None, None);
    let bytes: usize = ops
        .iter()
        .map(|o| o.key.len() + 1 + o.value.as_ref().map_or(0, Vec::len))
        .sum();
    drop(p);

    let dir = tempfile::tempdir()?;
    let mut cfg = BusConfig::new(brokers, dir.path());
    cfg.state_topic = topic.clone();
    let producer: FutureProducer = cfg
        .producer()
        .set("compression.type", "lz4")
        .set("queue.buffering.max.messages", "200000")
        .create()?;
    let t0 = Instant::now();
    publish_ops(&cfg, &producer, 0, &ops, 0).await?;
    let write_s = t0.elapsed().as_secs_f64();
    drop(ops);

    let db = StateDb::open(&dir.path().join("partition-0"))?;
    let t0 = Instant::now();
    let stats = tokio::task::block_in_place(|| restore_partition(&cfg, &db, 0))?;
    let restore_s = t0.elapsed().as_secs_f64();
    let t0 = Instant::now();
    let (store, dropped) = db.load_store(&scenarios)?;
    let load_s = t0.elapsed().as_secs_f64();
    if store.len() != n || dropped != 0 {
        return Err(format!(
            "restored {} buckets ({dropped} dropped), want {n}",
            store.len()
        )
        .into());
    }
    println!(
        "{n} {} {:.1} {write_s:.2} {restore_s:.2} {load_s:.2}",
        stats.applied,
        bytes as f64 / (1 << 20) as f64
    );
    Ok(())
}
