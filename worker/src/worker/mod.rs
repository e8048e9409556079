//! The Worker: the one place that runs connectors and tasks on this process. It starts and
//! stops connector instances and task threads, generates and resolves task configs, reads and
//! writes offsets, builds the Kafka client configs, and reports every state change to the
//! status store. Herders decide *what* runs here; the Worker knows *how*.
//!
//! Every method blocks (plugin calls, graceful task stops); async callers wrap them in
//! `tokio::task::block_in_place`. Nothing here is on the group member's heartbeat path.

pub mod clients;
pub mod context;
pub mod offsets;
pub mod task_configs;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use tributary_connector_api::abi::{ConnectorKind, ConnectorRequest};
use tributary_connector_api::Props;

use crate::config::connector::{self as cc, SourceSettings, TransactionBoundary};
use crate::config::override_policy;
use crate::config::WorkerConfig;
use crate::metrics::{
    ConnectorInfo, ConnectorSnapshot, Metrics, TaskMetrics, TaskSnapshot, WorkerSnapshot,
};
use crate::model::{ConnectorTaskId, ConnectorType, State, TargetState};
use crate::plugins::{ConnectorPlugin, PluginRegistry, RemoteConnector};
use crate::runtime::exactly_once::{Boundary, ExactlyOnceSpec, TopicOffsetWriter};
use crate::runtime::{trace, TaskControl, TaskHandle, TaskSpec};
use crate::storage::connector_offsets::OffsetTopics;
use crate::storage::{OffsetStore, StatusStore};
use context::{ConnectorEvent, ContextGuard, ContextState, EventSender};

/// Why a Worker request failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WorkerError {
    /// The request or its data is invalid (a 400 at the REST edge).
    #[error("{0}")]
    BadRequest(String),
    /// Anything else (a broker or plugin failure).
    #[error("{0}")]
    Internal(String),
}

/// Distributed mode's part in exactly-once source tasks (KIP-618), given to the Worker by the
/// herder when `exactly.once.source.support=enabled`.
pub trait ExactlyOnceCoordinator: Send + Sync {
    /// The worker's `group.id` (task transactional ids are `<group.id>-<connector>-<task>`).
    fn group_id(&self) -> &str;
    /// Before a task's transactional producer starts: the leader has fenced the previous
    /// generation of the connector's tasks (`PUT /connectors/<name>/fence`).
    fn fence_previous_generation(
        &self,
        connector: &str,
        control: &TaskControl,
    ) -> Result<(), String>;
    /// After the producer's `init_transactions`: the connector's task configs are still of
    /// `generation` and the task is still assigned to this worker.
    fn verify_generation(
        &self,
        id: &ConnectorTaskId,
        generation: u64,
        control: &TaskControl,
    ) -> Result<(), String>;
}

/// A connector this worker was asked to run, started or not.
struct WorkerConnector {
    /// `None` while the connector is STOPPED or failed (to start, or by raising an error).
    instance: Option<RemoteConnector>,
    /// The stored (raw) config it was started with.
    config: Props,
    target: TargetState,
    /// Numbers this instance among every connector instance the Worker started.
    generation: u64,
    /// The instance's context, while it runs; dropping it closes the context.
    context: Option<ContextGuard>,
}

/// A running task, the raw task config it was started with, and its metrics.
struct WorkerTask {
    handle: TaskHandle,
    config: Props,
    metrics: Arc<TaskMetrics>,
}

/// Runs connectors and tasks for one worker process.
pub struct Worker {
    config: Arc<WorkerConfig>,
    plugins: Arc<PluginRegistry>,
    status: Arc<StatusStore>,
    offsets: Arc<dyn OffsetStore>,
    metrics: Arc<Metrics>,
    connectors: Mutex<BTreeMap<String, WorkerConnector>>,
    tasks: Mutex<BTreeMap<ConnectorTaskId, WorkerTask>>,
    /// The last connector instance generation handed out.
    generations: AtomicU64,
    /// Where connector contexts send what the connectors ask.
    events: EventSender,
    /// The other end, until the herder takes it.
    event_receiver: Mutex<Option<tokio::sync::mpsc::UnboundedReceiver<ConnectorEvent>>>,
    /// Distributed mode: the worker's and the connectors' own offsets topics.
    offset_topics: OnceLock<Arc<OffsetTopics>>,
    /// Distributed mode with `exactly.once.source.support=enabled`.
    exactly_once: OnceLock<Arc<dyn ExactlyOnceCoordinator>>,
}

fn locked<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Worker {
    pub fn new(
        config: Arc<WorkerConfig>,
        plugins: Arc<PluginRegistry>,
        status: Arc<StatusStore>,
        offsets: Arc<dyn OffsetStore>,
    ) -> Arc<Worker> {
        let number = |key: &str, default: u64| {
            config
                .props
                .get(key)
                .and_then(|v| v.trim().parse::<u64>().ok())
                .filter(|n| *n > 0)
                .unwrap_or(default)
        };
        let metrics = Metrics::from_worker_props(
            number("metrics.sample.window.ms", 30_000),
            number("metrics.num.samples", 2) as usize,
        );
        let (events, event_receiver) = tokio::sync::mpsc::unbounded_channel();
        Arc::new(Worker {
            metrics,
            config,
            plugins,
            status,
            offsets,
            connectors: Mutex::new(BTreeMap::new()),
            tasks: Mutex::new(BTreeMap::new()),
            generations: AtomicU64::new(0),
            events,
            event_receiver: Mutex::new(Some(event_receiver)),
            offset_topics: OnceLock::new(),
            exactly_once: OnceLock::new(),
        })
    }

    /// Distributed mode: source connectors' offsets live in these topics (a connector's own
    /// `offsets.storage.topic`, mirrored to the worker's). Set once.
    pub fn set_offset_topics(&self, topics: Arc<OffsetTopics>) {
        if self.offset_topics.set(topics).is_err() {
            tracing::warn!("offset topics set twice; keeping the first");
        }
    }

    /// Distributed mode with exactly-once source support: source tasks run exactly-once. Set
    /// once.
    pub fn set_exactly_once(&self, coordinator: Arc<dyn ExactlyOnceCoordinator>) {
        if self.exactly_once.set(coordinator).is_err() {
            tracing::warn!("exactly-once coordinator set twice; keeping the first");
        }
    }

    /// Whether source tasks run exactly-once here.
    pub fn exactly_once_enabled(&self) -> bool {
        self.exactly_once.get().is_some()
    }

    /// The offset store of a source connector with `config`: in distributed mode per its
    /// `offsets.storage.topic`, else the worker's store.
    pub fn offsets_for(&self, config: &Props) -> Result<Arc<dyn OffsetStore>, WorkerError> {
        match self.offset_topics.get() {
            Some(topics) => topics
                .store(SourceSettings::from_props(config).offsets_topic.as_deref())
                .map_err(|e| WorkerError::Internal(e.to_string())),
            None => Ok(self.offsets.clone()),
        }
    }

    /// What running connectors ask of the worker (task reconfigurations, errors), for the
    /// herder to act on. `None` once taken.
    pub fn take_events(&self) -> Option<tokio::sync::mpsc::UnboundedReceiver<ConnectorEvent>> {
        locked(&self.event_receiver).take()
    }

    pub fn config(&self) -> &Arc<WorkerConfig> {
        &self.config
    }

    pub fn plugins(&self) -> &Arc<PluginRegistry> {
        &self.plugins
    }

    pub fn status(&self) -> &Arc<StatusStore> {
        &self.status
    }

    pub fn offset_store(&self) -> &Arc<dyn OffsetStore> {
        &self.offsets
    }

    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// `GET /metrics`: this worker's metrics in Prometheus text format.
    pub fn render_metrics(&self) -> String {
        let lower = |s: State| crate::metrics::status_name(s).to_owned();
        let connectors = self
            .connectors()
            .into_iter()
            .filter(|name| self.connector_running(name))
            .map(|name| ConnectorSnapshot {
                status: self
                    .status
                    .connector(&name)
                    .map_or_else(|| "unassigned".to_owned(), |c| lower(c.state)),
                name,
            })
            .collect();
        let tasks = self
            .tasks()
            .into_iter()
            .map(|id| TaskSnapshot {
                status: self
                    .status
                    .task(&id.connector, id.task)
                    .map_or_else(|| "unassigned".to_owned(), |t| lower(t.state)),
                connector: id.connector,
                task: id.task,
            })
            .collect();
        self.metrics.render(&WorkerSnapshot { connectors, tasks })
    }

    fn plugin_for(&self, config: &Props) -> Result<ConnectorPlugin, String> {
        let class = config.get(cc::CONNECTOR_CLASS).cloned().unwrap_or_default();
        self.plugins.resolve(&class).map_err(|e| e.to_string())
    }

    /// (Re)starts a connector per its target state, stopping the instance it replaces.
    /// Returns the task configs it generated (placeholders kept) when it started; `None` when
    /// it is STOPPED or failed (its status says which and why).
    pub fn start_connector(
        &self,
        name: &str,
        config: &Props,
        target: TargetState,
    ) -> Option<Vec<Props>> {
        self.stop_connector(name);
        let generation = self.generations.fetch_add(1, Ordering::SeqCst) + 1;
        let mut entry = WorkerConnector {
            instance: None,
            config: config.clone(),
            target,
            generation,
            context: None,
        };
        let outcome = if target == TargetState::Stopped {
            self.status.put_connector(name, State::Stopped, None);
            None
        } else {
            let context = ContextState::new(name, generation, self.events.clone());
            let started = self.plugin_for(config).and_then(|plugin| {
                let started = task_configs::start(&self.config, &plugin, name, config, &context)?;
                Ok((plugin, started))
            });
            // Closed unless the instance runs (calls made while it failed are ignored).
            let context = ContextGuard(context);
            self.metrics.record_connector_startup(started.is_ok());
            match started {
                Ok((plugin, (instance, configs))) => {
                    self.metrics.register_connector(
                        name,
                        ConnectorInfo {
                            connector_type: match plugin.manifest.kind {
                                ConnectorKind::Source => ConnectorType::Source,
                                ConnectorKind::Sink => ConnectorType::Sink,
                            },
                            class: plugin.manifest.class.clone(),
                            version: plugin.manifest.version.clone(),
                        },
                    );
                    entry.instance = Some(instance);
                    entry.context = Some(context);
                    let shown = match target {
                        TargetState::Paused => State::Paused,
                        _ => State::Running,
                    };
                    self.status.put_connector(name, shown, None);
                    Some(configs)
                }
                Err(e) => {
                    let trace = trace("Failed to start connector", e);
                    self.status.put_connector(name, State::Failed, Some(trace));
                    None
                }
            }
        };
        locked(&self.connectors).insert(name.to_owned(), entry);
        outcome
    }

    /// Stops a connector instance (its tasks are stopped separately) and forgets it. Its
    /// context is closed first: whatever the connector asks from then on is ignored.
    pub fn stop_connector(&self, name: &str) {
        let entry = locked(&self.connectors).remove(name);
        self.metrics.unregister_connector(name);
        if let Some(mut instance) = entry.and_then(|e| e.instance) {
            if let Err(e) = instance.call(&ConnectorRequest::Stop) {
                tracing::warn!(connector = name, error = %e, "connector stop failed");
            }
        }
    }

    /// Names of the connectors this worker was asked to run (started, stopped or failed).
    pub fn connectors(&self) -> Vec<String> {
        locked(&self.connectors).keys().cloned().collect()
    }

    /// The raw config and target state a connector runs with here.
    pub fn connector(&self, name: &str) -> Option<(Props, TargetState)> {
        locked(&self.connectors)
            .get(name)
            .map(|c| (c.config.clone(), c.target))
    }

    /// Whether the connector instance is running (started, not stopped or failed).
    pub fn connector_running(&self, name: &str) -> bool {
        locked(&self.connectors)
            .get(name)
            .is_some_and(|c| c.instance.is_some())
    }

    /// The generation of the connector instance running here, if one runs (its context is
    /// open).
    pub fn running_generation(&self, name: &str) -> Option<u64> {
        locked(&self.connectors).get(name).and_then(|c| {
            c.context
                .as_ref()
                .filter(|g| g.0.is_open())
                .map(|_| c.generation)
        })
    }

    /// Whether a request from the connector instance of `generation` comes too late: a newer
    /// instance replaced it, or it was stopped or failed. A request from an instance still
    /// starting (not yet recorded) is not stale.
    pub fn is_stale(&self, name: &str, generation: u64) -> bool {
        locked(&self.connectors).get(name).is_some_and(|c| {
            c.generation > generation
                || (c.generation == generation
                    && !c.context.as_ref().is_some_and(|g| g.0.is_open()))
        })
    }

    /// A running connector raised an error (Java's `ConnectorContext.raiseError`): unless the
    /// instance of that `generation` is already gone, it is marked FAILED with `message` as
    /// its trace and stopped; its tasks keep running, as in Java. Returns whether it failed it.
    pub fn fail_connector(&self, name: &str, generation: u64, message: &str) -> bool {
        let instance = {
            let mut map = locked(&self.connectors);
            let Some(entry) = map.get_mut(name) else {
                return false;
            };
            if entry.generation != generation || entry.context.is_none() {
                return false;
            }
            // Closes the context; an instance out for regeneration is stopped when it returns.
            entry.context = None;
            entry.instance.take()
        };
        tracing::error!(
            connector = name,
            error = message,
            "connector raised an error"
        );
        self.status.put_connector(
            name,
            State::Failed,
            Some(format!(
                "org.apache.kafka.connect.errors.ConnectException: {message}"
            )),
        );
        if let Some(mut instance) = instance {
            if let Err(e) = instance.call(&ConnectorRequest::Stop) {
                tracing::warn!(connector = name, error = %e, "connector stop failed");
            }
        }
        true
    }

    /// Applies a new target state to a connector and its tasks here (either may run on
    /// another worker). A change from or to STOPPED restarts the connector instance; its
    /// fresh task configs are returned then.
    pub fn set_target_state(&self, name: &str, target: TargetState) -> Option<Vec<Props>> {
        for task in locked(&self.tasks)
            .values()
            .filter(|t| t.handle.connector() == name)
        {
            task.handle.set_paused(target == TargetState::Paused);
        }
        let (was, config, running) = {
            let mut map = locked(&self.connectors);
            let entry = map.get_mut(name)?;
            let was = std::mem::replace(&mut entry.target, target);
            (was, entry.config.clone(), entry.instance.is_some())
        };
        match (was, target) {
            _ if was == target => {}
            (TargetState::Stopped, _) | (_, TargetState::Stopped) => {
                return self.start_connector(name, &config, target)
            }
            (_, TargetState::Paused) if running => {
                self.status.put_connector(name, State::Paused, None)
            }
            (_, TargetState::Started) if running => {
                self.status.put_connector(name, State::Running, None);
                // Requests made while paused were dropped: as Java, a resumed connector is
                // asked for its task configs once more.
                if let Some(generation) = self.running_generation(name) {
                    let _ = self.events.send(ConnectorEvent::Reconfigure {
                        connector: name.to_owned(),
                        generation,
                    });
                }
            }
            _ => {}
        }
        None
    }

    /// Asks a running connector for fresh task configs. A failure marks the connector FAILED.
    pub fn regenerate_task_configs(&self, name: &str) -> Option<Vec<Props>> {
        // The instance is taken out while the plugin runs, so the map is not locked meanwhile.
        let (mut instance, config, generation) = {
            let mut map = locked(&self.connectors);
            let entry = map.get_mut(name)?;
            (
                entry.instance.take()?,
                entry.config.clone(),
                entry.generation,
            )
        };
        let generated = task_configs::generate(&self.config, &mut instance, name, &config);
        let orphan = match locked(&self.connectors).get_mut(name) {
            Some(entry) if entry.generation == generation && entry.context.is_some() => {
                entry.instance = Some(instance);
                None
            }
            _ => Some(instance),
        };
        if let Some(mut orphan) = orphan {
            // Stopped, replaced or failed meanwhile: nobody else will stop this instance.
            if let Err(e) = orphan.call(&ConnectorRequest::Stop) {
                tracing::warn!(connector = name, error = %e, "connector stop failed");
            }
            return None;
        }
        match generated {
            Ok(configs) => Some(configs),
            Err(e) => {
                let trace = trace("Failed to generate task configs", e);
                self.status.put_connector(name, State::Failed, Some(trace));
                None
            }
        }
    }

    /// Starts one task (stopping the one it replaces) with the connector's and its own raw
    /// configs, resolved here. A failure to start marks the task FAILED.
    pub fn start_task(
        &self,
        id: &ConnectorTaskId,
        connector_config: &Props,
        task_config: &Props,
        target: TargetState,
    ) {
        self.start_task_of_generation(id, connector_config, task_config, target, None)
    }

    /// [`Worker::start_task`] for distributed mode: `generation` is the connector's task-config
    /// generation the configs belong to; with exactly-once support a source task runs
    /// exactly-once for that generation only.
    pub fn start_task_of_generation(
        &self,
        id: &ConnectorTaskId,
        connector_config: &Props,
        task_config: &Props,
        target: TargetState,
        generation: Option<u64>,
    ) {
        self.stop_tasks(std::slice::from_ref(id));
        if target == TargetState::Stopped {
            return;
        }
        let (name, task) = (id.connector.as_str(), id.task);
        let fail = |stage: &str, e: String| {
            self.metrics.record_task_startup(false);
            self.status
                .put_task(name, task, State::Failed, Some(trace(stage, e)));
        };
        let plugin = match self.plugin_for(connector_config) {
            Ok(p) => p,
            Err(e) => return fail("Failed to start task", e),
        };
        self.status.put_task(name, task, State::Unassigned, None);
        let resolved = task_configs::resolved(&self.config, connector_config)
            .and_then(|c| Ok((c, task_configs::resolved(&self.config, task_config)?)));
        let ((resolved_connector, mut secrets), (resolved_task, task_secrets)) = match resolved {
            Ok(configs) => configs,
            Err(e) => return fail("Failed to start task", e),
        };
        secrets.extend(task_secrets);
        // Checked again here, as Java does: the worker's policy may have changed since the
        // config was written.
        let refused = override_policy::errors(self.config.override_policy, &resolved_connector);
        if !refused.is_empty() {
            let list: Vec<String> = refused.iter().map(|(k, m)| format!("{k}: {m}")).collect();
            return fail(
                "Failed to start task",
                format!("Client Config Overrides not allowed: {}", list.join("; ")),
            );
        }
        let mut clients = match clients::task_clients(&self.config, &resolved_connector, name, task)
        {
            Ok(c) => c,
            Err(e) => return fail("Failed to create the task's Kafka clients", e.to_string()),
        };
        let mut offsets = self.offsets.clone();
        let mut exactly_once = None;
        if plugin.manifest.kind == ConnectorKind::Source {
            let settings = SourceSettings::from_props(&resolved_connector);
            if let Some(topics) = self.offset_topics.get() {
                let stores = match topics.stores(settings.offsets_topic.as_deref()) {
                    Ok(s) => s,
                    Err(e) => {
                        return fail(
                            "Failed to open the connector's offsets topic",
                            e.to_string(),
                        )
                    }
                };
                offsets = match topics.store(settings.offsets_topic.as_deref()) {
                    Ok(s) => s,
                    Err(e) => {
                        return fail(
                            "Failed to open the connector's offsets topic",
                            e.to_string(),
                        )
                    }
                };
                if let (Some(coordinator), Some(generation)) = (self.exactly_once.get(), generation)
                {
                    let boundary = match settings.transaction_boundary {
                        TransactionBoundary::Poll => Boundary::Poll,
                        TransactionBoundary::Interval => Boundary::Interval(Duration::from_millis(
                            settings
                                .transaction_boundary_interval_ms
                                .unwrap_or(self.config.offset_flush_interval_ms),
                        )),
                        TransactionBoundary::Connector => {
                            return fail(
                                "Failed to start task",
                                "transaction.boundary=connector: the connector does not define \
                                 transaction boundaries"
                                    .to_owned(),
                            )
                        }
                    };
                    let transactional_id =
                        clients::task_transactional_id(coordinator.group_id(), name, task);
                    clients.producer = match clients::exactly_once_producer(
                        &self.config,
                        &resolved_connector,
                        name,
                        task,
                        &transactional_id,
                    ) {
                        Ok(c) => c,
                        Err(e) => {
                            return fail("Failed to create the task's Kafka clients", e.to_string())
                        }
                    };
                    let (primary, mirror) = stores;
                    let (pre, post) = (Arc::clone(coordinator), Arc::clone(coordinator));
                    let (connector, task_id) = (name.to_owned(), id.clone());
                    exactly_once = Some(ExactlyOnceSpec {
                        boundary,
                        offsets: Arc::new(TopicOffsetWriter { primary, mirror }),
                        preflight: Box::new(move |control| {
                            pre.fence_previous_generation(&connector, control)
                        }),
                        postflight: Box::new(move |control| {
                            post.verify_generation(&task_id, generation, control)
                        }),
                    });
                }
            }
        }
        let metrics = match plugin.manifest.kind {
            ConnectorKind::Source => {
                self.metrics
                    .register_source_task(name, task, exactly_once.is_some())
            }
            ConnectorKind::Sink => self.metrics.register_sink_task(name, task),
        };
        let spec = TaskSpec {
            metrics: metrics.clone(),
            clients,
            connector: name.to_owned(),
            task,
            kind: plugin.manifest.kind,
            connector_config: resolved_connector,
            task_config: resolved_task,
            secrets,
            plugin,
            plugins: self.plugins.clone(),
            worker: self.config.clone(),
            status: self.status.clone(),
            offsets,
            exactly_once,
        };
        match TaskHandle::spawn(spec, target == TargetState::Paused) {
            Ok(handle) => {
                self.metrics.record_task_startup(true);
                let config = task_config.clone();
                let task = WorkerTask {
                    handle,
                    config,
                    metrics,
                };
                locked(&self.tasks).insert(id.clone(), task);
            }
            Err(e) => {
                self.metrics.unregister_task(&metrics);
                fail("Failed to start task thread", e.to_string())
            }
        }
    }

    /// Stops tasks in parallel, sharing one graceful timeout
    /// (`task.shutdown.graceful.timeout.ms`).
    pub fn stop_tasks(&self, ids: &[ConnectorTaskId]) {
        let stopping: Vec<WorkerTask> = {
            let mut tasks = locked(&self.tasks);
            ids.iter().filter_map(|id| tasks.remove(id)).collect()
        };
        if stopping.is_empty() {
            return;
        }
        for task in &stopping {
            task.handle.control.request_stop();
        }
        let graceful = Duration::from_millis(self.config.task_shutdown_graceful_timeout_ms);
        let deadline = Instant::now() + graceful;
        for task in stopping {
            task.handle
                .stop(deadline.saturating_duration_since(Instant::now()));
            self.metrics.unregister_task(&task.metrics);
        }
    }

    /// Ids of the tasks running here.
    pub fn tasks(&self) -> Vec<ConnectorTaskId> {
        locked(&self.tasks).keys().cloned().collect()
    }

    /// Ids of one connector's tasks running here.
    pub fn tasks_of(&self, name: &str) -> Vec<ConnectorTaskId> {
        locked(&self.tasks)
            .keys()
            .filter(|id| id.connector == name)
            .cloned()
            .collect()
    }

    /// The raw config a running task was started with.
    pub fn task_config(&self, id: &ConnectorTaskId) -> Option<Props> {
        locked(&self.tasks).get(id).map(|t| t.config.clone())
    }

    /// Stops every task and connector (shutdown).
    pub fn stop_all(&self) {
        self.stop_tasks(&self.tasks());
        for name in self.connectors() {
            self.stop_connector(&name);
        }
    }
}
