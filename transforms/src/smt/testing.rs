//! Test helpers for the transformation modules: records, props and schemas in one line.
#![allow(dead_code)] // each module uses a different subset

use tributary_connector_api::config::ConfigError;
use tributary_connector_api::{
    Headers, Props, SchemaRef, SinkRecord, SourceRecord, Struct, TimestampType, Value,
};

use crate::plugin::{Outcome, Transformation};
use crate::record::ConnectRecord;

/// Props from `(key, value)` pairs.
pub fn props(pairs: &[(&str, &str)]) -> Props {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Builds a transformation by its full class name (e.g. `…Cast$Value`).
pub fn build(class: &str, pairs: &[(&str, &str)]) -> Result<Box<dyn Transformation>, ConfigError> {
    let plugin = crate::find_transformation(class)
        .unwrap_or_else(|| panic!("no transformation class {class}"));
    plugin.build(&props(pairs))
}

/// Builds a transformation that must configure.
pub fn transform(class: &str, pairs: &[(&str, &str)]) -> Box<dyn Transformation> {
    build(class, pairs).unwrap_or_else(|e| panic!("{class} config {pairs:?}: {e} (key {})", e.key))
}

/// A sink record on `topic` partition 0 offset 42, timestamp 1000 (CreateTime).
pub fn sink(
    topic: &str,
    key_schema: Option<SchemaRef>,
    key: Value,
    value_schema: Option<SchemaRef>,
    value: Value,
) -> SinkRecord {
    SinkRecord {
        topic: topic.to_owned(),
        kafka_partition: 0,
        kafka_offset: 42,
        key_schema,
        key,
        value_schema,
        value,
        timestamp: Some(1000),
        timestamp_type: TimestampType::CreateTime,
        headers: Headers::new(),
        original_topic: None,
    }
}

/// A source record on `topic` with no partition, offset or timestamp.
pub fn source(
    topic: &str,
    key_schema: Option<SchemaRef>,
    key: Value,
    value_schema: Option<SchemaRef>,
    value: Value,
) -> SourceRecord {
    SourceRecord {
        source_partition: None,
        source_offset: None,
        topic: topic.to_owned(),
        kafka_partition: None,
        key_schema,
        key,
        value_schema,
        value,
        timestamp: None,
        headers: Headers::new(),
    }
}

/// A schemaless map value with string keys.
pub fn map(entries: Vec<(&str, Value)>) -> Value {
    Value::Map(
        entries
            .into_iter()
            .map(|(k, v)| (Value::String(k.to_owned()), v))
            .collect(),
    )
}

/// A struct value over `schema` with the given field values (checked).
pub fn strukt(schema: &SchemaRef, fields: Vec<(&str, Value)>) -> Value {
    let mut s = Struct::new(schema.clone()).expect("struct schema");
    for (name, v) in fields {
        s.put(name, v)
            .unwrap_or_else(|e| panic!("field {name}: {e}"));
    }
    Value::Struct(s)
}

/// Applies `t` and returns the outcome, panicking on a transformation error.
pub fn apply(t: &mut dyn Transformation, record: &mut dyn ConnectRecord) -> Outcome {
    t.apply(record).unwrap_or_else(|e| panic!("apply: {e}"))
}
