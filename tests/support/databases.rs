//! The local databases the JDBC tests use: SQLite files, the PostgreSQL and MariaDB on
//! 127.0.0.1 (`scripts/services.sh` starts them; `TRIBUTARY_TEST_PG_URL` and
//! `TRIBUTARY_TEST_MYSQL_URL` point elsewhere). Included by the JDBC tests only.

#![allow(dead_code)]

use std::path::PathBuf;

/// A database the test writes rows into.
pub enum Db {
    Sqlite(PathBuf),
    Postgres(String),
    MySql(String),
}

impl Db {
    /// Runs SQL statements.
    pub fn sql(&self, statements: &[&str]) {
        let statements: Vec<String> = statements.iter().map(|s| s.to_string()).collect();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            use sqlx::Connection;
            match self {
                Db::Sqlite(path) => {
                    let url = format!("sqlite://{}?mode=rwc", path.display());
                    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                    for s in statements {
                        sqlx::query(&s).execute(&mut conn).await.unwrap();
                    }
                }
                Db::Postgres(url) => {
                    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                    for s in statements {
                        sqlx::query(&s).execute(&mut conn).await.unwrap();
                    }
                }
                Db::MySql(url) => {
                    let mut conn = sqlx::MySqlConnection::connect(url).await.unwrap();
                    for s in statements {
                        sqlx::query(&s).execute(&mut conn).await.unwrap();
                    }
                }
            }
        });
    }

    pub fn jdbc_url(&self) -> String {
        match self {
            Db::Sqlite(path) => format!("jdbc:sqlite:{}", path.display()),
            // postgres://user@host:port/db → jdbc:postgresql://host:port/db?user=user
            Db::Postgres(url) => {
                let rest = url.trim_start_matches("postgres://");
                let (user, hostdb) = rest.split_once('@').unwrap_or(("postgres", rest));
                format!("jdbc:postgresql://{hostdb}?user={user}")
            }
            // mysql://user@host:port/db → jdbc:mariadb://host:port/db?user=user
            Db::MySql(url) => {
                let rest = url.trim_start_matches("mysql://");
                let (user, hostdb) = rest.split_once('@').unwrap_or(("root", rest));
                format!("jdbc:mariadb://{hostdb}?user={user}")
            }
        }
    }
}

pub fn pg() -> Db {
    Db::Postgres(
        std::env::var("TRIBUTARY_TEST_PG_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned()),
    )
}

pub fn mariadb() -> Db {
    Db::MySql(
        std::env::var("TRIBUTARY_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306/test".to_owned()),
    )
}

impl Db {
    /// The rows of `table` (ordered by the first column), each as its columns' text joined by
    /// `|`, NULL as `-`.
    pub fn rows(&self, table: &str, columns: &[&str]) -> Vec<String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sql = match self {
            Db::MySql(_) => {
                let parts: Vec<String> = columns
                    .iter()
                    .map(|c| format!("COALESCE(CAST(`{c}` AS CHAR), '-')"))
                    .collect();
                format!(
                    "SELECT CONCAT_WS('|', {}) FROM `{table}` ORDER BY `{}`",
                    parts.join(", "),
                    columns[0]
                )
            }
            _ => {
                let parts: Vec<String> = columns
                    .iter()
                    .map(|c| format!("COALESCE(CAST(\"{c}\" AS TEXT), '-')"))
                    .collect();
                format!(
                    "SELECT {} FROM \"{table}\" ORDER BY \"{}\"",
                    parts.join(" || '|' || "),
                    columns[0]
                )
            }
        };
        runtime.block_on(async move {
            use sqlx::Connection;
            let result: Result<Vec<String>, sqlx::Error> = match self {
                Db::Sqlite(path) => {
                    let url = format!("sqlite://{}?mode=rwc", path.display());
                    let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                    sqlx::query_scalar(&sql).fetch_all(&mut conn).await
                }
                Db::Postgres(url) => {
                    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
                    sqlx::query_scalar(&sql).fetch_all(&mut conn).await
                }
                Db::MySql(url) => {
                    let mut conn = sqlx::MySqlConnection::connect(url).await.unwrap();
                    sqlx::query_scalar(&sql).fetch_all(&mut conn).await
                }
            };
            // A table not created yet has no rows.
            result.unwrap_or_default()
        })
    }
}
