//! What the always-on metrics cost the task loops, against the StringConverter's conversion of
//! the same records measured in the same run (work every record pays anyway).
//!
//! `cargo bench -p tributary --bench metrics_cost [-- BATCH]`
//!
//! The loops record per batch: a source task calls `record_poll`, `record_batch` and
//! `record_write` once per polled batch; a sink task `record_read` and `record_put` once per
//! batch. The figure per record is the batch's metric calls divided by the batch size (the
//! file source polls 2000 lines at a time by default, the sink loop puts up to 500).

use std::hint::black_box;
use std::time::{Duration, Instant};

use tributary::converters::{Converter, StringConverter};
use tributary::metrics::Metrics;
use tributary_connector_api::Value;

const ROUNDS: usize = 5;

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn main() {
    let batch: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .and_then(|a| a.parse().ok())
        .unwrap_or(500);
    let batches = 20_000;
    let metrics = Metrics::new(Duration::from_secs(30), 2);
    let source = metrics.register_source_task("bench", 0, false);
    let sink = metrics.register_sink_task("bench", 1);
    let converter = StringConverter::new(&Default::default()).expect("converter");
    let values: Vec<Value> = (0..batch)
        .map(|i| {
            Value::String(format!(
                "{i:08} a line of text of about a hundred bytes, as the sink benchmark writes {}",
                "x".repeat(20)
            ))
        })
        .collect();

    let mut metric_ns = Vec::new();
    let mut convert_ns = Vec::new();
    for _ in 0..ROUNDS {
        let started = Instant::now();
        for _ in 0..batches {
            let t = Instant::now();
            source.record_poll(batch as u64, t.elapsed());
            source.record_batch(batch as u64);
            source.record_write(batch as u64, 0);
            sink.record_read(batch as u64);
            sink.record_put(batch as u64, t.elapsed());
        }
        metric_ns.push(started.elapsed().as_nanos() as f64 / batches as f64);

        let started = Instant::now();
        for value in &values {
            black_box(
                converter
                    .from_connect("bench", None, black_box(value))
                    .expect("convert"),
            );
        }
        convert_ns.push(started.elapsed().as_nanos() as f64 / batch as f64);
    }
    let per_batch = median(metric_ns);
    let per_record = per_batch / batch as f64;
    let convert = median(convert_ns);
    println!("batch of {batch} records, median of {ROUNDS} rounds");
    println!("metrics, one source and one sink batch:  {per_batch:8.1} ns per batch, {per_record:6.2} ns per record");
    println!("StringConverter from_connect (baseline): {convert:8.1} ns per record");
    println!(
        "metrics / conversion per record:         {:8.3}",
        per_record / convert
    );
    black_box(metrics.render(&Default::default()));
}
