//! The record pipeline both task loops run each record through: conversion, the
//! transformation chain, and the connector's error policy (retries, tolerance, the error log
//! and, for sinks, the dead letter queue). Source records are transformed, then converted to
//! bytes; consumed records are converted from bytes, then transformed.

use std::sync::Arc;

use tributary_connector_api::converter::{ConnectData, Connected, RawData};
use tributary_connector_api::{Headers, SinkRecord, SourceRecord};
use tributary_transforms::{Outcome, TransformChain};

use super::convert::{transform_chain, TaskConverters};
use super::dead_letter::{DeadLetterQueue, RawRecord};
use super::errors::{ErrorHandler, ErrorPolicy, Failure, OpError, RunError, Stage};
use super::kafka::KafkaMessage;
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

/// A source record's bytes.
#[derive(Debug, Default)]
pub struct Converted {
    pub key: Option<Vec<u8>>,
    pub value: Option<Vec<u8>>,
    pub headers: Vec<(String, Option<Vec<u8>>)>,
}

/// One task's converters, transformation chain, error policy and dead letter queue.
pub struct Pipeline {
    converters: TaskConverters,
    chain: TransformChain,
    pub errors: ErrorHandler,
    /// Sink tasks only, and only when `errors.deadletterqueue.topic.name` is set.
    pub dlq: Option<Arc<DeadLetterQueue>>,
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
        })
    }

    /// Transforms and converts the records of one poll, calling each converter once for the
    /// whole batch (a plugin converter crosses the plugin boundary once); a record whose batch
    /// conversion failed is converted again on its own under the error policy. One result per
    /// record, in order: an `Err` is the trace the task fails with once the records before it
    /// are sent; after an `Err` or a [`Processed::Stopping`] every later record is `Stopping`.
    pub fn source_batch(
        &mut self,
        control: &TaskControl,
        records: &mut [SourceRecord],
    ) -> Vec<Result<Processed<Converted>, String>> {
        let mut out: Vec<Option<Result<Processed<Converted>, String>>> =
            Vec::with_capacity(records.len());
        let mut stopping = false;
        for record in records.iter_mut() {
            if stopping {
                out.push(Some(Ok(Processed::Stopping)));
                continue;
            }
            let transformed = self.transform_source(control, record).transpose();
            stopping = matches!(transformed, Some(Ok(Processed::Stopping)) | Some(Err(_)));
            out.push(transformed);
        }
        let ready: Vec<usize> = (0..records.len()).filter(|&i| out[i].is_none()).collect();
        let data = |key: bool| -> Vec<ConnectData<'_>> {
            ready
                .iter()
                .map(|&i| {
                    let r = &records[i];
                    ConnectData {
                        topic: &r.topic,
                        schema: if key {
                            r.key_schema.as_ref()
                        } else {
                            r.value_schema.as_ref()
                        },
                        value: if key { &r.key } else { &r.value },
                    }
                })
                .collect()
        };
        let keys = self.converters.key.from_connect_batch(&data(true));
        let values = self.converters.value.from_connect_batch(&data(false));
        let mut stopped = false;
        for ((&i, key), value) in ready.iter().zip(keys).zip(values) {
            if stopped {
                out[i] = Some(Ok(Processed::Stopping));
                continue;
            }
            let record = &records[i];
            let converted = match self.convert_source(control, record, key.ok(), value.ok()) {
                Ok(converted) => Ok(Processed::Ready(converted)),
                Err(RunError::Failed(failure)) => self.skip_source(failure, record),
                Err(RunError::Stopping) => Ok(Processed::Stopping),
            };
            stopped = matches!(converted, Ok(Processed::Stopping) | Err(_));
            out[i] = Some(converted);
        }
        out.into_iter()
            .map(|p| p.unwrap_or(Ok(Processed::Stopping)))
            .collect()
    }

    /// Runs the transformation chain over a polled record: `None` when it is to be converted.
    fn transform_source(
        &mut self,
        control: &TaskControl,
        record: &mut SourceRecord,
    ) -> Result<Option<Processed<Converted>>, String> {
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
                    return self.skip_source(failure, record).map(Some)
                }
                Err(RunError::Stopping) => return Ok(Some(Processed::Stopping)),
            }
        }
        Ok(None)
    }

    /// A transformed record's bytes, with the key and value already converted when they were.
    fn convert_source(
        &mut self,
        control: &TaskControl,
        record: &SourceRecord,
        key: Option<Option<Vec<u8>>>,
        value: Option<Option<Vec<u8>>>,
    ) -> Result<Converted, RunError> {
        let topic = record.topic.as_str();
        let conv = &self.converters;
        let key = match key {
            Some(bytes) => bytes,
            None => self
                .errors
                .run(control, Stage::KeyConverter, &conv.key_class, || {
                    conv.key
                        .from_connect(topic, record.key_schema.as_ref(), &record.key)
                        .map_err(converter_error)
                })?,
        };
        let value = match value {
            Some(bytes) => bytes,
            None => self
                .errors
                .run(control, Stage::ValueConverter, &conv.value_class, || {
                    conv.value
                        .from_connect(topic, record.value_schema.as_ref(), &record.value)
                        .map_err(converter_error)
                })?,
        };
        let mut headers = Vec::new();
        if !record.headers.is_empty() {
            headers.reserve_exact(record.headers.len());
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
                                .map_err(converter_error)
                        })?;
                headers.push((header.key.clone(), bytes));
            }
        }
        Ok(Converted {
            key,
            value,
            headers,
        })
    }

    /// Tolerates a source failure (sources have no dead letter queue, as in Kafka: the record
    /// is logged and skipped) or returns the trace the task fails with.
    fn skip_source(
        &mut self,
        failure: Failure,
        record: &SourceRecord,
    ) -> Result<Processed<Converted>, String> {
        let failure = self.errors.tolerate(failure)?;
        let position = format!(
            "source record is {{topic='{}', partition={:?}, offset={:?}}}",
            record.topic,
            record.source_partition.as_deref(),
            record.source_offset
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
