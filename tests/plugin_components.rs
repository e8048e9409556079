//! A converter, a transformation and a config provider loaded from a plugin library (the
//! `extras` fixture), next to the file connectors: listed and described by the REST API,
//! validated like built-ins, and used by a real file → Kafka → file pipeline.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

#[test]
fn a_plugin_converter_and_transformation_run_in_a_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(
        dir.path(),
        &["tributary_connector_file", "tributary_test_plugin_extras"],
    );
    let base = unique("components");
    let topic = format!("{base}-t");
    create_topic(&topic);
    let input = dir.path().join("in.txt");
    let output = dir.path().join("out.txt");
    let lines: Vec<String> = (0..200).map(|i| format!("line {i} é")).collect();
    std::fs::write(&input, file_text(&lines)).unwrap();

    // A config provider from the plugin names the source's topic.
    let prefix = format!("{base}-");
    let props = Worker::props(
        dir.path(),
        free_port(),
        &plugins,
        &[
            ("config.providers", "ex"),
            ("config.providers.ex.class", "PrefixConfigProvider"),
            ("config.providers.ex.param.prefix", &prefix),
        ],
    );
    let w = Worker::start(dir.path(), &props, &[]);

    // Listed with their types and versions, and described by their own keys.
    let (code, listing) = w.get("/connector-plugins?connectorsOnly=false");
    assert_eq!(code, 200);
    let listed = |class: &str| {
        listing
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["class"] == class)
            .cloned()
    };
    let converter = listed("com.example.UpperCaseConverter").expect("the plugin converter");
    assert_eq!(converter["type"], "converter");
    assert_eq!(converter["version"], "1.0.0");
    let smt = listed("com.example.AppendSuffix").expect("the plugin transformation");
    assert_eq!(smt["type"], "transformation");
    let (code, keys) = w.get("/connector-plugins/AppendSuffix/config");
    assert_eq!(code, 200, "{keys}");
    assert_eq!(keys[0]["name"], "suffix");
    assert_eq!(keys[0]["required"], true);

    // Validation covers the plugin transformation's keys: a missing suffix is a 400 naming it.
    let source = |suffix: Option<&str>| {
        let mut config = json!({
            "connector.class": "FileStreamSource",
            "file": input.display().to_string(),
            "topic": "${ex:any:t}",
            "value.converter": "com.example.UpperCaseConverter",
            "value.converter.prefix": ">",
            "transforms": "suffix",
            "transforms.suffix.type": "AppendSuffix",
        });
        if let Some(s) = suffix {
            config["transforms.suffix.suffix"] = json!(s);
        }
        json!({"name": "components-src", "config": config})
    };
    let (code, body, _) = w.send("POST", "/connectors", Some(source(None)));
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("transforms.suffix.suffix"),
        "{body}"
    );

    // The source path runs the plugin transformation, then the plugin converter.
    let (code, body, _) = w.send("POST", "/connectors", Some(source(Some("!"))));
    assert_eq!(code, 201, "{body}");
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "components-sink", "config": {
            "connector.class": "FileStreamSink",
            "file": output.display().to_string(),
            "topics": topic,
        }})),
    );
    assert_eq!(code, 201, "{body}");
    let want: Vec<String> = lines
        .iter()
        .map(|l| format!(">{}!", l.to_uppercase()))
        .collect();
    let got = wait_for(
        "every line in the sink file",
        Duration::from_secs(60),
        || {
            let got: Vec<String> = std::fs::read_to_string(&output)
                .unwrap_or_default()
                .lines()
                .map(str::to_owned)
                .collect();
            (got.len() >= want.len()).then_some(got)
        },
    );
    assert_same_lines(
        &got,
        &want,
        "converted by the plugin converter, suffixed by the plugin SMT",
    );
    // The stored config keeps the placeholder the plugin provider resolved.
    let (code, config) = w.get("/connectors/components-src/config");
    assert_eq!(code, 200);
    assert_eq!(config["topic"], "${ex:any:t}");
}
