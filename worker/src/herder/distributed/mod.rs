//! The distributed herder: workers sharing a `group.id` split connectors and tasks through the
//! Connect group protocol and keep configs, offsets and statuses in Kafka (connect-compat §2,
//! §7).
//!
//! * [`membership`] joins the group, computes assignments when this worker leads, and
//!   heartbeats; every rebalance ends in [`LocalWork::reconcile`].
//! * The config topic is read continuously; changes reconcile local work and, when the set of
//!   connectors or tasks changes, ask for a rebalance.
//! * REST writes that only the leader may make return [`HerderError::Forward`] with the
//!   leader's URL on other workers; the REST layer forwards them.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use tokio::sync::Notify;
use tributary_connector_api::abi::ConnectorKind;
use tributary_connector_api::{ConfigKeyInfo, Props};

use super::reconfigure::{self, ContextRequests};
use super::validation;
use crate::config::connector as cc;
use crate::config::distributed::DistributedConfig;
use crate::config::WorkerConfig;
use crate::coordination::protocol::ConnectProtocol;
use crate::model::*;
use crate::plugins::PluginRegistry;
use crate::rest::api::*;
use crate::rest::entities::*;
use crate::storage::config_topic::ConfigStore;
use crate::storage::connector_offsets::OffsetTopics;
use crate::storage::internal_records::{ConfigChange, ConfigRecord, ConfigState};
use crate::storage::log_tail::LogTail;
use crate::storage::offsets_topic::KafkaOffsetStore;
use crate::storage::{OffsetStore, StatusStore};
use crate::worker::Worker;

mod fencing;
mod local;
pub mod membership;

pub use local::{LocalWork, NewTaskConfigs};

/// How long REST writes wait for the config topic to be read back.
const READ_TIMEOUT: Duration = Duration::from_secs(30);

/// This worker's view of the group, from the last completed rebalance.
#[derive(Debug, Clone)]
pub struct GroupView {
    /// The leader's REST URL; `None` before the first assignment.
    pub leader_url: Option<String>,
    pub is_leader: bool,
    /// The sub-protocol the coordinator chose.
    pub protocol: ConnectProtocol,
    /// Leader only: the REST URL of the worker that owns each connector (task −1) and task.
    pub owners: BTreeMap<(String, i32), String>,
}

/// Everything the distributed herder shares with its background loops.
pub struct DistributedHerder {
    config: Arc<WorkerConfig>,
    worker: Arc<Worker>,
    dist: DistributedConfig,
    plugins: Arc<PluginRegistry>,
    configs: Arc<ConfigStore>,
    status: Arc<StatusStore>,
    _status_tail: LogTail,
    /// This worker's advertised REST URL, e.g. `http://10.0.0.5:8083/`.
    url: String,
    cluster_id: Option<String>,
    group: Mutex<GroupView>,
    local: tokio::sync::Mutex<LocalWork>,
    /// Asks the membership loop to rejoin the group.
    rejoin: Notify,
    ready: AtomicBool,
    http: reqwest::Client,
    /// The last publication of task configs started per connector: a retrying one gives up
    /// once a newer one started, so older configs never land after newer ones.
    publications: Mutex<BTreeMap<String, u64>>,
    /// Leader: one zombie fencing at a time (KIP-618).
    fencing: tokio::sync::Mutex<()>,
    /// The tasks assigned to this worker, as of the last assignment (read by starting
    /// exactly-once tasks without waiting for the local-work lock).
    owned_now: Mutex<BTreeSet<ConnectorTaskId>>,
}

fn not_found(name: &str) -> HerderError {
    HerderError::NotFound(format!("Connector {name} not found"))
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

fn internal(e: impl std::fmt::Display) -> HerderError {
    HerderError::Internal(e.to_string())
}

/// The parts a [`DistributedHerder`] is built from (opened by `crate::distributed`).
pub struct Parts {
    pub worker: Arc<WorkerConfig>,
    pub dist: DistributedConfig,
    pub plugins: Arc<PluginRegistry>,
    pub configs: Arc<ConfigStore>,
    pub offsets: Arc<KafkaOffsetStore>,
    /// The worker's offsets topic and the connectors' own ones (`offsets.storage.topic`).
    pub offset_topics: Arc<OffsetTopics>,
    pub status: Arc<StatusStore>,
    pub status_tail: LogTail,
    pub cluster_id: Option<String>,
    /// The client for requests to other workers (TLS per `listeners.https.*`).
    pub http: reqwest::Client,
}

impl DistributedHerder {
    pub fn new(parts: Parts) -> Arc<DistributedHerder> {
        let url = parts.worker.rest.advertised_url.clone();
        let protocol = match parts.dist.protocol {
            crate::config::distributed::ProtocolChoice::Eager => ConnectProtocol::Eager,
            crate::config::distributed::ProtocolChoice::Compatible => ConnectProtocol::Compatible,
            crate::config::distributed::ProtocolChoice::Sessioned => ConnectProtocol::Sessioned,
        };
        let offsets: Arc<dyn OffsetStore> = parts.offsets.clone();
        let worker = Worker::new(
            parts.worker.clone(),
            parts.plugins.clone(),
            parts.status.clone(),
            offsets,
        );
        worker.set_offset_topics(parts.offset_topics.clone());
        let exactly_once = parts.dist.exactly_once_source.enabled();
        let group_id = parts.dist.group_id.clone();
        Arc::new_cyclic(|herder| {
            if exactly_once {
                worker.set_exactly_once(Arc::new(fencing::Coordinator {
                    herder: herder.clone(),
                    group_id,
                    runtime: tokio::runtime::Handle::current(),
                }));
            }
            DistributedHerder {
                local: tokio::sync::Mutex::new(LocalWork::new(worker.clone())),
                worker,
                config: parts.worker,
                dist: parts.dist,
                plugins: parts.plugins,
                configs: parts.configs,
                status: parts.status,
                _status_tail: parts.status_tail,
                url,
                cluster_id: parts.cluster_id,
                group: Mutex::new(GroupView {
                    leader_url: None,
                    is_leader: false,
                    protocol,
                    owners: BTreeMap::new(),
                }),
                rejoin: Notify::new(),
                ready: AtomicBool::new(false),
                http: parts.http,
                publications: Mutex::new(BTreeMap::new()),
                fencing: tokio::sync::Mutex::new(()),
                owned_now: Mutex::new(BTreeSet::new()),
            }
        })
    }

    /// Records the tasks the last assignment gave this worker.
    pub(super) fn publish_owned(&self, tasks: &BTreeSet<ConnectorTaskId>) {
        *self.owned_now.lock().unwrap_or_else(|p| p.into_inner()) = tasks.clone();
    }

    /// Whether the last assignment gave this worker the task.
    fn owns_task_now(&self, id: &ConnectorTaskId) -> bool {
        self.owned_now
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .contains(id)
    }

    /// The exactly-once checks of connector validation on this worker.
    fn eos_checks(&self) -> validation::ExactlyOnceChecks {
        validation::ExactlyOnceChecks {
            worker_enabled: self.dist.exactly_once_source.enabled(),
        }
    }

    /// This worker's advertised REST URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn group(&self) -> GroupView {
        self.group.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn update_group(&self, f: impl FnOnce(&mut GroupView)) {
        f(&mut self.group.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// Ok if this worker leads the group; otherwise where to forward.
    fn require_leader(&self) -> Result<(), HerderError> {
        let g = self.group();
        if g.is_leader {
            Ok(())
        } else {
            Err(HerderError::Forward(g.leader_url))
        }
    }

    /// Reads the config topic to the end and returns the state.
    async fn fresh_state(&self) -> Result<ConfigState, HerderError> {
        self.configs
            .read_to_end(READ_TIMEOUT)
            .await
            .map_err(|e| HerderError::Internal(format!("cannot read the config topic: {e}")))?;
        Ok(self.configs.snapshot())
    }

    /// [`Self::fresh_state`], 404 unless the connector exists.
    async fn fresh_state_of(&self, name: &str) -> Result<ConfigState, HerderError> {
        let state = self.fresh_state().await?;
        if state.contains(name) {
            Ok(state)
        } else {
            Err(not_found(name))
        }
    }

    /// Pause and resume: any worker writes the target state of an existing connector.
    async fn write_target_state(&self, name: &str, target: TargetState) -> Result<(), HerderError> {
        self.fresh_state_of(name).await?;
        self.write(&[ConfigRecord::TargetState {
            connector: name.to_owned(),
            state: Some(target),
        }])
        .await
    }

    async fn write(&self, records: &[ConfigRecord]) -> Result<(), HerderError> {
        self.configs
            .write_and_read(records, READ_TIMEOUT)
            .await
            .map_err(|e| HerderError::Internal(format!("cannot write the config topic: {e}")))
    }

    /// A write only the leader makes: transactional when `exactly.once.source.support` is
    /// `preparing` or `enabled` (KIP-618), then read back.
    async fn write_as_leader(&self, records: &[ConfigRecord]) -> Result<(), HerderError> {
        self.configs
            .write_as_leader_and_read(records, READ_TIMEOUT)
            .await
            .map_err(|e| HerderError::Internal(format!("cannot write the config topic: {e}")))
    }

    fn kind_of(&self, config: &Props) -> ConnectorType {
        let class = config
            .get(cc::CONNECTOR_CLASS)
            .map(String::as_str)
            .unwrap_or("");
        match self.plugins.resolve(class).map(|p| p.manifest.kind) {
            Ok(ConnectorKind::Source) => ConnectorType::Source,
            Ok(ConnectorKind::Sink) => ConnectorType::Sink,
            Err(_) => ConnectorType::Unknown,
        }
    }

    fn info(&self, name: &str, state: &ConfigState) -> Result<ConnectorInfo, HerderError> {
        let config = state
            .connector_config(name)
            .ok_or_else(|| not_found(name))?;
        Ok(ConnectorInfo {
            name: name.to_owned(),
            config: config.clone(),
            tasks: (0..state.task_configs(name).len() as u32)
                .map(|task| ConnectorTaskId {
                    connector: name.to_owned(),
                    task,
                })
                .collect(),
            type_: self.kind_of(config),
        })
    }

    fn state_info(
        &self,
        name: &str,
        state: &ConfigState,
    ) -> Result<ConnectorStateInfo, HerderError> {
        let config = state.connector_config(name).ok_or_else(|| {
            HerderError::NotFound(format!("No status found for connector {name}"))
        })?;
        let connector = self.status.connector(name).ok_or_else(|| {
            HerderError::NotFound(format!("No status found for connector {name}"))
        })?;
        let count = state.task_configs(name).len() as u32;
        Ok(ConnectorStateInfo {
            name: name.to_owned(),
            connector,
            tasks: self
                .status
                .tasks(name)
                .into_iter()
                .filter(|t| t.id < count)
                .collect(),
            type_: self.kind_of(config),
        })
    }

    /// Starts acting on what the connectors running here ask through their contexts (task
    /// reconfigurations, errors). Needs the Tokio runtime.
    pub fn handle_connector_requests(self: &Arc<Self>) {
        reconfigure::spawn(self);
    }

    /// Marks the worker ready for `/health` (after its first assignment).
    pub fn set_ready(&self) {
        self.ready.store(true, Ordering::SeqCst);
    }

    /// Asks the membership loop for a rebalance.
    pub fn request_rebalance(&self) {
        self.rejoin.notify_one();
    }

    /// Brings local work in line with ownership and config, then publishes any task configs
    /// the connectors generated.
    pub async fn reconcile(self: &Arc<Self>) {
        let publish = {
            let mut local = self.local.lock().await;
            let state = self.configs.snapshot();
            local.reconcile(&state)
        };
        for new in publish {
            self.publish_task_configs(new);
        }
    }

    /// Hands new task configs to the leader (in the background, retrying while the group
    /// settles).
    fn publish_task_configs(self: &Arc<Self>, new: NewTaskConfigs) {
        let herder = Arc::clone(self);
        let publication = {
            let mut all = self.publications.lock().unwrap_or_else(|p| p.into_inner());
            let n = all.entry(new.connector.clone()).or_insert(0);
            *n += 1;
            *n
        };
        tokio::spawn(async move {
            let mut delay = Duration::from_millis(100);
            for attempt in 0..20 {
                if herder.superseded(&new.connector, publication) {
                    tracing::info!(connector = %new.connector, "newer task configs are being published; dropping older ones");
                    return;
                }
                match herder.send_task_configs(&new).await {
                    Ok(()) => return,
                    Err(e) => {
                        tracing::warn!(connector = %new.connector, attempt, error = %e, "cannot publish task configs yet");
                    }
                }
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(2));
            }
            tracing::error!(connector = %new.connector, "gave up publishing task configs");
        });
    }

    /// Whether a publication of task configs newer than `publication` started for `connector`.
    fn superseded(&self, connector: &str, publication: u64) -> bool {
        self.publications
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(connector)
            .is_some_and(|n| *n != publication)
    }

    async fn send_task_configs(&self, new: &NewTaskConfigs) -> Result<(), String> {
        let g = self.group();
        if g.is_leader {
            return self
                .write_task_configs(&new.connector, &new.configs)
                .await
                .map_err(|e| e.to_string());
        }
        let Some(leader) = g.leader_url else {
            return Err("no leader known yet".into());
        };
        let mut url = reqwest::Url::parse(&leader).map_err(|e| e.to_string())?;
        url.path_segments_mut()
            .map_err(|_| format!("bad leader URL {leader}"))?
            .pop_if_empty()
            .extend(["connectors", new.connector.as_str(), "tasks"]);
        let body = serde_json::to_vec(&new.configs).map_err(|e| e.to_string())?;
        let mut request = self
            .http
            .post(url)
            .timeout(crate::rest::REQUEST_TIMEOUT)
            .header("Content-Type", "application/json");
        if g.protocol == ConnectProtocol::Sessioned {
            let key = self
                .session_key()
                .ok_or_else(|| "no session key read yet".to_owned())?;
            let algorithm = &self.dist.signature_algorithm;
            let signature =
                crate::rest::signing::sign(&key, algorithm, &body).map_err(|e| e.to_string())?;
            request = request
                .header(crate::rest::signing::SIGNATURE_HEADER, signature)
                .header(crate::rest::signing::ALGORITHM_HEADER, algorithm.as_str());
        }
        let response = request.body(body).send().await.map_err(|e| e.to_string())?;
        if response.status().is_success() {
            Ok(())
        } else {
            let status = response.status();
            Err(format!(
                "leader answered {status}: {}",
                response.text().await.unwrap_or_default()
            ))
        }
    }

    /// The session key's bytes, if one has been read.
    fn session_key(&self) -> Option<Vec<u8>> {
        let key = self.configs.with(|s| s.session_key().cloned())?;
        base64::engine::general_purpose::STANDARD
            .decode(key.key_base64)
            .ok()
    }

    /// Leader: writes task configs and their commit, unless they are already in force.
    async fn write_task_configs(&self, name: &str, configs: &[Props]) -> Result<(), HerderError> {
        let state = self.fresh_state_of(name).await?;
        if state.task_configs(name) == configs
            && !state.inconsistent().contains(name)
            && state.task_count(name).is_some()
        {
            return Ok(());
        }
        let mut records: Vec<ConfigRecord> = configs
            .iter()
            .enumerate()
            .map(|(i, props)| ConfigRecord::Task {
                connector: name.to_owned(),
                task: i as u32,
                props: Some(props.clone()),
            })
            .collect();
        records.push(ConfigRecord::Commit {
            connector: name.to_owned(),
            tasks: configs.len() as u32,
        });
        tracing::info!(
            connector = name,
            tasks = configs.len(),
            "writing task configs"
        );
        self.write_as_leader(&records).await
    }

    /// Leader: writes a new session key when there is none or it has expired.
    pub async fn ensure_session_key(&self) -> Result<(), HerderError> {
        let g = self.group();
        if !g.is_leader || g.protocol != ConnectProtocol::Sessioned {
            return Ok(());
        }
        let current = self.configs.with(|s| s.session_key().cloned());
        let fresh = current.is_some_and(|k| {
            k.algorithm == self.dist.signature_algorithm
                && now_ms() < k.creation_timestamp + self.dist.key_ttl_ms as i64
        });
        if fresh {
            return Ok(());
        }
        let algorithm = self.dist.signature_algorithm.clone();
        let key = crate::rest::signing::generate_key(&algorithm, None).map_err(internal)?;
        tracing::info!("writing a new session key");
        self.write_as_leader(&[ConfigRecord::SessionKey {
            key_base64: base64::engine::general_purpose::STANDARD.encode(key),
            algorithm,
            creation_timestamp: now_ms(),
        }])
        .await
    }

    /// Acts on restart requests read from the config topic for work this worker owns.
    async fn handle_restarts(self: &Arc<Self>) {
        let requests = self.configs.with(|s| s.take_restart_requests());
        if requests.is_empty() {
            return;
        }
        let mut publish = Vec::new();
        {
            let mut local = self.local.lock().await;
            let state = self.configs.snapshot();
            for r in requests {
                let failed = |s: Option<State>| s == Some(State::Failed);
                if local.owns_connector(&r.connector)
                    && (!r.only_failed
                        || failed(self.status.connector(&r.connector).map(|c| c.state)))
                {
                    self.status
                        .put_connector(&r.connector, State::Restarting, None);
                    publish.extend(local.restart_connector(&r.connector, &state));
                }
                if r.include_tasks {
                    let owned: Vec<ConnectorTaskId> = local
                        .owned_tasks
                        .iter()
                        .filter(|id| id.connector == r.connector)
                        .cloned()
                        .collect();
                    for id in owned {
                        let status = self.status.task(&id.connector, id.task);
                        if !r.only_failed || failed(status.map(|t| t.state)) {
                            self.status
                                .put_task(&id.connector, id.task, State::Restarting, None);
                            local.restart_task(&id, &state);
                        }
                    }
                }
            }
        }
        for new in publish {
            self.publish_task_configs(new);
        }
    }

    /// Follows the config topic: reconciles local work and asks for rebalances.
    pub async fn watch_config(
        self: Arc<Self>,
        mut changes: tokio::sync::mpsc::UnboundedReceiver<ConfigChange>,
    ) {
        let mut known: BTreeSet<String> =
            self.configs.snapshot().connectors().into_iter().collect();
        while let Some(first) = changes.recv().await {
            let mut batch = vec![first];
            while let Ok(more) = changes.try_recv() {
                batch.push(more);
            }
            let (mut rebalance, mut reconcile, mut restarts) = (false, false, false);
            let mut regenerate = Vec::new();
            for change in batch {
                match change {
                    ConfigChange::ConnectorUpdated(name) => {
                        rebalance |= known.insert(name);
                        reconcile = true;
                    }
                    ConfigChange::ConnectorRemoved(name) => {
                        known.remove(&name);
                        rebalance = true;
                        reconcile = true;
                    }
                    ConfigChange::TasksCommitted {
                        connector,
                        consistent,
                    } => {
                        rebalance = true;
                        reconcile = true;
                        if !consistent {
                            regenerate.push(connector);
                        }
                    }
                    ConfigChange::TargetStateChanged(_) => reconcile = true,
                    ConfigChange::RestartRequested(_) => restarts = true,
                    _ => {}
                }
            }
            if reconcile {
                self.reconcile().await;
            }
            for name in regenerate {
                let new = {
                    let mut local = self.local.lock().await;
                    let state = self.configs.snapshot();
                    local.regenerate(&name, &state)
                };
                if let Some(new) = new {
                    self.publish_task_configs(new);
                }
            }
            if restarts {
                self.handle_restarts().await;
            }
            if rebalance {
                self.request_rebalance();
            }
        }
    }

    /// Stops every local connector and task (graceful shutdown; the caller leaves the group).
    pub async fn stop_local_work(&self) {
        let mut local = self.local.lock().await;
        self.publish_owned(&BTreeSet::new());
        local.stop_all();
        local.owned_connectors.clear();
        local.owned_tasks.clear();
    }

    /// Restarts are read back from the config topic; the ones present at startup are old.
    pub fn discard_old_requests(&self) {
        self.configs.with(|s| {
            s.take_restart_requests();
            s.take_logger_levels();
        });
    }
}

impl ContextRequests for DistributedHerder {
    fn worker(&self) -> &Arc<Worker> {
        &self.worker
    }

    /// As Java's `DistributedHerder.reconfigureConnector`: the worker running the connector
    /// asks it for task configs and, when they differ from the committed ones, the leader
    /// writes them (this worker, or the leader it forwards them to with
    /// `POST /connectors/<name>/tasks`); the config topic then restarts the tasks everywhere.
    async fn reconfigure(self: &Arc<Self>, name: &str) {
        let new = {
            let mut local = self.local.lock().await;
            let state = self.configs.snapshot();
            if !state.contains(name) {
                tracing::debug!(
                    connector = name,
                    "reconfiguration of a deleted connector; ignored"
                );
                return;
            }
            if state.target_state(name) != Some(TargetState::Started)
                || !local.owns_connector(name)
                || !self.worker.connector_running(name)
            {
                tracing::info!(
                    connector = name,
                    "skipping task reconfiguration of a connector that is not running here"
                );
                return;
            }
            local.regenerate(name, &state)
        };
        match new {
            Some(new) => {
                tracing::info!(
                    connector = name,
                    tasks = new.configs.len(),
                    leader = self.group().is_leader,
                    "task configs changed; publishing them"
                );
                self.publish_task_configs(new);
            }
            None => tracing::debug!(connector = name, "task configs unchanged"),
        }
    }

    async fn raise_error(self: &Arc<Self>, name: &str, generation: u64, message: &str) {
        // Under the local-work lock, so no reconcile or restart runs meanwhile.
        let _local = self.local.lock().await;
        validation::blocking(|| self.worker.fail_connector(name, generation, message));
    }
}

impl Herder for DistributedHerder {
    async fn server_info(&self) -> ServerInfo {
        crate::rest::entities::server_info(self.cluster_id.clone())
    }

    async fn health(&self) -> WorkerStatus {
        crate::rest::entities::health(self.ready.load(Ordering::SeqCst), self.local.lock()).await
    }

    async fn metrics(&self) -> String {
        self.worker.render_metrics()
    }

    async fn connectors(&self) -> Vec<String> {
        self.configs.snapshot().connectors()
    }

    async fn connector_info(&self, name: &str) -> Result<ConnectorInfo, HerderError> {
        self.info(name, &self.configs.snapshot())
    }

    async fn connector_config(&self, name: &str) -> Result<Props, HerderError> {
        self.configs
            .with(|s| s.connector_config(name).cloned())
            .ok_or_else(|| not_found(name))
    }

    async fn connector_status(&self, name: &str) -> Result<ConnectorStateInfo, HerderError> {
        self.state_info(name, &self.configs.snapshot())
    }

    async fn task_status(&self, name: &str, task: u32) -> Result<TaskState, HerderError> {
        self.status
            .task(name, task)
            .ok_or_else(|| HerderError::NotFound(format!("No status found for task {name}-{task}")))
    }

    async fn tasks(&self, name: &str) -> Result<Vec<TaskInfo>, HerderError> {
        let state = self.configs.snapshot();
        if !state.contains(name) {
            return Err(not_found(name));
        }
        Ok(state
            .task_configs(name)
            .into_iter()
            .enumerate()
            .map(|(i, config)| TaskInfo {
                id: ConnectorTaskId {
                    connector: name.to_owned(),
                    task: i as u32,
                },
                config,
            })
            .collect())
    }

    async fn tasks_config(&self, name: &str) -> Result<BTreeMap<String, Props>, HerderError> {
        let state = self.configs.snapshot();
        if !state.contains(name) {
            return Err(not_found(name));
        }
        Ok(state
            .task_configs(name)
            .into_iter()
            .enumerate()
            .map(|(i, c)| (format!("{name}-{i}"), c))
            .collect())
    }

    async fn put_connector_config(
        &self,
        name: &str,
        config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> Result<Upserted, HerderError> {
        validation::check_name(name)?;
        self.require_leader()?;
        let state = self.fresh_state().await?;
        let exists = state.contains(name);
        if exists && !allow_replace {
            return Err(HerderError::AlreadyExists(format!(
                "Connector {name} already exists"
            )));
        }
        validation::validate_for_write(
            &self.config,
            &self.plugins,
            &config,
            Some(self.eos_checks()),
        )?;
        let mut records = Vec::new();
        if !exists {
            if let Some(target) = initial_state {
                records.push(ConfigRecord::TargetState {
                    connector: name.to_owned(),
                    state: Some(target),
                });
            }
        }
        records.push(ConfigRecord::Connector {
            name: name.to_owned(),
            props: Some(config),
        });
        self.write_as_leader(&records).await?;
        let info = self.info(name, &self.configs.snapshot())?;
        Ok(Upserted {
            created: !exists,
            info,
        })
    }

    async fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> Result<ConnectorInfo, HerderError> {
        self.require_leader()?;
        let state = self.fresh_state().await?;
        let config = state
            .connector_config(name)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        let config = validation::patched(config, patch, name)?;
        self.put_connector_config(name, config, true, None)
            .await
            .map(|u| u.info)
    }

    async fn delete_connector(&self, name: &str) -> Result<(), HerderError> {
        self.require_leader()?;
        self.fresh_state_of(name).await?;
        self.write_as_leader(&[
            ConfigRecord::Connector {
                name: name.to_owned(),
                props: None,
            },
            ConfigRecord::TargetState {
                connector: name.to_owned(),
                state: None,
            },
        ])
        .await?;
        self.status.remove_connector(name);
        Ok(())
    }

    async fn connector_active_topics(&self, name: &str) -> Result<Vec<String>, HerderError> {
        super::topics::active_topics(&self.config, &self.status, name)
    }

    async fn reset_connector_active_topics(&self, name: &str) -> Result<(), HerderError> {
        super::topics::reset_active_topics(&self.config, &self.status, name)
    }

    async fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> Result<Option<ConnectorStateInfo>, HerderError> {
        self.require_leader()?;
        let state = self.fresh_state_of(name).await?;
        let reply = if include_tasks || only_failed {
            let mut reply = self.state_info(name, &state)?;
            if !only_failed || reply.connector.state == State::Failed {
                reply.connector.state = State::Restarting;
            }
            if include_tasks {
                for t in reply.tasks.iter_mut() {
                    if !only_failed || t.state == State::Failed {
                        t.state = State::Restarting;
                    }
                }
            }
            Some(reply)
        } else {
            None
        };
        self.write_as_leader(&[ConfigRecord::RestartRequest {
            connector: name.to_owned(),
            include_tasks,
            only_failed,
        }])
        .await?;
        Ok(reply)
    }

    async fn restart_task(&self, name: &str, task: u32) -> Result<(), HerderError> {
        let state = self.configs.snapshot();
        if !state.contains(name) {
            return Err(not_found(name));
        }
        if task as usize >= state.task_configs(name).len() {
            return Err(HerderError::NotFound(format!(
                "Task {name}-{task} not found"
            )));
        }
        {
            let mut local = self.local.lock().await;
            if local.owns_task(name, task) {
                local.restart_task(&ConnectorTaskId::new(name, task), &state);
                return Ok(());
            }
        }
        let g = self.group();
        if !g.is_leader {
            return Err(HerderError::Forward(g.leader_url));
        }
        match g.owners.get(&(name.to_owned(), task as i32)) {
            Some(url) if *url != self.url => Err(HerderError::Forward(Some(url.clone()))),
            _ => Err(HerderError::Conflict(format!(
                "Task {name}-{task} is not assigned to any worker yet; a rebalance is in progress"
            ))),
        }
    }

    async fn pause(&self, name: &str) -> Result<(), HerderError> {
        self.write_target_state(name, TargetState::Paused).await
    }

    async fn resume(&self, name: &str) -> Result<(), HerderError> {
        self.write_target_state(name, TargetState::Started).await
    }

    async fn stop(&self, name: &str) -> Result<(), HerderError> {
        self.require_leader()?;
        self.fresh_state_of(name).await?;
        self.write_as_leader(&[
            ConfigRecord::Commit {
                connector: name.to_owned(),
                tasks: 0,
            },
            ConfigRecord::TargetState {
                connector: name.to_owned(),
                state: Some(TargetState::Stopped),
            },
        ])
        .await
    }

    async fn offsets(&self, name: &str) -> Result<ConnectorOffsets, HerderError> {
        let config = self
            .configs
            .with(|s| s.connector_config(name).cloned())
            .ok_or_else(|| not_found(name))?;
        let kind = self.kind_of(&config);
        Ok(validation::blocking(|| {
            self.worker.read_offsets(kind, name, &config)
        })?)
    }

    async fn alter_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> Result<String, HerderError> {
        self.require_leader()?;
        let state = self.fresh_state().await?;
        let config = state
            .connector_config(name)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        let stopped = state.target_state(name) == Some(TargetState::Stopped)
            && state.task_count(name).unwrap_or(0) == 0;
        validation::require_stopped(stopped, name)?;
        let kind = self.kind_of(&config);
        Ok(validation::blocking(|| {
            self.worker.alter_offsets(kind, name, &config, offsets)
        })?)
    }

    async fn reset_offsets(&self, name: &str) -> Result<String, HerderError> {
        self.require_leader()?;
        let state = self.fresh_state().await?;
        let config = state
            .connector_config(name)
            .cloned()
            .ok_or_else(|| not_found(name))?;
        let stopped = state.target_state(name) == Some(TargetState::Stopped)
            && state.task_count(name).unwrap_or(0) == 0;
        validation::require_stopped(stopped, name)?;
        let kind = self.kind_of(&config);
        Ok(self.worker.reset_offsets(kind, name, &config).await?)
    }

    async fn plugins(&self, connectors_only: bool) -> Vec<PluginInfo> {
        validation::plugin_list(&self.plugins, connectors_only)
    }

    async fn plugin_config(&self, plugin: &str) -> Result<Vec<ConfigKeyInfo>, HerderError> {
        validation::plugin_config(&self.plugins, plugin)
    }

    async fn validate(&self, config: Props) -> Result<ConfigInfos, HerderError> {
        validation::validate(
            &self.config,
            &self.plugins,
            &config,
            Some(self.eos_checks()),
        )
        .map(|(infos, _)| infos)
    }

    async fn put_task_configs(
        &self,
        name: &str,
        configs: Vec<Props>,
        request: InternalRequest,
    ) -> Result<(), HerderError> {
        let g = self.group();
        if g.protocol == ConnectProtocol::Sessioned {
            let key = self.session_key();
            crate::rest::signing::verify(
                key.as_deref(),
                &self.dist.verification_algorithms,
                request.algorithm.as_deref(),
                request.signature.as_deref(),
                &request.body,
            )?;
        }
        self.require_leader()?;
        self.write_task_configs(name, &configs).await
    }

    async fn fence_zombies(&self, name: &str, request: InternalRequest) -> Result<(), HerderError> {
        if !self.dist.exactly_once_source.enabled() {
            return Err(fencing::not_enabled(name));
        }
        if self.group().protocol == ConnectProtocol::Sessioned {
            let key = self.session_key();
            crate::rest::signing::verify(
                key.as_deref(),
                &self.dist.verification_algorithms,
                request.algorithm.as_deref(),
                request.signature.as_deref(),
                &request.body,
            )?;
        }
        self.fence_as_leader(name).await
    }
}
