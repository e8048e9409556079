//! The dead letter queue of a sink task (`errors.deadletterqueue.*`, connect-compat §4.4): the
//! original bytes of each record whose failure was tolerated go to the DLQ topic, with the
//! error context in `__connect.errors.*` headers when
//! `errors.deadletterqueue.context.headers.enable=true`.
//!
//! Sends are asynchronous; [`DeadLetterQueue::flush`] waits for them and reports a failed one,
//! and the sink loop flushes before it commits offsets, so a record is never both skipped and
//! missing from the DLQ.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{Header as KHeader, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::{ClientConfig, ClientContext};
use tributary_connector_api::Props;

use super::errors::Failure;
use super::kafka::KafkaMessage;
use super::TaskClients;

pub const TOPIC: &str = "errors.deadletterqueue.topic.name";
pub const REPLICATION_FACTOR: &str = "errors.deadletterqueue.topic.replication.factor";
pub const CONTEXT_HEADERS: &str = "errors.deadletterqueue.context.headers.enable";

pub const HEADER_TOPIC: &str = "__connect.errors.topic";
pub const HEADER_PARTITION: &str = "__connect.errors.partition";
pub const HEADER_OFFSET: &str = "__connect.errors.offset";
pub const HEADER_CONNECTOR: &str = "__connect.errors.connector.name";
pub const HEADER_TASK: &str = "__connect.errors.task.id";
pub const HEADER_STAGE: &str = "__connect.errors.stage";
pub const HEADER_CLASS: &str = "__connect.errors.class.name";
pub const HEADER_EXCEPTION: &str = "__connect.errors.exception.class.name";
pub const HEADER_MESSAGE: &str = "__connect.errors.exception.message";
pub const HEADER_STACKTRACE: &str = "__connect.errors.exception.stacktrace";

/// A consumed record exactly as it came from Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawRecord {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub timestamp: Option<i64>,
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

impl RawRecord {
    pub fn from_message(m: &dyn KafkaMessage) -> RawRecord {
        RawRecord {
            topic: m.topic().to_owned(),
            partition: m.partition(),
            offset: m.offset(),
            timestamp: m.timestamp().0,
            key: m.key().map(<[u8]>::to_vec),
            value: m.value().map(<[u8]>::to_vec),
            headers: (0..m.header_count())
                .filter_map(|i| m.header(i))
                .map(|(k, v)| (k.to_owned(), v.map(<[u8]>::to_vec)))
                .collect(),
        }
    }

    /// `{topic='t', partition=0, offset=5}` for logs.
    pub fn position(&self) -> String {
        format!(
            "consumed record is {{topic='{}', partition={}, offset={}}}",
            self.topic, self.partition, self.offset
        )
    }

    /// The record for `errors.log.include.messages`: coordinates, timestamp, key, value and
    /// header keys, with bytes shown as text where they are UTF-8.
    pub fn describe(&self) -> String {
        let text = |b: &Option<Vec<u8>>| match b {
            None => "null".to_owned(),
            Some(b) => match std::str::from_utf8(b) {
                Ok(s) => format!("{s:?}"),
                Err(_) => format!("<{} bytes>", b.len()),
            },
        };
        let headers: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        format!(
            "ConsumerRecord(topic = {}, partition = {}, offset = {}, timestamp = {}, key = {}, value = {}, headers = {headers:?})",
            self.topic,
            self.partition,
            self.offset,
            self.timestamp.map(|t| t.to_string()).unwrap_or_else(|| "null".into()),
            text(&self.key),
            text(&self.value),
        )
    }
}

/// Tracks the DLQ sends not yet acknowledged.
#[derive(Default)]
struct Deliveries {
    pending: AtomicUsize,
    failed: Mutex<Option<String>>,
    lock: Mutex<()>,
    done: Condvar,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        if let Err((e, _)) = result {
            let mut failed = self.failed.lock().unwrap_or_else(|p| p.into_inner());
            failed.get_or_insert_with(|| e.to_string());
        }
        self.pending.fetch_sub(1, Ordering::AcqRel);
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.done.notify_all();
    }
}

/// A sink task's dead letter queue.
pub struct DeadLetterQueue {
    producer: ThreadedProducer<Deliveries>,
    topic: String,
    context_headers: bool,
    connector: String,
    task: u32,
}

impl DeadLetterQueue {
    /// The DLQ of a sink connector config, `None` when no topic is set. Creates the topic (one
    /// partition, the configured replication factor) when it does not exist.
    pub fn create(
        clients: &TaskClients,
        connector_props: &Props,
        name: &str,
        task: u32,
    ) -> Result<Option<DeadLetterQueue>, String> {
        let topic = connector_props.get(TOPIC).map(|t| t.trim()).unwrap_or("");
        if topic.is_empty() {
            return Ok(None);
        }
        let replication = connector_props
            .get(REPLICATION_FACTOR)
            .and_then(|r| r.trim().parse::<i32>().ok())
            .unwrap_or(3);
        let context_headers = connector_props
            .get(CONTEXT_HEADERS)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        create_topic(&clients.admin, topic, replication)?;
        let producer = clients
            .dlq_producer
            .create_with_context(Deliveries::default())
            .map_err(|e| format!("cannot create the dead letter queue producer: {e}"))?;
        Ok(Some(DeadLetterQueue {
            producer,
            topic: topic.to_owned(),
            context_headers,
            connector: name.to_owned(),
            task,
        }))
    }

    /// Sends the original record with the failure's context headers (when enabled).
    pub fn send(&self, raw: &RawRecord, failure: &Failure) -> Result<(), String> {
        let mut headers = OwnedHeaders::new_with_capacity(raw.headers.len() + 10);
        for (k, v) in &raw.headers {
            headers = headers.insert(KHeader {
                key: k,
                value: v.as_deref(),
            });
        }
        if self.context_headers {
            let partition = raw.partition.to_string();
            let offset = raw.offset.to_string();
            let task = self.task.to_string();
            let context: [(&str, &str); 10] = [
                (HEADER_TOPIC, &raw.topic),
                (HEADER_PARTITION, &partition),
                (HEADER_OFFSET, &offset),
                (HEADER_CONNECTOR, &self.connector),
                (HEADER_TASK, &task),
                (HEADER_STAGE, failure.stage.as_str()),
                (HEADER_CLASS, &failure.class),
                (HEADER_EXCEPTION, failure.exception_class()),
                (HEADER_MESSAGE, &failure.message),
                (HEADER_STACKTRACE, &stacktrace(failure)),
            ];
            for (k, v) in context {
                headers = headers.insert(KHeader {
                    key: k,
                    value: Some(v.as_bytes()),
                });
            }
        }
        let mut record = BaseRecord::<[u8], [u8], ()>::to(&self.topic).headers(headers);
        if let Some(k) = raw.key.as_deref() {
            record = record.key(k);
        }
        if let Some(v) = raw.value.as_deref() {
            record = record.payload(v);
        }
        if let Some(ts) = raw.timestamp {
            record = record.timestamp(ts);
        }
        let deliveries = self.producer.context();
        deliveries.pending.fetch_add(1, Ordering::AcqRel);
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            match self.producer.send(record) {
                Ok(()) => return Ok(()),
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back))
                    if Instant::now() < deadline =>
                {
                    // Wait for a delivery to free queue space.
                    record = back;
                    let guard = deliveries.lock.lock().unwrap_or_else(|p| p.into_inner());
                    let _ = deliveries
                        .done
                        .wait_timeout(guard, Duration::from_millis(10));
                }
                Err((e, _)) => {
                    deliveries.pending.fetch_sub(1, Ordering::AcqRel);
                    return Err(format!(
                        "Could not produce message to dead letter queue. topic={}: {e}",
                        self.topic
                    ));
                }
            }
        }
    }

    /// Waits up to `timeout` for every send to be acknowledged; an error if one failed or
    /// some are still pending.
    pub fn flush(&self, timeout: Duration) -> Result<(), String> {
        let deliveries = self.producer.context();
        let deadline = Instant::now() + timeout;
        let mut guard = deliveries.lock.lock().unwrap_or_else(|p| p.into_inner());
        while deliveries.pending.load(Ordering::Acquire) > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "{} record(s) not yet written to the dead letter queue {} after {timeout:?}",
                    deliveries.pending.load(Ordering::Acquire),
                    self.topic
                ));
            }
            guard = deliveries
                .done
                .wait_timeout(guard, left.min(Duration::from_millis(100)))
                .map(|(g, _)| g)
                .unwrap_or_else(|p| p.into_inner().0);
        }
        drop(guard);
        let failed = deliveries
            .failed
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        match failed {
            Some(e) => Err(format!(
                "Could not produce message to dead letter queue. topic={}: {e}",
                self.topic
            )),
            None => Ok(()),
        }
    }
}

/// The `__connect.errors.exception.stacktrace` text: the exception and its message, then where
/// it happened (Rust code has no Java stack; the stage and class stand in for it).
fn stacktrace(failure: &Failure) -> String {
    format!(
        "{}: {}\n\tat stage {} ({})",
        failure.exception_class(),
        failure.message,
        failure.stage.as_str(),
        failure.class
    )
}

/// Creates the DLQ topic with one partition unless it exists.
fn create_topic(admin: &ClientConfig, topic: &str, replication: i32) -> Result<(), String> {
    let admin: AdminClient<DefaultClientContext> = admin
        .create()
        .map_err(|e| format!("cannot create an admin client for the dead letter queue: {e}"))?;
    let new_topic = NewTopic::new(topic, 1, TopicReplication::Fixed(replication));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = futures::executor::block_on(admin.create_topics([&new_topic], &options))
        .map_err(|e| format!("cannot create the dead letter queue topic {topic}: {e}"))?;
    for result in results {
        match result {
            Ok(_) => tracing::info!(topic, replication, "created the dead letter queue topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((_, code)) => {
                return Err(format!(
                    "cannot create the dead letter queue topic {topic} (replication factor {replication}): {code}"
                ))
            }
        }
    }
    Ok(())
}
