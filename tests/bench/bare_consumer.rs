//! Benchmark baseline: a bare rdkafka consumer reading a pre-filled topic with the same
//! consumer settings as the worker's sink consumer (a consumer group, manual commits, from the
//! earliest offset), touching each payload and doing nothing else. The group join is excluded:
//! the clock runs from the first record consumed to the last.
//! Prints `records first_to_last_ms join_ms partitions`.
//!
//! Usage: bare_consumer <bootstrap> <topic> <records> [group]

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message};

/// Give up when no record arrives for this long after the first one.
const STALL: Duration = Duration::from_secs(30);
/// Give up when the first record has not arrived after this long (join included).
const FIRST: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let (bootstrap, topic, records, group) = match args.as_slice() {
        [_, b, t, n] => (b, t, n, format!("bench-bare-{}", std::process::id())),
        [_, b, t, n, g] => (b, t, n, g.clone()),
        _ => {
            eprintln!("usage: bare_consumer <bootstrap> <topic> <records> [group]");
            std::process::exit(2);
        }
    };
    let expected: u64 = records.parse().expect("records: a number");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", &group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        // Tansu answers a group's first JoinGroup after about half the session timeout.
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let start = Instant::now();
    let mut first: Option<Instant> = None;
    // When polls last started coming back empty (None while records arrive).
    let mut idle_since: Option<Instant> = None;
    let mut n = 0u64;
    let mut bytes = 0usize;
    let mut partitions: Vec<i32> = Vec::new();
    while n < expected {
        match consumer.poll(Duration::from_millis(100)) {
            None => {
                let idle = *idle_since.get_or_insert_with(Instant::now);
                let limit = if first.is_some() { STALL } else { FIRST };
                if idle.elapsed() > limit {
                    eprintln!("bare_consumer: stalled after {n} of {expected} records");
                    break;
                }
            }
            Some(Ok(m)) => {
                if first.is_none() {
                    first = Some(Instant::now());
                }
                idle_since = None;
                bytes += m.payload().map_or(0, <[u8]>::len);
                if !partitions.contains(&m.partition()) {
                    partitions.push(m.partition());
                }
                n += 1;
            }
            Some(Err(e)) => eprintln!("bare_consumer: consumer error: {e}"),
        }
    }
    let last = Instant::now();
    let first = first.unwrap_or(last);
    std::hint::black_box(bytes);
    println!(
        "{n} {} {} {}",
        last.duration_since(first).as_millis(),
        first.duration_since(start).as_millis(),
        partitions.len()
    );
    if n < expected {
        std::process::exit(1);
    }
}
