//! The work this worker owns: the connectors and tasks the group assigned it, kept in step
//! with the config topic. [`LocalWork::reconcile`] decides what to start and stop after a
//! rebalance, a config change or a target-state change; the [`Worker`] runs it.

use std::collections::BTreeSet;
use std::sync::Arc;

use tributary_connector_api::Props;

use crate::herder::topics;
use crate::herder::validation::blocking;
use crate::model::{ConnectorTaskId, State, TargetState};
use crate::storage::internal_records::ConfigState;
use crate::worker::Worker;

/// Task configs a connector generated that differ from the committed ones: the leader must
/// write them (connect-compat §2.2).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTaskConfigs {
    pub connector: String,
    pub configs: Vec<Props>,
}

/// What this worker owns, and the Worker that runs it.
pub struct LocalWork {
    worker: Arc<Worker>,
    /// Assigned by the group (the full allocation reported in JoinGroup metadata).
    pub owned_connectors: BTreeSet<String>,
    pub owned_tasks: BTreeSet<ConnectorTaskId>,
}

impl LocalWork {
    pub fn new(worker: Arc<Worker>) -> LocalWork {
        LocalWork {
            worker,
            owned_connectors: BTreeSet::new(),
            owned_tasks: BTreeSet::new(),
        }
    }

    pub fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// Whether this worker runs (or owns) the connector instance.
    pub fn owns_connector(&self, name: &str) -> bool {
        self.owned_connectors.contains(name)
    }

    pub fn owns_task(&self, name: &str, task: u32) -> bool {
        self.owned_tasks.contains(&ConnectorTaskId::new(name, task))
    }

    /// Stops tasks; `release` writes UNASSIGNED for each (the task moves elsewhere; not for
    /// deleted connectors).
    fn stop_tasks(&self, ids: &[ConnectorTaskId], release: bool) {
        if ids.is_empty() {
            return;
        }
        blocking(|| self.worker.stop_tasks(ids));
        if release {
            let status = self.worker.status();
            for id in ids {
                status.put_task(&id.connector, id.task, State::Unassigned, None);
            }
        }
    }

    /// (Re)starts an owned connector per its target state with the current config; returns
    /// task configs to publish if they differ from the committed ones.
    pub fn restart_connector(&mut self, name: &str, state: &ConfigState) -> Option<NewTaskConfigs> {
        let config = state.connector_config(name)?.clone();
        let target = state.target_state(name)?;
        let configs = blocking(|| self.worker.start_connector(name, &config, target))?;
        Self::changed(name, configs, state)
    }

    /// Task configs to publish when they differ from the committed (or inconsistent) ones.
    fn changed(name: &str, configs: Vec<Props>, state: &ConfigState) -> Option<NewTaskConfigs> {
        let consistent = !state.inconsistent().contains(name);
        (configs != state.task_configs(name) || !consistent || state.task_count(name).is_none())
            .then(|| NewTaskConfigs {
                connector: name.to_owned(),
                configs,
            })
    }

    /// (Re)starts one owned task with its committed config.
    pub fn restart_task(&mut self, id: &ConnectorTaskId, state: &ConfigState) {
        let name = id.connector.as_str();
        let Some(connector_config) = state.connector_config(name) else {
            return;
        };
        let Some(task_config) = state.task_configs(name).get(id.task as usize).cloned() else {
            return;
        };
        let target = state.target_state(name).unwrap_or(TargetState::Started);
        let generation = state.task_config_generation(name);
        blocking(|| {
            self.worker.start_task_of_generation(
                id,
                connector_config,
                &task_config,
                target,
                Some(generation),
            )
        });
    }

    /// Makes what runs match what is owned and configured: stops what is no longer owned,
    /// deleted or changed, applies target states, starts what is owned but not running.
    /// Returns connectors whose freshly generated task configs must be published.
    pub fn reconcile(&mut self, state: &ConfigState) -> Vec<NewTaskConfigs> {
        // Tasks to stop: no longer owned (released to another worker), deleted, changed.
        let mut release = Vec::new();
        let mut drop_quietly = Vec::new();
        // Connectors deleted from the config whose work stops here.
        let mut deleted = BTreeSet::new();
        for id in self.worker.tasks() {
            let name = id.connector.as_str();
            let current = state.task_configs(name).get(id.task as usize).cloned();
            let stopped = state.target_state(name) == Some(TargetState::Stopped);
            if !state.contains(name) {
                deleted.insert(id.connector.clone());
                drop_quietly.push(id);
            } else if !self.owned_tasks.contains(&id) {
                release.push(id);
            } else if current != self.worker.task_config(&id) || stopped {
                drop_quietly.push(id);
            }
        }
        if !release.is_empty() || !drop_quietly.is_empty() {
            tracing::info!(released = ?release, stopped = ?drop_quietly, "stopping tasks");
        }
        self.stop_tasks(&drop_quietly, false);
        self.stop_tasks(&release, true);

        // Connectors to stop: not owned, deleted, or config changed (restarted below).
        for name in self.worker.connectors() {
            let owned = self.owned_connectors.contains(&name);
            let config = state.connector_config(&name);
            let changed = self
                .worker
                .connector(&name)
                .is_some_and(|(running, _)| Some(&running) != config);
            if !owned || config.is_none() || changed {
                blocking(|| self.worker.stop_connector(&name));
                if !owned && config.is_some() {
                    self.worker
                        .status()
                        .put_connector(&name, State::Unassigned, None);
                }
                if config.is_none() {
                    deleted.insert(name);
                }
            }
        }
        // As Java after stopping revoked work of deleted connectors: their topics are reset
        // (tombstoned), now that no task of theirs runs here to record them again.
        for name in &deleted {
            topics::forget_deleted(self.worker.config(), self.worker.status(), name);
        }

        // Target-state changes of what runs here.
        let mut publish = Vec::new();
        let mut names: BTreeSet<String> = self.worker.connectors().into_iter().collect();
        names.extend(self.worker.tasks().into_iter().map(|id| id.connector));
        for name in names {
            let Some(target) = state.target_state(&name) else {
                continue;
            };
            if let Some(configs) = blocking(|| self.worker.set_target_state(&name, target)) {
                publish.extend(Self::changed(&name, configs, state));
            }
        }

        // Start what is owned and configured but not running.
        let running: BTreeSet<String> = self.worker.connectors().into_iter().collect();
        let owned: Vec<String> = self.owned_connectors.iter().cloned().collect();
        for name in owned {
            if !running.contains(&name) && state.contains(&name) {
                publish.extend(self.restart_connector(&name, state));
            }
        }
        let running: BTreeSet<ConnectorTaskId> = self.worker.tasks().into_iter().collect();
        let owned: Vec<ConnectorTaskId> = self.owned_tasks.iter().cloned().collect();
        for id in owned {
            if !running.contains(&id) {
                self.restart_task(&id, state);
            }
        }
        publish
    }

    /// Asks a running connector for fresh task configs (after a task-config commit was found
    /// inconsistent, or when the leader asks); returns them if they differ.
    pub fn regenerate(&mut self, name: &str, state: &ConfigState) -> Option<NewTaskConfigs> {
        let configs = blocking(|| self.worker.regenerate_task_configs(name))?;
        (configs != state.task_configs(name) || state.inconsistent().contains(name)).then(|| {
            NewTaskConfigs {
                connector: name.to_owned(),
                configs,
            }
        })
    }

    /// Stops everything (shutdown).
    pub fn stop_all(&mut self) {
        blocking(|| self.worker.stop_all());
    }
}
