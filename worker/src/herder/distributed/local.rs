//! The work this worker runs: the connectors and tasks the group assigned it, kept in step
//! with the config topic. [`LocalWork::reconcile`] is the one place that starts and stops
//! things: after a rebalance, a config change or a target-state change the herder updates
//! what this worker owns and reconciles.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tributary_connector_api::abi::ConnectorRequest;
use tributary_connector_api::Props;

use crate::config::WorkerConfig;
use crate::herder::validation::{self, blocking};
use crate::model::{State, TargetState};
use crate::plugins::{ConnectorPlugin, PluginRegistry, RemoteConnector};
use crate::runtime::{trace, TaskHandle, TaskSpec};
use crate::storage::internal_records::ConfigState;
use crate::storage::{OffsetStore, StatusStore};

/// A task id: connector name and task number.
pub type TaskId = (String, u32);

struct RunningConnector {
    /// `None` while the connector is STOPPED or failed to start.
    instance: Option<RemoteConnector>,
    config: Props,
    target: TargetState,
}

struct RunningTask {
    handle: TaskHandle,
    /// The task config it was started with; a committed change restarts it.
    config: Props,
}

/// Task configs a connector generated that differ from the committed ones: the leader must
/// write them (connect-compat §2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTaskConfigs {
    pub connector: String,
    pub configs: Vec<Props>,
}

/// What this worker owns and runs.
pub struct LocalWork {
    worker: Arc<WorkerConfig>,
    plugins: Arc<PluginRegistry>,
    status: Arc<StatusStore>,
    offsets: Arc<dyn OffsetStore>,
    /// Assigned by the group (the full allocation reported in JoinGroup metadata).
    pub owned_connectors: BTreeSet<String>,
    pub owned_tasks: BTreeSet<TaskId>,
    connectors: BTreeMap<String, RunningConnector>,
    tasks: BTreeMap<TaskId, RunningTask>,
}

impl LocalWork {
    pub fn new(
        worker: Arc<WorkerConfig>,
        plugins: Arc<PluginRegistry>,
        status: Arc<StatusStore>,
        offsets: Arc<dyn OffsetStore>,
    ) -> LocalWork {
        LocalWork {
            worker,
            plugins,
            status,
            offsets,
            owned_connectors: BTreeSet::new(),
            owned_tasks: BTreeSet::new(),
            connectors: BTreeMap::new(),
            tasks: BTreeMap::new(),
        }
    }

    fn graceful(&self) -> Duration {
        Duration::from_millis(self.worker.task_shutdown_graceful_timeout_ms)
    }

    /// Whether this worker runs (or owns) the connector instance.
    pub fn owns_connector(&self, name: &str) -> bool {
        self.owned_connectors.contains(name)
    }

    pub fn owns_task(&self, name: &str, task: u32) -> bool {
        self.owned_tasks.contains(&(name.to_owned(), task))
    }

    /// Stops tasks in parallel, sharing one graceful timeout. `release` writes UNASSIGNED
    /// for each (the task moves elsewhere; not for deleted connectors).
    fn stop_tasks(&mut self, ids: &[TaskId], release: bool) {
        let mut handles = Vec::new();
        for id in ids {
            if let Some(task) = self.tasks.remove(id) {
                task.handle.control.request_stop();
                handles.push((id.clone(), task.handle));
            }
        }
        if handles.is_empty() {
            return;
        }
        let deadline = Instant::now() + self.graceful();
        blocking(|| {
            for (_, handle) in handles.drain(..) {
                handle.stop(deadline.saturating_duration_since(Instant::now()));
            }
        });
        if release {
            for (connector, task) in ids {
                self.status
                    .put_task(connector, *task, State::Unassigned, None);
            }
        }
    }

    fn stop_connector(&mut self, name: &str) {
        if let Some(mut running) = self.connectors.remove(name) {
            if let Some(mut instance) = running.instance.take() {
                if let Err(e) = blocking(|| instance.call(&ConnectorRequest::Stop)) {
                    tracing::warn!(connector = name, error = %e, "connector stop failed");
                }
            }
        }
    }

    /// Restarts the connector instance (if owned) with the current config.
    pub fn restart_connector(&mut self, name: &str, state: &ConfigState) -> Option<NewTaskConfigs> {
        self.stop_connector(name);
        self.start_connector(name, state)
    }

    /// Restarts one owned task.
    pub fn restart_task(&mut self, id: &TaskId, state: &ConfigState) {
        self.stop_tasks(std::slice::from_ref(id), false);
        self.start_task(id, state);
    }

    /// Starts an owned connector per its target state; returns task configs to publish if
    /// they differ from the committed ones.
    fn start_connector(&mut self, name: &str, state: &ConfigState) -> Option<NewTaskConfigs> {
        let config = state.connector_config(name)?.clone();
        let target = state.target_state(name)?;
        let mut running = RunningConnector {
            instance: None,
            config: config.clone(),
            target,
        };
        if target == TargetState::Stopped {
            self.status.put_connector(name, State::Stopped, None);
            self.connectors.insert(name.to_owned(), running);
            return None;
        }
        let class = config.get("connector.class").cloned().unwrap_or_default();
        let plugin = match self.plugins.resolve(&class) {
            Ok(p) => p,
            Err(e) => {
                self.status.put_connector(
                    name,
                    State::Failed,
                    Some(trace("Failed to start connector", e)),
                );
                self.connectors.insert(name.to_owned(), running);
                return None;
            }
        };
        let started =
            blocking(|| validation::start_connector(&self.worker, &plugin, name, &config));
        match started {
            Ok((instance, configs)) => {
                running.instance = Some(instance);
                let shown = if target == TargetState::Paused {
                    State::Paused
                } else {
                    State::Running
                };
                self.status.put_connector(name, shown, None);
                self.connectors.insert(name.to_owned(), running);
                let committed = state.task_configs(name);
                let consistent = !state.inconsistent().contains(name);
                (configs != committed || !consistent || state.task_count(name).is_none()).then(
                    || NewTaskConfigs {
                        connector: name.to_owned(),
                        configs,
                    },
                )
            }
            Err(e) => {
                self.status.put_connector(
                    name,
                    State::Failed,
                    Some(trace("Failed to start connector", e)),
                );
                self.connectors.insert(name.to_owned(), running);
                None
            }
        }
    }

    fn start_task(&mut self, id: &TaskId, state: &ConfigState) {
        let (name, task) = (id.0.as_str(), id.1);
        let Some(connector_config) = state.connector_config(name).cloned() else {
            return;
        };
        let Some(task_config) = state.task_configs(name).get(task as usize).cloned() else {
            return;
        };
        let target = state.target_state(name).unwrap_or(TargetState::Started);
        if target == TargetState::Stopped {
            return;
        }
        let class = connector_config
            .get("connector.class")
            .cloned()
            .unwrap_or_default();
        let plugin: ConnectorPlugin = match self.plugins.resolve(&class) {
            Ok(p) => p,
            Err(e) => {
                self.status.put_task(
                    name,
                    task,
                    State::Failed,
                    Some(trace("Failed to start task", e)),
                );
                return;
            }
        };
        self.status.put_task(name, task, State::Unassigned, None);
        let resolved = validation::resolved(&self.worker, &connector_config)
            .and_then(|c| Ok((c, validation::resolved(&self.worker, &task_config)?)));
        let ((connector_config, mut secrets), (resolved_task_config, task_secrets)) = match resolved
        {
            Ok(configs) => configs,
            Err(e) => {
                self.status.put_task(
                    name,
                    task,
                    State::Failed,
                    Some(trace("Failed to start task", e)),
                );
                return;
            }
        };
        let spec = TaskSpec {
            connector: name.to_owned(),
            task,
            kind: plugin.manifest.kind,
            connector_config,
            task_config: resolved_task_config,
            secrets: {
                secrets.extend(task_secrets);
                secrets
            },
            plugin,
            worker: self.worker.clone(),
            status: self.status.clone(),
            offsets: self.offsets.clone(),
        };
        match TaskHandle::spawn(spec, target == TargetState::Paused) {
            Ok(handle) => {
                self.tasks.insert(
                    id.clone(),
                    RunningTask {
                        handle,
                        config: task_config,
                    },
                );
            }
            Err(e) => self.status.put_task(
                name,
                task,
                State::Failed,
                Some(trace("Failed to start task thread", e)),
            ),
        }
    }

    /// Makes what runs match what is owned and configured: stops what is no longer owned,
    /// deleted or changed, applies target states, starts what is owned but not running.
    /// Returns connectors whose freshly generated task configs must be published.
    pub fn reconcile(&mut self, state: &ConfigState) -> Vec<NewTaskConfigs> {
        // Tasks to stop: no longer owned (released to another worker), deleted, changed.
        let mut release = Vec::new();
        let mut drop_quietly = Vec::new();
        for (id, running) in &self.tasks {
            let (name, task) = (id.0.as_str(), id.1);
            let exists = state.contains(name);
            let current = state.task_configs(name).get(task as usize).cloned();
            let stopped = state.target_state(name) == Some(TargetState::Stopped);
            if !exists {
                drop_quietly.push(id.clone());
            } else if !self.owned_tasks.contains(id) {
                release.push(id.clone());
            } else if current.as_ref() != Some(&running.config) || stopped {
                drop_quietly.push(id.clone());
            }
        }
        let mut stopping = release.clone();
        stopping.extend(drop_quietly.iter().cloned());
        if !stopping.is_empty() {
            tracing::info!(tasks = ?stopping, "stopping tasks");
        }
        self.stop_tasks(&drop_quietly, false);
        self.stop_tasks(&release, true);

        // Connectors to stop: not owned, deleted, or config changed (restarted below).
        let names: Vec<String> = self.connectors.keys().cloned().collect();
        for name in names {
            let owned = self.owned_connectors.contains(&name);
            let config = state.connector_config(&name);
            let changed = self
                .connectors
                .get(&name)
                .is_some_and(|r| Some(&r.config) != config);
            if !owned || config.is_none() || changed {
                self.stop_connector(&name);
                if !owned && config.is_some() {
                    self.status.put_connector(&name, State::Unassigned, None);
                }
            }
        }

        // Target-state changes of running connectors.
        let mut publish = Vec::new();
        let names: Vec<String> = self.connectors.keys().cloned().collect();
        for name in names {
            let Some(target) = state.target_state(&name) else {
                continue;
            };
            let Some(running) = self.connectors.get_mut(&name) else {
                continue;
            };
            if running.target == target {
                continue;
            }
            let was = running.target;
            running.target = target;
            match (was, target) {
                (TargetState::Stopped, _) | (_, TargetState::Stopped) => {
                    if let Some(p) = self.restart_connector(&name, state) {
                        publish.push(p);
                    }
                }
                (_, TargetState::Paused) => {
                    if running.instance.is_some() {
                        self.status.put_connector(&name, State::Paused, None);
                    }
                }
                (_, TargetState::Started) => {
                    if running.instance.is_some() {
                        self.status.put_connector(&name, State::Running, None);
                    }
                }
            }
        }
        for ((name, _), task) in &self.tasks {
            let paused = state.target_state(name) == Some(TargetState::Paused);
            if task.handle.control.paused() != paused {
                task.handle.set_paused(paused);
            }
        }

        // Start what is owned and configured but not running.
        let owned: Vec<String> = self.owned_connectors.iter().cloned().collect();
        for name in owned {
            if !self.connectors.contains_key(&name) && state.contains(&name) {
                if let Some(p) = self.start_connector(&name, state) {
                    publish.push(p);
                }
            }
        }
        let owned: Vec<TaskId> = self.owned_tasks.iter().cloned().collect();
        for id in owned {
            if !self.tasks.contains_key(&id) {
                self.start_task(&id, state);
            }
        }
        publish
    }

    /// Asks a running connector for fresh task configs (after a task-config commit was found
    /// inconsistent, or when the leader asks); returns them if they differ.
    pub fn regenerate(&mut self, name: &str, state: &ConfigState) -> Option<NewTaskConfigs> {
        let running = self.connectors.get_mut(name)?;
        let config = running.config.clone();
        let instance = running.instance.as_mut()?;
        let worker = self.worker.clone();
        match blocking(|| validation::task_configs(&worker, instance, name, &config)) {
            Ok(configs) => (configs != state.task_configs(name)
                || state.inconsistent().contains(name))
            .then(|| NewTaskConfigs {
                connector: name.to_owned(),
                configs,
            }),
            Err(e) => {
                self.status.put_connector(
                    name,
                    State::Failed,
                    Some(trace("Failed to generate task configs", e)),
                );
                None
            }
        }
    }

    /// Stops everything (shutdown).
    pub fn stop_all(&mut self) {
        let ids: Vec<TaskId> = self.tasks.keys().cloned().collect();
        self.stop_tasks(&ids, false);
        let names: Vec<String> = self.connectors.keys().cloned().collect();
        for name in names {
            self.stop_connector(&name);
        }
    }
}
