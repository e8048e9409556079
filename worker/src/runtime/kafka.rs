//! The task loops' view of Kafka: a producer ([`RecordSender`]) for source tasks and a consumer
//! ([`SinkConsumer`]) for sink tasks, as small traits, with their rdkafka implementations
//! here. The loops are written against the traits only, so their behaviour is unit-tested with
//! in-process fakes; the end-to-end tests run them on a real broker.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header as KHeader, Headers as _, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};
use tributary_connector_api::{RecordMetadata, SinkOffsets, TimestampType, TopicPartition};

use crate::storage::transactions::{self, TxnError, TxnErrorKind};

/// A record ready to produce: converted bytes, borrowed from the loop for one `send`.
#[derive(Debug, Clone, Copy)]
pub struct OutRecord<'a> {
    pub topic: &'a str,
    pub partition: Option<i32>,
    pub timestamp: Option<i64>,
    pub key: Option<&'a [u8]>,
    pub value: Option<&'a [u8]>,
    pub headers: &'a [(String, Option<Vec<u8>>)],
    /// Whether the delivery report must say where the record landed (for the task's
    /// `commitRecord`); otherwise it carries no metadata, which saves a topic copy per record.
    pub wants_metadata: bool,
}

/// Why a record was not taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// The producer's queue is full: wait for deliveries and send again.
    QueueFull,
    /// The producer refused the record.
    Refused(String),
}

/// One delivery report: the sequence number given to `send`, and where the record landed (when
/// asked for).
pub type Ack = (u64, Result<Option<RecordMetadata>, String>);

/// The bit of the delivery opaque that asks for the record's metadata.
const WANTS_METADATA: usize = 1 << (usize::BITS - 1);
/// The bit of the delivery opaque that marks a record the worker adds to a transaction (an
/// offset record), not one of the task's: its delivery report does not reach the loop.
const INTERNAL: usize = 1 << (usize::BITS - 2);

fn not_transactional() -> TxnError {
    TxnError::new(TxnErrorKind::Fatal, "the producer is not transactional")
}

/// A source task's producer.
pub trait RecordSender {
    /// Hands one record to the producer; `seq` comes back with its delivery report.
    fn send(&self, record: &OutRecord<'_>, seq: u64) -> Result<(), SendError>;
    /// Moves the delivery reports received so far into `into`.
    fn take_acks(&self, into: &mut Vec<Ack>);
    /// Waits until a delivery report is available, or `timeout` passes.
    fn wait_for_delivery(&self, timeout: Duration);

    // Exactly-once source tasks (KIP-618) use a transactional producer; the others refuse.

    /// Opens a transaction.
    fn begin_transaction(&self) -> Result<(), TxnError> {
        Err(not_transactional())
    }
    /// Adds a record of the worker's own (an offset record) to the open transaction; its
    /// delivery is not reported through [`RecordSender::take_acks`] (a failure fails the commit).
    fn send_internal(&self, record: &OutRecord<'_>) -> Result<(), SendError> {
        let _ = record;
        Err(SendError::Refused(not_transactional().message))
    }
    /// Commits the open transaction: every record sent since it began, or none.
    fn commit_transaction(&self, timeout: Duration) -> Result<(), TxnError> {
        let _ = timeout;
        Err(not_transactional())
    }
    /// Aborts the open transaction.
    fn abort_transaction(&self, timeout: Duration) -> Result<(), TxnError> {
        let _ = timeout;
        Err(not_transactional())
    }
    /// The producer's fatal error, once it has one (a fenced transactional producer): the
    /// delivery reports of its queued records then only say they were purged.
    fn fatal_error(&self) -> Option<String> {
        None
    }
}

/// A consumed record, borrowed from the consumer.
pub trait KafkaMessage {
    fn topic(&self) -> &str;
    fn partition(&self) -> i32;
    fn offset(&self) -> i64;
    fn key(&self) -> Option<&[u8]>;
    fn value(&self) -> Option<&[u8]>;
    fn timestamp(&self) -> (Option<i64>, TimestampType);
    fn header_count(&self) -> usize;
    /// The `i`-th header as (key, value).
    fn header(&self, i: usize) -> Option<(&str, Option<&[u8]>)>;
}

/// What a sink task does with its consumer, from the loop or from a rebalance callback.
pub trait ConsumerOps {
    /// Commits `offsets` (the next offset to read per partition) synchronously.
    fn commit(&self, offsets: &SinkOffsets) -> Result<(), String>;
    fn pause(&self, partitions: &[TopicPartition]) -> Result<(), String>;
    fn resume(&self, partitions: &[TopicPartition]) -> Result<(), String>;
    fn assignment(&self) -> Vec<TopicPartition>;
    /// Moves a partition's position; fails until the partition's fetcher has started.
    fn seek(&self, partition: &TopicPartition, offset: i64) -> Result<(), String>;
}

/// Called from inside [`SinkConsumer::poll`] when the group moves partitions.
pub trait RebalanceListener: Send + Sync {
    /// Before `partitions` are taken away: commit what was consumed from them.
    fn revoked(&self, consumer: &dyn ConsumerOps, partitions: Vec<TopicPartition>);
    /// After `partitions` were given to this consumer.
    fn assigned(&self, consumer: &dyn ConsumerOps, partitions: Vec<TopicPartition>);
}

/// A sink task's consumer, subscribed to the connector's topics.
pub trait SinkConsumer: ConsumerOps {
    type Message<'a>: KafkaMessage
    where
        Self: 'a;
    /// The next record, waiting up to `timeout`; rebalance callbacks run inside.
    fn poll(&self, timeout: Duration) -> Option<Result<Self::Message<'_>, String>>;
}

// ---- rdkafka producer -------------------------------------------------------------------

/// Collects delivery reports. They arrive on rdkafka's polling thread, so acks are taken in
/// as soon as the broker answers, even while the task thread is inside a plugin call.
#[derive(Default)]
pub struct Deliveries {
    acks: Mutex<Vec<Ack>>,
    /// Signalled on a delivery report while a sender waits for queue space.
    delivered: Condvar,
    /// Set (under the `acks` lock) while the task thread waits on `delivered`.
    waiting: AtomicBool,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, opaque: usize) {
        if opaque & INTERNAL != 0 {
            if let Err((e, _)) = result {
                // The transaction's commit fails with it; this says which record.
                tracing::warn!(error = %e, "an offset record of the transaction was not delivered");
            }
            return;
        }
        let outcome = match result {
            Ok(m) if opaque & WANTS_METADATA != 0 => Ok(Some(RecordMetadata {
                topic: Message::topic(m).to_owned(),
                partition: Message::partition(m),
                offset: Message::offset(m),
            })),
            Ok(_) => Ok(None),
            Err((e, _)) => Err(e.to_string()),
        };
        let seq = (opaque & !(WANTS_METADATA | INTERNAL)) as u64;
        self.acks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push((seq, outcome));
        if self.waiting.load(Ordering::Acquire) {
            self.delivered.notify_one();
        }
    }
}

/// A source task's rdkafka producer. A ThreadedProducer: its thread serves delivery reports
/// while the task thread works, and also while a transaction commits (see
/// [`transactions::commit_transaction`]).
pub struct KafkaSender {
    producer: ThreadedProducer<Deliveries>,
    transactional: bool,
}

impl KafkaSender {
    pub fn create(config: &ClientConfig) -> Result<KafkaSender, KafkaError> {
        Ok(KafkaSender {
            producer: config.create_with_context(Deliveries::default())?,
            transactional: false,
        })
    }

    /// A transactional producer (`config` carries the `transactional.id`), its transactions
    /// initialised: this fences any older producer with the same id and aborts its open
    /// transaction. Blocks up to `timeout`.
    pub fn create_transactional(
        config: &ClientConfig,
        timeout: Duration,
    ) -> Result<KafkaSender, TxnError> {
        let producer: ThreadedProducer<Deliveries> = config
            .create_with_context(Deliveries::default())
            .map_err(|e| TxnError::new(TxnErrorKind::Fatal, e.to_string()))?;
        producer
            .init_transactions(timeout)
            .map_err(|e| TxnError::from_kafka(&e))?;
        Ok(KafkaSender {
            producer,
            transactional: true,
        })
    }

    fn produce(&self, r: &OutRecord<'_>, opaque: usize) -> Result<(), SendError> {
        let mut out = BaseRecord::<[u8], [u8], usize>::with_opaque_to(r.topic, opaque);
        out.key = r.key;
        out.payload = r.value;
        out.partition = r.partition;
        out.timestamp = r.timestamp;
        if !r.headers.is_empty() {
            let mut h = OwnedHeaders::new_with_capacity(r.headers.len());
            for (key, value) in r.headers {
                h = h.insert(KHeader {
                    key,
                    value: value.as_deref(),
                });
            }
            out.headers = Some(h);
        }
        match self.producer.send(out) {
            Ok(()) => Ok(()),
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), _)) => {
                Err(SendError::QueueFull)
            }
            Err((e, _)) => Err(SendError::Refused(e.to_string())),
        }
    }

    fn check_transactional(&self) -> Result<(), TxnError> {
        if self.transactional {
            Ok(())
        } else {
            Err(not_transactional())
        }
    }
}

impl RecordSender for KafkaSender {
    fn send(&self, r: &OutRecord<'_>, seq: u64) -> Result<(), SendError> {
        let mut opaque = seq as usize & !(WANTS_METADATA | INTERNAL);
        if r.wants_metadata {
            opaque |= WANTS_METADATA;
        }
        self.produce(r, opaque)
    }

    fn begin_transaction(&self) -> Result<(), TxnError> {
        self.check_transactional()?;
        self.producer
            .begin_transaction()
            .map_err(|e| TxnError::from_kafka(&e))
    }

    fn send_internal(&self, record: &OutRecord<'_>) -> Result<(), SendError> {
        self.check_transactional()
            .map_err(|e| SendError::Refused(e.message))?;
        self.produce(record, INTERNAL)
    }

    fn commit_transaction(&self, timeout: Duration) -> Result<(), TxnError> {
        self.check_transactional()?;
        transactions::commit_transaction(self.producer.client(), timeout)
    }

    fn fatal_error(&self) -> Option<String> {
        use rdkafka::producer::Producer as _;
        self.producer
            .client()
            .fatal_error()
            .map(|(code, reason)| format!("{reason} ({code:?})"))
    }

    fn abort_transaction(&self, timeout: Duration) -> Result<(), TxnError> {
        self.check_transactional()?;
        self.producer
            .abort_transaction(timeout)
            .map_err(|e| TxnError::from_kafka(&e))
    }

    fn take_acks(&self, into: &mut Vec<Ack>) {
        let mut acks = self
            .producer
            .context()
            .acks
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        into.append(&mut acks);
    }

    fn wait_for_delivery(&self, timeout: Duration) {
        let context = self.producer.context();
        let acks = context.acks.lock().unwrap_or_else(|p| p.into_inner());
        if acks.is_empty() {
            // Set under the lock: a report pushed after this point sees the flag and wakes us.
            context.waiting.store(true, Ordering::Release);
            let guard = context.delivered.wait_timeout(acks, timeout);
            context.waiting.store(false, Ordering::Release);
            drop(guard);
        }
    }
}

// ---- rdkafka consumer -------------------------------------------------------------------

impl KafkaMessage for BorrowedMessage<'_> {
    fn topic(&self) -> &str {
        Message::topic(self)
    }

    fn partition(&self) -> i32 {
        Message::partition(self)
    }

    fn offset(&self) -> i64 {
        Message::offset(self)
    }

    fn key(&self) -> Option<&[u8]> {
        Message::key(self)
    }

    fn value(&self) -> Option<&[u8]> {
        Message::payload(self)
    }

    fn timestamp(&self) -> (Option<i64>, TimestampType) {
        match Message::timestamp(self) {
            rdkafka::Timestamp::NotAvailable => (None, TimestampType::NoTimestampType),
            rdkafka::Timestamp::CreateTime(t) => (Some(t), TimestampType::CreateTime),
            rdkafka::Timestamp::LogAppendTime(t) => (Some(t), TimestampType::LogAppendTime),
        }
    }

    fn header_count(&self) -> usize {
        Message::headers(self).map_or(0, |h| h.count())
    }

    fn header(&self, i: usize) -> Option<(&str, Option<&[u8]>)> {
        let h = Message::headers(self)?.try_get(i)?;
        Some((h.key, h.value))
    }
}

/// Routes rdkafka's rebalance callbacks to the loop's listener.
pub struct ListenerContext {
    listener: Arc<dyn RebalanceListener>,
}

impl ClientContext for ListenerContext {}

fn partitions_of(list: &TopicPartitionList) -> Vec<TopicPartition> {
    list.elements()
        .iter()
        .map(|e| TopicPartition::new(e.topic(), e.partition()))
        .collect()
}

fn list_of(partitions: &[TopicPartition]) -> TopicPartitionList {
    let mut list = TopicPartitionList::with_capacity(partitions.len());
    for tp in partitions {
        list.add_partition(&tp.topic, tp.partition);
    }
    list
}

/// The consumer operations on rdkafka's consumer, for the loop and inside callbacks.
struct Ops<'a, C: ConsumerContext + 'static>(&'a BaseConsumer<C>);

impl<C: ConsumerContext + 'static> ConsumerOps for Ops<'_, C> {
    fn commit(&self, offsets: &SinkOffsets) -> Result<(), String> {
        let mut list = TopicPartitionList::with_capacity(offsets.len());
        for (tp, offset) in offsets {
            list.add_partition_offset(&tp.topic, tp.partition, Offset::Offset(*offset))
                .map_err(|e| e.to_string())?;
        }
        self.0
            .commit(&list, CommitMode::Sync)
            .map_err(|e| e.to_string())
    }

    fn pause(&self, partitions: &[TopicPartition]) -> Result<(), String> {
        self.0
            .pause(&list_of(partitions))
            .map_err(|e| e.to_string())
    }

    fn resume(&self, partitions: &[TopicPartition]) -> Result<(), String> {
        self.0
            .resume(&list_of(partitions))
            .map_err(|e| e.to_string())
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        self.0
            .assignment()
            .map(|l| partitions_of(&l))
            .unwrap_or_default()
    }

    fn seek(&self, tp: &TopicPartition, offset: i64) -> Result<(), String> {
        self.0
            .seek(
                &tp.topic,
                tp.partition,
                Offset::Offset(offset),
                Duration::from_secs(5),
            )
            .map_err(|e| e.to_string())
    }
}

impl ConsumerContext for ListenerContext {
    fn pre_rebalance(&self, consumer: &BaseConsumer<ListenerContext>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(list) = rebalance {
            let revoked = partitions_of(list);
            if !revoked.is_empty() {
                self.listener.revoked(&Ops(consumer), revoked);
            }
        }
    }

    fn post_rebalance(&self, consumer: &BaseConsumer<ListenerContext>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(list) = rebalance {
            let assigned = partitions_of(list);
            if !assigned.is_empty() {
                self.listener.assigned(&Ops(consumer), assigned);
            }
        }
    }
}

/// A sink task's rdkafka consumer.
pub struct KafkaSinkConsumer {
    consumer: BaseConsumer<ListenerContext>,
}

impl KafkaSinkConsumer {
    /// Creates the consumer and subscribes it to `topics`, or to the `regex` (anchored at both
    /// ends: Kafka matches the whole topic name while librdkafka searches).
    pub fn subscribe(
        config: &ClientConfig,
        listener: Arc<dyn RebalanceListener>,
        topics: &[String],
        regex: Option<&str>,
    ) -> Result<KafkaSinkConsumer, String> {
        let consumer: BaseConsumer<ListenerContext> = config
            .create_with_context(ListenerContext { listener })
            .map_err(|e| format!("Failed to create consumer: {e}"))?;
        let subscribed = match regex {
            Some(regex) => consumer.subscribe(&[&subscription_pattern(regex)]),
            None => {
                let topics: Vec<&str> = topics.iter().map(String::as_str).collect();
                consumer.subscribe(&topics)
            }
        };
        subscribed.map_err(|e| format!("Failed to subscribe: {e}"))?;
        Ok(KafkaSinkConsumer { consumer })
    }
}

/// The librdkafka subscription for `topics.regex`: anchored at both ends, because Kafka matches
/// the whole topic name (`Matcher.matches`) while librdkafka searches; otherwise `orders` would
/// also subscribe to `orders-dlq`.
pub fn subscription_pattern(regex: &str) -> String {
    let inner = regex.strip_prefix('^').unwrap_or(regex);
    let inner = inner.strip_suffix('$').unwrap_or(inner);
    format!("^({inner})$")
}

impl ConsumerOps for KafkaSinkConsumer {
    fn commit(&self, offsets: &SinkOffsets) -> Result<(), String> {
        Ops(&self.consumer).commit(offsets)
    }

    fn pause(&self, partitions: &[TopicPartition]) -> Result<(), String> {
        Ops(&self.consumer).pause(partitions)
    }

    fn resume(&self, partitions: &[TopicPartition]) -> Result<(), String> {
        Ops(&self.consumer).resume(partitions)
    }

    fn assignment(&self) -> Vec<TopicPartition> {
        Ops(&self.consumer).assignment()
    }

    fn seek(&self, tp: &TopicPartition, offset: i64) -> Result<(), String> {
        Ops(&self.consumer).seek(tp, offset)
    }
}

impl SinkConsumer for KafkaSinkConsumer {
    type Message<'a> = BorrowedMessage<'a>;

    fn poll(&self, timeout: Duration) -> Option<Result<BorrowedMessage<'_>, String>> {
        self.consumer
            .poll(timeout)
            .map(|r| r.map_err(|e| e.to_string()))
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
