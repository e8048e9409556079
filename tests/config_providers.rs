//! Config providers through a real worker and broker: a connector takes a secret from a
//! `${file:…}` placeholder and a topic from `${env:…}`; the records carry the resolved values,
//! while every REST response and the worker log show only the placeholders.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

#[test]
fn secrets_are_resolved_for_the_task_and_absent_from_rest_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let secret = format!("tok-{}", unique("s"));
    let topic = unique("secret-topic");
    create_topic(&topic);
    let secrets = dir.path().join("secrets.properties");
    // A sink path in a directory that does not exist: the task fails, and its trace must show
    // the placeholder rather than the path.
    let hidden_dir = format!("/nonexistent-{}", unique("dir"));
    // A transformation and a predicate class from the provider that do not exist: the
    // validation errors name them by placeholder.
    let hidden_class = format!("com.example.Hidden{}", unique("c").replace('-', ""));
    std::fs::write(
        &secrets,
        format!("api.token={secret}\nsink.path={hidden_dir}/out.txt\nsmt.class={hidden_class}\n"),
    )
    .unwrap();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\nb\nc\n").unwrap();

    let props = Worker::props(
        dir.path(),
        free_port(),
        &plugins,
        &[
            ("config.providers", "file,env"),
            (
                "config.providers.file.class",
                "org.apache.kafka.common.config.provider.FileConfigProvider",
            ),
            (
                "config.providers.file.param.allowed.paths",
                &dir.path().display().to_string(),
            ),
            ("config.providers.env.class", "EnvVarConfigProvider"),
        ],
    );
    let token_ref = format!("${{file:{}:api.token}}", secrets.display());
    let topic_ref = "${env:TRIBUTARY_E2E_TOPIC}".to_owned();
    let w = {
        // The worker process reads the topic from its environment.
        std::env::set_var("TRIBUTARY_E2E_TOPIC", &topic);
        Worker::start(dir.path(), &props, &[])
    };
    let config = json!({
        "connector.class": "FileStreamSource",
        "file": input.display().to_string(),
        "topic": topic_ref,
        "transforms": "tag",
        "transforms.tag.type": "org.apache.kafka.connect.transforms.InsertHeader",
        "transforms.tag.header": "token",
        "transforms.tag.value.literal": token_ref,
    });
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "with-secrets", "config": config})),
    );
    assert_eq!(code, 201, "{body}");

    let records = read_records(&topic, 3, Duration::from_secs(30));
    let values: Vec<String> = records.iter().map(|r| r.value_text()).collect();
    assert_eq!(
        values,
        ["a", "b", "c"],
        "the env placeholder named the topic"
    );
    for r in &records {
        assert_eq!(r.header("token").as_deref(), Some(secret.as_str()));
    }

    // Every REST view of the connector shows the placeholders, never the values.
    let mut responses = Vec::new();
    for path in [
        "/connectors/with-secrets",
        "/connectors/with-secrets/config",
        "/connectors/with-secrets/status",
        "/connectors/with-secrets/tasks",
        "/connectors/with-secrets/tasks-config",
        "/connectors/with-secrets/tasks/0/status",
        "/connectors/with-secrets/offsets",
        "/connectors?expand=info&expand=status",
    ] {
        let (code, body) = w.get(path);
        assert_eq!(code, 200, "{path}: {body}");
        responses.push((path.to_owned(), body.to_string()));
    }
    let mut validate_body = config.clone();
    validate_body["name"] = json!("with-secrets");
    let (code, validated, _) = w.send(
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        Some(validate_body),
    );
    assert_eq!(code, 200);
    responses.push(("validate".into(), validated.to_string()));
    let class_ref = format!("${{file:{}:smt.class}}", secrets.display());
    let mut bad_chain = config.clone();
    bad_chain["name"] = json!("with-secrets");
    bad_chain["transforms.tag.type"] = json!(class_ref);
    bad_chain["transforms.tag.predicate"] = json!("p");
    bad_chain["predicates"] = json!("p");
    bad_chain["predicates.p.type"] = json!(class_ref);
    let (code, validated, _) = w.send(
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        Some(bad_chain),
    );
    assert_eq!(code, 200);
    assert!(validated["error_count"].as_u64() >= Some(2), "{validated}");
    assert!(
        !validated.to_string().contains(&hidden_class),
        "validation leaks the transformation class: {validated}"
    );
    assert!(validated.to_string().contains("smt.class"), "{validated}");
    let (code, info, _) = w.send(
        "PUT",
        "/connectors/with-secrets/config",
        Some(config.clone()),
    );
    assert_eq!(code, 200, "{info}");
    responses.push(("PUT config".into(), info.to_string()));
    // Topic tracking (KIP-558) lists the topic the task actually wrote to, resolved, as
    // Connect does: a topic name is not kept secret; the token still is.
    let want = json!({"with-secrets": {"topics": [topic]}});
    let topics = wait_for("the topic is tracked", Duration::from_secs(30), || {
        let (code, topics) = w.get("/connectors/with-secrets/topics");
        assert_eq!(code, 200, "{topics}");
        (topics == want).then_some(topics)
    });
    responses.push(("/topics".into(), topics.to_string()));
    for (path, body) in &responses {
        assert!(!body.contains(&secret), "{path} leaks the secret: {body}");
        if path != "/topics" {
            assert!(!body.contains(&topic), "{path} leaks the env value: {body}");
        }
    }
    let (_, shown) = w.get("/connectors/with-secrets/config");
    assert_eq!(shown["transforms.tag.value.literal"], token_ref.as_str());
    assert_eq!(shown["topic"], topic_ref.as_str());
    // The task config the connector generated keeps the placeholder too.
    let (_, tasks) = w.get("/connectors/with-secrets/tasks");
    assert_eq!(tasks[0]["config"]["topic"], topic_ref.as_str(), "{tasks}");
    let sink_ref = format!("${{file:{}:sink.path}}", secrets.display());
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "bad-sink", "config": {
            "connector.class": "FileStreamSink", "topics": topic, "file": sink_ref}})),
    );
    assert_eq!(code, 201, "{body}");
    let failed = w.wait_task_state("bad-sink", 0, "FAILED");
    let trace = failed["trace"].as_str().unwrap();
    assert!(trace.contains("Cannot open or create file"), "{trace}");
    assert!(
        trace.contains(&sink_ref),
        "the trace names the placeholder: {trace}"
    );
    assert!(
        !trace.contains(&hidden_dir),
        "the trace leaks the resolved path: {trace}"
    );

    let log = w.log_text();
    assert!(!log.contains(&secret), "the worker log leaks the secret");
    assert!(
        log.contains("starting connector with config"),
        "config logged with placeholders"
    );
}
