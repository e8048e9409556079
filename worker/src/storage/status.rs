//! Connector and task status as the REST API reports it.
//!
//! Standalone mode keeps it in memory. Distributed mode adds the status topic
//! (connect-compat §2.4): every local change is also written there, keyed
//! `status-connector-<name>` / `status-task-<name>-<n>` with the current group generation,
//! and [`StatusStore::apply_remote`] folds in what other workers wrote.
//!
//! It also keeps the topics each connector used (KIP-558, [`super::topic_status`]): recorded by
//! the tasks, written to the status topic as `status-topic-<topic>:connector-<name>` and read
//! back from it ([`StatusStore::apply_remote_topic`]).

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rdkafka::error::RDKafkaErrorCode;

use super::internal_records::{
    should_apply_task_status, StatusKey, StatusValue, TopicStatusValue, STATUS_TOPIC_PREFIX,
};
use super::kafka_log::{LogError, LogWriter};
use super::topic_status::ActiveTopics;
use crate::model::{ConnectorState, State, TaskState};

/// One instance's status.
#[derive(Debug, Clone, PartialEq)]
pub struct Status {
    pub state: State,
    pub trace: Option<String>,
    pub worker_id: String,
    pub generation: i32,
}

#[derive(Default)]
struct Inner {
    connectors: BTreeMap<String, Status>,
    tasks: BTreeMap<(String, u32), Status>,
}

/// Status of every connector and task this worker knows.
pub struct StatusStore {
    worker_id: String,
    inner: Mutex<Inner>,
    /// The status topic, in distributed mode.
    topic: Option<LogWriter>,
    generation: AtomicI32,
    /// The topics each connector used (KIP-558).
    topics: Arc<ActiveTopics>,
    /// Where topic-status writes are watched and retried (distributed mode; the runtime that
    /// opened the status topic).
    runtime: Option<tokio::runtime::Handle>,
}

fn to_value(s: &Status) -> StatusValue {
    StatusValue {
        state: s.state,
        trace: s.trace.clone(),
        worker_id: s.worker_id.clone(),
        generation: s.generation,
    }
}

fn from_value(v: StatusValue) -> Status {
    Status {
        state: v.state,
        trace: v.trace,
        worker_id: v.worker_id,
        generation: v.generation,
    }
}

impl StatusStore {
    /// An in-memory store (standalone mode).
    pub fn new(worker_id: impl Into<String>) -> StatusStore {
        StatusStore {
            worker_id: worker_id.into(),
            inner: Mutex::new(Inner::default()),
            topic: None,
            generation: AtomicI32::new(-1),
            topics: Arc::default(),
            runtime: None,
        }
    }

    /// A store that also writes every change to the status topic (distributed mode). Called
    /// inside a Tokio runtime, it watches topic-status writes there and retries them.
    pub fn with_topic(worker_id: impl Into<String>, topic: LogWriter) -> StatusStore {
        StatusStore {
            topic: Some(topic),
            runtime: tokio::runtime::Handle::try_current().ok(),
            ..StatusStore::new(worker_id)
        }
    }

    /// The group generation written with later statuses.
    pub fn set_generation(&self, generation: i32) {
        self.generation.store(generation, Ordering::SeqCst);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn status(&self, state: State, trace: Option<String>) -> Status {
        Status {
            state,
            trace,
            worker_id: self.worker_id.clone(),
            generation: self.generation.load(Ordering::SeqCst),
        }
    }

    /// Writes to the status topic without waiting (Java's status store is asynchronous too).
    fn publish(&self, key: StatusKey, status: Option<&Status>) {
        let Some(topic) = &self.topic else { return };
        let value = status.map(|s| to_value(s).encode());
        if let Err(e) = topic.send_nowait(key.encode().as_bytes(), value.as_deref()) {
            tracing::warn!(key = %key.encode(), error = %e, "cannot write status");
        }
    }

    pub fn put_connector(&self, name: &str, state: State, trace: Option<String>) {
        let status = self.status(state, trace);
        self.publish(StatusKey::Connector(name.to_owned()), Some(&status));
        self.lock().connectors.insert(name.to_owned(), status);
    }

    pub fn put_task(&self, name: &str, task: u32, state: State, trace: Option<String>) {
        if state == State::Failed {
            tracing::error!(
                connector = name,
                task,
                trace = trace.as_deref().unwrap_or(""),
                "task failed"
            );
        }
        let status = self.status(state, trace);
        self.publish(
            StatusKey::Task {
                connector: name.to_owned(),
                task,
            },
            Some(&status),
        );
        self.lock().tasks.insert((name.to_owned(), task), status);
    }

    /// Forgets tasks numbered `from` and above (after the task count shrank); tombstones
    /// them in the status topic.
    pub fn remove_tasks_from(&self, name: &str, from: u32) {
        let gone: Vec<u32> = {
            let mut inner = self.lock();
            let gone = inner
                .tasks
                .keys()
                .filter(|(c, t)| c == name && *t >= from)
                .map(|(_, t)| *t)
                .collect();
            inner.tasks.retain(|(c, t), _| c != name || *t < from);
            gone
        };
        for task in gone {
            self.publish(
                StatusKey::Task {
                    connector: name.to_owned(),
                    task,
                },
                None,
            );
        }
    }

    /// Forgets a connector and its tasks (it was deleted); tombstones them in the status
    /// topic.
    pub fn remove_connector(&self, name: &str) {
        self.remove_tasks_from(name, 0);
        self.lock().connectors.remove(name);
        self.publish(StatusKey::Connector(name.to_owned()), None);
    }

    /// Applies a record read from the status topic (connect-compat §2.4 reader rules).
    pub fn apply_remote(&self, key: StatusKey, value: Option<StatusValue>) {
        let mut inner = self.lock();
        match key {
            StatusKey::Connector(name) => match value {
                Some(v) => {
                    inner.connectors.insert(name, from_value(v));
                }
                None => {
                    inner.connectors.remove(&name);
                }
            },
            StatusKey::Task { connector, task } => {
                let id = (connector, task);
                match value {
                    Some(v) => {
                        let held = inner.tasks.get(&id).map(to_value);
                        if should_apply_task_status(held.as_ref(), &v) {
                            inner.tasks.insert(id, from_value(v));
                        }
                    }
                    None => {
                        inner.tasks.remove(&id);
                    }
                }
            }
            // Topic statuses have their own value type: see `apply_remote_topic`.
            StatusKey::Topic { .. } => {}
        }
    }

    /// Applies a topic status read from the status topic; `None` (a tombstone) forgets it.
    pub fn apply_remote_topic(
        &self,
        topic: String,
        connector: String,
        value: Option<TopicStatusValue>,
    ) {
        match value {
            Some(v) => self.topics.put(connector, topic, v),
            None => {
                self.topics.remove(&connector, &topic);
            }
        }
    }

    /// KIP-558: records that a task of `connector` used `topic`, unless this worker already
    /// knows it for the connector (then nothing is written). True if it was recorded.
    pub fn record_topic(&self, connector: &str, topic: &str, task: u32) -> bool {
        let status = TopicStatusValue {
            topic: topic.to_owned(),
            connector: connector.to_owned(),
            task: task as i32,
            discover_timestamp: now_ms(),
        };
        if !self.topics.insert_if_absent(status.clone()) {
            return false;
        }
        tracing::debug!(connector, topic, task, "recording active topic");
        self.publish_topic(status.topic.clone(), status.connector.clone(), Some(status));
        true
    }

    /// The topics this worker knows `connector` used, sorted (none for an unknown connector).
    pub fn active_topics(&self, connector: &str) -> Vec<String> {
        self.topics.topics(connector)
    }

    /// Forgets the topics this worker knows for `connector` and tombstones each in the status
    /// topic (`PUT …/topics/reset`, and a deleted connector). Returns them.
    pub fn reset_topics(&self, connector: &str) -> Vec<String> {
        let gone = self.topics.remove_connector(connector);
        for topic in &gone {
            self.publish_topic(topic.clone(), connector.to_owned(), None);
        }
        if !gone.is_empty() {
            tracing::info!(connector, topics = ?gone, "reset active topics");
        }
        gone
    }

    /// Advances whenever a topic is forgotten: a task that remembers which topics it already
    /// recorded records them again after a change.
    pub fn topic_epoch(&self) -> u64 {
        self.topics.epoch()
    }

    /// Writes a topic status (`None`: a tombstone) to the status topic without waiting. In a
    /// runtime, the delivery is watched: a retriable failure is retried (as long as the entry
    /// is still what this worker holds), any other is logged.
    fn publish_topic(&self, topic: String, connector: String, status: Option<TopicStatusValue>) {
        let Some(log) = &self.topic else { return };
        let key = StatusKey::Topic { topic, connector };
        let value = status.as_ref().map(TopicStatusValue::encode);
        let delivery = match log.send_nowait(key.encode().as_bytes(), value.as_deref()) {
            Ok(delivery) => delivery,
            Err(e) => {
                tracing::warn!(key = %short(&key.encode()), error = %e, "cannot write topic status");
                return;
            }
        };
        if let Some(runtime) = &self.runtime {
            let watch = TopicWrite {
                log: log.clone(),
                topics: self.topics.clone(),
                key,
                status,
            };
            runtime.spawn(watch.deliver(Box::pin(delivery)));
        }
    }

    pub fn connector(&self, name: &str) -> Option<ConnectorState> {
        self.lock().connectors.get(name).map(|s| ConnectorState {
            state: s.state,
            worker_id: s.worker_id.clone(),
            trace: s.trace.clone(),
        })
    }

    pub fn task(&self, name: &str, task: u32) -> Option<TaskState> {
        self.lock()
            .tasks
            .get(&(name.to_owned(), task))
            .map(|s| TaskState {
                id: task,
                state: s.state,
                worker_id: s.worker_id.clone(),
                trace: s.trace.clone(),
            })
    }

    /// Every task status of a connector, sorted by id.
    pub fn tasks(&self, name: &str) -> Vec<TaskState> {
        self.lock()
            .tasks
            .iter()
            .filter(|((c, _), _)| c == name)
            .map(|((_, id), s)| TaskState {
                id: *id,
                state: s.state,
                worker_id: s.worker_id.clone(),
                trace: s.trace.clone(),
            })
            .collect()
    }
}

/// Feeds status-topic records into `store` (the reader side of distributed mode).
pub fn apply_records(store: &StatusStore, records: Vec<super::kafka_log::LogRecord>) {
    for record in records {
        let Some(text) = record.key.as_deref().map(String::from_utf8_lossy) else {
            continue;
        };
        let key = match StatusKey::parse(&text) {
            Some(key) => key,
            None if text.starts_with(STATUS_TOPIC_PREFIX) => {
                tracing::warn!(key = %short(&text), offset = record.offset, "discarding record with an invalid topic status key");
                continue;
            }
            None => {
                tracing::debug!(key = %short(&text), "skipping status record with an unknown key");
                continue;
            }
        };
        if let StatusKey::Topic { topic, connector } = key {
            match TopicStatusValue::decode(record.value.as_deref()) {
                Ok(value) => store.apply_remote_topic(topic, connector, value),
                Err(e) => {
                    tracing::warn!(key = %short(&text), offset = record.offset, error = %short(&e.to_string()), "discarding topic status record")
                }
            }
            continue;
        }
        match StatusValue::decode(record.value.as_deref()) {
            Ok(value) => store.apply_remote(key, value),
            Err(e) => tracing::warn!(offset = record.offset, error = %e, "skipping status record"),
        }
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// At most 200 characters of `s`, for logging text read from outside.
fn short(s: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 200;
    match s.char_indices().nth(MAX) {
        Some((end, _)) => format!("{}… ({} bytes)", &s[..end], s.len()).into(),
        None => s.into(),
    }
}

type Delivery = Pin<Box<dyn Future<Output = Result<(i32, i64), LogError>> + Send>>;

/// A topic-status write being delivered (Java: retriable failures are retried, others logged).
struct TopicWrite {
    log: LogWriter,
    topics: Arc<ActiveTopics>,
    key: StatusKey,
    /// `None`: a tombstone.
    status: Option<TopicStatusValue>,
}

impl TopicWrite {
    async fn deliver(self, mut delivery: Delivery) {
        let mut backoff = Duration::from_millis(100);
        loop {
            let error = match delivery.await {
                Ok(_) => return,
                Err(e) => e,
            };
            let key = self.key.encode();
            if !retriable(&error) {
                tracing::error!(key = %short(&key), error = %error, "failed to write topic status");
                return;
            }
            if !self.still_current() {
                tracing::debug!(key = %short(&key), "topic status changed meanwhile; not retrying");
                return;
            }
            tracing::warn!(key = %short(&key), error = %error, "retrying topic status write");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(Duration::from_secs(10));
            let value = self.status.as_ref().map(TopicStatusValue::encode);
            delivery = match self.log.send_nowait(key.as_bytes(), value.as_deref()) {
                Ok(d) => Box::pin(d),
                Err(e) if retriable(&e) => Box::pin(std::future::ready(Err(e))),
                Err(e) => {
                    tracing::error!(key = %short(&key), error = %e, "failed to write topic status");
                    return;
                }
            };
        }
    }

    /// Whether the cache still holds what this write says (a retry must not undo a later
    /// reset or recording).
    fn still_current(&self) -> bool {
        let StatusKey::Topic { topic, connector } = &self.key else {
            return false;
        };
        self.topics.get(connector, topic) == self.status
    }
}

/// Whether a failed status write may succeed when sent again.
fn retriable(e: &LogError) -> bool {
    use RDKafkaErrorCode::*;
    let LogError::Send { source, .. } = e else {
        return false;
    };
    matches!(
        source.rdkafka_error_code(),
        Some(
            MessageTimedOut
                | RequestTimedOut
                | QueueFull
                | AllBrokersDown
                | BrokerTransportFailure
                | NetworkException
                | LeaderNotAvailable
                | NotLeaderForPartition
                | UnknownTopicOrPartition
                | BrokerNotAvailable
                | NotEnoughReplicas
                | NotEnoughReplicasAfterAppend
                | NotCoordinator
                | CoordinatorLoadInProgress
                | CoordinatorNotAvailable
                | KafkaStorageError
                | OperationTimedOut
                | TimedOutQueue
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::kafka_log::LogRecord;

    fn record(offset: i64, key: &str, value: Option<&str>) -> LogRecord {
        LogRecord {
            partition: 0,
            offset,
            key: Some(key.as_bytes().to_vec()),
            value: value.map(|v| v.as_bytes().to_vec()),
        }
    }

    fn value(topic: &str, connector: &str, task: i32) -> String {
        format!(
            r#"{{"topic":{{"name":"{topic}","connector":"{connector}","task":{task},"discoverTimestamp":1700000000000}}}}"#
        )
    }

    #[test]
    fn records_a_topic_once_until_reset() {
        let store = StatusStore::new("w:1");
        let epoch = store.topic_epoch();
        assert!(store.record_topic("c", "orders", 2));
        assert!(!store.record_topic("c", "orders", 0), "already known");
        assert!(store.record_topic("c", "audit", 0));
        assert!(store.record_topic("other", "orders", 0));
        assert_eq!(store.active_topics("c"), ["audit", "orders"]);
        assert!(store.active_topics("unknown").is_empty());
        assert_eq!(store.topic_epoch(), epoch);
        assert_eq!(store.reset_topics("c"), ["audit", "orders"]);
        assert!(store.topic_epoch() > epoch);
        assert!(store.active_topics("c").is_empty());
        assert_eq!(store.active_topics("other"), ["orders"]);
        assert!(store.reset_topics("c").is_empty());
        assert!(
            store.record_topic("c", "orders", 1),
            "recorded again after the reset"
        );
    }

    #[test]
    fn topic_records_read_back() {
        let store = StatusStore::new("w:1");
        apply_records(
            &store,
            vec![
                record(
                    0,
                    "status-topic-orders:connector-pg",
                    Some(&value("orders", "pg", 0)),
                ),
                record(
                    1,
                    "status-topic-audit:connector-pg",
                    Some(&value("audit", "pg", 1)),
                ),
                record(
                    2,
                    "status-topic-a:connector-pg:x",
                    Some(&value("a", "pg:x", 1)),
                ),
                // Discarded: bad keys and bad values.
                record(3, "status-topic-nocolon", Some(&value("x", "pg", 0))),
                record(4, "status-topic-:connector-pg", Some(&value("", "pg", 0))),
                record(5, "status-topic-t:connector-", Some(&value("t", "", 0))),
                record(6, "status-topic-bad:connector-pg", Some("{not json")),
                record(
                    7,
                    "status-topic-bad:connector-pg",
                    Some(r#"{"topic":{"name":"bad"}}"#),
                ),
                record(
                    8,
                    "status-topic-bad:connector-pg",
                    Some(r#"{"state":"RUNNING","trace":null,"worker_id":"w","generation":1}"#),
                ),
            ],
        );
        assert_eq!(store.active_topics("pg"), ["audit", "orders"]);
        assert_eq!(
            store.active_topics("pg:x"),
            ["a"],
            "the connector may hold ':'"
        );
        assert!(store.active_topics("").is_empty());
        // A task status is not mistaken for a topic status, nor the other way round.
        apply_records(
            &store,
            vec![
                record(
                    9,
                    "status-task-pg-0",
                    Some(r#"{"state":"RUNNING","trace":null,"worker_id":"w","generation":1}"#),
                ),
                record(10, "status-topic-orders:connector-pg", None),
            ],
        );
        assert_eq!(store.task("pg", 0).map(|t| t.state), Some(State::Running));
        assert_eq!(store.active_topics("pg"), ["audit"]);
        // A topic another worker recorded is known here: a task of this worker does not write it.
        assert!(!store.record_topic("pg", "audit", 3));
    }

    #[test]
    fn short_cuts_long_text_on_a_character_boundary() {
        assert_eq!(short("abc"), "abc");
        let long = "é".repeat(300);
        let cut = short(&long);
        assert!(cut.starts_with(&"é".repeat(200)));
        assert!(cut.ends_with("(600 bytes)"), "{cut}");
    }
}
