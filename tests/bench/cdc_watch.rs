//! Benchmark probe for the CDC connector: reads a topic (all partitions, from the beginning)
//! until `records` records arrived.
//! - `count` mode prints `records elapsed_ms` with the clock running from the program's start
//!   (the bench starts it together with the worker, so this is the worker's time to get the
//!   records into Kafka, the consumer's lag included);
//! - `latency` mode takes each change event's `source.ts_ms` (the transaction's commit time in
//!   the database, JSON without schemas) and prints `records p50_ms p99_ms max_ms`, measured
//!   against the wall clock when the record is consumed (fetch.wait.max.ms 5, so the
//!   consumer's own wait adds at most a few ms).
//!
//! Usage: cdc_watch <bootstrap> <topic> <records> count|latency

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

const STALL: Duration = Duration::from_secs(60);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, bootstrap, topic, records, mode] = args.as_slice() else {
        eprintln!("usage: cdc_watch <bootstrap> <topic> <records> count|latency");
        std::process::exit(2);
    };
    let expected: usize = records.parse().expect("records: a number");
    let latency = mode == "latency";
    let start = Instant::now();
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("cdc-watch-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("fetch.wait.max.ms", if latency { "5" } else { "100" })
        .create()
        .expect("consumer");
    let partitions = loop {
        if let Ok(m) = consumer.fetch_metadata(Some(topic), Duration::from_secs(5)) {
            let p: Vec<i32> = m
                .topics()
                .first()
                .map(|t| t.partitions().iter().map(|p| p.id()).collect())
                .unwrap_or_default();
            if !p.is_empty() {
                break p;
            }
        }
        if start.elapsed() > STALL {
            eprintln!("cdc_watch: no topic {topic}");
            std::process::exit(1);
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut tpl = TopicPartitionList::new();
    for p in partitions {
        tpl.add_partition_offset(topic, p, Offset::Beginning)
            .expect("partition");
    }
    consumer.assign(&tpl).expect("assign");
    let mut n = 0usize;
    let mut lat: Vec<i64> = Vec::with_capacity(if latency { expected } else { 0 });
    let mut last_seen = Instant::now();
    while n < expected {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                last_seen = Instant::now();
                let Some(payload) = m.payload() else { continue };
                n += 1;
                if latency {
                    let now = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .map(|d| d.as_millis() as i64)
                        .unwrap_or_default();
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(payload) {
                        if let Some(ts) = v["source"]["ts_ms"].as_i64() {
                            lat.push(now - ts);
                        }
                    }
                }
            }
            Some(Err(e)) => eprintln!("cdc_watch: {e}"),
            None => {
                if last_seen.elapsed() > STALL {
                    eprintln!("cdc_watch: stalled after {n} of {expected}");
                    std::process::exit(1);
                }
            }
        }
    }
    if latency {
        lat.sort_unstable();
        let at = |q: f64| lat[((lat.len() as f64 - 1.0) * q).round() as usize];
        println!("{n} {} {} {}", at(0.5), at(0.99), lat[lat.len() - 1]);
    } else {
        println!("{n} {}", start.elapsed().as_millis());
    }
}
