//! Change events as Debezium writes them: the envelope (`before`, `after`, `source`,
//! `transaction`, `op`, `ts_*`), tombstones, the key-change pair, truncate, logical decoding
//! messages, heartbeats and transaction metadata.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use tributary_connector_api::{Headers, OffsetMap, SchemaRef, SourceRecord, Struct, Value};

use crate::schemas::{
    heartbeat_key_schema, heartbeat_value_schema, message_key_schema, message_value_schema,
    source_schema, transaction_block_schema, transaction_key_schema, transaction_value_schema,
    TableSchema,
};

/// What the `source` block says about an event.
#[derive(Debug, Clone, Default)]
pub struct Origin<'a> {
    /// Commit (or snapshot read) time, µs since the Unix epoch.
    pub ts_us: i64,
    /// `true`, `first`, `last`, … or `false`.
    pub snapshot: &'static str,
    pub schema: &'a str,
    pub table: &'a str,
    pub tx_id: Option<u32>,
    pub lsn: Option<u64>,
    /// `source.sequence`'s pair: the last commit's LSN and the event's own.
    pub sequence: Option<(u64, u64)>,
}

/// The processing time stamps of an envelope.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    pub ms: i64,
    pub us: i64,
    pub ns: i64,
}

impl Now {
    pub fn get() -> Now {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let ns = i64::try_from(d.as_nanos()).unwrap_or(i64::MAX);
        Now {
            ms: ns / 1_000_000,
            us: ns / 1_000,
            ns,
        }
    }
}

/// The transaction block of an event (`provide.transaction.metadata`).
#[derive(Debug, Clone)]
pub struct TxBlock {
    pub id: String,
    pub total_order: i64,
    pub data_collection_order: i64,
}

/// Builds the records of one connector.
#[derive(Debug, Clone)]
pub struct RecordMaker {
    pub server: String,
    pub db: String,
    pub partition: Arc<OffsetMap>,
    pub version: String,
}

/// The op codes.
pub const CREATE: &str = "c";
pub const UPDATE: &str = "u";
pub const DELETE: &str = "d";
pub const READ: &str = "r";
pub const TRUNCATE: &str = "t";

impl RecordMaker {
    pub fn new(server: &str, db: &str) -> RecordMaker {
        RecordMaker {
            server: server.to_owned(),
            db: db.to_owned(),
            partition: crate::offsets::partition(server),
            version: format!("tributary-{}", env!("CARGO_PKG_VERSION")),
        }
    }

    pub fn source(&self, o: &Origin<'_>) -> Value {
        let sequence = o
            .sequence
            .map(|(commit, lsn)| {
                let commit = if commit == 0 {
                    "null".to_owned()
                } else {
                    format!("\"{commit}\"")
                };
                Value::String(format!("[{commit},\"{lsn}\"]"))
            })
            .unwrap_or(Value::Null);
        let values = vec![
            Value::String(self.version.clone()),
            Value::String("postgresql".into()),
            Value::String(self.server.clone()),
            Value::Int64(o.ts_us.div_euclid(1000)),
            Value::String(o.snapshot.into()),
            Value::String(self.db.clone()),
            sequence,
            Value::Int64(o.ts_us),
            Value::Int64(o.ts_us.saturating_mul(1000)),
            Value::String(o.schema.into()),
            Value::String(o.table.into()),
            o.tx_id.map_or(Value::Null, |t| Value::Int64(i64::from(t))),
            o.lsn.map_or(Value::Null, |l| Value::Int64(l as i64)),
            Value::Null,
            Value::Null,
            Value::Null,
        ];
        // The values match the schema field for field (tested); a mismatch would leave the
        // required `source` null and the envelope refused with an error.
        Struct::from_parts(source_schema(), values).map_or(Value::Null, Value::Struct)
    }

    fn tx_block(tx: Option<&TxBlock>) -> Value {
        match tx {
            None => Value::Null,
            Some(t) => Struct::from_parts(
                transaction_block_schema(),
                vec![
                    Value::String(t.id.clone()),
                    Value::Int64(t.total_order),
                    Value::Int64(t.data_collection_order),
                ],
            )
            .map_or(Value::Null, Value::Struct),
        }
    }

    /// A change event of `table`; `before`/`after` are value-struct field values.
    #[allow(clippy::too_many_arguments)]
    pub fn change(
        &self,
        table: &TableSchema,
        op: &'static str,
        key: Value,
        before: Option<Vec<Value>>,
        after: Option<Vec<Value>>,
        origin: &Origin<'_>,
        tx: Option<&TxBlock>,
        offset: OffsetMap,
    ) -> Result<SourceRecord, String> {
        let row = |values: Option<Vec<Value>>| -> Result<Value, String> {
            match values {
                None => Ok(Value::Null),
                Some(v) => Struct::from_parts(table.value.clone(), v)
                    .map(Value::Struct)
                    .map_err(|e| format!("row of {}.{}: {e}", table.schema, table.table)),
            }
        };
        let now = Now::get();
        let envelope = Struct::from_parts(
            table.envelope.clone(),
            vec![
                row(before)?,
                row(after)?,
                self.source(origin),
                Self::tx_block(tx),
                Value::String(op.into()),
                Value::Int64(now.ms),
                Value::Int64(now.us),
                Value::Int64(now.ns),
            ],
        )
        .map_err(|e| format!("event of {}.{}: {e}", table.schema, table.table))?;
        Ok(SourceRecord {
            source_partition: Some(self.partition.clone()),
            source_offset: Some(offset),
            topic: table.topic.clone(),
            kafka_partition: None,
            key_schema: table.key.clone(),
            key,
            value_schema: Some(table.envelope.clone()),
            value: Value::Struct(envelope),
            timestamp: None,
            headers: Headers::new(),
        })
    }

    /// The tombstone following a delete: the key, no value.
    pub fn tombstone(&self, table: &TableSchema, key: Value, offset: OffsetMap) -> SourceRecord {
        SourceRecord {
            source_partition: Some(self.partition.clone()),
            source_offset: Some(offset),
            topic: table.topic.clone(),
            kafka_partition: None,
            key_schema: table.key.clone(),
            key,
            value_schema: None,
            value: Value::Null,
            timestamp: None,
            headers: Headers::new(),
        }
    }

    pub fn heartbeat(&self, topic: &str, offset: OffsetMap) -> SourceRecord {
        let key = Struct::from_parts(
            heartbeat_key_schema(),
            vec![Value::String(self.server.clone())],
        )
        .map_or(Value::Null, Value::Struct);
        let value = Struct::from_parts(heartbeat_value_schema(), vec![Value::Int64(Now::get().ms)])
            .map_or(Value::Null, Value::Struct);
        SourceRecord {
            source_partition: Some(self.partition.clone()),
            source_offset: Some(offset),
            topic: topic.to_owned(),
            kafka_partition: Some(0),
            key_schema: Some(heartbeat_key_schema()),
            key,
            value_schema: Some(heartbeat_value_schema()),
            value,
            timestamp: None,
            headers: Headers::new(),
        }
    }

    /// A logical decoding message (`op` m) to `<prefix>.message`.
    #[allow(clippy::too_many_arguments)]
    pub fn message(
        &self,
        topic: &str,
        prefix: &str,
        content: Value,
        content_as_string: bool,
        origin: &Origin<'_>,
        tx: Option<&TxBlock>,
        offset: OffsetMap,
    ) -> SourceRecord {
        let schema = message_value_schema(content_as_string);
        let message_schema = schema
            .field("message")
            .map(|f| f.schema.clone())
            .unwrap_or_else(|| schema.clone());
        let message = Struct::from_parts(
            message_schema,
            vec![Value::String(prefix.to_owned()), content],
        )
        .map_or(Value::Null, Value::Struct);
        let value = Struct::from_parts(
            schema.clone(),
            vec![
                Value::String("m".into()),
                Value::Int64(Now::get().ms),
                self.source(origin),
                Self::tx_block(tx),
                message,
            ],
        )
        .map_or(Value::Null, Value::Struct);
        let key = Struct::from_parts(message_key_schema(), vec![Value::String(prefix.to_owned())])
            .map_or(Value::Null, Value::Struct);
        SourceRecord {
            source_partition: Some(self.partition.clone()),
            source_offset: Some(offset),
            topic: topic.to_owned(),
            kafka_partition: None,
            key_schema: Some(message_key_schema()),
            key,
            value_schema: Some(schema),
            value,
            timestamp: None,
            headers: Headers::new(),
        }
    }

    /// A BEGIN or END record of the transaction metadata topic.
    pub fn transaction(
        &self,
        topic: &str,
        status: &str,
        id: &str,
        counts: Option<(i64, Vec<(String, i64)>)>,
        ts_ms: i64,
        offset: OffsetMap,
    ) -> SourceRecord {
        let value_schema = transaction_value_schema();
        let collection_schema: Option<SchemaRef> = value_schema
            .field("data_collections")
            .and_then(|f| f.schema.value_schema.clone());
        let (count, collections) = match counts {
            None => (Value::Null, Value::Null),
            Some((n, per_table)) => (
                Value::Int64(n),
                Value::Array(
                    per_table
                        .into_iter()
                        .filter_map(|(name, n)| {
                            let schema = collection_schema.clone()?;
                            Struct::from_parts(schema, vec![Value::String(name), Value::Int64(n)])
                                .ok()
                                .map(Value::Struct)
                        })
                        .collect(),
                ),
            ),
        };
        let value = Struct::from_parts(
            value_schema.clone(),
            vec![
                Value::String(status.into()),
                Value::String(id.into()),
                count,
                collections,
                Value::Int64(ts_ms),
            ],
        )
        .map_or(Value::Null, Value::Struct);
        let key = Struct::from_parts(transaction_key_schema(), vec![Value::String(id.into())])
            .map_or(Value::Null, Value::Struct);
        SourceRecord {
            source_partition: Some(self.partition.clone()),
            source_offset: Some(offset),
            topic: topic.to_owned(),
            kafka_partition: None,
            key_schema: Some(transaction_key_schema()),
            key,
            value_schema: Some(value_schema),
            value,
            timestamp: None,
            headers: Headers::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_source_block_matches_its_schema() {
        let m = RecordMaker::new("srv", "db");
        let v = m.source(&Origin {
            ts_us: 1_700_000_000_123_456,
            snapshot: "false",
            schema: "public",
            table: "t",
            tx_id: Some(9),
            lsn: Some(100),
            sequence: Some((50, 100)),
        });
        let Value::Struct(s) = v else { panic!() };
        s.validate().unwrap();
        assert_eq!(s.get("ts_ms"), Some(&Value::Int64(1_700_000_000_123)));
        assert_eq!(
            s.get("sequence"),
            Some(&Value::String("[\"50\",\"100\"]".into()))
        );
        assert_eq!(
            s.get("connector"),
            Some(&Value::String("postgresql".into()))
        );
        let first = m.source(&Origin {
            sequence: Some((0, 7)),
            ..Origin::default()
        });
        let Value::Struct(s) = first else { panic!() };
        assert_eq!(
            s.get("sequence"),
            Some(&Value::String("[null,\"7\"]".into()))
        );
    }

    #[test]
    fn heartbeats_and_transactions() {
        let m = RecordMaker::new("srv", "db");
        let h = m.heartbeat("__debezium-heartbeat.srv", OffsetMap::new());
        assert_eq!(h.kafka_partition, Some(0));
        let Value::Struct(k) = &h.key else { panic!() };
        assert_eq!(k.get("serverName"), Some(&Value::String("srv".into())));
        let t = m.transaction(
            "srv.transaction",
            "END",
            "5:100",
            Some((2, vec![("public.t".into(), 2)])),
            1,
            OffsetMap::new(),
        );
        let Value::Struct(v) = &t.value else { panic!() };
        v.validate().unwrap();
        assert_eq!(v.get("event_count"), Some(&Value::Int64(2)));
    }
}
