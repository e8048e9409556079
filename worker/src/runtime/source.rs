//! The source task loop: poll → transform → convert → produce; offsets are committed only for
//! records the broker acknowledged, in order.
//!
//! Transformation, conversion and produce failures go through the connector's error policy
//! ([`super::errors`]): a tolerated failure skips the record (logged with
//! `errors.log.enable`; sources have no dead letter queue, as in Kafka) and its offset counts
//! as done, like a record a transformation filtered out; any other fails the task.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientContext, Message};
use tributary_connector_api::abi::{TaskRequest, TaskResponse};
use tributary_connector_api::{OffsetMap, RecordMetadata, SourceRecord};

use tributary_transforms::{Outcome, TransformChain};

use super::convert::{transform_chain, TaskConverters};
use super::errors::{ErrorHandler, ErrorPolicy, Failure, OpError, RunError, Stage};
use super::{trace, TaskControl, TaskSpec};
use crate::model::State;
use crate::plugins::{CallError, RemoteTask};

/// Collects delivery reports. They arrive on rdkafka's polling thread, so acks are taken in
/// as soon as the broker answers, even while the task thread is inside a plugin call.
#[derive(Default)]
struct Deliveries {
    acks: Mutex<Vec<(u64, Result<RecordMetadata, String>)>>,
    /// Signalled on a delivery report while a sender waits for queue space.
    delivered: Condvar,
    /// Set (under the `acks` lock) while the task thread waits on `delivered`.
    waiting: std::sync::atomic::AtomicBool,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, seq: usize) {
        let outcome = match result {
            Ok(m) => Ok(RecordMetadata {
                topic: m.topic().to_owned(),
                partition: m.partition(),
                offset: m.offset(),
            }),
            Err((e, _)) => Err(e.to_string()),
        };
        self.acks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((seq as u64, outcome));
        if self.waiting.load(std::sync::atomic::Ordering::Acquire) {
            self.delivered.notify_one();
        }
    }
}

/// The class named in produce failures (`__connect.errors.class.name` in Kafka).
const PRODUCER_CLASS: &str = "org.apache.kafka.clients.producer.KafkaProducer";

/// A failed plugin call as (trace, whether the plugin panicked).
fn failed(stage: &str, e: CallError) -> (String, bool) {
    let panicked = matches!(e, CallError::Panicked(_));
    (trace(stage, e), panicked)
}

struct InFlight {
    seq: u64,
    /// The plugin's sequence number, when it wants `commit_record`.
    plugin_seq: Option<u64>,
    partition: Option<Arc<OffsetMap>>,
    offset: Option<OffsetMap>,
    acked: bool,
}

/// Tracks records sent but not yet committable. Acks free records from the front only, so a
/// partition's offset never passes a record that is still in flight.
#[derive(Default)]
struct OffsetTracker {
    in_flight: VecDeque<InFlight>,
    next_seq: u64,
    /// Latest acked offset per source partition, not yet committed.
    committable: Vec<(Arc<OffsetMap>, OffsetMap)>,
    /// Plugin records acknowledged, for `commit_record`.
    acked_for_plugin: Vec<(u64, Option<RecordMetadata>)>,
}

impl OffsetTracker {
    fn add(
        &mut self,
        plugin_seq: Option<u64>,
        partition: Option<Arc<OffsetMap>>,
        offset: Option<OffsetMap>,
    ) -> u64 {
        let seq = self.next_seq;
        self.next_seq += 1;
        self.in_flight.push_back(InFlight {
            seq,
            plugin_seq,
            partition,
            offset,
            acked: false,
        });
        seq
    }

    fn ack(&mut self, seq: u64, metadata: Option<RecordMetadata>) {
        let Some(front) = self.in_flight.front() else {
            return;
        };
        let index = (seq - front.seq) as usize;
        if let Some(entry) = self.in_flight.get_mut(index) {
            entry.acked = true;
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
                    Some(slot) => slot.1 = o,
                    None => self.committable.push((p, o)),
                }
            }
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

struct SourceLoop<'a> {
    spec: &'a TaskSpec,
    control: &'a TaskControl,
    task: RemoteTask,
    producer: ThreadedProducer<Deliveries>,
    converters: TaskConverters,
    chain: TransformChain,
    errors: ErrorHandler,
    tracker: OffsetTracker,
    flush_interval: Duration,
    last_commit: Instant,
    /// False once the plugin panicked: its state is unknown, so it is not called again.
    plugin_usable: bool,
}

/// Runs a source task until it is stopped. `Err` is the trace of a failure.
pub fn run(spec: TaskSpec, control: &TaskControl) -> Result<(), String> {
    let converters = TaskConverters::new(&spec.worker, &spec.connector_config)
        .map_err(|e| trace("Failed to create converters", e))?;
    let chain = transform_chain(&spec.connector_config)
        .map_err(|e| trace("Failed to create transformations", e))?;
    let errors = ErrorHandler::new(
        ErrorPolicy::from_props(&spec.connector_config),
        &spec.connector,
        spec.task,
    );
    let producer: ThreadedProducer<Deliveries> = spec
        .clients
        .producer
        .create_with_context(Deliveries::default())
        .map_err(|e| trace("Failed to create producer", e))?;
    let mut task = spec
        .plugin
        .new_task()
        .map_err(|e| trace("Failed to create task", e))?;
    let offsets = spec.offsets.offsets(&spec.connector);
    task.call(&TaskRequest::StartSource {
        props: spec.task_config.clone(),
        offsets,
    })
    .map_err(|e| {
        trace(
            "Task threw an uncaught and unrecoverable exception during start",
            e,
        )
    })?;
    let flush_interval = Duration::from_millis(spec.worker.offset_flush_interval_ms);
    let mut lp = SourceLoop {
        spec: &spec,
        control,
        task,
        producer,
        converters,
        chain,
        errors,
        tracker: OffsetTracker::default(),
        flush_interval,
        last_commit: Instant::now(),
        plugin_usable: true,
    };
    let result = lp.run();
    lp.shutdown(!matches!(result, Err((_, true))));
    result.map_err(|(t, _)| t)
}

impl SourceLoop<'_> {
    /// The loop; an error carries the trace and whether the plugin panicked.
    fn run(&mut self) -> Result<(), (String, bool)> {
        let mut reported = None;
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
            self.serve_acks()?;
            if self.last_commit.elapsed() >= self.flush_interval {
                self.commit_offsets()?;
            }
            if paused {
                self.control.wait(Duration::from_millis(200));
                continue;
            }
            let response = match self.task.call(&TaskRequest::Poll) {
                Ok(r) => r,
                // As Kafka: a retriable error from poll is logged and the task polled again.
                Err(e) if e.is_retriable() => {
                    tracing::warn!(error = %e, "failed to poll records from the task; polling again");
                    self.control.wait(Duration::from_millis(100));
                    continue;
                }
                Err(e) => {
                    return Err(failed(
                        "Task threw an uncaught and unrecoverable exception during poll",
                        e,
                    ))
                }
            };
            if let TaskResponse::Polled {
                records,
                first_seq,
                wants_commit_record,
            } = response
            {
                for (i, record) in records.into_iter().enumerate() {
                    if self.control.stopping() {
                        break;
                    }
                    let plugin_seq = wants_commit_record.then_some(first_seq + i as u64);
                    self.send(record, plugin_seq)?;
                }
            }
        }
    }

    /// Tolerates a failure (the record is skipped: its offset counts as done) or returns the
    /// trace the task fails with.
    fn skip(
        &mut self,
        failure: Failure,
        record: &SourceRecord,
        plugin_seq: Option<u64>,
    ) -> Result<(), (String, bool)> {
        let failure = self.errors.tolerate(failure).map_err(|t| (t, false))?;
        let position = format!(
            "source record is {{topic='{}', partition={:?}, offset={:?}}}",
            record.topic,
            record.source_partition.as_deref(),
            record.source_offset
        );
        self.errors
            .log(&failure, &position, || format!("{record:?}"));
        self.done_without_send(record, plugin_seq);
        Ok(())
    }

    /// A record that is finished without being sent (filtered out or skipped): its offset
    /// becomes committable once the records before it are acknowledged.
    fn done_without_send(&mut self, record: &SourceRecord, plugin_seq: Option<u64>) {
        let seq = self.tracker.add(
            plugin_seq,
            record.source_partition.clone(),
            record.source_offset.clone(),
        );
        self.tracker.ack(seq, None);
    }

    /// Runs the transformation chain; false when the record is not to be sent (filtered,
    /// skipped, or the task is stopping).
    fn transform(
        &mut self,
        record: &mut SourceRecord,
        plugin_seq: Option<u64>,
    ) -> Result<bool, (String, bool)> {
        let control = self.control;
        for i in 0..self.chain.len() {
            let stage = &mut self.chain.stages_mut()[i];
            let class = stage.class;
            let outcome = self.errors.run(control, Stage::Transformation, class, || {
                stage.apply(record).map_err(|e| OpError {
                    message: e.message,
                    retriable: e.retriable,
                })
            });
            match outcome {
                Ok(Outcome::Keep) => {}
                Ok(Outcome::Drop) => {
                    self.done_without_send(record, plugin_seq);
                    return Ok(false);
                }
                Err(RunError::Failed(failure)) => {
                    self.skip(failure, record, plugin_seq)?;
                    return Ok(false);
                }
                // Stopped while retrying: the record is not sent and its offset not
                // committed, so it is read again when the task next starts.
                Err(RunError::Stopping) => return Ok(false),
            }
        }
        Ok(true)
    }

    /// Key, value and header bytes of a record.
    #[allow(clippy::type_complexity)]
    fn convert(
        &mut self,
        record: &SourceRecord,
    ) -> Result<(Option<Vec<u8>>, Option<Vec<u8>>, Option<OwnedHeaders>), RunError> {
        let topic = record.topic.as_str();
        let conv = &self.converters;
        let control = self.control;
        let to_op = |e: crate::converters::ConverterError| OpError::fatal(e.to_string());
        let key = self
            .errors
            .run(control, Stage::KeyConverter, &conv.key_class, || {
                conv.key
                    .from_connect(topic, record.key_schema.as_ref(), &record.key)
                    .map_err(to_op)
            })?;
        let value = self
            .errors
            .run(control, Stage::ValueConverter, &conv.value_class, || {
                conv.value
                    .from_connect(topic, record.value_schema.as_ref(), &record.value)
                    .map_err(to_op)
            })?;
        let mut headers = None;
        if !record.headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(record.headers.len());
            for header in record.headers.iter() {
                let bytes =
                    self.errors
                        .run(control, Stage::HeaderConverter, &conv.header_class, || {
                            conv.header
                                .from_connect_header(
                                    topic,
                                    &header.key,
                                    header.schema.as_ref(),
                                    &header.value,
                                )
                                .map_err(to_op)
                        })?;
                h = h.insert(KHeader {
                    key: &header.key,
                    value: bytes.as_deref(),
                });
            }
            headers = Some(h);
        }
        Ok((key, value, headers))
    }

    fn send(
        &mut self,
        mut record: SourceRecord,
        plugin_seq: Option<u64>,
    ) -> Result<(), (String, bool)> {
        if !self.chain.is_empty() && !self.transform(&mut record, plugin_seq)? {
            return Ok(());
        }
        let (key, value, headers) = match self.convert(&record) {
            Ok(parts) => parts,
            Err(RunError::Failed(failure)) => return self.skip(failure, &record, plugin_seq),
            Err(RunError::Stopping) => return Ok(()),
        };
        let seq = self.tracker.add(
            plugin_seq,
            record.source_partition.clone(),
            record.source_offset.take(),
        );
        let topic = record.topic.as_str();
        let mut out = BaseRecord::with_opaque_to(topic, seq as usize);
        if let Some(k) = key.as_deref() {
            out = out.key(k);
        }
        if let Some(v) = value.as_deref() {
            out = out.payload(v);
        }
        if let Some(p) = record.kafka_partition {
            out = out.partition(p);
        }
        if let Some(ts) = record.timestamp {
            out = out.timestamp(ts);
        }
        if let Some(h) = headers {
            out = out.headers(h);
        }
        // Back-pressure: while librdkafka's queue is full, wait for deliveries and retry.
        loop {
            match self.producer.send(out) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    if self.control.stopping() {
                        // The broker is not taking records (e.g. it is down and deliveries
                        // retry forever): give up this record; its offset is not committed.
                        self.tracker.forget_last();
                        return Ok(());
                    }
                    out = back;
                    self.wait_for_delivery(Duration::from_millis(10));
                    self.serve_acks()?;
                }
                Err((e, _)) => {
                    // As Kafka (KIP-779): with errors.tolerance=all a record the producer
                    // refuses is skipped, and its offset counts as done.
                    let failure = Failure::new(
                        Stage::KafkaProduce,
                        PRODUCER_CLASS,
                        OpError::fatal(format!("Failed to send record to Kafka: {e}")),
                    );
                    let failure = self
                        .errors
                        .tolerate_reported(failure)
                        .map_err(|t| (t, false))?;
                    let position = format!("source record is {{topic='{topic}'}}");
                    self.errors
                        .log(&failure, &position, || format!("{record:?}"));
                    self.tracker.ack(seq, None);
                    return Ok(());
                }
            }
        }
    }

    /// Waits until a delivery report arrives (or `timeout` passes).
    fn wait_for_delivery(&self, timeout: Duration) {
        let context = self.producer.context();
        let acks = context.acks.lock().unwrap_or_else(|p| p.into_inner());
        if acks.is_empty() {
            // Set under the lock: a report pushed after this point sees the flag and wakes us.
            context
                .waiting
                .store(true, std::sync::atomic::Ordering::Release);
            let guard = context.delivered.wait_timeout(acks, timeout);
            context
                .waiting
                .store(false, std::sync::atomic::Ordering::Release);
            drop(guard);
        }
    }

    /// Applies the delivery reports received so far.
    fn serve_acks(&mut self) -> Result<(), (String, bool)> {
        let acks = std::mem::take(
            &mut *self
                .producer
                .context()
                .acks
                .lock()
                .unwrap_or_else(|p| p.into_inner()),
        );
        for (seq, outcome) in acks {
            match outcome {
                Ok(metadata) => self.tracker.ack(seq, Some(metadata)),
                Err(e) => {
                    // As Kafka (KIP-779): with errors.tolerance=all a record the broker
                    // refused is skipped and its offset committed.
                    let failure = Failure::new(
                        Stage::KafkaProduce,
                        PRODUCER_CLASS,
                        OpError::fatal(format!("Failed to produce record: {e}")),
                    );
                    let failure = self
                        .errors
                        .tolerate_reported(failure)
                        .map_err(|t| (t, false))?;
                    self.errors
                        .log(&failure, "the record was sent", String::new);
                    self.tracker.ack(seq, None);
                }
            }
        }
        if !self.tracker.acked_for_plugin.is_empty() && self.plugin_usable {
            let acked = std::mem::take(&mut self.tracker.acked_for_plugin);
            // Like Java, an error from the commit hook is logged; the task goes on.
            match self.task.call(&TaskRequest::CommitRecords(acked)) {
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
        let committable = std::mem::take(&mut self.tracker.committable);
        let entries: Vec<(OffsetMap, Option<OffsetMap>)> = committable
            .iter()
            .map(|(p, o)| ((**p).clone(), Some(o.clone())))
            .collect();
        if let Err(e) = self.spec.offsets.put(&self.spec.connector, &entries) {
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
        match self.task.call(&TaskRequest::Commit) {
            Err(e @ CallError::Panicked(_)) => Err(failed("Task panicked in commit", e)),
            Err(e) => {
                tracing::warn!(error = %e, "task commit failed");
                Ok(())
            }
            Ok(_) => Ok(()),
        }
    }

    /// Flushes what was sent (up to `offset.flush.timeout.ms`), commits, and stops the task.
    fn shutdown(&mut self, plugin_usable: bool) {
        self.plugin_usable = plugin_usable;
        let deadline =
            Instant::now() + Duration::from_millis(self.spec.worker.offset_flush_timeout_ms);
        while self.tracker.pending() > 0 && Instant::now() < deadline {
            self.wait_for_delivery(Duration::from_millis(50));
            if self.serve_acks().is_err() {
                break;
            }
        }
        if let Err((t, _)) = self.commit_offsets() {
            tracing::warn!(trace = %t, "final offset commit failed");
        }
        if self.plugin_usable {
            if let Err(e) = self.task.call(&TaskRequest::Stop) {
                tracing::warn!(error = %e, "task stop failed");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn m(v: serde_json::Value) -> Option<OffsetMap> {
        v.as_object().cloned()
    }

    fn shared(v: serde_json::Value) -> Option<Arc<OffsetMap>> {
        m(v).map(Arc::new)
    }

    #[test]
    fn offsets_advance_only_past_acked_prefix() {
        let mut t = OffsetTracker::default();
        let p = shared(json!({"filename": "f"}));
        let a = t.add(None, p.clone(), m(json!({"position": 1})));
        let b = t.add(None, p.clone(), m(json!({"position": 2})));
        let c = t.add(None, p.clone(), m(json!({"position": 3})));
        t.ack(b, None);
        assert!(t.committable.is_empty(), "record a is still in flight");
        t.ack(a, None);
        assert_eq!(
            t.committable,
            vec![(p.clone().unwrap(), m(json!({"position": 2})).unwrap())]
        );
        t.ack(c, None);
        assert_eq!(t.committable.len(), 1);
        assert_eq!(t.committable[0].1, m(json!({"position": 3})).unwrap());
        assert_eq!(t.pending(), 0);
    }
}
