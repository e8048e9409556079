//! `io.confluent.connect.jdbc.JdbcSourceConnector`: copies tables (or one query's rows) into
//! topics, in `bulk`, `incrementing`, `timestamp` or `timestamp+incrementing` mode, with
//! Confluent's offsets (spec §4).
//!
//! The connector lists the database's tables at start (`table.types`, `schema.pattern` /
//! `catalog.pattern`), keeps those `table.whitelist`/`table.blacklist` or
//! `table.include.list`/`table.exclude.list` select, and spreads them over tasks; its
//! [`TableMonitor`] lists them again every `table.poll.interval.ms` and asks the worker for
//! new task configs when a table appears or goes. Each task
//! reads its tables in turn, each at most every `poll.interval.ms`: a read streams the rows
//! of one statement ([`crate::query`]) and hands them out `batch.max.rows` at a time, so
//! memory stays bounded whatever the table's size. A table's columns are read from the
//! catalog before each read, so an added column appears in the next read's schema.
//!
//! Offsets: incrementing and timestamp+incrementing rows carry their own (unique) position;
//! in timestamp mode a row's offset moves to its timestamp only once a later timestamp is seen
//! (or the read ends), so a restart inside a group of equal timestamps replays the group
//! instead of losing its rest — Confluent's rule.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::TimeDelta;
use tributary_connector_api::config::{ConfigType, Default as ConfigDefault};
use tributary_connector_api::{
    ConfigDef, ConfigValueInfo, ConnectError, ConnectResult, Connector, ConnectorContext,
    OffsetMap, Props, SourceConnector, SourceRecord, SourceTask, SourceTaskContext, Struct, Value,
};

use crate::column_mapping::{self, ColumnInfo, Mapping};
use crate::config_keys::{self, key};
use crate::db::Db;
use crate::dialect::Dialect;
use crate::offsets::{self, Position};
use crate::query::Target;
use crate::row_reader::ReadContext;
use crate::row_stream::{Item, RowData, RowStream, Shape};
use crate::source_config::{Mode, Source, SourceConfig};
use crate::table_monitor::{self, TableMonitor, Tables};
use crate::task_split::split_tables;

/// The task-config key listing a task's tables (comma-separated, qualified), as Confluent's
/// `tables`.
const TABLES: &str = "tables";

/// The longest a poll waits for rows of a running read before handing out what it has.
const POLL_WAIT: Duration = Duration::from_millis(500);

/// The source connector.
#[derive(Default)]
pub struct JdbcSourceConnector {
    props: Props,
    config: Option<SourceConfig>,
    /// The selected tables (table mode), qualified; kept current by the monitor.
    tables: Tables,
    monitor: Option<TableMonitor>,
    context: ConnectorContext,
}

/// The database runtime, on the task's thread (a runtime thread of its own was measured
/// slower: the hand-over of rows between threads cost more than the decoding it moved).
fn runtime() -> ConnectResult<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ConnectError::new(format!("cannot start the database runtime: {e}")))
}

fn connect(runtime: &tokio::runtime::Runtime, config: &SourceConfig) -> ConnectResult<Db> {
    runtime
        .block_on(Db::connect(
            &config.url,
            config.connection_attempts,
            Duration::from_millis(config.connection_backoff_ms),
            note,
        ))
        .map_err(|e| ConnectError::new(e.to_string()))
}

/// Connection and read notes go to standard error, which the worker's log takes in (plugins
/// have no logger of the worker's).
fn note(message: &str) {
    eprintln!("jdbc source: {message}");
}

impl Connector for JdbcSourceConnector {
    const CLASS: &'static str = "io.confluent.connect.jdbc.JdbcSourceConnector";

    fn version() -> String {
        env!("CARGO_PKG_VERSION").to_owned()
    }

    fn config_def() -> ConfigDef {
        let s = config_keys::value;
        config_keys::connection(ConfigDef::new())
            .define(key(
                "mode",
                ConfigType::String,
                ConfigDefault::Required,
                "bulk, incrementing, timestamp or timestamp+incrementing.",
            ))
            .define(key(
                "incrementing.column.name",
                ConfigType::String,
                s(""),
                "The strictly increasing column of incrementing modes.",
            ))
            .define(key(
                "timestamp.column.name",
                ConfigType::List,
                s(""),
                "The timestamp column(s).",
            ))
            .define(key(
                "table.whitelist",
                ConfigType::List,
                s(""),
                "Tables to copy.",
            ))
            .define(key(
                "table.blacklist",
                ConfigType::List,
                s(""),
                "Tables not to copy.",
            ))
            .define(key(
                "query",
                ConfigType::String,
                s(""),
                "A query to copy the rows of, instead of tables.",
            ))
            .define(key(
                "topic.prefix",
                ConfigType::String,
                s(""),
                "Prefix of each table's topic (the whole topic in query mode).",
            ))
            .define(key(
                "poll.interval.ms",
                ConfigType::Int,
                s("5000"),
                "Least time between two reads of a table.",
            ))
            .define(key(
                "batch.max.rows",
                ConfigType::Int,
                s("1000"),
                "Most rows in one poll.",
            ))
            .define(key(
                "quote.sql.identifiers",
                ConfigType::String,
                s("always"),
                "always or never.",
            ))
            .define(key(
                "table.include.list",
                ConfigType::List,
                s(""),
                "Regular expressions of tables to copy.",
            ))
            .define(key(
                "table.exclude.list",
                ConfigType::List,
                s(""),
                "Regular expressions of tables not to copy.",
            ))
            .define(key(
                "table.types",
                ConfigType::List,
                s("TABLE"),
                "TABLE and/or VIEW.",
            ))
            .define(key(
                "schema.pattern",
                ConfigType::String,
                ConfigDefault::Null,
                "LIKE pattern of the schemas to list tables in.",
            ))
            .define(key(
                "catalog.pattern",
                ConfigType::String,
                ConfigDefault::Null,
                "LIKE pattern of the catalogs (MySQL databases) to list tables in.",
            ))
            .define(key(
                "query.suffix",
                ConfigType::String,
                s(""),
                "Text appended to each generated query.",
            ))
            .define(key(
                "table.poll.interval.ms",
                ConfigType::Long,
                s("60000"),
                "How often the table list is read.",
            ))
            .define(key(
                "timestamp.delay.interval.ms",
                ConfigType::Long,
                s("0"),
                "How long a timestamp must be in the past to be read.",
            ))
            .define(key(
                "timestamp.initial",
                ConfigType::Long,
                ConfigDefault::Null,
                "First lower bound (epoch ms; -1 = now).",
            ))
            .define(key(
                "db.timezone",
                ConfigType::String,
                s("UTC"),
                "The zone of wall-time columns.",
            ))
            .define(key(
                "validate.non.null",
                ConfigType::Boolean,
                s("true"),
                "Refuse nullable offset columns.",
            ))
            .define(key(
                "numeric.mapping",
                ConfigType::String,
                ConfigDefault::Null,
                "none, precision_only, best_fit or best_fit_eager_double.",
            ))
            .define(key(
                "numeric.precision.mapping",
                ConfigType::Boolean,
                s("false"),
                "Deprecated: precision_only.",
            ))
            .define(key(
                "timestamp.granularity",
                ConfigType::String,
                s("connect_logical"),
                "How timestamps are written.",
            ))
            .define(key(
                "query.retry.attempts",
                ConfigType::Int,
                s("-1"),
                "Failed reads before the task fails (-1: never).",
            ))
    }

    fn validate(&self, props: &Props) -> Vec<ConfigValueInfo> {
        Self::config_def().validate_parsed(props, SourceConfig::parse(props))
    }

    fn initialize(&mut self, context: ConnectorContext) {
        self.context = context;
    }

    fn start(&mut self, props: &Props) -> ConnectResult<()> {
        let config = SourceConfig::parse(props).map_err(ConnectError::from)?;
        if matches!(config.source, Source::Tables { .. }) {
            let runtime = runtime()?;
            let db = connect(&runtime, &config)?;
            let listed = runtime.block_on(async {
                let listed = table_monitor::list(&db, &config, true).await;
                db.close().await;
                listed
            });
            *self.tables.lock().unwrap_or_else(|e| e.into_inner()) =
                listed.map_err(ConnectError::new)?;
            self.monitor = Some(TableMonitor::start(
                config.clone(),
                self.tables.clone(),
                self.context.clone(),
                note,
            ));
        }
        self.props = props.clone();
        self.config = Some(config);
        Ok(())
    }

    fn task_configs(&mut self, max_tasks: usize) -> ConnectResult<Vec<Props>> {
        let Some(config) = &self.config else {
            return Err(ConnectError::new("the connector is not started"));
        };
        Ok(match &config.source {
            Source::Query(_) => vec![self.props.clone()],
            Source::Tables { .. } => split_tables(
                &self.tables.lock().unwrap_or_else(|e| e.into_inner()),
                max_tasks,
            )
            .into_iter()
            .map(|tables| {
                let mut p = self.props.clone();
                p.insert(TABLES.into(), tables.join(","));
                p
            })
            .collect(),
        })
    }

    fn stop(&mut self) -> ConnectResult<()> {
        self.monitor = None;
        Ok(())
    }
}

impl SourceConnector for JdbcSourceConnector {
    type Task = JdbcSourceTask;
}

/// One table (or the query) a task reads.
struct Querier {
    /// The qualified table; `None` for the query.
    table: Option<String>,
    topic: String,
    partition: Arc<OffsetMap>,
    /// The position of the last row handed out (the next read starts after it).
    position: Position,
    next_due: Instant,
    target: Target,
    /// The query's columns (described once); tables' are read before each read.
    described: Vec<ColumnInfo>,
    /// The shape of the last read, with the columns it was built from.
    shape: Option<(Vec<ColumnInfo>, Arc<Shape>)>,
    /// The running read.
    stream: Option<(RowStream, Arc<Shape>)>,
    /// Timestamp mode: the last row read, handed out once the next row (or the end) shows
    /// whether its timestamp group is complete.
    held: Option<RowData>,
    /// Failed reads in a row (`query.retry.attempts`).
    failures: u32,
}

impl Querier {
    fn label(&self) -> &str {
        self.table.as_deref().unwrap_or("the query")
    }
}

/// The source task.
#[derive(Default)]
pub struct JdbcSourceTask {
    config: Option<SourceConfig>,
    runtime: Option<tokio::runtime::Runtime>,
    db: Option<Db>,
    queriers: Vec<Querier>,
    /// The querier whose read is running (it is read to its end before the next one).
    active: Option<usize>,
    /// Column notes already given (each skipped column is noted once).
    noted: BTreeSet<String>,
    /// A row that could not be read, after the rows before it were handed out: the next
    /// poll fails with it.
    failure: Option<ConnectError>,
}

impl SourceTask for JdbcSourceTask {
    fn start(&mut self, props: &Props, context: &SourceTaskContext) -> ConnectResult<()> {
        let config = SourceConfig::parse(props).map_err(ConnectError::from)?;
        let runtime = runtime()?;
        let db = connect(&runtime, &config)?;
        let base = |from: String| Target {
            dialect: config.dialect,
            mode: config.mode,
            quote: config.quote_identifiers,
            from,
            incrementing: None,
            timestamps: config.timestamp_columns.clone(),
            timestamp_mapping: Mapping::Timestamp { zoned: false },
            zone: config.db_timezone,
            suffix: config.query_suffix.clone(),
        };
        let mut queriers = Vec::new();
        match &config.source {
            Source::Query(query) => {
                let from = Target::query_from(query);
                let described = runtime
                    .block_on(db.describe(&from))
                    .map_err(|e| ConnectError::new(format!("the query cannot be run: {e}")))?;
                let partition = offsets::query_partition();
                let stored = context
                    .offset(&partition)
                    .map(Position::from_offset)
                    .transpose()
                    .map_err(|e| ConnectError::new(e.to_string()))?;
                let mut target = base(from);
                target.incrementing = config.incrementing_column.clone();
                if config.mode.uses_incrementing() && target.incrementing.is_none() {
                    return Err(ConnectError::new(
                        "Invalid value for configuration incrementing.column.name: a query has \
                         no catalog to find its auto-increment column in: name the column",
                    ));
                }
                queriers.push(Querier {
                    table: None,
                    topic: config.topic_prefix.clone(),
                    partition: Arc::new(partition),
                    position: stored.unwrap_or_default(),
                    next_due: Instant::now(),
                    target,
                    described,
                    shape: None,
                    stream: None,
                    held: None,
                    failures: 0,
                });
            }
            Source::Tables { .. } => {
                let current = runtime.block_on(db.current_schema()).map_err(|e| {
                    ConnectError::new(format!("cannot read the current schema: {e}"))
                })?;
                let tables = props.get(TABLES).cloned().unwrap_or_default();
                for table in tables.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    // Confluent keys offsets by the qualified name: an unqualified table is in
                    // the connection's current schema (PostgreSQL) or database (MySQL).
                    let qualified = match &current {
                        Some(schema) if !table.contains('.') => format!("{schema}.{table}"),
                        _ => table.to_owned(),
                    };
                    let unqualified = qualified.rsplit('.').next().unwrap_or(&qualified);
                    let columns = runtime.block_on(db.columns(&qualified)).map_err(|e| {
                        ConnectError::new(format!("cannot read the columns of {qualified}: {e}"))
                    })?;
                    if columns.is_empty() {
                        return Err(ConnectError::new(format!(
                            "{qualified} is not a table of {} (or has no columns)",
                            config.url
                        )));
                    }
                    let stored = offsets::table_position(&qualified, unqualified, |p| {
                        context.offset(p).cloned()
                    })
                    .map_err(|e| ConnectError::new(e.to_string()))?;
                    let mut target = base(Target::table_from(
                        config.dialect,
                        config.quote_identifiers,
                        &qualified,
                    ));
                    target.incrementing = incrementing_column(&config, &qualified, &columns)?;
                    check_timestamp_columns(&config, &qualified, &columns)?;
                    queriers.push(Querier {
                        topic: format!("{}{unqualified}", config.topic_prefix),
                        partition: Arc::new(if config.mode == Mode::Bulk {
                            offsets::legacy_table_partition(unqualified)
                        } else {
                            offsets::table_partition(&qualified)
                        }),
                        table: Some(qualified.clone()),
                        position: stored.unwrap_or_default(),
                        next_due: Instant::now(),
                        target,
                        described: Vec::new(),
                        shape: None,
                        stream: None,
                        held: None,
                        failures: 0,
                    });
                }
            }
        }
        // Where timestamp modes start without an offset: `timestamp.initial` (-1: the
        // database's now), else the epoch.
        if config.mode.uses_timestamp() {
            let initial = match config.timestamp_initial {
                Some(-1) => runtime.block_on(db.now()).map_err(|e| {
                    ConnectError::new(format!("cannot read the database's time: {e}"))
                })?,
                Some(ms) => chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default(),
                None => chrono::DateTime::UNIX_EPOCH,
            };
            for q in &mut queriers {
                if q.position.timestamp.is_none() {
                    q.position.timestamp = Some(Position::timestamp_of(initial));
                }
            }
        }
        self.config = Some(config);
        self.runtime = Some(runtime);
        self.db = Some(db);
        self.queriers = queriers;
        Ok(())
    }

    fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        if let Some(failure) = self.failure.take() {
            return Err(failure);
        }
        let index = match self.active {
            Some(index) => index,
            None => {
                let Some(index) =
                    (0..self.queriers.len()).min_by_key(|i| self.queriers[*i].next_due)
                else {
                    std::thread::sleep(Duration::from_millis(200));
                    return Ok(Vec::new());
                };
                // Wait for it briefly, so a stop is noticed.
                let wait = self.queriers[index]
                    .next_due
                    .saturating_duration_since(Instant::now());
                if !wait.is_zero() {
                    std::thread::sleep(wait.min(Duration::from_millis(200)));
                    return Ok(Vec::new());
                }
                if let Err(e) = self.begin_read(index) {
                    return self.read_failed(index, Vec::new(), e);
                }
                index
            }
        };
        let (Some(config), Some(runtime)) = (&self.config, &self.runtime) else {
            return Err(ConnectError::new("the task is not started"));
        };
        let batch = config.batch_max_rows as usize;
        let querier = &mut self.queriers[index];
        let Some((stream, shape)) = &mut querier.stream else {
            self.active = None;
            return Ok(Vec::new());
        };
        let shape = shape.clone();
        let (items, ended) = runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + POLL_WAIT;
            let mut items = Vec::new();
            while items.len() < batch {
                match tokio::time::timeout_at(deadline, stream.next()).await {
                    Ok(Item::End) => return (items, true),
                    Ok(item) => {
                        let last = !matches!(item, Item::Row(_));
                        items.push(item);
                        if last {
                            return (items, false);
                        }
                    }
                    Err(_) => break,
                }
            }
            (items, false)
        });
        let mut records = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Item::Row(row) => {
                    if let Some(record) = self.take_row(index, &shape, row)? {
                        records.push(record);
                    }
                }
                Item::BadRow(e) => {
                    let failure = ConnectError::new(format!(
                        "a row of {} cannot be read: {e}",
                        self.queriers[index].label()
                    ));
                    if records.is_empty() {
                        return Err(failure);
                    }
                    // The rows before it go out; the task fails at the next poll.
                    self.failure = Some(failure);
                    return Ok(records);
                }
                Item::End => {}
                Item::QueryFailed(e) => {
                    let e = ConnectError::retriable(format!(
                        "the read of {} failed: {e}",
                        self.queriers[index].label()
                    ));
                    return self.read_failed(index, records, e);
                }
            }
        }
        if ended {
            let querier = &mut self.queriers[index];
            if let Some(last) = querier.held.take() {
                if let Some(ts) = last.timestamp {
                    querier.position.timestamp = Some(Position::timestamp_of(ts));
                }
                records.push(self.record(index, &shape, last)?);
            }
            self.end_read(index);
            self.queriers[index].failures = 0;
        }
        Ok(records)
    }

    fn stop(&mut self) -> ConnectResult<()> {
        self.active = None;
        for q in &mut self.queriers {
            q.stream = None;
        }
        if let (Some(runtime), Some(db)) = (&self.runtime, self.db.take()) {
            runtime.block_on(db.close());
        }
        Ok(())
    }
}

impl JdbcSourceTask {
    /// Reads the querier's columns and starts its next read.
    fn begin_read(&mut self, index: usize) -> ConnectResult<()> {
        let (Some(config), Some(runtime), Some(db)) = (&self.config, &self.runtime, &self.db)
        else {
            return Err(ConnectError::new("the task is not started"));
        };
        let querier = &mut self.queriers[index];
        let columns = match &querier.table {
            Some(table) => {
                let columns = runtime.block_on(db.columns(table)).map_err(|e| {
                    ConnectError::retriable(format!("cannot read the columns of {table}: {e}"))
                })?;
                if columns.is_empty() {
                    return Err(ConnectError::retriable(format!("{table} no longer exists")));
                }
                columns
            }
            None => querier.described.clone(),
        };
        let shape = match &querier.shape {
            Some((seen, shape)) if *seen == columns => shape.clone(),
            _ => {
                let name = querier
                    .table
                    .as_deref()
                    .map(|t| t.rsplit('.').next().unwrap_or(t));
                let (shape, skipped) = Shape::new(
                    &columns,
                    |c| {
                        let mapped =
                            column_mapping::mapping(config.dialect, c, config.numeric_mapping);
                        // SQLite keeps dates as text: a TEXT timestamp column holds times.
                        let text_time = config.dialect == Dialect::Sqlite
                            && mapped == Some(Mapping::Text)
                            && querier.target.timestamps.contains(&c.name);
                        if text_time {
                            Some(Mapping::Timestamp { zoned: false })
                        } else {
                            mapped
                        }
                    },
                    name,
                    querier.target.incrementing.as_deref(),
                    &querier.target.timestamps,
                    ReadContext {
                        zone: config.db_timezone,
                        granularity: config.timestamp_granularity,
                    },
                )
                .map_err(|e| ConnectError::new(e.to_string()))?;
                for column in skipped {
                    let what = format!("{}: {column}", querier.label());
                    if self.noted.insert(what.clone()) {
                        note(&format!(
                            "column {what} has a type this connector does not map; it is left \
                             out of the records"
                        ));
                    }
                }
                let shape = Arc::new(shape);
                querier.shape = Some((columns, shape.clone()));
                shape
            }
        };
        if let Some(mapping) = shape.timestamp_mapping() {
            querier.target.timestamp_mapping = mapping.clone();
        }
        let upper = if config.mode.uses_timestamp() {
            let now = runtime.block_on(db.now()).map_err(|e| {
                ConnectError::retriable(format!("cannot read the database's time: {e}"))
            })?;
            TimeDelta::try_milliseconds(
                i64::try_from(config.timestamp_delay_interval_ms).unwrap_or(i64::MAX),
            )
            .and_then(|delay| now.checked_sub_signed(delay))
            .unwrap_or(chrono::DateTime::UNIX_EPOCH)
        } else {
            chrono::DateTime::UNIX_EPOCH
        };
        let statement = querier.target.statement(&querier.position, upper);
        let stream = RowStream::start(
            runtime,
            db,
            statement,
            shape.clone(),
            config.batch_max_rows as usize,
        );
        querier.stream = Some((stream, shape));
        querier.held = None;
        self.active = Some(index);
        Ok(())
    }

    fn end_read(&mut self, index: usize) {
        let Some(config) = &self.config else { return };
        let querier = &mut self.queriers[index];
        querier.stream = None;
        querier.held = None;
        querier.next_due = Instant::now() + Duration::from_millis(config.poll_interval_ms);
        self.active = None;
    }

    /// A read failed: the rows handed out so far stand (the position is theirs), the read is
    /// tried again after `poll.interval.ms`, and after `query.retry.attempts` failures in a
    /// row (when positive) the task fails.
    fn read_failed(
        &mut self,
        index: usize,
        records: Vec<SourceRecord>,
        error: ConnectError,
    ) -> ConnectResult<Vec<SourceRecord>> {
        self.end_read(index);
        let attempts = self.config.as_ref().map_or(-1, |c| c.query_retry_attempts);
        let querier = &mut self.queriers[index];
        querier.failures += 1;
        if !error.is_retriable()
            || (attempts > 0 && i64::from(querier.failures) > i64::from(attempts))
        {
            return Err(ConnectError::new(error.message));
        }
        note(&error.message);
        if records.is_empty() {
            Err(error)
        } else {
            Ok(records)
        }
    }

    /// A row read: its record, with the offset the mode gives it (timestamp mode holds each
    /// row back until the next one is seen).
    fn take_row(
        &mut self,
        index: usize,
        shape: &Arc<Shape>,
        row: RowData,
    ) -> ConnectResult<Option<SourceRecord>> {
        let Some(config) = &self.config else {
            return Err(ConnectError::new("the task is not started"));
        };
        let mode = config.mode;
        let querier = &mut self.queriers[index];
        match mode {
            Mode::Bulk => {}
            Mode::Incrementing => querier.position.incrementing = row.incrementing,
            Mode::TimestampIncrementing => {
                querier.position.incrementing = row.incrementing;
                querier.position.timestamp = row.timestamp.map(Position::timestamp_of);
            }
            Mode::Timestamp => {
                let Some(previous) = querier.held.replace(row) else {
                    return Ok(None);
                };
                let next = querier.held.as_ref().and_then(|r| r.timestamp);
                if let (Some(ts), Some(next)) = (previous.timestamp, next) {
                    if next > ts {
                        querier.position.timestamp = Some(Position::timestamp_of(ts));
                    }
                }
                return self.record(index, shape, previous).map(Some);
            }
        }
        self.record(index, shape, row).map(Some)
    }

    fn record(
        &self,
        index: usize,
        shape: &Arc<Shape>,
        row: RowData,
    ) -> ConnectResult<SourceRecord> {
        let querier = &self.queriers[index];
        let offset = match self.config.as_ref().map(|c| c.mode) {
            Some(Mode::Bulk) | None => None,
            Some(_) => Some(querier.position.to_offset()),
        };
        let value = Struct::from_values(shape.schema.clone(), row.values)
            .map_err(|e| ConnectError::new(e.message))?;
        Ok(SourceRecord::new(
            Some(querier.partition.clone()),
            offset,
            querier.topic.clone(),
            Some(shape.schema.clone()),
            Value::Struct(value),
        ))
    }
}

/// The incrementing column of `table` (incrementing modes): the configured one, else the
/// table's auto-increment column. With `validate.non.null`, a nullable one fails the task, as
/// Confluent's does.
fn incrementing_column(
    config: &SourceConfig,
    table: &str,
    columns: &[ColumnInfo],
) -> ConnectResult<Option<String>> {
    if !config.mode.uses_incrementing() {
        return Ok(None);
    }
    let column = match &config.incrementing_column {
        Some(name) => columns
            .iter()
            .find(|c| &c.name == name)
            .cloned()
            .ok_or_else(|| {
                ConnectError::new(format!(
                    "incrementing.column.name {name} is not a column of {table}"
                ))
            })?,
        None => columns
            .iter()
            .find(|c| c.auto_increment)
            .cloned()
            .ok_or_else(|| {
                ConnectError::new(format!(
                    "{table} has no auto-increment column: set incrementing.column.name"
                ))
            })?,
    };
    if config.validate_non_null && column.nullable {
        return Err(ConnectError::new(format!(
            "Cannot make incremental queries using incrementing column {} on {table} because \
             this column is nullable (validate.non.null=false allows it)",
            column.name
        )));
    }
    Ok(Some(column.name))
}

/// The timestamp columns must be columns of the table, and (with `validate.non.null`) not all
/// nullable, as Confluent checks.
fn check_timestamp_columns(
    config: &SourceConfig,
    table: &str,
    columns: &[ColumnInfo],
) -> ConnectResult<()> {
    if !config.mode.uses_timestamp() {
        return Ok(());
    }
    let mut all_nullable = true;
    for name in &config.timestamp_columns {
        let column = columns.iter().find(|c| &c.name == name).ok_or_else(|| {
            ConnectError::new(format!(
                "timestamp.column.name {name} is not a column of {table}"
            ))
        })?;
        all_nullable &= column.nullable;
    }
    if config.validate_non_null && all_nullable {
        return Err(ConnectError::new(format!(
            "Cannot make incremental queries using timestamp columns {} on {table} because all \
             of these columns are nullable (validate.non.null=false allows it)",
            config.timestamp_columns.join(", ")
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(pairs: &[(&str, &str)]) -> SourceConfig {
        let props: Props = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SourceConfig::parse(&props).unwrap()
    }

    fn col(name: &str, nullable: bool, auto_increment: bool) -> ColumnInfo {
        ColumnInfo {
            nullable,
            auto_increment,
            ..ColumnInfo::of_type(name, "INTEGER")
        }
    }

    #[test]
    fn the_incrementing_column_is_named_or_found_and_must_not_be_null() {
        let columns = [col("id", false, true), col("seq", true, false)];
        let base = [
            ("connection.url", "jdbc:sqlite:/x.db"),
            ("mode", "incrementing"),
            ("table.whitelist", "t"),
        ];
        let found = config(&base);
        assert_eq!(
            incrementing_column(&found, "t", &columns)
                .unwrap()
                .as_deref(),
            Some("id")
        );
        let named = config(&[&base[..], &[("incrementing.column.name", "seq")]].concat());
        let e = incrementing_column(&named, "t", &columns).unwrap_err();
        assert!(e.message.contains("nullable"), "{}", e.message);
        let allowed = config(
            &[
                &base[..],
                &[
                    ("incrementing.column.name", "seq"),
                    ("validate.non.null", "false"),
                ],
            ]
            .concat(),
        );
        assert_eq!(
            incrementing_column(&allowed, "t", &columns)
                .unwrap()
                .as_deref(),
            Some("seq")
        );
        let e = incrementing_column(&found, "t", &[col("seq", false, false)]).unwrap_err();
        assert!(
            e.message.contains("no auto-increment column"),
            "{}",
            e.message
        );
        let missing = config(&[&base[..], &[("incrementing.column.name", "nope")]].concat());
        assert!(incrementing_column(&missing, "t", &columns).is_err());
    }

    #[test]
    fn timestamp_columns_must_exist_and_not_all_be_nullable() {
        let base = [
            ("connection.url", "jdbc:sqlite:/x.db"),
            ("mode", "timestamp"),
            ("timestamp.column.name", "updated,created"),
            ("table.whitelist", "t"),
        ];
        let both_nullable = [col("updated", true, false), col("created", true, false)];
        let one_not_null = [col("updated", true, false), col("created", false, false)];
        let e = check_timestamp_columns(&config(&base), "t", &both_nullable).unwrap_err();
        assert!(e.message.contains("nullable"), "{}", e.message);
        assert!(check_timestamp_columns(&config(&base), "t", &one_not_null).is_ok());
        let lax = config(&[&base[..], &[("validate.non.null", "false")]].concat());
        assert!(check_timestamp_columns(&lax, "t", &both_nullable).is_ok());
        let e = check_timestamp_columns(&config(&base), "t", &[col("updated", false, false)])
            .unwrap_err();
        assert!(
            e.message.contains("created is not a column"),
            "{}",
            e.message
        );
    }
}
