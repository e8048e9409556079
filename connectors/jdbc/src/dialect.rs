//! The database dialects: chosen from the JDBC URL's sub-protocol, or forced with
//! `dialect.name` (Confluent's dialect class names).

use crate::ConfigError;

/// `dialect.name`.
pub const DIALECT_NAME: &str = "dialect.name";

/// A database this connector speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    PostgreSql,
    /// MySQL and MariaDB.
    MySql,
    Sqlite,
}

impl Dialect {
    /// Confluent's dialect class name.
    pub fn name(self) -> &'static str {
        match self {
            Dialect::PostgreSql => "PostgreSqlDatabaseDialect",
            Dialect::MySql => "MySqlDatabaseDialect",
            Dialect::Sqlite => "SqliteDatabaseDialect",
        }
    }

    /// `name` (dot-separated parts) quoted for SQL when `quoted` (`quote.sql.identifiers=always`):
    /// each part in `"…"` (backticks for MySQL), the quote character doubled inside.
    pub fn quote(self, quoted: bool, name: &str) -> String {
        if !quoted {
            return name.to_owned();
        }
        let q = if self == Dialect::MySql { '`' } else { '"' };
        name.split('.')
            .map(|part| {
                let escaped = part.replace(q, &format!("{q}{q}"));
                format!("{q}{escaped}{q}")
            })
            .collect::<Vec<_>>()
            .join(".")
    }

    /// The `n`th (1-based) statement parameter: `$n` for PostgreSQL, `?` for the others.
    pub fn placeholder(self, n: usize) -> String {
        if self == Dialect::PostgreSql {
            format!("${n}")
        } else {
            "?".to_owned()
        }
    }

    /// The dialect of a JDBC sub-protocol (`postgresql` in `jdbc:postgresql://…`).
    pub fn of_subprotocol(subprotocol: &str) -> Option<Dialect> {
        match subprotocol.to_ascii_lowercase().as_str() {
            "postgresql" | "postgres" => Some(Dialect::PostgreSql),
            "mysql" | "mariadb" => Some(Dialect::MySql),
            "sqlite" => Some(Dialect::Sqlite),
            _ => None,
        }
    }

    /// `dialect.name` when set (empty = from the URL); it must name a dialect this connector
    /// has, and agree with the URL's database.
    pub fn choose(forced: Option<&str>, from_url: Dialect) -> Result<Dialect, ConfigError> {
        let Some(name) = forced.map(str::trim).filter(|n| !n.is_empty()) else {
            return Ok(from_url);
        };
        let forced = [Dialect::PostgreSql, Dialect::MySql, Dialect::Sqlite]
            .into_iter()
            .find(|d| d.name() == name)
            .ok_or_else(|| {
                ConfigError::new(
                    DIALECT_NAME,
                    format!(
                        "{name} is not a dialect of this connector; expected \
                         PostgreSqlDatabaseDialect, MySqlDatabaseDialect or \
                         SqliteDatabaseDialect (or leave it empty to use connection.url's)"
                    ),
                )
            })?;
        if forced != from_url {
            return Err(ConfigError::new(
                DIALECT_NAME,
                format!(
                    "{name} does not speak to the database of connection.url ({})",
                    from_url.name()
                ),
            ));
        }
        Ok(forced)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dialects_come_from_the_url_or_dialect_name() {
        assert_eq!(
            Dialect::of_subprotocol("postgresql"),
            Some(Dialect::PostgreSql)
        );
        assert_eq!(Dialect::of_subprotocol("MariaDB"), Some(Dialect::MySql));
        assert_eq!(Dialect::of_subprotocol("sqlserver"), None);
        assert_eq!(Dialect::choose(None, Dialect::MySql), Ok(Dialect::MySql));
        assert_eq!(
            Dialect::choose(Some(" "), Dialect::MySql),
            Ok(Dialect::MySql)
        );
        assert_eq!(
            Dialect::choose(Some("PostgreSqlDatabaseDialect"), Dialect::PostgreSql),
            Ok(Dialect::PostgreSql)
        );
        for (forced, url) in [
            ("OracleDatabaseDialect", Dialect::PostgreSql),
            ("MySqlDatabaseDialect", Dialect::PostgreSql),
        ] {
            assert_eq!(
                Dialect::choose(Some(forced), url).unwrap_err().key,
                DIALECT_NAME
            );
        }
    }
}
