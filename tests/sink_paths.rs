//! Sink paths through a real worker: `topics.regex`, several tasks, converters set at connector
//! level, sink offsets over REST, and a graceful shutdown that flushes and commits.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

#[test]
fn regex_sink_with_two_tasks_and_connector_level_json_converters() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let prefix = unique("rx");
    let topic = format!("{prefix}-orders");
    create_topic_with_partitions(&topic, 2);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let lines = mixed_lines(400);
    std::fs::write(&input, file_text(&lines)).unwrap();

    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let w = Worker::start(dir.path(), &props, &[]);
    // The worker converts with StringConverter; this connector overrides it with JSON.
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "json-src", "config": {
            "connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic,
            "value.converter": "org.apache.kafka.connect.json.JsonConverter"}})),
    );
    assert_eq!(code, 201, "{body}");
    let raw = read_topic(&topic, lines.len(), Duration::from_secs(30));
    assert_eq!(raw.len(), lines.len());
    let first: serde_json::Value = serde_json::from_str(&raw[0]).unwrap();
    assert_eq!(
        first["schema"],
        json!({"type": "string", "optional": false})
    );
    assert!(lines.contains(&first["payload"].as_str().unwrap().to_owned()));

    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "json-sink", "config": {
            "connector.class": "FileStreamSink", "file": output.display().to_string(),
            "topics.regex": format!("{prefix}-.*"), "tasks.max": "2",
            "value.converter": "JsonConverter"}})),
    );
    assert_eq!(code, 201, "{body}");
    w.wait_task_state("json-sink", 0, "RUNNING");
    w.wait_task_state("json-sink", 1, "RUNNING");
    let mut got = wait_for(
        "every line in the sink file",
        Duration::from_secs(60),
        || {
            let text = std::fs::read_to_string(&output).ok()?;
            let got: Vec<String> = text.lines().map(str::to_owned).collect();
            (got.len() >= lines.len()).then_some(got)
        },
    );
    got.sort();
    assert_same_lines(
        &got,
        &lines,
        "JSON payloads written back as plain lines, each once",
    );

    // Sink offsets: the consumer group's committed offsets, one entry per partition that held
    // records (the producer's sticky partitioner may have put all of them in one partition).
    let offsets = wait_for("committed sink offsets", Duration::from_secs(30), || {
        let (_, o) = w.get("/connectors/json-sink/offsets");
        let entries = o["offsets"].as_array()?.clone();
        let total: i64 = entries
            .iter()
            .filter_map(|e| e["offset"]["kafka_offset"].as_i64())
            .sum();
        (total == lines.len() as i64).then_some(entries)
    });
    assert!(!offsets.is_empty() && offsets.len() <= 2, "{offsets:?}");
    assert!(offsets
        .iter()
        .all(|e| e["partition"]["kafka_topic"] == topic));

    // Rewind the fullest partition to the start while stopped; after resuming, its records
    // come again.
    assert_eq!(w.send("PUT", "/connectors/json-sink/stop", None).0, 204);
    let fullest = offsets
        .iter()
        .max_by_key(|e| e["offset"]["kafka_offset"].as_i64())
        .unwrap();
    let partition = fullest["partition"]["kafka_partition"].clone();
    let rewound = fullest["offset"]["kafka_offset"].as_i64().unwrap() as usize;
    let patch = json!({"offsets": [{"partition": {"kafka_topic": topic, "kafka_partition": partition}, "offset": {"kafka_offset": 0}}]});
    let (code, body, _) = w.send("PATCH", "/connectors/json-sink/offsets", Some(patch));
    assert_eq!(code, 200, "{body}");
    let (_, after) = w.get("/connectors/json-sink/offsets");
    let patched = after["offsets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["partition"]["kafka_partition"] == partition)
        .cloned();
    assert_eq!(
        patched.unwrap()["offset"]["kafka_offset"],
        0,
        "the PATCH is visible: {after}"
    );
    assert_eq!(w.send("PUT", "/connectors/json-sink/resume", None).0, 202);
    wait_for(
        "the rewound partition delivered again",
        Duration::from_secs(60),
        || {
            let n = std::fs::read_to_string(&output).ok()?.lines().count();
            (n >= lines.len() + rewound).then_some(())
        },
    );

    // Reset deletes the group's offsets.
    assert_eq!(w.send("PUT", "/connectors/json-sink/stop", None).0, 204);
    let (code, body, _) = w.send("DELETE", "/connectors/json-sink/offsets", None);
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        w.get("/connectors/json-sink/offsets").1,
        json!({"offsets": []})
    );
}

#[test]
fn graceful_shutdown_flushes_and_commits_so_a_restart_continues_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let topic = unique("graceful");
    create_topic(&topic);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let lines = mixed_lines(3_000);
    std::fs::write(&input, file_text(&lines)).unwrap();
    // Unique names: each run of the suite gets a fresh consumer group.
    let sink_name = format!("{topic}-sink");
    let src = dir.path().join("src.properties");
    write_props(
        &src,
        &[
            ("name", format!("{topic}-src")),
            ("connector.class", "FileStreamSource".into()),
            ("file", input.display().to_string()),
            ("topic", topic.clone()),
        ],
    );
    let sink = dir.path().join("sink.properties");
    write_props(
        &sink,
        &[
            ("name", sink_name.clone()),
            ("connector.class", "FileStreamSink".into()),
            ("file", output.display().to_string()),
            ("topics", topic.clone()),
        ],
    );
    // A flush interval longer than the test: only the shutdown flushes and commits.
    let slow = Worker::props(
        dir.path(),
        free_port(),
        &plugins,
        &[("offset.flush.interval.ms", "600000")],
    );
    let w = Worker::start(dir.path(), &slow, &[src.clone(), sink.clone()]);
    assert_eq!(
        read_topic(&topic, lines.len(), Duration::from_secs(30)).len(),
        lines.len()
    );
    w.wait_task_state(&sink_name, 0, "RUNNING");
    // The sink's 8 KiB buffer spills to the file as records arrive, which proves the task got
    // records (and that its group join finished: Tansu mishandles a member that leaves in
    // the middle of its first join). The rest is only flushed by the shutdown.
    wait_for(
        "the sink to receive records",
        Duration::from_secs(60),
        || (std::fs::metadata(&output).ok()?.len() > 0).then_some(()),
    );
    w.terminate();

    // The source committed its last position on the way out.
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("offsets.json")).unwrap()).unwrap();
    let size = std::fs::metadata(&input).unwrap().len() as i64;
    assert_eq!(
        doc["offsets"][0][1]["position"], size,
        "source offset committed on shutdown"
    );
    let flushed = std::fs::read_to_string(&output)
        .unwrap_or_default()
        .lines()
        .count();

    // Whatever the sink had written is flushed and committed, nothing more: a restart
    // continues from there and the file ends with every line exactly once, in order.
    let fast = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let _w = Worker::start(dir.path(), &fast, &[src, sink]);
    let got = wait_for(
        "every line in the sink file",
        Duration::from_secs(60),
        || {
            let got: Vec<String> = std::fs::read_to_string(&output)
                .ok()?
                .lines()
                .map(str::to_owned)
                .collect();
            (got.len() >= lines.len()).then_some(got)
        },
    );
    assert_same_lines(&got, &lines, "sink file after a graceful restart");
    eprintln!("graceful shutdown: {flushed} lines flushed by the first run");
}
