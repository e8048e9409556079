//! The record pipeline both task loops run each record through: conversion, the
//! transformation chain, and the connector's error policy (retries, tolerance, the error log
//! and, for sinks, the dead letter queue). Source records are transformed, then converted to
//! bytes; consumed records are converted from bytes, then transformed.

use std::sync::Arc;

use std::borrow::Cow;

use tributary_connector_api::abi::batch::{BatchRecord, FieldRef, RecordBatch};
use tributary_connector_api::converter::{ConnectData, Connected, RawData};
use tributary_connector_api::{Headers, SchemaRef, SinkRecord, SourceRecord, Value, ValueRef};
use tributary_transforms::{Outcome, TransformChain};

use super::convert::{transform_chain, TaskConverters};
use super::dead_letter::{DeadLetterQueue, RawRecord};
use super::errors::{ErrorHandler, ErrorPolicy, Failure, OpError, RunError, Stage};
use super::kafka::KafkaMessage;
use super::topics::TaskTopics;
use super::{trace, TaskControl};
use crate::config::WorkerConfig;
use crate::plugins::PluginRegistry;
use tributary_connector_api::Props;

/// What became of one record.
#[derive(Debug)]
pub enum Processed<T> {
    /// Ready for the producer (source) or for `put` (sink).
    Ready(T),
    /// Filtered out, or its failure tolerated: done, its offset may advance.
    Done,
    /// The task is stopping while a retriable failure was being retried: neither done nor
    /// ready, so its offset must not advance.
    Stopping,
}

/// A source record ready for the producer: where it goes and its bytes, borrowed from the
/// polled batch where the converter wrote a value as it is.
#[derive(Debug)]
pub struct Converted<'a> {
    pub topic: &'a str,
    pub partition: Option<i32>,
    pub timestamp: Option<i64>,
    pub key: Option<Cow<'a, [u8]>>,
    pub value: Option<Cow<'a, [u8]>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// Where [`Pipeline::source_batch`] keeps what it had to make of a batch's records: the
/// records the transformation chain rewrote, and keys and values that were neither strings
/// nor bytes, decoded. Reused from batch to batch.
#[derive(Default)]
pub struct SourceScratch {
    transformed: Vec<Option<SourceRecord>>,
    decoded: Vec<Decoded>,
}

/// A record's parts that are not read in place: its key and value when either is neither a
/// string nor bytes, and its headers.
#[derive(Default)]
struct Decoded {
    key: Value,
    value: Value,
    headers: Headers,
}

/// A polled record as the pipeline reads it: in place in the batch, or as the transformation
/// chain left it.
#[derive(Clone, Copy)]
enum SourceView<'a> {
    Batch {
        record: BatchRecord<'a>,
        /// Set when any record of the batch has an encoded key or value, or headers.
        decoded: Option<&'a Decoded>,
    },
    Owned(&'a SourceRecord),
}

impl<'a> SourceView<'a> {
    fn topic(&self) -> &'a str {
        match self {
            SourceView::Batch { record, .. } => record.topic(),
            SourceView::Owned(r) => &r.topic,
        }
    }

    fn schema(&self, key: bool) -> Option<&'a SchemaRef> {
        match (self, key) {
            (SourceView::Batch { record, .. }, true) => record.key_schema(),
            (SourceView::Batch { record, .. }, false) => record.value_schema(),
            (SourceView::Owned(r), true) => r.key_schema.as_ref(),
            (SourceView::Owned(r), false) => r.value_schema.as_ref(),
        }
    }

    fn value(&self, key: bool) -> ValueRef<'a> {
        match *self {
            SourceView::Batch { record, decoded } => {
                let field = if key { record.key() } else { record.value() };
                match (field, decoded) {
                    (FieldRef::InPlace(v), _) => v,
                    (FieldRef::Encoded(_) | FieldRef::Fields(..), Some(d)) => {
                        ValueRef::Value(if key { &d.key } else { &d.value })
                    }
                    // Unreachable: a batch with an encoded value is decoded before any view
                    // of it is made.
                    (FieldRef::Encoded(_) | FieldRef::Fields(..), None) => ValueRef::Null,
                }
            }
            SourceView::Owned(r) => ValueRef::Value(if key { &r.key } else { &r.value }),
        }
    }

    fn data(&self, key: bool) -> ConnectData<'a> {
        ConnectData {
            topic: self.topic(),
            schema: self.schema(key),
            value: self.value(key),
        }
    }

    /// Empty for none.
    fn headers(&self) -> Option<&'a Headers> {
        match self {
            SourceView::Batch { decoded, .. } => decoded.map(|d| &d.headers),
            SourceView::Owned(r) => Some(&r.headers),
        }
    }

    fn partition(&self) -> Option<i32> {
        match self {
            SourceView::Batch { record, .. } => record.kafka_partition(),
            SourceView::Owned(r) => r.kafka_partition,
        }
    }

    fn timestamp(&self) -> Option<i64> {
        match self {
            SourceView::Batch { record, .. } => record.timestamp(),
            SourceView::Owned(r) => r.timestamp,
        }
    }
}

impl std::fmt::Debug for SourceView<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SourceView::Batch { record, .. } => record.fmt(f),
            SourceView::Owned(r) => r.fmt(f),
        }
    }
}

/// One task's converters, transformation chain, error policy and dead letter queue.
pub struct Pipeline {
    converters: TaskConverters,
    chain: TransformChain,
    pub errors: ErrorHandler,
    /// Sink tasks only, and only when `errors.deadletterqueue.topic.name` is set.
    pub dlq: Option<Arc<DeadLetterQueue>>,
    /// KIP-558 topic tracking, when `topic.tracking.enable` is set: a sink task records a
    /// consumed record's topic once it is converted (before transformations); a source task
    /// records the transformed record's topic when the producer acknowledges it.
    pub topics: Option<TaskTopics>,
}

fn converter_error(e: crate::converters::ConverterError) -> OpError {
    OpError::fatal(e.to_string())
}

impl Pipeline {
    /// The pipeline of a task of connector `name`, from its resolved config.
    pub fn new(
        worker: &WorkerConfig,
        connector: &Props,
        name: &str,
        task: u32,
        dlq: Option<Arc<DeadLetterQueue>>,
        plugins: &PluginRegistry,
    ) -> Result<Pipeline, String> {
        let converters = TaskConverters::new(worker, connector, plugins)
            .map_err(|e| trace("Failed to create converters", e))?;
        let chain = transform_chain(connector, plugins)
            .map_err(|e| trace("Failed to create transformations", e))?;
        Ok(Pipeline {
            converters,
            chain,
            errors: ErrorHandler::new(ErrorPolicy::from_props(connector), name, task),
            dlq,
            topics: None,
        })
    }

    /// Transforms and converts the records of one polled batch, calling each converter once
    /// for the whole batch (a plugin converter crosses the plugin boundary once); a record
    /// whose batch conversion failed is converted again on its own under the error policy.
    /// Records no transformation rewrote are read in place. One result per record, in order:
    /// an `Err` is the trace the task fails with once the records before it are sent; after an
    /// `Err` or a [`Processed::Stopping`] every later record is `Stopping`.
    pub fn source_batch<'a>(
        &mut self,
        control: &TaskControl,
        batch: &'a RecordBatch,
        scratch: &'a mut SourceScratch,
    ) -> Vec<Result<Processed<Converted<'a>>, String>> {
        let n = batch.len();
        let mut out: Vec<Option<Result<Processed<Converted<'a>>, String>>> = Vec::with_capacity(n);
        scratch.transformed.clear();
        scratch.decoded.clear();
        let unreadable = |e: String| Err(format!("The task's record batch is unreadable: {e}"));
        if !self.chain.is_empty() {
            let mut stopping = false;
            for record in batch.iter() {
                if stopping {
                    out.push(Some(Ok(Processed::Stopping)));
                    scratch.transformed.push(None);
                    continue;
                }
                let mut owned = match record.to_source_record() {
                    Ok(r) => r,
                    Err(e) => {
                        out.push(Some(unreadable(e)));
                        scratch.transformed.push(None);
                        stopping = true;
                        continue;
                    }
                };
                let transformed = self.transform_source(control, &mut owned).transpose();
                stopping = matches!(transformed, Some(Ok(Processed::Stopping)) | Some(Err(_)));
                scratch
                    .transformed
                    .push(transformed.is_none().then_some(owned));
                out.push(transformed);
            }
        } else {
            let encoded = |r: &BatchRecord<'_>| {
                r.key().is_encoded() || r.value().is_encoded() || r.has_headers()
            };
            // Only keys and values that are neither strings nor bytes are decoded (strings
            // and bytes are read in place either way).
            let decode = |f: FieldRef<'_>| match f {
                FieldRef::InPlace(_) => Ok(Value::Null),
                encoded => encoded.to_value(),
            };
            if batch.iter().any(|r| encoded(&r)) {
                for record in batch.iter() {
                    let decoded = (|| {
                        Ok::<_, String>(Decoded {
                            key: decode(record.key())?,
                            value: decode(record.value())?,
                            headers: record.headers()?,
                        })
                    })();
                    match decoded {
                        Ok(d) => {
                            scratch.decoded.push(d);
                            out.push(None);
                        }
                        Err(e) => {
                            scratch.decoded.push(Default::default());
                            out.push(Some(unreadable(e)));
                            break;
                        }
                    }
                }
            }
            out.resize_with(n, || None);
            // After an unreadable record, every later one is `Stopping`.
            if let Some(bad) = out.iter().position(|o| o.is_some()) {
                for o in &mut out[bad + 1..] {
                    *o = Some(Ok(Processed::Stopping));
                }
            }
        }
        let scratch: &'a SourceScratch = scratch;
        let view = |i: usize| -> Option<SourceView<'a>> {
            match scratch.transformed.get(i) {
                Some(Some(r)) => Some(SourceView::Owned(r)),
                Some(None) => None,
                None => batch.record(i).map(|record| SourceView::Batch {
                    record,
                    decoded: scratch.decoded.get(i),
                }),
            }
        };
        let ready: Vec<(usize, SourceView<'a>)> = (0..n)
            .filter(|&i| out[i].is_none())
            .filter_map(|i| view(i).map(|v| (i, v)))
            .collect();
        let data = |key: bool| -> Vec<ConnectData<'a>> {
            ready.iter().map(|(_, v)| v.data(key)).collect()
        };
        let keys = self.converters.key.from_connect_batch(&data(true));
        let values = self.converters.value.from_connect_batch(&data(false));
        let mut stopped = false;
        for (((i, view), key), value) in ready.iter().zip(keys).zip(values) {
            if stopped {
                out[*i] = Some(Ok(Processed::Stopping));
                continue;
            }
            let converted = match self.convert_source(control, *view, key.ok(), value.ok()) {
                Ok(converted) => Ok(Processed::Ready(converted)),
                Err(RunError::Failed(failure)) => {
                    self.skip_source(failure, *view, batch.record(*i))
                }
                Err(RunError::Stopping) => Ok(Processed::Stopping),
            };
            stopped = matches!(converted, Ok(Processed::Stopping) | Err(_));
            out[*i] = Some(converted);
        }
        out.into_iter()
            .map(|p| p.unwrap_or(Ok(Processed::Stopping)))
            .collect()
    }

    /// Runs the transformation chain over a polled record: `None` when it is to be converted.
    fn transform_source<'a>(
        &mut self,
        control: &TaskControl,
        record: &mut SourceRecord,
    ) -> Result<Option<Processed<Converted<'a>>>, String> {
        for stage in self.chain.stages_mut() {
            let class = stage.class;
            let outcome = self.errors.run(control, Stage::Transformation, class, || {
                stage.apply(record).map_err(|e| OpError {
                    message: e.message,
                    retriable: e.retriable,
                })
            });
            match outcome {
                Ok(Outcome::Keep) => {}
                Ok(Outcome::Drop) => return Ok(Some(Processed::Done)),
                Err(RunError::Failed(failure)) => {
                    let view = SourceView::Owned(record);
                    return self.skip_source(failure, view, None).map(Some);
                }
                Err(RunError::Stopping) => return Ok(Some(Processed::Stopping)),
            }
        }
        Ok(None)
    }

    /// A transformed record's bytes, with the key and value already converted when they were.
    fn convert_source<'a>(
        &mut self,
        control: &TaskControl,
        record: SourceView<'a>,
        key: Option<Option<Cow<'a, [u8]>>>,
        value: Option<Option<Cow<'a, [u8]>>>,
    ) -> Result<Converted<'a>, RunError> {
        let topic = record.topic();
        let conv = &self.converters;
        let key = match key {
            Some(bytes) => bytes,
            None => self
                .errors
                .run(control, Stage::KeyConverter, &conv.key_class, || {
                    conv.key
                        .from_connect_ref(topic, record.schema(true), record.value(true))
                        .map_err(converter_error)
                })?,
        };
        let value = match value {
            Some(bytes) => bytes,
            None => self
                .errors
                .run(control, Stage::ValueConverter, &conv.value_class, || {
                    conv.value
                        .from_connect_ref(topic, record.schema(false), record.value(false))
                        .map_err(converter_error)
                })?,
        };
        let mut headers = Vec::new();
        if let Some(record_headers) = record.headers().filter(|h| !h.is_empty()) {
            headers.reserve_exact(record_headers.len());
            for header in record_headers.iter() {
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
                                .map_err(converter_error)
                        })?;
                headers.push((header.key.clone(), bytes));
            }
        }
        Ok(Converted {
            topic,
            partition: record.partition(),
            timestamp: record.timestamp(),
            key,
            value,
            headers,
        })
    }

    /// Tolerates a source failure (sources have no dead letter queue, as in Kafka: the record
    /// is logged and skipped) or returns the trace the task fails with. `polled` is the record
    /// as polled, for its source partition and offset.
    fn skip_source<'a>(
        &mut self,
        failure: Failure,
        record: SourceView<'_>,
        polled: Option<BatchRecord<'_>>,
    ) -> Result<Processed<Converted<'a>>, String> {
        let failure = self.errors.tolerate(failure)?;
        let (partition, offset) = match (record, polled) {
            (SourceView::Owned(r), _) => (
                r.source_partition.as_deref().cloned(),
                r.source_offset.clone(),
            ),
            (_, Some(p)) | (SourceView::Batch { record: p, .. }, None) => (
                p.source_partition().map(|p| (**p).clone()),
                p.source_offset().and_then(Result::ok),
            ),
        };
        let position = format!(
            "source record is {{topic='{}', partition={partition:?}, offset={offset:?}}}",
            record.topic(),
        );
        self.errors
            .log(&failure, &position, || format!("{record:?}"));
        Ok(Processed::Done)
    }

    /// Converts and transforms consumed records, calling each converter once for the whole
    /// batch (a plugin converter crosses the plugin boundary once); a record whose batch
    /// conversion failed is converted again on its own under the error policy. Stops after a
    /// record that is [`Processed::Stopping`].
    pub fn sink_batch(
        &mut self,
        control: &TaskControl,
        messages: &[&dyn KafkaMessage],
    ) -> Result<Vec<Processed<SinkRecord>>, String> {
        let raw = |key: bool| -> Vec<RawData<'_>> {
            messages
                .iter()
                .map(|m| RawData {
                    topic: m.topic(),
                    bytes: if key { m.key() } else { m.value() },
                })
                .collect()
        };
        let keys = self.converters.key.to_connect_batch(&raw(true));
        let values = self.converters.value.to_connect_batch(&raw(false));
        let mut out = Vec::with_capacity(messages.len());
        for ((m, key), value) in messages.iter().zip(keys).zip(values) {
            let processed = self.sink_converted(control, *m, key.ok(), value.ok())?;
            let stopping = matches!(processed, Processed::Stopping);
            out.push(processed);
            if stopping {
                break;
            }
        }
        Ok(out)
    }

    /// [`Pipeline::sink`] with the key and value already converted, when they were.
    fn sink_converted(
        &mut self,
        control: &TaskControl,
        m: &dyn KafkaMessage,
        key: Option<Connected>,
        value: Option<Connected>,
    ) -> Result<Processed<SinkRecord>, String> {
        let mut record = match self.convert_sink(control, m, key, value) {
            Ok(record) => record,
            Err(RunError::Failed(failure)) => return self.skip_sink(failure, m),
            Err(RunError::Stopping) => return Ok(Processed::Stopping),
        };
        // As Java: after conversion and before transformations, so records the chain filters
        // out count too.
        if let Some(topics) = &mut self.topics {
            topics.record(m.topic());
        }
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
                Err(RunError::Failed(failure)) => return self.skip_sink(failure, m),
                Err(RunError::Stopping) => return Ok(Processed::Stopping),
            }
        }
        if record.topic != m.topic() {
            record.original_topic = Some(m.topic().to_owned());
        }
        Ok(Processed::Ready(record))
    }

    fn convert_sink(
        &mut self,
        control: &TaskControl,
        m: &dyn KafkaMessage,
        key: Option<Connected>,
        value: Option<Connected>,
    ) -> Result<SinkRecord, RunError> {
        let topic = m.topic();
        let c = &self.converters;
        let (key_schema, key) = match key {
            Some(converted) => converted,
            None => self
                .errors
                .run(control, Stage::KeyConverter, &c.key_class, || {
                    c.key.to_connect(topic, m.key()).map_err(converter_error)
                })?,
        };
        let (value_schema, value) = match value {
            Some(converted) => converted,
            None => self
                .errors
                .run(control, Stage::ValueConverter, &c.value_class, || {
                    c.value
                        .to_connect(topic, m.value())
                        .map_err(converter_error)
                })?,
        };
        let mut headers = Headers::new();
        for i in 0..m.header_count() {
            let Some((name, bytes)) = m.header(i) else {
                continue;
            };
            let (schema, value) =
                self.errors
                    .run(control, Stage::HeaderConverter, &c.header_class, || {
                        c.header
                            .to_connect_header(topic, name, bytes)
                            .map_err(converter_error)
                    })?;
            headers.add(name, schema, value);
        }
        let (timestamp, timestamp_type) = m.timestamp();
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

    /// Tolerates a sink failure (log, dead letter queue) or returns the trace the task fails
    /// with.
    fn skip_sink(
        &mut self,
        failure: Failure,
        m: &dyn KafkaMessage,
    ) -> Result<Processed<SinkRecord>, String> {
        let failure = self.errors.tolerate(failure)?;
        self.report(&failure, RawRecord::from_message(m))?;
        Ok(Processed::Done)
    }

    /// Logs a tolerated failure and writes the record to the dead letter queue.
    pub fn report(&self, failure: &Failure, raw: RawRecord) -> Result<(), String> {
        self.errors.log(failure, &raw.position(), || raw.describe());
        let Some(dlq) = &self.dlq else {
            return Ok(());
        };
        self.errors.count_dlq_request();
        dlq.send(&raw, failure).map_err(|e| {
            self.errors.count_dlq_failure();
            trace("Failed to write to the dead letter queue", e)
        })
    }
}
