//! The JDBC sink's SQL text, built without touching a database (spec §5): which columns a
//! record becomes ([`FieldsMetadata`]), their column types for `auto.create` / `auto.evolve`
//! ([`sql_type`]), `CREATE TABLE` / `ALTER TABLE … ADD` ([`create_table`],
//! [`alter_table_add`]), and the multi-row `INSERT`, upsert, `UPDATE` and `DELETE` the write
//! path sends one per batch, for PostgreSQL, MySQL/MariaDB and SQLite.
//!
//! Statements bind their parameters row by row, each row's key columns first
//! ([`FieldsMetadata::key_names`]) and then its other columns
//! ([`FieldsMetadata::non_key_names`]); `UPDATE` alone binds the other columns first.
//! PostgreSQL placeholders are numbered `$1…$n` across the whole statement. [`max_rows`] and
//! [`max_delete_rows`] say how many rows one statement may hold.

use std::collections::BTreeMap;

use tributary_connector_api::java_text::civil_from_days;
use tributary_connector_api::logical::{self, DATE, DECIMAL, TIME, TIMESTAMP};
use tributary_connector_api::{Schema, SchemaRef, Type, Value};

use crate::dialect::Dialect;
use crate::sink_config::{PkMode, SinkConfig, DEFAULT_KAFKA_PK_NAMES};

/// Why a record's columns or a statement cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SinkSqlError {
    #[error(
        "table {table}: the record value must be a Struct (or a String) with a schema, not {found}"
    )]
    ValueNotStruct { table: String, found: String },
    #[error("table {table}: pk.mode is {mode} but the record has no {side} schema")]
    MissingSchema {
        table: String,
        mode: &'static str,
        side: &'static str,
    },
    #[error(
        "table {table}: the record key is primitive ({found}), so pk.fields must name exactly \
         one column for it; it names {names:?}"
    )]
    PrimitiveKeyNeedsOneName {
        table: String,
        found: String,
        names: Vec<String>,
    },
    #[error("table {table}: the record key must be a primitive or a Struct, not {found}")]
    KeyNotStructOrPrimitive { table: String, found: String },
    #[error(
        "table {table}: pk.mode is kafka, so pk.fields must be empty (for __connect_topic, \
         __connect_partition, __connect_offset) or name exactly 3 distinct columns; it names \
         {names:?}"
    )]
    KafkaPkNames { table: String, names: Vec<String> },
    #[error(
        "table {table}: pk.fields names {field}, which the record {side} schema does not have"
    )]
    NoSuchField {
        table: String,
        field: String,
        side: &'static str,
    },
    #[error("table {table}: pk.mode record_value cannot take its key from a String value")]
    RecordValueKeyFromString { table: String },
    #[error("table {table}: string.output.value.column.name {column} is also a key column")]
    StringColumnIsKey { table: String, column: String },
    #[error("table {table}: the record's key and value schemas give no column to write")]
    NoColumns { table: String },
    #[error("column {column} ({schema}) has no {dialect} column type: {reason}")]
    NoColumnType {
        column: String,
        schema: String,
        dialect: &'static str,
        reason: String,
    },
    #[error("column {column}: its default value {reason}")]
    BadDefault { column: String, reason: String },
    #[error(
        "column {column} cannot be added to an existing table: it is not optional and has no \
         default value"
    )]
    RequiredWithoutDefault { column: String },
    #[error("table {table}: an ALTER TABLE needs at least one column to add")]
    NoColumnsToAdd { table: String },
    #[error("table {table}: {statement} finds rows by key columns, and there are none (pk.mode)")]
    NoKeyColumns {
        table: String,
        statement: &'static str,
    },
    #[error("table {table}: an UPDATE needs a non-key column to set, and there is none")]
    NothingToSet { table: String },
    #[error("table {table}: a statement needs at least one row")]
    NoRows { table: String },
}

type Result<T> = std::result::Result<T, SinkSqlError>;

// ---------------------------------------------------------------------------------------------
// Columns

/// The config keys that decide a record's columns.
#[derive(Debug, Clone, Copy)]
pub struct ColumnRules<'a> {
    pub pk_mode: PkMode,
    pub pk_fields: &'a [String],
    /// `fields.whitelist`: the value fields written as non-key columns; empty = all.
    pub fields_whitelist: &'a [String],
    /// `timestamp.fields.list`.
    pub timestamp_fields: &'a [String],
    /// `string.output.value.column.name`.
    pub string_value_column: &'a str,
}

impl<'a> ColumnRules<'a> {
    pub fn of(config: &'a SinkConfig) -> ColumnRules<'a> {
        ColumnRules {
            pk_mode: config.pk_mode,
            pk_fields: &config.pk_fields,
            fields_whitelist: &config.fields_whitelist,
            timestamp_fields: &config.timestamp_fields,
            string_value_column: &config.string_value_column,
        }
    }
}

/// One column a record is written to.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    pub name: String,
    pub schema: SchemaRef,
    /// Part of the primary key.
    pub key: bool,
    /// Named in `timestamp.fields.list`: a number or text written to a timestamp column.
    pub timestamp: bool,
}

/// The columns of records with one key schema and one value schema, as Confluent's
/// `FieldsMetadata`: key columns from `pk.mode` / `pk.fields`, non-key columns from the value
/// (minus key fields, filtered by `fields.whitelist`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldsMetadata {
    columns: Vec<Column>,
    key_names: Vec<String>,
    non_key_names: Vec<String>,
}

impl FieldsMetadata {
    /// The columns of `table`'s records. `key` / `value` are the record's schemas (`None`
    /// when schemaless or, for the value, a tombstone).
    pub fn extract(
        table: &str,
        rules: &ColumnRules<'_>,
        key: Option<&SchemaRef>,
        value: Option<&SchemaRef>,
    ) -> Result<FieldsMetadata> {
        let string_value = match value {
            Some(v) if v.type_ == Type::String => true,
            Some(v) if v.type_ == Type::Struct => false,
            Some(v) => {
                return Err(SinkSqlError::ValueNotStruct {
                    table: table.to_owned(),
                    found: describe(v),
                })
            }
            None => false,
        };
        let mut all: BTreeMap<String, SchemaRef> = BTreeMap::new();
        let key_names = match rules.pk_mode {
            PkMode::None => Vec::new(),
            PkMode::Kafka => kafka_key(table, rules.pk_fields, &mut all)?,
            PkMode::RecordKey => {
                let key = key.ok_or_else(|| missing(table, PkMode::RecordKey, "key"))?;
                if key.type_.is_primitive() {
                    let [name] = rules.pk_fields else {
                        return Err(SinkSqlError::PrimitiveKeyNeedsOneName {
                            table: table.to_owned(),
                            found: describe(key),
                            names: rules.pk_fields.to_vec(),
                        });
                    };
                    all.insert(name.clone(), key.clone());
                    vec![name.clone()]
                } else if key.type_ == Type::Struct {
                    struct_key(table, rules.pk_fields, key, "key", &mut all)?
                } else {
                    return Err(SinkSqlError::KeyNotStructOrPrimitive {
                        table: table.to_owned(),
                        found: describe(key),
                    });
                }
            }
            PkMode::RecordValue => {
                if string_value {
                    return Err(SinkSqlError::RecordValueKeyFromString {
                        table: table.to_owned(),
                    });
                }
                let value = value.ok_or_else(|| missing(table, PkMode::RecordValue, "value"))?;
                struct_key(table, rules.pk_fields, value, "value", &mut all)?
            }
        };

        let mut non_key_names = Vec::new();
        if string_value {
            let column = rules.string_value_column;
            if key_names.iter().any(|k| k == column) {
                return Err(SinkSqlError::StringColumnIsKey {
                    table: table.to_owned(),
                    column: column.to_owned(),
                });
            }
            non_key_names.push(column.to_owned());
            all.insert(column.to_owned(), Schema::optional_string());
        } else if let Some(value) = value {
            let whitelist = rules.fields_whitelist;
            for field in &value.fields {
                if key_names.contains(&field.name)
                    || (!whitelist.is_empty() && !whitelist.contains(&field.name))
                {
                    continue;
                }
                non_key_names.push(field.name.clone());
                all.insert(field.name.clone(), field.schema.clone());
            }
        }
        if all.is_empty() {
            return Err(SinkSqlError::NoColumns {
                table: table.to_owned(),
            });
        }

        // DDL order: the kafka columns, then value-field order, then the rest by name.
        let mut order: Vec<&str> = Vec::new();
        if rules.pk_mode == PkMode::Kafka {
            order.extend(key_names.iter().map(String::as_str));
        }
        if string_value {
            order.push(rules.string_value_column);
        } else if let Some(value) = value {
            order.extend(value.fields.iter().map(|f| f.name.as_str()));
        }
        let mut columns = Vec::with_capacity(all.len());
        let mut take = |name: &str, all: &mut BTreeMap<String, SchemaRef>| {
            if let Some((name, schema)) = all.remove_entry(name) {
                columns.push(Column {
                    key: key_names.contains(&name),
                    timestamp: rules.timestamp_fields.contains(&name),
                    name,
                    schema,
                });
            }
        };
        for name in order {
            take(name, &mut all);
        }
        for name in all.keys().cloned().collect::<Vec<_>>() {
            take(&name, &mut all);
        }
        Ok(FieldsMetadata {
            columns,
            key_names,
            non_key_names,
        })
    }

    /// Every column, in `CREATE TABLE` order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The key columns' names, in parameter order.
    pub fn key_names(&self) -> &[String] {
        &self.key_names
    }

    /// The non-key columns' names, in parameter order (value-field order).
    pub fn non_key_names(&self) -> &[String] {
        &self.non_key_names
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The columns a table with `existing` columns lacks, for `auto.evolve`: names compare
    /// exactly, or else ignoring ASCII case (as Confluent's).
    pub fn missing_columns(&self, existing: &[&str]) -> Vec<Column> {
        self.columns
            .iter()
            .filter(|c| !existing.iter().any(|e| e.eq_ignore_ascii_case(&c.name)))
            .cloned()
            .collect()
    }
}

fn missing(table: &str, mode: PkMode, side: &'static str) -> SinkSqlError {
    SinkSqlError::MissingSchema {
        table: table.to_owned(),
        mode: mode.name(),
        side,
    }
}

/// `pk.mode=kafka`: topic (STRING), partition (INT32), offset (INT64).
fn kafka_key(
    table: &str,
    pk_fields: &[String],
    all: &mut BTreeMap<String, SchemaRef>,
) -> Result<Vec<String>> {
    let names: Vec<String> = if pk_fields.is_empty() {
        DEFAULT_KAFKA_PK_NAMES.map(str::to_owned).to_vec()
    } else {
        pk_fields.to_vec()
    };
    let distinct = names
        .iter()
        .enumerate()
        .all(|(i, n)| !names[..i].contains(n));
    if names.len() != 3 || !distinct {
        return Err(SinkSqlError::KafkaPkNames {
            table: table.to_owned(),
            names,
        });
    }
    for (name, schema) in names
        .iter()
        .zip([Schema::string(), Schema::int32(), Schema::int64()])
    {
        all.insert(name.clone(), schema);
    }
    Ok(names)
}

/// Key columns from the fields of a Struct key or value: all of them when `pk.fields` is
/// empty, else the named ones.
fn struct_key(
    table: &str,
    pk_fields: &[String],
    schema: &Schema,
    side: &'static str,
    all: &mut BTreeMap<String, SchemaRef>,
) -> Result<Vec<String>> {
    let mut names: Vec<String> = Vec::new();
    let wanted: Vec<&str> = if pk_fields.is_empty() {
        schema.fields.iter().map(|f| f.name.as_str()).collect()
    } else {
        pk_fields.iter().map(String::as_str).collect()
    };
    for name in wanted {
        let field = schema
            .field(name)
            .ok_or_else(|| SinkSqlError::NoSuchField {
                table: table.to_owned(),
                field: name.to_owned(),
                side,
            })?;
        if !names.iter().any(|n| n == name) {
            names.push(name.to_owned());
            all.insert(name.to_owned(), field.schema.clone());
        }
    }
    Ok(names)
}

/// A schema for messages: its logical name (`Decimal`, …) or type, `array of …`.
fn describe(schema: &Schema) -> String {
    if let Some(name) = &schema.name {
        return name.rsplit('.').next().unwrap_or(name).to_owned();
    }
    match (&schema.type_, &schema.value_schema) {
        (Type::Array, Some(items)) => format!("array of {}", describe(items)),
        (t, _) => t.name().to_owned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Column types

fn dialect_label(dialect: Dialect) -> &'static str {
    match dialect {
        Dialect::PostgreSql => "PostgreSQL",
        Dialect::MySql => "MySQL",
        Dialect::Sqlite => "SQLite",
    }
}

/// The column type `auto.create` / `auto.evolve` give `column` (spec §5's table; SQLite as
/// Confluent's `SqliteDatabaseDialect`: INTEGER, REAL, TEXT, BLOB, and NUMERIC for Decimal,
/// Date, Time, Timestamp and `timestamp.fields.list` columns).
///
/// A MySQL key column of STRING type is `VARCHAR(256)`, not `TEXT`: MySQL cannot index a
/// TEXT column without a prefix length, so `PRIMARY KEY` over TEXT fails (Confluent issue
/// #996). 256 characters hold any topic name (at most 249) and stay within InnoDB's 3072-byte
/// key limit for up to three utf8mb4 key columns.
///
/// Maps and Structs have no column type (flatten them first, e.g. with the `Flatten`
/// transform); arrays of primitives have one on PostgreSQL only (`<element type>[]`).
pub fn sql_type(dialect: Dialect, column: &Column) -> Result<String> {
    type_of(dialect, column, &column.schema)
}

fn type_of(dialect: Dialect, column: &Column, schema: &Schema) -> Result<String> {
    let no_type = |reason: &str| SinkSqlError::NoColumnType {
        column: column.name.clone(),
        schema: describe(schema),
        dialect: dialect_label(dialect),
        reason: reason.to_owned(),
    };
    let t = |s: &str| Ok(s.to_owned());
    use Dialect::{MySql, PostgreSql as Pg, Sqlite};
    match (dialect, schema.name.as_deref()) {
        (Sqlite, Some(DECIMAL | DATE | TIME | TIMESTAMP)) => return t("NUMERIC"),
        (Pg, Some(DECIMAL)) => return t("DECIMAL"),
        (MySql, Some(DECIMAL)) => {
            let scale = schema
                .parameters
                .as_ref()
                .and_then(|p| p.get(logical::DECIMAL_SCALE))
                .and_then(|s| s.parse::<i32>().ok())
                .ok_or_else(|| no_type("its scale parameter is missing"))?;
            if !(0..=30).contains(&scale) {
                return Err(no_type(&format!(
                    "its scale is {scale}, and MySQL takes 0 to 30"
                )));
            }
            return Ok(format!("DECIMAL(65,{scale})"));
        }
        (_, Some(DATE)) => return t("DATE"),
        (Pg, Some(TIME)) => return t("TIME"),
        (MySql, Some(TIME)) => return t("TIME(3)"),
        (Pg, Some(TIMESTAMP)) => return t("TIMESTAMP"),
        (MySql, Some(TIMESTAMP)) => return t("DATETIME(3)"),
        _ => {}
    }
    let timestamp = match dialect {
        Pg => "TIMESTAMP",
        MySql => "DATETIME(6)",
        Sqlite => "NUMERIC",
    };
    match (dialect, schema.type_) {
        (Sqlite, Type::Boolean | Type::Int8 | Type::Int16 | Type::Int32 | Type::Int64) => {
            t(if column.timestamp {
                timestamp
            } else {
                "INTEGER"
            })
        }
        (_, Type::Int64 | Type::String) if column.timestamp => t(timestamp),
        (MySql, Type::Int8) => t("TINYINT"),
        (_, Type::Int8 | Type::Int16) => t("SMALLINT"),
        (_, Type::Int32) => t("INT"),
        (_, Type::Int64) => t("BIGINT"),
        (MySql, Type::Float32) => t("FLOAT"),
        (_, Type::Float32) => t("REAL"),
        (Pg, Type::Float64) => t("DOUBLE PRECISION"),
        (MySql, Type::Float64) => t("DOUBLE"),
        (Sqlite, Type::Float64) => t("REAL"),
        (Pg, Type::Boolean) => t("BOOLEAN"),
        (MySql, Type::Boolean) => t("TINYINT"),
        (MySql, Type::String) if column.key => t("VARCHAR(256)"),
        (_, Type::String) => t("TEXT"),
        (Pg, Type::Bytes) => t("BYTEA"),
        (MySql, Type::Bytes) => t("VARBINARY(1024)"),
        (Sqlite, Type::Bytes) => t("BLOB"),
        (Pg, Type::Array) => match &schema.value_schema {
            Some(items) if items.type_.is_primitive() => {
                Ok(format!("{}[]", type_of(dialect, column, items)?))
            }
            _ => Err(no_type("only arrays of primitives have one")),
        },
        (_, Type::Array) => Err(no_type("arrays have a column type on PostgreSQL only")),
        (_, Type::Map | Type::Struct) => Err(no_type(
            "nested values have none; flatten them first (e.g. the Flatten transform)",
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// DDL

/// `name` quoted as one identifier when `quoted`: a dot is part of a column name (`Flatten`
/// makes `address.city`), unlike in [`Dialect::quote`]'s qualified table names.
fn ident(dialect: Dialect, quoted: bool, name: &str) -> String {
    if !quoted {
        return name.to_owned();
    }
    let q = if dialect == Dialect::MySql { '`' } else { '"' };
    format!("{q}{}{q}", name.replace(q, &format!("{q}{q}")))
}

/// `CREATE TABLE table (…)`: each column `name TYPE`, then ` DEFAULT <literal>` when its
/// schema has a default, else ` NULL` / ` NOT NULL` from its optionality; key columns are
/// always ` NOT NULL` (a primary key cannot hold NULL; MySQL refuses a NULL key column), and
/// `PRIMARY KEY(…)` lists them in column order. `table` may be qualified (`schema.table`).
pub fn create_table(
    dialect: Dialect,
    quoted: bool,
    table: &str,
    columns: &[Column],
) -> Result<String> {
    if columns.is_empty() {
        return Err(SinkSqlError::NoColumns {
            table: table.to_owned(),
        });
    }
    let mut parts = columns
        .iter()
        .map(|c| column_spec(dialect, quoted, c))
        .collect::<Result<Vec<_>>>()?;
    let keys: Vec<String> = columns
        .iter()
        .filter(|c| c.key)
        .map(|c| ident(dialect, quoted, &c.name))
        .collect();
    if !keys.is_empty() {
        parts.push(format!("PRIMARY KEY({})", keys.join(",")));
    }
    Ok(format!(
        "CREATE TABLE {} ({})",
        dialect.quote(quoted, table),
        parts.join(", ")
    ))
}

/// `ALTER TABLE table ADD …` for columns a table lacks (`auto.evolve`), each as in
/// [`create_table`] without `PRIMARY KEY`. PostgreSQL and MySQL add them all in one statement
/// (`ADD a …, ADD b …`); SQLite adds one column per `ALTER TABLE`, so there it is one
/// statement per column, to run in order. A column that is not optional and has no default
/// cannot be added (existing rows would have no value for it).
pub fn alter_table_add(
    dialect: Dialect,
    quoted: bool,
    table: &str,
    new_columns: &[Column],
) -> Result<Vec<String>> {
    if new_columns.is_empty() {
        return Err(SinkSqlError::NoColumnsToAdd {
            table: table.to_owned(),
        });
    }
    let adds = new_columns
        .iter()
        .map(|c| {
            if !c.schema.optional && !has_default(&c.schema) {
                return Err(SinkSqlError::RequiredWithoutDefault {
                    column: c.name.clone(),
                });
            }
            Ok(format!("ADD {}", column_spec(dialect, quoted, c)?))
        })
        .collect::<Result<Vec<_>>>()?;
    let table = dialect.quote(quoted, table);
    Ok(if dialect == Dialect::Sqlite {
        adds.iter()
            .map(|add| format!("ALTER TABLE {table} {add}"))
            .collect()
    } else {
        vec![format!("ALTER TABLE {table} {}", adds.join(", "))]
    })
}

fn has_default(schema: &Schema) -> bool {
    schema.default.as_ref().is_some_and(|d| !d.is_null())
}

fn column_spec(dialect: Dialect, quoted: bool, column: &Column) -> Result<String> {
    let sql_type = sql_type(dialect, column)?;
    let mut spec = format!("{} {sql_type}", ident(dialect, quoted, &column.name));
    match column.schema.default.as_ref().filter(|d| !d.is_null()) {
        Some(default) => {
            let bad = |reason: String| SinkSqlError::BadDefault {
                column: column.name.clone(),
                reason,
            };
            if column.timestamp {
                return Err(bad(
                    "cannot be written as SQL: the column is in timestamp.fields.list".to_owned(),
                ));
            }
            let literal = literal(dialect, &column.schema, default).map_err(bad)?;
            // MySQL takes a TEXT column's default only as an expression (8.0.13+, MariaDB
            // 10.2+): in parentheses.
            if dialect == Dialect::MySql && sql_type == "TEXT" {
                spec.push_str(&format!(" DEFAULT ({literal})"));
            } else {
                spec.push_str(&format!(" DEFAULT {literal}"));
            }
            if column.key {
                spec.push_str(" NOT NULL");
            }
        }
        None if column.key || !column.schema.optional => spec.push_str(" NOT NULL"),
        None => spec.push_str(" NULL"),
    }
    Ok(spec)
}

/// A default value as an SQL literal: numbers as they are, text quoted, booleans `1`/`0`
/// (PostgreSQL `TRUE`/`FALSE`), bytes `x'…'` (PostgreSQL `decode('…','hex')`), Decimal as
/// its decimal text, Date / Time / Timestamp as quoted `yyyy-MM-dd`, `HH:mm:ss.SSS`,
/// `yyyy-MM-dd HH:mm:ss.SSS` in UTC, PostgreSQL arrays as `ARRAY[…]`.
fn literal(
    dialect: Dialect,
    schema: &Schema,
    value: &Value,
) -> std::result::Result<String, String> {
    let mismatch = || format!("does not match its {} schema", describe(schema));
    match (schema.name.as_deref(), value) {
        (Some(DECIMAL), Value::Bytes(bytes)) => {
            let scale = schema
                .parameters
                .as_ref()
                .and_then(|p| p.get(logical::DECIMAL_SCALE))
                .and_then(|s| s.parse::<i32>().ok())
                .ok_or("is a Decimal without a scale parameter")?;
            return logical::decimal_to_string(bytes, scale).map_err(|e| e.message);
        }
        (Some(DATE), Value::Int32(days)) => {
            let (y, m, d) = civil_from_days(i64::from(*days));
            return Ok(format!("'{y:04}-{m:02}-{d:02}'"));
        }
        (Some(TIME), Value::Int32(ms)) => {
            if !(0..86_400_000).contains(ms) {
                return Err(format!("{ms} ms is not a time of day"));
            }
            return Ok(format!("'{}'", time_of_day(i64::from(*ms))));
        }
        (Some(TIMESTAMP), Value::Int64(ms)) => {
            let (y, m, d) = civil_from_days(ms.div_euclid(86_400_000));
            let time = time_of_day(ms.rem_euclid(86_400_000));
            return Ok(format!("'{y:04}-{m:02}-{d:02} {time}'"));
        }
        (Some(DECIMAL | DATE | TIME | TIMESTAMP), _) => return Err(mismatch()),
        _ => {}
    }
    let finite = |f: f64| {
        f.is_finite()
            .then_some(())
            .ok_or_else(|| format!("{f} has no SQL literal"))
    };
    Ok(match (schema.type_, value) {
        (Type::Int8, Value::Int8(v)) => v.to_string(),
        (Type::Int16, Value::Int16(v)) => v.to_string(),
        (Type::Int32, Value::Int32(v)) => v.to_string(),
        (Type::Int64, Value::Int64(v)) => v.to_string(),
        (Type::Float32, Value::Float32(v)) => {
            finite(f64::from(*v))?;
            format!("{v:?}")
        }
        (Type::Float64, Value::Float64(v)) => {
            finite(*v)?;
            format!("{v:?}")
        }
        (Type::Boolean, Value::Boolean(b)) => match (dialect, b) {
            (Dialect::PostgreSql, true) => "TRUE".to_owned(),
            (Dialect::PostgreSql, false) => "FALSE".to_owned(),
            (_, true) => "1".to_owned(),
            (_, false) => "0".to_owned(),
        },
        (Type::String, Value::String(s)) => {
            let mut escaped = s.replace('\'', "''");
            // MySQL reads backslash escapes in literals (unless NO_BACKSLASH_ESCAPES).
            if dialect == Dialect::MySql {
                escaped = escaped.replace('\\', "\\\\");
            }
            format!("'{escaped}'")
        }
        (Type::Bytes, Value::Bytes(bytes)) => {
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            if dialect == Dialect::PostgreSql {
                format!("decode('{hex}','hex')")
            } else {
                format!("x'{hex}'")
            }
        }
        (Type::Array, Value::Array(items)) if dialect == Dialect::PostgreSql => {
            let item_schema = schema.value_schema.as_ref().ok_or_else(mismatch)?;
            if items.is_empty() {
                return Ok("'{}'".to_owned());
            }
            let items = items
                .iter()
                .map(|item| match item {
                    Value::Null => Ok("NULL".to_owned()),
                    item => literal(dialect, item_schema, item),
                })
                .collect::<std::result::Result<Vec<_>, _>>()?;
            format!("ARRAY[{}]", items.join(","))
        }
        _ => return Err(mismatch()),
    })
}

/// `HH:mm:ss.SSS` of milliseconds since midnight (`ms` in `0..86_400_000`).
fn time_of_day(ms: i64) -> String {
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1_000 % 60,
        ms % 1_000
    )
}

// ---------------------------------------------------------------------------------------------
// DML

/// `(p, p, …)` for `count` parameters numbered from `first`.
fn row_placeholders(dialect: Dialect, first: usize, count: usize) -> String {
    let params: Vec<String> = (first..first + count)
        .map(|n| dialect.placeholder(n))
        .collect();
    format!("({})", params.join(","))
}

fn idents(dialect: Dialect, quoted: bool, names: &[String]) -> Vec<String> {
    names.iter().map(|n| ident(dialect, quoted, n)).collect()
}

fn check_rows(table: &str, rows: usize) -> Result<()> {
    if rows == 0 {
        return Err(SinkSqlError::NoRows {
            table: table.to_owned(),
        });
    }
    Ok(())
}

fn check_keys(table: &str, fields: &FieldsMetadata, statement: &'static str) -> Result<()> {
    if fields.key_names.is_empty() {
        return Err(SinkSqlError::NoKeyColumns {
            table: table.to_owned(),
            statement,
        });
    }
    Ok(())
}

/// `INSERT INTO table (k…,v…) VALUES (…),(…)` for `rows` rows.
pub fn insert(
    dialect: Dialect,
    quoted: bool,
    table: &str,
    fields: &FieldsMetadata,
    rows: usize,
) -> Result<String> {
    check_rows(table, rows)?;
    let names: Vec<String> = fields
        .key_names
        .iter()
        .chain(&fields.non_key_names)
        .map(|n| ident(dialect, quoted, n))
        .collect();
    let values: Vec<String> = (0..rows)
        .map(|r| row_placeholders(dialect, r * names.len() + 1, names.len()))
        .collect();
    Ok(format!(
        "INSERT INTO {} ({}) VALUES {}",
        dialect.quote(quoted, table),
        names.join(","),
        values.join(",")
    ))
}

/// PostgreSQL's `COPY table (k…,v…) FROM STDIN` (text format), the insert-mode fast path:
/// the rows follow as data, in [`insert`]'s column order.
pub fn copy_in(quoted: bool, table: &str, fields: &FieldsMetadata) -> String {
    let names = idents(
        Dialect::PostgreSql,
        quoted,
        &[fields.key_names.as_slice(), fields.non_key_names.as_slice()].concat(),
    );
    format!(
        "COPY {} ({}) FROM STDIN",
        Dialect::PostgreSql.quote(quoted, table),
        names.join(",")
    )
}

/// The [`insert`] of `rows` rows that overwrites the non-key columns of rows whose key
/// exists:
///
/// * PostgreSQL and SQLite: `… ON CONFLICT (k…) DO UPDATE SET v=EXCLUDED.v,…`, or
///   `DO NOTHING` when every column is a key column. The key columns must be the table's
///   primary key or a unique index. PostgreSQL refuses a statement that meets one key
///   twice ("cannot affect row a second time"): keep only each key's last record in one
///   statement. (Confluent's SQLite dialect writes `INSERT OR REPLACE`, which deletes the
///   old row and so also resets columns the record does not write.)
/// * MySQL/MariaDB: `… ON DUPLICATE KEY UPDATE v=VALUES(v),…`, the key columns assigned to
///   themselves when there is no other column. `VALUES()` here is deprecated since MySQL
///   8.0.20 (a warning) but is the form MariaDB also takes.
pub fn upsert(
    dialect: Dialect,
    quoted: bool,
    table: &str,
    fields: &FieldsMetadata,
    rows: usize,
) -> Result<String> {
    check_keys(table, fields, "an upsert")?;
    let insert = insert(dialect, quoted, table, fields, rows)?;
    let keys = idents(dialect, quoted, &fields.key_names);
    let non_keys = idents(dialect, quoted, &fields.non_key_names);
    Ok(match dialect {
        Dialect::PostgreSql | Dialect::Sqlite if non_keys.is_empty() => {
            format!("{insert} ON CONFLICT ({}) DO NOTHING", keys.join(","))
        }
        Dialect::PostgreSql | Dialect::Sqlite => {
            let set: Vec<String> = non_keys
                .iter()
                .map(|c| format!("{c}=EXCLUDED.{c}"))
                .collect();
            format!(
                "{insert} ON CONFLICT ({}) DO UPDATE SET {}",
                keys.join(","),
                set.join(",")
            )
        }
        Dialect::MySql => {
            let assigned = if non_keys.is_empty() {
                &keys
            } else {
                &non_keys
            };
            let set: Vec<String> = assigned
                .iter()
                .map(|c| format!("{c}=VALUES({c})"))
                .collect();
            format!("{insert} ON DUPLICATE KEY UPDATE {}", set.join(","))
        }
    })
}

/// `UPDATE table SET v=?,… WHERE k=? AND …` for one row, the non-key parameters first. A
/// row that does not exist is updated 0 times, silently (as Confluent's).
pub fn update(
    dialect: Dialect,
    quoted: bool,
    table: &str,
    fields: &FieldsMetadata,
) -> Result<String> {
    check_keys(table, fields, "an UPDATE")?;
    if fields.non_key_names.is_empty() {
        return Err(SinkSqlError::NothingToSet {
            table: table.to_owned(),
        });
    }
    let mut n = 0;
    let mut assign = |names: &[String]| -> Vec<String> {
        names
            .iter()
            .map(|c| {
                n += 1;
                format!("{}={}", ident(dialect, quoted, c), dialect.placeholder(n))
            })
            .collect()
    };
    let set = assign(&fields.non_key_names);
    let filter = assign(&fields.key_names);
    Ok(format!(
        "UPDATE {} SET {} WHERE {}",
        dialect.quote(quoted, table),
        set.join(","),
        filter.join(" AND ")
    ))
}

/// `DELETE` of `rows` rows by key, in a form all three databases take: one key column is
/// `WHERE k IN (?,?,…)`; several are OR-ed conjunctions,
/// `WHERE (k1=? AND k2=?) OR (k1=? AND k2=?)` (SQLite takes a row value `IN` only over a
/// subquery, and MySQL's and SQLite's `VALUES` subqueries differ). See [`max_delete_rows`].
pub fn delete(
    dialect: Dialect,
    quoted: bool,
    table: &str,
    fields: &FieldsMetadata,
    rows: usize,
) -> Result<String> {
    check_keys(table, fields, "a DELETE")?;
    check_rows(table, rows)?;
    let keys = idents(dialect, quoted, &fields.key_names);
    let filter = if let [key] = keys.as_slice() {
        format!("{key} IN {}", row_placeholders(dialect, 1, rows))
    } else {
        let conjunctions: Vec<String> = (0..rows)
            .map(|r| {
                let terms: Vec<String> = keys
                    .iter()
                    .enumerate()
                    .map(|(i, k)| format!("{k}={}", dialect.placeholder(r * keys.len() + i + 1)))
                    .collect();
                format!("({})", terms.join(" AND "))
            })
            .collect();
        conjunctions.join(" OR ")
    };
    Ok(format!(
        "DELETE FROM {} WHERE {filter}",
        dialect.quote(quoted, table)
    ))
}

// ---------------------------------------------------------------------------------------------
// Limits

/// SQLite's default `SQLITE_MAX_EXPR_DEPTH`, in the SQLite sqlx bundles.
const SQLITE_MAX_EXPR_DEPTH: usize = 1_000;

/// The most keys in one single-column `DELETE … IN (…)`: MariaDB plans a longer list as a
/// full table scan (`optimizer_max_sel_arg_weight`, 32000), MySQL once the ranges pass
/// `range_optimizer_max_mem_size` (8 MiB, about 230 bytes each).
const MAX_DELETE_IN: usize = 10_000;

/// The most parameters one statement may bind: 65535 for PostgreSQL (the protocol counts
/// them in 16 bits) and MySQL/MariaDB (prepared statements), 32766 for SQLite
/// (`SQLITE_MAX_VARIABLE_NUMBER` since 3.32; sqlx 0.8 bundles 3.46 through
/// libsqlite3-sys 0.30).
pub fn max_parameters(dialect: Dialect) -> usize {
    match dialect {
        Dialect::PostgreSql | Dialect::MySql => 65_535,
        Dialect::Sqlite => 32_766,
    }
}

/// The most rows one [`insert`] or [`upsert`] of `columns` columns per row may hold without
/// passing [`max_parameters`] (0 if one row alone would pass it).
pub fn max_rows(dialect: Dialect, columns: usize) -> usize {
    max_parameters(dialect) / columns.max(1)
}

/// The most rows one [`delete`] with `key_columns` key columns may hold. One key column:
/// 10000 (also within [`max_rows`]), which MariaDB and MySQL still plan as index ranges. Several
/// (OR-ed conjunctions): within SQLite's expression depth (1000), which a chain of n ORs over
/// k-column conjunctions reaches at n + k, so 999 - k rows on every database: PostgreSQL
/// rechecks each row it finds against every conjunction, which costs n² (about 25 ms for 1000
/// rows of 2 keys, 0.5 s for 10000, half a minute for 32767).
pub fn max_delete_rows(dialect: Dialect, key_columns: usize) -> usize {
    let by_parameters = max_rows(dialect, key_columns);
    if key_columns > 1 {
        by_parameters.min(SQLITE_MAX_EXPR_DEPTH.saturating_sub(key_columns + 1))
    } else {
        by_parameters.min(MAX_DELETE_IN)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tributary_connector_api::logical;
    use Dialect::{MySql, PostgreSql as Pg, Sqlite};

    const ALL: [Dialect; 3] = [Pg, MySql, Sqlite];

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn rules<'a>(
        pk_mode: PkMode,
        pk_fields: &'a [String],
        whitelist: &'a [String],
        timestamps: &'a [String],
    ) -> ColumnRules<'a> {
        ColumnRules {
            pk_mode,
            pk_fields,
            fields_whitelist: whitelist,
            timestamp_fields: timestamps,
            string_value_column: "record_value",
        }
    }

    fn fields_of(
        mode: PkMode,
        pk: &[&str],
        key: Option<&SchemaRef>,
        value: Option<&SchemaRef>,
    ) -> Result<FieldsMetadata> {
        FieldsMetadata::extract("t", &rules(mode, &names(pk), &[], &[]), key, value)
    }

    /// A value of `(name, price, id, note)`.
    fn order_value() -> SchemaRef {
        Schema::struct_([
            ("name", Schema::string()),
            ("price", Schema::optional_float64()),
            ("id", Schema::int64()),
            ("note", Schema::optional_string()),
        ])
        .into_ref()
    }

    fn column(name: &str, schema: Schema, key: bool) -> Column {
        Column {
            name: name.to_owned(),
            schema: schema.into_ref(),
            key,
            timestamp: false,
        }
    }

    fn column_names(f: &FieldsMetadata) -> Vec<&str> {
        f.columns().iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn columns_come_in_confluents_order() {
        let value = order_value();
        // none: the value's fields, in order.
        let f = fields_of(PkMode::None, &[], None, Some(&value)).unwrap();
        assert_eq!(column_names(&f), ["name", "price", "id", "note"]);
        assert!(f.key_names().is_empty());
        assert_eq!(f.non_key_names(), ["name", "price", "id", "note"]);

        // kafka: the three columns first.
        let f = fields_of(PkMode::Kafka, &[], None, Some(&value)).unwrap();
        assert_eq!(
            column_names(&f),
            [
                "__connect_topic",
                "__connect_partition",
                "__connect_offset",
                "name",
                "price",
                "id",
                "note"
            ]
        );
        assert_eq!(f.key_names(), DEFAULT_KAFKA_PK_NAMES);
        let types: Vec<Type> = f.columns()[..3].iter().map(|c| c.schema.type_).collect();
        assert_eq!(types, [Type::String, Type::Int32, Type::Int64]);
        let f = fields_of(
            PkMode::Kafka,
            &["z_topic", "y_part", "x_off"],
            None,
            Some(&value),
        )
        .unwrap();
        assert_eq!(&column_names(&f)[..3], ["z_topic", "y_part", "x_off"]);

        // record_key, Struct key: key fields in the value keep the value's order, the others
        // come last by name; the key column takes the key's schema.
        let key = Schema::struct_([
            ("region", Schema::string()),
            ("id", Schema::int32()),
            ("branch", Schema::int16()),
        ])
        .into_ref();
        let f = fields_of(PkMode::RecordKey, &[], Some(&key), Some(&value)).unwrap();
        assert_eq!(
            column_names(&f),
            ["name", "price", "id", "note", "branch", "region"]
        );
        assert_eq!(f.key_names(), ["region", "id", "branch"]);
        assert_eq!(f.non_key_names(), ["name", "price", "note"]);
        assert_eq!(f.column("id").unwrap().schema.type_, Type::Int32);
        assert!(f.column("id").unwrap().key && !f.column("name").unwrap().key);
        let f = fields_of(PkMode::RecordKey, &["id"], Some(&key), Some(&value)).unwrap();
        assert_eq!(f.key_names(), ["id"]);
        assert_eq!(column_names(&f), ["name", "price", "id", "note"]);

        // record_key, primitive key: one named column.
        let f = fields_of(
            PkMode::RecordKey,
            &["key"],
            Some(&Schema::string()),
            Some(&value),
        )
        .unwrap();
        assert_eq!(column_names(&f), ["name", "price", "id", "note", "key"]);
        // A tombstone (deletes): the key columns alone.
        let f = fields_of(PkMode::RecordKey, &[], Some(&key), None).unwrap();
        assert_eq!(column_names(&f), ["branch", "id", "region"]);
        assert!(f.non_key_names().is_empty());

        // record_value: all value fields are keys when pk.fields is empty.
        let f = fields_of(PkMode::RecordValue, &[], None, Some(&value)).unwrap();
        assert_eq!(f.key_names(), ["name", "price", "id", "note"]);
        assert!(f.non_key_names().is_empty());
        let f = fields_of(PkMode::RecordValue, &["id", "name"], None, Some(&value)).unwrap();
        assert_eq!(f.key_names(), ["id", "name"]);
        assert_eq!(f.non_key_names(), ["price", "note"]);
        assert_eq!(column_names(&f), ["name", "price", "id", "note"]);

        // fields.whitelist filters the non-key columns only; timestamp.fields.list marks.
        let (pk, wl, ts) = (names(&["id"]), names(&["note", "id"]), names(&["note"]));
        let f = FieldsMetadata::extract(
            "t",
            &rules(PkMode::RecordValue, &pk, &wl, &ts),
            None,
            Some(&value),
        )
        .unwrap();
        assert_eq!(column_names(&f), ["id", "note"]);
        assert!(f.column("note").unwrap().timestamp && !f.column("id").unwrap().timestamp);

        // A STRING value is one optional column.
        let f = fields_of(PkMode::Kafka, &[], None, Some(&Schema::string())).unwrap();
        assert_eq!(f.non_key_names(), ["record_value"]);
        assert_eq!(column_names(&f)[3], "record_value");
        assert!(f.column("record_value").unwrap().schema.optional);
    }

    #[test]
    fn missing_columns_compare_names_then_ignoring_case() {
        let f = fields_of(PkMode::None, &[], None, Some(&order_value())).unwrap();
        let missing: Vec<String> = f
            .missing_columns(&["NAME", "id", "extra"])
            .into_iter()
            .map(|c| c.name)
            .collect();
        assert_eq!(missing, ["price", "note"]);
    }

    #[test]
    fn bad_schemas_and_pk_fields_are_refused_clearly() {
        let value = order_value();
        let struct_key = Schema::struct_([("id", Schema::int64())]).into_ref();
        let map = Schema::map(Schema::string(), Schema::string()).into_ref();
        let cases: Vec<(Result<FieldsMetadata>, &str)> = vec![
            (
                fields_of(PkMode::None, &[], None, Some(&map)),
                "table t: the record value must be a Struct (or a String) with a schema, not map",
            ),
            (
                fields_of(PkMode::RecordKey, &["id"], None, Some(&value)),
                "table t: pk.mode is record_key but the record has no key schema",
            ),
            (
                fields_of(PkMode::RecordValue, &[], Some(&struct_key), None),
                "table t: pk.mode is record_value but the record has no value schema",
            ),
            (
                fields_of(PkMode::RecordKey, &[], Some(&Schema::int64()), Some(&value)),
                "table t: the record key is primitive (int64), so pk.fields must name exactly \
                 one column for it; it names []",
            ),
            (
                fields_of(
                    PkMode::RecordKey,
                    &["a", "b"],
                    Some(&Schema::int64()),
                    Some(&value),
                ),
                "table t: the record key is primitive (int64), so pk.fields must name exactly \
                 one column for it; it names [\"a\", \"b\"]",
            ),
            (
                fields_of(PkMode::RecordKey, &[], Some(&map), Some(&value)),
                "table t: the record key must be a primitive or a Struct, not map",
            ),
            (
                fields_of(PkMode::Kafka, &["t", "p"], None, Some(&value)),
                "table t: pk.mode is kafka, so pk.fields must be empty (for __connect_topic, \
                 __connect_partition, __connect_offset) or name exactly 3 distinct columns; it \
                 names [\"t\", \"p\"]",
            ),
            (
                fields_of(
                    PkMode::RecordKey,
                    &["id", "region"],
                    Some(&struct_key),
                    Some(&value),
                ),
                "table t: pk.fields names region, which the record key schema does not have",
            ),
            (
                fields_of(PkMode::RecordValue, &["sku"], None, Some(&value)),
                "table t: pk.fields names sku, which the record value schema does not have",
            ),
            (
                fields_of(PkMode::RecordValue, &[], None, Some(&Schema::string())),
                "table t: pk.mode record_value cannot take its key from a String value",
            ),
            (
                fields_of(
                    PkMode::RecordKey,
                    &["record_value"],
                    Some(&Schema::int32()),
                    Some(&Schema::string()),
                ),
                "table t: string.output.value.column.name record_value is also a key column",
            ),
            (
                fields_of(PkMode::None, &[], Some(&struct_key), None),
                "table t: the record's key and value schemas give no column to write",
            ),
            (
                fields_of(
                    PkMode::None,
                    &[],
                    None,
                    Some(&Schema::struct_::<&str>([]).into_ref()),
                ),
                "table t: the record's key and value schemas give no column to write",
            ),
        ];
        for (result, message) in cases {
            assert_eq!(result.unwrap_err().to_string(), message);
        }
    }

    #[test]
    fn connect_schemas_map_to_each_dialects_column_types() {
        let array = |items: SchemaRef| Schema::array(items);
        // (schema, PostgreSQL, MySQL, SQLite)
        let table: Vec<(Schema, &str, &str, &str)> = vec![
            (Schema::new(Type::Int8), "SMALLINT", "TINYINT", "INTEGER"),
            (Schema::new(Type::Int16), "SMALLINT", "SMALLINT", "INTEGER"),
            (Schema::new(Type::Int32), "INT", "INT", "INTEGER"),
            (Schema::new(Type::Int64), "BIGINT", "BIGINT", "INTEGER"),
            (Schema::new(Type::Float32), "REAL", "FLOAT", "REAL"),
            (
                Schema::new(Type::Float64),
                "DOUBLE PRECISION",
                "DOUBLE",
                "REAL",
            ),
            (Schema::new(Type::Boolean), "BOOLEAN", "TINYINT", "INTEGER"),
            (Schema::new(Type::String), "TEXT", "TEXT", "TEXT"),
            (Schema::new(Type::Bytes), "BYTEA", "VARBINARY(1024)", "BLOB"),
            (logical::decimal(2), "DECIMAL", "DECIMAL(65,2)", "NUMERIC"),
            (logical::date(), "DATE", "DATE", "NUMERIC"),
            (logical::time(), "TIME", "TIME(3)", "NUMERIC"),
            (logical::timestamp(), "TIMESTAMP", "DATETIME(3)", "NUMERIC"),
        ];
        for (schema, pg, mysql, sqlite) in table {
            let c = column("c", schema.optional(), false);
            let got: Vec<String> = ALL.iter().map(|d| sql_type(*d, &c).unwrap()).collect();
            assert_eq!(got, [pg, mysql, sqlite], "{:?}", c.schema);
        }
        // timestamp.fields.list.
        for schema in [Schema::int64(), Schema::string()] {
            let c = Column {
                timestamp: true,
                ..column("c", Schema::clone(&schema), false)
            };
            let got: Vec<String> = ALL.iter().map(|d| sql_type(*d, &c).unwrap()).collect();
            assert_eq!(got, ["TIMESTAMP", "DATETIME(6)", "NUMERIC"]);
        }
        // MySQL string keys (issue #996).
        let key = column("k", Schema::new(Type::String), true);
        let got: Vec<String> = ALL.iter().map(|d| sql_type(*d, &key).unwrap()).collect();
        assert_eq!(got, ["TEXT", "VARCHAR(256)", "TEXT"]);
        // PostgreSQL arrays of primitives.
        let ints = column("tags", array(Schema::optional_int32()), false);
        assert_eq!(sql_type(Pg, &ints).unwrap(), "INT[]");
        let dates = column("days", array(logical::date().into_ref()), false);
        assert_eq!(sql_type(Pg, &dates).unwrap(), "DATE[]");
    }

    #[test]
    fn nested_and_unmappable_types_are_refused_naming_the_column() {
        let map = Schema::map(Schema::string(), Schema::string());
        let nested = Schema::struct_([("x", Schema::int32())]);
        let strings = Schema::array(Schema::string());
        let cases = [
            (Pg, column("attrs", map, false), "column attrs (map) has no PostgreSQL column type: nested values have none; flatten them first (e.g. the Flatten transform)"),
            (Sqlite, column("addr", nested.clone(), false), "column addr (struct) has no SQLite column type: nested values have none; flatten them first (e.g. the Flatten transform)"),
            (Pg, column("grid", Schema::array(Schema::array(Schema::int32()).into_ref()), false), "column grid (array of array of int32) has no PostgreSQL column type: only arrays of primitives have one"),
            (Pg, column("pts", Schema::array(nested.into_ref()), false), "column pts (array of struct) has no PostgreSQL column type: only arrays of primitives have one"),
            (MySql, column("tags", strings.clone(), false), "column tags (array of string) has no MySQL column type: arrays have a column type on PostgreSQL only"),
            (Sqlite, column("tags", strings, false), "column tags (array of string) has no SQLite column type: arrays have a column type on PostgreSQL only"),
            (MySql, column("big", logical::decimal(31), false), "column big (Decimal) has no MySQL column type: its scale is 31, and MySQL takes 0 to 30"),
            (MySql, column("d", Schema::new(Type::Bytes).with_name(logical::DECIMAL), false), "column d (Decimal) has no MySQL column type: its scale parameter is missing"),
        ];
        for (dialect, c, message) in cases {
            assert_eq!(sql_type(dialect, &c).unwrap_err().to_string(), message);
            let e = create_table(dialect, true, "t", &[c]).unwrap_err();
            assert_eq!(e.to_string(), message);
        }
    }

    /// `id` (INT32 key), `name` (required string), `note` (optional string), `qty` (INT16,
    /// default 5).
    fn ddl_columns() -> Vec<Column> {
        vec![
            column("id", Schema::new(Type::Int32), true),
            column("name", Schema::new(Type::String), false),
            column("note", Schema::new(Type::String).optional(), false),
            column(
                "qty",
                Schema::new(Type::Int16).with_default(Value::Int16(5)),
                false,
            ),
        ]
    }

    #[test]
    fn create_table_writes_types_defaults_nullability_and_the_key() {
        let cols = ddl_columns();
        assert_eq!(
            create_table(Pg, true, "public.orders", &cols).unwrap(),
            r#"CREATE TABLE "public"."orders" ("id" INT NOT NULL, "name" TEXT NOT NULL, "note" TEXT NULL, "qty" SMALLINT DEFAULT 5, PRIMARY KEY("id"))"#
        );
        assert_eq!(
            create_table(MySql, true, "orders", &cols).unwrap(),
            "CREATE TABLE `orders` (`id` INT NOT NULL, `name` TEXT NOT NULL, `note` TEXT NULL, `qty` SMALLINT DEFAULT 5, PRIMARY KEY(`id`))"
        );
        assert_eq!(
            create_table(Sqlite, false, "orders", &cols).unwrap(),
            "CREATE TABLE orders (id INTEGER NOT NULL, name TEXT NOT NULL, note TEXT NULL, qty INTEGER DEFAULT 5, PRIMARY KEY(id))"
        );
        // No key: no PRIMARY KEY; an optional key column is still NOT NULL.
        assert_eq!(
            create_table(Pg, false, "t", &cols[1..3]).unwrap(),
            "CREATE TABLE t (name TEXT NOT NULL, note TEXT NULL)"
        );
        let keys = [
            column("k", Schema::new(Type::String).optional(), true),
            column(
                "n",
                Schema::new(Type::Int64).with_default(Value::Int64(0)),
                true,
            ),
        ];
        assert_eq!(
            create_table(MySql, true, "t", &keys).unwrap(),
            "CREATE TABLE `t` (`k` VARCHAR(256) NOT NULL, `n` BIGINT DEFAULT 0 NOT NULL, PRIMARY KEY(`k`,`n`))"
        );
        // Identifiers with quotes and dots.
        let odd = [column("a\"b.c", Schema::new(Type::Int32), false)];
        assert_eq!(
            create_table(Pg, true, "s.t", &odd).unwrap(),
            r#"CREATE TABLE "s"."t" ("a""b.c" INT NOT NULL)"#
        );
        let odd = [column("a`b.c", Schema::new(Type::Int32), false)];
        assert_eq!(
            create_table(MySql, true, "t", &odd).unwrap(),
            "CREATE TABLE `t` (`a``b.c` INT NOT NULL)"
        );
        assert_eq!(
            create_table(Pg, true, "t", &[]).unwrap_err(),
            SinkSqlError::NoColumns { table: "t".into() }
        );
    }

    #[test]
    fn default_values_become_literals() {
        let with =
            |schema: Schema, default: Value| column("c", schema.with_default(default), false);
        // (column, PostgreSQL, MySQL, SQLite) DEFAULT literals.
        let cases = [
            (
                with(Schema::new(Type::Boolean), Value::Boolean(true)),
                "TRUE",
                "1",
                "1",
            ),
            (
                with(Schema::new(Type::Boolean), Value::Boolean(false)),
                "FALSE",
                "0",
                "0",
            ),
            (
                with(Schema::new(Type::Int8), Value::Int8(-3)),
                "-3",
                "-3",
                "-3",
            ),
            (
                with(Schema::new(Type::Int32), Value::Int32(7)),
                "7",
                "7",
                "7",
            ),
            (
                with(Schema::new(Type::Int64), Value::Int64(1 << 40)),
                "1099511627776",
                "1099511627776",
                "1099511627776",
            ),
            (
                with(Schema::new(Type::Float32), Value::Float32(0.1)),
                "0.1",
                "0.1",
                "0.1",
            ),
            (
                with(Schema::new(Type::Float64), Value::Float64(2.0)),
                "2.0",
                "2.0",
                "2.0",
            ),
            (
                with(Schema::new(Type::Float64), Value::Float64(1e300)),
                "1e300",
                "1e300",
                "1e300",
            ),
            (
                with(Schema::new(Type::String), Value::from("it's a\\b")),
                r"'it''s a\b'",
                r"('it''s a\\b')",
                r"'it''s a\b'",
            ),
            (
                with(
                    Schema::new(Type::Bytes),
                    Value::Bytes(vec![0xde, 0xad, 0x01]),
                ),
                "decode('dead01','hex')",
                "x'dead01'",
                "x'dead01'",
            ),
            (
                with(
                    logical::decimal(2),
                    logical::decimal_value("-12.05", 2).unwrap(),
                ),
                "-12.05",
                "-12.05",
                "-12.05",
            ),
            (
                with(logical::date(), Value::Int32(19_723)),
                "'2024-01-01'",
                "'2024-01-01'",
                "'2024-01-01'",
            ),
            (
                with(logical::date(), Value::Int32(-1)),
                "'1969-12-31'",
                "'1969-12-31'",
                "'1969-12-31'",
            ),
            (
                with(logical::time(), Value::Int32(45_296_789)),
                "'12:34:56.789'",
                "'12:34:56.789'",
                "'12:34:56.789'",
            ),
            (
                with(logical::timestamp(), Value::Int64(951_782_400_001)),
                "'2000-02-29 00:00:00.001'",
                "'2000-02-29 00:00:00.001'",
                "'2000-02-29 00:00:00.001'",
            ),
            (
                with(logical::timestamp(), Value::Int64(-1)),
                "'1969-12-31 23:59:59.999'",
                "'1969-12-31 23:59:59.999'",
                "'1969-12-31 23:59:59.999'",
            ),
        ];
        for (c, pg, mysql, sqlite) in cases {
            for (dialect, literal) in [(Pg, pg), (MySql, mysql), (Sqlite, sqlite)] {
                let ddl = create_table(dialect, false, "t", std::slice::from_ref(&c)).unwrap();
                let ty = sql_type(dialect, &c).unwrap();
                assert_eq!(
                    ddl,
                    format!("CREATE TABLE t (c {ty} DEFAULT {literal})"),
                    "{dialect:?}"
                );
            }
        }
        let tags = with(
            Schema::array(Schema::optional_int32()),
            Value::Array(vec![Value::Int32(1), Value::Null]),
        );
        assert_eq!(
            create_table(Pg, false, "t", &[tags]).unwrap(),
            "CREATE TABLE t (c INT[] DEFAULT ARRAY[1,NULL])"
        );
        let empty = with(Schema::array(Schema::string()), Value::Array(vec![]));
        assert_eq!(
            create_table(Pg, false, "t", &[empty]).unwrap(),
            "CREATE TABLE t (c TEXT[] DEFAULT '{}')"
        );
        // A null default is no default.
        let null = with(Schema::new(Type::Int32).optional(), Value::Null);
        assert_eq!(
            create_table(Pg, false, "t", &[null]).unwrap(),
            "CREATE TABLE t (c INT NULL)"
        );

        for (c, reason) in [
            (
                with(Schema::new(Type::Int32), Value::from("x")),
                "does not match its int32 schema",
            ),
            (
                with(logical::date(), Value::Int64(1)),
                "does not match its Date schema",
            ),
            (
                with(Schema::new(Type::Float64), Value::Float64(f64::NAN)),
                "NaN has no SQL literal",
            ),
            (
                with(logical::time(), Value::Int32(86_400_000)),
                "86400000 ms is not a time of day",
            ),
            (
                Column {
                    timestamp: true,
                    ..with(Schema::new(Type::Int64), Value::Int64(0))
                },
                "cannot be written as SQL: the column is in timestamp.fields.list",
            ),
        ] {
            let e = create_table(Pg, false, "t", &[c]).unwrap_err();
            assert_eq!(
                e,
                SinkSqlError::BadDefault {
                    column: "c".into(),
                    reason: reason.into()
                }
            );
            assert_eq!(
                e.to_string(),
                format!("column c: its default value {reason}")
            );
        }
    }

    #[test]
    fn alter_table_adds_columns_in_one_statement_or_one_each_on_sqlite() {
        let cols = ddl_columns();
        let new = &cols[2..];
        assert_eq!(
            alter_table_add(Pg, true, "s.orders", new).unwrap(),
            [r#"ALTER TABLE "s"."orders" ADD "note" TEXT NULL, ADD "qty" SMALLINT DEFAULT 5"#]
        );
        assert_eq!(
            alter_table_add(MySql, true, "orders", new).unwrap(),
            ["ALTER TABLE `orders` ADD `note` TEXT NULL, ADD `qty` SMALLINT DEFAULT 5"]
        );
        assert_eq!(
            alter_table_add(Sqlite, false, "orders", new).unwrap(),
            [
                "ALTER TABLE orders ADD note TEXT NULL",
                "ALTER TABLE orders ADD qty INTEGER DEFAULT 5",
            ]
        );
        for dialect in ALL {
            assert_eq!(
                alter_table_add(dialect, true, "orders", &cols[1..]).unwrap_err(),
                SinkSqlError::RequiredWithoutDefault {
                    column: "name".into()
                }
            );
            assert_eq!(
                alter_table_add(dialect, true, "orders", &[]).unwrap_err(),
                SinkSqlError::NoColumnsToAdd {
                    table: "orders".into()
                }
            );
        }
    }

    /// Key `(k1, k2)` from the record key, value `(v1, v2)`.
    fn two_by_two() -> FieldsMetadata {
        let key = Schema::struct_([("k1", Schema::int32()), ("k2", Schema::string())]).into_ref();
        let value = Schema::struct_([("v1", Schema::string()), ("v2", Schema::int64())]).into_ref();
        fields_of(PkMode::RecordKey, &[], Some(&key), Some(&value)).unwrap()
    }

    /// Key `(k1, k2)` and no other column.
    fn keys_only() -> FieldsMetadata {
        let key = Schema::struct_([("k1", Schema::int32()), ("k2", Schema::string())]).into_ref();
        fields_of(PkMode::RecordKey, &[], Some(&key), None).unwrap()
    }

    #[test]
    fn inserts_hold_many_rows() {
        let f = two_by_two();
        assert_eq!(
            insert(Pg, true, "s.t", &f, 2).unwrap(),
            r#"INSERT INTO "s"."t" ("k1","k2","v1","v2") VALUES ($1,$2,$3,$4),($5,$6,$7,$8)"#
        );
        assert_eq!(
            insert(Pg, false, "t", &f, 1).unwrap(),
            "INSERT INTO t (k1,k2,v1,v2) VALUES ($1,$2,$3,$4)"
        );
        assert_eq!(
            insert(MySql, true, "t", &f, 2).unwrap(),
            "INSERT INTO `t` (`k1`,`k2`,`v1`,`v2`) VALUES (?,?,?,?),(?,?,?,?)"
        );
        assert_eq!(
            insert(Sqlite, false, "t", &f, 3).unwrap(),
            "INSERT INTO t (k1,k2,v1,v2) VALUES (?,?,?,?),(?,?,?,?),(?,?,?,?)"
        );
        let plain = fields_of(PkMode::None, &[], None, Some(&order_value())).unwrap();
        assert_eq!(
            insert(Sqlite, true, "t", &plain, 1).unwrap(),
            r#"INSERT INTO "t" ("name","price","id","note") VALUES (?,?,?,?)"#
        );
        assert_eq!(
            insert(Pg, true, "t", &f, 0).unwrap_err(),
            SinkSqlError::NoRows { table: "t".into() }
        );
    }

    #[test]
    fn upserts_per_dialect() {
        let f = two_by_two();
        assert_eq!(
            upsert(Pg, true, "t", &f, 2).unwrap(),
            r#"INSERT INTO "t" ("k1","k2","v1","v2") VALUES ($1,$2,$3,$4),($5,$6,$7,$8) ON CONFLICT ("k1","k2") DO UPDATE SET "v1"=EXCLUDED."v1","v2"=EXCLUDED."v2""#
        );
        assert_eq!(
            upsert(Sqlite, false, "t", &f, 1).unwrap(),
            "INSERT INTO t (k1,k2,v1,v2) VALUES (?,?,?,?) ON CONFLICT (k1,k2) DO UPDATE SET v1=EXCLUDED.v1,v2=EXCLUDED.v2"
        );
        assert_eq!(
            upsert(MySql, true, "t", &f, 2).unwrap(),
            "INSERT INTO `t` (`k1`,`k2`,`v1`,`v2`) VALUES (?,?,?,?),(?,?,?,?) ON DUPLICATE KEY UPDATE `v1`=VALUES(`v1`),`v2`=VALUES(`v2`)"
        );
        let k = keys_only();
        assert_eq!(
            upsert(Pg, false, "t", &k, 2).unwrap(),
            "INSERT INTO t (k1,k2) VALUES ($1,$2),($3,$4) ON CONFLICT (k1,k2) DO NOTHING"
        );
        assert_eq!(
            upsert(Sqlite, true, "t", &k, 1).unwrap(),
            r#"INSERT INTO "t" ("k1","k2") VALUES (?,?) ON CONFLICT ("k1","k2") DO NOTHING"#
        );
        assert_eq!(
            upsert(MySql, false, "t", &k, 1).unwrap(),
            "INSERT INTO t (k1,k2) VALUES (?,?) ON DUPLICATE KEY UPDATE k1=VALUES(k1),k2=VALUES(k2)"
        );
        // pk.mode=kafka.
        let kafka = fields_of(PkMode::Kafka, &[], None, Some(&Schema::string())).unwrap();
        assert_eq!(
            upsert(Pg, false, "t", &kafka, 1).unwrap(),
            "INSERT INTO t (__connect_topic,__connect_partition,__connect_offset,record_value) VALUES ($1,$2,$3,$4) ON CONFLICT (__connect_topic,__connect_partition,__connect_offset) DO UPDATE SET record_value=EXCLUDED.record_value"
        );
    }

    #[test]
    fn updates_set_non_keys_then_filter_by_keys() {
        let f = two_by_two();
        assert_eq!(
            update(Pg, true, "s.t", &f).unwrap(),
            r#"UPDATE "s"."t" SET "v1"=$1,"v2"=$2 WHERE "k1"=$3 AND "k2"=$4"#
        );
        assert_eq!(
            update(MySql, true, "t", &f).unwrap(),
            "UPDATE `t` SET `v1`=?,`v2`=? WHERE `k1`=? AND `k2`=?"
        );
        assert_eq!(
            update(Sqlite, false, "t", &f).unwrap(),
            "UPDATE t SET v1=?,v2=? WHERE k1=? AND k2=?"
        );
        assert_eq!(
            update(Pg, true, "t", &keys_only()).unwrap_err().to_string(),
            "table t: an UPDATE needs a non-key column to set, and there is none"
        );
    }

    #[test]
    fn deletes_use_in_for_one_key_and_ored_conjunctions_for_several() {
        let f = two_by_two();
        assert_eq!(
            delete(Pg, true, "t", &f, 2).unwrap(),
            r#"DELETE FROM "t" WHERE ("k1"=$1 AND "k2"=$2) OR ("k1"=$3 AND "k2"=$4)"#
        );
        assert_eq!(
            delete(MySql, true, "t", &f, 1).unwrap(),
            "DELETE FROM `t` WHERE (`k1`=? AND `k2`=?)"
        );
        assert_eq!(
            delete(Sqlite, false, "t", &f, 2).unwrap(),
            "DELETE FROM t WHERE (k1=? AND k2=?) OR (k1=? AND k2=?)"
        );
        let one = fields_of(PkMode::RecordKey, &["id"], Some(&Schema::int64()), None).unwrap();
        assert_eq!(
            delete(Pg, false, "t", &one, 3).unwrap(),
            "DELETE FROM t WHERE id IN ($1,$2,$3)"
        );
        assert_eq!(
            delete(MySql, true, "t", &one, 2).unwrap(),
            "DELETE FROM `t` WHERE `id` IN (?,?)"
        );
        assert_eq!(
            delete(Sqlite, true, "t", &one, 0).unwrap_err(),
            SinkSqlError::NoRows { table: "t".into() }
        );
    }

    #[test]
    fn statements_that_need_keys_refuse_pk_mode_none() {
        let f = fields_of(PkMode::None, &[], None, Some(&order_value())).unwrap();
        for dialect in ALL {
            for (result, statement) in [
                (upsert(dialect, true, "t", &f, 1), "an upsert"),
                (update(dialect, true, "t", &f), "an UPDATE"),
                (delete(dialect, true, "t", &f, 1), "a DELETE"),
            ] {
                let e = result.unwrap_err();
                assert_eq!(
                    e,
                    SinkSqlError::NoKeyColumns {
                        table: "t".into(),
                        statement
                    }
                );
                assert_eq!(
                    e.to_string(),
                    format!("table t: {statement} finds rows by key columns, and there are none (pk.mode)")
                );
            }
        }
    }

    #[test]
    fn row_limits_keep_within_each_databases_parameter_limit() {
        assert_eq!(max_parameters(Pg), 65_535);
        assert_eq!(max_parameters(MySql), 65_535);
        assert_eq!(max_parameters(Sqlite), 32_766);
        assert_eq!(max_rows(Pg, 4), 16_383);
        assert_eq!(max_rows(MySql, 7), 9_362);
        assert_eq!(max_rows(Sqlite, 4), 8_191);
        assert_eq!(max_rows(Sqlite, 0), 32_766);
        assert_eq!(max_rows(Pg, 70_000), 0);
        for dialect in ALL {
            for columns in [1, 3, 17, 1_600] {
                assert!(max_rows(dialect, columns) * columns <= max_parameters(dialect));
                assert!((max_rows(dialect, columns) + 1) * columns > max_parameters(dialect));
            }
        }
        for dialect in ALL {
            assert_eq!(max_delete_rows(dialect, 1), 10_000);
            assert_eq!(max_delete_rows(dialect, 2), 997);
            assert_eq!(max_delete_rows(dialect, 8), 991);
        }
    }

    /// The statements run on the SQLite sqlx bundles (in memory): the SQL is valid there, and
    /// the row limits hold.
    #[test]
    fn the_statements_run_on_sqlite() {
        use sqlx::sqlite::SqlitePoolOptions;
        use sqlx::Row;

        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect("sqlite::memory:")
                .await
                .unwrap();
            let f = two_by_two();
            let run = |sql: String, params: Vec<i64>| {
                let pool = pool.clone();
                async move {
                    let mut q = sqlx::query(&sql);
                    for p in params {
                        q = q.bind(p);
                    }
                    q.execute(&pool).await.map_err(|e| format!("{sql}: {e}"))
                }
            };
            // A table without v2, which auto.evolve adds (optional: it is required in the
            // record and has no default, so it cannot be added as it is).
            let first: Vec<Column> = f
                .columns()
                .iter()
                .filter(|c| c.name != "v2")
                .cloned()
                .collect();
            run(create_table(Sqlite, true, "t", &first).unwrap(), vec![])
                .await
                .unwrap();
            let missing = f.missing_columns(&["k1", "K2", "v1"]);
            assert_eq!(
                alter_table_add(Sqlite, true, "t", &missing).unwrap_err(),
                SinkSqlError::RequiredWithoutDefault {
                    column: "v2".into()
                }
            );
            let v2 = Column {
                schema: Schema::optional_int64(),
                ..missing[0].clone()
            };
            for alter in alter_table_add(Sqlite, true, "t", &[v2]).unwrap() {
                run(alter, vec![]).await.unwrap();
            }

            // As many rows as one insert may hold.
            let rows = max_rows(Sqlite, 4);
            let params: Vec<i64> = (0..rows as i64).flat_map(|i| [i, i, i, i]).collect();
            run(insert(Sqlite, true, "t", &f, rows).unwrap(), params)
                .await
                .unwrap();
            assert!(
                run(insert(Sqlite, true, "t", &f, rows + 1).unwrap(), vec![])
                    .await
                    .is_err()
            );

            // Upsert: the same key twice in one statement, the last wins.
            let params = vec![1, 1, 10, 10, 1, 1, 20, 20];
            run(upsert(Sqlite, true, "t", &f, 2).unwrap(), params)
                .await
                .unwrap();
            run(update(Sqlite, true, "t", &f).unwrap(), vec![30, 30, 2, 2])
                .await
                .unwrap();
            let row =
                sqlx::query(r#"SELECT "v1", "v2" FROM "t" WHERE "k1" IN (1, 2) ORDER BY "k1""#)
                    .fetch_all(&pool)
                    .await
                    .unwrap();
            let got: Vec<(String, i64)> = row.iter().map(|r| (r.get(0), r.get(1))).collect();
            assert_eq!(got, [("20".to_owned(), 20), ("30".to_owned(), 30)]);
            // A table of key columns only: DO NOTHING on a key it has.
            let k = keys_only();
            run(
                create_table(Sqlite, true, "k", k.columns()).unwrap(),
                vec![],
            )
            .await
            .unwrap();
            for _ in 0..2 {
                run(upsert(Sqlite, true, "k", &k, 2).unwrap(), vec![1, 1, 2, 2])
                    .await
                    .unwrap();
            }

            // As many composite-key rows as one delete may hold, and not one more.
            let rows = max_delete_rows(Sqlite, 2);
            let params: Vec<i64> = (0..rows as i64).flat_map(|i| [i, i]).collect();
            let done = run(delete(Sqlite, true, "t", &f, rows).unwrap(), params)
                .await
                .unwrap();
            assert_eq!(done.rows_affected(), rows as u64);
            let params: Vec<i64> = (0..rows as i64 + 3).flat_map(|i| [i, i]).collect();
            let too_deep = run(delete(Sqlite, true, "t", &f, rows + 3).unwrap(), params).await;
            assert!(too_deep
                .unwrap_err()
                .contains("Expression tree is too large"));
        });
    }
}
