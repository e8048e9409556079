//! Connector and task status as the REST API reports it.
//!
//! Standalone mode keeps it in memory. Distributed mode adds the status topic
//! (connect-compat §2.4): every local change is also written there, keyed
//! `status-connector-<name>` / `status-task-<name>-<n>` with the current group generation,
//! and [`StatusStore::apply_remote`] folds in what other workers wrote.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;

use super::internal_records::{should_apply_task_status, StatusKey, StatusValue};
use super::kafka_log::LogWriter;
use crate::model::{ConnectorState, State, TaskState};

/// One instance's status.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
    pub generation: i32,
}

#[derive(Default)]
struct Inner {
    connectors: BTreeMap<String, Status>,
    tasks: BTreeMap<(String, u32), Status>,
}

/// Status of every connector and task this worker knows.
pub struct StatusStore {
    worker_id: String,
    inner: Mutex<Inner>,
    /// The status topic, in distributed mode.
    topic: Option<LogWriter>,
    generation: AtomicI32,
}

fn to_value(s: &Status) -> StatusValue {
    StatusValue {
        state: s.state,
        trace: s.trace.clone(),
        worker_id: s.worker_id.clone(),
        generation: s.generation,
    }
}

fn from_value(v: StatusValue) -> Status {
    Status {
        state: v.state,
        trace: v.trace,
        worker_id: v.worker_id,
        generation: v.generation,
    }
}

impl StatusStore {
    /// An in-memory store (standalone mode).
    pub fn new(worker_id: impl Into<String>) -> StatusStore {
        StatusStore {
            worker_id: worker_id.into(),
            inner: Mutex::new(Inner::default()),
            topic: None,
            generation: AtomicI32::new(-1),
        }
    }

    /// A store that also writes every change to the status topic (distributed mode).
    pub fn with_topic(worker_id: impl Into<String>, topic: LogWriter) -> StatusStore {
        StatusStore {
            topic: Some(topic),
            ..StatusStore::new(worker_id)
        }
    }

    /// The group generation written with later statuses.
    pub fn set_generation(&self, generation: i32) {
        self.generation.store(generation, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn status(&self, state: State, trace: Option<String>) -> Status {
        Status {
            state,
            trace,
            worker_id: self.worker_id.clone(),
            generation: self.generation.load(Ordering::SeqCst),
        }
    }

    /// Writes to the status topic without waiting (Java's status store is asynchronous too).
    fn publish(&self, key: StatusKey, status: Option<&Status>) {
        let Some(topic) = &self.topic else { return };
        let value = status.map(|s| to_value(s).encode());
        if let Err(e) = topic.send_nowait(key.encode().as_bytes(), value.as_deref()) {
            tracing::warn!(key = %key.encode(), error = %e, "cannot write status");
        }
    }

    pub fn put_connector(&self, name: &str, state: State, trace: Option<String>) {
        let status = self.status(state, trace);
        self.publish(StatusKey::Connector(name.to_owned()), Some(&status));
        self.lock().connectors.insert(name.to_owned(), status);
    }

    pub fn put_task(&self, name: &str, task: u32, state: State, trace: Option<String>) {
        if state == State::Failed {
            tracing::error!(
                connector = name,
                task,
                trace = trace.as_deref().unwrap_or(""),
                "task failed"
            );
        }
        let status = self.status(state, trace);
        self.publish(
            StatusKey::Task {
                connector: name.to_owned(),
                task,
            },
            Some(&status),
        );
        self.lock().tasks.insert((name.to_owned(), task), status);
    }

    /// Forgets tasks numbered `from` and above (after the task count shrank); tombstones
    /// them in the status topic.
    pub fn remove_tasks_from(&self, name: &str, from: u32) {
        let gone: Vec<u32> = {
            let mut inner = self.lock();
            let gone = inner
                .tasks
                .keys()
                .filter(|(c, t)| c == name && *t >= from)
                .map(|(_, t)| *t)
                .collect();
            inner.tasks.retain(|(c, t), _| c != name || *t < from);
            gone
        };
        for task in gone {
            self.publish(
                StatusKey::Task {
                    connector: name.to_owned(),
                    task,
                },
                None,
            );
        }
    }

    /// Forgets a connector and its tasks (it was deleted); tombstones them in the status
    /// topic.
    pub fn remove_connector(&self, name: &str) {
        self.remove_tasks_from(name, 0);
        self.lock().connectors.remove(name);
        self.publish(StatusKey::Connector(name.to_owned()), None);
    }

    /// Applies a record read from the status topic (connect-compat §2.4 reader rules).
    pub fn apply_remote(&self, key: StatusKey, value: Option<StatusValue>) {
        let mut inner = self.lock();
        match key {
            StatusKey::Connector(name) => match value {
                Some(v) => {
                    inner.connectors.insert(name, from_value(v));
                }
                None => {
                    inner.connectors.remove(&name);
                }
            },
            StatusKey::Task { connector, task } => {
                let id = (connector, task);
                match value {
                    Some(v) => {
                        let held = inner.tasks.get(&id).map(to_value);
                        if should_apply_task_status(held.as_ref(), &v) {
                            inner.tasks.insert(id, from_value(v));
                        }
                    }
                    None => {
                        inner.tasks.remove(&id);
                    }
                }
            }
            StatusKey::Topic { .. } => {}
        }
    }

    pub fn connector(&self, name: &str) -> Option<ConnectorState> {
        self.lock().connectors.get(name).map(|s| ConnectorState {
            state: s.state,
            worker_id: s.worker_id.clone(),
            trace: s.trace.clone(),
        })
    }

    pub fn task(&self, name: &str, task: u32) -> Option<TaskState> {
        self.lock()
            .tasks
            .get(&(name.to_owned(), task))
            .map(|s| TaskState {
                id: task,
                state: s.state,
                worker_id: s.worker_id.clone(),
                trace: s.trace.clone(),
            })
    }

    /// Every task status of a connector, sorted by id.
    pub fn tasks(&self, name: &str) -> Vec<TaskState> {
        self.lock()
            .tasks
            .iter()
            .filter(|((c, _), _)| c == name)
            .map(|((_, id), s)| TaskState {
                id: *id,
                state: s.state,
                worker_id: s.worker_id.clone(),
                trace: s.trace.clone(),
            })
            .collect()
    }
}

/// Feeds status-topic records into `store` (the reader side of distributed mode).
pub fn apply_records(store: &StatusStore, records: Vec<super::kafka_log::LogRecord>) {
    for record in records {
        let Some(key) = record.key.as_deref().map(String::from_utf8_lossy) else {
            continue;
        };
        let Some(key) = StatusKey::parse(&key) else {
            tracing::debug!(%key, "skipping status record with an unknown key");
            continue;
        };
        match StatusValue::decode(record.value.as_deref()) {
            Ok(value) => store.apply_remote(key, value),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "skipping status record"),
        }
    }
}
