//! Connector and task traits, with Kafka Connect's lifecycle.
//!
//! Calls are blocking; the worker gives each task its own thread. A task that needs async I/O
//! owns a small runtime of its own, created in `start` and dropped in `stop`.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::config::{ConfigDef, ConfigValueInfo};
use crate::error::ConnectResult;
use crate::record::{OffsetMap, Props, RecordMetadata, SinkRecord, SourceRecord, TopicPartition};

/// Offsets of a sink task: the next offset to read per partition (as Kafka commits them).
pub type SinkOffsets = BTreeMap<TopicPartition, i64>;

/// Whether a source connector can take part in exactly-once delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ExactlyOnceSupport {
    Supported,
    Unsupported,
}

/// What every connector does: the part of the lifecycle shared by sources and sinks.
pub trait Connector: Send + Default + 'static {
    /// Fully-qualified, Java-style class name (e.g. `org.apache.kafka.connect.file.FileStreamSinkConnector`).
    /// The worker derives the aliases (simple name, simple name without `Connector`).
    const CLASS: &'static str;

    /// The plugin version shown by `/connector-plugins`.
    fn version() -> String;

    /// The keys this connector declares.
    fn config_def() -> ConfigDef;

    /// Receives the context through which the connector asks things of the worker while it
    /// runs (Java's `Connector.initialize(ConnectorContext)`). The worker calls it once on each
    /// instance it runs, before [`Connector::start`]; instances made only to validate a config
    /// or check offsets are not initialized. The default drops the context.
    fn initialize(&mut self, _context: ConnectorContext) {}

    /// Validates a config. The default checks the declared keys only.
    fn validate(&self, props: &Props) -> Vec<ConfigValueInfo> {
        Self::config_def().validate(props)
    }

    /// Starts the connector with its (resolved) config.
    fn start(&mut self, props: &Props) -> ConnectResult<()>;

    /// Configs for at most `max_tasks` tasks.
    fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Props>>;

    /// Stops the connector.
    fn stop(&mut self) -> ConnectResult<()>;
}

/// What a running connector may ask of the worker that runs it (Java's `ConnectorContext`),
/// from any thread: a connector that watches its source (new tables, new files) keeps a clone
/// in its own thread and asks for new task configs when the source changes.
///
/// Cheap to clone (`Arc`), `Send + Sync`. Calls never block and never fail: the worker acts on
/// them later, on its own threads. Once the worker stopped the connector (or restarted it, or
/// the connector failed), calls from the old instance do nothing, so a thread that outlives
/// [`Connector::stop`] by a moment is harmless. A context made with [`ConnectorContext::default`]
/// (a connector the worker never initialized, e.g. in a unit test) ignores every call.
#[derive(Clone, Default)]
pub struct ConnectorContext {
    target: Option<Arc<dyn ContextTarget>>,
}

/// Who receives a [`ConnectorContext`]'s calls: the worker, through the plugin boundary, or a
/// test double.
pub trait ContextTarget: Send + Sync {
    fn request_task_reconfiguration(&self);
    fn raise_error(&self, message: &str);
}

impl ConnectorContext {
    /// A context whose calls go to `target`.
    pub fn new(target: Arc<dyn ContextTarget>) -> ConnectorContext {
        ConnectorContext {
            target: Some(target),
        }
    }

    /// Asks the worker to call [`Connector::task_configs`] again and, when the configs differ
    /// from the running ones, to restart the tasks with them (Java's
    /// `requestTaskReconfiguration`). Several requests in a burst lead to one regeneration;
    /// requests while the connector is paused or stopped are dropped (resuming asks once).
    pub fn request_task_reconfiguration(&self) {
        if let Some(target) = &self.target {
            target.request_task_reconfiguration();
        }
    }

    /// Reports an error the connector cannot recover from (Java's `raiseError`): the worker
    /// marks the connector FAILED with `message` in its trace and stops the instance; its
    /// tasks keep running. A restart starts a new instance.
    pub fn raise_error(&self, message: &str) {
        if let Some(target) = &self.target {
            target.raise_error(message);
        }
    }
}

impl std::fmt::Debug for ConnectorContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorContext")
            .field("attached", &self.target.is_some())
            .finish()
    }
}

/// A source connector and its task type.
pub trait SourceConnector: Connector {
    type Task: SourceTask;

    /// Exactly-once support for this config (KIP-618); unsupported unless overridden.
    fn exactly_once_support(&self, _props: &Props) -> ExactlyOnceSupport {
        ExactlyOnceSupport::Unsupported
    }

    /// Checks offsets a user wants to write with `PATCH /offsets`; `Ok(false)` means the
    /// connector does not manage offsets itself (the default: the worker writes them).
    fn alter_offsets(
        &self,
        _props: &Props,
        _offsets: &[(OffsetMap, Option<OffsetMap>)],
    ) -> ConnectResult<bool> {
        Ok(false)
    }
}

/// A sink connector and its task type.
pub trait SinkConnector: Connector {
    type Task: SinkTask;

    /// Checks offsets a user wants to write with `PATCH /offsets`; see
    /// [`SourceConnector::alter_offsets`].
    fn alter_offsets(&self, _props: &Props, _offsets: &SinkOffsets) -> ConnectResult<bool> {
        Ok(false)
    }
}

/// What a source task can read while starting: the last committed offset of each of the
/// connector's source partitions.
#[derive(Debug, Clone, Default)]
pub struct SourceTaskContext {
    offsets: Vec<(OffsetMap, OffsetMap)>,
}

impl SourceTaskContext {
    pub fn new(offsets: Vec<(OffsetMap, OffsetMap)>) -> SourceTaskContext {
        SourceTaskContext { offsets }
    }

    /// The committed offset of one source partition (compared as JSON values, order-insensitive).
    pub fn offset(&self, partition: &OffsetMap) -> Option<&OffsetMap> {
        self.offsets
            .iter()
            .find(|(p, _)| p == partition)
            .map(|(_, o)| o)
    }

    /// Every committed (partition, offset) pair of the connector.
    pub fn offsets(&self) -> &[(OffsetMap, OffsetMap)] {
        &self.offsets
    }
}

/// A source task: polled for batches of records by its own worker thread.
pub trait SourceTask: Send + Default + 'static {
    /// True if the task wants [`SourceTask::commit_record`] calls (the worker then keeps each
    /// polled record until the broker acknowledges it).
    const WANTS_COMMIT_RECORD: bool = false;

    fn start(&mut self, props: &Props, context: &SourceTaskContext) -> ConnectResult<()>;

    /// The next batch of records; may block briefly and return an empty batch when idle.
    fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>>;

    /// The next batch written straight into the batch the worker reads in place, without
    /// building a [`SourceRecord`] per record (see [`crate::abi::batch`]). The default writes
    /// what [`SourceTask::poll`] returns; a task that reads many small records (lines, rows)
    /// overrides it to save the allocations of each record. Not called for tasks with
    /// [`SourceTask::WANTS_COMMIT_RECORD`], which must keep their records.
    fn poll_batch(
        &mut self,
        batch: &mut crate::abi::batch::RecordBatchWriter,
    ) -> ConnectResult<()> {
        for record in self.poll()? {
            batch.push_source(&record)?;
        }
        Ok(())
    }

    /// Called after the worker committed offsets.
    fn commit(&mut self) -> ConnectResult<()> {
        Ok(())
    }

    /// Called after the worker committed offsets, with the (source partition, offset) pairs
    /// it wrote: what the task may now treat as durable (a change-data-capture task confirms
    /// its position to the database here). The default calls [`SourceTask::commit`].
    fn commit_offsets(&mut self, _committed: &[(OffsetMap, OffsetMap)]) -> ConnectResult<()> {
        self.commit()
    }

    /// Called when the broker acknowledged a record (or it was filtered out: `metadata` None).
    fn commit_record(
        &mut self,
        _record: &SourceRecord,
        _metadata: Option<&RecordMetadata>,
    ) -> ConnectResult<()> {
        Ok(())
    }

    fn stop(&mut self) -> ConnectResult<()>;
}

/// Requests a sink task makes of the worker while handling a call.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SinkTaskContext {
    /// Partitions currently assigned to the task.
    pub assignment: Vec<TopicPartition>,
    /// Rewind (or skip) these partitions to the given offsets before the next delivery.
    pub offset_resets: SinkOffsets,
    /// Ask for an offset commit as soon as possible.
    pub commit_requested: bool,
    /// After a retriable error from `put`, wait this long before redelivering.
    pub timeout_ms: Option<i64>,
    /// Records the task could not handle, reported with [`SinkTaskContext::report`].
    pub errant_records: Vec<ErrantRecord>,
}

/// A record a sink task could not handle (Kafka's `ErrantRecordReporter`). The worker handles
/// it by the connector's error settings: logged with `errors.log.enable`, its original bytes
/// written to the dead letter queue when `errors.deadletterqueue.topic.name` is set, and with
/// `errors.tolerance=none` the task fails after the call that reported it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrantRecord {
    /// Where the record was consumed from: its original topic (before any transformation
    /// renamed it), partition and offset.
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    /// What went wrong.
    pub error: String,
}

impl SinkTaskContext {
    pub fn reset_offset(&mut self, tp: TopicPartition, offset: i64) {
        self.offset_resets.insert(tp, offset);
    }

    pub fn request_commit(&mut self) {
        self.commit_requested = true;
    }

    pub fn timeout(&mut self, ms: i64) {
        self.timeout_ms = Some(ms);
    }

    /// Reports a record the task could not handle and skips it (Java's
    /// `errantRecordReporter().report(record, error)`). The worker acts on the report when the
    /// current call returns, before the record's offset is committed.
    pub fn report(&mut self, record: &SinkRecord, error: impl std::fmt::Display) {
        self.errant_records.push(ErrantRecord {
            topic: record
                .original_topic
                .clone()
                .unwrap_or_else(|| record.topic.clone()),
            partition: record.kafka_partition,
            offset: record.kafka_offset,
            error: error.to_string(),
        });
    }
}

/// A sink task: records are delivered to it in batches by its own worker thread.
pub trait SinkTask: Send + Default + 'static {
    fn start(&mut self, props: &Props, context: &mut SinkTaskContext) -> ConnectResult<()>;

    /// Partitions newly assigned to the task.
    fn open(
        &mut self,
        _partitions: &[TopicPartition],
        _context: &mut SinkTaskContext,
    ) -> ConnectResult<()> {
        Ok(())
    }

    /// A batch of records. A retriable error asks for redelivery of the same batch.
    fn put(&mut self, records: Vec<SinkRecord>, context: &mut SinkTaskContext)
        -> ConnectResult<()>;

    /// A batch of records read in place from the batch the worker wrote (see
    /// [`crate::abi::batch`]), without building a [`SinkRecord`] per record. The default
    /// builds them and calls [`SinkTask::put`]; a task that writes many small records (lines,
    /// rows) overrides it to save the allocations of each record.
    fn put_batch(
        &mut self,
        batch: &crate::abi::batch::RecordBatch,
        context: &mut SinkTaskContext,
    ) -> ConnectResult<()> {
        let records = batch
            .iter()
            .map(|r| r.to_sink_record())
            .collect::<Result<Vec<_>, _>>()
            .map_err(crate::ConnectError::new)?;
        self.put(records, context)
    }

    /// Makes everything `put` so far durable.
    fn flush(&mut self, _offsets: &SinkOffsets) -> ConnectResult<()> {
        Ok(())
    }

    /// Returns the offsets safe to commit; the default flushes and commits all of them.
    fn pre_commit(&mut self, offsets: &SinkOffsets) -> ConnectResult<SinkOffsets> {
        self.flush(offsets)?;
        Ok(offsets.clone())
    }

    /// Partitions taken away from the task.
    fn close(&mut self, _partitions: &[TopicPartition]) -> ConnectResult<()> {
        Ok(())
    }

    fn stop(&mut self) -> ConnectResult<()>;
}
