//! A task's connection pool to its database, with the catalog and clock queries the
//! connectors need. One pool type per database (sqlx's drivers decode dates, decimals, UUIDs
//! and JSON only when spoken to directly).
//!
//! [`Db::connect`] tries one connection first, so an unreachable database fails at once with
//! the driver's reason (a pool would wait out its acquire timeout), and retries it
//! `connection.attempts` times, `connection.backoff.ms` apart.

use std::time::Duration;

use chrono::{DateTime, NaiveDateTime, Utc};
use sqlx::mysql::{MySqlPool, MySqlPoolOptions};
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use sqlx::{Column, Connection, Executor, Row, TypeInfo};

use crate::column_mapping::{declared_precision, ColumnInfo};
use crate::dialect::Dialect;
use crate::url::JdbcUrl;

/// Connections in a task's pool: one streams a result while the other asks the clock or the
/// catalog.
const POOL_SIZE: u32 = 2;

/// A pool of one of the databases.
#[derive(Clone, Debug)]
pub enum Db {
    Pg(PgPool),
    My(MySqlPool),
    Lite(SqlitePool),
}

/// Runs `$body` with `$pool` bound to whichever pool `$db` holds (the body is compiled once
/// per database).
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Pg($pool) => $body,
            $crate::db::Db::My($pool) => $body,
            $crate::db::Db::Lite($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

/// A connection failure after every attempt; the message never holds the password.
#[derive(Debug, thiserror::Error)]
#[error("cannot connect to {url} after {attempts} attempt(s): {reason}")]
pub struct ConnectFailed {
    pub url: String,
    pub attempts: u32,
    pub reason: sqlx::Error,
}

impl Db {
    /// Connects, trying `attempts` times `backoff` apart; `note` hears of each failed try.
    pub async fn connect(
        url: &JdbcUrl,
        attempts: u32,
        backoff: Duration,
        note: impl Fn(&str),
    ) -> Result<Db, ConnectFailed> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            match Self::connect_once(url).await {
                Ok(db) => return Ok(db),
                Err(e) if attempt < attempts.max(1) => {
                    note(&format!("cannot connect to {url} (attempt {attempt}): {e}"));
                    tokio::time::sleep(backoff).await;
                }
                Err(reason) => {
                    return Err(ConnectFailed {
                        url: url.to_string(),
                        attempts: attempt,
                        reason,
                    })
                }
            }
        }
    }

    async fn connect_once(url: &JdbcUrl) -> Result<Db, sqlx::Error> {
        let sqlx_url = url.sqlx_url();
        let timeout = Duration::from_secs(30);
        Ok(match url.dialect {
            Dialect::PostgreSql => {
                sqlx::PgConnection::connect(sqlx_url).await?.close().await?;
                Db::Pg(
                    PgPoolOptions::new()
                        .max_connections(POOL_SIZE)
                        .acquire_timeout(timeout)
                        .connect_lazy(sqlx_url)?,
                )
            }
            Dialect::MySql => {
                sqlx::MySqlConnection::connect(sqlx_url)
                    .await?
                    .close()
                    .await?;
                Db::My(
                    MySqlPoolOptions::new()
                        .max_connections(POOL_SIZE)
                        .acquire_timeout(timeout)
                        .connect_lazy(sqlx_url)?,
                )
            }
            Dialect::Sqlite => {
                sqlx::SqliteConnection::connect(sqlx_url)
                    .await?
                    .close()
                    .await?;
                Db::Lite(
                    SqlitePoolOptions::new()
                        .max_connections(POOL_SIZE)
                        .acquire_timeout(timeout)
                        .connect_lazy(sqlx_url)?,
                )
            }
        })
    }

    pub fn dialect(&self) -> Dialect {
        match self {
            Db::Pg(_) => Dialect::PostgreSql,
            Db::My(_) => Dialect::MySql,
            Db::Lite(_) => Dialect::Sqlite,
        }
    }

    pub async fn close(&self) {
        with_pool!(self, pool => pool.close().await)
    }

    /// The schema (PostgreSQL) or database (MySQL) unqualified names are in; none for SQLite.
    pub async fn current_schema(&self) -> Result<Option<String>, sqlx::Error> {
        Ok(match self {
            Db::Pg(pool) => Some(
                sqlx::query_scalar::<_, String>("SELECT current_schema()::text")
                    .fetch_one(pool)
                    .await?,
            ),
            Db::My(pool) => {
                sqlx::query_scalar::<_, Option<String>>("SELECT DATABASE()")
                    .fetch_one(pool)
                    .await?
            }
            Db::Lite(_) => None,
        })
    }

    /// The database's clock (the upper bound of timestamp queries comes from it, not from the
    /// worker's).
    pub async fn now(&self) -> Result<DateTime<Utc>, sqlx::Error> {
        Ok(match self {
            Db::Pg(pool) => {
                sqlx::query_scalar("SELECT CURRENT_TIMESTAMP")
                    .fetch_one(pool)
                    .await?
            }
            Db::My(pool) => sqlx::query_scalar::<_, NaiveDateTime>("SELECT UTC_TIMESTAMP(6)")
                .fetch_one(pool)
                .await?
                .and_utc(),
            Db::Lite(pool) => {
                let text: String =
                    sqlx::query_scalar("SELECT strftime('%Y-%m-%d %H:%M:%f', 'now')")
                        .fetch_one(pool)
                        .await?;
                NaiveDateTime::parse_from_str(&text, "%Y-%m-%d %H:%M:%S%.f")
                    .map_err(|e| sqlx::Error::Decode(Box::new(e)))?
                    .and_utc()
            }
        })
    }

    /// The columns of `qualified` (`schema.table`, `db.table`, or `table` for SQLite) as the
    /// catalog declares them, in order; empty when there is no such table.
    pub async fn columns(&self, qualified: &str) -> Result<Vec<ColumnInfo>, sqlx::Error> {
        let (schema, table) = qualified.rsplit_once('.').unwrap_or(("", qualified));
        match self {
            Db::Pg(pool) => {
                let rows = sqlx::query(
                    "SELECT c.column_name::text, c.udt_name::text, \
                     c.numeric_precision::int4, c.numeric_scale::int4, \
                     c.is_nullable = 'YES', \
                     COALESCE(c.column_default LIKE 'nextval(%', false) OR c.is_identity = 'YES', \
                     EXISTS (SELECT 1 FROM pg_type t \
                             WHERE t.typname = ltrim(c.udt_name::text, '_') AND t.typtype = 'e') \
                     FROM information_schema.columns c \
                     WHERE c.table_schema = $1 AND c.table_name = $2 \
                     ORDER BY c.ordinal_position",
                )
                .bind(schema)
                .bind(table)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let type_name: String = r.try_get(1)?;
                        let is_numeric = type_name == "numeric" || type_name == "_numeric";
                        Ok(ColumnInfo {
                            name: r.try_get(0)?,
                            precision: r
                                .try_get::<Option<i32>, _>(2)?
                                .filter(|_| is_numeric)
                                .and_then(|p| u32::try_from(p).ok()),
                            scale: r.try_get::<Option<i32>, _>(3)?.filter(|_| is_numeric),
                            type_name,
                            nullable: r.try_get(4)?,
                            unsigned: false,
                            auto_increment: r.try_get(5)?,
                            is_enum: r.try_get(6)?,
                        })
                    })
                    .collect()
            }
            Db::My(pool) => {
                let rows = sqlx::query(
                    "SELECT CAST(COLUMN_NAME AS CHAR), CAST(DATA_TYPE AS CHAR), \
                     CAST(NUMERIC_PRECISION AS SIGNED), CAST(NUMERIC_SCALE AS SIGNED), \
                     CAST(IS_NULLABLE = 'YES' AS SIGNED), \
                     CAST(EXTRA LIKE '%auto_increment%' AS SIGNED), \
                     CAST(COLUMN_TYPE LIKE '%unsigned%' AS SIGNED) \
                     FROM information_schema.columns \
                     WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
                )
                .bind(schema)
                .bind(table)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let type_name: String = r.try_get(1)?;
                        let is_decimal = type_name.eq_ignore_ascii_case("decimal");
                        Ok(ColumnInfo {
                            name: r.try_get(0)?,
                            precision: r
                                .try_get::<Option<i64>, _>(2)?
                                .filter(|_| is_decimal)
                                .and_then(|p| u32::try_from(p).ok()),
                            scale: r
                                .try_get::<Option<i64>, _>(3)?
                                .filter(|_| is_decimal)
                                .and_then(|s| i32::try_from(s).ok()),
                            type_name,
                            nullable: r.try_get::<i64, _>(4)? != 0,
                            auto_increment: r.try_get::<i64, _>(5)? != 0,
                            unsigned: r.try_get::<i64, _>(6)? != 0,
                            is_enum: false,
                        })
                    })
                    .collect()
            }
            // An INTEGER PRIMARY KEY is the rowid: filled by SQLite, never null.
            Db::Lite(pool) => {
                let rows = sqlx::query(
                    "SELECT name, type, \"notnull\" = 0 AND NOT (pk = 1 AND upper(type) = 'INTEGER'), \
                     pk = 1 AND upper(type) = 'INTEGER' FROM pragma_table_info(?)",
                )
                .bind(table)
                .fetch_all(pool)
                .await?;
                rows.iter()
                    .map(|r| {
                        let type_name: String = r.try_get(1)?;
                        let (precision, scale) = declared_precision(&type_name);
                        Ok(ColumnInfo {
                            name: r.try_get(0)?,
                            type_name,
                            precision,
                            scale,
                            nullable: r.try_get(2)?,
                            unsigned: false,
                            is_enum: false,
                            auto_increment: r.try_get(3)?,
                        })
                    })
                    .collect()
            }
        }
    }

    /// The tables (and, per `types`, views) a user can copy, qualified as the offsets name them
    /// (`schema.table`, `db.table`, SQLite's `table`). `types` holds JDBC's names (`TABLE`,
    /// `VIEW`); `schema_pattern` is a SQL `LIKE` pattern on the schema (PostgreSQL) or database
    /// (MySQL, where the connection's database is used when it is unset).
    pub async fn tables(
        &self,
        types: &[String],
        schema_pattern: Option<&str>,
    ) -> Result<Vec<String>, sqlx::Error> {
        let wants = |jdbc: &str| types.iter().any(|t| t.eq_ignore_ascii_case(jdbc));
        let mut kinds = Vec::new();
        if wants("TABLE") {
            kinds.push("BASE TABLE");
        }
        if wants("VIEW") {
            kinds.push("VIEW");
        }
        let kinds = kinds.join(",");
        let rows: Vec<(String, String)> =
            match self {
                Db::Pg(pool) => sqlx::query_as(
                    "SELECT table_schema::text, table_name::text FROM information_schema.tables \
                     WHERE table_schema NOT IN ('pg_catalog', 'information_schema') \
                     AND table_schema NOT LIKE 'pg\\_%' \
                     AND table_type::text = ANY(string_to_array($1, ',')) \
                     AND ($2::text IS NULL OR table_schema LIKE $2) \
                     ORDER BY 1, 2",
                )
                .bind(&kinds)
                .bind(schema_pattern)
                .fetch_all(pool)
                .await?,
                Db::My(pool) => {
                    sqlx::query_as(
                        "SELECT CAST(TABLE_SCHEMA AS CHAR), CAST(TABLE_NAME AS CHAR) \
                     FROM information_schema.tables \
                     WHERE FIND_IN_SET(TABLE_TYPE, ?) > 0 \
                     AND TABLE_SCHEMA NOT IN \
                     ('mysql', 'information_schema', 'performance_schema', 'sys') \
                     AND (TABLE_SCHEMA LIKE ? OR (? IS NULL AND TABLE_SCHEMA = DATABASE())) \
                     ORDER BY 1, 2",
                    )
                    .bind(&kinds)
                    .bind(schema_pattern)
                    .bind(schema_pattern)
                    .fetch_all(pool)
                    .await?
                }
                Db::Lite(pool) => {
                    let mut lite = Vec::new();
                    if wants("TABLE") {
                        lite.push("table");
                    }
                    if wants("VIEW") {
                        lite.push("view");
                    }
                    let names: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\' \
                     AND instr(',' || ? || ',', ',' || type || ',') > 0 ORDER BY name",
                )
                .bind(lite.join(","))
                .fetch_all(pool)
                .await?;
                    return Ok(names);
                }
            };
        Ok(rows.into_iter().map(|(s, t)| format!("{s}.{t}")).collect())
    }

    /// The columns of a query's result, asked of the database without running it (query
    /// mode has no catalog). The types are the driver's; precision and scale are unknown.
    pub async fn describe(&self, sql: &str) -> Result<Vec<ColumnInfo>, sqlx::Error> {
        with_pool!(self, pool => {
            let described = pool.describe(sql).await?;
            Ok(described
                .columns()
                .iter()
                .enumerate()
                .map(|(i, c)| {
                    let type_info = c.type_info();
                    let mut info = ColumnInfo::of_type(c.name(), type_info.name());
                    info.nullable = described.nullable(i).unwrap_or(true);
                    info.is_enum = is_pg_enum(type_info);
                    info
                })
                .collect())
        })
    }
}

/// Whether a column's driver type is a PostgreSQL enum (other databases have none).
fn is_pg_enum(type_info: &dyn std::any::Any) -> bool {
    type_info
        .downcast_ref::<sqlx::postgres::PgTypeInfo>()
        .is_some_and(|t| matches!(t.kind(), sqlx::postgres::PgTypeKind::Enum(_)))
}
