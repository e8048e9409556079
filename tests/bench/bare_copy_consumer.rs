//! Benchmark baseline for the JDBC sink end to end: a bare rdkafka consumer that reads a
//! pre-filled topic of JSON-with-schema records (`{"schema":…,"payload":{id,name,qty,price,
//! note}}`), parses each, and streams the rows into one PostgreSQL `COPY … FROM STDIN`. The
//! group join is excluded: the clock runs from the first record consumed to the COPY's end.
//! Prints `records first_to_done_ms`.
//!
//! Usage: bare_copy_consumer <bootstrap> <topic> <records> <postgres-url> <table>

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{ClientConfig, Message};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, bootstrap, topic, records, url, table] = args.as_slice() else {
        eprintln!("usage: bare_copy_consumer <bootstrap> <topic> <records> <postgres-url> <table>");
        std::process::exit(2);
    };
    let expected: u64 = records.parse().expect("records: a number");
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", format!("bench-copy-{}", std::process::id()))
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .create()
        .expect("consumer");
    consumer.subscribe(&[topic]).expect("subscribe");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut conn = runtime
        .block_on(async {
            use sqlx::Connection;
            sqlx::PgConnection::connect(url).await
        })
        .expect("connect");
    let mut copy = runtime
        .block_on(conn.copy_in_raw(&format!("COPY {table} (id,name,qty,price,note) FROM STDIN")))
        .expect("copy");
    let mut first: Option<Instant> = None;
    let mut n = 0u64;
    let mut chunk = Vec::with_capacity(1 << 16);
    let idle_limit = Duration::from_secs(60);
    let mut idle = Instant::now();
    while n < expected {
        let Some(message) = consumer.poll(Duration::from_millis(100)) else {
            if idle.elapsed() > idle_limit {
                eprintln!("bare_copy_consumer: stalled after {n} records");
                std::process::exit(1);
            }
            continue;
        };
        let message = message.expect("consume");
        idle = Instant::now();
        first.get_or_insert_with(Instant::now);
        let json: serde_json::Value =
            serde_json::from_slice(message.payload().unwrap_or_default()).expect("json");
        let p = &json["payload"];
        use std::io::Write;
        let _ = writeln!(
            chunk,
            "{}\t{}\t{}\t{}\t{}",
            p["id"],
            p["name"].as_str().unwrap_or_default(),
            p["qty"],
            p["price"],
            p["note"].as_str().unwrap_or_default()
        );
        n += 1;
        if chunk.len() >= 1 << 16 {
            runtime
                .block_on(copy.send(std::mem::take(&mut chunk)))
                .expect("send");
        }
    }
    runtime.block_on(copy.send(chunk)).expect("send");
    runtime.block_on(copy.finish()).expect("finish");
    let ms = first.map_or(0, |f| f.elapsed().as_millis());
    println!("{n} {ms}");
}
