//! Single-message transforms through a real worker and broker, configured exactly as Kafka
//! Connect users write them: a three-transformation chain with a predicate on the source path
//! (before the converter) and on the sink path (after it), and the REST listing and validation
//! of transformations.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

#[test]
fn source_chain_of_three_smts_with_a_predicate() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let base = unique("smt-src");
    let raw_topic = format!("{base}-raw");
    let cooked = format!("{base}-cooked");
    create_topic(&raw_topic);
    create_topic(&cooked);
    let input = dir.path().join("in.txt");
    let lines: Vec<String> = (0..50).map(|i| format!("line {i}")).collect();
    std::fs::write(&input, file_text(&lines)).unwrap();

    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let w = Worker::start(dir.path(), &props, &[]);
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "smt-src", "config": {
            "connector.class": "FileStreamSource",
            "file": input.display().to_string(),
            "topic": raw_topic,
            "value.converter": "org.apache.kafka.connect.json.JsonConverter",
            "value.converter.schemas.enable": "true",
            "transforms": "hoist,stamp,route",
            "transforms.hoist.type": "org.apache.kafka.connect.transforms.HoistField$Value",
            "transforms.hoist.field": "line",
            "transforms.stamp.type": "org.apache.kafka.connect.transforms.InsertField$Value",
            "transforms.stamp.static.field": "pipeline",
            "transforms.stamp.static.value": "e2e",
            "transforms.stamp.topic.field": "from_topic",
            "transforms.route.type": "org.apache.kafka.connect.transforms.RegexRouter",
            "transforms.route.regex": "(.*)-raw",
            "transforms.route.replacement": "$1-cooked",
            "transforms.route.predicate": "isRaw",
            "predicates": "isRaw",
            "predicates.isRaw.type": "org.apache.kafka.connect.transforms.predicates.TopicNameMatches",
            "predicates.isRaw.pattern": ".*-raw"
        }})),
    );
    assert_eq!(code, 201, "{body}");
    let records = read_topic(&cooked, lines.len(), Duration::from_secs(30));
    assert_eq!(records.len(), lines.len(), "every line routed to {cooked}");
    for (i, text) in records.iter().enumerate() {
        let v: serde_json::Value = serde_json::from_str(text).unwrap();
        // HoistField made a struct, InsertField added two optional string fields after it.
        assert_eq!(
            v["schema"]["fields"],
            json!([
                {"type": "string", "optional": false, "field": "line"},
                {"type": "string", "optional": true, "field": "from_topic"},
                {"type": "string", "optional": true, "field": "pipeline"}
            ]),
            "{text}"
        );
        assert_eq!(
            v["payload"],
            json!({"line": lines[i], "from_topic": raw_topic, "pipeline": "e2e"})
        );
    }
    let raw = read_topic(&raw_topic, 1, Duration::from_secs(2));
    assert!(raw.is_empty(), "nothing left on the raw topic: {raw:?}");
}

#[test]
fn sink_chain_filters_by_header_and_reshapes_values() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let topic = unique("smt-sink");
    create_topic(&topic);
    let output = dir.path().join("out.txt");
    let mut records: Vec<(String, Vec<(&str, &str)>)> = Vec::new();
    for i in 0..40 {
        let headers = if i % 4 == 3 {
            vec![("skip", "yes")]
        } else {
            vec![]
        };
        records.push((
            format!(r#"{{"msg":"hello {i}","secret":"pw{i}","n":{i}}}"#),
            headers,
        ));
    }
    let as_refs: Vec<(&str, &[(&str, &str)])> = records
        .iter()
        .map(|(v, h)| (v.as_str(), h.as_slice()))
        .collect();
    produce(&topic, &as_refs);

    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let w = Worker::start(dir.path(), &props, &[]);
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "smt-sink", "config": {
            "connector.class": "FileStreamSink",
            "file": output.display().to_string(),
            "topics": topic,
            "value.converter": "JsonConverter",
            "value.converter.schemas.enable": "false",
            "transforms": "dropMarked,rename,mask",
            "transforms.dropMarked.type": "Filter",
            "transforms.dropMarked.predicate": "marked",
            "transforms.rename.type": "org.apache.kafka.connect.transforms.ReplaceField$Value",
            "transforms.rename.exclude": "n",
            "transforms.rename.renames": "msg:text",
            "transforms.mask.type": "org.apache.kafka.connect.transforms.MaskField$Value",
            "transforms.mask.fields": "secret",
            "transforms.mask.replacement": "****",
            "predicates": "marked",
            "predicates.marked.type": "HasHeaderKey",
            "predicates.marked.name": "skip"
        }})),
    );
    assert_eq!(code, 201, "{body}");
    let want: Vec<String> = (0..40)
        .filter(|i| i % 4 != 3)
        .map(|i| format!("{{text=hello {i}, secret=****}}"))
        .collect();
    let got = wait_for(
        "the kept records in the sink file",
        Duration::from_secs(60),
        || {
            let text = std::fs::read_to_string(&output).ok()?;
            let got: Vec<String> = text.lines().map(str::to_owned).collect();
            (got.len() >= want.len()).then_some(got)
        },
    );
    assert_same_lines(&got, &want, "filtered, renamed and masked values");
    // Filtered records still count as consumed: the committed offset passes all 40.
    wait_for(
        "offsets past the filtered records",
        Duration::from_secs(30),
        || {
            let (_, o) = w.get("/connectors/smt-sink/offsets");
            let offset = o["offsets"][0]["offset"]["kafka_offset"].as_i64()?;
            (offset == 40).then_some(())
        },
    );
}

#[test]
fn rest_lists_and_validates_transformations() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let w = Worker::start(dir.path(), &props, &[]);

    let (code, list) = w.get("/connector-plugins?connectorsOnly=false");
    assert_eq!(code, 200);
    let entries = list.as_array().unwrap();
    let of_type = |t: &str| entries.iter().filter(|p| p["type"] == t).count();
    assert_eq!(
        of_type("transformation"),
        27,
        "16 Kafka SMTs (10 with $Key/$Value) and Debezium's ExtractNewRecordState"
    );
    assert_eq!(of_type("predicate"), 3);
    assert!(entries.iter().any(|p| p["class"]
        == "org.apache.kafka.connect.transforms.TimestampConverter$Value"
        && p["type"] == "transformation"));
    let (_, connectors_only) = w.get("/connector-plugins");
    assert!(connectors_only
        .as_array()
        .unwrap()
        .iter()
        .all(|p| p["type"] == "source" || p["type"] == "sink"));

    let (code, keys) = w.get("/connector-plugins/RegexRouter/config");
    assert_eq!(code, 200, "{keys}");
    let names: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|k| k["name"].as_str())
        .collect();
    assert_eq!(names, ["regex", "replacement"]);

    // Validation reports each SMT's config errors under its alias.
    let (code, v, _) = w.send(
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        Some(json!({
            "name": "v", "connector.class": "FileStreamSink", "topics": "t", "file": "/tmp/x",
            "transforms": "cast,ts",
            "transforms.cast.type": "org.apache.kafka.connect.transforms.Cast$Value",
            "transforms.cast.spec": "amount:money",
            "transforms.ts.type": "org.apache.kafka.connect.transforms.TimestampConverter$Value",
        })),
    );
    assert_eq!(code, 200, "{v}");
    let errors: Vec<(String, String)> = v["configs"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            let e = c["value"]["errors"]
                .as_array()?
                .first()?
                .as_str()?
                .to_owned();
            Some((c["value"]["name"].as_str()?.to_owned(), e))
        })
        .collect();
    let keys: Vec<&str> = errors.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        ["transforms.cast.spec", "transforms.ts.target.type"],
        "{errors:?}"
    );
    assert_eq!(v["error_count"], 2);
    let groups = v["groups"].as_array().unwrap();
    assert!(groups.contains(&json!("Transforms: cast")), "{groups:?}");

    // Creating it is a 400 naming the keys.
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "bad-smt", "config": {
            "connector.class": "FileStreamSink", "topics": "t", "file": "/tmp/x",
            "transforms": "r", "transforms.r.type": "RegexRouter", "transforms.r.regex": "("}})),
    );
    assert_eq!(code, 400, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(message.contains("transforms.r.regex"), "{message}");
    assert!(message.contains("transforms.r.replacement"), "{message}");
}
