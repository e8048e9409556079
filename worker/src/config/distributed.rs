//! The distributed-mode part of the worker config (connect-compat §3).
//!
//! Defaults follow Java's except where fast failover needs otherwise; each such default is
//! listed in the README with the reason:
//! * `session.timeout.ms` 3000 (Java 10000) and `heartbeat.interval.ms` 1000 (Java 3000): a Rust
//!   worker has no GC pauses, so the coordinator can notice a dead worker sooner.
//! * `scheduled.rebalance.max.delay.ms` 0 (Java 300000): a dead worker's tasks are reassigned
//!   at once instead of waiting five minutes for it to return. Setting it keeps Java's meaning.

use tributary_connector_api::Props;

use super::error::WorkerConfigError;
use super::values::get;

/// Which group sub-protocols a worker offers (`connect.protocol`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolChoice {
    Eager,
    Compatible,
    Sessioned,
}

/// `exactly.once.source.support` (KIP-618): whether the leader writes the config topic
/// transactionally and source tasks commit their records and offsets in one transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ExactlyOnceSourceSupport {
    /// No transactions (the default).
    #[default]
    Disabled,
    /// The rolling-upgrade step: the leader writes the config topic through a transactional
    /// producer; source tasks are not transactional yet.
    Preparing,
    /// The leader writes transactionally, source tasks commit records and offsets in one
    /// transaction, zombie tasks are fenced, internal readers read committed records only.
    Enabled,
}

impl ExactlyOnceSourceSupport {
    pub const KEY: &'static str = "exactly.once.source.support";

    /// Parses the value as Java's case-insensitive `ConfigDef` validator does (`None`: unset).
    pub fn parse(value: Option<&str>) -> Result<ExactlyOnceSourceSupport, WorkerConfigError> {
        let Some(value) = value else {
            return Ok(ExactlyOnceSourceSupport::Disabled);
        };
        match value.trim().to_ascii_lowercase().as_str() {
            "disabled" => Ok(ExactlyOnceSourceSupport::Disabled),
            "preparing" => Ok(ExactlyOnceSourceSupport::Preparing),
            "enabled" => Ok(ExactlyOnceSourceSupport::Enabled),
            _ => Err(err(
                Self::KEY,
                format!(
                    "Invalid value {value} for configuration {}: String must be one of \
                     (case insensitive): DISABLED, PREPARING, ENABLED",
                    Self::KEY
                ),
            )),
        }
    }

    /// Whether the leader writes the config topic through a transactional producer
    /// (`preparing` and `enabled`).
    pub fn transactional_leader(self) -> bool {
        self != ExactlyOnceSourceSupport::Disabled
    }

    /// Whether source tasks run with exactly-once delivery (`enabled`).
    pub fn enabled(self) -> bool {
        self == ExactlyOnceSourceSupport::Enabled
    }
}

/// One internal topic's settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InternalTopic {
    pub name: String,
    /// -1 = broker default.
    pub partitions: i32,
    /// -1 = broker default.
    pub replication_factor: i16,
    /// Extra topic configs (`<prefix>.<config>`), `cleanup.policy` excluded.
    pub configs: Vec<(String, String)>,
}

/// Distributed worker settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DistributedConfig {
    pub group_id: String,
    pub config_topic: InternalTopic,
    pub offset_topic: InternalTopic,
    pub status_topic: InternalTopic,
    pub heartbeat_interval_ms: u64,
    pub session_timeout_ms: u64,
    pub rebalance_timeout_ms: u64,
    pub worker_sync_timeout_ms: u64,
    pub worker_unsync_backoff_ms: u64,
    pub scheduled_rebalance_max_delay_ms: u64,
    pub protocol: ProtocolChoice,
    pub key_ttl_ms: u64,
    pub signature_algorithm: String,
    pub verification_algorithms: Vec<String>,
    /// `exactly.once.source.support`.
    pub exactly_once_source: ExactlyOnceSourceSupport,
}

fn err(key: &str, message: impl Into<String>) -> WorkerConfigError {
    WorkerConfigError {
        key: key.to_owned(),
        message: message.into(),
    }
}

fn number<T: std::str::FromStr>(
    props: &Props,
    key: &str,
    default: T,
) -> Result<T, WorkerConfigError> {
    match get(props, key) {
        None => Ok(default),
        Some(v) => v
            .parse()
            .map_err(|_| err(key, format!("{v} is not a valid number"))),
    }
}

fn topic(
    props: &Props,
    prefix: &str,
    partitions: i32,
    rf: i16,
) -> Result<InternalTopic, WorkerConfigError> {
    let name_key = format!("{prefix}.topic");
    let name = get(props, &name_key)
        .ok_or_else(|| {
            err(
                &name_key,
                "missing required configuration which has no default value",
            )
        })?
        .to_owned();
    // The config topic always has exactly one partition.
    let partitions = if prefix == "config.storage" {
        1
    } else {
        number(props, &format!("{prefix}.partitions"), partitions)?
    };
    let rf_key = format!("{prefix}.replication.factor");
    let replication_factor = number(props, &rf_key, rf)?;
    if replication_factor == 0 || replication_factor < -1 {
        return Err(err(&rf_key, "must be -1 (broker default) or at least 1"));
    }
    if partitions == 0 || partitions < -1 {
        return Err(err(
            &format!("{prefix}.partitions"),
            "must be -1 (broker default) or at least 1",
        ));
    }
    let own = [
        "topic",
        "partitions",
        "replication.factor",
        "cleanup.policy",
    ];
    let configs = props
        .iter()
        .filter_map(|(k, v)| {
            let rest = k.strip_prefix(prefix)?.strip_prefix('.')?;
            (!own.contains(&rest)).then(|| (rest.to_owned(), v.clone()))
        })
        .collect();
    Ok(InternalTopic {
        name,
        partitions,
        replication_factor,
        configs,
    })
}

impl DistributedConfig {
    pub fn from_props(props: &Props) -> Result<DistributedConfig, WorkerConfigError> {
        let group_id = get(props, "group.id")
            .ok_or_else(|| {
                err(
                    "group.id",
                    "missing required configuration which has no default value",
                )
            })?
            .to_owned();
        let protocol = match get(props, "connect.protocol")
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            None | Some("sessioned") => ProtocolChoice::Sessioned,
            Some("compatible") => ProtocolChoice::Compatible,
            Some("eager") => ProtocolChoice::Eager,
            Some(other) => {
                return Err(err(
                    "connect.protocol",
                    format!("{other} is not one of eager, compatible, sessioned"),
                ))
            }
        };
        let signature_algorithm = get(props, "inter.worker.signature.algorithm")
            .unwrap_or("HmacSHA256")
            .to_owned();
        let verification_algorithms: Vec<String> =
            get(props, "inter.worker.verification.algorithms")
                .unwrap_or("HmacSHA256")
                .split(',')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect();
        if !verification_algorithms.contains(&signature_algorithm) {
            return Err(err(
                "inter.worker.verification.algorithms",
                format!("must include the signature algorithm {signature_algorithm}"),
            ));
        }
        let config = DistributedConfig {
            group_id,
            config_topic: topic(props, "config.storage", 1, 3)?,
            offset_topic: topic(props, "offset.storage", 25, 3)?,
            status_topic: topic(props, "status.storage", 5, 3)?,
            heartbeat_interval_ms: number(props, "heartbeat.interval.ms", 1_000)?,
            session_timeout_ms: number(props, "session.timeout.ms", 3_000)?,
            rebalance_timeout_ms: number(props, "rebalance.timeout.ms", 60_000)?,
            worker_sync_timeout_ms: number(props, "worker.sync.timeout.ms", 3_000)?,
            worker_unsync_backoff_ms: number(props, "worker.unsync.backoff.ms", 300_000)?,
            scheduled_rebalance_max_delay_ms: number(props, "scheduled.rebalance.max.delay.ms", 0)?,
            protocol,
            key_ttl_ms: number(props, "inter.worker.key.ttl.ms", 3_600_000)?,
            signature_algorithm,
            verification_algorithms,
            exactly_once_source: ExactlyOnceSourceSupport::parse(get(
                props,
                ExactlyOnceSourceSupport::KEY,
            ))?,
        };
        if config.heartbeat_interval_ms >= config.session_timeout_ms {
            return Err(err(
                "heartbeat.interval.ms",
                "must be lower than session.timeout.ms",
            ));
        }
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Props {
        [
            ("group.id", "connect-cluster"),
            ("config.storage.topic", "connect-configs"),
            ("offset.storage.topic", "connect-offsets"),
            ("status.storage.topic", "connect-status"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    #[test]
    fn defaults() {
        let c = DistributedConfig::from_props(&base()).unwrap();
        assert_eq!(c.config_topic.partitions, 1);
        assert_eq!(
            (c.offset_topic.partitions, c.offset_topic.replication_factor),
            (25, 3)
        );
        assert_eq!(
            (c.status_topic.partitions, c.status_topic.replication_factor),
            (5, 3)
        );
        assert_eq!(c.protocol, ProtocolChoice::Sessioned);
        assert_eq!(
            (c.heartbeat_interval_ms, c.session_timeout_ms),
            (1_000, 3_000)
        );
        assert_eq!(c.scheduled_rebalance_max_delay_ms, 0);
        assert_eq!(c.exactly_once_source, ExactlyOnceSourceSupport::Disabled);
    }

    #[test]
    fn exactly_once_source_support_values_case_insensitive() {
        for (value, want) in [
            ("disabled", ExactlyOnceSourceSupport::Disabled),
            ("PREPARING", ExactlyOnceSourceSupport::Preparing),
            (" Enabled ", ExactlyOnceSourceSupport::Enabled),
        ] {
            let mut p = base();
            p.insert("exactly.once.source.support".into(), value.into());
            let c = DistributedConfig::from_props(&p).unwrap();
            assert_eq!(c.exactly_once_source, want, "{value}");
        }
        assert!(!ExactlyOnceSourceSupport::Disabled.transactional_leader());
        assert!(ExactlyOnceSourceSupport::Preparing.transactional_leader());
        assert!(!ExactlyOnceSourceSupport::Preparing.enabled());
        assert!(ExactlyOnceSourceSupport::Enabled.transactional_leader());
        assert!(ExactlyOnceSourceSupport::Enabled.enabled());

        let mut p = base();
        p.insert("exactly.once.source.support".into(), "sometimes".into());
        let e = DistributedConfig::from_props(&p).unwrap_err();
        assert_eq!(e.key, "exactly.once.source.support");
        assert!(
            e.to_string().contains("exactly.once.source.support")
                && e.message.contains("DISABLED, PREPARING, ENABLED"),
            "{e}"
        );
    }

    #[test]
    fn topic_configs_and_forced_settings() {
        let mut p = base();
        p.insert("config.storage.partitions".into(), "7".into());
        p.insert("offset.storage.partitions".into(), "-1".into());
        p.insert("status.storage.cleanup.policy".into(), "delete".into());
        p.insert("status.storage.min.insync.replicas".into(), "2".into());
        p.insert("connect.protocol".into(), "EAGER".into());
        let c = DistributedConfig::from_props(&p).unwrap();
        assert_eq!(
            c.config_topic.partitions, 1,
            "the config topic has one partition"
        );
        assert_eq!(c.offset_topic.partitions, -1);
        assert_eq!(
            c.status_topic.configs,
            vec![("min.insync.replicas".to_owned(), "2".to_owned())]
        );
        assert_eq!(c.protocol, ProtocolChoice::Eager);
    }

    #[test]
    fn errors_name_the_key() {
        for (key, value, expect) in [
            ("group.id", "", "group.id"),
            (
                "offset.storage.partitions",
                "0",
                "offset.storage.partitions",
            ),
            (
                "status.storage.replication.factor",
                "x",
                "status.storage.replication.factor",
            ),
            ("connect.protocol", "fancy", "connect.protocol"),
            ("heartbeat.interval.ms", "5000", "heartbeat.interval.ms"),
            (
                "inter.worker.verification.algorithms",
                "HmacSHA512",
                "inter.worker.verification.algorithms",
            ),
        ] {
            let mut p = base();
            p.insert(key.into(), value.into());
            assert_eq!(
                DistributedConfig::from_props(&p).unwrap_err().key,
                expect,
                "{key}={value}"
            );
        }
        let mut p = base();
        p.remove("status.storage.topic");
        assert_eq!(
            DistributedConfig::from_props(&p).unwrap_err().key,
            "status.storage.topic"
        );
    }
}
