//! Row values of a table: pgoutput tuples and snapshot rows turned into the value struct's
//! field values and the key struct, with unchanged TOASTed columns filled from the old row
//! (REPLICA IDENTITY FULL) or Debezium's placeholder.

use pg_walstream::{ColumnData, TupleData};
use tributary_connector_api::{Schema, Struct, Type, Value};

use crate::schemas::TableSchema;

/// One column's content as the stream or the snapshot gives it.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    Null,
    /// An unchanged TOASTed value: not sent.
    Unchanged,
    Text(&'a str),
    Invalid,
}

impl<'a> Cell<'a> {
    pub fn of_column(c: &'a ColumnData) -> Cell<'a> {
        if c.is_null() {
            Cell::Null
        } else if c.is_unchanged() {
            Cell::Unchanged
        } else {
            match std::str::from_utf8(c.as_bytes()) {
                Ok(s) => Cell::Text(s),
                Err(_) => Cell::Invalid,
            }
        }
    }
}

/// Why a row could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("column {column} of {table}: {message}")]
pub struct RowError {
    pub table: String,
    pub column: String,
    pub message: String,
}

/// A row as value-struct field values (in field order).
pub type Row = Vec<Value>;

/// Debezium's stand-in for a null in a required field (a delete's `before` under REPLICA
/// IDENTITY DEFAULT has only the key columns): the schema's default, else the type's zero.
pub fn fallback(schema: &Schema) -> Value {
    if let Some(d) = &schema.default {
        return d.clone();
    }
    if schema.optional {
        return Value::Null;
    }
    match schema.type_ {
        Type::Boolean => Value::Boolean(false),
        Type::Int8 => Value::Int8(0),
        Type::Int16 => Value::Int16(0),
        Type::Int32 => Value::Int32(0),
        Type::Int64 => Value::Int64(0),
        Type::Float32 => Value::Float32(0.0),
        Type::Float64 => Value::Float64(0.0),
        Type::String => Value::String(String::new()),
        Type::Bytes => Value::Bytes(vec![0]),
        Type::Array => Value::Array(Vec::new()),
        Type::Map => Value::Map(Vec::new()),
        Type::Struct => {
            let values = schema.fields.iter().map(|f| fallback(&f.schema)).collect();
            Struct::from_parts(std::sync::Arc::new(schema.clone()), values)
                .map_or(Value::Null, Value::Struct)
        }
    }
}

impl TableSchema {
    /// Reads cells (in relation column order) into a row; `old` supplies unchanged TOASTed
    /// values, else `placeholder` stands in.
    pub fn row<'a>(
        &self,
        cells: impl Iterator<Item = Cell<'a>>,
        old: Option<&Row>,
        placeholder: &str,
    ) -> Result<Row, RowError> {
        let fields = &self.value.fields;
        let mut row: Row = vec![Value::Null; fields.len()];
        for (plan, cell) in self.columns.iter().zip(cells) {
            let (Some(i), Some(conv)) = (plan.value_index, &plan.conv) else {
                continue;
            };
            let schema = &fields[i].schema;
            let error = |message: String| RowError {
                table: format!("{}.{}", self.schema, self.table),
                column: plan.name.clone(),
                message,
            };
            row[i] = match cell {
                Cell::Null => fallback(schema),
                Cell::Unchanged => match old.map(|o| &o[i]) {
                    Some(v) if !v.is_null() => v.clone(),
                    _ => conv.placeholder(placeholder),
                },
                Cell::Text(text) => conv.value(text, schema).map_err(error)?,
                Cell::Invalid => return Err(error("the value is not UTF-8".into())),
            };
        }
        Ok(row)
    }

    pub fn tuple_row(
        &self,
        tuple: &TupleData,
        old: Option<&Row>,
        placeholder: &str,
    ) -> Result<Row, RowError> {
        self.row(tuple.columns.iter().map(Cell::of_column), old, placeholder)
    }

    /// The key struct of a row (null for tables without key).
    pub fn key_of(&self, row: &Row) -> Value {
        let Some(key_schema) = &self.key else {
            return Value::Null;
        };
        let mut values = vec![Value::Null; key_schema.fields.len()];
        for plan in &self.columns {
            if let (Some(k), Some(v)) = (plan.key_index, plan.value_index) {
                values[k] = row[v].clone();
            }
        }
        Struct::from_parts(key_schema.clone(), values).map_or(Value::Null, Value::Struct)
    }
}
