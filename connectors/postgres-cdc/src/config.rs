//! The connector's configuration: Debezium's PostgreSQL property names and defaults
//! (`../shared/spec/connectors.md` §9, `cdc-extras.md` §3 and §5), read once and checked, each
//! error naming its key. Secrets (`database.password`, `database.sslpassword`) are kept only in
//! [`Connection`] and never printed.

use std::time::Duration;

use tributary_connector_api::config::{
    ConfigKey, ConfigType, Default as ConfigDefault, Importance,
};
use tributary_connector_api::{ConfigDef, ConfigValueInfo, Props};

use crate::filters::Filters;

pub use crate::ConfigError;

/// Where and how to connect. `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct Connection {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub password: Option<String>,
    pub dbname: String,
    pub sslmode: String,
    pub sslrootcert: Option<String>,
    pub sslcert: Option<String>,
    pub sslkey: Option<String>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("user", &self.user)
            .field("dbname", &self.dbname)
            .field("sslmode", &self.sslmode)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotMode {
    Initial,
    Always,
    InitialOnly,
    NoData,
    WhenNeeded,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PublicationMode {
    Disabled,
    AllTables,
    Filtered,
    NoTables,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecimalMode {
    Precise,
    Double,
    String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePrecision {
    Adaptive,
    AdaptiveTimeMicroseconds,
    Connect,
    IsoString,
    Microseconds,
    Nanoseconds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryMode {
    Bytes,
    Base64,
    Base64UrlSafe,
    Hex,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HstoreMode {
    Json,
    Map,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IntervalMode {
    Numeric,
    String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LsnFlushMode {
    Manual,
    Connector,
    ConnectorAndDriver,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureMode {
    Fail,
    Warn,
    Skip,
}

/// The operations `skipped.operations` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Skipped {
    pub create: bool,
    pub update: bool,
    pub delete: bool,
    pub truncate: bool,
}

/// The whole configuration.
#[derive(Debug, Clone)]
pub struct CdcConfig {
    pub connection: Connection,
    pub topic_prefix: String,
    pub slot_name: String,
    pub slot_drop_on_stop: bool,
    pub slot_max_retries: u32,
    pub slot_retry_delay: Duration,
    pub slot_stream_params: Vec<(String, String)>,
    pub publication_name: String,
    pub publication_mode: PublicationMode,
    pub filters: Filters,
    pub snapshot_mode: SnapshotMode,
    pub tombstones_on_delete: bool,
    pub skipped: Skipped,
    pub decimal_mode: DecimalMode,
    pub time_precision: TimePrecision,
    pub binary_mode: BinaryMode,
    pub hstore_mode: HstoreMode,
    pub interval_mode: IntervalMode,
    pub include_unknown_datatypes: bool,
    pub unavailable_placeholder: String,
    pub heartbeat_interval: Option<Duration>,
    pub heartbeat_topic: String,
    pub heartbeat_action_query: Option<String>,
    pub provide_transaction_metadata: bool,
    pub transaction_topic: String,
    pub max_batch_size: usize,
    pub max_queue_size: usize,
    pub poll_interval: Duration,
    pub status_update_interval: Duration,
    pub lsn_flush_mode: LsnFlushMode,
    pub failure_mode: FailureMode,
    pub replica_identity_autoset: Vec<(String, String)>,
    pub message_prefix_include: Vec<regex::Regex>,
    pub message_prefix_exclude: Vec<regex::Regex>,
    pub signal_data_collection: Option<String>,
    pub topic_delimiter: String,
    /// `errors.max.retries`: restarts after retriable errors, -1 for ever.
    pub errors_max_retries: i64,
    pub chunk_size: usize,
    /// `snapshot.max.threads`: connections reading tables at once in the initial snapshot.
    pub snapshot_threads: usize,
    /// `snapshot.select.statement.overrides`: (schema, table, SELECT) read instead of the
    /// whole table in the initial snapshot.
    pub snapshot_overrides: Vec<(String, String, String)>,
    /// `insert_delete`: a window closes by deleting its open row.
    pub watermark_delete: bool,
}

fn key(name: &str, type_: ConfigType, default: ConfigDefault, doc: &str) -> ConfigKey {
    ConfigKey::new(name, type_, default, Importance::Medium, doc)
}

fn value(v: &str) -> ConfigDefault {
    ConfigDefault::Value(v.to_owned())
}

/// Every key the connector reads, with Debezium's defaults.
pub fn config_def() -> ConfigDef {
    use ConfigType::{Boolean, Int, List, Long, Password, String as Str};
    let keys: Vec<(&str, ConfigType, ConfigDefault, &str)> = vec![
        ("topic.prefix", Str, ConfigDefault::Null, "Logical server name: topics are <topic.prefix>.<schema>.<table>; also the offsets' partition. Never change it after the first start."),
        ("database.server.name", Str, ConfigDefault::Null, "Debezium 1.x name of topic.prefix."),
        ("database.hostname", Str, ConfigDefault::Required, "PostgreSQL host."),
        ("database.port", Int, value("5432"), "PostgreSQL port."),
        ("database.user", Str, ConfigDefault::Required, "A user with the REPLICATION attribute."),
        ("database.password", Password, ConfigDefault::Null, "The user's password."),
        ("database.dbname", Str, ConfigDefault::Required, "The database to capture."),
        ("database.sslmode", Str, value("prefer"), "disable, allow, prefer, require, verify-ca or verify-full."),
        ("database.sslrootcert", Str, ConfigDefault::Null, "CA certificate file."),
        ("database.sslcert", Str, ConfigDefault::Null, "Client certificate file."),
        ("database.sslkey", Str, ConfigDefault::Null, "Client key file."),
        ("database.sslpassword", Password, ConfigDefault::Null, "Password of the client key (not supported: use an unencrypted key)."),
        ("plugin.name", Str, value("decoderbufs"), "Logical decoding plugin; only pgoutput is supported."),
        ("slot.name", Str, value("debezium"), "Logical replication slot; created when missing."),
        ("slot.drop.on.stop", Boolean, value("false"), "Drop the slot when the task stops gracefully."),
        ("slot.max.retries", Int, value("6"), "Tries when the slot is in use by another connection."),
        ("slot.retry.delay.ms", Long, value("10000"), "Wait between those tries."),
        ("slot.stream.params", Str, ConfigDefault::Null, "Extra pgoutput options: k=v;k2=v2."),
        ("publication.name", Str, value("dbz_publication"), "Publication the slot streams."),
        ("publication.autocreate.mode", Str, value("all_tables"), "disabled, all_tables, filtered or no_tables."),
        ("schema.include.list", List, value(""), "Schemas to capture (anchored regular expressions)."),
        ("schema.exclude.list", List, value(""), "Schemas not to capture."),
        ("table.include.list", List, value(""), "Tables to capture, as schema.table regular expressions."),
        ("table.exclude.list", List, value(""), "Tables not to capture."),
        ("column.include.list", List, value(""), "Columns to emit, as schema.table.column regular expressions."),
        ("column.exclude.list", List, value(""), "Columns not to emit."),
        ("message.key.columns", Str, value(""), "Custom keys: <table regex>:colA,colB;…"),
        ("snapshot.mode", Str, value("initial"), "initial, always, initial_only, no_data (never) or when_needed."),
        ("snapshot.isolation.mode", Str, value("serializable"), "serializable, repeatable_read, read_committed or read_uncommitted."),
        ("snapshot.locking.mode", Str, value("none"), "none or shared."),
        ("snapshot.fetch.size", Int, value("10240"), "Rows read at a time during the snapshot."),
        ("snapshot.max.threads", Int, value("1"), "Tables read at once during the initial snapshot, each on its own connection."),
        ("snapshot.select.statement.overrides", List, value(""), "Tables (schema.table) whose snapshot reads the SELECT of snapshot.select.statement.overrides.<schema>.<table>."),
        ("tombstones.on.delete", Boolean, value("true"), "Emit a tombstone after each delete."),
        ("skipped.operations", List, value("t"), "Operations not emitted: c, u, d, t, or none."),
        ("decimal.handling.mode", Str, value("precise"), "precise, double or string."),
        ("time.precision.mode", Str, value("adaptive"), "adaptive, adaptive_time_microseconds, connect, isostring, microseconds or nanoseconds."),
        ("binary.handling.mode", Str, value("bytes"), "bytes, base64, base64-url-safe or hex."),
        ("hstore.handling.mode", Str, value("json"), "json or map."),
        ("interval.handling.mode", Str, value("numeric"), "numeric or string."),
        ("include.unknown.datatypes", Boolean, value("false"), "Emit columns of unknown types as their text."),
        ("unavailable.value.placeholder", Str, value("__debezium_unavailable_value"), "Stands in for unchanged TOASTed values."),
        ("heartbeat.interval.ms", Int, value("0"), "Gap between heartbeat records; 0 disables them."),
        ("topic.heartbeat.prefix", Str, value("__debezium-heartbeat"), "Heartbeat topic prefix."),
        ("topic.heartbeat.name", Str, ConfigDefault::Null, "Heartbeat topic (overrides the prefix)."),
        ("heartbeat.action.query", Str, ConfigDefault::Null, "SQL run on each heartbeat."),
        ("provide.transaction.metadata", Boolean, value("false"), "BEGIN/END records and a transaction block in each event."),
        ("topic.transaction", Str, value("transaction"), "Transaction metadata topic suffix."),
        ("topic.delimiter", Str, value("."), "Joins the parts of topic names."),
        ("max.batch.size", Int, value("2048"), "Most records per poll."),
        ("max.queue.size", Int, value("8192"), "Most records waiting for a poll."),
        ("poll.interval.ms", Long, value("500"), "Longest wait for records in a poll."),
        ("status.update.interval.ms", Int, value("10000"), "Gap between standby status updates to the server."),
        ("lsn.flush.mode", Str, value("connector"), "manual, connector or connector_and_driver."),
        ("flush.lsn.source", Boolean, ConfigDefault::Null, "Older name of lsn.flush.mode (true = connector, false = manual)."),
        ("offset.mismatch.strategy", Str, value("no_validation"), "no_validation, trust_offset, trust_slot or trust_greater_lsn."),
        ("publish.via.partition.root", Boolean, value("false"), "Partitioned tables reported under their root."),
        ("replica.identity.autoset.values", Str, ConfigDefault::Null, "schema.table:FULL,… set on start."),
        ("errors.max.retries", Int, value("-1"), "Restarts after retriable errors (-1 unlimited)."),
        ("event.processing.failure.handling.mode", Str, value("fail"), "fail, warn or skip."),
        ("schema.refresh.mode", Str, value("columns_diff"), "columns_diff or columns_diff_exclude_unchanged_toast."),
        ("message.prefix.include.list", List, value(""), "Logical decoding message prefixes to emit."),
        ("message.prefix.exclude.list", List, value(""), "Logical decoding message prefixes not to emit."),
        ("signal.data.collection", Str, ConfigDefault::Null, "Signal table schema.table (incremental snapshots)."),
        ("signal.enabled.channels", List, value("source"), "Signal channels; only source (the signal table) is read."),
        ("incremental.snapshot.chunk.size", Int, value("1024"), "Rows per incremental snapshot chunk."),
        ("incremental.snapshot.watermarking.strategy", Str, value("insert_insert"), "insert_insert or insert_delete."),
    ];
    let mut def = ConfigDef::new();
    for (name, type_, default, doc) in keys {
        def = def.define(key(name, type_, default, doc));
    }
    def
}

/// The definition's validation, with the parse error (if any) on the key it names.
pub fn validate(props: &Props) -> Vec<ConfigValueInfo> {
    config_def().validate_parsed(props, CdcConfig::parse(props))
}

struct Reader<'a>(&'a Props);

impl Reader<'_> {
    fn raw(&self, key: &str) -> Option<&str> {
        self.0.get(key).map(|v| v.trim()).filter(|v| !v.is_empty())
    }

    fn string(&self, key: &str, default: &str) -> String {
        self.raw(key).unwrap_or(default).to_owned()
    }

    fn required(&self, key: &str) -> Result<String, ConfigError> {
        self.raw(key).map(str::to_owned).ok_or_else(|| {
            ConfigError::new(key, "Missing required configuration with no default value.")
        })
    }

    fn boolean(&self, key: &str, default: bool) -> Result<bool, ConfigError> {
        match self.raw(key) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") => Ok(false),
            Some(_) => Err(ConfigError::new(
                key,
                "Expected value to be either true or false",
            )),
        }
    }

    fn number(&self, key: &str, default: i64, min: i64, max: i64) -> Result<i64, ConfigError> {
        let Some(v) = self.raw(key) else {
            return Ok(default);
        };
        let n: i64 = v
            .parse()
            .map_err(|_| ConfigError::new(key, "Not a number"))?;
        if n < min || n > max {
            return Err(ConfigError::new(
                key,
                format!("Value must be in [{min}, {max}]"),
            ));
        }
        Ok(n)
    }

    fn choice<T: Copy>(
        &self,
        key: &str,
        default: &str,
        options: &[(&str, T)],
    ) -> Result<T, ConfigError> {
        let v = self.raw(key).unwrap_or(default);
        options
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(v))
            .map(|(_, t)| *t)
            .ok_or_else(|| {
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                ConfigError::new(
                    key,
                    format!("The value must be one of {}", names.join(", ")),
                )
            })
    }

    fn list(&self, key: &str) -> Vec<String> {
        self.raw(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// Longest accepted interval in milliseconds (a day): beyond it nothing useful happens and
/// `Duration` arithmetic stays far from overflow.
const MAX_MS: i64 = 86_400_000;

impl CdcConfig {
    pub fn parse(props: &Props) -> Result<CdcConfig, ConfigError> {
        let r = Reader(props);
        let plugin = r.string("plugin.name", "decoderbufs");
        if !plugin.eq_ignore_ascii_case("pgoutput") {
            return Err(ConfigError::new(
                "plugin.name",
                format!(
                    "only pgoutput is supported (got '{plugin}'; Debezium's default is decoderbufs, so set plugin.name=pgoutput)"
                ),
            ));
        }
        let topic_prefix = match r.raw("topic.prefix").or(r.raw("database.server.name")) {
            Some(p) => p.to_owned(),
            None => {
                return Err(ConfigError::new(
                    "topic.prefix",
                    "Missing required configuration with no default value.",
                ))
            }
        };
        if topic_prefix.len() > 249
            || !topic_prefix
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        {
            return Err(ConfigError::new(
                "topic.prefix",
                "must be at most 249 characters of ASCII letters, digits, '.', '_' and '-'",
            ));
        }
        let port = r.number("database.port", 5432, 1, 65535)? as u16;
        let sslmode = r.choice(
            "database.sslmode",
            "prefer",
            &[
                ("disable", "disable"),
                ("allow", "allow"),
                ("prefer", "prefer"),
                ("require", "require"),
                ("verify-ca", "verify-ca"),
                ("verify-full", "verify-full"),
            ],
        )?;
        for k in ["database.sslcert", "database.sslkey"] {
            if r.raw(k).is_some() {
                return Err(ConfigError::new(
                    k,
                    "client certificates are not supported by the replication client; use password authentication over TLS",
                ));
            }
        }
        if r.raw("database.sslpassword").is_some() {
            return Err(ConfigError::new(
                "database.sslpassword",
                "encrypted client keys are not supported; give database.sslkey an unencrypted key",
            ));
        }
        let connection = Connection {
            host: r.required("database.hostname")?,
            port,
            user: r.required("database.user")?,
            password: r.raw("database.password").map(str::to_owned),
            dbname: r.required("database.dbname")?,
            sslmode: sslmode.to_owned(),
            sslrootcert: r.raw("database.sslrootcert").map(str::to_owned),
            sslcert: r.raw("database.sslcert").map(str::to_owned),
            sslkey: r.raw("database.sslkey").map(str::to_owned),
        };
        let slot_name = r.string("slot.name", "debezium");
        if slot_name.is_empty()
            || slot_name.len() > 63
            || !slot_name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        {
            return Err(ConfigError::new(
                "slot.name",
                "a slot name is 1 to 63 lower-case letters, digits and underscores",
            ));
        }
        let publication_name = r.string("publication.name", "dbz_publication");
        if publication_name.len() > 63 || publication_name.contains('\0') {
            return Err(ConfigError::new("publication.name", "at most 63 bytes"));
        }
        let slot_stream_params = match r.raw("slot.stream.params") {
            None => Vec::new(),
            Some(v) => v
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|kv| match kv.split_once('=') {
                    Some((k, v))
                        if !k.trim().is_empty()
                            && k.trim()
                                .chars()
                                .all(|c| c.is_ascii_alphanumeric() || c == '_') =>
                    {
                        Ok((k.trim().to_owned(), v.trim().to_owned()))
                    }
                    _ => Err(ConfigError::new(
                        "slot.stream.params",
                        format!("'{kv}' is not name=value"),
                    )),
                })
                .collect::<Result<_, _>>()?,
        };
        let publication_mode = r.choice(
            "publication.autocreate.mode",
            "all_tables",
            &[
                ("disabled", PublicationMode::Disabled),
                ("all_tables", PublicationMode::AllTables),
                ("filtered", PublicationMode::Filtered),
                ("no_tables", PublicationMode::NoTables),
            ],
        )?;
        let filters = Filters::parse(props, |k| r.list(k))?;
        let snapshot_mode = r.choice(
            "snapshot.mode",
            "initial",
            &[
                ("initial", SnapshotMode::Initial),
                ("exported", SnapshotMode::Initial),
                ("always", SnapshotMode::Always),
                ("initial_only", SnapshotMode::InitialOnly),
                ("no_data", SnapshotMode::NoData),
                ("never", SnapshotMode::NoData),
                ("when_needed", SnapshotMode::WhenNeeded),
            ],
        )?;
        // Checked, not used: the snapshot reads in the slot's exported snapshot (repeatable
        // read), rows streamed without a cursor, whatever these say.
        r.choice(
            "snapshot.isolation.mode",
            "serializable",
            &[
                ("serializable", ()),
                ("repeatable_read", ()),
                ("read_committed", ()),
                ("read_uncommitted", ()),
            ],
        )?;
        r.choice(
            "snapshot.locking.mode",
            "none",
            &[("none", ()), ("shared", ())],
        )?;
        r.number("snapshot.fetch.size", 10240, 1, 1_000_000)?;
        let snapshot_threads = r.number("snapshot.max.threads", 1, 1, 64)? as usize;
        let mut snapshot_overrides = Vec::new();
        for table in r.list("snapshot.select.statement.overrides") {
            let key = format!("snapshot.select.statement.overrides.{table}");
            let Some((schema, name)) = table.split_once('.') else {
                return Err(ConfigError::new(
                    "snapshot.select.statement.overrides",
                    format!("'{table}' is not schema.table"),
                ));
            };
            let Some(select) = r.raw(&key) else {
                return Err(ConfigError::new(
                    &key,
                    format!("'{table}' is listed in snapshot.select.statement.overrides but {key} is not set"),
                ));
            };
            snapshot_overrides.push((schema.to_owned(), name.to_owned(), select.to_owned()));
        }
        let mut skipped = Skipped::default();
        let ops = if r.raw("skipped.operations").is_some() {
            r.list("skipped.operations")
        } else {
            vec!["t".to_owned()]
        };
        for op in ops {
            match op.as_str() {
                "c" => skipped.create = true,
                "u" => skipped.update = true,
                "d" => skipped.delete = true,
                "t" => skipped.truncate = true,
                "none" => skipped = Skipped::default(),
                other => {
                    return Err(ConfigError::new(
                        "skipped.operations",
                        format!("'{other}' is not one of c, u, d, t or none"),
                    ))
                }
            }
        }
        let decimal_mode = r.choice(
            "decimal.handling.mode",
            "precise",
            &[
                ("precise", DecimalMode::Precise),
                ("double", DecimalMode::Double),
                ("string", DecimalMode::String),
            ],
        )?;
        let time_precision = r.choice(
            "time.precision.mode",
            "adaptive",
            &[
                ("adaptive", TimePrecision::Adaptive),
                (
                    "adaptive_time_microseconds",
                    TimePrecision::AdaptiveTimeMicroseconds,
                ),
                ("connect", TimePrecision::Connect),
                ("isostring", TimePrecision::IsoString),
                ("microseconds", TimePrecision::Microseconds),
                ("nanoseconds", TimePrecision::Nanoseconds),
            ],
        )?;
        let binary_mode = r.choice(
            "binary.handling.mode",
            "bytes",
            &[
                ("bytes", BinaryMode::Bytes),
                ("base64", BinaryMode::Base64),
                ("base64-url-safe", BinaryMode::Base64UrlSafe),
                ("hex", BinaryMode::Hex),
            ],
        )?;
        let hstore_mode = r.choice(
            "hstore.handling.mode",
            "json",
            &[("json", HstoreMode::Json), ("map", HstoreMode::Map)],
        )?;
        let interval_mode = r.choice(
            "interval.handling.mode",
            "numeric",
            &[
                ("numeric", IntervalMode::Numeric),
                ("string", IntervalMode::String),
            ],
        )?;
        let heartbeat_ms = r.number("heartbeat.interval.ms", 0, 0, MAX_MS)?;
        let delimiter = r.string("topic.delimiter", ".");
        let heartbeat_topic = match r.raw("topic.heartbeat.name") {
            Some(t) => t.to_owned(),
            None => format!(
                "{}{delimiter}{topic_prefix}",
                r.string("topic.heartbeat.prefix", "__debezium-heartbeat")
            ),
        };
        let transaction_topic = format!(
            "{topic_prefix}{delimiter}{}",
            r.string("topic.transaction", "transaction")
        );
        let max_batch_size = r.number("max.batch.size", 2048, 1, 1_000_000)? as usize;
        let max_queue_size = r.number("max.queue.size", 8192, 1, 10_000_000)? as usize;
        if max_queue_size <= max_batch_size {
            return Err(ConfigError::new(
                "max.queue.size",
                "must be larger than max.batch.size",
            ));
        }
        let poll_ms = r.number("poll.interval.ms", 500, 0, MAX_MS)?.min(5000);
        let status_ms = r.number("status.update.interval.ms", 10_000, 1, MAX_MS)?;
        let lsn_flush_mode = match (r.raw("lsn.flush.mode"), r.raw("flush.lsn.source")) {
            (None, Some(_)) => {
                if r.boolean("flush.lsn.source", true)? {
                    LsnFlushMode::Connector
                } else {
                    LsnFlushMode::Manual
                }
            }
            _ => r.choice(
                "lsn.flush.mode",
                "connector",
                &[
                    ("manual", LsnFlushMode::Manual),
                    ("connector", LsnFlushMode::Connector),
                    ("connector_and_driver", LsnFlushMode::ConnectorAndDriver),
                ],
            )?,
        };
        r.choice(
            "offset.mismatch.strategy",
            "no_validation",
            &[
                ("no_validation", ()),
                ("trust_offset", ()),
                ("trust_slot", ()),
                ("trust_greater_lsn", ()),
            ],
        )?;
        r.choice(
            "schema.refresh.mode",
            "columns_diff",
            &[
                ("columns_diff", ()),
                ("columns_diff_exclude_unchanged_toast", ()),
            ],
        )?;
        let failure_mode = r.choice(
            "event.processing.failure.handling.mode",
            "fail",
            &[
                ("fail", FailureMode::Fail),
                ("warn", FailureMode::Warn),
                ("skip", FailureMode::Skip),
            ],
        )?;
        let errors_max_retries = r.number("errors.max.retries", -1, -1, i64::from(i32::MAX))?;
        let chunk_size = r.number("incremental.snapshot.chunk.size", 1024, 1, 1_000_000)? as usize;
        let watermark_delete = r.choice(
            "incremental.snapshot.watermarking.strategy",
            "insert_insert",
            &[("insert_insert", false), ("insert_delete", true)],
        )?;
        if let Some(table) = r.raw("signal.data.collection") {
            if table.split('.').count() != 2 || table.contains(['"', ';', ' ']) {
                return Err(ConfigError::new(
                    "signal.data.collection",
                    "the signal table is schema.table",
                ));
            }
        }
        let replica_identity_autoset = match r.raw("replica.identity.autoset.values") {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|entry| {
                    let (table, identity) = entry.rsplit_once(':').ok_or_else(|| {
                        ConfigError::new(
                            "replica.identity.autoset.values",
                            format!("'{entry}' is not schema.table:IDENTITY"),
                        )
                    })?;
                    let identity = identity.trim().to_ascii_uppercase();
                    let ok = ["FULL", "DEFAULT", "NOTHING"].contains(&identity.as_str())
                        || identity.starts_with("INDEX ");
                    if !ok || table.trim().is_empty() {
                        return Err(ConfigError::new(
                            "replica.identity.autoset.values",
                            format!(
                                "'{entry}' is not schema.table:FULL|DEFAULT|NOTHING|INDEX name"
                            ),
                        ));
                    }
                    Ok((table.trim().to_owned(), identity))
                })
                .collect::<Result<_, _>>()?,
        };
        let regexes = |key: &str| -> Result<Vec<regex::Regex>, ConfigError> {
            r.list(key)
                .iter()
                .map(|p| {
                    regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| {
                        ConfigError::new(key, format!("'{p}' is not a regular expression: {e}"))
                    })
                })
                .collect()
        };
        Ok(CdcConfig {
            connection,
            topic_prefix,
            slot_name,
            slot_drop_on_stop: r.boolean("slot.drop.on.stop", false)?,
            slot_max_retries: r.number("slot.max.retries", 6, 0, 1_000_000)? as u32,
            slot_retry_delay: Duration::from_millis(r.number(
                "slot.retry.delay.ms",
                10_000,
                0,
                MAX_MS,
            )? as u64),
            slot_stream_params,
            snapshot_threads,
            snapshot_overrides,
            publication_name,
            publication_mode,
            filters,
            snapshot_mode,
            tombstones_on_delete: r.boolean("tombstones.on.delete", true)?,
            skipped,
            decimal_mode,
            time_precision,
            binary_mode,
            hstore_mode,
            interval_mode,
            include_unknown_datatypes: r.boolean("include.unknown.datatypes", false)?,
            unavailable_placeholder: props
                .get("unavailable.value.placeholder")
                .cloned()
                .unwrap_or_else(|| "__debezium_unavailable_value".to_owned()),
            heartbeat_interval: (heartbeat_ms > 0)
                .then(|| Duration::from_millis(heartbeat_ms as u64)),
            heartbeat_topic,
            heartbeat_action_query: r.raw("heartbeat.action.query").map(str::to_owned),
            provide_transaction_metadata: r.boolean("provide.transaction.metadata", false)?,
            transaction_topic,
            max_batch_size,
            max_queue_size,
            poll_interval: Duration::from_millis(poll_ms as u64),
            status_update_interval: Duration::from_millis(status_ms as u64),
            lsn_flush_mode,
            failure_mode,
            replica_identity_autoset,
            message_prefix_include: regexes("message.prefix.include.list")?,
            message_prefix_exclude: regexes("message.prefix.exclude.list")?,
            signal_data_collection: r.raw("signal.data.collection").map(str::to_owned),
            topic_delimiter: delimiter,
            errors_max_retries,
            chunk_size,
            watermark_delete,
        })
    }

    pub fn max_retries(&self) -> i64 {
        self.errors_max_retries
    }

    /// The topic of a table's change events.
    pub fn table_topic(&self, schema: &str, table: &str) -> String {
        let d = &self.topic_delimiter;
        format!("{}{d}{schema}{d}{table}", self.topic_prefix)
    }
}

/// For tests: a minimal valid config (`topic.prefix=server1`) with `pairs` over it.
#[cfg(test)]
pub(crate) fn test_props(pairs: &[(&str, &str)]) -> Props {
    let mut p: Props = [
        ("database.hostname", "localhost"),
        ("database.user", "postgres"),
        ("database.dbname", "test"),
        ("topic.prefix", "server1"),
        ("plugin.name", "pgoutput"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    for (k, v) in pairs {
        p.insert((*k).to_owned(), (*v).to_owned());
    }
    p
}

/// For tests: [`test_props`] parsed.
#[cfg(test)]
pub(crate) fn test_config(pairs: &[(&str, &str)]) -> CdcConfig {
    match CdcConfig::parse(&test_props(pairs)) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> Props {
        test_props(pairs)
    }

    #[test]
    fn debezium_defaults() {
        let c = CdcConfig::parse(&props(&[])).unwrap();
        assert_eq!(c.slot_name, "debezium");
        assert_eq!(c.publication_name, "dbz_publication");
        assert_eq!(c.publication_mode, PublicationMode::AllTables);
        assert_eq!(c.snapshot_mode, SnapshotMode::Initial);
        assert!(c.tombstones_on_delete);
        assert!(c.skipped.truncate && !c.skipped.create);
        assert_eq!(c.decimal_mode, DecimalMode::Precise);
        assert_eq!(c.time_precision, TimePrecision::Adaptive);
        assert_eq!(c.max_batch_size, 2048);
        assert_eq!(c.max_queue_size, 8192);
        assert_eq!(c.poll_interval, Duration::from_millis(500));
        assert_eq!(c.heartbeat_interval, None);
        assert_eq!(c.heartbeat_topic, "__debezium-heartbeat.server1");
        assert_eq!(c.transaction_topic, "server1.transaction");
        assert_eq!(c.unavailable_placeholder, "__debezium_unavailable_value");
        assert_eq!(c.table_topic("public", "t"), "server1.public.t");
        assert_eq!(c.connection.port, 5432);
    }

    #[test]
    fn plugin_name_must_be_pgoutput() {
        let mut p = props(&[]);
        p.remove("plugin.name");
        let e = CdcConfig::parse(&p).unwrap_err();
        assert_eq!(e.key, "plugin.name");
        assert!(e.message.contains("only pgoutput"), "{}", e.message);
        let e = CdcConfig::parse(&props(&[("plugin.name", "decoderbufs")])).unwrap_err();
        assert_eq!(e.key, "plugin.name");
    }

    #[test]
    fn old_names_are_accepted() {
        let mut p = props(&[("snapshot.mode", "never"), ("flush.lsn.source", "false")]);
        p.remove("topic.prefix");
        p.insert("database.server.name".into(), "legacy".into());
        let c = CdcConfig::parse(&p).unwrap();
        assert_eq!(c.topic_prefix, "legacy");
        assert_eq!(c.snapshot_mode, SnapshotMode::NoData);
        assert_eq!(c.lsn_flush_mode, LsnFlushMode::Manual);
    }

    #[test]
    fn every_bad_value_names_its_key() {
        let cases: &[(&str, &str)] = &[
            ("database.port", "99999"),
            ("database.port", "x"),
            ("database.sslmode", "sometimes"),
            ("slot.name", "Bad-Name"),
            ("slot.name", &"a".repeat(64)),
            ("publication.autocreate.mode", "some"),
            ("snapshot.mode", "custom"),
            ("snapshot.isolation.mode", "snapshot"),
            ("skipped.operations", "x"),
            ("decimal.handling.mode", "float"),
            ("time.precision.mode", "seconds"),
            ("binary.handling.mode", "raw"),
            ("hstore.handling.mode", "text"),
            ("interval.handling.mode", "iso"),
            ("heartbeat.interval.ms", "-1"),
            ("heartbeat.interval.ms", "999999999999999999999"),
            ("max.queue.size", "10"),
            ("lsn.flush.mode", "never"),
            ("event.processing.failure.handling.mode", "ignore"),
            ("table.include.list", "public.(("),
            ("slot.stream.params", "novalue"),
            ("replica.identity.autoset.values", "public.t:SOMETIMES"),
            ("tombstones.on.delete", "yes"),
            ("topic.prefix", "bad prefix"),
            ("message.prefix.include.list", "(("),
            ("database.sslpassword", "secret-value"),
        ];
        for (k, v) in cases {
            let e = CdcConfig::parse(&props(&[(k, v)])).unwrap_err();
            assert_eq!(&e.key, k, "{k}={v}: {e}");
            assert!(!e.message.contains("secret-value"), "{e}");
        }
    }

    #[test]
    fn the_password_is_not_in_debug_output() {
        let c = CdcConfig::parse(&props(&[("database.password", "hunter2")])).unwrap();
        assert!(!format!("{c:?}").contains("hunter2"));
        assert_eq!(c.connection.password.as_deref(), Some("hunter2"));
    }

    #[test]
    fn validation_puts_the_error_on_its_key() {
        let values = validate(&props(&[("snapshot.mode", "sometimes")]));
        let v = values.iter().find(|v| v.name == "snapshot.mode").unwrap();
        assert_eq!(v.errors.len(), 1, "{values:?}");
    }
}
