//! Source and sink records and their headers.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::schema::SchemaRef;
use crate::value::Value;

/// A source partition or source offset: a JSON object with primitive values.
/// Integers read back from storage are 64-bit, as in Kafka Connect.
pub type OffsetMap = serde_json::Map<String, serde_json::Value>;

/// String-to-string properties: connector and task configs.
pub type Props = std::collections::BTreeMap<String, String>;

/// One record header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    pub key: String,
    #[serde(default, with = "crate::abi::intern::opt_schema_ref")]
    pub schema: Option<SchemaRef>,
    pub value: Value,
}

/// Record headers, in order; keys may repeat.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Headers(pub Vec<Header>);

impl Headers {
    pub fn new() -> Headers {
        Headers(Vec::new())
    }

    pub fn add(&mut self, key: impl Into<String>, schema: Option<SchemaRef>, value: Value) {
        self.0.push(Header {
            key: key.into(),
            schema,
            value,
        });
    }

    /// The last header with this key.
    pub fn last_with_name(&self, key: &str) -> Option<&Header> {
        self.0.iter().rev().find(|h| h.key == key)
    }

    /// Removes every header with this key.
    pub fn remove(&mut self, key: &str) {
        self.0.retain(|h| h.key != key);
    }

    pub fn iter(&self) -> impl Iterator<Item = &Header> {
        self.0.iter()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A Kafka topic partition.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TopicPartition {
    pub topic: String,
    pub partition: i32,
}

impl TopicPartition {
    pub fn new(topic: impl Into<String>, partition: i32) -> TopicPartition {
        TopicPartition {
            topic: topic.into(),
            partition,
        }
    }
}

/// A record produced by a source task.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceRecord {
    /// Where the record came from (e.g. `{"filename": "/data/in.txt"}`); `None` for sources
    /// that track nothing (stdin). Shared: a task keeps one `Arc` per partition and clones it
    /// into each record.
    pub source_partition: Option<Arc<OffsetMap>>,
    /// The position just after this record within its source partition.
    pub source_offset: Option<OffsetMap>,
    pub topic: String,
    /// `None` lets the producer pick the partition.
    pub kafka_partition: Option<i32>,
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    /// Milliseconds since the epoch; `None` lets the producer stamp it.
    pub timestamp: Option<i64>,
    pub headers: Headers,
}

impl SourceRecord {
    /// A record with a value only.
    pub fn new(
        source_partition: Option<Arc<OffsetMap>>,
        source_offset: Option<OffsetMap>,
        topic: impl Into<String>,
        value_schema: Option<SchemaRef>,
        value: Value,
    ) -> SourceRecord {
        SourceRecord {
            source_partition,
            source_offset,
            topic: topic.into(),
            kafka_partition: None,
            key_schema: None,
            key: Value::Null,
            value_schema,
            value,
            timestamp: None,
            headers: Headers::new(),
        }
    }
}

/// How a sink record's timestamp was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimestampType {
    NoTimestampType,
    CreateTime,
    LogAppendTime,
}

/// A record delivered to a sink task.
#[derive(Debug, Clone, PartialEq)]
pub struct SinkRecord {
    pub topic: String,
    pub kafka_partition: i32,
    pub kafka_offset: i64,
    pub key_schema: Option<SchemaRef>,
    pub key: Value,
    pub value_schema: Option<SchemaRef>,
    pub value: Value,
    pub timestamp: Option<i64>,
    pub timestamp_type: TimestampType,
    pub headers: Headers,
    /// The topic the record was consumed from, when a transformation renamed it (Kafka's
    /// `SinkRecord.originalTopic()`). Transformations never change the partition or offset.
    pub original_topic: Option<String>,
}

/// Where the broker stored an acknowledged source record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordMetadata {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
}
