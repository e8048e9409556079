//! The database side of the sink: destination tables made ready (`auto.create`,
//! `auto.evolve`), statements run in one transaction per write, and database errors sorted
//! into what the task does about them ([`WriteError`]).

use std::collections::HashMap;

use sqlx::error::ErrorKind;

use crate::column_mapping::ColumnInfo;
use crate::db::{with_pool, Db};
use crate::dialect::Dialect;
use crate::sink_config::SinkConfig;
use crate::sink_params::{Bind, Kind, Param};
use crate::sink_sql::{self, FieldsMetadata};

/// What one write sends.
#[derive(Debug, Clone)]
pub enum Statement {
    /// A statement with its parameters, all rows' in order.
    Sql { sql: String, params: Vec<Param> },
    /// PostgreSQL's `COPY … FROM STDIN` with its rows in text format.
    Copy { sql: String, data: Vec<u8> },
}

/// `COPY … FROM STDIN` inside a transaction: PostgreSQL's only.
trait CopyIn {
    async fn copy_in(&mut self, sql: &str, data: &[u8]) -> Result<(), sqlx::Error>;
}

impl CopyIn for sqlx::Transaction<'_, sqlx::Postgres> {
    async fn copy_in(&mut self, sql: &str, data: &[u8]) -> Result<(), sqlx::Error> {
        let mut copy = self.copy_in_raw(sql).await?;
        copy.send(data).await?;
        copy.finish().await.map(|_| ())
    }
}

macro_rules! no_copy {
    ($db:ty) => {
        impl CopyIn for sqlx::Transaction<'_, $db> {
            async fn copy_in(&mut self, _: &str, _: &[u8]) -> Result<(), sqlx::Error> {
                Err(sqlx::Error::Protocol("COPY is PostgreSQL's".into()))
            }
        }
    };
}
no_copy!(sqlx::MySql);
no_copy!(sqlx::Sqlite);

/// Why a write failed, by what the task does next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The database cannot be reached (connection lost, pool closed, I/O): retried with
    /// backoff for as long as it lasts; the task stays RUNNING.
    #[error("the database cannot be reached: {0}")]
    Unreachable(String),
    /// A row the database refuses (a constraint, a value it cannot store): the batch is
    /// split to find it, and it goes to the errant record reporter.
    #[error("{0}")]
    BadRow(String),
    /// A table that cannot take the records (missing without `auto.create`, columns missing
    /// without `auto.evolve`, a type with no column type): each record goes to the reporter.
    #[error("{0}")]
    Table(String),
    /// Anything else (a deadlock, a lock timeout, a statement error): retried `max.retries`
    /// times, then record by record.
    #[error("{0}")]
    Other(String),
}

/// Sorts a database error.
pub fn classify(e: &sqlx::Error) -> WriteError {
    let text = e.to_string();
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => WriteError::Unreachable(text),
        sqlx::Error::Database(d) => {
            // MySQL's error number (its `code()` is the SQLSTATE); others' SQLSTATE.
            let code = d
                .try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()
                .map(|m| m.number().to_string())
                .or_else(|| d.code().map(|c| c.into_owned()))
                .unwrap_or_default();
            let data = matches!(
                d.kind(),
                ErrorKind::UniqueViolation
                    | ErrorKind::ForeignKeyViolation
                    | ErrorKind::NotNullViolation
                    | ErrorKind::CheckViolation
            );
            // PostgreSQL SQLSTATE classes 22 (data exception) and 23 (integrity), and 42804
            // (a value of the wrong type for its column); MySQL's duplicate key, null, too
            // long, bad value, out of range, foreign key, check.
            let data = data
                || code.starts_with("22")
                || code.starts_with("23")
                || [
                    "1048", "1062", "1264", "1292", "1366", "1406", "1451", "1452", "3819", "4025",
                ]
                .contains(&code.as_str());
            // Connection exceptions, shutdowns, too many connections; MySQL's gone away.
            let gone = code.starts_with("08")
                || code.starts_with("57P")
                || code == "53300"
                || [
                    "1040", "1053", "1152", "1153", "1159", "1161", "2006", "2013",
                ]
                .contains(&code.as_str());
            if data {
                WriteError::BadRow(text)
            } else if gone {
                WriteError::Unreachable(text)
            } else {
                WriteError::Other(text)
            }
        }
        _ => WriteError::Other(text),
    }
}

/// The sink's connection and what it knows of its tables.
pub struct Writer {
    db: Db,
    /// The schema (PostgreSQL) or database (MySQL) unqualified tables are in.
    current_schema: Option<String>,
    /// Columns of tables seen, by qualified name (refreshed after DDL).
    tables: HashMap<String, Vec<ColumnInfo>>,
}

impl Writer {
    pub async fn new(db: Db) -> Result<Writer, sqlx::Error> {
        let current_schema = db.current_schema().await?;
        Ok(Writer {
            db,
            current_schema,
            tables: HashMap::new(),
        })
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The name the catalog knows `table` by (`schema.table`; SQLite's bare name).
    pub fn qualified(&self, table: &str) -> String {
        match &self.current_schema {
            Some(schema) if !table.contains('.') && self.db.dialect() != Dialect::Sqlite => {
                format!("{schema}.{table}")
            }
            _ => table.to_owned(),
        }
    }

    /// Makes `table` ready for records of `fields`: created with `auto.create`, missing
    /// columns added with `auto.evolve` (a failed `CREATE` is fine when another task made the
    /// table meanwhile).
    pub async fn prepare(
        &mut self,
        config: &SinkConfig,
        table: &str,
        fields: &FieldsMetadata,
    ) -> Result<(), WriteError> {
        let qualified = self.qualified(table);
        let dialect = self.db.dialect();
        let quoted = config.quote_identifiers;
        let mut columns = self.columns(&qualified, false).await?;
        if columns.is_empty() {
            if !config.auto_create {
                return Err(WriteError::Table(format!(
                    "table {table} does not exist (auto.create=false)"
                )));
            }
            let sql = sink_sql::create_table(dialect, quoted, table, fields.columns())
                .map_err(|e| WriteError::Table(e.to_string()))?;
            let created = self.execute_ddl(&sql).await;
            columns = self.columns(&qualified, true).await?;
            if columns.is_empty() {
                return Err(created.err().unwrap_or_else(|| {
                    WriteError::Table(format!("table {table} was not created"))
                }));
            }
        }
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        let missing = fields.missing_columns(&names);
        if missing.is_empty() {
            return Ok(());
        }
        let listed: Vec<&str> = missing.iter().map(|c| c.name.as_str()).collect();
        if !config.auto_evolve {
            return Err(WriteError::Table(format!(
                "table {table} has no column(s) {} (auto.evolve=false)",
                listed.join(", ")
            )));
        }
        let statements = sink_sql::alter_table_add(dialect, quoted, table, &missing)
            .map_err(|e| WriteError::Table(e.to_string()))?;
        let mut failed = None;
        for sql in statements {
            if let Err(e) = self.execute_ddl(&sql).await {
                failed = Some(e);
            }
        }
        // Another task may have added them meanwhile: what counts is the table now.
        let columns = self.columns(&qualified, true).await?;
        let names: Vec<&str> = columns.iter().map(String::as_str).collect();
        if fields.missing_columns(&names).is_empty() {
            Ok(())
        } else {
            Err(failed.unwrap_or_else(|| {
                WriteError::Table(format!("table {table} could not be altered"))
            }))
        }
    }

    async fn columns(&mut self, qualified: &str, fresh: bool) -> Result<Vec<String>, WriteError> {
        if fresh {
            self.tables.remove(qualified);
        }
        if !self.tables.contains_key(qualified) {
            let columns = self.db.columns(qualified).await.map_err(|e| classify(&e))?;
            if columns.is_empty() {
                return Ok(Vec::new());
            }
            self.tables.insert(qualified.to_owned(), columns);
        }
        Ok(self
            .tables
            .get(qualified)
            .map(|c| c.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default())
    }

    /// Columns whose parameters need a type of their own, by name, as the last
    /// [`Writer::prepare`] of `table` saw them: PostgreSQL `json`/`jsonb`/`uuid` (text is not
    /// cast into them) and instants (`timestamptz`; MySQL `TIMESTAMP`), which take the instant
    /// a wall time in `db.timezone` stands for (the sessions run in UTC).
    pub fn typed_columns(&self, table: &str) -> Vec<(String, Kind)> {
        let qualified = self.qualified(table);
        if self.db.dialect() == Dialect::MySql {
            return self
                .tables
                .get(&qualified)
                .map(|columns| {
                    columns
                        .iter()
                        .filter(|c| c.type_name.eq_ignore_ascii_case("timestamp"))
                        .map(|c| (c.name.clone(), Kind::Instant))
                        .collect()
                })
                .unwrap_or_default();
        }
        if self.db.dialect() != Dialect::PostgreSql {
            return Vec::new();
        }
        self.tables
            .get(&qualified)
            .map(|columns| {
                columns
                    .iter()
                    .filter_map(|c| match c.type_name.as_str() {
                        "json" | "jsonb" => Some((c.name.clone(), Kind::Json)),
                        "uuid" => Some((c.name.clone(), Kind::Uuid)),
                        "timestamptz" => Some((c.name.clone(), Kind::Instant)),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    async fn execute_ddl(&self, sql: &str) -> Result<(), WriteError> {
        with_pool!(&self.db, pool => sqlx::query(sql).execute(pool).await.map(|_| ())).map_err(
            |e| match classify(&e) {
                // Lost connections and lock trouble are tried again; the rest is the table's.
                WriteError::Unreachable(m) => WriteError::Unreachable(m),
                WriteError::Other(m) => WriteError::Other(format!("{sql}: {m}")),
                _ => WriteError::Table(format!("{sql}: {e}")),
            },
        )
    }

    /// Forgets what it knew of the tables (after a failure, they are read again).
    pub fn forget_tables(&mut self) {
        self.tables.clear();
    }
}

/// Runs `statements` in one transaction: all or nothing.
pub async fn execute(db: &Db, statements: &[Statement]) -> Result<(), WriteError> {
    with_pool!(db, pool => {
        let run = async {
            let mut tx = pool.begin().await?;
            for statement in statements {
                match statement {
                    Statement::Sql { sql, params } => {
                        let mut query = sqlx::query(sql);
                        for param in params {
                            query = query.bind_param(param);
                        }
                        query.execute(&mut *tx).await?;
                    }
                    Statement::Copy { sql, data } => tx.copy_in(sql, data).await?,
                }
            }
            tx.commit().await
        };
        run.await.map_err(|e| classify(&e))
    })
}
