//! Records of Kafka Connect's three internal topics (distributed mode), byte-compatible with
//! Java workers: the config topic (keys, values and the reading state machine), the status
//! topic (keys and values) and the offsets topic (keys and values), plus Java's murmur2
//! partitioner so keyed writes land on the partition a Java producer would choose.
//!
//! Values are written like Kafka's `JsonConverter` with `schemas.enable=false` writes them:
//! compact JSON, struct fields in schema order, control characters escaped as Jackson does
//! (`\n`-style short escapes, otherwise `\u00XX` with upper-case hex) and doubles formatted like
//! Java's `Double.toString`. Reading is as lenient as Java's reader: integers may be any JSON
//! integer that fits, unknown fields are ignored.
//!
//! This module is self-contained (no other crate modules) and does no I/O.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

/// A connector or task configuration.
pub type Props = BTreeMap<String, String>;

/// A record could not be decoded. The reader logs it and skips the record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The key has a known prefix but cannot be parsed (e.g. `task-x` without a task number).
    #[error("invalid record key {key:?}: {reason}")]
    InvalidKey { key: String, reason: String },
    /// The value is not valid JSON or does not have the expected shape.
    #[error("invalid value for {key:?}: {reason}")]
    InvalidValue { key: String, reason: String },
    /// A tombstone where the record type has no delete meaning (commit, session key, ...).
    #[error("unexpected tombstone for {key:?}")]
    UnexpectedTombstone { key: String },
}

fn invalid_value(key: &str, reason: impl Into<String>) -> RecordError {
    RecordError::InvalidValue {
        key: key.to_string(),
        reason: reason.into(),
    }
}

// ---------------------------------------------------------------------------------------------
// States
// ---------------------------------------------------------------------------------------------

pub use crate::model::{State, TargetState};

// ---------------------------------------------------------------------------------------------
// JSON writing (Jackson-compatible compact output)
// ---------------------------------------------------------------------------------------------

/// Serializes a JSON value compactly, as Jackson (behind Kafka's `JsonConverter`) would.
pub fn to_java_json(value: &Value) -> Vec<u8> {
    let mut out = String::new();
    write_value(&mut out, value);
    out.into_bytes()
}

fn write_value(out: &mut String, value: &Value) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(out, item);
            }
            out.push(']');
        }
        Value::Object(map) => write_map(out, map),
    }
}

fn write_map(out: &mut String, map: &Map<String, Value>) {
    out.push('{');
    for (i, (k, v)) in map.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        write_value(out, v);
    }
    out.push('}');
}

/// Writes `{"f1":v1,"f2":v2,…}` with the fields in the given (schema) order.
fn write_struct_into(out: &mut String, fields: &[(&str, Value)]) {
    out.push('{');
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_string(out, k);
        out.push(':');
        write_value(out, v);
    }
    out.push('}');
}

fn write_struct(fields: &[(&str, Value)]) -> Vec<u8> {
    let mut out = String::new();
    write_struct_into(&mut out, fields);
    out.into_bytes()
}

fn write_string(out: &mut String, s: &str) {
    tributary_connector_api::java_text::push_json_str(out, s);
}

fn write_number(out: &mut String, n: &serde_json::Number) {
    if let Some(i) = n.as_i64() {
        out.push_str(&i.to_string());
    } else if let Some(u) = n.as_u64() {
        out.push_str(&u.to_string());
    } else if let Some(f) = n.as_f64() {
        tributary_connector_api::java_text::push_f64(out, f);
    } else {
        out.push_str(&n.to_string());
    }
}

fn props_value(props: &Props) -> Value {
    Value::Object(
        props
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

// ---------------------------------------------------------------------------------------------
// JSON reading helpers
// ---------------------------------------------------------------------------------------------

/// Parses a record value; `None` for a tombstone (null value or the JSON literal `null`).
fn parse_value(key: &str, value: Option<&[u8]>) -> Result<Option<Value>, RecordError> {
    let Some(bytes) = value else {
        return Ok(None);
    };
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Null) => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(e) => Err(invalid_value(key, format!("not JSON: {e}"))),
    }
}

fn as_object<'a>(key: &str, value: &'a Value) -> Result<&'a Map<String, Value>, RecordError> {
    value
        .as_object()
        .ok_or_else(|| invalid_value(key, format!("expected a JSON object, got {value}")))
}

/// An integer field (JSON integer of any width) that must fit the target type.
fn int_field<T: TryFrom<i64>>(
    key: &str,
    obj: &Map<String, Value>,
    field: &str,
) -> Result<T, RecordError> {
    let v = obj
        .get(field)
        .ok_or_else(|| invalid_value(key, format!("missing field {field:?}")))?;
    let i = v
        .as_i64()
        .ok_or_else(|| invalid_value(key, format!("field {field:?} is not an integer: {v}")))?;
    T::try_from(i).map_err(|_| invalid_value(key, format!("field {field:?} out of range: {i}")))
}

fn str_field(key: &str, obj: &Map<String, Value>, field: &str) -> Result<String, RecordError> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(invalid_value(
            key,
            format!("field {field:?} is not a string: {other}"),
        )),
        None => Err(invalid_value(key, format!("missing field {field:?}"))),
    }
}

/// `{"properties":{…}}` → props. Null entries (Java allows them) are dropped; numbers and
/// booleans are kept as their JSON text; nested values are rejected.
fn decode_properties(key: &str, value: &Value) -> Result<Props, RecordError> {
    let obj = as_object(key, value)?;
    let props = obj
        .get("properties")
        .and_then(Value::as_object)
        .ok_or_else(|| invalid_value(key, "field \"properties\" is not an object"))?;
    let mut out = Props::new();
    for (k, v) in props {
        match v {
            Value::String(s) => {
                out.insert(k.clone(), s.clone());
            }
            Value::Null => {}
            Value::Bool(_) | Value::Number(_) => {
                out.insert(k.clone(), v.to_string());
            }
            Value::Array(_) | Value::Object(_) => {
                return Err(invalid_value(
                    key,
                    format!("property {k:?} is not a string: {v}"),
                ))
            }
        }
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Config topic
// ---------------------------------------------------------------------------------------------

const CONNECTOR_PREFIX: &str = "connector-";
const TASK_PREFIX: &str = "task-";
const COMMIT_PREFIX: &str = "commit-";
const TARGET_STATE_PREFIX: &str = "target-state-";
const SESSION_KEY_KEY: &str = "session-key";
const RESTART_PREFIX: &str = "restart-connector-";
const TASK_FENCING_PREFIX: &str = "tasks-fencing-";
const LOGGER_PREFIX: &str = "logger-cluster-";

/// One record of the config topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigRecord {
    /// `connector-<name>`: `{"properties":{…}}`; `None` = tombstone (connector deleted).
    Connector { name: String, props: Option<Props> },
    /// `task-<name>-<n>`: `{"properties":{…}}`; `None` = tombstone (ignored by readers).
    Task {
        connector: String,
        task: u32,
        props: Option<Props>,
    },
    /// `commit-<name>`: `{"tasks":N}`.
    Commit { connector: String, tasks: u32 },
    /// `target-state-<name>`: `{"state":…,"state.v2":…}`; `None` = tombstone.
    TargetState {
        connector: String,
        state: Option<TargetState>,
    },
    /// `session-key`: `{"key":…,"algorithm":…,"creation-timestamp":…}` (KIP-507).
    SessionKey {
        key_base64: String,
        algorithm: String,
        creation_timestamp: i64,
    },
    /// `restart-connector-<name>`: `{"include-tasks":…,"only-failed":…}` (KIP-745).
    RestartRequest {
        connector: String,
        include_tasks: bool,
        only_failed: bool,
    },
    /// `tasks-fencing-<name>`: `{"task-count":N}` (KIP-618).
    TaskFencing { connector: String, task_count: u32 },
    /// `logger-cluster-<namespace>`: `{"level":"DEBUG"}` (KIP-976); `None` = tombstone (ignored).
    LoggerLevel {
        namespace: String,
        level: Option<String>,
    },
    /// A key with no known prefix: readers log and skip it. Encodes as a tombstone.
    Unknown { key: String },
}

/// Splits `<name>-<n>` at the last `-`.
fn split_task_id(rest: &str) -> Option<(String, u32)> {
    let (name, num) = rest.rsplit_once('-')?;
    // Java's Integer.parseInt also accepts a leading '+', as does u32::from_str.
    let task = num.parse::<u32>().ok()?;
    Some((name.to_string(), task))
}

impl ConfigRecord {
    /// The record key.
    pub fn key(&self) -> String {
        match self {
            ConfigRecord::Connector { name, .. } => format!("{CONNECTOR_PREFIX}{name}"),
            ConfigRecord::Task {
                connector, task, ..
            } => format!("{TASK_PREFIX}{connector}-{task}"),
            ConfigRecord::Commit { connector, .. } => format!("{COMMIT_PREFIX}{connector}"),
            ConfigRecord::TargetState { connector, .. } => {
                format!("{TARGET_STATE_PREFIX}{connector}")
            }
            ConfigRecord::SessionKey { .. } => SESSION_KEY_KEY.to_string(),
            ConfigRecord::RestartRequest { connector, .. } => {
                format!("{RESTART_PREFIX}{connector}")
            }
            ConfigRecord::TaskFencing { connector, .. } => {
                format!("{TASK_FENCING_PREFIX}{connector}")
            }
            ConfigRecord::LoggerLevel { namespace, .. } => format!("{LOGGER_PREFIX}{namespace}"),
            ConfigRecord::Unknown { key } => key.clone(),
        }
    }

    /// The record key and value bytes (`None` = tombstone).
    pub fn encode(&self) -> (String, Option<Vec<u8>>) {
        let value = match self {
            ConfigRecord::Connector { props, .. } | ConfigRecord::Task { props, .. } => props
                .as_ref()
                .map(|p| write_struct(&[("properties", props_value(p))])),
            ConfigRecord::Commit { tasks, .. } => Some(write_struct(&[("tasks", (*tasks).into())])),
            ConfigRecord::TargetState { state, .. } => state.map(|s| {
                // Pre-3.5 readers only know `state`; they get PAUSED for STOPPED.
                let v1 = match s {
                    TargetState::Stopped => TargetState::Paused,
                    other => other,
                };
                write_struct(&[
                    ("state", v1.as_str().into()),
                    ("state.v2", s.as_str().into()),
                ])
            }),
            ConfigRecord::SessionKey {
                key_base64,
                algorithm,
                creation_timestamp,
            } => Some(write_struct(&[
                ("key", key_base64.as_str().into()),
                ("algorithm", algorithm.as_str().into()),
                ("creation-timestamp", (*creation_timestamp).into()),
            ])),
            ConfigRecord::RestartRequest {
                include_tasks,
                only_failed,
                ..
            } => Some(write_struct(&[
                ("include-tasks", (*include_tasks).into()),
                ("only-failed", (*only_failed).into()),
            ])),
            ConfigRecord::TaskFencing { task_count, .. } => {
                Some(write_struct(&[("task-count", (*task_count).into())]))
            }
            ConfigRecord::LoggerLevel { level, .. } => level
                .as_ref()
                .map(|l| write_struct(&[("level", l.as_str().into())])),
            ConfigRecord::Unknown { .. } => None,
        };
        (self.key(), value)
    }

    /// Decodes a config-topic record. Keys are matched in Java's order; unknown keys give
    /// `Unknown` (whatever the value). Errors mean "log and skip".
    pub fn decode(key: &str, value: Option<&[u8]>) -> Result<ConfigRecord, RecordError> {
        if let Some(connector) = key.strip_prefix(TARGET_STATE_PREFIX) {
            let state = match parse_value(key, value)? {
                None => None,
                Some(v) => Some(decode_target_state(key, &v)?),
            };
            return Ok(ConfigRecord::TargetState {
                connector: connector.to_string(),
                state,
            });
        }
        if let Some(name) = key.strip_prefix(CONNECTOR_PREFIX) {
            let props = match parse_value(key, value)? {
                None => None,
                Some(v) => Some(decode_properties(key, &v)?),
            };
            return Ok(ConfigRecord::Connector {
                name: name.to_string(),
                props,
            });
        }
        if let Some(rest) = key.strip_prefix(TASK_PREFIX) {
            let (connector, task) = split_task_id(rest).ok_or_else(|| RecordError::InvalidKey {
                key: key.to_string(),
                reason: "expected task-<connector>-<task number>".to_string(),
            })?;
            let props = match parse_value(key, value)? {
                None => None,
                Some(v) => Some(decode_properties(key, &v)?),
            };
            return Ok(ConfigRecord::Task {
                connector,
                task,
                props,
            });
        }
        if let Some(connector) = key.strip_prefix(COMMIT_PREFIX) {
            let v = required(key, value)?;
            let tasks = int_field(key, as_object(key, &v)?, "tasks")?;
            return Ok(ConfigRecord::Commit {
                connector: connector.to_string(),
                tasks,
            });
        }
        if let Some(connector) = key.strip_prefix(RESTART_PREFIX) {
            let v = required(key, value)?;
            let obj = as_object(key, &v)?;
            // Java falls back to `false` for a missing or non-boolean field.
            let flag = |f: &str| obj.get(f).and_then(Value::as_bool).unwrap_or(false);
            return Ok(ConfigRecord::RestartRequest {
                connector: connector.to_string(),
                include_tasks: flag("include-tasks"),
                only_failed: flag("only-failed"),
            });
        }
        if let Some(connector) = key.strip_prefix(TASK_FENCING_PREFIX) {
            let v = required(key, value)?;
            let task_count = int_field(key, as_object(key, &v)?, "task-count")?;
            return Ok(ConfigRecord::TaskFencing {
                connector: connector.to_string(),
                task_count,
            });
        }
        if key == SESSION_KEY_KEY {
            let v = required(key, value)?;
            let obj = as_object(key, &v)?;
            return Ok(ConfigRecord::SessionKey {
                key_base64: str_field(key, obj, "key")?,
                algorithm: str_field(key, obj, "algorithm")?,
                creation_timestamp: int_field(key, obj, "creation-timestamp")?,
            });
        }
        if let Some(namespace) = key.strip_prefix(LOGGER_PREFIX) {
            let level = match parse_value(key, value)? {
                None => None,
                Some(v) => Some(str_field(key, as_object(key, &v)?, "level")?),
            };
            return Ok(ConfigRecord::LoggerLevel {
                namespace: namespace.to_string(),
                level,
            });
        }
        Ok(ConfigRecord::Unknown {
            key: key.to_string(),
        })
    }
}

fn required(key: &str, value: Option<&[u8]>) -> Result<Value, RecordError> {
    parse_value(key, value)?.ok_or_else(|| RecordError::UnexpectedTombstone {
        key: key.to_string(),
    })
}

/// Prefers `state.v2` when it is a string, else `state`.
fn decode_target_state(key: &str, value: &Value) -> Result<TargetState, RecordError> {
    let obj = as_object(key, value)?;
    let name = match obj.get("state.v2") {
        Some(Value::String(s)) => s.clone(),
        _ => str_field(key, obj, "state")?,
    };
    TargetState::parse(&name)
        .ok_or_else(|| invalid_value(key, format!("unknown target state {name:?}")))
}

/// The KIP-507 session key as last read from the config topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionKey {
    /// The HMAC key, base64 (standard alphabet, padded) as stored.
    pub key_base64: String,
    /// E.g. `HmacSHA256`.
    pub algorithm: String,
    /// Milliseconds since the epoch.
    pub creation_timestamp: i64,
}

/// A KIP-745 restart request read from the config topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestartRequest {
    pub connector: String,
    pub include_tasks: bool,
    pub only_failed: bool,
}

/// What applying one record changed (for the herder's notifications).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    /// Nothing observable changed (buffered task config, ignored or unknown record, ...).
    None,
    /// A connector config was created or updated.
    ConnectorUpdated(String),
    /// A connector was deleted.
    ConnectorRemoved(String),
    /// A commit was processed: `consistent == false` marks the connector inconsistent.
    TasksCommitted { connector: String, consistent: bool },
    /// The effective target state of an existing connector changed.
    TargetStateChanged(String),
    /// A new session key.
    SessionKeyUpdated,
    /// A restart request (also queued for [`ConfigState::take_restart_requests`]).
    RestartRequested(String),
    /// A task-count (fencing) record.
    TaskCountRecord(String),
    /// A cluster-wide logger level (also queued for [`ConfigState::take_logger_levels`]).
    LoggerLevel { namespace: String, level: String },
}

/// The cluster configuration built by reading the config topic from the beginning, applying
/// Kafka Connect's reading rules.
#[derive(Debug, Clone)]
pub struct ConfigState {
    offset: i64,
    connectors: BTreeMap<String, Props>,
    /// Explicit target states; may exist before the connector config (create with an initial
    /// state writes the target state first).
    target_states: BTreeMap<String, TargetState>,
    /// Committed task configs per connector.
    tasks: BTreeMap<String, BTreeMap<u32, Props>>,
    task_counts: BTreeMap<String, u32>,
    /// Task configs waiting for their commit.
    deferred: BTreeMap<String, BTreeMap<u32, Props>>,
    /// The connector config in force when the current task configs were committed.
    applied_connector_configs: BTreeMap<String, Props>,
    inconsistent: BTreeSet<String>,
    session_key: Option<SessionKey>,
    fencing_task_counts: BTreeMap<String, u32>,
    pending_fencing: BTreeSet<String>,
    /// Counts the task-config commits read per connector (Java's task config generation):
    /// an exactly-once task started for one generation may not run once another is read.
    task_config_generations: BTreeMap<String, u64>,
    restart_requests: Vec<RestartRequest>,
    logger_levels: Vec<(String, String)>,
}

impl Default for ConfigState {
    fn default() -> Self {
        ConfigState::new()
    }
}

impl ConfigState {
    /// An empty state (offset −1: nothing read yet).
    pub fn new() -> ConfigState {
        ConfigState {
            offset: -1,
            connectors: BTreeMap::new(),
            target_states: BTreeMap::new(),
            tasks: BTreeMap::new(),
            task_counts: BTreeMap::new(),
            deferred: BTreeMap::new(),
            applied_connector_configs: BTreeMap::new(),
            inconsistent: BTreeSet::new(),
            session_key: None,
            fencing_task_counts: BTreeMap::new(),
            pending_fencing: BTreeSet::new(),
            task_config_generations: BTreeMap::new(),
            restart_requests: Vec::new(),
            logger_levels: Vec::new(),
        }
    }

    /// Decodes and applies a raw record. The offset advances even when the record cannot be
    /// decoded (the error is returned for logging; the record is skipped).
    pub fn apply_bytes(
        &mut self,
        offset: i64,
        key: &str,
        value: Option<&[u8]>,
    ) -> Result<ConfigChange, RecordError> {
        match ConfigRecord::decode(key, value) {
            Ok(record) => Ok(self.apply(offset, record)),
            Err(e) => {
                self.offset = offset + 1;
                Err(e)
            }
        }
    }

    /// Applies one record read at `offset`.
    pub fn apply(&mut self, offset: i64, record: ConfigRecord) -> ConfigChange {
        self.offset = offset + 1;
        match record {
            ConfigRecord::Connector {
                name,
                props: Some(props),
            } => {
                self.connectors.insert(name.clone(), props);
                ConfigChange::ConnectorUpdated(name)
            }
            ConfigRecord::Connector { name, props: None } => {
                let existed = self.connectors.contains_key(&name);
                self.remove_connector(&name);
                self.target_states.remove(&name);
                self.inconsistent.remove(&name);
                self.pending_fencing.remove(&name);
                if existed {
                    ConfigChange::ConnectorRemoved(name)
                } else {
                    ConfigChange::None
                }
            }
            ConfigRecord::Task {
                connector,
                task,
                props: Some(props),
            } => {
                self.deferred
                    .entry(connector)
                    .or_default()
                    .insert(task, props);
                ConfigChange::None
            }
            // Task tombstones are never written; Java ignores them.
            ConfigRecord::Task { props: None, .. } => ConfigChange::None,
            ConfigRecord::Commit { connector, tasks } => self.commit(connector, tasks),
            ConfigRecord::TargetState { connector, state } => {
                let before = self.target_state(&connector);
                match state {
                    Some(s) => {
                        self.target_states.insert(connector.clone(), s);
                    }
                    None => {
                        self.target_states.remove(&connector);
                    }
                }
                if before.is_some() && before != self.target_state(&connector) {
                    ConfigChange::TargetStateChanged(connector)
                } else {
                    ConfigChange::None
                }
            }
            ConfigRecord::SessionKey {
                key_base64,
                algorithm,
                creation_timestamp,
            } => {
                self.session_key = Some(SessionKey {
                    key_base64,
                    algorithm,
                    creation_timestamp,
                });
                ConfigChange::SessionKeyUpdated
            }
            ConfigRecord::RestartRequest {
                connector,
                include_tasks,
                only_failed,
            } => {
                self.restart_requests.push(RestartRequest {
                    connector: connector.clone(),
                    include_tasks,
                    only_failed,
                });
                ConfigChange::RestartRequested(connector)
            }
            ConfigRecord::TaskFencing {
                connector,
                task_count,
            } => {
                self.fencing_task_counts
                    .insert(connector.clone(), task_count);
                self.pending_fencing.remove(&connector);
                ConfigChange::TaskCountRecord(connector)
            }
            ConfigRecord::LoggerLevel {
                namespace,
                level: Some(level),
            } => {
                self.logger_levels.push((namespace.clone(), level.clone()));
                ConfigChange::LoggerLevel { namespace, level }
            }
            ConfigRecord::LoggerLevel { level: None, .. } | ConfigRecord::Unknown { .. } => {
                ConfigChange::None
            }
        }
    }

    /// Drops a connector's config and task data (not its target state).
    fn remove_connector(&mut self, name: &str) {
        self.connectors.remove(name);
        self.task_counts.remove(name);
        self.tasks.remove(name);
        self.deferred.remove(name);
        self.applied_connector_configs.remove(name);
    }

    fn commit(&mut self, connector: String, count: u32) -> ConfigChange {
        if !self.connectors.contains_key(&connector) {
            // Deleted connector whose config and tombstone were compacted away.
            self.remove_connector(&connector);
            return ConfigChange::None;
        }
        // Like Java, only the task configs buffered since the previous commit count, and the
        // set must contain every id in 0..count (extra ids are left-overs of a larger count).
        let deferred = self.deferred.remove(&connector).unwrap_or_default();
        let consistent = (0..count).all(|i| deferred.contains_key(&i));
        if consistent {
            let tasks = self.tasks.entry(connector.clone()).or_default();
            tasks.extend(deferred);
            tasks.retain(|id, _| *id < count);
            self.inconsistent.remove(&connector);
            if let Some(config) = self.connectors.get(&connector) {
                self.applied_connector_configs
                    .insert(connector.clone(), config.clone());
            }
        } else {
            self.inconsistent.insert(connector.clone());
        }
        self.task_counts.insert(connector.clone(), count);
        self.pending_fencing.insert(connector.clone());
        *self
            .task_config_generations
            .entry(connector.clone())
            .or_insert(0) += 1;
        ConfigChange::TasksCommitted {
            connector,
            consistent,
        }
    }

    /// Offset of the last applied record + 1 (−1 before anything was read).
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// Names of all connectors with a config, sorted.
    pub fn connectors(&self) -> Vec<String> {
        self.connectors.keys().cloned().collect()
    }

    /// Whether a connector config exists.
    pub fn contains(&self, name: &str) -> bool {
        self.connectors.contains_key(name)
    }

    /// A connector's config.
    pub fn connector_config(&self, name: &str) -> Option<&Props> {
        self.connectors.get(name)
    }

    /// The connector config in force when its current task configs were committed.
    pub fn applied_connector_config(&self, name: &str) -> Option<&Props> {
        self.applied_connector_configs.get(name)
    }

    /// A connector's target state (`Started` without a record); `None` if it does not exist.
    pub fn target_state(&self, name: &str) -> Option<TargetState> {
        if !self.connectors.contains_key(name) {
            return None;
        }
        Some(
            self.target_states
                .get(name)
                .copied()
                .unwrap_or(TargetState::Started),
        )
    }

    /// The committed task configs `0..task_count`; empty if none or the connector is
    /// inconsistent (as Java's `ClusterConfigState.tasks`).
    pub fn task_configs(&self, name: &str) -> Vec<Props> {
        if self.inconsistent.contains(name) {
            return Vec::new();
        }
        let (Some(count), Some(tasks)) = (self.task_counts.get(name), self.tasks.get(name)) else {
            return Vec::new();
        };
        (0..*count).filter_map(|i| tasks.get(&i).cloned()).collect()
    }

    /// The task count of the last commit (also for inconsistent connectors); `None` before any.
    pub fn task_count(&self, name: &str) -> Option<u32> {
        self.task_counts.get(name).copied()
    }

    /// Connectors whose last commit lacked task configs (the leader must regenerate them).
    pub fn inconsistent(&self) -> &BTreeSet<String> {
        &self.inconsistent
    }

    /// The latest session key.
    pub fn session_key(&self) -> Option<&SessionKey> {
        self.session_key.as_ref()
    }

    /// The latest `tasks-fencing-<name>` task count (kept after connector deletion).
    pub fn fencing_task_count(&self, name: &str) -> Option<u32> {
        self.fencing_task_counts.get(name).copied()
    }

    /// How many task-config commits of the connector were read (0 before any): a new
    /// generation of its tasks starts with each.
    pub fn task_config_generation(&self, name: &str) -> u64 {
        self.task_config_generations.get(name).copied().unwrap_or(0)
    }

    /// True if task configs were committed after the latest task-count record (KIP-618: the
    /// previous generation must be fenced before these tasks start).
    pub fn pending_fencing(&self, name: &str) -> bool {
        self.pending_fencing.contains(name)
    }

    /// Restart requests read since the last call, in topic order. Java acts only on requests
    /// read after its initial read to the end; callers discard the first batch likewise.
    pub fn take_restart_requests(&mut self) -> Vec<RestartRequest> {
        std::mem::take(&mut self.restart_requests)
    }

    /// Logger levels `(namespace, level)` read since the last call, in topic order (Java
    /// applies only those read after startup).
    pub fn take_logger_levels(&mut self) -> Vec<(String, String)> {
        std::mem::take(&mut self.logger_levels)
    }
}

// ---------------------------------------------------------------------------------------------
// Status topic
// ---------------------------------------------------------------------------------------------

const STATUS_CONNECTOR_PREFIX: &str = "status-connector-";
const STATUS_TASK_PREFIX: &str = "status-task-";
/// The prefix of topic-tracking (KIP-558) keys in the status topic.
pub const STATUS_TOPIC_PREFIX: &str = "status-topic-";
const STATUS_TOPIC_SEPARATOR: &str = ":connector-";

/// A status-topic key.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StatusKey {
    /// `status-connector-<name>`
    Connector(String),
    /// `status-task-<name>-<n>`
    Task { connector: String, task: u32 },
    /// `status-topic-<topic>:connector-<name>`
    Topic { topic: String, connector: String },
}

impl StatusKey {
    /// The key string.
    pub fn encode(&self) -> String {
        match self {
            StatusKey::Connector(name) => format!("{STATUS_CONNECTOR_PREFIX}{name}"),
            StatusKey::Task { connector, task } => {
                format!("{STATUS_TASK_PREFIX}{connector}-{task}")
            }
            StatusKey::Topic { topic, connector } => {
                format!("{STATUS_TOPIC_PREFIX}{topic}{STATUS_TOPIC_SEPARATOR}{connector}")
            }
        }
    }

    /// Parses a key; `None` for keys Java discards (unknown prefix, empty connector name,
    /// bad task number, topic key without `:` or with an empty topic or connector).
    ///
    /// A topic key is read as Java reads it: the topic is the text between `status-topic-` and
    /// the first `:` (topic names cannot contain one, connector names can), and the connector
    /// is what follows that `:` once `connector-`'s length is skipped; the skipped text itself
    /// is not checked. Where the skip would end inside a multi-byte character (Java counts
    /// UTF-16 units there) the key is discarded.
    pub fn parse(key: &str) -> Option<StatusKey> {
        if let Some(name) = key.strip_prefix(STATUS_CONNECTOR_PREFIX) {
            if name.is_empty() {
                return None;
            }
            return Some(StatusKey::Connector(name.to_string()));
        }
        if let Some(rest) = key.strip_prefix(STATUS_TASK_PREFIX) {
            let (connector, task) = split_task_id(rest)?;
            return Some(StatusKey::Task { connector, task });
        }
        if let Some(rest) = key.strip_prefix(STATUS_TOPIC_PREFIX) {
            let colon = rest.find(':')?;
            let topic = &rest[..colon];
            let connector = rest[colon..].get(STATUS_TOPIC_SEPARATOR.len()..)?;
            if topic.is_empty() || connector.is_empty() {
                return None;
            }
            return Some(StatusKey::Topic {
                topic: topic.to_string(),
                connector: connector.to_string(),
            });
        }
        None
    }
}

/// A connector or task status value:
/// `{"state":"RUNNING","trace":null,"worker_id":"host:8083","generation":17}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusValue {
    pub state: State,
    /// Stack trace text for `FAILED`, otherwise `None` (written as `null`).
    pub trace: Option<String>,
    /// `<advertised host>:<advertised port>` of the writer.
    pub worker_id: String,
    /// Group generation at write time.
    pub generation: i32,
}

impl StatusValue {
    /// The value bytes.
    pub fn encode(&self) -> Vec<u8> {
        write_struct(&[
            ("state", self.state.as_str().into()),
            (
                "trace",
                self.trace
                    .as_ref()
                    .map_or(Value::Null, |t| Value::String(t.clone())),
            ),
            ("worker_id", self.worker_id.as_str().into()),
            ("generation", self.generation.into()),
        ])
    }

    /// Encodes an optional status; `None` (DESTROYED) is a tombstone.
    pub fn encode_opt(status: Option<&StatusValue>) -> Option<Vec<u8>> {
        status.map(StatusValue::encode)
    }

    /// Decodes a value; `Ok(None)` for a tombstone (connector/task deleted).
    pub fn decode(value: Option<&[u8]>) -> Result<Option<StatusValue>, RecordError> {
        const WHAT: &str = "status";
        let Some(v) = parse_value(WHAT, value)? else {
            return Ok(None);
        };
        let obj = as_object(WHAT, &v)?;
        let state_name = str_field(WHAT, obj, "state")?;
        let state = State::parse(&state_name)
            .ok_or_else(|| invalid_value(WHAT, format!("unknown state {state_name:?}")))?;
        let trace = match obj.get("trace") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(other) => {
                return Err(invalid_value(
                    WHAT,
                    format!("trace is not a string: {other}"),
                ))
            }
        };
        let worker_id = str_field(WHAT, obj, "worker_id")?;
        // Java reads a long and truncates it to int.
        let generation = int_field::<i64>(WHAT, obj, "generation")? as i32;
        Ok(Some(StatusValue {
            state,
            trace,
            worker_id,
            generation,
        }))
    }
}

/// The status-topic reader rule for task statuses: an `UNASSIGNED` status is ignored while a
/// `RUNNING` status of the same or a newer generation is held (a worker that missed the newer
/// status released the task late).
pub fn should_apply_task_status(existing: Option<&StatusValue>, incoming: &StatusValue) -> bool {
    let stale = incoming.state == State::Unassigned
        && existing.is_some_and(|held| {
            held.state == State::Running && held.generation >= incoming.generation
        });
    !stale
}

/// A topic-tracking (KIP-558) value:
/// `{"topic":{"name":…,"connector":…,"task":0,"discoverTimestamp":…}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicStatusValue {
    pub topic: String,
    pub connector: String,
    /// The task that first saw the topic. Read as Java reads it: any JSON integer that fits a
    /// long, narrowed to an int.
    pub task: i32,
    /// Milliseconds since the epoch.
    pub discover_timestamp: i64,
}

impl TopicStatusValue {
    /// The value bytes.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = String::from("{\"topic\":");
        write_struct_into(
            &mut out,
            &[
                ("name", self.topic.as_str().into()),
                ("connector", self.connector.as_str().into()),
                ("task", self.task.into()),
                ("discoverTimestamp", self.discover_timestamp.into()),
            ],
        );
        out.push('}');
        out.into_bytes()
    }

    /// Decodes a value; `Ok(None)` for a tombstone (entry reset/removed).
    pub fn decode(value: Option<&[u8]>) -> Result<Option<TopicStatusValue>, RecordError> {
        const WHAT: &str = "topic status";
        let Some(v) = parse_value(WHAT, value)? else {
            return Ok(None);
        };
        let inner = as_object(WHAT, &v)?
            .get("topic")
            .and_then(Value::as_object)
            .ok_or_else(|| invalid_value(WHAT, "field \"topic\" is not an object"))?;
        Ok(Some(TopicStatusValue {
            topic: str_field(WHAT, inner, "name")?,
            connector: str_field(WHAT, inner, "connector")?,
            task: int_field::<i64>(WHAT, inner, "task")? as i32,
            discover_timestamp: int_field(WHAT, inner, "discoverTimestamp")?,
        }))
    }
}

// ---------------------------------------------------------------------------------------------
// Offsets topic
// ---------------------------------------------------------------------------------------------

/// The offsets-topic key `["<connector>",{partition}]`, compact JSON.
pub fn offset_key(connector: &str, partition: &Map<String, Value>) -> Vec<u8> {
    let mut out = String::from("[");
    write_string(&mut out, connector);
    out.push(',');
    write_map(&mut out, partition);
    out.push(']');
    out.into_bytes()
}

/// Parses an offsets-topic key; `None` for anything that is not a 2-element
/// `[string, object]` array (such records are skipped).
pub fn parse_offset_key(bytes: &[u8]) -> Option<(String, Map<String, Value>)> {
    let Ok(Value::Array(mut items)) = serde_json::from_slice::<Value>(bytes) else {
        return None;
    };
    if items.len() != 2 {
        return None;
    }
    let partition = match items.pop() {
        Some(Value::Object(m)) => m,
        _ => return None,
    };
    match items.pop() {
        Some(Value::String(name)) => Some((name, partition)),
        _ => None,
    }
}

/// An offsets-topic value (the source offset map), compact JSON.
pub fn encode_offset_value(offset: &Map<String, Value>) -> Vec<u8> {
    let mut out = String::new();
    write_map(&mut out, offset);
    out.into_bytes()
}

/// Decodes an offsets-topic value; `Ok(None)` for a tombstone (offset removed).
pub fn decode_offset_value(
    value: Option<&[u8]>,
) -> Result<Option<Map<String, Value>>, RecordError> {
    const WHAT: &str = "source offset";
    match parse_value(WHAT, value)? {
        None => Ok(None),
        Some(Value::Object(m)) => Ok(Some(m)),
        Some(other) => Err(invalid_value(
            WHAT,
            format!("expected a JSON object, got {other}"),
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// Java partitioning
// ---------------------------------------------------------------------------------------------

/// Kafka's murmur2 hash (32-bit MurmurHash2, seed `0x9747b28c`, little-endian 4-byte blocks),
/// as used by the Java client's default partitioner.
pub fn murmur2(data: &[u8]) -> i32 {
    const SEED: u32 = 0x9747_b28c;
    const M: u32 = 0x5bd1_e995;
    const R: u32 = 24;

    // Java uses an int length; keys are far below 2^31 bytes.
    let mut h: u32 = SEED ^ (data.len() as u32);
    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }
    let tail = blocks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }
    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// The partition Java's default partitioner picks for a non-null key:
/// `(murmur2(key) & 0x7fffffff) % partitions` (0 if `partitions <= 0`).
pub fn java_partition(key: &[u8], partitions: i32) -> i32 {
    if partitions <= 0 {
        return 0;
    }
    (murmur2(key) & 0x7fff_ffff) % partitions
}

// ---------------------------------------------------------------------------------------------
// Tests
// ---------------------------------------------------------------------------------------------

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn enc(record: &ConfigRecord) -> (String, Option<String>) {
        let (k, v) = record.encode();
        (k, v.map(|b| String::from_utf8(b).unwrap()))
    }

    fn dec(key: &str, value: &str) -> Result<ConfigRecord, RecordError> {
        ConfigRecord::decode(key, Some(value.as_bytes()))
    }

    fn roundtrip(record: ConfigRecord) {
        let (k, v) = record.encode();
        assert_eq!(ConfigRecord::decode(&k, v.as_deref()).unwrap(), record);
    }

    // ----- murmur2 -----

    #[test]
    fn murmur2_kafka_vectors() {
        let vectors: &[(&str, i32)] = &[
            ("21", -973932308),
            ("foobar", -790332482),
            ("a-little-bit-long-string", -985981536),
            ("a-little-bit-longer-string", -1486304829),
            (
                "lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8",
                -58897971,
            ),
            ("abc", 479470107),
            ("", 275646681),
        ];
        for (s, expected) in vectors {
            assert_eq!(murmur2(s.as_bytes()), *expected, "murmur2({s:?})");
        }
    }

    #[test]
    fn java_partition_masks_and_mods() {
        // murmur2("21") is negative: the sign bit is masked, not abs()'d.
        let h = murmur2(b"21");
        assert!(h < 0);
        assert_eq!(java_partition(b"21", 25), (h & 0x7fffffff) % 25);
        assert_eq!(java_partition(b"21", 25), 1173551340 % 25);
        assert_eq!(
            java_partition(b"foobar", 5),
            (-790332482i32 & 0x7fffffff) % 5
        );
        assert_eq!(java_partition(b"abc", 1), 0);
        assert_eq!(java_partition(b"abc", 0), 0);
        for p in 1..30 {
            let part = java_partition(b"status-connector-x", p);
            assert!((0..p).contains(&part));
        }
    }

    // ----- config topic: exact bytes -----

    #[test]
    fn connector_record_bytes() {
        let r = ConfigRecord::Connector {
            name: "file-src".into(),
            props: Some(props(&[
                ("connector.class", "FileStreamSource"),
                ("tasks.max", "1"),
            ])),
        };
        assert_eq!(
            enc(&r),
            (
                "connector-file-src".into(),
                Some(
                    r#"{"properties":{"connector.class":"FileStreamSource","tasks.max":"1"}}"#
                        .into()
                )
            )
        );
        roundtrip(r);
        let tomb = ConfigRecord::Connector {
            name: "file-src".into(),
            props: None,
        };
        assert_eq!(enc(&tomb), ("connector-file-src".into(), None));
        roundtrip(tomb);
        // Empty config.
        let empty = ConfigRecord::Connector {
            name: "e".into(),
            props: Some(Props::new()),
        };
        assert_eq!(enc(&empty).1.unwrap(), r#"{"properties":{}}"#);
    }

    #[test]
    fn task_record_bytes_and_dashes() {
        let r = ConfigRecord::Task {
            connector: "my-jdbc-sink".into(),
            task: 12,
            props: Some(props(&[("task.class", "X")])),
        };
        assert_eq!(
            enc(&r),
            (
                "task-my-jdbc-sink-12".into(),
                Some(r#"{"properties":{"task.class":"X"}}"#.into())
            )
        );
        roundtrip(r);
        assert_eq!(
            dec("task-a-b-c-0", r#"{"properties":{}}"#).unwrap(),
            ConfigRecord::Task {
                connector: "a-b-c".into(),
                task: 0,
                props: Some(Props::new()),
            }
        );
        // A connector name ending in '-' and a name that looks like a number.
        assert_eq!(
            dec("task-a--3", r#"{"properties":{}}"#).unwrap(),
            ConfigRecord::Task {
                connector: "a-".into(),
                task: 3,
                props: Some(Props::new()),
            }
        );
        assert_eq!(
            dec("task-7-1", r#"{"properties":{}}"#).unwrap(),
            ConfigRecord::Task {
                connector: "7".into(),
                task: 1,
                props: Some(Props::new()),
            }
        );
        // Tombstone.
        assert_eq!(
            ConfigRecord::decode("task-x-0", None).unwrap(),
            ConfigRecord::Task {
                connector: "x".into(),
                task: 0,
                props: None,
            }
        );
    }

    #[test]
    fn malformed_task_keys() {
        for key in [
            "task-abc",
            "task-abc-x",
            "task-abc-",
            "task-a-99999999999",
            "task-a-1.0",
        ] {
            assert!(
                matches!(
                    dec(key, r#"{"properties":{}}"#),
                    Err(RecordError::InvalidKey { .. })
                ),
                "{key}"
            );
        }
    }

    #[test]
    fn commit_record_bytes() {
        let r = ConfigRecord::Commit {
            connector: "c-1".into(),
            tasks: 3,
        };
        assert_eq!(
            enc(&r),
            ("commit-c-1".into(), Some(r#"{"tasks":3}"#.into()))
        );
        roundtrip(r);
        // Any integer width; floats, negatives, out of range and tombstones are errors.
        assert_eq!(
            dec("commit-c", r#"{"tasks": 0 , "extra": true}"#).unwrap(),
            ConfigRecord::Commit {
                connector: "c".into(),
                tasks: 0,
            }
        );
        assert!(dec("commit-c", r#"{"tasks":3.0}"#).is_err());
        assert!(dec("commit-c", r#"{"tasks":-1}"#).is_err());
        assert!(dec("commit-c", r#"{"tasks":4294967296}"#).is_err());
        assert!(dec("commit-c", r#"{"tasks":"3"}"#).is_err());
        assert!(dec("commit-c", r#"{}"#).is_err());
        assert!(dec("commit-c", r#"[1]"#).is_err());
        assert!(dec("commit-c", r#"{"tasks":"#).is_err());
        assert_eq!(
            ConfigRecord::decode("commit-c", None),
            Err(RecordError::UnexpectedTombstone {
                key: "commit-c".into()
            })
        );
        assert!(matches!(
            ConfigRecord::decode("commit-c", Some(b"null")),
            Err(RecordError::UnexpectedTombstone { .. })
        ));
    }

    #[test]
    fn target_state_record_bytes() {
        let cases = [
            (
                TargetState::Started,
                r#"{"state":"STARTED","state.v2":"STARTED"}"#,
            ),
            (
                TargetState::Paused,
                r#"{"state":"PAUSED","state.v2":"PAUSED"}"#,
            ),
            (
                TargetState::Stopped,
                r#"{"state":"PAUSED","state.v2":"STOPPED"}"#,
            ),
        ];
        for (state, json) in cases {
            let r = ConfigRecord::TargetState {
                connector: "a-b".into(),
                state: Some(state),
            };
            assert_eq!(enc(&r), ("target-state-a-b".into(), Some(json.into())));
            roundtrip(r);
        }
        let tomb = ConfigRecord::TargetState {
            connector: "a".into(),
            state: None,
        };
        assert_eq!(enc(&tomb), ("target-state-a".into(), None));
        roundtrip(tomb);
    }

    #[test]
    fn target_state_v1_v2_reading() {
        let state = |json: &str| match dec("target-state-c", json) {
            Ok(ConfigRecord::TargetState { state, .. }) => Ok(state),
            Ok(other) => panic!("{other:?}"),
            Err(e) => Err(e),
        };
        // Pre-3.5 writer: only `state`.
        assert_eq!(
            state(r#"{"state":"PAUSED"}"#),
            Ok(Some(TargetState::Paused))
        );
        assert_eq!(
            state(r#"{"state":"STARTED"}"#),
            Ok(Some(TargetState::Started))
        );
        // v2 wins when it is a string.
        assert_eq!(
            state(r#"{"state":"PAUSED","state.v2":"STOPPED"}"#),
            Ok(Some(TargetState::Stopped))
        );
        assert_eq!(
            state(r#"{"state.v2":"STARTED","state":"PAUSED"}"#),
            Ok(Some(TargetState::Started))
        );
        // v2 null or not a string: fall back to `state`.
        assert_eq!(
            state(r#"{"state":"PAUSED","state.v2":null}"#),
            Ok(Some(TargetState::Paused))
        );
        assert_eq!(
            state(r#"{"state":"PAUSED","state.v2":7}"#),
            Ok(Some(TargetState::Paused))
        );
        // v2 is a string but unknown: error (no fallback, like Java).
        assert!(state(r#"{"state":"PAUSED","state.v2":"FROZEN"}"#).is_err());
        assert!(state(r#"{"state":"paused"}"#).is_err());
        assert!(state(r#"{"state.v2":null}"#).is_err());
        assert!(state(r#"{}"#).is_err());
        assert!(state(r#""PAUSED""#).is_err());
        assert_eq!(state("null"), Ok(None));
    }

    #[test]
    fn session_key_record_bytes() {
        let r = ConfigRecord::SessionKey {
            key_base64: "q83vEjRWeJA=".into(),
            algorithm: "HmacSHA256".into(),
            creation_timestamp: 1_700_000_000_000,
        };
        assert_eq!(
            enc(&r),
            (
                "session-key".into(),
                Some(
                    r#"{"key":"q83vEjRWeJA=","algorithm":"HmacSHA256","creation-timestamp":1700000000000}"#
                        .into()
                )
            )
        );
        roundtrip(r);
        assert!(dec("session-key", r#"{"key":"x","algorithm":"HmacSHA256"}"#).is_err());
        assert!(dec(
            "session-key",
            r#"{"key":1,"algorithm":"HmacSHA256","creation-timestamp":1}"#
        )
        .is_err());
        assert!(ConfigRecord::decode("session-key", None).is_err());
        // Only the exact key is the session key.
        assert_eq!(
            dec("session-key-2", "{}").unwrap(),
            ConfigRecord::Unknown {
                key: "session-key-2".into()
            }
        );
    }

    #[test]
    fn restart_request_record_bytes() {
        let r = ConfigRecord::RestartRequest {
            connector: "c".into(),
            include_tasks: true,
            only_failed: false,
        };
        assert_eq!(
            enc(&r),
            (
                "restart-connector-c".into(),
                Some(r#"{"include-tasks":true,"only-failed":false}"#.into())
            )
        );
        roundtrip(r);
        roundtrip(ConfigRecord::RestartRequest {
            connector: "x-y".into(),
            include_tasks: false,
            only_failed: true,
        });
        // Missing or non-boolean fields default to false, like Java.
        assert_eq!(
            dec(
                "restart-connector-c",
                r#"{"only-failed":true,"include-tasks":"yes"}"#
            )
            .unwrap(),
            ConfigRecord::RestartRequest {
                connector: "c".into(),
                include_tasks: false,
                only_failed: true,
            }
        );
        assert!(ConfigRecord::decode("restart-connector-c", None).is_err());
    }

    #[test]
    fn task_fencing_and_logger_record_bytes() {
        let r = ConfigRecord::TaskFencing {
            connector: "c".into(),
            task_count: 3,
        };
        assert_eq!(
            enc(&r),
            ("tasks-fencing-c".into(), Some(r#"{"task-count":3}"#.into()))
        );
        roundtrip(r);
        let l = ConfigRecord::LoggerLevel {
            namespace: "org.apache.kafka.connect".into(),
            level: Some("DEBUG".into()),
        };
        assert_eq!(
            enc(&l),
            (
                "logger-cluster-org.apache.kafka.connect".into(),
                Some(r#"{"level":"DEBUG"}"#.into())
            )
        );
        roundtrip(l);
        roundtrip(ConfigRecord::LoggerLevel {
            namespace: "root".into(),
            level: None,
        });
        assert!(dec("logger-cluster-x", r#"{"level":null}"#).is_err());
    }

    #[test]
    fn unknown_keys_and_prefix_precedence() {
        assert_eq!(
            dec("something-else", "not json at all").unwrap(),
            ConfigRecord::Unknown {
                key: "something-else".into()
            }
        );
        assert_eq!(
            ConfigRecord::Unknown { key: "k".into() }.encode(),
            ("k".to_string(), None)
        );
        // `tasks-fencing-` is not a task key; `restart-connector-` is not a connector key.
        assert!(matches!(
            dec("tasks-fencing-a-1", r#"{"task-count":1}"#).unwrap(),
            ConfigRecord::TaskFencing { .. }
        ));
        assert!(matches!(
            dec("restart-connector-a", "{}").unwrap(),
            ConfigRecord::RestartRequest { .. }
        ));
        // A connector literally named "target-state-x" is keyed "connector-target-state-x".
        assert_eq!(
            dec("connector-target-state-x", r#"{"properties":{}}"#).unwrap(),
            ConfigRecord::Connector {
                name: "target-state-x".into(),
                props: Some(Props::new()),
            }
        );
    }

    #[test]
    fn properties_decoding_is_lenient_like_java() {
        let r = dec(
            "connector-c",
            r#"{"properties":{"a":"1","b":null,"c":5,"d":true},"other":1}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            ConfigRecord::Connector {
                name: "c".into(),
                props: Some(props(&[("a", "1"), ("c", "5"), ("d", "true")])),
            }
        );
        assert!(dec("connector-c", r#"{"properties":{"a":{}}}"#).is_err());
        assert!(dec("connector-c", r#"{"properties":[]}"#).is_err());
        assert!(dec("connector-c", r#"{"props":{}}"#).is_err());
        assert!(dec("connector-c", r#"["properties"]"#).is_err());
        assert!(dec("connector-c", "").is_err());
        assert_eq!(
            dec("connector-c", "null").unwrap(),
            ConfigRecord::Connector {
                name: "c".into(),
                props: None
            }
        );
    }

    #[test]
    fn json_escaping_matches_jackson() {
        let r = ConfigRecord::Connector {
            name: "c".into(),
            props: Some(props(&[(
                "k",
                "q\"b\\s/\n\t\r\u{8}\u{c}\u{1}\u{1f}\u{7f}é€😀",
            )])),
        };
        let (_, v) = enc(&r);
        assert_eq!(
            v.unwrap(),
            "{\"properties\":{\"k\":\"q\\\"b\\\\s/\\n\\t\\r\\b\\f\\u0001\\u001F\u{7f}é€😀\"}}"
        );
        roundtrip(r);
    }

    #[test]
    fn doubles_match_java_double_to_string() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1.0"),
            (-2.5, "-2.5"),
            (100.0, "100.0"),
            (0.1, "0.1"),
            (0.001, "0.001"),
            (0.0001, "1.0E-4"),
            (1234567.0, "1234567.0"),
            (1.0e7, "1.0E7"),
            (12345678.9, "1.23456789E7"),
            (1.5e300, "1.5E300"),
            (-3.25e-10, "-3.25E-10"),
            (0.0, "0.0"),
        ];
        for (d, expected) in cases {
            let mut text = String::new();
            tributary_connector_api::java_text::push_f64(&mut text, *d);
            assert_eq!(text, *expected, "{d}");
        }
        let v = json!({"f": 1.0e7, "i": 5, "u": u64::MAX, "n": -7});
        assert_eq!(
            String::from_utf8(to_java_json(&v)).unwrap(),
            format!(r#"{{"f":1.0E7,"i":5,"n":-7,"u":{}}}"#, u64::MAX)
        );
    }

    // ----- config state -----

    fn task(connector: &str, n: u32, v: &str) -> ConfigRecord {
        ConfigRecord::Task {
            connector: connector.into(),
            task: n,
            props: Some(props(&[("v", v)])),
        }
    }

    fn connector(name: &str, v: &str) -> ConfigRecord {
        ConfigRecord::Connector {
            name: name.into(),
            props: Some(props(&[("v", v)])),
        }
    }

    fn commit(name: &str, tasks: u32) -> ConfigRecord {
        ConfigRecord::Commit {
            connector: name.into(),
            tasks,
        }
    }

    fn target(name: &str, state: Option<TargetState>) -> ConfigRecord {
        ConfigRecord::TargetState {
            connector: name.into(),
            state,
        }
    }

    /// Applies records at consecutive offsets starting where the state is.
    fn feed(state: &mut ConfigState, records: Vec<ConfigRecord>) {
        for r in records {
            let next = state.offset().max(0);
            state.apply(next, r);
        }
    }

    fn values(tasks: &[Props]) -> Vec<&str> {
        tasks.iter().map(|p| p["v"].as_str()).collect()
    }

    #[test]
    fn offsets_track_last_record() {
        let mut s = ConfigState::new();
        assert_eq!(s.offset(), -1);
        s.apply(0, connector("a", "1"));
        assert_eq!(s.offset(), 1);
        s.apply(
            41,
            ConfigRecord::Unknown {
                key: "whatever".into(),
            },
        );
        assert_eq!(s.offset(), 42);
        // Undecodable records are skipped but still advance the offset.
        assert!(s.apply_bytes(42, "commit-a", Some(b"{oops")).is_err());
        assert_eq!(s.offset(), 43);
        assert_eq!(
            s.apply_bytes(43, "commit-a", Some(b"{\"tasks\":0}")),
            Ok(ConfigChange::TasksCommitted {
                connector: "a".into(),
                consistent: true
            })
        );
        assert_eq!(s.offset(), 44);
    }

    #[test]
    fn task_configs_buffered_until_commit() {
        let mut s = ConfigState::new();
        feed(
            &mut s,
            vec![connector("c", "1"), task("c", 0, "t0"), task("c", 1, "t1")],
        );
        assert_eq!(s.connectors(), vec!["c".to_string()]);
        assert_eq!(s.connector_config("c"), Some(&props(&[("v", "1")])));
        assert!(s.task_configs("c").is_empty());
        assert_eq!(s.task_count("c"), None);
        assert_eq!(s.target_state("c"), Some(TargetState::Started));

        s.apply(3, commit("c", 2));
        assert_eq!(values(&s.task_configs("c")), ["t0", "t1"]);
        assert_eq!(s.task_count("c"), Some(2));
        assert!(s.inconsistent().is_empty());
        assert_eq!(s.applied_connector_config("c"), Some(&props(&[("v", "1")])));
        assert!(s.pending_fencing("c"));

        // New generation: buffered again, old configs visible until the commit.
        feed(
            &mut s,
            vec![task("c", 0, "n0"), task("c", 1, "n1"), task("c", 2, "n2")],
        );
        assert_eq!(values(&s.task_configs("c")), ["t0", "t1"]);
        feed(&mut s, vec![commit("c", 3)]);
        assert_eq!(values(&s.task_configs("c")), ["n0", "n1", "n2"]);

        // Reduce to one task: only task 0 is rewritten.
        feed(&mut s, vec![task("c", 0, "r0"), commit("c", 1)]);
        assert_eq!(values(&s.task_configs("c")), ["r0"]);
        assert_eq!(s.task_count("c"), Some(1));

        // Stop: an empty task set.
        feed(
            &mut s,
            vec![commit("c", 0), target("c", Some(TargetState::Stopped))],
        );
        assert!(s.task_configs("c").is_empty());
        assert_eq!(s.task_count("c"), Some(0));
        assert_eq!(s.target_state("c"), Some(TargetState::Stopped));
        assert!(s.inconsistent().is_empty());
    }

    #[test]
    fn incomplete_commit_marks_inconsistent() {
        let mut s = ConfigState::new();
        // Compacted log: task 0 of the first generation is gone.
        feed(
            &mut s,
            vec![connector("c", "1"), task("c", 1, "t1"), commit("c", 2)],
        );
        assert!(s.inconsistent().contains("c"));
        assert!(s.task_configs("c").is_empty());
        assert_eq!(s.task_count("c"), Some(2));

        // The buffer was cleared: a commit with only task 0 does not combine with old task 1.
        feed(&mut s, vec![task("c", 0, "t0"), commit("c", 2)]);
        assert!(s.inconsistent().contains("c"));
        assert!(s.task_configs("c").is_empty());

        // A complete regeneration fixes it.
        feed(
            &mut s,
            vec![task("c", 0, "a0"), task("c", 1, "a1"), commit("c", 2)],
        );
        assert!(s.inconsistent().is_empty());
        assert_eq!(values(&s.task_configs("c")), ["a0", "a1"]);
    }

    #[test]
    fn commit_needs_fresh_task_records_even_when_known() {
        // Java counts only task configs buffered since the previous commit.
        let mut s = ConfigState::new();
        feed(
            &mut s,
            vec![
                connector("c", "1"),
                task("c", 0, "t0"),
                task("c", 1, "t1"),
                commit("c", 2),
                task("c", 0, "u0"),
                commit("c", 2),
            ],
        );
        assert!(s.inconsistent().contains("c"));
        assert!(s.task_configs("c").is_empty());
        assert_eq!(
            s.apply(100, commit("c", 0),),
            ConfigChange::TasksCommitted {
                connector: "c".into(),
                consistent: true
            }
        );
        assert!(s.inconsistent().is_empty());
    }

    #[test]
    fn extra_buffered_ids_are_tolerated() {
        // Compacted shrink: [task 2 (old), task 0, task 1, commit 2] is still complete.
        let mut s = ConfigState::new();
        feed(
            &mut s,
            vec![
                connector("c", "1"),
                task("c", 2, "old2"),
                task("c", 0, "t0"),
                task("c", 1, "t1"),
                commit("c", 2),
            ],
        );
        assert!(s.inconsistent().is_empty());
        assert_eq!(values(&s.task_configs("c")), ["t0", "t1"]);
    }

    #[test]
    fn commit_without_connector_config_is_ignored() {
        let mut s = ConfigState::new();
        feed(&mut s, vec![task("gone", 0, "t0"), commit("gone", 1)]);
        assert!(s.connectors().is_empty());
        assert_eq!(s.task_count("gone"), None);
        assert!(s.task_configs("gone").is_empty());
        assert!(s.inconsistent().is_empty());
        assert!(!s.pending_fencing("gone"));
        // The buffered configs were discarded with it.
        feed(&mut s, vec![connector("gone", "1"), commit("gone", 1)]);
        assert!(s.inconsistent().contains("gone"));
    }

    #[test]
    fn connector_tombstone_deletes_everything() {
        let mut s = ConfigState::new();
        feed(
            &mut s,
            vec![
                connector("c", "1"),
                task("c", 0, "t0"),
                commit("c", 1),
                target("c", Some(TargetState::Paused)),
                task("c", 0, "pending"),
            ],
        );
        assert_eq!(s.target_state("c"), Some(TargetState::Paused));
        let change = s.apply(
            10,
            ConfigRecord::Connector {
                name: "c".into(),
                props: None,
            },
        );
        assert_eq!(change, ConfigChange::ConnectorRemoved("c".into()));
        assert!(s.connectors().is_empty());
        assert_eq!(s.connector_config("c"), None);
        assert_eq!(s.target_state("c"), None);
        assert_eq!(s.task_count("c"), None);
        assert!(s.task_configs("c").is_empty());
        assert_eq!(s.applied_connector_config("c"), None);

        // Re-created: STARTED, no tasks, no stale buffered task configs.
        feed(&mut s, vec![connector("c", "2"), commit("c", 1)]);
        assert_eq!(s.target_state("c"), Some(TargetState::Started));
        assert!(s.inconsistent().contains("c"));

        // Deleting removes the inconsistency mark; deleting again is a no-op.
        feed(
            &mut s,
            vec![ConfigRecord::Connector {
                name: "c".into(),
                props: None,
            }],
        );
        assert!(s.inconsistent().is_empty());
        assert_eq!(
            s.apply(
                50,
                ConfigRecord::Connector {
                    name: "c".into(),
                    props: None
                }
            ),
            ConfigChange::None
        );
    }

    #[test]
    fn target_state_rules() {
        let mut s = ConfigState::new();
        // No connector: no target state to report.
        assert_eq!(s.target_state("c"), None);
        // Create with an initial state: the target state comes first.
        feed(
            &mut s,
            vec![target("c", Some(TargetState::Stopped)), connector("c", "1")],
        );
        assert_eq!(s.target_state("c"), Some(TargetState::Stopped));
        assert_eq!(
            s.apply(5, target("c", Some(TargetState::Paused))),
            ConfigChange::TargetStateChanged("c".into())
        );
        assert_eq!(
            s.apply(6, target("c", Some(TargetState::Paused))),
            ConfigChange::None
        );
        // Tombstone on an existing connector: back to STARTED.
        assert_eq!(
            s.apply(7, target("c", None)),
            ConfigChange::TargetStateChanged("c".into())
        );
        assert_eq!(s.target_state("c"), Some(TargetState::Started));
        // Tombstone for an unknown connector, then creation: STARTED.
        feed(
            &mut s,
            vec![
                target("d", Some(TargetState::Paused)),
                target("d", None),
                connector("d", "1"),
            ],
        );
        assert_eq!(s.target_state("d"), Some(TargetState::Started));
    }

    #[test]
    fn session_key_restarts_fencing_and_loggers() {
        let mut s = ConfigState::new();
        assert!(s.session_key().is_none());
        feed(
            &mut s,
            vec![
                ConfigRecord::SessionKey {
                    key_base64: "AAAA".into(),
                    algorithm: "HmacSHA256".into(),
                    creation_timestamp: 1,
                },
                ConfigRecord::SessionKey {
                    key_base64: "BBBB".into(),
                    algorithm: "HmacSHA256".into(),
                    creation_timestamp: 2,
                },
                ConfigRecord::RestartRequest {
                    connector: "c".into(),
                    include_tasks: true,
                    only_failed: true,
                },
                ConfigRecord::RestartRequest {
                    connector: "d".into(),
                    include_tasks: false,
                    only_failed: false,
                },
                connector("c", "1"),
                task("c", 0, "t0"),
                commit("c", 1),
                ConfigRecord::LoggerLevel {
                    namespace: "root".into(),
                    level: Some("WARN".into()),
                },
                ConfigRecord::LoggerLevel {
                    namespace: "root".into(),
                    level: None,
                },
            ],
        );
        assert_eq!(
            s.session_key(),
            Some(&SessionKey {
                key_base64: "BBBB".into(),
                algorithm: "HmacSHA256".into(),
                creation_timestamp: 2,
            })
        );
        let requests = s.take_restart_requests();
        assert_eq!(
            requests,
            vec![
                RestartRequest {
                    connector: "c".into(),
                    include_tasks: true,
                    only_failed: true,
                },
                RestartRequest {
                    connector: "d".into(),
                    include_tasks: false,
                    only_failed: false,
                },
            ]
        );
        assert!(s.take_restart_requests().is_empty());
        assert_eq!(
            s.take_logger_levels(),
            vec![("root".to_string(), "WARN".to_string())]
        );
        assert!(s.pending_fencing("c"));
        feed(
            &mut s,
            vec![ConfigRecord::TaskFencing {
                connector: "c".into(),
                task_count: 1,
            }],
        );
        assert!(!s.pending_fencing("c"));
        assert_eq!(s.fencing_task_count("c"), Some(1));
    }

    #[test]
    fn each_task_config_commit_is_a_new_generation_pending_fencing() {
        let mut s = ConfigState::new();
        assert_eq!(s.task_config_generation("c"), 0);
        feed(
            &mut s,
            vec![
                connector("c", "1"),
                task("c", 0, "t0"),
                ConfigRecord::Commit {
                    connector: "c".into(),
                    tasks: 1,
                },
            ],
        );
        assert_eq!(s.task_config_generation("c"), 1);
        assert!(s.pending_fencing("c"));
        assert_eq!(s.fencing_task_count("c"), None, "never fenced yet");
        feed(
            &mut s,
            vec![ConfigRecord::TaskFencing {
                connector: "c".into(),
                task_count: 1,
            }],
        );
        assert!(!s.pending_fencing("c"));
        // A rebalance or restart writes nothing: the same generation, nothing pending.
        feed(
            &mut s,
            vec![
                task("c", 0, "t0b"),
                task("c", 1, "t1"),
                ConfigRecord::Commit {
                    connector: "c".into(),
                    tasks: 2,
                },
            ],
        );
        assert_eq!(s.task_config_generation("c"), 2);
        assert!(s.pending_fencing("c"));
        assert_eq!(
            s.fencing_task_count("c"),
            Some(1),
            "the previous generation's count"
        );
        assert_eq!(s.task_count("c"), Some(2));
    }

    #[test]
    fn task_tombstones_and_unknown_records_are_ignored() {
        let mut s = ConfigState::new();
        feed(
            &mut s,
            vec![
                connector("c", "1"),
                task("c", 0, "t0"),
                ConfigRecord::Task {
                    connector: "c".into(),
                    task: 0,
                    props: None,
                },
                ConfigRecord::Unknown { key: "zzz".into() },
                commit("c", 1),
            ],
        );
        assert_eq!(values(&s.task_configs("c")), ["t0"]);
        assert_eq!(s.offset(), 5);
    }

    #[test]
    fn replay_of_encoded_log() {
        // Everything a leader writes, encoded and decoded back through apply_bytes.
        let log = [
            connector("my-conn", "1"),
            task("my-conn", 0, "a"),
            task("my-conn", 1, "b"),
            commit("my-conn", 2),
            target("my-conn", Some(TargetState::Paused)),
        ];
        let mut s = ConfigState::new();
        for (i, r) in log.iter().enumerate() {
            let (k, v) = r.encode();
            s.apply_bytes(i as i64, &k, v.as_deref()).unwrap();
        }
        assert_eq!(values(&s.task_configs("my-conn")), ["a", "b"]);
        assert_eq!(s.target_state("my-conn"), Some(TargetState::Paused));
        assert_eq!(s.offset(), 5);
    }

    // ----- status topic -----

    #[test]
    fn status_keys() {
        let cases = [
            (
                StatusKey::Connector("a-b-c".into()),
                "status-connector-a-b-c",
            ),
            (
                StatusKey::Task {
                    connector: "a-b-c".into(),
                    task: 10,
                },
                "status-task-a-b-c-10",
            ),
            (
                StatusKey::Topic {
                    topic: "orders".into(),
                    connector: "pg-sink".into(),
                },
                "status-topic-orders:connector-pg-sink",
            ),
            (
                StatusKey::Topic {
                    topic: "my.topic-1".into(),
                    connector: "weird:name-with:connector-x".into(),
                },
                "status-topic-my.topic-1:connector-weird:name-with:connector-x",
            ),
        ];
        for (key, text) in cases {
            assert_eq!(key.encode(), text);
            assert_eq!(StatusKey::parse(text), Some(key));
        }
        for bad in [
            "status-connector-",
            "status-task-abc",
            "status-task-abc-x",
            "status-task-abc-",
            "status-topic-orders",
            "status-topic-:connector-c",
            "status-topic-orders:connector-",
            "status-topic-orders:conn-c",
            "status-topic-orders:",
            "status-topic-:",
            "status-topic-",
            "status-topic-orders:connector\u{e9}",
            "status-topic-orders:connector\u{e9}x",
            "connector-c",
            "status-c",
        ] {
            assert_eq!(StatusKey::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn status_value_bytes() {
        let v = StatusValue {
            state: State::Running,
            trace: None,
            worker_id: "10.0.0.5:8083".into(),
            generation: 17,
        };
        assert_eq!(
            String::from_utf8(v.encode()).unwrap(),
            r#"{"state":"RUNNING","trace":null,"worker_id":"10.0.0.5:8083","generation":17}"#
        );
        assert_eq!(StatusValue::decode(Some(&v.encode())), Ok(Some(v.clone())));
        let failed = StatusValue {
            state: State::Failed,
            trace: Some("java.lang.Exception: x\n\tat Y".into()),
            worker_id: "h:1".into(),
            generation: -1,
        };
        assert_eq!(
            String::from_utf8(failed.encode()).unwrap(),
            r#"{"state":"FAILED","trace":"java.lang.Exception: x\n\tat Y","worker_id":"h:1","generation":-1}"#
        );
        assert_eq!(
            StatusValue::decode(Some(&failed.encode())),
            Ok(Some(failed))
        );
        assert_eq!(StatusValue::encode_opt(None), None);
        assert_eq!(StatusValue::decode(None), Ok(None));
        for state in [
            State::Unassigned,
            State::Running,
            State::Paused,
            State::Failed,
            State::Restarting,
            State::Stopped,
        ] {
            assert_eq!(State::parse(state.as_str()), Some(state));
        }
        // Field order and missing trace do not matter when reading.
        assert_eq!(
            StatusValue::decode(Some(
                br#"{"generation":3,"worker_id":"w","state":"UNASSIGNED"}"#
            )),
            Ok(Some(StatusValue {
                state: State::Unassigned,
                trace: None,
                worker_id: "w".into(),
                generation: 3,
            }))
        );
        assert!(StatusValue::decode(Some(
            br#"{"state":"DESTROYED","worker_id":"w","generation":1}"#
        ))
        .is_err());
        assert!(StatusValue::decode(Some(br#"{"state":"RUNNING","worker_id":"w"}"#)).is_err());
        assert!(StatusValue::decode(Some(br#"{"state":"RUNNING","generation":1}"#)).is_err());
        assert!(StatusValue::decode(Some(b"[]")).is_err());
    }

    #[test]
    fn task_status_reader_rule() {
        let st = |state, generation| StatusValue {
            state,
            trace: None,
            worker_id: "w".into(),
            generation,
        };
        let running5 = st(State::Running, 5);
        assert!(!should_apply_task_status(
            Some(&running5),
            &st(State::Unassigned, 5)
        ));
        assert!(!should_apply_task_status(
            Some(&running5),
            &st(State::Unassigned, 4)
        ));
        assert!(should_apply_task_status(
            Some(&running5),
            &st(State::Unassigned, 6)
        ));
        assert!(should_apply_task_status(
            Some(&running5),
            &st(State::Failed, 1)
        ));
        assert!(should_apply_task_status(
            Some(&running5),
            &st(State::Running, 1)
        ));
        assert!(should_apply_task_status(
            Some(&st(State::Paused, 9)),
            &st(State::Unassigned, 1)
        ));
        assert!(should_apply_task_status(None, &st(State::Unassigned, 0)));
    }

    #[test]
    fn topic_status_value_bytes() {
        let v = TopicStatusValue {
            topic: "orders".into(),
            connector: "pg-sink".into(),
            task: 0,
            discover_timestamp: 1_700_000_000_000,
        };
        assert_eq!(
            String::from_utf8(v.encode()).unwrap(),
            r#"{"topic":{"name":"orders","connector":"pg-sink","task":0,"discoverTimestamp":1700000000000}}"#
        );
        assert_eq!(TopicStatusValue::decode(Some(&v.encode())), Ok(Some(v)));
        assert_eq!(TopicStatusValue::decode(None), Ok(None));
        assert!(TopicStatusValue::decode(Some(br#"{"name":"orders"}"#)).is_err());
    }

    #[test]
    fn topic_status_key_is_read_as_java_reads_it() {
        let topic = |t: &str, c: &str| {
            Some(StatusKey::Topic {
                topic: t.into(),
                connector: c.into(),
            })
        };
        // The ten characters after the first ':' are skipped unchecked.
        assert_eq!(
            StatusKey::parse("status-topic-t:XXXXXXXXXXc"),
            topic("t", "c")
        );
        // The connector may hold ':' and anything else; the topic ends at the first ':'.
        assert_eq!(
            StatusKey::parse("status-topic-a:connector-::b:connector-c"),
            topic("a", "::b:connector-c")
        );
        assert_eq!(
            StatusKey::parse("status-topic-t:connector-\u{1F600}\u{e9}"),
            topic("t", "\u{1F600}\u{e9}")
        );
        // A huge key is fine.
        let long = "x".repeat(1 << 20);
        assert_eq!(
            StatusKey::parse(&format!("status-topic-{long}:connector-{long}")),
            topic(&long, &long)
        );
    }

    #[test]
    fn topic_status_values_from_outside() {
        let decode = |s: &str| TopicStatusValue::decode(Some(s.as_bytes()));
        // Integers of any width that fit a long; the task is narrowed as Java narrows it.
        let v = decode(
            r#"{"topic":{"name":"n","connector":"c","task":4294967297,"discoverTimestamp":-5},"x":1}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!((v.task, v.discover_timestamp), (1, -5));
        assert_eq!(decode("null"), Ok(None));
        for bad in [
            "",
            "{",
            "[]",
            "\"topic\"",
            r#"{"topic":null}"#,
            r#"{"topic":"orders"}"#,
            r#"{"topic":{"name":"n","connector":"c","task":0}}"#,
            r#"{"topic":{"name":"n","connector":"c","task":"0","discoverTimestamp":1}}"#,
            r#"{"topic":{"name":1,"connector":"c","task":0,"discoverTimestamp":1}}"#,
            r#"{"topic":{"name":"n","connector":"c","task":0,"discoverTimestamp":1e3}}"#,
            r#"{"topic":{"name":"n","connector":"c","task":0,"discoverTimestamp":99999999999999999999}}"#,
        ] {
            assert!(decode(bad).is_err(), "{bad}");
        }
        assert!(TopicStatusValue::decode(Some(&[0xff, 0xfe])).is_err());
        // A huge value decodes (its size is bounded by the broker's record size only).
        let name = "n".repeat(1 << 20);
        let v = TopicStatusValue {
            topic: name.clone(),
            connector: name,
            task: -1,
            discover_timestamp: i64::MAX,
        };
        assert_eq!(TopicStatusValue::decode(Some(&v.encode())), Ok(Some(v)));
    }

    // ----- offsets topic -----

    #[test]
    fn offset_key_shape() {
        let partition = json!({"filename": "/data/in.txt"});
        let key = offset_key("file-src", partition.as_object().unwrap());
        assert_eq!(
            String::from_utf8(key.clone()).unwrap(),
            r#"["file-src",{"filename":"/data/in.txt"}]"#
        );
        assert_eq!(
            parse_offset_key(&key),
            Some((
                "file-src".to_string(),
                partition.as_object().unwrap().clone()
            ))
        );
        // Several fields, mixed types; Java's spacing-free output.
        let p = json!({"db": "x", "shard": 3, "ok": true, "none": null});
        assert_eq!(
            String::from_utf8(offset_key("c", p.as_object().unwrap())).unwrap(),
            r#"["c",{"db":"x","none":null,"ok":true,"shard":3}]"#
        );
        // Empty partition.
        assert_eq!(offset_key("c", &Map::new()), br#"["c",{}]"#.to_vec());
        // Keys written by others with spaces or another field order parse to the same value.
        assert_eq!(
            parse_offset_key(br#"[ "c" , { "shard" : 3, "db" : "x" } ]"#),
            Some((
                "c".to_string(),
                json!({"db": "x", "shard": 3}).as_object().unwrap().clone()
            ))
        );
    }

    #[test]
    fn malformed_offset_keys_are_skipped() {
        for bad in [
            &b"not json"[..],
            b"",
            b"{}",
            b"\"c\"",
            b"[]",
            b"[\"c\"]",
            b"[\"c\",{},1]",
            b"[1,{}]",
            b"[\"c\",null]",
            b"[\"c\",[1]]",
            b"[\"c\",\"p\"]",
            b"[null,{}]",
        ] {
            assert_eq!(
                parse_offset_key(bad),
                None,
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn offset_values() {
        let v = json!({"position": 530});
        let bytes = encode_offset_value(v.as_object().unwrap());
        assert_eq!(bytes, br#"{"position":530}"#.to_vec());
        assert_eq!(
            decode_offset_value(Some(&bytes)),
            Ok(Some(v.as_object().unwrap().clone()))
        );
        assert_eq!(decode_offset_value(None), Ok(None));
        assert_eq!(decode_offset_value(Some(b"null")), Ok(None));
        assert!(decode_offset_value(Some(b"[1]")).is_err());
        assert!(decode_offset_value(Some(b"{")).is_err());
    }
}
