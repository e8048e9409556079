//! A connector's context end to end (Java's `ConnectorContext`): a source whose task count
//! follows a file it watches asks for task reconfiguration from its own thread, and the tasks
//! follow the file, in standalone mode and in a two-worker cluster (on the leader and on a
//! follower, which forwards the new task configs to the leader); `raise_error` fails the
//! connector. Everything is observed through the REST API, the fixture's calls file and the
//! worker's log; every wait polls.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use support::cluster::ClusterSpec;
use support::*;

const CLASS: &str = "io.tributary.test.WatchingSourceConnector";
/// How long a cluster may take to settle after a change: a bound for waiting, not a figure.
const SETTLE: Duration = Duration::from_secs(120);
/// How long one worker may take to act on a change.
const ACT: Duration = Duration::from_secs(30);

fn plugins(root: &Path) -> PathBuf {
    plugin_dir(root, &["tributary_test_plugin_faulty"])
}

/// Replaces the file's content at once (write and rename), so the watcher never reads half.
fn write_atomically(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// The files one watching connector uses.
struct Files {
    count: PathBuf,
    calls: PathBuf,
    error: PathBuf,
}

impl Files {
    fn new(dir: &Path, name: &str, count: usize) -> Files {
        let files = Files {
            count: dir.join(format!("{name}.count")),
            calls: dir.join(format!("{name}.calls")),
            error: dir.join(format!("{name}.error")),
        };
        files.set_count(count);
        files
    }

    fn set_count(&self, n: usize) {
        write_atomically(&self.count, &n.to_string());
    }

    fn config(&self, extra: &[(&str, &str)]) -> Value {
        let mut config = json!({
            "connector.class": CLASS,
            "tasks.max": "5",
            "count.file": self.count.display().to_string(),
            "calls.file": self.calls.display().to_string(),
            "error.file": self.error.display().to_string(),
            // A burst of five requests over 80 ms: one regeneration.
            "requests.per.change": "5",
            "requests.spacing.ms": "20",
            "watch.interval.ms": "50",
        });
        for (k, v) in extra {
            config[*k] = json!(v);
        }
        config
    }

    /// The fixture's notes so far.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(&self.calls)
            .unwrap_or_default()
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// How many times the connector generated task configs.
    fn generated(&self) -> usize {
        self.calls()
            .iter()
            .filter(|l| l.starts_with("generated"))
            .count()
    }

    fn wait_note(&self, line: &str) {
        wait_for(&format!("the note {line:?}"), ACT, || {
            self.calls().iter().any(|l| l == line).then_some(())
        });
    }
}

/// `(task configs, status)` of a connector as `worker` answers them, if both answer 200.
fn tasks_and_status(worker: &Worker, name: &str) -> Option<(Vec<Value>, Value)> {
    let (code, tasks) = worker.get(&format!("/connectors/{name}/tasks"));
    let (status_code, status) = worker.get(&format!("/connectors/{name}/status"));
    (code == 200 && status_code == 200)
        .then(|| (tasks.as_array().cloned().unwrap_or_default(), status))
}

/// Whether the connector runs `n` tasks made for a count of `n`, all RUNNING.
fn follows(worker: &Worker, name: &str, n: usize) -> Option<Value> {
    let (tasks, status) = tasks_and_status(worker, name)?;
    let configs_follow = tasks.len() == n
        && tasks.iter().enumerate().all(|(i, t)| {
            t["id"]["task"] == json!(i) && t["config"]["task.count"] == json!(n.to_string())
        });
    let states = status["tasks"].as_array().cloned().unwrap_or_default();
    let running = states.len() == n && states.iter().all(|t| t["state"] == "RUNNING");
    (configs_follow && running && status["connector"]["state"] == "RUNNING").then_some(status)
}

/// Polls `f` every 50 ms until it returns `Some`, or returns `None` after `timeout`.
fn poll_until<T>(timeout: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + timeout;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if std::time::Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn wait_follows(worker: &Worker, name: &str, n: usize, timeout: Duration) -> Value {
    let mut last = None;
    let found = poll_until(timeout, || {
        let r = follows(worker, name, n);
        if r.is_none() {
            last = tasks_and_status(worker, name);
        }
        r
    });
    found.unwrap_or_else(|| {
        panic!(
            "{name} does not run {n} tasks for a count of {n} on {}; last seen: {last:#?}\nlog:\n{}",
            worker.id(),
            worker.log_text()
        )
    })
}

fn connector_state(worker: &Worker, name: &str) -> Option<(String, String)> {
    let status = worker.status(name)?;
    Some((
        status["connector"]["state"].as_str()?.to_owned(),
        status["connector"]["trace"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    ))
}

/// How many lines of the worker's log contain `text`.
fn log_lines(worker: &Worker, text: &str) -> usize {
    worker
        .log_text()
        .lines()
        .filter(|l| l.contains(text))
        .count()
}

fn standalone(root: &Path) -> Worker {
    let port = free_port();
    Worker::start(root, &Worker::props(root, port, &plugins(root), &[]), &[])
}

fn create(worker: &Worker, name: &str, config: Value) {
    let (code, body, _) = worker.send(
        "POST",
        "/connectors",
        Some(json!({"name": name, "config": config})),
    );
    assert_eq!(code, 201, "create {name}: {body}");
}

#[test]
fn standalone_tasks_follow_the_watched_file() {
    let root = tempfile::tempdir().unwrap();
    let worker = standalone(root.path());
    let files = Files::new(root.path(), "watched", 2);
    create(&worker, "watched", files.config(&[("linger.ms", "1500")]));
    wait_follows(&worker, "watched", 2, ACT);
    assert_eq!(files.generated(), 1, "{:?}", files.calls());

    // Each change is a burst of five requests: one regeneration each. (The herder handles
    // requests in order, so a count checked after the next change has followed includes every
    // regeneration the previous burst caused.)
    files.set_count(3);
    wait_follows(&worker, "watched", 3, ACT);
    assert_eq!(files.generated(), 2, "{:?}", files.calls());
    files.set_count(1);
    wait_follows(&worker, "watched", 1, ACT);
    assert_eq!(files.generated(), 3, "{:?}", files.calls());

    // Paused: the request is dropped (the herder says so in its log)...
    let (code, _, _) = worker.send("PUT", "/connectors/watched/pause", None);
    assert_eq!(code, 202);
    wait_for("connector PAUSED", ACT, || {
        (connector_state(&worker, "watched")?.0 == "PAUSED").then_some(())
    });
    let skipped = "skipping task reconfiguration of a connector that is not running";
    assert_eq!(log_lines(&worker, skipped), 0);
    files.set_count(2);
    files.wait_note("requested 2");
    wait_for("the paused connector's request dropped", ACT, || {
        (log_lines(&worker, skipped) == 1).then_some(())
    });
    assert_eq!(files.generated(), 3, "{:?}", files.calls());
    let (_, tasks) = worker.get("/connectors/watched/tasks");
    assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{tasks}");
    // ... and resuming asks for task configs once more, which picks the change up.
    let (code, _, _) = worker.send("PUT", "/connectors/watched/resume", None);
    assert_eq!(code, 202);
    wait_follows(&worker, "watched", 2, ACT);
    assert_eq!(files.generated(), 4, "{:?}", files.calls());

    // Deleted: its watcher outlives stop and keeps calling the context; the worker ignores
    // it, and a connector created again under the same name is not touched by the old one.
    let (code, _, _) = worker.send("DELETE", "/connectors/watched", None);
    assert_eq!(code, 204);
    files.wait_note("stopped");
    wait_for("calls from the stopped instance ignored", ACT, || {
        (log_lines(
            &worker,
            "error raised by a stopped connector instance; ignored",
        ) > 0)
            .then_some(())
    });
    let again = Files::new(root.path(), "again", 2);
    create(
        &worker,
        "watched",
        json!({
            "connector.class": CLASS,
            "tasks.max": "5",
            "count.file": again.count.display().to_string(),
            "calls.file": again.calls.display().to_string(),
        }),
    );
    wait_follows(&worker, "watched", 2, ACT);
    files.wait_note("linger done");
    again.set_count(4);
    wait_follows(&worker, "watched", 4, ACT);
    assert_eq!(
        connector_state(&worker, "watched").map(|s| s.0).as_deref(),
        Some("RUNNING")
    );
    assert!(
        worker
            .log_text()
            .contains("task configs changed; restarting the tasks"),
        "{}",
        worker.log_text()
    );
}

#[test]
fn standalone_raise_error_fails_the_connector_until_restarted() {
    let root = tempfile::tempdir().unwrap();
    let worker = standalone(root.path());
    let files = Files::new(root.path(), "raising", 2);
    create(&worker, "raising", files.config(&[]));
    wait_follows(&worker, "raising", 2, ACT);

    let message = "the watched source is gone";
    write_atomically(&files.error, message);
    let (state, trace) = wait_for("connector FAILED", ACT, || {
        connector_state(&worker, "raising").filter(|(s, _)| s == "FAILED")
    });
    assert_eq!(state, "FAILED");
    assert_eq!(
        trace,
        format!("org.apache.kafka.connect.errors.ConnectException: {message}")
    );
    // The failed instance was stopped; its tasks keep running, as in Java.
    files.wait_note("stopped");
    let status = worker.status("raising").unwrap();
    let tasks = status["tasks"].as_array().cloned().unwrap_or_default();
    assert_eq!(tasks.len(), 2, "{status:#}");
    assert!(tasks.iter().all(|t| t["state"] == "RUNNING"), "{status:#}");
    assert!(worker.log_text().contains("connector raised an error"));

    // A restart starts a new instance, whose context works.
    std::fs::remove_file(&files.error).unwrap();
    let (code, body, _) = worker.send("POST", "/connectors/raising/restart", None);
    assert!(code == 204 || code == 202, "restart: {code} {body}");
    wait_follows(&worker, "raising", 2, ACT);
    files.set_count(3);
    wait_follows(&worker, "raising", 3, ACT);
}

/// The worker that led the group last, from its log.
fn leader_index(workers: &[Worker]) -> Option<usize> {
    workers.iter().position(|w| {
        w.log_text()
            .lines()
            .rfind(|l| l.contains("rebalance complete"))
            .is_some_and(|l| l.contains("leader=true"))
    })
}

/// The worker id running the connector instance, as `asker` sees it.
fn connector_owner(asker: &Worker, name: &str) -> Option<String> {
    let status = asker.status(name)?;
    (status["connector"]["state"] == "RUNNING")
        .then(|| status["connector"]["worker_id"].as_str().map(str::to_owned))?
}

#[test]
fn distributed_tasks_follow_the_watched_file_on_leader_and_follower() {
    let root = tempfile::tempdir().unwrap();
    let spec = ClusterSpec::new(root.path(), &plugins(root.path()));
    let workers = spec.start(2);
    let a = Files::new(root.path(), "a", 1);
    let b = Files::new(root.path(), "b", 2);
    workers[0].create("a", a.config(&[]));
    workers[1].create("b", b.config(&[]));
    wait_follows(&workers[0], "a", 1, SETTLE);
    wait_follows(&workers[0], "b", 2, SETTLE);

    // The leader balances connectors: one on each worker, so one runs on a follower.
    let owners = wait_for("one connector on each worker", SETTLE, || {
        let owners = (
            connector_owner(&workers[0], "a")?,
            connector_owner(&workers[0], "b")?,
        );
        (owners.0 != owners.1).then_some(owners)
    });
    let leader = wait_for("a leader", SETTLE, || leader_index(&workers));
    let leader_id = workers[leader].id();
    let follower = 1 - leader;
    let (on_follower, on_follower_files, other, other_files) = if owners.0 == leader_id {
        ("b", &b, "a", &a)
    } else {
        ("a", &a, "b", &b)
    };

    // Each watched file changes: the tasks follow, both workers agree.
    on_follower_files.set_count(4);
    other_files.set_count(3);
    for w in &workers {
        wait_follows(w, on_follower, 4, SETTLE);
        wait_follows(w, other, 3, SETTLE);
    }
    // The follower generated its connector's configs and handed them to the leader.
    let published = |w: &Worker, name: &str| {
        w.log_text()
            .lines()
            .filter(|l| l.contains("task configs changed; publishing them"))
            .filter(|l| {
                l.contains(&format!("connector=\"{name}\""))
                    || l.contains(&format!("connector={name}"))
            })
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    let from_follower = published(&workers[follower], on_follower);
    assert!(
        from_follower.iter().any(|l| l.contains("leader=false")),
        "follower log: {from_follower:?}\n{}",
        workers[follower].log_text()
    );
    let from_leader = published(&workers[leader], other);
    assert!(
        from_leader.iter().any(|l| l.contains("leader=true")),
        "leader log: {from_leader:?}"
    );

    // Down again, and once more for good measure.
    on_follower_files.set_count(1);
    wait_follows(&workers[leader], on_follower, 1, SETTLE);
    wait_follows(&workers[follower], on_follower, 1, SETTLE);

    // The follower's connector raises an error: FAILED as every worker sees it.
    write_atomically(&on_follower_files.error, "lost the source");
    for w in &workers {
        wait_for("connector FAILED everywhere", SETTLE, || {
            connector_state(w, on_follower).filter(|(s, t)| {
                s == "FAILED"
                    && t == "org.apache.kafka.connect.errors.ConnectException: lost the source"
            })
        });
    }
    // The other connector is untouched.
    assert_eq!(
        connector_state(&workers[leader], other)
            .map(|s| s.0)
            .as_deref(),
        Some("RUNNING")
    );
}
