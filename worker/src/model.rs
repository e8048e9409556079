//! The state vocabulary every layer shares: connector and task states, target states, task
//! ids and the status entries the status store keeps. It imports nothing of the worker.

use serde::{Deserialize, Serialize};

/// `source` | `sink` | `unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorType {
    Source,
    Sink,
    Unknown,
}

impl ConnectorType {
    /// The lower-case name: `source`, `sink` or `unknown`.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorType::Source => "source",
            ConnectorType::Sink => "sink",
            ConnectorType::Unknown => "unknown",
        }
    }
}

/// A task's id as `{"connector": …, "task": n}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ConnectorTaskId {
    pub connector: String,
    pub task: u32,
}

impl ConnectorTaskId {
    pub fn new(connector: impl Into<String>, task: u32) -> ConnectorTaskId {
        ConnectorTaskId {
            connector: connector.into(),
            task,
        }
    }
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
