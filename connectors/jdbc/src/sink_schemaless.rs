//! Schemaless records for the sink (beyond Confluent's, which refuses them): a key or value
//! that is a map without a schema (JSON with `schemas.enable=false`) is written to a table that
//! exists, each entry to the column of its name, typed as the column is (read from the catalog
//! as the source reads it). A map entry with no column, a value that does not fit its column,
//! or a missing table is an error for the record (it goes to the errant record reporter);
//! `auto.create`/`auto.evolve` cannot guess column types from schemaless data. A schemaless
//! primitive key (a bare number or string) gets the schema of its kind.

use std::collections::HashMap;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{NaiveDate, NaiveTime, Timelike};
use chrono_tz::Tz;
use tributary_connector_api::{logical, Schema, SchemaRef, Struct, Type, Value};

use crate::column_mapping::{self, ColumnInfo, NumericMapping};
use crate::dialect::Dialect;
use crate::row_reader::{decimal_value, integer, parse_sqlite_time};

/// Schemas made for maps, by table and entry names (one `Arc` each, so the sink's caches
/// keyed by schema identity keep working).
#[derive(Default)]
pub struct SchemalessSchemas {
    by_names: HashMap<String, SchemaRef>,
}

/// Whether a key or value needs a schema made for it.
pub fn needs_schema(schema: Option<&SchemaRef>, value: &Value) -> bool {
    schema.is_none() && !value.is_null()
}

impl SchemalessSchemas {
    /// A schema and a typed value for a schemaless `value` headed for `table`, whose columns
    /// are `columns`.
    pub fn typed(
        &mut self,
        dialect: Dialect,
        zone: Tz,
        table: &str,
        columns: &[ColumnInfo],
        value: &Value,
    ) -> Result<(SchemaRef, Value), String> {
        let entries = match value {
            Value::Map(entries) => entries,
            primitive => {
                let type_ = primitive
                    .type_()
                    .filter(|t| t.is_primitive())
                    .ok_or_else(|| format!("a schemaless {primitive:?} cannot be written"))?;
                return Ok((Schema::new(type_).into_ref(), primitive.clone()));
            }
        };
        if columns.is_empty() {
            return Err(format!(
                "table {table} does not exist: schemaless records are written to existing \
                 tables only (auto.create cannot guess column types)"
            ));
        }
        let mut names = Vec::with_capacity(entries.len());
        for (k, _) in entries {
            match k {
                Value::String(name) => names.push(name.as_str()),
                other => return Err(format!("a map key {other:?} is not a column name")),
            }
        }
        let cache_key = format!("{table}\u{0}{}", names.join("\u{0}"));
        let schema = match self.by_names.get(&cache_key) {
            Some(schema) => schema.clone(),
            None => {
                let mut fields = Vec::with_capacity(names.len());
                for name in &names {
                    let column = columns
                        .iter()
                        .find(|c| c.name == *name)
                        .or_else(|| columns.iter().find(|c| c.name.eq_ignore_ascii_case(name)))
                        .ok_or_else(|| {
                            format!("table {table} has no column {name} (schemaless records cannot add columns)")
                        })?;
                    let mapping = column_mapping::mapping(dialect, column, NumericMapping::None)
                        .ok_or_else(|| {
                            format!(
                                "column {name} of {table} has type {}, which schemaless \
                                     values cannot be written to",
                                column.type_name
                            )
                        })?;
                    // The column's own name: the SQL names it quoted.
                    fields.push((
                        column.name.clone(),
                        column_mapping::schema(&mapping, Default::default(), true),
                    ));
                }
                let schema = Schema::struct_(fields).into_ref();
                if self.by_names.len() > 256 {
                    self.by_names.clear();
                }
                self.by_names.insert(cache_key, schema.clone());
                schema
            }
        };
        let values = schema
            .fields
            .iter()
            .zip(entries)
            .map(|(field, (_, v))| {
                coerce(v, &field.schema, zone).map_err(|e| format!("field {}: {e}", field.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let value = Struct::from_values(schema.clone(), values).map_err(|e| e.message)?;
        Ok((schema, Value::Struct(value)))
    }
}

/// A schemaless value as a value of `schema` (the column's): numbers between widths, numbers
/// and text into decimals, text and numbers into dates and times, anything into text (maps
/// and arrays as JSON, for JSON columns).
pub fn coerce(value: &Value, schema: &SchemaRef, zone: Tz) -> Result<Value, String> {
    if value.is_null() {
        return Ok(Value::Null);
    }
    let bad = || format!("{value:?} does not fit a {} column", describe(schema));
    let as_i64 = |v: &Value| -> Option<i64> {
        match v {
            Value::Int8(n) => Some((*n).into()),
            Value::Int16(n) => Some((*n).into()),
            Value::Int32(n) => Some((*n).into()),
            Value::Int64(n) => Some(*n),
            Value::Float32(f) if f.fract() == 0.0 => Some(*f as i64),
            Value::Float64(f) if f.fract() == 0.0 && f.abs() < 9.2e18 => Some(*f as i64),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        }
    };
    let as_f64 = |v: &Value| -> Option<f64> {
        match v {
            Value::Float32(f) => Some((*f).into()),
            Value::Float64(f) => Some(*f),
            Value::String(s) => s.trim().parse().ok(),
            other => as_i64(other).map(|n| n as f64),
        }
    };
    if logical::is(schema, logical::DECIMAL) {
        let scale = logical::decimal_scale(schema).map_err(|e| e.message)?;
        let d = match value {
            Value::String(s) => BigDecimal::from_str(s.trim()).ok(),
            Value::Float32(_) | Value::Float64(_) => {
                as_f64(value).and_then(|f| BigDecimal::from_str(&f.to_string()).ok())
            }
            other => as_i64(other).map(BigDecimal::from),
        };
        return d.map(|d| decimal_value(&d, scale)).ok_or_else(bad);
    }
    if logical::is(schema, logical::TIMESTAMP) {
        return match value {
            Value::String(s) => {
                parse_sqlite_time(s, zone).map(|t| Value::Int64(t.timestamp_millis()))
            }
            other => as_i64(other).map(Value::Int64).ok_or_else(bad),
        };
    }
    if logical::is(schema, logical::DATE) {
        let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).ok_or("no epoch")?;
        return match value {
            Value::String(s) => NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d")
                .ok()
                .and_then(|d| i32::try_from((d - epoch).num_days()).ok())
                .map(Value::Int32)
                .ok_or_else(bad),
            other => as_i64(other)
                .and_then(|n| i32::try_from(n).ok())
                .map(Value::Int32)
                .ok_or_else(bad),
        };
    }
    if logical::is(schema, logical::TIME) {
        return match value {
            Value::String(s) => NaiveTime::parse_from_str(s.trim(), "%H:%M:%S%.f")
                .ok()
                .map(|t| {
                    Value::Int32(
                        (t.num_seconds_from_midnight() * 1000 + t.nanosecond() / 1_000_000) as i32,
                    )
                })
                .ok_or_else(bad),
            other => as_i64(other)
                .and_then(|n| i32::try_from(n).ok())
                .map(Value::Int32)
                .ok_or_else(bad),
        };
    }
    match schema.type_ {
        Type::Int8 | Type::Int16 | Type::Int32 | Type::Int64 => as_i64(value)
            .and_then(|n| integer(n, schema.type_))
            .ok_or_else(bad),
        Type::Float32 => as_f64(value)
            .map(|f| Value::Float32(f as f32))
            .ok_or_else(bad),
        Type::Float64 => as_f64(value).map(Value::Float64).ok_or_else(bad),
        Type::Boolean => match value {
            Value::Boolean(b) => Ok(Value::Boolean(*b)),
            other => as_i64(other)
                .map(|n| Value::Boolean(n != 0))
                .ok_or_else(bad),
        },
        Type::String => Ok(Value::String(match value {
            Value::String(s) => s.clone(),
            Value::Map(_) | Value::Array(_) | Value::Struct(_) => to_json(value).to_string(),
            other => to_json(other).to_string(),
        })),
        Type::Bytes => match value {
            Value::Bytes(b) => Ok(Value::Bytes(b.clone())),
            Value::String(s) => Ok(Value::Bytes(s.as_bytes().to_vec())),
            _ => Err(bad()),
        },
        Type::Array => {
            let element = schema
                .value_schema
                .as_ref()
                .ok_or("an array without elements")?;
            match value {
                Value::Array(items) => items
                    .iter()
                    .map(|v| coerce(v, element, zone))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::Array),
                _ => Err(bad()),
            }
        }
        _ => Err(bad()),
    }
}

fn describe(schema: &SchemaRef) -> String {
    schema
        .name
        .clone()
        .unwrap_or_else(|| schema.type_.name().to_owned())
}

/// A schemaless value as JSON (for text columns holding JSON).
fn to_json(value: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        Value::Null => J::Null,
        Value::Boolean(b) => J::Bool(*b),
        Value::Int8(n) => J::from(*n),
        Value::Int16(n) => J::from(*n),
        Value::Int32(n) => J::from(*n),
        Value::Int64(n) => J::from(*n),
        Value::Float32(f) => J::from(*f),
        Value::Float64(f) => J::from(*f),
        Value::String(s) => J::String(s.clone()),
        Value::Bytes(b) => J::Array(b.iter().map(|x| J::from(*x)).collect()),
        Value::Array(items) => J::Array(items.iter().map(to_json).collect()),
        Value::Map(entries) => J::Object(
            entries
                .iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s.clone(),
                        other => to_json(other).to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Struct(s) => J::Object(
            s.schema()
                .fields
                .iter()
                .zip(s.values())
                .map(|(f, v)| (f.name.clone(), to_json(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, type_name: &str) -> ColumnInfo {
        ColumnInfo::of_type(name, type_name)
    }

    #[test]
    fn maps_take_the_types_of_the_table_columns() {
        let columns = [
            column("id", "int4"),
            column("price", "numeric"),
            column("seen", "timestamp"),
            column("doc", "jsonb"),
            column("ok", "bool"),
        ];
        let mut schemas = SchemalessSchemas::default();
        let map = Value::Map(vec![
            (Value::String("id".into()), Value::Int64(7)),
            (Value::String("price".into()), Value::Float64(1.5)),
            (
                Value::String("seen".into()),
                Value::String("2024-01-15 12:00:00".into()),
            ),
            (
                Value::String("doc".into()),
                Value::Map(vec![(Value::String("a".into()), Value::Int64(1))]),
            ),
        ]);
        let (schema, value) = schemas
            .typed(Dialect::PostgreSql, Tz::UTC, "t", &columns, &map)
            .unwrap();
        assert_eq!(schema.fields.len(), 4);
        let Value::Struct(s) = value else {
            panic!("not a struct")
        };
        assert_eq!(s.get("id"), Some(&Value::Int32(7)));
        assert_eq!(s.get("seen"), Some(&Value::Int64(1_705_320_000_000)));
        assert_eq!(s.get("doc"), Some(&Value::String("{\"a\":1}".into())));
        // The same entries reuse the same schema.
        let (again, _) = schemas
            .typed(Dialect::PostgreSql, Tz::UTC, "t", &columns, &map)
            .unwrap();
        assert!(std::sync::Arc::ptr_eq(&schema, &again));

        let unknown = Value::Map(vec![(Value::String("nope".into()), Value::Int64(1))]);
        let e = schemas
            .typed(Dialect::PostgreSql, Tz::UTC, "t", &columns, &unknown)
            .unwrap_err();
        assert!(e.contains("no column nope"), "{e}");
        let too_big = Value::Map(vec![(Value::String("id".into()), Value::Int64(1 << 40))]);
        assert!(schemas
            .typed(Dialect::PostgreSql, Tz::UTC, "t", &columns, &too_big)
            .is_err());
        assert!(schemas
            .typed(Dialect::PostgreSql, Tz::UTC, "missing", &[], &map)
            .unwrap_err()
            .contains("does not exist"));
        let (key_schema, key) = schemas
            .typed(
                Dialect::PostgreSql,
                Tz::UTC,
                "t",
                &columns,
                &Value::Int64(3),
            )
            .unwrap();
        assert_eq!((key_schema.type_, key), (Type::Int64, Value::Int64(3)));
    }
}
