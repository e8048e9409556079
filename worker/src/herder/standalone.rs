//! The standalone herder: one worker owns every connector; connector configs live in memory
//! (given on the command line or over REST), offsets in a local file.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Mutex;
use tributary_connector_api::abi::ConnectorKind;
use tributary_connector_api::{ConfigKeyInfo, Props};

use super::reconfigure::{self, ContextRequests};
use super::validation::{self, blocking};
use crate::config::connector as cc;
use crate::config::WorkerConfig;
use crate::model::*;
use crate::plugins::{ConnectorPlugin, PluginRegistry};
use crate::rest::api::*;
use crate::rest::entities::*;
use crate::storage::{OffsetStore, StatusStore};
use crate::worker::Worker;

/// A connector's config and target state, and the task configs it generated; what runs is
/// the Worker's.
struct Entry {
    config: Props,
    target: TargetState,
    /// `None` when the class could not be found (the connector is FAILED).
    plugin: Option<ConnectorPlugin>,
    task_configs: Vec<Props>,
}

impl Entry {
    fn kind(&self) -> ConnectorType {
        match self.plugin.as_ref().map(|p| p.manifest.kind) {
            Some(ConnectorKind::Source) => ConnectorType::Source,
            Some(ConnectorKind::Sink) => ConnectorType::Sink,
            None => ConnectorType::Unknown,
        }
    }
}

/// The standalone herder.
pub struct StandaloneHerder {
    worker: Arc<Worker>,
    plugins: Arc<PluginRegistry>,
    status: Arc<StatusStore>,
    connectors: Mutex<BTreeMap<String, Entry>>,
    cluster_id: Option<String>,
    ready: AtomicBool,
}

fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

impl StandaloneHerder {
    pub fn new(
        worker: Arc<WorkerConfig>,
        plugins: Arc<PluginRegistry>,
        offsets: Arc<dyn OffsetStore>,
        cluster_id: Option<String>,
    ) -> Arc<StandaloneHerder> {
        let status = Arc::new(StatusStore::new(worker.worker_id.clone()));
        Arc::new(StandaloneHerder {
            worker: Worker::new(worker, plugins.clone(), status.clone(), offsets),
            plugins,
            status,
            connectors: Mutex::new(BTreeMap::new()),
            cluster_id,
            ready: AtomicBool::new(false),
        })
    }

    /// Starts acting on what running connectors ask through their contexts (task
    /// reconfigurations, errors). Needs the Tokio runtime.
    pub fn handle_connector_requests(self: &Arc<Self>) {
        reconfigure::spawn(self);
    }

    /// Marks the worker ready for `/health`.
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Adds a connector from a command-line file. A connector whose class cannot be found is
    /// still registered, as FAILED with the reason, so the worker keeps serving.
    pub async fn add_from_file(&self, config: Props) -> Result<(), HerderError> {
        let name = config.get(cc::NAME).cloned().unwrap_or_default();
        if name.trim().is_empty() {
            return Err(HerderError::BadRequest(
                "connector config has no name".into(),
            ));
        }
        let class = config.get(cc::CONNECTOR_CLASS).cloned().unwrap_or_default();
        if let Err(e) = self.plugins.resolve(&class) {
            let mut map = self.connectors.lock().await;
            map.insert(
                name.clone(),
                Entry {
                    config,
                    target: TargetState::Started,
                    plugin: None,
                    task_configs: Vec::new(),
                },
            );
            self.status.put_connector(
                &name,
                State::Failed,
                Some(crate::runtime::trace("Failed to start connector", e)),
            );
            return Ok(());
        }
        self.put_connector_config(&name, config, false, None)
            .await
            .map(|_| ())
    }

    /// Stops every connector and task (graceful shutdown).
    pub async fn shutdown(&self) {
        let _map = self.connectors.lock().await;
        blocking(|| self.worker.stop_all());
    }

    /// Stops a connector's tasks and its instance.
    fn stop_all(&self, name: &str) {
        blocking(|| {
            self.worker.stop_tasks(&self.worker.tasks_of(name));
            self.worker.stop_connector(name);
        });
    }

    /// Starts (or restarts) a connector according to its target state, then its tasks.
    fn start(&self, name: &str, entry: &mut Entry) {
        self.stop_all(name);
        if entry.plugin.is_none() {
            return;
        }
        match blocking(|| {
            self.worker
                .start_connector(name, &entry.config, entry.target)
        }) {
            Some(configs) => {
                self.status.remove_tasks_from(name, configs.len() as u32);
                entry.task_configs = configs;
                for i in 0..entry.task_configs.len() as u32 {
                    self.start_task(name, entry, i);
                }
            }
            None => {
                entry.task_configs.clear();
                self.status.remove_tasks_from(name, 0);
            }
        }
    }

    /// (Re)starts one task with its generated config.
    fn start_task(&self, name: &str, entry: &Entry, task: u32) {
        let Some(task_config) = entry.task_configs.get(task as usize) else {
            return;
        };
        let id = ConnectorTaskId {
            connector: name.to_owned(),
            task,
        };
        blocking(|| {
            self.worker
                .start_task(&id, &entry.config, task_config, entry.target)
        });
    }

    fn info(name: &str, entry: &Entry) -> ConnectorInfo {
        ConnectorInfo {
            name: name.to_owned(),
            config: entry.config.clone(),
            tasks: (0..entry.task_configs.len() as u32)
                .map(|task| ConnectorTaskId {
                    connector: name.to_owned(),
                    task,
                })
                .collect(),
            type_: entry.kind(),
        }
    }

    fn state_info(&self, name: &str, entry: &Entry) -> Result<ConnectorStateInfo, HerderError> {
        let connector = self.status.connector(name).ok_or_else(|| {
            HerderError::NotFound(format!("No status found for connector {name}"))
        })?;
        Ok(ConnectorStateInfo {
            name: name.to_owned(),
            connector,
            tasks: self.status.tasks(name),
            type_: entry.kind(),
        })
    }

    fn stopped(&self, name: &str, entry: &Entry) -> bool {
        entry.target == TargetState::Stopped && self.worker.tasks_of(name).is_empty()
    }

    /// Creates or replaces a connector config; the caller holds the connectors lock.
    fn upsert(
        &self,
        map: &mut BTreeMap<String, Entry>,
        name: &str,
        config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Upserted, HerderError> {
        validation::check_name(name)?;
        let exists = map.contains_key(name);
        if exists && !allow_replace {
            return Err(HerderError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        let plugin =
            validation::validate_for_write(self.worker.config(), &self.plugins, &config, None)?;
        let entry = map.entry(name.to_owned()).or_insert_with(|| Entry {
            config: Props::new(),
            target: initial_state.unwrap_or(TargetState::Started),
            plugin: None,
            task_configs: Vec::new(),
        });
        entry.config = config;
        entry.plugin = Some(plugin);
        self.start(name, entry);
        Ok(Upserted {
            created: !exists,
            info: Self::info(name, entry),
        })
    }
}

impl ContextRequests for StandaloneHerder {
    fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// As Java's `StandaloneHerder.updateConnectorTasks`: new task configs replace the
    /// connector's tasks when they differ from the current ones.
    async fn reconfigure(self: &Arc<Self>, name: &str) {
        let mut map = self.connectors.lock().await;
        let Some(entry) = map.get_mut(name) else {
            tracing::debug!(
                connector = name,
                "reconfiguration of a deleted connector; ignored"
            );
            return;
        };
        if entry.target != TargetState::Started || !self.worker.connector_running(name) {
            tracing::info!(
                connector = name,
                "skipping task reconfiguration of a connector that is not running"
            );
            return;
        }
        // A failure marks the connector FAILED.
        let Some(configs) = blocking(|| self.worker.regenerate_task_configs(name)) else {
            return;
        };
        if configs == entry.task_configs {
            tracing::debug!(connector = name, "task configs unchanged");
            return;
        }
        tracing::info!(
            connector = name,
            tasks = configs.len(),
            "task configs changed; restarting the tasks"
        );
        blocking(|| self.worker.stop_tasks(&self.worker.tasks_of(name)));
        self.status.remove_tasks_from(name, configs.len() as u32);
        entry.task_configs = configs;
        for task in 0..entry.task_configs.len() as u32 {
            self.start_task(name, entry, task);
        }
    }

    async fn raise_error(self: &Arc<Self>, name: &str, generation: u64, message: &str) {
        // Under the connectors lock, so no restart or reconfiguration runs meanwhile.
        let _map = self.connectors.lock().await;
        blocking(|| self.worker.fail_connector(name, generation, message));
    }
}

impl Herder for StandaloneHerder {
    async fn server_info(&self) -> ServerInfo {
        crate::rest::entities::server_info(self.cluster_id.clone())
    }

    async fn health(&self) -> WorkerStatus {
        crate::rest::entities::health(self.ready.load(Ordering::SeqCst), self.connectors.lock())
            .await
    }

    async fn metrics(&self) -> String {
        self.worker.render_metrics()
    }

    async fn connectors(&self) -> Vec<String> {
        self.connectors.lock().await.keys().cloned().collect()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        let map = self.connectors.lock().await;
        map.get(name)
            .map(|e| Self::info(name, e))
            .ok_or_else(|| not_found(name))
    }

    async fn connector_config(&self, name: &str) -> Result<Props, HerderError> {
        let map = self.connectors.lock().await;
        map.get(name)
            .map(|e| e.config.clone())
            .ok_or_else(|| not_found(name))
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        let map = self.connectors.lock().await;
        let entry = map.get(name).ok_or_else(|| {
            HerderError::NotFound(format!("No status found for connector {name}"))
        })?;
        self.state_info(name, entry)
    }

    async fn task_status(&self, name: &str, task: u32) -> Result<TaskState, HerderError> {
        self.status
            .task(name, task)
            .ok_or_else(|| HerderError::NotFound(format!("No status found for task {name}-{task}")))
    }

    async fn tasks(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        let map = self.connectors.lock().await;
        let entry = map.get(name).ok_or_else(|| not_found(name))?;
        Ok(entry
            .task_configs
            .iter()
            .enumerate()
            .map(|(i, c)| TaskInfo {
                id: ConnectorTaskId {
                    connector: name.to_owned(),
                    task: i as u32,
                },
                config: c.clone(),
            })
            .collect())
    }

    async fn tasks_config(&self, name: &str) -> Result<BTreeMap<String, Props>, HerderError> {
        let map = self.connectors.lock().await;
        let entry = map.get(name).ok_or_else(|| not_found(name))?;
        Ok(entry
            .task_configs
            .iter()
            .enumerate()
            .map(|(i, c)| (format!("{name}-{i}"), c.clone()))
            .collect())
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Upserted, HerderError> {
        let mut map = self.connectors.lock().await;
        self.upsert(&mut map, name, config, allow_replace, initial_state)
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, HerderError> {
        // Read, patch and write under one lock, so concurrent changes are not lost.
        let mut map = self.connectors.lock().await;
        let config = map
            .get(name)
            .map(|e| e.config.clone())
            .ok_or_else(|| not_found(name))?;
        let config = validation::patched(config, patch, name)?;
        self.upsert(&mut map, name, config, true, None)
            .map(|u| u.info)
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        let mut map = self.connectors.lock().await;
        map.remove(name).ok_or_else(|| not_found(name))?;
        self.stop_all(name);
        self.status.remove_connector(name);
        super::topics::forget_deleted(self.worker.config(), &self.status, name);
        Ok(())
    }

    async fn connector_active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        super::topics::active_topics(self.worker.config(), &self.status, name)
    }

    async fn reset_connector_active_topics(&self, name: &str) -> Result<(), HerderError> {
        super::topics::reset_active_topics(self.worker.config(), &self.status, name)
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<Option<ConnectorStateInfo>, HerderError> {
        let mut map = self.connectors.lock().await;
        let entry = map.get_mut(name).ok_or_else(|| not_found(name))?;
        let failed = |s: Option<State>| s == Some(State::Failed);
        if !include_tasks && !only_failed {
            if entry.target != TargetState::Stopped {
                self.start(name, entry);
            }
            return Ok(None);
        }
        let connector_state = self.status.connector(name).map(|c| c.state);
        let restart_connector = !only_failed || failed(connector_state);
        let restart_tasks: Vec<u32> = if include_tasks {
            self.status
                .tasks(name)
                .into_iter()
                .filter(|t| !only_failed || t.state == State::Failed)
                .map(|t| t.id)
                .collect()
        } else {
            Vec::new()
        };
        let mut reply = self.state_info(name, entry)?;
        if restart_connector {
            reply.connector.state = State::Restarting;
        }
        for t in reply.tasks.iter_mut() {
            if restart_tasks.contains(&t.id) {
                t.state = State::Restarting;
            }
        }
        if entry.target != TargetState::Stopped {
            if restart_connector {
                self.start(name, entry);
            } else {
                for id in restart_tasks {
                    self.start_task(name, entry, id);
                }
            }
        }
        Ok(Some(reply))
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        let mut map = self.connectors.lock().await;
        let entry = map.get_mut(name).ok_or_else(|| not_found(name))?;
        if task as usize >= entry.task_configs.len() {
            return Err(HerderError::NotFound(format!(
                "Task {name}-{task} not found"
            )));
        }
        self.start_task(name, entry, task);
        Ok(())
    }

    async fn pause(&self, name: &str) -> Result<(), HerderError> {
        let mut map = self.connectors.lock().await;
        let entry = map.get_mut(name).ok_or_else(|| not_found(name))?;
        if entry.target == TargetState::Stopped {
            // A stopped connector has no tasks; pausing it records the target state only.
            entry.target = TargetState::Paused;
            self.status.put_connector(name, State::Paused, None);
            return Ok(());
        }
        entry.target = TargetState::Paused;
        blocking(|| self.worker.set_target_state(name, TargetState::Paused));
        Ok(())
    }

    async fn resume(&self, name: &str) -> Result<(), HerderError> {
        let mut map = self.connectors.lock().await;
        let entry = map.get_mut(name).ok_or_else(|| not_found(name))?;
        let was = entry.target;
        entry.target = TargetState::Started;
        if was == TargetState::Stopped || !self.worker.connector_running(name) {
            self.start(name, entry);
            return Ok(());
        }
        blocking(|| self.worker.set_target_state(name, TargetState::Started));
        Ok(())
    }

    async fn stop(&self, name: &str) -> Result<(), HerderError> {
        let mut map = self.connectors.lock().await;
        let entry = map.get_mut(name).ok_or_else(|| not_found(name))?;
        entry.target = TargetState::Stopped;
        self.start(name, entry);
        Ok(())
    }

    async fn offsets(&self, name: &str) -> Result<ConnectorOffsets, HerderError> {
        let (kind, config) = {
            let map = self.connectors.lock().await;
            let entry = map.get(name).ok_or_else(|| not_found(name))?;
            (entry.kind(), entry.config.clone())
        };
        Ok(blocking(|| self.worker.read_offsets(kind, name, &config))?)
    }

    async fn alter_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> Result<String, HerderError> {
        let map = self.connectors.lock().await;
        let entry = map.get(name).ok_or_else(|| not_found(name))?;
        validation::require_stopped(self.stopped(name, entry), name)?;
        Ok(blocking(|| {
            self.worker
                .alter_offsets(entry.kind(), name, &entry.config, offsets)
        })?)
    }

    async fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        let map = self.connectors.lock().await;
        let entry = map.get(name).ok_or_else(|| not_found(name))?;
        validation::require_stopped(self.stopped(name, entry), name)?;
        Ok(self
            .worker
            .reset_offsets(entry.kind(), name, &entry.config)
            .await?)
    }

    async fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        validation::plugin_list(&self.plugins, connectors_only)
    }

    async fn plugin_config(&self, plugin: &str) -> Result<Vec<ConfigKeyInfo>, HerderError> {
        validation::plugin_config(&self.plugins, plugin)
    }

    async fn validate(&self, config: Props) -> Result<ConfigInfos, HerderError> {
        validation::validate(self.worker.config(), &self.plugins, &config, None)
            .map(|(infos, _)| infos)
    }
}
