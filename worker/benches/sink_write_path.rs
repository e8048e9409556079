//! The file sink's write path in isolation, without a broker: the same 100-byte records handed
//! to the FileStreamSink plugin through the worker's plugin loader, in batches of the sink
//! loop's size (500), against writing the same lines to a file with a `BufWriter`, in the same
//! run.
//!
//! `cargo bench -p tributary --bench sink_write_path [-- RECORDS [ROUNDS]]`
//!
//! The plugin is `libtributary_connector_file.so` of the same target directory (build it with
//! `scripts/build-plugins.sh --release`), or the file named by `TRIBUTARY_FILE_PLUGIN`.
//!
//! Measures, each the median of ROUNDS rounds (a fresh file per round):
//! * baseline: each record's bytes and `\n` written to a 64 KiB `BufWriter` (the sink's buffer
//!   size), flushed at the end;
//! * worker: what the sink loop does per record once rdkafka handed it over (StringConverter
//!   `to_connect`, the `SinkRecord`, the per-record offset bookkeeping of `poll_batch`), then
//!   `TaskRequest::Put` per batch through the loader, and `PreCommit` (the flush) at the end;
//! * the worker's parts, timed alone: building the records; writing the `Put` requests' record
//!   batches (host); decoding and indexing them (what the plugin does before `put_batch`); the
//!   `Put` calls with requests built beforehand (plugin decode + put + response, host decode).

use std::collections::BTreeMap;
use std::fs::File;
use std::hint::black_box;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tributary::converters::{Converter, StringConverter};
use tributary::plugins::{Library, RemoteTask};
use tributary::runtime::topics::TaskTopics;
use tributary::runtime::PluginTask;
use tributary::storage::StatusStore;
use tributary_connector_api::abi::batch::{RecordBatch, RecordBatchWriter};
use tributary_connector_api::abi::component::ByteBuf;
use tributary_connector_api::abi::{self, TaskRequest, TaskResponse};
use tributary_connector_api::{Headers, Props, SinkRecord, TimestampType, TopicPartition};

const BATCH: usize = 500;
const WRITE_BUFFER: usize = 64 * 1024;
const SINK_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";
const TOPIC: &str = "bench-sink";

/// The lines of `scripts/bench-sink.sh`: exactly 100 bytes each.
fn lines(n: usize) -> Vec<Vec<u8>> {
    let samples = [
        "plain ascii line of text",
        "café crème brûlée",
        "日本語のテキスト",
        "emoji 🚀🦀",
        "עברית",
    ];
    (0..n)
        .map(|i| {
            let mut line = format!("{i:08} {} ", samples[i % samples.len()]).into_bytes();
            line.resize(100, b'x');
            line
        })
        .collect()
}

fn plugin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("TRIBUTARY_FILE_PLUGIN") {
        return p.into();
    }
    // target/release/deps/<bench> → target/release/libtributary_connector_file.so
    let exe = std::env::current_exe().expect("bench path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join("libtributary_connector_file.so")
}

fn start_sink(lib: &std::sync::Arc<Library>, out: &Path) -> RemoteTask {
    let mut task = lib.new_task(SINK_CLASS).expect("new sink task");
    let mut props = Props::new();
    props.insert("file".into(), out.to_string_lossy().into_owned());
    props.insert("topics".into(), TOPIC.into());
    task.call(&TaskRequest::StartSink { props })
        .expect("start sink");
    task.call(&TaskRequest::Open(vec![TopicPartition::new(TOPIC, 0)]))
        .expect("open");
    task
}

/// What `sink.rs` builds per consumed record before `put` (convert, topic tracking, and the
/// `poll_batch` bookkeeping).
fn build_batch(
    converter: &StringConverter,
    raw: &[Vec<u8>],
    first_offset: i64,
    advanced: &mut BTreeMap<TopicPartition, i64>,
    origins: &mut Vec<(TopicPartition, i64)>,
    topics: &mut TaskTopics,
) -> Vec<SinkRecord> {
    let mut records = Vec::new();
    for (i, bytes) in raw.iter().enumerate() {
        let offset = first_offset + i as i64;
        let tp = TopicPartition::new(TOPIC, 0);
        match advanced.get_mut(&tp) {
            Some(o) => *o = offset + 1,
            None => {
                advanced.insert(tp.clone(), offset + 1);
            }
        }
        let (key_schema, key) = converter.to_connect(TOPIC, None).expect("key");
        let (value_schema, value) = converter.to_connect(TOPIC, Some(bytes)).expect("value");
        topics.record(TOPIC);
        records.push(SinkRecord {
            topic: TOPIC.to_owned(),
            kafka_partition: 0,
            kafka_offset: offset,
            key_schema,
            key,
            value_schema,
            value,
            timestamp: Some(1_700_000_000_000 + offset),
            timestamp_type: TimestampType::CreateTime,
            headers: Headers::new(),
            original_topic: None,
        });
        origins.push((tp, offset));
    }
    records
}

fn put(task: &mut RemoteTask, records: Vec<SinkRecord>) -> Vec<SinkRecord> {
    match PluginTask::put(task, &records).expect("put") {
        TaskResponse::SinkContext(_) => {}
        other => panic!("unexpected response {other:?}"),
    }
    records
}

/// The `Put` request of a batch, as `PluginTask::put` encodes it.
fn put_request(records: &[SinkRecord]) -> TaskRequest {
    let mut batch = RecordBatchWriter::default();
    for r in records {
        batch.push_sink(r).expect("batch");
    }
    TaskRequest::Put(ByteBuf(batch.finish(0, false)))
}

fn flush(task: &mut RemoteTask, offset: i64) {
    let offsets = [(TopicPartition::new(TOPIC, 0), offset)]
        .into_iter()
        .collect();
    task.call(&TaskRequest::PreCommit(offsets))
        .expect("pre-commit");
}

fn check(path: &Path, want: u64) {
    let got = std::fs::metadata(path).expect("output").len();
    assert_eq!(
        got,
        want,
        "{} holds {got} bytes, expected {want}",
        path.display()
    );
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let n: usize = args
        .first()
        .map_or(500_000, |a| a.parse().expect("RECORDS"));
    let rounds: usize = args.get(1).map_or(5, |a| a.parse().expect("ROUNDS"));
    let raw = lines(n);
    let want = raw.iter().map(|l| l.len() as u64 + 1).sum::<u64>();
    let dir = tempfile::tempdir().expect("temp dir");
    let plugin = plugin_path();
    let lib = Library::open(&plugin)
        .unwrap_or_else(|e| panic!("{e} (build it with scripts/build-plugins.sh --release)"));
    let converter = StringConverter::utf8();
    // Topic tracking is on by default.
    let mut topics = TaskTopics::new(Arc::new(StatusStore::new("bench:8083")), "bench", 0);

    let mut baseline = Vec::new();
    let mut worker = Vec::new();
    let mut building = Vec::new();
    let mut encoding = Vec::new();
    let mut decoding = Vec::new();
    let mut calls = Vec::new();
    for round in 0..rounds {
        // Baseline: the same bytes through a BufWriter.
        let path = dir.path().join(format!("bare-{round}.txt"));
        let t = Instant::now();
        let mut w = BufWriter::with_capacity(WRITE_BUFFER, File::create(&path).expect("create"));
        for line in &raw {
            w.write_all(line).expect("write");
            w.write_all(b"\n").expect("write");
        }
        w.flush().expect("flush");
        drop(w);
        baseline.push(t.elapsed());
        check(&path, want);
        std::fs::remove_file(&path).expect("remove");

        // The worker's path: convert, bookkeeping, Put through the loader, flush.
        let path = dir.path().join(format!("sink-{round}.txt"));
        let mut task = start_sink(&lib, &path);
        let t = Instant::now();
        let mut advanced = BTreeMap::new();
        let mut origins = Vec::new();
        for (b, chunk) in raw.chunks(BATCH).enumerate() {
            origins.clear();
            let records = build_batch(
                &converter,
                chunk,
                (b * BATCH) as i64,
                &mut advanced,
                &mut origins,
                &mut topics,
            );
            black_box(put(&mut task, records));
        }
        flush(&mut task, n as i64);
        worker.push(t.elapsed());
        task.call(&TaskRequest::Stop).expect("stop");
        drop(task);
        check(&path, want);
        std::fs::remove_file(&path).expect("remove");

        // The parts, alone.
        let t = Instant::now();
        let mut advanced = BTreeMap::new();
        let mut origins = Vec::new();
        let batches: Vec<Vec<SinkRecord>> = raw
            .chunks(BATCH)
            .enumerate()
            .map(|(b, chunk)| {
                origins.clear();
                build_batch(
                    &converter,
                    chunk,
                    (b * BATCH) as i64,
                    &mut advanced,
                    &mut origins,
                    &mut topics,
                )
            })
            .collect();
        building.push(t.elapsed());
        let t = Instant::now();
        let requests: Vec<TaskRequest> = batches.iter().map(|b| put_request(b)).collect();
        let encoded: Vec<Vec<u8>> = requests
            .iter()
            .map(|r| abi::encode(r).expect("encode"))
            .collect();
        encoding.push(t.elapsed());
        let t = Instant::now();
        for bytes in &encoded {
            match abi::decode::<TaskRequest>(bytes).expect("decode") {
                TaskRequest::Put(batch) => {
                    black_box(RecordBatch::parse(batch.0).expect("batch"));
                }
                _ => unreachable!(),
            }
        }
        decoding.push(t.elapsed());
        drop(encoded);
        let path = dir.path().join(format!("calls-{round}.txt"));
        let mut task = start_sink(&lib, &path);
        let t = Instant::now();
        for request in &requests {
            black_box(task.call(request).expect("put"));
        }
        flush(&mut task, n as i64);
        calls.push(t.elapsed());
        task.call(&TaskRequest::Stop).expect("stop");
        drop(task);
        check(&path, want);
        std::fs::remove_file(&path).expect("remove");
    }

    let per_rec = |d: Duration| d.as_nanos() as f64 / n as f64;
    let rate = |d: Duration| n as f64 / d.as_secs_f64();
    let base = median(baseline);
    let work = median(worker);
    println!("records: {n} of 100 B, batches of {BATCH}, median of {rounds} rounds");
    println!(
        "bare BufWriter:           {:>8.1} ns/record {:>12.0} records/s",
        per_rec(base),
        rate(base)
    );
    println!(
        "worker write path:        {:>8.1} ns/record {:>12.0} records/s  ratio worker/bare {:.2}",
        per_rec(work),
        rate(work),
        base.as_secs_f64() / work.as_secs_f64()
    );
    for (what, d) in [
        ("  build records (host)", median(building)),
        ("  encode Put (host)", median(encoding)),
        ("  decode Put (plugin)", median(decoding)),
        ("  Put calls, built records", median(calls)),
    ] {
        println!("{what:<26}{:>8.1} ns/record", per_rec(d));
    }
}
