//! KIP-558 topic tracking end to end: `GET /connectors/<name>/topics` and
//! `PUT /connectors/<name>/topics/reset` on real workers, and (distributed mode) the
//! `status-topic-<topic>:connector-<name>` records in the status topic, in Java's format.

mod support;

use std::io::Write;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{json, Value};
use support::cluster::{wait_running, ClusterSpec};
use support::*;

const PATIENCE: Duration = Duration::from_secs(60);

fn topics_of(w: &Worker, name: &str) -> (u16, Value) {
    w.get(&format!("/connectors/{name}/topics"))
}

/// Waits until `w` lists exactly `want` for `name`.
fn wait_topics(w: &Worker, name: &str, want: &[&str]) {
    let expected = json!({ name: { "topics": want } });
    wait_for(
        &format!("{name}'s topics to be {want:?} on {}", w.port),
        PATIENCE,
        || {
            let (code, body) = topics_of(w, name);
            assert_eq!(code, 200, "{body}");
            (body == expected).then_some(())
        },
    );
}

fn reset(w: &Worker, name: &str) -> (u16, Value) {
    let (code, body, _) = w.send("PUT", &format!("/connectors/{name}/topics/reset"), None);
    (code, body)
}

/// Waits until the connector's committed source offset is `position` (every record before
/// it acknowledged, so no acknowledgement can record a topic after this).
fn wait_committed(w: &Worker, name: &str, position: u64) {
    wait_for(
        &format!("{name}'s offset {position} committed"),
        PATIENCE,
        || {
            let (_, o) = w.get(&format!("/connectors/{name}/offsets"));
            (o["offsets"][0]["offset"]["position"] == json!(position)).then_some(())
        },
    );
}

fn append(path: &std::path::Path, text: &str) {
    std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[test]
fn standalone_tracks_a_source_topic_and_resets_it() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let w = Worker::start(
        dir.path(),
        &Worker::props(dir.path(), free_port(), &plugins, &[]),
        &[],
    );
    let topic = unique("tracked");
    create_topic(&topic);
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\nb\nc\n").unwrap();

    // Nothing known yet, for a configured connector or any other name: 200, not 404.
    wait_topics(&w, "src", &[]);
    let (code, body) = reset(&w, "nobody");
    assert_eq!((code, body), (202, Value::Null), "202 with an empty body");

    let config = json!({"connector.class": "FileStreamSource", "file": input.display().to_string(), "topic": topic});
    let (code, body, _) = w.send(
        "POST",
        "/connectors",
        Some(json!({"name": "src", "config": config})),
    );
    assert_eq!(code, 201, "{body}");
    wait_topics(&w, "src", &[&topic]);
    assert_eq!(read_topic(&topic, 3, PATIENCE), ["a", "b", "c"]);

    // Reset: nothing is known until the task writes again, then the topic is back.
    wait_committed(&w, "src", 6);
    let (code, body) = reset(&w, "src");
    assert_eq!((code, body), (202, Value::Null));
    assert_eq!(topics_of(&w, "src").1, json!({"src": {"topics": []}}));
    append(&input, "d\n");
    wait_topics(&w, "src", &[&topic]);

    // A deleted connector's topics are forgotten.
    wait_committed(&w, "src", 8);
    assert_eq!(w.send("DELETE", "/connectors/src", None).0, 204);
    wait_topics(&w, "src", &[]);
}

#[test]
fn disabled_tracking_and_reset_are_403() {
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["tributary_connector_file"]);
    let topic = unique("untracked");
    create_topic(&topic);
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "a\n").unwrap();
    let connector = dir.path().join("src.properties");
    write_props(
        &connector,
        &[
            ("name", "src".into()),
            ("connector.class", "FileStreamSource".into()),
            ("file", input.display().to_string()),
            ("topic", topic.clone()),
        ],
    );

    let off_dir = dir.path().join("off");
    std::fs::create_dir_all(&off_dir).unwrap();
    let off = Worker::start(
        &off_dir,
        &Worker::props(
            &off_dir,
            free_port(),
            &plugins,
            &[("topic.tracking.enable", "false")],
        ),
        &[connector],
    );
    assert_eq!(read_topic(&topic, 1, PATIENCE), ["a"]);
    let disabled = json!({"error_code": 403, "message": "Topic tracking is disabled."});
    assert_eq!(topics_of(&off, "src"), (403, disabled.clone()));
    assert_eq!(reset(&off, "src"), (403, disabled));

    let no_reset_dir = dir.path().join("no-reset");
    std::fs::create_dir_all(&no_reset_dir).unwrap();
    let no_reset = Worker::start(
        &no_reset_dir,
        &Worker::props(
            &no_reset_dir,
            free_port(),
            &plugins,
            &[("topic.tracking.allow.reset", "FALSE")],
        ),
        &[],
    );
    assert_eq!(
        reset(&no_reset, "src"),
        (
            403,
            json!({"error_code": 403, "message": "Topic tracking reset is disabled."})
        )
    );
    assert_eq!(topics_of(&no_reset, "src").0, 200);
}

/// The status-topic records of `key`, in order (`Some(value)`, or `None` for a tombstone), once
/// `done` holds for them; fails if it does not within [`PATIENCE`].
fn status_records(
    status_topic: &str,
    key: &str,
    done: impl Fn(&[Option<String>]) -> bool,
) -> Vec<Option<String>> {
    let of_key = |records: &[Consumed]| -> Vec<Option<String>> {
        records
            .iter()
            .filter(|r| r.key.as_deref() == Some(key.as_bytes()))
            .map(|r| {
                r.value
                    .as_deref()
                    .map(|v| String::from_utf8_lossy(v).into_owned())
            })
            .collect()
    };
    let records = consume_until(status_topic, PATIENCE, |records| done(&of_key(records)));
    let seen = of_key(&records);
    assert!(done(&seen), "records of {key} in {status_topic}: {seen:?}");
    seen
}

#[test]
fn distributed_workers_share_topics_through_the_status_topic() {
    let root = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(root.path(), &["tributary_connector_file"]);
    let spec = ClusterSpec::new(root.path(), &plugins);
    let workers = spec.start(2);
    let ids: Vec<String> = workers.iter().map(|w| w.id()).collect();
    let topic = unique("shared");
    create_topic(&topic);
    let input = root.path().join("in.txt");
    std::fs::write(&input, "one\ntwo\n").unwrap();
    let started = now_ms();

    workers[0].create(
        "lines",
        json!({
            "connector.class": "FileStreamSource",
            "tasks.max": "1",
            "file": input.display().to_string(),
            "topic": topic,
        }),
    );
    wait_running(&workers[0], "lines", 1, &ids, PATIENCE);
    // Whichever worker runs the task, both know the topic: one recorded it, the other read
    // it back from the status topic.
    for w in &workers {
        wait_topics(w, "lines", &[&topic]);
    }

    // The record is in Java's format (written once, unless the task moved between workers
    // before the second one had read the first record back).
    let status_topic = format!("{}-status", spec.group);
    let key = format!("status-topic-{topic}:connector-lines");
    let seen = status_records(&status_topic, &key, |v| !v.is_empty());
    for value in &seen {
        let value = value.as_deref().expect("a value, not a tombstone");
        let parsed: Value = serde_json::from_str(value).unwrap();
        let discovered = parsed["topic"]["discoverTimestamp"]
            .as_i64()
            .expect("discoverTimestamp is a number");
        assert!(
            (started..=now_ms()).contains(&discovered),
            "{discovered} not between {started} and now"
        );
        assert_eq!(
            value,
            format!(
                r#"{{"topic":{{"name":"{topic}","connector":"lines","task":0,"discoverTimestamp":{discovered}}}}}"#
            )
        );
    }

    // A reset through either worker tombstones the record; both workers forget the topic.
    wait_committed(&workers[0], "lines", 8);
    assert_eq!(reset(&workers[1], "lines"), (202, Value::Null));
    for w in &workers {
        wait_topics(w, "lines", &[]);
    }
    status_records(&status_topic, &key, |v| v.last() == Some(&None));

    // Recorded again when the task writes again; deleting the connector tombstones it.
    append(&input, "three\n");
    for w in &workers {
        wait_topics(w, "lines", &[&topic]);
    }
    wait_committed(&workers[0], "lines", 14);
    assert_eq!(workers[1].send("DELETE", "/connectors/lines", None).0, 204);
    for w in &workers {
        wait_topics(w, "lines", &[]);
    }
    let recorded_again_then_deleted = |v: &[Option<String>]| {
        let reset_at = v.iter().position(Option::is_none);
        reset_at.is_some_and(|r| v[r..].iter().any(Option::is_some)) && v.last() == Some(&None)
    };
    status_records(&status_topic, &key, recorded_again_then_deleted);
}
