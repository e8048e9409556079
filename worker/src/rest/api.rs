//! What the REST API needs from a herder: the [`Herder`] trait both herders implement, and
//! the errors it answers with (the REST layer maps each kind to its HTTP status).

use std::collections::BTreeMap;
use std::future::Future;

use tributary_connector_api::{ConfigKeyInfo, Props};

use super::entities::*;
use crate::model::{ConnectorOffsets, TargetState, TaskState};
use crate::worker::WorkerError;

/// Why a herder request failed; the REST layer maps each kind to its HTTP status.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HerderError {
    /// 404: unknown connector, task or plugin.
    #[error("{0}")]
    NotFound(String),
    /// 409: the connector already exists.
    #[error("{0}")]
    AlreadyExists(String),
    /// 400: invalid request or config (the message names the offending key).
    #[error("{0}")]
    BadRequest(String),
    /// 409: a rebalance is pending or the request cannot be served now.
    #[error("{0}")]
    Conflict(String),
    /// 403: not allowed by the worker's settings.
    #[error("{0}")]
    Forbidden(String),
    /// The request must be served by another worker: the REST layer forwards it to this URL
    /// (the leader's, or the owning worker's) under the `forward` rules of connect-compat
    /// §1.1. `None`: no leader is known (a rebalance is in progress), which is a 409.
    #[error("request must be forwarded to {}", .0.as_deref().unwrap_or("the leader, which is not known yet"))]
    Forward(Option<String>),
    /// 503: the worker cannot serve this yet (e.g. no session key read yet).
    #[error("{0}")]
    Unavailable(String),
    /// 500: anything else (e.g. an unknown `connector.class` on create).
    #[error("{0}")]
    Internal(String),
}

impl From<WorkerError> for HerderError {
    fn from(e: WorkerError) -> HerderError {
        match e {
            WorkerError::BadRequest(m) => HerderError::BadRequest(m),
            WorkerError::Internal(m) => HerderError::Internal(m),
        }
    }
}

/// The connector lifecycle, as the REST API needs it. Every method answers for one worker's
/// view; names and semantics follow Kafka Connect's herder.
pub trait Herder: Send + Sync + 'static {
    /// `GET /`.
    fn server_info(&self) -> impl Future<Output = ServerInfo> + Send;
    /// `GET /health`.
    fn health(&self) -> impl Future<Output = WorkerStatus> + Send;
    /// `GET /metrics`: this worker's metrics in Prometheus text format.
    fn metrics(&self) -> impl Future<Output = String> + Send;
    /// Connector names, sorted.
    fn connectors(&self) -> impl Future<Output = Vec<String>> + Send;
    fn connector_info(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<ConnectorInfo, HerderError>> + Send;
    fn connector_config(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Props, HerderError>> + Send;
    fn connector_status(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<ConnectorStateInfo, HerderError>> + Send;
    fn task_status(
        &self,
        name: &str,
        task: u32,
    ) -> impl Future<Output = Result<TaskState, HerderError>> + Send;
    fn tasks(&self, name: &str) -> impl Future<Output = Result<Vec<TaskInfo>, HerderError>> + Send;
    /// `GET /connectors/<name>/tasks-config`: keyed `<name>-<n>`.
    fn tasks_config(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<BTreeMap<String, Props>, HerderError>> + Send;
    /// Creates (`allow_replace=false`: 409 if it exists) or replaces a connector's config.
    /// `config` already contains `name`. Invalid configs are `BadRequest` naming each error.
    fn put_connector_config(
        &self,
        name: &str,
        config: Props,
        allow_replace: bool,
        initial_state: Option<TargetState>,
    ) -> impl Future<Output = Result<Upserted, HerderError>> + Send;
    /// KIP-477 patch: `None` removes a key.
    fn patch_connector_config(
        &self,
        name: &str,
        patch: BTreeMap<String, Option<String>>,
    ) -> impl Future<Output = Result<ConnectorInfo, HerderError>> + Send;
    fn delete_connector(&self, name: &str) -> impl Future<Output = Result<(), HerderError>> + Send;
    /// Plain restart (both flags false) returns `None` (REST 204); otherwise the status with
    /// `RESTARTING` for the affected instances (REST 202).
    fn restart_connector(
        &self,
        name: &str,
        include_tasks: bool,
        only_failed: bool,
    ) -> impl Future<Output = Result<Option<ConnectorStateInfo>, HerderError>> + Send;
    fn restart_task(
        &self,
        name: &str,
        task: u32,
    ) -> impl Future<Output = Result<(), HerderError>> + Send;
    fn pause(&self, name: &str) -> impl Future<Output = Result<(), HerderError>> + Send;
    fn resume(&self, name: &str) -> impl Future<Output = Result<(), HerderError>> + Send;
    fn stop(&self, name: &str) -> impl Future<Output = Result<(), HerderError>> + Send;
    fn offsets(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<ConnectorOffsets, HerderError>> + Send;
    /// `PATCH /offsets`; returns the response message.
    fn alter_offsets(
        &self,
        name: &str,
        offsets: ConnectorOffsets,
    ) -> impl Future<Output = Result<String, HerderError>> + Send;
    /// `DELETE /offsets`; returns the response message.
    fn reset_offsets(&self, name: &str)
        -> impl Future<Output = Result<String, HerderError>> + Send;
    /// `GET /connectors/<name>/topics` (KIP-558): the topics this worker knows the connector
    /// used, from its own status store (never forwarded); an unknown connector has none.
    /// `Forbidden` when `topic.tracking.enable=false`.
    fn connector_active_topics(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<Vec<String>, HerderError>> + Send;
    /// `PUT /connectors/<name>/topics/reset`: forgets those topics (tombstones in distributed
    /// mode); nothing happens for an unknown connector. `Forbidden` when tracking is disabled
    /// (checked first) or `topic.tracking.allow.reset=false`.
    fn reset_connector_active_topics(
        &self,
        name: &str,
    ) -> impl Future<Output = Result<(), HerderError>> + Send;
    /// `GET /connector-plugins`.
    fn plugins(&self, connectors_only: bool) -> impl Future<Output = Vec<PluginInfo>> + Send;
    /// `GET /connector-plugins/<plugin>/config` (any class name or alias).
    fn plugin_config(
        &self,
        plugin: &str,
    ) -> impl Future<Output = Result<Vec<ConfigKeyInfo>, HerderError>> + Send;
    /// Full validation of a connector config (`connector.class` must be present).
    fn validate(
        &self,
        config: Props,
    ) -> impl Future<Output = Result<ConfigInfos, HerderError>> + Send;
    /// `POST /connectors/<name>/tasks` (internal): a follower hands the leader the task configs
    /// its connector generated. The default (standalone mode) refuses, as Connect does, with a
    /// 500.
    fn put_task_configs(
        &self,
        name: &str,
        configs: Vec<Props>,
        request: InternalRequest,
    ) -> impl Future<Output = Result<(), HerderError>> + Send {
        let _ = (name, configs, request);
        async {
            Err(HerderError::Internal(
                "This worker does not support externally setting task configurations \
                 (standalone mode)"
                    .to_owned(),
            ))
        }
    }
    /// `PUT /connectors/<name>/fence` (internal, KIP-618): fence out zombie tasks of an
    /// exactly-once source connector before new task configs are written. The default
    /// (standalone mode) refuses with a 500.
    fn fence_zombies(
        &self,
        name: &str,
        request: InternalRequest,
    ) -> impl Future<Output = Result<(), HerderError>> + Send {
        let _ = (name, request);
        async {
            Err(HerderError::Internal(
                "This worker does not support fencing zombie source tasks (standalone mode)"
                    .to_owned(),
            ))
        }
    }
}
