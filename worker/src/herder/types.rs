//! REST entities (field names exactly as Kafka Connect's) and the state vocabulary.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tributary_connector_api::Props;

/// `GET /`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServerInfo {
    pub version: String,
    pub commit: String,
    pub kafka_cluster_id: Option<String>,
}

/// `GET /health`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerStatus {
    /// `healthy` | `starting` | `unhealthy`.
    pub status: String,
    pub message: String,
}

/// `source` | `sink` | `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorType {
    Source,
    Sink,
    Unknown,
}

/// A task's id as `{"connector": …, "task": n}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnectorTaskId {
    pub connector: String,
    pub task: u32,
}

/// `ConnectorInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorInfo {
    pub name: String,
    pub config: Props,
    pub tasks: Vec<ConnectorTaskId>,
    #[serde(rename = "type")]
    pub type_: ConnectorType,
}

/// One entry of `GET /connectors/<name>/tasks`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskInfo {
    pub id: ConnectorTaskId,
    pub config: Props,
}

/// A connector or task state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum State {
    Unassigned,
    Running,
    Paused,
    Stopped,
    Failed,
    Restarting,
}

/// What the user asked a connector to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum TargetState {
    Started,
    Paused,
    Stopped,
}

impl TargetState {
    /// The wire name: `STARTED`, `PAUSED` or `STOPPED`.
    pub fn as_str(self) -> &'static str {
        match self {
            TargetState::Started => "STARTED",
            TargetState::Paused => "PAUSED",
            TargetState::Stopped => "STOPPED",
        }
    }

    /// Parses a wire name (exact, upper case).
    pub fn parse(s: &str) -> Option<TargetState> {
        match s {
            "STARTED" => Some(TargetState::Started),
            "PAUSED" => Some(TargetState::Paused),
            "STOPPED" => Some(TargetState::Stopped),
            _ => None,
        }
    }
}

impl State {
    /// The wire name, e.g. `RUNNING`.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Unassigned => "UNASSIGNED",
            State::Running => "RUNNING",
            State::Paused => "PAUSED",
            State::Failed => "FAILED",
            State::Restarting => "RESTARTING",
            State::Stopped => "STOPPED",
        }
    }

    /// Parses a wire name (exact, upper case).
    pub fn parse(s: &str) -> Option<State> {
        match s {
            "UNASSIGNED" => Some(State::Unassigned),
            "RUNNING" => Some(State::Running),
            "PAUSED" => Some(State::Paused),
            "FAILED" => Some(State::Failed),
            "RESTARTING" => Some(State::Restarting),
            "STOPPED" => Some(State::Stopped),
            _ => None,
        }
    }
}

/// The connector part of `ConnectorStateInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorState {
    pub state: State,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trace: Option<String>,
}

/// One task's status.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskState {
    pub id: u32,
    pub state: State,
    pub worker_id: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub trace: Option<String>,
}

/// `GET /connectors/<name>/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorStateInfo {
    pub name: String,
    pub connector: ConnectorState,
    pub tasks: Vec<TaskState>,
    #[serde(rename = "type")]
    pub type_: ConnectorType,
}

/// One partition's offset in `ConnectorOffsets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffset {
    pub partition: serde_json::Map<String, serde_json::Value>,
    pub offset: Option<serde_json::Map<String, serde_json::Value>>,
}

/// `GET/PATCH /connectors/<name>/offsets`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConnectorOffsets {
    pub offsets: Vec<ConnectorOffset>,
}

/// `PluginInfo`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PluginInfo {
    pub class: String,
    /// `sink` | `source` | `converter` | `header_converter` | `transformation` | `predicate`.
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version: Option<String>,
}

/// `POST /connectors` body.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreateConnectorRequest {
    pub name: Option<String>,
    #[serde(default)]
    pub config: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    pub initial_state: Option<String>,
}
