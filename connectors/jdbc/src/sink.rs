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

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tributary_connector_api::config::{
    ConfigKey, ConfigType, Default as ConfigDefault, Importance,
};
use tributary_connector_api::{
    ConfigDef, ConfigValueInfo, ConnectError, ConnectResult, Connector, Props, SchemaRef,
    SinkConnector, SinkOffsets, SinkRecord, SinkTask, SinkTaskContext, TopicPartition, Type, Value,
};

use crate::db::Db;
use crate::dialect::Dialect;
use crate::sink_config::{InsertMode, PkMode, SinkConfig};
use crate::sink_params::{self, Param, ParamRules};
use crate::sink_sql::{self, ColumnRules, FieldsMetadata};
use crate::sink_writer::{Statement, WriteError, Writer};

/// The sink connector.
#[derive(Default)]
pub struct JdbcSinkConnector {
    props: Props,
}

fn key(name: &str, type_: ConfigType, default: ConfigDefault, doc: &str) -> ConfigKey {
    ConfigKey::new(name, type_, default, Importance::High, doc)
}

impl Connector for JdbcSinkConnector {
    const CLASS: &'static str = "io.confluent.connect.jdbc.JdbcSinkConnector";

    fn version() -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    fn config_def() -> ConfigDef {
        let s = |v: &str| ConfigDefault::Value(v.to_owned());
        ConfigDef::new()
            .define(key("connection.url", ConfigType::String, ConfigDefault::Required,
                "JDBC URL: jdbc:postgresql://…, jdbc:mysql://…, jdbc:mariadb://… or jdbc:sqlite:<path>."))
            .define(key("connection.user", ConfigType::String, ConfigDefault::Null, "Database user."))
            .define(key("connection.password", ConfigType::Password, ConfigDefault::Null, "Database password."))
            .define(key("connection.attempts", ConfigType::Int, s("3"), "Tries to connect."))
            .define(key("connection.backoff.ms", ConfigType::Long, s("10000"), "Wait between connection tries."))
            .define(key("dialect.name", ConfigType::String, s(""), "Force a dialect."))
            .define(key("insert.mode", ConfigType::String, s("insert"), "insert, upsert or update."))
            .define(key("batch.size", ConfigType::Int, s("3000"), "Records per write."))
            .define(key("delete.enabled", ConfigType::Boolean, s("false"), "Tombstones delete rows by key."))
            .define(key("table.name.format", ConfigType::String, s("${topic}"), "Destination table; ${topic} is the record's topic."))
            .define(key("pk.mode", ConfigType::String, s("none"), "none, kafka, record_key or record_value."))
            .define(key("pk.fields", ConfigType::List, s(""), "Primary key columns."))
            .define(key("fields.whitelist", ConfigType::List, s(""), "Value fields to write (empty: all)."))
            .define(key("auto.create", ConfigType::Boolean, s("false"), "Create missing tables."))
            .define(key("auto.evolve", ConfigType::Boolean, s("false"), "Add missing columns."))
            .define(key("quote.sql.identifiers", ConfigType::String, s("always"), "always or never."))
            .define(key("table.types", ConfigType::List, s("TABLE"), "TABLE, PARTITIONED TABLE, VIEW."))
            .define(key("max.retries", ConfigType::Int, s("10"), "Retries of a failed write."))
            .define(key("retry.backoff.ms", ConfigType::Int, s("3000"), "Wait before a retry."))
            .define(key("db.timezone", ConfigType::String, s("UTC"), "Zone of written times."))
            .define(key("date.timezone", ConfigType::String, s("DB_TIMEZONE"), "DB_TIMEZONE or UTC."))
            .define(key("replace.null.with.default", ConfigType::Boolean, s("true"), "Null fields take their default."))
            .define(key("timestamp.fields.list", ConfigType::List, s(""), "Fields written as timestamps."))
            .define(key("timestamp.precision.mode", ConfigType::String, s("microseconds"), "microseconds or nanoseconds."))
            .define(key("string.output.value.column.name", ConfigType::String, s("record_value"),
                "The column a STRING value is written to."))
    }

    fn validate(&self, props: &Props) -> Vec<ConfigValueInfo> {
        let mut values = Self::config_def().validate(props);
        if let Err(e) = SinkConfig::parse(props) {
            match values.iter_mut().find(|v| v.name == e.key) {
                Some(v) => v.errors.push(e.message),
                None => values.push(ConfigValueInfo {
                    name: e.key,
                    value: None,
                    recommended_values: Vec::new(),
                    errors: vec![e.message],
                    visible: true,
                }),
            }
        }
        values
    }

    fn start(&mut self, props: &Props) -> ConnectResult<()> {
        SinkConfig::parse(props).map_err(|e| ConnectError::new(e.to_string()))?;
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
}

/// A record as a row: its table, columns, operation, key and other parameters.
struct Row {
    table: String,
    fields: Arc<FieldsMetadata>,
    op: Op,
    keys: Vec<Param>,
    others: Vec<Param>,
}

/// How a write ended, for the caller.
enum Outcome {
    Written,
    /// Try again later; the records not written are back in the buffer.
    Retry(String),
}

/// The sink task.
#[derive(Default)]
pub struct JdbcSinkTask {
    config: Option<SinkConfig>,
    runtime: Option<tokio::runtime::Runtime>,
    writer: Option<Writer>,
    /// Records put but not written yet, in order.
    buffer: Vec<SinkRecord>,
    /// No write before this (after a failure).
    next_attempt: Option<Instant>,
    retries_left: u32,
    /// Columns by table and schemas, as last worked out.
    fields: Vec<KnownFields>,
    /// Tables made ready for a set of columns.
    prepared: Vec<(String, Arc<FieldsMetadata>)>,
}

fn note(message: &str) {
    eprintln!("jdbc sink: {message}");
}

impl SinkTask for JdbcSinkTask {
    fn start(&mut self, props: &Props, _context: &mut SinkTaskContext) -> ConnectResult<()> {
        let config = SinkConfig::parse(props).map_err(|e| ConnectError::new(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
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
        let before = self.buffer.len();
        let idle = records.is_empty();
        self.buffer.extend(records);
        let full = self.buffer.len() >= batch_size;
        if self.buffer.is_empty() || (!idle && !full) {
            return Ok(());
        }
        let waiting = self.next_attempt.is_some_and(|t| Instant::now() < t);
        let outcome = if waiting {
            Outcome::Retry("waiting to retry the last failed write".into())
        } else {
            self.write_buffer(context)?
        };
        match outcome {
            Outcome::Written => Ok(()),
            Outcome::Retry(reason) if full && !idle => {
                // Too much is waiting: the worker redelivers this put's records later.
                self.buffer.truncate(before);
                context.timeout(backoff);
                Err(ConnectError::retriable(reason))
            }
            Outcome::Retry(_) => Ok(()),
        }
    }

    fn pre_commit(&mut self, offsets: &SinkOffsets) -> ConnectResult<SinkOffsets> {
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
        // Their records go to the partitions' next owner, from the committed offsets.
        self.buffer.retain(|r| {
            let tp = TopicPartition::new(r.topic_for_offsets(), r.kafka_partition);
            !partitions.contains(&tp)
        });
        Ok(())
    }

    fn stop(&mut self) -> ConnectResult<()> {
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
    /// Writes the buffer; what cannot be written now stays in it.
    fn write_buffer(&mut self, context: &mut SinkTaskContext) -> ConnectResult<Outcome> {
        let records = std::mem::take(&mut self.buffer);
        let outcome = self.write_all(&records, context)?;
        Ok(match outcome {
            Ok(()) => {
                self.retries_left = self.config.as_ref().map_or(0, |c| c.max_retries);
                self.next_attempt = None;
                Outcome::Written
            }
            Err((from, reason)) => {
                self.buffer = records[from..].to_vec();
                let backoff = self.config.as_ref().map_or(3000, |c| c.retry_backoff_ms);
                self.next_attempt =
                    Some(Instant::now() + Duration::from_millis(u64::from(backoff)));
                note(&reason);
                Outcome::Retry(reason)
            }
        })
    }

    /// Writes `records` (in one transaction when all goes well). `Err((i, reason))`: records
    /// from `i` on are not written and should be tried again later.
    fn write_all(
        &mut self,
        records: &[SinkRecord],
        context: &mut SinkTaskContext,
    ) -> ConnectResult<Result<(), (usize, String)>> {
        match self.write_once(records, context)? {
            Ok(()) => Ok(Ok(())),
            Err(WriteError::Unreachable(reason)) => Ok(Err((0, reason))),
            Err(WriteError::BadRow(_)) => self.isolate(records, context),
            Err(WriteError::Table(_)) => self.one_by_one(records, context),
            Err(WriteError::Other(reason)) => {
                if self.retries_left > 0 {
                    self.retries_left -= 1;
                    if let Some(w) = &mut self.writer {
                        w.forget_tables();
                    }
                    Ok(Err((
                        0,
                        format!("{reason} (retries left: {})", self.retries_left),
                    )))
                } else {
                    self.one_by_one(records, context)
                }
            }
        }
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

    /// One attempt: records that cannot become rows are reported; the rest are written in one
    /// transaction.
    fn write_once(
        &mut self,
        records: &[SinkRecord],
        context: &mut SinkTaskContext,
    ) -> ConnectResult<Result<(), WriteError>> {
        let runs = self.plan(records, context)?;
        let (Some(config), Some(runtime), Some(writer)) =
            (&self.config, &self.runtime, &mut self.writer)
        else {
            return Err(ConnectError::new("the task is not started"));
        };
        let dialect = config.dialect;
        let quoted = config.quote_identifiers;
        let mut statements = Vec::new();
        for run in &runs {
            let ready = self
                .prepared
                .iter()
                .any(|(t, f)| *t == run.table && Arc::ptr_eq(f, &run.fields));
            if !ready {
                if let Err(e) = runtime.block_on(writer.prepare(config, &run.table, &run.fields)) {
                    return Ok(Err(e));
                }
                self.prepared.push((run.table.clone(), run.fields.clone()));
            }
            match statements_of(dialect, quoted, run) {
                Ok(s) => statements.extend(s),
                Err(e) => return Ok(Err(WriteError::Table(e.to_string()))),
            }
        }
        if statements.is_empty() {
            return Ok(Ok(()));
        }
        Ok(runtime.block_on(writer.execute(&statements)))
    }

    /// The runs of `records`; a record that cannot become a row is reported.
    fn plan(
        &mut self,
        records: &[SinkRecord],
        context: &mut SinkTaskContext,
    ) -> ConnectResult<Vec<Run>> {
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
                    context.report(record, e);
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
                let mut last: BTreeMap<String, usize> = BTreeMap::new();
                for (i, (_, keys, _)) in run.rows.iter().enumerate() {
                    last.insert(format!("{keys:?}"), i);
                }
                let mut i = 0;
                run.rows.retain(|(_, keys, _)| {
                    let keep = last.get(&format!("{keys:?}")) == Some(&i);
                    i += 1;
                    keep
                });
            }
        }
        Ok(runs)
    }

    /// A record's table, columns, operation and parameters.
    fn row(
        &mut self,
        config: &SinkConfig,
        rules: &ParamRules,
        record: &SinkRecord,
    ) -> Result<Row, String> {
        let table = config.table_name(&record.topic);
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
        let fields = self.fields_of(
            config,
            &table,
            record.key_schema.as_ref(),
            value_schema.as_ref(),
        )?;
        let column_param = |name: &str| -> Result<Param, String> {
            let column = fields
                .column(name)
                .ok_or_else(|| format!("no column {name}"))?;
            let value = column_value(config, record, &fields, name)?;
            sink_params::param(&value, &column.schema, column.timestamp, rules)
                .map_err(|e| format!("table {table}, column {name}: {e}"))
        };
        let keys = fields
            .key_names()
            .iter()
            .map(|n| column_param(n))
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
            fields
                .non_key_names()
                .iter()
                .map(|n| column_param(n))
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

    /// The columns of a table's records with these schemas (worked out once per schemas).
    fn fields_of(
        &mut self,
        config: &SinkConfig,
        table: &str,
        key: Option<&SchemaRef>,
        value: Option<&SchemaRef>,
    ) -> Result<Arc<FieldsMetadata>, String> {
        let same = |a: Option<&SchemaRef>, b: Option<&SchemaRef>| match (a, b) {
            (None, None) => true,
            (Some(a), Some(b)) => Arc::ptr_eq(a, b) || a == b,
            _ => false,
        };
        if let Some(known) = self.fields.iter().find(|k| {
            k.table == table && same(k.key.as_ref(), key) && same(k.value.as_ref(), value)
        }) {
            return Ok(known.fields.clone());
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
        let fields = Arc::new(fields);
        if self.fields.len() > 64 {
            self.fields.remove(0);
        }
        self.fields.push(KnownFields {
            table: table.to_owned(),
            key: key.cloned(),
            value: value.cloned(),
            fields: fields.clone(),
        });
        Ok(fields)
    }
}

/// The value of column `name` of a record: from the Kafka coordinates, the key or the value,
/// per `pk.mode`.
fn column_value(
    config: &SinkConfig,
    record: &SinkRecord,
    fields: &FieldsMetadata,
    name: &str,
) -> Result<Value, String> {
    let is_key = fields.key_names().iter().any(|k| k == name);
    if is_key {
        match config.pk_mode {
            PkMode::Kafka => {
                let i = fields
                    .key_names()
                    .iter()
                    .position(|k| k == name)
                    .unwrap_or(0);
                return Ok(match i {
                    0 => Value::String(record.topic.clone()),
                    1 => Value::Int32(record.kafka_partition),
                    _ => Value::Int64(record.kafka_offset),
                });
            }
            PkMode::RecordKey => {
                return Ok(match &record.key {
                    Value::Struct(s) => s.get(name).cloned().unwrap_or(Value::Null),
                    primitive => primitive.clone(),
                })
            }
            PkMode::RecordValue | PkMode::None => {}
        }
    }
    Ok(match &record.value {
        Value::Struct(s) => s.get(name).cloned().unwrap_or(Value::Null),
        Value::String(text)
            if record
                .value_schema
                .as_ref()
                .is_some_and(|s| s.type_ == Type::String) =>
        {
            Value::String(text.clone())
        }
        Value::Null => Value::Null,
        other => return Err(format!("a {other:?} value is not a Struct")),
    })
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
    for chunk in run.rows.chunks(per) {
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
