//! The sink task loop: consume → convert → transform → put → (pre-commit, commit) on the flush
//! interval. Partition assignment changes reach the task as open/close from the rebalance
//! callbacks, and revoked partitions are committed before they go.
//!
//! Conversion and transformation failures go through the connector's error policy
//! ([`super::pipeline`]): a tolerated failure skips the record (logged, and its original bytes
//! written to the dead letter queue if one is set); any other fails the task. Offsets are
//! tracked by each record's original topic, partition and offset, so a transformation that
//! renames the topic does not change what is committed; skipped and filtered records count as
//! consumed once the records before them were put.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tributary_connector_api::abi::{TaskRequest, TaskResponse};
use tributary_connector_api::{SinkOffsets, SinkRecord, SinkTaskContext, TopicPartition};

use super::dead_letter::{DeadLetterQueue, RawRecord};
use super::errors::{Failure, OpError, Stage};
use super::held_records::HeldRecords;
use super::kafka::{ConsumerOps, KafkaMessage, KafkaSinkConsumer, RebalanceListener, SinkConsumer};
use super::pipeline::{Pipeline, Processed};
use super::{trace, PluginTask, TaskContext, TaskControl, TaskSpec};
use crate::metrics::TaskMetrics;
use crate::model::State;
use crate::plugins::CallError;

const MAX_BATCH: usize = 500;

/// The task and what it has consumed; shared with the rebalance callbacks, which run on the
/// task thread inside `poll`.
struct Shared<T> {
    task: T,
    /// Next offset to commit per partition (last delivered + 1).
    consumed: SinkOffsets,
    assignment: Vec<TopicPartition>,
    /// Offsets the task asked to rewind to.
    resets: SinkOffsets,
    commit_requested: bool,
    /// A failure inside a callback: (trace, panicked).
    error: Option<(String, bool)>,
    /// Set once the task was stopped: callbacks from closing the consumer must not call it.
    stopped: bool,
    /// The connector is paused: newly assigned partitions are paused too.
    paused: bool,
    /// Partitions revoked since the current batch was polled: their records in it are dropped
    /// even when the partition is assigned again (the new assignment fetches them again).
    revoked_since_poll: Vec<TopicPartition>,
    /// Records the task reported as errant, not yet handled.
    errant: Vec<tributary_connector_api::ErrantRecord>,
    /// Flushed before every offset commit, so a skipped record is in the DLQ before its
    /// offset is committed.
    dlq: Option<Arc<DeadLetterQueue>>,
    /// With a DLQ: the bytes of records delivered but not yet committed, so a task that
    /// holds records across puts (a batching sink) can still report one as errant later.
    held: HeldRecords,
    /// Set by the loop.
    metrics: Option<Arc<TaskMetrics>>,
    /// Set by the loop: the task was abandoned ([`TaskControl::cancelled`]).
    cancelled: Option<Arc<std::sync::atomic::AtomicBool>>,
}

/// The sink task's state, as the rebalance listener of its consumer.
pub struct SinkState<T> {
    shared: Mutex<Shared<T>>,
}

impl<T> SinkState<T> {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared<T>> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn absorb<T>(shared: &mut Shared<T>, context: SinkTaskContext) {
    shared.resets.extend(context.offset_resets);
    shared.commit_requested |= context.commit_requested;
    shared.errant.extend(context.errant_records);
}

fn call_error(stage: &str, e: CallError) -> (String, bool) {
    let panicked = matches!(e, CallError::Panicked(_));
    (trace(stage, e), panicked)
}

impl<T> Shared<T> {
    fn count_partitions(&self) {
        if let Some(m) = &self.metrics {
            m.record_partition_count(self.assignment.len() as u64);
        }
    }
}

impl<T: PluginTask> Shared<T> {
    /// Asks the task which offsets are safe and commits them.
    fn commit(
        &mut self,
        consumer: &dyn ConsumerOps,
        only: Option<&[TopicPartition]>,
    ) -> Result<(), (String, bool)> {
        let offsets: SinkOffsets = self
            .consumed
            .iter()
            .filter(|(tp, _)| self.assignment.contains(tp) && only.is_none_or(|o| o.contains(tp)))
            .map(|(tp, o)| (tp.clone(), *o))
            .collect();
        self.commit_requested = false;
        if offsets.is_empty() {
            return Ok(());
        }
        if let Some(dlq) = &self.dlq {
            let timeout = Duration::from_secs(30);
            dlq.flush(timeout)
                .map_err(|e| (trace("Failed to write to the dead letter queue", e), false))?;
        }
        let safe = match self.task.call(&TaskRequest::PreCommit(offsets.clone())) {
            Ok(TaskResponse::Committable(safe)) => safe,
            Ok(_) => return Ok(()),
            Err(e) => return Err(call_error("Offset commit failed during preCommit/flush", e)),
        };
        let safe = valid_task_offsets(safe, &offsets);
        if safe.is_empty() {
            return Ok(());
        }
        if self
            .cancelled
            .as_ref()
            .is_some_and(|c| c.load(std::sync::atomic::Ordering::SeqCst))
        {
            tracing::warn!("the task was abandoned after its stop timeout; offsets not committed");
            return Ok(());
        }
        let started = Instant::now();
        let committed = consumer.commit(&safe);
        if let Some(m) = &self.metrics {
            m.record_commit(started.elapsed(), committed.is_ok());
        }
        match committed {
            Ok(()) => {
                tracing::debug!(partitions = safe.len(), "committed sink offsets");
                self.held.release(&safe);
                if only.is_some() {
                    for tp in safe.keys() {
                        self.consumed.remove(tp);
                    }
                }
            }
            // A failed commit is retried on the next cycle; records may be redelivered.
            Err(e) => tracing::warn!(error = %e, "sink offset commit failed"),
        }
        Ok(())
    }
}

/// The offsets a task's `preCommit` returned, without those Java's `WorkerSinkTask` ignores
/// too (each with a warning): partitions not assigned (or not up for this commit), and offsets
/// past what was consumed.
fn valid_task_offsets(task: SinkOffsets, current: &SinkOffsets) -> SinkOffsets {
    task.into_iter()
        .filter(|(tp, offset)| match current.get(tp) {
            None => {
                tracing::warn!(
                    topic = %tp.topic,
                    partition = tp.partition,
                    offset,
                    "ignoring invalid task provided offset: partition not assigned"
                );
                false
            }
            Some(consumed) if offset > consumed => {
                tracing::warn!(
                    topic = %tp.topic,
                    partition = tp.partition,
                    task_offset = offset,
                    current_offset = consumed,
                    "ignoring invalid task provided offset: not yet consumed"
                );
                false
            }
            Some(_) => true,
        })
        .collect()
}

impl<T: PluginTask + Send> RebalanceListener for SinkState<T> {
    fn revoked(&self, consumer: &dyn ConsumerOps, revoked: Vec<TopicPartition>) {
        let mut shared = self.lock();
        if shared.stopped || shared.error.is_some() {
            return;
        }
        if let Err(e) = shared.commit(consumer, Some(&revoked)) {
            shared.error = Some(e);
            return;
        }
        shared.assignment.retain(|tp| !revoked.contains(tp));
        shared.count_partitions();
        shared.revoked_since_poll.extend(revoked.iter().cloned());
        for tp in &revoked {
            shared.consumed.remove(tp);
            shared.held.forget(tp);
            // A rewind asked for a partition we no longer own must not run if it comes back.
            shared.resets.remove(tp);
        }
        match shared.task.call(&TaskRequest::Close(revoked)) {
            Ok(TaskResponse::SinkContext(c)) => absorb(&mut shared, c),
            Ok(_) => {}
            Err(e) => shared.error = Some(call_error("Task failed in close", e)),
        }
    }

    fn assigned(&self, consumer: &dyn ConsumerOps, assigned: Vec<TopicPartition>) {
        let mut shared = self.lock();
        if shared.stopped || shared.error.is_some() {
            return;
        }
        if shared.paused {
            if let Err(e) = consumer.pause(&assigned) {
                tracing::warn!(error = %e, "cannot pause newly assigned partitions");
            }
        }
        for tp in &assigned {
            if !shared.assignment.contains(tp) {
                shared.assignment.push(tp.clone());
            }
        }
        shared.count_partitions();
        match shared.task.call(&TaskRequest::Open(assigned)) {
            Ok(TaskResponse::SinkContext(c)) => absorb(&mut shared, c),
            Ok(_) => {}
            Err(e) => shared.error = Some(call_error("Task failed in open", e)),
        }
    }
}

/// Runs a sink task until it is stopped. `Err` is the trace of a failure.
pub fn run(spec: TaskSpec, control: &TaskControl) -> Result<(), String> {
    let dlq = DeadLetterQueue::create(
        &spec.clients,
        &spec.connector_config,
        &spec.connector,
        spec.task,
    )
    .map_err(|e| trace("Failed to set up the dead letter queue", e))?
    .map(Arc::new);
    let pipeline = Pipeline::new(
        &spec.worker,
        &spec.connector_config,
        &spec.connector,
        spec.task,
        dlq,
        &spec.plugins,
    )?;
    let task = spec
        .plugin
        .new_task()
        .map_err(|e| trace("Failed to create task", e))?;
    let state = SinkState::start(task, &spec.task_config, pipeline.dlq.clone())?;
    let settings = crate::config::connector::ConnectorSettings::from_props(&spec.connector_config);
    let consumer = KafkaSinkConsumer::subscribe(
        &spec.clients.consumer,
        state.clone(),
        &settings.topics,
        settings.topics_regex.as_deref(),
    )
    .map_err(|e| trace("Failed to start the consumer", e))?;
    let ctx = TaskContext::of(&spec);
    SinkLoop::new(&ctx, control, consumer, state, pipeline).run_to_end()
}

impl<T: PluginTask> SinkState<T> {
    /// Starts the plugin task with its config.
    pub fn start(
        mut task: T,
        task_config: &tributary_connector_api::Props,
        dlq: Option<Arc<DeadLetterQueue>>,
    ) -> Result<Arc<SinkState<T>>, String> {
        let started = task
            .call(&TaskRequest::StartSink {
                props: task_config.clone(),
            })
            .map_err(|e| {
                trace(
                    "Task threw an uncaught and unrecoverable exception during start",
                    e,
                )
            })?;
        let mut shared = Shared {
            task,
            consumed: BTreeMap::new(),
            assignment: Vec::new(),
            resets: BTreeMap::new(),
            commit_requested: false,
            error: None,
            stopped: false,
            paused: false,
            revoked_since_poll: Vec::new(),
            errant: Vec::new(),
            dlq,
            held: HeldRecords::default(),
            metrics: None,
            cancelled: None,
        };
        if let TaskResponse::SinkContext(c) = started {
            absorb(&mut shared, c);
        }
        Ok(Arc::new(SinkState {
            shared: Mutex::new(shared),
        }))
    }
}

/// A sink task at work: its consumer, its state (shared with the consumer's rebalance
/// callbacks) and its pipeline.
pub struct SinkLoop<'a, T, C> {
    ctx: &'a TaskContext,
    control: &'a TaskControl,
    consumer: C,
    state: Arc<SinkState<T>>,
    pipeline: Pipeline,
    last_commit: Instant,
    /// The state last written to the status store.
    reported: Option<State>,
}

/// Where a delivered record came from.
struct Origin {
    tp: TopicPartition,
    offset: i64,
    /// The original bytes, kept only when there is a dead letter queue (for errant reports).
    raw: Option<RawRecord>,
}

/// The records of one poll, ready for `put`.
#[derive(Default)]
struct Batch {
    records: Vec<SinkRecord>,
    /// One per record, in the same order.
    origins: Vec<Origin>,
    /// The next offset per partition over every record polled, skipped and filtered ones too.
    advanced: SinkOffsets,
}

impl Batch {
    /// Keeps the records (and their origins) for which `keep` holds.
    fn retain(&mut self, keep: impl Fn(&Origin) -> bool) {
        let flags: Vec<bool> = self.origins.iter().map(keep).collect();
        let mut flag = flags.iter();
        self.records
            .retain(|_| flag.next().copied().unwrap_or(false));
        let mut flag = flags.iter();
        self.origins
            .retain(|_| flag.next().copied().unwrap_or(false));
    }
}

/// `__connect.errors.class.name` of records a sink task reports as errant (as Kafka).
const SINK_TASK_CLASS: &str = "org.apache.kafka.connect.sink.SinkTask";

impl<'a, T: PluginTask, C: SinkConsumer> SinkLoop<'a, T, C> {
    pub fn new(
        ctx: &'a TaskContext,
        control: &'a TaskControl,
        consumer: C,
        state: Arc<SinkState<T>>,
        mut pipeline: Pipeline,
    ) -> Self {
        pipeline.errors.set_metrics(ctx.metrics.clone());
        pipeline.topics = ctx.topic_tracker();
        {
            let mut shared = state.lock();
            shared.metrics = Some(ctx.metrics.clone());
            shared.cancelled = Some(control.cancel_flag());
        }
        SinkLoop {
            ctx,
            control,
            consumer,
            state,
            pipeline,
            last_commit: Instant::now(),
            reported: None,
        }
    }

    /// Writes the task's state (once per change) to the status store and the metrics.
    fn report_state(&mut self, state: State) {
        if self.reported != Some(state) && !self.control.cancelled() {
            self.ctx
                .status
                .put_task(&self.ctx.connector, self.ctx.task, state, None);
            self.ctx.metrics.record_state(state);
            self.reported = Some(state);
        }
    }

    /// Runs until stopped, then commits, closes and stops the plugin task.
    pub fn run_to_end(mut self) -> Result<(), String> {
        let result = self.run();
        let panicked = matches!(result, Err((_, true)));
        self.shutdown(result.is_ok(), panicked);
        result.map_err(|(t, _)| t)
    }

    fn shared(&self) -> std::sync::MutexGuard<'_, Shared<T>> {
        self.state.lock()
    }

    fn run(&mut self) -> Result<(), (String, bool)> {
        let mut consumer_paused = false;
        loop {
            if self.control.stopping() {
                return Ok(());
            }
            let paused = self.control.paused();
            self.report_state(if paused {
                State::Paused
            } else {
                State::Running
            });
            if paused != consumer_paused {
                self.set_consumer_paused(paused);
                consumer_paused = paused;
            }
            // Rewinds the task asked for in its last put go first, so the next poll already
            // reads from the rewound offsets.
            self.apply_resets();
            let mut batch = self.poll_batch()?;
            if let Some(e) = self.shared().error.take() {
                return Err(e);
            }
            // Rewinds asked for during this poll (in open): the records polled before the
            // seek are from the old position, so they are dropped; the seek fetches them
            // again. A partition whose rewind cannot be applied yet is held back in deliver.
            let rewound = self.apply_resets();
            if !rewound.is_empty() {
                batch.retain(|o| !rewound.contains(&o.tp));
                batch.advanced.retain(|tp, _| !rewound.contains(tp));
            }
            if !batch.advanced.is_empty() {
                self.deliver(batch)?;
            } else if !paused {
                self.put_nothing()?;
            }
            self.handle_errant(None)?;
            let due = self.last_commit.elapsed() >= self.ctx.flush_interval
                || self.shared().commit_requested;
            if due {
                self.last_commit = Instant::now();
                self.state.lock().commit(&self.consumer, None)?;
            }
        }
    }

    /// Up to `MAX_BATCH` records, converted (one converter call per batch) and transformed;
    /// waits up to 100 ms for the first.
    fn poll_batch(&mut self) -> Result<Batch, (String, bool)> {
        let mut batch = Batch::default();
        let keep_raw = {
            let mut shared = self.shared();
            shared.revoked_since_poll.clear();
            shared.dlq.is_some()
        };
        let mut messages = Vec::new();
        let mut timeout = Duration::from_millis(100);
        while messages.len() < MAX_BATCH {
            match self.consumer.poll(timeout) {
                None => break,
                Some(Ok(message)) => messages.push(message),
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "consumer error");
                    break;
                }
            }
            timeout = Duration::ZERO;
        }
        if messages.is_empty() {
            return Ok(batch);
        }
        self.ctx.metrics.record_read(messages.len() as u64);
        let views: Vec<&dyn KafkaMessage> =
            messages.iter().map(|m| m as &dyn KafkaMessage).collect();
        let processed = self
            .pipeline
            .sink_batch(self.control, &views)
            .map_err(|t| (t, false))?;
        for (message, processed) in views.iter().zip(processed) {
            let tp = TopicPartition::new(message.topic(), message.partition());
            let next = message.offset() + 1;
            match batch.advanced.get_mut(&tp) {
                Some(offset) => *offset = next,
                None => {
                    batch.advanced.insert(tp.clone(), next);
                }
            }
            match processed {
                Processed::Ready(record) => {
                    batch.records.push(record);
                    batch.origins.push(Origin {
                        tp,
                        offset: message.offset(),
                        raw: keep_raw.then(|| RawRecord::from_message(*message)),
                    });
                }
                Processed::Done => {}
                // Stopped while retrying: nothing of this batch counts as consumed, so the
                // next owner reads it again from the committed offset.
                Processed::Stopping => return Ok(Batch::default()),
            }
        }
        Ok(batch)
    }

    /// Handles the records the task reported as errant (Java's `ErrantRecordReporter`),
    /// finding their original bytes in `batch` by their original position.
    fn handle_errant(&mut self, batch: Option<&Batch>) -> Result<(), (String, bool)> {
        let errant = std::mem::take(&mut self.shared().errant);
        let has_dlq = self.shared().dlq.is_some();
        for e in errant {
            let origin = batch.and_then(|b| {
                b.origins.iter().find(|o| {
                    o.offset == e.offset && o.tp.partition == e.partition && o.tp.topic == e.topic
                })
            });
            let failure = Failure::new(Stage::TaskPut, SINK_TASK_CLASS, OpError::fatal(e.error));
            let failure = self
                .pipeline
                .errors
                .tolerate_reported(failure)
                .map_err(|t| (t, false))?;
            let raw = origin.and_then(|o| o.raw.clone()).or_else(|| {
                let tp = TopicPartition::new(e.topic.clone(), e.partition);
                self.shared().held.find(&tp, e.offset).cloned()
            });
            match raw {
                Some(raw) => self
                    .pipeline
                    .report(&failure, raw)
                    .map_err(|t| (t, false))?,
                // Without a DLQ the record is only logged, and its coordinates suffice.
                None if !has_dlq => self.pipeline.errors.log(
                    &failure,
                    &format!(
                        "consumed record is {{topic='{}', partition={}, offset={}}}",
                        e.topic, e.partition, e.offset
                    ),
                    String::new,
                ),
                // Never skip a record the DLQ did not get.
                None => {
                    return Err((
                        trace(
                            "Failed to write an errant record to the dead letter queue",
                            format!(
                            "the task reported {}-{}@{}, whose bytes the worker no longer holds \
                                 (they are kept until the record's offset commits, up to 128 MiB)",
                            e.topic, e.partition, e.offset
                        ),
                        ),
                        false,
                    ))
                }
            }
        }
        Ok(())
    }

    /// Pauses or resumes every assigned partition (and remembers it for new assignments).
    fn set_consumer_paused(&self, paused: bool) {
        self.shared().paused = paused;
        let assignment = self.consumer.assignment();
        let r = if paused {
            self.consumer.pause(&assignment)
        } else {
            self.consumer.resume(&assignment)
        };
        if let Err(e) = r {
            tracing::warn!(error = %e, "cannot change consumer pause state");
        }
    }

    /// Puts a batch; a retriable failure redelivers the same batch after a pause. Records of
    /// partitions revoked meanwhile (a rebalance runs inside `poll`) are dropped before each
    /// attempt: their new owner reads them again from the committed offset. A batch whose
    /// records were all filtered or skipped still advances the offsets.
    fn deliver(&mut self, mut batch: Batch) -> Result<(), (String, bool)> {
        let mut backoff = Duration::from_millis(100);
        loop {
            {
                let shared = self.shared();
                let owned = |tp: &TopicPartition| {
                    shared.assignment.contains(tp)
                        && !shared.resets.contains_key(tp)
                        && !shared.revoked_since_poll.contains(tp)
                };
                batch.retain(|o| owned(&o.tp));
                batch.advanced.retain(|tp, _| owned(tp));
            }
            if batch.records.is_empty() {
                let advanced = std::mem::take(&mut batch.advanced);
                self.shared().consumed.extend(advanced);
                return Ok(());
            }
            let started = Instant::now();
            let outcome = self.shared().task.put(&batch.records);
            match outcome {
                Ok(response) => {
                    self.ctx
                        .metrics
                        .record_put(batch.records.len() as u64, started.elapsed());
                    if let TaskResponse::SinkContext(c) = response {
                        absorb(&mut self.shared(), c);
                    }
                    self.handle_errant(Some(&batch))?;
                    {
                        let mut shared = self.shared();
                        for origin in batch.origins.drain(..) {
                            if let Some(raw) = origin.raw {
                                shared.held.hold(&origin.tp, raw);
                            }
                        }
                    }
                    let mut advanced = std::mem::take(&mut batch.advanced);
                    let mut shared = self.shared();
                    // A partition the task asked to rewind in this put is consumed up to the
                    // rewound offset only (set when the seek is applied), never past it.
                    advanced.retain(|tp, _| !shared.resets.contains_key(tp));
                    shared.consumed.extend(advanced);
                    return Ok(());
                }
                Err(e) if e.is_retriable() => {
                    if let CallError::Failed(f) = &e {
                        if let Some(c) = f.context.clone() {
                            absorb(&mut self.shared(), *c);
                        }
                    }
                    self.handle_errant(Some(&batch))?;
                    let wait = match &e {
                        CallError::Failed(f) => f
                            .context
                            .as_ref()
                            .and_then(|c| c.timeout_ms)
                            .map(|ms| Duration::from_millis(ms.max(0) as u64)),
                        _ => None,
                    }
                    .unwrap_or(backoff);
                    tracing::warn!(error = %e, wait_ms = wait.as_millis() as u64, "retriable error from put; redelivering");
                    backoff = (backoff * 2).min(Duration::from_secs(10));
                    // Wait (and while the connector is paused, keep waiting), polling with
                    // every partition paused so the group membership stays alive.
                    self.set_consumer_paused(true);
                    let deadline = Instant::now() + wait;
                    while Instant::now() < deadline || self.control.paused() {
                        if self.control.stopping() {
                            return Ok(());
                        }
                        self.report_state(if self.control.paused() {
                            State::Paused
                        } else {
                            State::Running
                        });
                        let _ = self.consumer.poll(Duration::from_millis(50));
                        if let Some(e) = self.shared().error.take() {
                            return Err(e);
                        }
                    }
                    self.set_consumer_paused(false);
                }
                Err(e) => {
                    return Err(call_error(
                        "Task threw an uncaught and unrecoverable exception during put",
                        e,
                    ));
                }
            }
        }
    }

    /// As Java's `WorkerSinkTask`, `put` is called after a poll that brought nothing too, so a
    /// task that gathers records across puts can write them once its input pauses.
    fn put_nothing(&mut self) -> Result<(), (String, bool)> {
        let outcome = self.shared().task.put(&[]);
        let context = match outcome {
            Ok(TaskResponse::SinkContext(c)) => Some(c),
            Ok(_) => None,
            // Nothing to redeliver: the task is called again after the next poll.
            Err(CallError::Failed(f)) if f.error.is_retriable() => f.context.map(|c| *c),
            Err(e) => {
                return Err(call_error(
                    "Task threw an uncaught and unrecoverable exception during put",
                    e,
                ))
            }
        };
        if let Some(c) = context {
            absorb(&mut self.shared(), c);
        }
        self.handle_errant(None)
    }

    /// Seeks the partitions the task asked to rewind and returns them. A reset for a partition
    /// that is not assigned yet, or whose fetcher has not started (the seek fails until the
    /// committed offset is known), is kept and tried again on the next loop.
    fn apply_resets(&mut self) -> Vec<TopicPartition> {
        let resets = std::mem::take(&mut self.shared().resets);
        let mut keep = SinkOffsets::new();
        let mut rewound = Vec::new();
        for (tp, offset) in resets {
            let assigned = self.shared().assignment.contains(&tp);
            if !assigned {
                keep.insert(tp, offset);
                continue;
            }
            match self.consumer.seek(&tp, offset) {
                Ok(()) => {
                    // The next commit records the rewound position, as Java's does.
                    self.shared().consumed.insert(tp.clone(), offset);
                    rewound.push(tp);
                }
                Err(e) => {
                    tracing::debug!(error = %e, topic = %tp.topic, partition = tp.partition, "rewind not possible yet; retrying");
                    keep.insert(tp, offset);
                }
            }
        }
        if !keep.is_empty() {
            let mut shared = self.shared();
            for (tp, offset) in keep {
                shared.resets.entry(tp).or_insert(offset);
            }
        }
        rewound
    }

    fn shutdown(&mut self, clean: bool, panicked: bool) {
        let consumer = &self.consumer;
        let mut shared = self.state.lock();
        shared.stopped = true;
        if panicked {
            return;
        }
        if clean {
            if let Err((t, _)) = shared.commit(consumer, None) {
                tracing::warn!(trace = %t, "final sink commit failed");
            }
            let assignment = std::mem::take(&mut shared.assignment);
            if let Err(e) = shared.task.call(&TaskRequest::Close(assignment)) {
                tracing::warn!(error = %e, "task close failed");
            }
        }
        if let Err(e) = shared.task.call(&TaskRequest::Stop) {
            tracing::warn!(error = %e, "task stop failed");
        }
    }
}
