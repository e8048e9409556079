//! Distributed-mode helpers: start several `tributary distributed` workers in one group, and
//! read who runs what from the status API.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use super::{bootstrap, free_port, unique, wait_for, RestAccess, Worker};

/// The settings shared by every worker of one test cluster.
#[derive(Clone)]
pub struct ClusterSpec {
    pub root: PathBuf,
    pub plugins: PathBuf,
    pub group: String,
    /// Worker properties added to (or replacing) the defaults, e.g. broker security.
    pub extra: Vec<(&'static str, String)>,
    /// How the tests reach the workers (`https` also makes the listeners HTTPS).
    pub rest: RestAccess,
}

impl ClusterSpec {
    pub fn new(root: &Path, plugins: &Path) -> ClusterSpec {
        ClusterSpec {
            root: root.to_owned(),
            plugins: plugins.to_owned(),
            group: unique("cluster"),
            extra: Vec::new(),
            rest: RestAccess::default(),
        }
    }

    /// Worker properties for the worker on `port`. Everything else is the distributed
    /// defaults (session 3 s, heartbeat 1 s, no scheduled rebalance delay).
    pub fn props(&self, port: u16) -> Vec<(&'static str, String)> {
        let mut props = vec![
            ("bootstrap.servers", bootstrap()),
            ("group.id", self.group.clone()),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter".into(),
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter".into(),
            ),
            ("config.storage.topic", format!("{}-configs", self.group)),
            ("offset.storage.topic", format!("{}-offsets", self.group)),
            ("status.storage.topic", format!("{}-status", self.group)),
            ("config.storage.replication.factor", "1".into()),
            ("offset.storage.replication.factor", "1".into()),
            ("status.storage.replication.factor", "1".into()),
            ("offset.storage.partitions", "5".into()),
            ("status.storage.partitions", "3".into()),
            ("offset.flush.interval.ms", "500".into()),
            (
                "listeners",
                format!(
                    "{}://127.0.0.1:{port}",
                    if self.rest.https { "https" } else { "http" }
                ),
            ),
            ("plugin.path", self.plugins.display().to_string()),
        ];
        for (k, v) in &self.extra {
            props.retain(|(pk, _)| pk != k);
            props.push((k, v.clone()));
        }
        props
    }

    /// Starts a worker on `port` (its own directory, so restarts reuse it).
    pub fn start_on(&self, port: u16) -> Worker {
        let dir = self.root.join(format!("worker-{port}"));
        std::fs::create_dir_all(&dir).unwrap();
        Worker::start_with(
            "distributed",
            &dir,
            &self.props(port),
            &[],
            self.rest.clone(),
            &[],
        )
    }

    /// Starts `n` workers on free ports.
    pub fn start(&self, n: usize) -> Vec<Worker> {
        (0..n).map(|_| self.start_on(free_port())).collect()
    }
}

impl Worker {
    /// `127.0.0.1:<port>`, the id this worker writes in statuses.
    pub fn id(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// `GET /connectors/<name>/status`, if it answers 200.
    pub fn status(&self, name: &str) -> Option<Value> {
        let (code, body) = self.get(&format!("/connectors/{name}/status"));
        (code == 200).then_some(body)
    }

    /// POSTs a new connector, retrying while the cluster settles (409 during a rebalance,
    /// 500 while no leader answers).
    pub fn create(&self, name: &str, config: Value) -> Value {
        let body = serde_json::json!({"name": name, "config": config});
        wait_for(&format!("create {name}"), Duration::from_secs(30), || {
            let (code, reply, _) = self.send("POST", "/connectors", Some(body.clone()));
            match code {
                201 => Some(reply),
                409 | 500 => None,
                other => panic!("create {name}: {other} {reply}"),
            }
        })
    }
}

/// Who runs each instance of a connector: `"connector"` or the task id → worker id, for
/// instances that are RUNNING.
pub fn owners(status: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if status["connector"]["state"] == "RUNNING" {
        if let Some(w) = status["connector"]["worker_id"].as_str() {
            out.insert("connector".into(), w.to_owned());
        }
    }
    for t in status["tasks"].as_array().into_iter().flatten() {
        if t["state"] == "RUNNING" {
            if let (Some(id), Some(w)) = (t["id"].as_u64(), t["worker_id"].as_str()) {
                out.insert(format!("task-{id}"), w.to_owned());
            }
        }
    }
    out
}

/// Waits until the connector and `tasks` tasks are RUNNING on workers in `live` (as `asker`
/// sees it); returns the owners.
pub fn wait_running(
    asker: &Worker,
    name: &str,
    tasks: usize,
    live: &[String],
    timeout: Duration,
) -> BTreeMap<String, String> {
    let deadline = std::time::Instant::now() + timeout;
    let mut last = None;
    loop {
        if let Some(status) = asker.status(name) {
            let owners = owners(&status);
            if owners.len() == tasks + 1 && owners.values().all(|w| live.contains(w)) {
                return owners;
            }
            last = Some(status);
        }
        // The last status seen says which task is missing and why (a trace, a worker).
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {name}: connector and {tasks} tasks \
             RUNNING on {live:?}; last status: {last:#?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Tasks per worker (every worker in `live` listed, even with none); connector instances
/// are not counted (the leader balances connectors and tasks separately). Keys are those of
/// [`owners`], optionally prefixed (`"<connector>-task-<n>"`).
pub fn task_load(owners: &BTreeMap<String, String>, live: &[String]) -> BTreeMap<String, usize> {
    let mut out: BTreeMap<String, usize> = live.iter().map(|w| (w.clone(), 0)).collect();
    for (_, w) in owners.iter().filter(|(k, _)| k.contains("task-")) {
        *out.entry(w.clone()).or_default() += 1;
    }
    out
}

/// True when loads differ by at most one.
pub fn balanced(load: &BTreeMap<String, usize>) -> bool {
    let max = load.values().max().copied().unwrap_or(0);
    let min = load.values().min().copied().unwrap_or(0);
    max - min <= 1
}
