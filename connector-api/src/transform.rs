//! Single-message transformations and predicates (Kafka Connect's `Transformation` and
//! `Predicate`), and the record they see: Kafka Connect's `ConnectRecord`, implemented for both
//! [`SourceRecord`] (source path, before the converter) and [`SinkRecord`] (sink path, after
//! it). Transformations rewrite the record in place.
//!
//! The built-ins live in the `tributary-transforms` crate; a plugin library exports its own
//! with [`crate::export_plugin!`].

use thiserror::Error;

use crate::error::DataError;
use crate::{Headers, SchemaRef, SinkRecord, SourceRecord, Value};

/// What happens to a record after a transformation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Outcome {
    /// Pass the (possibly rewritten) record on.
    Keep,
    /// Drop the record (Java: the transformation returned null).
    Drop,
}

/// A single-message transformation. Each task builds its own instances, so a transformation
/// may keep caches in `&mut self`.
pub trait Transformation: Send {
    /// Rewrites `record` in place. On a non-retriable error the record's contents are
    /// unspecified (the framework drops or dead-letters the original).
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError>;
}

/// A predicate that decides whether a transformation applies to a record.
pub trait Predicate: Send {
    fn test(&self, record: &dyn ConnectRecord) -> bool;
}

/// A transformation could not handle a record (Java's `DataException`), or hit a failure
/// worth retrying (Java's `RetriableException`).
#[derive(Debug, Clone, PartialEq, Eq, Error, serde::Serialize, serde::Deserialize)]
#[error("{message}")]
pub struct TransformError {
    pub message: String,
    /// The framework may retry the same record (`errors.retry.timeout`). A transformation that
    /// returns a retriable error must leave the record as it found it.
    pub retriable: bool,
}

impl TransformError {
    /// A data error: the record cannot be transformed.
    pub fn new(message: impl Into<String>) -> TransformError {
        TransformError {
            message: message.into(),
            retriable: false,
        }
    }
}

impl From<DataError> for TransformError {
    fn from(e: DataError) -> TransformError {
        TransformError::new(e.message)
    }
}

/// Which half of the record a `$Key` / `$Value` transformation works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Side {
    Key,
    Value,
}

impl Side {
    /// `Key` or `Value`, the Java nested class name.
    pub fn class_suffix(self) -> &'static str {
        match self {
            Side::Key => "Key",
            Side::Value => "Value",
        }
    }
}

/// The parts of a Connect record that transformations and predicates read and rewrite.
pub trait ConnectRecord {
    fn topic(&self) -> &str;
    fn set_topic(&mut self, topic: String);
    /// The Kafka partition: set on sink records; on source records only if the task chose one.
    fn kafka_partition(&self) -> Option<i32>;
    /// The Kafka offset: sink records only.
    fn kafka_offset(&self) -> Option<i64>;
    /// Milliseconds since the epoch, if the record has a timestamp.
    fn timestamp(&self) -> Option<i64>;
    /// True for sink records (Java's `SinkRecord`), false for source records.
    fn is_sink(&self) -> bool;
    fn key_schema(&self) -> Option<&SchemaRef>;
    fn key(&self) -> &Value;
    fn value_schema(&self) -> Option<&SchemaRef>;
    fn value(&self) -> &Value;
    /// The schema and value of the key, to rewrite.
    fn key_mut(&mut self) -> (&mut Option<SchemaRef>, &mut Value);
    /// The schema and value of the value, to rewrite.
    fn value_mut(&mut self) -> (&mut Option<SchemaRef>, &mut Value);
    fn headers(&self) -> &Headers;
    fn headers_mut(&mut self) -> &mut Headers;
}

impl dyn ConnectRecord + '_ {
    /// The schema and value of one side (Java's `operatingSchema` / `operatingValue`).
    pub fn data(&self, side: Side) -> (Option<&SchemaRef>, &Value) {
        match side {
            Side::Key => (self.key_schema(), self.key()),
            Side::Value => (self.value_schema(), self.value()),
        }
    }

    /// The schema and value of one side, to rewrite.
    pub fn data_mut(&mut self, side: Side) -> (&mut Option<SchemaRef>, &mut Value) {
        match side {
            Side::Key => self.key_mut(),
            Side::Value => self.value_mut(),
        }
    }
}

/// The accessors both record types share; only partition, offset and kind differ.
macro_rules! common_accessors {
    () => {
        fn topic(&self) -> &str {
            &self.topic
        }
        fn set_topic(&mut self, topic: String) {
            self.topic = topic;
        }
        fn timestamp(&self) -> Option<i64> {
            self.timestamp
        }
        fn key_schema(&self) -> Option<&SchemaRef> {
            self.key_schema.as_ref()
        }
        fn key(&self) -> &Value {
            &self.key
        }
        fn value_schema(&self) -> Option<&SchemaRef> {
            self.value_schema.as_ref()
        }
        fn value(&self) -> &Value {
            &self.value
        }
        fn key_mut(&mut self) -> (&mut Option<SchemaRef>, &mut Value) {
            (&mut self.key_schema, &mut self.key)
        }
        fn value_mut(&mut self) -> (&mut Option<SchemaRef>, &mut Value) {
            (&mut self.value_schema, &mut self.value)
        }
        fn headers(&self) -> &Headers {
            &self.headers
        }
        fn headers_mut(&mut self) -> &mut Headers {
            &mut self.headers
        }
    };
}
pub(crate) use common_accessors;

impl ConnectRecord for SourceRecord {
    common_accessors!();
    fn kafka_partition(&self) -> Option<i32> {
        self.kafka_partition
    }
    fn kafka_offset(&self) -> Option<i64> {
        None
    }
    fn is_sink(&self) -> bool {
        false
    }
}

impl ConnectRecord for SinkRecord {
    common_accessors!();
    fn kafka_partition(&self) -> Option<i32> {
        Some(self.kafka_partition)
    }
    fn kafka_offset(&self) -> Option<i64> {
        Some(self.kafka_offset)
    }
    fn is_sink(&self) -> bool {
        true
    }
}
