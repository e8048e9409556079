//! File → Kafka → file through real `tributary standalone` processes and the real broker.

mod support;

use std::io::Write;
use std::time::Duration;

use support::*;

fn source_props(
    dir: &std::path::Path,
    name: &str,
    file: &std::path::Path,
    topic: &str,
) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.properties"));
    write_props(
        &path,
        &[
            ("name", name.to_owned()),
            ("connector.class", "FileStreamSource".to_owned()),
            ("tasks.max", "1".to_owned()),
            ("file", file.display().to_string()),
            ("topic", topic.to_owned()),
        ],
    );
    path
}

fn sink_props(
    dir: &std::path::Path,
    name: &str,
    file: &std::path::Path,
    topic: &str,
) -> std::path::PathBuf {
    let path = dir.join(format!("{name}.properties"));
    write_props(
        &path,
        &[
            ("name", name.to_owned()),
            (
                "connector.class",
                "org.apache.kafka.connect.file.FileStreamSinkConnector".to_owned(),
            ),
            ("tasks.max", "1".to_owned()),
            ("file", file.display().to_string()),
            ("topics", topic.to_owned()),
        ],
    );
    path
}

fn lines_of(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn ten_thousand_mixed_utf8_lines_arrive_exactly_once_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let topic = unique("pipeline");
    create_topic(&topic);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let lines = mixed_lines(10_000);
    // Half the file exists before the worker starts; the rest is appended while it runs,
    // so the source must tail a growing file.
    let (first, second) = lines.split_at(5_000);
    std::fs::write(&input, file_text(first)).unwrap();

    let port = free_port();
    let props = Worker::props(dir.path(), port, &plugins, &[]);
    let worker = Worker::start(
        dir.path(),
        &props,
        &[
            source_props(dir.path(), "pipe-src", &input, &topic),
            sink_props(dir.path(), "pipe-sink", &output, &topic),
        ],
    );
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap();
    for chunk in second.chunks(1_000) {
        f.write_all(file_text(chunk).as_bytes()).unwrap();
        f.flush().unwrap();
    }

    let got = wait_for(
        "10,000 lines in the sink file",
        Duration::from_secs(90),
        || {
            let got = lines_of(&output);
            (got.len() >= lines.len()).then_some(got)
        },
    );
    assert_same_lines(&got, &lines, "sink file: every line once, in order");
    // The topic itself holds each line exactly once.
    let in_topic = read_topic(&topic, lines.len(), Duration::from_secs(60));
    assert_same_lines(&in_topic, &lines, "topic: every line once, in order");

    let (code, status) = worker.get("/connectors/pipe-src/status");
    assert_eq!(code, 200);
    assert_eq!(status["connector"]["state"], "RUNNING");
    assert_eq!(status["tasks"][0]["state"], "RUNNING");
    assert_eq!(status["type"], "source");
}

#[test]
fn kill9_mid_stream_loses_nothing_and_resumes_from_the_committed_offset() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let topic = unique("kill9");
    create_topic(&topic);
    let input = dir.path().join("in.txt");
    let lines = mixed_lines(10_000);
    std::fs::write(&input, "").unwrap();
    let port = free_port();
    let src = source_props(dir.path(), "kill-src", &input, &topic);
    let props = Worker::props(
        dir.path(),
        port,
        &plugins,
        &[("offset.flush.interval.ms", "200")],
    );
    let offsets_file = dir.path().join("offsets.json");
    let worker = Worker::start(dir.path(), &props, std::slice::from_ref(&src));
    // The file grows at 5,000 lines/s (100 lines every 20 ms) for 2 s, so the worker is
    // mid-stream when it dies; one flush interval (200 ms) holds about 1,000 lines.
    let written = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writer = {
        let (input, lines, written) = (input.clone(), lines.clone(), written.clone());
        std::thread::spawn(move || {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&input)
                .unwrap();
            for chunk in lines.chunks(100) {
                f.write_all(file_text(chunk).as_bytes()).unwrap();
                written.fetch_add(chunk.len(), std::sync::atomic::Ordering::SeqCst);
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    // Kill at the first committed offset.
    let committed_before_kill = wait_for("a committed offset", Duration::from_secs(30), || {
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&offsets_file).ok()?).ok()?;
        doc["offsets"].as_array()?.first()?[1]["position"]
            .as_i64()
            .filter(|p| *p > 0)
    });
    worker.kill9();
    let written_at_kill = written.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        written_at_kill < lines.len(),
        "the worker was killed while the file was still growing"
    );
    writer.join().unwrap();

    let worker = Worker::start(dir.path(), &props, &[src]);
    let last = lines.last().cloned().unwrap();
    let got = read_topic_until(&topic, Duration::from_secs(60), |v| v.last() == Some(&last));
    let _ = worker.get("/connectors/kill-src/status");

    // The topic must read as lines[0..k] followed by lines[j..N] with j <= k: every line
    // present, order kept, and the replay starting at a line the committed offset points to.
    let restart = (1..got.len())
        .find(|&i| got[i] <= got[i - 1])
        .unwrap_or(got.len());
    let (before, after) = got.split_at(restart);
    assert_eq!(
        before,
        &lines[..before.len()],
        "first run wrote a prefix, in order"
    );
    let j = lines.len() - after.len();
    assert!(
        j <= before.len(),
        "no gap between runs: first run ended at {}, second started at {j}",
        before.len()
    );
    assert_same_lines(after, &lines[j..], "second run resumed in order to the end");
    // The replay starts exactly at the byte position committed before the kill, or later.
    let resume_pos: usize = lines[..j].iter().map(|l| l.len() + 1).sum();
    assert!(
        resume_pos as i64 >= committed_before_kill,
        "resumed at byte {resume_pos}, before the offset {committed_before_kill} committed before the kill"
    );
    let duplicates = before.len() - j;
    assert!(
        duplicates <= 1_500,
        "{duplicates} duplicates: more than one flush interval (about 1,000 lines) plus margin"
    );
    eprintln!(
        "kill -9: first run produced {} lines, {} duplicates after restart",
        before.len(),
        before.len() - j
    );
}
