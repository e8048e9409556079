//! The side channel: an ordinary SQL connection (sqlx) for what the replication stream does not
//! say — primary keys, nullability, type names and enum labels — and for managing the
//! publication and the slot, as Debezium does over JDBC.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
use sqlx::Row;

use crate::config::{Connection, PublicationMode, Skipped};
use crate::pg_types::TypeKind;

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}")]
    Sql(#[from] sqlx::Error),
    #[error("{0}")]
    Other(String),
}

/// A table column as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnMeta {
    pub name: String,
    pub type_oid: u32,
    pub typmod: i32,
    pub not_null: bool,
}

/// A table as the catalog describes it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TableMeta {
    pub columns: Vec<ColumnMeta>,
    pub primary_key: Vec<String>,
    /// `d` default, `f` full, `n` nothing, `i` index.
    pub replica_identity: char,
}

/// A replication slot as `pg_replication_slots` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlotInfo {
    pub plugin: Option<String>,
    pub database: Option<String>,
    pub active_pid: Option<i32>,
    pub confirmed_flush_lsn: Option<u64>,
    pub restart_lsn: Option<u64>,
    /// PG 13+: `lost` when the server removed WAL the slot needed.
    pub wal_status: Option<String>,
}

pub struct Catalog {
    pool: PgPool,
    types: HashMap<u32, TypeKind>,
}

/// `16/B374D848` → 0x16_B374D848.
pub fn parse_lsn(text: &str) -> Option<u64> {
    let (hi, lo) = text.split_once('/')?;
    Some((u64::from_str_radix(hi, 16).ok()? << 32) | u64::from_str_radix(lo, 16).ok()?)
}

pub fn format_lsn(lsn: u64) -> String {
    format!("{:X}/{:X}", lsn >> 32, lsn & 0xffff_ffff)
}

/// Quotes an identifier for SQL.
pub fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Quotes a string literal; the escape-string form reads the same whatever
/// `standard_conforming_strings` says.
pub fn quote_literal(text: &str) -> String {
    format!("E'{}'", text.replace('\\', "\\\\").replace('\'', "''"))
}

/// A column of a row read through the simple query protocol, as its text output.
pub fn text_cell(row: &sqlx::postgres::PgRow, i: usize) -> Result<Option<&str>, CatalogError> {
    use sqlx::ValueRef;
    let raw = row.try_get_raw(i)?;
    if raw.is_null() {
        return Ok(None);
    }
    raw.as_str()
        .map(Some)
        .map_err(|e| CatalogError::Other(format!("column {i} is not text: {e}")))
}

pub fn connect_options(c: &Connection) -> PgConnectOptions {
    let ssl = match c.sslmode.as_str() {
        "disable" => PgSslMode::Disable,
        "allow" => PgSslMode::Allow,
        "require" => PgSslMode::Require,
        "verify-ca" => PgSslMode::VerifyCa,
        "verify-full" => PgSslMode::VerifyFull,
        _ => PgSslMode::Prefer,
    };
    let mut o = PgConnectOptions::new()
        .host(&c.host)
        .port(c.port)
        .username(&c.user)
        .database(&c.dbname)
        .ssl_mode(ssl)
        .application_name("tributary-cdc");
    if let Some(p) = &c.password {
        o = o.password(p);
    }
    if let Some(root) = &c.sslrootcert {
        o = o.ssl_root_cert(root.as_str());
    }
    o
}

impl Catalog {
    pub async fn connect(c: &Connection) -> Result<Catalog, CatalogError> {
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(connect_options(c))
            .await?;
        Ok(Catalog {
            pool,
            types: HashMap::new(),
        })
    }

    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    pub async fn server_version_num(&self) -> Result<i32, CatalogError> {
        let v: String = sqlx::query_scalar("SHOW server_version_num")
            .fetch_one(&self.pool)
            .await?;
        v.parse()
            .map_err(|_| CatalogError::Other(format!("server_version_num '{v}'")))
    }

    /// Every ordinary and partitioned table outside the system schemas.
    pub async fn tables(&self) -> Result<Vec<(String, String)>, CatalogError> {
        let rows = sqlx::query(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition \
             AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' \
             AND n.nspname NOT LIKE 'pg_temp%' ORDER BY 1, 2",
        )
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .iter()
            .map(|r| (r.get::<String, _>(0), r.get::<String, _>(1)))
            .collect())
    }

    /// A table's columns, primary key and replica identity; `None` when it does not exist.
    pub async fn table(
        &self,
        schema: &str,
        table: &str,
    ) -> Result<Option<TableMeta>, CatalogError> {
        let identity_char: Option<String> = sqlx::query_scalar(
            "SELECT c.relreplident::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2",
        )
        .bind(schema)
        .bind(table)
        .fetch_optional(&self.pool)
        .await?;
        let Some(identity_char) = identity_char else {
            return Ok(None);
        };
        let rows = sqlx::query(
            "SELECT a.attname::text, a.atttypid::int8, a.atttypmod, a.attnotnull \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        )
        .bind(schema)
        .bind(table)
        .fetch_all(&self.pool)
        .await?;
        let columns = rows
            .iter()
            .map(|r| ColumnMeta {
                name: r.get(0),
                type_oid: r.get::<i64, _>(1) as u32,
                typmod: r.get(2),
                not_null: r.get(3),
            })
            .collect();
        let primary_key: Vec<String> = sqlx::query_scalar(
            "SELECT a.attname::text FROM pg_index i \
             JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord) ON true \
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
             WHERE i.indisprimary AND n.nspname = $1 AND c.relname = $2 ORDER BY k.ord",
        )
        .bind(schema)
        .bind(table)
        .fetch_all(&self.pool)
        .await?;
        Ok(Some(TableMeta {
            columns,
            primary_key,
            replica_identity: identity_char.chars().next().unwrap_or('d'),
        }))
    }

    /// What a type is (cached): its name, enum labels or element type; domains resolve to
    /// their base type.
    pub async fn type_kind(&mut self, oid: u32) -> Result<TypeKind, CatalogError> {
        if let Some(k) = self.types.get(&oid) {
            return Ok(k.clone());
        }
        let mut current = oid;
        let mut depth = 0;
        let kind = loop {
            depth += 1;
            if depth > 16 {
                break TypeKind::Named(format!("oid{oid}"));
            }
            let row = sqlx::query(
                "SELECT typname::text, typtype::text, typelem::int8, typbasetype::int8, typcategory::text \
                 FROM pg_type WHERE oid = $1",
            )
            .bind(i64::from(current))
            .fetch_optional(&self.pool)
            .await?;
            let Some(row) = row else {
                break TypeKind::Named(format!("oid{current}"));
            };
            let name: String = row.get(0);
            let typtype: String = row.get(1);
            let elem = row.get::<i64, _>(2) as u32;
            let base = row.get::<i64, _>(3) as u32;
            let category: String = row.get(4);
            if typtype == "d" && base != 0 {
                current = base;
                continue;
            }
            if typtype == "e" {
                let labels: Vec<String> = sqlx::query_scalar(
                    "SELECT enumlabel::text FROM pg_enum WHERE enumtypid = $1 ORDER BY enumsortorder",
                )
                .bind(i64::from(current))
                .fetch_all(&self.pool)
                .await?;
                break TypeKind::Enum(labels);
            }
            if category == "A" && elem != 0 {
                let element = Box::pin(self.type_kind(elem)).await?;
                break TypeKind::Array(Box::new(element));
            }
            break TypeKind::Named(name);
        };
        self.types.insert(oid, kind.clone());
        Ok(kind)
    }

    /// Forgets cached types (an `ALTER TYPE … ADD VALUE` changes an enum's labels).
    pub fn forget_types(&mut self) {
        self.types.clear();
    }

    pub async fn slot(&self, name: &str) -> Result<Option<SlotInfo>, CatalogError> {
        let version = self.server_version_num().await?;
        let wal_status = if version >= 130_000 {
            "wal_status::text"
        } else {
            "NULL::text"
        };
        let row = sqlx::query(&format!(
            "SELECT plugin::text, database::text, active_pid, confirmed_flush_lsn::text, restart_lsn::text, {wal_status} \
             FROM pg_replication_slots WHERE slot_name = $1"
        ))
        .bind(name)
        .fetch_optional(&self.pool)
        .await?;
        Ok(row.map(|r| SlotInfo {
            plugin: r.get(0),
            database: r.get(1),
            active_pid: r.get(2),
            confirmed_flush_lsn: r.get::<Option<String>, _>(3).and_then(|s| parse_lsn(&s)),
            restart_lsn: r.get::<Option<String>, _>(4).and_then(|s| parse_lsn(&s)),
            wal_status: r.get(5),
        }))
    }

    pub async fn drop_slot(&self, name: &str) -> Result<(), CatalogError> {
        sqlx::query("SELECT pg_drop_replication_slot($1) FROM pg_replication_slots WHERE slot_name = $1 AND NOT active")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Makes sure the publication exists as `publication.autocreate.mode` wants it.
    pub async fn ensure_publication(
        &self,
        name: &str,
        mode: PublicationMode,
        tables: &[(String, String)],
        skipped: Skipped,
    ) -> Result<(), CatalogError> {
        let exists: Option<bool> =
            sqlx::query_scalar("SELECT puballtables FROM pg_publication WHERE pubname = $1")
                .bind(name)
                .fetch_optional(&self.pool)
                .await?;
        let publish: Vec<&str> = [
            (!skipped.create).then_some("insert"),
            (!skipped.update).then_some("update"),
            (!skipped.delete).then_some("delete"),
            (!skipped.truncate).then_some("truncate"),
        ]
        .into_iter()
        .flatten()
        .collect();
        let with = format!("WITH (publish = {})", quote_literal(&publish.join(", ")));
        let table_list = || {
            tables
                .iter()
                .map(|(s, t)| format!("{}.{}", quote_ident(s), quote_ident(t)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let statement = match (mode, exists) {
            (PublicationMode::Disabled, None) => {
                return Err(CatalogError::Other(format!(
                "publication '{name}' does not exist and publication.autocreate.mode is disabled"
            )))
            }
            (PublicationMode::Disabled, Some(_)) | (PublicationMode::AllTables, Some(_)) => {
                return Ok(())
            }
            (PublicationMode::NoTables, Some(_)) => return Ok(()),
            (PublicationMode::AllTables, None) => {
                format!(
                    "CREATE PUBLICATION {} FOR ALL TABLES {with}",
                    quote_ident(name)
                )
            }
            (PublicationMode::NoTables, None) => {
                format!("CREATE PUBLICATION {} {with}", quote_ident(name))
            }
            (PublicationMode::Filtered, None) if tables.is_empty() => {
                format!("CREATE PUBLICATION {} {with}", quote_ident(name))
            }
            (PublicationMode::Filtered, None) => format!(
                "CREATE PUBLICATION {} FOR TABLE {} {with}",
                quote_ident(name),
                table_list()
            ),
            (PublicationMode::Filtered, Some(true)) => return Ok(()),
            (PublicationMode::Filtered, Some(false)) if tables.is_empty() => return Ok(()),
            (PublicationMode::Filtered, Some(false)) => format!(
                "ALTER PUBLICATION {} SET TABLE {}",
                quote_ident(name),
                table_list()
            ),
        };
        sqlx::raw_sql(&statement).execute(&self.pool).await?;
        Ok(())
    }

    /// `replica.identity.autoset.values`: sets each matching table's replica identity.
    pub async fn set_replica_identity(
        &self,
        schema: &str,
        table: &str,
        identity: &str,
    ) -> Result<(), CatalogError> {
        let clause = match identity.strip_prefix("INDEX ") {
            Some(index) => format!("USING INDEX {}", quote_ident(index.trim())),
            None => identity.to_owned(),
        };
        let statement = format!(
            "ALTER TABLE {}.{} REPLICA IDENTITY {clause}",
            quote_ident(schema),
            quote_ident(table)
        );
        sqlx::raw_sql(&statement).execute(&self.pool).await?;
        Ok(())
    }

    /// Each column's SQL type as `format_type` prints it (to cast bound key values).
    pub async fn column_types(
        &self,
        schema: &str,
        table: &str,
    ) -> Result<Vec<(String, String)>, CatalogError> {
        let rows = sqlx::query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod) \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
        )
        .bind(schema)
        .bind(table)
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// Runs a query whose columns are all text, with text parameters.
    /// Rows of a statement in PostgreSQL's text output (the simple query protocol), the
    /// form the stream sends values in.
    pub async fn text_rows(&self, sql: &str) -> Result<Vec<Vec<Option<String>>>, CatalogError> {
        let rows = sqlx::raw_sql(sql).fetch_all(&self.pool).await?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| Ok(text_cell(r, i)?.map(str::to_owned)))
                    .collect()
            })
            .collect()
    }

    /// Values `setting` is configured with for new sessions of this user and database (role
    /// and database settings, and the server's configuration files where this user may read
    /// them): what a replication connection starts with. This session's own value does not
    /// tell, since the SQL client sets some settings (DateStyle) when it connects.
    pub async fn configured(&self, setting: &str) -> Result<Vec<String>, CatalogError> {
        let mut values: Vec<String> = sqlx::query_scalar(
            "SELECT split_part(cfg, '=', 2) FROM pg_db_role_setting s, unnest(s.setconfig) cfg \
             WHERE s.setdatabase IN (0, (SELECT oid FROM pg_database WHERE datname = current_database())) \
             AND s.setrole IN (0, (SELECT oid FROM pg_roles WHERE rolname = current_user)) \
             AND lower(split_part(cfg, '=', 1)) = lower($1)",
        )
        .bind(setting)
        .fetch_all(&self.pool)
        .await?;
        // pg_file_settings needs pg_read_all_settings: without it, the files are not checked.
        if let Ok(file) = sqlx::query_scalar::<_, String>(
            "SELECT setting FROM pg_file_settings WHERE lower(name) = lower($1) AND applied",
        )
        .bind(setting)
        .fetch_all(&self.pool)
        .await
        {
            values.extend(file);
        }
        Ok(values)
    }

    /// The names of the columns a statement returns (it is described, not run).
    pub async fn result_columns(&self, sql: &str) -> Result<Vec<String>, CatalogError> {
        use sqlx::{Column, Executor};
        let described = (&self.pool).describe(sql).await?;
        Ok(described
            .columns()
            .iter()
            .map(|c| c.name().to_owned())
            .collect())
    }

    /// Runs `heartbeat.action.query`.
    pub async fn execute(&self, sql: &str) -> Result<(), CatalogError> {
        sqlx::raw_sql(sql).execute(&self.pool).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lsn_text() {
        assert_eq!(parse_lsn("16/B374D848"), Some(0x16_B374_D848));
        assert_eq!(format_lsn(0x16_B374_D848), "16/B374D848");
        assert_eq!(parse_lsn("x"), None);
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
        assert_eq!(quote_literal("it's"), "E'it''s'");
        assert_eq!(quote_literal("a\\b"), "E'a\\\\b'");
    }
}
