//! Task runtime: each task runs on its own OS thread, calls its plugin in batches and talks
//! to Kafka through rdkafka. The herder starts, pauses, resumes and stops tasks through a
//! [`TaskHandle`].

pub mod convert;
pub mod dead_letter;
pub mod errors;
pub mod exactly_once;
pub mod held_records;
pub mod kafka;
pub mod pipeline;
pub mod sink;
pub mod source;
pub mod topics;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use tributary_connector_api::abi::batch::{RecordBatch, RecordBatchWriter};
use tributary_connector_api::abi::component::ByteBuf;
use tributary_connector_api::abi::{ConnectorKind, TaskRequest, TaskResponse};
use tributary_connector_api::{Props, SinkRecord, Value};

use crate::config::WorkerConfig;
use crate::metrics::TaskMetrics;
use crate::model::State;
use crate::plugins::{CallError, ConnectorPlugin, RemoteTask};
use crate::storage::{OffsetStore, StatusStore};

#[derive(Debug, Default)]
struct ControlState {
    paused: bool,
    stop: bool,
}

/// Shared between the herder and one task thread.
#[derive(Debug, Default)]
pub struct TaskControl {
    state: Mutex<ControlState>,
    changed: Condvar,
    /// Set when the herder gave up waiting for the task to stop: the thread, which finishes
    /// on its own, may no longer commit offsets or write statuses (a new instance of the
    /// task may be running by then, here or on another worker).
    cancelled: Arc<AtomicBool>,
}

impl TaskControl {
    fn lock(&self) -> std::sync::MutexGuard<'_, ControlState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn set_paused(&self, paused: bool) {
        self.lock().paused = paused;
        self.changed.notify_all();
    }

    pub fn request_stop(&self) {
        self.lock().stop = true;
        self.changed.notify_all();
    }

    pub fn stopping(&self) -> bool {
        self.lock().stop
    }

    /// Abandons the task (see [`TaskControl::cancelled`]); also asks it to stop.
    pub fn cancel(&self) {
        self.cancelled.store(true, Ordering::SeqCst);
        self.request_stop();
    }

    /// Whether the task was abandoned.
    pub fn cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    /// The flag behind [`TaskControl::cancelled`], for state shared outside the loop.
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancelled)
    }

    pub fn paused(&self) -> bool {
        self.lock().paused
    }

    /// Waits up to `timeout` for a change of target state.
    pub fn wait(&self, timeout: Duration) {
        let guard = self.lock();
        let _ = self.changed.wait_timeout(guard, timeout);
    }
}

/// The Kafka client configs of one task (the Worker builds them).
#[derive(Clone)]
pub struct TaskClients {
    /// A source task's producer.
    pub producer: rdkafka::ClientConfig,
    /// A sink task's consumer.
    pub consumer: rdkafka::ClientConfig,
    /// A sink task's dead letter queue producer.
    pub dlq_producer: rdkafka::ClientConfig,
    /// Topic creation (the dead letter queue's).
    pub admin: rdkafka::ClientConfig,
}

/// Everything a task thread needs.
pub struct TaskSpec {
    pub connector: String,
    pub task: u32,
    pub kind: ConnectorKind,
    /// Resolved (config providers applied).
    pub connector_config: Props,
    /// Resolved (config providers applied).
    pub task_config: Props,
    /// The resolved values, scrubbed from the status trace if the task fails.
    pub secrets: crate::config::providers::Secrets,
    pub plugin: ConnectorPlugin,
    /// Plugin converters and transformations the task may name.
    pub plugins: Arc<crate::plugins::PluginRegistry>,
    /// The task's metrics groups.
    pub metrics: Arc<TaskMetrics>,
    /// Kafka client configs, built by the Worker.
    pub clients: TaskClients,
    pub worker: Arc<WorkerConfig>,
    pub status: Arc<StatusStore>,
    pub offsets: Arc<dyn OffsetStore>,
    /// Exactly-once source tasks (KIP-618); `clients.producer` is then transactional.
    pub exactly_once: Option<exactly_once::ExactlyOnceSpec>,
}

/// A task instance of a plugin, as the loops call it.
pub trait PluginTask {
    fn call(&mut self, request: &TaskRequest) -> Result<TaskResponse, CallError>;

    /// A source task's next batch of records.
    fn poll(&mut self) -> Result<RecordBatch, CallError>;

    /// Hands a sink task a batch of records.
    fn put(&mut self, records: &[SinkRecord]) -> Result<TaskResponse, CallError> {
        let size = |v: &Value| match v {
            Value::String(s) => s.len(),
            Value::Bytes(b) => b.len(),
            _ => 0,
        };
        let estimate = records
            .iter()
            .map(|r| 48 + size(&r.key) + size(&r.value))
            .sum();
        let mut batch = RecordBatchWriter::with_capacity(estimate);
        for r in records {
            batch
                .push_sink(r)
                .map_err(|e| CallError::Protocol(e.message))?;
        }
        self.call(&TaskRequest::Put(ByteBuf(batch.finish(0, false))))
    }
}

impl PluginTask for RemoteTask {
    fn call(&mut self, request: &TaskRequest) -> Result<TaskResponse, CallError> {
        RemoteTask::call(self, request)
    }

    fn poll(&mut self) -> Result<RecordBatch, CallError> {
        RemoteTask::poll(self)
    }
}

/// What a task loop needs of its surroundings: who it is, where statuses and offsets go, and
/// the worker's offset flush settings.
pub struct TaskContext {
    pub connector: String,
    pub task: u32,
    pub status: Arc<StatusStore>,
    pub offsets: Arc<dyn OffsetStore>,
    /// `offset.flush.interval.ms`.
    pub flush_interval: Duration,
    /// `offset.flush.timeout.ms`.
    pub flush_timeout: Duration,
    pub metrics: Arc<TaskMetrics>,
    /// `topic.tracking.enable`: record the topics the task uses (KIP-558).
    pub track_topics: bool,
}

impl TaskContext {
    /// The task's topic tracker, when topic tracking is enabled.
    pub fn topic_tracker(&self) -> Option<topics::TaskTopics> {
        self.track_topics
            .then(|| topics::TaskTopics::new(self.status.clone(), &self.connector, self.task))
    }

    pub fn of(spec: &TaskSpec) -> TaskContext {
        TaskContext {
            connector: spec.connector.clone(),
            task: spec.task,
            status: spec.status.clone(),
            offsets: spec.offsets.clone(),
            flush_interval: Duration::from_millis(spec.worker.offset_flush_interval_ms),
            flush_timeout: Duration::from_millis(spec.worker.offset_flush_timeout_ms),
            metrics: spec.metrics.clone(),
            track_topics: spec.worker.topic_tracking_enable,
        }
    }
}

/// A running task.
pub struct TaskHandle {
    pub control: Arc<TaskControl>,
    connector: String,
    thread: Option<JoinHandle<()>>,
    done: mpsc::Receiver<()>,
}

impl TaskHandle {
    /// Starts a task thread.
    pub fn spawn(spec: TaskSpec, paused: bool) -> std::io::Result<TaskHandle> {
        let control = Arc::new(TaskControl::default());
        control.set_paused(paused);
        let (done_tx, done) = mpsc::channel();
        let thread_control = control.clone();
        let name = format!("task-{}-{}", spec.connector, spec.task);
        let owner = spec.connector.clone();
        // Plugin tasks run on this thread: a stack for values nested as deep as allowed.
        let thread = std::thread::Builder::new()
            .name(name)
            .stack_size(tributary_connector_api::nesting::TASK_STACK_BYTES)
            .spawn(move || {
                let span =
                    tracing::info_span!("task", connector = %spec.connector, task = spec.task);
                let _enter = span.enter();
                let status = spec.status.clone();
                let metrics = spec.metrics.clone();
                let secrets = spec.secrets.clone();
                let (connector, task) = (spec.connector.clone(), spec.task);
                let kind = spec.kind;
                let outcome =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match kind {
                        ConnectorKind::Source => source::run(spec, &thread_control),
                        ConnectorKind::Sink => sink::run(spec, &thread_control),
                    }))
                    .unwrap_or_else(|payload| {
                        let message = payload
                            .downcast_ref::<&str>()
                            .map(|s| (*s).to_owned())
                            .or_else(|| payload.downcast_ref::<String>().cloned())
                            .unwrap_or_else(|| "unknown panic".to_owned());
                        Err(trace("The worker panicked while running the task", message))
                    });
                if let Err(trace) = outcome {
                    metrics.record_state(State::Failed);
                    if thread_control.cancelled() {
                        tracing::warn!(trace = %secrets.scrub(&trace), "abandoned task failed");
                    } else {
                        status.put_task(
                            &connector,
                            task,
                            State::Failed,
                            Some(secrets.scrub(&trace)),
                        );
                    }
                }
                let _ = done_tx.send(());
            })?;
        Ok(TaskHandle {
            control,
            connector: owner,
            thread: Some(thread),
            done,
        })
    }

    pub fn set_paused(&self, paused: bool) {
        self.control.set_paused(paused);
    }

    /// The connector the task belongs to.
    pub fn connector(&self) -> &str {
        &self.connector
    }

    /// Asks the task to stop and waits up to `timeout` for it. A task that does not stop in
    /// time is abandoned (its thread finishes on its own).
    pub fn stop(mut self, timeout: Duration) -> bool {
        self.control.request_stop();
        let finished = matches!(
            self.done.recv_timeout(timeout),
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected)
        );
        if finished {
            if let Some(t) = self.thread.take() {
                let _ = t.join();
            }
        } else {
            self.control.cancel();
            tracing::warn!(
                "task did not stop within the graceful shutdown timeout; abandoned, it can no \
                 longer commit offsets or write statuses"
            );
        }
        finished
    }
}

/// Formats a failure as the status trace: what failed, then the plugin's message.
pub fn trace(stage: &str, message: impl std::fmt::Display) -> String {
    format!("org.apache.kafka.connect.errors.ConnectException: {stage}: {message}")
}

#[cfg(test)]
mod tests;
