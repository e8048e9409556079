//! Heap allocations (and time) per record on the file source path with the StringConverter,
//! from the plugin's poll to the producer hand-off, without a broker.
//!
//! `cargo bench -p tributary --bench source_allocs [-- RECORDS]`
//!
//! A counting global allocator counts this process's allocations. A plugin is a `cdylib` with
//! its own allocator, so what happens inside the loaded `.so` is invisible to it; the path is
//! therefore measured in two halves that add up:
//! * plugin side: the FileStreamSource task driven in-process through the same guest code the
//!   plugin's exported `task_call` runs for a poll (`abi::guest::Factory`): the task writes its
//!   lines into the record batch (`SourceTask::poll_batch`), which is then dropped;
//! * worker side: the real plugin (`libtributary_connector_file.so` of the same target
//!   directory, or `TRIBUTARY_FILE_PLUGIN`) loaded through the worker's plugin loader:
//!   `RemoteTask::poll` (copy the batch out of the plugin, index it), then per record what
//!   `runtime/source.rs` does up to `producer.send`: the key and value StringConverter on the
//!   record read in place, the offset tracker entry, the rdkafka `BaseRecord`; and the
//!   acknowledgement (the delivery callback's report, without metadata for a task that does
//!   not want `commitRecord`; the tracker pop; the committable offset, still encoded).
//!
//! Not counted: librdkafka's own (C) allocations when it copies a record in `send` (one per
//! message) and when it builds requests; the ABI's `free_buf`.
//!
//! The input is the line mix of `scripts/bench.sh` (24–80 bytes per line), `batch.size` 2000.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::VecDeque;
use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::producer::BaseRecord;
use tributary::converters::{create_converter, Converter};
use tributary::plugins::Library;
use tributary::runtime::topics::{TaskTopics, TopicIndex};
use tributary::storage::StatusStore;
use tributary_connector_api::abi::batch::{FieldRef, RecordBatch};
use tributary_connector_api::abi::guest::Factory;
use tributary_connector_api::abi::TaskRequest;
use tributary_connector_api::{OffsetMap, Props, ValueRef};
use tributary_connector_file::FileStreamSourceConnector;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static REALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        System.alloc(layout)
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(layout.size() as u64, Relaxed);
        System.alloc_zeroed(layout)
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        REALLOCS.fetch_add(1, Relaxed);
        BYTES.fetch_add(new_size.saturating_sub(layout.size()) as u64, Relaxed);
        System.realloc(ptr, layout, new_size)
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Allocations, reallocations, bytes and time spent in one stage, summed over calls.
#[derive(Default, Clone, Copy)]
struct Tally {
    allocs: u64,
    reallocs: u64,
    bytes: u64,
    time: Duration,
}

struct Mark(u64, u64, u64, Instant);

fn mark() -> Mark {
    Mark(
        ALLOCS.load(Relaxed),
        REALLOCS.load(Relaxed),
        BYTES.load(Relaxed),
        Instant::now(),
    )
}

impl Tally {
    /// Adds what happened since `m`; returns a new mark.
    fn add(&mut self, m: &Mark) -> Mark {
        let now = mark();
        self.allocs += now.0 - m.0;
        self.reallocs += now.1 - m.1;
        self.bytes += now.2 - m.2;
        self.time += now.3 - m.3;
        now
    }
}

const SOURCE_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
const TOPIC: &str = "bench-worker";

/// The input of `scripts/bench.sh`.
fn write_input(path: &Path, n: usize) {
    let samples = [
        "plain ascii line of text",
        "café crème brûlée",
        "日本語のテキスト",
        "emoji 🚀🦀",
        "עברית",
    ];
    let mut text = String::new();
    for i in 0..n {
        let x = "x".repeat(i % 40);
        text.push_str(&format!("{i:08} {} {x}\n", samples[i % samples.len()]));
    }
    std::fs::write(path, text).expect("input file");
}

fn start_request(input: &Path) -> TaskRequest {
    let mut props = Props::new();
    props.insert("file".into(), input.to_string_lossy().into_owned());
    props.insert("topic".into(), TOPIC.into());
    props.insert("batch.size".into(), "2000".into());
    TaskRequest::StartSource {
        props,
        offsets: Vec::new(),
    }
}

fn plugin_path() -> PathBuf {
    if let Some(p) = std::env::var_os("TRIBUTARY_FILE_PLUGIN") {
        return p.into();
    }
    let exe = std::env::current_exe().expect("bench path");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    dir.join("libtributary_connector_file.so")
}

/// The plugin side, in-process: what the exported `task_call` does for a poll.
fn plugin_side(input: &Path, n: usize) -> Vec<(&'static str, Tally)> {
    let factory = Factory::source::<FileStreamSourceConnector>();
    let mut task = (factory.new_task)();
    task.handle(start_request(input)).expect("start");
    let (mut poll_t, mut free) = Default::default();
    let mut seen = 0;
    while seen < n {
        let m = mark();
        let bytes = task.poll().expect("poll");
        let m = Tally::add(&mut poll_t, &m);
        let batch = RecordBatch::parse(bytes).expect("batch");
        seen += batch.len();
        let m = mark_after(m);
        drop(black_box(batch));
        Tally::add(&mut free, &m);
    }
    assert_eq!(seen, n);
    task.handle(TaskRequest::Stop).expect("stop");
    vec![
        ("task poll_batch (read, split, write the batch)", poll_t),
        ("drop the batch", free),
    ]
}

/// Parsing the batch for the count above is the worker's work, not the plugin's: not counted.
fn mark_after(_: Mark) -> Mark {
    mark()
}

fn field(f: FieldRef<'_>) -> ValueRef<'_> {
    match f {
        FieldRef::InPlace(v) => v,
        FieldRef::Encoded(_) | FieldRef::Fields(..) => panic!("the file source writes strings"),
    }
}

/// One record in flight, as in `runtime/source.rs`.
struct InFlight {
    seq: u64,
    partition: Option<Arc<OffsetMap>>,
    offset: Option<OffsetAt>,
    /// Its topic in the task's topic table (KIP-558 topic tracking).
    topic: TopicIndex,
    acked: bool,
}

/// A record's offset, still encoded in its batch.
type OffsetAt = (Arc<RecordBatch>, usize);

/// The worker side: the real plugin through the loader, then the source loop's per-record work.
fn worker_side(plugin: &Path, input: &Path, n: usize) -> Vec<(&'static str, Tally)> {
    let lib = Library::open(plugin)
        .unwrap_or_else(|e| panic!("{e} (build it with scripts/build-plugins.sh --release)"));
    let mut task = lib.new_task(SOURCE_CLASS).expect("new task");
    task.call(&start_request(input)).expect("start");
    let class = "org.apache.kafka.connect.storage.StringConverter";
    let key: Box<dyn Converter> = create_converter(class, &Props::new(), true).expect("key");
    let value: Box<dyn Converter> = create_converter(class, &Props::new(), false).expect("value");
    let (mut call, mut convert, mut track, mut hand_off, mut deliver, mut ack) = Default::default();
    let mut in_flight: VecDeque<InFlight> = VecDeque::new();
    let mut committable: Vec<(Arc<OffsetMap>, OffsetAt)> = Vec::new();
    let acks: std::sync::Mutex<Vec<tributary::runtime::kafka::Ack>> = Default::default();
    let mut next_seq = 0u64;
    // Topic tracking is on by default: the topic is looked up when the record is tracked and
    // recorded (once) when it is acknowledged.
    let mut topics = TaskTopics::new(Arc::new(StatusStore::new("bench:8083")), "bench", 0);
    let mut seen = 0;
    while seen < n {
        let m = mark();
        let batch = Arc::new(task.poll().expect("poll"));
        let mut m = Tally::add(&mut call, &m);
        seen += batch.len();
        for (i, record) in batch.iter().enumerate() {
            let topic = record.topic();
            let k = key
                .from_connect_ref(topic, record.key_schema(), field(record.key()))
                .expect("key");
            let v = value
                .from_connect_ref(topic, record.value_schema(), field(record.value()))
                .expect("value");
            m = Tally::add(&mut convert, &m);
            let seq = next_seq;
            next_seq += 1;
            let topic_index = topics.intern(topic);
            in_flight.push_back(InFlight {
                seq,
                partition: record.source_partition().cloned(),
                offset: record.has_source_offset().then(|| (batch.clone(), i)),
                topic: topic_index,
                acked: false,
            });
            m = Tally::add(&mut track, &m);
            let mut out = BaseRecord::<[u8], [u8], usize>::with_opaque_to(topic, seq as usize);
            if let Some(k) = k.as_deref() {
                out = out.key(k);
            }
            if let Some(v) = v.as_deref() {
                out = out.payload(v);
            }
            if let Some(ts) = record.timestamp() {
                out = out.timestamp(ts);
            }
            black_box(&out);
            drop(out);
            drop((k, v));
            m = Tally::add(&mut hand_off, &m);
            // The delivery callback (rdkafka's thread in the worker): metadata only for tasks
            // that want commitRecord, which the file source does not.
            acks.lock().unwrap().push((seq, Ok(None)));
            m = Tally::add(&mut deliver, &m);
        }
        // serve_acks: applied once per loop, as in the worker.
        let taken = std::mem::take(&mut *acks.lock().unwrap());
        for (seq, outcome) in taken {
            black_box(outcome.ok());
            let front = in_flight.front().map_or(0, |f| f.seq);
            if let Some(e) = in_flight.get_mut((seq - front) as usize) {
                e.acked = true;
                topics.record_index(e.topic);
            }
            while in_flight.front().is_some_and(|f| f.acked) {
                let done = in_flight.pop_front().expect("front");
                if let (Some(p), Some(o)) = (done.partition, done.offset) {
                    let same = |q: &Arc<OffsetMap>| Arc::ptr_eq(q, &p) || **q == *p;
                    match committable.iter_mut().rev().find(|(q, _)| same(q)) {
                        Some(slot) => slot.1 = o,
                        None => committable.push((p, o)),
                    }
                }
            }
        }
        drop(batch);
        Tally::add(&mut ack, &m);
    }
    assert_eq!(seen, n);
    task.call(&TaskRequest::Stop).expect("stop");
    vec![
        ("RemoteTask::poll: copy, index the batch", call),
        ("StringConverter key + value (in place)", convert),
        ("offset tracker entry, topic lookup", track),
        ("BaseRecord", hand_off),
        ("delivery report (no metadata)", deliver),
        ("serve_acks: tracker pop, committable, topic", ack),
    ]
}

fn print(title: &str, n: usize, stages: &[(&str, Tally)]) -> Tally {
    println!("{title}");
    let mut total = Tally::default();
    for (what, t) in stages {
        println!(
            "  {what:<46} {:>6.2} allocs {:>6.2} reallocs {:>7.1} B {:>7.1} ns",
            t.allocs as f64 / n as f64,
            t.reallocs as f64 / n as f64,
            t.bytes as f64 / n as f64,
            t.time.as_nanos() as f64 / n as f64
        );
        total.allocs += t.allocs;
        total.reallocs += t.reallocs;
        total.bytes += t.bytes;
        total.time += t.time;
    }
    println!(
        "  {:<46} {:>6.2} allocs {:>6.2} reallocs {:>7.1} B {:>7.1} ns",
        "total",
        total.allocs as f64 / n as f64,
        total.reallocs as f64 / n as f64,
        total.bytes as f64 / n as f64,
        total.time.as_nanos() as f64 / n as f64
    );
    total
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let n: usize = args
        .first()
        .map_or(300_000, |a| a.parse().expect("RECORDS"));
    let dir = tempfile::tempdir().expect("temp dir");
    let input = dir.path().join("in.txt");
    write_input(&input, n);
    println!("records: {n} (per record: heap allocations, reallocations, bytes requested, time)");
    let plugin = print(
        "plugin side (in-process guest code):",
        n,
        &plugin_side(&input, n),
    );
    let worker = print(
        "worker side (plugin through the loader):",
        n,
        &worker_side(&plugin_path(), &input, n),
    );
    println!(
        "poll to producer hand-off and ack: {:.2} allocations + {:.2} reallocations per record \
         (plus librdkafka's own copy of each message)",
        (plugin.allocs + worker.allocs) as f64 / n as f64,
        (plugin.reallocs + worker.reallocs) as f64 / n as f64
    );
}
