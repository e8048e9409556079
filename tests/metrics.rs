//! `GET /metrics` scraped while a file → Kafka → file pipeline runs: Kafka Connect's metric
//! names (as the jmx-monitoring-stacks dashboards query them) with the counts of what moved.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use support::*;

/// The samples of a Prometheus text exposition, keyed by series (`name{labels}`).
fn scrape(worker: &Worker) -> (String, BTreeMap<String, f64>) {
    let r = reqwest::blocking::get(worker.url("/metrics")).unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
    let text = r.text().unwrap();
    let mut samples = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value = match value {
            "NaN" => f64::NAN,
            "+Inf" => f64::INFINITY,
            v => v
                .parse()
                .unwrap_or_else(|_| panic!("bad value in {line:?}")),
        };
        samples.insert(series.to_owned(), value);
    }
    (content_type, samples)
}

#[test]
fn metrics_count_what_a_pipeline_moved() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let topic = unique("metrics");
    create_topic(&topic);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let lines = mixed_lines(2_000);
    std::fs::write(&input, file_text(&lines)).unwrap();

    let port = free_port();
    let props = Worker::props(dir.path(), port, &plugins, &[]);
    let src = dir.path().join("src.properties");
    write_props(
        &src,
        &[
            ("name", "m-src".to_owned()),
            ("connector.class", "FileStreamSource".to_owned()),
            ("file", input.display().to_string()),
            ("topic", topic.clone()),
        ],
    );
    let sink = dir.path().join("sink.properties");
    write_props(
        &sink,
        &[
            ("name", "m-sink".to_owned()),
            ("connector.class", "FileStreamSink".to_owned()),
            ("file", output.display().to_string()),
            ("topics", topic.clone()),
        ],
    );
    let worker = Worker::start(dir.path(), &props, &[src, sink]);

    // Every line written, read and put: the totals say so.
    let n = lines.len() as f64;
    let src_labels = r#"{connector="m-src",task="0"}"#;
    let sink_labels = r#"{connector="m-sink",task="0"}"#;
    let samples = wait_for(
        "the metrics to count every record",
        Duration::from_secs(90),
        || {
            let (_, samples) = scrape(&worker);
            let total = |name: &str, labels: &str| samples.get(&format!("{name}{labels}")).copied();
            let done = total(
                "kafka_connect_source_task_metrics_source_record_write_total",
                src_labels,
            ) == Some(n)
                && total(
                    "kafka_connect_sink_task_metrics_sink_record_send_total",
                    sink_labels,
                ) == Some(n);
            done.then_some(samples)
        },
    );
    let (content_type, _) = scrape(&worker);
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let get = |series: &str| {
        *samples
            .get(series)
            .unwrap_or_else(|| panic!("no series {series} in {samples:#?}"))
    };
    assert_eq!(
        get(&format!(
            "kafka_connect_source_task_metrics_source_record_poll_total{src_labels}"
        )),
        n
    );
    assert_eq!(
        get(&format!(
            "kafka_connect_sink_task_metrics_sink_record_read_total{sink_labels}"
        )),
        n
    );
    assert_eq!(
        get(&format!(
            "kafka_connect_sink_task_metrics_partition_count{sink_labels}"
        )),
        1.0
    );
    assert_eq!(
        get(&format!(
            "kafka_connect_task_error_metrics_total_record_failures{src_labels}"
        )),
        0.0
    );
    assert_eq!(
        get(r#"kafka_connect_connect_worker_metrics_connector_count{connector="aggregate"}"#),
        2.0
    );
    assert_eq!(
        get(r#"kafka_connect_connect_worker_metrics_task_count{connector="aggregate"}"#),
        2.0
    );
    assert_eq!(
        get(
            r#"kafka_connect_connect_worker_metrics_task_startup_success_total{connector="aggregate"}"#
        ),
        2.0
    );
    assert_eq!(
        get(
            r#"kafka_connect_connect_worker_metrics_connector_running_task_count{connector="m-sink"}"#
        ),
        1.0
    );
    assert_eq!(
        get(r#"kafka_connect_connector_metrics{connector="m-src",status="running"}"#),
        1.0
    );
    assert_eq!(
        get(r#"kafka_connect_connector_metrics{connector="m-sink",connector_type="sink"}"#),
        1.0
    );
    assert_eq!(
        get(&format!(
            "kafka_connect_connector_task_metrics_offset_commit_failure_percentage{src_labels}"
        )),
        0.0
    );
    // Rates are per second over the window: positive while records moved.
    assert!(
        get(&format!(
            "kafka_connect_source_task_metrics_source_record_write_rate{src_labels}"
        )) > 0.0
    );

    // A paused connector's task reports it; a deleted one's series disappear.
    let (code, _, _) = worker.send("PUT", "/connectors/m-src/pause", None);
    assert_eq!(code, 202);
    wait_for(
        "the source task's pause in the metrics",
        Duration::from_secs(30),
        || {
            let (_, samples) = scrape(&worker);
            (samples.get(r#"kafka_connect_connect_worker_metrics_connector_paused_task_count{connector="m-src"}"#)
            == Some(&1.0))
        .then_some(())
        },
    );
    let (code, _, _) = worker.send("DELETE", "/connectors/m-sink", None);
    assert_eq!(code, 204);
    let (_, samples) = scrape(&worker);
    assert!(
        !samples.keys().any(|k| k.contains(r#"connector="m-sink""#)),
        "series of a deleted connector remain: {samples:#?}"
    );
    assert_eq!(
        samples[r#"kafka_connect_connect_worker_metrics_task_count{connector="aggregate"}"#],
        1.0
    );
}
