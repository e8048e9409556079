//! Every compression codec Kafka has, end to end through real `tributary standalone`
//! processes and the real broker: a source task produces with `compression.type` set per
//! connector (`producer.override.*`), a sink task consumes the compressed batches, and a plain
//! consumer reads the topic too.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use support::*;

const CODECS: [&str; 4] = ["gzip", "snappy", "lz4", "zstd"];

fn connector(dir: &Path, name: &str, props: &[(&str, String)]) -> PathBuf {
    let path = dir.join(format!("{name}.properties"));
    let mut all = vec![("name", name.to_owned()), ("tasks.max", "1".to_owned())];
    all.extend(props.iter().cloned());
    write_props(&path, &all);
    path
}

#[test]
fn records_compressed_with_each_codec_arrive_in_the_topic_and_the_sink() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    // Long, repetitive lines: compressible, so each codec really compresses the batches.
    let lines: Vec<String> = mixed_lines(2_000)
        .into_iter()
        .map(|l| format!("{l} {}", "abc".repeat(30)))
        .collect();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, file_text(&lines)).unwrap();
    let mut connectors = Vec::new();
    let mut outputs = Vec::new();
    for codec in CODECS {
        let topic = unique(&format!("codec-{codec}"));
        create_topic(&topic);
        let output = dir.path().join(format!("out-{codec}.txt"));
        connectors.push(connector(
            dir.path(),
            &format!("src-{codec}"),
            &[
                ("connector.class", "FileStreamSource".to_owned()),
                ("file", input.display().to_string()),
                ("topic", topic.clone()),
                ("producer.override.compression.type", codec.to_owned()),
                ("producer.override.linger.ms", "20".to_owned()),
            ],
        ));
        connectors.push(connector(
            dir.path(),
            &format!("sink-{codec}"),
            &[
                ("connector.class", "FileStreamSink".to_owned()),
                ("file", output.display().to_string()),
                ("topics", topic.clone()),
            ],
        ));
        outputs.push((codec, topic, output));
    }
    // A codec librdkafka does not know fails the task: the override does reach the producer.
    connectors.push(connector(
        dir.path(),
        "src-bogus",
        &[
            ("connector.class", "FileStreamSource".to_owned()),
            ("file", input.display().to_string()),
            ("topic", unique("codec-bogus")),
            ("producer.override.compression.type", "brotli".to_owned()),
        ],
    ));
    let port = free_port();
    let props = Worker::props(dir.path(), port, &plugins, &[]);
    let worker = Worker::start(dir.path(), &props, &connectors);
    for (codec, topic, output) in &outputs {
        let got = wait_for(
            &format!("{} lines in the {codec} sink file", lines.len()),
            Duration::from_secs(90),
            || {
                let text = std::fs::read_to_string(output).unwrap_or_default();
                let got: Vec<String> = text.lines().map(str::to_owned).collect();
                (got.len() >= lines.len()).then_some(got)
            },
        );
        assert_same_lines(&got, &lines, &format!("{codec}: sink file"));
        let in_topic = read_topic(topic, lines.len(), Duration::from_secs(60));
        assert_same_lines(&in_topic, &lines, &format!("{codec}: topic"));
    }
    let failed = worker.wait_task_state("src-bogus", 0, "FAILED");
    assert!(
        failed.to_string().contains("compression"),
        "the trace names the setting: {failed}"
    );
    for codec in CODECS {
        let (code, status) = worker.get(&format!("/connectors/src-{codec}/status"));
        assert_eq!(code, 200);
        assert_eq!(status["tasks"][0]["state"], "RUNNING", "{codec}: {status}");
    }
}
