//! `io.confluent.connect.jdbc.JdbcSinkConnector`: writes records into tables (spec §5).
//!
//! Records are gathered across puts up to `batch.size` (or until a put brings nothing, which
//! the worker calls after an idle poll), then written in **one transaction**: consecutive
//! records for the same table, schemas and operation become multi-row statements — `INSERT`,
//! upsert (`ON CONFLICT` / `ON DUPLICATE KEY UPDATE`), `DELETE … IN` for tombstones with
//! `delete.enabled` — or one `UPDATE` each; order is kept. [`JdbcSinkTask::pre_commit`] lets
//! the worker commit a partition's offsets only up to its first record not yet written, so an
//! offset is committed only after the transaction holding the record committed; a replay after
//! a crash rewrites rows, which upsert mode makes idempotent.
//!
//! Failures:
//! * the database unreachable: the records stay buffered, the task stays RUNNING and tries
//!   again after `retry.backoff.ms` (a full buffer asks the worker to redeliver later);
//! * a row the database refuses (a constraint, a bad value): the batch is halved until the
//!   row is found; it goes to the errant record reporter (DLQ with `errors.tolerance=all`,
//!   else the task fails), the rest is written;
//! * a record that cannot be written at all (no columns, nested types, a table that cannot
//!   take it): reported likewise;
//! * other errors: retried `max.retries` times, then record by record.
//!
//! Schemaless keys and values (maps from JSON without schemas) are written to existing tables,
//! typed by the table's columns ([`crate::sink_schemaless`]).

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tributary_connector_api::config::ConfigType;
use tributary_connector_api::{
    ConfigDef, ConfigValueInfo, ConnectError, ConnectResult, Connector, Props, SchemaRef,
    SinkConnector, SinkOffsets, SinkRecord, SinkTask, SinkTaskContext, TopicPartition, Type, Value,
};

use crate::column_mapping::ColumnInfo;
use crate::config_keys::{self, key};
use crate::db::Db;
use crate::dialect::Dialect;
use crate::sink_config::{InsertMode, PkMode, SinkConfig};
use crate::sink_params::{self, Kind, Param, ParamRules};
use crate::sink_schemaless::{needs_schema, SchemalessSchemas};
use crate::sink_sql::{self, ColumnRules, FieldsMetadata};
use crate::sink_writer::{self, Statement, WriteError, Writer};

/// The sink connector.
#[derive(Default)]
pub struct JdbcSinkConnector {
    props: Props,
}

impl Connector for JdbcSinkConnector {
    const CLASS: &'static str = "io.confluent.connect.jdbc.JdbcSinkConnector";

    fn version() -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    fn config_def() -> ConfigDef {
        let s = config_keys::value;
        config_keys::connection(ConfigDef::new())
            .define(key(
                "insert.mode",
                ConfigType::String,
                s("insert"),
                "insert, upsert or update.",
            ))
            .define(key(
                "batch.size",
                ConfigType::Int,
                s("3000"),
                "Records per write.",
            ))
            .define(key(
                "delete.enabled",
                ConfigType::Boolean,
                s("false"),
                "Tombstones delete rows by key.",
            ))
            .define(key(
                "table.name.format",
                ConfigType::String,
                s("${topic}"),
                "Destination table; ${topic} is the record's topic.",
            ))
            .define(key(
                "pk.mode",
                ConfigType::String,
                s("none"),
                "none, kafka, record_key or record_value.",
            ))
            .define(key(
                "pk.fields",
                ConfigType::List,
                s(""),
                "Primary key columns.",
            ))
            .define(key(
                "fields.whitelist",
                ConfigType::List,
                s(""),
                "Value fields to write (empty: all).",
            ))
            .define(key(
                "auto.create",
                ConfigType::Boolean,
                s("false"),
                "Create missing tables.",
            ))
            .define(key(
                "auto.evolve",
                ConfigType::Boolean,
                s("false"),
                "Add missing columns.",
            ))
            .define(key(
                "quote.sql.identifiers",
                ConfigType::String,
                s("always"),
                "always or never.",
            ))
            .define(key(
                "table.types",
                ConfigType::List,
                s("TABLE"),
                "TABLE, PARTITIONED TABLE, VIEW.",
            ))
            .define(key(
                "max.retries",
                ConfigType::Int,
                s("10"),
                "Retries of a failed write.",
            ))
            .define(key(
                "retry.backoff.ms",
                ConfigType::Int,
                s("3000"),
                "Wait before a retry.",
            ))
            .define(key(
                "db.timezone",
                ConfigType::String,
                s("UTC"),
                "Zone of written times.",
            ))
            .define(key(
                "date.timezone",
                ConfigType::String,
                s("DB_TIMEZONE"),
                "DB_TIMEZONE or UTC.",
            ))
            .define(key(
                "replace.null.with.default",
                ConfigType::Boolean,
                s("true"),
                "Null fields take their default.",
            ))
            .define(key(
                "timestamp.fields.list",
                ConfigType::List,
                s(""),
                "Fields written as timestamps.",
            ))
            .define(key(
                "timestamp.precision.mode",
                ConfigType::String,
                s("microseconds"),
                "microseconds or nanoseconds.",
            ))
            .define(key(
                "string.output.value.column.name",
                ConfigType::String,
                s("record_value"),
                "The column a STRING value is written to.",
            ))
    }

    fn validate(&self, props: &Props) -> Vec<ConfigValueInfo> {
        Self::config_def().validate_parsed(props, SinkConfig::parse(props))
    }

    fn start(&mut self, props: &Props) -> ConnectResult<()> {
        SinkConfig::parse(props).map_err(ConnectError::from)?;
        self.props = props.clone();
        Ok(())
    }

    fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Props>> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }

    fn stop(&mut self) -> ConnectResult<()> {
        Ok(())
    }
}

impl SinkConnector for JdbcSinkConnector {
    type Task = JdbcSinkTask;
}

/// What a run of records does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Insert,
    Upsert,
    Update,
    Delete,
}

/// Consecutive records for one table, with one set of columns and one operation.
struct Run {
    table: String,
    fields: Arc<FieldsMetadata>,
    op: Op,
    /// Per record: its index in the batch, its key parameters and its other parameters.
    rows: Vec<(usize, Vec<Param>, Vec<Param>)>,
}

/// The columns of a table's records with a key and a value schema.
struct KnownFields {
    table: String,
    key: Option<SchemaRef>,
    value: Option<SchemaRef>,
    fields: Arc<FieldsMetadata>,
    access: Arc<Access>,
}

/// Where each column's value is in a record of known schemas: worked out once per schemas, so
/// a record's values are taken by position, never looked up by name.
struct Access {
    keys: Vec<Accessor>,
    others: Vec<Accessor>,
}

struct Accessor {
    name: String,
    from: From,
    schema: SchemaRef,
    timestamp: bool,
}

/// Where a column's value comes from.
#[derive(Clone, Copy)]
enum From {
    Topic,
    Partition,
    Offset,
    /// The whole (primitive) key.
    Key,
    KeyField(usize),
    ValueField(usize),
    /// The whole (STRING) value.
    Value,
}

impl From {
    fn get<'r>(self, record: &'r SinkRecord) -> Cow<'r, Value> {
        const NULL: Value = Value::Null;
        let field = |v: &'r Value, i: usize| match v {
            Value::Struct(s) => s.values().get(i).unwrap_or(&NULL),
            _ => &NULL,
        };
        match self {
            From::Topic => Cow::Owned(Value::String(record.topic.clone())),
            From::Partition => Cow::Owned(Value::Int32(record.kafka_partition)),
            From::Offset => Cow::Owned(Value::Int64(record.kafka_offset)),
            From::Key => Cow::Borrowed(&record.key),
            From::KeyField(i) => Cow::Borrowed(field(&record.key, i)),
            From::ValueField(i) => Cow::Borrowed(field(&record.value, i)),
            From::Value => Cow::Borrowed(&record.value),
        }
    }
}

/// Where `fields`' columns are in records of these key and value schemas, per `pk.mode`.
fn access_of(
    config: &SinkConfig,
    fields: &FieldsMetadata,
    key: Option<&SchemaRef>,
    value: Option<&SchemaRef>,
) -> Result<Access, String> {
    let index = |schema: Option<&SchemaRef>, name: &str| {
        schema
            .and_then(|s| s.fields.iter().position(|f| f.name == name))
            .ok_or_else(|| format!("no field {name} in the record's schema"))
    };
    let accessor = |name: &String, from: From| -> Result<Accessor, String> {
        let column = fields
            .column(name)
            .ok_or_else(|| format!("no column {name}"))?;
        Ok(Accessor {
            name: name.clone(),
            from,
            schema: column.schema.clone(),
            timestamp: column.timestamp,
        })
    };
    let keys = fields
        .key_names()
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let from = match config.pk_mode {
                PkMode::Kafka => [From::Topic, From::Partition, From::Offset][i.min(2)],
                PkMode::RecordKey => match key {
                    Some(k) if k.type_ == Type::Struct => From::KeyField(index(key, name)?),
                    _ => From::Key,
                },
                PkMode::RecordValue | PkMode::None => From::ValueField(index(value, name)?),
            };
            accessor(name, from)
        })
        .collect::<Result<_, _>>()?;
    let others = fields
        .non_key_names()
        .iter()
        .map(|name| {
            let from = match value {
                Some(v) if v.type_ == Type::String => From::Value,
                _ => From::ValueField(index(value, name)?),
            };
            accessor(name, from)
        })
        .collect::<Result<_, _>>()?;
    Ok(Access { keys, others })
}

/// A record as a row: its table, columns, operation, key and other parameters.
struct Row {
    table: String,
    fields: Arc<FieldsMetadata>,
    op: Op,
    keys: Vec<Param>,
    others: Vec<Param>,
}

/// A write running in the background, with its records.
type InFlight = (
    Vec<SinkRecord>,
    tokio::task::JoinHandle<Result<(), WriteError>>,
);

/// Records that cannot become rows: their index in the batch and why.
type Rejected = Vec<(usize, String)>;

/// The longest records wait in the buffer while input keeps coming (a pause writes them at
/// once).
const MAX_BUFFER_AGE: Duration = Duration::from_secs(1);

/// About the most bytes of values one multi-row statement carries.
const MAX_STATEMENT_BYTES: usize = 8 << 20;

/// How many batches may wait in the buffer before puts are refused (redelivered later).
const BACKLOG_BATCHES: usize = 4;

/// How a write ended, for the caller.
enum Outcome {
    Written,
    /// Try again later; the records not written are back in the buffer.
    Retry,
}

/// The sink task.
#[derive(Default)]
pub struct JdbcSinkTask {
    config: Option<SinkConfig>,
    runtime: Option<tokio::runtime::Runtime>,
    writer: Option<Writer>,
    /// Records put but not written yet, in order.
    buffer: Vec<SinkRecord>,
    /// When the buffer last went from empty to holding records.
    buffered_since: Option<Instant>,
    /// No write before this (after a failure).
    next_attempt: Option<Instant>,
    retries_left: u32,
    /// Columns by table and schemas, as last worked out.
    fields: Vec<KnownFields>,
    /// Tables made ready for a set of columns.
    prepared: Vec<(String, Arc<FieldsMetadata>)>,
    /// The last topic's table (`table.name.format` applied).
    last_table: Option<(String, String)>,
    /// The write running in the background, with its records.
    in_flight: Option<InFlight>,
    /// Tables' columns, for schemaless records.
    table_columns: HashMap<String, Vec<ColumnInfo>>,
    schemaless: SchemalessSchemas,
}

fn note(message: &str) {
    eprintln!("jdbc sink: {message}");
}

impl SinkTask for JdbcSinkTask {
    fn start(&mut self, props: &Props, _context: &mut SinkTaskContext) -> ConnectResult<()> {
        let config = SinkConfig::parse(props).map_err(ConnectError::from)?;
        // One thread of its own: a transaction runs there while the task plans the next one.
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .map_err(|e| ConnectError::new(format!("cannot start the database runtime: {e}")))?;
        let writer = runtime
            .block_on(async {
                let db = Db::connect(
                    &config.url,
                    config.connection_attempts,
                    Duration::from_millis(config.connection_backoff_ms),
                    note,
                )
                .await
                .map_err(|e| e.to_string())?;
                Writer::new(db).await.map_err(|e| e.to_string())
            })
            .map_err(ConnectError::new)?;
        self.retries_left = config.max_retries;
        self.config = Some(config);
        self.runtime = Some(runtime);
        self.writer = Some(writer);
        Ok(())
    }

    fn put(
        &mut self,
        records: Vec<SinkRecord>,
        context: &mut SinkTaskContext,
    ) -> ConnectResult<()> {
        let Some(config) = &self.config else {
            return Err(ConnectError::new("the task is not started"));
        };
        let batch_size = (config.batch_size as usize).max(1);
        let backoff = i64::from(config.retry_backoff_ms);
        let idle = records.is_empty();
        // A backlog (the database is down or slower than the input): the worker keeps this
        // put's records and delivers them again after the backoff.
        if !idle && self.buffer.len() >= BACKLOG_BATCHES * batch_size {
            if !self.waiting() {
                self.write_buffer(context)?;
            }
            if self.buffer.len() >= BACKLOG_BATCHES * batch_size {
                context.timeout(backoff);
                return Err(ConnectError::retriable(
                    "the database has not taken the records before these yet",
                ));
            }
        }
        if self.buffer.is_empty() {
            self.buffered_since = Some(Instant::now());
        }
        self.buffer.extend(records);
        let old = self
            .buffered_since
            .is_some_and(|t| t.elapsed() >= MAX_BUFFER_AGE);
        let due = idle || old || self.buffer.len() >= batch_size;
        if due && !self.waiting() {
            self.write_buffer(context)?;
        }
        Ok(())
    }

    fn pre_commit(&mut self, offsets: &SinkOffsets) -> ConnectResult<SinkOffsets> {
        // The write in flight lands first (a failure puts its records back in the buffer, for
        // the next put to deal with).
        self.settle(None)?;
        // Everything before a partition's first buffered record is written (or reported).
        let mut safe = offsets.clone();
        for record in &self.buffer {
            let tp = TopicPartition::new(record.topic_for_offsets(), record.kafka_partition);
            if let Some(o) = safe.get_mut(&tp) {
                *o = (*o).min(record.kafka_offset);
            }
        }
        Ok(safe)
    }

    fn close(&mut self, partitions: &[TopicPartition]) -> ConnectResult<()> {
        self.settle(None)?;
        // Their records go to the partitions' next owner, from the committed offsets.
        self.buffer.retain(|r| {
            let tp = TopicPartition::new(r.topic_for_offsets(), r.kafka_partition);
            !partitions.contains(&tp)
        });
        Ok(())
    }

    fn stop(&mut self) -> ConnectResult<()> {
        let _ = self.settle(None);
        if let (Some(runtime), Some(writer)) = (&self.runtime, self.writer.take()) {
            runtime.block_on(writer.db().close());
        }
        Ok(())
    }
}

/// The topic a record's offset is committed under (its original one, before SMTs renamed it).
trait OffsetTopic {
    fn topic_for_offsets(&self) -> String;
}

impl OffsetTopic for SinkRecord {
    fn topic_for_offsets(&self) -> String {
        self.original_topic
            .clone()
            .unwrap_or_else(|| self.topic.clone())
    }
}

impl JdbcSinkTask {
    fn waiting(&self) -> bool {
        self.next_attempt.is_some_and(|t| Instant::now() < t)
    }

    /// Starts writing the buffer, after the write in flight landed: its transaction runs in
    /// the background while the task takes the next records. What cannot be written now stays
    /// in the buffer.
    fn write_buffer(&mut self, context: &mut SinkTaskContext) -> ConnectResult<()> {
        let records = std::mem::take(&mut self.buffer);
        // Planned while the write in flight still runs.
        let (statements, bad) = if records.is_empty() {
            (Ok(Vec::new()), Vec::new())
        } else {
            self.prepare(&records)?
        };
        if let Outcome::Retry = self.settle(Some(context))? {
            // The records in flight went back to the buffer, these after them.
            self.buffer.extend(records);
            return Ok(());
        }
        for (i, reason) in &bad {
            context.report(&records[*i], reason);
        }
        let statements = match statements {
            Ok(statements) => statements,
            Err(e) => {
                // Only the records that became rows are tried again.
                let rows = without(records, &bad);
                self.failed(rows, e, context)?;
                return Ok(());
            }
        };
        if statements.is_empty() {
            return Ok(());
        }
        let (Some(runtime), Some(writer)) = (&self.runtime, &self.writer) else {
            return Err(ConnectError::new("the task is not started"));
        };
        let db = writer.db().clone();
        let write = runtime.spawn(async move { sink_writer::execute(&db, &statements).await });
        self.in_flight = Some((without(records, &bad), write));
        Ok(())
    }

    /// Waits for the write in flight. A failure is dealt with here when there is a context to
    /// report records to; otherwise its records go back to the front of the buffer.
    fn settle(&mut self, context: Option<&mut SinkTaskContext>) -> ConnectResult<Outcome> {
        let Some((records, write)) = self.in_flight.take() else {
            return Ok(Outcome::Written);
        };
        let Some(runtime) = &self.runtime else {
            return Err(ConnectError::new("the task is not started"));
        };
        let result = runtime
            .block_on(write)
            .unwrap_or_else(|e| Err(WriteError::Other(format!("the write stopped: {e}"))));
        match (result, context) {
            (Ok(()), _) => {
                self.retries_left = self.config.as_ref().map_or(0, |c| c.max_retries);
                self.next_attempt = None;
                Ok(Outcome::Written)
            }
            (Err(e), Some(context)) => self.failed(records, e, context),
            (Err(e), None) => {
                self.requeue(records, 0, &e.to_string());
                Ok(Outcome::Retry)
            }
        }
    }

    /// A write of `records` failed with `error`: found out and dealt with as the error says
    /// (see the module's doc).
    fn failed(
        &mut self,
        records: Vec<SinkRecord>,
        error: WriteError,
        context: &mut SinkTaskContext,
    ) -> ConnectResult<Outcome> {
        let outcome = match error {
            WriteError::Unreachable(reason) => Err((0, reason)),
            WriteError::BadRow(_) => self.isolate(&records, context)?,
            WriteError::Table(_) => self.one_by_one(&records, context)?,
            WriteError::Other(reason) if self.retries_left > 0 => {
                self.retries_left -= 1;
                if let Some(w) = &mut self.writer {
                    w.forget_tables();
                }
                self.prepared.clear();
                self.table_columns.clear();
                Err((0, format!("{reason} (retries left: {})", self.retries_left)))
            }
            WriteError::Other(_) => self.one_by_one(&records, context)?,
        };
        Ok(match outcome {
            Ok(()) => {
                self.retries_left = self.config.as_ref().map_or(0, |c| c.max_retries);
                self.next_attempt = None;
                Outcome::Written
            }
            Err((from, reason)) => {
                self.requeue(records, from, &reason);
                Outcome::Retry
            }
        })
    }

    /// Puts `records[from..]` back in front of the buffer (they are older than what is
    /// there) and waits `retry.backoff.ms` before the next write.
    fn requeue(&mut self, mut records: Vec<SinkRecord>, from: usize, reason: &str) {
        let rest = std::mem::take(&mut self.buffer);
        records.drain(..from.min(records.len()));
        records.extend(rest);
        self.buffer = records;
        let backoff = self.config.as_ref().map_or(3000, |c| c.retry_backoff_ms);
        self.next_attempt = Some(Instant::now() + Duration::from_millis(u64::from(backoff)));
        note(reason);
    }

    /// Halves a batch a row was refused in until the row is found; it is reported, the rest
    /// written.
    fn isolate(
        &mut self,
        records: &[SinkRecord],
        context: &mut SinkTaskContext,
    ) -> ConnectResult<Result<(), (usize, String)>> {
        let mut pending = vec![(0, records.len())];
        while let Some((start, end)) = pending.pop() {
            let part = &records[start..end];
            match self.write_once(part, context)? {
                Ok(()) => {}
                Err(WriteError::BadRow(reason)) | Err(WriteError::Table(reason))
                    if part.len() == 1 =>
                {
                    context.report(&part[0], &reason);
                }
                Err(WriteError::BadRow(_)) | Err(WriteError::Table(_)) => {
                    let mid = start + part.len() / 2;
                    // The first half first: pending is a stack.
                    pending.push((mid, end));
                    pending.push((start, mid));
                }
                Err(WriteError::Unreachable(reason)) | Err(WriteError::Other(reason)) => {
                    return Ok(Err((start, reason)))
                }
            }
        }
        Ok(Ok(()))
    }

    /// Writes each record alone; those that fail are reported.
    fn one_by_one(
        &mut self,
        records: &[SinkRecord],
        context: &mut SinkTaskContext,
    ) -> ConnectResult<Result<(), (usize, String)>> {
        for (i, record) in records.iter().enumerate() {
            match self.write_once(std::slice::from_ref(record), context)? {
                Ok(()) => {}
                Err(WriteError::Unreachable(reason)) => return Ok(Err((i, reason))),
                Err(e) => context.report(record, e),
            }
        }
        self.retries_left = self.config.as_ref().map_or(0, |c| c.max_retries);
        Ok(Ok(()))
    }

    /// One attempt, waited for: records that cannot become rows are reported; the rest are
    /// written in one transaction.
    fn write_once(
        &mut self,
        records: &[SinkRecord],
        context: &mut SinkTaskContext,
    ) -> ConnectResult<Result<(), WriteError>> {
        let (statements, bad) = self.prepare(records)?;
        let statements = match statements {
            Ok(statements) => statements,
            Err(e) => return Ok(Err(e)),
        };
        let (Some(runtime), Some(writer)) = (&self.runtime, &self.writer) else {
            return Err(ConnectError::new("the task is not started"));
        };
        if !statements.is_empty() {
            if let Err(e) = runtime.block_on(sink_writer::execute(writer.db(), &statements)) {
                return Ok(Err(e));
            }
        }
        for (i, reason) in bad {
            context.report(&records[i], reason);
        }
        Ok(Ok(()))
    }

    /// The statements that write `records`, their tables made ready first, and the records
    /// that cannot become rows (index, why), for the caller to report.
    fn prepare(
        &mut self,
        records: &[SinkRecord],
    ) -> ConnectResult<(Result<Vec<Statement>, WriteError>, Rejected)> {
        let (mut runs, bad) = self.plan(records)?;
        let (Some(config), Some(runtime), Some(writer)) =
            (&self.config, &self.runtime, &mut self.writer)
        else {
            return Err(ConnectError::new("the task is not started"));
        };
        let dialect = config.dialect;
        let quoted = config.quote_identifiers;
        let mut statements = Vec::new();
        for run in &mut runs {
            let ready = self
                .prepared
                .iter()
                .any(|(t, f)| *t == run.table && Arc::ptr_eq(f, &run.fields));
            if !ready {
                if let Err(e) = runtime.block_on(writer.prepare(config, &run.table, &run.fields)) {
                    return Ok((Err(e), bad));
                }
                if self.prepared.len() >= 256 {
                    self.prepared.clear();
                }
                self.prepared.push((run.table.clone(), run.fields.clone()));
            }
            let typed = writer.typed_columns(&run.table);
            if !typed.is_empty() {
                retype(run, &typed, config.db_timezone);
            }
            match statements_of(dialect, quoted, run) {
                Ok(s) => statements.extend(s),
                Err(e) => return Ok((Err(WriteError::Table(e.to_string())), bad)),
            }
        }
        Ok((Ok(statements), bad))
    }

    /// The runs of `records`, and the records that cannot become rows (index, why).
    fn plan(&mut self, records: &[SinkRecord]) -> ConnectResult<(Vec<Run>, Rejected)> {
        let Some(config) = self.config.clone() else {
            return Err(ConnectError::new("the task is not started"));
        };
        let rules = ParamRules {
            dialect: config.dialect,
            zone: config.db_timezone,
            replace_null_with_default: config.replace_null_with_default,
            timestamp_precision: config.timestamp_precision,
        };
        let mut runs: Vec<Run> = Vec::new();
        let mut bad = Vec::new();
        for (index, record) in records.iter().enumerate() {
            let row = self.row(&config, &rules, record);
            let Row {
                table,
                fields,
                op,
                keys,
                others,
            } = match row {
                Ok(row) => row,
                Err(e) => {
                    bad.push((index, e));
                    continue;
                }
            };
            match runs.last_mut() {
                Some(run)
                    if run.table == table && Arc::ptr_eq(&run.fields, &fields) && run.op == op =>
                {
                    run.rows.push((index, keys, others))
                }
                _ => runs.push(Run {
                    table,
                    fields,
                    op,
                    rows: vec![(index, keys, others)],
                }),
            }
        }
        // An upsert or delete meets each key once per statement (PostgreSQL refuses a second
        // time): the last record of a key wins, as it would row by row.
        for run in &mut runs {
            if matches!(run.op, Op::Upsert | Op::Delete) {
                let key_of = |keys: &[Param]| {
                    let mut text = Vec::new();
                    for k in keys {
                        // Arrays are never key columns: no text form is fine.
                        let _ = sink_params::copy_text(k, &mut text);
                        text.push(b'\t');
                    }
                    text
                };
                let mut last: HashMap<Vec<u8>, usize> = HashMap::with_capacity(run.rows.len());
                for (i, (_, keys, _)) in run.rows.iter().enumerate() {
                    last.insert(key_of(keys), i);
                }
                if last.len() < run.rows.len() {
                    let mut i = 0;
                    run.rows.retain(|(_, keys, _)| {
                        let keep = last.get(&key_of(keys)) == Some(&i);
                        i += 1;
                        keep
                    });
                }
            }
        }
        Ok((runs, bad))
    }

    /// A record's table, columns, operation and parameters.
    fn row(
        &mut self,
        config: &SinkConfig,
        rules: &ParamRules,
        record: &SinkRecord,
    ) -> Result<Row, String> {
        let table = match &self.last_table {
            Some((topic, table)) if *topic == record.topic => table.clone(),
            _ => {
                let table = config.table_name(&record.topic);
                self.last_table = Some((record.topic.clone(), table.clone()));
                table
            }
        };
        let typed = self.typed(config, &table, record)?;
        let record = typed.as_ref();
        let tombstone = record.value.is_null();
        if tombstone && !config.delete_enabled {
            return Err(format!(
                "a record with a null value for table {table}, and delete.enabled is false"
            ));
        }
        if (tombstone || config.pk_mode == PkMode::RecordKey) && record.key.is_null() {
            return Err(format!("table {table}: the record key is null"));
        }
        let value_schema = if tombstone {
            None
        } else {
            Some(
                record
                    .value_schema
                    .clone()
                    .ok_or_else(|| format!("table {table}: the record value has no schema"))?,
            )
        };
        let (fields, access) = self.fields_of(
            config,
            &table,
            record.key_schema.as_ref(),
            value_schema.as_ref(),
        )?;
        let param = |a: &Accessor| -> Result<Param, String> {
            sink_params::param(a.from.get(record).as_ref(), &a.schema, a.timestamp, rules)
                .map_err(|e| format!("table {table}, column {}: {e}", a.name))
        };
        let keys = access
            .keys
            .iter()
            .map(param)
            .collect::<Result<Vec<_>, _>>()?;
        let op = match (tombstone, config.insert_mode) {
            (true, _) => Op::Delete,
            (false, InsertMode::Insert) => Op::Insert,
            (false, InsertMode::Upsert) => Op::Upsert,
            (false, InsertMode::Update) => Op::Update,
        };
        let others = if tombstone {
            Vec::new()
        } else {
            access
                .others
                .iter()
                .map(param)
                .collect::<Result<Vec<_>, _>>()?
        };
        Ok(Row {
            table,
            fields,
            op,
            keys,
            others,
        })
    }

    /// The record with schemas made for a schemaless key or value from the table's columns
    /// (see [`crate::sink_schemaless`]); as it is otherwise.
    fn typed<'r>(
        &mut self,
        config: &SinkConfig,
        table: &str,
        record: &'r SinkRecord,
    ) -> Result<Cow<'r, SinkRecord>, String> {
        let key = needs_schema(record.key_schema.as_ref(), &record.key);
        let value = needs_schema(record.value_schema.as_ref(), &record.value);
        if !key && !value {
            return Ok(Cow::Borrowed(record));
        }
        if !self.table_columns.contains_key(table) {
            let (Some(runtime), Some(writer)) = (&self.runtime, &self.writer) else {
                return Err("the task is not started".into());
            };
            let columns = runtime
                .block_on(writer.db().columns(&writer.qualified(table)))
                .map_err(|e| format!("cannot read the columns of {table}: {e}"))?;
            if columns.is_empty() {
                return Err(format!(
                    "table {table} does not exist: schemaless records are written to existing \
                     tables only (auto.create cannot guess column types)"
                ));
            }
            self.table_columns.insert(table.to_owned(), columns);
        }
        let columns = self
            .table_columns
            .get(table)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut typed = record.clone();
        if key {
            let (schema, v) = self.schemaless.typed(
                config.dialect,
                config.db_timezone,
                table,
                columns,
                &record.key,
            )?;
            typed.key_schema = Some(schema);
            typed.key = v;
        }
        if value {
            let (schema, v) = self.schemaless.typed(
                config.dialect,
                config.db_timezone,
                table,
                columns,
                &record.value,
            )?;
            typed.value_schema = Some(schema);
            typed.value = v;
        }
        Ok(Cow::Owned(typed))
    }

    /// The columns of a table's records with these schemas, and where their values are
    /// (worked out once per schemas).
    fn fields_of(
        &mut self,
        config: &SinkConfig,
        table: &str,
        key: Option<&SchemaRef>,
        value: Option<&SchemaRef>,
    ) -> Result<(Arc<FieldsMetadata>, Arc<Access>), String> {
        let same = |a: Option<&SchemaRef>, b: Option<&SchemaRef>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        };
        if let Some(known) = self.fields.iter().find(|k| {
            k.table == table && same(k.key.as_ref(), key) && same(k.value.as_ref(), value)
        }) {
            return Ok((known.fields.clone(), known.access.clone()));
        }
        // A tombstone has no value schema: its columns are the table's key columns.
        let value_for_fields = value.or_else(|| {
            self.fields
                .iter()
                .find(|k| k.table == table && same(k.key.as_ref(), key))
                .and_then(|k| k.value.as_ref())
        });
        let fields =
            FieldsMetadata::extract(table, &ColumnRules::of(config), key, value_for_fields)
                .map_err(|e| e.to_string())?;
        let access = Arc::new(access_of(config, &fields, key, value_for_fields)?);
        let fields = Arc::new(fields);
        if self.fields.len() > 64 {
            self.fields.remove(0);
        }
        self.fields.push(KnownFields {
            table: table.to_owned(),
            key: key.cloned(),
            value: value.cloned(),
            fields: fields.clone(),
            access: access.clone(),
        });
        Ok((fields, access))
    }
}

/// Parameters headed for columns that need their own type (see
/// [`Writer::typed_columns`]) take it.
fn retype(run: &mut Run, typed: &[(String, Kind)], zone: chrono_tz::Tz) {
    let fields = &run.fields;
    let kind_of = |name: &String| typed.iter().find(|(c, _)| c == name).map(|(_, k)| *k);
    let key_kinds: Vec<Option<Kind>> = fields.key_names().iter().map(kind_of).collect();
    let other_kinds: Vec<Option<Kind>> = fields.non_key_names().iter().map(kind_of).collect();
    for (_, keys, others) in &mut run.rows {
        for (params, kinds) in [(&mut *keys, &key_kinds), (&mut *others, &other_kinds)] {
            for (param, kind) in params.iter_mut().zip(kinds) {
                if let Some(kind) = kind {
                    *param = std::mem::replace(param, Param::Bool(false)).into_kind(*kind, zone);
                }
            }
        }
    }
}

/// `records` without those at the indices of `bad` (in order).
fn without(records: Vec<SinkRecord>, bad: &[(usize, String)]) -> Vec<SinkRecord> {
    if bad.is_empty() {
        return records;
    }
    records
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !bad.iter().any(|(b, _)| b == i))
        .map(|(_, r)| r)
        .collect()
}

/// The statements of a run: `COPY` for PostgreSQL's insert mode, multi-row `INSERT`s,
/// upserts and `DELETE`s within each statement's row limit, one `UPDATE` per record.
fn statements_of(
    dialect: Dialect,
    quoted: bool,
    run: &Run,
) -> Result<Vec<Statement>, sink_sql::SinkSqlError> {
    let fields = &run.fields;
    let mut statements = Vec::new();
    match run.op {
        Op::Update => {
            let sql = sink_sql::update(dialect, quoted, &run.table, fields)?;
            for (_, keys, others) in &run.rows {
                statements.push(Statement::Sql {
                    sql: sql.clone(),
                    params: others.iter().chain(keys).cloned().collect(),
                });
            }
        }
        Op::Delete => {
            let per = sink_sql::max_delete_rows(dialect, fields.key_names().len()).max(1);
            for chunk in run.rows.chunks(per) {
                statements.push(Statement::Sql {
                    sql: sink_sql::delete(dialect, quoted, &run.table, fields, chunk.len())?,
                    params: chunk
                        .iter()
                        .flat_map(|(_, k, _)| k.iter().cloned())
                        .collect(),
                });
            }
        }
        Op::Insert if dialect == Dialect::PostgreSql => {
            if let Some(data) = copy_data(run) {
                statements.push(Statement::Copy {
                    sql: sink_sql::copy_in(quoted, &run.table, fields),
                    data,
                });
                return Ok(statements);
            }
            statements.extend(inserts(dialect, quoted, run)?);
        }
        Op::Insert | Op::Upsert => statements.extend(inserts(dialect, quoted, run)?),
    }
    Ok(statements)
}

/// The rows of a run in `COPY`'s text format (`None` when a value has no text form there).
fn copy_data(run: &Run) -> Option<Vec<u8>> {
    let mut data = Vec::with_capacity(run.rows.len() * 64);
    for (_, keys, others) in &run.rows {
        for (i, param) in keys.iter().chain(others).enumerate() {
            if i > 0 {
                data.push(b'\t');
            }
            sink_params::copy_text(param, &mut data)?;
        }
        data.push(b'\n');
    }
    Some(data)
}

/// Multi-row `INSERT`s or upserts within each statement's row limit.
fn inserts(
    dialect: Dialect,
    quoted: bool,
    run: &Run,
) -> Result<Vec<Statement>, sink_sql::SinkSqlError> {
    let fields = &run.fields;
    let width = fields.key_names().len() + fields.non_key_names().len();
    let per = sink_sql::max_rows(dialect, width).max(1);
    let mut statements = Vec::new();
    let mut rest = run.rows.as_slice();
    while !rest.is_empty() {
        // Within the parameter limit and about MAX_STATEMENT_BYTES of values (a server refuses
        // a larger packet: MariaDB's max_allowed_packet is 16 MiB by default).
        let mut n = 0;
        let mut bytes = 0;
        for (_, k, o) in rest.iter().take(per) {
            let size: usize = k.iter().chain(o).map(sink_params::size_of).sum();
            if n > 0 && bytes + size > MAX_STATEMENT_BYTES {
                break;
            }
            bytes += size;
            n += 1;
        }
        let (chunk, tail) = rest.split_at(n.max(1));
        rest = tail;
        let sql = if run.op == Op::Insert {
            sink_sql::insert(dialect, quoted, &run.table, fields, chunk.len())?
        } else {
            sink_sql::upsert(dialect, quoted, &run.table, fields, chunk.len())?
        };
        statements.push(Statement::Sql {
            sql,
            params: chunk
                .iter()
                .flat_map(|(_, k, o)| k.iter().chain(o).cloned())
                .collect(),
        });
    }
    Ok(statements)
}
