//! The raw consume rate of a topic: reads every record of TOPIC from the start with rdkafka
//! (a fresh consumer group, nothing decoded) and prints `records seconds records/s`, the peer
//! the Kafka benchmark (`benches/kafka/run.sh`) holds the processor to.
//!
//!   kafka_consume BROKERS TOPIC RECORDS

use std::time::{Duration, Instant};

use rdkafka::ClientConfig;
use rdkafka::consumer::{Consumer, StreamConsumer};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, brokers, topic, records] = args.as_slice() else {
        return Err("usage: kafka_consume BROKERS TOPIC RECORDS".into());
    };
    let want: u64 = records.parse()?;
    let group = format!(
        "kafka-consume-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    );
    let c: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", &group)
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()?;
    c.subscribe(&[topic])?;
    let mut n = 0u64;
    let mut bytes = 0usize;
    let mut start = None;
    while n < want {
        let m = tokio::time::timeout(Duration::from_secs(30), c.recv())
            .await
            .map_err(|_| format!("only {n} of {want} records within 30 s"))??;
        start.get_or_insert_with(Instant::now);
        bytes += rdkafka::Message::payload(&m).map_or(0, <[u8]>::len);
        n += 1;
    }
    let secs = start.map_or(0.0, |s| s.elapsed().as_secs_f64());
    println!("{n} {secs:.3} {:.0} {bytes}", n as f64 / secs.max(1e-9));
    Ok(())
}
