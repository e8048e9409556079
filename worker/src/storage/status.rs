//! Connector and task status as the REST API reports it.

use std::collections::BTreeMap;
use std::sync::Mutex;

use crate::herder::{ConnectorState, State, TaskState};

/// One instance's status.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
}

#[derive(Default)]
struct Inner {
    connectors: BTreeMap<String, Status>,
    tasks: BTreeMap<(String, u32), Status>,
}

/// Status of every connector and task this worker knows (in memory in standalone mode).
pub struct StatusStore {
    worker_id: String,
    inner: Mutex<Inner>,
}

impl StatusStore {
    pub fn new(worker_id: impl Into<String>) -> StatusStore {
        StatusStore {
            worker_id: worker_id.into(),
            inner: Mutex::new(Inner::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn status(&self, state: State, trace: Option<String>) -> Status {
        Status {
            state,
            trace,
            worker_id: self.worker_id.clone(),
        }
    }

    pub fn put_connector(&self, name: &str, state: State, trace: Option<String>) {
        let status = self.status(state, trace);
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
        self.lock().tasks.insert((name.to_owned(), task), status);
    }

    /// Forgets tasks numbered `from` and above (after the task count shrank).
    pub fn remove_tasks_from(&self, name: &str, from: u32) {
        self.lock().tasks.retain(|(c, t), _| c != name || *t < from);
    }

    /// Forgets a connector and its tasks (it was deleted).
    pub fn remove_connector(&self, name: &str) {
        let mut inner = self.lock();
        inner.connectors.remove(name);
        inner.tasks.retain(|(c, _), _| c != name);
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
