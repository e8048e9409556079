//! Plugins that fail: a missing class, a library built for another ABI, a task that panics,
//! a task that errors. Each is reported in status; the worker keeps serving. Also: a plugin
//! copied into plugin.path while the worker runs is picked up without a restart.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

#[test]
fn faulty_plugins_fail_their_tasks_and_the_worker_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(
        dir.path(),
        &[
            "tributary_connector_file",
            "tributary_test_plugin_faulty",
            "tributary_test_plugin_abi_mismatch",
        ],
    );
    let missing = dir.path().join("missing.properties");
    write_props(
        &missing,
        &[
            ("name", "ghost".into()),
            ("connector.class", "com.example.GhostConnector".into()),
        ],
    );
    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let w = Worker::start(dir.path(), &props, &[missing]);

    // The ABI mismatch is refused with a clear message and nothing of it is listed.
    let log = w.log_text();
    assert!(
        log.contains("ABI version 999"),
        "log explains the refusal:\n{log}"
    );
    let (_, listed) = w.get("/connector-plugins");
    assert_eq!(
        listed.as_array().unwrap().len(),
        7,
        "file source+sink, fixture panicking+sequence+watching sources, failing and errant sinks: {listed}"
    );

    // A connector whose class is missing is FAILED with the reason, and names the refused plugin.
    let (code, status) = w.get("/connectors/ghost/status");
    assert_eq!(code, 200);
    assert_eq!(status["connector"]["state"], "FAILED");
    assert_eq!(status["type"], "unknown");
    let trace = status["connector"]["trace"].as_str().unwrap();
    assert!(trace.contains("GhostConnector"), "{trace}");
    assert!(
        trace.contains("ABI version 999"),
        "the refused plugin is named: {trace}"
    );

    // A panicking task: FAILED with the panic message and location in the trace.
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "panicky", "config": {"connector.class": "PanickingSource"}})),
    );
    assert_eq!(code, 201, "{body}");
    let failed = w.wait_task_state("panicky", 0, "FAILED");
    let trace = failed["trace"].as_str().unwrap();
    assert!(
        trace.contains("panicked") && trace.contains("index out of bounds"),
        "{trace}"
    );
    assert!(
        trace.contains("lib.rs"),
        "the location is in the trace: {trace}"
    );

    // An erroring sink task: FAILED with its message, once a record reaches it.
    let topic = unique("faulty");
    // Created first: a sink that subscribes before its topic exists only finds it at the next
    // metadata refresh (5 minutes), and the source would create it only with its first record.
    create_topic(&topic);
    let src_file = dir.path().join("in.txt");
    std::fs::write(&src_file, "one\n").unwrap();
    let (code, _, _) = w.send("POST", "/connectors", Some(json!({"name": "feed", "config": {"connector.class": "FileStreamSource", "file": src_file.display().to_string(), "topic": topic}})));
    assert_eq!(code, 201);
    let (code, _, _) = w.send("POST", "/connectors", Some(json!({"name": "failing", "config": {"connector.class": "FailingSink", "topics": topic}})));
    assert_eq!(code, 201);
    let failed = wait_for("failing sink task FAILED", Duration::from_secs(90), || {
        w.task_state("failing", 0)
            .filter(|(s, _)| s == "FAILED")
            .map(|(_, b)| b)
    });
    assert!(
        failed["trace"]
            .as_str()
            .unwrap()
            .contains("refusing a batch"),
        "{failed}"
    );

    // The worker still serves, and other connectors still run.
    assert_eq!(w.get("/").0, 200);
    assert_eq!(
        w.get("/connectors/feed/status").1["tasks"][0]["state"],
        "RUNNING"
    );
    // A failed task restarts on request (and fails again: the plugin always panics).
    assert_eq!(
        w.send("POST", "/connectors/panicky/tasks/0/restart", None)
            .0,
        204
    );
    w.wait_task_state("panicky", 0, "FAILED");
}

#[test]
fn a_plugin_copied_into_plugin_path_loads_without_restart() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &[]);
    let props = Worker::props(dir.path(), free_port(), &plugins, &[]);
    let w = Worker::start(dir.path(), &props, &[]);
    assert_eq!(w.get("/connector-plugins").1, json!([]));

    // Copy under a temporary name and rename, as a deployment would.
    let tmp = plugins.join(".incoming.tmp");
    std::fs::copy(library("tributary_connector_file"), &tmp).unwrap();
    std::fs::rename(&tmp, plugins.join("libtributary_connector_file.so")).unwrap();

    wait_for(
        "the new plugin to be listed",
        Duration::from_secs(20),
        || {
            let (_, listed) = w.get("/connector-plugins");
            (listed.as_array()?.len() == 2).then_some(())
        },
    );
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "late", "config": {"connector.class": "FileStreamSink", "topics": unique("late"), "file": dir.path().join("o.txt").display().to_string()}})),
    );
    assert_eq!(code, 201, "{body}");
    w.wait_task_state("late", 0, "RUNNING");
}
