//! Distributed mode end to end: several `tributary distributed` processes on 127.0.0.1 in one
//! group, against the real broker. Each test uses its own group and internal topics.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::time::{Duration, Instant};

use serde_json::json;
use support::cluster::{balanced, owners, task_load, wait_running, ClusterSpec};
use support::*;

/// How long a cluster may take to settle after a change: a bound for waiting, not a figure
/// (each Tansu rebalance takes ~2 s; `scripts/bench-failover.sh` measures the real times). Two
/// of these tests run at once, each with three workers, on two cores shared with the broker.
const SETTLE: Duration = Duration::from_secs(120);

fn plugins(root: &std::path::Path) -> std::path::PathBuf {
    plugin_dir(
        root,
        &["tributary_connector_file", "tributary_test_plugin_faulty"],
    )
}

fn sequence(topic: &str, tasks: u32) -> serde_json::Value {
    json!({
        "connector.class": "io.tributary.test.SequenceSourceConnector",
        "tasks.max": tasks.to_string(),
        "topic": topic,
        "interval.ms": "20",
    })
}

/// `"<task>:<n>"` values grouped by task.
fn by_task(values: &[String]) -> BTreeMap<String, Vec<i64>> {
    let mut out: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for v in values {
        if let Some((task, n)) = v.split_once(':') {
            out.entry(task.to_owned())
                .or_default()
                .push(n.parse().unwrap_or(-1));
        }
    }
    out
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

#[test]
fn cluster_spreads_work_survives_a_kill_and_takes_the_worker_back() {
    let root = tempfile::tempdir().unwrap();
    let spec = ClusterSpec::new(root.path(), &plugins(root.path()));
    let mut workers = spec.start(3);
    let ids: Vec<String> = workers.iter().map(|w| w.id()).collect();

    let seq_topic = unique("seq");
    let lines_topic = unique("lines");
    create_topic(&seq_topic);
    create_topic(&lines_topic);
    let input = root.path().join("in.txt");
    let first: Vec<String> = (0..300).map(|i| format!("line {i:04}")).collect();
    std::fs::write(&input, file_text(&first)).unwrap();

    // Created through different workers; followers forward to the leader.
    workers[1].create("seq", sequence(&seq_topic, 6));
    workers[2].create(
        "lines",
        json!({
            "connector.class": "FileStreamSource",
            "tasks.max": "1",
            "file": input.display().to_string(),
            "topic": lines_topic,
        }),
    );

    // Every task runs, spread within one of even.
    let settled = wait_for("tasks spread evenly", SETTLE, || {
        let mut all = wait_running(&workers[0], "seq", 6, &ids, SETTLE);
        for (k, v) in wait_running(&workers[0], "lines", 1, &ids, SETTLE) {
            all.insert(format!("lines-{k}"), v);
        }
        balanced(&task_load(&all, &ids)).then_some(all)
    });
    let load = task_load(&settled, &ids);
    assert!(
        load.values().all(|&n| n >= 2),
        "7 tasks on 3 workers: {load:?}"
    );

    // Each task ran exactly once at a time: no task wrote a number twice.
    let values = read_topic(&seq_topic, 300, Duration::from_secs(30));
    for (task, numbers) in by_task(&values) {
        let distinct: BTreeSet<i64> = numbers.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            numbers.len(),
            "task {task} repeated numbers"
        );
    }

    // Kill -9 the worker running the file source task, mid-stream.
    let victim_id = settled["lines-task-0"].clone();
    let victim = workers.iter().position(|w| w.id() == victim_id).unwrap();
    let port = workers[victim].port;
    let dead = workers.remove(victim);
    let killed = Instant::now();
    dead.kill9();
    let more: Vec<String> = (300..600).map(|i| format!("line {i:04}")).collect();
    std::fs::OpenOptions::new()
        .append(true)
        .open(&input)
        .unwrap()
        .write_all(file_text(&more).as_bytes())
        .unwrap();

    let survivors: Vec<String> = workers.iter().map(|w| w.id()).collect();
    wait_running(&workers[0], "seq", 6, &survivors, Duration::from_secs(10));
    wait_running(&workers[0], "lines", 1, &survivors, Duration::from_secs(10));
    let failover = killed.elapsed();
    assert!(
        failover < Duration::from_secs(10),
        "tasks RUNNING elsewhere {failover:?} after the kill"
    );

    // No line lost (a line may arrive twice: at-least-once).
    let want: BTreeSet<String> = first.iter().chain(&more).cloned().collect();
    let got = read_topic_until(&lines_topic, Duration::from_secs(60), |v| {
        want.iter().all(|l| v.contains(l))
    });
    let got: BTreeSet<String> = got.into_iter().collect();
    let missing: Vec<&String> = want.difference(&got).collect();
    assert!(missing.is_empty(), "lost lines: {missing:?}");

    // The worker comes back and gets work again.
    let back = spec.start_on(port);
    let back_id = back.id();
    workers.push(back);
    let ids: Vec<String> = workers.iter().map(|w| w.id()).collect();
    wait_for("returning worker runs tasks again", SETTLE, || {
        let mut all = owners(&workers[0].status("seq")?);
        for (k, v) in owners(&workers[0].status("lines")?) {
            all.insert(format!("lines-{k}"), v);
        }
        (all.len() == 9 && task_load(&all, &ids)[&back_id] > 0).then_some(())
    });
}

#[test]
fn lifecycle_reaches_every_worker_and_a_new_leader_takes_over() {
    let root = tempfile::tempdir().unwrap();
    let spec = ClusterSpec::new(root.path(), &plugins(root.path()));
    let mut workers = spec.start(3);
    let ids: Vec<String> = workers.iter().map(|w| w.id()).collect();
    let topic = unique("life");
    create_topic(&topic);

    workers[0].create("life", sequence(&topic, 2));
    for w in &workers {
        wait_running(w, "life", 2, &ids, SETTLE);
    }

    let every = |what: &str, check: &dyn Fn(&Worker) -> bool| {
        for w in &workers {
            wait_for(&format!("{what} on {}", w.id()), SETTLE, || {
                check(w).then_some(())
            });
        }
    };
    let states = |w: &Worker| -> Option<(String, Vec<String>)> {
        let s = w.status("life")?;
        let tasks = s["tasks"]
            .as_array()?
            .iter()
            .map(|t| t["state"].as_str().unwrap_or("").to_owned())
            .collect();
        Some((s["connector"]["state"].as_str()?.to_owned(), tasks))
    };

    // Pause through one worker, resume through another: every worker sees it.
    assert_eq!(
        workers[1].send("PUT", "/connectors/life/pause", None).0,
        202
    );
    every("PAUSED", &|w| {
        states(w) == Some(("PAUSED".into(), vec!["PAUSED".into(), "PAUSED".into()]))
    });
    assert_eq!(
        workers[2].send("PUT", "/connectors/life/resume", None).0,
        202
    );
    every("RUNNING", &|w| {
        states(w) == Some(("RUNNING".into(), vec!["RUNNING".into(), "RUNNING".into()]))
    });

    // A config update (4 tasks) made through a follower reaches every worker.
    let mut config = sequence(&topic, 4);
    config["name"] = json!("life");
    let (code, _, _) = workers[2].send("PUT", "/connectors/life/config", Some(config));
    assert!(code == 200 || code == 409, "PUT config: {code}");
    if code == 409 {
        // A rebalance was running: the client retries, as with Kafka Connect.
        wait_for("config update", SETTLE, || {
            let mut config = sequence(&topic, 4);
            config["name"] = json!("life");
            (workers[2]
                .send("PUT", "/connectors/life/config", Some(config))
                .0
                == 200)
                .then_some(())
        });
    }
    for w in &workers {
        wait_running(w, "life", 4, &ids, SETTLE);
    }

    // Stop: STOPPED with no tasks everywhere; then resume.
    let (code, _, _) = workers[1].send("PUT", "/connectors/life/stop", None);
    assert_eq!(code, 204);
    every("STOPPED", &|w| {
        states(w) == Some(("STOPPED".into(), vec![]))
    });
    every("no tasks", &|w| {
        w.get("/connectors/life/tasks").1 == json!([])
    });
    assert_eq!(
        workers[0].send("PUT", "/connectors/life/resume", None).0,
        202
    );
    for w in &workers {
        wait_running(w, "life", 4, &ids, SETTLE);
    }

    // Delete through a follower: gone everywhere.
    assert_eq!(workers[2].send("DELETE", "/connectors/life", None).0, 204);
    every("deleted", &|w| {
        w.get("/connectors/life").0 == 404 && w.get("/connectors/life/status").0 == 404
    });

    // Kill -9 the leader: a survivor becomes leader and serves writes.
    let leader = leader_index(&workers).expect("a leader in the logs");
    workers.remove(leader).kill9();
    let survivors: Vec<String> = workers.iter().map(|w| w.id()).collect();
    workers[0].create("after", sequence(&topic, 2));
    wait_running(&workers[1], "after", 2, &survivors, SETTLE);
    assert!(leader_index(&workers).is_some(), "no new leader");
}

#[test]
fn a_joining_worker_takes_a_fair_share_and_a_rolling_restart_moves_little() {
    let root = tempfile::tempdir().unwrap();
    let spec = ClusterSpec::new(root.path(), &plugins(root.path()));
    let mut workers = spec.start(3);
    let ids: Vec<String> = workers.iter().map(|w| w.id()).collect();
    let topic = unique("share");
    create_topic(&topic);
    workers[0].create("share", sequence(&topic, 12));
    let before = wait_for("12 tasks balanced on 3 workers", SETTLE, || {
        let o = wait_running(&workers[0], "share", 12, &ids, SETTLE);
        balanced(&task_load(&o, &ids)).then_some(o)
    });

    // A fourth worker joins: it gets about a quarter, and only that moves.
    workers.push(spec.start_on(free_port()));
    let ids: Vec<String> = workers.iter().map(|w| w.id()).collect();
    let newcomer = ids[3].clone();
    let after = wait_for("12 tasks balanced on 4 workers", SETTLE, || {
        let o = wait_running(&workers[0], "share", 12, &ids, SETTLE);
        balanced(&task_load(&o, &ids)).then_some(o)
    });
    let moved: Vec<&String> = before
        .keys()
        .filter(|k| k.starts_with("task-") && before[*k] != after[*k])
        .collect();
    assert!(moved.len() <= 3, "moved {moved:?}");
    assert!(
        moved.iter().all(|k| after[*k] == newcomer),
        "tasks moved between old workers: {moved:?}"
    );

    // Rolling restart of one worker (graceful leave, return): the others keep their tasks
    // while it is away; on return only a fair share moves back to it.
    let leaving = workers.remove(0);
    let (port, leaving_id) = (leaving.port, leaving.id());
    leaving.terminate();
    let rest: Vec<String> = workers.iter().map(|w| w.id()).collect();
    let away = wait_running(&workers[0], "share", 12, &rest, SETTLE);
    let kept = after
        .iter()
        .filter(|(k, w)| k.starts_with("task-") && **w != leaving_id)
        .filter(|(k, w)| away[*k] == **w)
        .count();
    let others = after
        .iter()
        .filter(|(k, w)| k.starts_with("task-") && **w != leaving_id)
        .count();
    assert_eq!(kept, others, "tasks of the workers that stayed moved");
    workers.push(spec.start_on(port));
    let ids: Vec<String> = workers.iter().map(|w| w.id()).collect();
    let back = wait_for("balanced after the restart", SETTLE, || {
        let o = wait_running(&workers[0], "share", 12, &ids, SETTLE);
        balanced(&task_load(&o, &ids)).then_some(o)
    });
    let moved_back = away
        .keys()
        .filter(|k| k.starts_with("task-") && away[*k] != back[*k])
        .count();
    assert!(
        moved_back <= 3,
        "{moved_back} tasks moved when the worker returned"
    );
}

#[test]
fn source_offsets_are_read_over_rest_on_any_worker() {
    let root = tempfile::tempdir().unwrap();
    let spec = ClusterSpec::new(root.path(), &plugins(root.path()));
    let workers = spec.start(2);
    let topic = unique("offsets");
    create_topic(&topic);
    let input = root.path().join("in.txt");
    let lines: Vec<String> = (0..50).map(|i| format!("line {i:02}")).collect();
    std::fs::write(&input, file_text(&lines)).unwrap();
    let size = std::fs::metadata(&input).unwrap().len();
    workers[0].create(
        "src",
        json!({"connector.class": "FileStreamSource", "file": input.display().to_string(),
               "topic": topic}),
    );
    // Every worker answers, the leader and the follower alike (the reads go to the offsets
    // topic); the committed position reaches the end of the file.
    for w in &workers {
        let offsets = wait_for("the source's committed offset", SETTLE, || {
            let (code, body) = w.get("/connectors/src/offsets");
            assert!(code == 200 || code == 409, "{code}: {body}");
            let position = body["offsets"][0]["offset"]["position"].as_u64();
            (code == 200 && position == Some(size)).then_some(body)
        });
        assert_eq!(
            offsets["offsets"][0]["partition"]["filename"],
            json!(input.display().to_string())
        );
    }
}
