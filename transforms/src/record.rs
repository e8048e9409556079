//! The record a transformation sees: Kafka Connect's `ConnectRecord`, implemented for both
//! [`SourceRecord`] (source path, before the converter) and [`SinkRecord`] (sink path, after
//! it). Transformations rewrite the record in place.

use tributary_connector_api::{Headers, SchemaRef, SinkRecord, SourceRecord, Value};

/// Which half of the record a `$Key` / `$Value` transformation works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
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
