//! The Kafka Connect REST API of a real standalone worker: status codes, bodies, lifecycle.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

fn start_worker(dir: &std::path::Path) -> Worker {
    let plugins = plugin_dir(dir, &["tributary_connector_file"]);
    let props = Worker::props(dir, free_port(), &plugins, &[]);
    Worker::start(dir, &props, &[])
}

#[test]
fn connector_lifecycle_over_rest() {
    let dir = tempfile::tempdir().unwrap();
    let w = start_worker(dir.path());
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\nb\nc\n").unwrap();
    let topic = unique("rest");
    create_topic(&topic);

    // Server info and health.
    let (code, info) = w.get("/");
    assert_eq!(code, 200);
    assert!(info["version"].is_string() && info["commit"].is_string());
    assert!(info.get("kafka_cluster_id").is_some());
    let (code, health) = w.get("/health");
    assert_eq!((code, health["status"].as_str()), (200, Some("healthy")));
    assert_eq!(w.get("/connectors").1, json!([]));

    // Create: 201, Location, ConnectorInfo with name added to the config.
    let config = json!({"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic, "tasks.max": 3});
    let (code, body, headers) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": " src ", "config": config})),
    );
    assert_eq!(code, 201, "{body}");
    assert_eq!(headers["location"].to_str().unwrap(), "/connectors/src");
    assert_eq!(body["name"], "src");
    assert_eq!(body["config"]["name"], "src");
    assert_eq!(
        body["config"]["tasks.max"], "3",
        "numbers are stored as text"
    );
    assert_eq!(body["type"], "source");

    // Duplicate → 409 with the error body shape.
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "src", "config": config})),
    );
    assert_eq!(code, 409);
    assert_eq!(body["error_code"], 409);
    assert!(body["message"].as_str().unwrap().contains("already exists"));

    w.wait_task_state("src", 0, "RUNNING");
    // The file source makes one task whatever tasks.max says.
    let (code, tasks) = w.get("/connectors/src/tasks");
    assert_eq!(code, 200);
    assert_eq!(tasks.as_array().unwrap().len(), 1);
    assert_eq!(tasks[0]["id"], json!({"connector": "src", "task": 0}));
    let (_, tc) = w.get("/connectors/src/tasks-config");
    assert!(tc.get("src-0").is_some());
    let (code, status) = w.get("/connectors/src/status");
    assert_eq!(code, 200);
    assert_eq!(status["connector"]["state"], "RUNNING");
    assert!(status["connector"]["worker_id"]
        .as_str()
        .unwrap()
        .ends_with(&format!(":{}", w.port)));
    assert!(
        status["tasks"][0].get("trace").is_none(),
        "no trace when not failed"
    );

    // Expand.
    let (_, expanded) = w.get("/connectors?expand=status&expand=info&expand=bogus");
    assert_eq!(expanded["src"]["status"]["connector"]["state"], "RUNNING");
    assert_eq!(expanded["src"]["info"]["type"], "source");

    // The three lines went to the topic and their offsets are visible.
    assert_eq!(
        read_topic(&topic, 3, Duration::from_secs(30)),
        vec!["a", "b", "c"]
    );
    let offsets = wait_for("committed source offsets", Duration::from_secs(20), || {
        let (_, o) = w.get("/connectors/src/offsets");
        (o["offsets"][0]["offset"]["position"] == json!(6)).then_some(o)
    });
    assert_eq!(
        offsets["offsets"][0]["partition"]["filename"],
        input.display().to_string()
    );

    // Pause / resume.
    assert_eq!(w.send("PUT", "/connectors/src/pause", None).0, 202);
    w.wait_task_state("src", 0, "PAUSED");
    assert_eq!(
        w.get("/connectors/src/status").1["connector"]["state"],
        "PAUSED"
    );
    assert_eq!(w.send("PUT", "/connectors/src/resume", None).0, 202);
    w.wait_task_state("src", 0, "RUNNING");

    // Offsets can only change when stopped.
    let patch = json!({"offsets": [{"partition": {"filename": input.display().to_string()}, "offset": {"position": 2}}]});
    let (code, body, _) = w.send("PATCH", "/connectors/src/offsets", Some(patch.clone()));
    assert_eq!(code, 400, "{body}");
    assert_eq!(w.send("PUT", "/connectors/src/stop", None).0, 204);
    assert_eq!(
        w.get("/connectors/src/status").1["connector"]["state"],
        "STOPPED"
    );
    assert_eq!(w.get("/connectors/src/tasks").1, json!([]));
    let (code, body, _) = w.send("PATCH", "/connectors/src/offsets", Some(patch));
    assert_eq!(code, 200, "{body}");
    assert!(body["message"].is_string());
    assert_eq!(
        w.get("/connectors/src/offsets").1["offsets"][0]["offset"]["position"],
        2
    );
    // Resume from the patched position: "b" and "c" again.
    assert_eq!(w.send("PUT", "/connectors/src/resume", None).0, 202);
    w.wait_task_state("src", 0, "RUNNING");
    assert_eq!(
        read_topic(&topic, 5, Duration::from_secs(30)),
        vec!["a", "b", "c", "b", "c"]
    );

    // Config: PUT existing → 200; PATCH; invalid value → 400 naming the key.
    let (code, _, _) = w.send("PUT", "/connectors/src/config", Some(json!({"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic, "batch.size": "10"})));
    assert_eq!(code, 200);
    assert_eq!(w.get("/connectors/src/config").1["batch.size"], "10");
    let (code, body, _) = w.send(
        "PATCH",
        "/connectors/src/config",
        Some(json!({"batch.size": "0"})),
    );
    assert_eq!(code, 400);
    assert!(
        body["message"].as_str().unwrap().contains("batch.size"),
        "{body}"
    );
    let (code, body, _) = w.send(
        "PATCH",
        "/connectors/src/config",
        Some(json!({"batch.size": null})),
    );
    assert_eq!(code, 200, "{body}");
    assert!(body["config"].get("batch.size").is_none());
    let (code, _, _) = w.send(
        "PUT",
        "/connectors/src/config",
        Some(json!({"name": "other", "connector.class": "FileStreamSource", "topic": "t"})),
    );
    assert_eq!(code, 400, "body name must match the path");

    // Restart variants.
    assert_eq!(w.send("POST", "/connectors/src/restart", None).0, 204);
    let (code, body, _) = w.send("POST", "/connectors/src/restart?includeTasks=true", None);
    assert_eq!(code, 202);
    assert_eq!(body["connector"]["state"], "RESTARTING");
    w.wait_task_state("src", 0, "RUNNING");
    assert_eq!(
        w.send("POST", "/connectors/src/tasks/0/restart", None).0,
        204
    );
    assert_eq!(
        w.send("POST", "/connectors/src/tasks/7/restart", None).0,
        404
    );

    // Create with a bad config: 400 naming the key; unknown class: 500.
    let (code, body, _) = w.send("POST", "/connectors", Some(json!({"name": "bad", "config": {"connector.class": "FileStreamSource", "file": "/tmp/x"}})));
    assert_eq!(code, 400);
    assert!(
        body["message"].as_str().unwrap().contains("topic"),
        "{body}"
    );
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "nope", "config": {"connector.class": "com.example.NoSuchConnector"}})),
    );
    assert_eq!(code, 500, "{body}");
    assert_eq!(body["error_code"], 500);
    let (code, _, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "x", "config": {"name": "y", "connector.class": "FileStreamSource"}})),
    );
    assert_eq!(code, 400, "config name differs from name");
    let (code, _, _) = w.send(
        "PUT",
        "/connectors/bad%0Aname/config",
        Some(json!({"connector.class": "FileStreamSource", "topic": "t"})),
    );
    assert_eq!(code, 400, "a control character in the name");
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "badconv", "config": {"connector.class": "FileStreamSource", "topic": "t", "value.converter": "com.example.NoSuchConverter"}})),
    );
    assert_eq!(code, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("value.converter"),
        "{body}"
    );
    let (code, body, _) = w.send("POST", "/connectors", Some(json!("not an object")));
    assert_eq!(code, 400);
    assert_eq!(body["error_code"], 400);

    // Delete: 204, then 404 everywhere.
    assert_eq!(w.send("DELETE", "/connectors/src", None).0, 204);
    for path in [
        "/connectors/src",
        "/connectors/src/status",
        "/connectors/src/config",
        "/connectors/src/tasks",
    ] {
        let (code, body) = w.get(path);
        assert_eq!(code, 404, "{path}");
        assert_eq!(body["error_code"], 404);
    }
    assert_eq!(w.send("DELETE", "/connectors/src", None).0, 404);
    assert_eq!(w.get("/connectors").1, json!([]));
}

#[test]
fn plugins_and_validation() {
    let dir = tempfile::tempdir().unwrap();
    let w = start_worker(dir.path());

    let (code, plugins) = w.get("/connector-plugins");
    assert_eq!(code, 200);
    assert_eq!(
        plugins,
        json!([
            {"class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "type": "sink", "version": env!("CARGO_PKG_VERSION")},
            {"class": "org.apache.kafka.connect.file.FileStreamSourceConnector", "type": "source", "version": env!("CARGO_PKG_VERSION")}
        ])
    );
    let (_, all) = w.get("/connector-plugins?connectorsOnly=false");
    let classes: Vec<&str> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["class"].as_str().unwrap())
        .collect();
    assert!(classes.contains(&"org.apache.kafka.connect.json.JsonConverter"));
    assert!(classes.contains(&"org.apache.kafka.connect.storage.SimpleHeaderConverter"));

    // Config definition by alias: plugin keys first, then framework keys.
    let (code, keys) = w.get("/connector-plugins/FileStreamSource/config");
    assert_eq!(code, 200);
    let names: Vec<&str> = keys
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["name"].as_str().unwrap())
        .collect();
    assert_eq!(&names[..3], &["file", "topic", "batch.size"]);
    assert!(names.contains(&"tasks.max"));
    let batch = &keys[2];
    assert_eq!(batch["type"], "INT");
    assert_eq!(batch["default_value"], "2000");
    assert_eq!(batch["required"], false);
    assert_eq!(w.get("/connector-plugins/NoSuchThing/config").0, 404);

    // Validate: errors counted and attached to the key.
    let (code, body, _) = w.send(
        "PUT",
        "/connector-plugins/FileStreamSinkConnector/config/validate",
        Some(json!({"connector.class": "org.apache.kafka.connect.file.FileStreamSinkConnector", "name": "v"})),
    );
    assert_eq!(code, 200, "{body}");
    assert_eq!(
        body["name"],
        "org.apache.kafka.connect.file.FileStreamSinkConnector"
    );
    assert_eq!(body["error_count"], 2, "topics and topics.regex: {body}");
    let topics = body["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "topics")
        .unwrap();
    assert_eq!(
        topics["value"]["errors"][0],
        "Must configure one of topics or topics.regex"
    );
    assert!(body["groups"]
        .as_array()
        .unwrap()
        .contains(&json!("Common")));
    let (code, _, _) = w.send(
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        Some(json!({"name": "v"})),
    );
    assert_eq!(code, 400, "connector.class missing");
    let (code, _, _) = w.send(
        "PUT",
        "/connector-plugins/FileStreamSink/config/validate",
        Some(json!({"connector.class": "FileStreamSource"})),
    );
    assert_eq!(code, 400, "class does not match the path");

    // Loggers.
    let (code, loggers) = w.get("/admin/loggers");
    assert_eq!(code, 200);
    assert!(loggers.get("root").is_some());
    let (code, affected, _) = w.send(
        "PUT",
        "/admin/loggers/tributary.runtime",
        Some(json!({"level": "DEBUG"})),
    );
    assert_eq!(code, 200);
    assert!(affected
        .as_array()
        .unwrap()
        .contains(&json!("tributary.runtime")));
    assert_eq!(
        w.get("/admin/loggers/tributary.runtime").1["level"],
        "DEBUG"
    );
    assert_eq!(w.send("PUT", "/admin/loggers/x", Some(json!({}))).0, 400);
}

#[test]
fn client_overrides_follow_the_workers_policy() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let props = Worker::props(
        dir.path(),
        free_port(),
        &plugins,
        &[("connector.client.config.override.policy", "Principal")],
    );
    let w = Worker::start(dir.path(), &props, &[]);
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\n").unwrap();
    let config = |extra: serde_json::Value| {
        let mut c = json!({"connector.class": "FileStreamSource",
                           "file": input.display().to_string(), "topic": unique("ovr")});
        for (k, v) in extra.as_object().unwrap() {
            c[k] = v.clone();
        }
        c
    };
    // Principal allows the principal's keys...
    let allowed = config(json!({"producer.override.security.protocol": "PLAINTEXT"}));
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "ok", "config": allowed})),
    );
    assert_eq!(code, 201, "{body}");
    // ...and nothing else: a 400 naming the key, and nothing is created.
    let refused = config(json!({"producer.override.linger.ms": "5"}));
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "refused", "config": refused.clone()})),
    );
    assert_eq!(code, 400, "{body}");
    let message = body["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("producer.override.linger.ms")
            && message.contains("The 'Principal' policy does not allow 'linger.ms'"),
        "{message}"
    );
    assert_eq!(w.get("/connectors/refused").0, 404);
    let (code, validation, _) = w.send(
        "PUT",
        "/connector-plugins/FileStreamSource/config/validate",
        Some(refused),
    );
    assert_eq!(code, 200);
    let entry = validation["configs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["value"]["name"] == "producer.override.linger.ms")
        .cloned()
        .unwrap_or_default();
    assert_eq!(
        entry["value"]["errors"].as_array().map(Vec::len),
        Some(1),
        "{validation}"
    );
    // An allowed key whose value no Kafka client can use is a 400 naming it too, and a
    // secret in it is never echoed.
    let bad = config(json!({
        "producer.override.sasl.jaas.config":
            "org.apache.kafka.common.security.plain.PlainLoginModule required password=\"hunter2\""
    }));
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "bad", "config": bad})),
    );
    assert_eq!(code, 400, "{body}");
    let message = body.to_string();
    assert!(
        message.contains("producer.override.sasl.jaas.config"),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[test]
fn bodies_that_are_not_declared_json_are_415_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let w = start_worker(dir.path());
    let body = json!({"name": "posted", "config": {"connector.class": "FileStreamSource",
                      "topic": unique("t")}})
    .to_string();
    let client = reqwest::blocking::Client::new();
    let post = |content_type: Option<&str>| {
        let mut req = client.post(w.url("/connectors")).body(body.clone());
        if let Some(ct) = content_type {
            req = req.header("Content-Type", ct);
        }
        let r = req.send().unwrap();
        (r.status().as_u16(), r.text().unwrap_or_default())
    };
    // What a web page can send without a CORS preflight, and no type at all.
    for ct in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        Some("multipart/form-data; boundary=x"),
        None,
    ] {
        let (code, reply) = post(ct);
        assert_eq!(code, 415, "{ct:?}: {reply}");
        assert!(reply.contains("\"error_code\":415"), "{reply}");
    }
    assert_eq!(w.get("/connectors").1, json!([]));
    let (code, reply) = post(Some("application/json; charset=utf-8"));
    assert_eq!(code, 201, "{reply}");
}

#[test]
fn secrets_in_client_overrides_never_reach_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let w = start_worker(dir.path());
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\n").unwrap();
    let jaas = "org.apache.kafka.common.security.plain.PlainLoginModule required \
                username=\"connect\" password=\"hunter2-jaas\";";
    let config = json!({
        "connector.class": "FileStreamSource",
        "file": input.display().to_string(),
        "topic": unique("secret"),
        "producer.override.sasl.jaas.config": jaas,
        "consumer.override.ssl.key.password": "hunter2-key",
    });
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "secretive", "config": config})),
    );
    assert_eq!(code, 201, "{body}");
    wait_for(
        "the connector's config in the log",
        Duration::from_secs(30),
        || {
            w.log_text()
                .contains("starting connector with config")
                .then_some(())
        },
    );
    let log = w.log_text();
    assert!(!log.contains("hunter2"), "a secret reached the log:\n{log}");
    assert!(
        log.contains("producer.override.sasl.jaas.config = [hidden]"),
        "{log}"
    );
}

#[test]
fn a_name_the_group_protocol_cannot_carry_is_a_400() {
    let dir = tempfile::tempdir().unwrap();
    let w = start_worker(dir.path());
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\n").unwrap();
    let config = json!({"connector.class": "FileStreamSource",
                        "file": input.display().to_string(), "topic": unique("long")});
    let name = "n".repeat(40_000);
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": name, "config": config.clone()})),
    );
    assert_eq!(code, 400, "{body}");
    assert!(
        body["message"]
            .as_str()
            .unwrap_or_default()
            .contains("40000 bytes"),
        "{body}"
    );
    assert_eq!(w.get("/connectors").1, json!([]));
    // The longest name that fits is fine.
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "n".repeat(32_767), "config": config})),
    );
    assert_eq!(code, 201, "{}", body.to_string().len());
}
