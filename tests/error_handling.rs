//! Bad records through a real worker and broker: with `errors.tolerance=all` they go to the
//! dead letter queue with Kafka's context headers and the good ones arrive; with `none` the
//! task fails and its status carries the trace; records a sink task reports as errant are
//! handled the same way; a transformation failure is tolerated on the source path.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

/// Good JSON records with two that are not JSON at offsets 3 and 7.
fn poison_records() -> Vec<String> {
    (0..10)
        .map(|i| match i {
            3 => "{not json".to_owned(),
            7 => "\u{1}\u{2} garbage".to_owned(),
            _ => format!(r#"{{"n":{i}}}"#),
        })
        .collect()
}

fn produce_all(topic: &str, values: &[String]) {
    let records: Vec<(&str, &[(&str, &str)])> = values
        .iter()
        .map(|v| (v.as_str(), &[("origin", "test")][..]))
        .collect();
    produce(topic, &records);
}

/// A connector create request: `config` with `extra` settings added.
fn connector(
    name: &str,
    mut config: serde_json::Value,
    extra: serde_json::Value,
) -> serde_json::Value {
    for (k, v) in extra.as_object().unwrap() {
        config[k] = v.clone();
    }
    json!({"name": name, "config": config})
}

/// A file sink reading schemaless JSON values.
fn json_sink(
    name: &str,
    topic: &str,
    output: &std::path::Path,
    extra: serde_json::Value,
) -> serde_json::Value {
    let config = json!({
        "connector.class": "FileStreamSink",
        "file": output.display().to_string(),
        "topics": topic,
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
    });
    connector(name, config, extra)
}

#[test]
fn tolerated_bad_records_go_to_the_dead_letter_queue_with_context_headers() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let topic = unique("poison");
    let dlq = format!("{topic}-dlq");
    create_topic(&topic);
    let values = poison_records();
    produce_all(&topic, &values);
    let output = dir.path().join("out.txt");

    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let w = Worker::start(dir.path(), &props, &[]);
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json_sink(
            "tolerant",
            &topic,
            &output,
            json!({
                "errors.tolerance": "all",
                "errors.log.enable": "true",
                "errors.log.include.messages": "true",
                "errors.deadletterqueue.topic.name": dlq,
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true",
            }),
        )),
    );
    assert_eq!(code, 201, "{body}");

    let want: Vec<String> = (0..10)
        .filter(|i| *i != 3 && *i != 7)
        .map(|i| format!("{{n={i}}}"))
        .collect();
    let got = wait_for(
        "the good records in the sink file",
        Duration::from_secs(60),
        || {
            let text = std::fs::read_to_string(&output).ok()?;
            let got: Vec<String> = text.lines().map(str::to_owned).collect();
            (got.len() >= want.len()).then_some(got)
        },
    );
    assert_same_lines(&got, &want, "good records, in order");

    let dead = read_records(&dlq, 2, Duration::from_secs(30));
    assert_eq!(dead.len(), 2, "both bad records in the DLQ: {dead:?}");
    for (record, offset) in dead.iter().zip([3, 7]) {
        assert_eq!(record.value_text(), values[offset], "original bytes");
        assert_eq!(
            record.header("origin").as_deref(),
            Some("test"),
            "original headers kept"
        );
        let h = |k: &str| {
            record
                .header(k)
                .unwrap_or_else(|| panic!("header {k} on {record:?}"))
        };
        assert_eq!(h("__connect.errors.topic"), topic);
        assert_eq!(h("__connect.errors.partition"), "0");
        assert_eq!(h("__connect.errors.offset"), offset.to_string());
        assert_eq!(h("__connect.errors.connector.name"), "tolerant");
        assert_eq!(h("__connect.errors.task.id"), "0");
        assert_eq!(h("__connect.errors.stage"), "VALUE_CONVERTER");
        assert_eq!(
            h("__connect.errors.class.name"),
            "org.apache.kafka.connect.json.JsonConverter"
        );
        assert_eq!(
            h("__connect.errors.exception.class.name"),
            "org.apache.kafka.connect.errors.DataException"
        );
        assert!(!h("__connect.errors.exception.message").is_empty());
        assert!(h("__connect.errors.exception.stacktrace").contains("DataException"));
    }
    // Nothing is lost or stuck: the task runs on and its offsets pass every record.
    assert_eq!(w.task_state("tolerant", 0).unwrap().0, "RUNNING");
    wait_for(
        "offsets past the bad records",
        Duration::from_secs(30),
        || {
            let (_, o) = w.get("/connectors/tolerant/offsets");
            (o["offsets"][0]["offset"]["kafka_offset"].as_i64()? == 10).then_some(())
        },
    );
    let log = w.log_text();
    assert!(
        log.contains("Error encountered in task tolerant-0") && log.contains("{not json"),
        "errors.log.enable with messages logs each bad record"
    );
}

#[test]
fn without_tolerance_a_bad_record_fails_the_task_with_a_trace() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let topic = unique("poison-none");
    create_topic(&topic);
    let values = poison_records();
    // The three good records first, delivered and committed before the bad one arrives.
    produce_all(&topic, &values[..3]);
    let output = dir.path().join("out.txt");

    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let w = Worker::start(dir.path(), &props, &[]);
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json_sink("strict", &topic, &output, json!({}))),
    );
    assert_eq!(code, 201, "{body}");
    wait_for(
        "the first records committed",
        Duration::from_secs(60),
        || {
            let (_, o) = w.get("/connectors/strict/offsets");
            (o["offsets"][0]["offset"]["kafka_offset"].as_i64()? == 3).then_some(())
        },
    );
    produce_all(&topic, &values[3..]);

    let failed = w.wait_task_state("strict", 0, "FAILED");
    let trace = failed["trace"].as_str().unwrap();
    assert!(
        trace.contains("Tolerance exceeded in error handler"),
        "{trace}"
    );
    assert!(trace.contains("VALUE_CONVERTER"), "{trace}");
    assert!(trace.contains("JsonConverter"), "{trace}");
    let (_, status) = w.get("/connectors/strict/status");
    assert_eq!(status["tasks"][0]["state"], "FAILED");
    assert_eq!(status["tasks"][0]["trace"], failed["trace"]);
    // The records before the bad one arrived; nothing after it did, and the committed offset
    // stays at the bad record, so a restart reads it again.
    let text = std::fs::read_to_string(&output).unwrap();
    assert_eq!(text, "{n=0}\n{n=1}\n{n=2}\n");
    let (_, o) = w.get("/connectors/strict/offsets");
    assert_eq!(o["offsets"][0]["offset"]["kafka_offset"], 3, "{o}");
}

#[test]
fn source_transformation_failures_are_skipped_with_tolerance_all() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let topic = unique("src-poison");
    create_topic(&topic);
    let input = dir.path().join("in.txt");
    // Cast$Value to int32 fails on the lines that are not numbers.
    let lines = ["1", "2", "three", "4", "five", "6"];
    std::fs::write(&input, lines.map(|l| format!("{l}\n")).concat()).unwrap();
    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let w = Worker::start(dir.path(), &props, &[]);
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "casting", "config": {
            "connector.class": "FileStreamSource",
            "file": input.display().to_string(),
            "topic": topic,
            "errors.tolerance": "all",
            "transforms": "toInt",
            "transforms.toInt.type": "org.apache.kafka.connect.transforms.Cast$Value",
            "transforms.toInt.spec": "int32"
        }})),
    );
    assert_eq!(code, 201, "{body}");
    let got = read_topic(&topic, 4, Duration::from_secs(30));
    assert_eq!(got, ["1", "2", "4", "6"]);
    // The skipped lines' offsets are committed with the rest: the last position is the end.
    let end = std::fs::metadata(&input).unwrap().len();
    wait_for(
        "the source offset at the end of the file",
        Duration::from_secs(30),
        || {
            let (_, o) = w.get("/connectors/casting/offsets");
            (o["offsets"][0]["offset"]["position"].as_u64()? == end).then_some(())
        },
    );
    assert_eq!(w.task_state("casting", 0).unwrap().0, "RUNNING");
}

/// The fixture sink that reports values containing `bad` as errant.
fn errant_sink(
    name: &str,
    topic: &str,
    output: &std::path::Path,
    extra: serde_json::Value,
) -> serde_json::Value {
    let config = json!({
        "connector.class": "io.tributary.test.ErrantSinkConnector",
        "file": output.display().to_string(),
        "topics": topic,
    });
    connector(name, config, extra)
}

#[test]
fn records_a_sink_task_reports_as_errant_go_to_the_dead_letter_queue() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_test_plugin_faulty"]);
    let topic = unique("errant");
    let dlq = format!("{topic}-dlq");
    create_topic(&topic);
    let values: Vec<String> = (0..8)
        .map(|i| {
            if i % 3 == 1 {
                format!("bad {i}")
            } else {
                format!("good {i}")
            }
        })
        .collect();
    produce_all(&topic, &values);
    let output = dir.path().join("out.txt");
    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let w = Worker::start(dir.path(), &props, &[]);
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(errant_sink(
            "reporter",
            &topic,
            &output,
            json!({
                "errors.tolerance": "all",
                "errors.deadletterqueue.topic.name": dlq,
                "errors.deadletterqueue.topic.replication.factor": "1",
                "errors.deadletterqueue.context.headers.enable": "true",
            }),
        )),
    );
    assert_eq!(code, 201, "{body}");
    let dead = read_records(&dlq, 3, Duration::from_secs(60));
    let dead_values: Vec<String> = dead.iter().map(|r| r.value_text()).collect();
    assert_eq!(dead_values, ["bad 1", "bad 4", "bad 7"]);
    for (r, offset) in dead.iter().zip([1, 4, 7]) {
        assert_eq!(
            r.header("__connect.errors.stage").as_deref(),
            Some("TASK_PUT")
        );
        assert_eq!(
            r.header("__connect.errors.class.name").as_deref(),
            Some("org.apache.kafka.connect.sink.SinkTask")
        );
        assert_eq!(
            r.header("__connect.errors.offset"),
            Some(offset.to_string())
        );
        let message = r
            .header("__connect.errors.exception.message")
            .unwrap_or_default();
        assert!(message.contains("cannot store"), "{message}");
    }
    let good = std::fs::read_to_string(&output).unwrap();
    assert_eq!(good, "good 0\ngood 2\ngood 3\ngood 5\ngood 6\n");
    wait_for(
        "offsets past the errant records",
        Duration::from_secs(30),
        || {
            let (_, o) = w.get("/connectors/reporter/offsets");
            (o["offsets"][0]["offset"]["kafka_offset"].as_i64()? == 8).then_some(())
        },
    );

    // Without tolerance the first report fails the task.
    let strict_out = dir.path().join("strict.txt");
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(errant_sink(
            "strict-reporter",
            &topic,
            &strict_out,
            json!({}),
        )),
    );
    assert_eq!(code, 201, "{body}");
    let failed = w.wait_task_state("strict-reporter", 0, "FAILED");
    let trace = failed["trace"].as_str().unwrap();
    assert!(
        trace.contains("Tolerance exceeded") && trace.contains("TASK_PUT"),
        "{trace}"
    );
    assert!(trace.contains("cannot store"), "{trace}");
}
