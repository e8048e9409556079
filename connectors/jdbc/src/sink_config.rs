//! A JDBC sink connector's config, read and checked as Confluent's `JdbcSinkConfig` (spec §5),
//! every error naming the key to change. Defaults are Confluent's.
//!
//! Besides each key's own check, the keys must agree: deletes need `pk.mode=record_key`,
//! `upsert` and `update` need key columns, and `pk.mode=kafka` takes no names or exactly three
//! (Confluent finds the last two only when the first record arrives; here they fail at once).

use tributary_connector_api::Props;

use crate::dialect::{self, Dialect};
use crate::source_config::{boolean, get, list, number};
use crate::url::{self, JdbcUrl};
use crate::ConfigError;

/// `insert.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertMode {
    Insert,
    Upsert,
    Update,
}

/// `pk.mode`: where the key columns come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkMode {
    None,
    /// `__connect_topic`, `__connect_partition`, `__connect_offset` (or the three `pk.fields`).
    Kafka,
    RecordKey,
    RecordValue,
}

impl PkMode {
    /// The config spelling (`record_key`, …).
    pub fn name(self) -> &'static str {
        match self {
            PkMode::None => "none",
            PkMode::Kafka => "kafka",
            PkMode::RecordKey => "record_key",
            PkMode::RecordValue => "record_value",
        }
    }
}

/// One of `table.types`: which kinds of database object the sink may write to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TableType {
    Table,
    PartitionedTable,
    View,
}

impl TableType {
    /// The JDBC table type name (`TABLE`, `PARTITIONED TABLE`, `VIEW`).
    pub fn jdbc_name(self) -> &'static str {
        match self {
            TableType::Table => "TABLE",
            TableType::PartitionedTable => "PARTITIONED TABLE",
            TableType::View => "VIEW",
        }
    }
}

/// `date.timezone`: the zone DATE values are bound in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateTimezone {
    /// `db.timezone`'s.
    DbTimezone,
    Utc,
}

/// `timestamp.precision.mode`: the unit of `timestamp.fields.list` numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampPrecision {
    Microseconds,
    Nanoseconds,
}

/// The names of the three kafka key columns when `pk.mode=kafka` and `pk.fields` is empty.
pub const DEFAULT_KAFKA_PK_NAMES: [&str; 3] =
    ["__connect_topic", "__connect_partition", "__connect_offset"];

/// The checked config.
#[derive(Debug, Clone)]
pub struct SinkConfig {
    pub url: JdbcUrl,
    pub dialect: Dialect,
    pub connection_attempts: u32,
    pub connection_backoff_ms: u64,
    pub insert_mode: InsertMode,
    /// Records per statement batch per table. 0 is allowed (as Confluent's) and flushes after
    /// every record, as 1 does.
    pub batch_size: u32,
    pub delete_enabled: bool,
    /// `table.name.format`, `${topic}` not yet replaced: see [`SinkConfig::table_name`].
    pub table_name_format: String,
    pub pk_mode: PkMode,
    pub pk_fields: Vec<String>,
    /// Value fields written as non-key columns; empty = all.
    pub fields_whitelist: Vec<String>,
    pub auto_create: bool,
    pub auto_evolve: bool,
    /// `quote.sql.identifiers=always`.
    pub quote_identifiers: bool,
    /// Distinct, in `TABLE`, `PARTITIONED TABLE`, `VIEW` order.
    pub table_types: Vec<TableType>,
    pub max_retries: u32,
    pub retry_backoff_ms: u32,
    /// The zone Date, Time and Timestamp values are written in.
    pub db_timezone: chrono_tz::Tz,
    pub date_timezone: DateTimezone,
    pub replace_null_with_default: bool,
    pub timestamp_fields: Vec<String>,
    pub timestamp_precision: TimestampPrecision,
    /// The single column a STRING-schema value is written to.
    pub string_value_column: String,
}

impl SinkConfig {
    pub fn parse(props: &Props) -> Result<SinkConfig, ConfigError> {
        let raw_url = get(props, url::CONNECTION_URL).ok_or_else(|| {
            ConfigError::new(
                url::CONNECTION_URL,
                "required, e.g. jdbc:postgresql://host:5432/db",
            )
        })?;
        let url = url::parse(
            raw_url,
            get(props, "connection.user"),
            props.get("connection.password").map(String::as_str),
        )?;
        let dialect = Dialect::choose(get(props, dialect::DIALECT_NAME), url.dialect)?;

        let insert_mode = match one_of(
            props,
            "insert.mode",
            &["insert", "upsert", "update"],
            "insert",
        )? {
            "upsert" => InsertMode::Upsert,
            "update" => InsertMode::Update,
            _ => InsertMode::Insert,
        };
        let pk_mode = match one_of(
            props,
            "pk.mode",
            &["none", "kafka", "record_key", "record_value"],
            "none",
        )? {
            "kafka" => PkMode::Kafka,
            "record_key" => PkMode::RecordKey,
            "record_value" => PkMode::RecordValue,
            _ => PkMode::None,
        };
        let pk_fields = list(props, "pk.fields");
        let delete_enabled = boolean(props, "delete.enabled", false)?;
        check_keys(insert_mode, pk_mode, &pk_fields, delete_enabled)?;

        let table_name_format = get(props, "table.name.format").unwrap_or("${topic}");
        let quote_identifiers = one_of(
            props,
            "quote.sql.identifiers",
            &["always", "never"],
            "always",
        )? == "always";
        let date_timezone = match one_of(
            props,
            "date.timezone",
            &["db_timezone", "utc"],
            "db_timezone",
        )? {
            "utc" => DateTimezone::Utc,
            _ => DateTimezone::DbTimezone,
        };
        let timestamp_precision = match one_of(
            props,
            "timestamp.precision.mode",
            &["microseconds", "nanoseconds"],
            "microseconds",
        )? {
            "nanoseconds" => TimestampPrecision::Nanoseconds,
            _ => TimestampPrecision::Microseconds,
        };
        let zone = get(props, "db.timezone").unwrap_or("UTC");
        let db_timezone = crate::zone::parse_zone(zone).ok_or_else(|| {
            ConfigError::new(
                "db.timezone",
                format!(
                    "{zone} is not a time zone: expected e.g. UTC, Europe/Paris, +02:00 or GMT-5"
                ),
            )
        })?;
        // SQL Server only: checked as Confluent does, then unused.
        boolean(props, "mssql.use.merge.holdlock", true)?;

        Ok(SinkConfig {
            url,
            dialect,
            connection_attempts: number(props, "connection.attempts", 3, 1)?,
            connection_backoff_ms: number(props, "connection.backoff.ms", 10_000, 0)?,
            insert_mode,
            batch_size: number(props, "batch.size", 3_000, 0)?,
            delete_enabled,
            table_name_format: table_name_format.to_owned(),
            pk_mode,
            pk_fields,
            fields_whitelist: list(props, "fields.whitelist"),
            auto_create: boolean(props, "auto.create", false)?,
            auto_evolve: boolean(props, "auto.evolve", false)?,
            quote_identifiers,
            table_types: table_types(props)?,
            max_retries: number(props, "max.retries", 10, 0)?,
            retry_backoff_ms: number(props, "retry.backoff.ms", 3_000, 0)?,
            db_timezone,
            date_timezone,
            replace_null_with_default: boolean(props, "replace.null.with.default", true)?,
            timestamp_fields: list(props, "timestamp.fields.list"),
            timestamp_precision,
            string_value_column: get(props, "string.output.value.column.name")
                .unwrap_or("record_value")
                .to_owned(),
        })
    }

    /// The destination table of a record from `topic`: `table.name.format` with every
    /// `${topic}` replaced. It may be qualified (`schema.table`).
    pub fn table_name(&self, topic: &str) -> String {
        self.table_name_format.replace("${topic}", topic)
    }
}

/// The value of an enumerated key, lower-cased, which must be one of `allowed` (lower case);
/// any case is accepted. Unset or empty is `default`.
fn one_of<'a>(
    props: &Props,
    key: &str,
    allowed: &[&'a str],
    default: &'a str,
) -> Result<&'a str, ConfigError> {
    let Some(value) = get(props, key) else {
        return Ok(default);
    };
    allowed
        .iter()
        .find(|a| a.eq_ignore_ascii_case(value))
        .copied()
        .ok_or_else(|| {
            ConfigError::new(
                key,
                format!("{value}: expected one of {}", allowed.join(", ")),
            )
        })
}

/// The rules between `insert.mode`, `pk.mode`, `pk.fields` and `delete.enabled`.
fn check_keys(
    insert_mode: InsertMode,
    pk_mode: PkMode,
    pk_fields: &[String],
    delete_enabled: bool,
) -> Result<(), ConfigError> {
    if delete_enabled && pk_mode != PkMode::RecordKey {
        return Err(ConfigError::new(
            "delete.enabled",
            format!(
                "deletes find their rows by the record key: they need pk.mode=record_key \
                 (pk.mode is {})",
                pk_mode.name()
            ),
        ));
    }
    if pk_mode == PkMode::None && insert_mode != InsertMode::Insert {
        let mode = if insert_mode == InsertMode::Upsert {
            "upsert"
        } else {
            "update"
        };
        return Err(ConfigError::new(
            "pk.mode",
            format!(
                "insert.mode={mode} finds rows by their key columns: set pk.mode to kafka, \
                 record_key or record_value"
            ),
        ));
    }
    if pk_mode != PkMode::None {
        if let Some(repeated) = pk_fields
            .iter()
            .enumerate()
            .find(|(i, f)| pk_fields[..*i].contains(f))
            .map(|(_, f)| f)
        {
            return Err(ConfigError::new(
                "pk.fields",
                format!("{repeated} is named twice"),
            ));
        }
    }
    if pk_mode == PkMode::Kafka && !pk_fields.is_empty() && pk_fields.len() != 3 {
        return Err(ConfigError::new(
            "pk.fields",
            format!(
                "with pk.mode=kafka, name no columns (for {}) or exactly 3: the topic, \
                 partition and offset columns; {} named",
                DEFAULT_KAFKA_PK_NAMES.join(", "),
                pk_fields.len()
            ),
        ));
    }
    Ok(())
}

/// `table.types`: `TABLE` (the default; also when empty), `PARTITIONED TABLE`, `VIEW`, in
/// any case.
fn table_types(props: &Props) -> Result<Vec<TableType>, ConfigError> {
    let mut types = Vec::new();
    for name in list(props, "table.types") {
        let t = [
            TableType::Table,
            TableType::PartitionedTable,
            TableType::View,
        ]
        .into_iter()
        .find(|t| t.jdbc_name().eq_ignore_ascii_case(&name))
        .ok_or_else(|| {
            ConfigError::new(
                "table.types",
                format!("{name}: expected TABLE, PARTITIONED TABLE or VIEW"),
            )
        })?;
        types.push(t);
    }
    if types.is_empty() {
        types.push(TableType::Table);
    }
    types.sort();
    types.dedup();
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn with(extra: &[(&str, &str)]) -> Props {
        let mut pairs = vec![("connection.url", "jdbc:postgresql://127.0.0.1:5432/test")];
        for (k, v) in extra {
            pairs.retain(|(pk, _)| pk != k);
            pairs.push((k, v));
        }
        props(&pairs)
    }

    #[test]
    fn a_minimal_config_has_confluents_defaults() {
        let c = SinkConfig::parse(&with(&[])).unwrap();
        assert_eq!(c.dialect, Dialect::PostgreSql);
        assert_eq!(
            (c.connection_attempts, c.connection_backoff_ms),
            (3, 10_000)
        );
        assert_eq!(c.insert_mode, InsertMode::Insert);
        assert_eq!(c.batch_size, 3_000);
        assert!(!c.delete_enabled);
        assert_eq!(c.table_name_format, "${topic}");
        assert_eq!(c.pk_mode, PkMode::None);
        assert!(c.pk_fields.is_empty() && c.fields_whitelist.is_empty());
        assert!(!c.auto_create && !c.auto_evolve);
        assert!(c.quote_identifiers);
        assert_eq!(c.table_types, [TableType::Table]);
        assert_eq!((c.max_retries, c.retry_backoff_ms), (10, 3_000));
        assert_eq!(c.db_timezone, chrono_tz::Tz::UTC);
        assert_eq!(c.date_timezone, DateTimezone::DbTimezone);
        assert!(c.replace_null_with_default);
        assert!(c.timestamp_fields.is_empty());
        assert_eq!(c.timestamp_precision, TimestampPrecision::Microseconds);
        assert_eq!(c.string_value_column, "record_value");
        assert_eq!(c.table_name("orders"), "orders");
    }

    #[test]
    fn every_key_reads_in_confluents_spellings() {
        let c = SinkConfig::parse(&with(&[
            ("connection.url", "jdbc:mysql://db:3306/shop"),
            ("connection.user", "app"),
            ("connection.password", "pw"),
            ("dialect.name", "MySqlDatabaseDialect"),
            ("connection.attempts", "5"),
            ("connection.backoff.ms", "250"),
            ("insert.mode", "UPSERT"),
            ("batch.size", "500"),
            ("delete.enabled", "TRUE"),
            ("table.name.format", "archive.kafka_${topic}_${topic}"),
            ("pk.mode", "Record_Key"),
            ("pk.fields", " id , region "),
            ("fields.whitelist", "name,price"),
            ("auto.create", "true"),
            ("auto.evolve", "true"),
            ("quote.sql.identifiers", "NEVER"),
            ("table.types", "view, table, VIEW"),
            ("max.retries", "0"),
            ("retry.backoff.ms", "100"),
            ("db.timezone", "Europe/Paris"),
            ("date.timezone", "utc"),
            ("replace.null.with.default", "false"),
            ("timestamp.fields.list", "created,updated"),
            ("timestamp.precision.mode", "nanoseconds"),
            ("string.output.value.column.name", "payload"),
            ("mssql.use.merge.holdlock", "false"),
        ]))
        .unwrap();
        assert_eq!(c.dialect, Dialect::MySql);
        assert_eq!((c.connection_attempts, c.connection_backoff_ms), (5, 250));
        assert_eq!(c.insert_mode, InsertMode::Upsert);
        assert_eq!(c.batch_size, 500);
        assert!(c.delete_enabled);
        assert_eq!(c.table_name("t1"), "archive.kafka_t1_t1");
        assert_eq!(c.pk_mode, PkMode::RecordKey);
        assert_eq!(c.pk_fields, ["id", "region"]);
        assert_eq!(c.fields_whitelist, ["name", "price"]);
        assert!(c.auto_create && c.auto_evolve && !c.quote_identifiers);
        assert_eq!(c.table_types, [TableType::Table, TableType::View]);
        assert_eq!((c.max_retries, c.retry_backoff_ms), (0, 100));
        assert_eq!(c.db_timezone, chrono_tz::Tz::Europe__Paris);
        assert_eq!(c.date_timezone, DateTimezone::Utc);
        assert!(!c.replace_null_with_default);
        assert_eq!(c.timestamp_fields, ["created", "updated"]);
        assert_eq!(c.timestamp_precision, TimestampPrecision::Nanoseconds);
        assert_eq!(c.string_value_column, "payload");

        for (mode, pk_mode) in [("update", "record_value"), ("insert", "kafka")] {
            assert!(
                SinkConfig::parse(&with(&[("insert.mode", mode), ("pk.mode", pk_mode)])).is_ok()
            );
        }
        let c = SinkConfig::parse(&with(&[
            ("pk.mode", "kafka"),
            ("pk.fields", "t,p,o"),
            ("table.types", "partitioned table"),
        ]))
        .unwrap();
        assert_eq!(c.pk_fields, ["t", "p", "o"]);
        assert_eq!(c.table_types, [TableType::PartitionedTable]);
    }

    #[test]
    fn every_bad_config_names_the_key_to_change() {
        for (extra, key) in [
            (vec![("connection.url", "")], "connection.url"),
            (
                vec![("connection.url", "jdbc:oracle:thin:@h:1521:x")],
                "connection.url",
            ),
            (
                vec![("dialect.name", "SqliteDatabaseDialect")],
                "dialect.name",
            ),
            (vec![("connection.attempts", "0")], "connection.attempts"),
            (
                vec![("connection.backoff.ms", "-1")],
                "connection.backoff.ms",
            ),
            (vec![("insert.mode", "merge")], "insert.mode"),
            (vec![("batch.size", "-1")], "batch.size"),
            (vec![("batch.size", "many")], "batch.size"),
            (vec![("delete.enabled", "yes")], "delete.enabled"),
            (vec![("delete.enabled", "true")], "delete.enabled"),
            (
                vec![("delete.enabled", "true"), ("pk.mode", "record_value")],
                "delete.enabled",
            ),
            (vec![("pk.mode", "key")], "pk.mode"),
            (vec![("insert.mode", "upsert")], "pk.mode"),
            (
                vec![("insert.mode", "update"), ("pk.mode", "none")],
                "pk.mode",
            ),
            (
                vec![("pk.mode", "kafka"), ("pk.fields", "topic")],
                "pk.fields",
            ),
            (
                vec![("pk.mode", "kafka"), ("pk.fields", "a,b,c,d")],
                "pk.fields",
            ),
            (
                vec![("pk.mode", "kafka"), ("pk.fields", "a,b,a")],
                "pk.fields",
            ),
            (
                vec![("pk.mode", "record_value"), ("pk.fields", "id,id")],
                "pk.fields",
            ),
            (vec![("auto.create", "1")], "auto.create"),
            (vec![("auto.evolve", "on")], "auto.evolve"),
            (
                vec![("quote.sql.identifiers", "sometimes")],
                "quote.sql.identifiers",
            ),
            (vec![("table.types", "TABLE,SYNONYM")], "table.types"),
            (vec![("max.retries", "-1")], "max.retries"),
            (vec![("retry.backoff.ms", "soon")], "retry.backoff.ms"),
            (vec![("db.timezone", "Central European")], "db.timezone"),
            (vec![("date.timezone", "local")], "date.timezone"),
            (
                vec![("replace.null.with.default", "maybe")],
                "replace.null.with.default",
            ),
            (
                vec![("timestamp.precision.mode", "millis")],
                "timestamp.precision.mode",
            ),
            (
                vec![("mssql.use.merge.holdlock", "x")],
                "mssql.use.merge.holdlock",
            ),
        ] {
            let e = SinkConfig::parse(&with(&extra)).unwrap_err();
            assert_eq!(e.key, key, "{extra:?}: {e}");
        }
        let e = SinkConfig::parse(&with(&[
            ("connection.url", "jdbc:mysql://h/db?sslMode=NOPE"),
            ("connection.password", "hunter2"),
        ]))
        .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
