//! The Kafka-backed log behind distributed mode's config, offset and status stores (Java's
//! `KafkaBasedLog`): a producer for one compacted topic plus an assign-mode reader over every
//! partition of it from the beginning, with [`KafkaLog::read_to_end`] = "consume until every
//! partition's position has reached the end offsets taken at the start of the call".
//!
//! * Writes use `partitioner=murmur2_random`, so a keyed record lands on the partition Java's
//!   default partitioner picks (`murmur2(key) & 0x7fffffff % partitions`), and `acks=all`.
//! * The reader never joins a group and never commits: librdkafka needs a `group.id` for
//!   `assign()`, so it gets a unique throwaway one with `enable.auto.commit=false`.
//! * End offsets are compared with "position >= end", never "==": the test broker (Tansu)
//!   reports the base offset of the last batch + 1 as the end, so the reader regularly passes
//!   it, and the rest of that batch (delivered in the same fetch) is kept, not dropped.
//! * End offsets are listed through a second, never-assigned consumer (Java uses an admin
//!   client): on the reader's own connection the ListOffsets request would wait behind its
//!   long-poll fetch (measured on Tansu: ~500 ms per `read_to_end`, against ~2 ms).
//! * A `read_to_end` that times out keeps what it read for the next call; nothing is lost.
//!
//! This module uses only `rdkafka` (with tokio for `FutureProducer`), `thiserror` and
//! `tracing` (`futures` and tokio's `multi_thread` runtime in its tests); it does not depend
//! on the rest of the worker.

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{FutureProducer, FutureRecord, Producer};
use rdkafka::util::Timeout;
use rdkafka::{Offset, TopicPartitionList};

/// The only cleanup policy the internal topics may have.
const COMPACT: &str = "compact";
/// Longest single wait inside [`KafkaLog::read_to_end`] before re-checking the consumer
/// positions (which move past transaction markers without delivering a record).
const IDLE_CHECK: Duration = Duration::from_millis(50);
/// At most this many already-fetched records are collected by one drain of the local queue.
const DRAIN_LIMIT: usize = 100_000;

/// A Kafka-backed log operation failed.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A producer, consumer or admin client could not be created from the configuration.
    #[error("topic {topic}: cannot create the Kafka {client}: {source}")]
    Client {
        topic: String,
        client: &'static str,
        #[source]
        source: KafkaError,
    },
    /// CreateTopics failed for a reason other than "already exists".
    #[error("cannot create topic {topic}: {message}")]
    CreateTopic { topic: String, message: String },
    /// DescribeConfigs failed.
    #[error("cannot describe the configs of topic {topic}: {message}")]
    DescribeConfigs { topic: String, message: String },
    /// An existing internal topic is not compacted (Java refuses to start too).
    #[error(
        "topic '{topic}' given by {property} has cleanup.policy={policy}, but the worker's \
         internal topics must have exactly cleanup.policy=compact, or records the worker needs \
         (configs, offsets, statuses) are eventually deleted and the cluster cannot restart \
         cleanly; set {property} to a compacted topic, or change this topic's cleanup.policy \
         to compact"
    )]
    NotCompacted {
        topic: String,
        property: String,
        policy: String,
    },
    /// The topic's partitions could not be found in the cluster metadata in time.
    #[error("topic {topic}: no partition metadata after {waited:?}: {message}")]
    Metadata {
        topic: String,
        waited: Duration,
        message: String,
    },
    /// Assigning the topic's partitions to the reader failed.
    #[error("topic {topic}: cannot assign the partitions to the reader: {source}")]
    Assign {
        topic: String,
        #[source]
        source: KafkaError,
    },
    /// A record could not be enqueued or was not acknowledged by the broker.
    #[error("topic {topic}: send failed: {source}")]
    Send {
        topic: String,
        #[source]
        source: KafkaError,
    },
    /// The producer went away before it reported the delivery of a record.
    #[error("topic {topic}: the producer closed before reporting the delivery of a record")]
    SendCanceled { topic: String },
    /// Flushing the producer did not finish in time.
    #[error("topic {topic}: flush failed: {source}")]
    Flush {
        topic: String,
        #[source]
        source: KafkaError,
    },
    /// The earliest/latest offsets of the partitions could not be listed.
    #[error("topic {topic}: cannot list the {which} offsets: {message}")]
    ListOffsets {
        topic: String,
        which: &'static str,
        message: String,
    },
    /// `read_to_end` did not reach the end offsets in time. Records read so far are kept and
    /// returned by the next `read_to_end` or `poll`.
    #[error(
        "topic {topic}: did not reach the end of the log within {timeout:?} (partition position/end: {}){}",
        fmt_lag(.lagging),
        .last_error.as_ref().map(|e| format!("; last consumer error: {e}")).unwrap_or_default()
    )]
    Timeout {
        topic: String,
        timeout: Duration,
        lagging: Vec<Lag>,
        last_error: Option<String>,
    },
}

/// A partition that had not reached its end offset when `read_to_end` gave up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lag {
    pub partition: i32,
    /// The next offset the reader will return, if it has one yet.
    pub position: Option<i64>,
    /// The end offset the reader was waiting for.
    pub end: i64,
}

fn fmt_lag(lagging: &[Lag]) -> String {
    lagging
        .iter()
        .map(|l| match l.position {
            Some(p) => format!("{} at {p}/{}", l.partition, l.end),
            None => format!("{} at start/{}", l.partition, l.end),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// One record of the log. `value: None` is a tombstone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogRecord {
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
}

/// How to create an internal topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicSpec {
    pub name: String,
    /// `-1` = the broker's default.
    pub partitions: i32,
    /// `-1` = the broker's default.
    pub replication_factor: i16,
    /// Extra topic configs; any `cleanup.policy` here is ignored (always `compact`).
    pub configs: Vec<(String, String)>,
}

/// The reader's `isolation.level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IsolationLevel {
    #[default]
    ReadUncommitted,
    ReadCommitted,
}

impl IsolationLevel {
    fn as_str(self) -> &'static str {
        match self {
            IsolationLevel::ReadUncommitted => "read_uncommitted",
            IsolationLevel::ReadCommitted => "read_committed",
        }
    }
}

/// Settings of a [`KafkaLog`] beyond the base client config.
#[derive(Debug, Clone)]
pub struct KafkaLogOptions {
    /// Producer settings (librdkafka names) applied over the base config, e.g. `retries=0`
    /// and `enable.idempotence=false` for the status log. `partitioner` and `acks` are forced
    /// to `murmur2_random` and `all` afterwards.
    pub producer_configs: Vec<(String, String)>,
    /// Consumer settings applied over the base config (e.g. `client.id`). `group.id`,
    /// `enable.auto.commit`, `enable.auto.offset.store`, `auto.offset.reset` and
    /// `isolation.level` are forced afterwards.
    pub consumer_configs: Vec<(String, String)>,
    pub isolation_level: IsolationLevel,
    /// How long [`KafkaLog::open`] waits for the topic's partitions to appear in metadata.
    pub open_timeout: Duration,
    /// How long a send waits for room in a full producer queue (Java's `max.block.ms`).
    pub enqueue_timeout: Duration,
}

impl Default for KafkaLogOptions {
    fn default() -> Self {
        KafkaLogOptions {
            producer_configs: Vec::new(),
            consumer_configs: Vec::new(),
            isolation_level: IsolationLevel::ReadUncommitted,
            open_timeout: Duration::from_secs(30),
            enqueue_timeout: Duration::from_secs(60),
        }
    }
}

fn admin_client(
    admin_config: &ClientConfig,
    topic: &str,
) -> Result<AdminClient<DefaultClientContext>, LogError> {
    admin_config.create().map_err(|source| LogError::Client {
        topic: topic.to_owned(),
        client: "admin client",
        source,
    })
}

/// Creates `spec.name` if it does not exist, with `cleanup.policy=compact` and the extra
/// configs. An existing topic whose cleanup policy the broker reports as anything but exactly
/// `compact` is refused, as Java refuses it; `property` (e.g. `config.storage.topic`) names
/// the setting in the error.
pub async fn ensure_topic(
    admin_config: &ClientConfig,
    spec: &TopicSpec,
    property: &str,
) -> Result<(), LogError> {
    let admin = admin_client(admin_config, &spec.name)?;
    let mut new_topic = NewTopic::new(
        &spec.name,
        spec.partitions,
        TopicReplication::Fixed(i32::from(spec.replication_factor)),
    )
    .set("cleanup.policy", COMPACT);
    for (key, value) in &spec.configs {
        if key != "cleanup.policy" {
            new_topic = new_topic.set(key, value);
        }
    }
    let results = admin
        .create_topics([&new_topic], &AdminOptions::new())
        .await
        .map_err(|e| LogError::CreateTopic {
            topic: spec.name.clone(),
            message: e.to_string(),
        })?;
    for result in results {
        match result {
            Ok(name) => tracing::info!(
                topic = %name,
                partitions = spec.partitions,
                replication_factor = spec.replication_factor,
                "created compacted topic"
            ),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {
                match topic_cleanup_policy_with(&admin, &spec.name).await {
                    Ok(Some(policy)) if policy == COMPACT => {}
                    Ok(Some(policy)) => {
                        return Err(LogError::NotCompacted {
                            topic: spec.name.clone(),
                            property: property.to_owned(),
                            policy,
                        })
                    }
                    Ok(None) => tracing::debug!(
                        topic = %spec.name,
                        "existing topic: broker did not report cleanup.policy"
                    ),
                    Err(e) => tracing::debug!(
                        topic = %spec.name,
                        error = %e,
                        "existing topic: cannot check its cleanup.policy"
                    ),
                }
            }
            Err((name, code)) => {
                return Err(LogError::CreateTopic {
                    topic: name,
                    message: code.to_string(),
                })
            }
        }
    }
    Ok(())
}

/// The `cleanup.policy` of an existing topic as the broker describes it (`None` if the broker
/// does not report it).
pub async fn topic_cleanup_policy(
    admin_config: &ClientConfig,
    topic: &str,
) -> Result<Option<String>, LogError> {
    let admin = admin_client(admin_config, topic)?;
    topic_cleanup_policy_with(&admin, topic).await
}

async fn topic_cleanup_policy_with(
    admin: &AdminClient<DefaultClientContext>,
    topic: &str,
) -> Result<Option<String>, LogError> {
    let err = |message: String| LogError::DescribeConfigs {
        topic: topic.to_owned(),
        message,
    };
    let results = admin
        .describe_configs([&ResourceSpecifier::Topic(topic)], &AdminOptions::new())
        .await
        .map_err(|e| err(e.to_string()))?;
    let resource = results
        .into_iter()
        .next()
        .ok_or_else(|| err("empty response".to_owned()))?
        .map_err(|code| err(code.to_string()))?;
    Ok(resource
        .get("cleanup.policy")
        .and_then(|entry| entry.value.clone()))
}

/// The write side of a [`KafkaLog`]; cheap to clone and usable from any thread while the
/// log's reader is busy. When the last clone (and the log) is dropped, records not yet sent
/// are discarded: [`LogWriter::flush`] (or [`KafkaLog::close`]) first.
#[derive(Clone)]
pub struct LogWriter {
    producer: FutureProducer,
    topic: Arc<str>,
    enqueue_timeout: Duration,
}

impl fmt::Debug for LogWriter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LogWriter")
            .field("topic", &self.topic)
            .finish_non_exhaustive()
    }
}

impl LogWriter {
    fn record<'a>(
        &'a self,
        key: &'a [u8],
        value: Option<&'a [u8]>,
    ) -> FutureRecord<'a, [u8], [u8]> {
        let mut record = FutureRecord::to(&self.topic).key(key);
        record.payload = value;
        record
    }

    fn send_error(&self, source: KafkaError) -> LogError {
        LogError::Send {
            topic: self.topic.to_string(),
            source,
        }
    }

    /// Writes one record (`value: None` = tombstone) and waits for the broker's
    /// acknowledgement; returns its `(partition, offset)`.
    pub async fn send(&self, key: &[u8], value: Option<&[u8]>) -> Result<(i32, i64), LogError> {
        match self
            .producer
            .send(
                self.record(key, value),
                Timeout::After(self.enqueue_timeout),
            )
            .await
        {
            Ok(delivery) => Ok((delivery.partition, delivery.offset)),
            Err((source, _)) => Err(self.send_error(source)),
        }
    }

    /// Enqueues one record now (so records keep the order of the calls) and returns a future
    /// for its acknowledgement; dropping the future does not cancel the write
    /// (fire-and-forget). Blocks the calling thread, up to `enqueue_timeout`, only while the
    /// producer queue is full.
    pub fn send_nowait(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<impl Future<Output = Result<(i32, i64), LogError>> + Send + 'static, LogError> {
        let deadline = Instant::now() + self.enqueue_timeout;
        let mut record = self.record(key, value);
        let delivery = loop {
            match self.producer.send_result(record) {
                Ok(delivery) => break delivery,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if Instant::now() < deadline =>
                {
                    record = back;
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err((source, _)) => return Err(self.send_error(source)),
            }
        };
        let topic = Arc::clone(&self.topic);
        Ok(async move {
            match delivery.await {
                Ok(Ok(delivery)) => Ok((delivery.partition, delivery.offset)),
                Ok(Err((source, _))) => Err(LogError::Send {
                    topic: topic.to_string(),
                    source,
                }),
                Err(_) => Err(LogError::SendCanceled {
                    topic: topic.to_string(),
                }),
            }
        })
    }

    /// Waits until every enqueued record has been acknowledged or has failed.
    pub fn flush(&self, timeout: Duration) -> Result<(), LogError> {
        self.producer
            .flush(timeout)
            .map_err(|source| LogError::Flush {
                topic: self.topic.to_string(),
                source,
            })
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }
}

/// A producer and an assign-mode reader over every partition of one topic (Java's
/// `KafkaBasedLog`). The reader methods block; call them from a blocking thread.
pub struct KafkaLog {
    topic: String,
    /// Partition ids, ascending.
    partitions: Vec<i32>,
    writer: LogWriter,
    consumer: BaseConsumer,
    /// A second consumer (never assigned) that only lists offsets: on the reader's own
    /// connection a ListOffsets request waits behind the reader's long-poll fetch (up to
    /// `fetch.wait.max.ms`), as requests on one broker connection are answered in order.
    offsets_client: BaseConsumer,
    /// Next offset to read per partition, from the records returned so far.
    next: BTreeMap<i32, i64>,
    /// Records read but not yet returned (a `read_to_end` that timed out keeps them here).
    pending: Vec<LogRecord>,
    /// Drops records of aborted transactions the broker returns anyway (read-committed
    /// readers on a broker that does not list aborted transactions).
    aborted: Option<super::aborted::AbortedFilter>,
}

impl fmt::Debug for KafkaLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KafkaLog")
            .field("topic", &self.topic)
            .field("partitions", &self.partitions)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

fn throwaway_group_id(topic: &str) -> String {
    static SEQ: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(
        "tributary-kafka-log-{topic}-{}-{nanos}-{}",
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )
}

impl KafkaLog {
    /// Creates the producer and the reader for `topic` (which must exist: see
    /// [`ensure_topic`]), waits up to `options.open_timeout` for its partitions to appear in
    /// the metadata, and assigns all of them to the reader from the beginning. Blocks.
    pub fn open(
        base: &ClientConfig,
        topic: &str,
        options: KafkaLogOptions,
    ) -> Result<Self, LogError> {
        let client_err = |client: &'static str| {
            move |source| LogError::Client {
                topic: topic.to_owned(),
                client,
                source,
            }
        };

        let mut producer_config = base.clone();
        for (key, value) in &options.producer_configs {
            producer_config.set(key, value);
        }
        producer_config
            .set("partitioner", "murmur2_random")
            .set("acks", "all");
        let producer: FutureProducer = producer_config.create().map_err(client_err("producer"))?;

        let mut consumer_config = base.clone();
        for (key, value) in &options.consumer_configs {
            consumer_config.set(key, value);
        }
        consumer_config
            .set("group.id", throwaway_group_id(topic))
            .set("enable.auto.commit", "false")
            .set("enable.auto.offset.store", "false")
            .set("auto.offset.reset", "earliest")
            .set("enable.partition.eof", "false")
            .set("isolation.level", options.isolation_level.as_str());
        let consumer: BaseConsumer = consumer_config.create().map_err(client_err("consumer"))?;
        let offsets_client: BaseConsumer = consumer_config
            .create()
            .map_err(client_err("offsets client"))?;

        let partitions = Self::wait_for_partitions(&consumer, topic, options.open_timeout)?;
        let mut assignment = TopicPartitionList::with_capacity(partitions.len());
        for &partition in &partitions {
            assignment
                .add_partition_offset(topic, partition, Offset::Beginning)
                .map_err(|source| LogError::Assign {
                    topic: topic.to_owned(),
                    source,
                })?;
        }
        consumer
            .assign(&assignment)
            .map_err(|source| LogError::Assign {
                topic: topic.to_owned(),
                source,
            })?;
        tracing::debug!(topic, ?partitions, "Kafka-backed log opened");

        Ok(KafkaLog {
            topic: topic.to_owned(),
            partitions,
            writer: LogWriter {
                producer,
                topic: Arc::from(topic),
                enqueue_timeout: options.enqueue_timeout,
            },
            consumer,
            offsets_client,
            next: BTreeMap::new(),
            pending: Vec::new(),
            aborted: None,
        })
    }

    /// Makes the reader drop records of aborted transactions itself, reading batch headers
    /// from `source` (see [`super::aborted`]). For read-committed logs.
    pub fn filter_aborted(&mut self, source: Box<dyn super::aborted::BatchSource>) {
        self.aborted = Some(super::aborted::AbortedFilter::new(&self.topic, source));
    }

    fn drop_aborted(&mut self, records: &mut Vec<LogRecord>) {
        if let Some(filter) = self.aborted.as_mut() {
            filter.retain(records, |r| (r.partition, r.offset));
        }
    }

    fn wait_for_partitions(
        consumer: &BaseConsumer,
        topic: &str,
        timeout: Duration,
    ) -> Result<Vec<i32>, LogError> {
        let start = Instant::now();
        loop {
            let remaining = timeout.saturating_sub(start.elapsed());
            let problem = match consumer.fetch_metadata(Some(topic), remaining) {
                Ok(metadata) => match metadata.topics().iter().find(|t| t.name() == topic) {
                    Some(t) if t.error().is_none() && !t.partitions().is_empty() => {
                        let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
                        ids.sort_unstable();
                        return Ok(ids);
                    }
                    Some(t) => match t.error() {
                        Some(code) => RDKafkaErrorCode::from(code).to_string(),
                        None => "the topic has no partitions".to_owned(),
                    },
                    None => "the topic is not in the metadata".to_owned(),
                },
                Err(e) => e.to_string(),
            };
            if start.elapsed() >= timeout {
                return Err(LogError::Metadata {
                    topic: topic.to_owned(),
                    waited: start.elapsed(),
                    message: problem,
                });
            }
            tracing::debug!(topic, %problem, "waiting for the topic's partitions");
            std::thread::sleep(
                Duration::from_millis(100).min(timeout.saturating_sub(start.elapsed())),
            );
        }
    }

    pub fn topic(&self) -> &str {
        &self.topic
    }

    /// The topic's partition ids (read once, at `open`).
    pub fn partitions(&self) -> &[i32] {
        &self.partitions
    }

    /// A clone of the write side, for use while the reader is busy elsewhere.
    pub fn writer(&self) -> LogWriter {
        self.writer.clone()
    }

    /// See [`LogWriter::send`].
    pub async fn send(&self, key: &[u8], value: Option<&[u8]>) -> Result<(i32, i64), LogError> {
        self.writer.send(key, value).await
    }

    /// See [`LogWriter::send_nowait`].
    pub fn send_nowait(
        &self,
        key: &[u8],
        value: Option<&[u8]>,
    ) -> Result<impl Future<Output = Result<(i32, i64), LogError>> + Send + 'static, LogError> {
        self.writer.send_nowait(key, value)
    }

    /// See [`LogWriter::flush`].
    pub fn flush(&self, timeout: Duration) -> Result<(), LogError> {
        self.writer.flush(timeout)
    }

    /// Flushes the producer, then closes the reader (Java's `KafkaBasedLog.stop`).
    pub fn close(self, timeout: Duration) -> Result<(), LogError> {
        self.writer.flush(timeout)
    }

    /// Lists the earliest (`Offset::Beginning`) or latest (`Offset::End`) offset of every
    /// partition in one ListOffsets request per leader (honouring `isolation.level`).
    fn list_offsets(
        &self,
        which: Offset,
        timeout: Duration,
    ) -> Result<BTreeMap<i32, i64>, LogError> {
        let name = if which == Offset::Beginning {
            "earliest"
        } else {
            "latest"
        };
        let err = |message: String| LogError::ListOffsets {
            topic: self.topic.clone(),
            which: name,
            message,
        };
        let mut query = TopicPartitionList::with_capacity(self.partitions.len());
        for &partition in &self.partitions {
            query
                .add_partition_offset(&self.topic, partition, which)
                .map_err(|e| err(e.to_string()))?;
        }
        let answer = self
            .offsets_client
            .offsets_for_times(query, timeout)
            .map_err(|e| err(e.to_string()))?;
        let mut offsets = BTreeMap::new();
        for elem in answer.elements() {
            elem.error()
                .map_err(|e| err(format!("partition {}: {e}", elem.partition())))?;
            match elem.offset() {
                Offset::Offset(offset) => {
                    offsets.insert(elem.partition(), offset);
                }
                other => {
                    return Err(err(format!(
                        "partition {}: no offset in the answer ({other:?})",
                        elem.partition()
                    )))
                }
            }
        }
        if let Some(missing) = self.partitions.iter().find(|p| !offsets.contains_key(p)) {
            return Err(err(format!("partition {missing} missing from the answer")));
        }
        Ok(offsets)
    }

    /// Reads every record up to the end offsets listed at the start of the call and returns
    /// the records read since the previous `read_to_end`/`poll`, in offset order per
    /// partition (records past those end offsets that arrived in the same fetches are
    /// included). Blocks up to `timeout`; on timeout the records read so far are kept for
    /// the next call.
    pub fn read_to_end(&mut self, timeout: Duration) -> Result<Vec<LogRecord>, LogError> {
        let start = Instant::now();
        let remaining = |start: Instant| timeout.saturating_sub(start.elapsed());
        let low = self.list_offsets(Offset::Beginning, remaining(start))?;
        let high = self.list_offsets(Offset::End, remaining(start))?;

        // Partitions still to read up to their end offset. Empty partitions (low == high)
        // are done at once; a partition is done when its position is >= its end, never
        // "== end" (the end may be under-reported, see the module docs).
        let mut behind: BTreeMap<i32, i64> = BTreeMap::new();
        for (&partition, &end) in &high {
            let first = low.get(&partition).copied().unwrap_or(0);
            let next = self.next.get(&partition).copied();
            if end > first && next.is_none_or(|n| n < end) {
                behind.insert(partition, end);
            }
        }

        let mut out = std::mem::take(&mut self.pending);
        let mut last_error: Option<String> = None;
        while !behind.is_empty() {
            let left = remaining(start);
            if left.is_zero() {
                let lagging = behind
                    .iter()
                    .map(|(&partition, &end)| Lag {
                        partition,
                        position: self.next.get(&partition).copied(),
                        end,
                    })
                    .collect();
                self.pending = out;
                return Err(LogError::Timeout {
                    topic: self.topic.clone(),
                    timeout,
                    lagging,
                    last_error,
                });
            }
            match self.consumer.poll(left.min(IDLE_CHECK)) {
                Some(Ok(message)) => {
                    let record = take(&mut self.next, &message);
                    if behind
                        .get(&record.partition)
                        .is_some_and(|&end| record.offset + 1 >= end)
                    {
                        behind.remove(&record.partition);
                    }
                    out.push(record);
                }
                Some(Err(e)) => {
                    let text = e.to_string();
                    if last_error.as_deref() != Some(text.as_str()) {
                        tracing::warn!(topic = %self.topic, error = %text, "reading the log");
                    }
                    last_error = Some(text);
                }
                None => self.update_from_positions(&mut behind),
            }
        }
        // Keep whatever else has already arrived (the rest of a batch that straddles an
        // under-reported end offset is delivered in the same fetch).
        self.drain_ready(&mut out);
        self.drop_aborted(&mut out);
        Ok(out)
    }

    /// Returns records that arrive within `timeout` (or are already buffered), without
    /// waiting for any particular offset. Consumer errors are logged, not returned.
    pub fn poll(&mut self, timeout: Duration) -> Vec<LogRecord> {
        let mut out = std::mem::take(&mut self.pending);
        if out.is_empty() {
            let deadline = Instant::now() + timeout;
            loop {
                match self
                    .consumer
                    .poll(deadline.saturating_duration_since(Instant::now()))
                {
                    Some(Ok(message)) => {
                        let record = take(&mut self.next, &message);
                        out.push(record);
                        break;
                    }
                    Some(Err(e)) => {
                        tracing::warn!(topic = %self.topic, error = %e, "reading the log");
                        if Instant::now() >= deadline {
                            break;
                        }
                    }
                    None => break,
                }
            }
        }
        self.drain_ready(&mut out);
        self.drop_aborted(&mut out);
        out
    }

    /// Moves records already in the local queue into `out` without waiting.
    fn drain_ready(&mut self, out: &mut Vec<LogRecord>) {
        for _ in 0..DRAIN_LIMIT {
            match self.consumer.poll(Duration::ZERO) {
                Some(Ok(message)) => {
                    let record = take(&mut self.next, &message);
                    out.push(record);
                }
                Some(Err(e)) => {
                    tracing::warn!(topic = %self.topic, error = %e, "reading the log");
                }
                None => break,
            }
        }
    }

    /// The consumer's own positions also move past records it does not deliver (transaction
    /// markers, aborted records); count them when the reader is idle.
    fn update_from_positions(&mut self, behind: &mut BTreeMap<i32, i64>) {
        let Ok(positions) = self.consumer.position() else {
            return;
        };
        for elem in positions.elements() {
            if let Offset::Offset(position) = elem.offset() {
                let partition = elem.partition();
                let next = self.next.entry(partition).or_insert(position);
                *next = (*next).max(position);
                if behind.get(&partition).is_some_and(|&end| *next >= end) {
                    behind.remove(&partition);
                }
            }
        }
    }
}

pub use super::internal_records::java_partition;

/// Converts a message and advances the tracked position of its partition.
fn take<M: Message>(next: &mut BTreeMap<i32, i64>, message: &M) -> LogRecord {
    let record = LogRecord {
        partition: message.partition(),
        offset: message.offset(),
        key: message.key().map(<[u8]>::to_vec),
        value: message.payload().map(<[u8]>::to_vec),
    };
    let next = next.entry(record.partition).or_insert(0);
    *next = (*next).max(record.offset + 1);
    record
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeSet, HashMap};

    const READ_TIMEOUT: Duration = Duration::from_secs(30);

    fn base_config() -> ClientConfig {
        let bootstrap = std::env::var("TRIBUTARY_TEST_BOOTSTRAP")
            .unwrap_or_else(|_| "127.0.0.1:19092".to_owned());
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", bootstrap);
        config
    }

    fn unique_topic(tag: &str) -> String {
        static SEQ: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        format!(
            "kafka-log-{tag}-{}-{nanos}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        )
    }

    async fn create_topic(tag: &str, partitions: i32) -> String {
        let name = unique_topic(tag);
        let spec = TopicSpec {
            name: name.clone(),
            partitions,
            replication_factor: 1,
            configs: Vec::new(),
        };
        ensure_topic(&base_config(), &spec, "test.topic")
            .await
            .unwrap();
        name
    }

    fn open(topic: &str, options: KafkaLogOptions) -> KafkaLog {
        tokio::task::block_in_place(|| KafkaLog::open(&base_config(), topic, options)).unwrap()
    }

    fn read_to_end(log: &mut KafkaLog) -> Vec<LogRecord> {
        tokio::task::block_in_place(|| log.read_to_end(READ_TIMEOUT)).unwrap()
    }

    /// What `write_records` wrote: key → (partition, offset, value).
    type Written = HashMap<Vec<u8>, (i32, i64, Option<Vec<u8>>)>;

    /// Writes `count` records keyed `{prefix}-{i}`, every 10th a tombstone, enqueued
    /// back to back (so they travel in multi-record batches), and waits for every ack.
    async fn write_records(writer: &LogWriter, prefix: &str, count: usize) -> Written {
        let mut pending = Vec::with_capacity(count);
        let mut expected = Vec::with_capacity(count);
        for i in 0..count {
            let key = format!("{prefix}-{i}").into_bytes();
            let value = (i % 10 != 0).then(|| format!("value {i} of {prefix} ✓").into_bytes());
            pending.push(writer.send_nowait(&key, value.as_deref()).unwrap());
            expected.push((key, value));
        }
        let acks = futures::future::join_all(pending).await;
        expected
            .into_iter()
            .zip(acks)
            .map(|((key, value), ack)| {
                let (partition, offset) = ack.unwrap();
                (key, (partition, offset, value))
            })
            .collect()
    }

    /// Every written record was read exactly once, intact, in offset order per partition.
    fn assert_read_exactly(read: &[LogRecord], written: &Written) {
        assert_eq!(read.len(), written.len(), "number of records read");
        let mut seen = BTreeSet::new();
        let mut last_offset: HashMap<i32, i64> = HashMap::new();
        for record in read {
            let key = record.key.clone().expect("every record has a key");
            let (partition, offset, value) = written
                .get(&key)
                .unwrap_or_else(|| panic!("unexpected key {:?}", String::from_utf8_lossy(&key)));
            assert!(seen.insert(key.clone()), "{key:?} read twice");
            assert_eq!((record.partition, record.offset), (*partition, *offset));
            assert_eq!(&record.value, value);
            if let Some(previous) = last_offset.insert(record.partition, record.offset) {
                assert!(
                    previous < record.offset,
                    "out of order in {}",
                    record.partition
                );
            }
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn ensure_topic_creates_a_compacted_topic_and_is_idempotent() {
        let admin = base_config();
        let name = unique_topic("ensure");
        let spec = TopicSpec {
            name: name.clone(),
            partitions: 3,
            replication_factor: 1,
            configs: vec![
                ("cleanup.policy".to_owned(), "delete".to_owned()),
                ("retention.ms".to_owned(), "604800000".to_owned()),
            ],
        };
        ensure_topic(&admin, &spec, "test.topic").await.unwrap();
        assert_eq!(
            topic_cleanup_policy(&admin, &name)
                .await
                .unwrap()
                .as_deref(),
            Some("compact")
        );
        let log = open(&name, KafkaLogOptions::default());
        assert_eq!(log.partitions(), &[0, 1, 2]);
        drop(log);

        // Again, even with other settings: the existing topic is accepted unchanged.
        ensure_topic(&admin, &spec, "test.topic").await.unwrap();
        ensure_topic(
            &admin,
            &TopicSpec {
                partitions: 7,
                ..spec.clone()
            },
            "test.topic",
        )
        .await
        .unwrap();
        let log = open(&name, KafkaLogOptions::default());
        assert_eq!(log.partitions(), &[0, 1, 2]);
        assert_eq!(
            topic_cleanup_policy(&admin, &name)
                .await
                .unwrap()
                .as_deref(),
            Some("compact")
        );

        // -1 / -1: the broker's defaults.
        let defaults = TopicSpec {
            name: unique_topic("ensure-defaults"),
            partitions: -1,
            replication_factor: -1,
            configs: Vec::new(),
        };
        ensure_topic(&admin, &defaults, "test.topic").await.unwrap();
        let log = open(&defaults.name, KafkaLogOptions::default());
        assert!(!log.partitions().is_empty());
        assert_eq!(
            topic_cleanup_policy(&admin, &defaults.name)
                .await
                .unwrap()
                .as_deref(),
            Some("compact")
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn ensure_topic_refuses_an_existing_topic_that_is_not_compacted() {
        let admin_config = base_config();
        let name = unique_topic("ensure-delete");
        let admin: AdminClient<DefaultClientContext> = admin_config.create().unwrap();
        let plain =
            NewTopic::new(&name, 2, TopicReplication::Fixed(1)).set("cleanup.policy", "delete");
        let created = admin
            .create_topics([&plain], &AdminOptions::new())
            .await
            .unwrap();
        assert!(created.iter().all(Result::is_ok), "{created:?}");

        // Refused, as Java refuses it, naming the property; the topic is left unchanged.
        let spec = TopicSpec {
            name: name.clone(),
            partitions: 2,
            replication_factor: 1,
            configs: Vec::new(),
        };
        let e = ensure_topic(&admin_config, &spec, "config.storage.topic")
            .await
            .unwrap_err();
        assert!(
            matches!(&e, LogError::NotCompacted { property, policy, .. }
                if property == "config.storage.topic" && policy == "delete"),
            "{e}"
        );
        assert_eq!(
            topic_cleanup_policy(&admin_config, &name)
                .await
                .unwrap()
                .as_deref(),
            Some("delete")
        );
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn keyed_records_land_on_the_partition_java_chooses() {
        let topic = create_topic("java-partition", 5).await;
        let mut log = open(&topic, KafkaLogOptions::default());
        let keys: Vec<Vec<u8>> = [
            "connector-local-file-source",
            "task-local-file-source-0",
            "commit-local-file-source",
            "status-connector-local-file-source",
            "status-task-local-file-source-0",
            "status-task-local-file-source-1",
            "target-state-local-file-source",
            "session-key",
            r#"["local-file-source",{"filename":"/tmp/test.txt"}]"#,
            "21",
            "foobar",
            "abc",
            "a",
            "ab",
            "x",
        ]
        .iter()
        .map(|k| k.as_bytes().to_vec())
        .collect();
        let mut expected = BTreeSet::new();
        for key in &keys {
            let want = java_partition(key, 5);
            expected.insert(want);
            let (partition, _) = log.send(key, Some(b"v")).await.unwrap();
            assert_eq!(partition, want, "key {}", String::from_utf8_lossy(key));
        }
        assert!(
            expected.len() >= 3,
            "the keys should spread over partitions"
        );

        let read = read_to_end(&mut log);
        assert_eq!(read.len(), keys.len());
        for record in read {
            let key = record.key.unwrap();
            assert_eq!(record.partition, java_partition(&key, 5));
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn read_to_end_returns_a_thousand_records_exactly_once() {
        let topic = create_topic("thousand", 5).await;
        let mut log = open(&topic, KafkaLogOptions::default());
        let written = write_records(&log.writer(), "k", 1000).await;
        assert_eq!(
            written.values().filter(|(_, _, v)| v.is_none()).count(),
            100
        );

        let started = Instant::now();
        let read = read_to_end(&mut log);
        eprintln!("read_to_end of 1000 records: {:?}", started.elapsed());
        assert_read_exactly(&read, &written);
        assert!(
            read.iter().any(|r| r.value.is_none()),
            "tombstones read as None"
        );

        // Nothing new: nothing returned.
        assert_eq!(read_to_end(&mut log), Vec::new());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn a_second_log_reads_everything_from_the_beginning() {
        let topic = create_topic("second", 5).await;
        let first = open(&topic, KafkaLogOptions::default());
        let written = write_records(&first.writer(), "k", 1000).await;

        let mut second = open(&topic, KafkaLogOptions::default());
        assert_read_exactly(&read_to_end(&mut second), &written);

        let mut committed = open(
            &topic,
            KafkaLogOptions {
                isolation_level: IsolationLevel::ReadCommitted,
                ..KafkaLogOptions::default()
            },
        );
        assert_read_exactly(&read_to_end(&mut committed), &written);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn read_to_end_on_an_empty_topic_returns_promptly() {
        let topic = create_topic("empty", 5).await;
        let mut log = open(&topic, KafkaLogOptions::default());
        let started = Instant::now();
        assert_eq!(read_to_end(&mut log), Vec::new());
        assert_eq!(read_to_end(&mut log), Vec::new());
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn the_next_read_to_end_returns_only_later_records() {
        let topic = create_topic("later", 3).await;
        let mut log = open(&topic, KafkaLogOptions::default());
        let first = write_records(&log.writer(), "first", 200).await;
        assert_read_exactly(&read_to_end(&mut log), &first);

        let second = write_records(&log.writer(), "second", 37).await;
        assert_read_exactly(&read_to_end(&mut log), &second);

        // One more, through the awaited send.
        let (partition, offset) = log.send(b"third", None).await.unwrap();
        let third: Written = [(b"third".to_vec(), (partition, offset, None))].into();
        assert_read_exactly(&read_to_end(&mut log), &third);
        assert_eq!(read_to_end(&mut log), Vec::new());
    }

    /// On Tansu the end offset of a partition whose last batch holds several records is
    /// under-reported (base offset of that batch + 1); the rest of the batch must still be
    /// returned by the same `read_to_end`.
    #[tokio::test(flavor = "multi_thread")]
    async fn read_to_end_returns_the_whole_last_batch() {
        let topic = create_topic("last-batch", 1).await;
        let options = KafkaLogOptions {
            // One batch for the ten records below.
            producer_configs: vec![("linger.ms".to_owned(), "200".to_owned())],
            ..KafkaLogOptions::default()
        };
        let mut log = open(&topic, options);
        let written = write_records(&log.writer(), "batched", 10).await;
        let (low, high) = tokio::task::block_in_place(|| {
            log.consumer
                .fetch_watermarks(&topic, 0, Duration::from_secs(5))
        })
        .unwrap();
        eprintln!(
            "10 records at offsets 0..=9 in one batch; broker watermarks: low {low}, high {high}"
        );
        assert_read_exactly(&read_to_end(&mut log), &written);

        let mut fresh = open(&topic, KafkaLogOptions::default());
        assert_read_exactly(&read_to_end(&mut fresh), &written);

        let more = write_records(&log.writer(), "more", 10).await;
        assert_read_exactly(&read_to_end(&mut log), &more);
        assert_read_exactly(&read_to_end(&mut fresh), &more);
        log.close(Duration::from_secs(5)).unwrap();
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn poll_returns_records_written_later() {
        let topic = create_topic("poll", 3).await;
        let mut log = open(&topic, KafkaLogOptions::default());
        assert_eq!(read_to_end(&mut log), Vec::new());
        let written = write_records(&log.writer(), "polled", 25).await;

        let deadline = Instant::now() + READ_TIMEOUT;
        let mut read = Vec::new();
        while read.len() < written.len() && Instant::now() < deadline {
            read.extend(tokio::task::block_in_place(|| {
                log.poll(Duration::from_millis(500))
            }));
        }
        assert_read_exactly(&read, &written);
        assert_eq!(read_to_end(&mut log), Vec::new());
    }
}
