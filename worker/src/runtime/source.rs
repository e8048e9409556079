//! The source task loop: poll → transform → convert → produce; offsets are committed only for
//! records the broker acknowledged, in order.
//!
//! Transformation, conversion and produce failures go through the connector's error policy
//! ([`super::pipeline`]): a tolerated failure skips the record (logged with
//! `errors.log.enable`; sources have no dead letter queue, as in Kafka) and its offset counts
//! as done, like a record a transformation filtered out; any other fails the task.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tributary_connector_api::abi::batch::RecordBatch;
use tributary_connector_api::abi::TaskRequest;
use tributary_connector_api::{OffsetMap, RecordMetadata};

use super::errors::{Failure, OpError, Stage};
use super::exactly_once::{Boundary, OffsetWriter, Transaction, COMMIT_TIMEOUT, INIT_TIMEOUT};
use super::kafka::{Ack, KafkaSender, OutRecord, RecordSender, SendError};
use super::pipeline::{Converted, Pipeline, Processed, SourceScratch};
use super::topics::{TaskTopics, TopicIndex};
use super::{trace, PluginTask, TaskContext, TaskControl, TaskSpec};
use crate::model::State;
use crate::plugins::CallError;
use crate::storage::transactions::{TxnError, TxnErrorKind};

/// The class named in produce failures (`__connect.errors.class.name` in Kafka).
const PRODUCER_CLASS: &str = "org.apache.kafka.clients.producer.KafkaProducer";

/// A failed plugin call as (trace, whether the plugin panicked).
fn failed(stage: &str, e: CallError) -> (String, bool) {
    let panicked = matches!(e, CallError::Panicked(_));
    (trace(stage, e), panicked)
}

/// What a send or delivery error of a transactional producer means, from its text (rdkafka
/// reports them as `KafkaError`s whose text names the error code).
fn error_kind(message: &str) -> TxnErrorKind {
    let fenced = [
        "ProducerFenced",
        "InvalidProducerEpoch",
        "(Fenced",
        "Fenced (",
    ]
    .iter()
    .any(|code| message.contains(code));
    if fenced {
        TxnErrorKind::Fenced
    } else {
        TxnErrorKind::Abortable
    }
}

/// A record's source offset, still encoded in its batch: decoded only when committed.
#[derive(Clone)]
struct OffsetAt {
    batch: Arc<RecordBatch>,
    index: usize,
}

impl OffsetAt {
    fn decode(&self) -> Option<Result<OffsetMap, String>> {
        self.batch.source_offset(self.index)
    }
}

/// A committable offset: still in its batch until [`OffsetTracker::settle`] decodes it (so a
/// batch is not kept for its offsets alone until the next commit).
enum Pending {
    At(OffsetAt),
    Decoded(OffsetMap),
}

struct InFlight {
    seq: u64,
    /// The plugin's sequence number, when it wants `commit_record`.
    plugin_seq: Option<u64>,
    partition: Option<Arc<OffsetMap>>,
    offset: Option<OffsetAt>,
    /// The record's topic in the task's topic table (topic tracking), or `TaskTopics::NONE`.
    topic: TopicIndex,
    acked: bool,
}

/// Tracks records sent but not yet committable. Acks free records from the front only, so a
/// partition's offset never passes a record that is still in flight.
#[derive(Default)]
struct OffsetTracker {
    in_flight: VecDeque<InFlight>,
    next_seq: u64,
    /// Latest acked offset per source partition, not yet committed.
    committable: Vec<(Arc<OffsetMap>, Pending)>,
    /// Plugin records acknowledged, for `commit_record`.
    acked_for_plugin: Vec<(u64, Option<RecordMetadata>)>,
}

impl OffsetTracker {
    fn add(
        &mut self,
        plugin_seq: Option<u64>,
        partition: Option<Arc<OffsetMap>>,
        offset: Option<OffsetAt>,
        topic: TopicIndex,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight.push_back(InFlight {
            seq,
            plugin_seq,
            partition,
            offset,
            topic,
            acked: false,
        });
        seq
    }

    /// Marks a record done; returns its topic index (`TaskTopics::NONE` if unknown).
    fn ack(&mut self, seq: u64, metadata: Option<RecordMetadata>) -> TopicIndex {
        let Some(front) = self.in_flight.front() else {
            return TaskTopics::NONE;
        };
        let index = (seq - front.seq) as usize;
        let mut topic = TaskTopics::NONE;
        if let Some(entry) = self.in_flight.get_mut(index) {
            entry.acked = true;
            topic = entry.topic;
            if let Some(ps) = entry.plugin_seq {
                self.acked_for_plugin.push((ps, metadata));
            }
        }
        while self.in_flight.front().is_some_and(|f| f.acked) {
            let Some(done) = self.in_flight.pop_front() else {
                break;
            };
            if let (Some(p), Some(o)) = (done.partition, done.offset) {
                let same = |q: &Arc<OffsetMap>| Arc::ptr_eq(q, &p) || **q == *p;
                match self.committable.iter_mut().rev().find(|(q, _)| same(q)) {
                    Some(slot) => slot.1 = Pending::At(o),
                    None => self.committable.push((p, Pending::At(o))),
                }
            }
        }
        topic
    }

    /// Decodes the committable offsets still in their batches.
    fn settle(&mut self) -> Result<(), (String, bool)> {
        let mut unreadable = None;
        self.committable.retain_mut(|(_, pending)| {
            let Pending::At(at) = pending else {
                return true;
            };
            match at.decode() {
                Some(Ok(offset)) => {
                    *pending = Pending::Decoded(offset);
                    true
                }
                Some(Err(e)) => {
                    unreadable.get_or_insert(e);
                    true
                }
                // Only records with an offset are tracked with one.
                None => false,
            }
        });
        match unreadable {
            Some(e) => Err((format!("The task's record batch is unreadable: {e}"), false)),
            None => Ok(()),
        }
    }

    /// Drops the record added last (it was never sent).
    fn forget_last(&mut self) {
        if self.in_flight.pop_back().is_some() {
            self.next_seq -= 1;
        }
    }

    fn pending(&self) -> usize {
        self.in_flight.len()
    }
}

/// A source task at work: its plugin task, producer and pipeline.
pub struct SourceLoop<'a, T: PluginTask, P: RecordSender> {
    ctx: &'a TaskContext,
    control: &'a TaskControl,
    /// Shared with the poller thread, which polls while this thread sends.
    task: Arc<SharedTask<T>>,
    producer: P,
    pipeline: Pipeline,
    tracker: OffsetTracker,
    /// Delivery reports taken from the producer, reused between calls.
    acks: Vec<Ack>,
    last_commit: Instant,
    /// False once the plugin panicked: its state is unknown, so it is not called again.
    plugin_usable: bool,
    /// Records acknowledged and records finished without a write, not yet in the metrics.
    written: u64,
    skipped: u64,
    /// Exactly-once tasks: the transaction and where its offsets go.
    eos: Option<Eos>,
}

/// What an exactly-once task's loop keeps (KIP-618).
struct Eos {
    txn: Transaction<Pending>,
    writer: Arc<dyn OffsetWriter>,
    /// Set once the producer failed in a way that leaves it unusable (fenced, fatal, or a
    /// commit the broker did not answer): nothing more is tried with it, not even an abort.
    poisoned: bool,
}

/// An exactly-once task's settings, for [`SourceLoop::exactly_once`].
pub struct ExactlyOnceRun {
    pub boundary: Boundary,
    pub offsets: Arc<dyn OffsetWriter>,
}

/// Runs a source task until it is stopped. `Err` is the trace of a failure.
pub fn run(mut spec: TaskSpec, control: &TaskControl) -> Result<(), String> {
    let pipeline = Pipeline::new(
        &spec.worker,
        &spec.connector_config,
        &spec.connector,
        spec.task,
        None,
        &spec.plugins,
    )?;
    let (producer, eos) = match spec.exactly_once.take() {
        None => (
            KafkaSender::create(&spec.clients.producer)
                .map_err(|e| trace("Failed to create producer", e))?,
            None,
        ),
        Some(eos) => {
            // As Java's ExactlyOnceWorkerSourceTask: the previous generation is fenced, the
            // producer's own init fences an older instance of this task (and aborts its open
            // transaction), and only then are the committed offsets read.
            (eos.preflight)(control).map_err(|e| {
                trace(
                    "Failed to fence out the previous generation of the connector's tasks",
                    e,
                )
            })?;
            let producer = KafkaSender::create_transactional(&spec.clients.producer, INIT_TIMEOUT)
                .map_err(|e| trace("Failed to initialize the transactional producer", e))?;
            (eos.postflight)(control)
                .map_err(|e| trace("The task may not start with exactly-once support", e))?;
            tracing::info!(
                connector = %spec.connector,
                task = spec.task,
                boundary = ?eos.boundary,
                "exactly-once source task: transactional producer ready"
            );
            (
                producer,
                Some(ExactlyOnceRun {
                    boundary: eos.boundary,
                    offsets: eos.offsets,
                }),
            )
        }
    };
    let task = spec
        .plugin
        .new_task()
        .map_err(|e| trace("Failed to create task", e))?;
    let ctx = TaskContext::of(&spec);
    SourceLoop::start(&ctx, control, task, producer, pipeline, &spec.task_config)?
        .exactly_once(eos)
        .run_to_end()
}

/// One poll, handed from the poller thread to the sending thread.
enum Polled {
    Records(RecordBatch),
    /// The poll failed: the trace, and whether the plugin panicked.
    Failed(String, bool),
}

/// The plugin task, shared by the poller and the sending thread. The sending thread's calls
/// (commit hooks, stop) go first: the poller waits while one is pending, so a poller that
/// polls back to back never starves them.
struct SharedTask<T> {
    task: Mutex<T>,
    pending: AtomicUsize,
}

impl<T> SharedTask<T> {
    fn new(task: T) -> SharedTask<T> {
        SharedTask {
            task: Mutex::new(task),
            pending: AtomicUsize::new(0),
        }
    }

    /// For the sending thread.
    fn lock(&self) -> MutexGuard<'_, T> {
        self.pending.fetch_add(1, Ordering::AcqRel);
        let guard = self.task.lock().unwrap_or_else(|p| p.into_inner());
        self.pending.fetch_sub(1, Ordering::AcqRel);
        guard
    }

    /// For the poller: after any pending call of the sending thread.
    fn lock_for_poll(&self) -> MutexGuard<'_, T> {
        while self.pending.load(Ordering::Acquire) > 0 {
            std::thread::yield_now();
        }
        self.task.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The poller: polls the task while the previous batch is being converted and sent, at most
/// one batch ahead (the channel holds one), until the task stops, fails or the sender goes.
fn poll_ahead<T: PluginTask>(
    task: &SharedTask<T>,
    ctx: &TaskContext,
    control: &TaskControl,
    batches: SyncSender<Polled>,
) {
    loop {
        if control.stopping() {
            return;
        }
        if control.paused() {
            control.wait(Duration::from_millis(200));
            continue;
        }
        let polled_at = Instant::now();
        let response = task.lock_for_poll().poll();
        let polled = match response {
            Ok(batch) => {
                let n = batch.len() as u64;
                ctx.metrics.record_poll(n, polled_at.elapsed());
                ctx.metrics.record_batch(n);
                if batch.is_empty() {
                    continue;
                }
                Polled::Records(batch)
            }
            // As Kafka: a retriable error from poll is logged and the task polled again.
            Err(e) if e.is_retriable() => {
                tracing::warn!(error = %e, "failed to poll records from the task; polling again");
                control.wait(Duration::from_millis(100));
                continue;
            }
            Err(e) => {
                let (trace, panicked) = failed(
                    "Task threw an uncaught and unrecoverable exception during poll",
                    e,
                );
                let _ = batches.send(Polled::Failed(trace, panicked));
                return;
            }
        };
        if batches.send(polled).is_err() {
            return;
        }
    }
}

/// Why an exactly-once producer purged its queue: its fatal error, or the first error among
/// the delivery reports that is not a purge (those already received, then those of records
/// still in flight, for up to two seconds); else the purge itself.
fn purge_cause<S: RecordSender + ?Sized>(
    producer: &S,
    received: &[String],
    purge: String,
) -> String {
    let not_purge = |e: &&String| !e.contains("Purged");
    if let Some(e) = received.iter().find(not_purge) {
        return e.clone();
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut later = Vec::new();
    loop {
        if let Some(fatal) = producer.fatal_error() {
            return format!("{fatal}; {purge}");
        }
        producer.take_acks(&mut later);
        if let Some(e) = later
            .iter()
            .filter_map(|(_, o)| o.as_ref().err())
            .find(not_purge)
        {
            return e.clone();
        }
        if Instant::now() >= deadline {
            return purge;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// How often a source task tries to read its committed offsets before it fails.
pub const OFFSET_READ_ATTEMPTS: u32 = 3;

/// The connector's committed offsets, read again after a short pause when the store cannot
/// answer; after [`OFFSET_READ_ATTEMPTS`] failures the task fails rather than start from
/// offsets that may be stale (Java's task fails the same way when its offset reader throws).
fn committed_offsets(
    ctx: &TaskContext,
    control: &TaskControl,
) -> Result<Vec<(OffsetMap, OffsetMap)>, String> {
    let mut attempt = 1;
    loop {
        match ctx.offsets.offsets(&ctx.connector) {
            Ok(offsets) => return Ok(offsets),
            Err(e) if attempt < OFFSET_READ_ATTEMPTS && !control.stopping() => {
                tracing::warn!(
                    connector = %ctx.connector,
                    attempt,
                    error = %e,
                    "cannot read the committed offsets; trying again"
                );
                // A pause before the next attempt, cut short by a stop.
                control.wait(Duration::from_millis(200 * u64::from(attempt)));
                attempt += 1;
            }
            Err(e) => {
                return Err(trace(
                    "Failed to read the committed source offsets; the task does not start \
                     from offsets that may be stale",
                    e,
                ))
            }
        }
    }
}

impl<'a, T: PluginTask + Send, P: RecordSender> SourceLoop<'a, T, P> {
    /// Starts the plugin task with its config and the committed offsets.
    pub fn start(
        ctx: &'a TaskContext,
        control: &'a TaskControl,
        mut task: T,
        producer: P,
        mut pipeline: Pipeline,
        task_config: &tributary_connector_api::Props,
    ) -> Result<Self, String> {
        pipeline.errors.set_metrics(ctx.metrics.clone());
        pipeline.topics = ctx.topic_tracker();
        let offsets = committed_offsets(ctx, control)?;
        task.call(&TaskRequest::StartSource {
            props: task_config.clone(),
            offsets,
        })
        .map_err(|e| {
            trace(
                "Task threw an uncaught and unrecoverable exception during start",
                e,
            )
        })?;
        Ok(SourceLoop {
            ctx,
            control,
            task: Arc::new(SharedTask::new(task)),
            producer,
            pipeline,
            tracker: OffsetTracker::default(),
            acks: Vec::new(),
            last_commit: Instant::now(),
            plugin_usable: true,
            written: 0,
            skipped: 0,
            eos: None,
        })
    }

    /// Makes the loop exactly-once (KIP-618): its producer must be transactional.
    pub fn exactly_once(mut self, eos: Option<ExactlyOnceRun>) -> Self {
        self.eos = eos.map(|e| Eos {
            txn: Transaction::new(e.boundary),
            writer: e.offsets,
            poisoned: false,
        });
        self
    }

    /// Runs until stopped, then flushes, commits and stops the plugin task.
    pub fn run_to_end(mut self) -> Result<(), String> {
        let result = self.run();
        self.shutdown(!matches!(result, Err((_, true))), result.is_ok());
        result.map_err(|(t, _)| t)
    }

    /// The loop; an error carries the trace and whether the plugin panicked. A poller thread
    /// polls the task one batch ahead while this thread converts, sends and commits.
    fn run(&mut self) -> Result<(), (String, bool)> {
        let (batches, polled) = sync_channel(1);
        let (task, ctx, control) = (self.task.clone(), self.ctx, self.control);
        std::thread::scope(|scope| {
            let poller = std::thread::Builder::new()
                .name(format!("poll-{}-{}", ctx.connector, ctx.task))
                .stack_size(tributary_connector_api::nesting::TASK_STACK_BYTES)
                .spawn_scoped(scope, move || poll_ahead(&task, ctx, control, batches))
                .map_err(|e| (trace("Failed to start the poller thread", e), false))?;
            let result = self.send_loop(&polled);
            // The poller ends at its next check of the stop flag or when it finds the
            // channel closed.
            drop(polled);
            if result.is_err() {
                self.control.request_stop();
            }
            let _ = poller.join();
            result
        })
    }

    fn send_loop(&mut self, polled: &Receiver<Polled>) -> Result<(), (String, bool)> {
        let mut reported = None;
        let mut scratch = SourceScratch::default();
        loop {
            if self.control.stopping() {
                return Ok(());
            }
            let paused = self.control.paused();
            let state = if paused {
                State::Paused
            } else {
                State::Running
            };
            if reported != Some(state) && !self.control.cancelled() {
                self.ctx
                    .status
                    .put_task(&self.ctx.connector, self.ctx.task, state, None);
                self.ctx.metrics.record_state(state);
                reported = Some(state);
            }
            self.serve_acks()?;
            match &self.eos {
                Some(eos) if eos.txn.due(Instant::now(), false) => self.commit_transaction()?,
                Some(_) => {}
                None if self.last_commit.elapsed() >= self.ctx.flush_interval => {
                    self.commit_offsets()?
                }
                None => {}
            }
            if paused {
                self.control.wait(Duration::from_millis(200));
                continue;
            }
            // Wake for acks and the next commit while no batch comes.
            let next_commit = match &self.eos {
                Some(eos) => eos
                    .txn
                    .time_left(Instant::now())
                    .unwrap_or(Duration::from_millis(100)),
                None => self
                    .ctx
                    .flush_interval
                    .saturating_sub(self.last_commit.elapsed()),
            };
            let wait = if self.tracker.pending() > 0 {
                Duration::from_millis(5)
            } else {
                next_commit.clamp(Duration::from_millis(1), Duration::from_millis(100))
            };
            let batch = match polled.recv_timeout(wait) {
                Ok(Polled::Records(batch)) => Arc::new(batch),
                Ok(Polled::Failed(trace, panicked)) => return Err((trace, panicked)),
                Err(RecvTimeoutError::Timeout) => continue,
                // The poller stopped (the task is stopping).
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            };
            self.begin_transaction()?;
            let processed = self
                .pipeline
                .source_batch(self.control, &batch, &mut scratch);
            for (i, processed) in processed.into_iter().enumerate() {
                if self.control.stopping() {
                    break;
                }
                self.send(&batch, i, processed)?;
            }
            if self
                .eos
                .as_ref()
                .is_some_and(|e| e.txn.due(Instant::now(), true))
            {
                self.commit_transaction()?;
            }
        }
    }

    /// Starts tracking record `i` of `batch` (going to the topic at `topic` in the task's topic
    /// table); returns its sequence number.
    fn track(&mut self, batch: &Arc<RecordBatch>, i: usize, topic: TopicIndex) -> u64 {
        let record = batch.record(i);
        let plugin_seq = batch
            .wants_commit_record()
            .then_some(batch.first_seq() + i as u64);
        if self.eos.is_some() {
            // Exactly-once: offsets are committed with the transaction, not as acks arrive.
            return self.tracker.add(plugin_seq, None, None, topic);
        }
        let partition = record.and_then(|r| r.source_partition()).cloned();
        let offset = record
            .is_some_and(|r| r.has_source_offset())
            .then(|| OffsetAt {
                batch: batch.clone(),
                index: i,
            });
        self.tracker.add(plugin_seq, partition, offset, topic)
    }

    /// Exactly-once: record `i` of `batch` is part of the open transaction (sent, or finished
    /// without a write); its offset, if it has one, is the partition's latest in it.
    fn in_transaction(&mut self, batch: &Arc<RecordBatch>, i: usize, sent: bool) {
        let Some(eos) = self.eos.as_mut() else {
            return;
        };
        if sent {
            eos.txn.sent();
        }
        let Some(record) = batch.record(i) else {
            return;
        };
        if let (Some(partition), true) = (record.source_partition(), record.has_source_offset()) {
            eos.txn.offset(
                partition.clone(),
                Pending::At(OffsetAt {
                    batch: batch.clone(),
                    index: i,
                }),
            );
        }
    }

    /// Exactly-once: opens a transaction unless one is open.
    fn begin_transaction(&mut self) -> Result<(), (String, bool)> {
        let Some(eos) = self.eos.as_mut() else {
            return Ok(());
        };
        if eos.txn.is_open() {
            return Ok(());
        }
        if let Err(e) = self.producer.begin_transaction() {
            return Err(self.transaction_failed("Failed to begin a transaction", e));
        }
        if let Some(eos) = self.eos.as_mut() {
            eos.txn.began(Instant::now());
        }
        Ok(())
    }

    /// Exactly-once: a transactional call failed. Marks the producer unusable when it is, and
    /// returns the task's failure.
    fn transaction_failed(&mut self, what: &str, e: TxnError) -> (String, bool) {
        if let Some(eos) = self.eos.as_mut() {
            if e.kind != TxnErrorKind::Abortable {
                eos.poisoned = true;
            }
        }
        let why = if e.is_fenced() {
            format!(
                "{e}: the task was fenced out by a newer instance of it (it is a zombie of an \
                 earlier generation, or was moved to another worker)"
            )
        } else {
            e.to_string()
        };
        (trace(what, why), false)
    }

    /// Exactly-once: aborts the open transaction, if there is one and the producer can.
    fn abort_transaction(&mut self) {
        let Some(eos) = self.eos.as_mut() else {
            return;
        };
        if !eos.txn.is_open() {
            return;
        }
        let records = eos.txn.records();
        eos.txn.close();
        if eos.poisoned {
            return;
        }
        match self.producer.abort_transaction(self.ctx.flush_timeout) {
            Ok(()) => tracing::info!(records, "aborted the open transaction"),
            Err(e) => {
                if let Some(eos) = self.eos.as_mut() {
                    eos.poisoned = true;
                }
                tracing::warn!(error = %e, "cannot abort the open transaction")
            }
        }
    }

    /// Exactly-once: writes the offsets of the open transaction's records into it and commits
    /// it. A failure aborts it (when the producer can) and fails the task.
    fn commit_transaction(&mut self) -> Result<(), (String, bool)> {
        let Some(eos) = self.eos.as_mut() else {
            return Ok(());
        };
        if !eos.txn.is_open() || eos.poisoned {
            return Ok(());
        }
        if self.control.cancelled() {
            tracing::warn!(
                "the task was abandoned after its stop timeout; its transaction is aborted"
            );
            self.abort_transaction();
            return Ok(());
        }
        let records = eos.txn.records();
        let writer = Arc::clone(&eos.writer);
        let mut entries: Vec<(OffsetMap, OffsetMap)> = Vec::new();
        let mut unreadable = None;
        for (partition, pending) in eos.txn.take_offsets() {
            let offset = match pending {
                Pending::Decoded(o) => o,
                Pending::At(at) => match at.decode() {
                    Some(Ok(o)) => o,
                    Some(Err(e)) => {
                        unreadable.get_or_insert(e);
                        continue;
                    }
                    None => continue,
                },
            };
            entries.push(((*partition).clone(), offset));
        }
        if let Some(e) = unreadable {
            self.abort_transaction();
            return Err((format!("The task's record batch is unreadable: {e}"), false));
        }
        for (partition, offset) in &entries {
            let record = writer.record(&self.ctx.connector, partition, offset);
            let out = OutRecord {
                topic: &record.topic,
                partition: Some(record.partition),
                timestamp: None,
                key: Some(&record.key),
                value: record.value.as_deref(),
                headers: &[],
                wants_metadata: false,
            };
            loop {
                match self.producer.send_internal(&out) {
                    Ok(()) => break,
                    Err(SendError::QueueFull) => {
                        self.producer.wait_for_delivery(Duration::from_millis(10));
                        self.serve_acks()?;
                    }
                    Err(SendError::Refused(e)) => {
                        self.abort_transaction();
                        return Err((trace("Failed to write the transaction's offsets", e), false));
                    }
                }
            }
        }
        let started = Instant::now();
        let committed = self.producer.commit_transaction(COMMIT_TIMEOUT);
        let elapsed = started.elapsed();
        self.ctx.metrics.record_commit(elapsed, committed.is_ok());
        if let Err(e) = committed {
            let failure = self.transaction_failed("Failed to commit the transaction", e);
            self.abort_transaction();
            return Err(failure);
        }
        if let Some(eos) = self.eos.as_mut() {
            eos.txn.close();
        }
        self.last_commit = Instant::now();
        self.ctx.metrics.record_transaction_size(records);
        tracing::debug!(
            records,
            partitions = entries.len(),
            commit_us = elapsed.as_micros() as u64,
            "committed a transaction"
        );
        // The commit flushed every record: their delivery reports are in.
        self.serve_acks()?;
        writer.committed(&self.ctx.connector, &entries);
        if !self.plugin_usable || entries.is_empty() {
            return Ok(());
        }
        // Like Java, an error from the commit hook is logged; the task goes on.
        match self.task.lock().call(&TaskRequest::Commit(entries)) {
            Err(e @ CallError::Panicked(_)) => Err(failed("Task panicked in commit", e)),
            Err(e) => {
                tracing::warn!(error = %e, "task commit failed");
                Ok(())
            }
            Ok(_) => Ok(()),
        }
    }

    /// Hands record `i` of `batch`, transformed and converted, to the producer (or finishes
    /// it without: filtered out or skipped, its offset becomes committable once the records
    /// before it are acknowledged).
    fn send(
        &mut self,
        batch: &Arc<RecordBatch>,
        i: usize,
        processed: Result<Processed<Converted<'_>>, String>,
    ) -> Result<(), (String, bool)> {
        let converted = match processed {
            Ok(Processed::Ready(c)) => c,
            Ok(Processed::Done) => {
                let seq = self.track(batch, i, TaskTopics::NONE);
                self.tracker.ack(seq, None);
                self.in_transaction(batch, i, false);
                self.skipped += 1;
                return Ok(());
            }
            // Stopped while retrying: the record is not sent and its offset not committed,
            // so it is read again when the task next starts.
            Ok(Processed::Stopping) => return Ok(()),
            Err(t) => return Err((t, false)),
        };
        let topic = match &mut self.pipeline.topics {
            Some(topics) => topics.intern(converted.topic),
            None => TaskTopics::NONE,
        };
        let seq = self.track(batch, i, topic);
        let out = OutRecord {
            topic: converted.topic,
            partition: converted.partition,
            timestamp: converted.timestamp,
            key: converted.key.as_deref(),
            value: converted.value.as_deref(),
            headers: &converted.headers,
            wants_metadata: batch.wants_commit_record(),
        };
        // Back-pressure: while the producer's queue is full, wait for deliveries and retry.
        loop {
            match self.producer.send(&out, seq) {
                Ok(()) => {
                    self.in_transaction(batch, i, true);
                    return Ok(());
                }
                Err(SendError::QueueFull) => {
                    if self.control.stopping() {
                        // The broker is not taking records (e.g. it is down and deliveries
                        // retry forever): give up this record; its offset is not committed.
                        self.tracker.forget_last();
                        return Ok(());
                    }
                    self.producer.wait_for_delivery(Duration::from_millis(10));
                    self.serve_acks()?;
                }
                Err(SendError::Refused(e)) if self.eos.is_some() => {
                    // As Java's exactly-once task: a record the producer refuses fails the
                    // task (its transaction is aborted). A transactional producer refuses
                    // every send once its transaction failed (librdkafka: "Erroneous
                    // state"); the delivery report of the record that failed it says why (a
                    // newer instance fenced this one), so those are read first.
                    self.tracker.forget_last();
                    let deadline = Instant::now() + Duration::from_secs(1);
                    while self.tracker.pending() > 0 && Instant::now() < deadline {
                        self.serve_acks()?;
                        self.producer.wait_for_delivery(Duration::from_millis(10));
                    }
                    self.serve_acks()?;
                    let error = TxnError::new(error_kind(&e), e);
                    return Err(self.transaction_failed("Failed to send record to Kafka", error));
                }
                Err(SendError::Refused(e)) => {
                    // As Kafka (KIP-779): with errors.tolerance=all a record the producer
                    // refuses is skipped, and its offset counts as done.
                    let failure = Failure::new(
                        Stage::KafkaProduce,
                        PRODUCER_CLASS,
                        OpError::fatal(format!("Failed to send record to Kafka: {e}")),
                    );
                    let errors = &mut self.pipeline.errors;
                    let failure = errors.tolerate_reported(failure).map_err(|t| (t, false))?;
                    let position = format!("source record is {{topic='{}'}}", converted.topic);
                    let polled = batch.record(i);
                    errors.log(&failure, &position, || match polled {
                        Some(r) => format!("{r:?}"),
                        None => String::new(),
                    });
                    self.tracker.ack(seq, None);
                    self.skipped += 1;
                    return Ok(());
                }
            }
        }
    }

    /// Applies the delivery reports received so far.
    fn serve_acks(&mut self) -> Result<(), (String, bool)> {
        self.producer.take_acks(&mut self.acks);
        let mut undelivered = None;
        let mut acks = self.acks.drain(..);
        while let Some((seq, outcome)) = acks.next() {
            match outcome {
                Ok(metadata) => {
                    let topic = self.tracker.ack(seq, metadata);
                    // KIP-558: the transformed record's topic, once the broker has it.
                    if let Some(topics) = &mut self.pipeline.topics {
                        topics.record_index(topic);
                    }
                    self.written += 1;
                }
                Err(e) if self.eos.is_some() => {
                    // Exactly-once: the transaction cannot commit without this record; as
                    // Java, the task fails (its transaction is aborted, unless a newer
                    // instance fenced this one: then it aborted it already).
                    // A fenced producer purges its queue: the purge names no cause; the
                    // producer's fatal error does, or the report of a record that was in
                    // flight (it may come after the purge's, seen under load).
                    let e = if e.contains("Purged") {
                        let rest: Vec<String> =
                            acks.by_ref().filter_map(|(_, o)| o.err()).collect();
                        purge_cause(&self.producer, &rest, e)
                    } else {
                        e
                    };
                    undelivered = Some(TxnError::new(error_kind(&e), e));
                    break;
                }
                Err(e) => {
                    // As Kafka (KIP-779): with errors.tolerance=all a record the broker
                    // refused is skipped and its offset committed.
                    let failure = Failure::new(
                        Stage::KafkaProduce,
                        PRODUCER_CLASS,
                        OpError::fatal(format!("Failed to produce record: {e}")),
                    );
                    let errors = &mut self.pipeline.errors;
                    let failure = errors.tolerate_reported(failure).map_err(|t| (t, false))?;
                    errors.log(&failure, "the record was sent", String::new);
                    self.tracker.ack(seq, None);
                    self.skipped += 1;
                }
            }
        }
        drop(acks);
        if let Some(e) = undelivered {
            return Err(self.transaction_failed("Failed to produce record in the transaction", e));
        }
        self.tracker.settle()?;
        if self.written + self.skipped > 0 {
            self.ctx.metrics.record_write(self.written, self.skipped);
            (self.written, self.skipped) = (0, 0);
        }
        if !self.tracker.acked_for_plugin.is_empty() && self.plugin_usable {
            let acked = std::mem::take(&mut self.tracker.acked_for_plugin);
            // Like Java, an error from the commit hook is logged; the task goes on.
            match self.task.lock().call(&TaskRequest::CommitRecords(acked)) {
                Err(e @ CallError::Panicked(_)) => {
                    return Err(failed("Task panicked in commitRecord", e))
                }
                Err(e) => tracing::warn!(error = %e, "task commitRecord failed"),
                Ok(_) => {}
            }
        }
        Ok(())
    }

    /// Writes the acked offsets and tells the task.
    fn commit_offsets(&mut self) -> Result<(), (String, bool)> {
        self.last_commit = Instant::now();
        if self.tracker.committable.is_empty() {
            return Ok(());
        }
        if self.control.cancelled() {
            tracing::warn!("the task was abandoned after its stop timeout; offsets not committed");
            return Ok(());
        }
        self.tracker.settle()?;
        let committable = std::mem::take(&mut self.tracker.committable);
        let entries: Vec<(OffsetMap, Option<OffsetMap>)> = committable
            .iter()
            .filter_map(|(p, o)| match o {
                Pending::Decoded(o) => Some(((**p).clone(), Some(o.clone()))),
                Pending::At(_) => None,
            })
            .collect();
        let started = Instant::now();
        let written = self.ctx.offsets.put(&self.ctx.connector, &entries);
        self.ctx
            .metrics
            .record_commit(started.elapsed(), written.is_ok());
        if let Err(e) = written {
            // Offsets stay uncommitted; retry on the next cycle.
            tracing::error!(error = %e, "offset commit failed");
            self.tracker.committable = committable;
            return Ok(());
        }
        tracing::debug!(partitions = entries.len(), "committed source offsets");
        if !self.plugin_usable {
            return Ok(());
        }
        // Like Java, an error from the commit hook is logged; the task goes on.
        let committed = entries
            .into_iter()
            .filter_map(|(p, o)| o.map(|o| (p, o)))
            .collect();
        match self.task.lock().call(&TaskRequest::Commit(committed)) {
            Err(e @ CallError::Panicked(_)) => Err(failed("Task panicked in commit", e)),
            Err(e) => {
                tracing::warn!(error = %e, "task commit failed");
                Ok(())
            }
            Ok(_) => Ok(()),
        }
    }

    /// Flushes what was sent (up to `offset.flush.timeout.ms`), commits, and stops the task.
    /// An exactly-once task commits its open transaction when it stops cleanly (`clean`) and
    /// aborts it when it failed.
    fn shutdown(&mut self, plugin_usable: bool, clean: bool) {
        self.plugin_usable = plugin_usable;
        if self.eos.is_some() {
            let finished = if clean {
                self.commit_transaction()
            } else {
                self.abort_transaction();
                Ok(())
            };
            if let Err((t, _)) = finished {
                tracing::warn!(trace = %t, "final transaction commit failed");
            }
        } else {
            let deadline = Instant::now() + self.ctx.flush_timeout;
            while self.tracker.pending() > 0 && Instant::now() < deadline {
                self.producer.wait_for_delivery(Duration::from_millis(50));
                if self.serve_acks().is_err() {
                    break;
                }
            }
            if let Err((t, _)) = self.commit_offsets() {
                tracing::warn!(trace = %t, "final offset commit failed");
            }
        }
        if self.plugin_usable {
            if let Err(e) = self.task.lock().call(&TaskRequest::Stop) {
                tracing::warn!(error = %e, "task stop failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tributary_connector_api::SourceRecord;

    fn m(v: serde_json::Value) -> Option<OffsetMap> {
        v.as_object().cloned()
    }

    fn shared(v: serde_json::Value) -> Option<Arc<OffsetMap>> {
        m(v).map(Arc::new)
    }

    #[test]
    fn offsets_advance_only_past_acked_prefix() {
        let p = shared(json!({"filename": "f"}));
        let records: Vec<SourceRecord> = (1..=3)
            .map(|i| {
                SourceRecord::new(
                    p.clone(),
                    m(json!({ "position": i })),
                    "t",
                    None,
                    tributary_connector_api::Value::Null,
                )
            })
            .collect();
        let batch = Arc::new(RecordBatch::of_source_records(&records, 0, false).unwrap());
        let at = |index| {
            Some(OffsetAt {
                batch: batch.clone(),
                index,
            })
        };
        let offset = |t: &mut OffsetTracker, i: usize| {
            t.settle().unwrap();
            match &t.committable[i].1 {
                Pending::Decoded(o) => o.clone(),
                Pending::At(_) => unreachable!("settled"),
            }
        };
        let mut t = OffsetTracker::default();
        let a = t.add(None, p.clone(), at(0), 7);
        let b = t.add(None, p.clone(), at(1), TaskTopics::NONE);
        let c = t.add(None, p.clone(), at(2), 8);
        assert_eq!(t.ack(b, None), TaskTopics::NONE);
        assert!(t.committable.is_empty(), "record a is still in flight");
        assert_eq!(t.ack(a, None), 7);
        assert_eq!(t.committable.len(), 1);
        assert_eq!(*t.committable[0].0, *p.clone().unwrap());
        assert_eq!(offset(&mut t, 0), m(json!({"position": 2})).unwrap());
        assert_eq!(t.ack(c, None), 8);
        assert_eq!(t.committable.len(), 1);
        assert_eq!(offset(&mut t, 0), m(json!({"position": 3})).unwrap());
        assert_eq!(t.pending(), 0);
    }
}
