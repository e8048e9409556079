//! `org.apache.kafka.connect.transforms.InsertField$Key` / `$Value`: adds fields carrying the
//! record's topic, partition, offset (sink records only), timestamp, or a configured static
//! string to a Struct (with a schema) or a Map (schemaless) key or value.
//!
//! Each `*.field` key names a field to add; a trailing `!` makes it a required field of the
//! output schema, a trailing `?` (or no suffix) an optional one. With a schema the output is a
//! struct schema holding the input's fields followed by the inserted ones, in the order topic
//! (string), partition (int32), offset (int64), timestamp (the `Timestamp` logical type), static
//! (string). Without a schema the entries are set in the map, the timestamp as epoch
//! milliseconds. Metadata the record does not have (a source record's partition or timestamp)
//! is left null (schema) or not added (schemaless). A null key / value (a tombstone) passes
//! through unchanged.

use tributary_connector_api::config::ConfigError;
use tributary_connector_api::{
    logical, ConfigDef, ConfigType, Importance, Props, Schema, SchemaRef, Struct, Value,
};

use crate::config;
use crate::error::TransformError;
use crate::plugin::{key_value, Outcome, TransformPlugin, Transformation};
use crate::record::{ConnectRecord, Side};
use crate::schema_util::{
    check_put, require_map, require_sink, require_struct, struct_schema, with_default, SchemaCache,
};

/// The class that inserts into the record key.
pub const KEY_CLASS: &str = "org.apache.kafka.connect.transforms.InsertField$Key";
/// The class that inserts into the record value.
pub const VALUE_CLASS: &str = "org.apache.kafka.connect.transforms.InsertField$Value";

const TOPIC_FIELD: &str = "topic.field";
const PARTITION_FIELD: &str = "partition.field";
const OFFSET_FIELD: &str = "offset.field";
const TIMESTAMP_FIELD: &str = "timestamp.field";
const STATIC_FIELD: &str = "static.field";
const STATIC_VALUE: &str = "static.value";

const PURPOSE: &str = "field insertion";

/// The `$Key` and `$Value` variants.
pub fn plugins() -> Vec<TransformPlugin> {
    key_value(KEY_CLASS, VALUE_CLASS, config_def, InsertField::create).to_vec()
}

fn config_def() -> ConfigDef {
    const SUFFIX: &str =
        "Append <code>!</code> for a required field, or <code>?</code> for an optional one (the default).";
    let field = |name: &str, what: &str| {
        config::optional(
            name,
            ConfigType::String,
            Importance::Medium,
            &format!("{what} {SUFFIX}"),
        )
    };
    ConfigDef::new()
        .define(field(
            TOPIC_FIELD,
            "Name of the field to hold the Kafka topic.",
        ))
        .define(field(
            PARTITION_FIELD,
            "Name of the field to hold the Kafka partition.",
        ))
        .define(field(
            OFFSET_FIELD,
            "Name of the field to hold the Kafka offset (sink connectors only).<br/>",
        ))
        .define(field(
            TIMESTAMP_FIELD,
            "Name of the field to hold the record timestamp.",
        ))
        .define(field(
            STATIC_FIELD,
            "Name of the field to hold the static value.",
        ))
        .define(config::optional(
            STATIC_VALUE,
            ConfigType::String,
            Importance::Medium,
            "The value of the static field, when a static field name is set.",
        ))
        .define(config::replace_null_with_default())
}

/// A field to insert: its name and whether it is optional in the output schema.
#[derive(Debug, Clone, PartialEq, Eq)]
struct InsertionSpec {
    name: String,
    optional: bool,
}

impl InsertionSpec {
    /// `name?` and `name` are optional, `name!` required (the `?` is looked for first).
    fn parse(spec: Option<&str>) -> Option<InsertionSpec> {
        let spec = spec?;
        let (name, optional) = if let Some(name) = spec.strip_suffix('?') {
            (name, true)
        } else if let Some(name) = spec.strip_suffix('!') {
            (name, false)
        } else {
            (spec, true)
        };
        Some(InsertionSpec {
            name: name.to_owned(),
            optional,
        })
    }
}

/// What an inserted field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Topic,
    Partition,
    Offset,
    Timestamp,
    Static,
}

impl Kind {
    /// The schema of the inserted field.
    fn schema(self, optional: bool) -> SchemaRef {
        match (self, optional) {
            (Kind::Topic | Kind::Static, true) => Schema::optional_string(),
            (Kind::Topic | Kind::Static, false) => Schema::string(),
            (Kind::Partition, true) => Schema::optional_int32(),
            (Kind::Partition, false) => Schema::int32(),
            (Kind::Offset, true) => Schema::optional_int64(),
            (Kind::Offset, false) => Schema::int64(),
            (Kind::Timestamp, true) => logical::timestamp().optional().into_ref(),
            (Kind::Timestamp, false) => logical::timestamp().into_ref(),
        }
    }
}

/// The configured insertions.
struct Insertions {
    topic: Option<InsertionSpec>,
    partition: Option<InsertionSpec>,
    offset: Option<InsertionSpec>,
    timestamp: Option<InsertionSpec>,
    static_field: Option<InsertionSpec>,
    static_value: String,
}

/// The record metadata the insertions read, taken before the record is rewritten.
struct Metadata {
    topic: String,
    partition: Option<i32>,
    offset: Option<i64>,
    timestamp: Option<i64>,
}

impl Insertions {
    /// The configured fields, in the order they are added.
    fn fields(&self) -> impl Iterator<Item = (Kind, &InsertionSpec)> {
        [
            (Kind::Topic, &self.topic),
            (Kind::Partition, &self.partition),
            (Kind::Offset, &self.offset),
            (Kind::Timestamp, &self.timestamp),
            (Kind::Static, &self.static_field),
        ]
        .into_iter()
        .filter_map(|(kind, spec)| spec.as_ref().map(|spec| (kind, spec)))
    }

    /// The value to insert, `None` when the record has no such metadata.
    fn value(&self, kind: Kind, meta: &Metadata) -> Option<Value> {
        match kind {
            Kind::Topic => Some(Value::String(meta.topic.clone())),
            Kind::Partition => meta.partition.map(Value::Int32),
            Kind::Offset => meta.offset.map(Value::Int64),
            Kind::Timestamp => meta.timestamp.map(Value::Int64),
            Kind::Static => Some(Value::String(self.static_value.clone())),
        }
    }

    /// The record's metadata; an offset insertion needs a sink record.
    fn metadata(&self, record: &dyn ConnectRecord) -> Result<Metadata, TransformError> {
        if self.offset.is_some() {
            require_sink(record, PURPOSE)?;
        }
        Ok(Metadata {
            topic: if self.topic.is_some() {
                record.topic().to_owned()
            } else {
                String::new()
            },
            partition: record.kafka_partition(),
            offset: record.kafka_offset(),
            timestamp: record.timestamp(),
        })
    }

    /// The input's fields followed by the inserted ones.
    fn updated_schema(&self, input: &SchemaRef) -> Result<SchemaRef, TransformError> {
        let mut fields: Vec<(String, SchemaRef)> = input
            .fields
            .iter()
            .map(|f| (f.name.clone(), f.schema.clone()))
            .collect();
        for (kind, spec) in self.fields() {
            fields.push((spec.name.clone(), kind.schema(spec.optional)));
        }
        struct_schema(input, fields)
    }
}

/// Sets the entry `name` of a schemaless map (in place if present, else appended).
fn put(entries: &mut Vec<(Value, Value)>, name: &str, value: Value) {
    match entries.iter_mut().find(|(k, _)| k.as_str() == Some(name)) {
        Some((_, slot)) => *slot = value,
        None => entries.push((Value::String(name.to_owned()), value)),
    }
}

/// Inserts record metadata and a static value as fields.
pub struct InsertField {
    side: Side,
    insertions: Insertions,
    replace_null_with_default: bool,
    cache: SchemaCache,
}

impl InsertField {
    pub(crate) fn create(
        side: Side,
        props: &Props,
    ) -> Result<Box<dyn Transformation>, ConfigError> {
        let cfg = config::parse(&config_def(), props)?;
        let spec = |key: &str| InsertionSpec::parse(cfg.get(key));
        let static_field = spec(STATIC_FIELD);
        let static_value = cfg.get_string(STATIC_VALUE);
        let insertions = Insertions {
            topic: spec(TOPIC_FIELD),
            partition: spec(PARTITION_FIELD),
            offset: spec(OFFSET_FIELD),
            timestamp: spec(TIMESTAMP_FIELD),
            static_value: match (&static_field, static_value) {
                (Some(field), None) => {
                    return Err(config::invalid(
                        STATIC_VALUE,
                        "null",
                        format!("no value given for the static field {}", field.name),
                    ))
                }
                (_, value) => value.unwrap_or_default(),
            },
            static_field,
        };
        if insertions.fields().next().is_none() {
            // Java's error names no key; it is reported on the first insertion key.
            return Err(ConfigError {
                key: TOPIC_FIELD.to_owned(),
                message: "No field insertion configured".to_owned(),
            });
        }
        Ok(Box::new(InsertField {
            side,
            insertions,
            replace_null_with_default: cfg
                .get_bool(config::REPLACE_NULL_WITH_DEFAULT)
                .unwrap_or(true),
            cache: SchemaCache::new(),
        }))
    }
}

impl Transformation for InsertField {
    fn apply(&mut self, record: &mut dyn ConnectRecord) -> Result<Outcome, TransformError> {
        let side = self.side;
        let insertions = &self.insertions;
        let (schema, value) = record.data(side);
        if value.is_null() {
            return Ok(Outcome::Keep);
        }

        if schema.is_none() {
            require_map(value, PURPOSE)?;
            let meta = insertions.metadata(record)?;
            if let (_, Value::Map(entries)) = record.data_mut(side) {
                for (kind, spec) in insertions.fields() {
                    if let Some(v) = insertions.value(kind, &meta) {
                        put(entries, &spec.name, v);
                    }
                }
            }
            return Ok(Outcome::Keep);
        }

        // Java derives the output from the struct's own schema.
        let input = require_struct(value, PURPOSE)?;
        let out_schema = self
            .cache
            .get_or_try_insert(input.schema(), |s| insertions.updated_schema(s))?;
        for (field, v) in input.schema().fields.iter().zip(input.values()) {
            let v = with_default(v, &field.schema, self.replace_null_with_default);
            check_put(&field.name, &field.schema, v)?;
            v.validate(&field.schema)?;
        }
        let meta = insertions.metadata(record)?;

        // Every check passed: rewrite.
        let (schema_slot, value_slot) = record.data_mut(side);
        let Value::Struct(input) = std::mem::take(value_slot) else {
            return Err(TransformError::new(
                "the struct value changed under the transformation",
            ));
        };
        let (in_schema, mut values) = input.into_parts();
        if self.replace_null_with_default {
            for (v, field) in values.iter_mut().zip(&in_schema.fields) {
                if let (Value::Null, Some(default)) = (&v, &field.schema.default) {
                    *v = default.clone();
                }
            }
        }
        values.reserve_exact(out_schema.fields.len() - values.len());
        for (kind, _) in insertions.fields() {
            values.push(insertions.value(kind, &meta).unwrap_or(Value::Null));
        }
        // Filled without `Struct::put`'s check: an absent metadata value leaves even a required
        // inserted field null, as Java does.
        let out = Struct::from_values(out_schema.clone(), values)?;
        *schema_slot = Some(out_schema);
        *value_slot = Value::Struct(out);
        Ok(Outcome::Keep)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tributary_connector_api::{SourceRecord, Type};

    use super::*;
    use crate::smt::testing::{apply, build, map, sink, source, strukt, transform};

    const ALL: &[(&str, &str)] = &[
        ("topic.field", "topic_field!"),
        ("partition.field", "partition_field"),
        ("offset.field", "offset_field?"),
        ("timestamp.field", "timestamp_field?"),
        ("static.field", "instance_id"),
        ("static.value", "my-instance-id"),
    ];

    /// `ALL` without the offset (which source records cannot have).
    fn without_offset() -> Vec<(&'static str, &'static str)> {
        ALL.iter()
            .copied()
            .filter(|(k, _)| *k != "offset.field")
            .collect()
    }

    fn input_schema() -> SchemaRef {
        Schema::struct_([("magic", Schema::optional_int64())])
            .with_name("name")
            .with_version(1)
            .with_doc("doc")
            .with_parameter("p", "q")
            .optional()
            .into_ref()
    }

    /// A source record with a partition and a timestamp.
    fn source_with_meta(schema: Option<SchemaRef>, value: Value) -> SourceRecord {
        SourceRecord {
            kafka_partition: Some(3),
            timestamp: Some(789),
            ..source("test", None, Value::Null, schema, value)
        }
    }

    #[test]
    fn documented_example_adds_a_static_field_to_a_map() {
        // Kafka's docs: HoistField wraps each line in a map, InsertField tags its source.
        let mut t = transform(
            VALUE_CLASS,
            &[
                ("static.field", "data_source"),
                ("static.value", "test-file-source"),
            ],
        );
        let mut r = source(
            "connect-test",
            None,
            Value::Null,
            None,
            map(vec![("line", "foo".into())]),
        );
        assert_eq!(apply(t.as_mut(), &mut r), Outcome::Keep);
        assert_eq!(r.value_schema, None);
        assert_eq!(
            r.value,
            map(vec![
                ("line", "foo".into()),
                ("data_source", "test-file-source".into())
            ])
        );
    }

    #[test]
    fn with_schema_appends_fields_in_java_order_and_types() {
        let mut t = transform(VALUE_CLASS, ALL);
        let schema = input_schema();
        let value = strukt(&schema, vec![("magic", Value::Int64(42))]);
        let mut r = sink("test", None, Value::Null, Some(schema.clone()), value);
        apply(t.as_mut(), &mut r);

        let expected = Schema::struct_([
            ("magic", Schema::optional_int64()),
            ("topic_field", Schema::string()),
            ("partition_field", Schema::optional_int32()),
            ("offset_field", Schema::optional_int64()),
            (
                "timestamp_field",
                logical::timestamp().optional().into_ref(),
            ),
            ("instance_id", Schema::optional_string()),
        ])
        .with_name("name")
        .with_version(1)
        .with_doc("doc")
        .with_parameter("p", "q")
        .into_ref();
        let out_schema = r.value_schema.clone().unwrap();
        assert_eq!(*out_schema, *expected);
        assert!(
            !out_schema.optional,
            "the output struct is required, as in Java"
        );
        assert_eq!(
            r.value,
            strukt(
                &expected,
                vec![
                    ("magic", Value::Int64(42)),
                    ("topic_field", "test".into()),
                    ("partition_field", Value::Int32(0)),
                    ("offset_field", Value::Int64(42)),
                    ("timestamp_field", Value::Int64(1000)),
                    ("instance_id", "my-instance-id".into()),
                ]
            )
        );

        // The derived schema is cached per input schema.
        let mut r2 = sink(
            "other",
            None,
            Value::Null,
            Some(schema.clone()),
            strukt(&schema, vec![]),
        );
        apply(t.as_mut(), &mut r2);
        assert!(Arc::ptr_eq(r2.value_schema.as_ref().unwrap(), &out_schema));
        let Value::Struct(s) = &r2.value else {
            panic!()
        };
        assert_eq!(s.get("magic"), Some(&Value::Null));
        assert_eq!(s.get("topic_field"), Some(&Value::from("other")));
    }

    #[test]
    fn required_suffix_and_source_records_without_metadata() {
        let pairs = [
            ("topic.field", "t?"),
            ("partition.field", "p!"),
            ("timestamp.field", " ts! "),
            ("static.field", "s!?"),
            ("static.value", "  v  "),
        ];
        let mut t = transform(VALUE_CLASS, &pairs);
        let schema = Schema::struct_([("a", Schema::int32())]).into_ref();
        let mut r = source(
            "src",
            None,
            Value::Null,
            Some(schema.clone()),
            strukt(&schema, vec![("a", Value::Int32(1))]),
        );
        apply(t.as_mut(), &mut r);
        let out = r.value_schema.clone().unwrap();
        let names: Vec<_> = out.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "t", "p", "ts", "s!"]);
        assert!(out.field("t").unwrap().schema.optional);
        assert_eq!(*out.field("p").unwrap().schema, *Schema::int32());
        assert_eq!(*out.field("ts").unwrap().schema, logical::timestamp());
        assert!(out.field("s!").unwrap().schema.optional);
        // No partition or timestamp on this source record: the fields stay null, even the
        // required ones (Java does not set them).
        let Value::Struct(s) = &r.value else { panic!() };
        assert_eq!(
            s.values(),
            &[
                Value::Int32(1),
                "src".into(),
                Value::Null,
                Value::Null,
                "v".into()
            ]
        );
    }

    #[test]
    fn schemaless_inserts_map_entries() {
        let mut t = transform(VALUE_CLASS, &without_offset());
        let mut r = source_with_meta(
            None,
            map(vec![
                ("magic", Value::Int64(42)),
                ("instance_id", "old".into()),
            ]),
        );
        apply(t.as_mut(), &mut r);
        assert_eq!(
            r.value,
            map(vec![
                ("magic", Value::Int64(42)),
                ("instance_id", "my-instance-id".into()),
                ("topic_field", "test".into()),
                ("partition_field", Value::Int32(3)),
                // Java puts the record's Long timestamp, not a Date, into a map.
                ("timestamp_field", Value::Int64(789)),
            ])
        );

        // On a sink record the offset is inserted too.
        let mut t = transform(VALUE_CLASS, &[("offset.field", "off")]);
        let mut r = sink("t", None, Value::Null, None, map(vec![]));
        apply(t.as_mut(), &mut r);
        assert_eq!(r.value, map(vec![("off", Value::Int64(42))]));
    }

    #[test]
    fn schemaless_skips_metadata_the_record_lacks() {
        let mut t = transform(VALUE_CLASS, &without_offset());
        let mut r = source(
            "test",
            None,
            Value::Null,
            None,
            map(vec![("partition_field", "kept".into())]),
        );
        apply(t.as_mut(), &mut r);
        assert_eq!(
            r.value,
            map(vec![
                ("partition_field", "kept".into()),
                ("topic_field", "test".into()),
                ("instance_id", "my-instance-id".into()),
            ])
        );
    }

    #[test]
    fn key_variant_rewrites_the_key_only() {
        let mut t = transform(KEY_CLASS, &without_offset());
        // A tombstone value with a map key: the key still gets the fields.
        let mut r = source_with_meta(None, Value::Null);
        r.key = map(vec![("magic", Value::Int64(42))]);
        apply(t.as_mut(), &mut r);
        assert_eq!(
            r.key,
            map(vec![
                ("magic", Value::Int64(42)),
                ("topic_field", "test".into()),
                ("partition_field", Value::Int32(3)),
                ("timestamp_field", Value::Int64(789)),
                ("instance_id", "my-instance-id".into()),
            ])
        );
        assert_eq!(r.value, Value::Null);

        // With a schema.
        let mut t = transform(KEY_CLASS, &[("topic.field", "topic")]);
        let schema = Schema::struct_([("id", Schema::string())]).into_ref();
        let value_schema = Schema::string();
        let mut r = sink(
            "k",
            Some(schema.clone()),
            strukt(&schema, vec![("id", "x".into())]),
            Some(value_schema.clone()),
            "v".into(),
        );
        apply(t.as_mut(), &mut r);
        let key_schema = r.key_schema.clone().unwrap();
        assert_eq!(
            *key_schema,
            Schema::struct_([
                ("id", Schema::string()),
                ("topic", Schema::optional_string())
            ])
        );
        assert_eq!(
            r.key,
            strukt(&key_schema, vec![("id", "x".into()), ("topic", "k".into())])
        );
        assert!(Arc::ptr_eq(r.value_schema.as_ref().unwrap(), &value_schema));
        assert_eq!(r.value, Value::from("v"));
    }

    #[test]
    fn null_keys_and_values_pass_through() {
        let mut t = transform(VALUE_CLASS, ALL);
        let schema = input_schema();
        let mut r = sink("t", None, Value::Null, Some(schema.clone()), Value::Null);
        apply(t.as_mut(), &mut r);
        assert!(Arc::ptr_eq(r.value_schema.as_ref().unwrap(), &schema));
        assert_eq!(r.value, Value::Null);
        let mut r = sink("t", None, Value::Null, None, Value::Null);
        apply(t.as_mut(), &mut r);
        assert_eq!((r.value_schema, r.value), (None, Value::Null));
        // Even the offset insertion lets a source tombstone through.
        let mut r = source("t", None, Value::Null, None, Value::Null);
        apply(t.as_mut(), &mut r);
        assert_eq!(r.value, Value::Null);

        let mut t = transform(KEY_CLASS, ALL);
        let mut r = sink("t", None, Value::Null, None, map(vec![("a", "b".into())]));
        apply(t.as_mut(), &mut r);
        assert_eq!((r.key_schema, r.key), (None, Value::Null));
        assert_eq!(r.value, map(vec![("a", "b".into())]));
    }

    #[test]
    fn replace_null_with_default_when_copying_fields() {
        let with_default = Schema::new(Type::Int64)
            .optional()
            .with_default(Value::Int64(42))
            .into_ref();
        let schema = Schema::struct_([("magic_with_default", with_default.clone())]).into_ref();
        for (flag, expected) in [("true", Value::Int64(42)), ("false", Value::Null)] {
            let mut t = transform(
                VALUE_CLASS,
                &[("topic.field", "t"), ("replace.null.with.default", flag)],
            );
            let mut r = sink(
                "t",
                None,
                Value::Null,
                Some(schema.clone()),
                strukt(&schema, vec![("magic_with_default", Value::Null)]),
            );
            apply(t.as_mut(), &mut r);
            let out = r.value_schema.clone().unwrap();
            assert_eq!(
                out.field("magic_with_default").unwrap().schema,
                with_default
            );
            let Value::Struct(s) = &r.value else { panic!() };
            assert_eq!(s.values(), &[expected, "t".into()], "flag {flag}");
        }

        // A required field with a default holding null: the default fills it, or (without
        // replacement) Java's `Struct.put` rejects the null.
        let required = Schema::new(Type::Int32)
            .with_default(Value::Int32(7))
            .into_ref();
        let schema = Schema::struct_([("r", required)]).into_ref();
        let record = || {
            sink(
                "t",
                None,
                Value::Null,
                Some(schema.clone()),
                strukt(&schema, vec![]),
            )
        };
        let mut t = transform(VALUE_CLASS, &[("topic.field", "t")]);
        let mut r = record();
        apply(t.as_mut(), &mut r);
        let Value::Struct(s) = &r.value else { panic!() };
        assert_eq!(s.get("r"), Some(&Value::Int32(7)));
        let mut t = transform(
            VALUE_CLASS,
            &[("topic.field", "t"), ("replace.null.with.default", "false")],
        );
        let mut r = record();
        assert!(t.apply(&mut r).is_err());
    }

    #[test]
    fn data_errors() {
        let err = |pairs: &[(&str, &str)], r: &mut dyn ConnectRecord| {
            transform(VALUE_CLASS, pairs).apply(r).unwrap_err().message
        };
        let topic = [("topic.field", "topic")];
        // A schema, but not a struct.
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(Schema::int32()),
            Value::Int32(42),
        );
        assert!(err(&topic, &mut r).contains("Only Struct objects supported for [field insertion]"));
        // A schema with a map value.
        let mut r = sink("t", None, Value::Null, Some(input_schema()), map(vec![]));
        assert!(err(&topic, &mut r).contains("Only Struct objects"));
        // Schemaless, but not a map.
        let mut r = sink("t", None, Value::Null, None, "text".into());
        assert!(err(&topic, &mut r).contains("Only Map objects supported"));
        // The offset needs a sink record, with and without a schema.
        let offset = [("offset.field", "off")];
        let mut r = source("t", None, Value::Null, None, map(vec![]));
        assert!(err(&offset, &mut r).contains("Only SinkRecord supported"));
        assert_eq!(r.value, map(vec![]), "the record is left as it was");
        let schema = input_schema();
        let mut r = source(
            "t",
            None,
            Value::Null,
            Some(schema.clone()),
            strukt(&schema, vec![]),
        );
        assert!(err(&offset, &mut r).contains("Only SinkRecord supported"));
        // An inserted name clashing with an input field or another inserted field.
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(schema.clone()),
            strukt(&schema, vec![]),
        );
        assert!(err(&[("topic.field", "magic")], &mut r).contains("duplication magic"));
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(schema.clone()),
            strukt(&schema, vec![]),
        );
        assert!(
            err(&[("topic.field", "x"), ("partition.field", "x!")], &mut r)
                .contains("duplication x")
        );
        // An empty name cannot be a struct field.
        let mut r = sink(
            "t",
            None,
            Value::Null,
            Some(schema.clone()),
            strukt(&schema, vec![]),
        );
        err(&[("topic.field", "!")], &mut r);
        // Without a schema it is just a map key, and clashes overwrite.
        let mut t = transform(
            VALUE_CLASS,
            &[
                ("topic.field", "!"),
                ("static.field", "magic"),
                ("static.value", "s"),
            ],
        );
        let mut r = sink(
            "t",
            None,
            Value::Null,
            None,
            map(vec![("magic", Value::Int64(1))]),
        );
        apply(t.as_mut(), &mut r);
        assert_eq!(r.value, map(vec![("magic", "s".into()), ("", "t".into())]));
        // A copied value that does not match its field schema.
        let mut bad = Struct::new(schema.clone()).unwrap();
        bad.put_index(0, "not a number".into());
        let mut r = sink("t", None, Value::Null, Some(schema), Value::Struct(bad));
        err(&topic, &mut r);
    }

    #[test]
    fn config_errors_name_the_key() {
        let key = |pairs: &[(&str, &str)]| build(VALUE_CLASS, pairs).err().unwrap().key;
        assert_eq!(key(&[]), "topic.field");
        assert_eq!(key(&[("static.value", "v")]), "topic.field");
        assert_eq!(key(&[("static.field", "s")]), "static.value");
        assert_eq!(
            key(&[("topic.field", "t"), ("replace.null.with.default", "maybe")]),
            "replace.null.with.default"
        );
        assert!(build(KEY_CLASS, &[("static.field", "s"), ("static.value", "")]).is_ok());
        assert!(build(KEY_CLASS, &[("timestamp.field", "ts")]).is_ok());
    }

    #[test]
    fn both_variants_are_registered() {
        for class in [KEY_CLASS, VALUE_CLASS] {
            let plugin = crate::find_transformation(class).unwrap();
            let keys: Vec<_> = (plugin.config_def)()
                .keys
                .into_iter()
                .map(|k| k.name)
                .collect();
            assert_eq!(
                keys,
                [
                    "topic.field",
                    "partition.field",
                    "offset.field",
                    "timestamp.field",
                    "static.field",
                    "static.value",
                    "replace.null.with.default"
                ]
            );
        }
        assert_eq!(
            crate::find_transformation(KEY_CLASS).unwrap().side,
            Side::Key
        );
    }
}
