//! One read's rows, streamed: the statement runs in a task on the connector's runtime and sends
//! decoded rows through a bounded channel, so a table of any size is read with memory bounded
//! by the channel (the drivers stream result rows off the socket; SQLite steps its statement).
//! The task's `poll` takes up to `batch.max.rows` rows at a time; dropping the stream stops
//! the read.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::{FutureExt, Stream, StreamExt};
use sqlx::{Column, Row};
use tokio::sync::mpsc;
use tributary_connector_api::{logical, Schema, SchemaRef, Value};

use crate::column_mapping::{self, ColumnInfo, Mapping};
use crate::db::{with_pool, Db};
use crate::query::{Param, Statement};
use crate::row_reader::{ReadContext, ReadRow};

/// How a read's rows become records: the columns kept, the schema, and where the offset's
/// values are.
#[derive(Debug)]
pub struct Shape {
    /// Each kept column: its name (to check the result's order) and mapping.
    pub columns: Vec<(String, Mapping)>,
    pub schema: SchemaRef,
    /// The position of the incrementing column among `columns`.
    pub incrementing: Option<usize>,
    /// The timestamp columns, in `timestamp.column.name` order: position among `columns`.
    pub timestamps: Vec<usize>,
    pub cx: ReadContext,
}

/// A column in the shape is missing or has no mapping; the message names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ShapeError(pub String);

impl Shape {
    /// The shape of a table's (or the query's) rows from its columns. Columns without a mapping
    /// are left out (and returned, to be noted); the offset columns must be mapped.
    pub fn new(
        columns: &[ColumnInfo],
        map: impl Fn(&ColumnInfo) -> Option<Mapping>,
        name: Option<&str>,
        incrementing: Option<&str>,
        timestamps: &[String],
        cx: ReadContext,
    ) -> Result<(Shape, Vec<String>), ShapeError> {
        let mut kept = Vec::new();
        let mut fields = Vec::new();
        let mut skipped = Vec::new();
        for column in columns {
            match map(column) {
                Some(mapping) => {
                    fields.push((
                        column.name.clone(),
                        column_mapping::schema(&mapping, cx.granularity, column.nullable),
                    ));
                    kept.push((column.name.clone(), mapping));
                }
                None => skipped.push(format!("{} ({})", column.name, column.type_name)),
            }
        }
        let position = |wanted: &str, role: &str| {
            kept.iter().position(|(n, _)| n == wanted).ok_or_else(|| {
                ShapeError(format!(
                    "{role} column {wanted} is not a column of {} that this connector can read",
                    name.unwrap_or("the query")
                ))
            })
        };
        let incrementing = incrementing
            .map(|c| position(c, "the incrementing"))
            .transpose()?;
        let timestamps = timestamps
            .iter()
            .map(|c| position(c, "the timestamp"))
            .collect::<Result<Vec<_>, _>>()?;
        for &i in &timestamps {
            if !matches!(kept[i].1, Mapping::Timestamp { .. } | Mapping::Date) {
                return Err(ShapeError(format!(
                    "timestamp column {} is not a timestamp or date",
                    kept[i].0
                )));
            }
        }
        let mut schema = Schema::struct_(fields);
        if let Some(name) = name {
            schema = schema.with_name(name);
        }
        Ok((
            Shape {
                columns: kept,
                schema: schema.into_ref(),
                incrementing,
                timestamps,
                cx,
            },
            skipped,
        ))
    }

    /// The mapping of the first timestamp column (how bounds are bound).
    pub fn timestamp_mapping(&self) -> Option<&Mapping> {
        self.timestamps.first().map(|&i| &self.columns[i].1)
    }
}

/// A row, decoded.
#[derive(Debug)]
pub struct RowData {
    pub values: Vec<Value>,
    pub incrementing: Option<i64>,
    /// The first non-null timestamp column.
    pub timestamp: Option<DateTime<Utc>>,
}

/// What the channel carries.
#[derive(Debug)]
pub enum Item {
    Row(RowData),
    /// The statement failed (the database's error: retried on the next read).
    QueryFailed(String),
    /// A row could not be decoded (the task fails, naming the column).
    BadRow(String),
    /// The result ended. A channel that closes without it means the read stopped on its own
    /// (a panic in the driver): a failed read, never a silent end.
    End,
}

/// Rows travel in chunks of at most this many (fewer when the next row is not ready yet).
const CHUNK: usize = 64;

/// The receiving end of a running read; `None` from [`RowStream::next`] means the result ended.
pub struct RowStream {
    rows: mpsc::Receiver<Vec<Item>>,
    chunk: std::collections::VecDeque<Item>,
}

impl RowStream {
    /// Starts `statement` on `runtime`, rows decoded per `shape`, at most `buffer` rows ahead.
    pub fn start(
        runtime: &tokio::runtime::Runtime,
        db: &Db,
        statement: Statement,
        shape: Arc<Shape>,
        buffer: usize,
    ) -> RowStream {
        let (tx, rx) = mpsc::channel(buffer.div_ceil(CHUNK).max(1));
        let db = db.clone();
        runtime.spawn(async move {
            let Statement { sql, params } = statement;
            with_pool!(&db, pool => {
                // Not a cached prepared statement: `SELECT *` changes its result when the
                // table gains a column (PostgreSQL: "cached plan must not change result type").
                let mut query = sqlx::query(&sql).persistent(false);
                for param in &params {
                    query = match param {
                        Param::Int(n) => query.bind(*n),
                        Param::Instant(t) => query.bind(*t),
                        Param::Wall(w) => query.bind(*w),
                        Param::Text(s) => query.bind(s.as_str()),
                    };
                }
                pump(query.fetch(pool), &shape, &tx).await;
            });
        });
        RowStream {
            rows: rx,
            chunk: std::collections::VecDeque::new(),
        }
    }

    /// The next item, waiting for it.
    pub async fn next(&mut self) -> Item {
        if self.chunk.is_empty() {
            match self.rows.recv().await {
                Some(items) => self.chunk.extend(items),
                None => {
                    return Item::QueryFailed("the read stopped before the end of its rows".into())
                }
            }
        }
        self.chunk.pop_front().unwrap_or(Item::End)
    }
}

async fn pump<R: ReadRow + Row>(
    rows: impl Stream<Item = Result<R, sqlx::Error>>,
    shape: &Shape,
    tx: &mpsc::Sender<Vec<Item>>,
) {
    let mut rows = std::pin::pin!(rows);
    let mut indices: Option<Vec<usize>> = None;
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        // A chunk goes out when full, or when the next row is not there yet.
        let row = match rows.next().now_or_never() {
            Some(row) => row,
            None => {
                if !chunk.is_empty() && tx.send(std::mem::take(&mut chunk)).await.is_err() {
                    return;
                }
                rows.next().await
            }
        };
        let Some(row) = row else { break };
        let item = match row {
            Err(e) => Item::QueryFailed(e.to_string()),
            Ok(row) => {
                if indices.is_none() {
                    match positions(&row, shape) {
                        Ok(at) => indices = Some(at),
                        Err(e) => {
                            chunk.push(Item::QueryFailed(e));
                            let _ = tx.send(chunk).await;
                            return;
                        }
                    }
                }
                match decode(&row, indices.as_deref().unwrap_or_default(), shape) {
                    Ok(data) => Item::Row(data),
                    Err(e) => Item::BadRow(e),
                }
            }
        };
        let stop = !matches!(item, Item::Row(_));
        chunk.push(item);
        if stop {
            break;
        }
        if chunk.len() >= CHUNK && tx.send(std::mem::take(&mut chunk)).await.is_err() {
            // The task stopped reading.
            return;
        }
    }
    chunk.push(Item::End);
    let _ = tx.send(chunk).await;
}

/// Where the shape's columns are in the result (the result's columns must be the shape's, in
/// order: a table altered between reading its columns and reading its rows is read again).
fn positions<R: Row>(row: &R, shape: &Shape) -> Result<Vec<usize>, String> {
    let names: Vec<&str> = row.columns().iter().map(|c| c.name()).collect();
    let mut at = 0;
    let mut indices = Vec::with_capacity(shape.columns.len());
    for (name, _) in &shape.columns {
        match names[at..].iter().position(|n| n == name) {
            Some(i) => {
                indices.push(at + i);
                at += i + 1;
            }
            None => {
                return Err(format!(
                    "the columns changed while being read (no column {name} in the result)"
                ))
            }
        }
    }
    Ok(indices)
}

/// A row decoded by the shape; `indices` are the shape's columns' places in the result.
fn decode<R: ReadRow + Row>(row: &R, indices: &[usize], shape: &Shape) -> Result<RowData, String> {
    let mut values = Vec::with_capacity(shape.columns.len());
    for ((name, mapping), &i) in shape.columns.iter().zip(indices) {
        values.push(
            row.value(i, mapping, &shape.cx)
                .map_err(|e| format!("column {name}: {e}"))?,
        );
    }
    let incrementing = match shape.incrementing {
        None => None,
        Some(k) => Some(
            incrementing_value(&values[k], &shape.schema.fields[k].schema)
                .map_err(|e| format!("incrementing column {}: {e}", shape.columns[k].0))?,
        ),
    };
    let mut timestamp = None;
    for &k in &shape.timestamps {
        timestamp = row
            .instant(indices[k], &shape.columns[k].1, shape.cx.zone)
            .map_err(|e| format!("timestamp column {}: {e}", shape.columns[k].0))?;
        if timestamp.is_some() {
            break;
        }
    }
    Ok(RowData {
        values,
        incrementing,
        timestamp,
    })
}

/// An incrementing column's value as a 64-bit integer: integers, and Decimals of scale 0 that
/// fit (Confluent's rules; a null or fractional one fails the task).
fn incrementing_value(value: &Value, schema: &SchemaRef) -> Result<i64, String> {
    match value {
        Value::Int8(n) => Ok((*n).into()),
        Value::Int16(n) => Ok((*n).into()),
        Value::Int32(n) => Ok((*n).into()),
        Value::Int64(n) => Ok(*n),
        Value::Bytes(b) if logical::is(schema, logical::DECIMAL) => {
            if logical::decimal_scale(schema).map_err(|e| e.message)? != 0 {
                return Err("a Decimal with a scale is not an incrementing value".into());
            }
            let n = logical::decimal_unscaled(b).map_err(|e| e.message)?;
            i64::try_from(n).map_err(|_| format!("{n} does not fit a 64-bit integer"))
        }
        Value::Null => Err("null (the incrementing column must never be null)".into()),
        other => Err(format!("{other:?} is not an integer")),
    }
}
