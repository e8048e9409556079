//! The statement of one read of a table (or of the query), per mode (spec §4 "Queries"), with
//! its parameters. T is the timestamp expression (one column, or `COALESCE` of several), I the
//! incrementing column:
//!
//! | mode | statement |
//! |---|---|
//! | bulk | `SELECT * FROM t` |
//! | incrementing | `… WHERE I > ? ORDER BY I ASC` |
//! | timestamp | `… WHERE T > ? AND T < ? ORDER BY T ASC` (last, DB now − delay) |
//! | timestamp+incrementing | `… WHERE T < ? AND ((T = ? AND I > ?) OR T > ?) ORDER BY T, I ASC` |
//!
//! A `query` is wrapped as a subquery (`SELECT * FROM (<query>) tributary_query WHERE …`), so a
//! query with its own `WHERE`, `GROUP BY` or `ORDER BY` works, unlike Confluent's, which appends
//! the `WHERE` to the query's text. On SQLite, which stores times as text in several forms,
//! T is normalised with `strftime` (Unix-seconds integers too) and compared at millisecond
//! precision.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Tz;

use crate::column_mapping::Mapping;
use crate::dialect::Dialect;
use crate::offsets::Position;
use crate::row_reader::instant_to_wall;
use crate::source_config::Mode;

/// A statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Int(i64),
    /// An instant (PostgreSQL `timestamptz`).
    Instant(DateTime<Utc>),
    /// A wall time (`timestamp`, `DATETIME`, MySQL `TIMESTAMP` in sqlx's UTC session).
    Wall(NaiveDateTime),
    Text(String),
}

/// A statement with its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: String,
    pub params: Vec<Param>,
}

/// What reads of one table (or of the query) are built from.
#[derive(Debug, Clone)]
pub struct Target {
    pub dialect: Dialect,
    pub mode: Mode,
    pub quote: bool,
    /// `SELECT * FROM <table>` or the wrapped query.
    pub from: String,
    pub incrementing: Option<String>,
    pub timestamps: Vec<String>,
    /// How the (first) timestamp column is stored: instants or wall times.
    pub timestamp_mapping: Mapping,
    pub zone: Tz,
    pub suffix: String,
}

/// SQLite's text form of a time, as `strftime('%Y-%m-%d %H:%M:%f')` writes it.
const SQLITE_TIME: &str = "%Y-%m-%d %H:%M:%f";

impl Target {
    /// `SELECT * FROM` a table (quoted per `quote.sql.identifiers`).
    pub fn table_from(dialect: Dialect, quote: bool, table: &str) -> String {
        format!("SELECT * FROM {}", dialect.quote(quote, table))
    }

    /// `SELECT * FROM` a user's query, as a subquery.
    pub fn query_from(query: &str) -> String {
        format!("SELECT * FROM ({query}) tributary_query")
    }

    fn column(&self, name: &str) -> String {
        self.dialect.quote(self.quote, name)
    }

    /// T: the timestamp column, or `COALESCE` of the columns.
    fn timestamp_expression(&self) -> String {
        let columns: Vec<String> = self.timestamps.iter().map(|c| self.column(c)).collect();
        let e = if columns.len() == 1 {
            columns[0].clone()
        } else {
            format!("COALESCE({})", columns.join(", "))
        };
        if self.dialect == Dialect::Sqlite {
            format!(
                "(CASE WHEN typeof({e}) = 'integer' THEN strftime('{SQLITE_TIME}', {e}, \
                 'unixepoch') ELSE strftime('{SQLITE_TIME}', {e}) END)"
            )
        } else {
            e
        }
    }

    /// A time bound as the column compares with it.
    fn time_param(&self, instant: DateTime<Utc>) -> Param {
        match (self.dialect, &self.timestamp_mapping) {
            (Dialect::Sqlite, _) => Param::Text(
                instant_to_wall(instant, self.zone)
                    .format("%Y-%m-%d %H:%M:%S%.3f")
                    .to_string(),
            ),
            (Dialect::PostgreSql, Mapping::Timestamp { zoned: true }) => Param::Instant(instant),
            (Dialect::MySql, Mapping::Timestamp { zoned: true }) => {
                Param::Wall(instant.naive_utc())
            }
            _ => Param::Wall(instant_to_wall(instant, self.zone)),
        }
    }

    /// The next read after `position`; `upper` is the database's time less
    /// `timestamp.delay.interval.ms` (timestamp modes).
    pub fn statement(&self, position: &Position, upper: DateTime<Utc>) -> Statement {
        let mut n = 0;
        let mut p = || {
            n += 1;
            self.dialect.placeholder(n)
        };
        let suffix = if self.suffix.trim().is_empty() {
            String::new()
        } else {
            format!(" {}", self.suffix.trim())
        };
        let from = &self.from;
        let last_id = position.incrementing.unwrap_or(-1);
        let last_time = position.instant().unwrap_or(DateTime::UNIX_EPOCH);
        match self.mode {
            Mode::Bulk => Statement {
                sql: format!("{from}{suffix}"),
                params: Vec::new(),
            },
            Mode::Incrementing => {
                let i = self.column(self.incrementing.as_deref().unwrap_or_default());
                Statement {
                    sql: format!("{from} WHERE {i} > {} ORDER BY {i} ASC{suffix}", p()),
                    params: vec![Param::Int(last_id)],
                }
            }
            Mode::Timestamp => {
                let t = self.timestamp_expression();
                Statement {
                    sql: format!(
                        "{from} WHERE {t} > {} AND {t} < {} ORDER BY {t} ASC{suffix}",
                        p(),
                        p()
                    ),
                    params: vec![self.time_param(last_time), self.time_param(upper)],
                }
            }
            Mode::TimestampIncrementing => {
                let t = self.timestamp_expression();
                let i = self.column(self.incrementing.as_deref().unwrap_or_default());
                let (a, b, c, d) = (p(), p(), p(), p());
                Statement {
                    sql: format!(
                        "{from} WHERE {t} < {a} AND (({t} = {b} AND {i} > {c}) OR {t} > {d}) \
                         ORDER BY {t}, {i} ASC{suffix}"
                    ),
                    params: vec![
                        self.time_param(upper),
                        self.time_param(last_time),
                        Param::Int(last_id),
                        self.time_param(last_time),
                    ],
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(dialect: Dialect, mode: Mode, timestamps: &[&str]) -> Target {
        Target {
            dialect,
            mode,
            quote: true,
            from: Target::table_from(dialect, true, "s.orders"),
            incrementing: Some("id".into()),
            timestamps: timestamps.iter().map(|s| s.to_string()).collect(),
            timestamp_mapping: Mapping::Timestamp { zoned: false },
            zone: Tz::UTC,
            suffix: String::new(),
        }
    }

    fn at(ms: i64) -> DateTime<Utc> {
        DateTime::from_timestamp_millis(ms).unwrap()
    }

    #[test]
    fn statements_per_mode() {
        let position = Position {
            incrementing: Some(7),
            timestamp: Some((1_000, 5_000_000)),
        };
        let upper = at(60_000);
        let s = target(Dialect::PostgreSql, Mode::Incrementing, &[]).statement(&position, upper);
        assert_eq!(
            s.sql,
            "SELECT * FROM \"s\".\"orders\" WHERE \"id\" > $1 ORDER BY \"id\" ASC"
        );
        assert_eq!(s.params, [Param::Int(7)]);

        let s = target(Dialect::MySql, Mode::Timestamp, &["updated", "created"])
            .statement(&position, upper);
        assert_eq!(
            s.sql,
            "SELECT * FROM `s`.`orders` WHERE COALESCE(`updated`, `created`) > ? AND \
             COALESCE(`updated`, `created`) < ? ORDER BY COALESCE(`updated`, `created`) ASC"
        );
        assert_eq!(
            s.params,
            [
                Param::Wall(at(1_005).naive_utc()),
                Param::Wall(upper.naive_utc())
            ]
        );

        let mut zoned = target(Dialect::PostgreSql, Mode::TimestampIncrementing, &["ts"]);
        zoned.timestamp_mapping = Mapping::Timestamp { zoned: true };
        let s = zoned.statement(&Position::default(), upper);
        assert_eq!(
            s.sql,
            "SELECT * FROM \"s\".\"orders\" WHERE \"ts\" < $1 AND ((\"ts\" = $2 AND \"id\" > $3) \
             OR \"ts\" > $4) ORDER BY \"ts\", \"id\" ASC"
        );
        assert_eq!(
            s.params,
            [
                Param::Instant(upper),
                Param::Instant(DateTime::UNIX_EPOCH),
                Param::Int(-1),
                Param::Instant(DateTime::UNIX_EPOCH)
            ]
        );

        let mut query = target(Dialect::Sqlite, Mode::Timestamp, &["ts"]);
        query.from = Target::query_from("SELECT * FROM t WHERE kind = 'a'");
        query.suffix = "LIMIT 100".into();
        let s = query.statement(&position, upper);
        assert!(
            s.sql.starts_with(
                "SELECT * FROM (SELECT * FROM t WHERE kind = 'a') tributary_query WHERE \
                 (CASE WHEN typeof(\"ts\") = 'integer'"
            ),
            "{}",
            s.sql
        );
        assert!(s.sql.ends_with(" ASC LIMIT 100"), "{}", s.sql);
        assert_eq!(
            s.params,
            [
                Param::Text("1970-01-01 00:00:01.005".into()),
                Param::Text("1970-01-01 00:01:00.000".into())
            ]
        );
        let s = target(Dialect::Sqlite, Mode::Bulk, &[]).statement(&position, upper);
        assert_eq!(s.sql, "SELECT * FROM \"s\".\"orders\"");
        assert!(s.params.is_empty());
    }

    #[test]
    fn wall_time_bounds_are_in_db_timezone() {
        let mut t = target(Dialect::PostgreSql, Mode::Timestamp, &["ts"]);
        t.zone = "Europe/Berlin".parse().unwrap();
        let s = t.statement(&Position::default(), at(0));
        assert_eq!(
            s.params[1],
            Param::Wall(
                chrono::NaiveDate::from_ymd_opt(1970, 1, 1)
                    .unwrap()
                    .and_hms_opt(1, 0, 0)
                    .unwrap()
            )
        );
    }
}
