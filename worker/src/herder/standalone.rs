//! The standalone herder: one worker owns every connector; connector configs live in memory
//! (given on the command line or over REST), offsets in a local file.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Offset, TopicPartitionList};
use tokio::sync::Mutex;
use tributary_connector_api::abi::{ConnectorKind, ConnectorRequest, ConnectorResponse};
use tributary_connector_api::{ConfigKeyInfo, Props};

use super::*;
use crate::config::connector::{self as cc, ConnectorSettings};
use crate::config::WorkerConfig;
use crate::plugins::{ConnectorPlugin, PluginRegistry, RemoteConnector};
use crate::runtime::{TaskHandle, TaskSpec};
use crate::storage::{OffsetStore, StatusStore};

struct Entry {
    config: Props,
    target: TargetState,
    plugin: Option<ConnectorPlugin>,
    instance: Option<RemoteConnector>,
    task_configs: Vec<Props>,
    tasks: BTreeMap<u32, TaskHandle>,
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
    worker: Arc<WorkerConfig>,
    plugins: Arc<PluginRegistry>,
    status: Arc<StatusStore>,
    offsets: Arc<dyn OffsetStore>,
    connectors: Mutex<BTreeMap<String, Entry>>,
    cluster_id: Option<String>,
    ready: AtomicBool,
}

fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

/// Runs a blocking plugin or task call without stalling the async runtime.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    tokio::task::block_in_place(f)
}

impl StandaloneHerder {
    pub fn new(
        worker: Arc<WorkerConfig>,
        plugins: Arc<PluginRegistry>,
        offsets: Arc<dyn OffsetStore>,
        cluster_id: Option<String>,
    ) -> Arc<StandaloneHerder> {
        Arc::new(StandaloneHerder {
            status: Arc::new(StatusStore::new(worker.worker_id.clone())),
            worker,
            plugins,
            offsets,
            connectors: Mutex::new(BTreeMap::new()),
            cluster_id,
            ready: AtomicBool::new(false),
        })
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
                    instance: None,
                    task_configs: Vec::new(),
                    tasks: BTreeMap::new(),
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
        let mut map = self.connectors.lock().await;
        let names: Vec<String> = map.keys().cloned().collect();
        for name in names {
            if let Some(entry) = map.get_mut(&name) {
                self.stop_all(&name, entry);
            }
        }
    }

    fn graceful(&self) -> Duration {
        Duration::from_millis(self.worker.task_shutdown_graceful_timeout_ms)
    }

    /// Stops tasks (sharing one graceful timeout) and the connector instance.
    fn stop_all(&self, name: &str, entry: &mut Entry) {
        self.stop_tasks(entry);
        if let Some(mut instance) = entry.instance.take() {
            if let Err(e) = blocking(|| instance.call(&ConnectorRequest::Stop)) {
                tracing::warn!(connector = name, error = %e, "connector stop failed");
            }
        }
    }

    fn stop_tasks(&self, entry: &mut Entry) {
        let tasks = std::mem::take(&mut entry.tasks);
        for handle in tasks.values() {
            handle.control.request_stop();
        }
        let deadline = Instant::now() + self.graceful();
        blocking(|| {
            for (_, handle) in tasks {
                handle.stop(deadline.saturating_duration_since(Instant::now()));
            }
        });
    }

    /// Starts (or restarts) a connector according to its target state, then its tasks.
    fn start(&self, name: &str, entry: &mut Entry) {
        self.stop_all(name, entry);
        let Some(plugin) = entry.plugin.clone() else {
            return;
        };
        if entry.target == TargetState::Stopped {
            entry.task_configs.clear();
            self.status.remove_tasks_from(name, 0);
            self.status.put_connector(name, State::Stopped, None);
            return;
        }
        let config = entry.config.clone();
        let started = blocking(|| -> Result<(RemoteConnector, Vec<Props>), String> {
            let mut c = plugin.new_connector().map_err(|e| e.to_string())?;
            c.call(&ConnectorRequest::Start(config.clone()))
                .map_err(|e| e.to_string())?;
            let max = ConnectorSettings::from_props(&config).tasks_max;
            let configs = match c
                .call(&ConnectorRequest::TaskConfigs(max as u32))
                .map_err(|e| e.to_string())?
            {
                ConnectorResponse::TaskConfigs(t) => t,
                _ => Vec::new(),
            };
            let enforce = config
                .get("tasks.max.enforce")
                .map(|v| v.trim() != "false")
                .unwrap_or(true);
            if enforce && configs.len() > max {
                return Err(format!(
                    "The connector {name} has generated {} tasks, which is greater than {max}, the maximum number of tasks it is configured to create.",
                    configs.len()
                ));
            }
            Ok((c, configs))
        });
        let (instance, task_configs) = match started {
            Ok(ok) => ok,
            Err(e) => {
                entry.task_configs.clear();
                self.status.remove_tasks_from(name, 0);
                self.status.put_connector(
                    name,
                    State::Failed,
                    Some(crate::runtime::trace("Failed to start connector", e)),
                );
                return;
            }
        };
        entry.instance = Some(instance);
        let paused = entry.target == TargetState::Paused;
        self.status.put_connector(
            name,
            if paused {
                State::Paused
            } else {
                State::Running
            },
            None,
        );
        self.status
            .remove_tasks_from(name, task_configs.len() as u32);
        entry.task_configs = task_configs;
        for i in 0..entry.task_configs.len() as u32 {
            self.start_task(name, entry, i);
        }
    }

    fn start_task(&self, name: &str, entry: &mut Entry, id: u32) {
        let (Some(plugin), Some(task_config)) = (
            entry.plugin.clone(),
            entry.task_configs.get(id as usize).cloned(),
        ) else {
            return;
        };
        self.status.put_task(name, id, State::Unassigned, None);
        let spec = TaskSpec {
            connector: name.to_owned(),
            task: id,
            kind: plugin.manifest.kind,
            connector_config: entry.config.clone(),
            task_config,
            plugin,
            worker: self.worker.clone(),
            status: self.status.clone(),
            offsets: self.offsets.clone(),
        };
        match TaskHandle::spawn(spec, entry.target == TargetState::Paused) {
            Ok(h) => {
                entry.tasks.insert(id, h);
            }
            Err(e) => self.status.put_task(
                name,
                id,
                State::Failed,
                Some(crate::runtime::trace("Failed to start task thread", e)),
            ),
        }
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

    /// Validates a config with the framework definition and the plugin's own validation.
    fn validate_sync(&self, config: &Props) -> Result<(ConfigInfos, ConnectorPlugin), HerderError> {
        let class = config
            .get(cc::CONNECTOR_CLASS)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .ok_or_else(|| {
                HerderError::BadRequest("Connector config contains no connector type".into())
            })?;
        let plugin = self
            .plugins
            .resolve(class)
            .map_err(|e| HerderError::Internal(e.to_string()))?;
        let kind = plugin.manifest.kind;
        let framework = cc::framework_def(kind);
        let mut framework_values = framework.validate(config);
        cc::apply_cross_checks(&mut framework_values, cc::cross_checks(kind, config));
        for slot in [cc::KEY_CONVERTER, cc::VALUE_CONVERTER, cc::HEADER_CONVERTER] {
            if let Some(class) = config.get(slot).filter(|c| !c.trim().is_empty()) {
                let prefix = format!("{slot}.");
                let sub: Props = config
                    .iter()
                    .filter_map(|(k, v)| k.strip_prefix(&prefix).map(|k| (k.to_owned(), v.clone())))
                    .collect();
                let err = if slot == cc::HEADER_CONVERTER {
                    crate::converters::create_header_converter(class, &sub)
                        .err()
                        .map(|e| e.to_string())
                } else {
                    crate::converters::create_converter(class, &sub, slot == cc::KEY_CONVERTER)
                        .err()
                        .map(|e| e.to_string())
                };
                if let (Some(e), Some(v)) =
                    (err, framework_values.iter_mut().find(|v| v.name == slot))
                {
                    v.errors.push(format!(
                        "Invalid value {class} for configuration {slot}: {e}"
                    ));
                }
            }
        }
        let plugin_values = blocking(
            || -> Result<Vec<tributary_connector_api::ConfigValueInfo>, String> {
                let mut c = plugin.new_connector().map_err(|e| e.to_string())?;
                match c
                    .call(&ConnectorRequest::Validate(config.clone()))
                    .map_err(|e| e.to_string())?
                {
                    ConnectorResponse::Validation(v) => Ok(v),
                    _ => Ok(Vec::new()),
                }
            },
        )
        .map_err(HerderError::Internal)?;

        let plugin_def = &plugin.manifest.config_def;
        let mut configs = Vec::new();
        let mut groups: Vec<String> = Vec::new();
        let mut add_group = |g: &Option<String>| {
            if let Some(g) = g {
                if !groups.contains(g) {
                    groups.push(g.clone());
                }
            }
        };
        for key in &plugin_def.keys {
            add_group(&key.group);
        }
        for key in &framework.keys {
            add_group(&key.group);
        }
        for value in plugin_values {
            let definition = plugin_def.key(&value.name).map(|k| k.info());
            configs.push(ConfigInfo {
                definition,
                value: Some(value),
            });
        }
        for (key, value) in framework.keys.iter().zip(framework_values) {
            if plugin_def.key(&key.name).is_some() {
                continue;
            }
            configs.push(ConfigInfo {
                definition: Some(key.info()),
                value: Some(value),
            });
        }
        let error_count = configs
            .iter()
            .map(|c| c.value.as_ref().map(|v| v.errors.len()).unwrap_or(0))
            .sum();
        Ok((
            ConfigInfos {
                name: class.to_owned(),
                error_count,
                groups,
                configs,
            },
            plugin,
        ))
    }

    /// A consumer in the sink connector's group (for reading and writing its offsets), with
    /// the same client settings as the connector's task consumers.
    fn sink_consumer(&self, name: &str, config: &Props) -> Result<BaseConsumer, HerderError> {
        let mut c = crate::runtime::clients::sink_consumer(&self.worker, config, name, 0);
        c.set("client.id", format!("connector-offsets-{name}"));
        c.create()
            .map_err(|e| HerderError::Internal(format!("cannot create consumer: {e}")))
    }

    /// The partitions a sink connector reads, from broker metadata.
    fn sink_partitions(
        &self,
        consumer: &BaseConsumer,
        config: &Props,
    ) -> Result<TopicPartitionList, HerderError> {
        let settings = ConnectorSettings::from_props(config);
        let metadata = consumer
            .fetch_metadata(None, Duration::from_secs(10))
            .map_err(|e| HerderError::Internal(format!("cannot read topic metadata: {e}")))?;
        let regex = match &settings.topics_regex {
            Some(r) => Some(
                regex::Regex::new(&format!("^(?:{r})$"))
                    .map_err(|e| HerderError::BadRequest(e.to_string()))?,
            ),
            None => None,
        };
        let mut list = TopicPartitionList::new();
        for topic in metadata.topics() {
            let wanted = match &regex {
                Some(r) => r.is_match(topic.name()),
                None => settings.topics.iter().any(|t| t == topic.name()),
            };
            if wanted {
                for p in topic.partitions() {
                    list.add_partition(topic.name(), p.id());
                }
            }
        }
        Ok(list)
    }

    fn require_stopped(entry: &Entry, name: &str) -> Result<(), HerderError> {
        if entry.target != TargetState::Stopped || !entry.tasks.is_empty() {
            return Err(HerderError::BadRequest(format!(
                "Connectors must be in the STOPPED state before their offsets can be modified. This can be done for the specified connector by issuing a 'PUT' request to the '/connectors/{name}/stop' endpoint"
            )));
        }
        Ok(())
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
        if name.trim().is_empty() || name.chars().any(char::is_control) {
            return Err(HerderError::BadRequest(format!(
                "Connector name {name:?} is invalid: it must be non-empty and contain no control characters"
            )));
        }
        let exists = map.contains_key(name);
        if exists && !allow_replace {
            return Err(HerderError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        let (infos, plugin) = self.validate_sync(&config)?;
        if infos.error_count > 0 {
            let errors: Vec<String> = infos
                .configs
                .iter()
                .filter_map(|c| c.value.as_ref())
                .flat_map(|v| {
                    v.errors
                        .iter()
                        .map(move |e| format!("Invalid value for {}: {e}", v.name))
                })
                .collect();
            return Err(HerderError::BadRequest(format!(
                "Connector configuration is invalid and contains the following {} error(s):\n{}\nYou can also find the above list of errors at the endpoint `/connector-plugins/{{connectorType}}/config/validate`",
                errors.len(),
                errors.join("\n")
            )));
        }
        let entry = map.entry(name.to_owned()).or_insert_with(|| Entry {
            config: Props::new(),
            target: initial_state.unwrap_or(TargetState::Started),
            plugin: None,
            instance: None,
            task_configs: Vec::new(),
            tasks: BTreeMap::new(),
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

impl Herder for StandaloneHerder {
    async fn server_info(&self) -> ServerInfo {
        ServerInfo {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            commit: option_env!("TRIBUTARY_COMMIT")
                .unwrap_or("unknown")
                .to_owned(),
            kafka_cluster_id: self.cluster_id.clone(),
        }
    }

    async fn health(&self) -> WorkerStatus {
        if !self.ready.load(Ordering::SeqCst) {
            return WorkerStatus {
                status: "starting".into(),
                message: "Worker is still starting up.".into(),
            };
        }
        match tokio::time::timeout(Duration::from_secs(10), self.connectors.lock()).await {
            Ok(_) => WorkerStatus { status: "healthy".into(), message: "Worker has completed startup and is ready to handle requests.".into() },
            Err(_) => WorkerStatus { status: "unhealthy".into(), message: "Worker was unable to handle this request and may be unable to handle other requests.".into() },
        }
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
        let mut config = map
            .get(name)
            .map(|e| e.config.clone())
            .ok_or_else(|| not_found(name))?;
        for (k, v) in patch {
            match v {
                Some(v) => {
                    config.insert(k, v);
                }
                None => {
                    config.remove(&k);
                }
            }
        }
        if config.get(cc::NAME).map(|n| n != name).unwrap_or(true) {
            return Err(HerderError::BadRequest(
                "Connector name configuration (name) cannot be changed or removed by a patch"
                    .into(),
            ));
        }
        self.upsert(&mut map, name, config, true, None)
            .map(|u| u.info)
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        let mut map = self.connectors.lock().await;
        let mut entry = map.remove(name).ok_or_else(|| not_found(name))?;
        self.stop_all(name, &mut entry);
        self.status.remove_connector(name);
        Ok(())
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
                    if let Some(h) = entry.tasks.remove(&id) {
                        blocking(|| h.stop(self.graceful()));
                    }
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
        if let Some(h) = entry.tasks.remove(&task) {
            blocking(|| h.stop(self.graceful()));
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
        for h in entry.tasks.values() {
            h.set_paused(true);
        }
        if self.status.connector(name).map(|c| c.state) == Some(State::Running) {
            self.status.put_connector(name, State::Paused, None);
        }
        Ok(())
    }

    async fn resume(&self, name: &str) -> Result<(), HerderError> {
        let mut map = self.connectors.lock().await;
        let entry = map.get_mut(name).ok_or_else(|| not_found(name))?;
        let was = entry.target;
        entry.target = TargetState::Started;
        if was == TargetState::Stopped || entry.instance.is_none() {
            self.start(name, entry);
            return Ok(());
        }
        for h in entry.tasks.values() {
            h.set_paused(false);
        }
        if self.status.connector(name).map(|c| c.state) == Some(State::Paused) {
            self.status.put_connector(name, State::Running, None);
        }
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
        let map = self.connectors.lock().await;
        let entry = map.get(name).ok_or_else(|| not_found(name))?;
        match entry.kind() {
            ConnectorType::Sink => {
                let config = entry.config.clone();
                drop(map);
                blocking(|| {
                    let consumer = self.sink_consumer(name, &config)?;
                    let list = self.sink_partitions(&consumer, &config)?;
                    let committed = consumer
                        .committed_offsets(list, Duration::from_secs(10))
                        .map_err(|e| {
                            HerderError::Internal(format!("cannot read committed offsets: {e}"))
                        })?;
                    let offsets = committed
                        .elements()
                        .iter()
                        .filter_map(|e| match e.offset() {
                            Offset::Offset(o) => Some(ConnectorOffset {
                                partition: serde_json::json!({"kafka_topic": e.topic(), "kafka_partition": e.partition()})
                                    .as_object()
                                    .cloned()
                                    .unwrap_or_default(),
                                offset: serde_json::json!({"kafka_offset": o}).as_object().cloned(),
                            }),
                            _ => None,
                        })
                        .collect();
                    Ok(ConnectorOffsets { offsets })
                })
            }
            _ => Ok(ConnectorOffsets {
                offsets: self
                    .offsets
                    .offsets(name)
                    .into_iter()
                    .map(|(partition, offset)| ConnectorOffset {
                        partition,
                        offset: Some(offset),
                    })
                    .collect(),
            }),
        }
    }

    async fn alter_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> Result<String, HerderError> {
        let map = self.connectors.lock().await;
        let entry = map.get(name).ok_or_else(|| not_found(name))?;
        Self::require_stopped(entry, name)?;
        let plugin = entry
            .plugin
            .clone()
            .ok_or_else(|| HerderError::Internal("connector plugin not loaded".into()))?;
        let config = entry.config.clone();
        match entry.kind() {
            ConnectorType::Sink => {
                let mut parsed = tributary_connector_api::SinkOffsets::new();
                for o in &offsets.offsets {
                    let topic = o.partition.get("kafka_topic").and_then(|t| t.as_str());
                    let partition = o.partition.get("kafka_partition").and_then(|p| {
                        p.as_i64()
                            .or_else(|| p.as_str().and_then(|s| s.parse().ok()))
                    });
                    let (Some(topic), Some(partition)) = (topic, partition) else {
                        return Err(HerderError::BadRequest("Sink connector offsets need kafka_topic and kafka_partition in each partition".into()));
                    };
                    let offset = o
                        .offset
                        .as_ref()
                        .and_then(|m| m.get("kafka_offset"))
                        .and_then(|v| {
                            v.as_i64()
                                .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
                        });
                    let Some(offset) = offset else {
                        return Err(HerderError::BadRequest("Resetting single sink partitions (null offset) is not supported yet; use DELETE /offsets".into()));
                    };
                    parsed.insert(
                        tributary_connector_api::TopicPartition::new(topic, partition as i32),
                        offset,
                    );
                }
                blocking(|| {
                    let mut c = plugin
                        .new_connector()
                        .map_err(|e| HerderError::Internal(e.to_string()))?;
                    let consumer = self.sink_consumer(name, &config)?;
                    c.call(&ConnectorRequest::AlterSinkOffsets(config, parsed.clone()))
                        .map_err(|e| HerderError::BadRequest(e.to_string()))?;
                    let mut list = TopicPartitionList::new();
                    for (tp, o) in &parsed {
                        list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*o))
                            .map_err(|e| HerderError::BadRequest(e.to_string()))?;
                    }
                    consumer
                        .commit(&list, rdkafka::consumer::CommitMode::Sync)
                        .map_err(|e| HerderError::Internal(format!("cannot commit offsets: {e}")))
                })?;
            }
            _ => {
                let entries: Vec<_> = offsets
                    .offsets
                    .into_iter()
                    .map(|o| (o.partition, o.offset))
                    .collect();
                blocking(|| {
                    let mut c = plugin
                        .new_connector()
                        .map_err(|e| HerderError::Internal(e.to_string()))?;
                    c.call(&ConnectorRequest::AlterSourceOffsets(
                        config,
                        entries.clone(),
                    ))
                    .map_err(|e| HerderError::BadRequest(e.to_string()))
                })?;
                self.offsets
                    .put(name, &entries)
                    .map_err(|e| HerderError::Internal(e.to_string()))?;
            }
        }
        Ok("The offsets for this connector have been altered successfully".into())
    }

    async fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        let map = self.connectors.lock().await;
        let entry = map.get(name).ok_or_else(|| not_found(name))?;
        Self::require_stopped(entry, name)?;
        match entry.kind() {
            ConnectorType::Sink => {
                let group =
                    crate::runtime::clients::sink_group_id(&self.worker, &entry.config, name);
                let admin: rdkafka::admin::AdminClient<rdkafka::client::DefaultClientContext> =
                    self.worker
                        .base_client_config()
                        .create()
                        .map_err(|e| HerderError::Internal(e.to_string()))?;
                let results = admin
                    .delete_groups(
                        &[&group],
                        // Bounded: the connectors lock is held while this waits.
                        &rdkafka::admin::AdminOptions::new()
                            .request_timeout(Some(Duration::from_secs(30))),
                    )
                    .await
                    .map_err(|e| {
                        HerderError::Internal(format!("cannot delete consumer group {group}: {e}"))
                    })?;
                for result in results {
                    match result {
                        Ok(_) => {}
                        // Nothing was ever committed: nothing to reset.
                        Err((_, rdkafka::types::RDKafkaErrorCode::GroupIdNotFound)) => {}
                        Err((g, code)) => {
                            return Err(HerderError::Internal(format!(
                                "cannot delete consumer group {g}: {code}"
                            )))
                        }
                    }
                }
            }
            _ => {
                let entries: Vec<_> = self
                    .offsets
                    .offsets(name)
                    .into_iter()
                    .map(|(p, _)| (p, None))
                    .collect();
                self.offsets
                    .put(name, &entries)
                    .map_err(|e| HerderError::Internal(e.to_string()))?;
            }
        }
        Ok("The offsets for this connector have been reset successfully".into())
    }

    async fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        let mut out: Vec<PluginInfo> = self
            .plugins
            .connectors()
            .into_iter()
            .map(|p| PluginInfo {
                class: p.manifest.class.clone(),
                type_: match p.manifest.kind {
                    ConnectorKind::Source => "source".into(),
                    ConnectorKind::Sink => "sink".into(),
                },
                version: Some(p.manifest.version.clone()).filter(|v| v != "undefined"),
            })
            .collect();
        if !connectors_only {
            let version = Some(env!("CARGO_PKG_VERSION").to_owned());
            let mut converters: Vec<(&str, &str)> = crate::converters::builtin_plugins();
            converters.sort_by_key(|(class, kind)| (*kind == "header_converter", *class));
            out.extend(converters.into_iter().map(|(class, kind)| PluginInfo {
                class: class.to_owned(),
                type_: kind.to_owned(),
                version: version.clone(),
            }));
        }
        out
    }

    async fn plugin_config(&self, plugin: &str) -> Result<Vec<ConfigKeyInfo>, HerderError> {
        let p = self
            .plugins
            .resolve(plugin)
            .map_err(|_| HerderError::NotFound(format!("Unknown plugin {plugin}.")))?;
        let mut infos = p.manifest.config_def.infos();
        for key in cc::framework_def(p.manifest.kind).keys {
            if p.manifest.config_def.key(&key.name).is_none() {
                infos.push(key.info());
            }
        }
        Ok(infos)
    }

    async fn validate(&self, config: Props) -> Result<ConfigInfos, HerderError> {
        self.validate_sync(&config).map(|(infos, _)| infos)
    }
}
