//! Exactly-once source support (KIP-618) end to end: distributed workers with
//! `exactly.once.source.support=enabled` against the real broker.
//!
//! The test broker returns records of aborted transactions to read-committed consumers, so
//! the checks read topics with `support::txn`, which drops them by their control markers (as
//! a read-committed consumer does on Kafka). What a plain librdkafka read-committed consumer
//! sees is printed for comparison.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use support::cluster::{owners, wait_running, ClusterSpec};
use support::txn::{committed_records, read_partition};
use support::*;

/// How long a cluster may take to settle (Tansu rebalances take seconds each).
const SETTLE: Duration = Duration::from_secs(120);

fn plugins(root: &std::path::Path) -> std::path::PathBuf {
    plugin_dir(
        root,
        &["tributary_connector_file", "tributary_test_plugin_faulty"],
    )
}

fn eos_spec(root: &std::path::Path) -> ClusterSpec {
    let mut spec = ClusterSpec::new(root, &plugins(root));
    spec.extra
        .push(("exactly.once.source.support", "enabled".into()));
    spec
}

/// Appends numbered lines to `path` from another thread until `total` lines are there, a
/// chunk at a time.
struct Writer {
    done: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(path: std::path::PathBuf, from: usize, total: usize, chunk: usize) -> Writer {
        let done = Arc::new(AtomicBool::new(false));
        let flag = done.clone();
        let thread = std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new()
                .append(true)
                .open(&path)
                .unwrap();
            let mut next = from;
            while next < total {
                let end = (next + chunk).min(total);
                let text: String = (next..end).map(|i| format!("{}\n", line(i))).collect();
                file.write_all(text.as_bytes()).unwrap();
                next = end;
                // The pace of a growing file: a chunk every few tens of milliseconds.
                std::thread::sleep(Duration::from_millis(40));
            }
            flag.store(true, Ordering::SeqCst);
        });
        Writer {
            done,
            thread: Some(thread),
        }
    }

    fn finish(mut self) {
        if let Some(t) = self.thread.take() {
            t.join().unwrap();
        }
        assert!(self.done.load(Ordering::SeqCst));
    }
}

fn line(i: usize) -> String {
    format!("line {i:06}")
}

/// The committed values of a one-partition topic, aborted transactions left out.
fn committed_values(topic: &str) -> (Vec<String>, usize) {
    let (records, aborted) = committed_records(&bootstrap(), topic, &[0]).expect("raw read");
    (records.iter().map(|r| r.value_text()).collect(), aborted)
}

/// Waits until the committed values of `topic` are exactly `want` (every line once, in
/// order); on timeout, reports what is missing and what is repeated.
fn wait_exactly(topic: &str, want: &[String], timeout: Duration) -> usize {
    let deadline = Instant::now() + timeout;
    loop {
        let (got, aborted) = committed_values(topic);
        if got == want {
            return aborted;
        }
        if Instant::now() >= deadline || got.len() > want.len() {
            let mut counts: BTreeMap<&String, usize> = BTreeMap::new();
            for v in &got {
                *counts.entry(v).or_default() += 1;
            }
            let repeated: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).take(10).collect();
            let have: BTreeSet<&String> = got.iter().collect();
            let missing: Vec<_> = want.iter().filter(|w| !have.contains(w)).take(10).collect();
            panic!(
                "{topic}: {} committed values, want {}; repeated (first 10): {repeated:?}; \
                 missing (first 10): {missing:?}",
                got.len(),
                want.len()
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
}

/// What a plain librdkafka read-committed consumer reads (on the test broker it includes
/// aborted records), reading until `expected` records or 20 s: (records, values read more
/// than once).
fn plain_read_committed(topic: &str, expected: usize) -> (usize, usize) {
    let values = read_topic(topic, expected, Duration::from_secs(20));
    let distinct: BTreeSet<&String> = values.iter().collect();
    (values.len(), values.len() - distinct.len())
}

/// The worker of `workers` whose id is `id`.
fn index_of(workers: &[Worker], id: &str) -> usize {
    workers
        .iter()
        .position(|w| w.id() == id)
        .unwrap_or_else(|| panic!("no worker {id}"))
}

/// A FileStreamSource copying `input` to `topic` exactly once.
fn file_source(input: &std::path::Path, topic: &str, extra: &[(&str, &str)]) -> serde_json::Value {
    let mut config = json!({
        "connector.class": "FileStreamSource",
        "tasks.max": "1",
        "file": input.display().to_string(),
        "topic": topic,
        "exactly.once.support": "required",
    });
    for (k, v) in extra {
        config[*k] = json!(v);
    }
    config
}

/// Kill -9 of the worker running a file source's task while the file grows, the other worker
/// takes over: with `transaction.boundary` as given, every line is in the topic exactly once.
fn kill_mid_stream(boundary: &[(&str, &str)], kill_inside_open_transaction: bool) {
    let root = tempfile::tempdir().unwrap();
    let spec = eos_spec(root.path());
    let mut workers = spec.start(2);
    let ids: Vec<String> = workers.iter().map(|w| w.id()).collect();
    let topic = unique("eos-lines");
    create_topic(&topic);
    let input = root.path().join("in.txt");
    let total = 12_000;
    let first = 1_000;
    let initial: Vec<String> = (0..first).map(line).collect();
    std::fs::write(&input, file_text(&initial)).unwrap();

    workers[1].create("lines", file_source(&input, &topic, boundary));
    let running = wait_running(&workers[0], "lines", 1, &ids, SETTLE);
    let writer = Writer::start(input.clone(), first, total, 100);

    // Mid-stream: some lines committed, more coming.
    wait_for("lines committed", SETTLE, || {
        (committed_values(&topic).0.len() >= first + 500).then_some(())
    });
    if kill_inside_open_transaction {
        // The raw read-uncommitted view shows records of a transaction with no marker yet.
        wait_for("an open transaction with records", SETTLE, || {
            let read = read_partition(&bootstrap(), &topic, 0, false).ok()?;
            (!read.open.is_empty()).then_some(())
        });
    }
    let victim = index_of(&workers, &running["task-0"]);
    let dead = workers.remove(victim);
    let killed_id = dead.id();
    dead.kill9();
    eprintln!("killed {killed_id}, which ran the task");
    let survivors: Vec<String> = workers.iter().map(|w| w.id()).collect();
    wait_running(&workers[0], "lines", 1, &survivors, SETTLE);
    writer.finish();

    let want: Vec<String> = (0..total).map(line).collect();
    let aborted = wait_exactly(&topic, &want, SETTLE);
    let (plain, repeated) = plain_read_committed(&topic, total + aborted);
    eprintln!(
        "every line once: {total}; records of aborted transactions dropped by the marker-aware \
         reader: {aborted}; a plain librdkafka read_committed consumer read {plain} records, \
         {repeated} of them repeats (the test broker does not hide aborted records)"
    );
    if kill_inside_open_transaction {
        assert!(
            aborted > 0,
            "the task was killed inside an open transaction; its next instance aborts it"
        );
    }
    // The committed offset is the end of the file.
    let size = std::fs::metadata(&input).unwrap().len() as i64;
    wait_for("the offset reaches the end of the file", SETTLE, || {
        let (code, body) = workers[0].get("/connectors/lines/offsets");
        (code == 200 && body["offsets"][0]["offset"]["position"] == json!(size)).then_some(())
    });
}

#[test]
fn a_file_source_killed_mid_stream_writes_every_line_exactly_once() {
    kill_mid_stream(&[], false);
}

#[test]
fn a_transaction_open_at_a_kill_is_aborted_and_its_lines_written_once() {
    kill_mid_stream(
        &[
            ("transaction.boundary", "interval"),
            ("transaction.boundary.interval.ms", "2000"),
        ],
        true,
    );
}

/// `"<task>:<n>"` values grouped by task.
fn by_task(values: &[String]) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for v in values {
        if let Some((task, n)) = v.split_once(':') {
            out.entry(task.to_owned())
                .or_default()
                .push(n.parse().unwrap_or(-1));
        }
    }
    out
}

/// The `tasks-fencing-<name>` task counts in the config topic, in order.
fn fencing_records(spec: &ClusterSpec, name: &str) -> Vec<i64> {
    let key = format!("tasks-fencing-{name}");
    let (records, _) = committed_records(&bootstrap(), &format!("{}-configs", spec.group), &[0])
        .expect("read the config topic");
    records
        .iter()
        .filter(|r| r.key.as_deref() == Some(key.as_bytes()))
        .filter_map(|r| {
            let v: serde_json::Value = serde_json::from_slice(r.value.as_deref()?).ok()?;
            v["task-count"].as_i64()
        })
        .collect()
}

#[test]
fn new_task_generations_are_fenced_and_the_fence_endpoint_answers() {
    let root = tempfile::tempdir().unwrap();
    let mut spec = eos_spec(root.path());
    // Unsigned internal requests, so this test can call PUT /fence itself.
    spec.extra.push(("connect.protocol", "compatible".into()));
    let workers = spec.start(2);
    let ids: Vec<String> = workers.iter().map(|w| w.id()).collect();
    let topic = unique("eos-seq");
    create_topic(&topic);
    let seq = |tasks: u32| {
        json!({
            "connector.class": "io.tributary.test.SequenceSourceConnector",
            "tasks.max": tasks.to_string(),
            "topic": topic,
            "interval.ms": "10",
        })
    };

    // First generation: nothing to fence, the task count is recorded.
    workers[0].create("seq", seq(2));
    wait_running(&workers[0], "seq", 2, &ids, SETTLE);
    wait_for("tasks-fencing-seq = 2", SETTLE, || {
        (fencing_records(&spec, "seq") == [2]).then_some(())
    });

    // PUT /fence: nothing pending (204, on either worker: a follower forwards it), an
    // unknown connector (404), a sink (400).
    for w in &workers {
        let (code, body, _) = w.send("PUT", "/connectors/seq/fence", None);
        assert_eq!(code, 204, "{body}");
    }
    let (code, body, _) = workers[1].send("PUT", "/connectors/nope/fence", None);
    assert_eq!(code, 404, "{body}");
    workers[1].create(
        "sink",
        json!({
            "connector.class": "FileStreamSink",
            "topics": topic,
            "file": root.path().join("out.txt").display().to_string(),
        }),
    );
    let (code, body, _) = workers[0].send("PUT", "/connectors/sink/fence", None);
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("not a source connector"),
        "{body}"
    );

    // A new generation with three tasks: the leader fences the two ids of the previous one.
    let (code, body, _) = workers[1].send("PUT", "/connectors/seq/config", Some(seq(3)));
    assert_eq!(code, 200, "{body}");
    wait_running(&workers[0], "seq", 3, &ids, SETTLE);
    wait_for("tasks-fencing-seq = 2, then 3", SETTLE, || {
        (fencing_records(&spec, "seq") == [2, 3]).then_some(())
    });
    assert!(
        workers.iter().any(|w| w
            .log_text()
            .contains("fenced the transactional ids of the previous generation of tasks")),
        "a leader log says it fenced the previous generation"
    );

    // Each task's numbers, read committed: from 0, none lost, none repeated, across the
    // restart of every task.
    wait_for("every task committed numbers", SETTLE, || {
        let (records, _) = committed_records(&bootstrap(), &topic, &[0]).ok()?;
        let values: Vec<String> = records.iter().map(|r| r.value_text()).collect();
        let tasks = by_task(&values);
        (tasks.len() == 3 && tasks.values().all(|n| n.len() >= 20)).then_some(())
    });
    let (records, _) = committed_records(&bootstrap(), &topic, &[0]).unwrap();
    let values: Vec<String> = records.iter().map(|r| r.value_text()).collect();
    for (task, numbers) in by_task(&values) {
        let want: Vec<i64> = (0..numbers.len() as i64).collect();
        assert_eq!(numbers, want, "task {task}: each number once, in order");
    }
    for w in &workers {
        let status = w.status("seq").unwrap();
        assert_eq!(owners(&status).len(), 4, "{status}");
    }
}

/// Waits until connector `name` (a file source of `input`) has committed the end of the file,
/// then checks its offset is in its own offsets topic `own` and mirrored to the worker's;
/// returns the offset records of its own topic as (key, written in a transaction).
fn wait_for_offsets(
    worker: &Worker,
    name: &str,
    input: &std::path::Path,
    own: &str,
    spec: &ClusterSpec,
) -> Vec<(String, bool)> {
    let size = std::fs::metadata(input).unwrap().len() as i64;
    wait_for(&format!("{name}'s offset"), SETTLE, || {
        let (code, body) = worker.get(&format!("/connectors/{name}/offsets"));
        (code == 200 && body["offsets"][0]["offset"]["position"] == json!(size)).then_some(())
    });
    let key =
        serde_json::to_string(&json!([name, {"filename": input.display().to_string()}])).unwrap();
    let partitions: Vec<i32> = (0..5).collect();
    let records_of = |topic: &str| -> Vec<(String, String, bool)> {
        committed_records(&bootstrap(), topic, &partitions)
            .map(|(records, _)| records)
            .unwrap_or_default()
            .into_iter()
            .filter_map(|r| {
                let k = String::from_utf8(r.key.clone()?).ok()?;
                (k == key).then(|| (k, r.value_text(), r.transactional))
            })
            .collect()
    };
    let mirror = format!("{}-offsets", spec.group);
    let want = format!(r#"{{"position":{size}}}"#);
    wait_for("the offset in both offsets topics", SETTLE, || {
        let own_has = records_of(own).iter().any(|(_, v, _)| *v == want);
        let mirror_has = records_of(&mirror).iter().any(|(_, v, _)| *v == want);
        (own_has && mirror_has).then_some(())
    });
    records_of(own)
        .into_iter()
        .map(|(k, _, transactional)| (k, transactional))
        .collect()
}

#[test]
fn exactly_once_support_required_and_transaction_boundaries_are_validated() {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("in.txt");
    std::fs::write(&input, "a\n").unwrap();
    let topic = unique("eos-validate");

    // Without exactly-once support on the worker.
    let plain = ClusterSpec::new(root.path(), &plugins(root.path()));
    let worker = plain.start(1).remove(0);
    let (code, body, _) = worker.send(
        "POST",
        "/connectors",
        Some(json!({"name": "req", "config": file_source(&input, &topic, &[])})),
    );
    assert_eq!(code, 400, "{body}");
    let message = body["message"].as_str().unwrap_or("");
    assert!(
        message.contains("exactly.once.support")
            && message.contains("does not have exactly-once source support enabled"),
        "{message}"
    );
    let (code, body, _) = worker.send("PUT", "/connectors/req/fence", None);
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("not enabled"),
        "{body}"
    );
    // A connector's own offsets topic works without exactly-once support too.
    let own_topic = unique("own-offsets");
    let mut own = file_source(&input, &topic, &[("offsets.storage.topic", &own_topic)]);
    own["exactly.once.support"] = json!("requested");
    worker.create("own", own);
    let records = wait_for_offsets(&worker, "own", &input, &own_topic, &plain);
    assert!(
        records.iter().all(|(_, transactional)| !transactional),
        "written without transactions: {records:?}"
    );
    drop(worker);

    // With it.
    std::fs::create_dir_all(root.path().join("eos")).unwrap();
    let spec = eos_spec(&root.path().join("eos"));
    let worker = spec.start(1).remove(0);
    // A file source supports exactly-once; reading stdin it does not. Its offsets go to its
    // own offsets topic inside its transactions, and are mirrored to the worker's.
    let own_topic = unique("own-offsets-eos");
    worker.create(
        "req",
        file_source(&input, &topic, &[("offsets.storage.topic", &own_topic)]),
    );
    let records = wait_for_offsets(&worker, "req", &input, &own_topic, &spec);
    assert!(
        records.iter().any(|(_, transactional)| *transactional),
        "written in transactions: {records:?}"
    );
    let mut stdin = file_source(&input, &topic, &[]);
    stdin.as_object_mut().unwrap().remove("file");
    let (code, body, _) = worker.send(
        "POST",
        "/connectors",
        Some(json!({"name": "stdin", "config": stdin})),
    );
    assert_eq!(code, 400, "{body}");
    let message = body["message"].as_str().unwrap_or("");
    assert!(
        message.contains("exactly.once.support")
            && message.contains("does not support exactly-once semantics"),
        "{message}"
    );
    // Connector-defined transaction boundaries: refused naming the key.
    let (code, body, _) = worker.send(
        "POST",
        "/connectors",
        Some(json!({"name": "cb", "config": file_source(&input, &topic, &[("transaction.boundary", "connector")])})),
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or("")
            .contains("Invalid value for transaction.boundary"),
        "{body}"
    );
    // The validate endpoint reports the same errors on the keys.
    let (code, body, _) = worker.send(
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        Some(json!({
            "connector.class": "FileStreamSource",
            "name": "v",
            "topic": topic,
            "exactly.once.support": "required",
            "transaction.boundary": "connector",
            "transaction.boundary.interval.ms": "-5",
            "offsets.storage.topic": "no spaces allowed",
        })),
    );
    assert_eq!(code, 200, "{body}");
    let errors: BTreeMap<String, Vec<String>> = body["configs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            let v = &c["value"];
            let errors: Vec<String> = v["errors"]
                .as_array()?
                .iter()
                .filter_map(|e| e.as_str().map(str::to_owned))
                .collect();
            (!errors.is_empty()).then(|| (v["name"].as_str().unwrap_or("").to_owned(), errors))
        })
        .collect();
    assert_eq!(
        errors.keys().collect::<Vec<_>>(),
        [
            "exactly.once.support",
            "offsets.storage.topic",
            "transaction.boundary",
            "transaction.boundary.interval.ms"
        ],
        "{errors:#?}"
    );
    assert_eq!(body["error_count"], json!(4), "{body}");

    // A bad worker value stops the worker at start-up, naming the key.
    let bad = root.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    let port = free_port();
    let mut props = spec.props(port);
    props.retain(|(k, _)| *k != "exactly.once.source.support");
    props.push(("exactly.once.source.support", "sometimes".into()));
    let file = bad.join("worker.properties");
    write_props(&file, &props);
    let out = std::process::Command::new(worker_binary())
        .arg("distributed")
        .arg(&file)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exactly.once.source.support") && stderr.contains("sometimes"),
        "{stderr}"
    );
}
