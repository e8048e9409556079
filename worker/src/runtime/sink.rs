//! The sink task loop: consume → convert → transform → put → (pre-commit, commit) on the flush
//! interval. Partition assignment changes reach the task as open/close from the rebalance
//! callbacks, and revoked partitions are committed before they go.
//!
//! Conversion and transformation failures go through the connector's error policy
//! ([`super::errors`]): a tolerated failure skips the record (logged, and its original bytes
//! written to the dead letter queue if one is set); any other fails the task. Offsets are
//! tracked by each record's original topic, partition and offset, so a transformation that
//! renames the topic does not change what is committed; skipped and filtered records count as
//! consumed once the records before them were put.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::message::{BorrowedMessage, Headers as _};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};
use tributary_connector_api::abi::{TaskRequest, TaskResponse};
use tributary_connector_api::{
    Headers, SinkOffsets, SinkRecord, SinkTaskContext, TimestampType, TopicPartition,
};

use tributary_transforms::{Outcome, TransformChain};

use super::convert::{transform_chain, TaskConverters};
use super::dead_letter::{DeadLetterQueue, RawRecord};
use super::errors::{ErrorHandler, ErrorPolicy, Failure, OpError, RunError, Stage};
use super::{trace, TaskControl, TaskSpec};
use crate::model::State;
use crate::plugins::{CallError, RemoteTask};

const MAX_BATCH: usize = 500;

/// The task and what it has consumed; shared with the rebalance callbacks, which run on the
/// task thread inside `poll`.
struct Shared {
    task: RemoteTask,
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
    /// Records the task reported as errant, not yet handled.
    errant: Vec<tributary_connector_api::ErrantRecord>,
    /// Flushed before every offset commit, so a skipped record is in the DLQ before its
    /// offset is committed.
    dlq: Option<DeadLetterQueue>,
}

struct SinkContext {
    shared: Mutex<Shared>,
}

impl SinkContext {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.shared.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn tps(list: &TopicPartitionList) -> Vec<TopicPartition> {
    list.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

fn absorb(shared: &mut Shared, context: SinkTaskContext) {
    shared.resets.extend(context.offset_resets);
    shared.commit_requested |= context.commit_requested;
    shared.errant.extend(context.errant_records);
}

fn call_error(stage: &str, e: CallError) -> (String, bool) {
    let panicked = matches!(e, CallError::Panicked(_));
    (trace(stage, e), panicked)
}

impl Shared {
    /// Asks the task which offsets are safe and commits them.
    fn commit(
        &mut self,
        consumer: &BaseConsumer<SinkContext>,
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
        let safe = match self.task.call(&TaskRequest::PreCommit(offsets)) {
            Ok(TaskResponse::Committable(safe)) => safe,
            Ok(_) => return Ok(()),
            Err(e) => return Err(call_error("Offset commit failed during preCommit/flush", e)),
        };
        if safe.is_empty() {
            return Ok(());
        }
        let mut list = TopicPartitionList::new();
        for (tp, offset) in &safe {
            if let Err(e) =
                list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
            {
                tracing::warn!(error = %e, "cannot build offset commit");
            }
        }
        match consumer.commit(&list, CommitMode::Sync) {
            Ok(()) => {
                tracing::debug!(partitions = safe.len(), "committed sink offsets");
                for tp in safe.keys() {
                    if only.is_some() {
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

impl ClientContext for SinkContext {}

impl ConsumerContext for SinkContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<SinkContext>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            let revoked = tps(list);
            let mut shared = self.lock();
            if shared.stopped || shared.error.is_some() || revoked.is_empty() {
                return;
            }
            if let Err(e) = shared.commit(consumer, Some(&revoked)) {
                shared.error = Some(e);
                return;
            }
            shared.assignment.retain(|tp| !revoked.contains(tp));
            for tp in &revoked {
                shared.consumed.remove(tp);
                // A rewind asked for a partition we no longer own must not run if it comes back.
                shared.resets.remove(tp);
            }
            match shared.task.call(&TaskRequest::Close(revoked)) {
                Ok(TaskResponse::SinkContext(c)) => absorb(&mut shared, c),
                Ok(_) => {}
                Err(e) => shared.error = Some(call_error("Task failed in close", e)),
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<SinkContext>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            let assigned = tps(list);
            let mut shared = self.lock();
            if shared.stopped || shared.error.is_some() || assigned.is_empty() {
                return;
            }
            if shared.paused {
                if let Err(e) = consumer.pause(list) {
                    tracing::warn!(error = %e, "cannot pause newly assigned partitions");
                }
            }
            for tp in &assigned {
                if !shared.assignment.contains(tp) {
                    shared.assignment.push(tp.clone());
                }
            }
            match shared.task.call(&TaskRequest::Open(assigned)) {
                Ok(TaskResponse::SinkContext(c)) => absorb(&mut shared, c),
                Ok(_) => {}
                Err(e) => shared.error = Some(call_error("Task failed in open", e)),
            }
        }
    }
}

/// Runs a sink task until it is stopped. `Err` is the trace of a failure.
pub fn run(spec: TaskSpec, control: &TaskControl) -> Result<(), String> {
    let converters = TaskConverters::new(&spec.worker, &spec.connector_config)
        .map_err(|e| trace("Failed to create converters", e))?;
    let chain = transform_chain(&spec.connector_config)
        .map_err(|e| trace("Failed to create transformations", e))?;
    let dlq = DeadLetterQueue::create(
        &spec.clients,
        &spec.connector_config,
        &spec.connector,
        spec.task,
    )
    .map_err(|e| trace("Failed to set up the dead letter queue", e))?;
    let mut task = spec
        .plugin
        .new_task()
        .map_err(|e| trace("Failed to create task", e))?;
    let started = task
        .call(&TaskRequest::StartSink {
            props: spec.task_config.clone(),
        })
        .map_err(|e| {
            trace(
                "Task threw an uncaught and unrecoverable exception during start",
                e,
            )
        })?;
    let context = SinkContext {
        shared: Mutex::new(Shared {
            task,
            consumed: BTreeMap::new(),
            assignment: Vec::new(),
            resets: BTreeMap::new(),
            commit_requested: false,
            error: None,
            stopped: false,
            paused: false,
            errant: Vec::new(),
            dlq,
        }),
    };
    if let TaskResponse::SinkContext(c) = started {
        absorb(&mut context.lock(), c);
    }
    let consumer: BaseConsumer<SinkContext> = spec
        .clients
        .consumer
        .create_with_context(context)
        .map_err(|e| trace("Failed to create consumer", e))?;
    let settings = crate::config::connector::ConnectorSettings::from_props(&spec.connector_config);
    let subscribed = match &settings.topics_regex {
        Some(regex) => consumer.subscribe(&[&subscription_pattern(regex)]),
        None => {
            let topics: Vec<&str> = settings.topics.iter().map(String::as_str).collect();
            consumer.subscribe(&topics)
        }
    };
    subscribed.map_err(|e| trace("Failed to subscribe", e))?;

    let mut lp = SinkLoop {
        spec: &spec,
        control,
        consumer: &consumer,
        converters,
        chain,
        errors: ErrorHandler::new(
            ErrorPolicy::from_props(&spec.connector_config),
            &spec.connector,
            spec.task,
        ),
        flush_interval: Duration::from_millis(spec.worker.offset_flush_interval_ms),
        last_commit: Instant::now(),
    };
    let result = lp.run();
    let panicked = matches!(result, Err((_, true)));
    lp.shutdown(result.is_ok(), panicked);
    result.map_err(|(t, _)| t)
}

struct SinkLoop<'a> {
    spec: &'a TaskSpec,
    control: &'a TaskControl,
    consumer: &'a BaseConsumer<SinkContext>,
    converters: TaskConverters,
    chain: TransformChain,
    errors: ErrorHandler,
    flush_interval: Duration,
    last_commit: Instant,
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

/// The librdkafka subscription for `topics.regex`: anchored at both ends, because Kafka matches
/// the whole topic name (`Matcher.matches`) while librdkafka searches; otherwise `orders` would
/// also subscribe to `orders-dlq`.
fn subscription_pattern(regex: &str) -> String {
    let inner = regex.strip_prefix('^').unwrap_or(regex);
    let inner = inner.strip_suffix('$').unwrap_or(inner);
    format!("^({inner})$")
}

/// What became of one consumed record.
enum Processed {
    /// Ready for `put`.
    Record(SinkRecord),
    /// Filtered out, or its failure tolerated: done, its offset may advance.
    Done,
    /// The task is stopping while a retriable failure was being retried.
    Stopping,
}

/// `__connect.errors.class.name` of records a sink task reports as errant (as Kafka).
const SINK_TASK_CLASS: &str = "org.apache.kafka.connect.sink.SinkTask";

fn converter_error(e: crate::converters::ConverterError) -> OpError {
    OpError::fatal(e.to_string())
}

impl SinkLoop<'_> {
    fn shared(&self) -> std::sync::MutexGuard<'_, Shared> {
        self.consumer.context().lock()
    }

    fn run(&mut self) -> Result<(), (String, bool)> {
        let mut reported = None;
        let mut consumer_paused = false;
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
            if reported != Some(state) {
                self.spec
                    .status
                    .put_task(&self.spec.connector, self.spec.task, state, None);
                reported = Some(state);
            }
            if paused != consumer_paused {
                self.set_consumer_paused(paused);
                consumer_paused = paused;
            }
            let batch = self.poll_batch()?;
            if let Some(e) = self.shared().error.take() {
                return Err(e);
            }
            // Rewinds first: records of a partition with a rewind still pending are held back
            // (the seek fetches them again), so the task never sees what it asked to skip.
            self.apply_resets();
            if !batch.advanced.is_empty() {
                self.deliver(batch)?;
            }
            self.handle_errant(None)?;
            let due =
                self.last_commit.elapsed() >= self.flush_interval || self.shared().commit_requested;
            if due {
                self.last_commit = Instant::now();
                let consumer = self.consumer;
                self.shared().commit(consumer, None)?;
            }
        }
    }

    /// Up to `MAX_BATCH` records, converted and transformed; waits up to 100 ms for the first.
    fn poll_batch(&mut self) -> Result<Batch, (String, bool)> {
        let mut batch = Batch::default();
        let mut timeout = Duration::from_millis(100);
        let keep_raw = self.shared().dlq.is_some();
        for _ in 0..MAX_BATCH {
            match self.consumer.poll(timeout) {
                None => break,
                Some(Ok(message)) => {
                    let tp = TopicPartition::new(message.topic(), message.partition());
                    let next = message.offset() + 1;
                    match batch.advanced.get_mut(&tp) {
                        Some(offset) => *offset = next,
                        None => {
                            batch.advanced.insert(tp.clone(), next);
                        }
                    }
                    match self.process(&message)? {
                        Processed::Record(record) => {
                            batch.records.push(record);
                            batch.origins.push(Origin {
                                tp,
                                offset: message.offset(),
                                raw: keep_raw.then(|| RawRecord::from_message(&message)),
                            });
                        }
                        Processed::Done => {}
                        // Stopped while retrying: nothing of this batch counts as consumed,
                        // so the next owner reads it again from the committed offset.
                        Processed::Stopping => return Ok(Batch::default()),
                    }
                }
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "consumer error");
                    break;
                }
            }
            timeout = Duration::ZERO;
        }
        Ok(batch)
    }

    /// Converts and transforms one consumed record.
    fn process(&mut self, m: &BorrowedMessage<'_>) -> Result<Processed, (String, bool)> {
        match self.convert(m) {
            Ok(record) => self.transform(record, m),
            Err(RunError::Failed(failure)) => {
                self.skip(failure, || RawRecord::from_message(m))?;
                Ok(Processed::Done)
            }
            Err(RunError::Stopping) => Ok(Processed::Stopping),
        }
    }

    fn convert(&mut self, m: &BorrowedMessage<'_>) -> Result<SinkRecord, RunError> {
        let topic = m.topic();
        let c = &self.converters;
        let control = self.control;
        let (key_schema, key) =
            self.errors
                .run(control, Stage::KeyConverter, &c.key_class, || {
                    c.key.to_connect(topic, m.key()).map_err(converter_error)
                })?;
        let (value_schema, value) =
            self.errors
                .run(control, Stage::ValueConverter, &c.value_class, || {
                    c.value
                        .to_connect(topic, m.payload())
                        .map_err(converter_error)
                })?;
        let mut headers = Headers::new();
        if let Some(hs) = m.headers() {
            for h in hs.iter() {
                let (schema, value) =
                    self.errors
                        .run(control, Stage::HeaderConverter, &c.header_class, || {
                            c.header
                                .to_connect_header(topic, h.key, h.value)
                                .map_err(converter_error)
                        })?;
                headers.add(h.key, schema, value);
            }
        }
        let (timestamp, timestamp_type) = match m.timestamp() {
            rdkafka::Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
            rdkafka::Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            rdkafka::Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
        };
        Ok(SinkRecord {
            topic: topic.to_owned(),
            kafka_partition: m.partition(),
            kafka_offset: m.offset(),
            key_schema,
            key,
            value_schema,
            value,
            timestamp,
            timestamp_type,
            headers,
            original_topic: None,
        })
    }

    /// Runs the transformation chain.
    fn transform(
        &mut self,
        mut record: SinkRecord,
        m: &BorrowedMessage<'_>,
    ) -> Result<Processed, (String, bool)> {
        let control = self.control;
        for stage in self.chain.stages_mut() {
            let class = stage.class;
            let outcome = self.errors.run(control, Stage::Transformation, class, || {
                stage.apply(&mut record).map_err(|e| OpError {
                    message: e.message,
                    retriable: e.retriable,
                })
            });
            match outcome {
                Ok(Outcome::Keep) => {}
                Ok(Outcome::Drop) => return Ok(Processed::Done),
                Err(RunError::Failed(failure)) => {
                    self.skip(failure, || RawRecord::from_message(m))?;
                    return Ok(Processed::Done);
                }
                Err(RunError::Stopping) => return Ok(Processed::Stopping),
            }
        }
        if record.topic != m.topic() {
            record.original_topic = Some(m.topic().to_owned());
        }
        Ok(Processed::Record(record))
    }

    /// Tolerates a failure (log, dead letter queue) or fails the task with its trace.
    fn skip(
        &mut self,
        failure: Failure,
        raw: impl FnOnce() -> RawRecord,
    ) -> Result<(), (String, bool)> {
        let failure = self.errors.tolerate(failure).map_err(|t| (t, false))?;
        self.report(&failure, raw())
    }

    /// Logs a tolerated failure and writes the record to the dead letter queue.
    fn report(&self, failure: &Failure, raw: RawRecord) -> Result<(), (String, bool)> {
        self.errors.log(failure, &raw.position(), || raw.describe());
        match &self.shared().dlq {
            Some(dlq) => dlq
                .send(&raw, failure)
                .map_err(|e| (trace("Failed to write to the dead letter queue", e), false)),
            None => Ok(()),
        }
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
                .errors
                .tolerate_reported(failure)
                .map_err(|t| (t, false))?;
            match origin.and_then(|o| o.raw.clone()) {
                Some(raw) => self.report(&failure, raw)?,
                // Without a DLQ the record is only logged, and its coordinates suffice.
                None if !has_dlq => self.errors.log(
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
                            "the task reported {}-{}@{} outside the put call that delivered it; \
                                 the worker holds a record's bytes only during that call",
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
        let assignment = self.consumer.assignment().unwrap_or_default();
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
                    shared.assignment.contains(tp) && !shared.resets.contains_key(tp)
                };
                batch.retain(|o| owned(&o.tp));
                batch.advanced.retain(|tp, _| owned(tp));
            }
            if batch.records.is_empty() {
                let advanced = std::mem::take(&mut batch.advanced);
                self.shared().consumed.extend(advanced);
                return Ok(());
            }
            let request = TaskRequest::Put(std::mem::take(&mut batch.records));
            let outcome = self.shared().task.call(&request);
            if let TaskRequest::Put(b) = request {
                batch.records = b;
            }
            match outcome {
                Ok(response) => {
                    if let TaskResponse::SinkContext(c) = response {
                        absorb(&mut self.shared(), c);
                    }
                    self.handle_errant(Some(&batch))?;
                    let advanced = std::mem::take(&mut batch.advanced);
                    self.shared().consumed.extend(advanced);
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
                        self.consumer.poll(Duration::from_millis(50));
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

    /// Seeks the partitions the task asked to rewind. A reset for a partition that is not
    /// assigned yet, or whose fetcher has not started (the seek fails until the committed
    /// offset is known), is kept and tried again on the next loop.
    fn apply_resets(&mut self) {
        let resets = std::mem::take(&mut self.shared().resets);
        let mut keep = SinkOffsets::new();
        for (tp, offset) in resets {
            let assigned = self.shared().assignment.contains(&tp);
            if !assigned {
                keep.insert(tp, offset);
                continue;
            }
            match self.consumer.seek(
                &tp.topic,
                tp.partition,
                Offset::Offset(offset),
                Duration::from_secs(5),
            ) {
                Ok(()) => {
                    // The next commit records the rewound position, as Java's does.
                    self.shared().consumed.insert(tp, offset);
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
    }

    fn shutdown(&mut self, clean: bool, panicked: bool) {
        let consumer = self.consumer;
        let mut shared = self.shared();
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

#[cfg(test)]
mod tests {
    use super::subscription_pattern;

    #[test]
    fn regex_subscriptions_match_whole_topic_names() {
        assert_eq!(subscription_pattern("orders"), "^(orders)$");
        assert_eq!(subscription_pattern("^orders-.*$"), "^(orders-.*)$");
        assert_eq!(subscription_pattern("a|b"), "^(a|b)$");
    }
}
