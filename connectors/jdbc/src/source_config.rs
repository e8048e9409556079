//! A JDBC source connector's config, read and checked as Confluent's `JdbcSourceConnectorConfig`
//! (spec §4), every error naming its key. Defaults are Confluent's.

use regex::Regex;
use tributary_connector_api::Props;

use crate::column_mapping::{Granularity, NumericMapping};
use crate::dialect::{self, Dialect};
use crate::url::{self, JdbcUrl};
use crate::ConfigError;

/// `mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bulk,
    Incrementing,
    Timestamp,
    TimestampIncrementing,
}

impl Mode {
    pub fn uses_incrementing(self) -> bool {
        matches!(self, Mode::Incrementing | Mode::TimestampIncrementing)
    }

    pub fn uses_timestamp(self) -> bool {
        matches!(self, Mode::Timestamp | Mode::TimestampIncrementing)
    }
}

/// Which tables are copied: named ones (`table.whitelist` / `table.blacklist`), ones matching
/// regular expressions on the qualified name (`table.include.list` / `table.exclude.list`), or
/// the rows of one `query`.
#[derive(Debug, Clone)]
pub enum Source {
    Tables {
        whitelist: Vec<String>,
        blacklist: Vec<String>,
        include: Vec<Regex>,
        exclude: Vec<Regex>,
        /// `table.types` (`TABLE` by default; also `VIEW`, …).
        types: Vec<String>,
    },
    Query(String),
}

impl Source {
    /// `table.types` (empty for a query).
    pub fn table_types(&self) -> &[String] {
        match self {
            Source::Tables { types, .. } => types,
            Source::Query(_) => &[],
        }
    }

    /// The tables to copy among `listed` (qualified names; `current` is the schema or database
    /// unqualified names are in). When `strict` (at start), a whitelisted table that is not
    /// there, or a selection that is empty, is an error naming the key to change; otherwise
    /// (the table monitor) they are dropped tables.
    pub fn select(
        &self,
        listed: &[String],
        current: Option<&str>,
        strict: bool,
    ) -> Result<Vec<String>, ConfigError> {
        let Source::Tables {
            whitelist,
            blacklist,
            include,
            exclude,
            ..
        } = self
        else {
            return Ok(Vec::new());
        };
        let unqualified = |t: &str| t.rsplit('.').next().unwrap_or(t).to_owned();
        // A name matches a table by its qualified or its bare name; a bare name found in
        // several schemas means the one in the current schema.
        let matches = |name: &str| -> Vec<String> {
            let exact: Vec<String> = listed.iter().filter(|t| *t == name).cloned().collect();
            if !exact.is_empty() {
                return exact;
            }
            let bare: Vec<String> = listed
                .iter()
                .filter(|t| unqualified(t) == name)
                .cloned()
                .collect();
            match current.map(|c| format!("{c}.{name}")) {
                Some(here) if bare.contains(&here) => vec![here],
                _ => bare,
            }
        };
        let found = |re: &Regex, t: &String| re.is_match(t) || re.is_match(&unqualified(t));
        let (selected, key): (Vec<String>, &str) = if !whitelist.is_empty() {
            let mut selected = Vec::new();
            for name in whitelist {
                let m = matches(name);
                if m.is_empty() && strict {
                    return Err(ConfigError::new(
                        "table.whitelist",
                        format!("{name} is not a table of the database (of the listed types)"),
                    ));
                }
                for t in m {
                    if !selected.contains(&t) {
                        selected.push(t);
                    }
                }
            }
            (selected, "table.whitelist")
        } else if !blacklist.is_empty() {
            let excluded: Vec<String> = blacklist.iter().flat_map(|n| matches(n)).collect();
            (
                listed
                    .iter()
                    .filter(|t| !excluded.contains(t))
                    .cloned()
                    .collect(),
                "table.blacklist",
            )
        } else {
            (
                listed
                    .iter()
                    .filter(|t| include.is_empty() || include.iter().any(|re| found(re, t)))
                    .filter(|t| !exclude.iter().any(|re| found(re, t)))
                    .cloned()
                    .collect(),
                if include.is_empty() {
                    "table.exclude.list"
                } else {
                    "table.include.list"
                },
            )
        };
        if selected.is_empty() && strict {
            let key = if listed.is_empty() {
                "table.types"
            } else {
                key
            };
            return Err(ConfigError::new(
                key,
                format!(
                    "no table to copy: the database lists {} table(s) of types {}, and none \
                     is selected",
                    listed.len(),
                    self.table_types().join(", ")
                ),
            ));
        }
        Ok(selected)
    }
}

/// The checked config.
#[derive(Debug, Clone)]
pub struct SourceConfig {
    pub url: JdbcUrl,
    pub dialect: Dialect,
    pub connection_attempts: u32,
    pub connection_backoff_ms: u64,
    pub mode: Mode,
    /// `None`: the table's auto-increment column.
    pub incrementing_column: Option<String>,
    /// Several are read as `COALESCE(c1, c2, …)`.
    pub timestamp_columns: Vec<String>,
    pub source: Source,
    pub query_suffix: String,
    pub topic_prefix: String,
    pub poll_interval_ms: u64,
    pub batch_max_rows: u32,
    pub table_poll_interval_ms: u64,
    pub timestamp_delay_interval_ms: u64,
    /// `None`: from the epoch; `Some(-1)`: the database's current time.
    pub timestamp_initial: Option<i64>,
    /// `db.timezone`: the zone wall-time columns are read and bound in.
    pub db_timezone: chrono_tz::Tz,
    pub validate_non_null: bool,
    pub timestamp_granularity: Granularity,
    /// `schema.pattern` (PostgreSQL schemas) or `catalog.pattern` (MySQL databases): a SQL
    /// `LIKE` pattern on where tables are listed from.
    pub schema_pattern: Option<String>,
    /// `query.retry.attempts`: failed reads of a table before the task fails (≤ 0: never).
    pub query_retry_attempts: i32,
    pub numeric_mapping: NumericMapping,
    pub quote_identifiers: bool,
}

/// A key's trimmed value; empty counts as unset.
pub(crate) fn get<'a>(props: &'a Props, key: &str) -> Option<&'a str> {
    props.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// A comma-separated list key, items trimmed, empty items dropped.
pub(crate) fn list(props: &Props, key: &str) -> Vec<String> {
    get(props, key)
        .map(|v| {
            v.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// A number key of at least `least`, else `default` when unset.
pub(crate) fn number<T: std::str::FromStr + PartialOrd + std::fmt::Display>(
    props: &Props,
    key: &str,
    default: T,
    least: T,
) -> Result<T, ConfigError> {
    match get(props, key) {
        None => Ok(default),
        Some(v) => match v.parse::<T>() {
            Ok(n) if n >= least => Ok(n),
            _ => Err(ConfigError::new(
                key,
                format!("{v} is not a number of at least {least}"),
            )),
        },
    }
}

/// Java's `Boolean` config parsing: `true` / `false` in any case.
pub(crate) fn boolean(props: &Props, key: &str, default: bool) -> Result<bool, ConfigError> {
    match get(props, key) {
        None => Ok(default),
        Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
        Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
        Some(v) => Err(ConfigError::new(
            key,
            format!("{v}: expected true or false"),
        )),
    }
}

fn patterns(props: &Props, key: &str) -> Result<Vec<Regex>, ConfigError> {
    list(props, key)
        .iter()
        .map(|p| {
            Regex::new(&format!("^(?:{p})$"))
                .map_err(|e| ConfigError::new(key, format!("{p} is not a regular expression: {e}")))
        })
        .collect()
}

impl SourceConfig {
    pub fn parse(props: &Props) -> Result<SourceConfig, ConfigError> {
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

        let mode = match get(props, "mode") {
            Some("bulk") => Mode::Bulk,
            Some("incrementing") => Mode::Incrementing,
            Some("timestamp") => Mode::Timestamp,
            Some("timestamp+incrementing") => Mode::TimestampIncrementing,
            Some(other) => {
                return Err(ConfigError::new(
                    "mode",
                    format!(
                        "{other}: expected bulk, incrementing, timestamp or \
                         timestamp+incrementing"
                    ),
                ))
            }
            None => {
                return Err(ConfigError::new(
                    "mode",
                    "required: bulk, incrementing, timestamp or timestamp+incrementing",
                ))
            }
        };
        let incrementing_column = get(props, "incrementing.column.name").map(str::to_owned);
        let timestamp_columns = list(props, "timestamp.column.name");
        if mode.uses_timestamp() && timestamp_columns.is_empty() {
            return Err(ConfigError::new(
                "timestamp.column.name",
                format!(
                    "required in mode {}: the column(s) holding each row's last change",
                    get(props, "mode").unwrap_or_default()
                ),
            ));
        }

        let whitelist = list(props, "table.whitelist");
        let blacklist = list(props, "table.blacklist");
        let include = patterns(props, "table.include.list")?;
        let exclude = patterns(props, "table.exclude.list")?;
        if !whitelist.is_empty() && !blacklist.is_empty() {
            return Err(ConfigError::new(
                "table.blacklist",
                "table.whitelist and table.blacklist cannot both be set",
            ));
        }
        let legacy = !whitelist.is_empty() || !blacklist.is_empty();
        let newer = !include.is_empty() || !exclude.is_empty();
        if legacy && newer {
            return Err(ConfigError::new(
                if include.is_empty() {
                    "table.exclude.list"
                } else {
                    "table.include.list"
                },
                "cannot be combined with table.whitelist / table.blacklist",
            ));
        }
        let topic_prefix = props
            .get("topic.prefix")
            .map(|v| v.trim().to_owned())
            .unwrap_or_default();
        if topic_prefix.len() > 249
            || !topic_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return Err(ConfigError::new(
                "topic.prefix",
                "a topic name part: at most 249 of a-z, A-Z, 0-9, '.', '_' and '-'",
            ));
        }
        let source = match get(props, "query") {
            Some(query) => {
                if legacy || newer {
                    return Err(ConfigError::new(
                        "query",
                        "a query copies its own rows: it cannot be combined with table \
                         filters (table.whitelist, table.blacklist, table.include.list, \
                         table.exclude.list)",
                    ));
                }
                if topic_prefix.is_empty() {
                    return Err(ConfigError::new(
                        "topic.prefix",
                        "required with query: it is the whole topic name",
                    ));
                }
                Source::Query(query.to_owned())
            }
            None => {
                let mut types = list(props, "table.types");
                if types.is_empty() {
                    types.push("TABLE".to_owned());
                }
                Source::Tables {
                    whitelist,
                    blacklist,
                    include,
                    exclude,
                    types,
                }
            }
        };

        let numeric_mapping = match get(props, "numeric.mapping") {
            None if boolean(props, "numeric.precision.mapping", false)? => {
                NumericMapping::PrecisionOnly
            }
            None | Some("none") => NumericMapping::None,
            Some("precision_only") => NumericMapping::PrecisionOnly,
            Some("best_fit") => NumericMapping::BestFit,
            Some("best_fit_eager_double") => NumericMapping::BestFitEagerDouble,
            Some(other) => {
                return Err(ConfigError::new(
                    "numeric.mapping",
                    format!(
                        "{other}: expected none, precision_only, best_fit or \
                         best_fit_eager_double"
                    ),
                ))
            }
        };
        let quote_identifiers = match get(props, "quote.sql.identifiers") {
            None | Some("always") => true,
            Some("never") => false,
            Some(other) => {
                return Err(ConfigError::new(
                    "quote.sql.identifiers",
                    format!("{other}: expected always or never"),
                ))
            }
        };
        let timestamp_initial = match get(props, "timestamp.initial") {
            None => None,
            Some(v) => Some(v.parse::<i64>().ok().filter(|n| *n >= -1).ok_or_else(|| {
                ConfigError::new(
                    "timestamp.initial",
                    format!("{v}: expected epoch milliseconds, or -1 for the database's now"),
                )
            })?),
        };
        let db_timezone = match get(props, "db.timezone") {
            None => chrono_tz::Tz::UTC,
            Some(zone) => crate::zone::parse_zone(zone).ok_or_else(|| {
                ConfigError::new(
                    "db.timezone",
                    format!("{zone} is not a time zone (e.g. UTC, Europe/Berlin)"),
                )
            })?,
        };
        let timestamp_granularity = match get(props, "timestamp.granularity") {
            None => Granularity::ConnectLogical,
            Some(g) => Granularity::parse(g).ok_or_else(|| {
                ConfigError::new(
                    "timestamp.granularity",
                    format!(
                        "{g}: expected connect_logical, micros_long, micros_string, \
                         micros_iso_datetime_string, nanos_long, nanos_string or \
                         nanos_iso_datetime_string"
                    ),
                )
            })?,
        };
        Ok(SourceConfig {
            url,
            dialect,
            connection_attempts: number(props, "connection.attempts", 3, 1)?,
            connection_backoff_ms: number(props, "connection.backoff.ms", 10_000, 0)?,
            mode,
            incrementing_column,
            timestamp_columns,
            source,
            query_suffix: props
                .get("query.suffix")
                .map(|s| s.trim().to_owned())
                .unwrap_or_default(),
            topic_prefix,
            poll_interval_ms: number(props, "poll.interval.ms", 5_000, 1)?,
            batch_max_rows: number(props, "batch.max.rows", 1_000, 1)?,
            table_poll_interval_ms: number(props, "table.poll.interval.ms", 60_000, 1)?,
            timestamp_delay_interval_ms: number(props, "timestamp.delay.interval.ms", 0, 0)?,
            timestamp_initial,
            db_timezone,
            validate_non_null: boolean(props, "validate.non.null", true)?,
            timestamp_granularity,
            schema_pattern: match dialect {
                Dialect::MySql => props.get("catalog.pattern").cloned(),
                _ => props.get("schema.pattern").cloned(),
            },
            query_retry_attempts: number(props, "query.retry.attempts", -1, i32::MIN)?,
            numeric_mapping,
            quote_identifiers,
        })
    }
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

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("connection.url", "jdbc:postgresql://127.0.0.1:5432/test"),
            ("connection.user", "postgres"),
            ("mode", "incrementing"),
            ("incrementing.column.name", "id"),
            ("table.whitelist", "orders, customers"),
            ("topic.prefix", "pg-"),
        ]
    }

    fn with(extra: &[(&'static str, &'static str)]) -> Props {
        let mut pairs = base();
        for (k, v) in extra {
            pairs.retain(|(pk, _)| pk != k);
            pairs.push((k, v));
        }
        props(&pairs)
    }

    #[test]
    fn a_confluent_source_config_reads_with_its_defaults() {
        let c = SourceConfig::parse(&with(&[])).unwrap();
        assert_eq!(c.dialect, Dialect::PostgreSql);
        assert_eq!(c.mode, Mode::Incrementing);
        assert_eq!(c.incrementing_column.as_deref(), Some("id"));
        assert!(matches!(&c.source, Source::Tables { whitelist, types, .. }
            if whitelist == &["orders", "customers"] && types == &["TABLE"]));
        assert_eq!(
            (c.poll_interval_ms, c.batch_max_rows, c.connection_attempts),
            (5_000, 1_000, 3)
        );
        assert_eq!(c.numeric_mapping, NumericMapping::None);
        assert!(c.quote_identifiers && c.validate_non_null);
        assert_eq!(c.db_timezone, chrono_tz::Tz::UTC);

        let c = SourceConfig::parse(&with(&[
            ("mode", "timestamp+incrementing"),
            ("timestamp.column.name", "updated_at, created_at"),
            ("numeric.precision.mapping", "true"),
            ("timestamp.initial", "-1"),
        ]))
        .unwrap();
        assert_eq!(c.timestamp_columns, ["updated_at", "created_at"]);
        assert_eq!(c.numeric_mapping, NumericMapping::PrecisionOnly);
        assert_eq!(c.timestamp_initial, Some(-1));

        let q = props(&[
            ("connection.url", "jdbc:sqlite:/tmp/x.db"),
            ("mode", "bulk"),
            ("query", "SELECT * FROM t WHERE a = 1"),
            ("topic.prefix", "rows"),
        ]);
        assert!(matches!(
            SourceConfig::parse(&q).unwrap().source,
            Source::Query(_)
        ));
    }

    #[test]
    fn tables_are_selected_by_name_or_pattern() {
        let listed: Vec<String> = [
            "public.orders",
            "public.items",
            "audit.orders",
            "public.tmp_x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let select = |extra: &[(&'static str, &'static str)]| {
            let mut pairs: Vec<_> = base()
                .into_iter()
                .filter(|(k, _)| *k != "table.whitelist")
                .collect();
            pairs.extend_from_slice(extra);
            SourceConfig::parse(&props(&pairs)).unwrap().source.select(
                &listed,
                Some("public"),
                true,
            )
        };
        assert_eq!(
            select(&[("table.whitelist", "orders,audit.orders")]).unwrap(),
            ["public.orders", "audit.orders"]
        );
        assert_eq!(
            select(&[("table.blacklist", "orders,tmp_x")]).unwrap(),
            ["public.items", "audit.orders"]
        );
        assert_eq!(
            select(&[
                ("table.include.list", "public\\..*"),
                ("table.exclude.list", "tmp_.*")
            ])
            .unwrap(),
            ["public.orders", "public.items"]
        );
        assert_eq!(select(&[]).unwrap().len(), 4);
        assert_eq!(
            select(&[("table.whitelist", "nope")]).unwrap_err().key,
            "table.whitelist"
        );
        assert_eq!(
            select(&[("table.include.list", "zzz")]).unwrap_err().key,
            "table.include.list"
        );
    }

    #[test]
    fn every_bad_value_names_its_key() {
        for (extra, key) in [
            (vec![("connection.url", "")], "connection.url"),
            (vec![("connection.url", "jdbc:db2://h/x")], "connection.url"),
            (
                vec![("dialect.name", "MySqlDatabaseDialect")],
                "dialect.name",
            ),
            (vec![("mode", "")], "mode"),
            (vec![("mode", "incremental")], "mode"),
            (vec![("mode", "timestamp")], "timestamp.column.name"),
            (vec![("table.blacklist", "audit")], "table.blacklist"),
            (
                vec![("table.include.list", "public\\..*")],
                "table.include.list",
            ),
            (
                vec![("table.whitelist", ""), ("table.include.list", "(")],
                "table.include.list",
            ),
            (vec![("query", "SELECT 1")], "query"),
            (
                vec![
                    ("table.whitelist", ""),
                    ("query", "SELECT 1"),
                    ("topic.prefix", ""),
                ],
                "topic.prefix",
            ),
            (vec![("topic.prefix", "bad prefix")], "topic.prefix"),
            (vec![("poll.interval.ms", "0")], "poll.interval.ms"),
            (vec![("batch.max.rows", "lots")], "batch.max.rows"),
            (vec![("connection.attempts", "-1")], "connection.attempts"),
            (vec![("numeric.mapping", "best")], "numeric.mapping"),
            (
                vec![("quote.sql.identifiers", "sometimes")],
                "quote.sql.identifiers",
            ),
            (vec![("validate.non.null", "yes")], "validate.non.null"),
            (vec![("timestamp.initial", "-2")], "timestamp.initial"),
            (vec![("db.timezone", "Mars/Olympus")], "db.timezone"),
            (
                vec![("timestamp.granularity", "millis")],
                "timestamp.granularity",
            ),
            (
                vec![("query.retry.attempts", "often")],
                "query.retry.attempts",
            ),
        ] {
            let e = SourceConfig::parse(&with(&extra)).unwrap_err();
            assert_eq!(e.key, key, "{extra:?}: {e}");
        }
        let e = SourceConfig::parse(&with(&[
            ("connection.url", "jdbc:mysql://h/db?sslMode=NOPE"),
            ("connection.password", "hunter2"),
        ]))
        .unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }
}
