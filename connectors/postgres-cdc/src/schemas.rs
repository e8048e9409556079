//! The Connect schemas of change events: per table a `….Key`, `….Value` and `….Envelope`
//! (Debezium's `TableSchemaBuilder` shape), and the shared `io.debezium.connector.postgresql.Source`,
//! transaction block, heartbeat, message and transaction-metadata schemas.

use std::sync::LazyLock;

use tributary_connector_api::{Schema, SchemaRef, Type, Value};

use crate::catalog::TableMeta;
use crate::config::CdcConfig;
use crate::pg_types::{schema, string_schema, Conv, TypeKind};

/// How one column of a table's tuples is emitted.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    pub name: String,
    /// `None`: a column Debezium leaves out (unknown type) — it is skipped.
    pub conv: Option<Conv>,
    /// Its field in the value struct (`None` when excluded by the column filters).
    pub value_index: Option<usize>,
    /// Its field in the key struct.
    pub key_index: Option<usize>,
}

/// A captured table's shapes, rebuilt from each Relation message.
#[derive(Debug)]
pub struct TableSchema {
    pub schema: String,
    pub table: String,
    pub topic: String,
    pub key: Option<SchemaRef>,
    pub value: SchemaRef,
    pub envelope: SchemaRef,
    /// In tuple order (the relation's column order).
    pub columns: Vec<ColumnPlan>,
}

/// A column as the stream (Relation message) or the snapshot names it.
#[derive(Debug, Clone)]
pub struct RelationColumn {
    pub name: String,
    pub type_oid: u32,
    pub typmod: i32,
}

impl RelationColumn {
    /// The columns of a pgoutput Relation message (or of a snapshot's relation).
    pub fn of(columns: &[pg_walstream::ColumnInfo]) -> Vec<RelationColumn> {
        columns
            .iter()
            .map(|c| RelationColumn {
                name: c.name.to_string(),
                type_oid: c.type_id,
                typmod: c.type_modifier,
            })
            .collect()
    }
}

const SNAPSHOT_VALUES: &str =
    "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental";

/// `io.debezium.connector.postgresql.Source`.
pub fn source_schema() -> SchemaRef {
    static S: LazyLock<SchemaRef> = LazyLock::new(|| {
        let snapshot = Schema::new(Type::String)
            .with_name("io.debezium.data.Enum")
            .with_version(1)
            .with_parameter("allowed", SNAPSHOT_VALUES)
            .with_default(Value::String("false".into()))
            .optional()
            .into_ref();
        Schema::struct_([
            ("version", string_schema(false)),
            ("connector", string_schema(false)),
            ("name", string_schema(false)),
            ("ts_ms", schema(Type::Int64, false)),
            ("snapshot", snapshot),
            ("db", string_schema(false)),
            ("sequence", string_schema(true)),
            ("ts_us", schema(Type::Int64, true)),
            ("ts_ns", schema(Type::Int64, true)),
            ("schema", string_schema(false)),
            ("table", string_schema(false)),
            ("txId", schema(Type::Int64, true)),
            ("lsn", schema(Type::Int64, true)),
            ("xmin", schema(Type::Int64, true)),
            ("origin", string_schema(true)),
            ("origin_lsn", schema(Type::Int64, true)),
        ])
        .with_name("io.debezium.connector.postgresql.Source")
        .with_version(1)
        .into_ref()
    });
    S.clone()
}

/// The envelope's optional `transaction` block (`event.block`).
pub fn transaction_block_schema() -> SchemaRef {
    static S: LazyLock<SchemaRef> = LazyLock::new(|| {
        Schema::struct_([
            ("id", string_schema(false)),
            ("total_order", schema(Type::Int64, false)),
            ("data_collection_order", schema(Type::Int64, false)),
        ])
        .with_name("event.block")
        .with_version(1)
        .optional()
        .into_ref()
    });
    S.clone()
}

fn envelope(name: &str, value: &SchemaRef) -> SchemaRef {
    Schema::struct_([
        ("before", value.clone()),
        ("after", value.clone()),
        ("source", source_schema()),
        ("transaction", transaction_block_schema()),
        ("op", string_schema(false)),
        ("ts_ms", schema(Type::Int64, true)),
        ("ts_us", schema(Type::Int64, true)),
        ("ts_ns", schema(Type::Int64, true)),
    ])
    .with_name(name)
    .with_version(2)
    .with_doc(format!("Envelope for {name}"))
    .into_ref()
}

/// Debezium's schema names replace characters Avro does not allow; table and schema names
/// with such characters keep working as Connect names (`schema.name.adjustment.mode=none`).
fn schema_name(topic: &str, suffix: &str) -> String {
    format!("{topic}.{suffix}")
}

impl TableSchema {
    /// `schema.table`.
    pub fn id(&self) -> String {
        format!("{}.{}", self.schema, self.table)
    }

    /// The shapes of `schema.table` with the columns the stream names, the catalog's
    /// nullability and primary key, and each column type's kind.
    pub fn build(
        config: &CdcConfig,
        schema_: &str,
        table: &str,
        columns: &[RelationColumn],
        meta: &TableMeta,
        kinds: &[TypeKind],
    ) -> TableSchema {
        let topic = config.table_topic(schema_, table);
        let key_columns: Vec<String> = match config.filters.custom_key(schema_, table) {
            Some(custom) => custom.to_vec(),
            None => meta.primary_key.clone(),
        };
        let not_null = |name: &str| {
            meta.columns
                .iter()
                .find(|c| c.name == name)
                .is_some_and(|c| c.not_null)
        };
        let mut value_fields = Vec::new();
        let mut key_fields: Vec<(usize, String, SchemaRef)> = Vec::new();
        let mut plans = Vec::with_capacity(columns.len());
        for (c, kind) in columns.iter().zip(kinds) {
            let conv = Conv::for_type(kind, c.typmod, config);
            let key_position = key_columns.iter().position(|k| *k == c.name);
            let mut plan = ColumnPlan {
                name: c.name.clone(),
                conv: conv.clone(),
                value_index: None,
                key_index: None,
            };
            if let Some(conv) = conv {
                let keep =
                    key_position.is_some() || config.filters.keeps_column(schema_, table, &c.name);
                if keep {
                    plan.value_index = Some(value_fields.len());
                    value_fields.push((c.name.clone(), conv.schema(!not_null(&c.name))));
                }
                if let Some(p) = key_position {
                    key_fields.push((p, c.name.clone(), conv.schema(!not_null(&c.name))));
                }
            }
            plans.push(plan);
        }
        // Key fields in the key's own order.
        key_fields.sort_by_key(|(p, _, _)| *p);
        for (i, (_, name, _)) in key_fields.iter().enumerate() {
            if let Some(plan) = plans.iter_mut().find(|p| p.name == *name) {
                plan.key_index = Some(i);
            }
        }
        let key = (!key_fields.is_empty()).then(|| {
            Schema::struct_(key_fields.into_iter().map(|(_, n, s)| (n, s)))
                .with_name(schema_name(&topic, "Key"))
                .into_ref()
        });
        let value = Schema::struct_(value_fields)
            .with_name(schema_name(&topic, "Value"))
            .optional()
            .into_ref();
        let envelope = envelope(&schema_name(&topic, "Envelope"), &value);
        TableSchema {
            schema: schema_.to_owned(),
            table: table.to_owned(),
            topic,
            key,
            value,
            envelope,
            columns: plans,
        }
    }
}

/// `io.debezium.connector.common.ServerNameKey` of heartbeats.
pub fn heartbeat_key_schema() -> SchemaRef {
    static S: LazyLock<SchemaRef> = LazyLock::new(|| {
        Schema::struct_([("serverName", string_schema(false))])
            .with_name("io.debezium.connector.common.ServerNameKey")
            .with_version(1)
            .into_ref()
    });
    S.clone()
}

/// `io.debezium.connector.common.Heartbeat`.
pub fn heartbeat_value_schema() -> SchemaRef {
    static S: LazyLock<SchemaRef> = LazyLock::new(|| {
        Schema::struct_([("ts_ms", schema(Type::Int64, false))])
            .with_name("io.debezium.connector.common.Heartbeat")
            .with_version(1)
            .into_ref()
    });
    S.clone()
}

pub fn transaction_key_schema() -> SchemaRef {
    static S: LazyLock<SchemaRef> = LazyLock::new(|| {
        Schema::struct_([("id", string_schema(false))])
            .with_name("io.debezium.connector.common.TransactionMetadataKey")
            .with_version(1)
            .into_ref()
    });
    S.clone()
}

pub fn transaction_value_schema() -> SchemaRef {
    static S: LazyLock<SchemaRef> = LazyLock::new(|| {
        let collection = Schema::struct_([
            ("data_collection", string_schema(false)),
            ("event_count", schema(Type::Int64, false)),
        ])
        .with_name("event.collection")
        .with_version(1)
        .into_ref();
        Schema::struct_([
            ("status", string_schema(false)),
            ("id", string_schema(false)),
            ("event_count", schema(Type::Int64, true)),
            (
                "data_collections",
                Schema::array(collection).optional().into_ref(),
            ),
            ("ts_ms", schema(Type::Int64, false)),
        ])
        .with_name("io.debezium.connector.common.TransactionMetadataValue")
        .with_version(1)
        .into_ref()
    });
    S.clone()
}

/// `io.debezium.connector.postgresql.MessageKey`.
pub fn message_key_schema() -> SchemaRef {
    static S: LazyLock<SchemaRef> = LazyLock::new(|| {
        Schema::struct_([("prefix", string_schema(true))])
            .with_name("io.debezium.connector.postgresql.MessageKey")
            .into_ref()
    });
    S.clone()
}

/// `io.debezium.connector.postgresql.MessageValue`, its content as bytes or (for the text
/// binary handling modes) a string.
pub fn message_value_schema(content_as_string: bool) -> SchemaRef {
    static BYTES: LazyLock<SchemaRef> = LazyLock::new(|| message_value(false));
    static STRING: LazyLock<SchemaRef> = LazyLock::new(|| message_value(true));
    if content_as_string {
        STRING.clone()
    } else {
        BYTES.clone()
    }
}

fn message_value(content_as_string: bool) -> SchemaRef {
    let content = if content_as_string {
        string_schema(true)
    } else {
        schema(Type::Bytes, true)
    };
    let message = Schema::struct_([("prefix", string_schema(true)), ("content", content)])
        .with_name("io.debezium.connector.postgresql.Message")
        .into_ref();
    Schema::struct_([
        ("op", string_schema(false)),
        ("ts_ms", schema(Type::Int64, true)),
        ("source", source_schema()),
        ("transaction", transaction_block_schema()),
        ("message", message),
    ])
    .with_name("io.debezium.connector.postgresql.MessageValue")
    .into_ref()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::ColumnMeta;
    fn config(pairs: &[(&str, &str)]) -> CdcConfig {
        let mut all = vec![("topic.prefix", "srv")];
        all.extend_from_slice(pairs);
        crate::config::test_config(&all)
    }

    fn table(config: &CdcConfig) -> TableSchema {
        let columns = vec![
            RelationColumn {
                name: "id".into(),
                type_oid: 23,
                typmod: -1,
            },
            RelationColumn {
                name: "name".into(),
                type_oid: 25,
                typmod: -1,
            },
            RelationColumn {
                name: "geo".into(),
                type_oid: 600,
                typmod: -1,
            },
            RelationColumn {
                name: "secret".into(),
                type_oid: 25,
                typmod: -1,
            },
        ];
        let meta = TableMeta {
            columns: vec![
                ColumnMeta {
                    name: "id".into(),
                    type_oid: 23,
                    typmod: -1,
                    not_null: true,
                },
                ColumnMeta {
                    name: "name".into(),
                    type_oid: 25,
                    typmod: -1,
                    not_null: false,
                },
            ],
            primary_key: vec!["id".into()],
            replica_identity: 'd',
        };
        let kinds = [
            TypeKind::Named("int4".into()),
            TypeKind::Named("text".into()),
            TypeKind::Named("point".into()),
            TypeKind::Named("text".into()),
        ];
        TableSchema::build(config, "public", "users", &columns, &meta, &kinds)
    }

    #[test]
    fn key_value_and_envelope_shapes() {
        let c = config(&[("column.exclude.list", "public.users.secret")]);
        let t = table(&c);
        assert_eq!(t.topic, "srv.public.users");
        let key = t.key.clone().unwrap();
        assert_eq!(key.name.as_deref(), Some("srv.public.users.Key"));
        assert_eq!(key.fields.len(), 1);
        assert!(!key.fields[0].schema.optional);
        assert_eq!(t.value.name.as_deref(), Some("srv.public.users.Value"));
        let names: Vec<&str> = t.value.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["id", "name"], "point is unknown, secret excluded");
        assert!(t.value.fields[1].schema.optional);
        assert_eq!(
            t.envelope.name.as_deref(),
            Some("srv.public.users.Envelope")
        );
        let fields: Vec<&str> = t.envelope.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            fields,
            [
                "before",
                "after",
                "source",
                "transaction",
                "op",
                "ts_ms",
                "ts_us",
                "ts_ns"
            ]
        );
        assert_eq!(t.columns[2].conv, None);
        assert_eq!(t.columns[3].value_index, None);
    }

    #[test]
    fn custom_keys_replace_the_primary_key() {
        let c = config(&[("message.key.columns", "public.users:name")]);
        let t = table(&c);
        let key = t.key.unwrap();
        assert_eq!(key.fields[0].name, "name");
        assert_eq!(t.columns[1].key_index, Some(0));
        assert_eq!(t.columns[0].key_index, None);
    }
}
