//! `io.confluent.connect.jdbc.JdbcSourceConnector`: copies tables (or one query's rows) into
//! topics. This part does `bulk` and `incrementing` mode over `table.whitelist` or `query`,
//! with Confluent's offsets; the other modes and table discovery come next (issue 11).
//!
//! Each task reads its tables in turn, each at most every `poll.interval.ms`: bulk re-reads the
//! whole table; incrementing reads `batch.max.rows` rows past the last id, in id order, so a
//! restart resumes after the last committed row and memory stays bounded by the batch.
//! Rows become Struct values named after the table (key null, as Confluent's), one optional
//! field per column; a column of a type this part does not map yet fails the task naming it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::{AnyPool, Column, Row, TypeInfo, ValueRef};
use tributary_connector_api::config::{
    ConfigKey, ConfigType, Default as ConfigDefault, Importance,
};
use tributary_connector_api::{
    ConfigDef, ConfigValueInfo, ConnectError, ConnectResult, Connector, OffsetMap, Props, Schema,
    SchemaRef, SourceConnector, SourceRecord, SourceTask, SourceTaskContext, Struct, Type, Value,
};

use crate::dialect::Dialect;
use crate::offsets::{self, Position};
use crate::source_config::{Mode, Source, SourceConfig};
use crate::task_split::split_tables;

/// The task-config key listing a task's tables (comma-separated), as Confluent's `tables`.
const TABLES: &str = "tables";

/// The source connector.
#[derive(Default)]
pub struct JdbcSourceConnector {
    props: Props,
    config: Option<SourceConfig>,
}

fn key(name: &str, type_: ConfigType, default: ConfigDefault, doc: &str) -> ConfigKey {
    ConfigKey::new(name, type_, default, Importance::High, doc)
}

impl Connector for JdbcSourceConnector {
    const CLASS: &'static str = "io.confluent.connect.jdbc.JdbcSourceConnector";

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
            .define(key("mode", ConfigType::String, ConfigDefault::Required,
                "bulk, incrementing, timestamp or timestamp+incrementing."))
            .define(key("incrementing.column.name", ConfigType::String, s(""),
                "The strictly increasing column of incrementing modes."))
            .define(key("timestamp.column.name", ConfigType::List, s(""), "The timestamp column(s)."))
            .define(key("table.whitelist", ConfigType::List, s(""), "Tables to copy."))
            .define(key("table.blacklist", ConfigType::List, s(""), "Tables not to copy."))
            .define(key("query", ConfigType::String, s(""), "A query to copy the rows of, instead of tables."))
            .define(key("topic.prefix", ConfigType::String, s(""),
                "Prefix of each table's topic (the whole topic in query mode)."))
            .define(key("poll.interval.ms", ConfigType::Int, s("5000"), "Least time between two reads of a table."))
            .define(key("batch.max.rows", ConfigType::Int, s("1000"), "Most rows in one poll."))
            .define(key("dialect.name", ConfigType::String, s(""), "Force a dialect."))
            .define(key("quote.sql.identifiers", ConfigType::String, s("always"), "always or never."))
    }

    fn validate(&self, props: &Props) -> Vec<ConfigValueInfo> {
        let mut values = Self::config_def().validate(props);
        if let Err(e) = SourceConfig::parse(props).and_then(|c| supported(&c)) {
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
        let config = SourceConfig::parse(props)
            .and_then(|c| supported(&c).map(|_| c))
            .map_err(|e| ConnectError::new(e.to_string()))?;
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
            Source::Tables { whitelist, .. } => split_tables(whitelist, max_tasks)
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
        Ok(())
    }
}

impl SourceConnector for JdbcSourceConnector {
    type Task = JdbcSourceTask;
}

/// What this part of the connector does; the rest is refused naming the key.
fn supported(config: &SourceConfig) -> Result<(), crate::ConfigError> {
    if config.mode.uses_timestamp() {
        return Err(crate::config_error(
            "mode",
            "timestamp modes are not implemented yet; use bulk or incrementing",
        ));
    }
    if let Source::Tables { whitelist, .. } = &config.source {
        if whitelist.is_empty() {
            return Err(crate::config_error(
                "table.whitelist",
                "name the tables to copy (table discovery is not implemented yet)",
            ));
        }
    }
    if config.mode == Mode::Incrementing
        && config.incrementing_column.is_none()
        && matches!(config.source, Source::Query(_))
    {
        return Err(crate::config_error(
            "incrementing.column.name",
            "a query has no catalog to find its auto-increment column in: name the column",
        ));
    }
    Ok(())
}

/// One table (or the query) a task reads.
struct Querier {
    /// The table as written in the config (`schema.table` or `table`); `None` for the query.
    table: Option<String>,
    topic: String,
    partition: Arc<OffsetMap>,
    position: Position,
    next_due: Instant,
    /// The table's columns as the catalog declares them.
    catalog: Vec<CatalogColumn>,
    /// The incrementing column (incrementing mode): the configured one, or the table's
    /// auto-increment column.
    incrementing: Option<String>,
}

/// A column as the catalog declares it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct CatalogColumn {
    name: String,
    type_name: String,
    nullable: bool,
    /// Filled by the database (a sequence, an identity, `AUTO_INCREMENT`, SQLite's rowid).
    auto_increment: bool,
}

/// The source task.
#[derive(Default)]
pub struct JdbcSourceTask {
    config: Option<SourceConfig>,
    runtime: Option<tokio::runtime::Runtime>,
    pool: Option<AnyPool>,
    queriers: Vec<Querier>,
    /// Table schemas, by the columns seen.
    schemas: Vec<(String, Vec<String>, SchemaRef)>,
}

impl SourceTask for JdbcSourceTask {
    fn start(&mut self, props: &Props, context: &SourceTaskContext) -> ConnectResult<()> {
        let config = SourceConfig::parse(props).map_err(|e| ConnectError::new(e.to_string()))?;
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ConnectError::new(format!("cannot start the database runtime: {e}")))?;
        sqlx::any::install_default_drivers();
        let url = config.url.sqlx_url().to_owned();
        let mut attempt = 0;
        let pool = loop {
            attempt += 1;
            // One connection first: it fails at once when the database cannot be reached
            // (a pool would keep retrying until its acquire timeout).
            let connected = runtime.block_on(async {
                use sqlx::Connection;
                let probe = sqlx::AnyConnection::connect(&url).await?;
                probe.close().await?;
                AnyPoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(Duration::from_secs(30))
                    .connect_lazy(&url)
            });
            match connected {
                Ok(pool) => break pool,
                Err(e) if attempt < config.connection_attempts => {
                    note(&format!(
                        "cannot connect to {} (attempt {attempt}): {e}",
                        config.url
                    ));
                    std::thread::sleep(Duration::from_millis(config.connection_backoff_ms));
                }
                Err(e) => {
                    return Err(ConnectError::new(format!(
                        "cannot connect to {} after {attempt} attempts: {e}",
                        config.url
                    )))
                }
            }
        };
        let now = Instant::now();
        let mut queriers = Vec::new();
        match &config.source {
            Source::Query(_) => queriers.push(Querier {
                table: None,
                topic: config.topic_prefix.clone(),
                partition: Arc::new(offsets::query_partition()),
                position: position(context.offset(&offsets::query_partition()))?,
                next_due: now,
                catalog: Vec::new(),
                incrementing: config.incrementing_column.clone(),
            }),
            Source::Tables { .. } => {
                // Confluent keys offsets by the qualified name: an unqualified table is in the
                // connection's current schema (PostgreSQL) or database (MySQL).
                let current = match config.dialect {
                    Dialect::PostgreSql => Some("SELECT CAST(current_schema() AS TEXT)"),
                    Dialect::MySql => Some("SELECT DATABASE()"),
                    Dialect::Sqlite => None,
                };
                let current: Option<String> = match current {
                    Some(q) => runtime
                        .block_on(sqlx::query_scalar::<_, String>(q).fetch_one(&pool))
                        .map(Some)
                        .map_err(|e| {
                            ConnectError::new(format!(
                                "cannot read the current schema of {}: {e}",
                                config.url
                            ))
                        })?,
                    None => None,
                };
                let tables = props.get(TABLES).cloned().unwrap_or_default();
                for table in tables.split(',').map(str::trim).filter(|t| !t.is_empty()) {
                    let unqualified = table.rsplit('.').next().unwrap_or(table);
                    let qualified = match &current {
                        Some(schema) if !table.contains('.') => format!("{schema}.{table}"),
                        _ => table.to_owned(),
                    };
                    let stored = offsets::table_position(&qualified, unqualified, |p| {
                        context.offset(p).cloned()
                    })
                    .map_err(|e| ConnectError::new(e.to_string()))?;
                    let columns = runtime
                        .block_on(catalog(&pool, config.dialect, &qualified))
                        .map_err(|e| {
                            ConnectError::new(format!("cannot read the columns of {table}: {e}"))
                        })?;
                    queriers.push(Querier {
                        table: Some(table.to_owned()),
                        topic: format!("{}{unqualified}", config.topic_prefix),
                        partition: Arc::new(if config.mode == Mode::Bulk {
                            offsets::legacy_table_partition(unqualified)
                        } else {
                            offsets::table_partition(&qualified)
                        }),
                        position: stored.unwrap_or_default(),
                        next_due: now,
                        incrementing: incrementing_column(&config, table, &columns)?,
                        catalog: columns,
                    });
                }
            }
        }
        self.config = Some(config);
        self.runtime = Some(runtime);
        self.pool = Some(pool);
        self.queriers = queriers;
        Ok(())
    }

    fn poll(&mut self) -> ConnectResult<Vec<SourceRecord>> {
        let (Some(config), Some(runtime), Some(pool)) = (&self.config, &self.runtime, &self.pool)
        else {
            return Err(ConnectError::new("the task is not started"));
        };
        // The querier due first; wait for it (briefly, so a stop is noticed).
        let Some(index) = (0..self.queriers.len()).min_by_key(|i| self.queriers[*i].next_due)
        else {
            std::thread::sleep(Duration::from_millis(200));
            return Ok(Vec::new());
        };
        let wait = self.queriers[index]
            .next_due
            .saturating_duration_since(Instant::now());
        if !wait.is_zero() {
            std::thread::sleep(wait.min(Duration::from_millis(200)));
            return Ok(Vec::new());
        }
        let querier = &self.queriers[index];
        let (sql, after) = statement(config, querier);
        let rows: Vec<AnyRow> = runtime
            .block_on(async {
                let mut query = sqlx::query(&sql);
                if let Some(after) = after {
                    query = query.bind(after);
                }
                query.fetch_all(pool).await
            })
            .map_err(|e| {
                ConnectError::retriable(format!("query of {} failed: {e}", label(querier)))
            })?;
        let mode = config.mode;
        let column = querier.incrementing.clone().unwrap_or_default();
        let batch_max_rows = config.batch_max_rows as usize;
        let poll_interval = Duration::from_millis(config.poll_interval_ms);
        let mut records = Vec::with_capacity(rows.len());
        let mut position = querier.position;
        for row in &rows {
            let (schema, value) = self.row_struct(index, row)?;
            let offset = if mode == Mode::Incrementing {
                let id: i64 = row.try_get(column.as_str()).map_err(|e| {
                    ConnectError::new(format!(
                        "incrementing column {column} of {} is not an integer: {e}",
                        label(&self.queriers[index])
                    ))
                })?;
                position.incrementing = Some(id);
                Some(position.to_offset())
            } else {
                None
            };
            let querier = &self.queriers[index];
            records.push(SourceRecord::new(
                Some(querier.partition.clone()),
                offset,
                querier.topic.clone(),
                Some(schema),
                value,
            ));
        }
        let querier = &mut self.queriers[index];
        querier.position = position;
        // A full batch means more rows are waiting: read again at once.
        let full = mode == Mode::Incrementing && rows.len() >= batch_max_rows;
        querier.next_due = if full {
            Instant::now()
        } else {
            Instant::now() + poll_interval
        };
        Ok(records)
    }

    fn stop(&mut self) -> ConnectResult<()> {
        if let (Some(runtime), Some(pool)) = (&self.runtime, self.pool.take()) {
            runtime.block_on(pool.close());
        }
        Ok(())
    }
}

/// Text from a column the Any driver may hand over as bytes (MySQL's `TEXT` is a BLOB to it).
fn text(row: &AnyRow, i: usize) -> Result<String, sqlx::Error> {
    match row.try_get::<String, _>(i) {
        Ok(s) => Ok(s),
        Err(_) => {
            let bytes: Vec<u8> = row.try_get(i)?;
            String::from_utf8(bytes).map_err(|e| sqlx::Error::Decode(Box::new(e)))
        }
    }
}

/// The columns of `qualified` (`schema.table`, or `table` for SQLite) from the catalog. Types
/// and nullability come from here in table mode, as Confluent reads them from the JDBC
/// metadata.
async fn catalog(
    pool: &AnyPool,
    dialect: Dialect,
    qualified: &str,
) -> Result<Vec<CatalogColumn>, sqlx::Error> {
    let (schema, table) = match qualified.rsplit_once('.') {
        Some((s, t)) => (s, t),
        None => ("", qualified),
    };
    let rows = match dialect {
        Dialect::PostgreSql => {
            sqlx::query(
                "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT), \
                 CAST(is_nullable AS TEXT), \
                 CASE WHEN column_default LIKE 'nextval(%' OR is_identity = 'YES' \
                 THEN 'YES' ELSE 'NO' END \
                 FROM information_schema.columns \
                 WHERE table_schema = $1 AND table_name = $2 ORDER BY ordinal_position",
            )
            .bind(schema)
            .bind(table)
            .fetch_all(pool)
            .await?
        }
        Dialect::MySql => {
            sqlx::query(
                "SELECT CAST(COLUMN_NAME AS CHAR), CAST(DATA_TYPE AS CHAR), \
                 CAST(IS_NULLABLE AS CHAR), \
                 CASE WHEN EXTRA LIKE '%auto_increment%' THEN 'YES' ELSE 'NO' END \
                 FROM information_schema.columns \
                 WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            )
            .bind(schema)
            .bind(table)
            .fetch_all(pool)
            .await?
        }
        // An INTEGER PRIMARY KEY is the rowid: filled by SQLite, never null.
        Dialect::Sqlite => {
            sqlx::query(
                "SELECT name, type, \
                 CASE WHEN \"notnull\" = 0 AND NOT (pk = 1 AND upper(type) = 'INTEGER') \
                 THEN 'YES' ELSE 'NO' END, \
                 CASE WHEN pk = 1 AND upper(type) = 'INTEGER' THEN 'YES' ELSE 'NO' END \
                 FROM pragma_table_info(?)",
            )
            .bind(table)
            .fetch_all(pool)
            .await?
        }
    };
    rows.iter()
        .map(|r| {
            Ok(CatalogColumn {
                name: text(r, 0)?,
                type_name: text(r, 1)?,
                nullable: text(r, 2)? == "YES",
                auto_increment: text(r, 3)? == "YES",
            })
        })
        .collect()
}

/// The incrementing column of `table` (incrementing mode): the configured one, else the
/// table's auto-increment column. With `validate.non.null`, a nullable one fails the task, as
/// Confluent's does.
fn incrementing_column(
    config: &SourceConfig,
    table: &str,
    columns: &[CatalogColumn],
) -> ConnectResult<Option<String>> {
    if config.mode != Mode::Incrementing {
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

/// Connection notes go to standard error, which the worker's log takes in (plugins have no
/// logger of the worker's).
fn note(message: &str) {
    eprintln!("jdbc source: {message}");
}

fn label(querier: &Querier) -> String {
    querier
        .table
        .clone()
        .unwrap_or_else(|| "the query".to_owned())
}

/// The statement of one read, and the incrementing value it reads past.
fn statement(config: &SourceConfig, querier: &Querier) -> (String, Option<i64>) {
    let from = match (&querier.table, &config.source) {
        (Some(table), _) => format!(
            "SELECT * FROM {}",
            config.dialect.quote(config.quote_identifiers, table)
        ),
        (None, Source::Query(query)) => format!("SELECT * FROM ({query}) tributary_query"),
        (None, _) => String::new(),
    };
    let suffix = if config.query_suffix.is_empty() {
        String::new()
    } else {
        format!(" {}", config.query_suffix)
    };
    match config.mode {
        Mode::Incrementing => {
            let column = config.dialect.quote(
                config.quote_identifiers,
                querier.incrementing.as_deref().unwrap_or_default(),
            );
            (
                format!(
                    "{from} WHERE {column} > {} ORDER BY {column} ASC LIMIT {}{suffix}",
                    config.dialect.placeholder(1),
                    config.batch_max_rows
                ),
                Some(querier.position.incrementing.unwrap_or(-1)),
            )
        }
        _ => (format!("{from}{suffix}"), None),
    }
}

fn position(stored: Option<&OffsetMap>) -> ConnectResult<Position> {
    stored
        .map(Position::from_offset)
        .transpose()
        .map(Option::unwrap_or_default)
        .map_err(|e| ConnectError::new(e.to_string()))
}

/// The Connect type of a column, by the database's type name.
fn column_type(type_name: &str) -> Option<Type> {
    let t = type_name.to_ascii_uppercase();
    let t = t.split('(').next().unwrap_or("").trim();
    Some(match t {
        "BOOLEAN" | "BOOL" => Type::Boolean,
        "TINYINT" => Type::Int8,
        "SMALLINT" | "INT2" => Type::Int16,
        "INTEGER" | "INT" | "INT4" | "MEDIUMINT" => Type::Int32,
        "BIGINT" | "INT8" => Type::Int64,
        "REAL" | "FLOAT4" | "FLOAT" => Type::Float32,
        "DOUBLE" | "DOUBLE PRECISION" | "FLOAT8" => Type::Float64,
        "TEXT" | "VARCHAR" | "CHAR" | "CHARACTER" | "CHARACTER VARYING" | "BPCHAR" | "NAME"
        | "CLOB" | "NVARCHAR" | "NCHAR" | "TINYTEXT" | "MEDIUMTEXT" | "LONGTEXT" => Type::String,
        "BLOB" | "BYTEA" | "BINARY" | "VARBINARY" | "TINYBLOB" | "MEDIUMBLOB" | "LONGBLOB" => {
            Type::Bytes
        }
        _ => return None,
    })
}

impl JdbcSourceTask {
    /// A row as a Struct of the table's schema (built once per set of columns).
    fn row_struct(&mut self, index: usize, row: &AnyRow) -> ConnectResult<(SchemaRef, Value)> {
        let querier = &self.queriers[index];
        let name = querier
            .table
            .as_deref()
            .map(|t| t.rsplit('.').next().unwrap_or(t).to_owned());
        let columns: Vec<String> = row.columns().iter().map(|c| c.name().to_owned()).collect();
        let cached = self
            .schemas
            .iter()
            .find(|(table, cols, _)| Some(table) == name.as_ref() && cols == &columns)
            .map(|(_, _, s)| s.clone());
        let schema = match cached {
            Some(schema) => schema,
            None => {
                let mut fields = Vec::new();
                for column in row.columns() {
                    // The catalog's type and nullability when the table has one (the driver's
                    // type otherwise, and optional).
                    let declared = querier.catalog.iter().find(|c| c.name == column.name());
                    let (type_name, nullable) = match declared {
                        Some(c) => (c.type_name.as_str(), c.nullable),
                        None => (column.type_info().name(), true),
                    };
                    let type_ = column_type(type_name).ok_or_else(|| {
                        ConnectError::new(format!(
                            "column {} of {} has type {type_name}, which this connector does \
                             not map yet",
                            column.name(),
                            label(querier)
                        ))
                    })?;
                    let field = Schema::new(type_);
                    let field = if nullable { field.optional() } else { field };
                    fields.push((column.name().to_owned(), field.into_ref()));
                }
                let mut schema = Schema::struct_(fields);
                if let Some(name) = &name {
                    schema = schema.with_name(name.clone());
                }
                let schema = schema.into_ref();
                self.schemas
                    .push((name.clone().unwrap_or_default(), columns, schema.clone()));
                schema
            }
        };
        let mut values = Vec::with_capacity(schema.fields.len());
        for (i, field) in schema.fields.iter().enumerate() {
            let raw = row
                .try_get_raw(i)
                .map_err(|e| ConnectError::new(format!("column {}: {e}", field.name)))?;
            if raw.is_null() {
                values.push(Value::Null);
                continue;
            }
            let read = |e: sqlx::Error| ConnectError::new(format!("column {}: {e}", field.name));
            values.push(match field.schema.type_ {
                Type::Boolean => Value::Boolean(row.try_get::<bool, _>(i).map_err(read)?),
                Type::Int8 => Value::Int8(row.try_get::<i16, _>(i).map_err(read)? as i8),
                Type::Int16 => Value::Int16(row.try_get::<i16, _>(i).map_err(read)?),
                Type::Int32 => Value::Int32(row.try_get::<i32, _>(i).map_err(read)?),
                Type::Int64 => Value::Int64(row.try_get::<i64, _>(i).map_err(read)?),
                Type::Float32 => Value::Float32(row.try_get::<f32, _>(i).map_err(read)?),
                Type::Float64 => Value::Float64(row.try_get::<f64, _>(i).map_err(read)?),
                Type::String => Value::String(text(row, i).map_err(read)?),
                Type::Bytes => Value::Bytes(row.try_get::<Vec<u8>, _>(i).map_err(read)?),
                _ => Value::Null,
            });
        }
        let value = Struct::from_values(schema.clone(), values)
            .map_err(|e| ConnectError::new(e.message))?;
        Ok((schema, Value::Struct(value)))
    }
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

    fn querier(table: Option<&str>, incrementing: Option<i64>) -> Querier {
        Querier {
            table: table.map(str::to_owned),
            topic: "t".into(),
            partition: Arc::new(OffsetMap::new()),
            position: Position {
                incrementing,
                timestamp: None,
            },
            next_due: Instant::now(),
            catalog: Vec::new(),
            incrementing: Some("id".into()),
        }
    }

    #[test]
    fn statements_per_dialect_and_mode() {
        let pg = config(&[
            ("connection.url", "jdbc:postgresql://h/db"),
            ("mode", "incrementing"),
            ("incrementing.column.name", "id"),
            ("table.whitelist", "public.orders"),
            ("batch.max.rows", "50"),
        ]);
        assert_eq!(
            statement(&pg, &querier(Some("public.orders"), None)),
            (
                "SELECT * FROM \"public\".\"orders\" WHERE \"id\" > $1 ORDER BY \"id\" ASC LIMIT 50"
                    .to_owned(),
                Some(-1)
            )
        );
        let my = config(&[
            ("connection.url", "jdbc:mysql://h/db"),
            ("mode", "incrementing"),
            ("incrementing.column.name", "id"),
            ("table.whitelist", "orders"),
            ("quote.sql.identifiers", "always"),
        ]);
        assert_eq!(
            statement(&my, &querier(Some("we`ird"), Some(9))).0,
            "SELECT * FROM `we``ird` WHERE `id` > ? ORDER BY `id` ASC LIMIT 1000"
        );
        let bulk = config(&[
            ("connection.url", "jdbc:sqlite:/x.db"),
            ("mode", "bulk"),
            ("query", "SELECT a, b FROM t WHERE a > 1"),
            ("topic.prefix", "rows"),
            ("query.suffix", "LIMIT 10"),
        ]);
        assert_eq!(
            statement(&bulk, &querier(None, None)),
            (
                "SELECT * FROM (SELECT a, b FROM t WHERE a > 1) tributary_query LIMIT 10"
                    .to_owned(),
                None
            )
        );
    }

    #[test]
    fn the_incrementing_column_is_named_or_found_and_must_not_be_null() {
        let col = |name: &str, nullable: bool, auto_increment: bool| CatalogColumn {
            name: name.into(),
            type_name: "INTEGER".into(),
            nullable,
            auto_increment,
        };
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
    fn column_types_map_to_connect_types() {
        assert_eq!(column_type("INT4"), Some(Type::Int32));
        assert_eq!(column_type("BIGINT"), Some(Type::Int64));
        assert_eq!(column_type("varchar(20)"), Some(Type::String));
        assert_eq!(column_type("DOUBLE PRECISION"), Some(Type::Float64));
        assert_eq!(column_type("BYTEA"), Some(Type::Bytes));
        assert_eq!(column_type("NUMERIC"), None);
    }

    #[test]
    fn what_is_not_implemented_yet_is_refused_naming_the_key() {
        let c = JdbcSourceConnector::default();
        for (pairs, key) in [
            (
                vec![
                    ("mode", "timestamp"),
                    ("timestamp.column.name", "ts"),
                    ("table.whitelist", "t"),
                ],
                "mode",
            ),
            (vec![("mode", "bulk")], "table.whitelist"),
            (
                vec![
                    ("mode", "incrementing"),
                    ("query", "SELECT 1"),
                    ("topic.prefix", "q"),
                ],
                "incrementing.column.name",
            ),
        ] {
            let mut props: Props = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            props.insert("connection.url".into(), "jdbc:sqlite:/x.db".into());
            let values = c.validate(&props);
            let v = values.iter().find(|v| v.name == key).unwrap();
            assert!(!v.errors.is_empty(), "{key}: {values:?}");
        }
    }
}
