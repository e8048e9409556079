//! Source partitions and offsets in Confluent's format (spec §4), so that a Java connector's
//! stored offsets carry over and a restart resumes exactly after the last committed row.
//!
//! * Tables: partition v1 `{"protocol":"1","table":"<schema>.<table>"}` (the dotted, unquoted
//!   qualified name); v0 `{"table":"<table>"}` is read when no v1 offset exists.
//! * A query: `{"query":"query"}`.
//! * The offset: `incrementing` (the last row's id), `timestamp` (epoch ms) and
//!   `timestamp_nanos` (the sub-second nanos of that timestamp), each present only in the
//!   modes that use it. Numbers are read as 64-bit, as Java's `Long`.

use serde_json::Value;
use tributary_connector_api::OffsetMap;

/// The v1 partition of a table, by its qualified name (`schema.table` or `db.table`).
pub fn table_partition(qualified: &str) -> OffsetMap {
    let mut p = OffsetMap::new();
    p.insert("protocol".into(), Value::String("1".into()));
    p.insert("table".into(), Value::String(qualified.to_owned()));
    p
}

/// The v0 partition of a table, by its unqualified name (read for compatibility).
pub fn legacy_table_partition(table: &str) -> OffsetMap {
    let mut p = OffsetMap::new();
    p.insert("table".into(), Value::String(table.to_owned()));
    p
}

/// The partition of query mode.
pub fn query_partition() -> OffsetMap {
    let mut p = OffsetMap::new();
    p.insert("query".into(), Value::String("query".into()));
    p
}

/// Where a querier is: the last incrementing value and timestamp it emitted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Position {
    pub incrementing: Option<i64>,
    /// Epoch milliseconds and the nanoseconds within that second's fraction (as Java's
    /// `Timestamp.getNanos`: 0..1e9, the whole sub-second part).
    pub timestamp: Option<(i64, u32)>,
}

/// A stored offset that cannot be read; the task must not guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unreadable JDBC source offset: {0}")]
pub struct OffsetError(pub String);

fn long(map: &OffsetMap, key: &str) -> Result<Option<i64>, OffsetError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| OffsetError(format!("{key} is not a 64-bit integer: {n}"))),
        Some(other) => Err(OffsetError(format!("{key} is not a number: {other}"))),
    }
}

impl Position {
    /// Reads a stored offset.
    pub fn from_offset(map: &OffsetMap) -> Result<Position, OffsetError> {
        let incrementing = long(map, "incrementing")?;
        let timestamp = match long(map, "timestamp")? {
            None => None,
            Some(ms) => {
                let nanos = long(map, "timestamp_nanos")?.unwrap_or(0);
                let nanos = u32::try_from(nanos)
                    .ok()
                    .filter(|n| *n < 1_000_000_000)
                    .ok_or_else(|| {
                        OffsetError(format!("timestamp_nanos {nanos} is out of range"))
                    })?;
                Some((ms, nanos))
            }
        };
        Ok(Position {
            incrementing,
            timestamp,
        })
    }

    /// The stored timestamp as an instant.
    pub fn instant(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let (ms, nanos) = self.timestamp?;
        chrono::DateTime::from_timestamp(ms.div_euclid(1000), nanos)
    }

    /// The timestamp part of an offset for `instant`.
    pub fn timestamp_of(instant: chrono::DateTime<chrono::Utc>) -> (i64, u32) {
        (instant.timestamp_millis(), instant.timestamp_subsec_nanos())
    }

    /// The offset to store.
    pub fn to_offset(self) -> OffsetMap {
        let mut map = OffsetMap::new();
        if let Some(i) = self.incrementing {
            map.insert("incrementing".into(), Value::from(i));
        }
        if let Some((ms, nanos)) = self.timestamp {
            map.insert("timestamp".into(), Value::from(ms));
            map.insert("timestamp_nanos".into(), Value::from(nanos));
        }
        map
    }
}

/// The stored position of a table: its v1 offset, else its v0 one, else none. `stored` looks a
/// partition up in the committed offsets.
pub fn table_position(
    qualified: &str,
    table: &str,
    stored: impl Fn(&OffsetMap) -> Option<OffsetMap>,
) -> Result<Option<Position>, OffsetError> {
    let found =
        stored(&table_partition(qualified)).or_else(|| stored(&legacy_table_partition(table)));
    found.as_ref().map(Position::from_offset).transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> OffsetMap {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn partitions_and_offsets_have_confluents_shape() {
        assert_eq!(
            Value::Object(table_partition("public.orders")),
            json!({"protocol": "1", "table": "public.orders"})
        );
        assert_eq!(Value::Object(query_partition()), json!({"query": "query"}));
        let p = Position {
            incrementing: Some(42),
            timestamp: Some((1_700_000_000_123, 123_456_789)),
        };
        assert_eq!(
            Value::Object(p.to_offset()),
            json!({"incrementing": 42, "timestamp": 1_700_000_000_123i64,
                   "timestamp_nanos": 123_456_789})
        );
        assert_eq!(Position::from_offset(&p.to_offset()), Ok(p));
        assert_eq!(
            Position::from_offset(&map(json!({"incrementing": 7}))),
            Ok(Position {
                incrementing: Some(7),
                timestamp: None
            })
        );
    }

    #[test]
    fn a_java_v0_offset_is_read_when_there_is_no_v1_one() {
        let v0 = map(json!({"incrementing": 99}));
        let stored = |p: &OffsetMap| (p == &legacy_table_partition("orders")).then(|| v0.clone());
        assert_eq!(
            table_position("public.orders", "orders", stored).unwrap(),
            Some(Position {
                incrementing: Some(99),
                timestamp: None
            })
        );
        let v1 = map(json!({"incrementing": 120}));
        let both = |p: &OffsetMap| {
            if p == &table_partition("public.orders") {
                Some(v1.clone())
            } else {
                Some(v0.clone())
            }
        };
        assert_eq!(
            table_position("public.orders", "orders", both)
                .unwrap()
                .unwrap()
                .incrementing,
            Some(120)
        );
        assert_eq!(
            table_position("public.orders", "orders", |_| None).unwrap(),
            None
        );
    }

    #[test]
    fn unreadable_offsets_are_errors() {
        for bad in [
            json!({"incrementing": "7"}),
            json!({"incrementing": 1.5}),
            json!({"incrementing": u64::MAX}),
            json!({"timestamp": 1, "timestamp_nanos": -1}),
            json!({"timestamp": 1, "timestamp_nanos": 1_000_000_000u64}),
        ] {
            assert!(Position::from_offset(&map(bad.clone())).is_err(), "{bad}");
        }
    }
}
