//! In-process tests of the two task loops, driven through their traits by fakes: a scripted
//! plugin task, a producer with a bounded queue, a consumer with per-partition logs and
//! rebalances, and an in-memory offset store. Each loop runs on its own thread; the tests drive
//! the fakes and wait (with a deadline) for observable outcomes.

mod exactly_once_loop;
mod sink_loop;
mod source_loop;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::json;
use tributary_connector_api::abi::batch::RecordBatch;
use tributary_connector_api::abi::component::ByteBuf;
use tributary_connector_api::abi::{CallFailure, TaskRequest, TaskResponse};
use tributary_connector_api::{
    ConnectError, OffsetMap, Props, RecordMetadata, SinkOffsets, SinkRecord, SinkTaskContext,
    SourceRecord, TimestampType, TopicPartition, Value,
};

use super::exactly_once::{Boundary, OffsetRecord, OffsetWriter};
use super::kafka::{
    Ack, ConsumerOps, KafkaMessage, OutRecord, RebalanceListener, RecordSender, SendError,
    SinkConsumer,
};
use super::pipeline::Pipeline;
use super::sink::{SinkLoop, SinkState};
use super::source::{ExactlyOnceRun, SourceLoop};
use super::{PluginTask, TaskContext, TaskControl};
use crate::config::WorkerConfig;
use crate::model::{State, TaskState};
use crate::plugins::CallError;
use crate::storage::transactions::{TxnError, TxnErrorKind};
use crate::storage::{OffsetStore, StatusStore, StorageError};

pub const CONNECTOR: &str = "conn";
/// How long a test waits for an outcome before it fails.
pub const PATIENCE: Duration = Duration::from_secs(5);

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Polls `cond` every millisecond until it holds; panics after [`PATIENCE`].
pub fn wait_until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// The pipeline of the test connector (built-in converters and transformations only).
fn pipeline(worker: &WorkerConfig, connector: &Props) -> Result<Pipeline, String> {
    Pipeline::new(
        worker,
        connector,
        CONNECTOR,
        0,
        None,
        &crate::plugins::PluginRegistry::default(),
    )
}

pub fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

pub fn retriable(message: &str, context: Option<SinkTaskContext>) -> CallError {
    CallError::Failed(CallFailure {
        error: ConnectError::retriable(message),
        context: context.map(Box::new),
    })
}

pub fn fatal(message: &str) -> CallError {
    CallError::Failed(CallFailure {
        error: ConnectError::new(message),
        context: None,
    })
}

// ---- journal ----------------------------------------------------------------------------

/// Something a fake saw, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// A request to the plugin task.
    Task(TaskRequest),
    /// A consumer commit.
    Commit(SinkOffsets),
    Seek(TopicPartition, i64),
    Pause(Vec<TopicPartition>),
    Resume(Vec<TopicPartition>),
}

/// The events of one test, shared by its fakes.
#[derive(Clone, Default)]
pub struct Journal(Arc<Mutex<Vec<(Instant, Event)>>>);

impl Journal {
    pub fn push(&self, event: Event) {
        lock(&self.0).push((Instant::now(), event));
    }

    pub fn events(&self) -> Vec<Event> {
        lock(&self.0).iter().map(|(_, e)| e.clone()).collect()
    }

    pub fn timed(&self) -> Vec<(Instant, Event)> {
        lock(&self.0).clone()
    }

    /// The plugin requests, in order.
    pub fn requests(&self) -> Vec<TaskRequest> {
        lock(&self.0)
            .iter()
            .filter_map(|(_, e)| match e {
                Event::Task(r) => Some(r.clone()),
                _ => None,
            })
            .collect()
    }

    pub fn count(&self, pred: impl Fn(&TaskRequest) -> bool) -> usize {
        lock(&self.0)
            .iter()
            .filter(|(_, e)| matches!(e, Event::Task(r) if pred(r)))
            .count()
    }

    /// The batches with records given to `put`, in order (not the empty puts after idle
    /// polls).
    pub fn puts(&self) -> Vec<Vec<SinkRecord>> {
        self.all_puts()
            .into_iter()
            .filter(|b| !b.is_empty())
            .collect()
    }

    /// Every batch given to `put`, the empty ones too.
    pub fn all_puts(&self) -> Vec<Vec<SinkRecord>> {
        self.requests()
            .into_iter()
            .filter_map(|r| match r {
                TaskRequest::Put(b) => Some(put_records(&b)),
                _ => None,
            })
            .collect()
    }

    /// The consumer commits, in order.
    pub fn commits(&self) -> Vec<SinkOffsets> {
        self.events()
            .into_iter()
            .filter_map(|e| match e {
                Event::Commit(o) => Some(o),
                _ => None,
            })
            .collect()
    }
}

// ---- plugin task ------------------------------------------------------------------------

pub type Handler = Box<dyn FnMut(&TaskRequest) -> Result<TaskResponse, CallError> + Send>;

pub type Poller = Box<dyn FnMut() -> Result<RecordBatch, CallError> + Send>;

/// A plugin task that records every request in the journal and answers with its handler
/// (polls with its poller).
pub struct FakeTask {
    journal: Journal,
    handler: Handler,
    poller: Poller,
}

impl FakeTask {
    pub fn new(
        journal: &Journal,
        handler: impl FnMut(&TaskRequest) -> Result<TaskResponse, CallError> + Send + 'static,
    ) -> FakeTask {
        FakeTask {
            journal: journal.clone(),
            handler: Box::new(handler),
            poller: Box::new(|| Ok(empty_poll())),
        }
    }

    /// The task, polled with `poller`.
    pub fn polling(
        mut self,
        poller: impl FnMut() -> Result<RecordBatch, CallError> + Send + 'static,
    ) -> FakeTask {
        self.poller = Box::new(poller);
        self
    }

    /// A task that answers every request with [`default_response`].
    pub fn plain(journal: &Journal) -> FakeTask {
        FakeTask::new(journal, |r| Ok(default_response(r)))
    }

    /// A source task that returns the batches of `feed`, then empty polls.
    pub fn source(journal: &Journal, feed: &SourceFeed) -> FakeTask {
        let feed = feed.clone();
        FakeTask::plain(journal).polling(move || feed.poll())
    }
}

impl PluginTask for FakeTask {
    fn call(&mut self, request: &TaskRequest) -> Result<TaskResponse, CallError> {
        self.journal.push(Event::Task(request.clone()));
        (self.handler)(request)
    }

    fn poll(&mut self) -> Result<RecordBatch, CallError> {
        self.journal.push(Event::Task(TaskRequest::Poll));
        (self.poller)()
    }
}

/// The records of a `Put` request.
pub fn put_records(batch: &ByteBuf) -> Vec<SinkRecord> {
    let batch = RecordBatch::parse(batch.0.clone()).unwrap_or_else(|e| panic!("{e}"));
    batch
        .iter()
        .map(|r| r.to_sink_record().unwrap_or_else(|e| panic!("{e}")))
        .collect()
}

/// A poll of a task with nothing to poll (after a short block, as a real task idles).
pub fn empty_poll() -> RecordBatch {
    std::thread::sleep(Duration::from_millis(1));
    RecordBatch::of_source_records(&[], 0, false).unwrap_or_else(|e| panic!("{e}"))
}

/// What a well-behaved task answers: every offset safe to commit, otherwise done.
pub fn default_response(request: &TaskRequest) -> TaskResponse {
    match request {
        TaskRequest::PreCommit(offsets) => TaskResponse::Committable(offsets.clone()),
        _ => TaskResponse::Done,
    }
}

#[derive(Default)]
struct FeedInner {
    batches: VecDeque<Vec<SourceRecord>>,
    next_seq: u64,
    wants_commit_record: bool,
    /// Retriable errors to return from the next polls.
    poll_errors: usize,
}

/// The batches a fake source task returns from `poll`; the test adds to it while the loop runs.
#[derive(Clone, Default)]
pub struct SourceFeed(Arc<Mutex<FeedInner>>);

impl SourceFeed {
    pub fn new(batches: Vec<Vec<SourceRecord>>) -> SourceFeed {
        let feed = SourceFeed::default();
        lock(&feed.0).batches = batches.into();
        feed
    }

    pub fn push(&self, batch: Vec<SourceRecord>) {
        lock(&self.0).batches.push_back(batch);
    }

    /// Batches not polled yet.
    pub fn pending(&self) -> usize {
        lock(&self.0).batches.len()
    }

    /// The polled records are numbered for `commit_record`, from `first_seq`.
    pub fn wants_commit_record(&self, first_seq: u64) {
        let mut inner = lock(&self.0);
        inner.wants_commit_record = true;
        inner.next_seq = first_seq;
    }

    pub fn fail_polls(&self, n: usize) {
        lock(&self.0).poll_errors = n;
    }

    pub fn poll(&self) -> Result<RecordBatch, CallError> {
        let mut inner = lock(&self.0);
        if inner.poll_errors > 0 {
            inner.poll_errors -= 1;
            return Err(retriable("source unavailable", None));
        }
        match inner.batches.pop_front() {
            Some(records) => {
                let first_seq = inner.next_seq;
                inner.next_seq += records.len() as u64;
                RecordBatch::of_source_records(&records, first_seq, inner.wants_commit_record)
                    .map_err(CallError::Protocol)
            }
            None => {
                drop(inner);
                Ok(empty_poll())
            }
        }
    }
}

pub fn source_partition(name: &str) -> Arc<OffsetMap> {
    Arc::new(
        json!({ "file": name })
            .as_object()
            .cloned()
            .unwrap_or_default(),
    )
}

pub fn position(pos: i64) -> OffsetMap {
    json!({ "position": pos })
        .as_object()
        .cloned()
        .unwrap_or_default()
}

/// A record of source partition `file` at `pos`, to topic `out`.
pub fn source_record(file: &str, pos: i64, value: Value) -> SourceRecord {
    SourceRecord::new(
        Some(source_partition(file)),
        Some(position(pos)),
        "out",
        None,
        value,
    )
}

// ---- producer ---------------------------------------------------------------------------

/// A record the fake producer took.
#[derive(Debug, Clone, PartialEq)]
pub struct Sent {
    pub seq: u64,
    pub topic: String,
    pub partition: Option<i32>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl Sent {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.value.as_deref().unwrap_or_default()).into_owned()
    }
}

type Refuse = Box<dyn Fn(&Sent) -> Option<String> + Send>;

struct ProducerInner {
    capacity: usize,
    auto_ack: bool,
    /// Taken, not yet acknowledged.
    in_flight: Vec<Sent>,
    /// Every record taken, in order.
    sent: Vec<Sent>,
    /// Delivery reports not yet taken by the loop.
    acks: Vec<Ack>,
    refuse: Option<Refuse>,
    queue_full: usize,
    take_calls: Vec<Instant>,
    next_offset: i64,
    /// `Some` for a transactional producer.
    txn: Option<FakeTxn>,
}

/// A fake transactional producer's state: what a read-committed reader would see.
#[derive(Default)]
struct FakeTxn {
    open: bool,
    /// The task's records and the offset records of the open transaction.
    records: Vec<Sent>,
    offsets: Vec<Sent>,
    committed: Vec<Committed>,
    begins: usize,
    aborts: usize,
    /// The next commit fails with this.
    fail_commit: Option<TxnError>,
}

/// One committed transaction of the fake producer.
#[derive(Debug, Clone, PartialEq)]
pub struct Committed {
    /// The task's records, as text.
    pub records: Vec<String>,
    /// The offset records: (key, value) as text.
    pub offsets: Vec<(String, Option<String>)>,
}

/// A producer with a bounded queue, acknowledging records at once (`auto`) or when the test
/// says so, and refusing the records a test predicate picks.
#[derive(Clone)]
pub struct FakeProducer(Arc<(Mutex<ProducerInner>, Condvar)>);

impl FakeProducer {
    fn with(capacity: usize, auto_ack: bool) -> FakeProducer {
        FakeProducer(Arc::new((
            Mutex::new(ProducerInner {
                capacity,
                auto_ack,
                in_flight: Vec::new(),
                sent: Vec::new(),
                acks: Vec::new(),
                refuse: None,
                queue_full: 0,
                take_calls: Vec::new(),
                next_offset: 0,
                txn: None,
            }),
            Condvar::new(),
        )))
    }

    /// A transactional producer acknowledging every record as it is sent.
    pub fn transactional() -> FakeProducer {
        let p = FakeProducer::with(usize::MAX, true);
        p.inner().txn = Some(FakeTxn::default());
        p
    }

    /// The committed transactions, in order.
    pub fn committed(&self) -> Vec<Committed> {
        self.inner()
            .txn
            .as_ref()
            .map(|t| t.committed.clone())
            .unwrap_or_default()
    }

    /// (transactions begun, transactions aborted).
    pub fn begins_and_aborts(&self) -> (usize, usize) {
        self.inner()
            .txn
            .as_ref()
            .map_or((0, 0), |t| (t.begins, t.aborts))
    }

    /// Whether a transaction is open.
    pub fn transaction_open(&self) -> bool {
        self.inner().txn.as_ref().is_some_and(|t| t.open)
    }

    /// The next commit fails with `error`.
    pub fn fail_next_commit(&self, error: TxnError) {
        if let Some(t) = self.inner().txn.as_mut() {
            t.fail_commit = Some(error);
        }
    }

    /// Acknowledges every record as it is sent.
    pub fn auto() -> FakeProducer {
        FakeProducer::with(usize::MAX, true)
    }

    /// Acknowledges only when the test calls [`FakeProducer::ack`]; holds `capacity` records.
    pub fn manual(capacity: usize) -> FakeProducer {
        FakeProducer::with(capacity, false)
    }

    fn inner(&self) -> MutexGuard<'_, ProducerInner> {
        lock(&self.0 .0)
    }

    pub fn refuse(&self, refuse: impl Fn(&Sent) -> Option<String> + Send + 'static) {
        self.inner().refuse = Some(Box::new(refuse));
    }

    pub fn sent(&self) -> Vec<Sent> {
        self.inner().sent.clone()
    }

    pub fn sent_texts(&self) -> Vec<String> {
        self.inner().sent.iter().map(Sent::text).collect()
    }

    pub fn in_flight(&self) -> Vec<u64> {
        self.inner().in_flight.iter().map(|s| s.seq).collect()
    }

    pub fn queue_full_count(&self) -> usize {
        self.inner().queue_full
    }

    fn deliver(inner: &mut ProducerInner, seq: u64, outcome: Option<String>) {
        let Some(i) = inner.in_flight.iter().position(|s| s.seq == seq) else {
            panic!("record {seq} is not in flight");
        };
        let sent = inner.in_flight.remove(i);
        let result = match outcome {
            None => {
                inner.next_offset += 1;
                Ok(Some(RecordMetadata {
                    topic: sent.topic,
                    partition: sent.partition.unwrap_or(0),
                    offset: inner.next_offset - 1,
                }))
            }
            Some(e) => Err(e),
        };
        inner.acks.push((seq, result));
    }

    /// The broker acknowledges record `seq`.
    pub fn ack(&self, seq: u64) {
        Self::deliver(&mut self.inner(), seq, None);
        self.0 .1.notify_all();
    }

    /// The broker fails record `seq`.
    pub fn fail(&self, seq: u64, error: &str) {
        Self::deliver(&mut self.inner(), seq, Some(error.to_owned()));
        self.0 .1.notify_all();
    }

    /// Acknowledges every record in flight, in order.
    pub fn ack_all(&self) {
        let mut inner = self.inner();
        let seqs: Vec<u64> = inner.in_flight.iter().map(|s| s.seq).collect();
        for seq in seqs {
            Self::deliver(&mut inner, seq, None);
        }
        drop(inner);
        self.0 .1.notify_all();
    }

    /// Waits until the loop took every delivery report and then went through a whole loop
    /// cycle (which commits when due) at least `interval` later, so anything it would
    /// commit from those reports is committed.
    pub fn settle(&self, interval: Duration) {
        wait_until("the loop takes the delivery reports", || {
            self.inner().acks.is_empty()
        });
        let mark = Instant::now() + interval;
        wait_until("the loop runs a commit cycle", || {
            self.inner()
                .take_calls
                .iter()
                .filter(|t| **t > mark)
                .count()
                >= 2
        });
    }

    /// Number of times the loop took delivery reports (once per loop cycle, at least).
    pub fn take_calls(&self) -> usize {
        self.inner().take_calls.len()
    }
}

impl RecordSender for FakeProducer {
    fn send(&self, record: &OutRecord<'_>, seq: u64) -> Result<(), SendError> {
        let sent = Sent {
            seq,
            topic: record.topic.to_owned(),
            partition: record.partition,
            key: record.key.map(<[u8]>::to_vec),
            value: record.value.map(<[u8]>::to_vec),
            headers: record.headers.to_vec(),
        };
        let mut inner = self.inner();
        if let Some(e) = inner.refuse.as_ref().and_then(|r| r(&sent)) {
            return Err(SendError::Refused(e));
        }
        if inner.in_flight.len() >= inner.capacity {
            inner.queue_full += 1;
            return Err(SendError::QueueFull);
        }
        if let Some(txn) = inner.txn.as_mut() {
            if !txn.open {
                return Err(SendError::Refused("no open transaction".into()));
            }
            txn.records.push(sent.clone());
        }
        inner.sent.push(sent.clone());
        inner.in_flight.push(sent);
        if inner.auto_ack {
            Self::deliver(&mut inner, seq, None);
        }
        Ok(())
    }

    fn take_acks(&self, into: &mut Vec<Ack>) {
        let mut inner = self.inner();
        inner.take_calls.push(Instant::now());
        into.append(&mut inner.acks);
    }

    fn wait_for_delivery(&self, timeout: Duration) {
        let (m, cv) = &*self.0;
        let guard = lock(m);
        if guard.acks.is_empty() {
            let _ = cv.wait_timeout(guard, timeout);
        }
    }

    fn begin_transaction(&self) -> Result<(), TxnError> {
        let mut inner = self.inner();
        let txn = inner
            .txn
            .as_mut()
            .ok_or_else(|| TxnError::new(TxnErrorKind::Fatal, "not transactional"))?;
        if txn.open {
            return Err(TxnError::new(TxnErrorKind::Abortable, "already open"));
        }
        txn.open = true;
        txn.begins += 1;
        Ok(())
    }

    fn send_internal(&self, record: &OutRecord<'_>) -> Result<(), SendError> {
        let mut inner = self.inner();
        let txn = inner
            .txn
            .as_mut()
            .ok_or_else(|| SendError::Refused("not transactional".into()))?;
        if !txn.open {
            return Err(SendError::Refused("no open transaction".into()));
        }
        txn.offsets.push(Sent {
            seq: u64::MAX,
            topic: record.topic.to_owned(),
            partition: record.partition,
            key: record.key.map(<[u8]>::to_vec),
            value: record.value.map(<[u8]>::to_vec),
            headers: Vec::new(),
        });
        Ok(())
    }

    fn commit_transaction(&self, _timeout: Duration) -> Result<(), TxnError> {
        let mut inner = self.inner();
        let txn = inner
            .txn
            .as_mut()
            .ok_or_else(|| TxnError::new(TxnErrorKind::Fatal, "not transactional"))?;
        if !txn.open {
            return Err(TxnError::new(
                TxnErrorKind::Abortable,
                "no open transaction",
            ));
        }
        if let Some(e) = txn.fail_commit.take() {
            return Err(e);
        }
        let text = |b: &Option<Vec<u8>>| {
            b.as_deref()
                .map(|b| String::from_utf8_lossy(b).into_owned())
        };
        let committed = Committed {
            records: txn.records.drain(..).map(|s| s.text()).collect(),
            offsets: txn
                .offsets
                .drain(..)
                .map(|s| (text(&s.key).unwrap_or_default(), text(&s.value)))
                .collect(),
        };
        txn.committed.push(committed);
        txn.open = false;
        Ok(())
    }

    fn abort_transaction(&self, _timeout: Duration) -> Result<(), TxnError> {
        let mut inner = self.inner();
        let txn = inner
            .txn
            .as_mut()
            .ok_or_else(|| TxnError::new(TxnErrorKind::Fatal, "not transactional"))?;
        txn.records.clear();
        txn.offsets.clear();
        txn.open = false;
        txn.aborts += 1;
        Ok(())
    }
}

// ---- consumer ---------------------------------------------------------------------------

/// A consumed record.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeMessage {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub timestamp: Option<i64>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl KafkaMessage for FakeMessage {
    fn topic(&self) -> &str {
        &self.topic
    }

    fn partition(&self) -> i32 {
        self.partition
    }

    fn offset(&self) -> i64 {
        self.offset
    }

    fn key(&self) -> Option<&[u8]> {
        self.key.as_deref()
    }

    fn value(&self) -> Option<&[u8]> {
        self.value.as_deref()
    }

    fn timestamp(&self) -> (Option<i64>, TimestampType) {
        match self.timestamp {
            Some(t) => (Some(t), TimestampType::CreateTime),
            None => (None, TimestampType::NoTimestampType),
        }
    }

    fn header_count(&self) -> usize {
        self.headers.len()
    }

    fn header(&self, i: usize) -> Option<(&str, Option<&[u8]>)> {
        self.headers.get(i).map(|(k, v)| (k.as_str(), v.as_deref()))
    }
}

enum Rebalance {
    Revoke(Vec<TopicPartition>),
    Assign(Vec<TopicPartition>),
}

#[derive(Default)]
struct ConsumerInner {
    logs: BTreeMap<TopicPartition, Vec<FakeMessage>>,
    positions: BTreeMap<TopicPartition, i64>,
    assignment: Vec<TopicPartition>,
    paused: BTreeSet<TopicPartition>,
    committed: SinkOffsets,
    rebalances: VecDeque<Rebalance>,
    listener: Option<Arc<dyn RebalanceListener>>,
    seek_failures: usize,
}

/// A consumer over in-memory partition logs. Rebalances the test asks for run inside the
/// next `poll`, calling the listener as rdkafka does (revoke before the partitions go, assign
/// after they came). A newly assigned partition is read from its committed offset.
#[derive(Clone)]
pub struct FakeConsumer {
    shared: Arc<(Mutex<ConsumerInner>, Condvar)>,
    journal: Journal,
}

pub fn tp(topic: &str, partition: i32) -> TopicPartition {
    TopicPartition::new(topic, partition)
}

impl FakeConsumer {
    pub fn new(journal: &Journal) -> FakeConsumer {
        FakeConsumer {
            shared: Arc::new((Mutex::new(ConsumerInner::default()), Condvar::new())),
            journal: journal.clone(),
        }
    }

    fn inner(&self) -> MutexGuard<'_, ConsumerInner> {
        lock(&self.shared.0)
    }

    fn changed(&self) {
        self.shared.1.notify_all();
    }

    pub fn set_listener(&self, listener: Arc<dyn RebalanceListener>) {
        self.inner().listener = Some(listener);
    }

    /// Appends a record with a UTF-8 value to a partition's log; returns its offset.
    pub fn push(&self, partition: &TopicPartition, value: &[u8]) -> i64 {
        let mut inner = self.inner();
        let log = inner.logs.entry(partition.clone()).or_default();
        let offset = log.len() as i64;
        log.push(FakeMessage {
            topic: partition.topic.clone(),
            partition: partition.partition,
            offset,
            key: None,
            value: Some(value.to_vec()),
            timestamp: Some(1_700_000_000_000 + offset),
            headers: vec![("h".to_owned(), Some(b"v".to_vec()))],
        });
        drop(inner);
        self.changed();
        offset
    }

    pub fn push_all(&self, partition: &TopicPartition, values: &[&str]) {
        for v in values {
            self.push(partition, v.as_bytes());
        }
    }

    /// The group assigns `partitions` (in the next `poll`).
    pub fn assign(&self, partitions: &[TopicPartition]) {
        self.inner()
            .rebalances
            .push_back(Rebalance::Assign(partitions.to_vec()));
        self.changed();
    }

    /// The group takes `partitions` away (in the next `poll`).
    pub fn revoke(&self, partitions: &[TopicPartition]) {
        self.inner()
            .rebalances
            .push_back(Rebalance::Revoke(partitions.to_vec()));
        self.changed();
    }

    pub fn committed(&self) -> SinkOffsets {
        self.inner().committed.clone()
    }

    pub fn committed_at(&self, partition: &TopicPartition) -> Option<i64> {
        self.inner().committed.get(partition).copied()
    }

    pub fn paused(&self) -> BTreeSet<TopicPartition> {
        self.inner().paused.clone()
    }

    /// The next `n` seeks fail (as rdkafka's do until the partition's fetcher has started).
    pub fn fail_seeks(&self, n: usize) {
        self.inner().seek_failures = n;
    }

    fn run_rebalance(&self, rebalance: Rebalance, listener: Option<Arc<dyn RebalanceListener>>) {
        match rebalance {
            Rebalance::Revoke(partitions) => {
                if let Some(l) = &listener {
                    l.revoked(self, partitions.clone());
                }
                let mut inner = self.inner();
                inner.assignment.retain(|p| !partitions.contains(p));
                for p in &partitions {
                    inner.paused.remove(p);
                    inner.positions.remove(p);
                }
            }
            Rebalance::Assign(partitions) => {
                {
                    let mut inner = self.inner();
                    for p in &partitions {
                        if !inner.assignment.contains(p) {
                            inner.assignment.push(p.clone());
                        }
                        let start = inner.committed.get(p).copied().unwrap_or(0);
                        inner.positions.insert(p.clone(), start);
                    }
                }
                if let Some(l) = &listener {
                    l.assigned(self, partitions);
                }
            }
        }
    }
}

impl ConsumerOps for FakeConsumer {
    fn commit(&self, offsets: &SinkOffsets) -> Result<(), String> {
        self.journal.push(Event::Commit(offsets.clone()));
        self.inner()
            .committed
            .extend(offsets.iter().map(|(p, o)| (p.clone(), *o)));
        Ok(())
    }

    fn pause(&self, partitions: &[TopicPartition]) -> Result<(), String> {
        self.journal.push(Event::Pause(partitions.to_vec()));
        self.inner().paused.extend(partitions.iter().cloned());
        Ok(())
    }

    fn resume(&self, partitions: &[TopicPartition]) -> Result<(), String> {
        self.journal.push(Event::Resume(partitions.to_vec()));
        let mut inner = self.inner();
        for p in partitions {
            inner.paused.remove(p);
        }
        drop(inner);
        self.changed();
        Ok(())
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        self.inner().assignment.clone()
    }

    fn seek(&self, partition: &TopicPartition, offset: i64) -> Result<(), String> {
        let mut inner = self.inner();
        if inner.seek_failures > 0 {
            inner.seek_failures -= 1;
            return Err("Local: Erroneous state".to_owned());
        }
        if !inner.assignment.contains(partition) {
            return Err("Local: Unknown partition".to_owned());
        }
        inner.positions.insert(partition.clone(), offset);
        drop(inner);
        self.journal.push(Event::Seek(partition.clone(), offset));
        Ok(())
    }
}

impl SinkConsumer for FakeConsumer {
    type Message<'a>
        = FakeMessage
    where
        Self: 'a;

    fn poll(&self, timeout: Duration) -> Option<Result<FakeMessage, String>> {
        let deadline = Instant::now() + timeout;
        loop {
            let (rebalance, listener) = {
                let mut inner = self.inner();
                (inner.rebalances.pop_front(), inner.listener.clone())
            };
            if let Some(rebalance) = rebalance {
                self.run_rebalance(rebalance, listener);
                continue;
            }
            let mut inner = self.inner();
            let assignment = inner.assignment.clone();
            for p in assignment {
                if inner.paused.contains(&p) {
                    continue;
                }
                let position = inner.positions.get(&p).copied().unwrap_or(0);
                let next = inner
                    .logs
                    .get(&p)
                    .and_then(|log| log.get(position as usize))
                    .cloned();
                if let Some(message) = next {
                    inner.positions.insert(p, position + 1);
                    return Some(Ok(message));
                }
            }
            let now = Instant::now();
            if now >= deadline {
                return None;
            }
            if inner.rebalances.is_empty() {
                let _ = self.shared.1.wait_timeout(inner, deadline - now);
            }
        }
    }
}

// ---- offset store -----------------------------------------------------------------------

#[derive(Default)]
struct OffsetsInner {
    committed: BTreeMap<String, Vec<(OffsetMap, OffsetMap)>>,
    puts: Vec<Vec<(OffsetMap, Option<OffsetMap>)>>,
    /// How many of the next reads fail.
    failing_reads: u32,
    reads: u32,
}

/// Source offsets in memory, with the history of writes.
#[derive(Default)]
pub struct MemoryOffsets(Mutex<OffsetsInner>);

impl MemoryOffsets {
    /// The committed offset of a source partition of [`CONNECTOR`].
    pub fn get(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        lock(&self.0)
            .committed
            .get(CONNECTOR)
            .and_then(|v| v.iter().find(|(p, _)| p == partition))
            .map(|(_, o)| o.clone())
    }

    /// The committed `position` of source partition `file`.
    pub fn position_of(&self, file: &str) -> Option<i64> {
        self.get(&source_partition(file))
            .and_then(|o| o.get("position").and_then(serde_json::Value::as_i64))
    }

    /// Every position written for source partition `file`, in order.
    pub fn history_of(&self, file: &str) -> Vec<i64> {
        let partition = source_partition(file);
        lock(&self.0)
            .puts
            .iter()
            .flatten()
            .filter(|(p, _)| *p == *partition)
            .filter_map(|(_, o)| o.as_ref()?.get("position")?.as_i64())
            .collect()
    }

    /// Makes the next `n` reads fail, as an offsets topic that cannot be read to its end.
    pub fn fail_reads(&self, n: u32) {
        lock(&self.0).failing_reads = n;
    }

    /// How many reads were asked for.
    pub fn reads(&self) -> u32 {
        lock(&self.0).reads
    }

    pub fn preload(&self, file: &str, pos: i64) {
        lock(&self.0)
            .committed
            .entry(CONNECTOR.to_owned())
            .or_default()
            .push(((*source_partition(file)).clone(), position(pos)));
    }
}

impl OffsetStore for MemoryOffsets {
    fn offsets(&self, connector: &str) -> Result<Vec<(OffsetMap, OffsetMap)>, StorageError> {
        let mut inner = lock(&self.0);
        inner.reads += 1;
        if inner.failing_reads > 0 {
            inner.failing_reads -= 1;
            return Err(StorageError::Io {
                path: "offsets".into(),
                message: "cannot read to the end: timed out".into(),
            });
        }
        Ok(inner.committed.get(connector).cloned().unwrap_or_default())
    }

    fn put(
        &self,
        connector: &str,
        entries: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<(), StorageError> {
        let mut inner = lock(&self.0);
        inner.puts.push(entries.to_vec());
        let committed = inner.committed.entry(connector.to_owned()).or_default();
        for (partition, offset) in entries {
            committed.retain(|(p, _)| p != partition);
            if let Some(o) = offset {
                committed.push((partition.clone(), o.clone()));
            }
        }
        Ok(())
    }
}

/// An offsets topic as an exactly-once task writes it: keys `["conn",{partition}]`, values
/// the offset JSON, partition 0; remembers what committed transactions wrote.
#[derive(Default)]
pub struct TopicOffsets {
    committed: Mutex<Vec<Vec<(OffsetMap, OffsetMap)>>>,
}

impl TopicOffsets {
    /// The entries of each committed transaction, in order.
    pub fn committed(&self) -> Vec<Vec<(OffsetMap, OffsetMap)>> {
        lock(&self.committed).clone()
    }
}

impl OffsetWriter for TopicOffsets {
    fn record(&self, connector: &str, partition: &OffsetMap, offset: &OffsetMap) -> OffsetRecord {
        OffsetRecord {
            topic: "offsets".into(),
            partition: 0,
            key: serde_json::to_vec(&json!([connector, partition])).unwrap_or_default(),
            value: serde_json::to_vec(offset).ok(),
        }
    }

    fn committed(&self, _connector: &str, entries: &[(OffsetMap, OffsetMap)]) {
        lock(&self.committed).push(entries.to_vec());
    }
}

// ---- harness ----------------------------------------------------------------------------

/// One task's surroundings: worker config, status store, offset store, control.
pub struct Harness {
    pub worker: WorkerConfig,
    pub ctx: Arc<TaskContext>,
    pub control: Arc<TaskControl>,
    pub status: Arc<StatusStore>,
    pub offsets: Arc<MemoryOffsets>,
    pub journal: Journal,
}

/// A loop running on its own thread. Dropping it asks the loop to stop.
pub struct Running {
    control: Arc<TaskControl>,
    result: mpsc::Receiver<Result<(), String>>,
    thread: Option<JoinHandle<()>>,
}

impl Running {
    /// Asks the loop to stop and returns its outcome.
    pub fn stop(self) -> Result<(), String> {
        self.control.request_stop();
        self.join()
    }

    /// Waits for the loop to end on its own (e.g. a failure) and returns its outcome.
    pub fn join(mut self) -> Result<(), String> {
        let result = self
            .result
            .recv_timeout(PATIENCE)
            .expect("the task loop did not end");
        if let Some(t) = self.thread.take() {
            t.join().expect("the task thread panicked");
        }
        result
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.control.request_stop();
    }
}

impl Harness {
    /// Worker config with StringConverter keys and values and `offset.flush.interval.ms`.
    pub fn new(flush_interval_ms: u64) -> Harness {
        Harness::with_flush(flush_interval_ms, 2_000)
    }

    /// Also sets `offset.flush.timeout.ms` (how long a source task's shutdown waits for
    /// deliveries).
    pub fn with_flush(flush_interval_ms: u64, flush_timeout_ms: u64) -> Harness {
        let interval = flush_interval_ms.to_string();
        let timeout = flush_timeout_ms.to_string();
        let worker = WorkerConfig::from_props(props(&[
            ("bootstrap.servers", "localhost:9092"),
            (
                "key.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            (
                "value.converter",
                "org.apache.kafka.connect.storage.StringConverter",
            ),
            ("listeners", "http://127.0.0.1:18083"),
            ("offset.flush.interval.ms", &interval),
            ("offset.flush.timeout.ms", &timeout),
        ]))
        .expect("worker config");
        let status = Arc::new(StatusStore::new("127.0.0.1:18083"));
        let offsets = Arc::new(MemoryOffsets::default());
        let ctx = Arc::new(TaskContext {
            connector: CONNECTOR.to_owned(),
            task: 0,
            status: status.clone(),
            offsets: offsets.clone(),
            flush_interval: Duration::from_millis(worker.offset_flush_interval_ms),
            flush_timeout: Duration::from_millis(worker.offset_flush_timeout_ms),
            metrics: crate::metrics::Metrics::new(Duration::from_secs(30), 2)
                .register_source_task(CONNECTOR, 0, false),
            track_topics: worker.topic_tracking_enable,
        });
        Harness {
            worker,
            ctx,
            control: Arc::new(TaskControl::default()),
            status,
            offsets,
            journal: Journal::default(),
        }
    }

    pub fn task_status(&self) -> Option<TaskState> {
        self.status.task(CONNECTOR, 0)
    }

    pub fn state(&self) -> Option<State> {
        self.task_status().map(|s| s.state)
    }

    pub fn wait_for_state(&self, state: State) {
        wait_until(&format!("the task is {state:?}"), || {
            self.state() == Some(state)
        });
    }

    /// Runs `body` on a new thread and, like `TaskHandle::spawn`, records a failure's trace as
    /// the task's FAILED status.
    fn spawn(
        &self,
        body: impl FnOnce(&TaskContext, &TaskControl) -> Result<(), String> + Send + 'static,
    ) -> Running {
        let (tx, result) = mpsc::channel();
        let ctx = self.ctx.clone();
        let control = self.control.clone();
        let thread = std::thread::spawn(move || {
            let outcome = body(&ctx, &control);
            if let Err(trace) = &outcome {
                ctx.status
                    .put_task(CONNECTOR, 0, State::Failed, Some(trace.clone()));
            }
            let _ = tx.send(outcome);
        });
        Running {
            control: self.control.clone(),
            result,
            thread: Some(thread),
        }
    }

    /// Starts a source loop with `connector` props.
    pub fn spawn_source(
        &self,
        connector: Props,
        task: FakeTask,
        producer: FakeProducer,
    ) -> Running {
        let worker = self.worker.clone();
        self.spawn(move |ctx, control| {
            let pipeline = pipeline(&worker, &connector)?;
            let task_config = props(&[("task.id", "0")]);
            SourceLoop::start(ctx, control, task, producer, pipeline, &task_config)?.run_to_end()
        })
    }

    /// Starts an exactly-once source loop with `connector` props, its transactions ending at
    /// `boundary`, its offsets written as `offsets` says.
    pub fn spawn_exactly_once_source<P: RecordSender + Send + 'static>(
        &self,
        connector: Props,
        task: FakeTask,
        producer: P,
        boundary: Boundary,
        offsets: Arc<dyn OffsetWriter>,
    ) -> Running {
        let worker = self.worker.clone();
        self.spawn(move |ctx, control| {
            let pipeline = pipeline(&worker, &connector)?;
            let task_config = props(&[("task.id", "0")]);
            SourceLoop::start(ctx, control, task, producer, pipeline, &task_config)?
                .exactly_once(Some(ExactlyOnceRun { boundary, offsets }))
                .run_to_end()
        })
    }

    /// Starts a sink loop with `connector` props; the consumer's rebalance listener is the
    /// loop's state.
    pub fn spawn_sink(&self, connector: Props, task: FakeTask, consumer: FakeConsumer) -> Running {
        let worker = self.worker.clone();
        self.spawn(move |ctx, control| {
            let pipeline = pipeline(&worker, &connector)?;
            let task_config = props(&[("task.id", "0")]);
            let state = SinkState::start(task, &task_config, None)?;
            consumer.set_listener(state.clone());
            SinkLoop::new(ctx, control, consumer, state, pipeline).run_to_end()
        })
    }
}
